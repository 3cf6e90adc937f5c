"""The KL-per-dimension bar chart: sorted bars, active dimensions coloured and counted."""

from __future__ import annotations

import numpy as np
import pytest

from vae_explorer.core.latent import kl_per_dimension
from vae_explorer.qt.kl_bars import ACTIVE_COLOUR, ACTIVE_NATS, INACTIVE_COLOUR, MAX_TICK_LABELS, KLBars


@pytest.fixture
def bars(qtbot):
    widget = KLBars()
    qtbot.addWidget(widget)
    widget.resize(400, 240)
    widget.show()
    return widget


def drawn(bars: KLBars) -> tuple[np.ndarray, list[str]]:
    """The bar heights in drawing order and their fill colours, as the bar item holds them."""
    opts = bars.bars.opts
    return np.asarray(opts["height"]), [brush.color().name() for brush in opts["brushes"]]


def test_bars_are_sorted_coloured_and_counted(bars):
    values = np.array([0.002, 1.5, 0.0, 0.3, ACTIVE_NATS, 0.02])
    bars.set_kl(values)
    heights, colours = drawn(bars)
    np.testing.assert_allclose(heights, [1.5, 0.3, 0.02, ACTIVE_NATS, 0.002, 0.0])
    # Exactly at the threshold is not active: "more than 0.01 nats".
    assert colours == [ACTIVE_COLOUR] * 3 + [INACTIVE_COLOUR] * 3
    # Inactive bars are too low to see: outlines mark their places.
    assert np.asarray(bars.stubs.opts["x"]).tolist() == [3, 4, 5]
    assert bars.active_count() == 3
    assert "3 of 6 active" in bars.heading.text() and "sorted" in bars.heading.text()
    np.testing.assert_array_equal(bars.values(), values)  # in the model's own order
    # Each bar is labelled with its dimension, counting from 1.
    ticks = bars.plot.getAxis("bottom")._tickLevels[0]
    assert [label for _, label in ticks] == ["2", "4", "6", "5", "1", "3"]


def test_many_dimensions_drop_the_numbers_under_the_bars(bars):
    bars.set_kl(np.linspace(0, 1, MAX_TICK_LABELS + 1))
    assert bars.plot.getAxis("bottom")._tickLevels[0] == []
    assert f"{MAX_TICK_LABELS} of {MAX_TICK_LABELS + 1} active" in bars.heading.text()


def test_posterior_codes_give_the_mean_kl_per_dimension(bars):
    rng = np.random.default_rng(1)
    mean = rng.normal(size=(40, 3)) * np.array([2.0, 0.0, 0.0])  # only the first dimension moves
    logvar = np.zeros((40, 3))
    logvar[:, 1] = np.log(0.25)  # the second is narrower than the prior: active, though constant
    bars.set_posterior(mean, logvar)
    np.testing.assert_allclose(bars.values(), kl_per_dimension(mean, logvar))
    assert bars.values()[2] == 0.0 and bars.active_count() == 2


def test_clear_forgets_the_bars(bars):
    bars.set_kl(np.array([1.0, 2.0]))
    bars.clear("nothing yet")
    assert bars.active_count() == 0 and bars.values().size == 0
    assert bars.heading.text() == "nothing yet"
    assert len(bars.bars.opts["height"]) == 0 and len(bars.stubs.opts["height"]) == 0


def test_codes_without_a_posterior_hide_the_bars_and_drop_the_last_models_values(bars, qtbot):
    bars.set_kl(np.array([1.0, 2.0]))
    with qtbot.waitSignal(bars.changed, timeout=100):
        bars.show_codes(np.zeros((5, 2)), None)
    assert bars.values().size == 0 and bars.isHidden()
    with qtbot.waitSignal(bars.changed, timeout=100):
        bars.show_codes(np.zeros((5, 2)), np.zeros((5, 2)))
    assert bars.values().tolist() == [0.0, 0.0] and not bars.isHidden()
