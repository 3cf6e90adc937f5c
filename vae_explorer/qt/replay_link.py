"""Training replay in the window: record each epoch's map, show a scrubbed epoch on the main map."""

from __future__ import annotations

from vae_explorer.core.training_replay import EpochReplay
from vae_explorer.qt.replay_panel import ReplayPanel


class ReplayLink:
    def __init__(self, window, panel: ReplayPanel):
        self.window, self.panel = window, panel
        self.replay: EpochReplay | None = None
        self.shown_epoch: int | None = None  # the epoch on the main map, None for the model's own
        window.training.epoch_listeners.append(self._on_epoch)
        panel.frameChosen.connect(self._show_frame)
        panel.liveRequested.connect(self._show_live)

    def attach_training_panel(self, training_panel) -> None:
        training_panel.trainingStarted.connect(self._on_started)

    def _on_started(self) -> None:
        self.replay = None  # a new run gets a new replay at its first epoch

    def _on_epoch(self, epoch: int, epochs: int, preview) -> None:
        if self.replay is None or len(self.replay.labels) != len(preview.labels):
            self.replay = EpochReplay(preview.labels)
            self.panel.set_replay(self.replay, epochs)
        self.replay.record(epoch, self.window.map_plane.map_points())
        self.panel.refresh()
        if self.shown_epoch is not None and not self.panel.at_latest:
            self._show_frame(self.panel.epoch, self.replay.points(self.panel.epoch))  # the preview redrew the map

    def _show_frame(self, epoch: int, points) -> None:
        view = self.window.latent_view
        if len(points) != len(view.codes):
            self.window.statusBar().showMessage("The map shows another split now; the replay keeps the "
                                                "split it was trained on", 6000)
            return
        self.shown_epoch = epoch
        view.update_codes(points)
        self.window.statusBar().showMessage(f"Replay: the map after epoch {epoch}", 3000)

    def _show_live(self) -> None:
        if self.shown_epoch is not None:
            self.shown_epoch = None
            self.window.latent_view.update_codes(self.window.map_plane.map_points())


def attach(window) -> ReplayPanel:
    panel = ReplayPanel()
    window.add_tool_panel(panel, "Replay")
    window.replay_panel = panel
    window.replay_link = ReplayLink(window, panel)
    if window.training_panel is not None:
        window.replay_link.attach_training_panel(window.training_panel)
    return panel
