"""Where a trained model is written: the target checked before training, and a save that loses nothing.

check_output_target() runs before any training, so a run is never spent on
weights that cannot be written: it refuses a target that is not a regular
file and a folder that cannot be created or written (it really writes a probe
file). It creates nothing: missing folders are made when the weights are saved.

save_with_fallback() runs after training, when the target may have changed
meanwhile (a full disk, a folder put in the file's place). It then writes the
weights beside the target, or else to the user data folder, and says plainly
where they went and why.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
import time
from pathlib import Path

from vae_explorer.core.atomic_write import OutputPathError, describe_file_kind
from vae_explorer.core.checkpoint import Checkpoint, CheckpointError, save_checkpoint
from vae_explorer.core.checkpoint_header import one_line, plain_text

__all__ = ["OutputPathError", "check_output_target", "partial_path", "recovery_folder", "save_with_fallback"]

SUFFIX = ".safetensors"


def partial_path(output: Path) -> Path:
    """FILE.safetensors -> FILE.partial.safetensors, for the weights of a run that stopped early."""
    return output.with_name(output.stem + ".partial" + output.suffix)


def _shown(path: Path) -> str:
    return plain_text(str(path), 300)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return one_line(exc.strerror, 120)
    return one_line(exc, 200) or type(exc).__name__


def check_output_target(path: str | os.PathLike) -> Path:
    """The expanded target path, or OutputPathError saying why no checkpoint can be written there."""
    try:
        target = Path(path).expanduser()
    except RuntimeError as exc:  # "~someone" for an unknown user
        raise OutputPathError(f"cannot use the output {plain_text(str(path), 300)}: {one_line(exc)}") from None
    try:
        mode = os.lstat(target).st_mode
    except (FileNotFoundError, NotADirectoryError):
        mode = None  # not there (yet); a file in the way among the parents is found below
    except OSError as exc:
        raise OutputPathError(f"cannot use the output {_shown(target)}: {_reason(exc)}") from None
    if mode is not None and not stat.S_ISREG(mode):
        raise OutputPathError(
            f"{_shown(target)} is {describe_file_kind(mode)}, not a regular file; choose another output file"
        )
    folder = _nearest_existing_folder(target)
    _probe_writable(folder, target)
    return target


def _nearest_existing_folder(target: Path) -> Path:
    """The closest ancestor that exists; OutputPathError if it is not a folder."""
    folder = target.parent
    while True:
        try:
            info = folder.stat()  # a link to a folder is fine here: only the target must not be one
        except (FileNotFoundError, NotADirectoryError):
            if folder.parent == folder:
                raise OutputPathError(f"no folder of {_shown(target)} exists") from None
            folder = folder.parent
            continue
        except OSError as exc:
            raise OutputPathError(f"cannot use the folder {_shown(folder)}: {_reason(exc)}") from None
        if stat.S_ISDIR(info.st_mode):
            return folder
        if folder == target.parent:
            raise OutputPathError(
                f"{_shown(folder)} is {_kind_of(info.st_mode)}, not a folder, so {plain_text(target.name, 200)} "
                "cannot be written inside it"
            )
        raise OutputPathError(
            f"{_shown(folder)} is {_kind_of(info.st_mode)}, so the folder {_shown(target.parent)} cannot be created"
        )


def _kind_of(mode: int) -> str:
    return "a file" if stat.S_ISREG(mode) else describe_file_kind(mode)


def _probe_writable(folder: Path, target: Path) -> None:
    # Permission bits do not tell (root, ACLs, read-only mounts, /proc): create and remove a file.
    probe = folder / f".vae-explorer-probe-{os.getpid()}-{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        # /proc and friends answer ENOENT when asked for a new file.
        reason = "it does not accept new files" if exc.errno == errno.ENOENT else _reason(exc)
        if folder == target.parent:
            raise OutputPathError(f"cannot write in the folder {_shown(folder)}: {reason}") from None
        raise OutputPathError(
            f"cannot create the folder {_shown(target.parent)}: cannot write in {_shown(folder)} ({reason})"
        ) from None


def recovery_folder() -> Path:
    """The last resort for weights that could not be written where asked."""
    from vae_explorer.core.resources import user_folder

    return user_folder("recovered")


def _recovered_name(path: Path, stamp: str) -> str:
    stem = path.stem if path.suffix == SUFFIX else path.name
    return f"{stem or 'model'}.recovered-{stamp}{SUFFIX}"


def _free(candidate: Path) -> Path:
    # Never overwrite an earlier recovered file that happens to share the second.
    for number in range(2, 100):
        if not os.path.lexists(candidate):
            return candidate
        candidate = candidate.with_name(f"{candidate.name[: -len(SUFFIX)]}-{number}{SUFFIX}")
    return candidate


def save_with_fallback(checkpoint: Checkpoint, path: str | os.PathLike) -> tuple[Path | None, str]:
    """Save to path, else beside it, else to the user data folder: (where it went or None, a note).

    The note is empty when the target took the weights; otherwise it says where
    they went and why the target failed (or, with None, why every place failed).
    """
    path = Path(path)
    try:
        path = path.expanduser()
    except RuntimeError:
        pass  # "~someone" unknown: the save below fails and says so
    try:
        return save_checkpoint(checkpoint, path), ""
    except (OSError, OutputPathError) as exc:
        first = _reason(exc)
    except CheckpointError as exc:  # the weights themselves cannot be saved: no other place helps
        return None, f"could not save the weights: {one_line(exc)}"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    failures = [f"{_shown(path)} ({first})"]
    places = [("beside it", lambda: path.with_name(_recovered_name(path, stamp))),
              ("the user data folder", lambda: recovery_folder() / _recovered_name(path, stamp))]
    for label, place in places:
        try:
            candidate = _free(place())
        except (OSError, ValueError, RuntimeError) as exc:  # no usable name or folder there
            failures.append(f"{label} ({_reason(exc)})")
            continue
        try:
            saved = save_checkpoint(checkpoint, candidate)
        except (OSError, CheckpointError) as exc:
            failures.append(f"{_shown(candidate)} ({_reason(exc)})")
            continue
        return saved, (f"could not write {_shown(path)} ({first}), so the weights were saved to "
                       f"{_shown(saved)} instead")
    return None, "could not save the weights anywhere: tried " + "; ".join(failures)
