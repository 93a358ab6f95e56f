"""Ids that sort by creation time, and UTC timestamps for output."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
_id_lock = threading.Lock()
_last_id_ms = 0
_last_id_seq = 0


def _b32(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, digit = divmod(number, 32)
        chars.append(_CROCKFORD[digit])
    return "".join(reversed(chars))


def new_task_id() -> str:
    """13 characters: milliseconds since the epoch, then a random tail that counts
    up within one millisecond, so ids sort by creation time and never repeat here."""
    global _last_id_ms, _last_id_seq
    with _id_lock:
        now_ms = int(time.time() * 1000)
        if now_ms <= _last_id_ms:
            now_ms = _last_id_ms
            _last_id_seq += 1
        else:
            _last_id_seq = random.getrandbits(19)  # room to count up within one ms
        _last_id_ms = now_ms
        return _b32(now_ms, 9) + _b32(_last_id_seq % (1 << 20), 4)


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
