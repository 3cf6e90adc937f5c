"""The Replay tab: scrub through the map of every epoch of the last training run, play it, export it.

The window records each epoch's map points (what the map drew after that
epoch) into a core.training_replay.EpochReplay; this tab shows one of them on
the main map while the slider is off the latest frame, and gives the map back
to the model when it returns there (or on "Show the model's map"). Export
writes an animated GIF or one PNG per epoch; it runs on a worker thread (a
long run's GIF takes seconds to draw) over a copy of the frames, so training
can go on recording while it writes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog, QHBoxLayout, QLabel, QMessageBox, QPushButton, QSlider, QStyle, QVBoxLayout, QWidget,
)

from vae_explorer.core.training_replay import EpochReplay, export_gif, export_pngs
from vae_explorer.qt.generator_thread import LatestRun

PLAY_MS = 300  # one epoch's map on screen while playing


class ReplayPanel(QWidget):
    frameChosen = Signal(int, object)  # epoch, its map points (N, 2)
    liveRequested = Signal()  # show the model's own map again

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.replay: EpochReplay | None = None
        self.total_epochs: int | None = None
        self.exports = LatestRun(self._on_exported, lambda message: self._on_exported(("failed", message)),
                                 name="vae-replay-export", parent=self)
        self.exports.finished.connect(self._enable_exports)
        self._exporting_what = ""
        self.empty_note = QLabel("Train a model (Training tab): the map of every epoch is kept here, to scrub "
                                 "through during or after the run, play, and export as a GIF or PNGs.")
        self.empty_note.setWordWrap(True)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Drag, or use the arrow keys, to show an earlier epoch's map")
        self.slider.setPageStep(1)
        self.epoch_label = QLabel("")
        self.play_button = QPushButton("Play")
        self.play_button.setToolTip("Play the run's maps epoch by epoch (from the first if the slider is at the end)")
        self.live_button = QPushButton("Show the model's map")
        self.gif_button = QPushButton("Export GIF…")
        self.png_button = QPushButton("Export PNG frames…")
        self.memory_label = QLabel("")
        self.memory_label.setWordWrap(True)
        self.memory_label.setObjectName("hint")
        self.export_label = QLabel("")
        self.export_label.setWordWrap(True)
        self.export_label.setObjectName("hint")
        buttons = QHBoxLayout()
        for button in (self.play_button, self.live_button):
            buttons.addWidget(button)
        exports = QHBoxLayout()
        for button in (self.gif_button, self.png_button):
            exports.addWidget(button)
        layout = QVBoxLayout(self)
        for widget in (self.empty_note, self.epoch_label, self.slider):
            layout.addWidget(widget)
        layout.addLayout(buttons)
        layout.addLayout(exports)
        layout.addWidget(self.export_label)
        layout.addWidget(self.memory_label)
        layout.addStretch(1)
        self.timer = QTimer(self)
        self.timer.setInterval(PLAY_MS)
        self.timer.timeout.connect(self._advance)
        self.slider.valueChanged.connect(self._on_slider)
        self.play_button.clicked.connect(self.toggle_play)
        self.live_button.clicked.connect(self._on_live)
        self.gif_button.clicked.connect(self._on_export_gif)
        self.png_button.clicked.connect(self._on_export_pngs)
        self._show_playing(False)
        self.refresh()

    def set_replay(self, replay: EpochReplay | None, total_epochs: int | None = None) -> None:
        self.pause()
        self.replay, self.total_epochs = replay, total_epochs
        self.export_label.setText("")
        self.export_label.setToolTip("")
        self.refresh(follow=True)

    @property
    def epoch(self) -> int | None:
        """The epoch the slider is on."""
        epochs = self.replay.epochs if self.replay is not None else []
        return epochs[self.slider.value()] if epochs else None

    @property
    def at_latest(self) -> bool:
        return self.replay is None or self.slider.value() >= len(self.replay.epochs) - 1

    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    @property
    def exporting(self) -> bool:
        return self.exports.running

    def refresh(self, follow: bool | None = None) -> None:
        """After a new frame: the slider grows, and follows it if it sat on the latest one."""
        epochs = self.replay.epochs if self.replay is not None else []
        follow = self.slider.value() >= self.slider.maximum() if follow is None else follow  # was on the latest
        has = bool(epochs)
        for widget in (self.slider, self.play_button, self.live_button):
            widget.setEnabled(has)
        self._enable_exports()
        self.empty_note.setVisible(not has)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(epochs) - 1))
        if follow and not self.playing:
            self.slider.setValue(max(0, len(epochs) - 1))
        self.slider.blockSignals(False)
        self._label()
        self.memory_label.setText(self.replay.memory_note if self.replay is not None and has else "")

    def _enable_exports(self) -> None:
        ready = self.replay is not None and bool(self.replay.epochs) and not self.exporting
        for button in (self.gif_button, self.png_button):
            button.setEnabled(ready)

    def _label(self) -> None:
        epoch = self.epoch
        of = f" / {self.total_epochs}" if self.total_epochs else ""
        self.epoch_label.setText("" if epoch is None else f"Epoch {epoch}{of}"
                                 + ("" if self.at_latest else "  (the map shows this epoch)"))

    def _on_slider(self, _value: int) -> None:
        self._label()
        if self.at_latest and not self.playing:
            self.liveRequested.emit()
        elif self.epoch is not None:
            self.frameChosen.emit(self.epoch, self.replay.points(self.epoch))

    def _on_live(self) -> None:
        self.pause()
        if self.at_latest:
            self.liveRequested.emit()
        else:
            self.slider.setValue(self.slider.maximum())  # emits liveRequested; the slider says what the map shows

    # ----- playing ---------------------------------------------------------------------------

    def toggle_play(self) -> None:
        if self.playing:
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        """Step through the epochs from the slider's place, or from the first when it is at the end."""
        if self.replay is None or not self.replay.epochs:
            return
        self.timer.start()  # first: while playing, the slider's moves show frames, the latest included
        self._show_playing(True)
        if self.at_latest and self.slider.value() > 0:
            self.slider.setValue(0)  # emits frameChosen for the first epoch
        else:
            self.frameChosen.emit(self.epoch, self.replay.points(self.epoch))

    def pause(self) -> None:
        """Stop where it is: the map keeps the epoch on the slider."""
        self.timer.stop()
        self._show_playing(False)

    def _show_playing(self, playing: bool) -> None:
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))
        self.play_button.setText("Pause" if playing else "Play")

    def _advance(self) -> None:
        if self.at_latest:
            self.pause()
            self.liveRequested.emit()
            return
        self.slider.setValue(self.slider.value() + 1)  # emits frameChosen, the latest one included

    def shutdown(self) -> None:
        """Stop playing and join any export (it finishes its file: exports are written whole or not at all)."""
        self.pause()
        self.exports.shutdown()

    # ----- export ----------------------------------------------------------------------------

    def _on_export_gif(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the replay as a GIF", "training-replay.gif",
                                              "GIF animations (*.gif)")
        if path:
            self.export("GIF", lambda replay, total: export_gif(replay, path, total_epochs=total))

    def _on_export_pngs(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export the replay's frames into a folder")
        if folder:
            self.export("PNG frames", lambda replay, total: export_pngs(replay, folder, total_epochs=total))

    def export(self, what: str, write: Callable[[EpochReplay, int | None], object]) -> None:
        """Run write(frames, total_epochs) on a worker thread; the result or the error comes back here."""
        if self.replay is None or not self.replay.epochs or self.exporting:
            return
        replay, total = copy.deepcopy(self.replay), self.total_epochs  # training may record on meanwhile

        def steps(_stop):  # not stoppable: a file is written whole or not at all
            try:
                yield "done", write(replay, total)
            except (OSError, ValueError) as exc:  # a bad place or name: the user can choose again
                yield "failed", str(exc)

        self._exporting_what = what
        self.exports.start(steps)
        self.export_label.setText(f"Exporting the {what} ({len(replay.epochs)} epochs)…")
        self._enable_exports()

    def _on_exported(self, item) -> None:
        what, (kind, value) = self._exporting_what, item
        if kind == "failed":
            self.export_label.setText("")
            QMessageBox.critical(self, f"Cannot export the {what}", f"{value}\n\nThe replay is still here; "
                                 "choose another place.")
            return
        where = Path(value[0].parent if isinstance(value, list) and value else value)
        # The name only: a long path would not wrap and would widen the dock; the tooltip has it all.
        self.export_label.setText(f"Exported the {what} to {where.name}.")
        self.export_label.setToolTip(str(where))
