"""Training from the main window: the map follows each epoch, the result becomes the explored model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from tests.qt.tiny_run import set_up_tiny_run
from vae_explorer.qt.main_window import MainWindow
from vae_explorer.qt.training_panel import TrainingPanel

SIGNAL_TIMEOUT_MS = 90_000  # CI shares 2 cores; the tiny run takes a few seconds


@pytest.fixture
def trainer_window(qtbot, shipped_session, settings, bundled_test_set):
    window = MainWindow(shipped_session, settings=settings)
    qtbot.addWidget(window)
    panel = TrainingPanel(None)
    window.attach_training_panel(panel)
    set_up_tiny_run(panel, bundled_test_set, display=False)  # the window hands the panel its map data
    window.resize(1400, 900)
    window.show()
    yield window, panel
    panel.shutdown()


def test_training_redraws_the_map_each_epoch_and_installs_the_new_model(trainer_window, shipped_session, qtbot):
    window, panel = trainer_window
    seen: list[tuple[np.ndarray, np.ndarray]] = []
    # Connected after the window's own slot, so it sees the map as the window left it.
    panel.epochSnapshot.connect(lambda snap: seen.append((np.array(snap.latent_mean),
                                                          window.latent_view.codes.copy())))
    with qtbot.waitSignal(panel.trainingFinished, timeout=SIGNAL_TIMEOUT_MS) as finished:
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert len(seen) == 2  # one redraw per epoch
    for sent, drawn in seen:
        assert sent.shape == (len(shipped_session.data), 2)
        np.testing.assert_array_equal(drawn, sent)
    assert not np.allclose(seen[0][0], shipped_session.latent_mu)

    session = window.session
    assert session is not shipped_session and session.model.config.hidden_sizes == (32, 16)
    assert session.checkpoint is finished.args[0]
    with torch.no_grad():
        mu = session.checkpoint.model.cpu().encode(session.data.images[:100]).mean
    np.testing.assert_allclose(window.latent_view.codes[:100], mu.numpy(), atol=1e-5)
    assert window.unsaved and "unsaved" in window.windowTitle()
    assert not panel.is_running()
    window.unsaved = False  # pytest-qt closes the window before fixtures end: no save prompt then


def test_closing_the_window_mid_run_cancels_and_joins(trainer_window, bundled_test_set, qtbot, monkeypatch):
    window, panel = trainer_window
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard))
    panel.set_training_data(bundled_test_set)
    panel.batch_spin.setValue(16)
    panel.epochs_spin.setValue(50)
    with qtbot.waitSignal(panel.trainingProgress, timeout=SIGNAL_TIMEOUT_MS):
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert panel.is_running()
    assert window.close()
    assert not panel.is_running()
    assert window.session.model.config.hidden_sizes == (512, 256)  # the cancelled run replaced nothing
