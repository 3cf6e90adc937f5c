"""The inspector on the left: the decode under the cursor, the pinned point, the clicked image.

It observes the window's Exploration: a pin shows the pinned point's decode,
a picked image shows the image, its reconstruction and its posterior's numbers.
Hover goes through show_hover, since hovering changes no state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from vae_explorer.qt.image_views import ImagePanel

if TYPE_CHECKING:
    from vae_explorer.core.exploration import Exploration

SHOWN_VALUES = 8  # a long code would push the inspector off the screen


def format_z(z: np.ndarray, limit: int = 20) -> str:
    """z = (+0.123, ...); a long code shows its first `limit` values and its size."""
    values = np.asarray(z).reshape(-1)
    more = f", … {values.size} values" if values.size > limit else ""
    # Far-off or non-finite values in three significant digits, so a stray 1e30 cannot widen the panel.
    return "z = (" + ", ".join(f"{v:+.3f}" if abs(v) < 1e4 else f"{v:+.3g}" for v in values[:limit]) + more + ")"


def class_name(names, label: int) -> str:
    """A digit, or "Ankle boot": the dataset's name for a label."""
    return names[label] if 0 <= label < len(names) else str(label)


class Inspector(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
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
        layout = QVBoxLayout(self)
        layout.addWidget(self.hover_panel, 3)
        layout.addWidget(self.pinned_panel, 3)
        layout.addLayout(pair, 2)
        layout.addWidget(self.picked_caption)
        layout.addStretch(0)
        self.setMinimumWidth(220)

    def watch(self, exploration: Exploration) -> None:
        exploration.observe("pinned", self.on_pinned)
        exploration.observe("picked", self.on_picked)
        exploration.observe("shown", self.on_shown)

    def show_hover(self, image: np.ndarray, caption: str) -> None:
        self.hover_panel.set_image(image, caption)

    def set_loading(self) -> None:
        self.pinned_panel.canvas.set_placeholder("Loading the model…")

    def on_shown(self, exploration: Exploration) -> None:
        """A new model or preview: the pin and the picked image decode again under it."""
        self.hover_panel.canvas.set_placeholder("Hover over the map")
        self.pinned_panel.canvas.set_placeholder("Click the map to pin a point")
        self.on_pinned(exploration)
        self.on_picked(exploration)

    def on_pinned(self, exploration: Exploration) -> None:
        z = exploration.pinned_z
        if z is None or exploration.shown is None:
            self.pinned_panel.set_image(None)
            return
        self.pinned_panel.set_image(exploration.shown.decode(z[None])[0], format_z(z))

    def on_picked(self, exploration: Exploration) -> None:
        index, session = exploration.picked_index, exploration.shown
        if index is None or session is None:
            self.original_panel.set_image(None)
            self.reconstruction_panel.set_image(None)
            self.picked_caption.setText("")
            return
        label = class_name(session.data.class_names, int(session.labels[index]))
        self.original_panel.set_image(session.image(index), f"#{index} · {label}")
        self.reconstruction_panel.set_image(session.reconstruct(index), "decoded μ")
        mu, sigma = exploration.picked_posterior()
        more = f", … {len(mu)} values" if len(mu) > SHOWN_VALUES else ""
        spread = "" if sigma is None else f", σ = ({', '.join(f'{v:.3f}' for v in sigma[:SHOWN_VALUES])}{more})"
        name = "q(z|x): μ" if sigma is not None else "code"
        zoom = "" if sigma is None else " · Z zooms onto it, R back"
        self.picked_caption.setText(f"{name} = ({', '.join(f'{v:+.2f}' for v in mu[:SHOWN_VALUES])}{more})"
                                    f"{spread}{zoom}")
