"""`grace-tui drill --json`: real trials, real figures."""

from __future__ import annotations

import json

from grace_tui.cli.main import main


def test_drill_json(tmp_path, capsys):
    assert main(["drill", "--trials", "2", "--json", "--state-dir", str(tmp_path / "s")]) == 0
    data = json.loads(capsys.readouterr().out)
    kinds = [t["kind"] for t in data["trials"]]
    assert kinds == ["process_down", "process_down", "port_in_use"]
    assert all(t["resolved"] and t["mttr_s"] > 0 and t["detect_s"] >= 0 for t in data["trials"])
    mttrs = sorted(t["mttr_s"] for t in data["trials"])
    assert data["mttr_median_s"] == mttrs[1] and data["mttr_p90_s"] == mttrs[2]


def test_drill_rejects_bad_trials(capsys):
    assert main(["drill", "--trials", "0"]) == 2
    assert "--trials must be between" in capsys.readouterr().err
