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
import typing
from typing import Any

from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from vae_explorer.core.config import ConfigError
from vae_explorer.qt.field_editors import INVALID_STYLE, Choice, Editor, editor_for, field_meta, shrink_to_fit

__all__ = ["INVALID_STYLE", "ConfigFields", "FieldError", "field_meta", "shrink_to_fit"]
# Two short fields share a row only if both labels are this short: longer ones would wrap or squeeze.
SHORT_LABEL = "Learning rate"


class FieldError(ValueError):
    """A setting the form cannot use. When one field is at fault the message starts with its
    label and widget is its editor; a combination of fields gives widget None."""

    def __init__(self, message: str, widget: QWidget | None = None):
        super().__init__(message)
        self.widget = widget


# -- the widget ---------------------------------------------------------------------------


class ConfigFields(QWidget):
    """A grid of editors for one config dataclass; build() makes the config from them."""

    def __init__(self, config_class: type, remembered: dict[str, Any] | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.config_class = config_class
        self._editors: dict[str, Editor] = {}
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
            editor = editor_for(hints[field.name], meta, field.default) if meta["show"] else None
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
        if isinstance(editor, Choice):
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
