"""incidents.jsonl: one JSON object per line, appended, flushed and fsynced.

A crash can leave the last line half written; readers skip it and say so rather
than fail, and never rewrite the file.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grace_tui.paths import open_private


class JsonlAppender:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def append(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, default=str, separators=(",", ":")) + "\n").encode()
        with self._lock, open_private(self.path, "a+b") as f:
            if f.seek(0, os.SEEK_END) and (f.seek(-1, os.SEEK_END), f.read(1))[1] != b"\n":
                line = b"\n" + line  # end a torn line (a crash mid-write) so this record is not glued to it
            f.write(line)
            f.flush()
            os.fsync(f.fileno())


@dataclass
class JsonlRead:
    records: list[dict[str, Any]] = field(default_factory=list)
    torn_last_line: bool = False  # an incomplete final line was skipped
    bad_lines: list[int] = field(default_factory=list)  # other unparsable lines (1-based)

    def warnings(self, path: Path) -> list[str]:
        out = []
        if self.torn_last_line:
            out.append(f"{path}: skipped a torn last line (incomplete write)")
        out += [f"{path}:{n}: skipped a line that is not JSON" for n in self.bad_lines]
        return out


def read_jsonl(path: Path) -> JsonlRead:
    result = JsonlRead()
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return result
    lines = data.split(b"\n")
    complete, last = lines[:-1], lines[-1]  # `last` is b"" when the file ends in a newline
    for number, raw in enumerate(complete, start=1):
        if not raw.strip():
            continue
        try:
            result.records.append(json.loads(raw))
        except (json.JSONDecodeError, UnicodeDecodeError):
            result.bad_lines.append(number)
    if last.strip():
        try:  # a final line without newline may still be whole
            result.records.append(json.loads(last))
        except (json.JSONDecodeError, UnicodeDecodeError):
            result.torn_last_line = True
    return result
