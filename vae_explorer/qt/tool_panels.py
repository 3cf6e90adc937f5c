"""The explorer's own tool tabs: manifold, interpolation and prior samples.

Each panel holds the latent points it decodes, and re-decodes them with
whatever decoder it is given, so a new model (or a training epoch) refreshes
them without changing what the user asked for.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from vae_explorer.core import latent
from vae_explorer.qt.image_views import ImageCanvas

Decoder = Callable[[np.ndarray], np.ndarray]


def _format_z(z: np.ndarray | None) -> str:
    if z is None:
        return "not set"
    return "(" + ", ".join(f"{v:+.2f}" for v in np.asarray(z).reshape(-1)) + ")"


class ManifoldPanel(QWidget):
    """The classic manifold: decodes on a grid spaced by the inverse Gaussian CDF."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.decoder: Decoder | None = None
        self.points = np.zeros((0, 2), np.float32)
        self.size_spin = QSpinBox(minimum=2, maximum=40, value=15)
        self.size_spin.setToolTip("Images per row and column")
        self.tail_spin = QDoubleSpinBox(minimum=0.001, maximum=0.2, value=0.05, singleStep=0.01, decimals=3)
        self.tail_spin.setToolTip("Prior probability left out at each end: the grid spans the "
                                  "[tail, 1 - tail] quantiles of N(0, 1)")
        self.canvas = ImageCanvas(200)
        self.canvas.fit_height_to_width()
        self.canvas.setToolTip("Decoded images on an equal-probability grid: z = Φ⁻¹(p) for evenly spaced p")
        self.range_label = QLabel("")
        self.range_label.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Grid size", self.size_spin)
        form.addRow("Tail probability", self.tail_spin)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.canvas)
        layout.addWidget(self.range_label)
        layout.addStretch(1)
        self.size_spin.valueChanged.connect(self.refresh)
        self.tail_spin.valueChanged.connect(self.refresh)

    @property
    def array(self) -> np.ndarray | None:
        return self.canvas.array

    def set_decoder(self, decoder: Decoder | None) -> None:
        self.decoder = decoder
        self.refresh()

    def set_axis_names(self, first: str, second: str) -> None:
        """What the grid's two coordinates are on the map's plane (z₁ and z₂, PC₁ and PC₂, ...)."""
        self.axis_names = (first, second)
        self.refresh()

    axis_names = ("z₁", "z₂")

    def refresh(self) -> None:
        count = self.size_spin.value()
        self.points = latent.manifold_grid(count, self.tail_spin.value())
        if self.decoder is None:
            return
        self.canvas.set_array(latent.tile_images(self.decoder(self.points), count, count))
        edge = float(self.points[:, 0].max())
        first, second = self.axis_names
        self.range_label.setText(f"{count} × {count} decodes, {first} and {second} from {-edge:.2f} to "
                                 f"{edge:.2f} (equal prior mass between neighbours)")


class InterpolationPanel(QWidget):
    """Decodes along a linear or spherical path between two latent points A and B."""

    pathChanged = Signal(object)  # np.ndarray (steps, 2) or None when A or B is missing
    pickRequested = Signal(str)  # "A" or "B": use the pinned point

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.decoder: Decoder | None = None
        self.start: np.ndarray | None = None
        self.end: np.ndarray | None = None
        self.path: np.ndarray | None = None
        self.method_combo = QComboBox()
        self.method_combo.addItem("Linear", "linear")
        self.method_combo.addItem("Spherical (slerp)", "spherical")
        self.method_combo.setToolTip("Spherical interpolation keeps the norm of z typical for the prior")
        self.steps_spin = QSpinBox(minimum=2, maximum=30, value=10)
        self.steps_spin.setToolTip("Images in the strip, A and B included")
        self.a_label, self.b_label = QLabel(), QLabel()
        a_button = QPushButton("A ← pinned point")
        b_button = QPushButton("B ← pinned point")
        a_button.setToolTip("Use the point pinned on the map (click the map to pin) as the start")
        b_button.setToolTip("Use the point pinned on the map as the end")
        a_button.clicked.connect(lambda: self.pickRequested.emit("A"))
        b_button.clicked.connect(lambda: self.pickRequested.emit("B"))
        self.canvas = ImageCanvas(40)
        self.canvas.fit_height_to_width()
        self.canvas.setToolTip("Decoded images from A (left) to B (right)")
        hint = QLabel("Shift+click the map to set A, then B.")
        hint.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Path", self.method_combo)
        form.addRow("Steps", self.steps_spin)
        form.addRow("A", self.a_label)
        form.addRow("B", self.b_label)
        buttons = QHBoxLayout()
        buttons.addWidget(a_button)
        buttons.addWidget(b_button)
        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addSpacing(8)
        layout.addWidget(QLabel("A → B"))
        layout.addWidget(self.canvas)
        layout.addStretch(1)
        self.method_combo.currentIndexChanged.connect(self.refresh)
        self.steps_spin.valueChanged.connect(self.refresh)
        self._update_labels()

    @property
    def array(self) -> np.ndarray | None:
        return self.canvas.array

    @property
    def method(self) -> str:
        return self.method_combo.currentData()

    def set_decoder(self, decoder: Decoder | None) -> None:
        self.decoder = decoder
        self.refresh()

    def set_endpoint(self, which: str, z: np.ndarray | None) -> None:
        value = None if z is None else np.asarray(z, np.float32).reshape(-1)[:2].copy()
        if which == "A":
            self.start = value
        else:
            self.end = value
        self._update_labels()
        self.refresh()

    def next_endpoint(self) -> str:
        """Which end a Shift+click sets: A first, then B, then A again with B cleared."""
        if self.start is None or self.end is not None:
            return "A"
        return "B"

    def _update_labels(self) -> None:
        self.a_label.setText(_format_z(self.start))
        self.b_label.setText(_format_z(self.end))

    def refresh(self) -> None:
        if self.start is None or self.end is None:
            self.path = None
            self.canvas.set_array(None)
            self.canvas.set_placeholder("Shift+click two points on the map")
            self.pathChanged.emit(None)
            return
        self.path = latent.interpolation_path(self.start, self.end, self.steps_spin.value(), self.method)
        if self.decoder is not None:
            self.canvas.set_array(latent.tile_images(self.decoder(self.path), 1, len(self.path), padding=2))
        self.pathChanged.emit(self.path)


class SamplingPanel(QWidget):
    """A grid of decodes of z drawn from the prior N(0, I)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.decoder: Decoder | None = None
        self.latent_dim = 2
        self.z = np.zeros((0, 2), np.float32)
        self.size_spin = QSpinBox(minimum=1, maximum=20, value=8)
        self.size_spin.setToolTip("Samples per row and column")
        self.seed_spin = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.seed_spin.setToolTip("Same seed, same samples")
        resample = QPushButton("New samples")
        resample.setToolTip("Draw fresh z ~ N(0, I) (advances the seed)")
        resample.clicked.connect(lambda: self.seed_spin.setValue(self.seed_spin.value() + 1))
        self.canvas = ImageCanvas(200)
        self.canvas.fit_height_to_width()
        self.canvas.setToolTip("Decoded means for z drawn from the prior")
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setVisible(False)
        form = QFormLayout()
        form.addRow("Grid size", self.size_spin)
        form.addRow("Seed", self.seed_spin)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(resample)
        layout.addWidget(self.note)
        layout.addWidget(self.canvas)
        layout.addStretch(1)
        self.size_spin.valueChanged.connect(self.resample)
        self.seed_spin.valueChanged.connect(self.resample)

    @property
    def array(self) -> np.ndarray | None:
        return self.canvas.array

    def set_decoder(self, decoder: Decoder | None, latent_dim: int = 2) -> None:
        self.decoder = decoder
        if latent_dim != self.latent_dim:
            self.latent_dim = latent_dim
            self.resample()
        else:
            self.refresh()

    def set_note(self, text: str) -> None:
        """A line above the samples, e.g. why N(0, I) is the wrong place to sample this model from."""
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def resample(self) -> None:
        count = self.size_spin.value()
        self.z = latent.prior_samples(count * count, self.latent_dim, self.seed_spin.value())
        self.refresh()

    def refresh(self) -> None:
        count = self.size_spin.value()
        if self.z.shape != (count * count, self.latent_dim):
            self.z = latent.prior_samples(count * count, self.latent_dim, self.seed_spin.value())
        if self.decoder is not None:
            self.canvas.set_array(latent.tile_images(self.decoder(self.z), count, count, padding=1))
