import ctypes.util

from vae_explorer.qt import platform_check
from vae_explorer.qt.platform_check import (
    display_problem_message,
    missing_display_packages,
)


def test_offscreen_needs_no_x11_libraries(monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    assert missing_display_packages() == []


def test_missing_xcb_libraries_are_named_as_packages(monkeypatch):
    monkeypatch.setattr(platform_check.sys, "platform", "linux")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None if name == "xcb-cursor" else f"lib{name}.so")
    missing = missing_display_packages()
    assert missing == ["libxcb-cursor0"]
    message = display_problem_message(missing)
    assert "apt-get install libxcb-cursor0" in message and "QT_QPA_PLATFORM=offscreen" in message


def test_run_app_stops_with_the_message_instead_of_aborting(monkeypatch, capsys):
    from vae_explorer.qt import app as app_module

    monkeypatch.setattr(app_module.QApplication, "instance", staticmethod(lambda: None))
    monkeypatch.setattr(platform_check, "missing_display_packages", lambda: ["libxcb-icccm4"])
    assert app_module.run_app() == 2
    assert "sudo apt-get install libxcb-icccm4" in capsys.readouterr().err
