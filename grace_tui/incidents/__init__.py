"""Incidents: the one writer (IncidentLog) and the append-only incidents.jsonl."""

from grace_tui.incidents.jsonl import JsonlRead, read_jsonl
from grace_tui.incidents.log import IncidentLog

__all__ = ["IncidentLog", "JsonlRead", "read_jsonl"]
