"""The inference gaps of one digit, on the map and in nats (the Gaps tab).

For the clicked or drawn digit of a 2-D model, core.gaps computes the exact
posterior p(z|x) on its adaptive grid, then finds q*, the best Gaussian for
this image alone, by gradient ascent on its ELBO starting from the encoder's
q(z|x). The map shows p(z|x) as a heat map with the contours that hold 39% and
86% of its mass (what the 1σ and 2σ ellipses of a Gaussian hold), and q* as
orange ellipses moving from q to their optimum, beside the encoder's white
ones; the tab lists log p(x), ELBO(q*), ELBO(q) and the two gaps between them.

The work runs on a GeneratorThread (the exact posterior alone takes a few
hundred milliseconds); a new digit abandons the old run, whose thread is
joined when it ends or when the window closes.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import torch
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from vae_explorer.core.gaps import BestStep, ExactDone, Gaps, gaps_problem, gaps_steps
from vae_explorer.qt.demo_panels import heatmap_image
from vae_explorer.qt.gaps_drawing import (
    BEST_COLOUR, GapsInset, contour_items, density_image, mass_levels,
)
from vae_explorer.qt.generator_thread import LatestRun

KEY_EXACT, KEY_CONTOURS, KEY_BEST = "gaps-exact", "gaps-contours", "gaps-best"
STEPS, EVERY = 300, 10  # optimiser steps for q*, and how often the map is shown one
FRAME_MS = 40  # q*'s frames are played at this pace, so its path can be followed
FIGURES = (
    ("log_px", "log p(x)", "The exact log-likelihood of the digit: log ∫ p(x|z) p(z) dz summed on a fine grid "
     "where the posterior's mass lies"),
    ("elbo_best", "ELBO q*", "The ELBO of q*, the best Gaussian for this digit alone (mean-field inference)"),
    ("elbo_encoder", "ELBO q", "The ELBO of the encoder's q(z|x): one network for every digit (amortized)"),
    ("approximation", "approximation gap", "log p(x) − ELBO(q*): what no Gaussian can capture of p(z|x)"),
    ("amortization", "amortization gap", "ELBO(q*) − ELBO(q): what sharing one encoder across digits costs"),
)


def _plain(event):
    """What crosses to the GUI thread: numpy copies, never tensors the worker keeps."""
    if isinstance(event, ExactDone):
        exact = event.exact[0]
        return ("exact", np.exp(exact.log_density.numpy()), exact.extent, exact.log_px,
                event.encoder_mean[0].numpy().copy(), np.exp(0.5 * event.encoder_logvar[0].numpy()))
    if isinstance(event, BestStep):
        return ("step", event.step, event.steps, event.mean[0].numpy().copy(), np.exp(0.5 * event.logvar[0].numpy()))
    if isinstance(event, Gaps):
        return ("gaps", {"log_px": float(event.log_px[0]), "elbo_best": float(event.elbo_best[0]),
                         "elbo_encoder": float(event.elbo_encoder[0]),
                         "approximation": float(event.approximation[0]),
                         "amortization": float(event.amortization[0])})
    raise TypeError(f"unexpected gaps event {type(event).__name__}")


class GapsView(QWidget):
    figuresReady = Signal(object)  # dict of the five figures in nats

    def __init__(self, latent_view, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = latent_view
        self.model = None
        self.image: np.ndarray | None = None
        self.figures: dict[str, float] | None = None
        self.best: tuple[np.ndarray, np.ndarray] | None = None  # q*'s mean and sd as last drawn
        self.extent = None
        self._overlays: dict[str, list] = {}
        self._frames: deque = deque()
        self.runs = LatestRun(self._on_item, self._on_crashed, name="vae-gaps", parent=self)
        self._pending = False
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self._play_frame)
        self._build()

    def _build(self) -> None:
        self.title = QLabel("Click a digit on the map, or draw one")
        self.title.setWordWrap(True)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        grid = QGridLayout()
        self.values: dict[str, QLabel] = {}
        for row, (key, name, tip) in enumerate(FIGURES):
            label, value = QLabel(name), QLabel("–")
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            for widget in (label, value):
                widget.setToolTip(tip)
            grid.addWidget(label, row, 0)
            grid.addWidget(value, row, 1)
            grid.addWidget(QLabel("nats"), row, 2)
            self.values[key] = value
        self.inset = GapsInset()
        self.zoom_button = QPushButton("Zoom the map onto it too")
        self.zoom_button.setToolTip("Fill the main map with this digit's posterior (R fits the data again)")
        self.zoom_button.clicked.connect(self.zoom)
        self.zoom_button.setEnabled(False)
        legend = QLabel("Above, zoomed (and on the map): <b>white</b> ellipses q(z|x), the encoder's posterior (1σ solid, 2σ "
                        "dashed); <b style='color:#ff9628'>orange</b> ellipses q*(z), the best Gaussian for this "
                        "digit, found step by step from q; the heat map and <b style='color:#78e6ff'>blue</b> "
                        "contours are the exact p(z|x), holding 39% and 86% of its mass. log p(x) ≥ ELBO(q*) ≥ "
                        "ELBO(q): the gaps are how much each step down loses.")
        legend.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.inset, 1)
        layout.addLayout(grid)
        layout.addWidget(self.status)
        layout.addWidget(self.zoom_button)
        layout.addWidget(legend)

    # ----- public API ------------------------------------------------------------------------

    def set_model(self, model) -> None:
        """A frozen CPU model; its gaps are computed for the next digit shown."""
        self.model = model
        self.clear()
        problem = None if model is None else gaps_problem(model)
        self.title.setText(f"No gaps for this model: {problem}." if problem is not None
                           else "Click a digit on the map, or draw one")

    def show_image(self, image: np.ndarray, title: str) -> None:
        """Compute and draw the gaps of image (H, W) or (H*W,) in [0, 1], now or when the tab is shown."""
        if self.model is None or gaps_problem(self.model) is not None:
            return
        self.image = np.asarray(image, np.float32).reshape(-1).copy()
        self.title.setText(title)
        self._pending = True
        if self.isVisible():
            self._start()

    def clear(self) -> None:
        self._abandon()
        self.image, self.figures, self.best, self.extent = None, None, None, None
        for value in self.values.values():
            value.setText("–")
        self.status.setText("")
        self.zoom_button.setEnabled(False)
        self.inset.clear()
        self._remove_overlays()

    def zoom(self) -> None:
        if self.extent is not None:
            xmin, xmax, ymin, ymax = self.extent
            self.view.view_box.setRange(xRange=(xmin, xmax), yRange=(ymin, ymax), padding=0.1)

    def shutdown(self) -> None:
        self.timer.stop()
        self._abandon()
        self.runs.shutdown()

    # ----- the run ---------------------------------------------------------------------------

    def _start(self) -> None:
        self._abandon()
        self._pending = False
        self._remove_overlays()
        self.inset.clear()
        for value in self.values.values():
            value.setText("…")
        self.status.setText("Summing the exact posterior on its grid…")
        model, image = self.model, torch.as_tensor(self.image)[None]

        def events(stop):
            stream = gaps_steps(model, image, STEPS, every=EVERY)
            try:
                for event in stream:
                    if stop.is_set():
                        return
                    yield _plain(event)
            finally:
                stream.close()  # restores the model's flags even when abandoned midway

        self.runs.start(events)

    def _abandon(self) -> None:
        self.runs.abandon()
        self._frames.clear()
        self.timer.stop()

    def _on_crashed(self, message: str) -> None:
        self.status.setText(f"Could not compute the gaps: {message}")

    def _on_item(self, item) -> None:
        kind = item[0]
        if kind == "exact":
            _, density, extent, log_px, mean, sigma = item
            self._draw_exact(density, extent)
            self.values["log_px"].setText(f"{log_px:.2f}")
            self.inset.show_encoder(mean, sigma)
            self.inset.zoom(extent, mean, sigma)
            self.best = (mean, sigma)
            self._draw_best()
            self.status.setText("Finding q*, the best Gaussian for this digit…")
        else:
            self._frames.append(item)
            if not self.timer.isActive():
                self.timer.start()

    def _play_frame(self) -> None:
        if not self._frames:
            self.timer.stop()
            return
        item = self._frames.popleft()
        if item[0] == "step":
            _, step, steps, mean, sigma = item
            self.best = (mean, sigma)
            self._draw_best()
            self.status.setText(f"Finding q*: step {step} of {steps}")
        else:
            self._show_figures(item[1])

    def _show_figures(self, figures: dict[str, float]) -> None:
        self.figures = figures
        for key, value in figures.items():
            self.values[key].setText(f"{value:.2f}")
        self.status.setText("Done. log p(x) from the exact grid; both ELBOs from the same 512 noise draws, so "
                            "their difference is not noise.")
        self.figuresReady.emit(dict(figures))

    # ----- the map ---------------------------------------------------------------------------

    def _draw_exact(self, density: np.ndarray, extent) -> None:
        self.extent = extent
        self.zoom_button.setEnabled(True)
        levels, image = mass_levels(density), heatmap_image(density)
        self._show(KEY_EXACT, [density_image(image, extent)], -4)
        self._show(KEY_CONTOURS, contour_items(density, extent, levels), 25)
        self.inset.show_exact(image, density, extent, levels)

    def _draw_best(self) -> None:
        mean, sigma = self.best
        self.view.show_posterior(KEY_BEST, mean, sigma, colour=BEST_COLOUR)
        self._overlays[KEY_BEST] = self.view.overlay_items(KEY_BEST)
        self.inset.show_best(mean, sigma)

    def _show(self, key: str, items: list, z_value: float) -> None:
        self.view.show_items(key, items, z_value)
        self._overlays[key] = items

    def _remove_overlays(self) -> None:
        for key in (KEY_EXACT, KEY_CONTOURS, KEY_BEST):
            self.view.clear_overlay(key)
        self._overlays.clear()

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt override
        # Another tab's overlays get the map; these come back with the tab.
        super().hideEvent(event)
        for key in (KEY_EXACT, KEY_CONTOURS, KEY_BEST):
            self.view.clear_overlay(key)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._pending and self.image is not None:
            self._start()
            return
        for key, items in list(self._overlays.items()):
            self.view.show_items(key, items, items[0].zValue() if items else 0)
