"""Opening the database: SQLite by default, PostgreSQL for a fleet, and migrations.

Every model binds to `database` (a proxy), so one registry is open per process.
New tables are created on open (CREATE TABLE IF NOT EXISTS); changes to existing
tables are numbered steps in MIGRATIONS, run once each, recorded in `meta`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
from pathlib import Path
from typing import Callable

import peewee

from grace_tui.errors import UserError

database = peewee.DatabaseProxy()


def log_failure(log: logging.Logger, what: str, *args: object) -> None:
    """In an except block: a storage failure (disk full, database locked or unreachable) is an
    operating condition, one line naming it; anything else is a bug and keeps its traceback."""
    exc = sys.exc_info()[1]
    if not _is_storage_error(exc):
        log.exception(what, *args)
        return
    while _is_storage_error(exc.__context__):  # the first cause: a failed ROLLBACK hides why it rolled back
        exc = exc.__context__
    log.error(f"{what}: %s", *args, " ".join(str(exc).split()) or type(exc).__name__)


def _is_storage_error(exc: BaseException | None) -> bool:
    return isinstance(exc, (peewee.DatabaseError, peewee.InterfaceError, sqlite3.Error, OSError))


SQLITE_PRAGMAS = {
    "journal_mode": "wal",  # readers never block the writer
    "synchronous": "normal",  # durable at checkpoints; safe with WAL
    "busy_timeout": 15000,  # wait for the lock instead of 'database is locked'
    "foreign_keys": 1,
    # SQLite's default 2 MB page cache per connection, and there is one connection per thread. At
    # 16 MB, a daemon reading a day of history for its learning jobs grew by tens of MB
    # (bench/bench_memory.py), and the jobs ran no faster: the file's pages stay in the OS cache.
    "cache_size": -2000,
}


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False


class Meta(BaseModel):
    """Key/value facts about the database itself, such as the schema version."""

    key = peewee.CharField(primary_key=True, max_length=64)
    value = peewee.TextField()


def _is_url(target: str) -> bool:
    return "://" in target


def connect(target: str | os.PathLike) -> peewee.Database:
    """A peewee Database for a SQLite path or a `sqlite:///` / `postgresql://` URL."""
    target = str(target)
    if _is_url(target):
        scheme = target.split("://", 1)[0]
        if not scheme.startswith(("sqlite", "postgres")):  # peewee knows MySQL too; the registry is not tested there
            raise UserError(f"--db {target}: unsupported database {scheme!r}: use a SQLite path, sqlite:///PATH "
                            "or postgresql://USER@HOST/DB")
        kwargs = {}
        if target.startswith("sqlite"):
            kwargs = {"pragmas": SQLITE_PRAGMAS, "lock_type": "IMMEDIATE"}
        try:
            from playhouse.db_url import connect as connect_url  # imports every backend: 1.7 MB, URLs only

            return connect_url(target, **kwargs)
        except Exception as exc:  # unknown scheme, missing driver
            raise UserError(f"--db {target}: {exc}") from None
    return peewee.SqliteDatabase(target, pragmas=SQLITE_PRAGMAS, lock_type="IMMEDIATE")


def describe(db: peewee.Database) -> str:
    return str(getattr(db, "database", db))


# Steps that alter tables which already exist: (version, function). A new table
# needs no step: create_tables(safe=True) adds it on the next open.
MIGRATIONS: list[tuple[int, Callable[[peewee.Database], None]]] = []
SCHEMA_VERSION = max([1, *(v for v, _ in MIGRATIONS)])


def schema_version(db: peewee.Database) -> int:
    row = Meta.get_or_none(Meta.key == "schema_version")
    return int(row.value) if row else 0


def migrate(db: peewee.Database, models: list[type[BaseModel]]) -> int:
    """Create missing tables, run pending migration steps; returns the version."""
    with db.atomic():
        db.create_tables([Meta, *models], safe=True)
        current = schema_version(db)
        if current > SCHEMA_VERSION:
            raise UserError(
                f"{describe(db)}: schema version {current} is newer than this grace-tui "
                f"understands ({SCHEMA_VERSION}); upgrade grace-tui"
            )
        for version, step in MIGRATIONS:
            if version > current:
                step(db)
        if current != SCHEMA_VERSION:
            Meta.insert(key="schema_version", value=str(SCHEMA_VERSION)).on_conflict(
                conflict_target=[Meta.key], update={Meta.value: str(SCHEMA_VERSION)}
            ).execute()
    return SCHEMA_VERSION


def check_sqlite_file(path: Path) -> None:
    """Refuse a file that exists but is not a SQLite database, before touching it."""
    if path.exists() and path.stat().st_size > 0:
        with open(path, "rb") as f:
            header = f.read(16)
        if header != b"SQLite format 3\x00":
            raise UserError(f"{path}: not a SQLite database (refusing to touch it)")
