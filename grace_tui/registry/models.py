"""The task registry's tables. Other domains add their models in their own modules
of this package and list them in `registry.schema.ALL_MODELS`."""

from __future__ import annotations

import peewee

from grace_tui.registry.db import BaseModel

ACTIVE_STATUSES = ("pending", "active")
TERMINAL_STATUSES = ("completed", "failed", "cancelled", "interrupted")
STATUSES = ACTIVE_STATUSES + TERMINAL_STATUSES


class Task(BaseModel):
    """One unit of work of any subsystem: an incident, a training job, a backup."""

    id = peewee.CharField(primary_key=True, max_length=16)  # time-sortable
    subsystem = peewee.CharField(max_length=64)
    kind = peewee.CharField(max_length=64)
    title = peewee.CharField(max_length=500)
    status = peewee.CharField(max_length=16)
    progress = peewee.FloatField(default=0.0)
    message = peewee.TextField(default="")
    created_at = peewee.DoubleField()  # epoch seconds, UTC
    started_at = peewee.DoubleField(null=True)
    completed_at = peewee.DoubleField(null=True)
    updated_at = peewee.DoubleField()
    duration_s = peewee.DoubleField(null=True)
    result = peewee.TextField(null=True)  # JSON
    error = peewee.TextField(null=True)
    host = peewee.CharField(max_length=255)
    ref = peewee.CharField(max_length=255, null=True)  # e.g. the incident or job it mirrors

    class Meta:
        indexes = (
            (("status", "created_at"), False),  # what is active now
            (("completed_at",), False),  # recently completed
            (("subsystem", "status"), False),
            (("updated_at",), False),  # has anything changed since I last looked
            (("ref",), False),
        )


class TaskStat(BaseModel):
    """Running counts and durations per (subsystem, status), kept in step with Task
    inside the same transaction, so stats cost the same at 1 row or 10 million."""

    subsystem = peewee.CharField(max_length=64)
    status = peewee.CharField(max_length=16)
    count = peewee.BigIntegerField(default=0)
    duration_sum = peewee.DoubleField(default=0.0)
    duration_n = peewee.BigIntegerField(default=0)

    class Meta:
        primary_key = peewee.CompositeKey("subsystem", "status")
