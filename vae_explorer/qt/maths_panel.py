"""The maths beside the picture: one pass of the model through the current digit, with its numbers.

The panel asks the model for its walkthrough of the digit (core/walkthrough.py,
ExplorableModel.walkthrough) and shows it top to bottom: each step's formula,
the same formula with the numbers put in, the input, the decoded image, the
cost of each pixel as a heat map, the loss terms and their total in nats.
Every kind says what its own steps and terms are, so the panel shows a VAE's
KL, an autoencoder's lone reconstruction and a VQ-VAE's codebook terms alike.

"Draw ε again" (Ctrl+R) draws new noise and shows z move; the same noise is
kept while the digit changes, so a digit being drawn moves z only through μ
and σ. A pass takes about a millisecond for the shipped models, so it runs on
the GUI thread, as the mouse moves.

Hovering a row reports what it is about through `highlight`: "posterior" (the
encoder's μ and σ: the ellipse), "z" (the point), "kl" (the KL term: the
ellipse again), "reconstruction", "decode", the kind's own terms ("codebook",
"adversarial", ...), "total", and "" when the mouse leaves.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from vae_explorer.core.walkthrough import Walkthrough, num
from vae_explorer.qt.maths_pictures import HeatMap, LitCanvas, MathsRow
from vae_explorer.qt.scrolling import fill_with_scrolling

REDRAW_SHORTCUT = "Ctrl+R"
WAITING_TEXT = ("Click a digit on the map, draw one, or impute one, to follow it through the model: "
                "encoder, sample, decoder and loss, with the numbers.")
NO_MODEL_TEXT = "No model is loaded."


class MathsPanel(QWidget):
    """Shows model.walkthrough(digit); feed it set_model(model, beta) and show_digit(image, label, title)."""

    zChanged = Signal(object)  # the full z (d,) after every pass; None when cleared
    highlight = Signal(str)  # the key of the hovered step or term; "" when none

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = None
        self.beta = 1.0
        self.walkthrough: Walkthrough | None = None
        self.compute_ms = 0.0  # how long the last pass took, model and numbers, not the drawing
        self.rows: list[MathsRow] = []
        self.input_canvas: LitCanvas | None = None
        self.decoded_canvas: LitCanvas | None = None
        self.heat_map: HeatMap | None = None
        self.lit_key = ""
        self._image: np.ndarray | None = None
        self._label: int | None = None
        self._seeds = np.random.default_rng()
        self._seed = int(self._seeds.integers(2**62))
        self._structure: tuple | None = None

        content = QWidget()
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.model_line = QLabel()
        self.model_line.setWordWrap(True)
        self.model_line.setObjectName("hint")
        self.message = QLabel(NO_MODEL_TEXT)
        self.message.setWordWrap(True)
        self.loss_heading = QLabel("<b>Loss for this digit</b> (nats)")
        self._layout = QVBoxLayout(content)
        self._layout.setContentsMargins(6, 6, 6, 6)
        self._layout.setSpacing(6)
        for widget in (self.heading, self.model_line, self.message):
            self._layout.addWidget(widget)
        self._layout.addStretch(1)
        self.scroll = fill_with_scrolling(self, content)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.draw_button = QPushButton("Draw ε again")
        self.draw_button.setToolTip(f"Draw new noise ε ~ N(0, I) and see z move ({REDRAW_SHORTCUT})")
        self.draw_button.clicked.connect(self.draw_again)
        self.redraw_shortcut = QShortcut(QKeySequence(REDRAW_SHORTCUT), self)
        self.redraw_shortcut.setContext(Qt.ShortcutContext.WindowShortcut)  # while drawing, too
        self.redraw_shortcut.activated.connect(self.draw_again)
        self._show_message(NO_MODEL_TEXT)

    # ------------------------------------------------------------ feeding

    def set_model(self, model, beta: float = 1.0) -> None:
        """A frozen CPU ExplorableModel (a conditional one bare or in WithClass), or None; beta weighs its KL."""
        self.model, self.beta = model, float(beta)
        if model is None:
            self.model_line.setText("")
            self._show_message(NO_MODEL_TEXT)
            return
        self._refresh()

    def show_digit(self, image, label: int | None = None, title: str = "") -> None:
        """Follow this digit, (H, W) or (H*W,) in [0, 1], through the model; label is its class, if known."""
        self._image = np.asarray(image, dtype=np.float32).copy()
        self._label = None if label is None else int(label)
        self.heading.setText(f"<b>{title}</b>" if title else "")
        self._refresh()

    def clear(self) -> None:
        """No digit: the rows go, a hint stays; the map marker should go too (zChanged(None))."""
        self._image, self._label = None, None
        self.heading.setText("")
        self._show_message(WAITING_TEXT if self.model is not None else NO_MODEL_TEXT)

    def draw_again(self) -> None:
        """New ε (and any other noise the model draws), same digit: z moves, the encoder's μ and σ do not."""
        if self.walkthrough is None or self.walkthrough.eps is None:
            return
        self._seed = int(self._seeds.integers(2**62))
        self._refresh()

    # ------------------------------------------------------------ computing

    def _refresh(self) -> None:
        if self.model is None:
            return
        if self._image is None:
            self._show_message(WAITING_TEXT)
            return
        if self.model.is_conditional and self._label is None:
            self._show_message("This model is conditional: it needs the digit's class, and this digit has none.")
            return
        labels = None if self._label is None or not self.model.is_conditional else torch.tensor([self._label])
        start = time.perf_counter()
        try:
            walk = self.model.walkthrough(self._image, beta=self.beta, labels=labels,
                                          generator=torch.Generator().manual_seed(self._seed))
        except (ValueError, NotImplementedError) as error:
            self._show_message(f"Cannot follow this digit through the model: {error}")
            return
        self.compute_ms = 1000 * (time.perf_counter() - start)
        self._show(walk)

    def _show_message(self, text: str) -> None:
        self.walkthrough = None
        self.message.setText(text)
        self.message.show()
        self._set_rows_visible(False)
        self._hover("")
        self.zChanged.emit(None)

    def _show(self, walk: Walkthrough) -> None:
        self.walkthrough = walk
        self.message.hide()
        structure = (walk.kind, walk.eps is None, tuple((s.key, len(s.pictures)) for s in walk.steps),
                     tuple(t.key for t in walk.terms))
        if structure != self._structure:
            self._build_rows(walk)
            self._structure = structure
        self._fill_rows(walk)
        self._set_rows_visible(True)
        self.zChanged.emit(walk.z.copy())

    # ------------------------------------------------------------ the rows

    def _build_rows(self, walk: Walkthrough) -> None:
        """Rows for this kind's steps and terms (kept while only the digit or the noise changes)."""
        self._hover("")
        self.draw_button.setParent(None)  # keep the one button across rebuilds
        self.loss_heading.setParent(None)
        for row in self.rows:
            row.setParent(None)
            row.deleteLater()
        self.rows, self.input_canvas, self.decoded_canvas, self.heat_map = [], None, None, None
        at = self._layout.count() - 1  # before the stretch
        for index, step in enumerate(walk.steps):
            row = self._new_row(step.key)
            if index == 0:
                self.input_canvas = row.add_picture(LitCanvas(), "x")
            if step.key == "decode":
                self.decoded_canvas = row.add_picture(LitCanvas(), "x̂")
            for caption, _ in step.pictures:
                row.add_picture(LitCanvas(), caption)
            if step.key == "z" and walk.eps is not None:
                row.add_below(self.draw_button)
            self._layout.insertWidget(at, row)
            at += 1
        self._layout.insertWidget(at, self.loss_heading)
        at += 1
        for term in (*walk.terms, None):
            row = self._new_row(term.key if term else "total")
            if term is not None and term.key == "reconstruction":
                self.heat_map = row.add_picture(HeatMap(), "nats per pixel")
            self._layout.insertWidget(at, row)
            at += 1

    def _new_row(self, key: str) -> MathsRow:
        row = MathsRow(key)
        row.hovered.connect(self._hover)
        self.rows.append(row)
        return row

    def _fill_rows(self, walk: Walkthrough) -> None:
        steps, terms, total = self.rows[:len(walk.steps)], self.rows[len(walk.steps):-1], self.rows[-1]
        for index, (row, step) in enumerate(zip(steps, walk.steps)):
            row.set_texts(f"{index + 1} · {step.title}", step.formula, step.worked)
            extra = [p for p in row.pictures if p not in (self.input_canvas, self.decoded_canvas)]
            for picture, (_, array) in zip(extra, step.pictures):
                picture.set_array(array)
        self.input_canvas.set_array(walk.image)
        if self.decoded_canvas is not None:
            self.decoded_canvas.set_array(walk.decoded)
        if self.heat_map is not None:
            self.heat_map.set_nats(walk.pixel_nats)
        for row, term in zip(terms, walk.terms):
            weight = f", weighted by {term.weight_symbol} = {term.weight:g}" if term.weight_symbol else ""
            row.set_texts(f"{term.label[0].upper()}{term.label[1:]}: {num(term.value, 2)} nats{weight}",
                          term.formula, term.worked)
        total.set_texts("Total", walk.total_formula(), walk.total_worked()
                        + " per image: the figure the training curves average over images")
        self.model_line.setText(self._model_text(walk))

    def _model_text(self, walk: Walkthrough) -> str:
        beta = f"β = {self.beta:g}" if walk.beta is not None else "β does not apply (no KL term)"
        return f"{self.model.describe()} · {beta}"

    def _set_rows_visible(self, visible: bool) -> None:
        for row in self.rows:
            row.setVisible(visible)
        self.loss_heading.setVisible(visible and bool(self.rows))

    def _hover(self, key: str) -> None:
        """Light the hovered row and its pictures, and tell the window what to point at."""
        if key == self.lit_key:
            return
        self.lit_key = key
        for row in self.rows:
            row.set_lit(bool(key) and row.key == key)
        self.highlight.emit(key)
