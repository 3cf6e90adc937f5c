"""Fetching an MNIST-family data set with torchvision, leaving no half-written file behind.

torchvision knows the mirrors and checksums, so it does the fetching; data.py
reads the files it leaves. Two things are handled here:

- A failed or interrupted download removes what this attempt wrote. A partial
  .gz left in the raw folder would otherwise be found next time and reported
  as damaged instead of being fetched again.
- torchvision writes progress bars (and, in older versions, each mirror it
  tries) to stdout and stderr. The streams are swapped process-wide for the
  download, as contextlib.redirect_stdout would, but the stand-ins drop only
  what the downloading thread writes and pass every other thread's output on.
"""

from __future__ import annotations

import contextlib
import re
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vae_explorer.core.datasets import DatasetInfo, check_split


class DownloadError(RuntimeError):
    """The download failed; the text is the reason on one line."""


def download(info: DatasetInfo, root: Path, split: str) -> None:
    """Fetch a data set into ROOT/<folder>/raw/ (torchvision fetches all four files)."""
    check_split(split)
    import torchvision.datasets

    folder = Path(root) / info.folder
    raw = folder / "raw"
    made = [path for path in (raw, *raw.parents) if not path.exists()]  # deepest first
    before = _paths_under(folder)
    try:
        with quiet_this_thread():
            getattr(torchvision.datasets, info.torchvision_class)(str(root), train=(split == "train"),
                                                                 download=True)
    except BaseException as exc:  # Ctrl-C mid-file leaves a partial file too
        _remove_new(folder, before, made)
        if not isinstance(exc, Exception):
            raise
        raise DownloadError(_reason(exc)) from exc


def _paths_under(folder: Path) -> set[Path]:
    return set(folder.rglob("*")) if folder.is_dir() else set()


def _remove_new(folder: Path, before: set[Path], made: list[Path]) -> None:
    """Delete the files and folders that appeared during this attempt, and nothing else."""
    new = _paths_under(folder) - before
    for path in new:
        if not path.is_dir() or path.is_symlink():
            with contextlib.suppress(OSError):
                path.unlink()
    folders = sorted((p for p in new if p.is_dir()), key=lambda p: len(p.parts), reverse=True)
    for path in [*folders, *made]:  # deepest first; rmdir refuses any folder still holding something
        with contextlib.suppress(OSError):
            path.rmdir()


def _reason(exc: BaseException) -> str:
    # torchvision's text is a header, then "Tried MIRROR, got:" and the error for each mirror:
    # keep the header and the distinct errors, on one line.
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    lines = list(dict.fromkeys(line for line in lines if not re.fullmatch(r"Tried \S+, got:", line)))
    text = f"{lines[0].rstrip(':')}: {'; '.join(lines[1:])}" if len(lines) > 1 else "".join(lines)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _MutedForThread:
    """Stands in for sys.stdout or sys.stderr: drops one thread's writes, passes on the rest."""

    def __init__(self, target: Any, thread: int):
        self._target = target
        self._thread = thread
        self.muting = True

    def _muted(self) -> bool:
        return self._target is None or (self.muting and threading.get_ident() == self._thread)

    def write(self, text: str) -> int:
        return len(text) if self._muted() else self._target.write(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if not self._muted():
            self._target.flush()

    def isatty(self) -> bool:
        return False if self._muted() else self._target.isatty()

    def __getattr__(self, name: str) -> Any:  # encoding, fileno, ... of the real stream
        return getattr(self._target, name)


@contextlib.contextmanager
def quiet_this_thread() -> Iterator[None]:
    """Silence stdout and stderr for the calling thread only, until the block ends."""
    me = threading.get_ident()
    saved_out, saved_err = sys.stdout, sys.stderr
    out, err = _MutedForThread(saved_out, me), _MutedForThread(saved_err, me)
    sys.stdout, sys.stderr = out, err
    try:
        yield
    finally:
        # Put the streams back only if nobody swapped them since (two downloads in two threads
        # overlap); a stand-in left in someone else's chain stops muting and passes all on.
        out.muting = err.muting = False
        if sys.stdout is out:
            sys.stdout = _unwrap(saved_out)
        if sys.stderr is err:
            sys.stderr = _unwrap(saved_err)


def _unwrap(stream: Any) -> Any:
    while isinstance(stream, _MutedForThread) and not stream.muting:
        stream = stream._target
    return stream
