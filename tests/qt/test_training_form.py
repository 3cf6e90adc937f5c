"""The training form built from the model kinds' config metadata, driven through its real widgets."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

from vae_explorer.core.config import DATASET_TITLES, DATASETS, ConfigError, TrainConfig, form_field
from vae_explorer.core.models import registry
from vae_explorer.qt.config_fields import ConfigFields, FieldError, field_meta
from vae_explorer.qt.training_form import TrainingForm

KINDS = list(registry.kinds())


@pytest.fixture
def form(qtbot):
    form = TrainingForm()
    qtbot.addWidget(form)
    form.show()
    return form


def shown_fields(config_class) -> list[str]:
    """The fields a form should offer: visible by their metadata, and of a type one types in."""
    hints = typing.get_type_hints(config_class)
    return [f.name for f in dataclasses.fields(config_class)
            if field_meta(f).get("show", True) and hints[f.name] in (int, float, str, bool, tuple[int, ...])]


def need_kind(name: str) -> None:
    if name not in KINDS:
        pytest.skip(f"the {name!r} kind is not registered (yet)")


def test_every_registered_kind_is_offered_with_its_title_and_the_vae_comes_first(form):
    combo = form.kind_combo
    offered = [combo.itemData(i) for i in range(combo.count())]
    assert sorted(offered) == sorted(KINDS)
    for index, kind in enumerate(offered):
        assert combo.itemText(index) == (registry.get_kind(kind).title or kind)
    default = "vae" if "vae" in KINDS else "mlp_vae"
    assert form.kind() == default == offered[0]


@pytest.mark.parametrize("kind", KINDS)
def test_switching_to_a_kind_builds_its_fields_from_the_metadata(form, kind):
    assert form.set_kind(kind)
    config_class = registry.get_kind(kind).Config
    assert form.fields.config_class is config_class
    assert form.fields.names() == shown_fields(config_class)
    for field in dataclasses.fields(config_class):
        widget = form.field_widget(field.name)
        if field.name not in form.fields.names():
            assert widget is None
            continue
        meta = field_meta(field)
        assert widget.isVisibleTo(form)
        assert form.fields.label(field.name) == meta["label"]
        if meta["help"]:
            assert widget.toolTip().startswith(meta["help"])
        if meta["choices"]:
            assert isinstance(widget, QComboBox)
            assert [widget.itemData(i) for i in range(widget.count())] == [v for v, _ in meta["choices"]]
            assert widget.currentData() == field.default


@pytest.mark.parametrize("kind", KINDS)
def test_a_form_built_config_of_every_kind_can_be_built(form, kind):
    form.set_kind(kind)
    config = form.model_config((28, 28))
    assert type(config) is registry.get_kind(kind).Config
    assert registry.planned_shapes(kind, config)
    # The fields that come from the data were filled from it.
    if "image_shape" in form.fields.hidden:
        assert tuple(config.image_shape) == (28, 28)
    if "num_classes" in form.fields.hidden:
        assert config.num_classes == 10


def test_same_named_fields_keep_their_values_across_kind_switches(form):
    with_latent = [k for k in KINDS if "latent_dim" in shown_fields(registry.get_kind(k).Config)]
    if len(with_latent) < 2:
        pytest.skip("fewer than two kinds with a latent size")
    first, second = with_latent[:2]
    without = [k for k in KINDS if k not in with_latent]
    form.set_kind(first)
    form.field_widget("latent_dim").setValue(7)
    # Through a kind without the field and back: the value is remembered, not just carried once.
    for kind in [*without[:1], second]:
        form.set_kind(kind)
    assert form.field_widget("latent_dim").value() == 7
    assert form.model_config((28, 28)).latent_dim == 7


def test_a_bad_value_names_the_field_and_its_editor(form):
    form.set_kind("vae" if "vae" in KINDS else KINDS[0])
    text_fields = [name for name in form.fields.names() if isinstance(form.field_widget(name), QLineEdit)]
    assert text_fields
    for name in text_fields:
        widget = form.field_widget(name)
        before = widget.text()
        widget.setText("abc")
        with pytest.raises(FieldError) as caught:
            form.model_config((28, 28))
        assert str(caught.value).startswith(form.fields.label(name) + ": ")
        assert caught.value.widget is widget
        form.mark_invalid(caught.value)
        assert "d33" in widget.styleSheet()
        form.clear_marks()
        assert widget.styleSheet() == ""
        widget.setText(before)
    form.model_config((28, 28))


def test_the_configs_own_checks_are_blamed_on_the_field_that_fails_them(form):
    need_kind("vae")
    form.set_kind("vae")
    hidden = form.field_widget("hidden_sizes")
    hidden.setText(", ".join(["8"] * 17))  # parses, but more layers than the config allows
    with pytest.raises(FieldError) as caught:
        form.model_config((28, 28))
    assert str(caught.value).startswith("Hidden layers: ") and caught.value.widget is hidden
    hidden.setText("16000, 16000")  # a valid config, far too many weights to build
    with pytest.raises(FieldError, match="^Model size: .*parameters"):
        form.model_config((28, 28))


def test_beta_and_the_kl_warm_up_are_offered_only_for_kinds_with_a_kl_term(form):
    need_kind("vae")
    form.set_kind("vae")
    assert form.beta_spin.isVisibleTo(form) and form.warmup_spin.isVisibleTo(form)
    form.beta_spin.setValue(4.0)
    form.warmup_spin.setValue(5)
    config = form.train_config()
    assert (config.beta, config.kl_warmup_epochs) == (4.0, 5)
    need_kind("autoencoder")
    form.set_kind("autoencoder")
    assert not form.beta_spin.isVisibleTo(form) and not form.warmup_spin.isVisibleTo(form)
    config = form.train_config()  # what the hidden spins hold does not reach the run
    assert (config.beta, config.kl_warmup_epochs) == (TrainConfig.beta, TrainConfig.kl_warmup_epochs)


def test_the_dataset_combo_offers_every_dataset_and_sets_the_run(form, qtbot):
    combo = form.dataset_combo
    assert [combo.itemData(i) for i in range(combo.count())] == list(DATASETS)
    assert [combo.itemText(i) for i in range(combo.count())] == [DATASET_TITLES[d] for d in DATASETS]
    assert form.dataset() == "mnist" and form.train_config().dataset == "mnist"
    with qtbot.waitSignal(form.datasetChanged) as changed:
        combo.setCurrentIndex(combo.findData("kmnist"))
    assert changed.args == ["kmnist"]
    assert form.train_config().dataset == "kmnist"


def test_a_bad_learning_rate_names_its_box(form):
    form.lr_edit.setText("fast")
    with pytest.raises(FieldError, match="^Learning rate") as caught:
        form.train_config()
    assert caught.value.widget is form.lr_edit


# -- the builder on its own, with a config of every field type -------------------------------


@dataclass(frozen=True)
class SampleConfig:
    count: int = form_field(3, "Count", "How many.", minimum=1, maximum=9)
    rate: float = form_field(0.5, "Rate", "A fraction.", minimum=0.0, maximum=1.0, step=0.05)
    scale: float = form_field(0.1, "Scale", "Spans decades.", minimum=0.001, maximum=10.0)
    mode: str = form_field("b", "Mode", "Pick one.", choices=(("a", "Option A"), ("b", "Option B")))
    widths: tuple[int, ...] = form_field((4, 2), "Widths", "Comma-separated.")
    flag: bool = form_field(False, "Flag", "On or off.")
    shape: tuple[int, int] = form_field((28, 28), "Shape", "From the data.", show=False)
    plain: int = 5  # no metadata: labelled from its name

    def __post_init__(self) -> None:
        if self.count * len(self.widths) > 12:
            raise ConfigError("count times the number of widths must be at most 12")


def test_the_builder_makes_one_editor_per_type_and_reads_them_back(qtbot):
    fields = ConfigFields(SampleConfig)
    qtbot.addWidget(fields)
    fields.show()
    kinds = {name: type(fields.widget(name)) for name in fields.names()}
    assert kinds == {"count": QSpinBox, "rate": QDoubleSpinBox, "scale": QLineEdit, "mode": QComboBox,
                     "widths": QLineEdit, "flag": QCheckBox, "plain": QSpinBox}
    assert fields.hidden == ["shape"] and fields.label("plain") == "Plain"
    spin = fields.widget("count")
    assert (spin.minimum(), spin.maximum(), spin.value()) == (1, 9, 3)
    assert fields.build({"shape": (5, 6)}) == SampleConfig(shape=(5, 6))

    spin.setValue(4)
    fields.widget("rate").setValue(0.25)
    fields.widget("scale").setText("2e-3")
    fields.widget("mode").setCurrentIndex(0)
    fields.widget("widths").setText("8 3 1")
    box = fields.widget("flag")
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(6, box.height() // 2))  # on the tick box
    assert fields.build() == SampleConfig(count=4, rate=0.25, scale=0.002, mode="a", widths=(8, 3, 1), flag=True)


@pytest.mark.parametrize("text, message", [("0", "Scale: enter a number from 0.001 to 10"),
                                           ("x", "Scale: enter a number, for example 0.1")])
def test_the_builder_names_a_bad_typed_number(qtbot, text, message):
    fields = ConfigFields(SampleConfig)
    qtbot.addWidget(fields)
    fields.widget("scale").setText(text)
    with pytest.raises(FieldError, match=f"^{message}"):
        fields.build()


def test_a_combination_no_single_field_breaks_is_reported_as_such(qtbot):
    fields = ConfigFields(SampleConfig)
    qtbot.addWidget(fields)
    fields.widget("count").setValue(5)
    fields.widget("widths").setText("1, 1, 1")  # each fine alone; together 15 > 12
    with pytest.raises(FieldError, match="do not go together: count times") as caught:
        fields.build()
    assert caught.value.widget is None


def test_states_carry_over_only_where_they_fit(qtbot):
    first = ConfigFields(SampleConfig)
    qtbot.addWidget(first)
    first.widget("count").setValue(8)
    first.widget("widths").setText("7, 7")
    states = {**first.states(), "mode": "no such choice", "rate": "not a number"}
    second = ConfigFields(SampleConfig, states)
    qtbot.addWidget(second)
    assert second.widget("count").value() == 8
    assert second.widget("widths").text() == "7, 7"
    assert second.widget("mode").currentData() == "b"  # unknown choice: the default stays
    assert second.widget("rate").value() == 0.5


@dataclass(frozen=True)
class NoiseConfig:
    noise: str = dataclasses.field(default="none", metadata={
        "label": "Noise", "help": "Which noise", "choices": (("none", "No noise"), ("gauss", "Gaussian"),
                                                            ("salt", "Salt and pepper"))})
    level: float = dataclasses.field(default=0.1, metadata={
        "label": "Level", "help": "How much noise", "minimum": 0.0, "maximum": 1.0,
        "when": {"noise": ("gauss", "salt")}})
    a_much_longer_setting: int = dataclasses.field(default=3, metadata={
        "label": "A much longer setting", "help": "Long", "minimum": 1, "maximum": 9})
    size: int = dataclasses.field(default=2, metadata={"label": "Size", "help": "A size", "minimum": 1,
                                                       "maximum": 9})
    count: int = dataclasses.field(default=2, metadata={"label": "Count", "help": "A count", "minimum": 1,
                                                        "maximum": 9})


def grid_cell(fields: ConfigFields, name: str) -> tuple[int, int, int, int]:
    """(row, column, rows, columns) of a field's editor in the builder's grid."""
    grid = fields.layout()
    return grid.getItemPosition(grid.indexOf(fields.widget(name)))


def test_a_field_that_applies_only_with_some_choices_is_greyed_out_with_the_others(qtbot):
    fields = ConfigFields(NoiseConfig)
    qtbot.addWidget(fields)
    fields.show()
    level, noise = fields.widget("level"), fields.widget("noise")
    assert not fields.applies("level") and not level.isEnabled()
    assert "Used only when Noise is Gaussian or Salt and pepper." in level.toolTip()
    noise.setCurrentIndex(noise.findData("salt"))
    assert fields.applies("level") and level.isEnabled()
    noise.setCurrentIndex(noise.findData("none"))
    assert not level.isEnabled()
    assert fields.build().level == 0.1  # still read: the config keeps its value


def test_short_labels_share_a_row_and_long_ones_get_their_own(qtbot):
    fields = ConfigFields(NoiseConfig)
    qtbot.addWidget(fields)
    fields.show()
    assert grid_cell(fields, "level")[:2] == (1, 1)
    assert grid_cell(fields, "a_much_longer_setting")[:2] == (2, 1)  # alone: beside Level it would wrap
    assert grid_cell(fields, "size")[:2] == (3, 1) and grid_cell(fields, "count")[:2] == (3, 3)
    label = fields.layout().itemAtPosition(2, 0).widget()
    assert label.text() == "A much longer setting" and not label.wordWrap()
    assert label.width() >= label.sizeHint().width()  # shown whole


@pytest.mark.parametrize("kind", KINDS)
def test_the_kind_and_dataset_line_up_with_the_kinds_fields(form, kind):
    form.set_kind(kind)
    form.resize(380, form.sizeHint().height())
    form.layout().activate()
    lefts = {form.kind_combo.mapTo(form, QPoint(0, 0)).x(), form.dataset_combo.mapTo(form, QPoint(0, 0)).x()}
    for name in form.fields.names():
        grid = form.fields.layout()
        if grid.getItemPosition(grid.indexOf(form.field_widget(name)))[1] == 1:
            lefts.add(form.field_widget(name).mapTo(form, QPoint(0, 0)).x())
    assert len(lefts) == 1


def test_a_narrow_dock_gets_one_run_setting_a_row_instead_of_a_sideways_scroll(form, qtbot):
    form.resize(600, 500)
    qtbot.waitUntil(lambda: form.run_columns == 2)
    assert form.minimumWidth() < form.run_box.minimumSizeHint().width()  # the form may get narrower
    epochs_row = form.epochs_spin.mapTo(form, QPoint(0, 0)).y()
    assert abs(form.batch_spin.mapTo(form, QPoint(0, 0)).y() - epochs_row) < 5  # side by side
    form.resize(form.minimumWidth(), 700)
    qtbot.waitUntil(lambda: form.run_columns == 1)
    form.layout().activate()
    form.run_box.layout().activate()
    assert form.batch_spin.mapTo(form, QPoint(0, 0)).y() > epochs_row + 10  # under it now
    for name in TrainingForm.FIELDS:
        widget = getattr(form, name)
        if widget.isVisibleTo(form) and widget is not form.lr_edit:
            assert widget.width() >= widget.minimumSizeHint().width(), name
    form.resize(600, 500)
    qtbot.waitUntil(lambda: form.run_columns == 2)


def test_the_form_and_the_train_command_start_from_the_same_defaults(qtbot):
    """Start in the app and `vae-explorer train` with no options train with the same settings."""
    from vae_explorer.cli import build_parser

    form = TrainingForm()
    qtbot.addWidget(form)
    from_form = form.train_config()
    args = build_parser().parse_args(["train"])
    from_cli = {"epochs": args.epochs, "batch_size": args.batch_size, "learning_rate": args.lr,
                "lr_schedule": args.lr_schedule, "beta": args.beta, "kl_warmup_epochs": args.kl_warmup,
                "seed": args.seed, "dataset": args.dataset}
    defaults = TrainConfig()
    for name, value in from_cli.items():
        assert getattr(from_form, name) == value == getattr(defaults, name), name
    assert {f.name for f in dataclasses.fields(TrainConfig)} - set(from_cli) == {"device", "num_threads", "eval_batch_size"}
