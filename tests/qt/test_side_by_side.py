"""Two models side by side: opening from the File menu, linked hover and click, the figures table."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.qt.map_mouse import click, hover
from vae_explorer.core.resources import shipped_checkpoints_folder

SHIPPED = shipped_checkpoints_folder()


def _action(menu, text):
    matches = [a for a in menu.actions() if a.text() == text]
    assert matches, f"no {text!r} in {[a.text() for a in menu.actions()]}"
    return matches[0]


def _decode(session, z):
    with torch.no_grad():
        return session.model.decode(torch.as_tensor(np.asarray(z, np.float32)).reshape(1, -1)).numpy()[0]


@pytest.fixture
def compared(main_window, qtbot):
    """The shipped VAE with the beta = 4 VAE beside it, opened as a user would: File > Compare with."""
    _action(main_window.files.compare_menu, "β = 1 beside β = 4").trigger()
    side = main_window.side_by_side
    assert side is not None and side.isVisible()
    qtbot.waitUntil(lambda: side.pane.latent_view.width() > 200)
    return main_window, side


def test_beta_1_beside_beta_4_takes_one_menu_action_and_fills_the_table(compared):
    window, side = compared
    assert window.session.checkpoint.path.name == "mnist-2d.safetensors"
    assert side.exploration.session.checkpoint.path.name == "mnist-beta4-2d.safetensors"
    assert window.maps.indexOf(side) == 1  # the second map sits right of the first
    table = {side.table.item(r, 0).text().strip(): (side.table.item(r, 1).text(), side.table.item(r, 2).text())
             for r in range(side.table.rowCount())}
    assert table["beta"] == ("1", "4") and table["test loss (nats)"] == ("137.14", "142.31")
    # Both maps encode the same images, so an index means one image on both.
    assert side.exploration.shown.data is window.shown.data


def test_linked_hover_decodes_the_same_z_in_both_views(compared):
    window, side = compared
    xmin, xmax, ymin, ymax = window.latent_view.visible_rect()
    z = hover(window.latent_view, (xmin + 0.4 * (xmax - xmin), ymin + 0.6 * (ymax - ymin)))
    np.testing.assert_allclose(window.hover_panel.array, _decode(window.shown, z), atol=1e-6)
    np.testing.assert_allclose(side.hover_panel.array, _decode(side.exploration.shown, z), atol=1e-6)
    assert np.abs(side.hover_panel.array - window.hover_panel.array).max() > 0.05  # two models, two images
    x, y = side.pane.latent_view.overlay_items("linked-hover")[0].getData()
    np.testing.assert_allclose([x[0], y[0]], z, atol=1e-5)
    # And the other way round: hovering the compared map decodes there with both models.
    sxmin, sxmax, symin, symax = side.pane.latent_view.visible_rect()
    w = hover(side.pane.latent_view, (sxmin + 0.7 * (sxmax - sxmin), symin + 0.3 * (symax - symin)))
    np.testing.assert_allclose(side.hover_panel.array, _decode(side.exploration.shown, w), atol=1e-6)
    np.testing.assert_allclose(window.hover_panel.array, _decode(window.shown, w), atol=1e-6)


def test_a_click_on_either_map_picks_the_image_on_both(compared):
    window, side = compared
    index = 4321
    click(window.latent_view, window.latent_view.codes[index])
    picked = window.picked_index
    assert picked is not None and side.exploration.picked_index == picked
    mu_b, _ = side.exploration.shown.posterior(picked)
    x, y = side.pane.latent_view.overlay_items("posterior")[-1].getData()  # the centre of its ellipses
    np.testing.assert_allclose([x[0], y[0]], mu_b, atol=1e-4)
    assert side.recon_panel.array is not None
    other = 17
    click(side.pane.latent_view, side.pane.latent_view.codes[other])
    assert window.picked_index == side.exploration.picked_index
    assert window.picked_index != picked


def test_models_of_other_latent_sizes_link_by_image_only(main_window, qtbot):
    assert main_window.compare_with(SHIPPED / "mnist-20d.safetensors")
    side = main_window.side_by_side
    assert not side.same_latent and "link by image" in side.link_note.text()
    main_window.pin(np.array([0.5, 0.5]))
    assert side.exploration.pinned_z is None  # a 2-D z means nothing to a 20-D model
    hover(main_window.latent_view, (0.1, 0.2))
    assert side.hover_panel.array is None
    main_window.pick(12)
    assert side.exploration.picked_index == 12


def test_a_bad_file_or_another_dataset_is_refused_with_a_message(main_window, tmp_path, no_blocking_dialogs,
                                                                  shipped_checkpoint):
    from vae_explorer.core.checkpoint import Checkpoint, save_checkpoint

    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model")
    assert not main_window.compare_with(bad)
    fashion = save_checkpoint(Checkpoint(model=shipped_checkpoint.model, dataset="fashion_mnist"),
                              tmp_path / "fashion.safetensors")
    assert not main_window.compare_with(fashion)
    assert main_window.maps.count() == 1 and main_window.side_by_side.exploration.session is None
    messages = [text for kind, text in no_blocking_dialogs if kind == "critical"]
    assert len(messages) == 2 and "bad.safetensors" in messages[0]
    assert "compare models of one dataset" in messages[1]


def test_closing_the_comparison_leaves_the_explored_model(compared):
    window, side = compared
    side.close_comparison()
    assert window.side_by_side is None and window.maps.count() == 1
    hover(window.latent_view, (0.0, 0.0))  # the window no longer forwards to a closed pane
    assert window.hover_panel.array is not None


def test_the_table_adds_what_the_classifier_says_of_both_models(compared, qtbot):
    from vae_explorer.core.classifier import load_classifier, probe_figures
    from vae_explorer.core.resources import shipped_classifier_path
    from vae_explorer.qt.side_by_side import PROBE_IMAGES, PROBE_SAMPLES

    window, side = compared

    def row(name):
        for r in range(side.table.rowCount()):
            if side.table.item(r, 0).text().strip() == name:
                return side.table.item(r, 1).text(), side.table.item(r, 2).text()
        return None

    qtbot.waitUntil(lambda: "…" not in row("classifier: reconstructions") + row("classifier: prior evenness"),
                    timeout=60000)
    classifier = load_classifier(shipped_classifier_path()).model
    test = window.session.data.subset(PROBE_IMAGES)
    for column, session in enumerate((window.session, side.exploration.session)):
        expected = probe_figures(classifier, session.model, test, PROBE_SAMPLES)
        assert row("classifier: reconstructions")[column] == f"{100 * expected.reconstruction_accuracy:.1f}%"
        assert row("classifier: prior evenness")[column] == f"{expected.evenness:.3f}"
        assert expected.reconstruction_accuracy > 0.3 and 0.5 < expected.evenness <= 1.0
