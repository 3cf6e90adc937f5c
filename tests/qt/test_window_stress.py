"""The whole window under rough handling: resized to almost nothing and back with every tool tab shown,
drags and clicks far outside the data, and closed while background tools are running. Any exception in
a Qt callback fails the test (pytest-qt), and no thread may outlive the close."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from tests.qt.map_mouse import click, hover
from vae_explorer.qt.app import attach_demo_panels, attach_training

pytestmark = pytest.mark.usefixtures("no_qthread_running_at_all")


@pytest.fixture
def full_window(main_window):
    attach_training(main_window)
    attach_demo_panels(main_window)
    return main_window


def test_tiny_sizes_with_every_tab_shown_raise_nothing(full_window, qtbot):
    window = full_window
    for index in range(window.tool_tabs.count()):
        window.tool_tabs.setCurrentIndex(index)
        for width, height in ((1, 1), (40, 30), (200, 120), (1400, 900)):
            window.resize(width, height)
            QApplication.processEvents()
    window.pick(5)
    hover(window.latent_view, (0.0, 0.0))
    assert window.inspector.hover_panel.canvas.array is not None  # still decoding at full size


def test_drags_and_clicks_far_outside_the_data_pin_or_do_nothing(full_window, qtbot):
    window = full_window
    view = window.latent_view
    viewport = view.plot_widget.viewport()
    for z in ((1e3, 1e3), (-50.0, 0.0), (0.0, 80.0)):
        hover(view, z)  # off the visible map: nothing to decode there beyond what is shown
    start, end = QPoint(5, 5), QPoint(viewport.width() + 500, viewport.height() + 500)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(viewport, end)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)
    xmin, xmax, ymin, ymax = view.visible_rect()
    assert np.isfinite([xmin, xmax, ymin, ymax]).all()
    click(view, ((xmin + xmax) / 2, (ymin + ymax) / 2))  # the map still answers
    assert window.pinned_z is not None or window.picked_index is not None


def test_closing_while_the_gaps_the_class_regions_and_an_imputation_run(full_window, qtbot):
    window = full_window
    window.show_tool(window.gaps_view)
    window.pick(7)  # the Gaps tab starts its run for the picked digit
    window.probe_overlay.action.trigger()  # the class-region layer classifies on its own thread
    imputation = window.imputation_panel
    imputation.set_mask(np.ones(imputation.image_shape, dtype=bool))
    imputation.steps_spin.setValue(400)
    imputation.start_imputation()
    assert window.gaps_view.runs.thread_count or window.probe_overlay.runs.thread_count
    assert window.close()  # joins every thread before it returns; the fixture checks none is left
