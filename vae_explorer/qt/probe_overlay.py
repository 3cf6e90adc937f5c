"""View > Class regions (P): the classifier probe's verdict on the decoded latent space.

A grid over the visible part of the map is decoded with the shown model and
each decode is classified by the shipped digit classifier (core.classifier).
Each cell takes the colour of its class, opaque where the classifier is sure
and faint where it hesitates, so the decision regions of the decoded space,
and the ambiguous seams between them, show under the encoded points. While
the layer is on, hovering the map lists the ten class probabilities of the
decode under the cursor in the status bar. The grid is classified on a
GeneratorThread (a few hundred milliseconds) and redone after a pan or zoom.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QTimer
from PySide6.QtWidgets import QMessageBox

from vae_explorer.core import latent
from vae_explorer.core.training_replay import CLASS_COLOURS
from vae_explorer.qt.classifier_training import ClassifierTraining
from vae_explorer.qt.generator_thread import LatestRun

KEY_REGIONS = "probe-regions"
GRID = 48  # cells across the visible region
OPACITY = 0.55
REFRESH_MS = 300
PROBE_IMAGES = PROBE_SAMPLES = 2000  # what the classifier scores per model for its figures (a second or two)


class ProbeOverlay:
    def __init__(self, window):
        self.window = window
        self.classifiers: dict[str, object] = {}  # dataset -> DigitClassifier
        self.grid: np.ndarray | None = None  # (GRID, GRID) classes of the last grid, rows along y
        self.confidence: np.ndarray | None = None
        self.extent = None
        self.runs = LatestRun(self._draw, lambda message: window.statusBar().showMessage(
            f"Could not classify the map: {message}", 8000), name="vae-probe", parent=window)
        self.action = window.add_action(window.view_menu, "Class &regions (classifier probe)", "P",
                                        "Colour the map by the class the shipped classifier gives the image "
                                        "decoded at each point, faint where it hesitates", self.toggle)
        self.action.setCheckable(True)
        # The shown model's figures: how much class its reconstructions keep, how evenly its prior covers them.
        self.figures = None  # (checkpoint, core.classifier.ProbeFigures) of the last model scored
        self.figure_runs = LatestRun(self._show_figures, name="vae-probe-figures", parent=window)
        self.caption = pg.LabelItem("", color="#e6e6ee", size="10pt")
        self.caption.setParentItem(window.latent_view.view_box)
        self.caption.anchor(itemPos=(0, 0), parentPos=(0, 0), offset=(10, 10))
        self.caption.setVisible(False)
        self.training = ClassifierTraining(window)
        self.training.trained.connect(self._on_trained)
        self.timer = QTimer(window)
        self.timer.setSingleShot(True)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        window.latent_view.view_box.sigRangeChanged.connect(lambda *_: self.visible and self.timer.start())
        window.latent_view.hovered.connect(self._on_hover)
        window.exploration.observe("shown", lambda _e: self.visible and self.timer.start())

    @property
    def visible(self) -> bool:
        return self.action.isChecked()

    def toggle(self) -> None:
        self.refresh() if self.visible else self.clear()

    def classifier_for(self, dataset: str):
        """(the dataset's classifier, None), loaded once and kept; (None, why) when there is none to load.

        The layer and the comparison's figures both ask here, so a classifier file is read once.
        """
        from vae_explorer.core.checkpoint_header import CheckpointError
        from vae_explorer.core.classifier import load_classifier
        from vae_explorer.core.resources import classifier_path

        if dataset not in self.classifiers:
            path = classifier_path(dataset)
            if path is None:
                return None, f"No classifier for {dataset} yet (View ▸ Class regions offers to train one)"
            try:
                self.classifiers[dataset] = load_classifier(path).model
            except CheckpointError as exc:
                return None, f"Cannot use the classifier: {exc}"
        return self.classifiers[dataset], None

    def classifier(self):
        """The classifier of the shown model's dataset; None when there is none yet (training one is offered)."""
        from vae_explorer.core.resources import classifier_path

        dataset = self.window.shown.data.name
        classifier, problem = self.classifier_for(dataset)
        if classifier is None and classifier_path(dataset) is None:
            self.offer_training(dataset)  # none at all, rather than a damaged one
        elif classifier is None:
            self.window.statusBar().showMessage(problem, 10000)
        return classifier

    def offer_training(self, dataset: str) -> None:
        if self.training.running:
            self.window.statusBar().showMessage(f"A {self.training.dataset} classifier is being trained…", 6000)
            return
        answer = QMessageBox.question(
            self.window, "Train a classifier?",
            f"No classifier for {dataset} is shipped. Train one now, in the background (about half a minute)? "
            "It is saved in your data folder and used from then on.")
        if answer == QMessageBox.StandardButton.Yes:
            self.training.start(dataset)

    def _on_trained(self, dataset: str, classifier) -> None:
        self.classifiers[dataset] = classifier
        if self.window.shown is not None and self.window.shown.data.name == dataset:
            self.action.setChecked(True)
            self.refresh()

    def refresh(self) -> None:
        """Classify a grid of decodes over the visible region, off the GUI thread."""
        if not self.visible or self.window.shown is None:
            return
        classifier = self.classifier()
        if classifier is None:
            self.action.setChecked(False)
            return
        extent = self.window.latent_view.visible_rect()
        points = latent.grid_points(*extent, GRID, GRID)  # reading order: top row first
        decode = self.window.decode_2d
        import torch  # the window loads before torch (see main_window); by now the model has

        def work(stop):
            images = torch.as_tensor(decode(points))
            if not stop.is_set():
                yield extent, classifier.probabilities(images).numpy()

        self.runs.start(work)
        self._start_figures(classifier)

    def _start_figures(self, classifier) -> None:
        """Score the shown model's reconstructions and prior samples, once per model, off the GUI thread."""
        from vae_explorer.core.classifier import probe_figures

        shown = self.window.shown
        if self.figures is not None and self.figures[0] is shown.checkpoint:
            self.caption.setVisible(True)
            return
        model, test, checkpoint = shown.model, shown.data.subset(PROBE_IMAGES), shown.checkpoint

        def work(stop):
            if not stop.is_set():
                yield checkpoint, probe_figures(classifier, model, test, PROBE_SAMPLES)

        self.figure_runs.start(work)

    def _show_figures(self, result) -> None:
        self.figures = result
        _, figures = result
        lines = [f"Classifier: {100 * figures.reconstruction_accuracy:.1f}% of {figures.images:,} reconstructions "
                 "keep their class"]
        if figures.evenness is not None:
            lines.append(f"the classes of {figures.samples:,} prior samples: evenness {figures.evenness:.3f} "
                         "(1 = all equal)")
        self.caption.setText("<br>".join(lines))
        self.caption.setVisible(self.visible)

    def _draw(self, result) -> None:
        if not self.visible:
            return
        extent, probabilities = result
        classes = probabilities.argmax(axis=1).reshape(GRID, GRID)[::-1]  # row 0 at the bottom
        confidence = probabilities.max(axis=1).reshape(GRID, GRID)[::-1]
        rgba = np.zeros((GRID, GRID, 4), np.uint8)
        rgba[..., :3] = CLASS_COLOURS[classes % len(CLASS_COLOURS)]
        # Sure: opaque; a tie between two classes (0.5): nearly clear.
        rgba[..., 3] = (255 * np.clip((confidence - 0.4) / 0.6, 0, 1)).astype(np.uint8)
        image = pg.ImageItem(rgba, axisOrder="row-major")
        xmin, xmax, ymin, ymax = extent
        image.setRect(QRectF(xmin, ymin, xmax - xmin, ymax - ymin))
        image.setOpacity(OPACITY)
        self.window.latent_view.show_items(KEY_REGIONS, [image], -9)
        self.grid, self.confidence, self.extent = classes, confidence, extent
        unsure = float((confidence < 0.7).mean())
        self.window.statusBar().showMessage(f"Class regions: the classifier is unsure (below 70%) on "
                                            f"{100 * unsure:.0f}% of the visible map", 6000)

    def _on_hover(self, point: np.ndarray) -> None:
        if not self.visible or self.window.shown is None:
            return
        classifier = self.classifier()
        if classifier is None:
            return
        import torch

        image = torch.as_tensor(self.window.decode_2d(np.asarray(point, np.float32)[None]))
        probabilities = classifier.probabilities(image)[0].numpy()
        names = self.window.shown.data.class_names
        order = np.argsort(-probabilities)
        text = "  ".join(f"{names[i]} {100 * probabilities[i]:.0f}%" for i in order[:10] if probabilities[i] >= 0.005)
        self.window.statusBar().showMessage(f"Classifier on this decode: {text}", 4000)

    def clear(self) -> None:
        self.runs.abandon()
        self.figure_runs.abandon()
        self.caption.setVisible(False)
        self.timer.stop()
        self.window.latent_view.clear_overlay(KEY_REGIONS)
        self.grid = self.confidence = self.extent = None

    def shutdown(self) -> None:
        self.timer.stop()
        self.runs.shutdown()
        self.figure_runs.shutdown()
        self.training.shutdown()
