"""The pieces of the maths panel: rows that light up when hovered, small images, a heat map of nats.

A MathsRow is one step or one loss term: its title, its formula rendered as
rich text, the formula again with the numbers put in, and the pictures that
belong to it. Hovering a row lights it and its pictures and reports its key,
so the panel can point at the same thing on the map.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from vae_explorer.core.walkthrough import num
from vae_explorer.qt.image_views import ImageCanvas

PICTURE = 84  # pixels a side: three or four of these fit beside the text in a 450 px dock
LIT_COLOUR = QColor(255, 200, 70)
# Serif for the maths: the sans fonts often drop the hat of x̂ (a combining accent).
MATHS_FONT = "font-family: 'DejaVu Serif', 'Cambria Math', 'Times New Roman', serif;"
FORMULA_STYLE = MATHS_FONT + " font-size: 15px;"
WORKED_STYLE = MATHS_FONT + " font-size: 12px; color: #c4c6ce;"
CAPTION_STYLE = MATHS_FONT + " font-size: 12px; color: #9a9ca5;"
ROW_STYLE = """
QFrame#mathsRow { border: 1px solid #34363d; border-radius: 4px; background: #26282d; }
QFrame#mathsRow[lit="true"] { border: 1px solid #ffc846; background: #33343a; }
"""

# An "inferno"-like ramp: dark for pixels that cost nothing, bright yellow for the costliest.
_RAMP = np.array([[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66],
                  [245, 125, 21], [250, 193, 39], [252, 255, 164]], dtype=np.float64)


def heat_rgb(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """(H, W) values as (H, W, 3) uint8 colours on the ramp, low dark and high bright."""
    t = np.clip((np.nan_to_num(np.asarray(values, np.float64)) - low) / max(high - low, 1e-12), 0.0, 1.0)
    position = t * (len(_RAMP) - 1)
    below = np.minimum(position.astype(int), len(_RAMP) - 2)
    share = (position - below)[..., None]
    colours = _RAMP[below] * (1 - share) + _RAMP[below + 1] * share
    return (colours + 0.5).astype(np.uint8)


def rgb_image(pixels: np.ndarray) -> QImage:
    """A QImage that owns a copy of (H, W, 3) uint8 pixels."""
    pixels = np.ascontiguousarray(pixels)
    h, w, _ = pixels.shape
    return QImage(pixels.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def draw_outline(widget: QWidget, painter: QPainter) -> None:
    painter.setPen(QPen(LIT_COLOUR, 3))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRect(widget.rect().adjusted(1, 1, -2, -2))


class LitCanvas(ImageCanvas):
    """A grayscale image that can be outlined, to show which formula is being pointed at."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(minimum=PICTURE, parent=parent)
        self.setFixedSize(PICTURE, PICTURE)
        self.lit = False

    def set_lit(self, lit: bool) -> None:
        self.lit = lit
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().paintEvent(event)
        if self.lit:
            draw_outline(self, QPainter(self))


class HeatMap(QWidget):
    """Nats per pixel in colour, with a colour bar that gives the scale; lit, it is outlined and brighter."""

    BAR = 10  # colour bar width
    LABELS = 40  # room for the scale's numbers

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.array: np.ndarray | None = None
        self.scale: tuple[float, float] = (0.0, 1.0)
        self.lit = False
        self._image: QImage | None = None
        self._bar = rgb_image(heat_rgb(np.linspace(1, 0, 64)[:, None], 0, 1))
        self.setFixedSize(PICTURE + self.BAR + self.LABELS + 6, PICTURE)
        self.setToolTip("−log p(x_i|z) for each pixel, in nats: bright pixels cost the most. "
                        "Their sum is the reconstruction term.")

    def set_nats(self, nats: np.ndarray | None) -> None:
        """Show nats (H, W), scaled from the smallest (or 0) to the largest pixel."""
        self.array = None if nats is None else np.asarray(nats, np.float64).copy()
        if self.array is not None:
            low, high = min(0.0, float(self.array.min())), float(self.array.max())
            self.scale = (low, max(high, low + 1e-6))
            self._image = rgb_image(heat_rgb(self.array, *self.scale))
        else:
            self._image = None
        self.update()

    def set_lit(self, lit: bool) -> None:
        self.lit = lit
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        square = QRect(0, 0, PICTURE, PICTURE)
        painter.fillRect(square, QColor(12, 12, 14))
        if self._image is None:
            return
        painter.drawImage(square, self._image)
        if self.lit:  # brighten: a translucent wash, then the outline
            painter.fillRect(square, QColor(255, 255, 255, 40))
            painter.setPen(QPen(LIT_COLOUR, 3))
            painter.drawRect(square.adjusted(1, 1, -2, -2))
        bar = QRect(PICTURE + 4, 0, self.BAR, PICTURE)
        painter.drawImage(bar, self._bar)
        painter.setPen(QColor(200, 200, 208))
        font = painter.font()
        font.setPixelSize(10)
        painter.setFont(font)
        left = bar.right() + 3
        low, high = self.scale
        painter.drawText(QRect(left, 0, self.LABELS, 14), Qt.AlignmentFlag.AlignLeft, num(high, 2))
        painter.drawText(QRect(left, PICTURE // 2 - 7, self.LABELS, 14), Qt.AlignmentFlag.AlignLeft, "nats")
        painter.drawText(QRect(left, PICTURE - 14, self.LABELS, 14), Qt.AlignmentFlag.AlignLeft, num(low, 2))


class MathsRow(QFrame):
    """One step or term: title, rendered formula, worked numbers, and pictures on the right."""

    hovered = Signal(str)  # the row's key on entering, "" on leaving

    def __init__(self, key: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.key = key
        self.setObjectName("mathsRow")
        self.setStyleSheet(ROW_STYLE)
        self.setProperty("lit", False)
        self.title = QLabel()
        self.formula = QLabel()
        self.worked = QLabel()
        for label in (self.title, self.formula, self.worked):
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setWordWrap(True)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.worked.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.pictures: list[QWidget] = []
        self.captions: list[QLabel] = []
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(7, 5, 7, 6)
        self._grid.setHorizontalSpacing(8)
        self._grid.setVerticalSpacing(3)
        self._grid.addWidget(self.title, 0, 0)
        self._grid.addWidget(self.formula, 1, 0)
        self._grid.addWidget(self.worked, 2, 0)
        self._grid.setColumnStretch(0, 1)
        self._side = QVBoxLayout()
        self._side.setSpacing(2)
        self._grid.addLayout(self._side, 0, 1, 4, 1, Qt.AlignmentFlag.AlignTop)

    def add_picture(self, picture: QWidget, caption: str = "") -> QWidget:
        label = QLabel(f'<span style="{CAPTION_STYLE}">{caption}</span>')
        self._side.addWidget(label)
        self._side.addWidget(picture)
        self.pictures.append(picture)
        self.captions.append(label)
        return picture

    def add_below(self, widget: QWidget) -> None:
        self._grid.addWidget(widget, 3, 0)

    def set_texts(self, title: str, formula: str, worked: str) -> None:
        self.title.setText(f"<b style='color:#8fbcff'>{title}</b>")
        self.formula.setText(f'<span style="{FORMULA_STYLE}">{formula}</span>')
        self.worked.setText(f'<span style="{WORKED_STYLE}">{worked}</span>')

    def set_lit(self, lit: bool) -> None:
        if self.property("lit") == lit:
            return
        self.setProperty("lit", lit)
        self.style().unpolish(self)
        self.style().polish(self)
        for picture in self.pictures:
            picture.set_lit(lit)

    def enterEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.hovered.emit(self.key)
        super().enterEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.hovered.emit("")
        super().leaveEvent(event)
