"""The erase editor: a digit drawn large, where mouse drags erase rows or rectangles.

MaskEditor is the drawing surface; EraseBox puts it beside its drag modes,
the preset masks and a restore button. Both are sized for the model's image
shape (set_image_shape), which the imputation panel takes from the session,
so they work for any image size, not only MNIST's.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QButtonGroup,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from vae_explorer.core import imputation as imp
from vae_explorer.qt.image_views import array_to_qimage

# Shown until a model is loaded; set_image_shape replaces it.
PLACEHOLDER_SHAPE = (28, 28)
# Larger images get smaller pixels, so the editor stays about this many screen pixels across.
TARGET_SIDE = 200


class MaskEditor(QWidget):
    """A digit drawn large; drag to erase rows (or a rectangle), right-drag to restore.

    maskChanged(np.ndarray bool (H, W), True = erased) is emitted when a drag ends.
    """

    maskChanged = Signal(object)

    MODE_ROWS = "rows"
    MODE_RECTANGLE = "rectangle"

    def __init__(self, pixel_size: int = 7, image_shape: tuple[int, int] = PLACEHOLDER_SHAPE,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self._largest_pixel = pixel_size
        self.mode = self.MODE_ROWS
        self._anchor: tuple[int, int] | None = None
        self._current: tuple[int, int] | None = None
        self._restoring = False
        self._preview: np.ndarray | None = None
        self.image_shape: tuple[int, int] = (0, 0)
        self.set_image_shape(image_shape)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Drag to erase rows (or a rectangle, see Mode); right-drag to restore pixels")

    # ----- state -----------------------------------------------------------------------------

    def set_image_shape(self, shape: tuple[int, int]) -> None:
        """Edit images of this (height, width); a new shape blanks the image and the mask."""
        shape = (int(shape[0]), int(shape[1]))
        if shape == self.image_shape:
            return
        self.image_shape = shape
        self.pixel_size = max(1, min(self._largest_pixel, TARGET_SIDE // max(shape)))
        self.image = np.zeros(shape, np.float32)
        self.mask = imp.empty_mask(shape)
        self._anchor = self._current = self._preview = None
        self.setFixedSize(QSize(shape[1] * self.pixel_size + 2, shape[0] * self.pixel_size + 2))
        self.update()

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


class EraseBox(QGroupBox):
    """The mask editor with its drag modes, the preset masks (rows from the image height) and Restore all."""

    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(title, parent)
        self.editor = MaskEditor()
        self.rows_radio = QRadioButton("Rows")
        self.rect_radio = QRadioButton("Rectangle")
        self.rows_radio.setChecked(True)
        self.rows_radio.setToolTip("A drag erases every row it passes over")
        self.rect_radio.setToolTip("A drag erases the rectangle between its ends")
        group = QButtonGroup(self)
        group.addButton(self.rows_radio)
        group.addButton(self.rect_radio)
        self.rows_radio.toggled.connect(
            lambda on: self.editor.set_mode(MaskEditor.MODE_ROWS if on else MaskEditor.MODE_RECTANGLE))
        controls = QVBoxLayout()
        controls.addWidget(QLabel("Drag mode:"))
        controls.addWidget(self.rows_radio)
        controls.addWidget(self.rect_radio)
        controls.addSpacing(6)
        controls.addWidget(QLabel("Presets:"))
        self.preset_buttons: dict[str, QPushButton] = {}
        for name in imp.PRESET_ROWS:
            button = QPushButton(name)
            button.clicked.connect(lambda _=False, n=name: self.editor.set_mask(imp.preset_mask(n, self.image_shape)))
            controls.addWidget(button)
            self.preset_buttons[name] = button
        self.clear_mask_button = QPushButton("Restore all")
        self.clear_mask_button.setToolTip("Un-erase every pixel")
        self.clear_mask_button.clicked.connect(lambda: self.editor.set_mask(imp.empty_mask(self.image_shape)))
        controls.addWidget(self.clear_mask_button)
        controls.addStretch(1)
        row = QHBoxLayout(self)
        row.addWidget(self.editor, 0, Qt.AlignmentFlag.AlignTop)
        row.addLayout(controls)
        self._label_presets()

    @property
    def image_shape(self) -> tuple[int, int]:
        return self.editor.image_shape

    def set_image_shape(self, shape: tuple[int, int]) -> None:
        """Edit images of another shape: the presets are renamed for it and the middle rows erased."""
        if tuple(shape) == self.image_shape:
            return
        self.editor.set_image_shape(shape)
        self._label_presets()
        self.start_with_a_preset()

    def start_with_a_preset(self) -> None:
        self.editor.set_mask(imp.preset_mask(imp.MIDDLE_ROWS, self.image_shape))

    def _label_presets(self) -> None:
        height = self.image_shape[0]
        for name, button in self.preset_buttons.items():
            first, last = imp.preset_rows(name, height)
            button.setText(f"Rows {first}–{last}" if name == imp.MIDDLE_ROWS else name)
            button.setToolTip(f"Erase rows {first} to {last}")
