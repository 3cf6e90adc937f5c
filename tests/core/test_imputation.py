"""Masks, and the three imputation methods on real test digits with the shipped model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vae_explorer.core.checkpoint import default_checkpoint_path, load_checkpoint
from vae_explorer.core.config import ModelConfig
from vae_explorer.core.imputation import (
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
    iterative_impute_batch,
    iterative_imputation,
    observed_log_likelihood,
    preset_mask,
)
from vae_explorer.core.model import build_model

MIDDLE = "Middle rows 10-17"


@pytest.fixture(scope="module")
def model():
    return load_checkpoint(default_checkpoint_path()).model.eval()


@pytest.fixture(scope="module")
def grid(model):
    return LatentGrid(model, extent=4.0, resolution=60).build()


@pytest.fixture(scope="module")
def digits(bundled_test_set):
    return bundled_test_set.images[:40].numpy().reshape(-1, 28, 28)


def erased_rows_of(mask: np.ndarray) -> list[int]:
    assert all(mask[r].all() or not mask[r].any() for r in range(mask.shape[0])), "partial rows"
    return [r for r in range(mask.shape[0]) if mask[r].all()]


# ----------------------------------------------------------------- masks


def test_presets_erase_exactly_the_rows_they_name():
    assert erased_rows_of(preset_mask("Top half")) == list(range(0, 14))
    assert erased_rows_of(preset_mask("Bottom half")) == list(range(14, 28))
    assert erased_rows_of(preset_mask(MIDDLE)) == list(range(10, 18))
    assert set(PRESET_ROWS) == {"Top half", "Bottom half", MIDDLE}
    with pytest.raises(KeyError, match="unknown mask preset"):
        preset_mask("left half")


def test_row_and_rectangle_masks_accept_any_corner_order_and_clip():
    assert erased_rows_of(erase_rows(5, 2)) == [2, 3, 4, 5]
    assert erased_rows_of(erase_rows(25, 40)) == [25, 26, 27]
    rect = erase_rectangle(9, 12, 3, 4)
    assert rect.sum() == 7 * 9
    assert rect[3:10, 4:13].all()
    assert erase_rectangle(-5, -5, 0, 0).sum() == 1
    assert not empty_mask().any()


def test_masked_input_and_error_only_look_at_erased_pixels(digits):
    mask = preset_mask(MIDDLE)
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
    mask = erase_rectangle(8, 5, 20, 22)
    steps = list(iterative_imputation(model, digits[3], mask, steps=12))
    assert [s.step for s in steps] == list(range(1, 13))
    for s in steps:
        assert s.image.shape == (28, 28) and s.z.shape == (2,)
        assert_observed_untouched(s.image, digits[3], mask)
        assert 0.0 <= s.image.min() and s.image.max() <= 1.0


def test_iterative_sampling_variant_keeps_observed_pixels(model, digits):
    mask = preset_mask("Bottom half")
    generator = torch.Generator().manual_seed(0)
    for s in iterative_imputation(model, digits[1], mask, steps=5, sample=True, generator=generator):
        assert_observed_untouched(s.image, digits[1], mask)
        assert set(np.unique(s.image[mask])) <= {0.0, 1.0}


@pytest.mark.parametrize("preset", [MIDDLE, "Bottom half"])
def test_iterative_lowers_the_error_on_erased_pixels(model, digits, preset):
    mask = preset_mask(preset)
    batch = iterative_impute_batch(model, digits, mask, steps=20).reshape(-1, 28, 28)
    assert_observed_untouched(batch, digits, mask)
    assert_improves_on_masked_input(batch, digits, mask)
    last = list(iterative_imputation(model, digits[5], mask, steps=20))[-1]
    np.testing.assert_allclose(last.image, batch[5], atol=1e-5)


# -------------------------------------------------------- grid posterior


def test_grid_posterior_sums_to_one_and_peaks_near_the_encoder_mean(model, grid, digits):
    for image in digits[:10]:
        posterior = grid_posterior(grid, image, empty_mask())
        assert posterior.probabilities.shape == (60, 60)
        assert posterior.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
        assert (posterior.probabilities >= 0).all()
        mu, _ = model.encode(torch.as_tensor(image.reshape(1, -1)))
        mu = mu.detach().numpy()[0]
        assert np.linalg.norm(posterior.map_z - mu) < 0.5
        assert np.linalg.norm(posterior.mean_z - mu) < 0.5
        # Row 0 of the probabilities is y = -extent: the peak cell's centre is map_z.
        row, col = np.unravel_index(np.argmax(posterior.probabilities), posterior.probabilities.shape)
        centres = grid.centres.numpy()
        np.testing.assert_allclose(posterior.map_z, [centres[col], centres[row]])


def test_grid_log_likelihood_matches_the_model_on_observed_pixels(model, grid, digits):
    mask = preset_mask(MIDDLE)
    x = torch.as_tensor(digits[:3].reshape(3, -1))
    observed = torch.as_tensor(~mask.reshape(1, -1), dtype=torch.float32)
    cells = torch.tensor([0, 1234, 3599])
    with torch.no_grad():
        direct = observed_log_likelihood(model.decode(grid.z[cells])[None], x[:, None], observed, model)
    from_grid = grid.log_likelihood(x, observed.expand_as(x))[:, cells]
    torch.testing.assert_close(from_grid, direct, rtol=1e-4, atol=1e-2)


def test_gaussian_grid_log_likelihood_matches_the_model(digits):
    config = ModelConfig(hidden_sizes=(32,), likelihood="gaussian", gaussian_std=0.2)
    model = build_model(config, seed=1).eval()
    small = LatentGrid(model, extent=3.0, resolution=7).build()
    x = torch.as_tensor(digits[:2].reshape(2, -1))
    observed = torch.as_tensor(~preset_mask("Top half").reshape(1, -1), dtype=torch.float32).expand_as(x)
    with torch.no_grad():
        direct = observed_log_likelihood(model.decode(small.z)[None], x[:, None], observed[:, None], model)
    torch.testing.assert_close(small.log_likelihood(x, observed), direct, rtol=1e-4, atol=1e-2)
    steps = list(grid_posterior_steps(small, digits[0], preset_mask("Top half")))
    final = grid_posterior(small, digits[0], preset_mask("Top half"))
    np.testing.assert_allclose(steps[-1].probabilities, final.probabilities, atol=1e-5)


@pytest.mark.parametrize("preset", [MIDDLE, "Top half"])
def test_grid_posterior_mean_lowers_the_error_and_keeps_observed_pixels(grid, digits, preset):
    mask = preset_mask(preset)
    batch = grid_posterior_mean_batch(grid, digits, mask).reshape(-1, 28, 28)
    assert_observed_untouched(batch, digits, mask)
    assert_improves_on_masked_input(batch, digits, mask)
    single = grid_posterior(grid, digits[7], mask)
    np.testing.assert_allclose(single.mean_image, batch[7], atol=1e-4)
    assert_observed_untouched(single.map_image, digits[7], mask)
    maps = np.stack([grid_posterior(grid, x, mask).map_image for x in digits])
    assert_improves_on_masked_input(maps, digits, mask)


def test_grid_posterior_steps_go_from_prior_to_full_posterior(grid, digits):
    mask = preset_mask(MIDDLE)
    steps = list(grid_posterior_steps(grid, digits[2], mask))
    observed_rows = 28 - 8
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
    mask = preset_mask(MIDDLE)
    posterior = grid_posterior(grid, digits[4], mask)
    z, images = posterior.samples(6, generator=torch.Generator().manual_seed(3))
    assert z.shape == (6, 2) and images.shape == (6, 28, 28)
    assert (np.abs(z) <= grid.extent + 1e-6).all()
    assert_observed_untouched(images, digits[4], mask)
    assert (posterior.uncertainty[~mask] == 0).all()
    assert posterior.uncertainty[mask].max() > 0.01
    assert posterior.uncertainty.max() <= 0.5 + 1e-6  # std of values in [0, 1]


def test_grid_needs_a_two_dimensional_latent():
    model = build_model(ModelConfig(hidden_sizes=(16,), latent_dim=3), seed=0)
    with pytest.raises(ValueError, match="2-D"):
        LatentGrid(model)


# --------------------------------------------------------- gradient MAP


def test_gradient_map_climbs_the_posterior_and_lowers_the_error(model, digits):
    mask = preset_mask(MIDDLE)
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
    model = build_model(ModelConfig(hidden_sizes=(32,), latent_dim=5), seed=0).eval()
    mask = erase_rectangle(0, 0, 27, 13)
    steps = list(gradient_map_steps(model, digits[0], mask, starts=3, iterations=30, report_every=10))
    assert steps[-1].z.shape == (5,)
    assert steps[-1].log_posterior > steps[0].log_posterior
    assert_observed_untouched(steps[-1].image, digits[0], mask)
