"""The Gaps tab: the exact posterior, q* moving from q, and the figures, for a clicked or drawn digit."""

from __future__ import annotations

import numpy as np
import pytest

from tests.qt.map_mouse import click
from vae_explorer.core.checkpoint import load_checkpoint
from vae_explorer.core.gaps import inference_gaps
from vae_explorer.core.resources import shipped_checkpoints_folder
from vae_explorer.qt import gaps_drawing, gaps_link, gaps_view
from vae_explorer.qt.demo_panels import attach as attach_demo_panels


@pytest.fixture
def window_with_gaps(main_window):
    attach_demo_panels(main_window)
    view = gaps_link.attach(main_window)
    main_window.show_tool(view)
    return main_window, view


def test_a_clicked_digit_gets_its_exact_posterior_q_star_and_figures(window_with_gaps, qtbot, shipped_session):
    window, view = window_with_gaps
    centres = []
    view.timer.timeout.connect(lambda: centres.append(None if view.best is None else view.best[0].copy()))
    with qtbot.waitSignal(view.figuresReady, timeout=30000) as figures:
        click(window.latent_view, window.latent_view.codes[2024])
    index = window.picked_index
    f = figures.args[0]
    # The figures are the gaps command's, for this image.
    expected = inference_gaps(shipped_session.model, shipped_session.data.images[index : index + 1])
    assert f["log_px"] == pytest.approx(float(expected.log_px[0]), abs=1e-6)
    assert f["elbo_best"] == pytest.approx(float(expected.elbo_best[0]), abs=1e-6)
    assert f["elbo_encoder"] == pytest.approx(float(expected.elbo_encoder[0]), abs=1e-6)
    assert f["approximation"] >= -0.05 and f["amortization"] >= 0.0
    assert f["approximation"] + f["amortization"] == pytest.approx(f["log_px"] - f["elbo_encoder"], abs=1e-9)
    assert view.values["amortization"].text() == f"{f['amortization']:.2f}"
    # On the map: the heat map covers the posterior, contours, and q* ellipses that moved from q.
    heat = window.latent_view.overlay_items(gaps_view.KEY_EXACT)[0]
    rect = heat.mapRectToParent(heat.boundingRect())
    mu, _ = shipped_session.posterior(index)
    assert rect.left() < mu[0] < rect.right() and rect.top() < mu[1] < rect.bottom()
    assert len(window.latent_view.overlay_items(gaps_view.KEY_CONTOURS)) >= 2
    # The inset shows the same, zoomed: its range holds the exact grid, unreadably small on the full map.
    assert {"exact", "contours", "encoder", "best"} <= set(view.inset._items)
    (xmin, xmax), (ymin, ymax) = view.inset.getPlotItem().viewRange()
    assert xmin <= rect.left() and rect.right() <= xmax and xmax - xmin < 1.0
    moved = [c for c in centres if c is not None]
    assert len(moved) >= 10 and np.abs(moved[-1] - mu).max() > 0 and not np.allclose(moved[0], moved[-1])


def test_the_contours_hold_the_stated_shares_of_the_mass():
    density = np.exp(-0.5 * (np.linspace(-4, 4, 201)[:, None] ** 2 + np.linspace(-4, 4, 201)[None, :] ** 2))
    inner, outer = gaps_drawing.mass_levels(density)
    share = lambda level: density[density >= level].sum() / density.sum()  # noqa: E731
    assert share(inner) == pytest.approx(0.393, abs=0.01) and share(outer) == pytest.approx(0.865, abs=0.01)
    # For a standard normal these are the 1σ and 2σ circles' heights.
    assert inner == pytest.approx(np.exp(-0.5), rel=0.05) and outer == pytest.approx(np.exp(-2.0), rel=0.05)


def test_a_new_digit_abandons_the_run_in_progress(qtbot, shipped_session):
    from vae_explorer.qt.latent_view import LatentView

    map_view = LatentView()
    qtbot.addWidget(map_view)
    view = gaps_view.GapsView(map_view)
    qtbot.addWidget(view)
    view.show()
    view.set_model(shipped_session.model)
    view.show_image(shipped_session.image(0), "first")
    with qtbot.waitSignal(view.figuresReady, timeout=30000) as figures:
        view.show_image(shipped_session.image(1), "second")
    expected = inference_gaps(shipped_session.model, shipped_session.data.images[1:2])
    assert figures.args[0]["log_px"] == pytest.approx(float(expected.log_px[0]), abs=1e-6)
    assert view.title.text() == "second"
    view.shutdown()
    assert view.runs.thread_count == 0


def test_a_model_without_a_posterior_says_why(qtbot):
    from vae_explorer.qt.latent_view import LatentView

    map_view = LatentView()
    qtbot.addWidget(map_view)
    view = gaps_view.GapsView(map_view)
    qtbot.addWidget(view)
    view.set_model(load_checkpoint(shipped_checkpoints_folder() / "mnist-ae-2d.safetensors").model)
    assert "No gaps for this model" in view.title.text() and "posterior" in view.title.text()
    view.show_image(np.zeros((28, 28), np.float32), "blank")
    assert view.image is None and view.runs.thread_count == 0
