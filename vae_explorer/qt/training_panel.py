"""The training panel: a form for the run, Start / Pause / Cancel, progress and curves.

The panel owns at most one TrainingThread at a time. It validates the form on
the GUI thread, hands a plain TrainingRequest to the worker, and turns the
worker's signals into its own public ones, which the main window listens to:

    trainingStarted()            a run began
    trainingProgress(object)     TrainingProgress, at most ~20 per second
    epochSnapshot(object)        TrainingSnapshot after every epoch (redraw the map)
    trainingFinished(object)     Checkpoint of the trained model
    trainingFailed(str)          a message for the user; the previous model stays
    trainingCancelled()          the user cancelled (or shutdown() was called)

By the time any of the last three is emitted the thread has been joined, so
is_running() is already False.
"""

from __future__ import annotations

import logging
import os

from PySide6.QtCore import QCoreApplication, QEvent, Qt, Signal, Slot
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from vae_explorer.core.config import ConfigError, ModelConfig, TrainConfig
from vae_explorer.core.data import ImageSet
from vae_explorer.core.devices import available_devices
from vae_explorer.qt.loss_curves import LossCurves
from vae_explorer.qt.scrolling import fill_with_scrolling
from vae_explorer.qt.training_worker import (
    DEFAULT_PROGRESS_INTERVAL_S,
    TimedControl,
    TrainingProgress,
    TrainingRequest,
    TrainingSnapshot,
    TrainingThread,
    TrainingWorker,
)

log = logging.getLogger(__name__)

START_SHORTCUT = "Ctrl+T"
PAUSE_SHORTCUT = "Ctrl+P"
CANCEL_SHORTCUT = "Ctrl+."
DEVICE_LABELS = {"auto": "auto", "cpu": "CPU", "cuda": "CUDA", "mps": "MPS"}
ERROR_STYLE = (
    "QLabel { color: #8a1c1c; background: #fdecea; border: 1px solid #f5c2c0;"
    " border-radius: 4px; padding: 6px; }"
)
INVALID_FIELD_STYLE = "QLineEdit { border: 1px solid #d33; }"

# Threads that did not stop within shutdown()'s timeout are kept alive here, so
# Python never destroys a QThread that is still running.
_STRAGGLERS: list[TrainingThread] = []


def default_cpu_threads() -> int:
    """Leave one core to the GUI thread: 1 on a 2-core machine."""
    return max(1, (os.cpu_count() or 2) - 1)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "…"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def parse_hidden_sizes(text: str) -> tuple[int, ...]:
    parts = [p.strip() for p in text.replace(";", ",").split(",")]
    try:
        sizes = tuple(int(p) for p in parts if p)
    except ValueError:
        sizes = ()
    if not sizes or any(s <= 0 for s in sizes):
        raise ValueError(
            "Hidden layers: enter one or more positive whole numbers separated by commas, "
            "for example 512,256."
        )
    return sizes


def parse_learning_rate(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ValueError("Learning rate: enter a positive number, for example 1e-3 or 0.001.")
    return value


class TrainingPanel(QWidget):
    trainingStarted = Signal()
    trainingProgress = Signal(object)  # TrainingProgress
    epochSnapshot = Signal(object)  # TrainingSnapshot
    trainingFinished = Signal(object)  # Checkpoint
    trainingFailed = Signal(str)
    trainingCancelled = Signal()

    def __init__(
        self,
        data_dir: str | None = None,
        parent: QWidget | None = None,
        *,
        allow_download: bool = True,
    ):
        super().__init__(parent)
        self.data_dir = data_dir
        self.allow_download = allow_download
        self.progress_interval_s = DEFAULT_PROGRESS_INTERVAL_S
        # Run training at a lower OS priority than the GUI (see training_worker).
        self.lower_thread_priority = True
        self._display_set: ImageSet | None = None
        self._train_set: ImageSet | None = None
        self._test_set: ImageSet | None = None
        self._thread: TrainingThread | None = None
        self._worker: TrainingWorker | None = None
        self._control: TimedControl | None = None
        self._build()
        self._set_idle()

    # -- public API ------------------------------------------------------------

    def set_display_data(self, image_set: ImageSet) -> None:
        """The split re-encoded after every epoch (the map's points); takes effect at Start."""
        self._display_set = image_set.to("cpu")

    def set_training_data(self, image_set: ImageSet | None) -> None:
        """Train on this set instead of loading MNIST from the data folder (tests, benchmarks)."""
        self._train_set = image_set

    def set_test_data(self, image_set: ImageSet | None) -> None:
        """Evaluate on this set instead of the bundled MNIST test split."""
        self._test_set = image_set

    def is_running(self) -> bool:
        return self._thread is not None

    def is_paused(self) -> bool:
        return self._control is not None and self._control.paused

    def model_config(self) -> ModelConfig:
        """The model described by the form; raises ValueError with a user message."""
        try:
            return ModelConfig(
                hidden_sizes=parse_hidden_sizes(self.hidden_edit.text()),
                latent_dim=self.latent_spin.value(),
                likelihood=self.likelihood_combo.currentData(),
            )
        except ConfigError as exc:
            raise ValueError(str(exc)) from exc

    def train_config(self) -> TrainConfig:
        """The run described by the form; raises ValueError with a user message."""
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

    def start(self) -> bool:
        """Start a run from the form; False (with an inline message) if the form is invalid."""
        if self.is_running():
            return False
        self.hidden_edit.setStyleSheet("")
        self.lr_edit.setStyleSheet("")
        try:
            model_config = self.model_config()
        except ValueError as exc:
            self.hidden_edit.setStyleSheet(INVALID_FIELD_STYLE)
            self._show_error(str(exc))
            return False
        try:
            train_config = self.train_config()
        except ValueError as exc:
            self.lr_edit.setStyleSheet(INVALID_FIELD_STYLE)
            self._show_error(str(exc))
            return False
        self._show_error("")
        request = TrainingRequest(
            model_config=model_config,
            train_config=train_config,
            data_dir=self.data_dir,
            allow_download=self.allow_download,
            train_set=self._train_set,
            test_set=self._test_set,
            display_set=self._display_set,
        )
        self._control = TimedControl()
        self._worker = TrainingWorker(request, self._control, self.progress_interval_s)
        self._worker.status.connect(self._on_status)
        self._worker.progress.connect(self._on_progress)
        self._worker.epochSnapshot.connect(self._on_epoch_snapshot)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self._worker.cancelled.connect(self._on_cancelled)
        self._thread = TrainingThread(self._worker, lower_priority=self.lower_thread_priority)
        self.curves.clear(train_config.epochs)
        self._set_running(train_config.epochs)
        self._thread.start_training()
        self.trainingStarted.emit()
        return True

    def toggle_pause(self) -> None:
        if self._control is None:
            return
        if self._control.paused:
            self._control.resume()
            self.pause_button.setText("Pause")
            self.status_label.setText("Resumed")
        else:
            self._control.pause()
            self.pause_button.setText("Resume")
            self.status_label.setText("Paused: training waits before its next batch")

    def cancel(self) -> None:
        """Ask the run to stop; it does within one batch and emits trainingCancelled."""
        if self._control is not None:
            self._control.cancel()
            self.cancel_button.setEnabled(False)
            self.pause_button.setEnabled(False)
            self.status_label.setText("Cancelling…")

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel any run and join its thread (for closeEvent). True if no thread is left."""
        thread = self._thread
        if thread is None:
            return True
        self._control.cancel()
        if thread.wait(timeout_ms):
            # The worker's last signals sit in the event queue; handle them now, so
            # the run ends through its own terminal signal (normally "cancelled").
            QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)
            if self._thread is None:
                return True
        else:
            log.warning("the training thread did not stop within %d ms", timeout_ms)
            self._worker.abandoned = True
            _STRAGGLERS.append(thread)  # keep it referenced until it ends on its own
            thread.finished.connect(lambda: _STRAGGLERS.remove(thread))
        self._release_thread(join=False)
        self._set_idle("Training cancelled.")
        self.trainingCancelled.emit()
        return not thread.isRunning()

    # -- worker signals ----------------------------------------------------------

    @Slot(str)
    def _on_status(self, text: str) -> None:
        if not self._from_current_worker():
            return
        self.status_label.setText(text)

    @Slot(object)
    def _on_progress(self, progress: TrainingProgress) -> None:
        if not self._from_current_worker():
            return
        self.progress_bar.setValue(round(progress.fraction * self.progress_bar.maximum()))
        self.status_label.setText(
            f"Epoch {progress.epoch} of {progress.epochs} · batch {progress.batch} of "
            f"{progress.batches_per_epoch} · {format_duration(progress.elapsed)} elapsed · "
            f"about {format_duration(progress.eta)} left"
        )
        self.loss_label.setText(
            f"Train loss {progress.loss:.1f} nats/image "
            f"(reconstruction {progress.reconstruction:.1f}, KL {progress.kl:.2f})"
        )
        self.curves.add_running(
            progress.position, progress.loss, progress.reconstruction, progress.kl
        )
        self.trainingProgress.emit(progress)

    @Slot(object)
    def _on_epoch_snapshot(self, snapshot: TrainingSnapshot) -> None:
        if not self._from_current_worker():
            return
        stats = snapshot.stats
        self.curves.add_epoch(stats)
        test = f", test {stats.test.total:.1f}" if stats.test is not None else ""
        self.epoch_label.setText(
            f"Epoch {stats.epoch}: train {stats.train.total:.1f}{test} nats/image "
            f"({format_duration(stats.epoch_seconds)})"
        )
        self.epochSnapshot.emit(snapshot)

    @Slot(object)
    def _on_finished(self, checkpoint) -> None:
        if not self._from_current_worker():
            return
        self._release_thread()
        test = checkpoint.metrics.get("test_loss")
        tail = f"; test loss {test:.1f} nats/image" if test is not None else ""
        self._set_idle(f"Training finished after {checkpoint.metrics.get('epochs_completed')} epoch(s){tail}.")
        self.progress_bar.setValue(self.progress_bar.maximum())
        self.trainingFinished.emit(checkpoint)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if not self._from_current_worker():
            return
        self._release_thread()
        self._set_idle("Training failed.")
        self._show_error(message)
        self.trainingFailed.emit(message)

    @Slot()
    def _on_cancelled(self) -> None:
        if not self._from_current_worker():
            return
        self._release_thread()
        self._set_idle("Training cancelled.")
        self.trainingCancelled.emit()

    # -- helpers -------------------------------------------------------------------

    def _from_current_worker(self) -> bool:
        # A queued signal from a worker that shutdown() already let go is stale.
        return self._worker is not None

    def _release_thread(self, join: bool = True) -> None:
        if self._thread is not None and join:
            # The worker emitted its last signal and is returning; this wait is brief.
            self._thread.wait()
        self._thread = self._worker = self._control = None

    def _show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))

    def _set_running(self, epochs: int) -> None:
        self.form_box.setEnabled(False)
        self.start_button.setEnabled(False)
        self.pause_button.setEnabled(True)
        self.pause_button.setText("Pause")
        self.cancel_button.setEnabled(True)
        self.progress_bar.setValue(0)
        self.status_label.setText("Starting…")
        self.loss_label.setText("")
        self.epoch_label.setText("")

    def _set_idle(self, message: str = "Set up a run and press Start.") -> None:
        self.form_box.setEnabled(True)
        self.start_button.setEnabled(True)
        self.pause_button.setEnabled(False)
        self.pause_button.setText("Pause")
        self.cancel_button.setEnabled(False)
        self.status_label.setText(message)

    # -- layout ----------------------------------------------------------------------

    @staticmethod
    def _add_pair(grid: QGridLayout, row: int, pair: int, text: str, field: QWidget, span: int = 1) -> None:
        label = QLabel(text)
        label.setBuddy(field)
        label.setToolTip(field.toolTip())
        grid.addWidget(label, row, 2 * pair)
        grid.addWidget(field, row, 2 * pair + 1, 1, span)
        grid.setColumnStretch(2 * pair + 1, 1)

    def _build(self) -> None:
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
        self.threads_spin = QSpinBox(minimum=0, maximum=max(os.cpu_count() or 1, 1),
                                     value=default_cpu_threads())
        self.threads_spin.setSpecialValueText("torch default")
        self.threads_spin.setToolTip(
            "CPU threads for training. The default leaves one core free so the window stays "
            "responsive; 'torch default' uses every core."
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
        self.form_box = QWidget()
        form_column = QVBoxLayout(self.form_box)
        form_column.setContentsMargins(0, 0, 0, 0)
        form_column.addWidget(model_box)
        form_column.addWidget(run_box)

        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setVisible(False)

        style = self.style()
        self.start_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Start")
        self.start_button.setShortcut(QKeySequence(START_SHORTCUT))
        self.start_button.setToolTip(f"Train a new model with these settings ({START_SHORTCUT})")
        self.start_button.clicked.connect(self.start)
        self.pause_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPause), "Pause")
        self.pause_button.setShortcut(QKeySequence(PAUSE_SHORTCUT))
        self.pause_button.setToolTip(f"Pause or resume training ({PAUSE_SHORTCUT})")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.cancel_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaStop), "Cancel")
        self.cancel_button.setShortcut(QKeySequence(CANCEL_SHORTCUT))
        self.cancel_button.setToolTip(
            f"Stop training; the current model stays as it is ({CANCEL_SHORTCUT})"
        )
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.cancel_button):
            buttons.addWidget(button)

        self.progress_bar = QProgressBar(minimum=0, maximum=1000, value=0)
        self.progress_bar.setFormat("%p%")
        self.progress_bar.setToolTip("Share of all batches of the run done so far")
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.loss_label = QLabel()
        self.loss_label.setWordWrap(True)
        self.epoch_label = QLabel()
        self.epoch_label.setWordWrap(True)
        for label in (self.status_label, self.loss_label, self.epoch_label):
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        self.curves = LossCurves()

        # Everything scrolls when the dock is short, instead of squashing the plots.
        content = QWidget()
        fill_with_scrolling(self, content)
        layout = QVBoxLayout(content)
        layout.addWidget(self.form_box)
        layout.addLayout(buttons)
        layout.addWidget(self.error_label)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        layout.addWidget(self.loss_label)
        layout.addWidget(self.epoch_label)
        layout.addWidget(self.curves, stretch=1)
