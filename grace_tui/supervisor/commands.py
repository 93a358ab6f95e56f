"""Run a configured argv: no shell, a timeout, output captured and truncated.

Output goes to a temp file rather than a pipe: a start command that daemonizes
would otherwise keep the pipe open and hang us until the timeout.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable


@dataclass
class CommandResult:
    argv: list[str]
    exit_code: int | None  # None: did not run or timed out
    output: str
    duration_s: float
    error: str = ""  # why it did not run, or "timed out after Ns"

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit // 2] + f"\n... [{len(text) - limit} characters cut] ...\n" + text[-limit // 2:]


def run_argv(argv: list[str], timeout: float, output_limit: int = 4096, cwd: str | None = None,
             env: dict[str, str] | None = None, why_running: Callable[[int], str] | None = None) -> CommandResult:
    """Run argv to its end or the timeout. At the timeout `why_running(pid)`, asked before the
    command's session is killed, may say why it did not return."""
    import tempfile  # with shutil, bz2 and lzma: 0.6 MB the idle daemon need not hold

    start = time.monotonic()
    with tempfile.TemporaryFile() as out:
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                                    env={**os.environ, **(env or {})}, start_new_session=True, shell=False)
        except OSError as exc:
            return CommandResult(list(argv), None, "", time.monotonic() - start,
                                 f"cannot run {argv[0]}: {exc.strerror or exc}")
        error = ""
        try:
            code: int | None = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            error = f"timed out after {timeout:g}s" + (why_running(proc.pid) if why_running else "")
            _kill_group(proc)
            code = None
        out.seek(0)
        text = out.read().decode("utf-8", errors="replace")
    return CommandResult(list(argv), code, truncate(text, output_limit), time.monotonic() - start, error)


def _kill_group(proc: subprocess.Popen) -> None:
    """The command runs in its own session: kill the group it started, then reap."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()
