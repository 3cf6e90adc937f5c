"""Finding QThreads that are still running, for the thread-leak checks."""

from __future__ import annotations

import gc

from PySide6.QtCore import QThread


def running_qthreads_anywhere() -> list[QThread]:
    # type() rather than isinstance(): some lazy torch modules warn when probed.
    return [o for o in gc.get_objects() if issubclass(type(o), QThread) and o.isRunning()]
