"""The Qt-free state of one explored model: what it holds and which events it sends."""

from __future__ import annotations

import numpy as np
import pytest

from vae_explorer.core.exploration import Exploration
from vae_explorer.core.session import ExplorerSession


@pytest.fixture
def recorded(shipped_test_session):
    exploration = Exploration()
    events = []
    for name in ("shown", "committed", "pinned", "picked"):
        exploration.observe(name, lambda e, n=name: events.append(n))
    return exploration, events


@pytest.fixture(scope="module")
def shipped_test_session(bundled_test_set):
    from vae_explorer.core.checkpoint import default_checkpoint_path, load_checkpoint

    return ExplorerSession.create(load_checkpoint(default_checkpoint_path()), bundled_test_set)


def test_commit_shows_the_session_before_telling_committed_listeners(recorded, shipped_test_session):
    exploration, events = recorded
    exploration.commit(shipped_test_session, unsaved=True)
    assert events == ["shown", "committed"]
    assert exploration.session is exploration.shown is shipped_test_session and exploration.unsaved
    assert not exploration.previewing


def test_a_preview_is_shown_but_not_committed_and_ends_on_the_committed_model(recorded, shipped_test_session):
    exploration, events = recorded
    exploration.commit(shipped_test_session)
    preview = ExplorerSession(shipped_test_session.checkpoint, shipped_test_session.model, shipped_test_session.data,
                              shipped_test_session.latent_mu * 2, shipped_test_session.latent_logvar)
    events.clear()
    exploration.show(preview)
    assert exploration.shown is preview and exploration.session is shipped_test_session and exploration.previewing
    exploration.end_preview()
    assert exploration.shown is shipped_test_session and events == ["shown", "shown"]


def test_pin_and_pick_are_checked_and_announced(recorded, shipped_test_session):
    exploration, events = recorded
    exploration.commit(shipped_test_session)
    events.clear()
    exploration.pin(np.array([0.5, -1.0]))
    np.testing.assert_array_equal(exploration.pinned_z, np.float32([0.5, -1.0]))
    with pytest.raises(ValueError, match="needs 2 values"):
        exploration.pin(np.zeros(3))
    exploration.pick(7)
    mu, sigma = exploration.picked_posterior()
    expected_mu, expected_sigma = shipped_test_session.posterior(7)
    np.testing.assert_allclose(mu, expected_mu)
    np.testing.assert_allclose(sigma, expected_sigma)
    with pytest.raises(IndexError, match="not in the shown split"):
        exploration.pick(len(shipped_test_session.data))
    exploration.unpin()
    exploration.unpick()
    exploration.unpick()  # nothing picked: no event
    assert events == ["pinned", "picked", "pinned", "picked"]
    assert exploration.pinned_z is None and exploration.picked_posterior() is None


def test_a_smaller_split_drops_a_pick_it_does_not_have(recorded, shipped_test_session):
    exploration, _ = recorded
    exploration.commit(shipped_test_session)
    exploration.pick(9000)
    small = shipped_test_session.data.subset(100)
    exploration.show(ExplorerSession.create(shipped_test_session.checkpoint, small))
    assert exploration.picked_index is None


def test_unknown_events_are_refused():
    with pytest.raises(ValueError, match="unknown exploration event"):
        Exploration().observe("hovered", lambda e: None)


def test_the_picked_digit_comes_with_its_label_and_a_title(recorded, shipped_test_session):
    exploration, _ = recorded
    exploration.commit(shipped_test_session)
    assert exploration.picked_digit() is None
    exploration.pick(0)
    image, label, title = exploration.picked_digit()
    np.testing.assert_array_equal(image, shipped_test_session.image(0))
    assert label == 7 and title == "Digit #0 (7) of the test split"
