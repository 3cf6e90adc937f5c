"""A second model beside the explored one: its own map, linked hover and click, and both models' figures.

The second model encodes the same images as the first (the window's shown
split), so a data point's index means the same image on both maps: clicking
it on either map picks it on both, each map drawing its own posterior of it.
When both latents have the same size, a latent point means the same z too:
hovering either map decodes that z with both models and marks it on the other
map, and a pin is pinned on both. The second model is a second Exploration;
this pane observes it as the main window's views observe the first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QHBoxLayout, QHeaderView, QLabel, QMessageBox, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from vae_explorer.core import latent
from vae_explorer.core.exploration import Exploration
from vae_explorer.core.model_figures import FigureRow, figure_rows
from vae_explorer.qt.generator_thread import LatestRun
from vae_explorer.qt.image_views import ImagePanel
from vae_explorer.qt.inspector import format_z
from vae_explorer.qt.map_pane import MapPane
from vae_explorer.qt.probe_overlay import PROBE_IMAGES, PROBE_SAMPLES


KEY_LINKED = "linked-hover"  # the other map's cursor, drawn on this one
LINKED_COLOUR = (120, 220, 255)


class SideBySide(QWidget):
    def __init__(self, window):
        super().__init__()
        self.window = window
        self.exploration = Exploration()
        # id(checkpoint) -> (checkpoint, core.classifier.ProbeFigures); the checkpoint is kept so the id stays its own
        self.probes: dict[int, tuple[object, object]] = {}
        self.probe_missing: str | None = None  # why there are no classifier figures, when there are none
        self.probe_runs = LatestRun(self._on_probe, name="vae-probe-figures", parent=self)
        self.title = QLabel()
        self.title.setMinimumWidth(60)
        close = QPushButton("Close")
        close.setToolTip("Close the comparison (the explored model stays)")
        close.clicked.connect(self.close_comparison)
        self.pane = MapPane([self.title, close])
        self.pane.map_title.hide()  # the same images as the explored map's, whose bar says how many
        self.pane.latent_view.legend.hide()  # the same colours as the explored map's legend
        self.hover_panel = ImagePanel("Under the cursor", "Hover over either map", 80)
        self.recon_panel = ImagePanel("Its reconstruction", "Click a data point on either map", 80)
        self.hover_panel.setToolTip("This model's decode of the z under the cursor (same latent size only)")
        self.recon_panel.setToolTip("This model's decoded posterior mean of the clicked image")
        self.link_note = QLabel()
        self.link_note.setWordWrap(True)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["", "explored (left)", "compared (right)"])
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setWordWrap(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setMinimumHeight(150)
        images = QWidget()
        images.setMaximumHeight(190)  # the map gets the height; the decodes only need to be legible
        pair = QHBoxLayout(images)
        pair.setContentsMargins(0, 0, 0, 0)
        pair.addWidget(self.hover_panel)
        pair.addWidget(self.recon_panel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pane, 5)
        layout.addWidget(images, 2)
        layout.addWidget(self.link_note)
        layout.addWidget(self.table, 2)
        self.pane.latent_view.hovered.connect(self._on_own_hover)
        self.pane.latent_view.clicked.connect(self._on_own_click)
        self.exploration.observe("shown", self._on_shown)
        self.exploration.observe("picked", self._on_picked)
        self.exploration.observe("pinned", lambda e: self.pane.show_pin(e.pinned_z))
        window.exploration.observe("committed", lambda _e: self._follow_model())
        window.exploration.observe("pinned", self._on_window_pinned)

    # ----- opening ---------------------------------------------------------------------------

    def open(self, path: str | Path) -> bool:
        """Load path and show it beside the explored model; a bad file gets a message, nothing changes."""
        from vae_explorer.core.checkpoint import load_checkpoint
        from vae_explorer.core.session import ExplorerSession
        from vae_explorer.qt.busy import busy_cursor

        window = self.window
        try:
            checkpoint = load_checkpoint(path, device="cpu")
            if checkpoint.dataset != window.session.data.name:
                raise ValueError(f"it was trained on {checkpoint.dataset} and the explored model on "
                                 f"{window.session.data.name}: compare models of one dataset")
            with busy_cursor():
                session = ExplorerSession.create(checkpoint, window.shown.data)
        except Exception as exc:  # noqa: BLE001 - a bad file: say so, keep what is shown
            QMessageBox.critical(window, "Cannot compare with that model", f"{exc}")
            return False
        self.exploration.commit(session)
        if window.maps.indexOf(self) < 0:
            window.maps.addWidget(self)
            if window.tool_dock.isVisible():  # two maps need the width; View > Tools brings it back
                window.tool_dock.hide()
            # Halve the width once the new pane is laid out (before, the splitter still measures one map).
            QTimer.singleShot(0, lambda: window.maps.setSizes([max(1, window.maps.width() // 2)] * 2))
        self.show()
        self.pane.latent_view.auto_range()
        if window.picked_index is not None:
            self.follow_pick(window.picked_index)
        self._on_window_pinned(window.exploration)
        self._start_probe()
        window.statusBar().showMessage(f"Comparing with {Path(path).name}: hover or click either map "
                                       "(View ▸ Tools shows the tools again)", 8000)
        return True

    def close_comparison(self) -> None:
        self.shutdown()
        self.hide()
        self.setParent(None)
        self.window.side_by_side = None
        self.window.latent_view.clear_overlay(KEY_LINKED)
        self.deleteLater()

    @property
    def same_latent(self) -> bool:
        shown = self.exploration.shown
        return shown is not None and shown.latent_dim == self.window.shown.latent_dim

    # ----- following the explored model ------------------------------------------------------

    def follow_data(self, data) -> None:
        """The window shows another split: encode the same images with this model."""
        from vae_explorer.core.session import ExplorerSession

        session = self.exploration.session
        if session is not None and session.data is not data:
            self.exploration.commit(ExplorerSession.create(session.checkpoint, data))

    def _follow_model(self) -> None:
        if self.exploration.session is not None:
            self.follow_data(self.window.session.data)
            self._start_probe()
            self._fill_table()
            self._describe_link()

    def follow_hover(self, z: np.ndarray) -> None:
        """The explored map's cursor at full latent z: decode it here and mark it on this map."""
        if not self.same_latent:
            return
        shown = self.exploration.shown
        self.hover_panel.set_image(shown.decode(z[None])[0], format_z(z, 6))
        self.pane.latent_view.show_marker(KEY_LINKED, self.pane.plane.project(z), colour=LINKED_COLOUR, symbol="+")

    def follow_pick(self, index: int) -> None:
        if self.exploration.shown is not None and index < len(self.exploration.shown.data):
            self.exploration.pick(index)

    def _on_window_pinned(self, window_exploration: Exploration) -> None:
        if self.exploration.shown is None:
            return
        z = window_exploration.pinned_z
        if z is None or not self.same_latent:
            self.exploration.unpin()
        else:
            self.exploration.pin(z)

    # ----- this map's own events -------------------------------------------------------------

    def _on_own_hover(self, point: np.ndarray) -> None:
        z = self.pane.plane.to_latent(point)[0]
        problem = latent.z_problem(z)
        if problem is not None:  # a note, never an image of NaNs
            self.hover_panel.show_note(f"Cannot decode this z: {problem}.", format_z(z, 6))
            return
        self.hover_panel.set_image(self.pane.decode_2d(point)[0], format_z(z, 6))
        if self.same_latent:
            window = self.window
            window.inspector.show_hover(window.shown.decode(z[None])[0], format_z(z))
            window.latent_view.show_marker(KEY_LINKED, window.plane.project(z), colour=LINKED_COLOUR, symbol="+")

    def _on_own_click(self, point: np.ndarray, index: int, _modifiers) -> None:
        if index >= 0:
            self.window.pick(index)  # picks it here too, through follow_pick
            return
        try:
            (self.window.exploration if self.same_latent else self.exploration).pin(
                self.pane.plane.to_latent(point)[0])
        except ValueError as exc:  # a point that cannot be decoded
            self.window.statusBar().showMessage(str(exc).capitalize(), 8000)

    def _on_shown(self, exploration: Exploration) -> None:
        self.pane.show_session(exploration.shown, exploration.picked_index, autorange=True, redraw=True)
        checkpoint = exploration.session.checkpoint
        name = checkpoint.path.name if checkpoint.path else "trained in this session"
        self.title.setText(f"Beside it: <b>{name}</b>")
        self.title.setToolTip(checkpoint.model.describe())
        self._fill_table()
        self._describe_link()
        self._on_picked(exploration)

    def _on_picked(self, exploration: Exploration) -> None:
        self.pane.show_picked(exploration)
        index = exploration.picked_index
        if index is None:
            self.recon_panel.set_image(None)
        else:
            self.recon_panel.set_image(exploration.shown.reconstruct(index), f"#{index} · decoded μ")

    def _describe_link(self) -> None:
        if self.same_latent:
            self.link_note.setText("Same latent size: hover and pins decode the same z on both maps; "
                                   "a clicked image is picked on both.")
        else:
            self.link_note.setText("Latent sizes differ, so a z means nothing to the other model: the maps "
                                   "link by image (click a point to pick it on both).")

    def _start_probe(self) -> None:
        """Score both models' decodes with the shipped classifier, off the GUI thread."""
        from vae_explorer.core.classifier import probe_figures

        sessions = [s for s in (self.window.session, self.exploration.session)
                    if s is not None and self.probes.get(id(s.checkpoint), (None,))[0] is not s.checkpoint]
        if not sessions:
            return
        classifier, self.probe_missing = self.window.probe_overlay.classifier_for(sessions[0].data.name)
        if classifier is None:
            return
        test = sessions[0].data.subset(PROBE_IMAGES)

        def work(stop):
            for session in sessions:
                if stop.is_set():
                    return
                yield session.checkpoint, probe_figures(classifier, session.model, test, PROBE_SAMPLES)

        self.probe_runs.start(work)

    def _on_probe(self, item) -> None:
        checkpoint, figures = item
        self.probes[id(checkpoint)] = checkpoint, figures
        if self.exploration.session is not None:
            self._fill_table()

    def _probe_rows(self, checkpoints) -> list[FigureRow]:
        def text(checkpoint, what):
            if self.probe_missing is not None:
                return "–"
            checkpoint_seen, figures = self.probes.get(id(checkpoint), (None, None))
            if checkpoint_seen is not checkpoint:
                return "…"
            if what == "kept":
                return f"{100 * figures.reconstruction_accuracy:.1f}%"
            return "–" if figures.evenness is None else f"{figures.evenness:.3f}"

        tip = (f"The shipped digit classifier on {PROBE_IMAGES:,} test reconstructions (the class a model keeps) "
               f"and on {PROBE_SAMPLES:,} prior samples (how evenly they cover the classes, 1 = all equal)"
               + ("" if self.probe_missing is None else f". {self.probe_missing}."))
        return [FigureRow("classifier: reconstructions", tuple(text(c, "kept") for c in checkpoints), tip),
                FigureRow("classifier: prior evenness", tuple(text(c, "even") for c in checkpoints), tip)]

    def _fill_table(self) -> None:
        checkpoints = [self.window.session.checkpoint, self.exploration.session.checkpoint]
        rows = figure_rows(checkpoints) + self._probe_rows(checkpoints)
        self.table.setRowCount(len(rows))
        for row, figure in enumerate(rows):
            for column, text in enumerate((figure.name, *figure.values)):
                item = QTableWidgetItem(text)
                item.setToolTip(figure.tip or text)
                if column:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        self.table.resizeRowsToContents()

    def shutdown(self) -> None:
        self.pane.latent_view._manifold_timer.stop()
        self.probe_runs.shutdown()
