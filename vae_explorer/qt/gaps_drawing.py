"""What the Gaps tab draws: the exact posterior's heat map and mass contours, Gaussian ellipses, and
the inset that shows them zoomed onto one digit's posterior (a few pixels wide on the full map)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt

from vae_explorer.core import latent
from vae_explorer.qt.demo_panels import HEATMAP_LOG_RANGE
from vae_explorer.qt.theme import style_fixed_plot

BEST_COLOUR = (255, 150, 40)
ENCODER_COLOUR = (255, 255, 255)
CONTOUR_COLOUR = (120, 230, 255)
CONTOUR_MASSES = (0.393, 0.865)  # inside a 2-D Gaussian's 1σ and 2σ ellipses


def mass_levels(density: np.ndarray, masses=CONTOUR_MASSES) -> list[float]:
    """Density values whose upper level sets hold the given shares of the total mass."""
    values = np.sort(np.asarray(density, np.float64).reshape(-1))[::-1]
    cumulative = np.cumsum(values) / max(values.sum(), 1e-300)
    return [float(values[min(np.searchsorted(cumulative, m), len(values) - 1)]) for m in masses]


def contour_items(density: np.ndarray, extent, levels) -> list:
    """Contour lines of density (rows along y) over extent, in map coordinates."""
    xmin, xmax, ymin, ymax = extent
    rows, cols = density.shape
    items = []
    for level, style in zip(levels, (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine)):
        # pyqtgraph traces in index space (first index = row); cell centres map to the extent.
        for line in pg.functions.isocurve(density, level, connected=True):
            points = np.asarray(line, np.float64)
            x = xmin + (points[:, 1] + 0.5) * (xmax - xmin) / cols
            y = ymin + (points[:, 0] + 0.5) * (ymax - ymin) / rows
            items.append(pg.PlotCurveItem(x, y, pen=pg.mkPen(*CONTOUR_COLOUR, width=1.5, style=style)))
    return items


def density_image(values: np.ndarray, extent) -> pg.ImageItem:
    """A log-density image (heatmap_image's output) stretched over extent, inferno-coloured."""
    xmin, xmax, ymin, ymax = extent
    item = pg.ImageItem(values, axisOrder="row-major")
    item.setLookupTable(pg.colormap.get("inferno").getLookupTable(nPts=256))
    item.setLevels((0.0, HEATMAP_LOG_RANGE))  # log density, from the floor to the peak
    item.setRect(QRectF(xmin, ymin, xmax - xmin, ymax - ymin))
    item.setOpacity(0.75)
    return item


def ellipse_items(mean: np.ndarray, sigma: np.ndarray, colour) -> list:
    """1σ (solid) and 2σ (dashed) ellipses of N(mean, diag(sigma²)) and a centre mark."""
    items = []
    for k, style in ((1.0, Qt.PenStyle.SolidLine), (2.0, Qt.PenStyle.DashLine)):
        outline = latent.ellipse_points(mean, sigma, k)
        items.append(pg.PlotCurveItem(outline[:, 0], outline[:, 1], pen=pg.mkPen(*colour, width=2, style=style)))
    items.append(pg.ScatterPlotItem([mean[0]], [mean[1]], symbol="+", size=9, pen=pg.mkPen(*colour, width=1.5)))
    return items


class GapsInset(pg.PlotWidget):
    """A small fixed plot of the latent plane around one digit's posterior."""

    def __init__(self):
        super().__init__()
        self.setMinimumHeight(220)
        plot = self.getPlotItem()
        style_fixed_plot(plot)
        plot.setAspectLocked(True)
        for name in ("left", "bottom"):
            plot.getAxis(name).enableAutoSIPrefix(False)  # a 0.1-wide range reads in latent units
        plot.setLabel("bottom", "z₁")
        plot.setLabel("left", "z₂")
        self.setToolTip("The digit's posteriors, zoomed: white q(z|x), orange q*(z), heat map and blue "
                        "contours the exact p(z|x)")
        self._items: dict[str, list] = {}

    def _put(self, key: str, items: list, z_value: float) -> None:
        for item in self._items.pop(key, []):
            self.removeItem(item)
        for item in items:
            item.setZValue(z_value)
            self.addItem(item)
        self._items[key] = items

    def show_exact(self, image: np.ndarray, density: np.ndarray, extent, levels) -> None:
        self._put("exact", [density_image(image, extent)], -5)
        self._put("contours", contour_items(density, extent, levels), 5)

    def show_encoder(self, mean: np.ndarray, sigma: np.ndarray) -> None:
        self._put("encoder", ellipse_items(mean, sigma, ENCODER_COLOUR), 10)

    def show_best(self, mean: np.ndarray, sigma: np.ndarray) -> None:
        self._put("best", ellipse_items(mean, sigma, BEST_COLOUR), 20)

    def zoom(self, extent, mean: np.ndarray, sigma: np.ndarray) -> None:
        """Frame the exact posterior's grid and the encoder's 2σ ellipse."""
        xmin, xmax, ymin, ymax = extent
        xmin, xmax = min(xmin, mean[0] - 2.5 * sigma[0]), max(xmax, mean[0] + 2.5 * sigma[0])
        ymin, ymax = min(ymin, mean[1] - 2.5 * sigma[1]), max(ymax, mean[1] + 2.5 * sigma[1])
        # Python floats: float32 ends make pyqtgraph's limit checks overflow in a cast.
        self._range = ((float(xmin), float(xmax)), (float(ymin), float(ymax)))
        self._apply_range()

    _range = None

    def _apply_range(self) -> None:
        # A plot with no size yet cannot keep its aspect ratio: pyqtgraph's sums overflow. Wait for one.
        if self._range is not None and self.width() > 20 and self.height() > 20:
            (xmin, xmax), (ymin, ymax) = self._range
            self.getPlotItem().setRange(xRange=(xmin, xmax), yRange=(ymin, ymax), padding=0.05)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._apply_range()

    def clear(self) -> None:
        for key in list(self._items):
            self._put(key, [], 0)
