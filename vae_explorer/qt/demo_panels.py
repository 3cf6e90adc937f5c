"""Wire the imputation and drawing demos into the main window.

The panels know nothing of the window: they take a session and emit overlay
requests. attach() adds them as tool tabs, keeps their session current,
forwards map clicks to the imputation panel, and draws their overlays on the
latent map. The panels speak in a latent's first two coordinates; for a
latent of more than two dimensions the full points they came from are drawn
through the window's plane instead, and drawn again when the plane moves.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from vae_explorer.qt.drawing_panel import DrawingPanel
from vae_explorer.qt.imputation_panel import ImputationPanel

PATH_COLOUR = (255, 170, 40)  # orange: stands out against every digit colour
MAP_POINT_COLOUR = (255, 255, 255)  # the current step / MAP cell
DRAWING_COLOUR = (255, 255, 255)
# A trained model's grid posterior is sharply peaked (often a handful of
# cells), so the map shows it on a log scale: every cell within
# HEATMAP_LOG_RANGE nats of the peak (a factor of about 1,100) is coloured,
# the rest left transparent. Second modes (the "it could also be a 5" part)
# stay visible next to the first.
HEATMAP_LOG_RANGE = 7.0
HEATMAP_OPACITY = 0.7


def heatmap_image(probabilities: np.ndarray) -> np.ndarray:
    """What the map shows for a posterior: log p above (peak - range), NaN (transparent) below."""
    with np.errstate(divide="ignore"):
        log_p = np.log(np.asarray(probabilities, np.float64))
    if not np.isfinite(log_p).any():
        return np.full(log_p.shape, np.nan, np.float32)
    floor = np.nanmax(log_p[np.isfinite(log_p)]) - HEATMAP_LOG_RANGE
    return np.where(log_p >= floor, log_p - floor, np.nan).astype(np.float32)


def bring_into_view(view, centre: np.ndarray, margin: np.ndarray) -> None:
    """Pan the map (zoom unchanged) just enough that centre ± margin is visible."""
    xmin, xmax, ymin, ymax = view.visible_rect()
    low = np.asarray(centre, float)[:2] - np.asarray(margin, float)[:2]
    high = np.asarray(centre, float)[:2] + np.asarray(margin, float)[:2]
    shift = []
    for lo, hi, vmin, vmax in ((low[0], high[0], xmin, xmax), (low[1], high[1], ymin, ymax)):
        if hi - lo > vmax - vmin:  # wider than the view: centre it
            shift.append((lo + hi) / 2 - (vmin + vmax) / 2)
        else:
            shift.append(min(0.0, lo - vmin) + max(0.0, hi - vmax))
    if any(shift):
        view.view_box.translateBy(x=shift[0], y=shift[1])


class PlaneImputationPanel(ImputationPanel):
    """The imputation panel, also keeping the full latent point of every step of a run.

    The panel itself sends only map coordinates (a latent's first two); the
    window needs the whole z to draw a larger latent through its plane, so
    this catches each step at the panel's one hook for it, _show_latent_step.
    """

    def __init__(self, *args, **kwargs):
        self.latent_path: list[np.ndarray] = []
        super().__init__(*args, **kwargs)

    def start_imputation(self) -> None:
        self.latent_path = []
        super().start_imputation()

    def _show_latent_step(self, z: np.ndarray) -> None:
        self.latent_path.append(np.asarray(z, np.float32).reshape(-1).copy())
        super()._show_latent_step(z)


def full_points(points: np.ndarray, candidates: list[np.ndarray]) -> np.ndarray | None:
    """The full latent points (N, d) that map points (N, 2) were cut from, if candidates end with them."""
    points = np.asarray(points, np.float32).reshape(-1, 2)
    if len(candidates) < len(points) or not len(points):
        return None
    full = np.stack(candidates[len(candidates) - len(points):])
    return full if np.allclose(full[:, :2], points) else None


class PlaneOverlays:
    """Draws the demos' overlays through the window's plane, and again whenever the plane moves."""

    def __init__(self, window):
        self.window = window
        self.view = window.latent_view
        self._redraw: dict[str, Callable[[], None]] = {}  # key -> draws it on the current plane
        window.map_plane.changed.connect(self._on_plane_changed)

    @property
    def plane(self):
        return self.window.plane

    def draw(self, key: str, redraw: Callable[[], None]) -> None:
        self._redraw[key] = redraw
        redraw()

    def clear(self, key: str) -> None:
        self._redraw.pop(key, None)
        self.view.clear_overlay(key)

    def through_plane(self, points: np.ndarray, candidates: list[np.ndarray]) -> Callable[[], np.ndarray]:
        """Map points now and after a plane change: the projection of their full points when known."""
        full = full_points(points, candidates) if self.plane.dim > 2 else None
        points = np.asarray(points, np.float32).reshape(-1, 2)
        return (lambda: points) if full is None else (lambda: self.plane.project(full))

    def _on_plane_changed(self, _plane) -> None:
        for redraw in list(self._redraw.values()):
            redraw()


def attach(window) -> tuple[ImputationPanel, DrawingPanel]:
    """Add the Impute and Draw tabs to `window` (a MainWindow) and connect them."""
    view = window.latent_view
    imputation = PlaneImputationPanel(window.session)
    drawing = DrawingPanel(window.session)
    overlays = PlaneOverlays(window)

    def show_path(key: str, points: np.ndarray) -> None:
        on_map = overlays.through_plane(points, imputation.latent_path)
        overlays.draw(key, lambda: view.show_path(key, on_map(), colour=PATH_COLOUR))

    def show_marker(key: str, z: np.ndarray) -> None:
        on_map = overlays.through_plane(z, imputation.latent_path)
        overlays.draw(key, lambda: view.show_marker(key, on_map()[0], colour=MAP_POINT_COLOUR, symbol="star",
                                                    size=14))

    def show_heatmap(key: str, density: np.ndarray, extent) -> None:
        view.show_heatmap(key, heatmap_image(density), extent, opacity=HEATMAP_OPACITY)
        # Above the data points (only cells with posterior mass are opaque), so dense clusters
        # do not hide where the posterior is; below the path and markers.
        for item in view.overlay_items(key):
            item.setZValue(10)

    def zoom(extent) -> None:
        if overlays.plane.dim > 2 and imputation.latent_path:  # the panel frames z1 and z2: frame the plane
            points = overlays.plane.project(np.stack(imputation.latent_path))
            centre = (points.min(axis=0) + points.max(axis=0)) / 2
            half = np.maximum(np.ptp(points, axis=0) / 2 * 1.3, 0.75)  # the panel's own margins
            extent = (centre[0] - half[0], centre[0] + half[0], centre[1] - half[1], centre[1] + half[1])
        view.view_box.setRange(xRange=extent[:2], yRange=extent[2:], padding=0)

    imputation.overlayPath.connect(show_path)
    imputation.overlayHeatmap.connect(show_heatmap)
    imputation.overlayMarker.connect(show_marker)
    imputation.zoomRequested.connect(zoom)
    imputation.overlayCleared.connect(overlays.clear)

    def show_drawing_posterior(key: str, mu: np.ndarray, sigma: np.ndarray) -> None:
        # The drawing's full posterior, when the panel's two numbers were cut from it and the plane needs more.
        full = overlays.plane.dim > 2 and drawing.mu is not None and np.allclose(drawing.mu[:2], mu)
        full_mu, full_sigma = (drawing.mu.copy(), drawing.sigma) if full else (None, None)

        def on_map() -> tuple[np.ndarray, np.ndarray]:
            if not full:
                return np.asarray(mu), np.diag(np.square(sigma))
            plane = overlays.plane
            cov = np.zeros((2, 2)) if full_sigma is None else plane.project_covariance(sigma=full_sigma)
            return plane.project(full_mu), cov

        def redraw() -> None:
            view.show_posterior(key, *on_map(), colour=DRAWING_COLOUR)

        overlays.draw(key, redraw)
        centre, cov = on_map()
        bring_into_view(view, centre, 2 * np.sqrt(np.diag(cov)))

    drawing.overlayPosterior.connect(show_drawing_posterior)
    drawing.overlayCleared.connect(overlays.clear)

    window.sessionChanged.connect(imputation.set_session)
    window.sessionChanged.connect(drawing.set_session)
    window.dataPointPicked.connect(imputation.choose_image)
    window.add_tool_panel(imputation, "Impute")
    window.add_tool_panel(drawing, "Draw")
    window.imputation_panel = imputation
    window.drawing_panel = drawing
    return imputation, drawing
