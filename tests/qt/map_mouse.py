"""Real mouse events on the latent map at data coordinates, as pyqtgraph's own tests do.

Data coordinates go through ViewBox.mapViewToScene to the scene, then to the
viewport's pixels; the event is sent to the viewport like a user's would be.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication


def viewport_pixel(view, z) -> QPoint:
    return view.map_to_viewport(float(z[0]), float(z[1]))


def data_at_pixel(view, pixel: QPoint) -> np.ndarray:
    """The data coordinates the map assigns to a viewport pixel (where a click there lands)."""
    point = view.view_box.mapSceneToView(view.plot_widget.mapToScene(pixel))
    return np.array([point.x(), point.y()], dtype=np.float32)


def click(view, z, modifiers=Qt.KeyboardModifier.NoModifier) -> np.ndarray:
    """Left-click at z; returns the data coordinates of the pixel actually clicked."""
    pixel = viewport_pixel(view, z)
    QTest.mouseClick(view.plot_widget.viewport(), Qt.MouseButton.LeftButton, modifiers, pixel)
    return data_at_pixel(view, pixel)


def hover(view, z) -> np.ndarray:
    """Move the mouse (no button) to z; returns the data coordinates of that pixel."""
    pixel = viewport_pixel(view, z)
    viewport = view.plot_widget.viewport()
    local = QPointF(pixel)
    event = QMouseEvent(QEvent.Type.MouseMove, local, QPointF(viewport.mapToGlobal(pixel)),
                        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, event)
    return data_at_pixel(view, pixel)
