"""View > Class regions: the classifier's verdict on the decoded map, and its probabilities under the cursor."""

from __future__ import annotations

import numpy as np
import torch
from PySide6.QtCore import Qt

from tests.qt.map_mouse import hover
from vae_explorer.core import latent
from vae_explorer.core.classifier import load_classifier
from vae_explorer.core.resources import shipped_classifier_path
from vae_explorer.qt import probe_overlay


def test_p_colours_the_map_by_the_class_of_each_decode(main_window, qtbot, shipped_session):
    main_window.activateWindow()
    qtbot.waitUntil(lambda: main_window.isActiveWindow())
    overlay = main_window.probe_overlay
    qtbot.keyClick(main_window, Qt.Key.Key_P)
    assert overlay.visible
    qtbot.waitUntil(lambda: overlay.grid is not None, timeout=20000)
    assert main_window.latent_view.overlay_items(probe_overlay.KEY_REGIONS)
    # The layer's class at a cell is the classifier's class of the image decoded there.
    xmin, xmax, ymin, ymax = overlay.extent
    points = latent.grid_points(xmin, xmax, ymin, ymax, probe_overlay.GRID, probe_overlay.GRID)
    classifier = load_classifier(shipped_classifier_path()).model
    for row, col in ((0, 0), (10, 30), (47, 47), (24, 5)):
        z = points[row * probe_overlay.GRID + col]  # reading order: row 0 at the top
        image = torch.as_tensor(shipped_session.decode(z[None]))
        expected = int(classifier.probabilities(image).argmax())
        assert overlay.grid[probe_overlay.GRID - 1 - row, col] == expected  # drawn with row 0 at the bottom
    assert len(np.unique(overlay.grid)) >= 6  # the decoded space holds most digits
    # Hover lists the decode's class probabilities.
    xmin, xmax, ymin, ymax = main_window.latent_view.visible_rect()
    hover(main_window.latent_view, ((xmin + xmax) / 2, (ymin + ymax) / 2))
    assert main_window.statusBar().currentMessage().startswith("Classifier on this decode:")
    qtbot.keyClick(main_window, Qt.Key.Key_P)
    assert not overlay.visible and not main_window.latent_view.overlay_items(probe_overlay.KEY_REGIONS)
