"""GeneratorThread: a generator on its own QThread, its items delivered to the GUI thread."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from vae_explorer.core.config import TrainConfig
from vae_explorer.core.models.vae import VAEConfig as MLPVAEConfig
from vae_explorer.core.training.control import TrainingControl
from vae_explorer.core.training.events import Cancelled, Started
from vae_explorer.qt.generator_thread import GeneratorThread
from vae_explorer.qt.training_worker import TrainingProgress, TrainingRequest, gui_training_events

# The thread must be joined by the time each test ends, with no grace period.
pytestmark = pytest.mark.usefixtures("no_qthread_running_at_all")


class Receiver:
    """Keeps what a thread delivers, with the thread each delivery ran on."""

    def __init__(self, thread: GeneratorThread):
        self.items: list[object] = []
        self.crashes: list[str] = []
        self.threads: set[object] = set()
        thread.item.connect(self.on_item)
        thread.crashed.connect(self.on_crash)

    def on_item(self, value: object) -> None:
        self.items.append(value)
        self.threads.add(QThread.currentThread())

    def on_crash(self, message: str) -> None:
        self.crashes.append(message)
        self.threads.add(QThread.currentThread())


def test_items_arrive_on_the_gui_thread_in_order_and_the_generator_runs_off_it(qtbot):
    produced_on: set[str] = set()
    payloads = [{"n": n} for n in range(200)]

    def items():
        for payload in payloads:
            produced_on.add(QThread.currentThread().objectName())
            yield payload

    thread = GeneratorThread(items, name="test-worker")
    receiver = Receiver(thread)
    with qtbot.waitSignal(thread.finished, timeout=10_000):
        thread.start()
    assert thread.wait(5000) and thread.isFinished()
    qtbot.waitUntil(lambda: len(receiver.items) == len(payloads), timeout=5000)
    assert produced_on == {"test-worker"}
    assert receiver.threads == {QApplication.instance().thread()}
    # In order, and the very objects yielded: nothing is copied on the way.
    assert all(got is sent for got, sent in zip(receiver.items, payloads, strict=True))
    assert not receiver.crashes


def test_an_exception_becomes_crashed_with_its_message_after_the_items_before_it(qtbot):
    def items():
        yield 1
        yield 2
        raise ValueError("the third item is broken")

    thread = GeneratorThread(items)
    receiver = Receiver(thread)
    with qtbot.waitSignal(thread.crashed, timeout=10_000) as crashed:
        thread.start()
    assert crashed.args == ["ValueError: the third item is broken"]
    assert receiver.items == [1, 2]  # queued in order, so they came first
    assert receiver.threads == {QApplication.instance().thread()}
    assert thread.wait(5000) and not thread.isRunning()


def test_an_abandoned_thread_says_nothing_more(qtbot):
    go_on = threading.Event()

    def items():
        yield "before"
        go_on.wait(10)
        yield "after"
        raise RuntimeError("nobody is listening")

    thread = GeneratorThread(items)
    receiver = Receiver(thread)
    with qtbot.waitSignal(thread.item, timeout=10_000):
        thread.start()
    thread.abandoned = True
    go_on.set()
    with qtbot.assertNotEmitted(thread.crashed, wait=200):
        assert thread.wait(5000)
    qtbot.wait(50)  # anything queued would have been delivered by now
    assert receiver.items == ["before"] and not receiver.crashes


@pytest.fixture
def long_request(bundled_test_set):
    """Long enough to pause and cancel: 10,000 images in batches of 16, many epochs."""
    config = TrainConfig(epochs=50, batch_size=16, device="cpu", num_threads=1)
    return TrainingRequest("mlp_vae", MLPVAEConfig(hidden_sizes=(32, 16)), config,
                           train_set=bundled_test_set, test_set=bundled_test_set.subset(500))


def test_a_pause_through_training_control_holds_the_thread_until_resume(qtbot, long_request):
    control = TrainingControl()
    thread = GeneratorThread(lambda: gui_training_events(long_request, control, 0.0, lower_priority=False))
    receiver = Receiver(thread)

    def reports() -> list[TrainingProgress]:
        return [i for i in receiver.items if isinstance(i, TrainingProgress)]

    thread.start()
    qtbot.waitUntil(lambda: len(reports()) >= 3, timeout=60_000)
    assert isinstance(receiver.items[0], Started)
    control.pause()
    qtbot.wait(300)  # the batch under way when Pause was pressed may still report
    held_at = len(reports())
    qtbot.wait(700)
    assert len(reports()) == held_at and thread.isRunning()

    control.resume()
    qtbot.waitUntil(lambda: len(reports()) > held_at + 2, timeout=10_000)
    last = reports()[-1]
    assert (last.epoch, last.batch) > (reports()[held_at - 1].epoch, reports()[held_at - 1].batch)

    with qtbot.waitSignal(thread.finished, timeout=10_000):
        control.cancel()
    assert thread.wait(5000)
    qtbot.waitUntil(lambda: isinstance(receiver.items[-1], Cancelled), timeout=5000)
    assert not receiver.crashes


def test_latest_run_delivers_only_the_latest_run_on_the_gui_thread_and_joins_every_thread(qtbot):
    from vae_explorer.qt.generator_thread import LatestRun

    items, threads, crashes = [], set(), []
    runs = LatestRun(lambda item: (items.append(item), threads.add(threading.current_thread())), crashes.append)
    first_started, release_first = threading.Event(), threading.Event()
    first_stopped = threading.Event()

    def first(stop):
        first_started.set()
        release_first.wait(10)
        yield "first, after it was abandoned"
        if stop.is_set():
            first_stopped.set()

    def second(stop):
        yield "second"
        raise RuntimeError("second broke")

    runs.start(first)
    assert first_started.wait(10)
    runs.start(second)  # abandons the first, which is still blocked
    release_first.set()
    qtbot.waitUntil(lambda: runs.thread_count == 0, timeout=10000)
    assert items == ["second"]
    assert crashes == ["RuntimeError: second broke"]
    assert threads == {threading.main_thread()}
    assert first_stopped.is_set()  # the abandoned run saw its stop event
    assert not runs.running


def test_latest_run_shutdown_stops_and_joins_a_running_thread(qtbot):
    from vae_explorer.qt.generator_thread import LatestRun

    items = []
    runs = LatestRun(items.append)
    started = threading.Event()

    def endless(stop):
        started.set()
        while not stop.wait(0.01):
            yield "tick"

    runs.start(endless)
    assert started.wait(10) and runs.running
    runs.shutdown()
    assert runs.thread_count == 0 and not runs.running
