"""The audit log: an append-only, hash-chained JSON-lines file in the state dir.

Each line is one entry {"seq", "ts", "type", "actor", "data", "prev", "hash"}
where `hash` is the SHA-256 of the canonical JSON of the entry without "hash",
and `prev` is the hash of the entry before (64 zeros for the first). Editing,
deleting, swapping or inserting a line breaks the chain at that line. Removing
entries from the end is caught by the head file (`audit.jsonl.head`), which
records the last seq and hash after every append.

Appends are serialised by a thread lock and an flock on the file (the daemon
and a CLI command may both append), flushed and fsynced; the file is 0600.
`on_append` (called under the lock) lets the Governance keep a second copy of
the head in the registry, so cutting the end of the log *and* deleting the head
file is still caught by `grace-tui audit verify`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, Callable, NamedTuple

from grace_tui.paths import open_private, write_private_atomic

GENESIS = "0" * 64
ENTRY_KEYS = ("seq", "ts", "type", "actor", "data", "prev", "hash")


def canonical(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def entry_hash(entry: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in entry.items() if k != "hash"})).hexdigest()


def head_path(path: Path) -> Path:
    return Path(path).with_name(Path(path).name + ".head")


class VerifyResult(NamedTuple):
    ok: bool
    checked: int
    first_bad_seq: int | None
    why: str


class AuditLog:
    """Append entries to one audit file; safe across threads and processes."""

    def __init__(self, path: Path, on_append: Callable[[dict[str, Any]], None] | None = None):
        self.path = Path(path)
        self.on_append = on_append
        self._lock = threading.Lock()

    def append(self, type: str, actor: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        with self._lock, open_private(self.path, "a+b") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                last = _repair_and_read_last(f)
                entry: dict[str, Any] = {
                    "seq": (last["seq"] + 1) if last else 1,
                    "ts": round(time.time(), 6),
                    "type": type,
                    "actor": actor or "unknown",
                    "data": json.loads(json.dumps(data or {}, default=str)),  # what will be read back
                    "prev": last["hash"] if last else GENESIS,
                }
                entry["hash"] = entry_hash(entry)
                f.seek(0, os.SEEK_END)
                f.write(canonical(entry) + b"\n")
                f.flush()
                os.fsync(f.fileno())
                write_private_atomic(head_path(self.path), json.dumps({"seq": entry["seq"], "hash": entry["hash"]}))
                if self.on_append:
                    self.on_append(entry)
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        return entry

    def tail(self, n: int = 20) -> list[dict[str, Any]]:
        return tail(self.path, n)

    def verify(self) -> VerifyResult:
        return verify(self.path)


def _newline_before(f, pos: int) -> int:
    """Offset of the last b"\\n" before `pos`, or -1."""
    while pos > 0:
        start = max(0, pos - 4096)
        f.seek(start)
        cut = f.read(pos - start).rfind(b"\n")
        if cut >= 0:
            return start + cut
        pos = start
    return -1


def _repair_and_read_last(f) -> dict[str, Any] | None:
    """The last whole entry; a torn final line (a crash mid-write) is cut off first."""
    size = f.seek(0, os.SEEK_END)
    if size and _newline_before(f, size) != size - 1:
        size = _newline_before(f, size) + 1  # the torn entry was never complete
        f.truncate(size)
        f.flush()
    if size == 0:
        return None
    start = _newline_before(f, size - 1) + 1
    f.seek(start)
    return json.loads(f.read(size - 1 - start))


def read_entries(path: Path) -> list[dict[str, Any]]:
    """Every whole entry, oldest first (a torn final line is left out)."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        return []
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        lines.pop()  # torn final line
    return [json.loads(line) for line in lines]


def tail(path: Path, n: int = 20) -> list[dict[str, Any]]:
    """The newest `n` entries, oldest first."""
    keep: deque[bytes] = deque(maxlen=max(0, n))
    try:
        with open(path, "rb") as f:
            for line in f:
                if line.endswith(b"\n"):
                    keep.append(line)
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in keep]


def verify(path: Path, anchor: tuple[int, str] | None = None) -> VerifyResult:
    """Walk the chain; the first entry that does not follow from the one before is named.
    `anchor` is a (seq, hash) recorded elsewhere (the registry) that the log must contain."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return VerifyResult(True, 0, None, "no audit log yet")
    lines = raw.split(b"\n")
    torn = lines.pop() != b""  # the text after the last newline
    prev, checked = GENESIS, 0
    for number, line in enumerate(lines, start=1):
        expected_seq = checked + 1
        problem = _check_line(line, expected_seq, prev)
        if problem:
            return VerifyResult(False, checked, expected_seq, f"line {number}: {problem}")
        prev = json.loads(line)["hash"]
        checked += 1
    if torn:
        return VerifyResult(False, checked, checked + 1,
                            f"line {len(lines) + 1}: torn final line (an interrupted write)")
    if anchor is not None:
        seq, digest = anchor
        if seq > checked:
            return VerifyResult(False, checked, checked + 1,
                                f"entries {checked + 1}..{seq} were removed from the end (the registry says seq {seq})")
        if seq and json.loads(lines[seq - 1])["hash"] != digest:
            return VerifyResult(False, checked, seq, f"seq {seq} does not match the registry's record of it")
    return _check_head(path, checked, prev, lines)


def _check_line(line: bytes, expected_seq: int, prev: str) -> str:
    try:
        entry = json.loads(line)
    except ValueError:
        return "not valid JSON"
    if not isinstance(entry, dict) or set(entry) != set(ENTRY_KEYS):
        return f"fields are not {', '.join(ENTRY_KEYS)}"
    if entry["hash"] != entry_hash(entry):
        return f"entry seq {entry['seq']} was modified (hash does not match its content)"
    if entry["seq"] != expected_seq:
        return f"expected seq {expected_seq}, found seq {entry['seq']} (entries removed, reordered or inserted)"
    if entry["prev"] != prev:
        return f"seq {expected_seq} does not chain to the entry before it (removed, reordered or inserted)"
    return ""


def _check_head(path: Path, checked: int, last_hash: str, lines: list[bytes]) -> VerifyResult:
    """Entries cut from the end leave a whole chain; the head file remembers the end."""
    try:
        head = json.loads(head_path(path).read_text())
    except FileNotFoundError:
        return VerifyResult(True, checked, None, "chain whole (no head file)")
    except ValueError:
        return VerifyResult(False, checked, None, f"{head_path(path)}: not valid JSON")
    seq = int(head.get("seq", 0))
    if seq > checked:
        return VerifyResult(False, checked, checked + 1,
                            f"entries {checked + 1}..{seq} were removed from the end (head says seq {seq})")
    if seq and json.loads(lines[seq - 1])["hash"] != head.get("hash"):
        return VerifyResult(False, checked, seq, f"seq {seq} does not match the head file")
    return VerifyResult(True, checked, None, "chain whole")
