"""Where grace-tui keeps its state and config, created owner-only.

State (the DB, incidents.jsonl, the audit log, metrics, the lock) lives in one
directory: --state-dir, else $GRACE_TUI_STATE_DIR, else $XDG_STATE_HOME/grace-tui,
else ~/.local/state/grace-tui. Directories are 0700 and files 0600 because they
hold command lines, outputs and host inventory.
"""

from __future__ import annotations

import os
from pathlib import Path

from grace_tui.errors import UserError

APP = "grace-tui"


def default_state_dir() -> Path:
    explicit = os.environ.get("GRACE_TUI_STATE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(base) / APP


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(Path.home(), ".config")
    return Path(base) / APP


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) with mode 0700; fail with one clear line."""
    path = Path(path).expanduser()
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path, 0o700)
    except OSError as exc:
        raise UserError(f"{path}: cannot create state directory: {exc.strerror or exc}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UserError(f"{path}: state directory is not writable")
    return path


def open_private(path: Path, mode: str = "a", **kwargs):
    """Open a state file, creating it 0600 if it does not exist yet."""
    flags = os.O_CREAT | os.O_WRONLY | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    if "+" in mode or "r" in mode:
        flags = (flags & ~os.O_WRONLY) | os.O_RDWR
    fd = os.open(path, flags, 0o600)
    return os.fdopen(fd, mode, **kwargs)


def write_private_atomic(path: Path, text: str) -> None:
    """Replace `path` atomically (write a 0600 temp file, fsync, rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open_private(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class StatePaths:
    """The files inside one state directory."""

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root).expanduser() if root else default_state_dir()

    def ensure(self) -> "StatePaths":
        ensure_private_dir(self.root)
        return self

    @property
    def db(self) -> Path:
        return self.root / "grace.db"

    @property
    def incidents_jsonl(self) -> Path:
        return self.root / "incidents.jsonl"

    @property
    def audit_log(self) -> Path:
        return self.root / "audit.jsonl"

    @property
    def metrics_prom(self) -> Path:
        return self.root / "grace_tui.prom"

    @property
    def lock(self) -> Path:
        return self.root / "daemon.lock"
