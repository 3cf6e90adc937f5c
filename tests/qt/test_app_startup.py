"""Start-up with bad command-line input: the app opens anyway and says what went wrong."""

import re

import pytest

from vae_explorer.core.checkpoint import default_checkpoint_path


def test_a_bad_checkpoint_argument_falls_back_to_the_shipped_model(qtbot, tmp_path, settings):
    from vae_explorer.qt.app import build_main_window

    bad = tmp_path / "broken.safetensors"
    bad.write_text("not a model")
    window, warnings = build_main_window(str(bad), None, "cpu", with_training=False, settings=settings)
    qtbot.addWidget(window)
    assert window.session.checkpoint.path == default_checkpoint_path()
    assert len(warnings) == 1
    assert "Could not open the checkpoint" in warnings[0] and "broken.safetensors" in warnings[0]


def test_a_missing_data_folder_keeps_the_bundled_split_and_says_so(qtbot, tmp_path, settings):
    from vae_explorer.qt.app import build_main_window

    window, warnings = build_main_window(None, str(tmp_path / "nowhere"), "cpu", with_training=False,
                                         settings=settings)
    qtbot.addWidget(window)
    assert len(window.session.data) == 10_000
    assert any("MNIST is not in" in w and "nowhere" in w for w in warnings)


def test_an_unavailable_device_falls_back_to_the_cpu_with_a_warning(qtbot, settings, monkeypatch):
    import torch

    from vae_explorer.qt.app import build_main_window

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    window, warnings = build_main_window(None, None, "cuda", with_training=False, settings=settings)
    qtbot.addWidget(window)
    assert any("Training will run on the CPU" in w for w in warnings)


BAD_CASES = ["NaN weight", "4,000,000-wide hidden layer", "model config nested 100,000 deep", "unknown kind",
             "format version 3", "metrics a list", "offsets overlap", "pickle", "file of 500 MB"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_any_broken_checkpoint_opens_the_shipped_model_with_a_warning(case, qtbot, tmp_path, settings):
    from tests.core.test_checkpoint import BAD_FILES
    from vae_explorer.qt.app import build_main_window

    build, expected = BAD_FILES[case]
    bad = build(tmp_path)
    window, warnings = build_main_window(str(bad), None, "cpu", with_training=False, settings=settings)
    qtbot.addWidget(window)
    assert window.session.checkpoint.path == default_checkpoint_path()
    assert len(warnings) == 1
    assert warnings[0].startswith("Could not open the checkpoint you asked for:\n")
    assert re.search(expected, warnings[0]) and "The shipped 2-D model is open instead." in warnings[0]


def test_a_model_that_fails_to_load_after_the_quick_look_ends_the_app_with_a_message(
        qtbot, monkeypatch, capsys):
    # A damaged installation: the quick look paints, then the full load fails. The app must say
    # so and end, not sit at "loading" for ever.
    from vae_explorer.qt import app as app_module

    def broken(*args, **kwargs):
        raise OSError("the shipped model cannot be read")

    monkeypatch.setenv(app_module.FIRST_PAINT_ENV, "1")
    monkeypatch.setattr(app_module, "load_session", broken)
    assert app_module.run_app() == 2
    err = capsys.readouterr().err
    assert "could not load its model" in err and "cannot be read" in err
