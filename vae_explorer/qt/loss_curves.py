"""Live loss curves: the loss and its named terms, per epoch for train and test.

The curves follow the kind being trained: one small plot per term of its
term_labels, in that order (the terms' scales differ by orders of magnitude,
so they never share an axis). Per-epoch points are drawn as markers joined by
lines; a light, thin curve shows the running training loss between epochs so
something moves before the first epoch ends.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from vae_explorer.core.training.trainer import EpochStats
from vae_explorer.qt.theme import PLOT_BACKGROUND, PLOT_TEXT, style_fixed_plot

DEFAULT_TERMS = {"loss": "loss"}  # until a kind's term_labels arrive
TOOLTIP_TAIL = (
    "Markers: averages per epoch (train) and the test split after each epoch;\n"
    "thin line: the running training loss."
)
KINDS = ("train", "test", "running")
TRAIN_COLOUR = "#4292da"
TEST_COLOUR = "#ff7f0e"
RUNNING_COLOUR = (66, 146, 218, 110)
# Running points before this share of the run are left out of the y range: the
# first batches' loss is several times the final one and would flatten the rest.
IGNORE_EARLY_SHARE = 0.2
# Pixels: the heading and legend rows with the last plot's epoch axis, each term's plot, its title.
HEADER_HEIGHT = 90
PLOT_HEIGHT = 85
TITLE_HEIGHT = 16
# Running points arrive up to 20 times a second; redrawing the plots that often
# costs the GUI thread more than the eye gains, so they are redrawn at most this often.
RUNNING_REDRAW_MS = 250
MAX_EPOCH_LINES = 20
EPOCH_LINE_COLOUR = "#34363d"


def curves_tooltip(terms: dict[str, str]) -> str:
    labels = list(terms.values())
    lines = ["Losses per image, in nats (lower is better).",
             f"{labels[0]}: what training minimises."]
    if len(labels) > 1:
        lines.append(f"Below it, the terms it is made of or reported with: {', '.join(labels[1:])}.")
    return "\n".join(lines + [TOOLTIP_TAIL])


class LossCurves(QWidget):
    """One plot per loss term, stacked and sharing an epoch axis; feed it add_running / add_epoch."""

    def __init__(self, terms: dict[str, str] | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self._epochs = 1
        self._epoch_lines: dict[str, list[pg.InfiniteLine]] = {}
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(RUNNING_REDRAW_MS)
        self._redraw_timer.timeout.connect(self._refresh)
        self._x: dict[tuple[str, str], list[float]] = {}
        self._y: dict[tuple[str, str], list[float]] = {}
        self._items: dict[tuple[str, str], pg.PlotDataItem] = {}
        self.plots: dict[str, pg.PlotItem] = {}
        self.terms: dict[str, str] = {}  # term name -> axis label, in plot order

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(PLOT_BACKGROUND)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics)

        # Heading and legend get their own rows above the plots so they never cover a curve.
        self.heading = pg.LabelItem("Losses per image, in nats (lower is better)", color=PLOT_TEXT, size="9pt")
        self.graphics.addItem(self.heading, row=0, col=0)
        self.legend = pg.LegendItem(colCount=3, labelTextColor=PLOT_TEXT, labelTextSize="9pt")
        self.graphics.addItem(self.legend, row=1, col=0)
        self.set_terms(terms or DEFAULT_TERMS)

    def minimum_plot_height(self) -> int:
        return HEADER_HEIGHT + PLOT_HEIGHT * len(self.terms)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        # Modest, so a scroll area sizes the panel to its dock rather than to the plots' wish.
        return QSize(400, self.minimum_plot_height())

    def set_terms(self, terms: dict[str, str]) -> None:
        """Plot these terms ({name: label}, a kind's term_labels; the first is the loss), clearing the curves."""
        terms = dict(terms)
        if not terms:
            raise ValueError("the curves need at least one term")
        if terms == self.terms:
            self.clear(self._epochs)
            return
        for plot in self.plots.values():
            self.graphics.removeItem(plot)
        self.legend.clear()
        self.plots, self._items, self._epoch_lines, self.terms = {}, {}, {}, terms
        self._x, self._y = {}, {}
        names = list(terms)
        for row, term in enumerate(names, start=2):
            plot = self.graphics.addPlot(row=row, col=0)
            self._style_plot(plot, terms[term], last=term == names[-1])
            self.plots[term] = plot
            self._add_series(plot, term)
            if term != names[0]:
                plot.setXLink(self.plots[names[0]])
        for kind, label in (("train", "train (epoch)"), ("test", "test (epoch)"),
                            ("running", "train (running)")):
            self.legend.addItem(self._items[names[0], kind], label)
        self.graphics.setMinimumHeight(self.minimum_plot_height())
        self.graphics.setToolTip(curves_tooltip(terms))
        self.updateGeometry()
        self.clear(self._epochs)

    @staticmethod
    def _style_plot(plot: pg.PlotItem, label: str, last: bool) -> None:
        # The term's name above its plot: a rotated axis label longer than a short plot
        # is tall ("adversarial (decoder)") would run into its neighbours.
        plot.setTitle(label, color=PLOT_TEXT, size="8pt")
        plot.titleLabel.setMaximumHeight(TITLE_HEIGHT)
        plot.layout.setRowFixedHeight(0, TITLE_HEIGHT)
        if last:
            plot.setLabel("bottom", "epoch", color=PLOT_TEXT)
        else:  # the x axes are linked: the last plot's epoch numbers serve them all
            plot.getAxis("bottom").setStyle(showValues=False)
        style_fixed_plot(plot)  # live and auto-ranged: no zooming by hand

    def _add_series(self, plot: pg.PlotItem, term: str) -> None:
        running = plot.plot(pen=pg.mkPen(RUNNING_COLOUR, width=1))
        running.setClipToView(True)
        running.setDownsampling(auto=True, method="peak")
        train = plot.plot(
            pen=pg.mkPen(TRAIN_COLOUR, width=2), symbol="o", symbolSize=6,
            symbolBrush=TRAIN_COLOUR, symbolPen=None,
        )
        test = plot.plot(
            pen=pg.mkPen(TEST_COLOUR, width=2), symbol="s", symbolSize=6,
            symbolBrush=TEST_COLOUR, symbolPen=None,
        )
        for kind, item in (("running", running), ("train", train), ("test", test)):
            self._items[term, kind] = item

    # -- feeding -------------------------------------------------------------

    def clear(self, epochs: int = 1, terms: dict[str, str] | None = None) -> None:
        """Forget all points; the x axis spans the run's epochs. With terms, plot those from now on."""
        if terms is not None and dict(terms) != self.terms:
            self._epochs = max(int(epochs), 1)
            self.set_terms(terms)  # which clears
            return
        self._epochs = max(int(epochs), 1)
        self._redraw_timer.stop()
        self._draw_epoch_lines()
        for term in self.terms:
            for kind in KINDS:
                self._x[term, kind] = []
                self._y[term, kind] = []
                self._items[term, kind].setData([], [])
            self.plots[term].setXRange(0, self._epochs, padding=0.02)
            self.plots[term].enableAutoRange(axis="y", enable=False)

    def has_points(self) -> bool:
        return any(self._x.get((term, kind)) for term in self.terms for kind in KINDS)

    def _draw_epoch_lines(self) -> None:
        # Light vertical lines at epoch boundaries instead of pyqtgraph's grid, which
        # takes two thirds of each repaint (measured: 9 ms against 3.5 ms).
        step = max(1, math.ceil(self._epochs / MAX_EPOCH_LINES))
        for term, plot in self.plots.items():
            for line in self._epoch_lines.get(term, []):
                plot.removeItem(line)
            self._epoch_lines[term] = []
            for epoch in range(step, self._epochs + 1, step):
                line = pg.InfiniteLine(pos=epoch, angle=90, pen=pg.mkPen(EPOCH_LINE_COLOUR), movable=False)
                line.setZValue(-10)
                plot.addItem(line, ignoreBounds=True)
                self._epoch_lines[term].append(line)

    def add_running(self, position: float, terms: dict[str, float]) -> None:
        """Running training terms at `position` epochs (fractional); drawn within 250 ms."""
        for term in self.terms:
            if term in terms:
                self._append(term, "running", position, terms[term])
        if not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def add_epoch(self, stats: EpochStats) -> None:
        for kind, terms in (("train", stats.train), ("test", stats.test or {})):
            for term in self.terms:
                if term in terms:
                    self._append(term, kind, stats.epoch, terms[term])
        self._refresh()

    def series(self, term: str, kind: str) -> tuple[np.ndarray, np.ndarray]:
        """The plotted x and y of one curve, as the plot item holds them."""
        if self._redraw_timer.isActive():  # draw what is pending first
            self._refresh()
        x, y = self._items[term, kind].getData()
        if x is None:
            return np.empty(0), np.empty(0)
        return np.asarray(x), np.asarray(y)

    # -- drawing -------------------------------------------------------------

    def _append(self, term: str, kind: str, x: float, y: float) -> None:
        if np.isfinite(y):
            self._x[term, kind].append(float(x))
            self._y[term, kind].append(float(y))

    def _refresh(self) -> None:
        self._redraw_timer.stop()
        for term in self.terms:
            for kind in KINDS:
                self._items[term, kind].setData(self._x[term, kind], self._y[term, kind])
            self._fit_y(term)
        latest = max((self._x[term, kind][-1] for term in self.terms for kind in KINDS if self._x[term, kind]),
                     default=0.0)
        if latest > self._epochs:
            self.plots[next(iter(self.terms))].setXRange(0, latest, padding=0.02)

    def _fit_y(self, term: str) -> None:
        values = list(self._y[term, "train"]) + list(self._y[term, "test"])
        xs, ys = self._x[term, "running"], self._y[term, "running"]
        if xs:
            cutoff = IGNORE_EARLY_SHARE * xs[-1]
            recent = [y for x, y in zip(xs, ys) if x >= cutoff]
            values += recent or ys[-1:]
        if not values:
            return
        low, high = min(values), max(values)
        pad = max((high - low) * 0.08, abs(high) * 0.01, 1e-3)
        self.plots[term].setYRange(low - pad, high + pad, padding=0)
