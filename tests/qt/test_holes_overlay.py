"""View > Holes: the aggregate posterior, its holes and the prior samples that land in them, on the map."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from vae_explorer.core import latent_holes
from vae_explorer.core.latent import sigma_from_logvar
from vae_explorer.qt import holes_overlay


def test_h_draws_the_layer_and_marks_the_samples_tab_samples_in_holes(main_window, qtbot, shipped_session):
    main_window.activateWindow()
    qtbot.waitUntil(lambda: main_window.isActiveWindow())
    qtbot.keyClick(main_window, Qt.Key.Key_H)
    overlay = main_window.holes_overlay
    assert overlay.visible and overlay.holes is not None
    view = main_window.latent_view
    for key in (holes_overlay.KEY_DENSITY, holes_overlay.KEY_HOLES, holes_overlay.KEY_SAMPLES):
        assert view.overlay_items(key), key
    samples = np.asarray(main_window.sampling_panel.z, np.float64)
    expected = latent_holes.samples_in_holes(shipped_session.latent_mu,
                                             sigma_from_logvar(shipped_session.latent_logvar), samples)
    np.testing.assert_array_equal(overlay.in_holes, expected)
    ring, cross = view.overlay_items(holes_overlay.KEY_SAMPLES)
    assert len(cross.data) == int(expected.sum()) and len(ring.data) == len(samples) - int(expected.sum())
    assert f"{int(expected.sum())} of the {len(samples)} prior samples" in overlay.caption.text
    # The density layer integrates to one over its grid.
    assert overlay.holes.mass == pytest.approx(1.0, abs=0.02)
    # Another seed in the Samples tab moves the marks with it.
    main_window.sampling_panel.seed_spin.setValue(main_window.sampling_panel.seed_spin.value() + 1)
    assert not np.array_equal(np.asarray(main_window.sampling_panel.z, np.float64), samples)
    ring2, cross2 = view.overlay_items(holes_overlay.KEY_SAMPLES)
    assert len(ring2.data) + len(cross2.data) == len(main_window.sampling_panel.z)
    qtbot.keyClick(main_window, Qt.Key.Key_H)
    assert not overlay.visible and not view.overlay_items(holes_overlay.KEY_DENSITY)
    assert not overlay.caption.isVisible()


def test_a_latent_of_another_size_gets_a_note_not_a_layer(qtbot, settings, bundled_test_set):
    from tests.qt.test_kind_panels import open_window, session_of

    window = open_window(qtbot, session_of("vae", bundled_test_set, latent_dim=5), settings)
    window.holes_overlay.action.trigger()
    assert not window.holes_overlay.visible
    assert "2-D latents" in window.statusBar().currentMessage()
    assert not window.latent_view.overlay_items(holes_overlay.KEY_DENSITY)
