"""The latent map: posterior means as a scatter, with overlays drawn in data coordinates.

One ScatterPlotItem per digit class keeps painting cheap at 70,000 points
(one brush per item, no pens, pxMode with the cached symbol atlas, so each
point is a single pixmap fragment) and lets the legend toggle a class by
hiding its item. Everything else (pin, interpolation path, posterior
ellipses, heat maps, the decoded-image manifold) is an overlay keyed by name,
so other panels can draw on the map without knowing about each other.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from vae_explorer.core import latent
from vae_explorer.core.plane import covariance_ellipse
from vae_explorer.qt.theme import PLOT_BACKGROUND

# Ten colours that stay distinct from each other on a dark background (tab10, lightened slightly).
DIGIT_COLOURS = [
    (66, 146, 218), (255, 140, 30), (60, 190, 60), (230, 60, 60), (170, 120, 220),
    (180, 110, 90), (240, 120, 200), (160, 160, 160), (205, 205, 40), (30, 205, 220),
]
PICK_RADIUS_PX = 8.0  # a click this close to a point picks the point rather than empty space
MANIFOLD_DEBOUNCE_MS = 120

Decoder = Callable[[np.ndarray], np.ndarray]


def as_map_points(codes: np.ndarray) -> np.ndarray:
    """The first two latent dimensions as (N, 2) float32; a 1-D latent gets z2 = 0."""
    codes = np.asarray(codes, np.float32)
    codes = (codes[:, None] if codes.ndim == 1 else codes)[:, :2]
    if codes.shape[1] < 2:
        codes = np.concatenate([codes, np.zeros((len(codes), 2 - codes.shape[1]), np.float32)], axis=1)
    return np.ascontiguousarray(codes)


class LatentView(QWidget):
    """Scatter of latent codes coloured by label, with hover/click signals in data coordinates."""

    hovered = Signal(object)  # np.ndarray (2,): the cursor in latent coordinates
    clicked = Signal(object, int, object)  # z, index of the data point picked (-1: none), Qt modifiers
    left = Signal()  # the cursor left the plot area

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.plot_widget = pg.PlotWidget(background=PLOT_BACKGROUND)
        self.plot_item = self.plot_widget.getPlotItem()
        self.view_box = self.plot_item.getViewBox()
        self.view_box.setAspectLocked(True)
        # No pyqtgraph grid: its translucent full-height lines cost more per repaint than 70,000
        # points. Two opaque lines through the origin (the prior's mean) orient the eye instead.
        for angle in (0, 90):
            line = pg.InfiniteLine(pos=0.0, angle=angle, pen=pg.mkPen(58, 60, 68, width=1), movable=False)
            line.setZValue(-20)
            self.plot_item.addItem(line, ignoreBounds=True)
        label_style = {"color": "#d8d8de", "font-size": "12pt"}
        self._label_style = label_style
        self.set_axis_labels("z₁  (first latent dimension)", "z₂  (second latent dimension)")
        self.plot_item.setMenuEnabled(False)
        self.plot_item.hideButtons()
        for name in ("bottom", "left"):
            axis = self.plot_item.getAxis(name)
            axis.setTextPen(pg.mkPen(200, 200, 205))
            axis.setPen(pg.mkPen(120, 120, 128))
            axis.enableAutoSIPrefix(False)  # zoomed onto a posterior, ticks read 0.005, not "(x0.001) 5"
        # A fixed width for the left axis: sized by its tick labels, it could flip between two widths
        # forever, as each width (through the locked aspect) gives the other's y range and ticks.
        self.plot_item.getAxis("left").setWidth(62)
        self.legend = _ClassLegend(offset=(-10, 10), labelTextColor=(225, 225, 230),
                                   brush=pg.mkBrush(30, 32, 38), pen=pg.mkPen(80, 80, 90))
        self.legend.setParentItem(self.view_box)
        self.legend.setToolTip("Click a class to hide or show it")
        self.legend.setZValue(100)

        self.codes = np.zeros((0, 2), np.float32)
        self.labels = np.zeros((0,), np.int64)
        self.class_names: list[str] = [str(i) for i in range(10)]
        self.class_items: list[pg.ScatterPlotItem] = []
        self.point_size = 3.5
        self.decoder: Decoder | None = None
        self._overlays: dict[str, list[pg.GraphicsObject]] = {}

        self.manifold_item = pg.ImageItem(axisOrder="row-major")
        self.manifold_item.setZValue(-10)
        self.manifold_item.setVisible(False)
        self.plot_item.addItem(self.manifold_item, ignoreBounds=True)
        self.manifold_columns = 14
        self._manifold_timer = QTimer(self)
        self._manifold_timer.setSingleShot(True)
        self._manifold_timer.setInterval(MANIFOLD_DEBOUNCE_MS)
        self._manifold_timer.timeout.connect(self.refresh_manifold)
        self.view_box.sigRangeChanged.connect(self._on_range_changed)

        # Hover comes from the viewport's own move events: the scene's sigMouseMoved drops events
        # closer than 10 ms apart, which could leave a stale image where the cursor stopped.
        self.plot_widget.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        self.plot_widget.viewport().installEventFilter(self)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot_widget)

    # ----- data -----------------------------------------------------------------------------

    def set_points(self, codes: np.ndarray, labels: np.ndarray, autorange: bool = True,
                   class_names: list[str] | tuple[str, ...] | None = None) -> None:
        """Show map points (N, 2) coloured by labels (N,), class_names[label] in the legend ("0".."9")."""
        hidden = {i for i, item in enumerate(self.class_items) if not item.isVisible()}
        self.codes = as_map_points(codes)
        self.labels = np.asarray(labels, np.int64)
        self.class_names = [str(name) for name in (class_names if class_names is not None else range(10))]
        for item in self.class_items:
            self.plot_item.removeItem(item)
        self.legend.clear()
        self.class_items = []
        for digit in range(max(10, int(self.labels.max(initial=-1)) + 1)):
            mask = self.labels == digit
            colour = DIGIT_COLOURS[digit % len(DIGIT_COLOURS)]
            item = pg.ScatterPlotItem(
                x=self.codes[mask, 0], y=self.codes[mask, 1], pen=None, brush=pg.mkBrush(*colour, 200),
                size=self.point_size, pxMode=True, useCache=True, antialias=False, symbol="o",
                name=str(digit),
            )
            item.setVisible(digit not in hidden)
            self.plot_item.addItem(item)
            self.class_items.append(item)
            legend_sample = pg.ScatterPlotItem(pen=None, brush=pg.mkBrush(*colour), size=10, symbol="o")
            name = self.class_names[digit] if digit < len(self.class_names) else str(digit)
            self.legend.addItem(_LegendProxy(item, legend_sample), f"{name}  ({int(mask.sum()):,})")
        if autorange and len(self.codes):
            self.auto_range()

    def update_codes(self, codes: np.ndarray) -> None:
        """Move the points (same labels, new positions), e.g. after a training epoch."""
        codes = as_map_points(codes)
        if codes.shape[0] != self.labels.shape[0]:
            raise ValueError("update_codes needs one code per existing point")
        self.codes = codes
        for digit, item in enumerate(self.class_items):
            mask = self.labels == digit
            item.setData(x=codes[mask, 0], y=codes[mask, 1])

    def set_title(self, text: str) -> None:
        """A line above the plot, e.g. which plane of a larger latent is shown; empty removes it."""
        self.plot_item.setTitle(text or None, color="#d8d8de", size="11pt")

    def set_axis_labels(self, x: str, y: str) -> None:
        """What the two map axes are: latent coordinates, or directions of a plane through the latent."""
        self.plot_item.setLabel("bottom", x, **self._label_style)
        self.plot_item.setLabel("left", y, **self._label_style)

    def auto_range(self) -> None:
        if not len(self.codes):
            return
        low = np.percentile(self.codes, 0.2, axis=0).astype(float)
        high = np.percentile(self.codes, 99.8, axis=0).astype(float)
        pad = 0.06 * float((high - low).max())
        low, high = low - pad, high + pad
        self.view_box.setRange(xRange=(float(low[0]), float(high[0])), yRange=(float(low[1]), float(high[1])),
                               padding=0)
        self._clear_the_legend(low, high)

    def _clear_the_legend(self, low: np.ndarray, high: np.ndarray) -> None:
        """Widen the range until no point lies under the legend in the top-right corner.

        The view keeps its aspect ratio, so room made on the right also shows more
        above and below; a few rounds settle it.
        """
        if not self.legend.isVisible() or not len(self.codes):
            return
        for _ in range(4):
            rect = self.view_box.mapSceneToView(self.legend.sceneBoundingRect()).boundingRect()
            under = ((self.codes[:, 0] >= rect.left()) & (self.codes[:, 0] <= rect.right())
                     & (self.codes[:, 1] >= rect.top()) & (self.codes[:, 1] <= rect.bottom()))
            if not under.any():
                return
            (xmin, xmax), _ = self.view_box.viewRange()
            # The legend starts at fraction f of the width; the rightmost point under it must land left of that.
            f = (rect.left() - xmin) / (xmax - xmin)
            if f <= 0.2:
                return  # a map too narrow for its legend: leave it
            rightmost = float(self.codes[under, 0].max())
            high = np.array([xmin + (rightmost - xmin) / f + 0.02 * (xmax - xmin), high[1]])
            low = np.array([xmin, low[1]])
            self.view_box.setRange(xRange=(float(low[0]), float(high[0])), yRange=(float(low[1]), float(high[1])),
                                   padding=0)

    def visible_classes(self) -> np.ndarray:
        return np.array([item.isVisible() for item in self.class_items], dtype=bool)

    def set_class_visible(self, digit: int, visible: bool) -> None:
        self.class_items[digit].setVisible(visible)

    def nearest_point(self, z: np.ndarray, radius_px: float = PICK_RADIUS_PX) -> int | None:
        """Index of the visible data point within radius_px screen pixels of z, if any."""
        if not len(self.codes):
            return None
        pixel = self.view_box.viewPixelSize()
        visible = self.visible_classes()
        mask = visible[np.clip(self.labels, 0, len(visible) - 1)]
        return latent.nearest_point(self.codes, z, max_distance=radius_px, scale=np.array(pixel), mask=mask)

    def visible_rect(self) -> tuple[float, float, float, float]:
        (xmin, xmax), (ymin, ymax) = self.view_box.viewRange()
        return xmin, xmax, ymin, ymax

    def map_to_viewport(self, x: float, y: float) -> QPoint:
        """Viewport pixel of data point (x, y), for driving the map with real mouse events."""
        scene_pos = self.view_box.mapViewToScene(QPointF(x, y))
        return self.plot_widget.mapFromScene(scene_pos)

    # ----- mouse ----------------------------------------------------------------------------

    def _scene_to_data(self, scene_pos: QPointF) -> np.ndarray | None:
        if not self.view_box.sceneBoundingRect().contains(scene_pos):
            return None
        point = self.view_box.mapSceneToView(scene_pos)
        return np.array([point.x(), point.y()], dtype=np.float32)

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        z = self._scene_to_data(scene_pos)
        if z is None:
            self.left.emit()
        else:
            self.hovered.emit(z)

    def _on_mouse_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        z = self._scene_to_data(event.scenePos())
        if z is None:
            return
        # A click on the legend belongs to the legend.
        if self.legend.sceneBoundingRect().contains(event.scenePos()):
            return
        index = self.nearest_point(z)
        self.clicked.emit(z, -1 if index is None else index, event.modifiers())

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt override
        kind = event.type()
        if kind == QEvent.Type.MouseMove and not event.buttons():
            self._on_mouse_moved(self.plot_widget.mapToScene(event.position().toPoint()))
        elif kind == QEvent.Type.Leave:
            self.left.emit()
        return False

    # ----- overlays: the public API other panels use -------------------------------------------

    def show_path(self, key: str, points: np.ndarray, colour=(255, 255, 255), width: float = 2.0) -> None:
        """A polyline with a dot at each point, e.g. the steps of an imputation or interpolation."""
        points = np.asarray(points, np.float32).reshape(-1, 2)
        line = pg.PlotDataItem(points[:, 0], points[:, 1], pen=pg.mkPen(*colour, width=width),
                               symbol="o", symbolSize=6, symbolBrush=pg.mkBrush(*colour), symbolPen=None)
        self.show_items(key, [line], z_value=20)

    def show_heatmap(self, key: str, density: np.ndarray, extent: tuple[float, float, float, float],
                     opacity: float = 0.55, colormap: str = "viridis") -> None:
        """A density image stretched over extent (xmin, xmax, ymin, ymax); row 0 lies at ymin."""
        density = np.asarray(density, np.float32)
        xmin, xmax, ymin, ymax = extent
        image = pg.ImageItem(density, axisOrder="row-major")
        image.setLookupTable(pg.colormap.get(colormap).getLookupTable(nPts=256))
        finite = density[np.isfinite(density)]
        if finite.size:
            image.setLevels((float(finite.min()), float(finite.max()) if finite.max() > finite.min() else float(finite.min()) + 1))
        image.setRect(QRectF(xmin, ymin, xmax - xmin, ymax - ymin))
        image.setOpacity(opacity)
        self.show_items(key, [image], z_value=-5)

    def show_posterior(self, key: str, mu: np.ndarray, spread: np.ndarray, colour=(255, 255, 255)) -> None:
        """The 1-sigma (solid) and 2-sigma (dashed) ellipses of a Gaussian on the map, with its centre.

        spread is either standard deviations (2,) along the map axes, or a full
        (2, 2) covariance, as a posterior seen through a tilted plane has.
        """
        mu = np.asarray(mu, np.float32).reshape(-1)[:2]
        spread = np.asarray(spread, np.float32)
        items: list[pg.GraphicsObject] = []
        for k, style in ((1.0, Qt.PenStyle.SolidLine), (2.0, Qt.PenStyle.DashLine)):
            if spread.shape == (2, 2):
                outline = covariance_ellipse(mu, spread, k)
            else:
                outline = latent.ellipse_points(mu, spread.reshape(-1)[:2], k)
            curve = pg.PlotCurveItem(outline[:, 0], outline[:, 1], pen=pg.mkPen(*colour, width=2, style=style))
            curve.sigma_k = k  # lets tests and exporters tell the two apart
            items.append(curve)
        # A small centre mark: a well-trained posterior is only a few pixels wide at full view.
        centre = pg.ScatterPlotItem([mu[0]], [mu[1]], symbol="+", size=7, pen=pg.mkPen(*colour, width=1.5),
                                    brush=None)
        items.append(centre)
        self.show_items(key, items, z_value=30)

    def show_marker(self, key: str, z: np.ndarray, colour=(255, 255, 255), symbol: str = "x", size: float = 16) -> None:
        z = np.asarray(z, np.float32).reshape(-1)
        marker = pg.ScatterPlotItem([z[0]], [z[1]], symbol=symbol, size=size, pen=pg.mkPen(*colour, width=2.5),
                                    brush=pg.mkBrush(*colour, 90))
        self.show_items(key, [marker], z_value=40)

    def clear_overlay(self, key: str) -> None:
        for item in self._overlays.pop(key, []):
            self.plot_item.removeItem(item)

    def overlay_items(self, key: str) -> list[pg.GraphicsObject]:
        return list(self._overlays.get(key, []))

    def overlay_keys(self) -> list[str]:
        return list(self._overlays)

    def show_items(self, key: str, items: list[pg.GraphicsObject], z_value: float) -> None:
        """Any pyqtgraph items as one overlay under key (replacing what key showed), drawn at z_value."""
        self.clear_overlay(key)
        for item in items:
            item.setZValue(z_value)
            self.plot_item.addItem(item, ignoreBounds=True)
        self._overlays[key] = items

    # ----- manifold overlay -------------------------------------------------------------------

    def set_manifold_visible(self, visible: bool) -> None:
        self.manifold_item.setVisible(visible)
        for item in self.class_items:
            item.setOpacity(0.35 if visible else 1.0)
        if visible:
            self.refresh_manifold()

    def manifold_visible(self) -> bool:
        return self.manifold_item.isVisible()

    def set_manifold_columns(self, columns: int) -> None:
        self.manifold_columns = max(2, int(columns))
        if self.manifold_visible():
            self.refresh_manifold()

    def manifold_grid(self) -> tuple[np.ndarray, int, int]:
        """Cell centres over the visible region, roughly square cells: (points, rows, cols)."""
        xmin, xmax, ymin, ymax = self.visible_rect()
        cols = self.manifold_columns
        rows = max(1, int(round(cols * (ymax - ymin) / max(xmax - xmin, 1e-9))))
        return latent.grid_points(xmin, xmax, ymin, ymax, cols, rows), rows, cols

    def refresh_manifold(self) -> None:
        """Decode a grid over the visible region and tile it under the points, in data coordinates."""
        self._manifold_timer.stop()
        if not self.manifold_visible() or self.decoder is None:
            return
        points, rows, cols = self.manifold_grid()
        tiled = latent.tile_images(self.decoder(points), rows, cols)
        xmin, xmax, ymin, ymax = self.visible_rect()
        # The tiles are in reading order (row 0 at the top); the ImageItem puts row 0 at ymin.
        self.manifold_item.setImage(np.flipud(tiled), levels=(0.0, 1.0), autoLevels=False)
        self.manifold_item.setRect(QRectF(xmin, ymin, xmax - xmin, ymax - ymin))
        self.manifold_item.tiles = tiled

    def _on_range_changed(self, *_args) -> None:
        if self.manifold_visible():
            self._manifold_timer.start()


class _ClassLegend(pg.LegendItem):
    """pyqtgraph's legend toggles a class only from its marker; here the name toggles it too."""

    def mouseClickEvent(self, event) -> None:  # noqa: N802 - pyqtgraph override
        if event.button() == Qt.MouseButton.LeftButton:
            for sample, label in self.items:
                if label.sceneBoundingRect().contains(event.scenePos()):
                    sample.mouseClickEvent(event)  # the marker's own toggle, so both stay in step
                    return
        event.ignore()  # LegendItem has no click of its own: the map under it may take the click


class _LegendProxy(pg.GraphicsObject):
    """Gives the legend a small sample symbol while its click toggles the real (class) item."""

    def __init__(self, target: pg.ScatterPlotItem, sample: pg.ScatterPlotItem):
        super().__init__()
        self.target = target
        self.sample = sample
        self.opts = {"pen": None, "brush": sample.opts["brush"], "symbol": "o", "size": 10, "pxMode": True,
                     "antialias": True}

    def isVisible(self) -> bool:  # noqa: N802 - mirrors the class item for the legend's toggle
        return self.target.isVisible()

    def setVisible(self, visible: bool) -> None:  # noqa: N802
        self.target.setVisible(visible)

    def boundingRect(self) -> QRectF:  # noqa: N802
        return QRectF()

    def paint(self, *args) -> None:
        pass
