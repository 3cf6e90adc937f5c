"""The Replay tab in the window: each epoch's map recorded, scrubbed with the keyboard, exported."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QFileDialog

from vae_explorer.core.models import registry
from vae_explorer.core.training.events import EpochDone, EpochStats
from vae_explorer.qt import replay_link


def _epochs(window, session, count: int = 4, first: int = 1):
    """Send `count` epoch snapshots as the training panel does, each from another model."""
    models = []
    for epoch in range(first, first + count):
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
                                                                   monkeypatch, no_blocking_dialogs, qtbot):
    window, panel = replay
    _epochs(window, shipped_session, 3)
    target = tmp_path / "run.gif"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    qtbot.mouseClick(panel.gif_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.exporting and panel.gif_button.isEnabled(), timeout=10_000)
    with Image.open(target) as gif:
        assert gif.n_frames == 3
    assert "Exported the GIF to run.gif" in panel.export_label.text() and panel.export_label.toolTip() == str(target)
    (tmp_path / "blocked").write_text("a file, not a folder")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(tmp_path / "blocked")))
    qtbot.mouseClick(panel.png_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(kind == "critical" for kind, _ in no_blocking_dialogs), timeout=10_000)
    assert any(kind == "critical" and "not a folder" in text for kind, text in no_blocking_dialogs)
    qtbot.waitUntil(lambda: not panel.exporting, timeout=10_000)


def test_the_export_runs_off_the_gui_thread_on_a_copy_while_training_records_on(replay, shipped_session, tmp_path,
                                                                             monkeypatch, qtbot):
    window, panel = replay
    _epochs(window, shipped_session, 3)
    target = tmp_path / "run.gif"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    qtbot.mouseClick(panel.gif_button, Qt.MouseButton.LeftButton)
    assert panel.exporting and not panel.gif_button.isEnabled() and "Exporting the GIF (3 epochs)" in \
        panel.export_label.text()  # back in the event loop at once: the drawing happens on the worker
    _epochs(window, shipped_session, 1, first=4)  # the run goes on meanwhile (the export has its own copy)
    assert window.replay_link.replay.epochs == [1, 2, 3, 4]
    qtbot.waitUntil(lambda: not panel.exporting and panel.gif_button.isEnabled(), timeout=10_000)
    with Image.open(target) as gif:
        assert gif.n_frames == 3


def test_a_mouse_click_on_the_slider_shows_that_epoch(replay, shipped_session, qtbot):
    window, panel = replay
    _epochs(window, shipped_session, 5)
    chosen = []
    panel.frameChosen.connect(lambda epoch, points: chosen.append((epoch, points)))
    qtbot.mouseClick(panel.slider, Qt.MouseButton.LeftButton, pos=QPoint(4, panel.slider.height() // 2))
    assert chosen and chosen[-1][0] == panel.epoch < 5
    np.testing.assert_array_equal(chosen[-1][1], window.replay_link.replay.points(panel.epoch))
    np.testing.assert_array_equal(window.latent_view.codes, chosen[-1][1])


def test_play_steps_through_the_epochs_and_pause_stops_there(replay, shipped_session, qtbot):
    window, panel = replay
    _epochs(window, shipped_session, 4)
    panel.timer.setInterval(30)
    chosen = []
    panel.frameChosen.connect(lambda epoch, points: chosen.append(epoch))
    qtbot.mouseClick(panel.play_button, Qt.MouseButton.LeftButton)  # at the end: plays from the first
    assert chosen == [1] and panel.playing and panel.play_button.text() == "Pause"
    qtbot.waitUntil(lambda: len(chosen) >= 2, timeout=2000)
    qtbot.mouseClick(panel.play_button, Qt.MouseButton.LeftButton)
    stopped_at = panel.epoch
    assert not panel.playing and panel.play_button.text() == "Play" and chosen[-1] == stopped_at < 4
    qtbot.wait(120)
    assert panel.epoch == stopped_at  # paused: the map keeps that epoch
    np.testing.assert_array_equal(window.latent_view.codes, window.replay_link.replay.points(stopped_at))
    before = len(chosen)
    qtbot.mouseClick(panel.play_button, Qt.MouseButton.LeftButton)  # resumes from there, to the end
    qtbot.waitUntil(lambda: not panel.playing, timeout=2000)
    assert chosen[before:] == list(range(stopped_at, 5)) and panel.at_latest and panel.play_button.text() == "Play"
    np.testing.assert_array_equal(window.latent_view.codes, window.map_plane.map_points())  # the model's map
