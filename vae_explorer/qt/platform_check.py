"""Say which system libraries are missing before Qt aborts for want of them.

On Linux, Qt's X11 plugin (xcb) needs a few libraries that minimal systems
lack. Without them Qt prints a generic message and aborts the process, so we
look for them first and name the packages to install.
"""

from __future__ import annotations

import ctypes.util
import os
import sys

# Library name (as ctypes.util.find_library takes it) -> Debian/Ubuntu package.
XCB_LIBRARIES = {
    "xcb-cursor": "libxcb-cursor0",
    "xcb-icccm": "libxcb-icccm4",
    "xcb-keysyms": "libxcb-keysyms1",
    "xkbcommon-x11": "libxkbcommon-x11-0",
}


def missing_display_packages() -> list[str]:
    """Packages to install for Qt's X11 plugin; empty when none are missing or X11 is not used."""
    if not sys.platform.startswith("linux"):
        return []
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith("xcb"):
        return []  # offscreen, wayland, ...: the xcb libraries do not matter
    if not platform and os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("DISPLAY"):
        return []
    return [package for name, package in XCB_LIBRARIES.items() if ctypes.util.find_library(name) is None]


def display_problem_message(packages: list[str]) -> str:
    return (
        "vae-explorer cannot open a window: Qt's X11 plugin needs system libraries that are "
        f"not installed.\nOn Debian or Ubuntu: sudo apt-get install {' '.join(packages)}\n"
        "(Or run headless with QT_QPA_PLATFORM=offscreen.)"
    )
