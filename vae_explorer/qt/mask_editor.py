"""The erase editor: a digit drawn large, where mouse drags erase rows or rectangles."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget

from vae_explorer.core import imputation as imp
from vae_explorer.qt.image_views import array_to_qimage


class MaskEditor(QWidget):
    """A digit drawn large; drag to erase rows (or a rectangle), right-drag to restore.

    maskChanged(np.ndarray bool (H, W), True = erased) is emitted when a drag ends.
    """

    maskChanged = Signal(object)

    MODE_ROWS = "rows"
    MODE_RECTANGLE = "rectangle"

    def __init__(self, pixel_size: int = 7, image_shape: tuple[int, int] = (28, 28), parent: QWidget | None = None):
        super().__init__(parent)
        self.pixel_size = pixel_size
        self.image_shape = image_shape
        self.image = np.zeros(image_shape, np.float32)
        self.mask = imp.empty_mask(image_shape)
        self.mode = self.MODE_ROWS
        self._anchor: tuple[int, int] | None = None
        self._current: tuple[int, int] | None = None
        self._restoring = False
        self._preview: np.ndarray | None = None
        side = QSize(image_shape[1] * pixel_size + 2, image_shape[0] * pixel_size + 2)
        self.setFixedSize(side)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Drag to erase rows (or a rectangle, see Mode); right-drag to restore pixels")

    # ----- state -----------------------------------------------------------------------------

    def set_image(self, image: np.ndarray) -> None:
        self.image = np.asarray(image, np.float32).reshape(self.image_shape).copy()
        self.update()

    def set_mask(self, mask: np.ndarray, notify: bool = True) -> None:
        self.mask = np.asarray(mask, bool).reshape(self.image_shape).copy()
        self._preview = None
        self.update()
        if notify:
            self.maskChanged.emit(self.mask.copy())

    def set_mode(self, mode: str) -> None:
        if mode not in (self.MODE_ROWS, self.MODE_RECTANGLE):
            raise ValueError(f"unknown erase mode {mode!r}")
        self.mode = mode

    @property
    def shown_mask(self) -> np.ndarray:
        return self._preview if self._preview is not None else self.mask

    # ----- geometry (public so tests can aim at pixels) -----------------------------------------

    def cell_at(self, pos: QPoint) -> tuple[int, int]:
        """(row, column) under a widget position, clamped to the image."""
        row = (pos.y() - 1) // self.pixel_size
        col = (pos.x() - 1) // self.pixel_size
        return (int(np.clip(row, 0, self.image_shape[0] - 1)), int(np.clip(col, 0, self.image_shape[1] - 1)))

    def cell_centre(self, row: int, col: int) -> QPoint:
        half = self.pixel_size // 2
        return QPoint(1 + col * self.pixel_size + half, 1 + row * self.pixel_size + half)

    # ----- mouse -----------------------------------------------------------------------------

    def _stroke_mask(self, end: tuple[int, int]) -> np.ndarray:
        assert self._anchor is not None
        if self.mode == self.MODE_ROWS:
            return imp.erase_rows(self._anchor[0], end[0], self.image_shape)
        return imp.erase_rectangle(self._anchor[0], self._anchor[1], end[0], end[1], self.image_shape)

    def _combined(self, end: tuple[int, int]) -> np.ndarray:
        stroke = self._stroke_mask(end)
        return self.mask & ~stroke if self._restoring else self.mask | stroke

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.button() not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return
        self._restoring = event.button() == Qt.MouseButton.RightButton
        self._anchor = self._current = self.cell_at(event.position().toPoint())
        self._preview = self._combined(self._anchor)
        self.update()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self._anchor is None:
            return
        self._current = self.cell_at(event.position().toPoint())
        self._preview = self._combined(self._current)
        self.update()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self._anchor is None:
            return
        final = self._combined(self.cell_at(event.position().toPoint()))
        self._anchor = self._current = None
        self.set_mask(final)

    # ----- painting --------------------------------------------------------------------------

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        s = self.pixel_size
        h, w = self.image_shape
        painter.setPen(QColor(70, 72, 80))
        painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
        painter.drawImage(QRect(1, 1, w * s, h * s), array_to_qimage(self.image))
        # Erased pixels: a translucent red wash with a hatch, so they read as "gone", not as black ink.
        mask = self.shown_mask
        painter.setPen(Qt.PenStyle.NoPen)
        brush_colour = QColor(200, 40, 60, 170)
        for row in np.flatnonzero(mask.any(axis=1)):
            cols = np.flatnonzero(mask[row])
            # Draw runs of consecutive erased columns as one rectangle.
            splits = np.flatnonzero(np.diff(cols) > 1) + 1
            for run in np.split(cols, splits):
                rect = QRect(1 + int(run[0]) * s, 1 + int(row) * s, len(run) * s, s)
                painter.fillRect(rect, brush_colour)
                painter.fillRect(rect, Qt.BrushStyle.BDiagPattern)
        if self._anchor is not None and self._current is not None:
            painter.setPen(QPen(QColor(255, 255, 255), 1, Qt.PenStyle.DashLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            changed = np.argwhere(self._stroke_mask(self._current))
            if changed.size:
                (r0, c0), (r1, c1) = changed.min(axis=0), changed.max(axis=0)
                painter.drawRect(QRect(1 + int(c0) * s, 1 + int(r0) * s, int(c1 - c0 + 1) * s - 1,
                                       int(r1 - r0 + 1) * s - 1))
