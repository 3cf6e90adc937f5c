import pytest
import torch
import torch.nn.functional as F

from tests.core.models.kind_checks import assert_round_trip, digits
from vae_explorer.core.config import ConfigError, TrainConfig
from vae_explorer.core.models import registry
from vae_explorer.core.models.vq_vae import VQVAEConfig
from vae_explorer.core.training.trainer import EpochStats, Trainer

SMALL = VQVAEConfig(codebook_size=16, embedding_dim=4, channels=8)


def small_model(seed=0, **changes):
    return registry.build("vq_vae", VQVAEConfig(**{**SMALL.__dict__, **changes}), seed=seed)


def test_shapes_of_the_code_grid_and_the_latent_point():
    model = small_model()
    x = torch.rand(3, 784)
    assert model.code_grid_shape == (7, 7) and model.latent_dim == 4 * 7 * 7
    assert model.encode(x).mean.shape == (3, 196) and model.encode(x).logvar is None
    assert model.codes(x).shape == (3, 7, 7) and model.codes(x).dtype == torch.int64
    assert model.decode(torch.randn(2, 196)).shape == (2, 28, 28)
    assert list(model.loss(x)) == list(model.term_labels) == ["loss", "reconstruction", "codebook", "commitment"]
    assert model.has_codes and model.has_likelihood and not model.has_posterior
    assert model.codebook_size == 16 and "16 codes" in model.describe() and "7x7" in model.describe()


def test_codes_index_the_codebook_and_the_decoder_sees_codebook_rows():
    model = small_model()
    x = torch.rand(5, 784)
    codes = model.codes(x)
    assert 0 <= int(codes.min()) and int(codes.max()) < 16
    assert torch.equal(model.codes_of_latent(model.encode(x).mean), codes)  # from the encoded point, the same
    grid = model.encode(x).mean.reshape(5, 4, 7, 7)
    # Each cell's code is the codebook row nearest to it, among all K.
    book = model.codebook_vectors()
    cells = grid.permute(0, 2, 3, 1).reshape(-1, 4)
    distances = torch.cdist(cells, book)
    chosen = distances.gather(1, codes.reshape(-1, 1)).squeeze(1)
    assert torch.all(chosen <= distances.min(dim=1).values + 1e-6)
    # The decode of the continuous point is the decode of its code grid, whose vectors are codebook rows.
    with torch.no_grad():
        torch.testing.assert_close(model.decode(model.encode(x).mean), model.decode_codes(codes))
        quantised = book[codes].permute(0, 3, 1, 2).reshape(5, -1)
        torch.testing.assert_close(model.decode(quantised), model.decode_codes(codes))


def test_the_loss_terms_are_what_the_module_says():
    model = small_model(commitment=0.5)
    x = torch.rand(6, 784)
    terms = model.loss(x)
    z_e = model.encode(x).mean.reshape(6, 4, 7, 7)
    e = model.codebook_vectors()[model.codes(x)].permute(0, 3, 1, 2)
    squared = (z_e - e).pow(2).sum(dim=(1, 2, 3)).mean()
    assert terms["codebook"].item() == pytest.approx(squared.item(), rel=1e-5)
    assert terms["commitment"].item() == pytest.approx(squared.item(), rel=1e-5)
    with torch.no_grad():
        nll = model.likelihood(model.encode(x).mean).nll(x).mean()
    assert terms["reconstruction"].item() == pytest.approx(nll.item(), rel=1e-5)
    expected = terms["reconstruction"] + terms["codebook"] + 0.5 * terms["commitment"]
    assert terms["loss"].item() == pytest.approx(expected.item(), rel=1e-6)


def test_gradients_reach_the_encoder_through_the_straight_through_copy_and_the_codebook_through_its_term():
    model = small_model()
    x = torch.rand(4, 784)
    model.loss(x)["reconstruction"].backward()
    assert model.encoder[0].weight.grad.abs().sum() > 0
    assert model.codebook.weight.grad is None or model.codebook.weight.grad.abs().sum() == 0
    model.zero_grad()
    model.loss(x)["codebook"].backward()
    assert model.codebook.weight.grad.abs().sum() > 0 and model.encoder[0].weight.grad is None


def test_one_code_changes_only_the_pixels_near_its_cell():
    model = small_model(seed=2)
    codes = model.random_codes(2, torch.Generator().manual_seed(0))
    edited = codes.clone()
    edited[:, 3, 3] = (codes[:, 3, 3] + 1) % 16  # the cell over pixels 12..15 in each direction
    with torch.no_grad():
        before, after = model.decode_codes(codes), model.decode_codes(edited)
    changed = (before - after).abs().amax(dim=0) > 0
    assert changed[12:16, 12:16].any()
    rows, cols = torch.nonzero(changed, as_tuple=True)
    # Nothing changes more than 8 pixels from the cell's 4x4 patch.
    assert int(rows.min()) >= 12 - 8 and int(rows.max()) <= 15 + 8
    assert int(cols.min()) >= 12 - 8 and int(cols.max()) <= 15 + 8


def test_random_codes_decode_and_bad_codes_are_refused():
    model = small_model()
    codes = model.random_codes(3, torch.Generator().manual_seed(1))
    assert codes.shape == (3, 7, 7) and 0 <= int(codes.min()) and int(codes.max()) < 16
    with torch.no_grad():
        images = model.decode_codes(codes)
    assert images.shape == (3, 28, 28) and 0 <= float(images.min()) and float(images.max()) <= 1
    for bad, message in ((codes + 16, "between 0 and 15"), (codes[:, :6], r"\(N, 7, 7\)"),
                         (codes.float(), "whole numbers")):
        with pytest.raises(ValueError, match=message):
            model.decode_codes(bad)


def test_perplexity_and_usage_count_the_codes():
    model = small_model()
    one = torch.zeros(2, 7, 7, dtype=torch.int64)
    assert model.perplexity(one) == pytest.approx(1.0)
    even = torch.arange(16).repeat(7)[: 98].reshape(2, 7, 7)  # 98 cells, 16 codes: 6 or 7 each
    assert model.codebook_usage(even).tolist() == [7, 7] + [6] * 14
    assert 15.9 < model.perplexity(even) <= 16
    figures = model.extra_figures(torch.rand(10, 28, 28))
    assert 1 <= figures["perplexity"] <= 16 and 1 <= figures["codes_used"] <= 16


@pytest.mark.parametrize("shape", [(30, 22), (9, 13)])
def test_sides_not_divisible_by_four_are_padded_and_cropped(shape):
    model = small_model(image_shape=shape)
    x = torch.rand(2, shape[0] * shape[1])
    grid = ((shape[0] + 3) // 4, (shape[1] + 3) // 4)
    assert model.code_grid_shape == grid and model.codes(x).shape == (2, *grid)
    assert model.decode_codes(model.codes(x)).shape == (2, *shape)
    assert torch.isfinite(model.loss(x)["loss"])


def test_trains_with_the_standard_trainer_and_reconstructs_better(bundled_test_set):
    data = digits(bundled_test_set, 256)  # 14x14: a 4x4 code grid
    model = small_model(seed=0, image_shape=(14, 14))
    model.eval()
    with torch.no_grad():
        before = model.loss(data.images)["reconstruction"].item()
    config = TrainConfig(epochs=3, batch_size=32, learning_rate=3e-3, lr_schedule="constant", device="cpu", seed=0)
    epochs = [event for event in Trainer(model, data, None, config).run() if isinstance(event, EpochStats)]
    model.eval()
    with torch.no_grad():
        after = model.loss(data.images)["reconstruction"].item()
    assert len(epochs) == 3 and after < 0.8 * before
    assert epochs[-1].train["reconstruction"] < epochs[0].train["reconstruction"]


def test_saves_and_loads_with_equal_weights(tmp_path):
    assert_round_trip(small_model(seed=3, commitment=0.4), tmp_path)


@pytest.mark.parametrize("kwargs", [{"codebook_size": 1}, {"codebook_size": 5000}, {"embedding_dim": 0},
                                    {"commitment": -0.1}, {"channels": 0}, {"image_shape": (0, 28)},
                                    {"codebook_size": 64.0}])
def test_bad_configs_are_refused(kwargs):
    with pytest.raises(ConfigError):
        VQVAEConfig(**kwargs)


def test_a_point_of_any_length_goes_to_the_code_nearest_its_direction():
    model = small_model()
    z = model.encode(torch.rand(2, 784)).mean.detach()
    with torch.no_grad():
        torch.testing.assert_close(model.decode(3.0 * z), model.decode(z))
    assert F.normalize(z.reshape(2, 4, 49), dim=1).allclose(z.reshape(2, 4, 49))
