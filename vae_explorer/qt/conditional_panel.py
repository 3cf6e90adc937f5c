"""The conditional VAE's tools: which class the map decodes, and one z in the style of every class.

For a conditional model the decoder takes the class as well as z, so z holds
only the style (slant, stroke width). The class picked here is what hover,
click, the manifold and the samples decode; a click shows a style sheet, the
same z decoded as each of the classes.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QVBoxLayout, QWidget

from vae_explorer.core import latent
from vae_explorer.qt.image_views import ImageCanvas

DIGIT_NAMES = [str(d) for d in range(10)]


def class_names_of(session) -> list[str]:
    """The shown data's class names (Fashion-MNIST, KMNIST), else the digits."""
    names = getattr(session.data, "class_names", None) if session is not None else None
    return list(names) if names else DIGIT_NAMES


class ConditionalPanel(QWidget):
    """A class picker and a style sheet; a note for models that are not conditional."""

    conditionChanged = Signal(int)  # the class the map should decode now

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = None
        self.z: np.ndarray | None = None
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.class_combo = QComboBox()
        self.class_combo.setToolTip("The class every hover, click, manifold tile and sample is decoded as "
                                    "(Ctrl+] and Ctrl+[ step through the classes)")
        self.class_combo.currentIndexChanged.connect(self._on_class)
        self.sheet = ImageCanvas(160)
        self.sheet.fit_height_to_width()
        self.sheet.setToolTip("The clicked z decoded as every class: z keeps the style, the label picks the class")
        self.sheet.set_placeholder("Click the map: the same z, decoded as every class")
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
        self.note.setText("z carries the style, the label the class. Hover and click decode the class chosen "
                          "here; a click shows its z as every class.")
        names = class_names_of(session)[: session.model.num_classes]
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        self.class_combo.addItems(names)
        self.class_combo.setCurrentIndex(min(session.condition, len(names) - 1))
        self.class_combo.blockSignals(False)
        if self.z is not None and len(self.z) == session.latent_dim:
            self.show_style_sheet(self.z)
        else:
            self.z = None
            self.sheet.set_array(None)

    def step_class(self, step: int) -> None:
        if self.applies:
            count = self.class_combo.count()
            self.class_combo.setCurrentIndex((self.class_combo.currentIndex() + step) % count)

    def show_style_sheet(self, z: np.ndarray) -> None:
        """Decode the full latent point z as each class, in one row (two for ten classes)."""
        if not self.applies:
            return
        self.z = np.asarray(z, np.float32).reshape(-1)
        count = self.session.model.num_classes
        images = self.session.decode(np.repeat(self.z[None], count, axis=0), np.arange(count))
        columns = 5 if count == 10 else min(count, 8)
        rows = -(-count // columns)
        if rows * columns > count:  # pad the last row with blanks
            images = np.concatenate([images, np.zeros((rows * columns - count, *images.shape[1:]), images.dtype)])
        self.sheet.set_array(latent.tile_images(images, rows, columns, padding=1))
        names = class_names_of(self.session)[:count]
        self.caption.setText("Classes, by rows: " + ", ".join(names))

    def _on_class(self, index: int) -> None:
        if self.applies and index >= 0:
            self.conditionChanged.emit(index)
