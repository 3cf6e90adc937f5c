"""Reading IDX files, the format MNIST-family data sets come in; needs numpy only.

Kept free of torch so the start-up quick look (core/quickstart.py) can read the
bundled split before torch has loaded.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

# IDX type codes (the third byte of the magic number) that MNIST-family files use.
_IDX_UBYTE = 0x08


class IdxFormatError(ValueError):
    """A file is not a well-formed IDX file."""


def read_idx(path: str | Path) -> np.ndarray:
    """Read an unsigned-byte IDX file (optionally gzipped) into a numpy array."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as exc:
        raise IdxFormatError(f"cannot read {path}: {exc}") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != _IDX_UBYTE:
        raise IdxFormatError(f"{path} is not an unsigned-byte IDX file")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IdxFormatError(f"{path} is truncated in its header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise IdxFormatError(f"{path} holds {len(raw) - header} bytes of data, expected {expected}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()
