"""The tool tabs that belong to some kinds (classes, codes, decoder comparison), the shipped-models
menu, and a model of another dataset shown on its own data."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from tests.qt.map_mouse import click, hover
from tests.qt.test_planes import lonely_point
from vae_explorer.core.checkpoint import Checkpoint, save_checkpoint
from vae_explorer.core.models import registry
from vae_explorer.core.resources import shipped_models
from vae_explorer.core.session import ExplorerSession
from vae_explorer.qt import conditional_panel, kind_panels


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
    gap = conditional_panel.GAP
    assert sheet.shape == (2 * h + gap, 5 * w + 4 * gap)
    z = window.pinned_z
    np.testing.assert_allclose(z, clicked, atol=1e-5)
    expected = session.decode(np.repeat(z[None], 10, 0), np.arange(10))
    np.testing.assert_allclose(sheet[:h, w + gap : 2 * w + gap], expected[1], atol=1e-6)
    np.testing.assert_allclose(sheet[h + gap :, w + gap : 2 * w + gap], expected[6], atol=1e-6)
    assert classes.sheet.chosen == 7 and classes.sheet.names[6] == "6"  # tiles named, the map's class marked
    assert "pinned point" in classes.caption.text()
    # A clicked data point shows its own style (its posterior mean, given its class) as every class.
    window.latent_view.view_box.autoRange()
    index = lonely_point(window.latent_view)
    click(window.latent_view, window.latent_view.codes[index])
    assert window.picked_index == index
    mean = session.posterior(index)[0]
    np.testing.assert_allclose(classes.z, mean, atol=1e-6)
    np.testing.assert_allclose(classes.array[:h, :w], session.decode(mean[None], 0)[0], atol=1e-6)
    assert f"data point #{index}" in classes.caption.text()
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
    assert not codes.code_spin.isEnabled()  # no cell chosen yet
    codes.table.setCurrentCell(0, 0)
    grid = session.model.code_grid_shape
    assert codes.code_spin.isEnabled() and codes.original.canvas.cell == (0, 0, *grid)
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


def test_the_compare_tab_reconstructs_a_clicked_image_by_both_models(qtbot, bundled_test_set, settings):
    session = session_of("vae_gan", bundled_test_set, hidden_sizes=(16,))
    window = open_window(qtbot, session, settings)
    compare = window.compare_panel
    other = compare.other
    assert "own latent space" in compare.note.text()
    window.latent_view.view_box.autoRange()
    index = lonely_point(window.latent_view)
    click(window.latent_view, window.latent_view.codes[index])
    assert compare.index == index and f"Data point #{index}" in compare.subject.text()
    np.testing.assert_allclose(compare.mine.array, session.reconstruct(index), atol=1e-6)
    import torch

    with torch.no_grad():
        mean = other.encode(other.rows(session.image(index))).mean
        expected = other.decode(mean)[0].numpy()
    np.testing.assert_allclose(compare.theirs.array, expected, atol=1e-6)
    assert compare.mine.caption.text().startswith("crispness")
    # No second model: the other side says what to do.
    compare.choose(0)
    assert compare.other is None and compare.theirs.array is None and compare.samples.array is None
    assert compare.samples.isHidden()
    # A model of another latent size cannot share a z: said, its entry greyed, back to none.
    combo = compare.model_combo
    twenty = next(i for i in range(combo.count()) if "20-D" in combo.itemText(i))
    assert not compare.choose(twenty)
    assert "latent size" in compare.other_label.text() and combo.currentIndex() == 0
    assert not combo.model().item(twenty).isEnabled()


def test_a_new_model_keeps_the_clicked_image_and_takes_a_pin_of_its_own_size(
        qtbot, bundled_test_set, settings, tmp_path):
    window = open_window(qtbot, session_of("conditional_vae", bundled_test_set, hidden_sizes=(16,)), settings)
    window.latent_view.view_box.setRange(xRange=(20, 30), yRange=(20, 30), padding=0)
    click(window.latent_view, np.array([25.0, 25.0], np.float32))
    assert window.pinned_z is not None and "pinned point" in window.conditional_panel.caption.text()
    window.latent_view.view_box.autoRange()
    index = lonely_point(window.latent_view)
    click(window.latent_view, window.latent_view.codes[index])
    # A class change redraws the map (and pins the same z again): the sheet stays on the data point.
    window.conditional_panel.class_combo.setCurrentIndex(3)
    assert window.conditional_panel.index == index and window.compare_panel.index == index
    # A VQ-VAE (another latent size): the Codes tab opens on the image the inspector shows.
    vq = registry.build("vq_vae", registry.get_kind("vq_vae").Config(codebook_size=8, embedding_dim=4), seed=0)
    path = save_checkpoint(Checkpoint(model=vq), tmp_path / "vq.safetensors")
    assert window.open_checkpoint(path)
    assert window.picked_index == index and window.codes_panel.image_index == index
    assert f"#{index}" in window.codes_panel.original.caption.text()
    assert window.compare_panel.index == index
    np.testing.assert_allclose(window.compare_panel.mine.array, window.session.reconstruct(index), atol=1e-6)


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


def test_prior_samples_of_a_plain_autoencoder_say_why_they_look_like_no_digit(qtbot, bundled_test_set, settings):
    window = open_window(qtbot, session_of("autoencoder", bundled_test_set, hidden_sizes=(16,)), settings)
    note = window.sampling_panel.note
    assert note.isVisibleTo(window.sampling_panel) and "N(0, I)" in note.text()
    assert window.sampling_panel.array is not None  # the samples are still drawn
    window.set_checkpoint(Checkpoint(model=registry.build(
        "vae", registry.get_kind("vae").Config(hidden_sizes=(8,)), seed=0)))
    assert not note.isVisibleTo(window.sampling_panel)
