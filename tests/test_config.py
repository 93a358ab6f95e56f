"""Config: discovery, validation with FILE:LINE: field: message, overrides."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from grace_tui.cli.main import main
from grace_tui.config import ConfigInvalid, config_from_dict, load_config
from grace_tui.learning.settings import LearningSettings

ROOT = Path(__file__).resolve().parents[1]


def test_example_config_is_valid():
    config = load_config(ROOT / "examples" / "config.toml")
    web = config.services["web"]
    assert web.mode == "managed" and web.port == 8765 and web.command[0] == "python3"
    assert web.actions_for("port_in_use") == ["free_port", "restart"]
    assert config.source_path == ROOT / "examples" / "config.toml"


def test_example_config_names_every_rebindable_pane_key():
    from grace_tui.config.model import PANE_KEYS

    text = (ROOT / "examples" / "config.toml").read_text()
    listed = text[text.index("Rebind any of:"):text.index("[tui]")].replace("#", " ").split()
    missing = [k for k in PANE_KEYS if k not in listed and k not in ("panel-2", "panel-3", "panel-4", "panel-5")]
    assert missing == []


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
accept_timeout = -2
user = "no-such-user-of-grace"
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
    assert f"{path}:16: services.x.accept_timeout: must not be negative, got -2.0" in err
    assert f"{path}:17: services.x.user: no such user 'no-such-user-of-grace' on this host" in err
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


def test_to_dict_overrides_revalidate_and_learning_settings_survive():
    config = config_from_dict({"services": {"a": {"command": ["true"], "cpu_max_pct": 80}},
                               "learning": {"sample_interval_s": 5, "anomaly_threshold": 0.3},
                               "governance": {"auto_approve": False}})
    data = config.to_dict()
    data["services"]["a"]["cpu_max_pct"] = 95.0
    again = config_from_dict(data, source="override")
    assert again.services["a"].cpu_max_pct == 95.0 and config.services["a"].cpu_max_pct == 80
    assert again.learning == {"sample_interval_s": 5, "anomaly_threshold": 0.3}
    assert again.governance["auto_approve"] is False
    data["services"]["a"]["cpu_max_pct"] = "lots"
    with pytest.raises(ConfigInvalid) as info:
        config_from_dict(data, source="override")
    assert "override:0: services.a.cpu_max_pct: must be a number" in str(info.value)


def test_duplicate_ports_are_rejected():
    with pytest.raises(ConfigInvalid) as info:
        config_from_dict({"services": {"a": {"command": ["x"], "port": 80}, "b": {"command": ["y"], "port": 80}}})
    assert "services.b.port: port 80 is also used by service 'a'" in str(info.value)


def test_config_check_reports_every_bad_or_misspelt_learning_key_with_its_line(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[learning]\nworkers = 0\nsample_intervall_s = 10\nschedule = { train_anomaly = -1 }\n"
                    "anomaly_threshold = 2\ndisk_paths = \"/\"\n")
    result = subprocess.run([sys.executable, "-m", "grace_tui", "config", "check", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"{path}:2: learning.workers: expected a positive number, got 0",
        f"{path}:3: learning.sample_intervall_s: unknown option; expected one of " + ", ".join(
            sorted(f.name for f in dataclasses.fields(LearningSettings))),
        f"{path}:4: learning.schedule.train_anomaly: expected a positive number, got -1",
        f"{path}:5: learning.anomaly_threshold: expected a score in (0, 1], got 2",
        f"{path}:6: learning.disk_paths: expected a list of paths",
    ]


def test_governance_bounds_are_checked_like_every_other_section():
    with pytest.raises(ConfigInvalid) as info:
        config_from_dict({"governance": {"auto_approve": "yes", "max_threshold_change_pct": -5, "max_change": 1}})
    errors = info.value.errors
    assert any("governance.auto_approve: must be true or false" in e for e in errors), errors
    assert any("governance.max_threshold_change_pct: must be greater than 0, got -5" in e for e in errors), errors
    assert any("governance.max_change: unknown option" in e for e in errors), errors
    ok = config_from_dict({"governance": {"auto_approve": False}, "learning": {"tuning_min_acks": 3}})
    assert ok.governance == {"auto_approve": False} and ok.learning == {"tuning_min_acks": 3}


def test_pane_keys_are_checked_with_their_lines(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[tui]\ncolour = "red"\n[tui.keys]\nacknowledge = "A"\nfrobnicate = "x"\nretry = ""\n'
                    'silence = 5\nhelp = "f1,ctrl+h"\n')
    with pytest.raises(ConfigInvalid) as info:
        load_config(path)
    errors = sorted(info.value.errors)
    assert errors[0].startswith(f"{path}:2: tui.colour: unknown option")
    assert errors[1].startswith(f"{path}:5: tui.keys.frobnicate: unknown action; expected one of acknowledge, ")
    assert errors[2].startswith(f"{path}:6: tui.keys.retry: must be a key such as")
    assert errors[3].startswith(f"{path}:7: tui.keys.silence: must be a key such as") and errors[3].endswith("got 5")
    assert len(errors) == 4
    path.write_text('[tui]\nkeys = { acknowledge = "A", help = "f1,ctrl+h" }\n')
    assert load_config(path).tui.keys == {"acknowledge": "A", "help": "f1,ctrl+h"}


def test_grace_tui_config_names_the_file_after_config_and_before_the_usual_places(tmp_path, monkeypatch):
    from_env = tmp_path / "env.toml"
    from_env.write_text("[services.env-web]\ncommand = [\"true\"]\n")
    explicit = tmp_path / "explicit.toml"
    explicit.write_text("[services.explicit-web]\ncommand = [\"true\"]\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("GRACE_TUI_CONFIG", str(from_env))
    assert list(load_config().services) == ["env-web"]
    assert list(load_config(explicit).services) == ["explicit-web"]
    monkeypatch.setenv("GRACE_TUI_CONFIG", str(tmp_path / "typo.toml"))
    with pytest.raises(ConfigInvalid) as info:
        load_config()
    assert info.value.errors == [f"{tmp_path / 'typo.toml'}:0: config: file not found"]


def test_config_check_warns_of_a_service_port_inside_the_ephemeral_range(tmp_path, capsys):
    low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    path = tmp_path / "config.toml"
    path.write_text(f'[services.inside]\ncommand = ["x"]\nport = {low}\n\n'
                    f'[services.below]\ncommand = ["y"]\nport = {low - 1}\n')
    assert main(["config", "check", str(path)]) == 0  # a warning, not an error
    warnings = capsys.readouterr().err.splitlines()
    assert warnings == [f"{path}: warning: services.inside: port {low} is inside this host's ephemeral port range "
                        f"({low}-{high}): while the service is down, a client's connect() to it can take the port "
                        f"as its own and hold it in TIME_WAIT for 60 s, and no restart can bind it until then; "
                        f"a port below {low} is safe"]


def test_a_bad_quoted_service_name_is_pointed_at_and_printed_inert(tmp_path, capsys):
    """Quoted TOML keys may hold "]" or escapes; the error still names the line of their table, and
    the name is printed without the escape sequence it spells."""
    path = tmp_path / "c.toml"
    path.write_text('[host]\nenabled = false\n\n[services."a/[/x]"]\ncommand = ["true"]\n\n'
                    '[services."we\\u001b[2Jb"]\ncommand = ["true"]\n')
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert [line.split(": service names")[0] for line in err] == [f"{path}:4: services.a/[/x]",
                                                                   f"{path}:7: services.we\\x1b[2Jb"]


def test_options_of_the_other_mode_and_a_missing_mount_are_errors_not_ignored(tmp_path, capsys):
    """Accepted and ignored, each would mislead: a managed service's process_name matches nothing,
    a watched one's command never runs, a misspelt mount's free space is never looked at."""
    path = tmp_path / "c.toml"
    path.write_text('[host]\nmounts = ["/", "/no-such-mount-of-grace"]\n'
                    '[services.m]\ncommand = ["sleep", "1"]\nprocess_name = "sleep"\nrestart = ["true"]\n'
                    '[services.w]\nmode = "watched"\nprocess_name = "sleep"\ncommand = ["sleep", "1"]\n')
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"{path}:2: host.mounts: /no-such-mount-of-grace: no such directory on this host",
        f"{path}:5: services.m.process_name: only for a watched service; this one is managed (it has `command`)",
        f"{path}:6: services.m.restart: only for a watched service; this one is managed (it has `command`)",
        f"{path}:10: services.w.command: a watched service is started by its `start` argv; `command` is for a "
        "managed one",
    ]
