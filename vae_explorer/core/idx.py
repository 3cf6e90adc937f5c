"""Reading IDX files, the format MNIST-family data sets come in; needs numpy, not torch.

Kept free of torch so the start-up quick look (core/quickstart.py) can read the
bundled split before torch has loaded.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path
from typing import IO

import numpy as np

from vae_explorer.core.atomic_write import NotARegularFile, open_for_reading

# IDX type codes (the third byte of the magic number) that MNIST-family files use.
_IDX_UBYTE = 0x08


class IdxFormatError(ValueError):
    """A file is not a well-formed IDX file."""


# The largest payload a file may claim: the biggest MNIST-family file (the training images) holds 47 MB.
MAX_IDX_BYTES = 256 * 2**20
MAX_IDX_DIMS = 4  # images are 3-D, labels 1-D


def read_idx(path: str | Path, max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """Read an unsigned-byte IDX file (optionally gzipped) into a numpy array.

    The header is read and checked first; the payload it claims must fit
    max_bytes before a byte of it is read, and the file must hold exactly that
    payload. So neither a huge file nor a small gzip that inflates without end
    can make this allocate more than the limit. A FIFO or a folder under the
    name is refused without blocking.
    """
    path = Path(path)
    try:
        raw = open_for_reading(path)
    except NotARegularFile as exc:
        raise IdxFormatError(f"{path} is {exc.kind}, not an IDX file") from None
    except OSError as exc:
        raise IdxFormatError(f"cannot read {path}: {exc.strerror or exc}") from None
    with raw:
        try:
            handle = gzip.GzipFile(fileobj=raw, mode="rb") if path.suffix == ".gz" else raw
            return _read_idx(handle, path, max_bytes)
        except (OSError, EOFError, zlib.error) as exc:  # a damaged gzip stream, a failing disk
            raise IdxFormatError(f"cannot read {path}: {exc}") from None


def _read_idx(handle: IO[bytes], path: Path, max_bytes: int) -> np.ndarray:
    magic = handle.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] != _IDX_UBYTE:
        raise IdxFormatError(f"{path} is not an unsigned-byte IDX file")
    ndim = magic[3]
    if not 1 <= ndim <= MAX_IDX_DIMS:
        raise IdxFormatError(f"{path} claims {ndim} dimensions; IDX data here has 1 to {MAX_IDX_DIMS}")
    dims = handle.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise IdxFormatError(f"{path} is truncated in its header")
    shape = struct.unpack(f">{ndim}I", dims)
    expected = math.prod(shape)  # Python integers: no overflow
    if expected > max_bytes:
        raise IdxFormatError(f"{path} claims {expected:,} bytes of data ({shape}), more than the "
                             f"{max_bytes:,} an MNIST-family file can hold")
    payload = handle.read(expected + 1)  # one byte more tells trailing data apart
    if len(payload) != expected:
        more = " or more" if len(payload) > expected else ""
        raise IdxFormatError(f"{path} holds {len(payload):,}{more} bytes of data, expected {expected:,}")
    return np.frombuffer(payload, dtype=np.uint8).reshape(shape).copy()
