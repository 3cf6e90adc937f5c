"""The training panel's widgets and their layout, kept apart from what the panel does with them."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QStyle, QVBoxLayout, QWidget

from vae_explorer.qt.kl_bars import KLBars
from vae_explorer.qt.loss_curves import LossCurves
from vae_explorer.qt.scrolling import fill_with_scrolling
from vae_explorer.qt.training_form import TrainingForm

START_SHORTCUT = "Ctrl+T"
PAUSE_SHORTCUT = "Ctrl+P"
CANCEL_SHORTCUT = "Ctrl+."
ERROR_STYLE = (
    "QLabel { color: #8a1c1c; background: #fdecea; border: 1px solid #f5c2c0;"
    " border-radius: 4px; padding: 6px; }"
)


def build_panel(panel) -> None:
    """Make the panel's widgets (the form, buttons, progress, labels, curves, KL bars) and lay them out."""
    panel.form_box = TrainingForm()
    for name in TrainingForm.FIELDS:  # the panel's own names for the run's fields, as before
        setattr(panel, name, getattr(panel.form_box, name))
    panel.form_box.kindChanged.connect(panel._on_kind_changed)

    panel.error_label = QLabel()
    panel.error_label.setWordWrap(True)
    panel.error_label.setStyleSheet(ERROR_STYLE)
    panel.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    panel.error_label.setVisible(False)

    icons = panel.style().standardIcon
    panel.start_button = _button(icons(QStyle.StandardPixmap.SP_MediaPlay), "Start", START_SHORTCUT,
                                "Train a new model with these settings", panel.start)
    panel.pause_button = _button(icons(QStyle.StandardPixmap.SP_MediaPause), "Pause", PAUSE_SHORTCUT,
                                "Pause or resume training", panel.toggle_pause)
    panel.cancel_button = _button(icons(QStyle.StandardPixmap.SP_MediaStop), "Cancel", CANCEL_SHORTCUT,
                                 "Stop training; the current model stays as it is", panel.cancel)
    buttons = QHBoxLayout()
    for button in (panel.start_button, panel.pause_button, panel.cancel_button):
        buttons.addWidget(button)

    panel.progress_bar = QProgressBar(minimum=0, maximum=1000, value=0)
    panel.progress_bar.setFormat("%p%")
    panel.progress_bar.setToolTip("Share of all batches of the run done so far")
    panel.status_label, panel.loss_label, panel.epoch_label = QLabel(), QLabel(), QLabel()
    for label in (panel.status_label, panel.loss_label, panel.epoch_label):
        label.setWordWrap(True)
        label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    panel.curves = LossCurves()
    panel.kl_bars = KLBars()
    panel._on_kind_changed(panel.form_box.kind())

    # Everything scrolls when the dock is short, instead of squashing the plots.
    content = QWidget()
    fill_with_scrolling(panel, content)
    layout = QVBoxLayout(content)
    layout.addWidget(panel.form_box)
    layout.addLayout(buttons)
    layout.addWidget(panel.error_label)
    layout.addWidget(panel.progress_bar)
    layout.addWidget(panel.status_label)
    layout.addWidget(panel.loss_label)
    layout.addWidget(panel.epoch_label)
    layout.addWidget(panel.curves, stretch=1)
    layout.addWidget(panel.kl_bars)


def _button(icon, text: str, shortcut: str, tip: str, slot) -> QPushButton:
    button = QPushButton(icon, text)
    button.setShortcut(QKeySequence(shortcut))
    button.setToolTip(f"{tip} ({shortcut})")
    button.clicked.connect(slot)
    return button
