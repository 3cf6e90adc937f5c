"""A bar chart of the KL per latent dimension: which dimensions the model actually uses.

A VAE often leaves some dimensions at the prior for every image ("inactive",
or collapsed): their KL is near zero and the decoder ignores them. The bars
are sorted, largest KL first, so the used dimensions gather on the left; the
active ones are drawn in colour, the rest as grey outlines, and the heading counts them.

Reusable: set_kl(values) takes KL per dimension in nats from anywhere (the
training panel after each epoch; a loaded model's encoded data), and
set_posterior(mean, logvar) computes it from a Gaussian posterior's codes.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from vae_explorer.core.latent import kl_per_dimension
from vae_explorer.qt.theme import PLOT_BACKGROUND, PLOT_TEXT, style_fixed_plot

# Below this mean KL (nats) a dimension carries next to no information about the image.
ACTIVE_NATS = 0.01
ACTIVE_COLOUR = "#4292da"
INACTIVE_COLOUR = "#5a5c64"
PLOT_HEIGHT = 170  # pixels: a summary, so it stays this height and the loss curves take the rest
STUB_SHARE = 0.04  # height of an inactive dimension's outline, as a share of the axis
MAX_TICK_LABELS = 24  # more dimensions than this: no number under each bar
WAITING_TEXT = "KL per latent dimension: shown after the first epoch."
TOOLTIP = (
    "Mean KL(q(z_j|x) ‖ N(0, 1)) of each latent dimension j over the shown images, in nats.\n"
    f"Active (coloured): more than {ACTIVE_NATS:g} nats. Inactive (grey outline): the posterior is the\n"
    "prior for every image, so the decoder cannot use the dimension (posterior collapse).\n"
    "Bars are sorted, largest first; the numbers under them are the dimensions (z1 = first)."
)


class KLBars(QWidget):
    """KL per latent dimension as sorted bars, active ones coloured; feed it set_kl(values)."""

    changed = Signal()  # new values, or none: views that mark the used dimensions follow

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._values = np.zeros(0)
        self.heading = QLabel(WAITING_TEXT)
        self.heading.setWordWrap(True)
        self.plot_widget = pg.PlotWidget(background=PLOT_BACKGROUND)
        self.plot_widget.setFixedHeight(PLOT_HEIGHT)
        self.plot_widget.setToolTip(TOOLTIP)
        self.heading.setToolTip(TOOLTIP)
        plot = self.plot = self.plot_widget.getPlotItem()
        style_fixed_plot(plot)  # a summary, not something to explore
        plot.getAxis("left").enableAutoSIPrefix(False)  # "(x0.001)" would not fit beside the axis
        plot.setLabel("left", "KL (nats)", color=PLOT_TEXT)
        plot.setLabel("bottom", "latent dimension, largest KL first", color=PLOT_TEXT)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, pen=None, brush=INACTIVE_COLOUR)
        # An inactive dimension's bar is too low to see, so an outlined stub marks its place.
        self.stubs = pg.BarGraphItem(x=[], height=[], width=0.8, pen=pg.mkPen(INACTIVE_COLOUR), brush=None)
        plot.addItem(self.stubs)
        plot.addItem(self.bars)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.plot_widget)

    # -- feeding -------------------------------------------------------------------

    def set_kl(self, values: np.ndarray) -> None:
        """Show KL per dimension, in nats, in the model's dimension order (the chart sorts)."""
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        self._values = values
        order = np.argsort(-values, kind="stable")  # largest first; ties keep dimension order
        heights = values[order]
        active = heights > ACTIVE_NATS
        brushes = [pg.mkBrush(ACTIVE_COLOUR if on else INACTIVE_COLOUR) for on in active]
        self.bars.setOpts(x=np.arange(len(values)), height=heights, brushes=brushes or None)
        top = float(heights.max()) if len(values) else 0.0
        span = max(top, ACTIVE_NATS) * 1.08
        inactive = np.flatnonzero(~active)
        self.stubs.setOpts(x=inactive, height=np.full(len(inactive), STUB_SHARE * span))
        ticks = [(i, str(dim + 1)) for i, dim in enumerate(order)] if len(values) <= MAX_TICK_LABELS else []
        self.plot.getAxis("bottom").setTicks([ticks])
        self.plot.setXRange(-0.6, max(len(values), 1) - 0.4, padding=0)
        self.plot.setYRange(0.0, span, padding=0)
        self.heading.setText(f"KL per latent dimension, sorted largest first: {self.active_count()} of "
                             f"{len(values)} active (over {ACTIVE_NATS:g} nats), "
                             f"{values.sum():.2f} nats in all")
        self.changed.emit()

    def set_posterior(self, mean: np.ndarray, logvar: np.ndarray) -> None:
        """Show the KL of a diagonal Gaussian posterior's codes (N, d), averaged over the images."""
        self.set_kl(kl_per_dimension(mean, logvar))

    def show_codes(self, mean: np.ndarray, logvar: np.ndarray | None) -> None:
        """Latent codes of shown images: their KL when they come from a posterior, else hidden."""
        if logvar is not None:
            self.set_posterior(mean, logvar)
        else:  # no posterior, no KL: the last model's values must not stand for this one's
            self.clear()
        self.setVisible(logvar is not None)

    def reset(self, visible: bool) -> None:
        """Empty, waiting for the first epoch of a run; shown only if the run will have a posterior."""
        self.clear()
        self.setVisible(visible)

    def clear(self, message: str = WAITING_TEXT) -> None:
        self._values = np.zeros(0)
        self.bars.setOpts(x=[], height=[], brushes=None)
        self.stubs.setOpts(x=[], height=[])
        self.plot.getAxis("bottom").setTicks([[]])
        self.heading.setText(message)
        self.changed.emit()

    # -- reading -------------------------------------------------------------------

    def values(self) -> np.ndarray:
        """The KL per dimension shown, in the model's dimension order."""
        return self._values.copy()

    def active_count(self) -> int:
        return int(np.count_nonzero(self._values > ACTIVE_NATS))
