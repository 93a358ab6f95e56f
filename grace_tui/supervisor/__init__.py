"""The self-healing supervisor: managed and watched services, checks, remediation."""

from grace_tui.supervisor.core import Supervisor

__all__ = ["Supervisor"]
