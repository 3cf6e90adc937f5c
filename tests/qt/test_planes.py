"""Latents above 2-D in the explorer window: the plane controls, the map through a plane, traversals."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog

from tests.qt.map_mouse import click, hover
from tests.qt.test_drawing_panel import SEVEN, stroke
from vae_explorer.core import latent
from vae_explorer.core import plane as planes
from vae_explorer.core.checkpoint import Checkpoint
from vae_explorer.core.models import registry
from vae_explorer.core.session import ExplorerSession
from vae_explorer.qt.drawing_panel import KEY_POSTERIOR
from vae_explorer.qt.image_views import qimage_to_array
from vae_explorer.qt.plane_controls import MODE_PRINCIPAL

LEFT = Qt.MouseButton.LeftButton


def small_session(data, latent_dim: int, count: int = 2000) -> ExplorerSession:
    config = registry.get_kind("vae").Config(hidden_sizes=(16,), latent_dim=latent_dim)
    return ExplorerSession.create(Checkpoint(model=registry.build("vae", config, seed=3)), data.subset(count))


@pytest.fixture(scope="module")
def session5(bundled_test_set) -> ExplorerSession:
    return small_session(bundled_test_set, 5)


def open_window(qtbot, session, settings):
    from vae_explorer.qt.main_window import MainWindow

    window = MainWindow(session, settings=settings)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    return window


@pytest.fixture
def window5(qtbot, session5, settings):
    window = open_window(qtbot, session5, settings)
    window.map_plane.controls.set_axes(0, 1)  # the tests below start from z1 x z2
    return window


def plane_title(window) -> str:
    """The line above the map that says which plane it shows."""
    item = window.latent_view.plot_item.titleLabel
    return item.text if item.isVisible() else ""


def choose(qtbot, combo, index: int) -> None:
    """Pick an item from the keyboard: open the list (Alt+Down), walk to the item, Enter."""
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    view = combo.view()
    qtbot.waitUntil(view.isVisible)
    qtbot.keyClick(view, Qt.Key.Key_Home)
    for _ in range(index):
        qtbot.keyClick(view, Qt.Key.Key_Down)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not view.isVisible())
    assert combo.currentIndex() == index


def press_down(qtbot, combo) -> None:
    """The keyboard way: focus the combo and step to the next item."""
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Down)


def lonely_point(view) -> int:
    """A visible data point far from the others on the map, so a click on it picks it and nothing else."""
    codes = view.codes
    xmin, xmax, ymin, ymax = view.visible_rect()
    legend = view.legend.sceneBoundingRect().adjusted(-10, -10, 10, 10)
    candidates = np.arange(0, len(codes), 5)
    gaps = np.array([np.partition(np.linalg.norm(codes - codes[i], axis=1), 1)[1] for i in candidates])
    for index in candidates[np.argsort(-gaps)]:
        x, y = (float(v) for v in codes[index])
        if xmin < x < xmax and ymin < y < ymax and not legend.contains(view.view_box.mapViewToScene(QPointF(x, y))):
            return int(index)
    pytest.fail("no lonely point on screen")


def empty_spot(view) -> np.ndarray:
    xmin, xmax, ymin, ymax = view.visible_rect()
    for z in latent.grid_points(xmin, xmax, ymin, ymax, 25, 25):
        if view.nearest_point(z, radius_px=20) is None:
            return z
    pytest.fail("no empty spot on the map")


def test_plane_controls_show_only_for_latents_above_two_dims(qtbot, session5, settings, main_window):
    window5 = open_window(qtbot, session5, settings)
    controls = window5.map_plane.controls
    assert controls.isVisible()
    assert [controls.x_combo.itemText(i) for i in range(controls.x_combo.count())] == ["z1", "z2", "z3", "z4", "z5"]
    # A VAE opens on the two dimensions it uses most (the largest mean KL over the shown data).
    kl = latent.kl_per_dimension(session5.latent_mu, session5.latent_logvar)
    x, y = (int(i) for i in np.argsort(-kl, kind="stable")[:2])
    assert controls.axes == (x, y)
    assert [k for k, slider in enumerate(controls.sliders) if slider.isVisible()] == sorted(set(range(5)) - {x, y})
    np.testing.assert_array_equal(window5.latent_view.codes, session5.latent_mu[:, [x, y]])
    assert f"plane z{x + 1} × z{y + 1}, others at 0" in plane_title(window5)
    controls.set_axes(0, 1)
    np.testing.assert_array_equal(window5.latent_view.codes, session5.latent_mu[:, :2])
    # A 2-D model: the map as it always was, no controls.
    assert not main_window.map_plane.controls.isVisible()
    assert "plane" not in plane_title(main_window)
    assert main_window.plane == planes.identity(2)


def test_choosing_axes_moves_the_points_and_relabels_the_map(qtbot, window5, session5):
    controls, view = window5.map_plane.controls, window5.latent_view
    choose(qtbot, controls.x_combo, 2)
    choose(qtbot, controls.y_combo, 4)
    np.testing.assert_array_equal(view.codes, session5.latent_mu[:, [2, 4]])
    assert "z₃" in view.plot_item.getAxis("bottom").labelText and "z₅" in view.plot_item.getAxis("left").labelText
    assert "plane z3 × z5" in plane_title(window5)
    assert [k for k, slider in enumerate(controls.sliders) if slider.isVisible()] == [0, 1, 3]
    # Asking for Y's coordinate on X swaps the two rather than making a degenerate plane.
    choose(qtbot, controls.x_combo, 4)
    assert controls.axes == (4, 2)
    np.testing.assert_array_equal(view.codes, session5.latent_mu[:, [4, 2]])
    choose(qtbot, controls.y_combo, 4)  # and the same from the other side
    assert controls.axes == (2, 4)


def test_a_map_point_decodes_the_full_z_and_sliders_move_it(qtbot, window5, session5):
    controls, view = window5.map_plane.controls, window5.latent_view
    xmin, xmax, ymin, ymax = view.visible_rect()
    point = hover(view, (xmin + 0.3 * (xmax - xmin), ymin + 0.6 * (ymax - ymin)))
    z = np.array([[point[0], point[1], 0.0, 0.0, 0.0]], np.float32)
    np.testing.assert_allclose(window5.hover_panel.array, session5.decode(z)[0], atol=1e-6)
    before = window5.hover_panel.array.copy()
    slider = controls.sliders[3]
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_PageUp)
    qtbot.keyClick(slider, Qt.Key.Key_PageUp)
    assert controls.values[3] == pytest.approx(1.0) and controls.value_labels[3].text() == "+1.00"
    z[0, 3] = 1.0  # the picture under the resting cursor follows the slider
    np.testing.assert_allclose(window5.hover_panel.array, session5.decode(z)[0], atol=1e-6)
    assert np.abs(window5.hover_panel.array - before).max() > 1e-4
    np.testing.assert_array_equal(view.codes, session5.latent_mu[:, :2])  # the slice moved, not the points
    assert "others set by hand" in plane_title(window5)
    qtbot.mouseClick(controls.zero_button, LEFT)
    np.testing.assert_array_equal(controls.values, 0.0)
    np.testing.assert_allclose(window5.hover_panel.array, before, atol=1e-6)


def test_clicking_a_data_point_holds_the_others_at_its_mean(qtbot, window5, session5):
    controls, view = window5.map_plane.controls, window5.latent_view
    index = lonely_point(view)
    click(view, view.codes[index])
    assert window5.picked_index == index
    mu = session5.latent_mu[index]
    np.testing.assert_allclose(controls.values[2:], mu[2:], atol=1e-6)
    assert controls.value_labels[4].text() == f"{mu[4]:+.2f}"
    assert f"others from point #{index}" in plane_title(window5)
    # Its map point now stands for its own mean: decoding there reconstructs it.
    np.testing.assert_allclose(window5.decode_2d(view.codes[index])[0], session5.decode(mu[None])[0], atol=1e-5)
    # The ellipses are q(z|x) seen through the plane: centred on the point, axes mu +- k sigma.
    _, sigma = session5.posterior(index)
    curve = next(item for item in view.overlay_items("posterior") if getattr(item, "sigma_k", None) == 1.0)
    x, y = curve.getData()
    np.testing.assert_allclose([x.max() - x.min(), y.max() - y.min()], 2 * sigma[:2], rtol=1e-3)
    # Another point's coordinates on demand, or none: the follow box and the button decide.
    qtbot.mouseClick(controls.zero_button, LEFT)
    controls.follow_check.setFocus()
    qtbot.keyClick(controls.follow_check, Qt.Key.Key_Space)
    assert not controls.follow_check.isChecked()
    other = lonely_point(view)
    click(view, view.codes[other])
    np.testing.assert_array_equal(controls.values, 0.0)
    qtbot.mouseClick(controls.picked_button, LEFT)
    np.testing.assert_allclose(controls.values[2:], session5.latent_mu[other][2:], atol=1e-6)


def test_principal_plane_projects_points_and_tilts_the_ellipses(qtbot, window5, session5):
    controls, view = window5.map_plane.controls, window5.latent_view
    press_down(qtbot, controls.mode_combo)
    assert controls.mode == MODE_PRINCIPAL and not controls.x_combo.isVisible() and not controls.scroll.isVisible()
    expected = planes.principal(session5.latent_mu)
    assert window5.plane == expected
    np.testing.assert_allclose(view.codes, expected.project(session5.latent_mu), atol=1e-6)
    assert "principal components 1-2" in plane_title(window5)
    assert "PC₁" in view.plot_item.getAxis("bottom").labelText
    assert "PC₁ and PC₂ from" in window5.manifold_panel.range_label.text()  # not z₁ and z₂: the grid is on the plane
    view.auto_range()
    index = lonely_point(view)
    click(view, view.codes[index])
    mu, sigma = session5.posterior(index)
    cov = expected.project_covariance(sigma=sigma)
    centre = expected.project(mu)
    inverse = np.linalg.inv(cov)
    for curve in (i for i in view.overlay_items("posterior") if hasattr(i, "sigma_k")):
        x, y = curve.getData()
        offsets = np.stack([x, y], 1).astype(np.float64) - centre
        np.testing.assert_allclose(np.einsum("ij,jk,ik->i", offsets, inverse, offsets), curve.sigma_k**2, rtol=1e-3)
    assert abs(cov[0, 1]) > 1e-6  # a rotated ellipse, not one along the map's axes
    assert window5.plane == expected  # picking a point does not move a principal plane


def test_the_pin_keeps_its_full_z_when_the_plane_changes(qtbot, window5, session5):
    controls, view = window5.map_plane.controls, window5.latent_view
    clicked = click(view, empty_spot(view))
    np.testing.assert_allclose(window5.pinned_z, [clicked[0], clicked[1], 0, 0, 0], atol=1e-6)
    image = window5.pinned_panel.array.copy()
    choose(qtbot, controls.y_combo, 3)
    np.testing.assert_array_equal(window5.pinned_panel.array, image)
    np.testing.assert_allclose(window5.pinned, [clicked[0], 0.0], atol=1e-6)
    x, y = view.overlay_items("pin")[0].getData()
    np.testing.assert_allclose([x[0], y[0]], window5.pinned, atol=1e-6)


def test_traversals_show_a_row_per_dimension_around_the_pinned_point(qtbot, window5, session5, tmp_path, monkeypatch):
    panel = window5.traversal_panel
    window5.tool_tabs.setCurrentWidget(panel)
    click(window5.latent_view, empty_spot(window5.latent_view))
    z = window5.pinned_z
    qtbot.mouseClick(panel.sort_check, LEFT, pos=QPoint(6, panel.sort_check.height() // 2))  # rows by z index
    assert not panel.sort_check.isChecked()
    assert panel.dims == [0, 1, 2, 3, 4] and "pinned point" in panel.source_label.text()
    panel.steps_spin.setFocus()
    qtbot.keyClick(panel.steps_spin, Qt.Key.Key_Down)
    qtbot.keyClick(panel.steps_spin, Qt.Key.Key_Down)  # 9 -> 7 images a row
    h, w = session5.model.image_shape
    assert panel.array.shape == (5 * (h + 2) - 2, 7 * (w + 2) - 2)
    values = np.linspace(-3, 3, 7)
    for k in range(5):
        row = panel.array[k * (h + 2): k * (h + 2) + h]
        expected = latent.tile_images(session5.decode(planes.traversal(z, k, values)), 1, 7, padding=2)
        np.testing.assert_allclose(row, expected, atol=1e-6)
    assert panel.canvas.row_labels == ["z1", "z2", "z3", "z4", "z5"]
    target = tmp_path / "traversals"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    qtbot.mouseClick(panel.save_button, LEFT)
    saved = qimage_to_array(QImage(str(target) + ".png"))
    np.testing.assert_allclose(saved, panel.array, atol=0.5 / 255 + 1e-6)
    # A clicked data point becomes the centre instead.
    index = lonely_point(window5.latent_view)
    click(window5.latent_view, window5.latent_view.codes[index])
    np.testing.assert_allclose(panel.z, session5.posterior(index)[0], atol=1e-6)


def test_traversals_page_through_a_large_latent_and_work_for_2d(qtbot, bundled_test_set, settings, main_window):
    window = open_window(qtbot, small_session(bundled_test_set, 20, count=300), settings)
    panel = window.traversal_panel
    panel.sort_check.setChecked(False)
    assert panel.dims == list(range(16)) and panel.first_spin.isEnabled()
    panel.first_spin.setFocus()
    panel.first_spin.selectAll()
    qtbot.keyClicks(panel.first_spin, "5")
    assert panel.dims == list(range(4, 20)) and "z5–z20 of 20" in panel.source_label.text()
    assert len(window.map_plane.controls.sliders) == 20
    two = main_window.traversal_panel
    assert two.dims == [0, 1] and not two.first_spin.isEnabled() and two.array.shape[0] == 2 * 30 - 2


def test_traversal_rows_come_most_used_first_and_unused_dimensions_are_grey(qtbot, bundled_test_set, settings):
    window = open_window(qtbot, small_session(bundled_test_set, 20, count=300), settings)
    panel = window.traversal_panel
    kl = window.traversal_panel.kl_bars.values()
    assert len(kl) == 20 and panel.sort_check.isChecked() and panel.first_spin.prefix() == "row "
    order = list(np.argsort(-kl, kind="stable"))
    assert panel.dims == order[:16] and "rows 1–16 of 20, most used first" in panel.source_label.text()
    assert panel.canvas.row_labels[0] == f"z{order[0] + 1}"
    # Rows 17 to 20 (the least used) are a page away.
    panel.first_spin.setValue(5)
    assert panel.dims == order[4:20]
    # Which dimensions count as used comes from the bars; a dimension the model ignores is marked.
    fake = np.linspace(2.0, 0.0, 20)
    fake[[3, 7]] = 0.0
    panel.kl_bars.set_kl(fake)  # the chart tells the panel: the rows follow at once
    assert panel.dims[-3:] == [3, 7, 19]  # the unused ones last (page two), ties in dimension order
    assert panel.canvas.used == [True] * 13 + [False] * 3
    assert "Grey labels" in panel.source_label.text()
    # A model without a posterior has no KL: natural order, nothing greyed, the box off.
    panel.kl_bars.show_codes(np.zeros((4, 20), np.float32), None)
    assert panel.dims == list(range(4, 20)) and all(panel.canvas.used) and not panel.sort_check.isEnabled()
    assert panel.first_spin.prefix() == "z" and "z5–z20 of 20" in panel.source_label.text()


def test_demo_overlays_follow_the_plane(qtbot, window5, session5):
    from vae_explorer.qt.demo_panels import attach
    from vae_explorer.qt.imputation_panel import KEY_MAP_POINT, KEY_PATH, METHOD_ITERATIVE

    imputation, drawing = attach(window5)
    view, controls = window5.latent_view, window5.map_plane.controls
    choose(qtbot, controls.x_combo, 2)
    window5.tool_tabs.setCurrentWidget(drawing)
    for points in SEVEN:
        stroke(qtbot, drawing.canvas, points)
    centre = next(item for item in view.overlay_items(KEY_POSTERIOR) if not hasattr(item, "sigma_k"))
    x, y = centre.getData()
    np.testing.assert_allclose([x[0], y[0]], drawing.mu[[2, 1]], atol=1e-6)
    press_down(qtbot, controls.mode_combo)  # principal components: the drawing's posterior moves too
    centre = next(item for item in view.overlay_items(KEY_POSTERIOR) if not hasattr(item, "sigma_k"))
    x, y = centre.getData()
    np.testing.assert_allclose([x[0], y[0]], window5.plane.project(drawing.mu), atol=1e-5)

    window5.tool_tabs.setCurrentWidget(imputation)
    imputation.set_method(METHOD_ITERATIVE)
    imputation.steps_spin.setValue(3)
    imputation.start_imputation()
    imputation.run_to_end()
    path = view.overlay_items(KEY_PATH)[0]
    np.testing.assert_allclose(np.stack([path.xData, path.yData], 1),
                               window5.plane.project(np.stack(imputation.latent_path)), atol=1e-5)
    choose(qtbot, controls.mode_combo, 0)
    path = view.overlay_items(KEY_PATH)[0]
    np.testing.assert_allclose(np.stack([path.xData, path.yData], 1),
                               np.stack(imputation.latent_path)[:, [2, 1]], atol=1e-6)
    marker = view.overlay_items(KEY_MAP_POINT)[0].getData()
    np.testing.assert_allclose([marker[0][0], marker[1][0]], imputation.latent_path[-1][[2, 1]], atol=1e-6)


def test_the_legend_names_classes(main_window):
    view = main_window.latent_view
    names = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot"]
    view.set_points(np.zeros((3, 2), np.float32), np.array([0, 1, 9]), class_names=names)
    labels = [label.text for _sample, label in view.legend.items]
    assert labels[0] == "T-shirt  (1)" and labels[9] == "Boot  (1)" and labels[4] == "Coat  (0)"
    view.set_points(np.zeros((1, 2), np.float32), np.array([3]))
    assert [label.text for _sample, label in view.legend.items][3] == "3  (1)"


def test_a_new_model_of_another_size_resets_the_plane_and_keeps_the_pin_spot(qtbot, window5, shipped_checkpoint):
    view = window5.latent_view
    choose(qtbot, window5.map_plane.controls.x_combo, 3)
    clicked = click(view, empty_spot(view))
    window5.set_checkpoint(shipped_checkpoint)  # a 2-D model: the map is its latent again
    assert not window5.map_plane.controls.isVisible() and plane_title(window5) == ""
    assert window5.plane == planes.identity(2) and "z₁" in view.plot_item.getAxis("bottom").labelText
    np.testing.assert_array_equal(view.codes, window5.session.latent_mu)
    np.testing.assert_allclose(window5.pinned_z, clicked, atol=1e-6)  # same spot on the new map


def test_controls_ignore_a_broken_code_and_keep_their_plane(qtbot):
    from vae_explorer.qt.plane_controls import PlaneControls

    controls = PlaneControls()
    qtbot.addWidget(controls)
    codes = np.random.default_rng(0).standard_normal((50, 4)).astype(np.float32)
    controls.set_space(4, codes)
    changes = []
    controls.planeChanged.connect(changes.append)
    controls.follow(codes[3], 3)
    assert len(changes) == 1 and changes[0] == planes.along_axes(4, 0, 1, codes[3], others="from point #3")
    controls.follow(np.full(4, np.nan, np.float32), 4)  # a diverged preview's code
    assert len(changes) == 1 and np.isfinite(controls.plane.origin).all()
    controls.set_space(4, np.full((50, 4), np.nan, np.float32))
    controls.set_mode(MODE_PRINCIPAL)  # no principal plane from broken codes: say so, keep two axes
    assert "No principal plane" in controls.note.text() and controls.plane.description.startswith("plane z1 × z2")
    assert not controls.x_combo.isHidden()  # the axes it shows instead can be changed


def test_a_narrow_map_puts_the_held_values_controls_on_their_own_row(qtbot):
    from vae_explorer.qt.plane_controls import PlaneControls

    controls = PlaneControls()
    qtbot.addWidget(controls)
    controls.set_space(20, np.random.default_rng(0).standard_normal((50, 20)).astype(np.float32))
    controls.resize(1000, 110)
    controls.show()
    qtbot.waitExposed(controls)
    assert not controls.on_two_rows
    below = controls.zero_button.mapTo(controls, QPoint(0, 0)).y()
    controls.resize(controls.minimumWidth(), 140)
    qtbot.waitUntil(lambda: controls.on_two_rows)
    controls.layout().activate()
    assert controls.zero_button.mapTo(controls, QPoint(0, 0)).y() > below + 10  # a row lower
    # Nothing squeezed: every control gets at least the width it asks for.
    for widget in (controls.mode_combo, controls.x_combo, controls.y_combo, controls.picked_button,
                   controls.zero_button, controls.follow_check):
        assert widget.width() >= widget.minimumSizeHint().width(), widget
    controls.resize(1000, 110)
    qtbot.waitUntil(lambda: not controls.on_two_rows)
