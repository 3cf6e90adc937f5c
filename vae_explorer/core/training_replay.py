"""Training replay: the map's points after every epoch of a run, kept within a memory budget.

The recorder keeps what the map drew (the 2-D map points, as float16: a
hundredth of a unit is far below a pixel), one frame per epoch. When a new
frame would pass the budget, the stride between kept epochs doubles (every
epoch, then every second, fourth, ...; the first and the latest always stay),
so a long run keeps an even sample of its epochs. 64 MB holds about 1,670 epochs of the 10,000 test
points, or 240 of all 70,000 images.

Frames render to RGB arrays in numpy (one fixed extent for the whole run, so
the animation does not jump) and export as an animated GIF or numbered PNGs
with Pillow, written atomically.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from vae_explorer.core.atomic_write import OutputPathError, write_atomically

DEFAULT_BUDGET = 64 * 2**20
# The map's class colours (qt.latent_view keeps the same ten), for frames drawn without Qt.
CLASS_COLOURS = np.array([
    (66, 146, 218), (255, 140, 30), (60, 190, 60), (230, 60, 60), (170, 120, 220),
    (180, 110, 90), (240, 120, 200), (160, 160, 160), (205, 205, 40), (30, 205, 220),
], np.uint8)
BACKGROUND = (24, 25, 29)
MAX_FRAME_SIDE = 2000


class EpochReplay:
    def __init__(self, labels: np.ndarray, budget_bytes: int = DEFAULT_BUDGET):
        self.labels = np.asarray(labels, np.int64).reshape(-1).copy()
        self.budget_bytes = int(budget_bytes)
        self._frames: dict[int, np.ndarray] = {}  # epoch -> (N, 2) float16
        self.stride = 1  # epochs kept: the first, every stride-th after it, and the latest
        self.dropped = 0

    @property
    def epochs(self) -> list[int]:
        return sorted(self._frames)

    @property
    def nbytes(self) -> int:
        return sum(frame.nbytes for frame in self._frames.values())

    def record(self, epoch: int, points: np.ndarray) -> None:
        """Keep the map points (N, 2) of `epoch`; thin the middle frames if the budget needs it."""
        points = np.asarray(points, np.float32)
        if points.shape != (len(self.labels), 2):
            raise ValueError(f"a replay frame needs {len(self.labels):,} map points (N, 2), got {points.shape}")
        # float16 tops out at 65,504; a diverged (infinite) point is kept as NaN, drawn nowhere.
        frame = np.where(np.isfinite(points), np.clip(points, -6e4, 6e4), np.nan).astype(np.float16)
        if frame.nbytes > self.budget_bytes:
            raise ValueError(f"one frame ({frame.nbytes:,} bytes) is larger than the replay's budget")
        self._frames[int(epoch)] = frame
        self._prune()
        while self.nbytes > self.budget_bytes and len(self._frames) > 2:
            self.stride *= 2
            self._prune()

    def _prune(self) -> None:
        epochs = self.epochs
        first = epochs[0]
        for epoch in epochs[1:-1]:
            if (epoch - first) % self.stride:
                del self._frames[epoch]
                self.dropped += 1

    def points(self, epoch: int) -> np.ndarray:
        return self._frames[int(epoch)].astype(np.float32)

    def clear(self) -> None:
        self._frames.clear()
        self.stride, self.dropped = 1, 0

    @property
    def memory_note(self) -> str:
        kept = len(self._frames)
        thinned = (f"; one epoch in {self.stride} kept ({self.dropped} thinned out) to stay within it"
                   if self.dropped else "")
        return (f"Keeps {kept} epoch{'s' if kept != 1 else ''} of {len(self.labels):,} points in "
                f"{self.nbytes / 2**20:.1f} MB (budget {self.budget_bytes / 2**20:.0f} MB){thinned}")

    def extent(self, margin: float = 0.05) -> tuple[float, float, float, float]:
        """One box around the 0.5-99.5 percentiles of every kept frame, for all of them."""
        if not self._frames:
            raise ValueError("the replay has no frames yet")
        finite = [np.where(np.isfinite(f), f, np.nan).astype(np.float32) for f in self._frames.values()]
        with np.errstate(all="ignore"):  # a frame of nothing but NaN adds nothing
            low = np.nanmin([np.nanpercentile(f, 0.5, axis=0) for f in finite], axis=0)
            high = np.nanmax([np.nanpercentile(f, 99.5, axis=0) for f in finite], axis=0)
        if not (np.isfinite(low).all() and np.isfinite(high).all()):
            low, high = np.array([-1.0, -1.0]), np.array([1.0, 1.0])
        # A square box, as the map keeps its aspect: x and y in the same units.
        centre, half = (low + high) / 2, float(max(high - low)) / 2 * (1 + 2 * margin)
        return float(centre[0] - half), float(centre[0] + half), float(centre[1] - half), float(centre[1] + half)


def render_frame(points: np.ndarray, labels: np.ndarray, extent, size: int = 480, caption: str = "") -> np.ndarray:
    """The map points drawn as 2 x 2 pixel dots of their class colour: (size, size, 3) uint8."""
    if not 16 <= size <= MAX_FRAME_SIDE:
        raise ValueError(f"a frame is 16 to {MAX_FRAME_SIDE} pixels wide, not {size}")
    xmin, xmax, ymin, ymax = (float(v) for v in extent)
    if not (xmax > xmin and ymax > ymin):  # every point in one place: a unit box around it
        xmin, xmax, ymin, ymax = xmin - 1, xmax + 1, ymin - 1, ymax + 1
    image = np.empty((size, size, 3), np.uint8)
    image[:] = BACKGROUND
    points = np.asarray(points, np.float32)
    keep = np.isfinite(points).all(axis=1)  # a diverged point is left out, not drawn at the edge
    points, labels = points[keep], np.asarray(labels)[keep]
    col = np.floor((points[:, 0] - xmin) / (xmax - xmin) * (size - 1)).astype(np.int64)
    row = np.floor((ymax - points[:, 1]) / (ymax - ymin) * (size - 1)).astype(np.int64)  # y up
    colours = CLASS_COLOURS[np.asarray(labels, np.int64) % len(CLASS_COLOURS)]
    for dr in (0, 1):
        for dc in (0, 1):
            r, c = row + dr, col + dc
            inside = (r >= 0) & (r < size) & (c >= 0) & (c < size)
            image[r[inside], c[inside]] = colours[inside]
    if caption:
        from PIL import Image, ImageDraw, ImageFont

        picture = Image.fromarray(image)
        try:
            font = ImageFont.load_default(size=max(12, size // 26))  # Pillow 10.1+: a scalable font
        except TypeError:
            font = ImageFont.load_default()
        ImageDraw.Draw(picture).text((8, 6), caption, fill=(230, 230, 235), font=font)
        image = np.asarray(picture)
    return image


def frames(replay: EpochReplay, size: int = 480, total_epochs: int | None = None) -> list[np.ndarray]:
    extent = replay.extent()
    of = f" / {total_epochs}" if total_epochs else ""
    return [render_frame(replay.points(e), replay.labels, extent, size, f"epoch {e}{of}") for e in replay.epochs]


def _target(path: str | Path, suffix: str) -> Path:
    path = Path(path)
    if path.suffix.lower() != suffix:
        path = path.with_name(path.name + suffix)
    if path.parent.exists() and not path.parent.is_dir():
        raise OutputPathError(f"{path.parent} is not a folder")
    return path


def export_gif(replay: EpochReplay, path: str | Path, size: int = 480, frame_ms: int = 250,
               total_epochs: int | None = None) -> Path:
    """An animated GIF of the kept epochs (looping, the last frame held a little longer)."""
    from PIL import Image

    if not replay.epochs:
        raise ValueError("nothing to export yet: train a model, and each epoch's map is kept")
    target = _target(path, ".gif")
    pictures = [Image.fromarray(f) for f in frames(replay, size, total_epochs)]
    durations = [frame_ms] * (len(pictures) - 1) + [frame_ms * 4]
    buffer = io.BytesIO()
    pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:], duration=durations, loop=0)
    write_atomically(target, buffer.getvalue())
    return target


def export_pngs(replay: EpochReplay, folder: str | Path, size: int = 480,
                total_epochs: int | None = None) -> list[Path]:
    """epoch_001.png, epoch_002.png, ... in folder (created if missing)."""
    from PIL import Image

    if not replay.epochs:
        raise ValueError("nothing to export yet: train a model, and each epoch's map is kept")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputPathError(f"{folder} is not a folder")
    written = []
    width = max(3, len(str(max(replay.epochs))))
    for epoch, frame in zip(replay.epochs, frames(replay, size, total_epochs)):
        buffer = io.BytesIO()
        Image.fromarray(frame).save(buffer, format="PNG")
        target = folder / f"epoch_{epoch:0{width}d}.png"
        write_atomically(target, buffer.getvalue())
        written.append(target)
    return written
