"""A managed service's output: STATE/logs/NAME.log, rotated by size, and its last lines.

The child writes to the file itself (an inherited O_APPEND descriptor), so nothing is
copied through the supervisor while the service runs. Rotation is therefore a copy
then a truncate, as logrotate's `copytruncate`: the child's next write lands at the new
end of the file. A line written during the copy itself can be lost, as with logrotate.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Iterator

TAIL_BLOCK = 64 * 1024  # read backwards in blocks this big to find the last lines


def service_log(state_dir: Path, name: str) -> Path:
    return state_dir / "logs" / f"{name}.log"


def rotate_if_big(path: Path, max_bytes: int, backups: int) -> bool:
    """NAME.log over `max_bytes`: NAME.log.1 ... NAME.log.N keep the older output (the oldest
    is dropped) and NAME.log starts again empty. Returns True when it rotated."""
    try:
        if path.stat().st_size <= max_bytes:
            return False
    except FileNotFoundError:
        return False
    if backups > 0:
        for n in range(backups - 1, 0, -1):
            older = path.with_name(f"{path.name}.{n}")
            if older.exists():
                os.replace(older, path.with_name(f"{path.name}.{n + 1}"))
        copy = path.with_name(f"{path.name}.1")
        shutil.copyfile(path, copy)  # sendfile on Linux: no pass through Python for the bytes
        os.chmod(copy, 0o600)
    os.truncate(path, 0)
    return True


def last_lines(path: Path, count: int, start: int = 0) -> list[str]:
    """The last `count` lines of the file (fewer if it has fewer), decoded leniently; only those
    written past offset `start` (one process's output), or all if the file was rotated since."""
    return tail(path, count, start)[0]


def tail(path: Path, count: int, start: int = 0) -> tuple[list[str], int]:
    """last_lines(), and the offset they end at: where following the file goes on from."""
    if count <= 0:
        return [], _size(path)
    try:
        with open(path, "rb") as f:
            end = f.seek(0, os.SEEK_END)
            start = start if start <= end else 0
            data, position = b"", end
            while position > start and data.count(b"\n") <= count:
                step = min(TAIL_BLOCK, position - start)
                position -= step
                f.seek(position)
                data = f.read(step) + data
    except FileNotFoundError:
        return [], 0
    lines = data.decode("utf-8", "replace").splitlines()
    return lines[-count:], end


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def follow(path: Path, poll_s: float = 0.25, start: int | None = None) -> Iterator[str]:
    """Complete lines appended to the file past `start` (default: its size at this call, not at the
    first next()), as `tail -F`: after a rotation (the file truncated) it reads from the start
    again. Runs until the caller stops iterating."""
    return _follow(path, poll_s, _size(path) if start is None else start)


def _follow(path: Path, poll_s: float, position: int) -> Iterator[str]:
    partial = b""
    while True:
        size = _size(path)
        if size < position:  # rotated: copied away and truncated
            position, partial = 0, b""
        if size > position:
            with open(path, "rb") as f:
                f.seek(position)
                data = partial + f.read(size - position)
            position = size
            complete, _, partial = data.rpartition(b"\n")
            if complete:
                yield complete.decode("utf-8", "replace")
        else:
            time.sleep(poll_s)
