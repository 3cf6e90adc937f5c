"""Masks and the three imputation methods: on real test digits with the shipped model, and on
other likelihoods, other image shapes and a kind without a likelihood or a posterior."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from vae_explorer.core.checkpoint import default_checkpoint_path, load_checkpoint
from vae_explorer.core.imputation import (
    MIDDLE_ROWS,
    PRESET_ROWS,
    LatentGrid,
    apply_mask,
    empty_mask,
    erase_rectangle,
    erase_rows,
    erased_mse,
    gradient_map_steps,
    grid_posterior,
    grid_posterior_mean_batch,
    grid_posterior_steps,
    grid_unavailable,
    iterative_imputation,
    iterative_impute_batch,
    map_unavailable,
    observed_log_likelihood,
    preset_mask,
    preset_rows,
)
from vae_explorer.core.models import registry
from vae_explorer.core.models.base import ExplorableModel, LatentCode
from vae_explorer.core.models.vae import VAEConfig as MLPVAEConfig

MIDDLE = MIDDLE_ROWS
SHAPE = (28, 28)  # the bundled MNIST split's image shape, checked in the digits fixture


def mlp_vae(seed: int, **config) -> ExplorableModel:
    return registry.build("mlp_vae", MLPVAEConfig(**config), seed=seed).eval()


@pytest.fixture(scope="module")
def model():
    return load_checkpoint(default_checkpoint_path()).model.eval()


@pytest.fixture(scope="module")
def grid(model):
    return LatentGrid(model, extent=4.0, resolution=60).build()


@pytest.fixture(scope="module")
def digits(bundled_test_set):
    assert tuple(bundled_test_set.image_shape) == SHAPE
    return bundled_test_set.images[:40].numpy().reshape(-1, *SHAPE)


def erased_rows_of(mask: np.ndarray) -> list[int]:
    assert all(mask[r].all() or not mask[r].any() for r in range(mask.shape[0])), "partial rows"
    return [r for r in range(mask.shape[0]) if mask[r].all()]


# ----------------------------------------------------------------- masks


def test_presets_erase_exactly_the_rows_they_name():
    assert erased_rows_of(preset_mask("Top half", SHAPE)) == list(range(0, 14))
    assert erased_rows_of(preset_mask("Bottom half", SHAPE)) == list(range(14, 28))
    assert erased_rows_of(preset_mask(MIDDLE, SHAPE)) == list(range(10, 18))
    assert set(PRESET_ROWS) == {"Top half", "Bottom half", MIDDLE}
    with pytest.raises(KeyError, match="unknown mask preset"):
        preset_mask("left half", SHAPE)


def test_row_and_rectangle_masks_accept_any_corner_order_and_clip():
    assert erased_rows_of(erase_rows(5, 2, SHAPE)) == [2, 3, 4, 5]
    assert erased_rows_of(erase_rows(25, 40, SHAPE)) == [25, 26, 27]
    rect = erase_rectangle(9, 12, 3, 4, SHAPE)
    assert rect.sum() == 7 * 9
    assert rect[3:10, 4:13].all()
    assert erase_rectangle(-5, -5, 0, 0, SHAPE).sum() == 1
    assert not empty_mask(SHAPE).any()


def test_masked_input_and_error_only_look_at_erased_pixels(digits):
    mask = preset_mask(MIDDLE, SHAPE)
    masked = apply_mask(digits[0], mask)
    assert (masked[mask] == 0).all() and np.array_equal(masked[~mask], digits[0][~mask])
    wrong_outside = digits[0].copy()
    wrong_outside[~mask] = 1 - wrong_outside[~mask]
    assert erased_mse(wrong_outside, digits[0], mask) == 0.0
    assert erased_mse(masked, digits[0], mask) == pytest.approx(np.mean(digits[0][mask] ** 2))


# ----------------------------------------------------- shared expectations


def assert_improves_on_masked_input(imputations: np.ndarray, originals: np.ndarray, mask: np.ndarray):
    masked_errors = [erased_mse(apply_mask(x, mask), x, mask) for x in originals]
    errors = [erased_mse(y, x, mask) for y, x in zip(imputations, originals)]
    assert np.mean(errors) < 0.75 * np.mean(masked_errors)
    assert np.mean(np.less(errors, masked_errors)) >= 0.7  # most digits, not only on average


def assert_observed_untouched(imputed: np.ndarray, original: np.ndarray, mask: np.ndarray):
    assert np.array_equal(imputed[..., ~mask], np.broadcast_to(original, imputed.shape)[..., ~mask])


# ------------------------------------------------------------- iterative


def test_iterative_keeps_every_observed_pixel_at_every_step(model, digits):
    mask = erase_rectangle(8, 5, 20, 22, SHAPE)
    steps = list(iterative_imputation(model, digits[3], mask, steps=12))
    assert [s.step for s in steps] == list(range(1, 13))
    for s in steps:
        assert s.image.shape == SHAPE and s.z.shape == (2,)
        assert_observed_untouched(s.image, digits[3], mask)
        assert 0.0 <= s.image.min() and s.image.max() <= 1.0


def test_iterative_sampling_variant_keeps_observed_pixels(model, digits):
    mask = preset_mask("Bottom half", SHAPE)
    generator = torch.Generator().manual_seed(0)
    for s in iterative_imputation(model, digits[1], mask, steps=5, sample=True, generator=generator):
        assert_observed_untouched(s.image, digits[1], mask)
        assert set(np.unique(s.image[mask])) <= {0.0, 1.0}


@pytest.mark.parametrize("preset", [MIDDLE, "Bottom half"])
def test_iterative_lowers_the_error_on_erased_pixels(model, digits, preset):
    mask = preset_mask(preset, SHAPE)
    batch = iterative_impute_batch(model, digits, mask, steps=20).reshape(-1, *SHAPE)
    assert_observed_untouched(batch, digits, mask)
    assert_improves_on_masked_input(batch, digits, mask)
    last = list(iterative_imputation(model, digits[5], mask, steps=20))[-1]
    np.testing.assert_allclose(last.image, batch[5], atol=1e-5)


# -------------------------------------------------------- grid posterior


def test_grid_posterior_sums_to_one_and_peaks_near_the_encoder_mean(model, grid, digits):
    for image in digits[:10]:
        posterior = grid_posterior(grid, image, empty_mask(SHAPE))
        assert posterior.probabilities.shape == (60, 60)
        assert posterior.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
        assert (posterior.probabilities >= 0).all()
        mu = model.encode(torch.as_tensor(image.reshape(1, -1))).mean.detach().numpy()[0]
        assert np.linalg.norm(posterior.map_z - mu) < 0.5
        assert np.linalg.norm(posterior.mean_z - mu) < 0.5
        # Row 0 of the probabilities is y = -extent: the peak cell's centre is map_z.
        row, col = np.unravel_index(np.argmax(posterior.probabilities), posterior.probabilities.shape)
        centres = grid.centres.numpy()
        np.testing.assert_allclose(posterior.map_z, [centres[col], centres[row]])


def test_grid_log_likelihood_matches_the_model_on_observed_pixels(model, grid, digits):
    mask = preset_mask(MIDDLE, SHAPE)
    x = torch.as_tensor(digits[:3].reshape(3, -1))
    observed = torch.as_tensor(~mask.reshape(1, -1), dtype=torch.float32)
    cells = torch.tensor([0, 1234, 3599])
    with torch.no_grad():
        direct = observed_log_likelihood(model.likelihood(grid.z[cells]), x[:, None], observed)
    from_grid = grid.log_likelihood(x, observed.expand_as(x))[:, cells]
    torch.testing.assert_close(from_grid, direct, rtol=1e-4, atol=1e-2)


def test_gaussian_grid_log_likelihood_matches_the_model(digits):
    model = mlp_vae(1, hidden_sizes=(32,), likelihood="gaussian", gaussian_std=0.2)
    small = LatentGrid(model, extent=3.0, resolution=7).build()
    x = torch.as_tensor(digits[:2].reshape(2, -1))
    observed = torch.as_tensor(~preset_mask("Top half", SHAPE).reshape(1, -1), dtype=torch.float32).expand_as(x)
    with torch.no_grad():
        direct = observed_log_likelihood(model.likelihood(small.z), x[:, None], observed[:, None])
    torch.testing.assert_close(small.log_likelihood(x, observed), direct, rtol=1e-4, atol=1e-2)
    steps = list(grid_posterior_steps(small, digits[0], preset_mask("Top half", SHAPE), refine=False))
    final = grid_posterior(small, digits[0], preset_mask("Top half", SHAPE))
    np.testing.assert_allclose(steps[-1].probabilities, final.probabilities, atol=1e-5)


@pytest.mark.parametrize("preset", [MIDDLE, "Top half"])
def test_grid_posterior_mean_lowers_the_error_and_keeps_observed_pixels(grid, digits, preset):
    mask = preset_mask(preset, SHAPE)
    batch = grid_posterior_mean_batch(grid, digits, mask).reshape(-1, *SHAPE)
    assert_observed_untouched(batch, digits, mask)
    assert_improves_on_masked_input(batch, digits, mask)
    single = grid_posterior(grid, digits[7], mask)
    np.testing.assert_allclose(single.mean_image, batch[7], atol=1e-4)
    assert_observed_untouched(single.map_image, digits[7], mask)
    maps = np.stack([grid_posterior(grid, x, mask).map_image for x in digits])
    assert_improves_on_masked_input(maps, digits, mask)


def test_grid_posterior_steps_go_from_prior_to_full_posterior(grid, digits):
    mask = preset_mask(MIDDLE, SHAPE)
    steps = list(grid_posterior_steps(grid, digits[2], mask, refine=False))
    observed_rows = SHAPE[0] - 8
    assert len(steps) == 1 + observed_rows
    assert [s.rows_seen for s in steps] == [0, *range(1, 11), *range(19, 29)]
    prior = np.exp(grid.log_prior.numpy()).reshape(60, 60)
    np.testing.assert_allclose(steps[0].probabilities, prior / prior.sum(), atol=1e-6)
    final = grid_posterior(grid, digits[2], mask)
    np.testing.assert_allclose(steps[-1].probabilities, final.probabilities, atol=1e-5)
    for s in steps:
        assert s.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
        assert_observed_untouched(s.mean_image, digits[2], mask)

    def entropy(p):
        p = p[p > 0]
        return float(-(p * np.log(p)).sum())

    assert entropy(steps[-1].probabilities) < entropy(steps[0].probabilities) - 2.0


def test_posterior_samples_and_uncertainty(grid, digits):
    mask = preset_mask(MIDDLE, SHAPE)
    posterior = grid_posterior(grid, digits[4], mask)
    z, images = posterior.samples(6, generator=torch.Generator().manual_seed(3))
    assert z.shape == (6, 2) and images.shape == (6, *SHAPE)
    assert (np.abs(z) <= grid.extent + 1e-6).all()
    assert_observed_untouched(images, digits[4], mask)
    assert (posterior.uncertainty[~mask] == 0).all()
    assert posterior.uncertainty[mask].max() > 0.01
    assert posterior.uncertainty.max() <= 0.5 + 1e-6  # std of values in [0, 1]


def test_grid_needs_a_two_dimensional_latent():
    model = mlp_vae(0, hidden_sizes=(16,), latent_dim=3)
    with pytest.raises(ValueError, match="2-D"):
        LatentGrid(model)


# --------------------------------------------------------- gradient MAP


def test_gradient_map_climbs_the_posterior_and_lowers_the_error(model, digits):
    mask = preset_mask(MIDDLE, SHAPE)
    finals = []
    for image in digits[:12]:
        steps = list(gradient_map_steps(model, image, mask, starts=4, iterations=60, report_every=20,
                                        generator=torch.Generator().manual_seed(0)))
        assert [s.step for s in steps] == [0, 20, 40, 60]
        assert steps[-1].log_posterior >= steps[0].log_posterior
        assert steps[-1].starts.shape == (4, 2)
        for s in steps:
            assert_observed_untouched(s.image, image, mask)
        finals.append(steps[-1].image)
    assert_improves_on_masked_input(np.stack(finals), digits[:12], mask)


def test_gradient_map_works_for_larger_latents(digits):
    model = mlp_vae(0, hidden_sizes=(32,), latent_dim=5)
    mask = erase_rectangle(0, 0, 27, 13, SHAPE)
    steps = list(gradient_map_steps(model, digits[0], mask, starts=3, iterations=30, report_every=10))
    assert steps[-1].z.shape == (5,)
    assert steps[-1].log_posterior > steps[0].log_posterior
    assert_observed_untouched(steps[-1].image, digits[0], mask)


# ------------------------------------------- any likelihood, any image shape


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_quadratic_coefficients_reproduce_log_prob_with_its_constants(likelihood):
    model = mlp_vae(2, hidden_sizes=(16,), likelihood=likelihood, gaussian_std=0.3, image_shape=(6, 5))
    z = torch.randn(4, 2, generator=torch.Generator().manual_seed(0))
    x = torch.rand(4, 30, generator=torch.Generator().manual_seed(1))
    x[:, :5] = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.5])  # the ends of the range and a grey
    with torch.no_grad():
        lik = model.likelihood(z)
        terms = lik.quadratic_log_prob()
        expected = lik.log_prob(x)
    torch.testing.assert_close(terms(x), expected, rtol=1e-5, atol=1e-4)
    evaluated = (1 - x) * terms.at_zero + x * terms.at_one + terms.curvature * x * (x - 1)
    torch.testing.assert_close(evaluated, expected, rtol=1e-5, atol=1e-4)
    assert lik.sample(torch.Generator().manual_seed(0)).shape == (4, 30)


def test_presets_are_sized_from_the_image_height():
    assert preset_rows(MIDDLE, 28) == (10, 17)
    assert erased_rows_of(preset_mask("Top half", (32, 20))) == list(range(0, 16))
    assert erased_rows_of(preset_mask("Bottom half", (32, 20))) == list(range(16, 32))
    first, last = preset_rows(MIDDLE, 32)
    assert abs(first - (31 - last)) <= 1  # centred
    assert preset_mask(MIDDLE, (32, 20)).shape == (32, 20)
    assert preset_mask(MIDDLE, (3, 3)).any()  # even a tiny image has a middle row


def test_every_method_works_on_a_model_of_another_image_shape(digits):
    shape = (12, 10)
    model = mlp_vae(3, hidden_sizes=(24,), likelihood="gaussian", gaussian_std=0.25, image_shape=shape)
    images = digits[:4, ::2, ::3][:, :12, :10].copy()  # any images of the right shape will do
    mask = preset_mask(MIDDLE, shape)
    steps = list(iterative_imputation(model, images[0], mask, steps=3))
    assert steps[-1].image.shape == shape
    assert_observed_untouched(steps[-1].image, images[0], mask)
    batch = iterative_impute_batch(model, images, mask, steps=3)
    assert batch.shape == (4, 120)
    small = LatentGrid(model, extent=3.0, resolution=9).build()
    posterior = grid_posterior(small, images[1], mask)
    assert posterior.mean_image.shape == shape and posterior.probabilities.shape == (9, 9)
    assert_observed_untouched(posterior.mean_image, images[1], mask)
    x = torch.as_tensor(images.reshape(4, -1))
    observed = torch.as_tensor(~mask.reshape(1, -1), dtype=torch.float32)
    with torch.no_grad():
        direct = observed_log_likelihood(model.likelihood(small.z), x[:, None], observed)
    torch.testing.assert_close(small.log_likelihood(x, observed), direct, rtol=1e-4, atol=1e-2)
    stepped = list(grid_posterior_steps(small, images[1], mask, refine=False))
    np.testing.assert_allclose(stepped[-1].probabilities, posterior.probabilities, atol=1e-5)
    last = list(gradient_map_steps(model, images[2], mask, starts=2, iterations=5, report_every=5))[-1]
    assert last.image.shape == shape
    assert_observed_untouched(last.image, images[2], mask)


def test_a_grid_decoded_one_cell_at_a_time_scores_like_one_built_at_once(digits):
    model = mlp_vae(4, hidden_sizes=(16,))
    whole = LatentGrid(model, extent=2.0, resolution=5).build()
    piecewise = LatentGrid(model, extent=2.0, resolution=5)
    while not piecewise.ready:
        piecewise.decode_next_chunk(1 if piecewise._decoded == 0 else 7)
    x = torch.as_tensor(digits[:3].reshape(3, -1))
    observed = torch.as_tensor(~preset_mask("Top half", SHAPE).reshape(1, -1), dtype=torch.float32)
    torch.testing.assert_close(piecewise.log_likelihood(x, observed), whole.log_likelihood(x, observed))


def test_gradient_map_leaves_the_weights_without_gradients(digits):
    model = mlp_vae(5, hidden_sizes=(16,))
    list(gradient_map_steps(model, digits[0], preset_mask(MIDDLE, SHAPE), starts=2, iterations=3))
    assert all(p.grad is None for p in model.parameters())


@dataclass(frozen=True)
class CodeOnlyConfig:
    latent_dim: int = 2
    image_shape: tuple[int, int] = SHAPE


class CodeOnly(ExplorableModel):
    """A deterministic autoencoder: a code and an image, no posterior and no likelihood."""

    kind = "code_only_for_tests"
    Config = CodeOnlyConfig

    def __init__(self, config: CodeOnlyConfig = CodeOnlyConfig()):
        super().__init__(config)
        pixels = config.image_shape[0] * config.image_shape[1]
        self.encoder = torch.nn.Linear(pixels, config.latent_dim)
        self.decoder = torch.nn.Linear(config.latent_dim, pixels)

    def encode(self, x, labels=None):
        return LatentCode(self.encoder(self.flat(x)))

    def decode(self, z, labels=None):
        return torch.sigmoid(self.decoder(z)).reshape(-1, *self.image_shape)


def test_a_kind_without_likelihood_or_posterior_gets_iteration_and_a_clear_refusal(digits):
    torch.manual_seed(0)
    model = CodeOnly().eval()
    mask = preset_mask(MIDDLE, SHAPE)
    steps = list(iterative_imputation(model, digits[0], mask, steps=2))
    assert_observed_untouched(steps[-1].image, digits[0], mask)
    assert "no pixel likelihood" in grid_unavailable(model)
    assert "no pixel likelihood" in map_unavailable(model)
    with pytest.raises(ValueError, match="no pixel likelihood"):
        LatentGrid(model)
    with pytest.raises(ValueError, match="no pixel likelihood"):
        next(gradient_map_steps(model, digits[0], mask))
    with pytest.raises(ValueError, match="posterior"):
        next(iterative_imputation(model, digits[0], mask, sample=True))


def test_the_shipped_model_can_run_every_method(model):
    assert grid_unavailable(model) is None and map_unavailable(model) is None
