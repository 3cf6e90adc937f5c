"""The Maths tab in the window: one pass of the model for the clicked or drawn digit, on the map too.

The panel follows the window's Exploration (its model, and the digit clicked
on the map) and the Draw tab (each finished stroke). Its z is marked on the
map; hovering the encoder step or the KL term outlines the digit's posterior
ellipses there, hovering the sampling step enlarges the z mark.
"""

from __future__ import annotations

import numpy as np

from vae_explorer.qt.maths_panel import MathsPanel

KEY_Z = "maths-z"
KEY_HIGHLIGHT = "maths-highlight"
Z_COLOUR = (255, 120, 200)
HIGHLIGHT_COLOUR = (255, 200, 60)
POSTERIOR_KEYS = ("posterior", "kl")


class MathsLink:
    def __init__(self, window, panel: MathsPanel):
        self.window, self.panel = window, panel
        self.posterior: tuple[np.ndarray, np.ndarray] | None = None  # full mu, sigma of the digit shown
        self.z: np.ndarray | None = None
        exploration = window.exploration
        exploration.observe("shown", self._on_shown)
        exploration.observe("picked", self._on_picked)
        panel.zChanged.connect(self._on_z)
        panel.highlight.connect(self._on_highlight)
        window.map_plane.changed.connect(lambda _plane: self._draw())
        drawing = getattr(window, "drawing_panel", None)
        if drawing is not None:
            drawing.encoded.connect(lambda *_: self._on_drawn(drawing))
        if exploration.shown is not None:
            self._on_shown(exploration)

    def _on_shown(self, exploration) -> None:
        session = exploration.shown
        training = session.checkpoint.train_config
        self.panel.set_model(session.model, float(training.beta) if training is not None else 1.0)

    def _on_picked(self, exploration) -> None:
        digit = exploration.picked_digit()
        if digit is not None:
            image, label, title = digit
            self._remember_posterior(exploration.shown, image, label)
            self.panel.show_digit(image, label, title)

    def _on_drawn(self, drawing) -> None:
        prepared = getattr(drawing, "prepared", None)
        session = self.window.shown
        if prepared is None or session is None:
            return
        label = session.condition if session.model.is_conditional else None
        self._remember_posterior(session, prepared.image, label)
        self.panel.show_digit(prepared.image, label, "Your drawing")

    def _remember_posterior(self, session, image, label) -> None:
        mu, logvar = session.encode(np.asarray(image)[None], label)
        self.posterior = None if logvar is None else (mu[0], np.exp(0.5 * logvar[0]))

    def _on_z(self, z) -> None:
        self.z = None if z is None else np.asarray(z, np.float32).reshape(-1)
        self._draw()

    def _draw(self, large: bool = False) -> None:
        view, plane = self.window.latent_view, self.window.plane
        if self.z is None or self.z.size != plane.dim:
            view.clear_overlay(KEY_Z)
            return
        view.show_marker(KEY_Z, plane.project(self.z), colour=Z_COLOUR, symbol="star", size=26 if large else 16)

    def _on_highlight(self, key: str) -> None:
        view, plane = self.window.latent_view, self.window.plane
        view.clear_overlay(KEY_HIGHLIGHT)
        self._draw(large=key == "z")
        if key in POSTERIOR_KEYS and self.posterior is not None and self.posterior[0].size == plane.dim:
            mu, sigma = self.posterior
            view.show_posterior(KEY_HIGHLIGHT, plane.project(mu), plane.project_covariance(sigma=sigma),
                                colour=HIGHLIGHT_COLOUR)


def attach(window) -> MathsPanel:
    """Add the Maths tab to the window and keep it on the window's model and digit."""
    panel = MathsPanel()
    window.add_tool_panel(panel, "Maths")
    window.maths_panel = panel
    window.maths_link = MathsLink(window, panel)
    return panel
