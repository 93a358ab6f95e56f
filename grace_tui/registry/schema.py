"""Every table the registry owns. A new domain module adds its models here."""

from grace_tui.registry.commands import Command
from grace_tui.registry.governance import ConfigVersion, LearnedOverride, Proposal
from grace_tui.registry.learned import KnownListener, RemediationOutcome
from grace_tui.registry.incidents import Incident, IncidentEvent
from grace_tui.registry.metrics import MetricSample, MetricSeries, ModelState
from grace_tui.registry.models import Task, TaskStat
from grace_tui.registry.services import ServiceState

ALL_MODELS = [Task, TaskStat, Incident, IncidentEvent, Command, ServiceState, ConfigVersion, Proposal,
              MetricSeries, MetricSample, ModelState, RemediationOutcome, KnownListener, LearnedOverride]
