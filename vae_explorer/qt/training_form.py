"""The training form: the fields that describe a run, and the configs they make.

Kept apart from the panel, which runs what the form describes. Reading the
form turns bad input into a ValueError whose message the panel shows inline.
"""

from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from vae_explorer.core.config import ConfigError, TrainConfig, parse_hidden_sizes
from vae_explorer.core.devices import available_devices
from vae_explorer.core.models import registry
from vae_explorer.core.training.threads import DEFAULT_CPU_THREADS

# The kind the form builds; the family of kinds arrives with their own fields.
FORM_KIND = "mlp_vae"
DEVICE_LABELS = {"auto": "auto", "cpu": "CPU", "cuda": "CUDA", "mps": "MPS"}


def parse_learning_rate(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ValueError("Learning rate: enter a positive number, for example 1e-3 or 0.001.")
    return value



class TrainingForm(QWidget):
    """Model and run settings in two boxes; model_config() and train_config() read them."""

    FIELDS = ("latent_spin", "hidden_edit", "likelihood_combo", "beta_spin", "epochs_spin", "batch_spin",
              "lr_edit", "seed_spin", "device_combo", "threads_spin")

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.latent_spin = QSpinBox(minimum=1, maximum=256, value=2)
        self.latent_spin.setToolTip(
            "Dimensions of z. The map draws 2-D spaces directly; with more, it shows the first two."
        )
        self.hidden_edit = QLineEdit("512, 256")
        self.hidden_edit.setToolTip(
            "Widths of the encoder's hidden layers, comma-separated; the decoder mirrors them."
        )
        self.likelihood_combo = QComboBox()
        self.likelihood_combo.addItem("Bernoulli (cross-entropy)", "bernoulli")
        self.likelihood_combo.addItem("Gaussian (squared error)", "gaussian")
        self.likelihood_combo.setToolTip("p(x|z): how the decoder's output is scored against the image.")
        self.beta_spin = QDoubleSpinBox(minimum=0.0, maximum=100.0, decimals=2, singleStep=0.1, value=1.0)
        self.beta_spin.setToolTip("Weight of the KL term: 1 is the ordinary VAE, other values a β-VAE.")

        self.epochs_spin = QSpinBox(minimum=1, maximum=1000, value=10)
        self.epochs_spin.setToolTip("Passes over the training split.")
        self.batch_spin = QSpinBox(minimum=1, maximum=60000, value=128)
        self.batch_spin.setToolTip("Images per optimizer step.")
        self.lr_edit = QLineEdit("1e-3")
        self.lr_edit.setToolTip("Adam step size, for example 1e-3 or 0.0005.")
        self.seed_spin = QSpinBox(minimum=0, maximum=999_999, value=0)
        self.seed_spin.setToolTip("Seeds the initial weights, the shuffling and the sampling noise.")
        self.device_combo = QComboBox()
        available = set(available_devices())
        for name, label in DEVICE_LABELS.items():
            self.device_combo.addItem(label, name)
            if name != "auto" and name not in available:
                index = self.device_combo.count() - 1
                self.device_combo.model().item(index).setEnabled(False)
                self.device_combo.setItemData(index, f"{label} is not available on this machine",
                                              Qt.ItemDataRole.ToolTipRole)
        self.device_combo.setToolTip("Where to train: auto picks a CUDA or Apple MPS GPU when there is one, "
                                     "else the CPU. Devices this machine lacks are greyed out.")
        self.threads_spin = QSpinBox(minimum=0, maximum=max(os.cpu_count() or 1, 1), value=0)
        self.threads_spin.setSpecialValueText(f"default ({DEFAULT_CPU_THREADS})")
        self.threads_spin.setToolTip(
            f"CPU threads for training. The default, {DEFAULT_CPU_THREADS}, is fastest on a busy "
            "machine and keeps the window responsive; more help only on an idle one."
        )

        # Two label/field pairs per row keep the form short, leaving height for the curves.
        model_grid = QGridLayout()
        self._add_pair(model_grid, 0, 0, "Latent size", self.latent_spin)
        self._add_pair(model_grid, 0, 1, "β (KL weight)", self.beta_spin)
        self._add_pair(model_grid, 1, 0, "Hidden layers", self.hidden_edit, span=3)
        self._add_pair(model_grid, 2, 0, "Likelihood", self.likelihood_combo, span=3)
        run_grid = QGridLayout()
        self._add_pair(run_grid, 0, 0, "Epochs", self.epochs_spin)
        self._add_pair(run_grid, 0, 1, "Batch size", self.batch_spin)
        self._add_pair(run_grid, 1, 0, "Learning rate", self.lr_edit)
        self._add_pair(run_grid, 1, 1, "Seed", self.seed_spin)
        self._add_pair(run_grid, 2, 0, "Device", self.device_combo)
        self._add_pair(run_grid, 2, 1, "CPU threads", self.threads_spin)
        model_box = QGroupBox("Model")
        model_box.setLayout(model_grid)
        run_box = QGroupBox("Training")
        run_box.setLayout(run_grid)
        form_column = QVBoxLayout(self)
        form_column.setContentsMargins(0, 0, 0, 0)
        form_column.addWidget(model_box)
        form_column.addWidget(run_box)

    def model_config(self, image_shape: tuple[int, int]):
        try:
            return registry.get_kind(FORM_KIND).Config(
                hidden_sizes=parse_hidden_sizes(self.hidden_edit.text()),
                latent_dim=self.latent_spin.value(),
                likelihood=self.likelihood_combo.currentData(),
                image_shape=image_shape,
            )
        except ConfigError as exc:
            raise ValueError(f"Hidden layers: {exc}") from exc

    def train_config(self) -> TrainConfig:
        try:
            return TrainConfig(
                epochs=self.epochs_spin.value(),
                batch_size=self.batch_spin.value(),
                learning_rate=parse_learning_rate(self.lr_edit.text()),
                beta=self.beta_spin.value(),
                seed=self.seed_spin.value(),
                device=self.device_combo.currentData(),
                num_threads=self.threads_spin.value(),
            )
        except ConfigError as exc:
            raise ValueError(str(exc)) from exc

    @staticmethod
    def _add_pair(grid: QGridLayout, row: int, pair: int, text: str, field: QWidget, span: int = 1) -> None:
        label = QLabel(text)
        label.setBuddy(field)
        label.setToolTip(field.toolTip())
        grid.addWidget(label, row, 2 * pair)
        grid.addWidget(field, row, 2 * pair + 1, 1, span)
        grid.setColumnStretch(2 * pair + 1, 1)
