"""Regression test for the PySide6 6.12 / Python 3.11 reference-count bug on None.

Void Qt methods returned None one reference short; enough painting freed None
and aborted the interpreter. Run in a subprocess so a regression fails this
test instead of killing the whole test run.
"""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
import sys
import vae_explorer.qt  # applies the work-around, as every part of the app does
from PySide6.QtGui import QImage, QPainter, QPen
image = QImage(8, 8, QImage.Format.Format_ARGB32)
painter = QPainter(image)
for _ in range(300_000):  # far more void calls than None has references to lose
    painter.save()
    painter.setPen(QPen())
    painter.drawLine(0, 0, 4, 4)
    painter.restore()
painter.end()
print("alive", sys.getrefcount(None) > 1000)
"""


def test_heavy_painting_never_frees_none():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "alive True"


def test_singletons_cannot_run_out_of_references_on_affected_versions():
    import shiboken6

    import vae_explorer.qt  # noqa: F401

    affected = sys.version_info < (3, 12) and tuple(map(int, shiboken6.__version__.split(".")[:2])) >= (6, 12)
    for singleton in (None, True, False):
        assert (sys.getrefcount(singleton) > 1 << 40) == affected
