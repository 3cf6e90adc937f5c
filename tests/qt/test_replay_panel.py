"""The Replay tab in the window: each epoch's map recorded, scrubbed with the keyboard, exported."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from vae_explorer.core.models import registry
from vae_explorer.core.training.events import EpochDone, EpochStats
from vae_explorer.qt import replay_link


def _epochs(window, session, count: int = 4):
    """Send `count` epoch snapshots as the training panel does, each from another model."""
    models = []
    for epoch in range(1, count + 1):
        model = registry.build("vae", session.model.config, seed=epoch).eval()
        with torch.no_grad():
            code = model.encode(session.data.images)
        stats = EpochStats(epoch=epoch, epochs=count, train={"loss": 150.0}, test=None, epoch_seconds=1.0,
                           elapsed=float(epoch))
        window.training.on_epoch_snapshot(EpochDone(stats, model, code.mean.numpy(), code.logvar.numpy()))
        models.append(code.mean.numpy())
    return models


@pytest.fixture
def replay(main_window):
    panel = replay_link.attach(main_window)
    main_window.show_tool(panel)
    return main_window, panel


def test_the_slider_shows_epoch_k_s_encodings(replay, shipped_session, qtbot):
    window, panel = replay
    assert panel.empty_note.isVisible() and not panel.slider.isEnabled()
    codes = _epochs(window, shipped_session)
    assert panel.slider.isEnabled() and panel.epoch == 4 and panel.at_latest and "Epoch 4 / 4" in panel.epoch_label.text()
    chosen = []
    panel.frameChosen.connect(lambda epoch, points: chosen.append((epoch, points)))
    panel.slider.setFocus()
    qtbot.keyClick(panel.slider, Qt.Key.Key_Left)
    qtbot.keyClick(panel.slider, Qt.Key.Key_Left)
    assert [epoch for epoch, _ in chosen] == [3, 2]
    np.testing.assert_allclose(chosen[-1][1], codes[1], atol=2e-2)  # epoch 2's encodings (float16)
    np.testing.assert_allclose(window.latent_view.codes, codes[1], atol=2e-2)  # on the main map
    assert "the map shows this epoch" in panel.epoch_label.text()
    qtbot.keyClick(panel.slider, Qt.Key.Key_End)
    np.testing.assert_allclose(window.latent_view.codes, codes[3], atol=1e-6)  # the model's own map again


def test_a_new_epoch_while_scrubbing_keeps_the_chosen_frame_on_the_map(replay, shipped_session, qtbot):
    window, panel = replay
    codes = _epochs(window, shipped_session, 2)
    panel.slider.setValue(0)
    model = registry.build("vae", shipped_session.model.config, seed=9).eval()
    with torch.no_grad():
        code = model.encode(shipped_session.data.images)
    stats = EpochStats(epoch=3, epochs=5, train={"loss": 1.0}, test=None, epoch_seconds=1.0, elapsed=3.0)
    window.training.on_epoch_snapshot(EpochDone(stats, model, code.mean.numpy(), code.logvar.numpy()))
    assert panel.epoch == 1 and window.replay_link.replay.epochs == [1, 2, 3]
    np.testing.assert_allclose(window.latent_view.codes, codes[0], atol=2e-2)


def test_export_writes_a_gif_of_every_epoch_and_a_bad_place_says_why(replay, shipped_session, tmp_path,
                                                                   monkeypatch, no_blocking_dialogs):
    window, panel = replay
    _epochs(window, shipped_session, 3)
    target = tmp_path / "run.gif"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    panel.gif_button.click()
    with Image.open(target) as gif:
        assert gif.n_frames == 3
    (tmp_path / "blocked").write_text("a file, not a folder")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(tmp_path / "blocked")))
    panel.png_button.click()
    assert any(kind == "critical" and "not a folder" in text for kind, text in no_blocking_dialogs)
