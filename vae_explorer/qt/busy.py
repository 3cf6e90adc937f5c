"""A wait cursor for the few operations that take a second (encoding 70,000 images)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication


class busy_cursor:  # noqa: N801 - used as a context manager, like contextlib's
    def __enter__(self):
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)

    def __exit__(self, *exc):
        QApplication.restoreOverrideCursor()
        return False
