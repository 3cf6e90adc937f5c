"""Training a classifier in the app, for a dataset that ships without one.

The class-region layer and the comparison's classifier figures need a
classifier of the shown dataset; only MNIST's is shipped. This trains core's
quick recipe (two small convolutions, two epochs: about half a minute on one
CPU thread) on a worker thread, with its progress and a Cancel button in the
status bar, and saves the result in the per-user data folder, where
resources.classifier_path finds it from then on. Loading the data, training
and saving all run on the worker; the GUI thread only draws the progress.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from vae_explorer.qt.generator_thread import LatestRun


class ClassifierTraining(QObject):
    trained = Signal(str, object)  # dataset, the DigitClassifier, once saved (or kept in memory if saving failed)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.recipe = None  # core.classifier.QUICK_RECIPE unless set; read when training starts (torch loads late)
        self.dataset: str | None = None
        self.runs = LatestRun(self._on_step, self._on_crashed, name="vae-classifier", parent=self)
        self.widget = QWidget()
        self.label = QLabel()
        self.bar = QProgressBar(minimum=0, maximum=1000)
        self.bar.setMaximumWidth(160)
        cancel = QToolButton(text="Cancel")
        cancel.setToolTip("Stop training the classifier; nothing is saved")
        cancel.clicked.connect(self.cancel)
        row = QHBoxLayout(self.widget)
        row.setContentsMargins(0, 0, 0, 0)
        for part in (self.label, self.bar, cancel):
            row.addWidget(part)
        window.statusBar().addPermanentWidget(self.widget)
        self.widget.hide()

    @property
    def running(self) -> bool:
        return self.runs.running

    def start(self, dataset: str) -> None:
        """Load `dataset`'s training and test splits, train, test and save, all off the GUI thread."""
        from vae_explorer.core.checkpoint_header import CheckpointError
        from vae_explorer.core.classifier import QUICK_RECIPE, ClassifierProgress, fit_classifier, save_classifier
        from vae_explorer.core.data import DataUnavailableError, load_dataset, resolve_data_dir
        from vae_explorer.core.resources import trained_classifier_path

        recipe, data_dir, target = self.recipe or QUICK_RECIPE, self.window.data_dir, trained_classifier_path(dataset)

        def steps(stop):
            root = resolve_data_dir(data_dir)
            try:
                train, test = (load_dataset(dataset, root, split, download=False) for split in ("train", "test"))
            except DataUnavailableError as exc:  # its message names the files to provide
                yield "failed", str(exc)
                return
            for step in fit_classifier(train, test, dataset, recipe, stop=stop):
                if isinstance(step, ClassifierProgress):
                    yield "progress", step
                    continue
                try:  # save_classifier makes the folder, and writes the file whole or not at all
                    yield "saved", (step, str(save_classifier(step, target)))
                except (OSError, CheckpointError) as exc:
                    yield "unsaved", (step, str(exc))

        self.dataset = dataset
        self.label.setText(f"Training a {dataset} classifier")
        self.bar.setValue(0)
        self.widget.show()
        self.runs.start(steps)

    def cancel(self) -> None:
        self.runs.abandon()
        self.widget.hide()
        self.window.statusBar().showMessage("Stopped training the classifier; nothing was saved", 6000)

    def shutdown(self) -> None:
        self.runs.shutdown()

    def _on_step(self, item) -> None:
        kind, value = item
        if kind == "progress":
            done = (value.epoch - 1) * value.batches + value.batch
            self.bar.setValue(round(1000 * done / (value.epochs * value.batches)))
            return
        self.widget.hide()
        if kind == "failed":
            self._on_crashed(value)
            return
        trained, where = value
        score = f"{100 * trained.metrics['test_accuracy']:.1f}% on the test split"
        message = (f"Trained a {trained.dataset} classifier ({score}), saved to {where}" if kind == "saved"
                   else f"Trained a {trained.dataset} classifier ({score}); it could not be saved ({where}), "
                   "so it lasts until the app closes")
        self.window.statusBar().showMessage(message, 10000)
        self.trained.emit(trained.dataset, trained.model)

    def _on_crashed(self, message: str) -> None:
        self.widget.hide()
        self.window.statusBar().showMessage(f"Could not train a classifier: {message}", 10000)
