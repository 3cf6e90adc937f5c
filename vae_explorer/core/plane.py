"""Planes through a latent space of any size, so a d-dimensional latent can be drawn on a 2-D map.

A LatentPlane is an origin z0 (d,) and two orthonormal directions A (2, d).
A map point p stands for the full latent z = z0 + p A, and a latent z is drawn
at its orthogonal projection (z - z0) A^T, so a point on the plane goes there
and back unchanged and the decoder always sees the full z a map point means.
A Gaussian N(mu, diag(var)) projects to N(project(mu), A diag(var) A^T): the
ellipse of a posterior seen through the plane (rotated for a tilted plane).

Plain numpy: no Qt, no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PRINCIPAL_MAX_ROWS = 10_000  # enough rows to fix two directions; keeps the SVD instant at 70,000 points
ORTHONORMAL_TOLERANCE = 1e-4


@dataclass(frozen=True, eq=False)
class LatentPlane:
    origin: np.ndarray  # (d,) the latent point at map (0, 0)
    axes: np.ndarray  # (2, d) orthonormal rows; a zero second row for a 1-D latent
    description: str  # a few words for the map title
    axis_labels: tuple[str, str] = field(default=("z₁", "z₂"))  # what the map's axes say

    def __post_init__(self) -> None:
        origin = np.array(self.origin, np.float32).reshape(-1)
        axes = np.array(self.axes, np.float32)
        if origin.size == 0 or axes.shape != (2, origin.size):
            raise ValueError(f"a plane in {origin.size}-D needs axes of shape (2, {origin.size}), got {axes.shape}")
        if not (np.isfinite(origin).all() and np.isfinite(axes).all()):
            raise ValueError("a plane's origin and axes must be finite")
        gram = axes.astype(np.float64) @ axes.T.astype(np.float64)
        # Unit rows that are orthogonal; a 1-D latent has no second direction, so a zero row is allowed.
        wanted = np.diag([1.0, 1.0 if np.abs(axes[1]).max() > 0 else 0.0])
        if np.abs(gram - wanted).max() > ORTHONORMAL_TOLERANCE:
            raise ValueError("a plane's two axes must be orthonormal")
        origin.setflags(write=False)
        axes.setflags(write=False)
        object.__setattr__(self, "origin", origin)
        object.__setattr__(self, "axes", axes)
        # Axes that pick single coordinates project by indexing: exact, and no 0 * inf = NaN mixing.
        picks = [int(np.flatnonzero(row)[0]) if np.count_nonzero(row) == 1 and row.max() == 1 else
                 (-1 if not row.any() else None) for row in axes]
        object.__setattr__(self, "_picks", None if None in picks else picks)

    @property
    def dim(self) -> int:
        return int(self.origin.size)

    def to_latent(self, points: np.ndarray) -> np.ndarray:
        """Map points (M, 2) as full latent points (M, d): origin + points @ axes."""
        points = np.asarray(points, np.float32).reshape(-1, 2)
        with np.errstate(invalid="ignore", over="ignore"):  # NaN or huge points stay so; callers check z_problem
            return (self.origin + points @ self.axes).astype(np.float32)

    def project(self, z: np.ndarray) -> np.ndarray:
        """Latent points (M, d) on the map, (M, 2); a single point (d,) gives (2,)."""
        z = np.asarray(z, np.float32)
        flat = z.reshape(-1, self.dim)
        if self._picks is None:
            points = ((flat - self.origin) @ self.axes.T).astype(np.float32)
        else:
            points = np.zeros((len(flat), 2), np.float32)
            for column, index in enumerate(self._picks):
                if index >= 0:
                    points[:, column] = flat[:, index] - self.origin[index]
        return points[0] if z.ndim == 1 else points

    def project_covariance(self, *, logvar: np.ndarray | None = None, sigma: np.ndarray | None = None) -> np.ndarray:
        """The (2, 2) covariance on the map of N(., diag(var)), from log-variances or standard deviations."""
        if (logvar is None) == (sigma is None):
            raise ValueError("give exactly one of logvar and sigma")
        spread = np.asarray(logvar if logvar is not None else sigma, np.float64).reshape(-1)
        if spread.size != self.dim:
            raise ValueError(f"expected {self.dim} values, got {spread.size}")
        var = np.exp(spread) if logvar is not None else spread**2
        axes = self.axes.astype(np.float64)
        return (axes * var) @ axes.T

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LatentPlane):
            return NotImplemented
        return (self.description == other.description and self.axis_labels == other.axis_labels
                and np.array_equal(self.origin, other.origin) and np.array_equal(self.axes, other.axes))

    __hash__ = None  # holds arrays: equal by value, so not hashable


def identity(dim: int) -> LatentPlane:
    """The map of a 1-D or 2-D latent as it is: z itself (z2 = 0 for 1-D)."""
    if dim not in (1, 2):
        raise ValueError(f"the identity plane is for 1-D and 2-D latents, not {dim}-D")
    axes = np.zeros((2, dim), np.float32)
    axes[0, 0] = 1.0
    if dim == 2:
        axes[1, 1] = 1.0
    second = "z₂  (second latent dimension)" if dim == 2 else "z₂  (none: the latent is 1-D)"
    return LatentPlane(np.zeros(dim, np.float32), axes, "", ("z₁  (first latent dimension)", second))


def along_axes(dim: int, x: int, y: int, origin: np.ndarray | None = None, others: str = "") -> LatentPlane:
    """The plane of coordinates x and y (0-based); every other coordinate is fixed at origin's value.

    The chosen coordinates are zeroed in the origin, so map coordinates are the
    coordinate values themselves. others says where the rest come from ("from point #7"),
    for the title.
    """
    if not (0 <= x < dim and 0 <= y < dim):
        raise ValueError(f"axes must be between 1 and {dim}, got z{x + 1} and z{y + 1}")
    if x == y:
        raise ValueError("the two axes of a plane must be different coordinates")
    base = np.zeros(dim, np.float32) if origin is None else np.array(origin, np.float32).reshape(-1)
    if base.size != dim:
        raise ValueError(f"origin has {base.size} values, the latent has {dim}")
    base[[x, y]] = 0.0
    axes = np.zeros((2, dim), np.float32)
    axes[0, x] = axes[1, y] = 1.0
    text = f"plane z{x + 1} × z{y + 1}"
    if dim > 2:
        text += ", others " + (others or ("at 0" if not base.any() else "fixed"))
    return LatentPlane(base, axes, text, (f"z{_subscript(x + 1)}  (latent dimension {x + 1})",
                                          f"z{_subscript(y + 1)}  (latent dimension {y + 1})"))


def principal(codes: np.ndarray, max_rows: int = PRINCIPAL_MAX_ROWS) -> LatentPlane:
    """The plane of the two principal components of codes (N, d), through their mean.

    At most max_rows evenly spaced rows are used; each axis is signed so its
    largest entry is positive, so the picture does not flip between epochs.
    """
    codes = np.asarray(codes, np.float64)
    if codes.ndim != 2 or codes.shape[1] < 2:
        raise ValueError("principal components need codes of at least 2 dimensions")
    codes = codes[np.isfinite(codes).all(axis=1)]
    if len(codes) > max_rows:
        codes = codes[np.linspace(0, len(codes) - 1, max_rows).astype(np.int64)]
    if len(codes) < 2:
        raise ValueError("principal components need at least 2 encoded points")
    mean = codes.mean(axis=0)
    centred = codes - mean
    if centred.shape[1] <= centred.shape[0]:
        # The eigenvectors of the d x d scatter matrix: one matrix product and a small eigh, ten times
        # quicker than an SVD of the rows when d is in the hundreds (a VQ-VAE's 784-D grid: 0.3 s, not 3 s).
        variances, vectors = np.linalg.eigh(centred.T @ centred)
        top = vectors[:, ::-1][:, :2].T
        powers, total = np.clip(variances[::-1][:2], 0, None), float(np.clip(variances, 0, None).sum())
    else:
        _, singular, vt = np.linalg.svd(centred, full_matrices=False)
        top, powers, total = vt[:2], singular[:2] ** 2, float((singular**2).sum())
    axes = top * np.sign(top[np.arange(2), np.abs(top).argmax(axis=1)])[:, None]
    share = f" ({100 * float(powers.sum()) / total:.0f}% of variance)" if total > 0 else ""
    return LatentPlane(mean.astype(np.float32), axes.astype(np.float32), f"principal components 1-2{share}",
                       ("PC₁  (first principal component)", "PC₂  (second principal component)"))


def traversal(z: np.ndarray, dim: int, values: np.ndarray) -> np.ndarray:
    """Copies of z (d,) with coordinate dim set to each of values (K,): shape (K, d)."""
    z = np.asarray(z, np.float32).reshape(-1)
    if not 0 <= dim < z.size:
        raise ValueError(f"dimension {dim + 1} does not exist in a {z.size}-D latent")
    values = np.asarray(values, np.float32).reshape(-1)
    rows = np.repeat(z[None], values.size, axis=0)
    rows[:, dim] = values
    return rows


def traversals(z: np.ndarray, dims: list[int] | np.ndarray, values: np.ndarray) -> np.ndarray:
    """One traversal per dimension in dims, stacked row after row: shape (len(dims) * K, d)."""
    z = np.asarray(z, np.float32).reshape(-1)
    if not len(dims):
        return np.zeros((0, z.size), np.float32)
    return np.concatenate([traversal(z, int(d), values) for d in dims])


def covariance_ellipse(mu: np.ndarray, covariance: np.ndarray, k: float = 1.0, count: int = 64) -> np.ndarray:
    """Closed outline of the k-sigma contour of N(mu, covariance) in 2-D, shape (count + 1, 2).

    Built from the eigenvectors, so a rotated (full) covariance gives a tilted
    ellipse and a singular one (a 1-D latent) a line segment.
    """
    mu = np.asarray(mu, np.float64).reshape(2)
    covariance = np.asarray(covariance, np.float64).reshape(2, 2)
    values, vectors = np.linalg.eigh((covariance + covariance.T) / 2)
    half_axes = vectors * np.sqrt(np.clip(values, 0.0, None))  # columns: the ellipse's semi-axes at k = 1
    angle = np.linspace(0.0, 2 * np.pi, count + 1)
    circle = np.stack([np.cos(angle), np.sin(angle)])
    return (mu[:, None] + k * half_axes @ circle).T.astype(np.float32)


_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _subscript(number: int) -> str:
    return str(number).translate(_SUBSCRIPTS)
