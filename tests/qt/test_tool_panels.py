"""Manifold (overlay and inverse-CDF panel), interpolation and prior samples decode the right points."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import torch
from PySide6.QtCore import Qt

from tests.qt.map_mouse import click
from vae_explorer.core import latent


def decode_all(session, z) -> np.ndarray:
    with torch.no_grad():
        return session.model.decode(torch.as_tensor(np.asarray(z, np.float32))).numpy()


def test_manifold_panel_decodes_an_inverse_cdf_grid(main_window, shipped_session):
    panel = main_window.manifold_panel
    panel.size_spin.setValue(5)
    panel.tail_spin.setValue(0.1)
    expected_axis = [NormalDist().inv_cdf(p) for p in np.linspace(0.1, 0.9, 5)]
    np.testing.assert_allclose(np.unique(panel.points[:, 0]), expected_axis, atol=1e-6)
    np.testing.assert_allclose(np.unique(panel.points[:, 1]), expected_axis, atol=1e-6)
    assert panel.points[0, 1] > panel.points[-1, 1]  # top row holds the largest z2, like the map
    tiles = panel.array
    assert tiles.shape == (5 * 28, 5 * 28)
    expected = decode_all(shipped_session, panel.points)
    for index in (0, 7, 24):
        r, c = divmod(index, 5)
        np.testing.assert_allclose(tiles[r * 28 : (r + 1) * 28, c * 28 : (c + 1) * 28], expected[index], atol=1e-6)


def test_manifold_overlay_tiles_the_visible_region_and_follows_zoom(main_window, shipped_session, qtbot):
    view = main_window.latent_view
    main_window.manifold_spin.setValue(6)
    main_window.manifold_check.setChecked(True)
    assert view.manifold_visible()

    def check_overlay() -> None:
        xmin, xmax, ymin, ymax = view.visible_rect()
        rect = view.manifold_item.mapRectToParent(view.manifold_item.boundingRect())
        np.testing.assert_allclose([rect.left(), rect.right(), rect.top(), rect.bottom()], [xmin, xmax, ymin, ymax],
                                   rtol=1e-5, atol=1e-5)
        points, rows, cols = view.manifold_grid()
        assert cols == 6
        decoded = decode_all(shipped_session, points)
        tiles = view.manifold_item.tiles
        np.testing.assert_allclose(tiles[:28, :28], decoded[0], atol=1e-6)  # top-left cell
        np.testing.assert_allclose(tiles[-28:, -28:], decoded[-1], atol=1e-6)  # bottom-right cell
        # Top-left cell centre: left edge + half a cell, top edge - half a cell.
        np.testing.assert_allclose(points[0], [xmin + (xmax - xmin) / 12, ymax - (ymax - ymin) / (2 * rows)], rtol=1e-4)

    check_overlay()
    before = view.visible_rect()
    view.view_box.scaleBy((0.5, 0.5))  # zoom in: the overlay re-decodes once the view settles
    qtbot.waitUntil(lambda: np.allclose(view.manifold_item.mapRectToParent(view.manifold_item.boundingRect()).width(),
                                        view.visible_rect()[1] - view.visible_rect()[0], rtol=1e-4), timeout=3000)
    assert view.visible_rect() != before
    check_overlay()
    main_window.manifold_check.setChecked(False)
    assert not view.manifold_item.isVisible()


def test_shift_clicks_set_interpolation_ends_and_draw_the_path(main_window, shipped_session, qtbot):
    view = main_window.latent_view
    panel = main_window.interpolation_panel
    xmin, xmax, ymin, ymax = view.visible_rect()
    a = click(view, (xmin + 0.25 * (xmax - xmin), ymin + 0.3 * (ymax - ymin)), Qt.KeyboardModifier.ShiftModifier)
    b = click(view, (xmin + 0.7 * (xmax - xmin), ymin + 0.75 * (ymax - ymin)), Qt.KeyboardModifier.ShiftModifier)
    np.testing.assert_allclose(panel.start, a, atol=1e-5)
    np.testing.assert_allclose(panel.end, b, atol=1e-5)
    assert main_window.pinned is None  # shift-click sets ends, it does not pin

    panel.steps_spin.setValue(7)
    for method in ("linear", "spherical"):
        panel.method_combo.setCurrentIndex(panel.method_combo.findData(method))
        expected_path = latent.interpolation_path(a, b, 7, method)
        np.testing.assert_allclose(panel.path, expected_path, atol=1e-5)
        x, y = view.overlay_items("interpolation")[0].getData()
        np.testing.assert_allclose(np.stack([x, y], 1), expected_path, atol=1e-5)
        decoded = decode_all(shipped_session, expected_path)
        strip = panel.array
        assert strip.shape == (28, 7 * 28 + 6 * 2)
        for step in (0, 3, 6):
            np.testing.assert_allclose(strip[:, step * 30 : step * 30 + 28], decoded[step], atol=1e-5)
    # A third shift-click starts a new path.
    click(view, (xmin + 0.5 * (xmax - xmin), ymin + 0.5 * (ymax - ymin)), Qt.KeyboardModifier.ShiftModifier)
    assert panel.end is None and panel.path is None
    assert "interpolation" not in view.overlay_keys()


def test_pinned_point_can_become_an_interpolation_end(main_window):
    panel = main_window.interpolation_panel
    panel.pickRequested.emit("A")  # nothing pinned: a hint, no crash
    assert panel.start is None
    assert "Pin a point first" in main_window.statusBar().currentMessage()
    main_window.pin(np.array([0.5, -1.0], np.float32))
    panel.pickRequested.emit("B")
    np.testing.assert_allclose(panel.end, [0.5, -1.0])


def test_samples_are_decodes_of_prior_draws(main_window, shipped_session):
    panel = main_window.sampling_panel
    panel.size_spin.setValue(3)
    panel.seed_spin.setValue(11)
    expected_z = latent.prior_samples(9, 2, seed=11)
    np.testing.assert_allclose(panel.z, expected_z)
    decoded = decode_all(shipped_session, expected_z)
    grid = panel.array
    assert grid.shape == (3 * 28 + 2, 3 * 28 + 2)
    for index in range(9):
        r, c = divmod(index, 3)
        np.testing.assert_allclose(grid[r * 29 : r * 29 + 28, c * 29 : c * 29 + 28], decoded[index], atol=1e-6)
    old = grid.copy()
    panel.seed_spin.setValue(12)
    assert not np.allclose(panel.array, old)
