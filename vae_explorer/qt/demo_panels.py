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
# The grid posterior is often sharply peaked; a square root keeps the second
# and third modes (the "it could also be a 5" part) visible next to the first.
HEATMAP_GAMMA = 0.5
# Cells below this fraction of the peak are left transparent, so the map is
# tinted only where the posterior has mass.
HEATMAP_FLOOR = 0.02
HEATMAP_OPACITY = 0.6


def heatmap_image(probabilities: np.ndarray) -> np.ndarray:
    """What the map shows for a posterior: a square-root scale, NaN (transparent) where negligible."""
    shown = np.power(np.asarray(probabilities, np.float32), HEATMAP_GAMMA)
    peak = float(shown.max()) if shown.size else 0.0
    return np.where(shown >= HEATMAP_FLOOR * peak, shown, np.nan).astype(np.float32)


def attach(window) -> tuple[ImputationPanel, DrawingPanel]:
    """Add the Impute and Draw tabs to `window` (a MainWindow) and connect them."""
    view = window.latent_view
    imputation = ImputationPanel(window.session)
    drawing = DrawingPanel(window.session)

    def show_marker(key: str, z: np.ndarray) -> None:
        if hasattr(view, "show_marker"):
            view.show_marker(key, z, colour=MAP_POINT_COLOUR, symbol="star", size=18)
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
    imputation.overlayCleared.connect(view.clear_overlay)
    drawing.overlayPosterior.connect(
        lambda key, mu, sigma: view.show_posterior(key, mu, sigma, colour=DRAWING_COLOUR))
    drawing.overlayCleared.connect(view.clear_overlay)

    window.sessionChanged.connect(imputation.set_session)
    window.sessionChanged.connect(drawing.set_session)
    window.dataPointPicked.connect(imputation.choose_image)
    window.add_tool_panel(imputation, "Impute")
    window.add_tool_panel(drawing, "Draw")
    window.imputation_panel = imputation
    window.drawing_panel = drawing
    return imputation, drawing
