"""The learning subsystem of one engine: metric sampler, online monitor, job runner."""

from __future__ import annotations

from typing import Any

from grace_tui.learning.jobs import register_standard_jobs
from grace_tui.learning.online import OnlineMonitor
from grace_tui.learning.runner import LearningRunner
from grace_tui.learning.sampler import MetricSampler, ServiceSource, services_from_registry
from grace_tui.learning.settings import LearningSettings
from grace_tui.registry import Registry


class LearningService:
    def __init__(self, registry: Registry, incidents: Any, config: dict[str, Any] | LearningSettings | None = None,
                 *, source: str = "config", services: ServiceSource = services_from_registry):
        self.source = source  # named in errors: "FILE: learning.KEY: ..."
        self.settings = (config if isinstance(config, LearningSettings)
                         else LearningSettings.from_dict(config, source=source))
        self.online = OnlineMonitor(incidents, self.settings)
        self.sampler = MetricSampler(self.settings, on_samples=self.online.on_samples, services=services)
        self.runner = LearningRunner(registry, incidents, workers=self.settings.workers)
        register_standard_jobs(self.runner, self.online, self.settings)

    def start(self, *, sample: bool = True, schedule: bool = True) -> "LearningService":
        self.online.load()
        if sample:
            self.sampler.start()
        self.runner.start(schedule=schedule)
        return self

    def apply_config(self, config: dict[str, Any] | None) -> None:
        """A reloaded `[learning]` table: checked first (ConfigError leaves all as it was),
        then applied in place, so sampler, monitor and jobs see it at their next step.
        The worker count applies at the next start."""
        new = LearningSettings.from_dict(config, source=self.source)
        for name in vars(new):
            setattr(self.settings, name, getattr(new, name))
        for spec in self.runner.jobs():
            self.runner.reschedule(spec.name, self.settings.schedule.get(spec.name))

    def stop(self) -> None:
        self.sampler.stop()
        self.runner.stop()
