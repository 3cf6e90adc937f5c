"""The plane the main window's latent map shows, and keeping the map on it.

A 1-D or 2-D latent is drawn as it is. A larger one is drawn through a
LatentPlane chosen with PlaneControls (shown above the map only then): the
points are the codes projected onto it, a map point decodes as the full z it
stands for, and the picked point's posterior is its projected covariance.
When the plane changes, MapPlane moves everything on the map to the new plane
and then emits `changed`, so panels with overlays of their own can follow.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from vae_explorer.core import plane as planes
from vae_explorer.core.plane import LatentPlane
from vae_explorer.qt.plane_controls import MODE_PRINCIPAL, PlaneControls

KEY_POSTERIOR = "posterior"
KEY_PIN = "pin"


class MapPlane(QObject):
    """The window's current plane, its controls, and the map items that must follow it."""

    changed = Signal(object)  # LatentPlane: whatever is drawn through the plane should be drawn again

    def __init__(self, view, parent: QObject | None = None):  # view: the LatentView drawn through the plane
        super().__init__(parent)
        self.view = view
        self.controls = PlaneControls()
        self.controls.setVisible(False)
        self.plane: LatentPlane = planes.identity(2)
        self._codes = np.zeros((0, 2), np.float32)  # the full codes on the map
        self._picked: tuple[np.ndarray, np.ndarray | None] | None = None  # full mu, sigma of the picked point
        self._pinned: np.ndarray | None = None  # full z of the pin
        self._preferred = False  # the window's preferred plane applied to this latent space yet
        self.controls.planeChanged.connect(self._on_plane_chosen)

    def configure(self, codes: np.ndarray, dim: int, follow: int | None = None,
                  prefer_principal: bool = False, prefer_axes: tuple[int, int] | None = None) -> None:
        """Fit a new session or quick look (codes (N, dim)), following data point `follow`.

        prefer_principal opens a new latent space on its principal plane: a code
        without a prior (an autoencoder's, a VQ-VAE's grid) has no meaningful
        origin for the other coordinates. prefer_axes opens it on those two
        coordinates instead of z1 and z2 (the window passes the two a VAE uses
        most, by KL). The window redraws its own map
        afterwards; `changed` tells other overlays.
        """
        self._codes = np.asarray(codes, np.float32).reshape(len(codes), dim)
        old = self.plane
        if dim <= 2:
            self.plane = planes.identity(dim)
        else:
            if dim != self.controls.dim:
                self._preferred = False  # a new space: open it where the window prefers
            self.controls.set_space(dim, self._codes)
            # Once per space, and not for the start-up quick look, which has no preference.
            if not self._preferred and (prefer_principal or prefer_axes):
                self._preferred = True
                self.controls.blockSignals(True)  # the window redraws once, below
                if prefer_principal:
                    self.controls.set_mode(MODE_PRINCIPAL)
                else:
                    self.controls.set_axes(*prefer_axes)
                self.controls.blockSignals(False)
            if follow is not None and follow < len(self._codes):
                self.controls.follow(self._codes[follow], follow, emit=False)
            self.plane = self.controls.plane
        self.controls.setVisible(dim > 2)
        self._label_axes()
        if self.plane != old:  # e.g. a principal plane refitted to a training epoch's codes
            self.changed.emit(self.plane)

    def map_points(self) -> np.ndarray:
        """Where the codes lie on the map: their projection onto the plane, (N, 2)."""
        return self.plane.project(self._codes)

    def _label_axes(self) -> None:
        """Axis names, and above a larger latent's map which plane it is (exported maps keep it)."""
        view = self.view
        view.set_axis_labels(*self.plane.axis_labels)
        view.set_title(self.plane.description if self.plane.dim > 2 else "")

    def follow(self, mu: np.ndarray, index: int) -> None:
        """A data point was clicked; the controls may hold the other coordinates at its mean."""
        if self.plane.dim > 2:
            self.controls.follow(mu, index)

    def show_posterior(self, mu: np.ndarray, sigma: np.ndarray | None) -> None:
        """Draw q(z|x) of the picked point through the plane, and again whenever the plane moves."""
        self._picked = (np.asarray(mu, np.float32).reshape(-1), sigma)
        self._draw_posterior()

    def posterior_extent(self, k: float = 4.0) -> tuple[float, float, float, float] | None:
        """(xmin, xmax, ymin, ymax) of the picked posterior's k-sigma box on the map; None without one."""
        if self._picked is None or self._picked[1] is None:
            return None
        mu, sigma = self._picked
        centre = self.plane.project(mu).reshape(-1)
        spread = np.sqrt(np.diag(self.plane.project_covariance(sigma=sigma)))
        if not (np.isfinite(centre).all() and np.isfinite(spread).all()):
            return None
        half = k * np.maximum(spread, 1e-3)
        return (float(centre[0] - half[0]), float(centre[0] + half[0]),
                float(centre[1] - half[1]), float(centre[1] + half[1]))

    def clear_posterior(self) -> None:
        self._picked = None
        self.view.clear_overlay(KEY_POSTERIOR)

    def _draw_posterior(self) -> None:
        mu, sigma = self._picked
        # A deterministic code has a point and no spread (nor, drawn, has a broken one).
        cov = np.zeros((2, 2)) if sigma is None else self.plane.project_covariance(sigma=sigma)
        cov = cov if np.isfinite(cov).all() else np.zeros((2, 2))
        self.view.show_posterior(KEY_POSTERIOR, self.plane.project(mu), cov)

    def show_pin(self, z: np.ndarray | None) -> None:
        """Mark the pinned full latent point (None clears it), and keep it on the plane as it moves."""
        self._pinned = None if z is None else np.asarray(z, np.float32).reshape(-1).copy()
        if self._pinned is None:
            self.view.clear_overlay(KEY_PIN)
        else:
            self.view.show_marker(KEY_PIN, self.plane.project(self._pinned))

    def _on_plane_chosen(self, plane: LatentPlane) -> None:
        view = self.view
        old, self.plane = self.plane, plane
        # Sliders move the origin only along directions off the map: then the points stay put.
        shift = plane.project(old.origin) - old.project(old.origin)
        if not (np.array_equal(old.axes, plane.axes) and np.allclose(shift, 0.0)):
            view.update_codes(self.map_points())
        self._label_axes()
        view.refresh_manifold()
        if self._pinned is not None:  # the pin keeps its full z; its mark moves to the projection
            view.show_marker(KEY_PIN, plane.project(self._pinned))
        if self._picked is not None:
            self._draw_posterior()
        self.changed.emit(plane)
