"""Fixtures for the Qt tests: no leftover threads, throwaway settings, the shipped model's session."""

from __future__ import annotations

import threading
import time
import weakref

import pytest
from PySide6.QtCore import QSettings, QThread, QThreadPool

from tests.qt.qthreads import running_qthreads_anywhere

THREAD_GRACE_S = 1.0  # a thread told to stop may take one last step; any longer is a leak

_started_qthreads: "weakref.WeakSet[QThread]" = weakref.WeakSet()
_original_start = QThread.start


def _tracking_start(self, *args, **kwargs):
    _started_qthreads.add(self)
    return _original_start(self, *args, **kwargs)


QThread.start = _tracking_start  # every QThread started during the tests is checked afterwards


def _running_qthreads() -> list[QThread]:
    running = []
    for thread in list(_started_qthreads):
        try:
            if thread.isRunning():
                running.append(thread)
        except RuntimeError:  # the C++ object is gone, so is the thread
            continue
    return running


@pytest.fixture(autouse=True)
def no_thread_left_behind(request):
    """Fail the test if it leaves a QThread, a pool thread or a Python thread running."""
    before = {t.ident for t in threading.enumerate()}
    yield
    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + THREAD_GRACE_S
    while True:
        app = QApplication.instance()
        if app is not None:
            app.processEvents()
        qthreads = _running_qthreads()
        python_threads = [t for t in threading.enumerate()
                          if t.ident not in before and t.is_alive() and not isinstance(t, threading._DummyThread)]
        pool_busy = QThreadPool.globalInstance().activeThreadCount()
        if not (qthreads or python_threads or pool_busy) or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    leaks = [f"QThread {t!r}" for t in qthreads] + [f"Python thread {t.name}" for t in python_threads]
    if pool_busy:
        leaks.append(f"{pool_busy} QThreadPool thread(s)")
    if leaks:
        pytest.fail(f"{request.node.name} left threads running: {', '.join(leaks)}", pytrace=False)


@pytest.fixture
def no_qthread_running_at_all():
    """No grace period: for code that promises its thread is joined before it reports."""
    yield
    leftover = running_qthreads_anywhere()
    assert not leftover, f"test left QThreads running: {leftover}"


@pytest.fixture(autouse=True)
def no_blocking_dialogs(monkeypatch):
    """Answer every modal box and file dialog at once, so no test (or teardown) can hang.

    Questions get the harmless answer (Discard, else No, else Cancel); file dialogs are
    cancelled. Tests that need a particular answer monkeypatch the dialog themselves,
    which overrides this. The list of calls is returned for tests that want to check it.
    """
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    calls: list[tuple[str, str]] = []
    buttons = QMessageBox.StandardButton

    def question(parent, title, text, choices=buttons.Yes | buttons.No, default=buttons.NoButton):
        calls.append(("question", text))
        for harmless in (buttons.Discard, buttons.No, buttons.Cancel):
            if choices & harmless:
                return harmless
        return buttons.NoButton

    def notice(kind):
        def show(parent, title, text, *args, **kwargs):
            calls.append((kind, text))
            return buttons.Ok
        return show

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    for kind in ("warning", "critical", "information"):
        monkeypatch.setattr(QMessageBox, kind, staticmethod(notice(kind)))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: ("", "")))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: ("", "")))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: ""))
    return calls


@pytest.fixture
def settings(tmp_path) -> QSettings:
    """An ini file in tmp_path, so tests never touch the user's recent-files list."""
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture(scope="session")
def shipped_checkpoint():
    from vae_explorer.core.checkpoint import default_checkpoint_path, load_checkpoint

    return load_checkpoint(default_checkpoint_path())


@pytest.fixture(scope="session")
def shipped_session(shipped_checkpoint, bundled_test_set):
    """The shipped model over the bundled test split; views never mutate it, so tests share it."""
    from vae_explorer.core.session import ExplorerSession

    return ExplorerSession.create(shipped_checkpoint, bundled_test_set)


@pytest.fixture
def main_window(qtbot, shipped_session, settings):
    from vae_explorer.qt.main_window import MainWindow

    window = MainWindow(shipped_session, settings=settings)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    return window
