"""The conditional VAE's tools: which class the map decodes, and one z in the style of every class.

For a conditional model the decoder takes the class as well as z, so z holds
only the style (slant, stroke width). The class picked here is what hover,
click, the manifold and the samples decode; a click shows a style sheet, the
same z decoded as each of the classes.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QVBoxLayout, QWidget

from vae_explorer.core import latent
from vae_explorer.qt.image_views import ImageCanvas

DIGIT_NAMES = [str(d) for d in range(10)]
GAP = 2  # pixels between the sheet's tiles, drawn grey so each decode stands apart
GAP_GREY = 0.22
CHOSEN_COLOUR = QColor(255, 170, 40)  # the map's marker orange: the class the map decodes


def class_names_of(session) -> list[str]:
    """The shown data's class names (Fashion-MNIST, KMNIST), else the digits."""
    names = getattr(session.data, "class_names", None) if session is not None else None
    return list(names) if names else DIGIT_NAMES


def _format_z(z: np.ndarray, shown: int = 4) -> str:
    more = ", …" if len(z) > shown else ""
    return "(" + ", ".join(f"{v:+.2f}" for v in z[:shown]) + more + ")"


class StyleSheetCanvas(ImageCanvas):
    """The sheet's tiles, each named by its class, the class the map decodes outlined."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(160, parent)
        self.names: list[str] = []
        self.columns = 1
        self.tile = (28, 28)
        self.chosen = -1

    def set_sheet(self, tiles: np.ndarray | None, names: list[str], columns: int,
                  tile: tuple[int, int]) -> None:
        self.names, self.columns, self.tile = names, columns, tile
        self.set_array(tiles)

    def set_chosen(self, index: int) -> None:
        self.chosen = index
        self.update()

    def _image_rect(self) -> QRectF:
        h, w = self.array.shape
        scale = min(self.width() / w, self.height() / h)
        return QRectF((self.width() - w * scale) / 2, (self.height() - h * scale) / 2, w * scale, h * scale)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().paintEvent(event)
        if self.array is None or not self.names:
            return
        target = self._image_rect()
        scale = target.width() / self.array.shape[1]
        th, tw = self.tile
        painter = QPainter(self)
        font = QFont(self.font())
        font.setPointSizeF(max(6.5, font.pointSizeF() * 0.8))
        painter.setFont(font)
        for index, name in enumerate(self.names):
            r, c = divmod(index, self.columns)
            cell = QRectF(target.left() + c * (tw + GAP) * scale, target.top() + r * (th + GAP) * scale,
                          tw * scale, th * scale)
            label = painter.fontMetrics().elidedText(name, Qt.TextElideMode.ElideRight, int(cell.width()) - 4)
            painter.setPen(QColor(150, 200, 255))
            painter.drawText(cell.adjusted(3, 1, -1, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                             label)
            if index == self.chosen:
                painter.setPen(QPen(CHOSEN_COLOUR, 2))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(cell.adjusted(1, 1, -1, -1))


class ConditionalPanel(QWidget):
    """A class picker and a style sheet; a note for models that are not conditional."""

    conditionChanged = Signal(int)  # the class the map should decode now

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = None
        self.z: np.ndarray | None = None
        self.source = ""  # what z is: "the pinned point", "the mean of data point #12 (7)"
        self.index: int | None = None  # the data point whose mean z is, when it is one
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.class_combo = QComboBox()
        self.class_combo.setToolTip("The class every hover, click, manifold tile and sample is decoded as "
                                    "(Ctrl+] and Ctrl+[ step through the classes)")
        self.class_combo.currentIndexChanged.connect(self._on_class)
        self.sheet = StyleSheetCanvas()
        self.sheet.fit_height_to_width()
        self.sheet.setToolTip("One z decoded as every class: z keeps the style, the label picks the class. "
                              "Outlined: the class the map decodes.")
        self.sheet.set_placeholder("Click a data point or an empty spot of the map: its z, decoded as every class")
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Decode as class", self.class_combo)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addLayout(form)
        layout.addWidget(QLabel("<b>Style sheet</b>"))
        layout.addWidget(self.sheet)
        layout.addWidget(self.caption)
        layout.addStretch(1)
        self.set_session(None)

    @property
    def applies(self) -> bool:
        return self.session is not None and self.session.model.is_conditional

    @property
    def array(self) -> np.ndarray | None:
        return self.sheet.array

    def set_session(self, session) -> None:
        self.session = session
        applies = self.applies
        for widget in (self.class_combo, self.sheet):
            widget.setEnabled(applies)
        if not applies:
            self.note.setText("This model is not conditional: its decoder sees only z. Train or open a "
                              "conditional VAE (File ▸ Shipped models) to pick the class it decodes.")
            self.sheet.set_array(None)
            self.caption.clear()
            return
        self.note.setText("z carries the style, the label the class: the map's colours mix, since the "
                          "class is not in z. Hover, clicks, the manifold and the samples decode the class "
                          "chosen here.")
        names = class_names_of(session)[: session.model.num_classes]
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        self.class_combo.addItems(names)
        self.class_combo.setCurrentIndex(min(session.condition, len(names) - 1))
        self.class_combo.blockSignals(False)
        self.sheet.set_chosen(self.class_combo.currentIndex())
        if self.index is not None and self.index < len(session.data):
            self.show_data_point(self.index)  # encoded again: a new model places the image elsewhere
        elif self.z is not None and len(self.z) == session.latent_dim:
            self.show_style_sheet(self.z, self.source)
        else:
            self.z, self.index = None, None
            self.sheet.set_array(None)
            self.caption.clear()

    def step_class(self, step: int) -> None:
        if self.applies:
            count = self.class_combo.count()
            self.class_combo.setCurrentIndex((self.class_combo.currentIndex() + step) % count)

    def show_style_sheet(self, z: np.ndarray, source: str = "the pinned point") -> None:
        """Decode the full latent point z as each class, in one row (two for ten classes)."""
        z = np.asarray(z, np.float32).reshape(-1)
        if not self.applies or z.size != self.session.latent_dim:  # a pin from a model being replaced
            return
        self.z, self.source, self.index = z, source, None
        count = self.session.model.num_classes
        images = self.session.decode(np.repeat(self.z[None], count, axis=0), np.arange(count))
        columns = 5 if count == 10 else min(count, 8)
        rows = -(-count // columns)
        if rows * columns > count:  # pad the last row with blanks
            images = np.concatenate([images, np.zeros((rows * columns - count, *images.shape[1:]), images.dtype)])
        tiles = latent.tile_images(images, rows, columns, padding=GAP, fill=GAP_GREY)
        self.sheet.set_sheet(tiles, class_names_of(self.session)[:count], columns, images.shape[1:3])
        self.caption.setText(f"z = {_format_z(self.z)}, {source}, decoded as each class.")

    def show_data_point(self, index: int) -> None:
        """The style sheet of data point index: its posterior mean, given its own class."""
        if not self.applies or not 0 <= index < len(self.session.data):
            return
        mean, _ = self.session.posterior(index)
        label = int(self.session.labels[index])
        names = class_names_of(self.session)
        name = names[label] if label < len(names) else str(label)
        self.show_style_sheet(mean, f"the mean of data point #{index} (labelled {name})")
        self.index = index

    def _on_class(self, index: int) -> None:
        if self.applies and index >= 0:
            self.sheet.set_chosen(index)
            self.conditionChanged.emit(index)
