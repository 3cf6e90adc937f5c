"""Latent points the decoder cannot take (NaN, infinities, 1e30): a clear note, never an image of NaNs."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from vae_explorer.core.latent import MAX_ABS_Z, z_problem

BAD_POINTS = [(np.nan, 0.0), (0.0, np.inf), (-np.inf, np.nan), (1e30, 0.0), (0.0, -2 * MAX_ABS_Z)]


@pytest.mark.parametrize("point", BAD_POINTS)
def test_the_problem_is_named(point):
    problem = z_problem(np.array(point))
    assert problem is not None and ("NaN" in problem or str(f"{MAX_ABS_Z:g}") in problem)


def test_good_points_have_no_problem():
    assert z_problem(np.zeros(2)) is None and z_problem(np.full(20, MAX_ABS_Z)) is None


@pytest.mark.parametrize("point", BAD_POINTS)
def test_hovering_or_clicking_a_bad_point_shows_a_note_and_changes_nothing(main_window, point):
    z = np.array(point, np.float32)
    main_window.on_hover(np.zeros(2, np.float32))
    canvas = main_window.inspector.hover_panel.canvas
    assert canvas.array is not None and np.isfinite(canvas.array).all()
    main_window.on_hover(z)
    assert canvas.array is None and canvas.placeholder.startswith("Cannot decode this z:")
    main_window.on_click(z, -1, Qt.KeyboardModifier.NoModifier)
    assert main_window.exploration.pinned_z is None
    assert main_window.statusBar().currentMessage().startswith("Cannot pin this point:")
    assert len(main_window.inspector.hover_panel.caption.text()) < 40  # a far-off z in a few digits
    main_window.on_hover(np.zeros(2, np.float32))  # and the next good point decodes again
    assert canvas.array is not None and np.isfinite(canvas.array).all()
