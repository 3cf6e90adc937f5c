"""The training panel driven like a user would: clicks on its buttons, real training runs."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest
from PySide6.QtWidgets import QStyle
import torch
from PySide6.QtCore import Qt

from tests.qt.qthreads import running_qthreads_anywhere
from tests.qt.tiny_run import set_up_tiny_run
from vae_explorer.core.latent import kl_per_dimension
from vae_explorer.core.models import registry
from vae_explorer.core.training import trainer as core_trainer
from vae_explorer.core.training.trainer import EpochStats
from vae_explorer.qt import training_panel
from vae_explorer.qt.loss_curves import LossCurves
from vae_explorer.qt.training_panel import CANCELLED_STATUS, TrainingPanel

SIGNAL_TIMEOUT_MS = 60_000  # generous: CI shares 2 cores; a tiny run takes a few seconds


# Stricter than conftest's grace-period check: training joins its thread before it reports.
pytestmark = pytest.mark.usefixtures("no_qthread_running_at_all")


def make_panel(qtbot, data=None, **kwargs) -> TrainingPanel:
    panel = TrainingPanel(**kwargs)
    qtbot.addWidget(panel)
    set_up_tiny_run(panel, data)
    panel.resize(420, 900)
    panel.show()
    return panel


@pytest.fixture
def panel(qtbot, bundled_test_set):
    panel = make_panel(qtbot, bundled_test_set)
    yield panel
    panel.shutdown()


@pytest.fixture
def long_panel(panel, bundled_test_set):
    """A run long enough to interrupt: 10,000 images, small batches, many epochs."""
    panel.set_training_data(bundled_test_set)
    panel.batch_spin.setValue(16)
    panel.epochs_spin.setValue(50)
    return panel


def click(qtbot, button) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_start_trains_updates_curves_and_delivers_a_checkpoint(qtbot, panel):
    snapshots, progress = [], []
    panel.epochSnapshot.connect(snapshots.append)
    panel.trainingProgress.connect(progress.append)
    with qtbot.waitSignal(panel.trainingStarted, timeout=1000):
        with qtbot.waitSignal(panel.trainingFinished, timeout=SIGNAL_TIMEOUT_MS) as finished:
            click(qtbot, panel.start_button)
            assert panel.is_running()
            assert not panel.start_button.isEnabled() and panel.cancel_button.isEnabled()
    assert not panel.is_running()
    assert panel.start_button.isEnabled() and not panel.cancel_button.isEnabled()

    # Progress: reports arrived, the bar is full, the text names epoch, batch and ETA.
    assert progress and progress[-1].epoch == 2 and progress[-1].batch == 20
    assert panel.progress_bar.value() == panel.progress_bar.maximum()
    assert "Training finished" in panel.status_label.text()

    # One snapshot per epoch, with the display split encoded (300 images, 2-D).
    assert [s.stats.epoch for s in snapshots] == [1, 2]
    assert all(s.latent_mean.shape == (300, 2) for s in snapshots)

    # The curves plot exactly the per-epoch numbers and the running reports.
    for term in ("loss", "reconstruction", "kl"):
        x, y = panel.curves.series(term, "train")
        np.testing.assert_array_equal(x, [1, 2])
        np.testing.assert_allclose(y, [s.stats.train[term] for s in snapshots])
        x, y = panel.curves.series(term, "test")
        np.testing.assert_allclose(y, [s.stats.test[term] for s in snapshots])
        x, y = panel.curves.series(term, "running")
        np.testing.assert_allclose(x, [p.position for p in progress])
        np.testing.assert_allclose(y, [p.terms[term] for p in progress])

    # The KL bars show the last epoch's posterior over the display split.
    assert panel.kl_bars.isVisible()
    np.testing.assert_allclose(panel.kl_bars.values(),
                               kl_per_dimension(snapshots[-1].latent_mean, snapshots[-1].latent_logvar))

    checkpoint = finished.args[0]
    assert checkpoint.kind == panel.form_box.kind()
    assert checkpoint.train_config == panel.train_config()
    assert checkpoint.model.config.hidden_sizes == (32, 16)
    assert checkpoint.metrics["epochs_completed"] == len(snapshots)
    assert checkpoint.metrics["train_loss"] == pytest.approx(snapshots[-1].stats.train["loss"])
    assert "after 2 epoch(s)" in panel.status_label.text()  # read back from the metrics
    # The thread box's 0 is the one-thread default, and the run used it.
    assert panel.threads_spin.value() == 0 and panel.threads_spin.text() == "default (1)"
    assert checkpoint.provenance["threads"] == 1
    initial = registry.build(checkpoint.kind, checkpoint.model.config, seed=0).state_dict()
    trained = checkpoint.model.state_dict()
    assert all(not torch.equal(initial[k], trained[k]) for k in initial)


@pytest.mark.parametrize(
    "field, text, expected",
    [("hidden_edit", "512, abc", "Hidden layers"), ("hidden_edit", "", "Hidden layers"),
     ("hidden_edit", "64,-3", "Hidden layers"), ("lr_edit", "-1", "Learning rate"),
     ("lr_edit", "fast", "Learning rate")],
)
def test_invalid_input_shows_an_inline_message_and_starts_nothing(qtbot, panel, field, text, expected):
    getattr(panel, field).setText(text)
    with qtbot.assertNotEmitted(panel.trainingStarted):
        click(qtbot, panel.start_button)
    assert not panel.is_running()
    assert panel.error_label.isVisible()
    assert expected in panel.error_label.text()
    assert panel.start_button.isEnabled()


def test_cancel_mid_run_stops_and_reports(qtbot, long_panel):
    panel = long_panel
    with qtbot.waitSignal(panel.trainingProgress, timeout=SIGNAL_TIMEOUT_MS):
        click(qtbot, panel.start_button)
    with qtbot.assertNotEmitted(panel.trainingFinished):
        with qtbot.waitSignal(panel.trainingCancelled, timeout=10_000):
            click(qtbot, panel.cancel_button)
    assert not panel.is_running()
    assert panel.status_label.text() == CANCELLED_STATUS
    assert "cancelled" in CANCELLED_STATUS and "previous model is still loaded" in CANCELLED_STATUS
    assert panel.start_button.isEnabled() and panel.form_box.isEnabled()
    assert not panel.error_label.isVisible()


def test_pause_holds_training_and_resume_continues(qtbot, long_panel):
    panel = long_panel
    progress = []
    panel.trainingProgress.connect(progress.append)
    with qtbot.waitSignal(panel.trainingProgress, timeout=SIGNAL_TIMEOUT_MS):
        click(qtbot, panel.start_button)
    click(qtbot, panel.pause_button)
    assert panel.is_paused() and panel.pause_button.text() == "Resume"
    play = panel.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay).pixmap(16).toImage()
    assert panel.pause_button.icon().pixmap(16).toImage() == play  # the icon says what a press does
    qtbot.wait(300)  # the batch under way when Pause was pressed may still report
    reports_when_paused = len(progress)
    qtbot.wait(700)
    assert len(progress) == reports_when_paused
    assert panel.is_running()

    with qtbot.waitSignal(panel.trainingProgress, timeout=SIGNAL_TIMEOUT_MS):
        click(qtbot, panel.pause_button)
    assert not panel.is_paused() and panel.pause_button.text() == "Pause"
    assert panel.pause_button.icon().pixmap(16).toImage() != play
    with qtbot.waitSignal(panel.trainingCancelled, timeout=10_000):
        click(qtbot, panel.cancel_button)


def test_cancel_while_paused_stops(qtbot, long_panel):
    panel = long_panel
    with qtbot.waitSignal(panel.trainingProgress, timeout=SIGNAL_TIMEOUT_MS):
        click(qtbot, panel.start_button)
    click(qtbot, panel.pause_button)
    with qtbot.waitSignal(panel.trainingCancelled, timeout=10_000):
        click(qtbot, panel.cancel_button)
    assert not panel.is_running()


def test_diverging_run_fails_with_a_clear_message(qtbot, panel):
    panel.lr_edit.setText("1e6")
    with qtbot.assertNotEmitted(panel.trainingFinished):
        with qtbot.waitSignal(panel.trainingFailed, timeout=SIGNAL_TIMEOUT_MS) as failed:
            click(qtbot, panel.start_button)
    message = failed.args[0]
    assert message.startswith("Training diverged: the loss became nan at epoch 1, batch ")
    assert "smaller learning rate" in message and message.endswith("The previous model is still loaded.")
    # Which weights core kept is not for the panel to say: it throws them away.
    assert "kept" not in message
    assert panel.error_label.isVisible() and panel.error_label.text() == message
    assert panel.status_label.text() == "Training failed."
    assert not panel.is_running() and panel.start_button.isEnabled()


def test_missing_training_data_fails_naming_the_expected_files(qtbot, tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    panel = make_panel(qtbot, data_dir=str(tmp_path))
    with qtbot.waitSignal(panel.trainingFailed, timeout=SIGNAL_TIMEOUT_MS) as failed:
        click(qtbot, panel.start_button)
    message = failed.args[0]
    assert message.startswith(f"Cannot train: MNIST is not in {tmp_path}")
    assert str(tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte") in message
    assert "previous model is still loaded" in message
    assert panel.error_label.isVisible() and panel.error_label.text() == message
    assert panel.status_label.text() == "Training did not start."
    assert not panel.is_running() and panel.start_button.isEnabled()


def test_shutdown_during_a_run_joins_the_thread(qtbot, long_panel):
    panel = long_panel
    with qtbot.waitSignal(panel.trainingProgress, timeout=SIGNAL_TIMEOUT_MS):
        click(qtbot, panel.start_button)
    with qtbot.waitSignal(panel.trainingCancelled, timeout=1000):
        assert panel.shutdown(timeout_ms=10_000)
    assert not panel.is_running()
    assert not running_qthreads_anywhere()
    with qtbot.assertNotEmitted(panel.trainingCancelled, wait=200):
        pass  # the worker's own late "cancelled" is dropped, not reported twice


def test_shutdown_when_idle_is_a_no_op(qtbot, panel):
    with qtbot.assertNotEmitted(panel.trainingCancelled):
        assert panel.shutdown()
    assert panel.start_button.isEnabled()


def test_a_second_run_after_a_failure_works(qtbot, panel):
    panel.lr_edit.setText("1e6")
    with qtbot.waitSignal(panel.trainingFailed, timeout=SIGNAL_TIMEOUT_MS):
        click(qtbot, panel.start_button)
    panel.lr_edit.setText("1e-3")
    panel.epochs_spin.setValue(1)
    with qtbot.waitSignal(panel.trainingFinished, timeout=SIGNAL_TIMEOUT_MS):
        click(qtbot, panel.start_button)
    assert not panel.error_label.isVisible()
    x, _ = panel.curves.series("loss", "train")
    np.testing.assert_array_equal(x, [1])  # the failed run's points were cleared


def test_unavailable_devices_are_disabled_in_the_menu(panel):
    model = panel.device_combo.model()
    for index in range(panel.device_combo.count()):
        name = panel.device_combo.itemData(index)
        enabled = model.item(index).isEnabled()
        if name == "cuda":
            assert enabled == torch.cuda.is_available()
        if name in ("auto", "cpu"):
            assert enabled


def test_an_unexpected_error_in_training_fails_with_its_message(qtbot, panel, monkeypatch):
    original_run = core_trainer.Trainer.run

    def fail_at_batch_three(self):
        for count, item in enumerate(original_run(self)):
            if count == 3:
                raise ValueError("boom")
            yield item

    monkeypatch.setattr(core_trainer.Trainer, "run", fail_at_batch_three)
    with qtbot.assertNotEmitted(panel.trainingFinished):
        with qtbot.waitSignal(panel.trainingFailed, timeout=SIGNAL_TIMEOUT_MS) as failed:
            click(qtbot, panel.start_button)
    assert failed.args[0] == "Training failed: ValueError: boom. The previous model is still loaded."
    assert panel.error_label.text() == failed.args[0]
    assert not panel.is_running() and not running_qthreads_anywhere()


def test_a_thread_that_outlives_shutdown_is_dropped_and_a_new_run_sees_none_of_it(qtbot, long_panel,
                                                                                   bundled_test_set):
    panel = long_panel
    panel.progress_interval_s = 0.0  # a report per batch, so some wait in the queue below
    with qtbot.waitSignal(panel.trainingProgress, timeout=SIGNAL_TIMEOUT_MS):
        click(qtbot, panel.start_button)
    old_thread = panel._thread
    time.sleep(0.2)  # the GUI thread busy: reports of the 50-epoch run pile up in its queue
    with qtbot.waitSignal(panel.trainingCancelled, timeout=1000):
        panel.shutdown(timeout_ms=0)  # gives up at once: the thread is left to stop on its own
    assert not panel.is_running() and panel.start_button.isEnabled()
    assert old_thread in training_panel._STRAGGLERS

    # A short run started at once must get only its own reports.
    panel.set_training_data(bundled_test_set.subset(2000))
    panel.batch_spin.setValue(100)
    panel.epochs_spin.setValue(1)
    progress = []
    panel.trainingProgress.connect(progress.append)
    with qtbot.waitSignal(panel.trainingFinished, timeout=SIGNAL_TIMEOUT_MS):
        click(qtbot, panel.start_button)
    assert progress and {p.epochs for p in progress} == {1}
    assert [p.batch for p in progress] == sorted(p.batch for p in progress)
    qtbot.waitUntil(lambda: not old_thread.isRunning(), timeout=10_000)
    qtbot.waitUntil(lambda: old_thread not in training_panel._STRAGGLERS, timeout=5000)


# -- the kinds ------------------------------------------------------------------------------

FIVE_TERMS = {"loss": "−ELBO+GAN", "reconstruction": "reconstruction", "kl": "KL",
              "adversarial": "adversarial", "discriminator": "discriminator"}


def plotted_labels(curves: LossCurves) -> list[str]:
    return [plot.titleLabel.text for plot in curves.plots.values()]


def test_loss_curves_plot_the_terms_they_are_given_in_order(qtbot):
    curves = LossCurves(FIVE_TERMS)
    qtbot.addWidget(curves)
    curves.show()
    assert list(curves.plots) == list(FIVE_TERMS) and plotted_labels(curves) == list(FIVE_TERMS.values())
    assert curves.graphics.minimumHeight() > LossCurves({"loss": "loss"}).graphics.minimumHeight()
    terms = {name: float(i) for i, name in enumerate(FIVE_TERMS)}
    curves.add_epoch(EpochStats(1, 2, {**terms, "extra": 9.0}, None, 1.0, 1.0))
    for name, value in terms.items():
        assert curves.series(name, "train")[1].tolist() == [value]

    # A run of a two-term kind: its plots replace the five, and nothing of the old run stays.
    curves.clear(3, terms={"loss": "loss", "reconstruction": "reconstruction"})
    assert list(curves.plots) == ["loss", "reconstruction"] and not curves.has_points()
    curves.add_running(0.5, {"loss": 2.0, "reconstruction": 1.5, "kl": 0.5})
    assert curves.series("reconstruction", "running")[1].tolist() == [1.5]
    with pytest.raises(KeyError):
        curves.series("kl", "running")


def test_choosing_a_kind_previews_its_curves_and_the_kl_bars(qtbot, panel):
    for kind, model_class in registry.kinds().items():
        panel.form_box.set_kind(kind)
        assert list(panel.curves.plots) == list(model_class.term_labels)
        assert panel.kl_bars.isVisible() == ("kl" in model_class.term_labels)
        if kind == "vae_gan":
            assert len(panel.curves.plots) == 5


def non_default_kind(*preferred: str) -> str:
    known = registry.kinds()
    kind = next((name for name in preferred if name in known), None)
    if kind is None:
        pytest.skip(f"none of {preferred} is registered (yet)")
    return kind


def test_a_run_of_a_kind_without_kl_plots_its_own_terms_and_no_kl_bars(qtbot, panel):
    kind = non_default_kind("autoencoder", "denoising_autoencoder")
    assert panel.form_box.set_kind(kind)
    set_up_tiny_run(panel)  # the new kind's fields start from the defaults: make it tiny again
    panel.epochs_spin.setValue(1)
    snapshots = []
    panel.epochSnapshot.connect(snapshots.append)
    with qtbot.waitSignal(panel.trainingFinished, timeout=SIGNAL_TIMEOUT_MS) as finished:
        click(qtbot, panel.start_button)
    checkpoint = finished.args[0]
    assert checkpoint.kind == kind and checkpoint.model.config.hidden_sizes == (32, 16)
    terms = registry.get_kind(kind).term_labels
    assert list(panel.curves.plots) == list(terms) and "kl" not in terms
    for term in terms:
        x, y = panel.curves.series(term, "train")
        np.testing.assert_allclose(y, [snapshots[-1].stats.train[term]])
    assert snapshots[-1].latent_logvar is None and not panel.kl_bars.isVisible()
    # Another kind chosen after the run: its curves stay until the next Start.
    panel.form_box.set_kind("vae" if "vae" in registry.kinds() else "mlp_vae")
    assert list(panel.curves.plots) == list(terms)


def test_a_bad_model_field_is_outlined_and_named(qtbot, panel):
    panel.hidden_edit.setText("8, x")
    click(qtbot, panel.start_button)
    assert not panel.is_running()
    assert panel.error_label.text().startswith("Hidden layers: ")
    assert "d33" in panel.hidden_edit.styleSheet()
    panel.hidden_edit.setText("8")
    panel.epochs_spin.setValue(1)
    with qtbot.waitSignal(panel.trainingFinished, timeout=SIGNAL_TIMEOUT_MS):
        click(qtbot, panel.start_button)
    assert panel.hidden_edit.styleSheet() == "" and not panel.error_label.isVisible()


def test_another_dataset_is_loaded_from_the_data_folder_not_taken_from_the_given_sets(qtbot, tiny_dataset):
    root, written = tiny_dataset("fashion_mnist", sizes={"train": 120, "test": 40})
    panel = make_panel(qtbot, None, data_dir=str(root), allow_download=False)
    from vae_explorer.core.data import load_bundled_test_split

    mnist = load_bundled_test_split()
    set_up_tiny_run(panel, mnist)  # MNIST sets given, as the main window does
    panel.epochs_spin.setValue(1)
    combo = panel.form_box.dataset_combo
    combo.setCurrentIndex(combo.findData("fashion_mnist"))
    snapshots = []
    panel.epochSnapshot.connect(snapshots.append)
    with qtbot.waitSignal(panel.trainingFinished, timeout=SIGNAL_TIMEOUT_MS) as finished:
        click(qtbot, panel.start_button)
    checkpoint = finished.args[0]
    assert checkpoint.dataset == "fashion_mnist" and checkpoint.train_config.dataset == "fashion_mnist"
    assert checkpoint.provenance["train_images"] == len(written["train"][0])
    # The MNIST display split is not re-encoded by a model of other images.
    assert snapshots and snapshots[-1].latent_mean is None
    panel.shutdown()
