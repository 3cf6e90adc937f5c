"""Turn a digit drawn with the mouse into an MNIST-style image of the model's size.

MNIST digits were made by scaling each digit to fit a 20x20 box (keeping its
aspect ratio, with anti-aliasing, which gives the grey edges) and then placing
that box in a 28x28 field so the centre of mass of the ink sits at the centre.
A drawing only looks like the data the model learned from after the same
steps, so preprocess_drawing repeats them, for a field of any shape: the box
is then the same 20/28 of each side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

FIELD_SIZE = 28  # MNIST's, the default field
BOX_SIZE = 20  # the box the ink is scaled into, in a FIELD_SIZE field
NOTHING_DRAWN = "Nothing drawn yet: draw a digit with the mouse."
MAX_CANVAS_PIXELS = 4096 * 4096  # far above any canvas on screen; checked before a copy is made


@dataclass(frozen=True)
class PreparedDrawing:
    """The image the model sees, or an explanation of why there is none."""

    image: np.ndarray  # (H, W) of the field, float32 in [0, 1]; all zeros when empty
    empty: bool
    message: str = ""
    bbox: tuple[int, int, int, int] | None = None  # (top, left, bottom, right) on the canvas, inclusive


def ink_bounding_box(canvas: np.ndarray, threshold: float = 0.05) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right) of the pixels brighter than threshold, or None."""
    rows = np.flatnonzero((canvas > threshold).any(axis=1))
    cols = np.flatnonzero((canvas > threshold).any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(cols[0]), int(rows[-1]), int(cols[-1])


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) of the intensity-weighted centre; the middle for a blank image."""
    total = float(image.sum())
    if total <= 0:
        return (image.shape[0] - 1) / 2, (image.shape[1] - 1) / 2
    rows, cols = np.indices(image.shape)
    return float((rows * image).sum() / total), float((cols * image).sum() / total)


def _resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    t = torch.as_tensor(image, dtype=torch.float32)[None, None]
    # Bilinear with antialias averages over the source footprint when shrinking,
    # like area averaging, and never overshoots [0, 1] (unlike bicubic).
    out = F.interpolate(t, size=(height, width), mode="bilinear", antialias=True, align_corners=False)
    return out[0, 0].numpy()


def box_shape(field_shape: tuple[int, int]) -> tuple[int, int]:
    """The box the ink is scaled into: 20/28 of each side of the field, as in MNIST."""
    return tuple(max(1, round(side * BOX_SIZE / FIELD_SIZE)) for side in field_shape)


def preprocess_drawing(
    canvas: np.ndarray,
    threshold: float = 0.05,
    normalise: bool = True,
    field_shape: tuple[int, int] = (FIELD_SIZE, FIELD_SIZE),
) -> PreparedDrawing:
    """MNIST-style image of field_shape (the model's image shape) from a canvas of ink in [0, 1].

    Crop to the ink, scale it to fit the box (20x20 in a 28x28 field) keeping
    the aspect ratio, then shift so the centre of mass lands at the centre of
    the field. normalise rescales so the darkest ink is 1, as in most MNIST
    digits. An empty canvas gives an empty result with a message, never an error.
    """
    field_h, field_w = int(field_shape[0]), int(field_shape[1])
    box_h, box_w = box_shape((field_h, field_w))
    blank = np.zeros((field_h, field_w), dtype=np.float32)
    canvas = np.asarray(canvas)  # no copy of an array yet: its shape and kind are checked first
    if canvas.ndim != 2 or canvas.size == 0:
        return PreparedDrawing(blank, True, NOTHING_DRAWN)
    if canvas.size > MAX_CANVAS_PIXELS or canvas.dtype.kind not in "biuf":
        return PreparedDrawing(blank, True, f"Cannot use this drawing: it must be a grid of at most "
                                            f"{MAX_CANVAS_PIXELS:,} numbers, not {canvas.dtype} of {canvas.shape}.")
    # Ink is in [0, 1]: NaN is no ink, and infinities and other out-of-range values are clipped.
    if canvas.dtype.kind == "b":
        canvas = canvas.view(np.uint8)
    canvas = np.nan_to_num(np.clip(canvas, 0, 1).astype(np.float32), nan=0.0)
    bbox = ink_bounding_box(canvas, threshold)
    if bbox is None:
        return PreparedDrawing(blank, True, NOTHING_DRAWN)
    top, left, bottom, right = bbox
    crop = canvas[top : bottom + 1, left : right + 1]
    height, width = crop.shape
    scale = min(box_h / height, box_w / width)
    new_h = min(box_h, max(1, round(height * scale)))
    new_w = min(box_w, max(1, round(width * scale)))
    box = _resize(crop, new_h, new_w).clip(0.0, 1.0)
    if normalise and box.max() > 0:
        box = box / box.max()
    com_row, com_col = centre_of_mass(box)
    # Integer shifts keep the pixels sharp; clamp so no ink falls off the field.
    offset_row = int(np.clip(round((field_h - 1) / 2 - com_row), 0, field_h - new_h))
    offset_col = int(np.clip(round((field_w - 1) / 2 - com_col), 0, field_w - new_w))
    image = blank.copy()
    image[offset_row : offset_row + new_h, offset_col : offset_col + new_w] = box
    return PreparedDrawing(image.astype(np.float32), False, "", bbox)


def nearest_in_latent(latent_mu: np.ndarray, z: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Indices and Euclidean distances of the k points of latent_mu (N, d) nearest to z (d,), nearest first."""
    latent_mu = np.asarray(latent_mu, dtype=np.float64)
    k = max(0, min(int(k), latent_mu.shape[0]))
    if k == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    distances = np.linalg.norm(latent_mu - np.asarray(z, dtype=np.float64).reshape(1, -1), axis=1)
    candidates = np.argpartition(distances, k - 1)[:k]
    order = candidates[np.argsort(distances[candidates], kind="stable")]
    return order.astype(np.int64), distances[order]
