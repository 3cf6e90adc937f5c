"""The walkthrough of one image adds up to the model's own loss, for every kind and shipped checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import REPO_ROOT
from tests.core.models.kind_checks import build
from vae_explorer.core.checkpoint import load_checkpoint
from vae_explorer.core.models.base import WithClass
from vae_explorer.core.walkthrough import Walkthrough, num

CHECKPOINTS = ("mnist-2d", "mnist-ae-2d", "mnist-cvae-2d", "mnist-vqvae", "mnist-vaegan-2d", "mnist-20d",
               "mnist-beta4-2d")
POSTERIOR_CHECKPOINTS = ("mnist-2d", "mnist-cvae-2d", "mnist-vaegan-2d", "mnist-20d", "mnist-beta4-2d")


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # timings and results as on one thread


@pytest.fixture(scope="module")
def shipped():
    """Every shipped model, loaded once, in eval mode."""
    return {name: load_checkpoint(REPO_ROOT / "checkpoints" / f"{name}.safetensors").model.eval()
            for name in CHECKPOINTS}


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def loss_of_one(model, image, label, beta, seed) -> dict[str, float]:
    with torch.no_grad():
        terms = model.loss(image[None], beta=beta, generator=seeded(seed), labels=torch.tensor([label]))
    return {name: float(value) for name, value in terms.items()}


def assert_adds_up(walk: Walkthrough, terms: dict[str, float]) -> None:
    """The total is loss()'s figure, each named term is loss()'s term, and the weighted terms sum to the total."""
    assert walk.total == pytest.approx(terms["loss"], rel=1e-5, abs=1e-5)
    assert walk.terms_sum() == pytest.approx(walk.total, rel=1e-5, abs=1e-5)
    for term in walk.terms:
        assert term.value == pytest.approx(terms[term.key], rel=1e-5, abs=1e-5), term.key
    assert float(walk.pixel_nats.sum()) == pytest.approx(walk.term("reconstruction").value, rel=1e-5)


@pytest.mark.parametrize("name", CHECKPOINTS)
@pytest.mark.parametrize("index", [0, 7])
def test_the_total_is_the_loss_of_that_digit_for_every_shipped_model(shipped, bundled_test_set, name, index):
    model = shipped[name]
    image, label = bundled_test_set.images[index], int(bundled_test_set.labels[index])
    beta = 4.0 if "beta4" in name else 1.0
    walk = model.walkthrough(image.reshape(28, 28).numpy(), beta=beta, generator=seeded(11),
                             labels=torch.tensor([label]))
    assert_adds_up(walk, loss_of_one(model, image, label, beta, seed=11))
    assert walk.image.shape == walk.decoded.shape == walk.pixel_nats.shape == (28, 28)
    assert walk.z.shape == (model.latent_dim,) and walk.mean.shape == (model.latent_dim,)
    assert walk.steps and all(step.formula and step.worked for step in walk.steps)


@pytest.mark.parametrize("name", POSTERIOR_CHECKPOINTS)
def test_an_explicit_eps_is_the_generator_s_eps(shipped, bundled_test_set, name):
    model = shipped[name]
    image, label = bundled_test_set.images[3], int(bundled_test_set.labels[3])
    drawn = model.walkthrough(image, beta=2.5, generator=seeded(5), labels=torch.tensor([label]))
    given = model.walkthrough(image, beta=2.5, generator=seeded(5), eps=drawn.eps, labels=torch.tensor([label]))
    assert given.total == drawn.total and np.array_equal(given.z, drawn.z)
    assert_adds_up(given, loss_of_one(model, image, label, 2.5, seed=5))


@pytest.mark.parametrize("name", POSTERIOR_CHECKPOINTS)
def test_drawing_eps_again_moves_z_and_nothing_the_encoder_decided(shipped, bundled_test_set, name):
    model = shipped[name]
    image, labels = bundled_test_set.images[1], torch.tensor([int(bundled_test_set.labels[1])])
    first = model.walkthrough(image, generator=seeded(1), labels=labels)
    again = model.walkthrough(image, generator=seeded(2), labels=labels)
    assert not np.array_equal(first.eps, again.eps)
    assert not np.allclose(first.z, again.z, atol=0, rtol=0)
    # z = μ + σ ⊙ ε, with the numbers shown
    np.testing.assert_allclose(again.z, again.mean + np.exp(0.5 * again.logvar) * again.eps, rtol=1e-5, atol=1e-6)
    assert np.array_equal(first.mean, again.mean) and np.array_equal(first.logvar, again.logvar)
    assert first.term("kl").value == again.term("kl").value
    assert np.array_equal(first.image, again.image)
    assert not np.array_equal(first.decoded, again.decoded)
    assert first.term("reconstruction").value != again.term("reconstruction").value
    # the decoded image is the model's decode of that z
    decoded = model.decode(torch.as_tensor(again.z, dtype=torch.float32)[None], labels).detach().numpy()[0]
    np.testing.assert_allclose(again.decoded, decoded, atol=1e-6)


def test_kinds_without_noise_give_the_same_pass_whatever_the_eps_or_beta(shipped, bundled_test_set):
    image = bundled_test_set.images[2]
    for name in ("mnist-ae-2d", "mnist-vqvae"):
        model = shipped[name]
        first, second = model.walkthrough(image, generator=seeded(1)), model.walkthrough(image, beta=3.0,
                                                                                          generator=seeded(2))
        assert first.eps is None and first.logvar is None and first.beta is None
        assert first.total == second.total and np.array_equal(first.z, second.z)
        assert not first.has_term("kl")


def test_the_kl_is_its_closed_form_with_the_numbers_shown(shipped, bundled_test_set):
    walk = shipped["mnist-2d"].walkthrough(bundled_test_set.images[0], generator=seeded(0))
    mu, logvar = walk.mean, walk.logvar
    expected = 0.5 * np.sum(mu**2 + np.exp(logvar) - logvar - 1)
    kl = walk.term("kl")
    assert kl.value == pytest.approx(expected, rel=1e-5)
    assert kl.weight == 1.0 and kl.weight_symbol == "β"
    # a 2-D latent's numbers all appear in the worked formula and the z step
    for value in mu:
        assert num(value) in kl.worked.replace("(", "").replace(")", "")
    sample = next(step for step in walk.steps if step.key == "z")
    assert num(walk.eps[0]) in sample.worked.replace("(", "").replace(")", "") and num(walk.z[1]) in sample.worked


def test_beta_weighs_the_kl_and_zero_leaves_it_out(shipped, bundled_test_set):
    model, image = shipped["mnist-2d"], bundled_test_set.images[4]
    zero = model.walkthrough(image, beta=0.0, generator=seeded(3))
    assert zero.total == pytest.approx(zero.term("reconstruction").value, rel=1e-6)
    assert zero.term("kl").value > 0 and zero.terms_sum() == pytest.approx(zero.total, rel=1e-6)
    assert_adds_up(model.walkthrough(image, beta=7.0, generator=seeded(3)), loss_of_one(model, image, 0, 7.0, 3))


@pytest.mark.parametrize("kind, fields", [
    ("vae", {"likelihood": "gaussian", "gaussian_std": 0.2}),
    ("vae", {"likelihood": "learned_gaussian", "variance": "per_pixel"}),
    ("vae", {"likelihood": "learned_gaussian", "variance": "shared"}),
    ("vae", {"architecture": "conv", "latent_dim": 5}),
    ("autoencoder", {"likelihood": "gaussian", "gaussian_std": 0.3}),
    ("denoising_autoencoder", {"corruption": "mask"}),
    ("conditional_vae", {"likelihood": "gaussian"}),
    ("vq_vae", {"codebook_size": 8, "embedding_dim": 4, "channels": 4}),
    ("vae_gan", {"adversarial_weight": 2.0, "label_smoothing": 0.2}),
])
def test_every_kind_and_likelihood_adds_up(bundled_test_set, kind, fields):
    widths = {} if kind == "vq_vae" else {"hidden_sizes": (32,)}
    model = build(kind, seed=0, image_shape=(14, 14), **widths, **fields).eval()
    image = bundled_test_set.images[5].reshape(28, 28)[::2, ::2].contiguous()
    label = int(bundled_test_set.labels[5])
    walk = model.walkthrough(image.reshape(-1), beta=1.5, generator=seeded(9), labels=torch.tensor([label]))
    assert_adds_up(walk, loss_of_one(model, image.reshape(-1), label, 1.5, 9))
    recon = walk.term("reconstruction")
    assert num(recon.value, 2) in recon.worked  # the sum is written out beside its formula
    decode = next(step for step in walk.steps if step.key == "decode")
    assert ("σ" in decode.worked) == ("gaussian" in fields.get("likelihood", ""))


def test_a_conditional_model_walks_through_its_class_wrapper(shipped, bundled_test_set):
    model, image = shipped["mnist-cvae-2d"], bundled_test_set.images[0]
    direct = model.walkthrough(image, generator=seeded(4), labels=torch.tensor([3]))
    wrapped = WithClass(model, 3).walkthrough(image, generator=seeded(4))
    assert wrapped.total == direct.total and np.array_equal(wrapped.z, direct.z)
    assert "y = 3" in wrapped.steps[0].worked
    assert wrapped.total != model.walkthrough(image, generator=seeded(4), labels=torch.tensor([5])).total


def test_mistakes_end_in_clear_messages(shipped, bundled_test_set):
    image = bundled_test_set.images[0]
    with pytest.raises(ValueError, match="conditional"):
        shipped["mnist-cvae-2d"].walkthrough(image)
    with pytest.raises(ValueError, match="one image of 28x28"):
        shipped["mnist-2d"].walkthrough(np.zeros((2, 784), np.float32))
    with pytest.raises(ValueError, match="one image of 28x28"):
        shipped["mnist-2d"].walkthrough(np.zeros(100, np.float32))
    with pytest.raises(ValueError, match="eps must have 2 values"):
        shipped["mnist-2d"].walkthrough(image, eps=np.zeros(3))


def test_the_vq_vae_shows_its_code_grid_and_the_gan_its_verdicts(shipped, bundled_test_set):
    image = bundled_test_set.images[0]
    vq = shipped["mnist-vqvae"].walkthrough(image)
    codes = shipped["mnist-vqvae"].codes(image[None])[0]
    quantise = next(step for step in vq.steps if step.key == "codes")
    assert quantise.worked.count("<td") == codes.numel()
    assert vq.term("commitment").weight == shipped["mnist-vqvae"].config.commitment
    gan = shipped["mnist-vaegan-2d"].walkthrough(image, generator=seeded(0))
    judge = next(step for step in gan.steps if step.key == "verdicts")
    assert judge.pictures and judge.pictures[0][1].shape == (28, 28)
    assert gan.term("adversarial").weight == shipped["mnist-vaegan-2d"].config.adversarial_weight


def test_the_total_reads_as_a_sum_of_the_terms(shipped, bundled_test_set):
    walk = shipped["mnist-beta4-2d"].walkthrough(bundled_test_set.images[0], beta=4.0, generator=seeded(0))
    assert walk.total_formula() == "loss = reconstruction + β·KL"
    recon, kl = walk.term("reconstruction").value, walk.term("kl").value
    assert walk.total_worked() == f"= {num(recon, 2)} + 4 × {num(kl, 2)} = <b>{num(walk.total, 2)}</b> nats"


def test_the_shipped_checkpoints_are_the_ones_listed():
    shipped_files = {path.stem for path in Path(REPO_ROOT / "checkpoints").glob("*.safetensors")}
    assert set(CHECKPOINTS) <= shipped_files
