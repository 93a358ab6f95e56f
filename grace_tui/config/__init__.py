"""The config: one TOML file, validated into dataclasses, hot-reloaded."""

from grace_tui.config.loader import (ConfigInvalid, config_from_dict, config_from_text, find_config_path,
                                     load_config)
from grace_tui.config.model import (DEFAULT_REMEDIATION, INCIDENT_KINDS, Config, HostChecks, ServiceConfig,
                                    SupervisorSettings)

__all__ = ["DEFAULT_REMEDIATION", "INCIDENT_KINDS", "Config", "ConfigInvalid", "HostChecks", "ServiceConfig",
           "SupervisorSettings", "config_from_dict", "config_from_text", "find_config_path", "load_config"]
