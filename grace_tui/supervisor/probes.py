"""Checks that touch the network: a TCP connect and an HTTP GET, on 127.0.0.1 by default."""

from __future__ import annotations

import socket
import time
from typing import Callable
from urllib.parse import urlsplit


def tcp_connect_ms(port: int, timeout: float, host: str = "127.0.0.1") -> float | None:
    """Milliseconds to connect to an IPv4 address, or None when nothing accepts.

    A plain socket, not create_connection(): that resolves the address through getaddrinfo
    (and the IDNA codec) on every call, a third of a probe's CPU for a literal address."""
    start = time.perf_counter()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect((host, port))
            return (time.perf_counter() - start) * 1000
    except OSError:
        return None


def port_accepting(port: int, timeout: float = 0.2) -> bool:
    return tcp_connect_ms(port, timeout) is not None


def http_check(url: str, expected_status: int, timeout: float) -> tuple[bool, str]:
    """GET `url`; (ok, what happened)."""
    import http.client  # only for services with an HTTP check: it pulls in ssl and email (~3 MB)

    parts = urlsplit(url)
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = cls(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        conn.request("GET", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
        status = conn.getresponse().status
        return status == expected_status, f"HTTP {status} (expected {expected_status})"
    except (OSError, http.client.HTTPException) as exc:
        return False, f"GET {url} failed: {exc}"
    finally:
        conn.close()


def wait_until(condition: Callable[[], bool], timeout: float, still_worth_it: Callable[[], bool] = lambda: True,
               ) -> float | None:
    """Poll `condition` every 5 ms for the first 100 ms, then backing off to 100 ms.

    Returns the time.time() when it held, or None on timeout or once `still_worth_it` says stop
    (e.g. the process died meanwhile)."""
    deadline = time.monotonic() + timeout
    start = time.monotonic()
    while True:
        if condition():
            return time.time()
        if not still_worth_it() or time.monotonic() >= deadline:
            return None
        elapsed = time.monotonic() - start
        time.sleep(0.005 if elapsed < 0.1 else min(0.1, 0.01 + elapsed / 20))
