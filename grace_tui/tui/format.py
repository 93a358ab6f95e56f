"""Pure text formatting for the pane: durations, sizes, bars, sparklines.

No Textual here, so these are cheap to test and reuse in the CLI.
"""

from __future__ import annotations

SPARK_GLYPHS = "▁▂▃▄▅▆▇█"


def duration(seconds: float | None) -> str:
    """A compact duration: 850ms, 4.2s, 42s, 3m05s, 2h14m, 3d04h."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 10:
        return f"{seconds:.1f}s"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def coarse_age(seconds: float | None) -> str:
    """An age that changes at most once a minute after the first minute (no idle repaint)."""
    if seconds is None:
        return "-"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def minute_age(seconds: float | None) -> str:
    """Like coarse_age but "<1m" for the first minute: history need not tick every second."""
    if seconds is not None and seconds < 60:
        return "<1m"
    return coarse_age(seconds)


def size(num_bytes: float | None) -> str:
    if num_bytes is None:
        return "-"
    value = float(num_bytes)
    for unit in ("B", "K", "M", "G", "T"):
        if value < 1024 or unit == "T":
            return f"{value:.0f}{unit}" if unit == "B" or value >= 100 else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}T"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"


def bar(progress: float, width: int = 12) -> str:
    """A progress bar of box-drawing glyphs: ━ done, ─ to do."""
    progress = min(100.0, max(0.0, progress))
    done = round(width * progress / 100)
    return "━" * done + "─" * (width - done)


def sparkline(values: list[float] | None, width: int = 10) -> str:
    """The last `width` values scaled between their min and max."""
    if not values:
        return ""
    recent = [float(v) for v in values[-width:] if v is not None]
    if not recent:
        return ""
    low, high = min(recent), max(recent)
    span = high - low
    top = len(SPARK_GLYPHS) - 1
    if span <= 0:
        level = 0 if high == 0 else top // 2
        return SPARK_GLYPHS[level] * len(recent)
    return "".join(SPARK_GLYPHS[round((v - low) / span * top)] for v in recent)


def clip(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"
