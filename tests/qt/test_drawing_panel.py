"""The Draw tab driven by real mouse strokes: what the model sees, where it lands, undo and clear."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPoint, Qt

from vae_explorer.core.checkpoint import Checkpoint
from vae_explorer.core.data import ImageSet
from vae_explorer.core.drawing import (
    NOTHING_DRAWN,
    nearest_in_latent,
    preprocess_drawing,
)
from vae_explorer.core.models import registry
from vae_explorer.core.models.vae import VAEConfig as MLPVAEConfig
from vae_explorer.core.session import ExplorerSession
from vae_explorer.qt.demo_panels import attach
from vae_explorer.qt.drawing_panel import KEY_POSTERIOR, NEIGHBOURS, DrawingPanel

LEFT = Qt.MouseButton.LeftButton
NO_MOD = Qt.KeyboardModifier.NoModifier


@pytest.fixture
def panel(qtbot, shipped_session):
    widget = DrawingPanel(shipped_session)
    qtbot.addWidget(widget)
    widget.resize(430, 800)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def stroke(qtbot, canvas, points):
    qtbot.mousePress(canvas, LEFT, NO_MOD, QPoint(*points[0]))
    for point in points[1:]:
        qtbot.mouseMove(canvas, QPoint(*point))
    qtbot.mouseRelease(canvas, LEFT, NO_MOD, QPoint(*points[-1]))


SEVEN = [[(70, 60), (140, 60), (210, 60)], [(210, 60), (180, 130), (150, 200), (130, 250)]]


def test_each_stroke_is_preprocessed_encoded_and_placed_on_the_map(qtbot, panel, shipped_session):
    posteriors = []
    panel.overlayPosterior.connect(lambda key, mu, sigma: posteriors.append((key, mu, sigma)))
    stroke(qtbot, panel.canvas, SEVEN[0])
    assert len(posteriors) == 1
    stroke(qtbot, panel.canvas, SEVEN[1])
    assert len(posteriors) == 2

    ink = panel.canvas.ink()
    assert ink[60, 140] == pytest.approx(1.0) and ink[250, 20] == 0.0
    prepared = preprocess_drawing(ink, field_shape=shipped_session.model.image_shape)
    np.testing.assert_array_equal(panel.input_tile.array, prepared.image)
    mu, logvar = shipped_session.encode(prepared.image[None])
    key, shown_mu, shown_sigma = posteriors[-1]
    assert key == KEY_POSTERIOR
    np.testing.assert_allclose(shown_mu, mu[0], atol=1e-6)
    np.testing.assert_allclose(shown_sigma, np.exp(0.5 * logvar[0]), atol=1e-6)
    np.testing.assert_allclose(panel.reconstruction_tile.array, shipped_session.decode(mu)[0], atol=1e-6)
    indices, _ = nearest_in_latent(shipped_session.latent_mu, mu[0], NEIGHBOURS)
    assert list(panel.neighbour_indices) == list(indices)
    for tile, index in zip(panel.neighbour_tiles, indices):
        np.testing.assert_array_equal(tile.array, shipped_session.image(int(index)))
        assert tile.caption.text().startswith(f"#{index} · {shipped_session.labels[index]}")
    assert f"{mu[0, 0]:.2f}" in panel.latent_label.text()


def test_a_drawn_seven_lands_among_sevens(qtbot, panel, shipped_session):
    for points in SEVEN:
        stroke(qtbot, panel.canvas, points)
    labels = shipped_session.labels[panel.neighbour_indices]
    assert np.mean(labels == 7) >= 0.6


def test_empty_canvas_and_strokes_at_or_past_the_edge_never_error(qtbot, panel):
    cleared = []
    panel.overlayCleared.connect(cleared.append)
    qtbot.mouseClick(panel.clear_button, LEFT)  # clearing an empty canvas does nothing
    panel.refresh()
    assert panel.input_tile.array is None and panel.latent_label.text() == NOTHING_DRAWN
    assert cleared[-1] == KEY_POSTERIOR
    # Along the very edge, and out past the corner of the widget.
    stroke(qtbot, panel.canvas, [(0, 0), (279, 0), (400, -50)])
    assert panel.mu is not None and panel.input_tile.array.shape == panel.session.model.image_shape
    assert 0.0 <= panel.input_tile.array.min() and panel.input_tile.array.max() <= 1.0
    stroke(qtbot, panel.canvas, [(279, 279)])  # a single click in the corner: a dot
    assert panel.mu is not None
    # A right-button press draws nothing and must not start a stroke.
    before = panel.canvas.ink().copy()
    qtbot.mousePress(panel.canvas, Qt.MouseButton.RightButton, NO_MOD, QPoint(100, 100))
    qtbot.mouseMove(panel.canvas, QPoint(150, 150))
    qtbot.mouseRelease(panel.canvas, Qt.MouseButton.RightButton, NO_MOD, QPoint(150, 150))
    np.testing.assert_array_equal(panel.canvas.ink(), before)


def test_undo_with_ctrl_z_and_the_button_and_clear(qtbot, panel):
    stroke(qtbot, panel.canvas, SEVEN[0])
    after_first = panel.canvas.ink().copy()
    first_input = panel.input_tile.array.copy()
    stroke(qtbot, panel.canvas, SEVEN[1])
    assert not np.array_equal(panel.canvas.ink(), after_first)
    panel.activateWindow()
    panel.canvas.setFocus()
    qtbot.waitUntil(lambda: panel.isActiveWindow())
    qtbot.keyClick(panel.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_array_equal(panel.canvas.ink(), after_first)
    np.testing.assert_array_equal(panel.input_tile.array, first_input)  # views follow the undo
    qtbot.mouseClick(panel.clear_button, LEFT)
    assert not panel.canvas.ink().any() and panel.input_tile.array is None
    qtbot.mouseClick(panel.undo_button, LEFT)  # undo the clear
    np.testing.assert_array_equal(panel.canvas.ink(), after_first)
    qtbot.mouseClick(panel.undo_button, LEFT)
    assert not panel.canvas.ink().any() and not panel.undo_button.isEnabled()


def test_brush_size_sets_the_stroke_width(qtbot, panel):
    panel.brush_spin.setValue(6)
    stroke(qtbot, panel.canvas, [(40, 140), (240, 140)])
    thin = panel.canvas.ink()[:, 140] > 0.5
    qtbot.mouseClick(panel.clear_button, LEFT)
    panel.brush_spin.setValue(30)
    stroke(qtbot, panel.canvas, [(40, 140), (240, 140)])
    thick = panel.canvas.ink()[:, 140] > 0.5
    assert 4 <= thin.sum() <= 8 and 28 <= thick.sum() <= 32


def test_in_the_main_window_the_drawing_gets_posterior_ellipses_on_the_map(qtbot, main_window):
    _, drawing = attach(main_window)
    main_window.tool_tabs.setCurrentWidget(drawing)
    for points in SEVEN:
        stroke(qtbot, drawing.canvas, points)
    items = main_window.latent_view.overlay_items(KEY_POSTERIOR)
    ellipses = {getattr(item, "sigma_k", None): item for item in items}
    assert {1.0, 2.0} <= set(ellipses)
    one_sigma = ellipses[1.0]
    xs, ys = one_sigma.xData, one_sigma.yData
    np.testing.assert_allclose([(xs.max() + xs.min()) / 2, (ys.max() + ys.min()) / 2], drawing.mu, atol=1e-3)
    np.testing.assert_allclose([(xs.max() - xs.min()) / 2, (ys.max() - ys.min()) / 2], drawing.sigma, rtol=1e-2)
    qtbot.mouseClick(drawing.clear_button, LEFT)
    assert KEY_POSTERIOR not in main_window.latent_view.overlay_keys()


def test_the_map_pans_to_a_drawing_that_lands_out_of_view(qtbot, main_window):
    _, drawing = attach(main_window)
    main_window.tool_tabs.setCurrentWidget(drawing)
    view = main_window.latent_view
    view.view_box.setRange(xRange=(5.0, 6.0), yRange=(5.0, 6.0), padding=0)  # far from any digit
    width_before = view.visible_rect()[1] - view.visible_rect()[0]
    for points in SEVEN:
        stroke(qtbot, drawing.canvas, points)
    xmin, xmax, ymin, ymax = view.visible_rect()
    low, high = drawing.mu - 2 * drawing.sigma, drawing.mu + 2 * drawing.sigma
    assert xmin <= low[0] and high[0] <= xmax and ymin <= low[1] and high[1] <= ymax
    assert xmax - xmin == pytest.approx(width_before, rel=1e-3)  # panned, not zoomed


@pytest.mark.parametrize("latent_dim", [1, 4])
def test_other_latent_sizes_are_placed_on_the_map_plane(qtbot, bundled_test_set, latent_dim):
    model = registry.build("mlp_vae", MLPVAEConfig(hidden_sizes=(32,), latent_dim=latent_dim), seed=0)
    session = ExplorerSession.create(Checkpoint(model=model), bundled_test_set.subset(100))
    widget = DrawingPanel(session)
    qtbot.addWidget(widget)
    widget.show()
    posteriors = []
    widget.overlayPosterior.connect(lambda key, mu, sigma: posteriors.append((mu, sigma)))
    stroke(qtbot, widget.canvas, SEVEN[0])
    mu, sigma = posteriors[-1]
    assert mu.shape == sigma.shape == (2,)
    np.testing.assert_allclose(mu[:latent_dim], widget.mu[:2], atol=1e-6)
    if latent_dim == 1:
        assert mu[1] == 0 and sigma[1] == 0
    assert len(widget.neighbour_indices) == NEIGHBOURS


def test_the_drawing_is_prepared_at_the_models_image_shape(qtbot, bundled_test_set):
    shape = (20, 16)
    model = registry.build("mlp_vae", MLPVAEConfig(hidden_sizes=(16,), image_shape=shape), seed=0)
    images = bundled_test_set.images[:30].reshape(-1, 28, 28)[:, 4:24, 6:22].reshape(30, -1).contiguous()
    data = ImageSet(images, bundled_test_set.labels[:30], "mnist", "test", shape)
    widget = DrawingPanel(ExplorerSession.create(Checkpoint(model=model), data))
    qtbot.addWidget(widget)
    widget.show()
    stroke(qtbot, widget.canvas, SEVEN[0])
    np.testing.assert_array_equal(widget.input_tile.array,
                                  preprocess_drawing(widget.canvas.ink(), field_shape=shape).image)
    assert widget.input_tile.array.shape == shape and "20×16" in widget.input_tile.title.text()
    assert widget.reconstruction_tile.array.shape == shape


def test_a_model_without_a_posterior_gets_its_code_point_and_no_ellipses(qtbot, bundled_test_set):
    from tests.core.test_imputation import CodeOnly

    torch.manual_seed(0)
    session = ExplorerSession.create(Checkpoint(model=CodeOnly().eval()), bundled_test_set.subset(20))
    widget = DrawingPanel(session)
    qtbot.addWidget(widget)
    widget.show()
    posteriors, encoded = [], []
    widget.overlayPosterior.connect(lambda key, mu, sigma: posteriors.append((mu, sigma)))
    widget.encoded.connect(lambda mu, sigma: encoded.append((mu, sigma)))
    stroke(qtbot, widget.canvas, SEVEN[0])
    mu, sigma = posteriors[-1]
    np.testing.assert_allclose(mu, widget.mu[:2], atol=1e-6)
    assert (sigma == 0).all() and widget.sigma is None and encoded[-1][1] is None
    assert "No posterior" in widget.latent_label.text()
