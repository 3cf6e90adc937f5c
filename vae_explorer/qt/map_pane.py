"""One latent map with its plane: the view of an Exploration's codes, pin and picked posterior.

The main window shows one pane; a comparison shows a second one beside it. A
pane observes its Exploration: a new shown session redraws the points, a pin
moves the pin mark, a picked image draws its posterior. It decodes map points
through its plane with whatever `source` decodes full latent points (the
shown session, or the start-up quick look while the model loads).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from vae_explorer.core import latent
from vae_explorer.qt.latent_view import LatentView
from vae_explorer.qt.map_plane import MapPlane

if TYPE_CHECKING:
    from vae_explorer.core.exploration import Exploration
    from vae_explorer.core.plane import LatentPlane
    from vae_explorer.core.session import ExplorerSession


def most_used_axes(session) -> tuple[int, int] | None:
    """The two latent dimensions with the most KL over the shown data: where a VAE's map has structure."""
    if session.latent_logvar is None or session.latent_dim <= 2:
        return None
    kl = latent.kl_per_dimension(session.latent_mu, session.latent_logvar)
    if not np.isfinite(kl).all():
        return None
    first, second = np.argsort(-kl, kind="stable")[:2]
    return int(first), int(second)


class MapPane(QWidget):
    def __init__(self, bar_widgets: list[QWidget] = (), parent: QWidget | None = None):
        super().__init__(parent)
        self.latent_view = LatentView()
        self.latent_view.setToolTip("")
        self.map_plane = MapPlane(self.latent_view, self)
        self.source = None  # decodes full latent points (M, d) -> images
        self.map_title = QLabel()
        self.map_title.setMinimumWidth(50)
        self.map_title.setToolTip("Each point is the posterior mean of one image, coloured by its class")
        bar = QHBoxLayout()
        bar.setContentsMargins(8, 6, 8, 2)
        for widget in bar_widgets:
            bar.addWidget(widget) if widget is not None else bar.addSpacing(16)
        bar.addStretch(1)
        bar.addWidget(self.map_title)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.map_plane.controls)
        layout.addWidget(self.latent_view, 1)
        self.latent_view.decoder = self.decode_2d

    @property
    def plane(self) -> LatentPlane:
        return self.map_plane.plane

    @property
    def axis_names(self) -> tuple[str, str]:
        """Short names of the map's two coordinates: z₁ and z₂, z₃ and z₇, PC₁ and PC₂."""
        first, second = (label.split()[0] for label in self.plane.axis_labels)
        return first, second

    def decode_2d(self, z: np.ndarray) -> np.ndarray:
        """Decode map points (M, 2): each is the full latent z it stands for on the plane."""
        return self.source.decode(self.plane.to_latent(z))

    def show_codes(self, codes: np.ndarray, labels: np.ndarray, dim: int, class_names=None) -> None:
        """The start-up quick look: codes only, nothing decodes yet."""
        self.map_plane.configure(codes, dim)
        self.latent_view.set_points(self.map_plane.map_points(), labels, autorange=True, class_names=class_names)

    def show_session(self, session: ExplorerSession, picked: int | None, autorange: bool, redraw: bool) -> None:
        """Draw session's codes (redraw: new points, else the same points moved)."""
        self.source = session
        self.map_plane.configure(session.latent_mu, session.latent_dim, follow=picked,
                                 prefer_principal=session.latent_logvar is None,
                                 prefer_axes=most_used_axes(session))
        if redraw or len(self.latent_view.codes) != len(session.latent_mu):
            self.latent_view.set_points(self.map_plane.map_points(), session.labels, autorange=autorange,
                                        class_names=session.data.class_names)
        else:
            self.latent_view.update_codes(self.map_plane.map_points())
            if autorange:
                self.latent_view.auto_range()
        self.latent_view.refresh_manifold()
        self.map_title.setText(f"{len(session.data):,} points · {session.data.split}")

    def show_pin(self, z: np.ndarray | None) -> None:
        self.map_plane.show_pin(z)

    def show_picked(self, exploration: Exploration) -> None:
        """Draw the picked image's posterior (its point for a code without one), or clear it."""
        posterior = exploration.picked_posterior()
        if posterior is None:
            self.map_plane.clear_posterior()
            return
        index = exploration.picked_index
        self.map_plane.follow(exploration.shown.latent_mu[index], index)  # the point as the map draws it
        self.map_plane.show_posterior(*posterior)

    def zoom_to_posterior(self) -> bool:
        """Fill the map with the picked posterior (a few pixels wide at full view); False without one."""
        extent = self.map_plane.posterior_extent()
        if extent is None:
            return False
        self.latent_view.view_box.setRange(xRange=extent[:2], yRange=extent[2:], padding=0.05)
        return True
