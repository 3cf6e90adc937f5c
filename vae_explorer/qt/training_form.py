"""The training form: which model and data, the kind's own settings, and the run's.

Kept apart from the panel, which runs what the form describes. The model
settings are generated from the chosen kind's config dataclass (config_fields),
so the form knows no kind by name. Reading the form turns bad input into a
ValueError (a config_fields.FieldError naming the field) whose message the
panel shows inline.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import Qt, Signal
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

from vae_explorer.core.config import DATASET_TITLES, DATASETS, ConfigError, TrainConfig
from vae_explorer.core.datasets import class_names
from vae_explorer.core.devices import available_devices
from vae_explorer.core.models import registry
from vae_explorer.core.training.threads import DEFAULT_CPU_THREADS
from vae_explorer.qt.config_fields import INVALID_STYLE, ConfigFields, FieldError, shrink_to_fit

DEFAULT_KINDS = ("vae", "mlp_vae")  # the first of these that is registered is preselected
DEFAULT_DATASET = "mnist"
DEVICE_LABELS = {"auto": "auto", "cpu": "CPU", "cuda": "CUDA", "mps": "MPS"}


def parse_learning_rate(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ValueError("Learning rate: enter a positive number, for example 1e-3 or 0.001.")
    return value


def kind_has_kl(kind: str) -> bool:
    """Whether the kind's loss has a KL term, which β and the warm-up weigh."""
    return "kl" in registry.get_kind(kind).term_labels


class TrainingForm(QWidget):
    """A "Model" box (kind, dataset, the kind's fields) and a "Training" box.

    kindChanged(str) fires after the kind's fields were rebuilt; datasetChanged(str)
    when another dataset is chosen.
    """

    kindChanged = Signal(str)
    datasetChanged = Signal(str)
    # Model fields most kinds share, under the names the panel gave their editors before the form
    # was generated (tests and scripts still use them).
    OLD_NAMES = {"hidden_edit": "hidden_sizes", "latent_spin": "latent_dim", "likelihood_combo": "likelihood"}
    # The run's editors, which every kind has (the model's own come and go with the kind).
    FIELDS = ("kind_combo", "dataset_combo", "beta_spin", "warmup_spin", "epochs_spin", "batch_spin",
              "lr_edit", "schedule_combo", "seed_spin", "device_combo", "threads_spin")

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._remembered: dict[str, Any] = {}  # what the user set in any kind's fields, by field name
        self._marked: list[QWidget] = []
        self.kind_combo = QComboBox()
        shrink_to_fit(self.kind_combo)
        known = registry.kinds()
        default = next((name for name in DEFAULT_KINDS if name in known), next(iter(known)))
        for name in [default, *(name for name in known if name != default)]:
            self.kind_combo.addItem(known[name].title or name, name)
        self.kind_combo.setToolTip("Which kind of model to train; its settings appear below.")
        self.dataset_combo = QComboBox()
        shrink_to_fit(self.dataset_combo)
        for name in DATASETS:
            self.dataset_combo.addItem(DATASET_TITLES.get(name, name), name)
        self.dataset_combo.setCurrentIndex(self.dataset_combo.findData(DEFAULT_DATASET))
        self.dataset_combo.setToolTip("The images to train on, read from the data folder "
                                      "(downloaded there the first time, when allowed).")

        self.beta_spin = QDoubleSpinBox(minimum=0.0, maximum=100.0, decimals=2, singleStep=0.1, value=1.0)
        self.beta_spin.setToolTip("Weight of the KL term: 1 is the ordinary VAE, other values a β-VAE.")
        self.warmup_spin = QSpinBox(minimum=0, maximum=1000, value=0)
        self.warmup_spin.setSpecialValueText("none")
        self.warmup_spin.setToolTip("Epochs over which the KL weight rises from 0 to β; keeps latent "
                                    "dimensions from switching off early. None: β from the start.")
        # The defaults are TrainConfig's, which `vae-explorer train` uses too.
        self.epochs_spin = QSpinBox(minimum=1, maximum=1000, value=TrainConfig.epochs)
        self.epochs_spin.setToolTip("Passes over the training split.")
        self.batch_spin = QSpinBox(minimum=1, maximum=60000, value=TrainConfig.batch_size)
        self.batch_spin.setToolTip("Images per optimizer step.")
        self.lr_edit = QLineEdit(f"{TrainConfig.learning_rate:g}")
        self.lr_edit.setToolTip("Adam step size, for example 2e-3 or 0.0005.")
        self.schedule_combo = QComboBox()
        self.schedule_combo.addItem("cosine to zero", "cosine")
        self.schedule_combo.addItem("constant", "constant")
        self.schedule_combo.setCurrentIndex(self.schedule_combo.findData(TrainConfig.lr_schedule))
        self.schedule_combo.setToolTip("How the step size changes over the run: cosine lowers it smoothly to "
                                       "zero by the last epoch, which settles the weights (a nat or two "
                                       "better); constant keeps it.")
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

        choice_grid = self._choice_grid = QGridLayout()
        self._choice_labels = (self._add_pair(choice_grid, 0, 0, "Kind", self.kind_combo, span=3)[0],
                               self._add_pair(choice_grid, 1, 0, "Dataset", self.dataset_combo, span=3)[0])
        self.fields = ConfigFields(registry.get_kind(self.kind()).Config)
        self._model_column = QVBoxLayout()
        self._model_column.addLayout(choice_grid)
        self._model_column.addWidget(self.fields)
        # Two label/field pairs per row keep the form short, leaving height for the curves; a dock
        # too narrow for two gets one a row (resizeEvent), rather than a sideways scroll bar.
        run_grid = self._run_grid = QGridLayout()
        run_fields = (("Epochs", self.epochs_spin), ("Batch size", self.batch_spin),
                      ("Learning rate", self.lr_edit), ("LR schedule", self.schedule_combo),
                      ("Seed", self.seed_spin),
                      ("Device", self.device_combo), ("CPU threads", self.threads_spin),
                      ("β (KL weight)", self.beta_spin), ("KL warm-up", self.warmup_spin))
        self._run_pairs = [self._add_pair(run_grid, index // 2, index % 2, text, field)
                           for index, (text, field) in enumerate(run_fields)]
        self._kl_widgets = tuple(self._run_pairs[-2:])
        self.run_columns, self._two_column_width = 2, 0
        model_box = QGroupBox("Model")
        model_box.setLayout(self._model_column)
        run_box = self.run_box = QGroupBox("Training")
        run_box.setLayout(run_grid)
        form_column = QVBoxLayout(self)
        form_column.setContentsMargins(0, 0, 0, 0)
        form_column.addWidget(model_box)
        form_column.addWidget(run_box)

        self.kind_combo.currentIndexChanged.connect(self._rebuild_fields)
        self.dataset_combo.currentIndexChanged.connect(lambda: self.datasetChanged.emit(self.dataset()))
        self._show_kl_settings()
        self._align_labels()
        self._lay_out_run(1)  # measured once: the width one pair a row needs, the form's least
        self._one_column_width = run_box.minimumSizeHint().width()
        self._lay_out_run(2)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit_run_grid(event.size().width())

    # -- reading -------------------------------------------------------------------

    def kind(self) -> str:
        return self.kind_combo.currentData()

    def dataset(self) -> str:
        return self.dataset_combo.currentData()

    def set_kind(self, kind: str) -> bool:
        """Select a kind (by its registered name); False if the combo has no such kind."""
        index = self.kind_combo.findData(kind)
        if index >= 0:
            self.kind_combo.setCurrentIndex(index)
        return index >= 0

    def field_widget(self, name: str) -> QWidget | None:
        """The editor of the current kind's config field `name`, None when it has no such field."""
        return self.fields.widget(name)

    def has_kl_settings(self) -> bool:
        """Whether β and the warm-up apply (the kind's loss has a KL term)."""
        return kind_has_kl(self.kind())

    def model_config(self, image_shape: tuple[int, int], num_classes: int | None = None):
        """The kind's config from the fields; the data's shape and class count (by default the
        chosen dataset's) fill the fields that come from the data.

        Also checks the model's size, so a config too large to build fails here, inline.
        """
        if num_classes is None:
            num_classes = len(class_names(self.dataset()))
        config = self.fields.build({"image_shape": tuple(image_shape), "num_classes": num_classes})
        try:
            registry.planned_shapes(self.kind(), config)
        except ValueError as exc:  # ConfigError: more weights than the app builds
            raise FieldError(f"Model size: {exc}") from exc
        return config

    def train_config(self) -> TrainConfig:
        kl = self.has_kl_settings()
        try:
            return TrainConfig(
                epochs=self.epochs_spin.value(),
                batch_size=self.batch_spin.value(),
                learning_rate=self._learning_rate(),
                lr_schedule=self.schedule_combo.currentData(),
                # Kinds without a KL term keep the defaults, so their checkpoints record no β.
                beta=self.beta_spin.value() if kl else TrainConfig.beta,
                kl_warmup_epochs=self.warmup_spin.value() if kl else TrainConfig.kl_warmup_epochs,
                seed=self.seed_spin.value(),
                device=self.device_combo.currentData(),
                num_threads=self.threads_spin.value(),
                dataset=self.dataset(),
            )
        except ConfigError as exc:
            raise FieldError(str(exc)) from exc

    # -- marking bad input -----------------------------------------------------------

    def mark_invalid(self, error: ValueError) -> None:
        """Outline the widget an error names, if it names one."""
        widget = getattr(error, "widget", None)
        if widget is not None:
            widget.setStyleSheet(f"{type(widget).__name__} {{ {INVALID_STYLE} }}")
            self._marked.append(widget)

    def clear_marks(self) -> None:
        for widget in self._marked:
            widget.setStyleSheet("")
        self._marked = []

    # -- helpers -----------------------------------------------------------------------

    def _learning_rate(self) -> float:
        try:
            return parse_learning_rate(self.lr_edit.text())
        except ValueError as exc:
            raise FieldError(str(exc), self.lr_edit) from exc

    def _rebuild_fields(self) -> None:
        # Same-named fields keep what the user set (latent size survives a kind switch),
        # and so do fields of kinds visited earlier.
        self.clear_marks()  # before the marked editors are deleted
        self._remembered.update(self.fields.states())
        old = self.fields
        self.fields = ConfigFields(registry.get_kind(self.kind()).Config, self._remembered)
        self._model_column.replaceWidget(old, self.fields)
        self.fields.show()  # now, not when the layout's queued show arrives
        old.hide()
        old.deleteLater()
        self._show_kl_settings()
        self._align_labels()
        self.kindChanged.emit(self.kind())

    def _align_labels(self) -> None:
        # Kind and Dataset sit in their own grid above the kind's fields: one label width for both
        # keeps the Model box's editors in one column.
        width = max(self.fields.label_width(), *(label.sizeHint().width() for label in self._choice_labels))
        self._choice_grid.setColumnMinimumWidth(0, width)
        self.fields.set_label_width(width)

    def _fit_run_grid(self, width: int) -> None:
        if self.run_columns == 2:
            self._two_column_width = self.run_box.minimumSizeHint().width()
        # Explicit, so the layout does not hold the form at the two-column width.
        self.setMinimumWidth(max(self._one_column_width, self._model_box_width()))
        columns = 2 if width >= self._two_column_width else 1
        if columns != self.run_columns:
            self._lay_out_run(columns)

    def _model_box_width(self) -> int:
        return self.layout().itemAt(0).widget().minimumSizeHint().width()

    def _lay_out_run(self, columns: int) -> None:
        grid = self._run_grid
        for pair in self._run_pairs:
            for widget in pair:
                grid.removeWidget(widget)
        for index, (label, field) in enumerate(self._run_pairs):
            row, pair = divmod(index, columns)
            grid.addWidget(label, row, 2 * pair)
            grid.addWidget(field, row, 2 * pair + 1)
        grid.setColumnStretch(3, 1 if columns == 2 else 0)
        self.run_columns = columns

    def _show_kl_settings(self) -> None:
        visible = self.has_kl_settings()
        for pair in self._kl_widgets:
            for widget in pair:
                widget.setVisible(visible)

    @staticmethod
    def _add_pair(grid: QGridLayout, row: int, pair: int, text: str, field: QWidget,
                  span: int = 1) -> tuple[QLabel, QWidget]:
        label = QLabel(text)
        label.setBuddy(field)
        label.setToolTip(field.toolTip())
        grid.addWidget(label, row, 2 * pair)
        grid.addWidget(field, row, 2 * pair + 1, 1, span)
        grid.setColumnStretch(2 * pair + 1, 1)
        return label, field
