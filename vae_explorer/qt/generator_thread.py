"""Run a generator on a QThread and deliver what it yields as a Qt signal.

The one bridge between core's event streams and the GUI: the generator runs
on the worker thread, every item it yields arrives on the GUI thread through
a queued `item` signal, and an exception that escapes it arrives as `crashed`
with a message. We do not use superqt's thread_worker here: it runs on the
global QThreadPool, while the training panel must join its own thread with a
timeout when the window closes (and the tests fail any test that leaves a
QThread running); pause and cancel go through core's TrainingControl anyway,
so that a stopped run can save what it reached.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from PySide6.QtCore import QThread, Signal

log = logging.getLogger(__name__)


class GeneratorThread(QThread):
    """A QThread whose whole life is one pass over `make_items()`."""

    item = Signal(object)
    crashed = Signal(str)

    def __init__(self, make_items: Callable[[], Iterator[object]], name: str = "vae-worker"):
        super().__init__()
        self.setObjectName(name)
        self._make_items = make_items
        # Set by the GUI when it stops listening to this thread: emit nothing more.
        self.abandoned = False

    def run(self) -> None:
        try:
            for value in self._make_items():
                if not self.abandoned:
                    self.item.emit(value)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message
            log.exception("worker thread failed")
            if not self.abandoned:
                self.crashed.emit(f"{type(exc).__name__}: {exc}")
