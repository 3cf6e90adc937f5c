"""Files, export, model switching and closing: the main window's behaviour around the map."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QMessageBox

from tests.conftest import REPO_ROOT
from vae_explorer.core import latent
from vae_explorer.core.checkpoint import Checkpoint, save_checkpoint
from vae_explorer.core.models import registry
from vae_explorer.core.training.events import EpochDone, EpochStats
from vae_explorer.qt.image_views import qimage_to_array


def build_model(config, seed: int):
    return registry.build("mlp_vae", config, seed=seed)


@pytest.fixture
def other_checkpoint(tmp_path, shipped_checkpoint) -> Path:
    """A different (untrained) model with the shipped configuration, saved as a real file."""
    model = build_model(shipped_checkpoint.model_config, seed=123)
    return save_checkpoint(Checkpoint(model=model), tmp_path / "other.safetensors")


class MessageBoxRecorder:
    """Stands in for QMessageBox's static dialogs so no modal blocks the test."""

    def __init__(self, monkeypatch, answer=QMessageBox.StandardButton.Discard):
        self.calls: list[tuple[str, str, str]] = []
        for kind in ("critical", "warning", "information"):
            monkeypatch.setattr(QMessageBox, kind, self._record(kind))
        monkeypatch.setattr(QMessageBox, "question", self._record("question", answer))

    def _record(self, kind, answer=QMessageBox.StandardButton.Ok):
        def record(parent, title, text, *args, **kwargs):
            self.calls.append((kind, title, text))
            return answer
        return staticmethod(record)


def test_open_bad_checkpoint_shows_error_and_keeps_the_model(main_window, shipped_session, tmp_path, monkeypatch):
    boxes = MessageBoxRecorder(monkeypatch)
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"this is not a checkpoint at all")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(bad), "")))
    codes_before = main_window.latent_view.codes.copy()
    main_window.open_action.trigger()
    assert [(kind, title) for kind, title, _ in boxes.calls] == [("critical", "Cannot open checkpoint")]
    assert "broken.safetensors" in boxes.calls[0][2] and "current model stays open" in boxes.calls[0][2]
    assert main_window.session is shipped_session
    np.testing.assert_array_equal(main_window.latent_view.codes, codes_before)
    assert main_window.recent_files() == []


def test_open_checkpoint_switches_model_refreshes_views_and_remembers_it(main_window, other_checkpoint, qtbot,
                                                                       monkeypatch):
    MessageBoxRecorder(monkeypatch)
    main_window.pin(np.array([0.3, 0.2], np.float32))
    with qtbot.waitSignal(main_window.sessionChanged, timeout=5000) as changed:
        assert main_window.open_checkpoint(other_checkpoint)
    session = changed.args[0]
    assert main_window.session is session and session.checkpoint.path == other_checkpoint
    with torch.no_grad():
        mu = session.checkpoint.model.encode(session.data.images[:50]).mean
        pinned = session.checkpoint.model.decode(torch.tensor([[0.3, 0.2]])).numpy()[0]
    np.testing.assert_allclose(main_window.latent_view.codes[:50], mu.numpy(), atol=1e-5)
    np.testing.assert_allclose(main_window.pinned_panel.array, pinned, atol=1e-6)  # views follow the new model
    assert main_window.recent_files() == [str(other_checkpoint.resolve())]
    assert [a.text() for a in main_window.recent_menu.actions()] == ["&1 other.safetensors"]
    assert "other.safetensors" in main_window.windowTitle()


def test_save_checkpoint_as_writes_a_loadable_file(main_window, tmp_path, monkeypatch):
    from vae_explorer.core.checkpoint import load_checkpoint

    target = tmp_path / "saved"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    main_window.save_action.trigger()
    loaded = load_checkpoint(tmp_path / "saved.safetensors")
    for name, tensor in main_window.session.model.state_dict().items():
        torch.testing.assert_close(loaded.model.state_dict()[name], tensor)


def test_exports_write_pngs_and_csv_that_load_back(main_window, shipped_session, tmp_path, monkeypatch):
    MessageBoxRecorder(monkeypatch)
    main_window.pin(np.array([-0.5, 1.0], np.float32))
    main_window.interpolation_panel.set_endpoint("A", np.array([-1.0, 0.0]))
    main_window.interpolation_panel.set_endpoint("B", np.array([1.0, 0.5]))
    writers = {
        "decoded.png": (main_window.files.export_decoded_image, main_window.pinned_panel.array),
        "manifold.png": (main_window.files.export_manifold, main_window.manifold_panel.array),
        "strip.png": (main_window.files.export_interpolation, main_window.interpolation_panel.array),
        "samples.png": (main_window.files.export_samples, main_window.sampling_panel.array),
    }
    for name, (write, shown) in writers.items():
        write(str(tmp_path / name))
        image = QImage(str(tmp_path / name))
        assert not image.isNull(), name
        np.testing.assert_allclose(qimage_to_array(image), shown, atol=0.5 / 255 + 1e-6, err_msg=name)

    main_window.files.export_map(str(tmp_path / "map.png"))
    picture = QImage(str(tmp_path / "map.png"))
    assert picture.size() == main_window.latent_view.plot_widget.size()
    pixels = qimage_to_array(picture)
    assert pixels.std() > 0.02  # points and axes, not a blank image

    main_window.files.export_codes_csv(str(tmp_path / "codes.csv"))
    codes, labels = latent.read_codes_csv(tmp_path / "codes.csv")
    np.testing.assert_allclose(codes, shipped_session.latent_mu, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(labels, shipped_session.labels)
    header = (tmp_path / "codes.csv").read_text().splitlines()[0]
    assert header == "index,split,label,z1,z2,logvar1,logvar2"


def test_export_menu_reports_a_missing_pin_instead_of_writing(main_window, tmp_path, monkeypatch):
    boxes = MessageBoxRecorder(monkeypatch)
    target = tmp_path / "decoded.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    export_menu = next(a.menu() for a in main_window.menuBar().actions()[0].menu().actions() if a.menu()
                       and a.text() == "&Export")
    export_menu.actions()[0].trigger()
    assert boxes.calls and boxes.calls[0][0] == "critical" and "nothing is pinned" in boxes.calls[0][2]
    assert not target.exists()


def test_missing_data_folder_split_gives_a_message_and_keeps_the_test_split(qtbot, shipped_session, settings,
                                                                            tmp_path, monkeypatch):
    from vae_explorer.qt.main_window import MainWindow

    boxes = MessageBoxRecorder(monkeypatch)
    window = MainWindow(shipped_session, data_dir=str(tmp_path / "nothing-here"), settings=settings)
    qtbot.addWidget(window)
    assert window.split_combo.count() == 3
    assert not window.show_split("train")
    assert boxes.calls[0][1] == "Cannot show that split" and "nothing-here" in boxes.calls[0][2]
    assert window.session is shipped_session and window.split_combo.currentData() == "test"


def test_training_split_with_real_mnist(qtbot, shipped_session, settings, mnist_dir):
    from vae_explorer.qt.main_window import MainWindow

    window = MainWindow(shipped_session, data_dir=str(mnist_dir), settings=settings)
    qtbot.addWidget(window)
    assert window.show_split("train+test")
    assert len(window.latent_view.codes) == 70_000 == len(window.session.data)
    assert window.session.data.split == "train+test" and window.split_combo.currentData() == "train+test"
    np.testing.assert_array_equal(window.session.labels[-10_000:], shipped_session.labels)


def test_epoch_snapshot_previews_then_finished_model_becomes_the_explored_one(main_window, shipped_session,
                                                                              shipped_checkpoint, monkeypatch):
    boxes = MessageBoxRecorder(monkeypatch, answer=QMessageBox.StandardButton.Cancel)
    snapshot_model = build_model(shipped_checkpoint.model_config, seed=7).eval()
    with torch.no_grad():
        code = snapshot_model.encode(shipped_session.data.images)
    mu, logvar = code.mean.numpy(), code.logvar.numpy()
    stats = EpochStats(epoch=1, epochs=3, train={"loss": 150.0}, test=None, epoch_seconds=1.0, elapsed=1.0)
    # Without a display split core sends the stats alone: nothing to preview.
    main_window.training.on_epoch_snapshot(EpochDone(stats))
    assert main_window.session is shipped_session and main_window.shown is shipped_session
    main_window.training.on_epoch_snapshot(EpochDone(stats, snapshot_model, mu, logvar))  # as the panel sends it
    np.testing.assert_allclose(main_window.latent_view.codes, mu)
    np.testing.assert_allclose(main_window.shown.latent_logvar, logvar)  # no stale or missing variances
    assert main_window.statusBar().currentMessage() == "Training: epoch 1/3, map re-encoded"
    main_window.on_hover(np.array([0.1, 0.2], np.float32))
    with torch.no_grad():
        expected = snapshot_model.decode(torch.tensor([[0.1, 0.2]])).numpy()[0]
    np.testing.assert_allclose(main_window.hover_panel.array, expected, atol=1e-6)
    assert main_window.session is shipped_session  # still only a preview

    main_window.training.on_cancelled()
    np.testing.assert_array_equal(main_window.latent_view.codes, shipped_session.latent_mu)

    main_window.training.on_finished(Checkpoint(model=snapshot_model))
    assert main_window.session.model is not shipped_session.model and main_window.unsaved
    assert "unsaved" in main_window.windowTitle()
    main_window.close()  # the user answers Cancel: the window stays open
    assert boxes.calls[-1][0] == "question" and main_window.isVisible()
    main_window.unsaved = False  # pytest-qt closes the window before fixtures end: no save prompt then


def test_window_with_training_tab_closes_without_threads(qtbot, shipped_session, settings):
    from vae_explorer.qt.app import attach_training
    from vae_explorer.qt.main_window import MainWindow

    window = MainWindow(shipped_session, settings=settings)
    qtbot.addWidget(window)
    attach_training(window)
    assert [window.tool_tabs.tabText(window.tool_tabs.count() - i) for i in (2, 1)] == ["Training", "Replay"]
    window.show()
    assert window.close()


def test_vae_explorer_with_no_arguments_paints_the_shipped_map(tmp_path):
    """The real entry point in a real process: offscreen, no dialogs, exits after the first paint."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", VAE_EXPLORER_REPORT_FIRST_PAINT="1",
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path))
    result = subprocess.run([sys.executable, "-m", "vae_explorer"], cwd=REPO_ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
    assert float(lines["first-paint"]) < float(lines["interactive"]) < float(lines["ready"])
    assert lines["torch-at-first-paint"] == "False"  # the quick look paints before torch is imported
    assert lines["gaps"]  # the longest waits of the event loop, by stage, for benchmarks/gui_latency.py
    assert lines["modules"].split(",") == ["torchvision=False"]


def test_window_paints_a_quick_look_first_then_comes_alive(qtbot, shipped_session, settings):
    from vae_explorer.core.quickstart import quick_look
    from vae_explorer.core.resources import shipped_checkpoint_path
    from vae_explorer.qt.main_window import MainWindow

    quick = quick_look(shipped_checkpoint_path())
    window = MainWindow(None, settings=settings, quick_look=quick)
    qtbot.addWidget(window)
    window.show()
    assert window.loading and window.session is None
    np.testing.assert_array_equal(window.latent_view.codes, quick.codes)
    assert not window.open_action.isEnabled() and not window.tool_tabs.isEnabled()
    # Hovering already decodes (numpy, same weights); clicking waits for the real model.
    window.on_hover(np.array([0.5, -0.4], np.float32))
    np.testing.assert_allclose(window.hover_panel.array, shipped_session.decode(np.array([[0.5, -0.4]]))[0],
                               atol=1e-5)
    window.on_click(np.array([0.0, 0.0], np.float32), -1, Qt.KeyboardModifier.NoModifier)
    assert window.pinned is None

    with qtbot.waitSignal(window.sessionChanged, timeout=2000):
        window.finish_loading(shipped_session)
    assert not window.loading and window.open_action.isEnabled() and window.tool_tabs.isEnabled()
    np.testing.assert_array_equal(window.latent_view.codes, shipped_session.latent_mu)
    assert window.manifold_panel.array is not None
    window.on_hover(np.array([0.0, 0.0], np.float32))
    assert window.hover_panel.array is not None


@pytest.mark.parametrize("latent_dim", [1, 3])
def test_models_whose_latent_is_not_2d_are_explored_on_the_first_two_dims(main_window, shipped_checkpoint,
                                                                          latent_dim):
    from vae_explorer.core.config import replace

    config = replace(shipped_checkpoint.model_config, latent_dim=latent_dim, hidden_sizes=(32,))
    main_window.set_checkpoint(Checkpoint(model=build_model(config, seed=1)))
    session = main_window.session
    assert session.latent_mu.shape == (10_000, latent_dim)
    if latent_dim > 2:  # it opens on the two most used dimensions; choose the first two
        main_window.map_plane.controls.set_axes(0, 1)
    expected = np.zeros((10_000, 2), np.float32)
    expected[:, : min(2, latent_dim)] = session.latent_mu[:, :2]
    np.testing.assert_allclose(main_window.latent_view.codes, expected)
    main_window.on_hover(np.array([0.4, -0.3], np.float32))
    z = np.zeros((1, latent_dim), np.float32)
    z[0, : min(2, latent_dim)] = [0.4, -0.3][: min(2, latent_dim)]
    np.testing.assert_allclose(main_window.hover_panel.array, session.decode(z)[0], atol=1e-6)
    main_window.pick(0)
    assert len(main_window.latent_view.overlay_items("posterior")) == 3
    assert main_window.sampling_panel.z.shape[1] == latent_dim


def test_window_layout_comes_back_next_time(qtbot, shipped_session, settings):
    from vae_explorer.qt.main_window import MainWindow

    first = MainWindow(shipped_session, settings=settings)
    qtbot.addWidget(first)
    first.show()
    first.tool_dock.hide()
    assert first.close()
    # Sizes cannot be checked offscreen (its 800 x 600 screen clamps them); the saved state can.
    assert settings.value("windowGeometry") is not None
    second = MainWindow(shipped_session, settings=settings)
    qtbot.addWidget(second)
    second.show()
    assert not second.tool_dock.isVisible() and second.inspector_dock.isVisible()


def test_the_view_menu_hides_and_shows_the_inspector_and_the_tools(main_window):
    for dock in (main_window.inspector_dock, main_window.tool_dock):
        action = dock.toggleViewAction()
        assert action.isEnabled() and action.isChecked()
        action.trigger()
        assert not dock.isVisible() and not action.isChecked()
        action.trigger()
        assert dock.isVisible() and action.isChecked()


def test_z_zooms_onto_the_clicked_posterior_and_a_new_model_is_refitted(main_window, shipped_session, qtbot,
                                                                         tmp_path):
    from vae_explorer.core.checkpoint import save_checkpoint

    assert not main_window.zoom_to_posterior()  # nothing clicked yet: a note, no zoom
    main_window.pick(5)
    mu, sigma = shipped_session.posterior(5)
    qtbot.keyClick(main_window, Qt.Key.Key_Z)
    xmin, xmax, ymin, ymax = main_window.latent_view.visible_rect()
    assert xmin < mu[0] - 3.9 * sigma[0] and mu[0] + 3.9 * sigma[0] < xmax
    assert xmax - xmin < 20 * sigma[0] + 0.05  # the ellipses now fill much of the map
    # Opening another model refits the view to its codes, wherever they lie.
    wide = np.abs(shipped_session.latent_mu).max()
    main_window.latent_view.view_box.setRange(xRange=(40, 41), yRange=(40, 41), padding=0)
    path = save_checkpoint(main_window.session.checkpoint, tmp_path / "model.safetensors")
    assert main_window.open_checkpoint(path)
    xmin, xmax, ymin, ymax = main_window.latent_view.visible_rect()
    assert xmin < 0 < xmax and xmax - xmin > wide
