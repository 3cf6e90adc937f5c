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
import threading
from collections.abc import Callable, Iterator

from PySide6.QtCore import QObject, QThread, Signal, Slot

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


class LatestRun(QObject):
    """Background runs of which only the latest counts.

    start(make_items) abandons the run before it (its stop event is set and
    whatever it still yields is dropped) and begins a new GeneratorThread
    over make_items(stop). Items and crash messages of the current run reach
    on_item and on_crashed on the GUI thread (this QObject's slots, so the
    hop is always queued); finished threads are joined and let go, and
    shutdown() joins every thread, so none outlives its view.
    """

    finished = Signal()  # a thread ended and was joined

    def __init__(self, on_item: Callable[[object], None], on_crashed: Callable[[str], None] | None = None,
                 name: str = "vae-worker", parent: QObject | None = None):
        super().__init__(parent)
        self._on_item, self._on_crashed, self._name = on_item, on_crashed, name
        self._threads: list[GeneratorThread] = []  # running, or finished and not yet joined
        self._current: GeneratorThread | None = None
        self._stop: threading.Event | None = None

    @property
    def running(self) -> bool:
        """Whether the current run is still going."""
        return self._current is not None and not self._current.isFinished()

    @property
    def thread_count(self) -> int:
        """Threads not yet joined: running, or finished with their end not yet handled."""
        return len(self._threads)

    def start(self, make_items: Callable[[threading.Event], Iterator[object]]) -> None:
        self.abandon()
        stop = self._stop = threading.Event()
        thread = GeneratorThread(lambda: make_items(stop), name=self._name)
        thread.item.connect(self._deliver)
        thread.crashed.connect(self._crashed)
        thread.finished.connect(self._join_finished)
        self._threads.append(thread)
        self._current = thread
        thread.start()

    def abandon(self) -> None:
        """Stop listening to every run; each ends at its next check of the stop event."""
        if self._stop is not None:
            self._stop.set()
        for thread in self._threads:
            thread.abandoned = True
        self._current = None

    def shutdown(self) -> None:
        self.abandon()
        for thread in self._threads:
            thread.wait()
        self._threads.clear()

    def _listening(self) -> bool:
        thread = self.sender()
        return thread is not None and thread is self._current and not thread.abandoned

    @Slot(object)
    def _deliver(self, item: object) -> None:
        if self._listening():
            self._on_item(item)

    @Slot(str)
    def _crashed(self, message: str) -> None:
        if self._listening() and self._on_crashed is not None:
            self._on_crashed(message)

    @Slot()
    def _join_finished(self) -> None:
        for thread in [t for t in self._threads if t.isFinished()]:
            thread.wait()
            self._threads.remove(thread)
        self.finished.emit()
