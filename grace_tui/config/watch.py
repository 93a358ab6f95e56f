"""Hot reload: watch the config file with watchfiles and hand each valid version on.

The directory is watched (editors replace files by rename); an invalid version is
reported through `on_error` and the last good config keeps running.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Callable

from grace_tui.config.loader import load_config
from grace_tui.config.model import Config
from grace_tui.errors import ConfigError

log = logging.getLogger(__name__)
# watchfiles' Rust side sleeps `step` ms between looks (each look costs a wake-up with the GIL)
# and hands a change on at the first look that finds no newer one: an edit is applied 5-10 s
# after it is saved. SIGHUP (`systemctl reload`) applies it at once.
STEP_MS = 5000


class ConfigWatcher:
    def __init__(self, path: Path, on_config: Callable[[Config], None], on_error: Callable[[str], None]):
        self.path = Path(path).resolve()
        self.on_config = on_config
        self.on_error = on_error
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_text: str | None = self._read()  # the text of the config running now
        self._reload_lock = threading.Lock()  # the watch thread and a SIGHUP may both reload

    def _read(self) -> str | None:
        try:
            return self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="grace-config-watch", daemon=True)
        self._thread.start()

    def stop(self, wait: bool = False) -> None:
        """Stop watching. The thread notices within STEP_MS; nothing is applied after stop()."""
        self._stop.set()
        if self._thread and wait:
            self._thread.join(timeout=STEP_MS / 1000 + 5)

    def _run(self) -> None:
        from watchfiles import watch

        name = self.path.name
        try:
            # step: how often the Rust side wakes (and takes the GIL) to check stop_event; 50 ms
            # by default would be 20 wake-ups a second for a file that changes a few times a year.
            # Not recursive: a state dir below the config's dir must not wake us at every write.
            for changes in watch(self.path.parent, stop_event=self._stop, debounce=1100, step=STEP_MS,
                                 rust_timeout=600_000, yield_on_timeout=False, recursive=False,
                                 watch_filter=lambda _change, p: Path(p).name == name):
                if changes and not self._stop.is_set():
                    try:
                        self.reload()
                    except ConfigError:
                        pass  # logged and reported through on_error; the last good config runs
                    except Exception:  # one change that could not be applied must not end the watching
                        from grace_tui.registry.db import log_failure

                        log_failure(log, "config change not applied, keeping the last good config")
        except Exception as exc:  # the watcher must never take the supervisor down
            log.error("config watcher stopped: %s", exc)

    def reload(self) -> str:
        """Load the file now and apply it if valid and changed; says what happened. An invalid
        file raises ConfigError (FILE:LINE: field: message) once `on_error` has been told."""
        with self._reload_lock:
            text = self._read()
            if text is None:
                return f"{self.path}: unreadable, keeping the last good config"
            if text == self._last_text:
                return f"{self.path}: unchanged"
            try:
                config = load_config(self.path)
            except ConfigError as exc:  # not remembered: asked again, a file still bad says so again
                log.error("config change rejected, keeping the last good config: %s", exc)
                self.on_error(str(exc))
                raise ConfigError(f"rejected, keeping the last good config: {exc}") from None
            self.on_config(config)
            self._last_text = text
            return f"{self.path}: applied"
