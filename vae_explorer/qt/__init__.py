"""Qt widgets of the desktop explorer; they talk to vae_explorer.core through plain objects.

Importing this package first works around a PySide6 6.12 bug on Python 3.11
(see _keep_none_alive), so every Qt module of the app is covered.
"""

from __future__ import annotations

import sys


def _keep_none_alive() -> None:
    """Stop PySide6 >= 6.12 from freeing None (and True, False) on Python < 3.12.

    shiboken 6.12 returns None from every void C++ method without taking a
    reference (harmless from Python 3.12 on, where None is immortal). On 3.11
    each such call (QPainter.drawLine, save, restore, setPen, ...) leaves None
    one reference short; one repaint of the map costs a few hundred, and after
    a few thousand repaints CPython aborts with "none_dealloc: deallocating
    None". Giving None an enormous reference count, which is what 3.12 does,
    makes the shortfall harmless.
    """
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    try:
        import shiboken6
    except ImportError:
        return
    version = tuple(int(part) for part in shiboken6.__version__.split(".")[:2] if part.isdigit())
    if version < (6, 12):
        return
    import ctypes

    for singleton in (None, True, False):  # True and False lose references the same way, more slowly
        refcount = ctypes.c_ssize_t.from_address(id(singleton))  # ob_refcnt: first field of every object
        if refcount.value < 1 << 40:
            refcount.value += 1 << 60


_keep_none_alive()
