"""The latent map driven by real mouse events: hover, pin, pick a data point, legend."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from tests.qt.map_mouse import click, hover, viewport_pixel
from vae_explorer.core import latent


def model_decode(session, z) -> np.ndarray:
    """The reference: the session's model applied directly, outside any widget."""
    with torch.no_grad():
        return session.model.decode(torch.as_tensor(np.asarray(z, np.float32)).reshape(1, -1)).numpy()[0]


def empty_spot(view) -> np.ndarray:
    """A visible point with no data point within the pick radius (and away from the legend)."""
    xmin, xmax, ymin, ymax = view.visible_rect()
    for z in latent.grid_points(xmin, xmax, ymin, ymax, 25, 25):
        inside_legend = view.legend.sceneBoundingRect().contains(view.view_box.mapViewToScene(
            view.view_box.mapSceneToView(view.plot_widget.mapToScene(viewport_pixel(view, z)))))
        if view.nearest_point(z, radius_px=20) is None and not inside_legend:
            return z
    pytest.fail("no empty spot on the map")


def isolated_point(session, view) -> int:
    """A data point far from every other, so a click on it cannot pick a neighbour."""
    codes = session.latent_mu[:, :2]
    candidates = np.arange(0, len(codes), 7)[:1500]
    gaps = np.array([np.partition(np.linalg.norm(codes - codes[i], axis=1), 1)[1] for i in candidates])
    order = candidates[np.argsort(-gaps)]
    xmin, xmax, ymin, ymax = view.visible_rect()
    legend = view.legend.sceneBoundingRect().adjusted(-10, -10, 10, 10)
    for index in order:  # the most isolated one that is on screen and not under the legend
        x, y = codes[index]
        on_screen = xmin < x < xmax and ymin < y < ymax
        if on_screen and not legend.contains(view.view_box.mapViewToScene(QPointF(float(x), float(y)))):
            return int(index)
    pytest.fail("no isolated point on screen")


def test_window_opens_on_the_shipped_model_and_test_split(main_window, shipped_session):
    view = main_window.latent_view
    assert main_window.session is shipped_session
    assert len(view.codes) == len(shipped_session.data) == 10_000
    np.testing.assert_array_equal(view.codes, shipped_session.latent_mu[:, :2])
    assert [item.opts["name"] for item in view.class_items] == [str(d) for d in range(10)]
    assert sum(len(item.data) for item in view.class_items) == 10_000
    assert len(view.legend.items) == 10
    assert "z₁" in view.plot_item.getAxis("bottom").labelText
    assert "z₂" in view.plot_item.getAxis("left").labelText
    # The whole cloud is in view after opening.
    xmin, xmax, ymin, ymax = view.visible_rect()
    inside = ((view.codes[:, 0] > xmin) & (view.codes[:, 0] < xmax)
              & (view.codes[:, 1] > ymin) & (view.codes[:, 1] < ymax))
    assert inside.mean() > 0.99


def test_click_on_empty_space_pins_the_decode_of_exactly_that_point(main_window, shipped_session, qtbot):
    view = main_window.latent_view
    wanted = empty_spot(view)
    clicked = click(view, wanted)
    # The click lands on a whole pixel: within one pixel of what was asked.
    assert np.all(np.abs(clicked - wanted) <= np.array(view.view_box.viewPixelSize()) + 1e-6)
    np.testing.assert_allclose(main_window.pinned, clicked, atol=1e-5)
    np.testing.assert_allclose(main_window.pinned_panel.array, model_decode(shipped_session, clicked), atol=1e-6)
    marker = view.overlay_items("pin")[0]
    x, y = marker.getData()
    np.testing.assert_allclose([x[0], y[0]], clicked, atol=1e-5)
    assert "z = (" in main_window.statusBar().currentMessage()


def test_hover_updates_the_decoded_image_and_status_bar(main_window, shipped_session, qtbot):
    view = main_window.latent_view
    xmin, xmax, ymin, ymax = view.visible_rect()
    first = hover(view, (xmin + 0.3 * (xmax - xmin), ymin + 0.3 * (ymax - ymin)))
    np.testing.assert_allclose(main_window.hover_panel.array, model_decode(shipped_session, first), atol=1e-6)
    before = main_window.hover_panel.array.copy()
    second = hover(view, (xmin + 0.7 * (xmax - xmin), ymin + 0.8 * (ymax - ymin)))
    np.testing.assert_allclose(main_window.hover_panel.array, model_decode(shipped_session, second), atol=1e-6)
    assert np.abs(main_window.hover_panel.array - before).max() > 0.1  # a different place, a different image
    assert f"{second[0]:+.3f}" in main_window.z_label.text()


def test_click_on_a_data_point_shows_image_reconstruction_and_posterior_ellipses(main_window, shipped_session, qtbot):
    view = main_window.latent_view
    index = isolated_point(shipped_session, view)
    with qtbot.waitSignal(main_window.dataPointPicked, timeout=2000) as picked:
        click(view, shipped_session.latent_mu[index])
    assert picked.args == [index]

    image = shipped_session.data.images[index : index + 1]
    with torch.no_grad():
        code = shipped_session.model.encode(image)
        mu, logvar = code.mean, code.logvar
        reconstruction = shipped_session.model.decode(mu).numpy()[0]
    mu, sigma = mu.numpy()[0], torch.exp(0.5 * logvar).numpy()[0]
    np.testing.assert_allclose(main_window.original_panel.array, image.numpy().reshape(28, 28), atol=1e-6)
    np.testing.assert_allclose(main_window.reconstruction_panel.array, reconstruction, atol=1e-6)

    curves = {item.sigma_k: item for item in view.overlay_items("posterior") if hasattr(item, "sigma_k")}
    assert sorted(curves) == [1.0, 2.0]
    for k, curve in curves.items():
        x, y = curve.getData()
        # Extremes of the k-sigma ellipse sit at mu +- k sigma along each axis.
        np.testing.assert_allclose([x.min(), x.max()], [mu[0] - k * sigma[0], mu[0] + k * sigma[0]], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose([y.min(), y.max()], [mu[1] - k * sigma[1], mu[1] + k * sigma[1]], rtol=1e-3, atol=1e-4)
        # And every outline point satisfies the ellipse equation.
        np.testing.assert_allclose(((x - mu[0]) / sigma[0]) ** 2 + ((y - mu[1]) / sigma[1]) ** 2, k**2, rtol=1e-4)
    assert f"#{index}" in main_window.original_panel.caption.text()


def test_a_click_on_a_class_name_in_the_legend_toggles_it_too(main_window, qtbot):
    view = main_window.latent_view
    _sample, label = view.legend.items[6]
    at = view.plot_widget.mapFromScene(label.sceneBoundingRect().center())
    viewport = view.plot_widget.viewport()
    QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)
    assert not view.class_items[6].isVisible()
    assert all(view.class_items[d].isVisible() for d in range(10) if d != 6)
    QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)
    assert view.class_items[6].isVisible()


def test_legend_click_hides_a_digit_and_picking_skips_it(main_window, shipped_session, qtbot):
    view = main_window.latent_view
    sample, _label = view.legend.items[3]
    centre = sample.sceneBoundingRect().center()
    QTest.mouseClick(view.plot_widget.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view.plot_widget.mapFromScene(centre))
    assert not view.class_items[3].isVisible()
    assert all(view.class_items[d].isVisible() for d in range(10) if d != 3)
    threes = np.flatnonzero(shipped_session.labels == 3)
    index = view.nearest_point(shipped_session.latent_mu[threes[0]], radius_px=1e6)
    assert shipped_session.labels[index] != 3


def test_escape_clears_pin_posterior_and_path(main_window, shipped_session, qtbot):
    view = main_window.latent_view
    click(view, empty_spot(view))
    main_window.pick(5)
    assert {"pin", "posterior"} <= set(view.overlay_keys())
    QTest.keyClick(main_window, Qt.Key.Key_Escape)
    assert "pin" not in view.overlay_keys() and "posterior" not in view.overlay_keys()
    assert main_window.pinned is None and main_window.pinned_panel.array is None


def test_overlay_api_draws_and_clears_paths_heatmaps_and_posteriors(main_window):
    view = main_window.latent_view
    path = np.array([[0.0, 0.0], [1.0, 0.5], [2.0, -1.0]], np.float32)
    view.show_path("imputation", path)
    x, y = view.overlay_items("imputation")[0].getData()
    np.testing.assert_allclose(np.stack([x, y], 1), path)

    density = np.arange(12, dtype=np.float32).reshape(3, 4)
    view.show_heatmap("density", density, (-2.0, 2.0, -1.0, 2.0))
    image = view.overlay_items("density")[0]
    rect = image.mapRectToParent(image.boundingRect())
    assert (rect.left(), rect.right(), rect.top(), rect.bottom()) == pytest.approx((-2.0, 2.0, -1.0, 2.0))
    np.testing.assert_array_equal(image.image, density)  # row 0 stays at ymin (row-major, no flip)

    view.show_posterior("other", np.array([0.5, -0.5]), np.array([0.2, 0.4]))
    assert len(view.overlay_items("other")) == 3
    for key in ("imputation", "density", "other"):
        items = view.overlay_items(key)
        view.clear_overlay(key)
        assert key not in view.overlay_keys()
        assert all(item.scene() is None for item in items)
    view.clear_overlay("never-drawn")  # clearing an unknown key is harmless


def test_map_accepts_empty_and_one_dimensional_codes(main_window):
    view = main_window.latent_view
    view.set_points(np.zeros((0, 2), np.float32), np.zeros(0, np.int64))
    assert view.codes.shape == (0, 2) and view.nearest_point(np.zeros(2)) is None
    view.set_points(np.array([0.5, -1.0], np.float32), np.array([3, 4]))
    np.testing.assert_array_equal(view.codes, [[0.5, 0.0], [-1.0, 0.0]])


def test_the_fitted_map_keeps_its_points_out_from_under_the_legend(main_window, qtbot):
    view = main_window.latent_view
    view.auto_range()
    rect = view.view_box.mapSceneToView(view.legend.sceneBoundingRect()).boundingRect()
    under = ((view.codes[:, 0] >= rect.left()) & (view.codes[:, 0] <= rect.right())
             & (view.codes[:, 1] >= rect.top()) & (view.codes[:, 1] <= rect.bottom()))
    assert rect.width() > 0 and not under.any()
    xmin, xmax, ymin, ymax = view.visible_rect()  # and the data still fills the view
    inside = ((view.codes[:, 0] > xmin) & (view.codes[:, 0] < xmax)
              & (view.codes[:, 1] > ymin) & (view.codes[:, 1] < ymax))
    assert inside.mean() > 0.99


def test_zoomed_onto_a_posterior_the_axes_read_in_latent_units(main_window, qtbot):
    view = main_window.latent_view
    view.view_box.setRange(xRange=(0.100, 0.106), yRange=(-0.203, -0.197), padding=0)
    qtbot.wait(10)
    for name in ("bottom", "left"):
        axis = view.plot_item.getAxis(name)
        assert axis.autoSIPrefixScale == 1.0 and "x0.001" not in axis.labelString()
        assert "(" not in axis.labelString().split("dimension")[-1]  # no unit multiplier appended
