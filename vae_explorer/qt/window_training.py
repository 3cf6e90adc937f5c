"""Training seen from the window: each epoch previews on the map, a finished run becomes the model.

While a run goes, the window's Exploration shows a preview session built from
the epoch's weight snapshot and codes; the committed model stays what File >
Save writes until the run finishes. A failed or cancelled run goes back to it.
Every epoch's map is also handed to `on_epoch` listeners (the replay).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from vae_explorer.core.checkpoint import Checkpoint


class WindowTraining:
    def __init__(self, window):
        self.window = window
        self.panel = None
        self.epoch_listeners: list[Callable[[int, int, object], None]] = []  # (epoch, epochs, preview session)

    def attach(self, panel) -> None:
        """Wire a TrainingPanel to the window."""
        self.panel = panel
        if self.window.session is not None:
            panel.set_display_data(self.window.session.data)
        panel.epochSnapshot.connect(self.on_epoch_snapshot)
        panel.trainingFinished.connect(self.on_finished)
        panel.trainingFailed.connect(self.on_failed)
        panel.trainingCancelled.connect(self.on_cancelled)

    def on_epoch_snapshot(self, snapshot) -> None:
        from vae_explorer.core.session import ExplorerSession

        session = self.window.session
        if snapshot.model is None or snapshot.latent_mean is None or session is None:
            return
        mu = np.asarray(snapshot.latent_mean, np.float32)
        if mu.shape[0] != len(session.data):
            return  # the user switched splits mid-run; the next finished model re-encodes anyway
        logvar = None if snapshot.latent_logvar is None else np.asarray(snapshot.latent_logvar, np.float32)
        preview = ExplorerSession(session.checkpoint, snapshot.model, session.data, mu, logvar,
                                  condition=session.condition)
        self.window.exploration.show(preview)
        stats = getattr(snapshot, "stats", None)
        if stats is not None:
            self.window.statusBar().showMessage(f"Training: epoch {stats.epoch}/{stats.epochs}, map re-encoded", 4000)
            for listener in self.epoch_listeners:
                listener(int(stats.epoch), int(stats.epochs), preview)

    def on_finished(self, checkpoint: Checkpoint) -> None:
        window = self.window
        checkpoint.path = None
        window.set_checkpoint(checkpoint)
        window.exploration.unsaved = True
        window.latent_view.auto_range()  # the new model's codes span another area: show them all
        window.update_title()
        window.statusBar().showMessage("Training finished: the new model is now explored. "
                                       "Save it with File › Save checkpoint as (Ctrl+Shift+S).", 10000)

    def on_failed(self, message: str) -> None:
        # The panel shows the message itself; the map goes back to the model in place.
        self.window.exploration.end_preview()
        self.window.statusBar().showMessage("Training failed; the previous model is still the explored one.", 10000)

    def on_cancelled(self) -> None:
        self.window.exploration.end_preview()
        self.window.statusBar().showMessage("Training cancelled; the previous model is still the explored one.",
                                            10000)
