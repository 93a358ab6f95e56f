"""Config: discovery, validation with FILE:LINE: field: message, overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from grace_tui.cli.main import main
from grace_tui.config import ConfigInvalid, config_from_dict, load_config

ROOT = Path(__file__).resolve().parents[1]


def test_example_config_is_valid():
    config = load_config(ROOT / "examples" / "config.toml")
    web = config.services["web"]
    assert web.mode == "managed" and web.port == 8765 and web.command[0] == "python3"
    assert web.actions_for("port_in_use") == ["free_port", "restart"]
    assert config.source_path == ROOT / "examples" / "config.toml"


def test_builtin_default_watches_the_host(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setattr("grace_tui.config.loader.SYSTEM_CONFIG", tmp_path / "none.toml")
    config = load_config(None)
    assert config.services == {} and config.host.enabled and config.source_path is None


def test_xdg_config_is_discovered(tmp_path, monkeypatch):
    (tmp_path / "grace-tui").mkdir()
    (tmp_path / "grace-tui" / "config.toml").write_text("[host]\nsamples = 7\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert load_config(None).host.samples == 7


BAD = """\
[supervisor]
check_interval = -1

[services.web]
command = "python3 -m http.server"
port = 70000

[services.w]
pidfile = "/run/w.pid"
cmdline_pattern = "("
frobnicate = true

[services.x]
command = ["true"]
remediation = { process_down = ["reboot"] }
"""


def test_config_check_prints_every_error_with_file_and_line(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(BAD)
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert f"{path}:2: supervisor.check_interval: must be greater than 0, got -1.0" in err
    assert any(line.startswith(f"{path}:5: services.web.command: must be a non-empty list") for line in err)
    assert any(line.startswith(f"{path}:6: services.web.port: must be between 1 and 65535") for line in err)
    assert any(line.startswith(f"{path}:10: services.w.cmdline_pattern: not a valid regular expression")
               for line in err)
    assert any(line.startswith(f"{path}:11: services.w.frobnicate: unknown option") for line in err)
    assert any(line.startswith(f"{path}:15: services.x.remediation.process_down: unknown action 'reboot'")
               for line in err)
    assert "Traceback" not in "\n".join(err)


@pytest.mark.parametrize("text, line", [
    ("[services.a\ncommand = ['x']\n", 1),
    ("[host]\nsamples = \n", 2),
    ("a = 1\na = 2\n", 2),
    ("x = [\n", 1),
])
def test_malformed_toml_is_one_line_per_error(tmp_path, capsys, text, line):
    path = tmp_path / "c.toml"
    path.write_text(text)
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"{path}:{line}: toml: ")


def test_daemon_refuses_a_bad_config_in_one_line(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text("[services.a]\nport = 1\n")
    assert main(["daemon", "--config", str(path), "--state-dir", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"grace-tui: {path}:1: services.a: a watched service needs")


def test_missing_and_binary_files(tmp_path, capsys):
    assert main(["config", "check", str(tmp_path / "nope.toml")]) == 2
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00")
    assert main(["config", "check", str(tmp_path / "bin.toml")]) == 2
    err = capsys.readouterr().err
    assert "file not found" in err and "cannot read" in err and "Traceback" not in err


def test_to_dict_overrides_revalidate_and_unknown_learning_keys_survive():
    config = config_from_dict({"services": {"a": {"command": ["true"], "cpu_max_pct": 80}},
                               "learning": {"sample_interval": 5, "future_knob": "x"},
                               "governance": {"auto_apply": False}})
    data = config.to_dict()
    data["services"]["a"]["cpu_max_pct"] = 95.0
    again = config_from_dict(data, source="override")
    assert again.services["a"].cpu_max_pct == 95.0 and config.services["a"].cpu_max_pct == 80
    assert again.learning == {"sample_interval": 5, "future_knob": "x"} and again.governance["auto_apply"] is False
    data["services"]["a"]["cpu_max_pct"] = "lots"
    with pytest.raises(ConfigInvalid) as info:
        config_from_dict(data, source="override")
    assert "override:0: services.a.cpu_max_pct: must be a number" in str(info.value)


def test_duplicate_ports_are_rejected():
    with pytest.raises(ConfigInvalid) as info:
        config_from_dict({"services": {"a": {"command": ["x"], "port": 80}, "b": {"command": ["y"], "port": 80}}})
    assert "services.b.port: port 80 is also used by service 'a'" in str(info.value)
