"""The tool tabs that belong to some kinds (classes, codes, decoder comparison), the shipped-models
menu, and a model of another dataset shown on its own data."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from tests.qt.map_mouse import click, hover
from vae_explorer.core.checkpoint import Checkpoint, save_checkpoint
from vae_explorer.core.models import registry
from vae_explorer.core.resources import shipped_models
from vae_explorer.core.session import ExplorerSession
from vae_explorer.qt import kind_panels


def session_of(kind: str, data, count: int = 500, dataset: str = "mnist", **config) -> ExplorerSession:
    model = registry.build(kind, registry.get_kind(kind).Config(**config), seed=1).eval()
    return ExplorerSession.create(Checkpoint(model=model, dataset=dataset), data.subset(count))


def open_window(qtbot, session, settings, data_dir=None):
    from vae_explorer.qt.main_window import MainWindow

    window = MainWindow(session, settings=settings, data_dir=data_dir)
    kind_panels.attach(window)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    return window


def tab_visible(window, panel) -> bool:
    return window.tool_tabs.isTabVisible(window.tool_tabs.indexOf(panel))


def test_kind_tabs_hide_for_a_plain_vae_and_explain_why(main_window):
    classes, codes, compare = kind_panels.attach(main_window)
    assert not tab_visible(main_window, classes) and not tab_visible(main_window, codes)
    assert tab_visible(main_window, compare)
    assert "not conditional" in classes.note.text() and "no discrete codes" in codes.note.text()


def test_the_class_picker_changes_what_the_map_decodes_and_a_click_shows_every_class(
        qtbot, bundled_test_set, settings):
    session = session_of("conditional_vae", bundled_test_set, hidden_sizes=(16,))
    window = open_window(qtbot, session, settings)
    classes = window.conditional_panel
    assert tab_visible(window, classes)
    assert classes.class_combo.count() == 10
    xmin, xmax, ymin, ymax = window.latent_view.visible_rect()
    spot = np.array([xmin + 0.3 * (xmax - xmin), ymin + 0.6 * (ymax - ymin)], np.float32)
    before = window.decode_2d(spot)[0]
    classes.class_combo.setCurrentIndex(7)
    assert window.session.condition == 7
    after = window.decode_2d(spot)[0]
    assert not np.allclose(before, after)  # same z, another class
    np.testing.assert_allclose(after, session.decode(spot[None], 7)[0])
    hovered = hover(window.latent_view, spot)
    np.testing.assert_allclose(window.hover_panel.array, session.decode(hovered[None], 7)[0], atol=1e-6)
    # A click on an empty spot pins it; the style sheet decodes that z as each of the ten classes.
    empty = np.array([25.0, 25.0], np.float32)
    window.latent_view.view_box.setRange(xRange=(20, 30), yRange=(20, 30), padding=0)
    clicked = click(window.latent_view, empty)
    sheet = classes.array
    h, w = session.model.image_shape
    assert sheet.shape == (2 * h + 1, 5 * w + 4)
    z = window.pinned_z
    np.testing.assert_allclose(z, clicked, atol=1e-5)
    expected = session.decode(np.repeat(z[None], 10, 0), np.arange(10))
    np.testing.assert_allclose(sheet[:h, w + 1 : 2 * w + 1], expected[1], atol=1e-6)
    # The keyboard steps through the classes.
    window.activateWindow()  # shortcuts belong to the active window
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.keyClick(window, Qt.Key.Key_BracketRight, Qt.KeyboardModifier.ControlModifier)
    assert window.session.condition == 8


def test_codes_tab_edits_one_code_and_the_decode_changes_near_it_only(qtbot, bundled_test_set, settings):
    session = session_of("vq_vae", bundled_test_set, codebook_size=16, embedding_dim=4)
    window = open_window(qtbot, session, settings)
    codes = window.codes_panel
    assert tab_visible(window, codes)
    assert "Perplexity" in codes.usage_label.text() and codes.usage.sum() > 0
    window.dataPointPicked.emit(3)
    assert codes.image_index == 3 and codes.table.rowCount() == session.model.code_grid_shape[0]
    before = codes.edited.array.copy()
    codes.table.setCurrentCell(0, 0)
    new_code = (int(codes.codes[0, 0]) + 5) % 16
    codes.code_spin.setValue(new_code)
    assert codes.codes[0, 0] == new_code
    after = codes.edited.array
    changed = np.abs(after - before) > 1e-6
    assert changed.any()
    assert not changed[16:, 16:].any()  # far from the top-left cell nothing moves
    assert "1 code(s) changed" in codes.edited.caption.text()
    with pytest.raises(ValueError, match="codes run from 0 to 15"):
        codes.set_code(0, 0, 16)
    codes.reset_codes()
    np.testing.assert_allclose(codes.edited.array, before)
    assert codes.samples.array is not None


def test_a_vae_gan_is_compared_with_the_shipped_vae_on_the_same_z(qtbot, bundled_test_set, settings):
    session = session_of("vae_gan", bundled_test_set, hidden_sizes=(16,))
    window = open_window(qtbot, session, settings)
    compare = window.compare_panel
    assert compare.other is not None and compare.other.latent_dim == 2
    assert "VAE-GAN" in compare.note.text() or "discriminator" in compare.note.text()
    z = np.array([0.5, 0.5], np.float32)
    window.zPinned.emit(z)
    np.testing.assert_allclose(compare.mine.array, session.decode(z[None])[0], atol=1e-6)
    assert compare.theirs.array is not None and "crispness" in compare.theirs.caption.text()
    assert compare.samples.array.shape[0] == 2 * 28 + 1


def test_the_file_menu_lists_the_shipped_models_and_opens_them(main_window):
    titles = [action.text() for action in main_window.shipped_menu.actions()]
    assert titles == [title for title, _ in shipped_models()]
    assert len(titles) >= 2
    twenty = next(a for a in main_window.shipped_menu.actions() if "20-D" in a.text())
    twenty.trigger()
    assert main_window.session.latent_dim == 20
    assert main_window.map_plane.controls.isVisible()


def test_a_model_of_another_dataset_is_shown_on_its_own_test_split(
        qtbot, bundled_test_set, settings, tmp_path, tiny_dataset, monkeypatch):
    window = open_window(qtbot, ExplorerSession.create(
        Checkpoint(model=registry.build("vae", registry.get_kind("vae").Config(hidden_sizes=(8,)), seed=0)),
        bundled_test_set.subset(200)), settings)
    fashion = Checkpoint(model=registry.build("vae", registry.get_kind("vae").Config(hidden_sizes=(8,)), seed=0),
                         dataset="fashion_mnist")
    path = save_checkpoint(fashion, tmp_path / "fashion.safetensors")
    messages = []
    monkeypatch.setattr(QMessageBox, "critical", lambda *args: messages.append(args[2]))
    assert not window.open_checkpoint(path)  # no data folder: a clear message, the model stays
    assert "Fashion-MNIST" in messages[-1] and "--data-dir" in messages[-1]
    assert window.session.data.name == "mnist"
    root, _ = tiny_dataset("fashion_mnist", sizes={"train": 8, "test": 12})
    window.set_data_dir(str(root))
    assert window.open_checkpoint(path)
    assert window.session.data.name == "fashion_mnist" and len(window.session.data) == 12
    legend = [label.text for _, label in window.latent_view.legend.items]
    assert any("Ankle boot" in text for text in legend)
