"""The learning Done-when scenario, in real time, on a real Engine (about a minute).

    python3 bench/demo_learning.py [--state-dir DIR]

Starts an Engine with a fast learning config (sample every 0.5 s, train every
10 s, forecast every 3 s) and a managed service (a small TCP server), then
  1. lets history build up and training jobs run (progress printed as the pane would show it),
  2. starts a CPU burner beside the service (a child in its process tree),
  3. fills a watched directory (a file growing 2 MB/s toward a 200 MB quota),
and prints the learning tasks and the incidents that were opened. Nothing is
injected: the timestamps, CPU readings and file sizes are real.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grace_tui.engine import Engine  # noqa: E402
from grace_tui.paths import StatePaths  # noqa: E402
from grace_tui.registry import Registry  # noqa: E402

SERVICE = """
import os, signal, socket, subprocess, sys, time
burner = None
def stop(*_):
    if burner is not None:
        burner.kill()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
while True:  # while the file sys.argv[2] exists, a CPU burner child runs beside the service
    want = os.path.exists(sys.argv[2])
    if want and burner is None:
        burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    elif not want and burner is not None:
        burner.kill()
        burner.wait()
        burner = None
    time.sleep(0.2)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def show_learning(registry: Registry, seen: dict[str, str]) -> None:
    for task in registry.list_tasks(subsystem="learning", limit=20):
        line = f"{task.status:11} {task.progress:5.1f}% {task.elapsed_s():5.1f}s {task.title}: {task.message}"
        if seen.get(task.id) != line:
            seen[task.id] = line
            print(f"  [{task.id}] {line}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir")
    args = parser.parse_args()
    state = Path(args.state_dir or tempfile.mkdtemp(prefix="grace-demo-"))
    spool = state / "spool"
    spool.mkdir(parents=True, exist_ok=True)
    paths = StatePaths(state).ensure()
    registry = Registry.open(paths.root)
    config = state / "config.toml"
    script = state / "service.py"
    script.write_text(SERVICE)
    burn = state / "burn"
    port = free_port()
    config.write_text(f"""[host]
enabled = false

[services.web]
command = ["{sys.executable}", "{script}", "{port}", "{burn}"]
port = {port}
severity = "low"

[learning]
sample_interval_s = 0.5
first_run_s = 6
min_train_points = 10
sample_host = false
schedule = {{ train_anomaly = 10, forecast_exhaustion = 3 }}
watch_dirs = {{ "{spool}" = 200000000 }}
forecast_window_s = 20
forecast_horizon_s = 3600
""")
    engine = Engine(paths, registry, config)
    engine.start()
    seen: dict[str, str] = {}
    stop_fill = threading.Event()
    try:
        print(f"state dir {state}; phase 1: history and training")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            show_learning(registry, seen)
            time.sleep(0.5)
        print("phase 2: CPU burner beside the watched service; a file filling the watched dir")
        burn.touch()

        def fill() -> None:
            with open(spool / "app.log", "ab") as f:
                while not stop_fill.wait(0.25):
                    f.write(b"x" * 500_000)
                    f.flush()

        threading.Thread(target=fill, daemon=True).start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            show_learning(registry, seen)
            kinds = {i.kind for i in engine.incidents.open_incidents()}
            if {"anomaly", "forecast"} <= kinds:
                break
            time.sleep(0.5)
        print("incidents:")
        for incident in engine.incidents.recent(20):
            print(f"  {incident.kind:8} {incident.severity:6} {incident.state:8} {incident.summary}")
        last_train = next(t for t in registry.list_tasks(subsystem="learning") if t.ref == "train_anomaly"
                          and t.status == "completed")
        print("last training result:", {m: {k: s[k] for k in ("points", "expected", "max")}
                                         for m, s in last_train.result["models"].items()})
    finally:
        stop_fill.set()
        burn.unlink(missing_ok=True)
        engine.stop()  # stops the managed service (and its burner, a child it kills)
    return 0


if __name__ == "__main__":
    sys.exit(main())
