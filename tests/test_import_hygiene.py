"""The engine runs without a screen: importing it must not pull in Textual."""

from __future__ import annotations

import subprocess
import sys

ENGINE_MODULES = [
    "grace_tui.registry",
    "grace_tui.incidents",
    "grace_tui.engine",
    "grace_tui.cli.main",
]


def test_engine_never_imports_textual() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        f"for name in {ENGINE_MODULES!r}: importlib.import_module(name)\n"
        "import grace_tui\n"
        "for info in pkgutil.walk_packages(grace_tui.__path__, 'grace_tui.'):\n"
        "    if '.tui' not in info.name and not info.name.endswith('__main__'): importlib.import_module(info.name)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(len(bad))\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
