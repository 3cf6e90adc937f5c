"""MNIST-style preprocessing of drawn digits, and nearest neighbours in latent space."""

from __future__ import annotations

import numpy as np
import pytest

from vae_explorer.core.drawing import (
    NOTHING_DRAWN,
    box_shape,
    centre_of_mass,
    ink_bounding_box,
    nearest_in_latent,
    preprocess_drawing,
)


def canvas_with(*boxes: tuple[int, int, int, int], size: int = 280) -> np.ndarray:
    canvas = np.zeros((size, size), dtype=np.float32)
    for top, left, bottom, right in boxes:
        canvas[top:bottom, left:right] = 1.0
    return canvas


def test_empty_or_odd_canvases_give_an_empty_result_not_an_error():
    for canvas in (np.zeros((280, 280)), np.zeros((0, 0)), np.full((50, 50), 0.01), np.full((9, 9), np.nan)):
        result = preprocess_drawing(canvas)
        assert result.empty and result.message == NOTHING_DRAWN
        assert result.image.shape == (28, 28) and not result.image.any()


def test_tall_stroke_is_scaled_to_twenty_rows_keeping_its_aspect():
    # A vertical bar 200 px tall and 40 px wide in the top-left corner.
    result = preprocess_drawing(canvas_with((10, 10, 210, 50)))
    assert not result.empty and result.bbox == (10, 10, 209, 49)
    rows = np.flatnonzero(result.image.any(axis=1))
    cols = np.flatnonzero(result.image.any(axis=0))
    assert rows[-1] - rows[0] + 1 == 20
    assert cols[-1] - cols[0] + 1 == 4


@pytest.mark.parametrize(
    "boxes",
    [
        [(0, 0, 60, 280)],  # a bar along the top edge
        [(200, 230, 280, 280)],  # a blob in the bottom-right corner
        [(20, 20, 200, 60), (20, 20, 60, 200)],  # an L shape, mass off-centre in its box
        [(140, 140, 141, 141)],  # a single pixel
    ],
)
def test_preprocessing_centres_the_mass_and_stays_in_range(boxes):
    result = preprocess_drawing(canvas_with(*boxes))
    assert not result.empty
    image = result.image
    assert image.dtype == np.float32 and image.shape == (28, 28)
    assert image.min() >= 0.0 and image.max() <= 1.0
    assert image.max() == pytest.approx(1.0)
    row, col = centre_of_mass(image)
    assert abs(row - 13.5) <= 1.0 and abs(col - 13.5) <= 1.0


def test_soft_ink_and_antialiased_edges_are_grey_levels():
    canvas = canvas_with((40, 100, 240, 180)) * 0.6
    canvas[40:240, 100:103] = 0.3
    image = preprocess_drawing(canvas).image
    greys = image[(image > 0.02) & (image < 0.98)]
    assert greys.size > 0  # the scaled edges are grey, as in MNIST
    assert preprocess_drawing(canvas, normalise=False).image.max() <= 0.6 + 1e-6


def test_bounding_box_threshold_ignores_faint_specks():
    canvas = canvas_with((100, 100, 120, 130))
    canvas[0, 0] = 0.01
    assert ink_bounding_box(canvas) == (100, 100, 119, 129)


def test_nearest_in_latent_returns_the_k_closest_in_order():
    points = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [0.0, 0.5], [-2.0, 0.0], [5.0, 5.0]])
    indices, distances = nearest_in_latent(points, np.array([0.1, 0.1]), k=3)
    assert list(indices) == [0, 3, 1]
    np.testing.assert_allclose(distances, np.linalg.norm(points[[0, 3, 1]] - [0.1, 0.1], axis=1))
    assert len(nearest_in_latent(points, np.zeros(2), k=50)[0]) == 6
    assert len(nearest_in_latent(points[:0], np.zeros(2), k=5)[0]) == 0


@pytest.mark.parametrize("field_shape", [(28, 28), (32, 32), (40, 24)])
def test_the_field_follows_the_models_image_shape_with_mnists_proportions(field_shape):
    # The tall bar again: its long side fills the box, 20/28 of the field's height.
    result = preprocess_drawing(canvas_with((10, 10, 210, 50)), field_shape=field_shape)
    assert result.image.shape == field_shape
    assert box_shape(field_shape) == (round(field_shape[0] * 20 / 28), round(field_shape[1] * 20 / 28))
    rows = np.flatnonzero(result.image.any(axis=1))
    assert rows[-1] - rows[0] + 1 == box_shape(field_shape)[0]
    row, col = centre_of_mass(result.image)
    assert abs(row - (field_shape[0] - 1) / 2) <= 1.0 and abs(col - (field_shape[1] - 1) / 2) <= 1.0
    empty = preprocess_drawing(np.zeros((50, 50)), field_shape=field_shape)
    assert empty.empty and empty.image.shape == field_shape


def test_a_wide_stroke_in_a_narrow_field_is_limited_by_the_width():
    result = preprocess_drawing(canvas_with((100, 0, 140, 280)), field_shape=(40, 14))
    cols = np.flatnonzero(result.image.any(axis=0))
    assert cols[-1] - cols[0] + 1 == box_shape((40, 14))[1] == 10
