"""Regression test for the PySide6 6.12.0 / Python < 3.12 reference-count bug on None.

In that version void Qt methods return None one reference short; enough
painting frees None and aborts the interpreter. pyproject.toml excludes the
version; this test proves the installed PySide6 is safe. It runs in a
subprocess so a regression fails this test instead of killing the test run.
"""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
import sys
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

