"""Find the line of a TOML key by scanning the text, so errors can say FILE:LINE.

tomllib gives values without positions; this scanner records the first line of
every table header and key (dotted path), which is enough to point at a field.
"""

from __future__ import annotations

import re
import tomllib

_HEADER = re.compile(r"""^\s*\[\[?\s*((?:"[^"]*"|'[^']*'|[^\]"'])+?)\s*\]\]?\s*(#.*)?$""")
_KEY = re.compile(r"""^\s*((?:"[^"]*"|'[^']*'|[A-Za-z0-9_\-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_\-]+))*)\s*=""")
_PART = re.compile(r"""\s*("[^"]*"|'[^']*'|[A-Za-z0-9_\-]+)\s*(?:\.|$)""")


def _split(dotted: str) -> tuple[str, ...]:
    return tuple(_key(m.group(1)) for m in _PART.finditer(dotted) if m.group(1))


def _key(part: str) -> str:
    """A key as tomllib gives it: quotes removed, and a basic string's escapes ("\\u001b") decoded."""
    if part.startswith('"') and "\\" in part:
        try:
            return next(iter(tomllib.loads(f"{part} = 0")))
        except tomllib.TOMLDecodeError:
            pass  # the parser reports it
    return part.strip("\"'")


class Locator:
    def __init__(self, text: str):
        self.lines: dict[tuple[str, ...], int] = {}
        table: tuple[str, ...] = ()
        in_multiline = False
        for number, line in enumerate(text.splitlines(), start=1):
            if in_multiline:  # skip the body of a multi-line string
                if line.count('"""') % 2 == 1 or line.count("'''") % 2 == 1:
                    in_multiline = False
                continue
            header = _HEADER.match(line)
            if header:
                table = _split(header.group(1))
                self.lines.setdefault(table, number)
                continue
            key = _KEY.match(line)
            if key:
                self.lines.setdefault(table + _split(key.group(1)), number)
                if line.count('"""') % 2 == 1 or line.count("'''") % 2 == 1:
                    in_multiline = True

    def line(self, path: tuple[str, ...]) -> int:
        """The line of `path`, else of its closest enclosing table; 0 if unknown."""
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return 0
