"""Reading and checking a checkpoint's safetensors header before any weight is read.

A safetensors file is an 8-byte little-endian length, a JSON header naming each
tensor's dtype, shape and byte range, then the raw bytes. Every field of that
header, and of the JSON strings stored in its __metadata__ block, comes from
outside, so each is checked here for its type, range and consistency. Every
failure is a CheckpointError whose message is one line; nothing is allocated
beyond the header itself (at most MAX_HEADER_BYTES). It imports neither torch
nor numpy, so the numpy quick look at start-up may use it too.
"""

from __future__ import annotations

import json
import math
import numbers
import zipfile
from dataclasses import dataclass
from typing import IO, Any

from vae_explorer.core.config import clip
from vae_explorer.core.models import MAX_PARAMETERS

FORMAT_NAME = "vae-explorer-checkpoint"
CLASSIFIER_FORMAT = "vae-explorer-classifier"  # core.classifier's files: the same layout, their own marker
FORMAT_VERSION = 2
READABLE_VERSIONS = ("1", "2")
# The shipped model's header is 2.3 KB for 14 tensors, about 170 bytes a tensor:
# 1 MB leaves room for some 6,000 tensors, far beyond any model this app builds.
MAX_HEADER_BYTES = 1_000_000
# Every tensor is float32, and the model size limit bounds the weights.
MAX_FILE_BYTES = 8 + MAX_HEADER_BYTES + 4 * MAX_PARAMETERS
STORED_DTYPE = "F32"
DTYPE_BYTES = 4
# Stored text is for display; longer values are cut.
MAX_TEXT = 2000
MAX_KEY = 100


class CheckpointError(ValueError):
    """A file could not be loaded as a vae-explorer checkpoint; the message says why."""


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int  # byte offsets into the data block, end exclusive
    end: int


@dataclass(frozen=True)
class Header:
    metadata: dict[str, str]
    tensors: dict[str, TensorEntry]
    data_start: int  # where the data block begins in the file
    data_length: int


def one_line(text: object, limit: int = 300) -> str:
    """A message part that cannot span lines or flood a terminal."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def json_type(value: Any) -> str:
    """How JSON calls a parsed value's type, for messages."""
    if isinstance(value, bool):
        return "true or false"
    if value is None:
        return "null"
    names = {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Readers disagree on which of two equal keys wins; refuse the ambiguity.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(f"names the key {clip(key)} twice")
        result[key] = value
    return result


def parse_json(text: str | bytes, what: str) -> Any:
    """json.loads, with every way it can fail turned into one ValueError line."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise ValueError(f"{what} is nested too deeply") from None
    except UnicodeDecodeError:
        raise ValueError(f"{what} is not UTF-8 text") from None
    except _DuplicateKey as exc:
        raise ValueError(f"{what} {exc}") from None
    except ValueError as exc:  # JSONDecodeError, or an int past the digit limit
        raise ValueError(f"{what} is not valid JSON ({one_line(exc, 120)})") from None


def looks_pickled(head: bytes, handle: IO[bytes]) -> bool:
    # Protocol-2+ pickles start with 0x80 and the protocol number; torch.save
    # writes a zip of pickles. (A safetensors framing was ruled out before this.)
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return True
    if head[:4] == b"PK\x03\x04":
        try:
            handle.seek(0)
            with zipfile.ZipFile(handle) as archive:
                return any(name.endswith(".pkl") for name in archive.namelist()[:10_000])
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            return False
    return False


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_header(handle: IO[bytes], size: int, name: str, expected_format: str | None = FORMAT_NAME) -> Header:
    """Check the framing and the header's structure; `handle` is the open file of `size` bytes.

    expected_format: the format marker the file must carry (a classifier's differs from a
    model's); None accepts any, for a caller that only asks which kind of file it is."""
    head = handle.read(9)
    header_len = int.from_bytes(head[:8], "little")
    framed = len(head) == 9 and head[8:9] == b"{" and header_len <= size - 8
    if not framed and looks_pickled(head, handle):
        raise CheckpointError(
            f"{name} is a pickle (for example a torch.save file). vae-explorer does not "
            "load pickles, because opening one can run any code it carries."
        )
    if len(head) < 9:
        raise CheckpointError(f"{name} is not a vae-explorer checkpoint (too short)")
    if size > MAX_FILE_BYTES:
        raise CheckpointError(
            f"{name} is {size / 1e6:,.0f} MB, larger than any checkpoint vae-explorer opens "
            f"(at most {MAX_FILE_BYTES / 1e6:,.0f} MB)"
        )
    if not framed or header_len == 0:
        raise CheckpointError(f"{name} is not a vae-explorer checkpoint (it has no safetensors header)")
    if header_len > MAX_HEADER_BYTES:
        raise CheckpointError(
            f"{name} is not a vae-explorer checkpoint: its header claims {header_len:,} bytes, "
            f"more than the {MAX_HEADER_BYTES:,} a checkpoint needs"
        )
    handle.seek(8)
    raw = handle.read(header_len)
    if len(raw) != header_len:
        raise CheckpointError(f"{name} is truncated: it ends inside its header")
    try:
        header = parse_json(raw, "its header")
    except ValueError as exc:
        raise CheckpointError(f"{name} is not a vae-explorer checkpoint: {exc}") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{name} is not a vae-explorer checkpoint (its header is not a JSON object)")
    metadata = _metadata_block(header.pop("__metadata__", {}), name)
    if expected_format == FORMAT_NAME and metadata.get("format") == CLASSIFIER_FORMAT:
        raise CheckpointError(f"{name} is a digit classifier (a probe), not a model to explore; "
                              "`vae-explorer evaluate` reports its accuracy")
    if expected_format is not None and metadata.get("format") != expected_format:
        raise CheckpointError(
            f"{name} is a safetensors file but not a vae-explorer checkpoint "
            "(it has no vae-explorer format marker)"
        )
    check_version(metadata, name)
    tensors = {key: _tensor_entry(key, info, name) for key, info in header.items()}
    data_start = 8 + header_len
    data_length = _check_layout(tensors, name)
    if data_start + data_length > size:
        raise CheckpointError(
            f"{name} is truncated: it ends before the weights it describes "
            "(an interrupted copy or download?)"
        )
    if data_start + data_length < size:
        raise CheckpointError(
            f"{name} is corrupt: it holds {size - data_start - data_length:,} bytes after "
            "the weights its header describes"
        )
    return Header(metadata, tensors, data_start, data_length)


def _metadata_block(block: Any, name: str) -> dict[str, str]:
    if not isinstance(block, dict):
        raise CheckpointError(
            f"{name} has a corrupt header: __metadata__ is {json_type(block)}, not an object"
        )
    for key, value in block.items():
        if not isinstance(value, str):
            raise CheckpointError(
                f"{name} has a corrupt header: metadata entry {clip(key)} is {json_type(value)}, "
                "not a string"
            )
    return block


def check_version(metadata: dict[str, str], name: str) -> str:
    version = metadata.get("format_version")
    if version in READABLE_VERSIONS:
        return version
    if version is not None and version.isascii() and version.isdigit() and len(version) < 10 \
            and int(version) > FORMAT_VERSION:
        raise CheckpointError(
            f"{name} uses checkpoint format version {int(version)}, newer than the versions "
            f"{' and '.join(READABLE_VERSIONS)} this vae-explorer reads. Upgrade vae-explorer to open it."
        )
    shown = "none" if version is None else clip(version)
    raise CheckpointError(f"{name} has an unknown checkpoint format version ({shown})")


def _tensor_entry(key: str, info: Any, name: str) -> TensorEntry:
    where = f"{name} has a corrupt header: tensor {clip(key)}"
    if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
        raise CheckpointError(f"{where} is not described by dtype, shape and data_offsets")
    dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if not isinstance(dtype, str):
        raise CheckpointError(f"{where} has a dtype that is not a string")
    if not isinstance(shape, list) or len(shape) > 8 or not all(_is_int(s) and s >= 0 for s in shape):
        raise CheckpointError(f"{where} has a shape that is not a list of whole numbers")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(o) for o in offsets)):
        raise CheckpointError(f"{where} has data_offsets that are not a pair of whole numbers")
    begin, end = offsets
    if not 0 <= begin <= end:
        raise CheckpointError(f"{where} has data_offsets {clip(offsets)} out of order")
    return TensorEntry(key, dtype, tuple(shape), begin, end)


def _check_layout(tensors: dict[str, TensorEntry], name: str) -> int:
    """The byte ranges must tile the data block exactly; returns its length."""
    position = 0
    for entry in sorted(tensors.values(), key=lambda e: (e.begin, e.end)):
        if entry.begin < position:
            raise CheckpointError(f"{name} is corrupt: tensor {clip(entry.name)} overlaps the one before it")
        if entry.begin > position:
            raise CheckpointError(f"{name} is corrupt: there is a gap before tensor {clip(entry.name)}")
        position = entry.end
    return position


def check_against_plan(header: Header, planned: dict[str, tuple[int, ...]], name: str) -> None:
    """The header's tensors must be exactly the ones the described model has."""
    missing = [key for key in planned if key not in header.tensors]
    extra = [key for key in header.tensors if key not in planned]
    if missing or extra:
        detail = f"no tensor {clip(missing[0])}" if missing else f"an unexpected tensor {clip(extra[0])}"
        more = len(missing) + len(extra) - 1
        raise CheckpointError(
            f"the weights in {name} do not match its model configuration: it has {detail}"
            + (f" (and {more} more difference{'s' if more > 1 else ''})" if more else "")
        )
    for key, shape in planned.items():
        entry = header.tensors[key]
        if entry.dtype != STORED_DTYPE:
            raise CheckpointError(
                f"the weights in {name} do not match its model configuration: tensor {clip(key)} "
                f"is {clip(entry.dtype, 12)}, expected {STORED_DTYPE}"
            )
        if entry.shape != tuple(shape):
            raise CheckpointError(
                f"the weights in {name} do not match its model configuration: tensor {clip(key)} "
                f"has shape {list(entry.shape)}, expected {list(shape)}"
            )
        if entry.end - entry.begin != math.prod(shape) * DTYPE_BYTES:
            raise CheckpointError(
                f"{name} is corrupt: tensor {clip(key)} takes {entry.end - entry.begin:,} bytes "
                f"but its shape needs {math.prod(shape) * DTYPE_BYTES:,}"
            )


# ------------------------------------------------------------------ metadata


def json_field(metadata: dict[str, str], key: str, default: str, name: str, what: str) -> Any:
    try:
        return parse_json(metadata.get(key, default), what)
    except ValueError as exc:
        raise CheckpointError(f"{name} has corrupt metadata: {exc}") from None


def json_object(metadata: dict[str, str], key: str, name: str, what: str) -> dict[str, Any]:
    """A stored object of plain values (metrics, provenance), safe to print."""
    value = json_field(metadata, key, "{}", name, what)
    if not isinstance(value, dict):
        raise CheckpointError(
            f"{name} has corrupt metadata: {what} is {json_type(value)}, not an object"
        )
    return plain_values(value)


def plain_text(value: str, limit: int = MAX_TEXT) -> str:
    # Control characters (escape sequences, newlines) from a file must not reach a terminal.
    text = "".join(ch if ch.isprintable() else "?" for ch in value[: limit + 1])
    return text if len(text) <= limit else text[: limit - 3] + "..."


def plain_values(data: dict[Any, Any]) -> dict[str, str | int | float | bool | None]:
    """One level of str -> str/int/float/bool/None; nested values become short text."""
    result: dict[str, str | int | float | bool | None] = {}
    for key, value in data.items():
        key = plain_text(str(key), MAX_KEY)
        if value is None or isinstance(value, bool):
            result[key] = value
        elif isinstance(value, numbers.Integral):  # numpy ints too, when saving
            # Beyond 2**63 an int can overflow when formatted as a float.
            result[key] = int(value) if abs(int(value)) < 2**63 else plain_text(str(value), 100)
        elif isinstance(value, numbers.Real):
            result[key] = float(value)
        elif isinstance(value, str):
            result[key] = plain_text(value)
        else:
            try:
                result[key] = plain_text(json.dumps(value, default=str), 200)
            except Exception:  # noqa: BLE001 - not even printable: drop it
                continue
    return result
