"""Small titled image tiles for the demo panels, scaled by whole pixels.

A 28x28 digit shown at 84x84 must show its pixels as crisp squares (the
point of the imputation demo is which pixels changed), so tiles scale by an
integer factor with nearest-neighbour sampling, never smoothing. Each tile
keeps the float array it shows in `array`, so tests read what is on screen.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from vae_explorer.qt.image_views import array_to_qimage, to_uint8

_HEAT_LUT: np.ndarray | None = None


def heat_lut() -> np.ndarray:
    """(256, 3) uint8 colours of the 'inferno' map: black for 0, pale yellow for 1."""
    global _HEAT_LUT
    if _HEAT_LUT is None:
        _HEAT_LUT = np.asarray(pg.colormap.get("inferno").getLookupTable(nPts=256, alpha=False), np.uint8)[:, :3]
    return _HEAT_LUT


def rgb_qimage(rgb: np.ndarray) -> QImage:
    pixels = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = pixels.shape
    return QImage(pixels.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def heat_rgb(values: np.ndarray, vmax: float) -> np.ndarray:
    return heat_lut()[to_uint8(values, vmax)]


class PixelTile(QWidget):
    """A bold title, an image scaled by whole pixels, and a caption under it."""

    def __init__(self, title: str, pixel_size: int = 3, image_shape: tuple[int, int] = (28, 28),
                 tooltip: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.array: np.ndarray | None = None
        self.title = QLabel(f"<b>{title}</b>")
        self.title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.canvas = _PixelCanvas(pixel_size, image_shape)
        self.caption = QLabel("")
        self.caption.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.caption.setObjectName("hint")
        width = self.canvas.minimumWidth()
        for label in (self.title, self.caption):
            label.setWordWrap(True)
            label.setMaximumWidth(max(width + 24, 72))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.canvas, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.caption)
        layout.addStretch(1)
        if tooltip:
            self.setToolTip(tooltip)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def set_image(self, array: np.ndarray | None, caption: str = "") -> None:
        """Show a grayscale array in [0, 1] (None clears the tile)."""
        self.array = None if array is None else np.asarray(array, np.float32).copy()
        self.canvas.set_qimage(None if array is None else array_to_qimage(self.array))
        self.caption.setText(caption)

    def set_heat(self, values: np.ndarray, vmax: float, caption: str = "",
                 backdrop: np.ndarray | None = None, where: np.ndarray | None = None) -> None:
        """Show values on the inferno scale 0..vmax; outside `where`, a dimmed backdrop instead."""
        self.array = np.asarray(values, np.float32).copy()
        rgb = heat_rgb(self.array, vmax)
        if where is not None:
            dim = to_uint8(backdrop if backdrop is not None else np.zeros_like(self.array)) // 4 + 20
            outside = ~np.asarray(where, bool)
            rgb[outside] = np.stack([dim, dim, dim + 12], axis=-1)[outside]
        self.canvas.set_qimage(rgb_qimage(rgb))
        self.caption.setText(caption)


class _PixelCanvas(QWidget):
    def __init__(self, pixel_size: int, image_shape: tuple[int, int]):
        super().__init__()
        self._image: QImage | None = None
        self._size = QSize(image_shape[1] * pixel_size, image_shape[0] * pixel_size)
        self.setFixedSize(self._size + QSize(2, 2))

    def set_qimage(self, image: QImage | None) -> None:
        self._image = image
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return self._size + QSize(2, 2)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setPen(QColor(70, 72, 80))
        painter.setBrush(QColor(12, 12, 14))
        painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
        if self._image is not None:
            # No SmoothPixmapTransform: every image pixel becomes a crisp square.
            painter.drawImage(QRect(1, 1, self._size.width(), self._size.height()), self._image)
