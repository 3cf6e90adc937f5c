"""The Replay tab: scrub through the map of every epoch of the last training run, play it, export it.

The window records each epoch's map points (what the map drew after that
epoch) into a core.training_replay.EpochReplay; this tab shows one of them on
the main map while the slider is off the latest frame, and gives the map back
to the model when it returns there (or on "Show the model's map"). Export
writes an animated GIF or one PNG per epoch.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog, QHBoxLayout, QLabel, QMessageBox, QPushButton, QSlider, QStyle, QVBoxLayout, QWidget,
)

from vae_explorer.core.training_replay import EpochReplay, export_gif, export_pngs

PLAY_MS = 300  # one epoch's map on screen while playing


class ReplayPanel(QWidget):
    frameChosen = Signal(int, object)  # epoch, its map points (N, 2)
    liveRequested = Signal()  # show the model's own map again

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.replay: EpochReplay | None = None
        self.total_epochs: int | None = None
        self.empty_note = QLabel("Train a model (Training tab): the map of every epoch is kept here, to scrub "
                                 "through during or after the run, play, and export as a GIF or PNGs.")
        self.empty_note.setWordWrap(True)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Drag, or use the arrow keys, to show an earlier epoch's map")
        self.slider.setPageStep(1)
        self.epoch_label = QLabel("")
        icons = self.style().standardIcon
        self.play_button = QPushButton(icons(QStyle.StandardPixmap.SP_MediaPlay), "Play")
        self.play_button.setToolTip("Play the run's maps from the first epoch")
        self.live_button = QPushButton("Show the model's map")
        self.gif_button = QPushButton("Export GIF…")
        self.png_button = QPushButton("Export PNG frames…")
        self.memory_label = QLabel("")
        self.memory_label.setWordWrap(True)
        self.memory_label.setObjectName("hint")
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
        layout.addWidget(self.memory_label)
        layout.addStretch(1)
        self.timer = QTimer(self)
        self.timer.setInterval(PLAY_MS)
        self.timer.timeout.connect(self._advance)
        self.slider.valueChanged.connect(self._on_slider)
        self.play_button.clicked.connect(self.play)
        self.live_button.clicked.connect(self.liveRequested)
        self.gif_button.clicked.connect(self._on_export_gif)
        self.png_button.clicked.connect(self._on_export_pngs)
        self.refresh()

    def set_replay(self, replay: EpochReplay | None, total_epochs: int | None = None) -> None:
        self.timer.stop()
        self.replay, self.total_epochs = replay, total_epochs
        self.refresh(follow=True)

    @property
    def epoch(self) -> int | None:
        """The epoch the slider is on."""
        epochs = self.replay.epochs if self.replay is not None else []
        return epochs[self.slider.value()] if epochs else None

    @property
    def at_latest(self) -> bool:
        return self.replay is None or self.slider.value() >= len(self.replay.epochs) - 1

    def refresh(self, follow: bool | None = None) -> None:
        """After a new frame: the slider grows, and follows it if it sat on the latest one."""
        epochs = self.replay.epochs if self.replay is not None else []
        follow = self.slider.value() >= self.slider.maximum() if follow is None else follow  # was on the latest
        has = bool(epochs)
        for widget in (self.slider, self.play_button, self.live_button, self.gif_button, self.png_button):
            widget.setEnabled(has)
        self.empty_note.setVisible(not has)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(epochs) - 1))
        if follow:
            self.slider.setValue(max(0, len(epochs) - 1))
        self.slider.blockSignals(False)
        self._label()
        self.memory_label.setText(self.replay.memory_note if self.replay is not None and has else "")

    def _label(self) -> None:
        epoch = self.epoch
        of = f" / {self.total_epochs}" if self.total_epochs else ""
        self.epoch_label.setText("" if epoch is None else f"Epoch {epoch}{of}"
                                 + ("" if self.at_latest else "  (the map shows this epoch)"))

    def _on_slider(self, _value: int) -> None:
        self._label()
        if self.at_latest and not self.timer.isActive():
            self.liveRequested.emit()
        elif self.epoch is not None:
            self.frameChosen.emit(self.epoch, self.replay.points(self.epoch))

    def play(self) -> None:
        if self.replay is None or not self.replay.epochs:
            return
        self.slider.setValue(0)
        self.frameChosen.emit(self.epoch, self.replay.points(self.epoch))
        self.timer.start()

    def _advance(self) -> None:
        if self.at_latest:
            self.timer.stop()
            self.liveRequested.emit()
            return
        self.slider.setValue(self.slider.value() + 1)
        if self.at_latest:
            self.frameChosen.emit(self.epoch, self.replay.points(self.epoch))

    def shutdown(self) -> None:
        self.timer.stop()

    def _on_export_gif(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the replay as a GIF", "training-replay.gif",
                                              "GIF animations (*.gif)")
        if path:
            self._export("GIF", lambda: export_gif(self.replay, path, total_epochs=self.total_epochs))

    def _on_export_pngs(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export the replay's frames into a folder")
        if folder:
            self._export("PNG frames", lambda: export_pngs(self.replay, folder, total_epochs=self.total_epochs))

    def _export(self, what: str, write) -> None:
        try:
            written = write()
        except (OSError, ValueError) as exc:
            QMessageBox.critical(self, f"Cannot export the {what}", f"{exc}\n\nThe replay is still here; "
                                 "choose another place.")
            return
        where = written if not isinstance(written, list) else (written[0].parent if written else "")
        self.memory_label.setText(f"Exported the {what} to {where}. {self.replay.memory_note}")
