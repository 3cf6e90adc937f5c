"""Wire the imputation and drawing demos into the main window.

The panels know nothing of the window: they take a session and emit overlay
requests. attach() adds them as tool tabs, keeps their session current,
forwards map clicks to the imputation panel, and draws their overlays on the
latent map.
"""

from __future__ import annotations

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


def attach(window) -> tuple[ImputationPanel, DrawingPanel]:
    """Add the Impute and Draw tabs to `window` (a MainWindow) and connect them."""
    view = window.latent_view
    imputation = ImputationPanel(window.session)
    drawing = DrawingPanel(window.session)

    def show_marker(key: str, z: np.ndarray) -> None:
        if hasattr(view, "show_marker"):
            view.show_marker(key, z, colour=MAP_POINT_COLOUR, symbol="star", size=14)
        else:
            view.show_path(key, np.asarray(z, np.float32).reshape(1, 2), colour=MAP_POINT_COLOUR)

    imputation.overlayPath.connect(lambda key, points: view.show_path(key, points, colour=PATH_COLOUR))
    def show_heatmap(key: str, density: np.ndarray, extent) -> None:
        view.show_heatmap(key, heatmap_image(density), extent, opacity=HEATMAP_OPACITY)
        # Above the data points (only cells with posterior mass are opaque), so dense clusters
        # do not hide where the posterior is; below the path and markers.
        for item in view.overlay_items(key):
            item.setZValue(10)

    imputation.overlayHeatmap.connect(show_heatmap)
    imputation.overlayMarker.connect(show_marker)
    imputation.zoomRequested.connect(
        lambda extent: view.view_box.setRange(xRange=extent[:2], yRange=extent[2:], padding=0))
    imputation.overlayCleared.connect(view.clear_overlay)
    def show_drawing_posterior(key: str, mu: np.ndarray, sigma: np.ndarray) -> None:
        view.show_posterior(key, mu, sigma, colour=DRAWING_COLOUR)
        bring_into_view(view, mu, 2 * np.asarray(sigma))

    drawing.overlayPosterior.connect(show_drawing_posterior)
    drawing.overlayCleared.connect(view.clear_overlay)

    window.sessionChanged.connect(imputation.set_session)
    window.sessionChanged.connect(drawing.set_session)
    window.dataPointPicked.connect(imputation.choose_image)
    window.add_tool_panel(imputation, "Impute")
    window.add_tool_panel(drawing, "Draw")
    window.imputation_panel = imputation
    window.drawing_panel = drawing
    return imputation, drawing
