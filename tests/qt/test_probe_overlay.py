"""View > Class regions: the classifier's verdict on the decoded map, and its probabilities under the cursor."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from tests.qt.map_mouse import hover
from vae_explorer.core import latent
from vae_explorer.core.classifier import load_classifier
from vae_explorer.core.resources import shipped_classifier_path
from vae_explorer.qt import probe_overlay


def test_p_colours_the_map_by_the_class_of_each_decode(main_window, qtbot, shipped_session):
    main_window.activateWindow()
    qtbot.waitUntil(lambda: main_window.isActiveWindow())
    overlay = main_window.probe_overlay
    qtbot.keyClick(main_window, Qt.Key.Key_P)
    assert overlay.visible
    qtbot.waitUntil(lambda: overlay.grid is not None, timeout=20000)
    assert main_window.latent_view.overlay_items(probe_overlay.KEY_REGIONS)
    # The layer's class at a cell is the classifier's class of the image decoded there.
    xmin, xmax, ymin, ymax = overlay.extent
    points = latent.grid_points(xmin, xmax, ymin, ymax, probe_overlay.GRID, probe_overlay.GRID)
    classifier = load_classifier(shipped_classifier_path()).model
    for row, col in ((0, 0), (10, 30), (47, 47), (24, 5)):
        z = points[row * probe_overlay.GRID + col]  # reading order: row 0 at the top
        image = torch.as_tensor(shipped_session.decode(z[None]))
        expected = int(classifier.probabilities(image).argmax())
        assert overlay.grid[probe_overlay.GRID - 1 - row, col] == expected  # drawn with row 0 at the bottom
    assert len(np.unique(overlay.grid)) >= 6  # the decoded space holds most digits
    # Hover lists the decode's class probabilities.
    xmin, xmax, ymin, ymax = main_window.latent_view.visible_rect()
    hover(main_window.latent_view, ((xmin + xmax) / 2, (ymin + ymax) / 2))
    assert main_window.statusBar().currentMessage().startswith("Classifier on this decode:")
    qtbot.keyClick(main_window, Qt.Key.Key_P)
    assert not overlay.visible and not main_window.latent_view.overlay_items(probe_overlay.KEY_REGIONS)


def _no_shipped_classifier(monkeypatch, tmp_path):
    """As for a dataset that ships without a classifier; the user data folder in tmp_path."""
    from vae_explorer.core import resources

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setattr(resources, "shipped_classifier_path", lambda dataset="mnist": tmp_path / "none.safetensors")
    monkeypatch.setattr(probe_overlay.QMessageBox, "question",
                        lambda *args: probe_overlay.QMessageBox.StandardButton.Yes)


def test_without_a_classifier_the_layer_offers_to_train_one_and_then_uses_it(
        main_window, qtbot, monkeypatch, tmp_path, mnist_dir):
    from dataclasses import replace

    from vae_explorer.core.classifier import QUICK_RECIPE
    from vae_explorer.core.resources import classifier_path, trained_classifier_path

    _no_shipped_classifier(monkeypatch, tmp_path)
    main_window.data_dir = str(mnist_dir)
    overlay = main_window.probe_overlay
    overlay.training.recipe = replace(QUICK_RECIPE, epochs=1, batch_size=256)  # the test's time, not the user's
    with qtbot.waitSignal(overlay.training.trained, timeout=120000) as trained:
        overlay.action.trigger()
        assert not overlay.visible and overlay.training.running  # off until a classifier exists
        assert overlay.training.widget.isVisibleTo(main_window)
    dataset, classifier = trained.args
    saved = trained_classifier_path("mnist")
    assert dataset == "mnist" and saved.is_file() and classifier_path("mnist") == saved
    assert str(saved) in main_window.statusBar().currentMessage()
    assert load_classifier(saved).metrics["test_accuracy"] > 0.9
    assert overlay.visible and not overlay.training.widget.isVisibleTo(main_window)
    qtbot.waitUntil(lambda: overlay.grid is not None, timeout=20000)  # drawn with the new classifier
    assert len(np.unique(overlay.grid)) >= 5


def test_training_a_classifier_can_be_cancelled_and_missing_data_is_named(
        main_window, qtbot, monkeypatch, tmp_path, mnist_dir):
    from vae_explorer.core.resources import trained_classifier_path

    _no_shipped_classifier(monkeypatch, tmp_path)
    overlay = main_window.probe_overlay
    main_window.data_dir = str(mnist_dir)
    overlay.action.trigger()
    assert overlay.training.running
    overlay.training.cancel()
    assert "nothing was saved" in main_window.statusBar().currentMessage()
    overlay.training.shutdown()  # joins the abandoned run, which stops at its next report
    assert overlay.training.runs.thread_count == 0 and not trained_classifier_path("mnist").exists()
    main_window.data_dir = str(tmp_path / "empty")
    overlay.action.trigger()
    qtbot.waitUntil(lambda: "Could not train a classifier" in main_window.statusBar().currentMessage(),
                    timeout=20000)
    assert "MNIST" in main_window.statusBar().currentMessage() and not overlay.visible


def test_the_layer_captions_the_models_classifier_figures(main_window, qtbot, shipped_session):
    from vae_explorer.core.classifier import probe_figures

    overlay = main_window.probe_overlay
    overlay.action.trigger()
    qtbot.waitUntil(lambda: overlay.figures is not None, timeout=60000)
    checkpoint, figures = overlay.figures
    assert checkpoint is main_window.shown.checkpoint and overlay.caption.isVisible()
    classifier = load_classifier(shipped_classifier_path()).model
    expected = probe_figures(classifier, shipped_session.model, shipped_session.data.subset(probe_overlay.PROBE_IMAGES),
                             probe_overlay.PROBE_SAMPLES)
    assert figures.reconstruction_accuracy == expected.reconstruction_accuracy > 0.5
    assert figures.evenness == pytest.approx(expected.evenness) and 0.9 < figures.evenness <= 1
    text = overlay.caption.text
    assert f"{100 * expected.reconstruction_accuracy:.1f}% of 2,000 reconstructions keep their class" in text
    assert f"evenness {expected.evenness:.3f}" in text
    overlay.action.trigger()  # off: the caption goes with the layer
    assert not overlay.caption.isVisible()
