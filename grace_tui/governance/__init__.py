"""Governance: the audit log, config versions and proposals, learned remediation,
threshold tuning and host inventory."""
