"""The form settings for a training run small enough for a test: seconds on 2 shared cores."""

from __future__ import annotations


def set_up_tiny_run(panel, data=None, display: bool = True) -> None:
    """2,000 training and 500 test images, a 32-16 MLP, 2 epochs of batches of 100, on the CPU.

    data=None leaves the panel to load its own data; display=False leaves the map's
    data to whoever owns the map (the main window).
    """
    if data is not None:
        panel.set_training_data(data.subset(2000))
        panel.set_test_data(data.subset(500))
        if display:
            panel.set_display_data(data.subset(300))
    panel.hidden_edit.setText("32, 16")
    panel.epochs_spin.setValue(2)
    panel.batch_spin.setValue(100)
    panel.device_combo.setCurrentIndex(panel.device_combo.findData("cpu"))
