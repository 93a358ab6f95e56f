"""A queue of user actions for the process that runs the supervisor.

`grace-tui --attach` and CLI commands (`config approve`, `learn cancel`...) run in
another process than the daemon; they enqueue a command here and the daemon
carries it out and marks it done or failed. On SQLite, enqueue also writes a
byte to a FIFO next to the DB file (`<db>.signal`, 0600) that the daemon blocks
on, so it wakes at once and otherwise sleeps; the daemon still looks every few
seconds (PostgreSQL fleets, a missed signal).
"""

from __future__ import annotations

import json
import os
import stat
import time
from dataclasses import dataclass
from typing import Any

from pathlib import Path

import peewee

from grace_tui.registry.db import BaseModel, database


class Command(BaseModel):
    id = peewee.AutoField()
    created_at = peewee.DoubleField()
    action = peewee.CharField(max_length=64)  # acknowledge, retry, silence, approve, reject, cancel_job...
    target = peewee.CharField(max_length=255, default="")
    args = peewee.TextField(default="{}")
    status = peewee.CharField(max_length=16, default="pending")  # pending, done, failed
    result = peewee.TextField(null=True)
    done_at = peewee.DoubleField(null=True)

    class Meta:
        indexes = ((("status", "id"), False),)


@dataclass(frozen=True)
class CommandView:
    id: int
    action: str
    target: str
    args: dict[str, Any]
    status: str
    result: str | None


def _view(row: Command) -> CommandView:
    return CommandView(row.id, row.action, row.target, json.loads(row.args or "{}"), row.status, row.result)


def enqueue(action: str, target: str = "", **args: Any) -> int:
    row = Command.create(created_at=time.time(), action=action, target=target, args=json.dumps(args, default=str))
    wake_daemon()
    return row.id


def signal_path() -> Path | None:
    """The FIFO that wakes the daemon of this SQLite registry; None on PostgreSQL (the daemon polls)."""
    db = database.obj
    name = getattr(db, "database", None)
    if not isinstance(db, peewee.SqliteDatabase) or not isinstance(name, str) or name == ":memory:":
        return None
    return Path(name + ".signal")


def open_signal() -> int | None:
    """Daemon side: create the FIFO (0600) and open it for reading without blocking; None if impossible."""
    path = signal_path()
    if path is None:
        return None
    try:
        if not path.exists():
            os.mkfifo(path, 0o600)
        if not stat.S_ISFIFO(os.stat(path).st_mode):
            return None
        # O_RDWR: the FIFO never reports EOF (no writer) and a client's open never fails while we hold it
        return os.open(path, os.O_RDWR | os.O_NONBLOCK)
    except OSError:
        return None


def wake_daemon() -> None:
    """Client side: one byte into the FIFO if a daemon holds it open; nothing to do otherwise."""
    path = signal_path()
    if path is None:
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return  # no FIFO or no daemon reading (ENXIO): the daemon polls when it starts
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            os.write(fd, b"!")
    except OSError:
        pass  # EAGAIN: the pipe is already full of wake-ups
    finally:
        os.close(fd)


def pending_commands(limit: int = 50) -> list[CommandView]:
    rows = Command.select().where(Command.status == "pending").order_by(Command.id).limit(limit)
    return [_view(r) for r in rows]


def expire_pending(reason: str) -> int:
    """Fail every command still pending (queued while no supervisor ran); returns how many."""
    with database.atomic():
        return (Command.update({Command.status: "failed", Command.result: reason, Command.done_at: time.time()})
                .where(Command.status == "pending").execute())


def finish(command_id: int, ok: bool, result: str = "") -> None:
    with database.atomic():
        Command.update(
            {Command.status: "done" if ok else "failed", Command.result: result, Command.done_at: time.time()}
        ).where(Command.id == command_id).execute()


def get_command(command_id: int) -> CommandView | None:
    row = Command.get_or_none(Command.id == command_id)
    return _view(row) if row else None


def wait_for(command_id: int, timeout_s: float = 5.0, poll_s: float = 0.05) -> CommandView | None:
    """Block until the daemon has carried out a command (or the timeout passes)."""
    deadline = time.monotonic() + timeout_s
    while True:
        view = get_command(command_id)
        if view is None or view.status != "pending" or time.monotonic() >= deadline:
            return view
        time.sleep(poll_s)
