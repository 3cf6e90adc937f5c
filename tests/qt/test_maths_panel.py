"""The maths panel follows a digit through a real model, redraws ε, and points at what the mouse is on."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QEnterEvent
from PySide6.QtWidgets import QApplication

from tests.conftest import REPO_ROOT
from vae_explorer.core.checkpoint import load_checkpoint
from vae_explorer.core.models.base import WithClass
from vae_explorer.core.session import frozen_copy
from vae_explorer.core.walkthrough import num
from vae_explorer.qt.maths_panel import NO_MODEL_TEXT, WAITING_TEXT, MathsPanel


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # timings and results as on one thread


def shipped_model(name: str):
    return frozen_copy(load_checkpoint(REPO_ROOT / "checkpoints" / f"{name}.safetensors").model)


@pytest.fixture
def panel(qtbot):
    widget = MathsPanel()
    qtbot.addWidget(widget)
    widget.resize(450, 850)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def vae(shipped_checkpoint):
    return frozen_copy(shipped_checkpoint.model)


def digit(data, index: int) -> tuple[np.ndarray, int]:
    return data.images[index].reshape(28, 28).numpy(), int(data.labels[index])


def row(panel: MathsPanel, key: str):
    return next(r for r in panel.rows if r.key == key)


def text(label) -> str:
    return label.text().replace("(", "").replace(")", "")


def test_the_panel_shows_the_model_s_own_numbers(panel, vae, bundled_test_set, qtbot):
    image, label = digit(bundled_test_set, 0)
    panel.set_model(vae, beta=1.0)
    with qtbot.waitSignal(panel.zChanged) as z_signal:
        panel.show_digit(image, label, "Test digit #0")
    walk = panel.walkthrough
    expected = vae.walkthrough(image, eps=walk.eps)  # the same ε through the model, outside the panel
    assert walk.total == expected.total and np.array_equal(z_signal.args[0], expected.z)
    assert np.array_equal(panel.heat_map.array, expected.pixel_nats.astype(np.float64))
    assert np.array_equal(panel.decoded_canvas.array, expected.decoded.astype(np.float32))
    assert f"<b>{num(expected.total, 2)}</b>" in row(panel, "total").worked.text()
    assert num(expected.term("kl").value, 2) in row(panel, "kl").title.text()
    assert num(expected.mean[0]) in text(row(panel, "posterior").worked)
    assert num(expected.z[1]) in text(row(panel, "z").worked)
    assert "Test digit #0" in panel.heading.text() and "β = 1" in panel.model_line.text()
    assert not panel.message.isVisible()


def test_drawing_eps_again_moves_z_and_leaves_mu_sigma_and_kl(panel, vae, bundled_test_set, qtbot):
    panel.set_model(vae, beta=1.0)
    panel.show_digit(*digit(bundled_test_set, 1), "one")
    before = panel.walkthrough
    kl_text, posterior_text, z_text = (row(panel, k).worked.text() for k in ("kl", "posterior", "z"))
    assert panel.draw_button.isVisible()
    with qtbot.waitSignal(panel.zChanged) as z_signal:
        qtbot.mouseClick(panel.draw_button, Qt.MouseButton.LeftButton)
    after = panel.walkthrough
    assert not np.array_equal(after.eps, before.eps) and not np.array_equal(after.z, before.z)
    assert np.array_equal(z_signal.args[0], after.z)
    assert np.array_equal(after.mean, before.mean) and np.array_equal(after.logvar, before.logvar)
    assert row(panel, "kl").worked.text() == kl_text and row(panel, "posterior").worked.text() == posterior_text
    assert row(panel, "z").worked.text() != z_text
    # the keyboard does the same
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow)
    with qtbot.waitSignal(panel.zChanged):
        qtbot.keyClick(panel, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert not np.array_equal(panel.walkthrough.eps, after.eps)


def test_a_new_digit_keeps_eps_and_the_rows(panel, vae, bundled_test_set):
    panel.set_model(vae, beta=1.0)
    panel.show_digit(*digit(bundled_test_set, 0), "first")
    rows, eps = list(panel.rows), panel.walkthrough.eps
    panel.show_digit(*digit(bundled_test_set, 2), "second")
    assert panel.rows == rows  # updated in place: nothing rebuilt while the mouse draws
    assert np.array_equal(panel.walkthrough.eps, eps)
    assert not np.array_equal(panel.walkthrough.mean, vae.walkthrough(digit(bundled_test_set, 0)[0]).mean)


_hovered: list = []


def hover(qtbot, widget) -> None:
    """The mouse leaves the last hovered row and enters widget: the enter and leave events Qt sends.

    Sent to the widgets themselves: moving the shared cursor would depend on which window an
    earlier test left on top of the offscreen screen."""
    if _hovered and _hovered[-1] is not widget:
        QApplication.sendEvent(_hovered[-1], QEvent(QEvent.Type.Leave))
    centre = QPointF(widget.rect().center())
    QApplication.sendEvent(widget, QEnterEvent(centre, centre, QPointF(widget.mapToGlobal(centre.toPoint()))))
    _hovered[:] = [widget]
    qtbot.wait(1)


def test_hovering_a_formula_lights_its_picture_and_names_it(panel, vae, bundled_test_set, qtbot):
    panel.set_model(vae, beta=1.0)
    panel.show_digit(*digit(bundled_test_set, 0), "zero")
    seen = []
    panel.highlight.connect(seen.append)
    reconstruction = row(panel, "reconstruction")
    panel.scroll.ensureWidgetVisible(reconstruction)
    with qtbot.waitSignal(panel.highlight, check_params_cb=lambda key: key == "reconstruction"):
        hover(qtbot, reconstruction)
    assert panel.heat_map.lit and reconstruction.property("lit")
    kl = row(panel, "kl")
    panel.scroll.ensureWidgetVisible(kl)
    with qtbot.waitSignal(panel.highlight, check_params_cb=lambda key: key == "kl"):
        hover(qtbot, kl)
    assert not panel.heat_map.lit and kl.property("lit") and not reconstruction.property("lit")
    z_row = row(panel, "z")
    panel.scroll.ensureWidgetVisible(z_row)
    with qtbot.waitSignal(panel.highlight, check_params_cb=lambda key: key == "z"):
        hover(qtbot, z_row)
    with qtbot.waitSignal(panel.highlight, check_params_cb=lambda key: key == ""):
        QApplication.sendEvent(z_row, QEvent(QEvent.Type.Leave))
    assert not any(r.property("lit") for r in panel.rows)
    assert {"reconstruction", "kl", "z", ""} <= set(seen)


def test_the_autoencoder_shows_its_own_terms_and_no_noise(panel, bundled_test_set):
    model = shipped_model("mnist-ae-2d")
    panel.set_model(model, beta=1.0)
    panel.show_digit(*digit(bundled_test_set, 0), "zero")
    walk = panel.walkthrough
    assert [t.key for t in walk.terms] == ["reconstruction"] and walk.eps is None
    assert not panel.draw_button.isVisible()
    assert "does not apply" in panel.model_line.text()
    panel.draw_again()  # nothing to draw: the pass stays as it was
    assert panel.walkthrough is walk


@pytest.mark.parametrize("name", ["mnist-vqvae", "mnist-vaegan-2d", "mnist-20d"])
def test_other_kinds_fill_their_rows(panel, bundled_test_set, name):
    model = shipped_model(name)
    panel.set_model(model, beta=1.0)
    panel.show_digit(*digit(bundled_test_set, 3), "three")
    walk = panel.walkthrough
    assert [r.key for r in panel.rows] == [s.key for s in walk.steps] + [t.key for t in walk.terms] + ["total"]
    for term in walk.terms:
        assert num(term.value, 2) in row(panel, term.key).title.text()


def test_a_conditional_model_needs_a_class_unless_it_comes_with_one(panel, bundled_test_set):
    model = shipped_model("mnist-cvae-2d")
    image, label = digit(bundled_test_set, 0)
    panel.set_model(model, beta=1.0)
    panel.show_digit(image, None, "drawn")
    assert panel.walkthrough is None and "class" in panel.message.text()
    panel.show_digit(image, label, "test digit")
    assert f"y = {label}" in row(panel, "posterior").worked.text()
    panel.set_model(WithClass(model, 2), beta=1.0)
    panel.show_digit(image, None, "drawn, as a 2")
    assert "y = 2" in row(panel, "posterior").worked.text()


def test_no_model_no_digit_and_bad_input_say_so(panel, vae, bundled_test_set, qtbot):
    assert panel.message.text() == NO_MODEL_TEXT
    panel.set_model(vae, beta=1.0)
    assert panel.message.text() == WAITING_TEXT
    panel.show_digit(*digit(bundled_test_set, 0), "zero")
    with qtbot.waitSignal(panel.zChanged, check_params_cb=lambda z: z is None):
        panel.clear()
    assert panel.walkthrough is None and panel.message.isVisible()
    assert not any(r.isVisible() for r in panel.rows)
    panel.show_digit(np.zeros((10, 10), np.float32), None, "too small")
    assert "one image of 28x28" in panel.message.text()
    panel.set_model(None, 1.0)
    assert panel.message.text() == NO_MODEL_TEXT


def test_beta_changes_the_total_but_not_the_terms(panel, bundled_test_set):
    model = shipped_model("mnist-beta4-2d")
    panel.set_model(model, beta=1.0)
    panel.show_digit(*digit(bundled_test_set, 0), "zero")
    one = panel.walkthrough
    panel.set_model(model, beta=4.0)
    four = panel.walkthrough
    assert four.term("kl").value == one.term("kl").value
    assert four.total == pytest.approx(one.total + 3 * one.term("kl").value, rel=1e-5)
    assert "weighted by β = 4" in row(panel, "kl").title.text()


@pytest.mark.parametrize("name", ["mnist-2d", "mnist-ae-2d"])
def test_it_fits_a_dock_450_pixels_wide(panel, bundled_test_set, tmp_path, name):
    panel.set_model(shipped_model(name), beta=1.0)
    panel.show_digit(*digit(bundled_test_set, 0), "Test digit #0 (a 7)")
    content = panel.scroll.widget()
    assert content.width() <= panel.scroll.viewport().width()
    assert all(r.geometry().right() <= content.width() for r in panel.rows)
    assert content.sizeHint().height() < 1400  # a little scrolling at most
    image = panel.grab()
    assert image.save(str(tmp_path / f"{name}.png")) and image.width() == 450
