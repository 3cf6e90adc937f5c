"""Writing a file so that no crash, race or odd target can lose or corrupt data.

The bytes go to a temp file in the target's folder (".NAME.PID-TOKEN.tmp"),
are fsynced, and the temp is renamed over the target; then the folder is
fsynced so the rename itself survives a power cut. A target that is not a
regular file (a folder, a device, a FIFO, a symbolic link) is refused, never
replaced or followed. Temp files that crashed saves left behind are removed
first; the pid in the name tells them from those of a save still running.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
import sys
import time
from pathlib import Path
from typing import IO

from vae_explorer.core.checkpoint_header import CheckpointError, plain_text

# A temp file older than this is stale whoever wrote it: even the largest
# checkpoint (400 MB) is written in seconds.
STALE_AFTER_S = 3600


class OutputPathError(CheckpointError):
    """The output target cannot take a checkpoint; the message says why."""


def describe_file_kind(mode: int) -> str:
    """'a folder', 'a symbolic link', ...: what a non-regular file is, for messages."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


class NotARegularFile(OSError):
    """A folder, pipe, device... where a file was to be read; `kind` says which, for messages."""

    def __init__(self, path: Path, kind: str):
        super().__init__(f"{path} is {kind}")
        self.kind = kind


def open_for_reading(path: Path) -> IO[bytes]:
    """Open an outside file to read; NotARegularFile for anything but a regular file, OSError as open() gives.

    O_NONBLOCK: a FIFO at the path cannot hang the open, and is then refused like a folder.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotARegularFile(path, describe_file_kind(mode))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def refuse_non_regular(path: Path) -> None:
    """OutputPathError if something other than a regular file sits at path (links are not followed)."""
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return
    if not stat.S_ISREG(mode):
        raise OutputPathError(
            f"{plain_text(str(path), 300)} is {describe_file_kind(mode)}, not a regular file; "
            "vae-explorer will not replace it"
        )


def write_atomically(path: Path, data: bytes) -> None:
    """Put data at path in one rename, creating missing folders; OSError or OutputPathError on failure."""
    refuse_non_regular(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    tmp = path.with_name(f".{_temp_stem(path)}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    # O_EXCL: never write through a file or link already there; 0o666 lets the umask decide.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        refuse_non_regular(path)  # again, right before replacing: it may have changed meanwhile
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _temp_stem(path: Path) -> str:
    return path.name[:180]  # room for the pid and token within a 255-byte name


def _temp_pattern(path: Path) -> re.Pattern[str]:
    # ".NAME.PID-TOKEN.tmp" from this version; ".NAME.XXXXXXXX.tmp" from mkstemp in older ones.
    return re.compile(re.escape(f".{_temp_stem(path)}.") + r"(?:(\d+)-[0-9a-f]{8}|[a-z0-9_]{8})\.tmp")


def _pid_running(pid: int) -> bool:
    if pid <= 0 or sys.platform == "win32":
        return True  # os.kill(pid, 0) would end the process on Windows: rely on the age alone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists but belongs to someone else
    return True


def remove_stale_temps(path: Path) -> None:
    """Delete temp files that crashed saves of this target left behind; keep live ones.

    A temp is stale when the process named in it has ended, or when it is older
    than STALE_AFTER_S (the pid may have been reused, or the name has none).
    """
    pattern = _temp_pattern(path)
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return
    now = time.time()
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if not match:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode):
                continue
            pid = match.group(1)
            live = _pid_running(int(pid)) if pid is not None else True
            if now - info.st_mtime > STALE_AFTER_S or not live:
                os.unlink(entry.path)
        except OSError:
            continue  # gone already, or not ours to delete


def _fsync_folder(folder: Path) -> None:
    # Makes the rename itself durable. Not every system can open a folder (Windows cannot).
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
