"""What the mouse does on the main map: hover decodes, a click pins or picks, Shift+click sets
interpolation ends; and the View menu's map actions (zoom to the posterior, clear the marks).

Changes go to the window's Exploration, whose observers redraw; a compared
model's pane follows the hover and the pick.
"""

from __future__ import annotations


import numpy as np
from PySide6.QtCore import Qt

from vae_explorer.core import latent
from vae_explorer.qt.inspector import class_name, format_z


class MapInteraction:
    def __init__(self, window):
        self.window = window
        self.hovered: np.ndarray | None = None  # the last map point under the cursor
        view = window.latent_view
        view.hovered.connect(self.on_hover)
        view.clicked.connect(self.on_click)
        view.left.connect(lambda: window.z_label.setText(""))
        window.interpolation_panel.pathChanged.connect(self._on_path_changed)
        window.interpolation_panel.pickRequested.connect(self._on_pick_endpoint_from_pin)
        window.map_plane.changed.connect(self._on_plane_changed)

    def on_hover(self, z: np.ndarray) -> None:
        window = self.window
        self.hovered = np.asarray(z, np.float32).copy()
        full = window.plane.to_latent(z)[0]
        window.z_label.setText(format_z(z))
        problem = latent.z_problem(full)
        if problem is not None:  # a note, never an image of NaNs
            window.inspector.hover_panel.show_note(f"Cannot decode this z: {problem}.", format_z(full))
            return
        window.inspector.show_hover(window.decode_2d(z)[0], format_z(full))
        if window.side_by_side is not None:
            window.side_by_side.follow_hover(full)

    def on_click(self, z: np.ndarray, index: int, modifiers) -> None:
        window = self.window
        if window.shown is None:
            return
        if modifiers & Qt.KeyboardModifier.ShiftModifier:
            panel = window.interpolation_panel
            which = panel.next_endpoint()
            if which == "A":
                panel.set_endpoint("B", None)
            panel.set_endpoint(which, z)
            window.tool_tabs.setCurrentWidget(panel)
            window.statusBar().showMessage(f"Interpolation {which} set at {format_z(z)}", 4000)
            return
        if index >= 0:
            self.pick(index)
            window.dataPointPicked.emit(index)
        else:
            try:
                window.pin(z)
            except ValueError as exc:  # a point that cannot be decoded: say why, pin nothing
                window.statusBar().showMessage(str(exc).capitalize(), 8000)

    def pick(self, index: int) -> None:
        window = self.window
        window.exploration.pick(index)
        session = window.shown
        mu, _ = window.exploration.picked_posterior()
        label = class_name(session.data.class_names, int(session.labels[index]))
        window.statusBar().showMessage(f"Data point #{index} ({label}): μ = {format_z(mu, 6)[4:]}", 5000)
        if window.side_by_side is not None:
            window.side_by_side.follow_pick(index)

    def zoom_to_posterior(self) -> bool:
        """Fill the map with the clicked digit's posterior: a few pixels wide at full view."""
        if not self.window.map_pane.zoom_to_posterior():
            self.window.statusBar().showMessage("Click a data point first (a model with a posterior)", 5000)
            return False
        return True

    def clear_marks(self) -> None:
        window = self.window
        window.exploration.unpin()
        window.exploration.unpick()
        window.interpolation_panel.set_endpoint("A", None)
        window.interpolation_panel.set_endpoint("B", None)

    def _on_pick_endpoint_from_pin(self, which: str) -> None:
        if self.window.pinned is None:
            self.window.statusBar().showMessage("Pin a point first: click an empty spot on the map", 5000)
            return
        self.window.interpolation_panel.set_endpoint(which, self.window.pinned)

    def _on_path_changed(self, path: np.ndarray | None) -> None:
        view = self.window.latent_view
        if path is None:
            view.clear_overlay("interpolation")
            view.clear_overlay("interpolation-ends")
        else:
            view.show_path("interpolation", path, colour=(255, 230, 120))

    def _on_plane_changed(self, _plane) -> None:
        window = self.window
        window.manifold_panel.set_axis_names(*window.map_pane.axis_names)
        window.interpolation_panel.refresh()
        if self.hovered is not None and window.hover_panel.array is not None:
            self.on_hover(self.hovered)
