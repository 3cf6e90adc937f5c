"""Cancel and pause, shared between the thread that trains and the one that asks."""

from __future__ import annotations

import threading
import time


class TrainingControl:
    """Thread-safe cancel and pause flags that the trainer checks between batches.

    It also keeps the time spent paused, so an ETA can leave it out.
    """

    def __init__(self) -> None:
        self._cancel = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._lock = threading.Lock()
        self._paused_at: float | None = None
        self._paused_total = 0.0

    def cancel(self) -> None:
        with self._lock:
            self._close_pause()
            self._cancel.set()
            self._running.set()  # wake a paused trainer so it can stop

    def pause(self) -> None:
        with self._lock:
            if self._paused_at is None:
                self._paused_at = time.perf_counter()
            self._running.clear()

    def resume(self) -> None:
        with self._lock:
            self._close_pause()
            self._running.set()

    def _close_pause(self) -> None:
        if self._paused_at is not None:
            self._paused_total += time.perf_counter() - self._paused_at
            self._paused_at = None

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def paused_seconds(self) -> float:
        with self._lock:
            current = time.perf_counter() - self._paused_at if self._paused_at is not None else 0.0
            return self._paused_total + current

    def wait_while_paused(self) -> None:
        while not self._running.wait(timeout=0.1):
            pass
