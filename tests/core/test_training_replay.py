"""Training replay: frames within a memory budget, rendered and exported with Pillow."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from vae_explorer.core.atomic_write import OutputPathError
from vae_explorer.core.training_replay import EpochReplay, export_gif, export_pngs, render_frame


def _points(epoch: int, n: int = 1000) -> np.ndarray:
    rng = np.random.default_rng(epoch)
    return (rng.normal(size=(n, 2)) * (1 + 0.1 * epoch)).astype(np.float32)


def test_every_epoch_is_kept_within_the_budget():
    replay = EpochReplay(np.arange(1000) % 10)
    for epoch in range(1, 21):
        replay.record(epoch, _points(epoch))
    assert replay.epochs == list(range(1, 21)) and replay.nbytes == 20 * 1000 * 2 * 2
    np.testing.assert_allclose(replay.points(7), _points(7), atol=5e-3)  # float16: far below a pixel
    assert "Keeps 20 epochs of 1,000 points in 0.1 MB" in replay.memory_note


def test_beyond_the_budget_the_middle_is_thinned_and_the_ends_kept():
    frame_bytes = 1000 * 2 * 2
    replay = EpochReplay(np.zeros(1000), budget_bytes=10 * frame_bytes)
    for epoch in range(1, 101):
        replay.record(epoch, _points(epoch))
        assert replay.nbytes <= replay.budget_bytes
    epochs = replay.epochs
    assert epochs[0] == 1 and epochs[-1] == 100 and 5 <= len(epochs) <= 10
    assert replay.dropped == 100 - len(epochs) and "thinned" in replay.memory_note
    gaps = np.diff(epochs[:-1])
    assert gaps.max() <= 2 * gaps.min()  # an even sample of the run, not a pile at one end


def test_a_frame_of_the_wrong_size_is_refused():
    replay = EpochReplay(np.zeros(10))
    with pytest.raises(ValueError, match="needs 10 map points"):
        replay.record(1, np.zeros((9, 2)))


def test_frames_draw_points_in_their_class_colour_with_y_up():
    image = render_frame(np.array([[0.9, 0.9], [-0.9, -0.9]]), np.array([1, 2]), (-1, 1, -1, 1), size=100)
    assert tuple(image[5, 95]) == (255, 140, 30)  # class 1 top right
    assert tuple(image[95, 5]) == (60, 190, 60)  # class 2 bottom left
    with pytest.raises(ValueError, match="16 to"):
        render_frame(np.zeros((1, 2)), np.zeros(1), (-1, 1, -1, 1), size=10**6)


def test_the_gif_has_one_frame_per_kept_epoch_and_the_pngs_are_numbered(tmp_path):
    replay = EpochReplay(np.arange(1000) % 10)
    for epoch in (1, 2, 3, 5):
        replay.record(epoch, _points(epoch))
    gif = export_gif(replay, tmp_path / "run", size=120)
    assert gif.name == "run.gif"
    with Image.open(gif) as animation:
        assert animation.n_frames == 4 and animation.size == (120, 120)
    written = export_pngs(replay, tmp_path / "frames", size=64)
    assert [p.name for p in written] == ["epoch_001.png", "epoch_002.png", "epoch_003.png", "epoch_005.png"]
    assert Image.open(written[-1]).size == (64, 64)


def test_bad_targets_give_clear_errors(tmp_path):
    replay = EpochReplay(np.zeros(10))
    with pytest.raises(ValueError, match="nothing to export yet"):
        export_gif(replay, tmp_path / "x.gif")
    replay.record(1, np.zeros((10, 2)))
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(OutputPathError, match="not a folder"):
        export_pngs(replay, tmp_path / "a-file")
    (tmp_path / "taken.gif").mkdir()
    with pytest.raises(OutputPathError, match="not a regular file"):
        export_gif(replay, tmp_path / "taken.gif")


def test_a_diverged_point_is_left_out_and_the_frames_keep_the_maps_proportions():
    replay = EpochReplay(np.zeros(3))
    replay.record(1, np.array([[0.0, 0.0], [4.0, 1.0], [np.nan, np.inf]]))
    xmin, xmax, ymin, ymax = replay.extent()
    assert np.isfinite([xmin, xmax, ymin, ymax]).all() and xmax - xmin == pytest.approx(ymax - ymin)
    image = render_frame(replay.points(1), replay.labels, (xmin, xmax, ymin, ymax), size=64)
    assert (image != image[0, 0]).any(axis=2).sum() >= 8  # the two finite points are drawn
