"""Choose the plane through a latent of more than two dimensions that the map shows.

Two modes: two chosen coordinates (every other coordinate held at a value set
by a slider, by default the mean of the last clicked data point), or the plane
of the two principal components of the encoded split. The widget only says
which plane; the window redraws the map when planeChanged arrives.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFrame, QGridLayout, QHBoxLayout, QLabel, QScrollArea, QSizePolicy, QSlider, QToolButton,
    QVBoxLayout, QWidget,
)

from vae_explorer.core import plane as planes
from vae_explorer.core.plane import LatentPlane

MODE_AXES, MODE_PRINCIPAL = "axes", "principal"
SLIDER_RANGE = 4.0  # sliders span ±4: the prior puts almost all its mass inside ±3
SLIDER_UNITS = 100  # slider steps per latent unit
SLIDER_COLUMNS = 3
VISIBLE_SLIDER_ROWS = 3  # more than this scrolls


class PlaneControls(QWidget):
    """Mode, the two axes, and a slider for each other coordinate; emits the plane they define."""

    planeChanged = Signal(object)  # LatentPlane

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.dim = 0
        self.plane: LatentPlane = planes.identity(2)
        self._values = np.zeros(0, np.float32)  # where each coordinate is held (X and Y ignored)
        self._source = "at 0"  # where those values came from, for the map title
        self._picked: tuple[np.ndarray, int] | None = None  # mean and index of the last clicked point
        self._codes: np.ndarray | None = None
        self._last_axes = (0, 1)  # (x, y) as last shown, to swap the two when X and Y would meet
        self._principal: LatentPlane | None = None  # cached until the codes change
        self.sliders: list[QSlider] = []
        self.value_labels: list[QLabel] = []
        self._slider_cells: list[list[QWidget]] = []
        self._build()

    # ----- construction ----------------------------------------------------------------------

    def _build(self) -> None:
        self.mode_combo = QComboBox()
        self.mode_combo.addItem("Two axes", MODE_AXES)
        self.mode_combo.addItem("Principal plane", MODE_PRINCIPAL)
        self.mode_combo.setToolTip("Two axes: a slice along two latent coordinates, the others held fixed.\n"
                                   "Principal plane: the plane through the codes' mean that keeps "
                                   "the most of their spread.")
        self.x_combo, self.y_combo = QComboBox(), QComboBox()
        self.x_combo.setToolTip("Latent coordinate along the map's horizontal axis")
        self.y_combo.setToolTip("Latent coordinate along the map's vertical axis")
        # Short texts (the tooltips say the rest): the row must fit the map's width in a small window.
        others = QLabel("Others:")
        others.setToolTip("Where the coordinates not on the map are held (the sliders below)")
        self.follow_check = QCheckBox("F&ollow clicks")
        self.follow_check.setChecked(True)
        self.follow_check.setToolTip("Clicking a data point holds the other coordinates at its posterior mean")
        self.picked_button = QToolButton(text="&Picked point")
        self.picked_button.setToolTip("Hold the other coordinates at the mean of the last clicked data point")
        self.picked_button.setEnabled(False)
        self.zero_button = QToolButton(text="&Zero")
        self.zero_button.setToolTip("Hold the other coordinates at 0, the prior's mean")
        self.note = QLabel("")
        self.note.setObjectName("hint")
        # Clipped in a narrow window rather than widening it; its tooltip repeats it whole.
        self.note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        self.axis_widgets: list[QWidget] = []  # shown only while the plane is made of two axes
        for text, widget in (("Pla&ne:", self.mode_combo), ("&X:", self.x_combo), ("&Y:", self.y_combo)):
            label = QLabel(text)
            label.setBuddy(widget)
            row.addWidget(label)
            row.addWidget(widget)
            if widget is not self.mode_combo:
                self.axis_widgets += [label, widget]
        # Where the other coordinates are held: beside the axes when the row has room, else on a row
        # of its own (resizeEvent moves it), so a small window squeezes no button.
        self.others = QWidget()
        group = QHBoxLayout(self.others)
        group.setContentsMargins(6, 0, 0, 0)
        group.setSpacing(3)
        for widget in (others, self.picked_button, self.zero_button, self.follow_check):
            group.addWidget(widget)
        self.axis_widgets.append(self.others)
        row.addWidget(self.note, 1)
        self._rows = (row, QHBoxLayout())
        self._rows[1].setContentsMargins(0, 0, 0, 0)
        self._rows[1].addStretch(1)
        row.insertWidget(row.indexOf(self.note), self.others)

        self.slider_grid = QGridLayout()
        self.slider_grid.setContentsMargins(0, 0, 0, 0)
        self.slider_grid.setVerticalSpacing(2)
        holder = QWidget()
        holder.setLayout(self.slider_grid)
        self.scroll = QScrollArea()
        self.scroll.setWidget(holder)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.axis_widgets.append(self.scroll)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 4)
        layout.setSpacing(3)
        layout.addLayout(row)
        layout.addLayout(self._rows[1])
        layout.addWidget(self.scroll)

        self.mode_combo.currentIndexChanged.connect(self._on_mode)
        self.x_combo.currentIndexChanged.connect(self._on_axis)
        self.y_combo.currentIndexChanged.connect(self._on_axis)
        self.picked_button.clicked.connect(self.use_picked_point)
        self.zero_button.clicked.connect(self.zero)

    def _rebuild(self, dim: int) -> None:
        """Axis choices and one slider per coordinate for a dim-D latent."""
        self.dim = dim
        self._values = np.zeros(dim, np.float32)
        self._source, self._picked = "at 0", None
        self.picked_button.setEnabled(False)
        for combo, index in ((self.x_combo, 0), (self.y_combo, 1)):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems([f"z{i + 1}" for i in range(dim)])
            combo.setCurrentIndex(index)
            combo.blockSignals(False)
        self._last_axes = (0, 1)
        self._fit_rows(self.width())  # longer axis names ("z784") widen the row
        for cell in self._slider_cells:
            for widget in cell:
                self.slider_grid.removeWidget(widget)
                widget.deleteLater()
        self.sliders, self.value_labels, self._slider_cells = [], [], []
        for k in range(dim):
            name = QLabel(f"z{k + 1}")
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(int(-SLIDER_RANGE * SLIDER_UNITS), int(SLIDER_RANGE * SLIDER_UNITS))
            slider.setSingleStep(5)
            slider.setPageStep(50)
            slider.setMinimumWidth(70)
            slider.setToolTip(f"z{k + 1}, held here while the map shows the chosen two "
                              "(arrow keys ±0.05, Page Up/Down ±0.5)")
            slider.setAccessibleName(f"z{k + 1}")
            value = QLabel("+0.00")
            value.setMinimumWidth(value.fontMetrics().horizontalAdvance("+0.00 ") + 4)
            slider.valueChanged.connect(lambda v, k=k: self._on_slider(k, v))
            self.sliders.append(slider)
            self.value_labels.append(value)
            self._slider_cells.append([name, slider, value])
        self._layout_sliders()

    def _layout_sliders(self) -> None:
        """Lay out the sliders of the coordinates not on the map, SLIDER_COLUMNS to a row."""
        x, y = self.axes
        shown = [k for k in range(self.dim) if k not in (x, y)]
        for cell in self._slider_cells:
            for widget in cell:
                self.slider_grid.removeWidget(widget)
                widget.hide()
        for n, k in enumerate(shown):
            row, column = divmod(n, SLIDER_COLUMNS)
            for offset, widget in enumerate(self._slider_cells[k]):
                self.slider_grid.addWidget(widget, row, 3 * column + offset)
                widget.show()
        for column in range(SLIDER_COLUMNS):
            self.slider_grid.setColumnStretch(3 * column + 1, 1)
        rows = max(1, min(VISIBLE_SLIDER_ROWS, -(-len(shown) // SLIDER_COLUMNS)))
        row_height = max((w.sizeHint().height() for cell in self._slider_cells for w in cell), default=20)
        self.scroll.setFixedHeight(rows * row_height + (rows - 1) * self.slider_grid.verticalSpacing())
        self._show_values()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit_rows(event.size().width())

    def _fit_rows(self, width: int) -> None:
        """Put the others' controls beside the axes if width allows, else on the row below."""
        row, spare = self._rows
        margins = self.layout().contentsMargins().left() + self.layout().contentsMargins().right()
        others = self.others.minimumSizeHint().width()
        axes = row.minimumSize().width() - (others + row.spacing() if row.indexOf(self.others) >= 0 else 0)
        # The explicit minimum keeps the layout from demanding the one-row width.
        self.setMinimumWidth(max(axes, others) + margins)
        if width >= axes + row.spacing() + others + margins:
            if spare.indexOf(self.others) >= 0:
                row.insertWidget(row.indexOf(self.note), self.others)
        elif row.indexOf(self.others) >= 0:
            spare.insertWidget(0, self.others)

    @property
    def on_two_rows(self) -> bool:
        """Whether the narrow width has put the others' controls on a row of their own."""
        return self._rows[1].indexOf(self.others) >= 0

    # ----- public API ------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self.mode_combo.currentData()

    @property
    def axes(self) -> tuple[int, int]:
        return self.x_combo.currentIndex(), self.y_combo.currentIndex()

    @property
    def values(self) -> np.ndarray:
        """Where every coordinate off the map is held (a copy)."""
        return self._values.copy()

    def set_space(self, dim: int, codes: np.ndarray | None) -> LatentPlane:
        """A new session (or epoch): its latent size and codes. Keeps the choices if the size is the same."""
        self._codes = None if codes is None else np.asarray(codes)
        self._principal = None
        if dim != self.dim:
            self._rebuild(dim)
        self._update(emit=False)
        return self.plane

    def follow(self, z: np.ndarray, index: int, emit: bool = True) -> None:
        """A data point was clicked: remember its mean; if following, hold the other coordinates there."""
        z = np.asarray(z, np.float32).reshape(-1)
        if z.size != self.dim or not np.isfinite(z).all():  # e.g. a diverged preview's code: keep the plane
            return
        self._picked = (z.copy(), int(index))
        self.picked_button.setEnabled(True)
        if self.follow_check.isChecked():
            self._hold(z, f"from point #{index}", emit)

    def use_picked_point(self) -> None:
        if self._picked is not None:
            z, index = self._picked
            self._hold(z, f"from point #{index}", True)

    def zero(self) -> None:
        self._hold(np.zeros(self.dim, np.float32), "at 0", True)

    def set_mode(self, mode: str) -> None:
        self.mode_combo.setCurrentIndex(self.mode_combo.findData(mode))

    def set_axes(self, x: int, y: int) -> None:
        """Show coordinates x and y (0-based) on the map."""
        if x == y or not (0 <= x < self.dim and 0 <= y < self.dim):
            raise ValueError(f"choose two different axes between 1 and {self.dim}")
        for combo, index in ((self.x_combo, x), (self.y_combo, y)):
            combo.blockSignals(True)
            combo.setCurrentIndex(index)
            combo.blockSignals(False)
        self._on_axis()

    # ----- changes ---------------------------------------------------------------------------

    def _hold(self, z: np.ndarray, source: str, emit: bool) -> None:
        self._values = np.asarray(z, np.float32).reshape(-1).copy()
        self._source = source
        self._show_values()
        self._update(emit)

    def _show_values(self) -> None:
        for k, (slider, label) in enumerate(zip(self.sliders, self.value_labels)):
            slider.blockSignals(True)  # the value may lie outside the slider's range: keep it exact
            slider.setValue(int(round(np.clip(self._values[k], -SLIDER_RANGE, SLIDER_RANGE) * SLIDER_UNITS)))
            slider.blockSignals(False)
            label.setText(f"{self._values[k]:+.2f}")

    def _on_slider(self, k: int, position: int) -> None:
        self._values[k] = position / SLIDER_UNITS
        self.value_labels[k].setText(f"{self._values[k]:+.2f}")
        self._source = "set by hand"
        self._update(True)

    def _on_axis(self, _index: int = 0) -> None:
        x, y = self.axes
        if x == y:  # the other axis's coordinate was chosen: swap the two, so X and Y always differ
            old_x, old_y = self._last_axes
            other, value = (self.y_combo, old_x) if x != old_x else (self.x_combo, old_y)
            other.blockSignals(True)
            other.setCurrentIndex(value)
            other.blockSignals(False)
        self._last_axes = self.axes
        self._layout_sliders()
        self._update(True)

    def _on_mode(self, _index: int) -> None:
        self._update(True)

    def _current_plane(self) -> LatentPlane:
        if self.dim < 2:
            return planes.identity(max(self.dim, 1))
        if self.mode == MODE_PRINCIPAL and self._codes is not None:
            try:
                if self._principal is None:
                    self._principal = planes.principal(self._codes)
                self.note.setText(f"The two directions of largest spread of {len(self._codes):,} codes, "
                                  "through their mean")
                return self._principal
            except ValueError as exc:  # e.g. a diverged model's codes: say so, show two axes
                self.note.setText(f"No principal plane: {exc}.")
        else:
            self.note.setText("")
        x, y = self.axes
        return planes.along_axes(self.dim, x, y, self._values, others=self._source)

    def _update(self, emit: bool) -> None:
        plane = self._current_plane()
        self.note.setToolTip(self.note.text())
        for widget in self.axis_widgets:  # axes and sliders whenever the plane is made of two axes
            widget.setVisible(plane is not self._principal)
        if plane != self.plane:
            self.plane = plane
            if emit:
                self.planeChanged.emit(plane)
