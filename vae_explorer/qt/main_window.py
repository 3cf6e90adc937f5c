"""The main window: it assembles the views of one Exploration (and, to compare, a second one).

The latent map (MapPane) is in the middle, the Inspector on the left, tool tabs
on the right. The state (the committed session, the session the views draw,
the pin and the picked image) lives in a Qt-free core.exploration.Exploration;
the views observe it, and the window turns map events into changes of it.
Files and exports live in window_files, training's effect on the map in
window_training, the second model in side_by_side.

This module imports nothing that imports torch at load time, so run_app can
paint a first map (from core.quickstart's numpy codes) while torch is still
to be loaded; such a window starts "loading" and becomes fully usable when
finish_loading() hands it the real session.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox, QDockWidget, QLabel, QMainWindow, QSpinBox, QSplitter,
    QTabWidget, QVBoxLayout, QWidget,
)

from vae_explorer.core.exploration import Exploration
from vae_explorer.qt.busy import busy_cursor
from vae_explorer.qt.holes_overlay import HolesOverlay
from vae_explorer.qt.inspector import Inspector
from vae_explorer.qt.probe_overlay import ProbeOverlay
from vae_explorer.qt.map_pane import MapPane
from vae_explorer.qt.split_store import SPLIT_TEST, SplitStore
from vae_explorer.qt.tool_panels import InterpolationPanel, ManifoldPanel, SamplingPanel
from vae_explorer.qt.traversal_panel import TraversalPanel
from vae_explorer.qt.window_files import WindowFiles
from vae_explorer.qt.window_map import MapInteraction
from vae_explorer.qt.window_splits import WindowSplits
from vae_explorer.qt.window_views import WindowViews
from vae_explorer.qt.window_training import WindowTraining

if TYPE_CHECKING:  # these modules import torch; the window loads them only when needed
    from vae_explorer.core.checkpoint import Checkpoint
    from vae_explorer.core.data import ImageSet
    from vae_explorer.core.plane import LatentPlane
    from vae_explorer.core.quickstart import QuickLook
    from vae_explorer.core.session import ExplorerSession

# Closable too: Qt greys out a dock's View-menu toggle unless the dock can be closed.
DOCK_FEATURES = (QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                 | QDockWidget.DockWidgetFeature.DockWidgetClosable)
HINT = ("Hover to decode · click to pin · click a point to inspect it · Shift+click: interpolation ends · "
        "drag to pan · wheel to zoom · click the legend to hide a digit")


class MainWindow(QMainWindow):
    sessionChanged = Signal(object)  # the new committed ExplorerSession
    dataPointPicked = Signal(int)  # index into session.data of a clicked data point
    zPinned = Signal(object)  # the full latent point pinned on the map, (d,), also re-sent under a new model

    def __init__(self, session: ExplorerSession | None, data_dir: str | None = None, device: str = "cpu",
                 settings: QSettings | None = None, test_split: ImageSet | None = None,
                 quick_look: QuickLook | None = None, parent: QWidget | None = None):
        """session=None with a quick_look opens in the loading state: map only, until finish_loading()."""
        super().__init__(parent)
        if session is None and quick_look is None:
            raise ValueError("MainWindow needs a session or a quick look to show")
        self.exploration = Exploration()
        self.data_dir = data_dir
        self.device = device
        self.settings = settings if settings is not None else QSettings("vae-explorer", "vae-explorer")
        self._quick = quick_look  # until the session arrives, hover decodes with its numpy decoder
        self._test_count = len(session.data) if session is not None else len(quick_look.labels)
        self.splits = SplitStore(data_dir, test_split if test_split is not None or session is None else session.data)
        self.training = WindowTraining(self)  # a run's epochs preview on the map
        self.training_panel = None
        self.side_by_side = None  # SideBySide, once a second model is compared
        self.autorange_next = True

        self.setWindowTitle("VAE Explorer")
        self.resize(1400, 900)
        self.setCentralWidget(self._build_centre())
        self._build_inspector()
        self._build_tools()
        self._build_status_bar()
        self._build_actions()
        self._connect()
        self.files.remove_crash_leftovers()  # saves that a crash in an earlier run cut short
        if session is not None:
            self.exploration.commit(session)
        else:
            self.views.show_quick_look(quick_look)
        self.update_title()
        self._restore_layout()

    # ----- public API ------------------------------------------------------------------------

    @property
    def session(self) -> ExplorerSession | None:
        """The explored model and data; None only while the window is still loading."""
        return self.exploration.session

    @property
    def shown(self) -> ExplorerSession | None:
        """What the views decode from: the session, or a training epoch's preview."""
        return self.exploration.shown

    @property
    def loading(self) -> bool:
        return self.exploration.session is None

    @property
    def unsaved(self) -> bool:
        return self.exploration.unsaved

    @unsaved.setter
    def unsaved(self, value: bool) -> None:
        self.exploration.unsaved = bool(value)

    @property
    def pinned_z(self) -> np.ndarray | None:
        return self.exploration.pinned_z

    @property
    def picked_index(self) -> int | None:
        return self.exploration.picked_index

    @property
    def plane(self) -> LatentPlane:
        """The LatentPlane the map shows (the latent itself for 1-D and 2-D models)."""
        return self.map_pane.plane

    @property
    def pinned(self) -> np.ndarray | None:
        """Where the pinned point lies on the map: its projection onto the plane."""
        return None if self.pinned_z is None else self.plane.project(self.pinned_z)

    def finish_loading(self, session: ExplorerSession, test_split: ImageSet | None = None) -> None:
        """Leave the loading state: session becomes the explored one and every view comes alive."""
        self.splits.put("mnist", SPLIT_TEST, test_split if test_split is not None else session.data)
        for action in self._needs_session:
            action.setEnabled(True)
        self.files.rebuild_recent_menu()
        self._quick = None
        self.install_session(session)

    def add_tool_panel(self, widget: QWidget, title: str) -> int:
        """Add a tab to the tool dock on the right, and to the Tools menu (the tabs outgrow the dock)."""
        if not hasattr(self, "tools_menu"):
            self.tools_menu, self.tool_actions = self.menuBar().addMenu("&Tools"), {}
        action = self.tools_menu.addAction(title, lambda: self.show_tool(widget))
        self.tool_actions[widget] = action
        return self.tool_tabs.addTab(widget, title)

    def show_tool(self, widget: QWidget) -> None:
        self.tool_dock.show()
        self.tool_tabs.setCurrentWidget(widget)

    def set_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Make checkpoint the explored model: re-encode the shown split (its own dataset's test
        split when it was trained on another dataset) and refresh every view. Raises when that
        dataset cannot be loaded; the current model then stays."""
        from vae_explorer.core.session import ExplorerSession

        with busy_cursor():
            data = self.session.data
            if data.name != checkpoint.dataset:
                data = self.splits.get(checkpoint.dataset, SPLIT_TEST)
            session = ExplorerSession.create(checkpoint, data)
        if session.model.is_conditional and self.session.model.is_conditional:
            session.condition = min(self.session.condition, session.model.num_classes - 1)
        self.install_session(session)

    def set_condition(self, label: int) -> None:
        """The class a conditional model decodes everywhere on the map (the Classes tab's picker)."""
        self.exploration.set_condition(label)

    def decode_2d(self, z: np.ndarray) -> np.ndarray:
        """Decode map points (M, 2) with the shown model: each is the full latent z it stands for."""
        return self.map_pane.decode_2d(z)

    def open_checkpoint(self, path: str | Path) -> bool:
        return self.files.open_checkpoint(path)

    def save_checkpoint_as(self, path: str | Path) -> bool:
        return self.files.save_checkpoint_as(path)

    def recent_files(self) -> list[str]:
        return self.files.recent_files()

    def compare_with(self, path: str | Path) -> bool:
        """Show the model in `path` beside the explored one; a bad file gets a message."""
        from vae_explorer.qt.side_by_side import SideBySide

        if self.session is None:
            return False
        if self.side_by_side is None:
            self.side_by_side = SideBySide(self)
        return self.side_by_side.open(path)

    # ----- construction ----------------------------------------------------------------------

    def _build_centre(self) -> QWidget:
        self.splits_menu = WindowSplits(self, self._test_count)
        self.split_combo = self.splits_menu.combo
        self.manifold_check = QCheckBox("Manifold overlay")
        self.manifold_check.setToolTip("Tile decoded images over the visible part of the map (M)")
        self.manifold_spin = QSpinBox(minimum=3, maximum=40, value=14)
        self.manifold_spin.setToolTip("Decoded images across the visible width")
        self.manifold_spin.setSuffix(" across")
        self.map_pane = MapPane([QLabel("Show:"), self.split_combo, None, self.manifold_check, self.manifold_spin])
        self.latent_view, self.map_plane = self.map_pane.latent_view, self.map_pane.map_plane
        self.map_title = self.map_pane.map_title
        self.set_data_dir(self.data_dir)
        self.maps = QSplitter(Qt.Orientation.Horizontal)  # a compared model's map joins on the right
        self.maps.setChildrenCollapsible(False)
        self.maps.addWidget(self.map_pane)
        centre = QWidget()
        layout = QVBoxLayout(centre)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.maps, 1)
        hint = QLabel(HINT)
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        hint.setMinimumWidth(200)
        hint.setContentsMargins(8, 3, 8, 4)
        layout.addWidget(hint)
        return centre

    def _build_inspector(self) -> None:
        self.inspector = Inspector()  # watches the exploration after the window (see _connect)
        for name in ("hover_panel", "pinned_panel", "original_panel", "reconstruction_panel", "picked_caption"):
            setattr(self, name, getattr(self.inspector, name))
        self.inspector_dock = self._dock("Inspector", "inspectorDock", self.inspector,
                                         Qt.DockWidgetArea.LeftDockWidgetArea)

    def _dock(self, title: str, name: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(DOCK_FEATURES)
        self.addDockWidget(area, dock)
        return dock

    def _build_tools(self) -> None:
        self.tool_tabs = QTabWidget()
        self.manifold_panel = ManifoldPanel()
        self.interpolation_panel = InterpolationPanel()
        self.sampling_panel = SamplingPanel()
        self.traversal_panel = TraversalPanel()
        self.add_tool_panel(self.manifold_panel, "Manifold")
        self.add_tool_panel(self.interpolation_panel, "Interpolate")
        self.add_tool_panel(self.sampling_panel, "Samples")
        self.add_tool_panel(self.traversal_panel, "Traversals")
        self.tool_tabs.setMinimumWidth(340)
        self.tool_dock = self._dock("Tools", "toolDock", self.tool_tabs, Qt.DockWidgetArea.RightDockWidgetArea)
        self._size_docks()

    def _size_docks(self) -> None:
        self.resizeDocks([self.inspector_dock, self.tool_dock], [235, 450], Qt.Orientation.Horizontal)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        # A real window manager lays the docks out again when the window first maps,
        # which drops sizes asked for before; ask once more so all six tool tabs fit.
        if not getattr(self, "_docks_sized_on_show", False):
            self._docks_sized_on_show = True
            QTimer.singleShot(0, self._size_docks)

    def _build_status_bar(self) -> None:
        self.z_label = QLabel("")
        self.z_label.setMinimumWidth(190)
        self.model_label = QLabel("")
        self.statusBar().addPermanentWidget(self.z_label)
        self.statusBar().addPermanentWidget(self.model_label)

    def _build_actions(self) -> None:
        self.files = WindowFiles(self)
        file_items = self.files.build_menu()
        self.open_action, self.save_action = self.files.open_action, self.files.save_action
        self.recent_menu, self.shipped_menu = self.files.recent_menu, self.files.shipped_menu
        view = self.view_menu = self.menuBar().addMenu("&View")
        self.menuBar().removeAction(self.tools_menu.menuAction())  # made with the first tab; goes last
        self.menuBar().addAction(self.tools_menu.menuAction())
        self.manifold_action = self.add_action(view, "&Manifold overlay", "M", "Tile decoded images over the map",
                                               self.manifold_check.toggle)
        self.add_action(view, "&Reset zoom", "R", "Fit the map to the data", self.latent_view.auto_range)
        self.add_action(view, "&Zoom to posterior", "Z", "Zoom onto the clicked digit's q(z|x) (±4σ), where "
                        "its ellipses are readable", self.zoom_to_posterior)
        self.add_action(view, "&Clear pins and overlays", "Esc", "Remove pin, ellipses and path", self.clear_marks)
        view.addSeparator()
        view.addAction(self.inspector_dock.toggleViewAction())
        view.addAction(self.tool_dock.toggleViewAction())
        # What must wait until the model has loaded (see finish_loading).
        self._needs_session = [*file_items, self.manifold_action, self.split_combo, self.manifold_check,
                               self.tool_tabs]

    def add_action(self, menu, text, shortcut, tip, slot) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.setToolTip(tip)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _connect(self) -> None:
        self.interaction = MapInteraction(self)
        self.manifold_check.toggled.connect(self.latent_view.set_manifold_visible)
        self.manifold_spin.valueChanged.connect(self.latent_view.set_manifold_columns)
        self.views = WindowViews(self)  # the map and tool panels follow the exploration
        self.exploration.observe("committed", self._on_committed)
        self.inspector.watch(self.exploration)  # after the window, which may move the pin to a new size first
        self.holes_overlay, self.probe_overlay = HolesOverlay(self), ProbeOverlay(self)

    # ----- following the exploration --------------------------------------------------------

    def install_session(self, session: ExplorerSession) -> None:
        current = self.session
        self.autorange_next = current is None or len(session.data) != len(current.data)
        self.exploration.commit(session)

    def _on_committed(self, exploration: Exploration) -> None:
        self.update_title()
        if self.training_panel is not None:
            self.training_panel.set_display_data(exploration.session.data)
        self.sessionChanged.emit(exploration.session)

    def update_title(self) -> None:
        if self.session is None:
            self.setWindowTitle("VAE Explorer — loading…")
            return
        checkpoint = self.session.checkpoint
        name = checkpoint.path.name if checkpoint.path else "trained in this session"
        self.setWindowTitle(f"VAE Explorer — {name}{' (unsaved)' if self.unsaved else ''}")
        model = checkpoint.model
        self.model_label.setText(f"{name} · {model.describe()} · {model.latent_dim}-D latent · device {self.device}")

    # ----- map interaction (window_map) and splits (window_splits) ---------------------------

    def on_hover(self, z: np.ndarray) -> None:
        self.interaction.on_hover(z)

    def on_click(self, z: np.ndarray, index: int, modifiers) -> None:
        self.interaction.on_click(z, index, modifiers)

    def pin(self, z: np.ndarray) -> None:
        """Pin the full latent point that map point z stands for; ValueError for one that cannot be decoded."""
        self.exploration.pin(self.plane.to_latent(z)[0])

    def pick(self, index: int) -> None:
        """Inspect data point `index` of the shown split: its image, reconstruction and posterior."""
        self.interaction.pick(index)

    def zoom_to_posterior(self) -> bool:
        return self.interaction.zoom_to_posterior()

    def clear_marks(self) -> None:
        self.interaction.clear_marks()

    def show_split(self, split: str) -> bool:
        return self.splits_menu.show_split(split)

    def set_data_dir(self, data_dir: str | None) -> None:
        self.splits_menu.set_data_dir(data_dir)

    # ----- training and closing --------------------------------------------------------------

    def attach_training_panel(self, panel) -> None:
        """Wire a TrainingPanel: epoch snapshots redraw the map, a finished run becomes the model."""
        self.training.attach(panel)
        self.training_panel = panel
        self.add_tool_panel(panel, "Training")

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        if not self.files.confirm_discard():
            event.ignore()
            return
        for widget in (*[self.tool_tabs.widget(i) for i in range(self.tool_tabs.count())], self.side_by_side,
                       self.probe_overlay):
            if widget is not None and hasattr(widget, "shutdown"):
                widget.shutdown()  # the training panel among them: its thread is joined
        self.latent_view._manifold_timer.stop()
        self.settings.setValue("windowGeometry", self.saveGeometry())
        self.settings.setValue("windowState", self.saveState())
        event.accept()

    def _restore_layout(self) -> None:
        """Reopen with the size and dock layout the user left (the defaults suit 1400 x 900)."""
        geometry = self.settings.value("windowGeometry")
        state = self.settings.value("windowState")
        if state is not None:
            self.restoreState(state)
        if geometry is not None:
            self.restoreGeometry(geometry)
