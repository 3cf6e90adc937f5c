"""The Impute tab driven by real mouse events: erase drags, presets, the Impute button, map clicks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPoint, Qt

from tests.qt import map_mouse
from vae_explorer.core import imputation as imp
from vae_explorer.core.checkpoint import Checkpoint
from vae_explorer.core.data import ImageSet
from vae_explorer.core.models import registry
from vae_explorer.core.models.vae import VAEConfig as MLPVAEConfig
from vae_explorer.core.session import ExplorerSession
from vae_explorer.qt.demo_panels import attach
from vae_explorer.qt.imputation_panel import (
    GRID_EXTENT,
    GRID_RESOLUTION,
    KEY_HEATMAP,
    KEY_MAP_POINT,
    KEY_PATH,
    METHOD_GRID,
    METHOD_ITERATIVE,
    METHOD_MAP,
    ImputationPanel,
)

LEFT, RIGHT = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton
NO_MOD = Qt.KeyboardModifier.NoModifier
MIDDLE = imp.MIDDLE_ROWS


class Overlays:
    """Records the overlay requests a panel emits, latest per key."""

    def __init__(self, panel: ImputationPanel):
        self.latest: dict[str, tuple] = {}
        self.cleared: list[str] = []
        panel.overlayPath.connect(lambda key, pts: self.latest.__setitem__(key, (np.array(pts),)))
        panel.overlayHeatmap.connect(lambda key, d, ext: self.latest.__setitem__(key, (np.array(d), ext)))
        panel.overlayMarker.connect(lambda key, z: self.latest.__setitem__(key, (np.array(z),)))
        panel.overlayCleared.connect(self._clear)

    def _clear(self, key: str) -> None:
        self.cleared.append(key)
        self.latest.pop(key, None)


@pytest.fixture
def panel(qtbot, shipped_session):
    widget = ImputationPanel(shipped_session)
    qtbot.addWidget(widget)
    widget.resize(430, 900)
    widget.show()
    qtbot.waitExposed(widget)
    widget.timer.setInterval(1)  # same stepping, less waiting
    return widget


def drag(qtbot, editor, start, end, button=LEFT, via=()):
    qtbot.mousePress(editor, button, NO_MOD, editor.cell_centre(*start))
    for cell in (*via, end):
        qtbot.mouseMove(editor, editor.cell_centre(*cell))
    qtbot.mouseRelease(editor, button, NO_MOD, editor.cell_centre(*end))


def run_by_button(qtbot, panel):
    qtbot.mouseClick(panel.impute_button, LEFT)
    qtbot.waitUntil(lambda: not panel.running, timeout=20000)


def test_erase_drag_in_rows_mode_erases_every_row_it_crosses(qtbot, panel, shipped_session):
    qtbot.mouseClick(panel.clear_mask_button, LEFT)
    assert not panel.mask.any()
    with qtbot.waitSignal(panel.editor.maskChanged) as blocker:
        drag(qtbot, panel.editor, (5, 3), (9, 20), via=[(7, 10), (12, 15)])  # wanders below, ends on row 9
    shape = shipped_session.model.image_shape
    assert panel.editor.image_shape == shape
    expected = imp.erase_rows(5, 9, shape)
    np.testing.assert_array_equal(panel.mask, expected)
    np.testing.assert_array_equal(blocker.args[0], expected)
    original = shipped_session.image(panel.index)
    np.testing.assert_array_equal(panel.original_tile.array, original)
    np.testing.assert_array_equal(panel.masked_tile.array, np.where(expected, 0.0, original))
    assert panel.masked_tile.caption.text() == f"{5 * shape[1]} px erased"


def test_rectangle_mode_and_right_drag_restore(qtbot, panel):
    qtbot.mouseClick(panel.clear_mask_button, LEFT)
    radio = panel.rect_radio
    qtbot.mouseClick(radio, LEFT, NO_MOD, QPoint(8, radio.height() // 2))  # on its indicator
    assert panel.editor.mode == panel.editor.MODE_RECTANGLE
    drag(qtbot, panel.editor, (12, 14), (4, 6))
    np.testing.assert_array_equal(panel.mask, imp.erase_rectangle(4, 6, 12, 14, panel.image_shape))
    drag(qtbot, panel.editor, (4, 6), (6, 14), button=RIGHT)  # restore the top three rows of it
    np.testing.assert_array_equal(panel.mask, imp.erase_rectangle(7, 6, 12, 14, panel.image_shape))
    # A drag that leaves the widget is clamped to the edge, not an error.
    editor = panel.editor
    qtbot.mousePress(editor, LEFT, NO_MOD, editor.cell_centre(20, 20))
    qtbot.mouseMove(editor, editor.rect().bottomRight() + editor.rect().bottomRight())
    qtbot.mouseRelease(editor, LEFT, NO_MOD, editor.rect().bottomRight() + editor.rect().bottomRight())
    assert panel.mask[20:, 20:].all()


def test_preset_buttons_set_the_named_masks(qtbot, panel):
    for name, button in panel.preset_buttons.items():
        qtbot.mouseClick(button, LEFT)
        np.testing.assert_array_equal(panel.mask, imp.preset_mask(name, panel.image_shape))
        np.testing.assert_array_equal(panel.masked_tile.array, imp.apply_mask(panel.original, panel.mask))


def test_impute_button_runs_the_iterative_method_step_by_step(qtbot, panel, shipped_session):
    overlays = Overlays(panel)
    panel.choose_image(7)
    assert panel.preset_buttons[MIDDLE].text() == "Rows 10–17"  # MNIST's rows for a 28-high image
    qtbot.mouseClick(panel.preset_buttons[MIDDLE], LEFT)
    panel.steps_spin.setValue(6)
    panel.timer.setInterval(30)
    qtbot.mouseClick(panel.impute_button, LEFT)
    # Mid-run: the first step is on screen, the run is still going, Impute waits for Stop.
    assert panel.running and panel.stop_button.isEnabled() and not panel.impute_button.isEnabled()
    assert overlays.latest[KEY_PATH][0].shape == (1, 2)
    qtbot.waitUntil(lambda: not panel.running, timeout=10000)

    original, mask = shipped_session.image(7), imp.preset_mask(MIDDLE, panel.image_shape)
    expected = list(imp.iterative_imputation(shipped_session.model, original, mask, steps=6))
    np.testing.assert_allclose(panel.imputed_tile.array, expected[-1].image, atol=1e-6)
    np.testing.assert_array_equal(panel.imputed_tile.array[~mask], original[~mask])
    np.testing.assert_allclose(overlays.latest[KEY_PATH][0], np.stack([s.z for s in expected]), atol=1e-6)
    np.testing.assert_allclose(panel.error_tile.array, np.abs(expected[-1].image - original) * mask, atol=1e-6)
    error = imp.erased_mse(panel.imputed_tile.array, original, mask)
    assert error < imp.erased_mse(imp.apply_mask(original, mask), original, mask)
    assert f"{error:.4f}" in panel.status_label.text() and panel.status_label.text().startswith("Done.")
    for tile in panel.sample_tiles:
        np.testing.assert_array_equal(tile.array[~mask], original[~mask])
    assert panel.uncertainty_tile.array[~mask].max() == 0
    assert not panel.map_tile.isVisible()


def test_grid_posterior_run_shows_heatmap_mean_map_point_and_samples(qtbot, panel, shipped_session):
    overlays = Overlays(panel)
    panel.choose_image(3)
    qtbot.mouseClick(panel.preset_buttons["Top half"], LEFT)
    panel.set_method(METHOD_GRID)
    heatmaps = []
    panel.overlayHeatmap.connect(lambda key, density, extent: heatmaps.append(density))
    run_by_button(qtbot, panel)

    original, mask = shipped_session.image(3), imp.preset_mask("Top half", panel.image_shape)
    grid = imp.LatentGrid(shipped_session.model, GRID_EXTENT, GRID_RESOLUTION).build()
    coarse = imp.grid_posterior(grid, original, mask)
    posterior = imp.refined(coarse)  # half the rows seen: narrow enough for the fine grid
    assert posterior is not coarse
    density, extent = overlays.latest[KEY_HEATMAP]
    assert extent == pytest.approx(posterior.grid.bounds, abs=1e-5) and extent[1] - extent[0] < GRID_EXTENT
    np.testing.assert_allclose(density, posterior.probabilities, atol=1e-6)
    assert density.sum() == pytest.approx(1.0, abs=1e-4)
    assert len(heatmaps) == 1 + 14 + 1  # the prior, one per observed row, then the refined grid
    np.testing.assert_allclose(panel.imputed_tile.array, posterior.mean_image, atol=1e-5)
    np.testing.assert_allclose(panel.map_tile.array, posterior.map_image, atol=1e-5)
    np.testing.assert_allclose(overlays.latest[KEY_MAP_POINT][0], posterior.map_z, atol=1e-5)
    np.testing.assert_allclose(panel.uncertainty_tile.array, posterior.uncertainty, atol=1e-4)
    assert panel.uncertainty_tile.array[mask].max() > 0
    for tile in panel.sample_tiles:
        np.testing.assert_array_equal(tile.array[~mask], original[~mask])
    assert panel.map_tile.isVisible()
    # A second run reuses the decoded grid: no "Decoding" steps, straight to the prior.
    heatmaps.clear()
    run_by_button(qtbot, panel)
    assert len(heatmaps) == 16


def test_gradient_map_run_keeps_observed_pixels_and_draws_its_path(qtbot, panel, shipped_session):
    overlays = Overlays(panel)
    panel.set_method(METHOD_MAP)
    qtbot.mouseClick(panel.preset_buttons["Bottom half"], LEFT)
    run_by_button(qtbot, panel)
    original, mask = shipped_session.image(panel.index), imp.preset_mask("Bottom half", panel.image_shape)
    np.testing.assert_array_equal(panel.imputed_tile.array[~mask], original[~mask])
    assert overlays.latest[KEY_PATH][0].shape[0] >= 2
    assert imp.erased_mse(panel.imputed_tile.array, original, mask) < imp.erased_mse(
        imp.apply_mask(original, mask), original, mask)


def test_stop_new_image_and_nothing_erased(qtbot, panel, shipped_session):
    overlays = Overlays(panel)
    panel.steps_spin.setValue(400)
    panel.timer.setInterval(50)
    qtbot.mouseClick(panel.impute_button, LEFT)
    assert panel.running
    qtbot.mouseClick(panel.stop_button, LEFT)
    assert not panel.running and panel.impute_button.isEnabled()
    assert panel.imputed_tile.array is not None  # what was reached stays on screen
    panel.index_spin.setValue(11)
    np.testing.assert_array_equal(panel.original_tile.array, shipped_session.image(11))
    assert panel.imputed_tile.array is None and KEY_PATH not in overlays.latest
    qtbot.mouseClick(panel.clear_mask_button, LEFT)
    qtbot.mouseClick(panel.impute_button, LEFT)
    assert not panel.running and "Nothing is erased" in panel.status_label.text()
    qtbot.mouseClick(panel.random_button, LEFT)
    np.testing.assert_array_equal(panel.original_tile.array, shipped_session.image(panel.index_spin.value()))


@pytest.mark.parametrize("latent_dim", [1, 3])
def test_other_latent_sizes_get_iterative_and_map_drawn_on_the_map_plane(qtbot, bundled_test_set, latent_dim):
    model = registry.build("mlp_vae", MLPVAEConfig(hidden_sizes=(32,), latent_dim=latent_dim), seed=0)
    session = ExplorerSession.create(Checkpoint(model=model), bundled_test_set.subset(50))
    widget = ImputationPanel(session)
    qtbot.addWidget(widget)
    widget.show()
    overlays = Overlays(widget)
    combo = widget.method_combo
    assert not combo.model().item(combo.findData(METHOD_GRID)).isEnabled()
    assert combo.currentData() == METHOD_ITERATIVE
    assert widget.index_spin.maximum() == 49
    for method in (METHOD_ITERATIVE, METHOD_MAP):
        widget.set_method(method)
        widget.start_imputation()
        widget.run_to_end()
        assert widget.result is not None and widget.result.shape == session.model.image_shape
        path = overlays.latest[KEY_PATH][0]
        assert path.shape[1] == 2
        if latent_dim == 1:
            assert (path[:, 1] == 0).all()  # a 1-D latent lies on the z1 axis of the map


def test_in_the_main_window_a_map_click_picks_the_image_and_runs_draw_on_the_map(
        qtbot, main_window, shipped_session):
    panel, _ = attach(main_window)
    main_window.tool_tabs.setCurrentWidget(panel)
    index = 42
    map_mouse.click(main_window.latent_view, shipped_session.latent_mu[index])
    picked = main_window.picked_index
    assert picked is not None and panel.index == picked
    np.testing.assert_array_equal(panel.original_tile.array, shipped_session.image(picked))

    panel.timer.setInterval(1)
    panel.set_method(METHOD_GRID)
    run_by_button(qtbot, panel)
    view = main_window.latent_view
    assert {KEY_HEATMAP, KEY_MAP_POINT} <= set(view.overlay_keys())
    heat = view.overlay_items(KEY_HEATMAP)[0].image
    assert heat.shape in {(GRID_RESOLUTION, GRID_RESOLUTION), (imp.REFINED_CELLS, imp.REFINED_CELLS)}
    assert np.isnan(heat).any() and np.isfinite(heat).any()
    # Zoom map: fits the view around the likely cells, the MAP point included.
    marker = view.overlay_items(KEY_MAP_POINT)[0].data
    map_z = (marker["x"][0], marker["y"][0])
    qtbot.mouseClick(panel.zoom_button, LEFT)
    xmin, xmax, ymin, ymax = view.visible_rect()
    assert xmin < map_z[0] < xmax and ymin < map_z[1] < ymax
    assert xmax - xmin < 4.0 and ymax - ymin < 4.0
    # Another tab hides this tab's drawings; coming back brings them back.
    main_window.tool_tabs.setCurrentWidget(main_window.drawing_panel)
    assert not {KEY_HEATMAP, KEY_MAP_POINT} & set(view.overlay_keys())
    main_window.tool_tabs.setCurrentWidget(panel)
    assert {KEY_HEATMAP, KEY_MAP_POINT} <= set(view.overlay_keys())
    np.testing.assert_array_equal(view.overlay_items(KEY_HEATMAP)[0].image, heat)
    panel.set_method(METHOD_ITERATIVE)
    panel.steps_spin.setValue(4)
    run_by_button(qtbot, panel)
    path = view.overlay_items(KEY_PATH)[0]
    assert len(path.xData) == 4
    assert KEY_HEATMAP not in view.overlay_keys()  # a new run clears the old overlays


def test_the_editor_presets_and_results_follow_the_models_image_shape(qtbot, bundled_test_set):
    shape = (20, 16)
    config = MLPVAEConfig(hidden_sizes=(16,), image_shape=shape)
    model = registry.build("mlp_vae", config, seed=0)
    images = bundled_test_set.images[:30].reshape(-1, 28, 28)[:, 4:24, 6:22]  # any images of that shape
    data = ImageSet(images.reshape(30, -1).contiguous(), bundled_test_set.labels[:30], "mnist", "test", shape)
    widget = ImputationPanel(ExplorerSession.create(Checkpoint(model=model), data))
    qtbot.addWidget(widget)
    widget.show()
    assert widget.editor.image_shape == shape and widget.mask.shape == shape
    np.testing.assert_array_equal(widget.mask, imp.preset_mask(MIDDLE, shape))
    first, last = imp.preset_rows(MIDDLE, shape[0])
    assert widget.preset_buttons[MIDDLE].text() == f"Rows {first}–{last}"
    qtbot.mouseClick(widget.preset_buttons["Bottom half"], LEFT)
    np.testing.assert_array_equal(widget.mask, imp.erase_rows(10, 19, shape))
    drag(qtbot, widget.editor, (0, 0), (1, 15))
    assert widget.mask[:2].all() and widget.mask[10:].all() and not widget.mask[2:10].any()
    for method in (METHOD_ITERATIVE, METHOD_GRID, METHOD_MAP):
        widget.set_method(method)
        widget.start_imputation()
        widget.run_to_end()
        assert widget.result is not None and widget.result.shape == shape, method
        np.testing.assert_array_equal(widget.result[~widget.mask], widget.original[~widget.mask])


def test_methods_a_model_cannot_run_are_greyed_and_explained(qtbot, bundled_test_set):
    from tests.core.test_imputation import CodeOnly

    torch.manual_seed(0)
    session = ExplorerSession.create(Checkpoint(model=CodeOnly().eval()), bundled_test_set.subset(20))
    widget = ImputationPanel(session)
    qtbot.addWidget(widget)
    widget.show()
    combo = widget.method_combo
    for method in (METHOD_GRID, METHOD_MAP):
        item = combo.model().item(combo.findData(method))
        assert not item.isEnabled() and "no pixel likelihood" in item.toolTip()
    widget.start_imputation()  # the iterative method needs only encode and decode
    widget.run_to_end()
    assert widget.result is not None and widget.status_label.text().startswith("Done.")
    assert "no posterior" in widget.samples_label.text()
    widget.set_method(METHOD_MAP)  # forced past the greyed item: a short note, not a traceback
    widget.start_imputation()
    widget.run_to_end()
    assert widget.status_label.text().startswith("Not available for this model:")
    assert "no pixel likelihood" in widget.status_label.text()


def test_a_conditional_model_imputes_a_digit_told_its_own_class(qtbot, bundled_test_set):
    from vae_explorer.core.checkpoint import Checkpoint
    from vae_explorer.core.models import registry
    from vae_explorer.core.models.base import WithClass
    from vae_explorer.core.session import ExplorerSession

    kind = registry.get_kind("conditional_vae")
    model = registry.build("conditional_vae", kind.Config(hidden_sizes=(16,)), seed=0).eval()
    session = ExplorerSession.create(Checkpoint(model=model), bundled_test_set.subset(30))
    session.condition = 0  # the map decodes zeros; the imputed digit still gets its own class
    widget = ImputationPanel(session)
    qtbot.addWidget(widget)
    widget.show()
    widget.timer.setInterval(1)
    index = int(np.flatnonzero(session.labels != 0)[0])
    widget.choose_image(index)
    qtbot.mouseClick(widget.preset_buttons[MIDDLE], LEFT)
    widget.steps_spin.setValue(3)
    run_by_button(qtbot, widget)
    mask = imp.preset_mask(MIDDLE, widget.image_shape)
    own = WithClass(model, int(session.labels[index]))
    expected = list(imp.iterative_imputation(own, session.image(index), mask, steps=3))[-1].image
    np.testing.assert_allclose(widget.imputed_tile.array, expected, atol=1e-6)


def test_switching_method_clears_the_last_runs_status(qtbot, panel):
    run_by_button(qtbot, panel)  # iterative, the default
    assert panel.status_label.text().startswith("Done. Iterative round")
    panel.set_method(METHOD_GRID)
    text = panel.status_label.text()
    assert "Iterative" not in text and "Done" not in text and "MSE" not in text
    assert text == f"Press Impute to run {imp_title(METHOD_GRID)}."


def imp_title(method: str) -> str:
    from vae_explorer.qt.imputation_panel import METHOD_TITLES

    return METHOD_TITLES[method]


def test_the_grid_status_reads_as_a_sentence(qtbot, panel):
    panel.choose_image(3)
    qtbot.mouseClick(panel.preset_buttons["Top half"], LEFT)
    panel.set_method(METHOD_GRID)
    seen, show = [], panel.status_label.setText
    panel.status_label.setText = lambda text: (seen.append(text), show(text))  # every line the user reads
    run_by_button(qtbot, panel)
    seen = [t for t in seen if t.startswith("Grid posterior")]
    assert seen[0].startswith("Grid posterior from the prior alone")
    assert any(t.startswith("Grid posterior from the observed pixels of rows 0–") for t in seen)
    final = panel.status_label.text()
    assert "taken in" not in final and "  " not in final
    assert final.startswith("Done. Grid posterior from all observed rows, on a fine 64×64 grid")
    assert " · MSE on erased pixels " in final


def test_the_fine_grid_is_decoded_over_several_ticks_with_its_progress_shown(qtbot, panel):
    """Decoding the 64 x 64 fine grid at once took ~0.2 s on one core: too long for one GUI tick."""
    panel.choose_image(3)
    qtbot.mouseClick(panel.preset_buttons["Top half"], LEFT)
    panel.set_method(METHOD_GRID)
    run_by_button(qtbot, panel)  # decodes the coarse grid once; the second run is the one watched
    seen, show = [], panel.status_label.setText
    panel.status_label.setText = lambda text: (seen.append(text), show(text))
    ticks = []
    panel.timer.timeout.connect(lambda: ticks.append(panel.status_label.text()))
    run_by_button(qtbot, panel)
    refining = [t for t in seen if t.startswith("Refining onto a fine grid over the posterior's mass… ")]
    assert len(refining) >= 4 and refining[-1].endswith("100%")
    assert sum(t.startswith("Refining") for t in ticks) >= 4  # each shown on its own tick
    assert panel.status_label.text().startswith("Done. Grid posterior from all observed rows, on a fine 64×64")


@pytest.mark.parametrize("method", [METHOD_ITERATIVE, METHOD_GRID, METHOD_MAP])
def test_every_pixel_erased_imputes_from_nothing_without_error(qtbot, panel, method):
    panel.set_mask(np.ones(panel.image_shape, dtype=bool))
    panel.set_method(method)
    panel.steps_spin.setValue(20)
    qtbot.mouseClick(panel.impute_button, LEFT)
    panel.run_to_end()
    result = panel.imputed_tile.array
    assert result is not None and np.isfinite(result).all() and 0 <= result.min() and result.max() <= 1
    assert "MSE on erased pixels" in panel.status_label.text() or "grid" in panel.status_label.text()
