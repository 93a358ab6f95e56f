"""Processes: find a watched one, tell a live one from a zombie, and verify identity
before ever signalling something we did not start."""

from __future__ import annotations

import getpass
import os
import re
import shutil
import signal
import time

import psutil

from grace_tui.config.model import ServiceConfig


def alive(pid: int | None) -> bool:
    """True for a running process; a zombie is dead."""
    if not pid:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def find_watched(service: ServiceConfig) -> psutil.Process | None:
    """The live process a watched service designates: pidfile, exact name or cmdline pattern."""
    if service.pidfile:
        try:
            pid = int(open(service.pidfile).read().split()[0])
            proc = psutil.Process(pid)
            if proc.status() != psutil.STATUS_ZOMBIE and (not (service.process_name or service.cmdline_pattern)
                                                          or matches_watched(proc, service)):
                return proc
        except (OSError, ValueError, IndexError, psutil.Error):
            pass
        return None
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            if proc.pid != os.getpid() and matches_watched(proc, service) and proc.status() != psutil.STATUS_ZOMBIE:
                return proc
        except psutil.Error:
            continue
    return None


def matches_watched(proc: psutil.Process, service: ServiceConfig) -> bool:
    if service.process_name and proc.name() != service.process_name:
        return False
    if service.cmdline_pattern and not re.search(service.cmdline_pattern, " ".join(proc.cmdline())):
        return False
    return bool(service.process_name or service.cmdline_pattern)


def descendants(pid: int) -> list[int]:
    """Every process below `pid`. Linux lists each thread's children in
    /proc/PID/task/TID/children, so this reads the tree, not the whole process table
    (psutil's children() scans every process: 20 services x 500 PIDs per sample)."""
    if not _children_files():
        try:
            return [p.pid for p in psutil.Process(pid).children(recursive=True)]
        except psutil.Error:
            return []
    found: list[int] = []
    todo, seen = [pid], {pid}
    while todo:
        for child in _children_of(todo.pop()):
            if child not in seen:
                seen.add(child)
                found.append(child)
                todo.append(child)
    return found


def _children_of(pid: int) -> list[int]:
    children: list[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return children  # gone
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                children += [int(x) for x in f.read().split()]
        except (OSError, ValueError):
            continue  # that thread or process just ended
    return children


_HAS_CHILDREN_FILES: bool | None = None


def _children_files() -> bool:
    """Does this kernel have /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN)?"""
    global _HAS_CHILDREN_FILES
    if _HAS_CHILDREN_FILES is None:
        _HAS_CHILDREN_FILES = os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
    return _HAS_CHILDREN_FILES


def port_holders(port: int) -> list[int | None]:
    """PIDs listening on TCP `port` (None where the OS will not say, e.g. another user's)."""
    pids: list[int | None] = []
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.Error:
        return pids
    for c in connections:
        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid not in pids:
            pids.append(c.pid)
    return pids


def _protected_pids() -> set[int]:
    """PID 1, grace-tui itself and its ancestors: never signalled."""
    pids = {0, 1, os.getpid()}
    try:
        pids.update(p.pid for p in psutil.Process().parents())
    except psutil.Error:
        pass
    return pids


def verify_identity(pid: int | None, service: ServiceConfig) -> tuple[bool, str]:
    """Is `pid` an instance of `service` (same program and arguments, same user)? (ok, why)."""
    if pid is None:
        return False, "the holder's PID is not visible (another user's process?)"
    if pid in _protected_pids():
        return False, f"PID {pid} is PID 1 or grace-tui itself"
    try:
        proc = psutil.Process(pid)
        cmdline, user = proc.cmdline(), proc.username()
        exe = proc.exe()
    except psutil.AccessDenied:
        return False, f"PID {pid}: cannot read its identity (access denied)"
    except psutil.Error:
        return False, f"PID {pid} is gone"
    expected_user = service.user or getpass.getuser()
    if user != expected_user:
        return False, f"PID {pid} runs as {user}, the service as {expected_user}"
    shown = " ".join(cmdline)[:200]
    if service.mode == "watched":
        if matches_watched(proc, service):
            return True, f"PID {pid} ({shown}) matches the service's name/pattern and user"
        return False, f"PID {pid} ({shown}) does not match the service's name/pattern"
    expected = list(service.command)
    if cmdline == expected or (len(cmdline) == len(expected) and cmdline[1:] == expected[1:]
                               and _same_program(exe, expected[0])):
        return True, f"PID {pid} ({shown}) has the service's command line and user"
    return False, f"PID {pid} ({shown}) is not an instance of this service's command"


def _same_program(exe: str, configured: str) -> bool:
    path = configured if os.sep in configured else (shutil.which(configured) or configured)
    try:
        return os.path.realpath(path) == os.path.realpath(exe)
    except OSError:
        return False


def terminate(pid: int, timeout: float) -> bool:
    """SIGTERM, then SIGKILL after `timeout`; True once it is gone (zombies count as gone)."""
    try:
        proc = psutil.Process(pid)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except psutil.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout)
    except psutil.NoSuchProcess:
        return True
    except (psutil.Error, OSError):
        return not alive(pid)
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return not alive(pid)
