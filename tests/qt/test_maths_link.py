"""The Maths tab in the window: it explains the clicked or drawn digit and marks its z on the map."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.qt.map_mouse import click
from tests.qt.test_drawing_panel import SEVEN, stroke
from vae_explorer.qt import maths_link
from vae_explorer.qt.demo_panels import attach as attach_demo_panels


@pytest.fixture
def linked(main_window):
    attach_demo_panels(main_window)
    panel = maths_link.attach(main_window)
    main_window.show_tool(panel)
    return main_window, panel


def test_a_clicked_digit_is_walked_through_and_its_z_marked_on_the_map(linked, shipped_session):
    window, panel = linked
    index = 321
    click(window.latent_view, window.latent_view.codes[index])
    assert window.picked_index is not None
    index = window.picked_index
    walk = panel.walkthrough
    np.testing.assert_array_equal(walk.image.reshape(-1), shipped_session.data.images[index].numpy())
    # The panel's total is the model's own loss for that digit with that eps.
    x = shipped_session.data.images[index : index + 1]
    with torch.no_grad():
        mean = shipped_session.model.encode(x).mean
    np.testing.assert_allclose(walk.mean, mean[0].numpy(), atol=1e-6)
    assert walk.total == pytest.approx(sum(t.contribution for t in walk.terms), rel=1e-6)
    assert [t.key for t in walk.terms] == ["reconstruction", "kl"]
    x_, y_ = window.latent_view.overlay_items(maths_link.KEY_Z)[0].getData()
    np.testing.assert_allclose([x_[0], y_[0]], walk.z, atol=1e-5)


def test_redrawing_eps_moves_the_mark_and_hovering_kl_outlines_the_posterior(linked, qtbot):
    window, panel = linked
    click(window.latent_view, window.latent_view.codes[5])
    before = window.latent_view.overlay_items(maths_link.KEY_Z)[0].getData()
    panel.draw_again()
    after = window.latent_view.overlay_items(maths_link.KEY_Z)[0].getData()
    assert not np.allclose([before[0][0], before[1][0]], [after[0][0], after[1][0]])
    panel.highlight.emit("kl")
    assert window.latent_view.overlay_items(maths_link.KEY_HIGHLIGHT)
    panel.highlight.emit("")
    assert not window.latent_view.overlay_items(maths_link.KEY_HIGHLIGHT)


def test_a_drawing_is_walked_through_too(linked, qtbot):
    window, panel = linked
    drawing = window.drawing_panel
    window.show_tool(drawing)
    for points in SEVEN:
        stroke(qtbot, drawing.canvas, points)
    assert panel.walkthrough is not None
    np.testing.assert_allclose(panel.walkthrough.image, drawing.prepared.image, atol=1e-6)
    np.testing.assert_allclose(panel.walkthrough.mean, drawing.mu, atol=1e-5)
