"""The view-model: what the pane shows, read from the registry (never SQL here).

A `Source` loads one part of the pane at a time ("topics") so a change to one
service does not reload the task history. `RegistrySource` reads the live
registry (embedded and attached modes share it); `FixedSource` serves canned
views for snapshot tests. Everything returned is an immutable view, safe to hand
from the loader thread to the UI thread.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Protocol

from grace_tui.registry import Registry, TaskView
from grace_tui.registry.governance import ProposalView
from grace_tui.registry.incidents import IncidentView, TimelineEntry
from grace_tui.registry.learned import ActionStats
from grace_tui.registry.services import ServiceView

# What can change, and what the engine's event bus calls it.
TOPICS = ("service", "incident", "task", "proposal")

ACTIVE_LIMIT = 200  # tasks running now shown at most
RECENT_LIMIT = 50  # recent completions shown
INCIDENT_LIMIT = 100  # ended incidents shown under the open ones
LEARNING_SUBSYSTEM = "learning"
LEARNING_LIMIT = 30
HISTORY_PAGE = 100  # tasks per page of history (search results or older completions)


@dataclass(frozen=True)
class Overview:
    """The header line."""

    host: str
    boot_time: float | None
    open_count: int
    acked_count: int
    resolved_today: int
    mttr_today_s: float | None
    down_count: int = 0  # services the supervisor gave up on (failed, escalated)


@dataclass(frozen=True)
class TaskData:
    active: list[TaskView]
    recent: list[TaskView]


@dataclass(frozen=True)
class LearningData:
    jobs: list[TaskView]
    proposals: list[ProposalView]


@dataclass(frozen=True)
class HistoryPage:
    """One page of finished tasks from the registry, newest first (keyset paging on the task id)."""

    search: str  # "" when browsing
    before_id: str | None  # the page asked for: ids below this one
    tasks: list[TaskView]
    next_before_id: str | None  # ask for this next
    more: bool  # False once the oldest task was reached


@dataclass(frozen=True)
class LearnedAction:
    """One row of what was learned about healing: an action's record for (service, incident kind)."""

    stats: ActionStats
    preferred: bool  # the action the policy currently expects to heal best


@dataclass
class PaneData:
    """The latest of every part; a loader fills in the parts that changed."""

    overview: Overview | None = None
    services: list[ServiceView] = field(default_factory=list)
    incidents: list[IncidentView] = field(default_factory=list)
    tasks: TaskData = field(default_factory=lambda: TaskData([], []))
    learning: LearningData = field(default_factory=lambda: LearningData([], []))
    learned: list[LearnedAction] = field(default_factory=list)


class Source(Protocol):
    def load(self, topics: set[str], now: float) -> dict[str, Any]:
        """Fresh data for each topic: {"overview"|"services"|"incidents"|"tasks"|"learning"|"learned": ...}."""
        ...

    def marks(self) -> dict[str, float]:
        """When each topic last changed (cheap); lets a poller notice another process's writes."""
        ...

    def timeline(self, incident_id: str) -> tuple[IncidentView, list[TimelineEntry]]: ...

    def history(self, search: str, before_id: str | None, limit: int = HISTORY_PAGE) -> HistoryPage:
        """Finished tasks whose title contains `search` ("" for all), below `before_id`."""
        ...

    def service_log(self, name: str, lines: int) -> list[str]:
        """The last lines of a managed service's output; raises LookupError when it has none."""
        ...


def page_of(search: str, before_id: str | None, page: list[TaskView], limit: int) -> HistoryPage:
    """Keep the finished tasks of a raw page; the next page starts below its last task."""
    return HistoryPage(search, before_id, [t for t in page if t.completed_at is not None],
                       page[-1].id if page else before_id, len(page) == limit)


def parts_for(topics: set[str]) -> set[str]:
    """Which parts of the pane a change of `topics` affects."""
    parts: set[str] = set()
    if "service" in topics:
        parts |= {"services", "overview"}  # the header counts the services that are down
    if "incident" in topics:
        # a remediation's outcome is recorded before its incident changes: reload what was learned too
        parts |= {"incidents", "overview", "learned"}
    if "task" in topics:
        parts |= {"tasks", "learning"}
    if "proposal" in topics:
        parts.add("learning")
    return parts


def expected_score(stats: ActionStats) -> float:
    """The mean of the policy's Thompson draw (grace_tui.governance.policy): the posterior
    mean success rate, Beta(1 + successes, 1 + failures), times its recovery-speed factor."""
    from grace_tui.governance.policy import SPEED_TAU_S

    p = (1 + stats.successes) / (2 + stats.tries)
    ttr = stats.median_ttr_s
    return p * (1.0 if ttr is None else SPEED_TAU_S / (SPEED_TAU_S + ttr))


def learned_actions(stats: list[ActionStats]) -> list[LearnedAction]:
    """Mark, per (service, incident kind), the tried action with the best expected score."""
    best: dict[tuple[str, str], ActionStats] = {}
    for s in stats:
        key = (s.service, s.kind)
        if key not in best or expected_score(s) > expected_score(best[key]):
            best[key] = s
    return [LearnedAction(s, best[(s.service, s.kind)] is s) for s in stats]


def not_in_later_read(earlier: list[Any], later: list[Any]) -> list[Any]:
    """The rows of the earlier of two reads that the later one does not have. A row that changed
    in between (an incident resolved, a task completed) is then shown once, as last read: twice,
    it would be two table rows with one key."""
    seen = {row.id for row in later}
    return [row for row in earlier if row.id not in seen]


def local_midnight(now: float) -> float:
    day = datetime.fromtimestamp(now).astimezone()
    return day.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


class RegistrySource:
    """Reads the pane's data from the registry of one state dir."""

    def __init__(self, registry: Registry, host: str | None = None, state_dir: Path | None = None):
        self.registry = registry
        self.host = host or socket.gethostname()
        self.state_dir = state_dir  # where the services' output logs are
        self._boot_time: float | None = None
        self._seen_version: int | None = None
        self._seen_marks: dict[str, float] = {}

    def load(self, topics: set[str], now: float) -> dict[str, Any]:
        from grace_tui.registry import incidents as incident_store
        from grace_tui.registry import services as service_store

        out: dict[str, Any] = {}
        parts = parts_for(topics)
        if "services" in parts:
            out["services"] = service_store.list_services()
        if "incidents" in parts or "overview" in parts:
            open_now = incident_store.open_incidents()
            if "incidents" in parts:
                ended = [i for i in incident_store.list_incidents(INCIDENT_LIMIT) if not i.is_open]
                open_now = not_in_later_read(open_now, ended)
                out["incidents"] = open_now + ended
            resolved_today, mttr_today_s = incident_store.resolved_since(local_midnight(now))
            out["overview"] = Overview(
                host=self.host,
                boot_time=self.boot_time(),
                open_count=len(open_now),
                acked_count=sum(1 for i in open_now if i.acknowledged),
                resolved_today=resolved_today,
                mttr_today_s=mttr_today_s,
                down_count=service_store.count_down(),
            )
        if "tasks" in parts or "learning" in parts:
            # One pair of indexed queries serves both panels; a per-subsystem "recent" query
            # would sort a quarter of a million-row history.
            active = self.registry.active_tasks(limit=ACTIVE_LIMIT)
            recent = self.registry.recent_completions(RECENT_LIMIT)
            tasks = TaskData(not_in_later_read(active, recent), recent)
            if "tasks" in parts:
                out["tasks"] = tasks
            if "learning" in parts:
                from grace_tui.registry import governance

                jobs = [t for t in tasks.active + tasks.recent if t.subsystem == LEARNING_SUBSYSTEM]
                out["learning"] = LearningData(jobs[:LEARNING_LIMIT], governance.pending_proposals())
        if "learned" in parts:
            from grace_tui.registry import learned

            out["learned"] = learned_actions(learned.action_stats())
        return out

    def marks(self) -> dict[str, float]:
        from grace_tui.registry import incidents as incident_store
        from grace_tui.registry import services as service_store
        from grace_tui.registry.governance import last_proposal_change

        version = self.registry.data_version()
        if version is not None and version == self._seen_version:
            return self._seen_marks  # no other process has committed since the last look
        self._seen_version = version
        self._seen_marks = {
            "task": self.registry.last_change(),
            "incident": incident_store.last_incident_change(),
            "service": service_store.last_service_change(),
            "proposal": last_proposal_change(),
        }
        return self._seen_marks

    def timeline(self, incident_id: str) -> tuple[IncidentView, list[TimelineEntry]]:
        from grace_tui.registry import incidents as incident_store

        return incident_store.get_incident(incident_id), incident_store.timeline(incident_id)

    def history(self, search: str, before_id: str | None, limit: int = HISTORY_PAGE) -> HistoryPage:
        page = self.registry.list_tasks(search=search or None, before_id=before_id, limit=limit)
        return page_of(search, before_id, page, limit)

    def service_log(self, name: str, lines: int) -> list[str]:
        from grace_tui.supervisor.logs import last_lines, service_log

        path = service_log(self.state_dir, name) if self.state_dir else None
        if path is None or not path.exists():
            raise LookupError(f"{name} has no output log here (a managed service's output is in STATE/logs/)")
        return last_lines(path, lines)

    def boot_time(self) -> float | None:
        if self._boot_time is None:
            try:
                import psutil

                self._boot_time = psutil.boot_time()
            except Exception:  # containers without /proc/stat: show no uptime
                self._boot_time = None
        return self._boot_time


class FixedSource:
    """Canned views (snapshot tests, demos): the same every time."""

    def __init__(self, data: PaneData, timelines: dict[str, list[TimelineEntry]] | None = None,
                 logs: dict[str, list[str]] | None = None):
        self.data = data
        self.timelines = timelines or {}
        self.logs = logs or {}
        self.loads: list[set[str]] = []

    def load(self, topics: set[str], now: float) -> dict[str, Any]:
        self.loads.append(set(topics))
        parts = parts_for(topics)
        return {part: getattr(self.data, part) for part in parts}

    def marks(self) -> dict[str, float]:
        return {topic: 0.0 for topic in TOPICS}

    def timeline(self, incident_id: str) -> tuple[IncidentView, list[TimelineEntry]]:
        incident = next(i for i in self.data.incidents if i.id == incident_id)
        return incident, self.timelines.get(incident_id, [])

    def history(self, search: str, before_id: str | None, limit: int = HISTORY_PAGE) -> HistoryPage:
        tasks = sorted(self.data.tasks.active + self.data.tasks.recent, key=lambda t: t.id, reverse=True)
        page = [t for t in tasks if search.lower() in t.title.lower() and (before_id is None or t.id < before_id)]
        return page_of(search, before_id, page[:limit], limit)

    def service_log(self, name: str, lines: int) -> list[str]:
        if name not in self.logs:
            raise LookupError(f"{name} has no output log here")
        return self.logs[name][-lines:]


Clock = Callable[[], float]
SYSTEM_CLOCK: Clock = time.time
