"""Plain text shared by the engine, the CLI and the pane: counts in words, and text from outside
(a job's title, a command's output, a name in an error) made safe to print on a terminal."""

from __future__ import annotations

import re


def count(n: int, noun: str) -> str:
    """ "1 listener", "3 listeners"."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


# Terminal escape sequences, dropped whole: CSI (colours, cursor, "clear screen"), OSC (window title,
# hyperlinks; ended by BEL or ST, or unterminated) and the two-byte ESC forms.
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]?|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-_])|\x9b[0-?]*[ -/]*[@-~]?")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def one_line(text: str) -> str:
    """Text grace-tui did not write (a job's title, a name in an error) made inert for one line of a
    terminal: a line break shown as ↵, a tab as a space, any other control character as \\xNN (ESC
    too, so "\\x1b[2J" is read, not obeyed). Raw, a title could clear the screen or retitle the window."""
    if text.isprintable():
        return text
    return _CONTROLS.sub(_visible, text.replace("\r\n", "\n"))


def inert_lines(text: str) -> list[str]:
    """A command's output for several lines: its colours and other escape sequences dropped (they
    are formatting, not what it said), then each line made inert as by one_line."""
    return [one_line(line) for line in _ESCAPES.sub("", text).splitlines()]


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    return "↵" if char in "\n\r" else " " if char == "\t" else f"\\x{ord(char):02x}"
