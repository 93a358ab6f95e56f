"""Audit log speed: appends per second (each flushed and fsynced) and entries verified per second.

Usage: python bench/bench_audit.py [N]   (default 20000 entries, in a temp dir)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from grace_tui.governance.audit import AuditLog, tail, verify


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "audit.jsonl"
        log = AuditLog(path)
        data = {"incident": "1m87e09a0agj6", "kind": "process_down", "service": "web", "message": "restart: pid 4242"}
        start = time.perf_counter()
        for _ in range(n):
            log.append("remediation", "supervisor", data)
        append_s = time.perf_counter() - start
        start = time.perf_counter()
        result = verify(path)
        verify_s = time.perf_counter() - start
        start = time.perf_counter()
        tail(path, 20)
        tail_s = time.perf_counter() - start
        assert result.ok and result.checked == n, result
        print(f"entries: {n}, file {path.stat().st_size / 1e6:.1f} MB")
        print(f"append (flush+fsync each): {n / append_s:,.0f}/s ({append_s / n * 1e3:.3f} ms each)")
        print(f"verify: {n / verify_s:,.0f} entries/s ({verify_s:.2f} s)")
        print(f"tail -n 20: {tail_s * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
