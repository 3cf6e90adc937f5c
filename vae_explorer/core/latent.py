"""Latent-space geometry for the explorer, in plain numpy (no Qt, no torch).

Grids to decode, the inverse-Gaussian-CDF manifold grid, paths between two
codes, ellipses of a diagonal Gaussian, nearest data point, tiling decoded
images into one picture, and writing codes to CSV.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from statistics import NormalDist

import numpy as np


def grid_points(xmin: float, xmax: float, ymin: float, ymax: float, cols: int, rows: int) -> np.ndarray:
    """Centres of a cols x rows grid of equal cells covering the rectangle, shape (rows*cols, 2).

    Row-major with row 0 at the *top* (ymax), the order in which a picture is
    read, so decoding them and tiling with tile_images gives an upright image.
    """
    if cols <= 0 or rows <= 0:
        raise ValueError("grid needs at least one row and one column")
    xs = xmin + (np.arange(cols) + 0.5) * (xmax - xmin) / cols
    ys = ymax - (np.arange(rows) + 0.5) * (ymax - ymin) / rows
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)


def gaussian_quantiles(count: int, tail: float = 0.05) -> np.ndarray:
    """count points whose probabilities are evenly spaced in [tail, 1 - tail] under N(0, 1).

    Spacing by the inverse CDF puts equal prior mass between neighbours, the
    classic way to lay a manifold grid over a VAE's latent space.
    """
    if count <= 0:
        raise ValueError("count must be positive")
    if not 0 < tail < 0.5:
        raise ValueError("tail must lie in (0, 0.5)")
    probabilities = np.linspace(tail, 1 - tail, count) if count > 1 else np.array([0.5])
    normal = NormalDist()
    return np.array([normal.inv_cdf(float(p)) for p in probabilities], dtype=np.float32)


def manifold_grid(count: int, tail: float = 0.05) -> np.ndarray:
    """count x count latent points on the inverse-CDF grid, row 0 at the top, shape (count**2, 2)."""
    q = gaussian_quantiles(count, tail)
    gx, gy = np.meshgrid(q, q[::-1])
    return np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)


def linear_path(start: np.ndarray, end: np.ndarray, steps: int) -> np.ndarray:
    """steps points from start to end inclusive along a straight line, shape (steps, d)."""
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    t = np.linspace(0.0, 1.0, _check_steps(steps))[:, None]
    return ((1 - t) * start + t * end).astype(np.float32)


def spherical_path(start: np.ndarray, end: np.ndarray, steps: int) -> np.ndarray:
    """Spherical interpolation (slerp) from start to end, shape (steps, d).

    Slerp rotates the direction and interpolates the length linearly, so
    midpoints keep a typical norm under a Gaussian prior instead of cutting
    through the low-density centre. Falls back to a line when either end is at
    the origin or the two are (anti)parallel, where the rotation is undefined.
    """
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    steps = _check_steps(steps)
    norm_a, norm_b = np.linalg.norm(start), np.linalg.norm(end)
    if norm_a < 1e-8 or norm_b < 1e-8:
        return linear_path(start, end, steps)
    unit_a, unit_b = start / norm_a, end / norm_b
    omega = np.arccos(np.clip(np.dot(unit_a, unit_b), -1.0, 1.0))
    if omega < 1e-6 or np.pi - omega < 1e-6:
        return linear_path(start, end, steps)
    t = np.linspace(0.0, 1.0, steps)[:, None]
    direction = (np.sin((1 - t) * omega) * unit_a + np.sin(t * omega) * unit_b) / np.sin(omega)
    length = (1 - t) * norm_a + t * norm_b
    return (direction * length).astype(np.float32)


def interpolation_path(start: np.ndarray, end: np.ndarray, steps: int, method: str = "linear") -> np.ndarray:
    if method == "linear":
        return linear_path(start, end, steps)
    if method == "spherical":
        return spherical_path(start, end, steps)
    raise ValueError(f"method must be 'linear' or 'spherical', got {method!r}")


def _check_steps(steps: int) -> int:
    if steps < 2:
        raise ValueError("a path needs at least 2 steps")
    return int(steps)


def ellipse_points(mu: np.ndarray, sigma: np.ndarray, k: float = 1.0, count: int = 64) -> np.ndarray:
    """Closed outline of the k-sigma contour of N(mu, diag(sigma^2)) in 2-D, shape (count + 1, 2)."""
    mu, sigma = np.asarray(mu, np.float64).reshape(2), np.asarray(sigma, np.float64).reshape(2)
    angle = np.linspace(0.0, 2 * np.pi, count + 1)
    outline = np.stack([mu[0] + k * sigma[0] * np.cos(angle), mu[1] + k * sigma[1] * np.sin(angle)], axis=1)
    return outline.astype(np.float32)


def sigma_from_logvar(logvar: np.ndarray) -> np.ndarray:
    return np.exp(0.5 * np.asarray(logvar, np.float64)).astype(np.float32)


def nearest_point(codes: np.ndarray, z: np.ndarray, max_distance: float | None = None,
                  scale: np.ndarray | None = None, mask: np.ndarray | None = None) -> int | None:
    """Index of the code closest to z, or None if none is within max_distance.

    scale divides each axis first (pass the data size of one screen pixel to
    measure in pixels); mask limits the search to the points marked True.
    """
    codes = np.asarray(codes, dtype=np.float32)
    if codes.shape[0] == 0:
        return None
    z = np.asarray(z, dtype=np.float32).reshape(1, -1)
    diff = codes[:, : z.shape[1]] - z
    if scale is not None:
        diff = diff / np.asarray(scale, dtype=np.float32).reshape(1, -1)
    distance2 = np.einsum("ij,ij->i", diff, diff)
    if mask is not None:
        if not mask.any():
            return None
        distance2 = np.where(mask, distance2, np.inf)
    index = int(np.argmin(distance2))
    if max_distance is not None and distance2[index] > max_distance**2:
        return None
    return index


def tile_images(images: np.ndarray, rows: int, cols: int, padding: int = 0, fill: float = 0.0) -> np.ndarray:
    """Lay images (rows*cols, H, W) out in a grid, row 0 at the top, shape (rows*(H+p)-p, cols*(W+p)-p)."""
    images = np.asarray(images)
    if images.shape[0] != rows * cols:
        raise ValueError(f"expected {rows * cols} images, got {images.shape[0]}")
    h, w = images.shape[1:3]
    out = np.full((rows * (h + padding) - padding, cols * (w + padding) - padding), fill, dtype=np.float32)
    for index, image in enumerate(images):
        r, c = divmod(index, cols)
        out[r * (h + padding) : r * (h + padding) + h, c * (w + padding) : c * (w + padding) + w] = image
    return out


def prior_samples(count: int, latent_dim: int, seed: int | None = None) -> np.ndarray:
    """count draws from the standard normal prior p(z), shape (count, latent_dim)."""
    return np.random.default_rng(seed).standard_normal((count, latent_dim)).astype(np.float32)


def write_codes_csv(path: str | os.PathLike, mu: np.ndarray, labels: np.ndarray,
                    logvar: np.ndarray | None = None, split: str = "") -> Path:
    """Write one row per data point: index, split, label, z1..zd[, logvar1..logvard]."""
    path = Path(path)
    mu = np.asarray(mu)
    dims = mu.shape[1]
    header = ["index", "split", "label"] + [f"z{i + 1}" for i in range(dims)]
    if logvar is not None:
        header += [f"logvar{i + 1}" for i in range(dims)]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for index in range(mu.shape[0]):
            row = [index, split, int(labels[index])] + [f"{v:.6g}" for v in mu[index]]
            if logvar is not None:
                row += [f"{v:.6g}" for v in logvar[index]]
            writer.writerow(row)
    return path


def read_codes_csv(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Codes and labels back from write_codes_csv, for checks and scripts."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        z_columns = [i for i, name in enumerate(header) if name.startswith("z")]
        rows = list(reader)
    labels = np.array([int(row[2]) for row in rows], dtype=np.int64)
    codes = np.array([[float(row[i]) for i in z_columns] for row in rows], dtype=np.float32)
    return codes, labels


def kl_per_dimension(mean: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """Mean KL(q(z_j|x) || N(0, 1)) over the rows, per latent dimension j, in nats, shape (d,).

    For a diagonal Gaussian the KL splits into one term per dimension:
    0.5 * (mu^2 + sigma^2 - 1 - log sigma^2). A dimension whose mean KL is
    near zero copies the prior for every image, so the decoder cannot use it.
    """
    mean = np.asarray(mean, dtype=np.float64)
    logvar = np.asarray(logvar, dtype=np.float64)
    if mean.ndim != 2 or mean.shape != logvar.shape:
        raise ValueError(f"mean and logvar must both be (N, d), got {mean.shape} and {logvar.shape}")
    if mean.shape[0] == 0:
        return np.zeros(mean.shape[1])
    per_image = 0.5 * (np.square(mean) + np.exp(logvar) - 1.0 - logvar)
    return per_image.mean(axis=0)


# Beyond this the decoder meets inputs it never saw; far beyond it, float32 overflows into NaN images.
MAX_ABS_Z = 1e4


def z_problem(z) -> str | None:
    """Why the latent point z cannot be decoded meaningfully, or None when it can."""
    values = np.asarray(z, dtype=np.float64)
    if not np.isfinite(values).all():
        return "it holds NaN or infinite coordinates"
    if values.size and np.abs(values).max() > MAX_ABS_Z:
        return (f"a coordinate lies beyond ±{MAX_ABS_Z:g}, far outside anything the decoder was trained on "
                "(the prior puts nearly all its mass within ±4)")
    return None
