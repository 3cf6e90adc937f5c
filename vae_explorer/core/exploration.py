"""One explored model and what the user has chosen on it, observable, without Qt.

An Exploration holds the committed ExplorerSession (the model the user opened
or trained), the session the views draw (the same one, or a preview built
from a training epoch), the pinned latent point and the picked data point.
Views register callbacks for the events below and redraw from the
exploration they are handed; the window only assembles them. Two
explorations side by side are two models compared.

Events (each callback gets the Exploration):
- "shown": the session the views draw changed (a new model, a preview, a split);
- "committed": the committed session changed (a model opened or trained);
- "pinned": pinned_z changed (None when cleared);
- "picked": picked_index changed (None when cleared).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from vae_explorer.core import latent

if TYPE_CHECKING:  # session imports torch; the exploration itself does not need it to load
    from vae_explorer.core.session import ExplorerSession

EVENTS = ("shown", "committed", "pinned", "picked")


class Exploration:
    def __init__(self, session: ExplorerSession | None = None):
        self.session = session  # committed: what File > Save writes
        self.shown = session  # what the views decode from: the session or a training preview
        self.pinned_z: np.ndarray | None = None  # the full latent point pinned on the map
        self.picked_index: int | None = None  # index into shown.data of the clicked image
        self.unsaved = False
        self._observers: dict[str, list[Callable[[Exploration], None]]] = {name: [] for name in EVENTS}

    def observe(self, event: str, callback: Callable[[Exploration], None]) -> None:
        if event not in self._observers:
            raise ValueError(f"unknown exploration event {event!r}; known: {', '.join(EVENTS)}")
        self._observers[event].append(callback)

    def _emit(self, event: str) -> None:
        for callback in list(self._observers[event]):
            callback(self)

    # ----- the model -------------------------------------------------------------------------

    def commit(self, session: ExplorerSession, unsaved: bool | None = None) -> None:
        """session becomes the explored model (and what the views draw)."""
        self.session = session
        if unsaved is not None:
            self.unsaved = unsaved
        self.show(session)  # the views first, so listeners of "committed" find them up to date
        self._emit("committed")

    def show(self, session: ExplorerSession) -> None:
        """Draw session (a training preview, or the committed one again) without committing it."""
        self.shown = session
        if self.picked_index is not None and self.picked_index >= len(session.data):
            self.picked_index = None  # a smaller split no longer has that image
        self._emit("shown")

    def end_preview(self) -> None:
        """Back to the committed session (a run failed or was cancelled)."""
        if self.session is not None:
            self.show(self.session)

    @property
    def previewing(self) -> bool:
        return self.shown is not self.session

    def set_condition(self, label: int) -> None:
        """The class a conditional model decodes everywhere (committed and preview alike)."""
        for session in {id(s): s for s in (self.session, self.shown) if s is not None}.values():
            session.condition = int(label)
        if self.shown is not None:
            self._emit("shown")

    # ----- the selection ---------------------------------------------------------------------

    def pin(self, z: np.ndarray) -> None:
        """Pin the full latent point z (d,)."""
        z = np.asarray(z, np.float32).reshape(-1).copy()
        if self.shown is not None and z.size != self.shown.latent_dim:
            raise ValueError(f"a pinned point needs {self.shown.latent_dim} values, got {z.size}")
        problem = latent.z_problem(z)
        if problem is not None:
            raise ValueError(f"cannot pin this point: {problem}")
        self.pinned_z = z
        self._emit("pinned")

    def unpin(self) -> None:
        if self.pinned_z is not None:
            self.pinned_z = None
            self._emit("pinned")

    def pick(self, index: int) -> None:
        """Pick data point `index` of the shown split."""
        if self.shown is None or not 0 <= int(index) < len(self.shown.data):
            size = 0 if self.shown is None else len(self.shown.data)
            raise IndexError(f"data point {index} is not in the shown split ({size:,} images)")
        self.picked_index = int(index)
        self._emit("picked")

    def unpick(self) -> None:
        if self.picked_index is not None:
            self.picked_index = None
            self._emit("picked")

    def picked_digit(self) -> tuple[np.ndarray, int, str] | None:
        """The picked image (H, W), its label, and a title naming it ("Digit #12 (7) of the test split")."""
        index, session = self.picked_index, self.shown
        if index is None or session is None:
            return None
        label = int(session.labels[index])
        names = session.data.class_names
        name = names[label] if 0 <= label < len(names) else str(label)
        return session.image(index), label, f"Digit #{index} ({name}) of the {session.data.split} split"

    def picked_posterior(self) -> tuple[np.ndarray, np.ndarray | None] | None:
        """Mean and standard deviation of q(z|x) of the picked image under the shown model."""
        if self.picked_index is None or self.shown is None:
            return None
        return self.shown.posterior(self.picked_index)
