"""Who is acting: recorded with acknowledgements, approvals and rollbacks."""

from __future__ import annotations

import getpass


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (e.g. a uid with no passwd entry in a container)
        return "unknown"
