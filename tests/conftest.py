"""Shared fixtures: every test gets its own state dir; nothing touches the user's."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point every XDG location into the test's temp dir."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.delenv("GRACE_TUI_STATE_DIR", raising=False)
    monkeypatch.delenv("TEXTUAL_THEME", raising=False)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    path = tmp_path / "state"
    path.mkdir(mode=0o700)
    return path


@pytest.fixture
def registry(state_dir: Path):
    from grace_tui.registry import Registry

    reg = Registry.open(state_dir)
    yield reg
    reg.close()


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.02, message: str = "condition"):
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(interval)


def run_cli(*args: str, state_dir: Path | None = None, input: str | None = None, env: dict | None = None):
    """Run `python -m grace_tui ARGS` in a real subprocess."""
    import subprocess

    argv = [sys.executable, "-m", "grace_tui"]
    if state_dir is not None:
        argv += ["--state-dir", str(state_dir)]
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(argv + list(args), capture_output=True, text=True, input=input, timeout=120, env=full_env)
