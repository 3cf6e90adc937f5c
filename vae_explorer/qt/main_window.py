"""The main window: latent map in the middle, inspector on the left, tools on the right.

The window owns the current ExplorerSession (frozen model + displayed split +
codes). Views never hold their own model: they get decoders from the session
being shown, which during training is a preview built from the latest epoch
snapshot, and otherwise the committed session that `session` returns.

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
    QApplication, QCheckBox, QComboBox, QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox, QSpinBox,
    QTabWidget, QVBoxLayout, QHBoxLayout, QWidget,
)

from vae_explorer.core import latent
from vae_explorer.core.resources import shipped_models
from vae_explorer.qt.image_views import ImagePanel, save_array_png
from vae_explorer.qt.latent_view import LatentView
from vae_explorer.qt.split_store import SPLIT_BOTH, SPLIT_TEST, SPLIT_TRAIN, SplitStore
from vae_explorer.qt.map_plane import MapPlane
from vae_explorer.qt.tool_panels import InterpolationPanel, ManifoldPanel, SamplingPanel
from vae_explorer.qt.traversal_panel import TraversalPanel

if TYPE_CHECKING:  # these modules import torch; the window loads them only when needed
    from vae_explorer.core.checkpoint import Checkpoint
    from vae_explorer.core.data import ImageSet
    from vae_explorer.core.plane import LatentPlane
    from vae_explorer.core.quickstart import QuickLook
    from vae_explorer.core.session import ExplorerSession

RECENT_KEY = "recentCheckpoints"
RECENT_LIMIT = 8
# Closable too: Qt greys out a dock's View-menu toggle unless the dock can be closed.
DOCK_FEATURES = (QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                 | QDockWidget.DockWidgetFeature.DockWidgetClosable)
NO_PRIOR_NOTE = ("Nothing pulled this model's codes towards N(0, I), so many of these z land where no "
                 "image was encoded (compare the map) and decode to no digit in particular. A VAE's KL "
                 "term is what fills that space.")


def _format_z(z: np.ndarray, limit: int = 20) -> str:
    """z = (+0.123, ...); a long code shows its first `limit` values and its size."""
    values = np.asarray(z).reshape(-1)
    more = f", … {values.size} values" if values.size > limit else ""
    return "z = (" + ", ".join(f"{v:+.3f}" for v in values[:limit]) + more + ")"


def _most_used_axes(session) -> tuple[int, int] | None:
    """The two latent dimensions with the most KL over the shown data: where a VAE's map has structure."""
    if session.latent_logvar is None or session.latent_dim <= 2:
        return None
    kl = latent.kl_per_dimension(session.latent_mu, session.latent_logvar)
    if not np.isfinite(kl).all():
        return None
    first, second = np.argsort(-kl, kind="stable")[:2]
    return int(first), int(second)


class MainWindow(QMainWindow):
    sessionChanged = Signal(object)  # the new committed ExplorerSession
    dataPointPicked = Signal(int)  # index into session.data of a clicked data point
    zPinned = Signal(object)  # the full latent point pinned on the map, (d,)

    def __init__(self, session: ExplorerSession | None, data_dir: str | None = None, device: str = "cpu",
                 settings: QSettings | None = None, test_split: ImageSet | None = None,
                 quick_look: QuickLook | None = None, parent: QWidget | None = None):
        """session=None with a quick_look opens in the loading state: map only, until finish_loading()."""
        super().__init__(parent)
        if session is None and quick_look is None:
            raise ValueError("MainWindow needs a session or a quick look to show")
        self._session = session
        self._shown = session  # what the views decode from: the session, or a training preview
        self.data_dir = data_dir
        self.device = device
        self.settings = settings if settings is not None else QSettings("vae-explorer", "vae-explorer")
        self._quick = quick_look  # until the session arrives, hover decodes with its numpy decoder
        self._test_count = len(session.data) if session is not None else len(quick_look.labels)
        self.splits = SplitStore(data_dir, test_split if test_split is not None or session is None else session.data)
        self.unsaved = False
        self.pinned_z: np.ndarray | None = None  # the full latent point pinned on the map
        self.picked_index: int | None = None
        self.training_panel = None

        self.setWindowTitle("VAE Explorer")
        self.resize(1400, 900)
        self.latent_view = LatentView()
        self.latent_view.setToolTip("")
        self.map_plane = MapPlane(self)  # which plane of a >2-D latent the map shows
        self.setCentralWidget(self._build_centre())
        self._build_inspector()
        self._build_tools()
        self._build_status_bar()
        self._build_actions()
        self._connect()
        if session is not None:
            self._show_session(session, autorange=True)
        else:
            self._show_quick_look(quick_look)
        self._update_title()
        self._restore_layout()

    # ----- public API ------------------------------------------------------------------------

    @property
    def session(self) -> ExplorerSession | None:
        """The explored model and data; None only while the window is still loading."""
        return self._session

    @property
    def loading(self) -> bool:
        return self._session is None

    def finish_loading(self, session: ExplorerSession, test_split: ImageSet | None = None) -> None:
        """Leave the loading state: session becomes the explored one and every view comes alive."""
        self.splits.put("mnist", SPLIT_TEST, test_split if test_split is not None else session.data)
        for action in self._needs_session:
            action.setEnabled(True)
        self._rebuild_recent_menu()
        self._quick = None
        self._install_session(session)

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

        with _busy_cursor():
            data = self._session.data
            if data.name != checkpoint.dataset:
                data = self.splits.get(checkpoint.dataset, SPLIT_TEST)
            session = ExplorerSession.create(checkpoint, data)
        if session.model.is_conditional and self._session.model.is_conditional:
            session.condition = min(self._session.condition, session.model.num_classes - 1)
        self._install_session(session)

    def set_condition(self, label: int) -> None:
        """The class a conditional model decodes everywhere on the map (the Classes tab's picker)."""
        for session in {id(s): s for s in (self._session, self._shown) if s is not None}.values():
            session.condition = int(label)
        self._show_session(self._shown)

    @property
    def plane(self) -> LatentPlane:
        """The LatentPlane the map shows (the latent itself for 1-D and 2-D models)."""
        return self.map_plane.plane

    @property
    def pinned(self) -> np.ndarray | None:
        """Where the pinned point lies on the map: its projection onto the plane."""
        return None if self.pinned_z is None else self.plane.project(self.pinned_z)

    def decode_2d(self, z: np.ndarray) -> np.ndarray:
        """Decode map points (M, 2) with the shown model: each is the full latent z it stands for."""
        model = self._shown if self._shown is not None else self._quick
        return model.decode(self.plane.to_latent(z))

    # ----- construction ----------------------------------------------------------------------

    def _build_centre(self) -> QWidget:
        self.split_combo = QComboBox()
        self.set_data_dir(self.data_dir)
        self.manifold_check = QCheckBox("Manifold overlay")
        self.manifold_check.setToolTip("Tile decoded images over the visible part of the map (M)")
        self.manifold_spin = QSpinBox(minimum=3, maximum=40, value=14)
        self.manifold_spin.setToolTip("Decoded images across the visible width")
        self.manifold_spin.setSuffix(" across")
        bar = QHBoxLayout()
        bar.setContentsMargins(8, 6, 8, 2)
        bar.addWidget(QLabel("Show:"))
        bar.addWidget(self.split_combo)
        bar.addSpacing(16)
        bar.addWidget(self.manifold_check)
        bar.addWidget(self.manifold_spin)
        bar.addStretch(1)
        self.map_title = QLabel()
        self.map_title.setMinimumWidth(50)
        self.map_title.setToolTip("Each point is the posterior mean of one image, coloured by its digit")
        bar.addWidget(self.map_title)
        centre = QWidget()
        layout = QVBoxLayout(centre)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.map_plane.controls)
        layout.addWidget(self.latent_view, 1)
        hint = QLabel("Hover to decode · click to pin · click a point to inspect it · Shift+click: interpolation "
                      "ends · drag to pan · wheel to zoom · click the legend to hide a digit")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        hint.setMinimumWidth(200)
        hint.setContentsMargins(8, 3, 8, 4)
        layout.addWidget(hint)
        return centre

    def _build_inspector(self) -> None:
        self.hover_panel = ImagePanel("Under the cursor", "Hover over the map", 150)
        self.pinned_panel = ImagePanel("Pinned point", "Click the map to pin a point", 150)
        self.original_panel = ImagePanel("Data image", "Click a data point", 90)
        self.reconstruction_panel = ImagePanel("Reconstruction", "", 90)
        self.hover_panel.setToolTip("The decoder's mean image for the latent point under the cursor")
        self.pinned_panel.setToolTip("The decoded image at the pinned point (Ctrl+E exports it)")
        self.original_panel.setToolTip("The clicked image; its posterior q(z|x) is drawn on the map as "
                                       "1σ (solid) and 2σ (dashed) ellipses")
        self.reconstruction_panel.setToolTip("Decoded posterior mean: what the VAE makes of this image")
        pair = QHBoxLayout()
        pair.addWidget(self.original_panel)
        pair.addWidget(self.reconstruction_panel)
        self.picked_caption = QLabel("")
        self.picked_caption.setWordWrap(True)
        inspector = QWidget()
        layout = QVBoxLayout(inspector)
        layout.addWidget(self.hover_panel, 3)
        layout.addWidget(self.pinned_panel, 3)
        layout.addLayout(pair, 2)
        layout.addWidget(self.picked_caption)
        layout.addStretch(0)
        dock = QDockWidget("Inspector", self)
        dock.setObjectName("inspectorDock")
        dock.setWidget(inspector)
        dock.setFeatures(DOCK_FEATURES)
        inspector.setMinimumWidth(220)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.inspector_dock = dock

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
        dock = QDockWidget("Tools", self)
        dock.setObjectName("toolDock")
        dock.setWidget(self.tool_tabs)
        dock.setFeatures(DOCK_FEATURES)
        self.tool_tabs.setMinimumWidth(340)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.tool_dock = dock
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
        menu = self.menuBar().addMenu("&File")
        self.open_action = self._action(menu, "&Open checkpoint…", QKeySequence.StandardKey.Open,
                                        "Open a .safetensors checkpoint saved by vae-explorer", self._on_open)
        self.save_action = self._action(menu, "&Save checkpoint as…", QKeySequence.StandardKey.SaveAs,
                                        "Save the explored model (for example one you just trained)", self._on_save_as)
        self.recent_menu = menu.addMenu("Open &recent")
        self.shipped_menu = menu.addMenu("S&hipped models")
        for title, path in shipped_models():
            self._action(self.shipped_menu, title, None, f"Open {path.name}, trained by vae-explorer's own "
                         "command (File ▸ Open shows the command in the file)", lambda _=False, p=path: self.open_checkpoint(p))
        menu.addSeparator()
        export = menu.addMenu("&Export")
        self._action(export, "Pinned decoded image (PNG)…", "Ctrl+E", "The decode of the pinned point",
                     lambda: self._export_dialog("decoded image", self.export_decoded_image))
        self._action(export, "Manifold (PNG)…", None, "The inverse-CDF manifold grid",
                     lambda: self._export_dialog("manifold", self.export_manifold))
        self._action(export, "Interpolation strip (PNG)…", None, "The strip from A to B",
                     lambda: self._export_dialog("interpolation", self.export_interpolation))
        self._action(export, "Prior samples (PNG)…", None, "The grid of samples from the prior",
                     lambda: self._export_dialog("samples", self.export_samples))
        self._action(export, "Latent map (PNG)…", "Ctrl+Shift+E", "The map as it looks now",
                     lambda: self._export_dialog("latent map", self.export_map))
        self._action(export, "Latent codes with labels (CSV)…", None,
                     "Posterior means and log-variances of the shown split, one row per image",
                     lambda: self._export_dialog("latent codes", self.export_codes_csv, "CSV files (*.csv)", ".csv"))
        menu.addSeparator()
        self._action(menu, "&Quit", QKeySequence.StandardKey.Quit, "Close vae-explorer", self.close)

        view = self.view_menu = self.menuBar().addMenu("&View")
        self.menuBar().removeAction(self.tools_menu.menuAction())  # made with the first tab; goes last
        self.menuBar().addAction(self.tools_menu.menuAction())
        self.manifold_action = self._action(view, "&Manifold overlay", "M", "Tile decoded images over the map",
                                            self.manifold_check.toggle)
        self._action(view, "&Reset zoom", "R", "Fit the map to the data", self.latent_view.auto_range)
        self._action(view, "&Zoom to posterior", "Z", "Zoom onto the clicked digit's q(z|x) (±4σ), where "
                     "its ellipses are readable", self.zoom_to_posterior)
        self._action(view, "&Clear pins and overlays", "Esc", "Remove pin, ellipses and path", self.clear_marks)
        view.addSeparator()
        view.addAction(self.inspector_dock.toggleViewAction())
        view.addAction(self.tool_dock.toggleViewAction())
        self._rebuild_recent_menu()
        # What must wait until the model has loaded (see finish_loading).
        self._needs_session = [self.open_action, self.save_action, self.recent_menu, self.shipped_menu, export, self.manifold_action,
                               self.split_combo, self.manifold_check, self.tool_tabs]

    def _action(self, menu, text, shortcut, tip, slot) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.setToolTip(tip)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _connect(self) -> None:
        self.latent_view.hovered.connect(self._on_hover)
        self.latent_view.clicked.connect(self._on_click)
        self.latent_view.left.connect(lambda: self.z_label.setText(""))
        self.manifold_check.toggled.connect(self.latent_view.set_manifold_visible)
        self.manifold_spin.valueChanged.connect(self.latent_view.set_manifold_columns)
        self.split_combo.activated.connect(self._on_split_chosen)
        self.interpolation_panel.pathChanged.connect(self._on_path_changed)
        self.interpolation_panel.pickRequested.connect(self._on_pick_endpoint_from_pin)

    # ----- sessions --------------------------------------------------------------------------

    def _install_session(self, session: ExplorerSession) -> None:
        same_data = self._session is None or len(session.data) == len(self._session.data)
        self._session = session
        self._show_session(session, autorange=not same_data)
        self._update_title()
        if self.training_panel is not None:
            self.training_panel.set_display_data(session.data)
        self.sessionChanged.emit(session)

    def _show_quick_look(self, quick: QuickLook) -> None:
        """The loading state: the map from numpy codes, everything that decodes waits for the model."""
        self.map_plane.configure(quick.codes, quick.latent_dim)
        self.latent_view.set_points(self.map_plane.map_points(), quick.labels, autorange=True)
        self.pinned_panel.canvas.set_placeholder("Loading the model…")
        for action in self._needs_session:
            action.setEnabled(False)
        self.map_title.setText(f"{len(quick.labels):,} points · test")
        self.statusBar().showMessage("Loading the model…")

    def _show_session(self, session: ExplorerSession, autorange: bool = False) -> None:
        """Point every view at session's model and codes."""
        previous, spot = self._shown, self.pinned
        self._shown = session
        picked = self.picked_index  # the clicked data point stays picked if the split still has it
        picked = picked if picked is not None and picked < len(session.data) else None
        self.map_plane.configure(session.latent_mu, session.latent_dim, follow=picked,
                                 prefer_principal=session.latent_logvar is None,
                                 prefer_axes=_most_used_axes(session))
        if (autorange or previous is None or previous.data is not session.data
                or len(self.latent_view.codes) != len(session.latent_mu)):
            self.latent_view.set_points(self.map_plane.map_points(), session.labels, autorange=autorange,
                                        class_names=session.data.class_names)
        else:
            self.latent_view.update_codes(self.map_plane.map_points())
        self.latent_view.decoder = self.decode_2d
        self.latent_view.refresh_manifold()
        self.manifold_panel.set_decoder(self.decode_2d)
        self.interpolation_panel.set_decoder(self.decode_2d)
        self.sampling_panel.set_decoder(session.decode, session.latent_dim)
        self.sampling_panel.set_note("" if session.model.has_posterior else NO_PRIOR_NOTE)
        self.traversal_panel.set_decoder(session.decode, session.latent_dim)
        self.traversal_panel.kl_bars.show_codes(session.latent_mu, session.latent_logvar)
        self.hover_panel.canvas.set_placeholder("Hover over the map")
        self.pinned_panel.canvas.set_placeholder("Click the map to pin a point")
        if self.statusBar().currentMessage() == "Loading the model…":
            self.statusBar().clearMessage()
        if self.pinned_z is not None:  # the same z under the new model; a new latent size keeps the map spot
            same_size = self.pinned_z.size == session.latent_dim
            self._pin_latent(self.pinned_z if same_size else self.plane.to_latent(spot)[0])
        if picked is not None:
            self._show_data_point(picked)
        else:
            self._clear_data_point()
        self.map_title.setText(f"{len(session.data):,} points · {session.data.split}")

    def _update_title(self) -> None:
        if self._session is None:
            self.setWindowTitle("VAE Explorer — loading…")
            return
        checkpoint = self._session.checkpoint
        name = checkpoint.path.name if checkpoint.path else "trained in this session"
        self.setWindowTitle(f"VAE Explorer — {name}{' (unsaved)' if self.unsaved else ''}")
        model = checkpoint.model
        self.model_label.setText(f"{name} · {model.describe()} · {model.latent_dim}-D latent · device {self.device}")

    # ----- map interaction -------------------------------------------------------------------

    def _on_hover(self, z: np.ndarray) -> None:
        self.z_label.setText(_format_z(z))
        self.hover_panel.set_image(self.decode_2d(z)[0], _format_z(self.plane.to_latent(z)[0]))

    def _on_click(self, z: np.ndarray, index: int, modifiers) -> None:
        if self._shown is None:
            return
        if modifiers & Qt.KeyboardModifier.ShiftModifier:
            which = self.interpolation_panel.next_endpoint()
            if which == "A":
                self.interpolation_panel.set_endpoint("B", None)
            self.interpolation_panel.set_endpoint(which, z)
            self.tool_tabs.setCurrentWidget(self.interpolation_panel)
            self.statusBar().showMessage(f"Interpolation {which} set at {_format_z(z)}", 4000)
            return
        if index >= 0:
            self._show_data_point(index)
            self.dataPointPicked.emit(index)
        else:
            self._pin(z)

    def _pin(self, z: np.ndarray) -> None:
        """Pin the full latent point that map point z stands for."""
        self._pin_latent(self.plane.to_latent(z)[0])

    def _pin_latent(self, z: np.ndarray) -> None:
        self.pinned_z = np.asarray(z, np.float32).reshape(-1).copy()
        self.pinned_panel.set_image(self._shown.decode(self.pinned_z[None])[0], _format_z(self.pinned_z))
        self.latent_view.show_marker("pin", self.pinned)
        self.traversal_panel.set_point(self.pinned_z, "the pinned point")
        self.zPinned.emit(self.pinned_z.copy())
        self.statusBar().showMessage(f"Pinned {_format_z(self.pinned_z)}", 5000)

    def _show_data_point(self, index: int) -> None:
        session = self._shown
        self.picked_index = index
        label = int(session.labels[index])
        mu, sigma = session.posterior(index)
        names = session.data.class_names
        label = names[label] if 0 <= label < len(names) else str(label)  # a digit, or "Ankle boot"
        self.original_panel.set_image(session.image(index), f"#{index} · {label}")
        self.reconstruction_panel.set_image(session.reconstruct(index), "decoded μ")
        self.map_plane.follow(session.latent_mu[index], index)  # the point as the map draws it
        self.map_plane.show_posterior(mu, sigma)
        self.traversal_panel.set_point(mu, f"data point #{index}'s mean")
        shown = 8  # a long code would push the inspector off the screen
        more = f", … {len(mu)} values" if len(mu) > shown else ""
        spread = "" if sigma is None else f", σ = ({', '.join(f'{v:.3f}' for v in sigma[:shown])}{more})"
        name = "q(z|x): μ" if sigma is not None else "code"
        zoom = "" if sigma is None else " · Z zooms onto it, R back"
        self.picked_caption.setText(f"{name} = ({', '.join(f'{v:+.2f}' for v in mu[:shown])}{more}){spread}{zoom}")
        self.statusBar().showMessage(f"Data point #{index} ({label}): μ = {_format_z(mu, 6)[4:]}", 5000)

    def _clear_data_point(self) -> None:
        self.picked_index = None
        self.original_panel.set_image(None)
        self.reconstruction_panel.set_image(None)
        self.picked_caption.setText("")
        self.map_plane.clear_posterior()

    def zoom_to_posterior(self) -> bool:
        """Fill the map with the clicked digit's posterior: a few pixels wide at full view."""
        extent = self.map_plane.posterior_extent()
        if extent is None:
            self.statusBar().showMessage("Click a data point first (a model with a posterior)", 5000)
            return False
        self.latent_view.view_box.setRange(xRange=extent[:2], yRange=extent[2:], padding=0.05)
        return True

    def clear_marks(self) -> None:
        self.pinned_z = None
        self.pinned_panel.set_image(None)
        self.latent_view.clear_overlay("pin")
        self._clear_data_point()
        self.interpolation_panel.set_endpoint("A", None)
        self.interpolation_panel.set_endpoint("B", None)

    def _on_pick_endpoint_from_pin(self, which: str) -> None:
        if self.pinned is None:
            self.statusBar().showMessage("Pin a point first: click an empty spot on the map", 5000)
            return
        self.interpolation_panel.set_endpoint(which, self.pinned)

    def _on_path_changed(self, path: np.ndarray | None) -> None:
        if path is None:
            self.latent_view.clear_overlay("interpolation")
            self.latent_view.clear_overlay("interpolation-ends")
        else:
            self.latent_view.show_path("interpolation", path, colour=(255, 230, 120))

    # ----- splits ----------------------------------------------------------------------------

    def _on_split_chosen(self, _index: int) -> None:
        self.show_split(self.split_combo.currentData())

    def show_split(self, split: str) -> bool:
        """Encode and draw another split; on failure say why and keep the current one."""
        from vae_explorer.core.session import ExplorerSession

        try:
            with _busy_cursor():
                data = self._load_split(split)
                session = ExplorerSession.create(self._session.checkpoint, data)
        except Exception as exc:  # noqa: BLE001 - any failure leaves the current split in place
            QMessageBox.warning(self, "Cannot show that split", f"{exc}\n\nThe map keeps showing the "
                                f"{self._session.data.split} split.")
            self.split_combo.setCurrentIndex(max(0, self.split_combo.findData(self._session.data.split)))
            return False
        self.picked_index = None
        self._install_session(session)
        self.split_combo.setCurrentIndex(max(0, self.split_combo.findData(split)))
        self.latent_view.auto_range()
        return True

    def set_data_dir(self, data_dir: str | None) -> None:
        """Offer the training split on the map when data_dir holds MNIST."""
        self.data_dir = data_dir
        if hasattr(self, "splits"):
            self.splits.data_dir = data_dir
        self.split_combo.clear()
        self.split_combo.addItem(f"Test split ({self._test_count:,} images)", SPLIT_TEST)
        if data_dir:
            self.split_combo.addItem("Training split (60,000)", SPLIT_TRAIN)
            self.split_combo.addItem("Training + test (70,000)", SPLIT_BOTH)
        self.split_combo.setToolTip("Which images are encoded and drawn on the map"
                                    + ("" if data_dir else " (start with --data-dir to add the training split)"))

    def _load_split(self, split: str) -> ImageSet:
        dataset = self._session.data.name
        if not self.splits.has(dataset, split):
            self.statusBar().showMessage(f"Loading the {split} split from {self.data_dir}…")
        try:
            return self.splits.get(dataset, split)
        finally:
            self.statusBar().clearMessage()

    # ----- files -----------------------------------------------------------------------------

    def _on_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open checkpoint", self._last_folder(),
                                              "vae-explorer checkpoints (*.safetensors);;All files (*)")
        if path:
            self.open_checkpoint(path)

    def open_checkpoint(self, path: str | Path) -> bool:
        """Load and explore path; a bad file gets a message and the current model stays."""
        from vae_explorer.core.checkpoint import CheckpointError, load_checkpoint

        if not self._confirm_discard():
            return False
        try:
            checkpoint = load_checkpoint(path, device="cpu")
            self.set_checkpoint(checkpoint)
        except Exception as exc:  # noqa: BLE001 - a bad file or missing data: say so, keep the model
            QMessageBox.critical(self, "Cannot open checkpoint", f"{exc}\n\nThe current model stays open.")
            self._remember_recent(path, remove=True) if not Path(path).exists() else None
            return False
        self.latent_view.auto_range()  # another model's codes span another area
        self.unsaved = False
        self._update_title()
        self._remember_recent(path)
        self.statusBar().showMessage(f"Opened {Path(path).name}", 5000)
        return True

    def _on_save_as(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save checkpoint as", self._last_folder("model.safetensors"),
                                              "vae-explorer checkpoints (*.safetensors)")
        if path:
            self.save_checkpoint_as(path)

    def save_checkpoint_as(self, path: str | Path) -> bool:
        from vae_explorer.core.checkpoint import CheckpointError, save_checkpoint

        path = Path(path)
        if path.suffix != ".safetensors":
            path = path.with_suffix(path.suffix + ".safetensors") if path.suffix else path.with_suffix(".safetensors")
        try:
            save_checkpoint(self._session.checkpoint, path)
        except (OSError, CheckpointError) as exc:  # CheckpointError: a target that is no regular file
            QMessageBox.critical(self, "Cannot save checkpoint", f"Could not write {path}: {exc}\n\n"
                                 "The model is still open; save it somewhere else.")
            return False
        self.latent_view.auto_range()  # another model's codes span another area
        self.unsaved = False
        self._update_title()
        self._remember_recent(path)
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def _last_folder(self, name: str = "") -> str:
        recent = self.recent_files()
        folder = Path(recent[0]).parent if recent else Path.home()
        return str(folder / name)

    def recent_files(self) -> list[str]:
        value = self.settings.value(RECENT_KEY, [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _remember_recent(self, path: str | Path, remove: bool = False) -> None:
        path = str(Path(path).resolve())
        files = [p for p in self.recent_files() if p != path]
        if not remove:
            files.insert(0, path)
        self.settings.setValue(RECENT_KEY, files[:RECENT_LIMIT])
        self._rebuild_recent_menu()

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for number, path in enumerate(files, start=1):
            action = self.recent_menu.addAction(f"&{number} {Path(path).name}")
            action.setToolTip(path)
            action.setStatusTip(path)
            action.triggered.connect(lambda _checked=False, p=path: self.open_checkpoint(p))
        self.recent_menu.setEnabled(bool(files))

    # ----- export ----------------------------------------------------------------------------

    def _export_dialog(self, what: str, writer, filter_: str = "PNG images (*.png)", suffix: str = ".png") -> None:
        path, _ = QFileDialog.getSaveFileName(self, f"Export {what}", self._last_folder(what.replace(" ", "-") + suffix),
                                              filter_)
        if not path:
            return
        if not path.lower().endswith(suffix):
            path += suffix
        try:
            writer(path)
        except (OSError, ValueError) as exc:
            QMessageBox.critical(self, f"Cannot export {what}", str(exc))
            return
        self.statusBar().showMessage(f"Exported {what} to {path}", 5000)

    def export_decoded_image(self, path: str) -> None:
        if self.pinned_panel.array is None:
            raise ValueError("nothing is pinned yet: click the map to pin a point first")
        save_array_png(self.pinned_panel.array, path)

    def export_manifold(self, path: str) -> None:
        save_array_png(self.manifold_panel.array, path)

    def export_interpolation(self, path: str) -> None:
        if self.interpolation_panel.array is None:
            raise ValueError("no interpolation yet: Shift+click two points on the map first")
        save_array_png(self.interpolation_panel.array, path)

    def export_samples(self, path: str) -> None:
        save_array_png(self.sampling_panel.array, path)

    def export_map(self, path: str) -> None:
        if not self.latent_view.plot_widget.grab().save(str(path), "PNG"):
            raise OSError(f"could not write {path}")

    def export_codes_csv(self, path: str) -> None:
        session = self._shown
        latent.write_codes_csv(path, session.latent_mu, session.labels,
                               None if session is not self._session else session.latent_logvar, session.data.split)

    # ----- training --------------------------------------------------------------------------

    def attach_training_panel(self, panel) -> None:
        """Wire a TrainingPanel: epoch snapshots redraw the map, a finished run becomes the model."""
        self.training_panel = panel
        panel.set_display_data(self._session.data)
        panel.epochSnapshot.connect(self._on_epoch_snapshot)
        panel.trainingFinished.connect(self._on_training_finished)
        panel.trainingFailed.connect(self._on_training_failed)
        panel.trainingCancelled.connect(self._on_training_cancelled)
        self.add_tool_panel(panel, "Training")

    def _on_epoch_snapshot(self, snapshot) -> None:
        from vae_explorer.core.session import ExplorerSession

        if snapshot.model is None or snapshot.latent_mean is None:
            return
        mu = np.asarray(snapshot.latent_mean, np.float32)
        if self._session is None or mu.shape[0] != len(self._session.data):
            return  # the user switched splits mid-run; the next finished model re-encodes anyway
        logvar = None if snapshot.latent_logvar is None else np.asarray(snapshot.latent_logvar, np.float32)
        preview = ExplorerSession(self._session.checkpoint, snapshot.model, self._session.data, mu, logvar,
                                  condition=self._session.condition)
        self._show_session(preview)
        stats = getattr(snapshot, "stats", None)
        if stats is not None:
            self.statusBar().showMessage(f"Training: epoch {stats.epoch}/{stats.epochs}, map re-encoded", 4000)

    def _on_training_finished(self, checkpoint: Checkpoint) -> None:
        checkpoint.path = None
        self.set_checkpoint(checkpoint)
        self.latent_view.auto_range()  # the new model's codes span another area: show them all
        self.unsaved = True
        self._update_title()
        self.statusBar().showMessage("Training finished: the new model is now explored. "
                                     "Save it with File › Save checkpoint as (Ctrl+Shift+S).", 10000)

    def _on_training_failed(self, message: str) -> None:
        # The panel shows the message itself; the map goes back to the model in place.
        self._show_session(self._session)
        self.statusBar().showMessage("Training failed; the previous model is still the explored one.", 10000)

    def _on_training_cancelled(self) -> None:
        self._show_session(self._session)
        self.statusBar().showMessage("Training cancelled; the previous model is still the explored one.", 10000)

    # ----- closing ---------------------------------------------------------------------------

    def _confirm_discard(self) -> bool:
        """True when it is fine to replace the current model (saved, or the user says so)."""
        if not self.unsaved:
            return True
        answer = QMessageBox.question(
            self, "Unsaved model", "The model you trained has not been saved. Save it first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            self._on_save_as()
            return not self.unsaved
        return answer == QMessageBox.StandardButton.Discard

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        if not self._confirm_discard():
            event.ignore()
            return
        if self.training_panel is not None:
            self.training_panel.shutdown()
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


class _busy_cursor:
    """Wait cursor for the few operations that take a second (encoding 70,000 images)."""

    def __enter__(self):
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)

    def __exit__(self, *exc):
        QApplication.restoreOverrideCursor()
        return False
