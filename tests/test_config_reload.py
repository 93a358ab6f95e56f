"""Hot reload through the Engine: good changes applied without touching other services, bad ones rejected."""

from __future__ import annotations

import pytest

from grace_tui.errors import ConfigError
from supervisor_helpers import banner_pid, echo_argv, free_port, running_engine, wait_for


def _toml(services: dict[str, int]) -> str:
    out = ["[supervisor]", "check_interval = 60.0", "[host]", "enabled = false"]
    for name, port in services.items():
        argv = ", ".join(f'"{a}"' for a in echo_argv(port))
        out += [f"[services.{name}]", f"command = [{argv}]", f"port = {port}"]
    return "\n".join(out) + "\n"


def test_hot_reload_good_then_bad(tmp_path):
    a, b = free_port(), free_port()
    path = tmp_path / "config.toml"
    path.write_text(_toml({"a": a}))
    events = []
    with running_engine(tmp_path, path) as engine:
        engine.registry.events.subscribe(lambda e: events.append(e) if e.topic == "config" else None)
        first_a = wait_for(lambda: banner_pid(a), what="a up")
        path.write_text(_toml({"a": a, "b": b}))
        wait_for(lambda: banner_pid(b), what="b started by reload")
        assert banner_pid(a) == first_a  # untouched service kept running
        assert any(e.key == "applied" and e.data["added"] == ["b"] for e in events)

        path.write_text(_toml({"a": a, "b": b}).replace(f"port = {b}", "port = 'nope'"))
        rejected = wait_for(lambda: [e for e in events if e.key == "rejected"], what="bad config rejected")
        assert "services.b.port: must be an integer" in rejected[0].data
        assert set(engine.supervisor.runners) == {"a", "b"} and banner_pid(b) and banner_pid(a) == first_a
    assert banner_pid(a) is None and banner_pid(b) is None


def test_reload_now_applies_or_rejects_without_the_watcher(tmp_path):
    """What SIGHUP does: read the file at once. The watcher is off, so only reload_config() can apply it."""
    a, b = free_port(), free_port()
    path = tmp_path / "config.toml"
    path.write_text(_toml({"a": a}))
    with running_engine(tmp_path, path, watch_config=False) as engine:
        first_a = wait_for(lambda: banner_pid(a), what="a up")
        assert engine.reload_config().endswith(": unchanged")
        path.write_text(_toml({"a": a, "b": b}))
        assert engine.reload_config() == f"{path.resolve()}: applied"
        wait_for(lambda: banner_pid(b), what="b started by the reload")
        assert banner_pid(a) == first_a

        path.write_text("[services.b\n")
        with pytest.raises(ConfigError, match="^rejected, keeping the last good config: .*config.toml:1"):
            engine.reload_config()
        assert set(engine.supervisor.runners) == {"a", "b"} and banner_pid(a) == first_a
        # asked again, the file is still bad: say so again (it answered "unchanged", as if all were well)
        with pytest.raises(ConfigError, match="^rejected, keeping the last good config: .*config.toml:1"):
            engine.reload_config()
        path.write_text(_toml({"a": a, "b": b}))  # back to what runs
        assert engine.reload_config().endswith(": unchanged")


def test_a_change_that_cannot_be_applied_does_not_end_the_watching(tmp_path, monkeypatch):
    """An error while applying (not a bad file: say the state dir's disk is full) ended the watch
    thread, and later edits were silently never applied."""
    from grace_tui.config.watch import ConfigWatcher

    monkeypatch.setattr("grace_tui.config.watch.STEP_MS", 50)
    path = tmp_path / "config.toml"
    path.write_text("[host]\nsamples = 3\n")
    applied: list[int] = []

    def apply(config):
        applied.append(config.host.samples)
        if len(applied) == 1:
            raise OSError("database or disk is full")

    def edited(samples: int) -> bool:  # written until seen: the watch may not be set up yet
        if samples not in applied:
            path.write_text(f"[host]\nsamples = {samples}\n")
        return samples in applied

    watcher = ConfigWatcher(path, apply, lambda error: None)
    watcher.start()
    try:
        wait_for(lambda: edited(4), what="the first change tried")
        wait_for(lambda: edited(5), what="the next change applied")
    finally:
        watcher.stop(wait=True)
