"""The Impute tab's controls: the digit chooser and the method box, built onto the panel."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout


def build_image_box(panel) -> QGroupBox:
    """The digit chooser: an index, Random, and the hint that a map click chooses too."""
    box = QGroupBox("1 · Choose a digit")
    panel.index_spin = QSpinBox()
    panel.index_spin.setRange(0, 0)
    panel.index_spin.setToolTip("Index of the image in the split shown on the map")
    panel.index_spin.valueChanged.connect(panel.choose_image)
    panel.random_button = QPushButton("Random")
    panel.random_button.setToolTip("Pick a random image")
    panel.random_button.clicked.connect(panel.choose_random_image)
    panel.image_label = QLabel("")
    row = QHBoxLayout()
    row.addWidget(QLabel("Image #"))
    row.addWidget(panel.index_spin)
    row.addWidget(panel.random_button)
    row.addWidget(panel.image_label, 1)
    hint = QLabel("…or click a data point on the latent map.")
    hint.setObjectName("hint")
    column = QVBoxLayout(box)
    column.setSpacing(2)
    column.addLayout(row)
    column.addWidget(hint)
    return box


def build_method_box(panel, titles: dict[str, str]) -> QGroupBox:
    """The method, its rounds, Impute / Stop / Zoom map, the status line and the map hint."""
    box = QGroupBox("3 · Impute")
    panel.method_combo = QComboBox()
    for key, title in titles.items():
        panel.method_combo.addItem(title, key)
    panel.method_combo.setToolTip(
        "Iterative: fill, encode, decode, restore the known pixels, repeat (path drawn on the map).\n"
        "Grid posterior: p(z | observed pixels) on a 100×100 grid over ±4, then on a fine grid\n"
        "over its mass, drawn as a heat map; the imputation is the posterior mean of the decoded\n"
        "images. Needs a 2-D latent.\n"
        "Gradient MAP: climb log p(observed | z) + log p(z) from several starts.")
    panel.method_combo.currentIndexChanged.connect(panel._on_method_chosen)
    panel.steps_spin = QSpinBox()
    panel.steps_spin.setRange(1, 500)
    panel.steps_spin.setValue(25)
    panel.steps_spin.setToolTip("Rounds of the iterative method")
    panel.impute_button = QPushButton("Impute")
    panel.impute_button.setDefault(True)
    panel.impute_button.setToolTip("Run the chosen method, one step per frame")
    panel.impute_button.clicked.connect(panel.start_imputation)
    panel.stop_button = QPushButton("Stop")
    panel.stop_button.setEnabled(False)
    panel.stop_button.clicked.connect(panel.stop_imputation)
    panel.zoom_button = QPushButton("Zoom map")
    panel.zoom_button.setEnabled(False)
    panel.zoom_button.setToolTip("Fit the latent map around the posterior or the path of this run")
    panel.zoom_button.clicked.connect(panel.zoom_map)
    panel.status_label = QLabel("Choose a digit, erase some rows, press Impute.")
    panel.status_label.setWordWrap(True)
    panel.map_hint = QLabel("")
    panel.map_hint.setObjectName("hint")
    panel.map_hint.setWordWrap(True)
    grid = QGridLayout(box)
    grid.addWidget(QLabel("Method:"), 0, 0)
    grid.addWidget(panel.method_combo, 0, 1, 1, 3)
    # Long method titles must not widen the dock.
    panel.method_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    panel.method_combo.setMinimumContentsLength(12)
    panel.steps_label = QLabel("Rounds:")
    grid.addWidget(panel.steps_label, 1, 0)
    grid.addWidget(panel.steps_spin, 1, 1, Qt.AlignmentFlag.AlignLeft)  # a count, not a full-width field
    buttons = QHBoxLayout()
    for button in (panel.impute_button, panel.stop_button, panel.zoom_button):
        buttons.addWidget(button)
    buttons.addStretch(1)
    grid.addLayout(buttons, 2, 0, 1, 4)
    grid.addWidget(panel.status_label, 3, 0, 1, 4)
    grid.addWidget(panel.map_hint, 4, 0, 1, 4)
    grid.setColumnStretch(1, 1)
    return box
