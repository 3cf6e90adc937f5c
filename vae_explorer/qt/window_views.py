"""The main map and the tool panels, kept on the session the window's Exploration shows.

A new shown session (a model opened, a training epoch's preview, another
split) redraws the map and hands every tool its decoder; a pin or a picked
image is drawn on the map and offered to the traversals. The inspector
observes the same exploration on its own (inspector.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from vae_explorer.qt.inspector import format_z

if TYPE_CHECKING:
    from vae_explorer.core.exploration import Exploration

NO_PRIOR_NOTE = ("Nothing tied this model's codes to N(0, I), so these z come from a distribution its decoder "
                 "was never trained to match: they fall in gaps between the encoded images, or in a crowded "
                 "patch where classes blend (compare the map; View ▸ Holes marks them there).")


class WindowViews:
    def __init__(self, window):
        self.window = window
        self.drawn = None  # the session the map draws now
        window.exploration.observe("shown", self.on_shown)
        window.exploration.observe("pinned", self.on_pinned)
        window.exploration.observe("picked", self.on_picked)

    def on_shown(self, exploration: Exploration) -> None:
        """Point every view at the shown session's model and codes."""
        window = self.window
        session, previous = exploration.shown, self.drawn
        spot = window.pinned  # where the pin lies on the old map
        self.drawn = session
        redraw = previous is None or previous.data is not session.data
        window.map_pane.show_session(session, exploration.picked_index, autorange=window.autorange_next,
                                     redraw=redraw)
        window.autorange_next = False
        window.manifold_panel.axis_names = window.map_pane.axis_names
        window.manifold_panel.set_decoder(window.decode_2d)
        window.interpolation_panel.set_decoder(window.decode_2d)
        window.sampling_panel.set_decoder(session.decode, session.latent_dim)
        window.sampling_panel.set_note("" if session.model.has_posterior else NO_PRIOR_NOTE)
        window.traversal_panel.set_decoder(session.decode, session.latent_dim)
        window.traversal_panel.kl_bars.show_codes(session.latent_mu, session.latent_logvar)
        if window.statusBar().currentMessage() == "Loading the model…":
            window.statusBar().clearMessage()
        if window.pinned_z is not None and window.pinned_z.size != session.latent_dim:
            # Another latent size: the pin keeps its spot on the map (the inspector, observing
            # after this, decodes the new z).
            exploration.pinned_z = window.plane.to_latent(spot)[0].astype(np.float32)
        self.on_pinned(exploration, announce=False)
        self.on_picked(exploration)

    def on_pinned(self, exploration: Exploration, announce: bool = True) -> None:
        window = self.window
        z = exploration.pinned_z
        window.map_pane.show_pin(z)
        if z is None:
            return
        window.traversal_panel.set_point(z, "the pinned point")
        window.zPinned.emit(z.copy())
        if announce:
            window.statusBar().showMessage(f"Pinned {format_z(z)}", 5000)

    def on_picked(self, exploration: Exploration) -> None:
        window = self.window
        window.map_pane.show_picked(exploration)
        posterior = exploration.picked_posterior()
        if posterior is not None:
            window.traversal_panel.set_point(posterior[0], f"data point #{exploration.picked_index}'s mean")

    def show_quick_look(self, quick) -> None:
        """The loading state: the map from numpy codes, everything that decodes waits for the model."""
        window = self.window
        window.map_pane.source = quick
        window.map_pane.show_codes(quick.codes, quick.labels, quick.latent_dim)
        window.inspector.set_loading()
        for action in window._needs_session:
            action.setEnabled(False)
        window.map_title.setText(f"{len(quick.labels):,} points · test")
        window.statusBar().showMessage("Loading the model…")
