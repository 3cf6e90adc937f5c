"""The training panel: a form for the run, Start / Pause / Cancel, progress, curves and KL bars.

The form offers every registered model kind and dataset (training_form); the
curves plot the terms of the kind being trained, and for a kind with a
posterior the KL bars show each latent dimension's KL after every epoch.
The panel owns at most one training thread at a time. It validates the form on
the GUI thread, hands a plain TrainingRequest to core's training run on a
GeneratorThread, and turns the run's events into its own public signals,
which the main window listens to:

    trainingStarted()            a run began
    trainingProgress(object)     TrainingProgress, at most ~20 per second
    epochSnapshot(object)        core EpochDone after every epoch (redraw the map)
    trainingFinished(object)     Checkpoint of the trained model
    trainingFailed(str)          a message for the user; the previous model stays
    trainingCancelled()          the user cancelled (or shutdown() was called)

By the time any of the last three is emitted the thread has been joined, so
is_running() is already False.
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QCoreApplication, QEvent, QThread, Signal, Slot
from PySide6.QtWidgets import QStyle, QWidget

from vae_explorer.core.config import TrainConfig
from vae_explorer.core.data import ImageSet
from vae_explorer.core.models import registry
from vae_explorer.core.training.control import TrainingControl
from vae_explorer.core.training.trainer import warm_up_optimizer
from vae_explorer.core.training.events import Cancelled, Diverged, EpochDone, Failed, Finished, Started, Status
from vae_explorer.qt.generator_thread import GeneratorThread
from vae_explorer.qt.training_form import TrainingForm, kind_has_kl
from vae_explorer.qt.training_panel_layout import build_panel
from vae_explorer.qt.training_text import diverged_message, format_duration, threads_text, unchanged
from vae_explorer.qt.training_worker import (DEFAULT_PROGRESS_INTERVAL_S, TrainingProgress, TrainingRequest,
                                             gui_training_events)

log = logging.getLogger(__name__)

CANCELLED_STATUS = "Training cancelled. The previous model is still loaded."

# Threads that did not stop within shutdown()'s timeout are kept alive here, so
# Python never destroys a QThread that is still running.
_STRAGGLERS: list[GeneratorThread] = []


class TrainingPanel(QWidget):
    trainingStarted = Signal()
    trainingProgress = Signal(object)  # TrainingProgress
    epochSnapshot = Signal(object)  # core EpochDone, with the model and the display codes
    trainingFinished = Signal(object)  # Checkpoint
    trainingFailed = Signal(str)
    trainingCancelled = Signal()

    def __init__(self, data_dir: str | None = None, parent: QWidget | None = None, *, allow_download: bool = True):
        super().__init__(parent)
        self.data_dir = data_dir
        self.allow_download = allow_download
        self.progress_interval_s = DEFAULT_PROGRESS_INTERVAL_S
        # Run training at a lower OS priority than the GUI (see training_worker).
        self.lower_thread_priority = True
        self._display_set: ImageSet | None = None
        self._train_set: ImageSet | None = None
        self._test_set: ImageSet | None = None
        self._thread: GeneratorThread | None = None
        self._control: TrainingControl | None = None
        self._warmup: threading.Thread | None = None
        self._run_kind = None  # the model class being trained
        build_panel(self)
        self._set_idle()

    # -- public API ------------------------------------------------------------

    def set_display_data(self, image_set: ImageSet) -> None:
        """The split re-encoded after every epoch (the map's points); takes effect at Start."""
        self._display_set = image_set.to("cpu")

    def set_training_data(self, image_set: ImageSet | None) -> None:
        """Train on this set instead of loading it from the data folder (tests, benchmarks).

        Used while the form's dataset is the set's (image_set.name); another dataset is loaded.
        """
        self._train_set = image_set

    def set_test_data(self, image_set: ImageSet | None) -> None:
        """Evaluate on this set instead of the data folder's (or the bundled MNIST) test split."""
        self._test_set = image_set

    def is_running(self) -> bool:
        return self._thread is not None

    def is_paused(self) -> bool:
        return self._control is not None and self._control.paused

    def model_config(self):
        """The model described by the form, sized for the training images; ValueError with a user message."""
        given = self._matching(self._train_set) or self._matching(self._display_set)
        shape = given.image_shape if given is not None else (28, 28)  # every dataset offered is 28x28
        return self.form_box.model_config(tuple(shape))

    def train_config(self) -> TrainConfig:
        """The run described by the form; raises ValueError with a user message."""
        return self.form_box.train_config()

    def __getattr__(self, name: str):
        # The editors of common model settings under the panel's older names (hidden_edit,
        # latent_spin, likelihood_combo: tests, scripts); None when the kind lacks the field.
        if name in TrainingForm.OLD_NAMES and "form_box" in self.__dict__:
            return self.form_box.field_widget(TrainingForm.OLD_NAMES[name])
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def start(self) -> bool:
        """Start a run from the form; False (with an inline message) if the form is invalid."""
        if self.is_running():
            return False
        self.form_box.clear_marks()
        try:
            model_config = self.model_config()
            train_config = self.train_config()
        except ValueError as exc:  # a FieldError names the field, and holds its editor
            self.form_box.mark_invalid(exc)
            self._show_error(str(exc))
            return False
        self._show_error("")
        kind = self.form_box.kind()
        self._run_kind = registry.get_kind(kind)
        # Sets given for another dataset are not used: run_training loads the chosen one, and
        # the map's split is not re-encoded by a model of other images.
        request = TrainingRequest(
            kind=kind,
            model_config=model_config,
            train_config=train_config,
            data_dir=self.data_dir,
            allow_download=self.allow_download,
            train_set=self._matching(self._train_set),
            test_set=self._matching(self._test_set),
            display_set=self._matching(self._display_set),
        )
        control = self._control = TrainingControl()
        interval, lower = self.progress_interval_s, self.lower_thread_priority
        self._thread = GeneratorThread(lambda: gui_training_events(request, control, interval, lower),
                                       name="vae-training")
        self._thread.item.connect(self._on_event)
        # A bound slot, not a lambda: shutdown() flushes what is queued for this object.
        self._thread.crashed.connect(self._on_crashed)
        self.curves.clear(train_config.epochs, terms=self._run_kind.term_labels)
        self.kl_bars.reset(visible=kind_has_kl(kind))  # the first epoch tells for sure (a posterior or not)
        self._set_running(train_config.epochs)
        # Qt's LowPriority is what macOS and Windows honour; Linux gets a niceness in the run.
        self._thread.start(QThread.Priority.LowPriority if lower else QThread.Priority.InheritPriority)
        self.trainingStarted.emit()
        return True

    def toggle_pause(self) -> None:
        if self._control is None:
            return
        if self._control.paused:
            self._control.resume()
            self._show_pause_button(paused=False)
            self.status_label.setText("Resumed")
        else:
            self._control.pause()
            self._show_pause_button(paused=True)
            self.status_label.setText("Paused: training waits before its next batch")

    def _show_pause_button(self, paused: bool) -> None:
        """Pause (with its icon) while running; Resume with a play icon while paused."""
        pixmap = QStyle.StandardPixmap.SP_MediaPlay if paused else QStyle.StandardPixmap.SP_MediaPause
        self.pause_button.setIcon(self.style().standardIcon(pixmap))
        self.pause_button.setText("Resume" if paused else "Pause")

    def cancel(self) -> None:
        """Ask the run to stop; it does within one batch and emits trainingCancelled."""
        if self._control is not None:
            self._control.cancel()
            self.cancel_button.setEnabled(False)
            self.pause_button.setEnabled(False)
            self.status_label.setText("Cancelling…")

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._warmup is None:  # the form is on screen for the first time: load torch.optim's imports now
            self._warmup = threading.Thread(target=warm_up_optimizer, name="vae-optimizer-warmup", daemon=True)
            self._warmup.start()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel any run and join its thread (for closeEvent). True if no thread is left."""
        if self._warmup is not None:
            self._warmup.join(timeout_ms / 1000)  # never leave an import half done at exit
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
            thread.abandoned = True  # what it already queued is ignored: see _from_current_worker
            _STRAGGLERS.append(thread)  # keep it referenced until it ends on its own
            thread.finished.connect(lambda: _STRAGGLERS.remove(thread))
        self._release_thread(join=False)
        self._set_idle(CANCELLED_STATUS)
        self.trainingCancelled.emit()
        return not thread.isRunning()

    # -- the run's events ----------------------------------------------------------

    @Slot(object)
    def _on_event(self, event: object) -> None:
        if not self._from_current_worker():
            return  # a queued event from a thread that shutdown() already let go, or an earlier one
        if isinstance(event, TrainingProgress):
            self._on_progress(event)
        elif isinstance(event, EpochDone):
            self._on_epoch_snapshot(event)
        elif isinstance(event, (Status, Started)):
            self.status_label.setText(event.message if isinstance(event, Status) else
                                      f"Training {event.description} on {event.train_images:,} images "
                                      f"on {event.device}{threads_text(event.threads)}")
        elif isinstance(event, Finished):
            self._on_finished(event.checkpoint)
        elif isinstance(event, Diverged):
            self._on_failed(diverged_message(event.where))
        elif isinstance(event, Failed):
            if event.user_error:  # the request was wrong (missing data, bad device): nothing ran
                self._on_failed(unchanged(f"Cannot train: {event.message}"), "Training did not start.")
            else:
                self._on_failed(unchanged(f"Training failed: {event.message}"))
        elif isinstance(event, Cancelled):
            self._on_cancelled()

    @Slot(str)
    def _on_crashed(self, message: str) -> None:
        if not self._from_current_worker():
            return
        self._on_failed(unchanged(f"Training failed: {message}"))

    def _on_progress(self, progress: TrainingProgress) -> None:
        self.progress_bar.setValue(round(progress.fraction * self.progress_bar.maximum()))
        self.status_label.setText(
            f"Epoch {progress.epoch} of {progress.epochs} · batch {progress.batch} of "
            f"{progress.batches_per_epoch} · {format_duration(progress.elapsed)} elapsed · "
            f"about {format_duration(progress.eta)} left"
        )
        others = self._run_kind.terms_text(progress.terms)
        self.loss_label.setText(f"Train loss {progress.loss:.1f} nats/image ({others})")
        self.curves.add_running(progress.position, progress.terms)
        self.trainingProgress.emit(progress)

    def _on_epoch_snapshot(self, snapshot: EpochDone) -> None:
        stats = snapshot.stats
        self.curves.add_epoch(stats)
        if snapshot.latent_mean is not None:  # the display split was encoded
            self.kl_bars.show_codes(snapshot.latent_mean, snapshot.latent_logvar)
        test = f", test {stats.test['loss']:.1f}" if stats.test is not None else ""
        self.epoch_label.setText(
            f"Epoch {stats.epoch}: train {stats.train['loss']:.1f}{test} nats/image "
            f"({format_duration(stats.epoch_seconds)})"
        )
        self.epochSnapshot.emit(snapshot)

    def _on_finished(self, checkpoint) -> None:
        self._release_thread()
        test = checkpoint.metrics.get("test_loss")
        tail = f"; test loss {test:.1f} nats/image" if test is not None else ""
        self._set_idle(f"Training finished after {checkpoint.metrics.get('epochs_completed')} epoch(s){tail}.")
        self.progress_bar.setValue(self.progress_bar.maximum())
        self.trainingFinished.emit(checkpoint)

    def _on_failed(self, message: str, status: str = "Training failed.") -> None:
        if not self._from_current_worker():
            return
        self._release_thread()
        self._set_idle(status)
        self._show_error(message)
        self.trainingFailed.emit(message)

    def _on_cancelled(self) -> None:
        self._release_thread()
        self._set_idle(CANCELLED_STATUS)
        self.trainingCancelled.emit()

    # -- helpers -------------------------------------------------------------------

    def _matching(self, image_set: ImageSet | None) -> ImageSet | None:
        """The set if it holds the form's dataset, else None (to be loaded)."""
        if image_set is not None and image_set.name == self.form_box.dataset():
            return image_set
        return None

    def _on_kind_changed(self, kind: str) -> None:
        # Before any run, or with nothing plotted, the empty plots preview the kind's terms;
        # a finished run's curves and bars stay until the next Start.
        if not self.curves.has_points():
            self.curves.set_terms(registry.get_kind(kind).term_labels)
            self.kl_bars.reset(visible=kind_has_kl(kind))

    def _from_current_worker(self) -> bool:
        # Only the running thread's own signals count: one that shutdown() let go may still
        # emit (or have queued) reports after a new run has started.
        sender = self.sender()
        return self._thread is not None and (sender is None or sender is self._thread)

    def _release_thread(self, join: bool = True) -> None:
        if self._thread is not None and join:
            # The worker emitted its last signal and is returning; this wait is brief.
            self._thread.wait()
        self._thread = self._control = None

    def _show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))

    def _set_running(self, epochs: int) -> None:
        self.form_box.setEnabled(False)
        self.start_button.setEnabled(False)
        self.pause_button.setEnabled(True)
        self._show_pause_button(paused=False)
        self.cancel_button.setEnabled(True)
        self.progress_bar.setValue(0)
        self.status_label.setText("Starting…")
        self.loss_label.setText("")
        self.epoch_label.setText("")

    def _set_idle(self, message: str = "Set up a run and press Start.") -> None:
        self.form_box.setEnabled(True)
        self.start_button.setEnabled(True)
        self.pause_button.setEnabled(False)
        self._show_pause_button(paused=False)
        self.cancel_button.setEnabled(False)
        self.status_label.setText(message)
