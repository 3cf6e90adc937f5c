"""Settings widgets made from a config dataclass: one editor per field, from its form_field metadata.

Model kinds describe their settings once, in their Config (core/config.py
form_field: label, help, choices, range, show). This module turns any such
dataclass into a grid of labelled editors and back into a config, so a new
kind needs no form code:

    int -> spin box, float -> spin box (a text box when the range spans
    decades), anything with choices -> drop-down, tuple[int, ...] -> text box
    ("512, 256"), bool -> check box, str -> text box.

Fields marked show=False, and fields of a type no editor fits, stay off the
grid: they take the values the caller derives from the data, else their
defaults. Editors hand out a "state" (the text or value they hold) so a form
can carry what the user typed from one kind's fields to another's.

A field whose metadata has "when" ({other field: values}) applies only while
the other field holds one of those values (a Gaussian σ under a Gaussian
likelihood): its editor is greyed out otherwise, and still read.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from vae_explorer.core.config import ConfigError, parse_hidden_sizes

INT_LIMIT = 2**31 - 1  # what a QSpinBox holds
# A float range this many times wider than its low end is typed, not spun (standard deviations, rates).
WIDE_RANGE_RATIO = 1000.0
INVALID_STYLE = "border: 1px solid #d33;"
COMBO_MIN_CHARACTERS = 12
# Two short fields share a row only if both labels are this short: longer ones would wrap or squeeze.
SHORT_LABEL = "Learning rate"


class FieldError(ValueError):
    """A setting the form cannot use. When one field is at fault the message starts with its
    label and widget is its editor; a combination of fields gives widget None."""

    def __init__(self, message: str, widget: QWidget | None = None):
        super().__init__(message)
        self.widget = widget


def field_meta(field: dataclasses.Field) -> dict[str, Any]:
    """The field's form metadata, with fallbacks for a field declared without form_field."""
    meta = dict(field.metadata)
    return {
        "label": meta.get("label") or field.name.replace("_", " ").capitalize(),
        "help": meta.get("help", ""),
        "choices": tuple(meta.get("choices") or ()),
        "minimum": meta.get("minimum"),
        "maximum": meta.get("maximum"),
        "step": meta.get("step"),
        "show": meta.get("show", True),
        "when": dict(meta.get("when") or {}),
    }


def shrink_to_fit(combo: QComboBox) -> None:
    """Let a drop-down be narrower than its longest choice (which the open list still shows whole)."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(COMBO_MIN_CHARACTERS)


def _number(state: Any) -> float | None:
    if isinstance(state, bool):
        return None
    if isinstance(state, (int, float)):
        return float(state)
    try:
        return float(str(state).strip())
    except ValueError:
        return None


# -- editors: a widget, how to read it, and its carry-over state ------------------------


class _Editor:
    wide = False  # a whole grid row rather than half of one

    def __init__(self, widget: QWidget):
        self.widget = widget

    @property
    def changed(self):
        """The widget's signal for a new value (for fields that apply only at some values of this one)."""
        widget = self.widget
        if isinstance(widget, QComboBox):
            return widget.currentIndexChanged
        if isinstance(widget, QCheckBox):
            return widget.toggled
        if isinstance(widget, QLineEdit):
            return widget.textChanged
        return widget.valueChanged

    def read(self) -> Any:
        return self.state()

    def state(self) -> Any:
        raise NotImplementedError

    def restore(self, state: Any) -> None:
        """Take another field's state where it fits this editor; ignore it otherwise."""


class _IntSpin(_Editor):
    def __init__(self, meta: dict, default: int):
        low = int(meta["minimum"]) if meta["minimum"] is not None else 0
        high = int(meta["maximum"]) if meta["maximum"] is not None else INT_LIMIT
        spin = QSpinBox(minimum=max(low, -INT_LIMIT), maximum=min(high, INT_LIMIT))
        spin.setSingleStep(int(meta["step"] or 1))
        spin.setValue(default)
        super().__init__(spin)

    def state(self) -> int:
        return self.widget.value()

    def restore(self, state: Any) -> None:
        value = _number(state)
        if value is not None and value == int(value):
            self.widget.setValue(int(value))


def _decimals(*values: float | None) -> int:
    # Enough places to show the smallest non-zero number involved (0.005 -> 3), at least 2.
    places = [math.ceil(-math.log10(abs(v)) - 1e-9) for v in values if v]
    return min(max([2, *places]), 8)


class _FloatSpin(_Editor):
    def __init__(self, meta: dict, default: float):
        step = meta["step"] or (meta["maximum"] - meta["minimum"]) / 100
        spin = QDoubleSpinBox(minimum=meta["minimum"], maximum=meta["maximum"], singleStep=step,
                              decimals=_decimals(step, meta["minimum"], default))
        spin.setValue(default)
        super().__init__(spin)

    def state(self) -> float:
        return self.widget.value()

    def restore(self, state: Any) -> None:
        value = _number(state)
        if value is not None:
            self.widget.setValue(value)


class _FloatEdit(_Editor):
    def __init__(self, meta: dict, default: float):
        self.minimum, self.maximum, self.default = meta["minimum"], meta["maximum"], default
        super().__init__(QLineEdit(f"{default:g}"))

    def read(self) -> float:
        value = _number(self.widget.text())
        if value is None or not math.isfinite(value):
            raise ValueError(f"enter a number, for example {self.default:g}")
        low, high = self.minimum, self.maximum
        if low is not None and high is not None and not low <= value <= high:
            raise ValueError(f"enter a number from {low:g} to {high:g}")
        if low is not None and value < low:
            raise ValueError(f"enter a number of at least {low:g}")
        if high is not None and value > high:
            raise ValueError(f"enter a number of at most {high:g}")
        return value

    def state(self) -> str:
        return self.widget.text()

    def restore(self, state: Any) -> None:
        if _number(state) is not None:
            self.widget.setText(state if isinstance(state, str) else f"{state:g}")


class _Choice(_Editor):
    wide = True

    def __init__(self, meta: dict, default: Any):
        combo = QComboBox()
        shrink_to_fit(combo)
        for value, text in meta["choices"]:
            combo.addItem(str(text), value)
        combo.setCurrentIndex(max(combo.findData(default), 0))
        super().__init__(combo)

    def state(self) -> Any:
        return self.widget.currentData()

    def restore(self, state: Any) -> None:
        index = self.widget.findData(state)
        if index >= 0:
            self.widget.setCurrentIndex(index)


class _Check(_Editor):
    def __init__(self, meta: dict, default: bool):
        box = QCheckBox()
        box.setChecked(bool(default))
        super().__init__(box)

    def state(self) -> bool:
        return self.widget.isChecked()

    def restore(self, state: Any) -> None:
        if isinstance(state, bool):
            self.widget.setChecked(state)


class _Text(_Editor):
    wide = True

    def __init__(self, meta: dict, default: str):
        super().__init__(QLineEdit(str(default)))

    def state(self) -> str:
        return self.widget.text()

    def read(self) -> str:
        return self.widget.text().strip()

    def restore(self, state: Any) -> None:
        if isinstance(state, str):
            self.widget.setText(state)


class _Sizes(_Text):
    def __init__(self, meta: dict, default: tuple[int, ...]):
        super().__init__(meta, ", ".join(str(size) for size in default))

    def read(self) -> tuple[int, ...]:
        return parse_hidden_sizes(self.widget.text())


def _editor_for(annotation: Any, meta: dict, default: Any) -> _Editor | None:
    if meta["choices"]:
        return _Choice(meta, default)
    if annotation is bool:
        return _Check(meta, default)
    if annotation is int:
        return _IntSpin(meta, default)
    if annotation is float:
        low, high = meta["minimum"], meta["maximum"]
        if low is None or high is None or (low > 0 and high / low >= WIDE_RANGE_RATIO):
            return _FloatEdit(meta, default)
        return _FloatSpin(meta, default)
    if annotation is str:
        return _Text(meta, default)
    if typing.get_origin(annotation) is tuple and typing.get_args(annotation)[1:] == (Ellipsis,) \
            and typing.get_args(annotation)[0] is int:
        return _Sizes(meta, default)
    return None  # a shape or another structured value: not something to type in


# -- the widget ---------------------------------------------------------------------------


class ConfigFields(QWidget):
    """A grid of editors for one config dataclass; build() makes the config from them."""

    def __init__(self, config_class: type, remembered: dict[str, Any] | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.config_class = config_class
        self._editors: dict[str, _Editor] = {}
        self._labels: dict[str, str] = {}
        self._label_widgets: dict[str, QLabel] = {}
        self._conditions: dict[str, dict[str, tuple]] = {}  # field -> {other field: values it applies at}
        self.hidden: list[str] = []  # fields the caller fills from the data, or left at their default
        hints = typing.get_type_hints(config_class)
        grid = self._grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        short = self.fontMetrics().horizontalAdvance(SHORT_LABEL)
        row, half_free = 0, False  # half_free: the last row holds one short field, on its left
        for field in dataclasses.fields(config_class):
            meta = field_meta(field)
            editor = _editor_for(hints[field.name], meta, field.default) if meta["show"] else None
            if editor is None:
                self.hidden.append(field.name)
                continue
            if remembered and field.name in remembered:
                editor.restore(remembered[field.name])
            self._editors[field.name], self._labels[field.name] = editor, meta["label"]
            if meta["when"]:
                self._conditions[field.name] = {name: tuple(values) for name, values in meta["when"].items()}
            # Two short fields in a row share it, which keeps the form low and the curves tall;
            # the fields keep their order, since a kind lists related settings together.
            pairs = not editor.wide and self.fontMetrics().horizontalAdvance(meta["label"]) <= short
            if half_free and pairs:
                self._place(row - 1, 1, field.name, meta, editor.widget)
                half_free = False
            else:
                self._place(row, 0, field.name, meta, editor.widget, span=3 if editor.wide else 1)
                half_free, row = pairs, row + 1
        for column in (1, 3):
            grid.setColumnStretch(column, 1)
        self._watch_conditions()

    def names(self) -> list[str]:
        """The fields on the grid, in the dataclass's order."""
        return list(self._editors)

    def widget(self, name: str) -> QWidget | None:
        editor = self._editors.get(name)
        return editor.widget if editor is not None else None

    def label(self, name: str) -> str:
        return self._labels[name]

    def label_width(self) -> int:
        """The width the labels in the grid's first column need."""
        widths = [self._grid.itemAtPosition(r, 0).widget().sizeHint().width()
                  for r in range(self._grid.rowCount()) if self._grid.itemAtPosition(r, 0) is not None]
        return max(widths, default=0)

    def set_label_width(self, width: int) -> None:
        """Line the editors up with another grid's (the form's kind and dataset above)."""
        self._grid.setColumnMinimumWidth(0, width)

    def applies(self, name: str) -> bool:
        """Whether field name is used with the values the fields it depends on hold now."""
        for other, values in self._conditions.get(name, {}).items():
            editor = self._editors.get(other)
            if editor is not None and editor.state() not in values:
                return False
        return True

    def states(self) -> dict[str, Any]:
        """What each editor holds now (text or value), to carry over to another kind's fields."""
        return {name: editor.state() for name, editor in self._editors.items()}

    def build(self, from_data: dict[str, Any] | None = None) -> Any:
        """The config the editors describe; hidden fields named in from_data take those values.

        Raises FieldError naming the field the user should fix.
        """
        values = {}
        for name, editor in self._editors.items():
            try:
                values[name] = editor.read()
            except ValueError as exc:
                raise FieldError(f"{self._labels[name]}: {exc}", editor.widget) from exc
        fixed = {name: value for name, value in (from_data or {}).items() if name in self.hidden}
        try:
            return self.config_class(**values, **fixed)
        except (ConfigError, ValueError, TypeError) as exc:
            raise self._blame(values, fixed, exc) from exc

    def _blame(self, values: dict[str, Any], fixed: dict[str, Any], exc: Exception) -> FieldError:
        # The config's own check names no widget: find the one field that fails on its own.
        for name, value in values.items():
            try:
                self.config_class(**{name: value}, **fixed)
            except (ConfigError, ValueError, TypeError):
                return FieldError(f"{self._labels[name]}: {exc}", self._editors[name].widget)
        return FieldError(f"These settings do not go together: {exc}")

    def _watch_conditions(self) -> None:
        controlling = {other for condition in self._conditions.values() for other in condition}
        for other in controlling & set(self._editors):
            self._editors[other].changed.connect(self._show_conditions)
        for name, condition in self._conditions.items():
            needs = "; ".join(f"{self._labels.get(other, other)} is {self._value_texts(other, values)}"
                              for other, values in condition.items())
            for widget in (self._editors[name].widget, self._label_widgets[name]):
                widget.setToolTip(f"{widget.toolTip()}\nUsed only when {needs}.".lstrip())
        self._show_conditions()

    def _value_texts(self, name: str, values: tuple) -> str:
        editor = self._editors.get(name)
        if isinstance(editor, _Choice):
            found = [editor.widget.findData(value) for value in values]
            texts = [editor.widget.itemText(index) for index in found if index >= 0]
        else:
            texts = [str(v) for v in values]
        return " or ".join(texts)

    def _show_conditions(self, *_args) -> None:
        for name in self._conditions:
            on = self.applies(name)
            self._editors[name].widget.setEnabled(on)
            self._label_widgets[name].setEnabled(on)

    def _place(self, row: int, pair: int, name: str, meta: dict, widget: QWidget, span: int = 1) -> None:
        label = QLabel(meta["label"])
        label.setBuddy(widget)
        if meta["help"]:
            widget.setToolTip(meta["help"])
            label.setToolTip(meta["help"])
        self._label_widgets[name] = label
        self._grid.addWidget(label, row, 2 * pair)
        self._grid.addWidget(widget, row, 2 * pair + 1, 1, span)
