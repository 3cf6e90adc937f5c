"""Import torch's optimizer machinery in the background before the first run needs it.

Building the first torch.optim optimizer in a process imports torch._dynamo:
about 900 modules in a second, with single holds of the interpreter lock of
around 150 ms. Done by the training thread at Start, that froze the GUI just as
the user watched the run begin. Done while the user is still reading the
training form, nobody notices.
"""

from __future__ import annotations

import importlib
import sys
import threading

MODULE = "torch._dynamo"


def warm_up_in_background() -> threading.Thread | None:
    """Start importing MODULE on a daemon thread; None when it is already imported."""
    if MODULE in sys.modules:
        return None
    thread = threading.Thread(target=importlib.import_module, args=(MODULE,), name="vae-explorer-warmup",
                              daemon=True)
    thread.start()
    return thread
