"""One editor per config field: the widget, how to read it, and the state it carries between kinds.

config_fields.ConfigFields lays these out; this module decides which widget a
field gets from its type and form_field metadata (see config_fields' docstring).
"""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any

from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox, QWidget

from vae_explorer.core.config import parse_hidden_sizes

INT_LIMIT = 2**31 - 1  # what a QSpinBox holds
# A float range this many times wider than its low end is typed, not spun (standard deviations, rates).
WIDE_RANGE_RATIO = 1000.0
INVALID_STYLE = "border: 1px solid #d33;"
COMBO_MIN_CHARACTERS = 12


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


class Editor:
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


class _IntSpin(Editor):
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


class _FloatSpin(Editor):
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


class _FloatEdit(Editor):
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


class Choice(Editor):
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


class _Check(Editor):
    def __init__(self, meta: dict, default: bool):
        box = QCheckBox()
        box.setChecked(bool(default))
        super().__init__(box)

    def state(self) -> bool:
        return self.widget.isChecked()

    def restore(self, state: Any) -> None:
        if isinstance(state, bool):
            self.widget.setChecked(state)


class _Text(Editor):
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


def editor_for(annotation: Any, meta: dict, default: Any) -> Editor | None:
    if meta["choices"]:
        return Choice(meta, default)
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
