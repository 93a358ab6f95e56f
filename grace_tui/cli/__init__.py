"""The `grace-tui` command line. Each module here adds one group of subcommands."""

import sys

# The program hashes with SHA-256 only (the audit chain), which CPython also has built in. Left
# alone, the `import hashlib` in peewee loads OpenSSL's libcrypto through _hashlib: 3.4 MB of RSS
# in a daemon that never uses it (bench/bench_supervisor.py). hashlib falls back to its built-in
# hashes when _hashlib cannot be imported. Done here, before anything imports hashlib, so that
# it applies to the `grace-tui` process only, never to a program importing grace_tui's API.
sys.modules.setdefault("_hashlib", None)  # type: ignore[arg-type]
