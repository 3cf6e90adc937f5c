"""Latent traversals: what each latent dimension does to the decode around one point.

Row k sweeps coordinate k over evenly spaced values while every other
coordinate stays at the chosen z (the pinned point, or a clicked data point's
mean), so a row that barely changes is a dimension the decoder ignores. Works
for any latent size: the map shows two dimensions, this tab shows all of them.
When the KL per dimension is known (the bars under the grid), the rows can
come most used first, and the unused dimensions' labels are grey.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QPointF, QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPolygonF
from PySide6.QtWidgets import (
    QCheckBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QMessageBox, QPushButton, QSpinBox,
    QVBoxLayout, QWidget,
)

from vae_explorer.core import latent
from vae_explorer.core.plane import traversals
from vae_explorer.qt.image_views import ImageCanvas, save_array_png
from vae_explorer.qt.kl_bars import ACTIVE_NATS, KLBars
from vae_explorer.qt.scrolling import fill_with_scrolling

Decoder = Callable[[np.ndarray], np.ndarray]  # (M, d) latent points -> (M, H, W) images
MAX_ROWS = 16  # rows shown at once; a larger latent is paged with "First row"
PADDING = 2  # pixels between tiles
GUTTER = 30  # room left of the tiles for the row labels
HEADER = 16  # room above the tiles for the swept values
LABEL_COLOUR, UNUSED_COLOUR = QColor(200, 200, 208), QColor(105, 107, 115)


class TraversalCanvas(ImageCanvas):
    """The tiled traversals, with each row's dimension at its left and the values swept along the top."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(60, parent)
        self.row_labels: list[str] = []
        self.column_values = np.zeros(0, np.float32)
        self.marks: list[float | None] = []  # per row: where z itself sits, as a fraction of the sweep
        self.used: list[bool] = []  # per row: whether the model uses that dimension (all, when unknown)

    def set_traversals(self, tiles: np.ndarray | None, row_labels: list[str], values: np.ndarray,
                       marks: list[float | None], used: list[bool] | None = None) -> None:
        self.row_labels, self.column_values, self.marks = row_labels, values, marks
        self.used = list(used) if used is not None else [True] * len(row_labels)
        self.set_array(tiles)

    def image_rect(self) -> QRect:
        """Where the tiles are drawn: scaled to fit right of the labels and under the values."""
        h, w = self.array.shape
        width, height = self.width() - GUTTER, self.height() - HEADER
        scale = min(width / w, height / h)
        target_w, target_h = int(w * scale), int(h * scale)
        return QRect(GUTTER + (width - target_w) // 2, HEADER, target_w, target_h)

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt override
        if self.array is None:
            return self.minimumHeight()
        h, w = self.array.shape
        return max(self.minimumHeight(), int((width - GUTTER) * h / w) + HEADER)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self._image is None:
            super().paintEvent(event)
            return
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(12, 12, 14))
        target = self.image_rect()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.drawImage(target, self._image)
        rows, cols = max(len(self.row_labels), 1), max(len(self.column_values), 1)
        row_h, col_w = target.height() / rows, target.width() / cols
        for r, text in enumerate(self.row_labels):
            painter.setPen(LABEL_COLOUR if r >= len(self.used) or self.used[r] else UNUSED_COLOUR)
            cell = QRect(0, int(target.top() + r * row_h), GUTTER - 4, int(row_h))
            painter.drawText(cell, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
        painter.setPen(QColor(150, 152, 160))
        for c in sorted({0, cols // 2, cols - 1}):
            cell = QRect(int(target.left() + c * col_w), 0, int(col_w), HEADER)
            value = float(self.column_values[c])
            painter.drawText(cell, Qt.AlignmentFlag.AlignCenter, f"{value:+.1f}" if abs(value) >= 0.05 else "0")
        # A small orange tick under each row where z's own value falls in the sweep.
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(255, 170, 40))
        for r, fraction in enumerate(self.marks):
            if fraction is None:
                continue
            x = target.left() + col_w / 2 + fraction * (target.width() - col_w)
            y = target.top() + (r + 1) * row_h - 1
            painter.drawPolygon(QPolygonF([QPointF(x, y - 5), QPointF(x - 4, y), QPointF(x + 4, y)]))


class TraversalPanel(QWidget):
    """One row of decodes per latent dimension, sweeping it around a chosen z."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.decoder: Decoder | None = None
        self.z = np.zeros(2, np.float32)
        self.source = "z = 0, the prior's mean"
        self.dims: list[int] = []  # 0-based dimensions of the rows shown
        self.values = np.zeros(0, np.float32)
        self.range_spin = QDoubleSpinBox(minimum=0.5, maximum=10.0, value=3.0, singleStep=0.5, decimals=1)
        self.range_spin.setPrefix("± ")
        self.range_spin.setToolTip("Each row sweeps its coordinate from −range to +range")
        self.steps_spin = QSpinBox(minimum=3, maximum=21, value=9)
        self.steps_spin.setToolTip("Images per row")
        self.first_spin = QSpinBox(minimum=1, maximum=1, value=1)
        self.first_spin.setToolTip(f"The first row shown; at most {MAX_ROWS} rows fit at once")
        self.sort_check = QCheckBox("Most used first")
        self.sort_check.setChecked(True)
        self.sort_check.setToolTip("Order the rows by the KL of their dimension (the bars below), largest "
                                   "first, so the dimensions the model uses come before the ones it ignores")
        self.source_label = QLabel("")
        self.source_label.setWordWrap(True)
        self.canvas = TraversalCanvas()
        self.canvas.fit_height_to_width()
        self.canvas.setToolTip("Row zk: coordinate k swept along the row, every other coordinate at z. "
                               "The orange tick marks z's own value.")
        self.save_button = QPushButton("Save PNG…")
        self.save_button.setToolTip("Write the traversal grid (without labels) as a PNG image")
        self.save_button.clicked.connect(self._on_save)
        form = QFormLayout()
        form.addRow("Sweep", self.range_spin)
        form.addRow("Steps", self.steps_spin)
        form.addRow("First row", self.first_spin)
        form.addRow("", self.sort_check)
        hint = QLabel("Pin a point on the map or click a data point to traverse around it.")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(hint)
        layout.addLayout(form)
        layout.addWidget(self.source_label)
        layout.addWidget(self.canvas)
        layout.addLayout(buttons)
        # Which dimensions the model uses at all, over the shown images: the rows to look at.
        self.kl_bars = KLBars()
        self.kl_bars.setVisible(False)
        layout.addWidget(self.kl_bars)
        layout.addStretch(1)
        fill_with_scrolling(self, content)
        for spin in (self.range_spin, self.steps_spin, self.first_spin):
            spin.valueChanged.connect(self.refresh)
        self.sort_check.toggled.connect(self.refresh)
        self.kl_bars.changed.connect(self.refresh)

    @property
    def array(self) -> np.ndarray | None:
        return self.canvas.array

    @property
    def latent_dim(self) -> int:
        return int(self.z.size)

    def set_decoder(self, decoder: Decoder | None, latent_dim: int) -> None:
        """A new model: its decoder of full latent points; z goes back to 0 if the size changed."""
        self.decoder = decoder
        if latent_dim != self.latent_dim:
            self.z, self.source = np.zeros(latent_dim, np.float32), "z = 0, the prior's mean"
        self.first_spin.blockSignals(True)
        self.first_spin.setMaximum(max(1, latent_dim - MAX_ROWS + 1))
        self.first_spin.setEnabled(latent_dim > MAX_ROWS)
        self.first_spin.blockSignals(False)
        self.refresh()

    def set_point(self, z: np.ndarray, source: str) -> None:
        """Traverse around z (d,); source says what it is ("pinned point", "data point #12")."""
        z = np.asarray(z, np.float32).reshape(-1)
        if z.size == self.latent_dim:
            self.z, self.source = z.copy(), source
            self.refresh()

    def _kl(self) -> np.ndarray | None:
        """KL per dimension of this latent, when the bars hold it."""
        kl = self.kl_bars.values()
        return kl if len(kl) == self.latent_dim and len(kl) > 0 else None

    def refresh(self) -> None:
        dim, kl = self.latent_dim, self._kl()
        by_use = self.sort_check.isChecked() and kl is not None
        self.sort_check.setEnabled(kl is not None)
        self.first_spin.setPrefix("row " if by_use else "z")
        order = np.argsort(-kl, kind="stable") if by_use else np.arange(dim)
        first = self.first_spin.value() - 1
        self.dims = [int(d) for d in order[first : first + MAX_ROWS]]
        spread = self.range_spin.value()
        self.values = np.linspace(-spread, spread, self.steps_spin.value()).astype(np.float32)
        if len(self.dims) == dim:
            shown = f"all {dim} dimensions"
        elif by_use:
            shown = f"rows {first + 1}–{first + len(self.dims)} of {dim}"
        else:
            shown = f"z{self.dims[0] + 1}–z{self.dims[-1] + 1} of {dim} dimensions"
        text = f"Around {self.source}; {shown}"
        if by_use:
            text += ", most used first"
        used = None if kl is None else [bool(kl[d] > ACTIVE_NATS) for d in self.dims]
        if used is not None and not all(used):
            text += f". Grey labels: dimensions the model does not use (KL under {ACTIVE_NATS:g} nats)"
        self.source_label.setText(text + ".")
        if self.decoder is None:
            return
        images = self.decoder(traversals(self.z, self.dims, self.values))
        tiles = latent.tile_images(images, len(self.dims), len(self.values), padding=PADDING)
        marks = [float((self.z[d] + spread) / (2 * spread)) if abs(self.z[d]) <= spread else None
                 for d in self.dims]
        self.canvas.set_traversals(tiles, [f"z{d + 1}" for d in self.dims], self.values, marks, used)

    def export_png(self, path: str) -> None:
        if self.array is None:
            raise ValueError("no traversals yet: load a model first")
        save_array_png(self.array, path)

    def _on_save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save traversals", "traversals.png", "PNG images (*.png)")
        if not path:
            return
        if not path.lower().endswith(".png"):
            path += ".png"
        try:
            self.export_png(path)
        except (OSError, ValueError) as exc:
            QMessageBox.critical(self, "Cannot save traversals", str(exc))
