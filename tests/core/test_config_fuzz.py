"""Every model kind's config, and the training config, built from arbitrary JSON (as a checkpoint's
metadata or a --set option delivers it): a config or one ConfigError, never another exception, and
never a model too large to build."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vae_explorer.core import config as cfg
from vae_explorer.core.config import ConfigError, TrainConfig
from vae_explorer.core.models import registry

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
# Values near the real ones, where most of the range checks live.
near_real = st.integers(-3, 5000) | st.floats(-2.0, 2.0) | st.lists(st.integers(-3, 5000), max_size=5) \
    | st.sampled_from(["mlp", "conv", "bernoulli", "gaussian", "learned_gaussian", "per_pixel", "none", ""])


def fields_of(config_class) -> list[str]:
    return [f.name for f in dataclasses.fields(config_class)]


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(sorted(registry.kinds())), data=st.data())
def test_any_json_for_a_kinds_config_builds_a_config_or_one_config_error(kind, data):
    names = fields_of(registry.get_kind(kind).Config)
    chosen = data.draw(st.dictionaries(st.sampled_from(names) | st.text(max_size=6),
                                       near_real | json_values, max_size=len(names)))
    try:
        config = registry.config_from_dict(kind, chosen)
        registry.planned_shapes(kind, config)  # the size check every build makes first
    except ConfigError as exc:
        assert str(exc) and "\n" not in str(exc)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_json_for_the_training_config_builds_it_or_one_config_error(data):
    names = fields_of(TrainConfig)
    chosen = data.draw(st.dictionaries(st.sampled_from(names) | st.text(max_size=6), near_real | json_values,
                                       max_size=len(names)))
    try:
        cfg.from_dict(TrainConfig, chosen)
    except ConfigError as exc:
        assert str(exc) and "\n" not in str(exc)


@pytest.mark.parametrize("text", ["", "[", "null", "1e999", '{"epochs": 1e999}', '{"a": ' * 5000 + "1" + "}" * 5000])
def test_config_text_that_is_not_a_json_object_is_one_config_error(text):
    with pytest.raises(ConfigError):
        cfg.from_json(TrainConfig, text)
