"""grace-tui: a self-healing server monitor that lives in the terminal."""

__version__ = "0.1.0"
