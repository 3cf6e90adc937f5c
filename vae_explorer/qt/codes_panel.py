"""The VQ-VAE's tools: codebook usage, the code grid of a clicked image (editable), random-code samples.

A VQ-VAE describes an image by a small grid of indices into a learned
codebook. This tab shows how evenly the codebook is used (perplexity: the
number of equally used codes that would give the same entropy), lets the user
change one code of a clicked image and watch the decode change around that
cell only, and decodes grids of uniformly random codes, which look like no
digit because nothing ties neighbouring codes together without a prior over them.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QGridLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSpinBox, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)

from vae_explorer.core import latent
from vae_explorer.qt.image_views import ImageCanvas, ImagePanel
from vae_explorer.qt.scrolling import fill_with_scrolling
from vae_explorer.qt.theme import PLOT_BACKGROUND

USAGE_IMAGES = 10_000  # images encoded for the usage chart
SAMPLE_SIDE = 4
SAMPLE_GAP, GAP_GREY = 2, 0.22  # grey lines between the random samples, which have no edges of their own
CELL_COLOUR = QColor(255, 170, 40)
SELECT_TEXT = "Select a cell to change its code"


class CellCanvas(ImageCanvas):
    """A decoded image with the part the selected code stands for outlined."""

    def __init__(self, minimum: int, parent: QWidget | None = None):
        super().__init__(minimum, parent)
        self.cell: tuple[int, int, int, int] | None = None  # row, column, grid rows, grid columns

    def set_cell(self, cell: tuple[int, int, int, int] | None) -> None:
        self.cell = cell
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().paintEvent(event)
        if self.array is None or self.cell is None:
            return
        h, w = self.array.shape
        scale = min(self.width() / w, self.height() / h)
        left, top = (self.width() - w * scale) / 2, (self.height() - h * scale) / 2
        row, column, rows, columns = self.cell
        ch, cw = h * scale / rows, w * scale / columns
        painter = QPainter(self)
        painter.setPen(QPen(CELL_COLOUR, 2))
        painter.drawRect(QRectF(left + column * cw, top + row * ch, cw, ch))


def cell_panel(title: str, placeholder: str) -> ImagePanel:
    """An ImagePanel whose canvas outlines the selected code's cell."""
    panel = ImagePanel(title, placeholder, minimum=90)
    canvas = CellCanvas(90)
    canvas.set_placeholder(placeholder)
    panel.layout().replaceWidget(panel.canvas, canvas)
    panel.canvas.deleteLater()
    panel.canvas = canvas
    return panel


class CodesPanel(QWidget):
    """See the module docstring; set_session() and choose_image() drive it."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = None
        self.usage: np.ndarray | None = None
        self.original_codes: np.ndarray | None = None
        self.codes: np.ndarray | None = None
        self.image_index: int | None = None
        self.sample_seed = 0
        self.note = QLabel()
        self.note.setWordWrap(True)

        self.usage_plot = pg.PlotWidget(background=PLOT_BACKGROUND)
        self.usage_plot.setMinimumHeight(110)
        self.usage_plot.setMaximumHeight(150)
        self.usage_plot.setMouseEnabled(x=False, y=False)
        self.usage_plot.getPlotItem().setLabel("bottom", "code, most used first")
        self.usage_plot.getPlotItem().setLabel("left", "share, %")
        self.usage_plot.getPlotItem().getAxis("left").enableAutoSIPrefix(False)
        self.usage_label = QLabel()
        codebook_box = QGroupBox("Codebook usage")
        column = QVBoxLayout(codebook_box)
        column.addWidget(self.usage_plot)
        column.addWidget(self.usage_label)

        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setToolTip("The clicked image's codes. Select a cell, then change its code below.")
        self.table.verticalHeader().setMinimumSectionSize(18)
        self.table.setMinimumHeight(7 * 22 + 26)  # a 7x7 grid readable without scrolling
        self.table.currentCellChanged.connect(self._on_cell_selected)
        self.code_spin = QSpinBox(minimum=0, maximum=0)
        self.code_spin.setToolTip("The selected cell's code: each change decodes at once")
        self.code_spin.valueChanged.connect(self._on_code_edited)
        self.cell_label = QLabel(SELECT_TEXT)
        reset = QPushButton("Reset codes")
        reset.clicked.connect(self.reset_codes)
        self.original = cell_panel("Decoded codes", "Click a data point")
        self.edited = cell_panel("After your edits", "")
        for panel in (self.original, self.edited):
            panel.canvas.setToolTip("Outlined: the part of the image the selected code stands for")
        grid_box = QGroupBox("Codes of the clicked image")
        grid = QGridLayout(grid_box)
        grid.addWidget(self.table, 0, 0, 1, 3)
        grid.addWidget(self.cell_label, 1, 0)
        grid.addWidget(self.code_spin, 1, 1)
        grid.addWidget(reset, 1, 2)
        images = QHBoxLayout()
        images.addWidget(self.original)
        images.addWidget(self.edited)
        grid.addLayout(images, 2, 0, 1, 3)

        self.samples = ImagePanel("Uniformly random codes", "", minimum=150)
        self.samples.canvas.fit_height_to_width()
        resample = QPushButton("New random codes")
        resample.clicked.connect(self.resample)
        samples_box = QGroupBox("Samples without a prior")
        column = QVBoxLayout(samples_box)
        column.addWidget(self.samples)
        column.addWidget(resample)

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(self.note)
        layout.addWidget(codebook_box)
        layout.addWidget(grid_box, 1)
        layout.addWidget(samples_box)
        fill_with_scrolling(self, content)
        self.boxes = (codebook_box, grid_box, samples_box)
        self.set_session(None)

    # ----------------------------------------------------------------- state

    @property
    def applies(self) -> bool:
        return self.session is not None and self.session.model.has_codes

    @property
    def model(self):
        return self.session.model

    def set_session(self, session) -> None:
        self.session = session
        for box in self.boxes:
            box.setVisible(self.applies)
        if not self.applies:
            self.note.setText("This model has no discrete codes. Open the shipped VQ-VAE "
                              "(File ▸ Shipped models) to see a codebook at work.")
            return
        self.note.setText(f"Each image is a {self._grid_text()} grid of codes: indices into a codebook of "
                          f"{self.model.codebook_size} learned vectors, each code drawing its patch of the image.")
        self.code_spin.setMaximum(self.model.codebook_size - 1)
        self._show_usage()
        self.resample()
        index = self.image_index if self.image_index is not None and self.image_index < len(session.data) else 0
        self.choose_image(index)

    def _grid_text(self) -> str:
        h, w = self.model.code_grid_shape
        return f"{h}x{w}"

    def _show_usage(self) -> None:
        import torch

        # The session encoded these images already; their codes follow from those grids.
        latent = self.session.latent_mu[:USAGE_IMAGES]
        with torch.no_grad():
            codes = self.model.codes_of_latent(torch.from_numpy(latent))
            counts = self.model.codebook_usage(codes).cpu().numpy().astype(np.float64)
            perplexity = float(self.model.perplexity(codes))
        self.usage = counts
        share = 100.0 * np.sort(counts)[::-1] / max(counts.sum(), 1.0)
        plot = self.usage_plot.getPlotItem()
        plot.clear()
        plot.addItem(pg.BarGraphItem(x=np.arange(len(share)), height=share, width=0.9,
                                     brush=pg.mkBrush(90, 160, 230)))
        used = int((counts > 0).sum())
        self.usage_label.setText(
            f"Perplexity {perplexity:.1f} of {len(counts)} · {used} of {len(counts)} codes used "
            f"({len(latent):,} {self.session.data.split} images)")

    # ------------------------------------------------------------ the grid

    def choose_image(self, index: int) -> None:
        """Show the code grid of data point index (the map's clicked point)."""
        if not self.applies or not 0 <= index < len(self.session.data):
            return
        import torch

        self.image_index = index
        with torch.no_grad():
            codes = self.model.codes(self.session.data.images[index : index + 1])[0].cpu().numpy()
        self.original_codes = codes.copy()
        self.codes = codes.copy()
        h, w = codes.shape
        self.table.setRowCount(h)
        self.table.setColumnCount(w)
        self._fill_table()
        self.table.setCurrentCell(-1, -1)  # a new image: no cell chosen yet
        self.cell_label.setText(SELECT_TEXT)
        self.code_spin.setEnabled(False)
        for panel in (self.original, self.edited):
            panel.canvas.set_cell(None)
        self.original.set_image(self._decode(self.original_codes), f"data point #{index}")
        self._show_edited()

    def _fill_table(self) -> None:
        count = max(self.model.codebook_size, 1)
        for r, row in enumerate(self.codes):
            for c, code in enumerate(row):
                item = QTableWidgetItem(str(int(code)))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                colour = QColor.fromHsvF((int(code) / count * 0.83) % 1.0, 0.45, 0.55)
                item.setBackground(colour)
                if code != self.original_codes[r, c]:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                    item.setForeground(QColor(255, 230, 80))
                self.table.setItem(r, c, item)

    def _decode(self, codes: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.model.decode_codes(torch.as_tensor(codes[None], dtype=torch.int64))[0].cpu().numpy()

    def _show_edited(self) -> None:
        changed = int((self.codes != self.original_codes).sum())
        self.edited.set_image(self._decode(self.codes), f"{changed} code(s) changed")

    def set_code(self, row: int, column: int, code: int) -> None:
        """Change one code of the grid and decode at once."""
        if self.codes is None:
            return
        if not 0 <= code < self.model.codebook_size:
            raise ValueError(f"codes run from 0 to {self.model.codebook_size - 1}")
        self.codes[row, column] = code
        self._fill_table()
        self._show_edited()

    def reset_codes(self) -> None:
        if self.original_codes is not None:
            self.codes = self.original_codes.copy()
            self._fill_table()
            self._show_edited()

    def _on_cell_selected(self, row: int, column: int, *_previous) -> None:
        if self.codes is None or row < 0 or column < 0:
            return
        self.cell_label.setText(f"Code at row {row + 1}, column {column + 1}")
        self.code_spin.setEnabled(True)
        for panel in (self.original, self.edited):
            panel.canvas.set_cell((row, column, *self.codes.shape))
        self.code_spin.blockSignals(True)
        self.code_spin.setValue(int(self.codes[row, column]))
        self.code_spin.blockSignals(False)

    def _on_code_edited(self, code: int) -> None:
        row, column = self.table.currentRow(), self.table.currentColumn()
        if self.codes is not None and row >= 0 and column >= 0:
            self.set_code(row, column, code)
            self.table.setCurrentCell(row, column)

    # ------------------------------------------------------------- samples

    def resample(self) -> None:
        if not self.applies:
            return
        import torch

        generator = torch.Generator().manual_seed(self.sample_seed)
        self.sample_seed += 1
        with torch.no_grad():
            codes = self.model.random_codes(SAMPLE_SIDE * SAMPLE_SIDE, generator)
            images = self.model.decode_codes(codes).cpu().numpy()
        self.samples.set_image(
            latent.tile_images(images, SAMPLE_SIDE, SAMPLE_SIDE, padding=SAMPLE_GAP, fill=GAP_GREY),
            "Every code drawn uniformly and independently: the pieces are strokes, but nothing makes "
            "them agree. A prior over code grids (a PixelCNN, say) is what makes samples look like data.")
