"""Map overlays that belong to a panel and show only while that panel is on screen.

Several tool tabs draw on the same latent map. If each left its drawings
behind, the map would fill with stale paths and heat maps from tabs the user
is no longer looking at, so a panel sends its overlays through a keeper:
while the panel is hidden they are taken off the map (but remembered), and
they come back when the panel is shown again.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import SignalInstance


def on_map_plane(z: np.ndarray) -> np.ndarray:
    """A latent point on the map's plane: its first two dims, z2 = 0 for a 1-D latent."""
    z = np.asarray(z, np.float32).reshape(-1)
    plane = np.zeros(2, np.float32)
    plane[: min(2, z.size)] = z[:2]
    return plane


class OverlayKeeper:
    def __init__(self, cleared: SignalInstance):
        self._cleared = cleared
        self._current: dict[str, tuple[SignalInstance, tuple[Any, ...]]] = {}
        self.on_screen = False

    def show(self, signal: SignalInstance, key: str, *args: Any) -> None:
        self._current[key] = (signal, args)
        if self.on_screen:
            signal.emit(key, *args)

    def clear(self, key: str) -> None:
        self._current.pop(key, None)
        self._cleared.emit(key)

    def keys(self) -> list[str]:
        return list(self._current)

    def panel_shown(self) -> None:
        self.on_screen = True
        for key, (signal, args) in list(self._current.items()):
            signal.emit(key, *args)

    def panel_hidden(self) -> None:
        self.on_screen = False
        for key in self._current:
            self._cleared.emit(key)
