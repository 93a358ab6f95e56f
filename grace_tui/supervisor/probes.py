"""Checks that touch the network: a TCP connect and an HTTP GET, on 127.0.0.1 by default."""

from __future__ import annotations

import errno
import socket
import struct
import time
from typing import Callable, NamedTuple
from urllib.parse import urlsplit

from grace_tui.supervisor.procs import read_proc


class TcpProbe(NamedTuple):
    connect_ms: float | None  # None: nothing completed the handshake
    accepted: bool | None  # did the process accept() the connection? None: not asked

    @property
    def ok(self) -> bool:
        return self.connect_ms is not None and self.accepted is not False


def tcp_probe(port: int, timeout: float, accept_timeout: float = 0.0, host: str = "127.0.0.1") -> TcpProbe:
    """Connect to an IPv4 address; with `accept_timeout`, also wait that long for the listening
    process to accept() the connection. The kernel completes the handshake for a listener that
    is stopped or stuck until its backlog is full, so only the second question catches a hang."""
    start = time.perf_counter()
    try:
        with connect((host, port), timeout) as sock:
            ms = (time.perf_counter() - start) * 1000
            if accept_timeout <= 0:
                return TcpProbe(ms, None)
            mine = sock.getsockname()[1]
            accepted = wait_until(lambda: not waiting_in_accept_queue(port, mine), accept_timeout)
            return TcpProbe(ms, accepted is not None)
    except OSError:
        return TcpProbe(None, None)


def refuse_self_connection(sock: socket.socket) -> None:
    """Raise ConnectionRefusedError if `sock` is connected to itself, after an abortive close.

    With nothing listening on a port inside the ephemeral range (32768-60999 on Linux), a
    connect() to it can pick that same port as its source and complete by simultaneous open:
    a probe then "answers" for a dead service. Closed normally, that socket would sit in
    TIME_WAIT on the service's port for 60 s without SO_REUSEADDR, and every restart would
    fail to bind (EADDRINUSE) until the crash loop gave up. SO_LINGER 0 closes it with a RST:
    no TIME_WAIT, the port is free at once."""
    if sock.getsockname() != sock.getpeername():
        return
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    raise ConnectionRefusedError(errno.ECONNREFUSED, "nothing listens: the connect reached itself")


def connect(address: tuple[str, int], timeout: float | None = None,
            source_address: tuple[str, int] | None = None) -> socket.socket:
    """socket.create_connection() for probes (and http.client's connector), without two of its
    habits a probe cannot afford: resolving a literal IPv4 address through getaddrinfo and the
    IDNA codec (a third of a probe's CPU), and keeping a connection that reached itself."""
    try:
        socket.inet_pton(socket.AF_INET, address[0])
    except OSError:  # a host name or IPv6: resolved as the standard library does
        sock = socket.create_connection(address, timeout, source_address)
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(address)
        except BaseException:
            sock.close()
            raise
    refuse_self_connection(sock)
    return sock


def waiting_in_accept_queue(port: int, peer_port: int) -> bool:
    """Is the connection from 127.0.0.1:`peer_port` to `port` established but not yet accept()ed?

    The listener's side of such a connection belongs to no file yet: its inode is 0. A connection
    held back by TCP_DEFER_ACCEPT is not established yet, so it does not count: a server waiting
    for the client to speak is not hung. Asked of sock_diag for this one connection (about 20 µs
    however many sockets the host has), else read from /proc/net/tcp."""
    try:
        found = sock_diag_lookup(port, peer_port)
    except OSError:  # no sock_diag here
        found = proc_net_tcp_lookup(port, peer_port)
    return found == (TCP_ESTABLISHED, 0)


TCP_ESTABLISHED = 1
_SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST, _NETLINK_SOCK_DIAG = 20, 1, 4
_LOOPBACK = socket.inet_aton("127.0.0.1").ljust(16, b"\0")


def sock_diag_lookup(port: int, peer_port: int) -> tuple[int, int] | None:
    """(state, inode) of the server's side of a loopback connection, by an exact sock_diag
    lookup (inet_diag_req_v2; dual-stack listeners are found too). Once the connection is gone
    the kernel answers with the listener (LISTEN) or an error (None)."""
    sockid = struct.pack("!HH", port, peer_port) + _LOOPBACK + _LOOPBACK + struct.pack("=III", 0, 0xFFFFFFFF,
                                                                                      0xFFFFFFFF)
    request = struct.pack("=BBBBI", socket.AF_INET, socket.IPPROTO_TCP, 0, 0, 0xFFFFFFFF) + sockid
    header = struct.pack("=LHHLL", 16 + len(request), _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST, 1, 0)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, _NETLINK_SOCK_DIAG) as netlink:
        netlink.settimeout(1.0)
        netlink.send(header + request)
        reply = netlink.recv(8192)
    if struct.unpack_from("=H", reply, 4)[0] != _SOCK_DIAG_BY_FAMILY:
        return None  # an error reply
    return reply[17], struct.unpack_from("=I", reply, 16 + 68)[0]  # inet_diag_msg: state, inode


def proc_net_tcp_lookup(port: int, peer_port: int) -> tuple[int, int] | None:
    local, remote = f":{port:04X}", f":{peer_port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):  # tcp6 for a listener on ::
        try:
            text = read_proc(table).decode("ascii", "replace")
        except OSError:
            continue
        for line in text.splitlines()[1:]:
            fields = line.split()
            if fields[1].endswith(local) and fields[2].endswith(remote):
                return int(fields[3], 16), int(fields[9])
    return None


def ephemeral_port_warning(name: str, port: int | None) -> str | None:
    """Why a service port inside this host's ephemeral range is fragile, or None if it is not."""
    if not port:
        return None
    try:
        low, high = map(int, read_proc("/proc/sys/net/ipv4/ip_local_port_range").split())
    except (OSError, ValueError):
        return None
    if not low <= port <= high:
        return None
    return (f"{name}: port {port} is inside this host's ephemeral port range ({low}-{high}): while the service "
            f"is down, a client's connect() to it can take the port as its own and hold it in TIME_WAIT for "
            f"60 s, and no restart can bind it until then; a port below {low} is safe")


def port_accepting(port: int, timeout: float = 0.2) -> bool:
    return tcp_probe(port, timeout).connect_ms is not None


def http_check(url: str, expected_status: int, timeout: float, verify_tls: bool = True) -> tuple[bool, str]:
    """GET `url`; (ok, what happened). Redirects are not followed: the status is the service's own."""
    import http.client  # only for services with an HTTP check: it pulls in ssl and email (~3 MB)
    import ssl

    parts = urlsplit(url)
    if parts.scheme == "https":
        context = ssl.create_default_context()
        if not verify_tls:  # a health endpoint on this host, often with a self-signed certificate
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(parts.hostname or "127.0.0.1", parts.port,
                                                                       timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    conn._create_connection = connect  # type: ignore[attr-defined]
    try:
        conn.request("GET", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
        status = conn.getresponse().status
        return status == expected_status, f"HTTP {status} (expected {expected_status})"
    except ssl.SSLCertVerificationError as exc:
        return False, f"GET {url} failed: {exc.verify_message} (a self-signed certificate: set http_tls_verify = false)"
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
