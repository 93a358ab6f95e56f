"""Processes: find a watched one, tell a live one from a zombie, read what one uses, and
verify identity before ever signalling something we did not start."""

from __future__ import annotations

import getpass
import os
import pwd
import re
import shutil
import signal
import time
from dataclasses import dataclass
from typing import Any

import psutil

from grace_tui.config.model import ServiceConfig
from grace_tui.errors import UserError

# psutil derives a start time from the boot time, which /proc gives in whole seconds
START_TIME_SLACK_S = 2.0


def alive(pid: int | None) -> bool:
    """True for a running process; a zombie is dead."""
    return bool(pid) and usage(pid) is not None


def find_watched(service: ServiceConfig) -> psutil.Process | None:
    """The live process a watched service designates: pidfile, exact name or cmdline pattern."""
    if service.pidfile:
        try:
            with open(service.pidfile) as f:
                pid, written_at = int(f.read().split()[0]), os.fstat(f.fileno()).st_mtime
            proc = psutil.Process(pid)
            # A stale pidfile's PID, taken by a process that started after the file was written,
            # is not the service: it could not have written it.
            reused = proc.create_time() > written_at + START_TIME_SLACK_S
            if not reused and proc.status() != psutil.STATUS_ZOMBIE and (
                    not (service.process_name or service.cmdline_pattern) or matches_watched(proc, service)):
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


def run_as(user: str | None) -> tuple[dict[str, Any], dict[str, str]]:
    """Popen arguments and environment to run a service as `user`: its uid, its primary group and
    its other groups, HOME, USER and LOGNAME, as login and systemd's User= set them. Popen's user=
    alone changes only the uid: a root supervisor's service kept group root. KeyError: no such user."""
    if not user:
        return {}, {}
    entry = pwd.getpwnam(user)
    identity: dict[str, Any] = {"user": entry.pw_uid}
    if os.geteuid() == 0:  # only root may change groups; anyone else can run only as themselves
        identity.update(group=entry.pw_gid, extra_groups=os.getgrouplist(user, entry.pw_gid))
    return identity, {"HOME": entry.pw_dir, "USER": user, "LOGNAME": user}


def tree(pid: int) -> list[tuple[int, "Usage"]]:
    """(PID, usage) of a process, first, and of every process below it; empty when it is gone.

    Linux lists each thread's children in /proc/PID/task/TID/children, so this reads the tree,
    not the whole process table (psutil's children() scans every process: 20 services x 500
    PIDs per sample)."""
    found: list[tuple[int, Usage]] = []
    todo, seen = [pid], {pid}
    while todo:
        member = todo.pop()
        used = usage(member)
        if used is None:
            if member == pid:
                return []
            continue  # a child that just ended
        found.append((member, used))
        new = [child for child in children(member, used.threads) if child not in seen]
        seen.update(new)
        todo += new
    return found


def children(pid: int, threads: int) -> list[int]:
    """The direct children of `pid`, which has `threads` threads (from its `usage`). A process
    with one thread has one children file: read it without listing /proc/PID/task first."""
    if not _children_files():
        try:
            return [p.pid for p in psutil.Process(pid).children()]
        except psutil.Error:
            return []
    if threads == 1:
        try:
            return [int(x) for x in read_proc(f"/proc/{pid}/task/{pid}/children").split()]
        except (OSError, ValueError):
            pass  # its main thread ended before the others: list them
    return _children_of(pid)


def read_proc(path: str) -> bytes:
    """A whole /proc file, through the OS calls alone: a third cheaper than open(), and the
    sampler and the checks read two per service every round."""
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = [os.read(fd, 65536)]
        while chunks[-1]:  # a read may stop short of the end (a page of a long children list)
            chunks.append(os.read(fd, 65536))
        return b"".join(chunks)
    finally:
        os.close(fd)


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


@dataclass(frozen=True)
class Usage:
    """One reading of a process: CPU seconds used so far, resident memory, and its start time
    (seconds after boot on Linux), which with the PID names one process: PIDs are reused."""

    cpu_s: float
    rss_bytes: int
    started: float
    threads: int = 1


_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_HAS_PROC_STAT = os.path.exists("/proc/self/stat")


def usage(pid: int) -> Usage | None:
    """CPU time, RSS and start time of a live process; None when it is gone, a zombie or hidden.

    On Linux one read of /proc/PID/stat: the supervisor reads every service each round, and
    psutil's cpu_percent/memory_info read two files and ask sysconf for the CPU count each time."""
    if not _HAS_PROC_STAT:
        return _usage_from_psutil(pid)
    try:
        data = read_proc(f"/proc/{pid}/stat")
        fields = data[data.rindex(b")") + 2:].split()  # the name in (...) may hold spaces
        if fields[0] in (b"Z", b"X"):
            return None
        # fields[0] is stat's 3rd field (state): utime 14, stime 15, num_threads 20, starttime 22,
        # rss 24 (pages)
        return Usage((int(fields[11]) + int(fields[12])) / _CLK_TCK, int(fields[21]) * _PAGE,
                     int(fields[19]) / _CLK_TCK, int(fields[17]))
    except (OSError, ValueError, IndexError):
        return None


def _usage_from_psutil(pid: int) -> Usage | None:
    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
            times = proc.cpu_times()
            return Usage(times.user + times.system, proc.memory_info().rss, proc.create_time(), proc.num_threads())
    except psutil.Error:
        return None


def open_fds(pid: int) -> int | None:
    """Open file descriptors of a process; None when it is gone or we may not look (another user's).

    Linux 6.2+ counts one more than a listing while the process waits in accept(): the number
    the kernel has reserved for the connection to come."""
    if not _HAS_PROC_STAT:
        try:
            return psutil.Process(pid).num_fds()
        except (psutil.Error, AttributeError):  # AttributeError: no num_fds on this OS
            return None
    try:  # Linux 6.2+ gives the count as the directory's size: one stat instead of a listing
        count = os.stat(f"/proc/{pid}/fd").st_size
        return count if count > 0 else len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


class CpuMeter:
    """CPU % of one process between two readings, as top shows it: 100 is one core busy.
    The first reading of a process (or of a new one behind a reused PID) gives 0."""

    def __init__(self) -> None:
        self._last: tuple[int, float, float, float] | None = None  # pid, started, cpu_s, monotonic

    def percent(self, pid: int, reading: Usage, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        last, self._last = self._last, (pid, reading.started, reading.cpu_s, now)
        if last is None or last[:2] != (pid, reading.started) or now <= last[3]:
            return 0.0
        return max(0.0, (reading.cpu_s - last[2]) / (now - last[3]) * 100)


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
    if runs_command(cmdline, exe, list(service.command), service.cwd):
        return True, f"PID {pid} ({shown}) has the service's command line and user"
    return False, f"PID {pid} ({shown}) is not an instance of this service's command"


def runs_command(cmdline: list[str], exe: str, command: list[str], cwd: str | None) -> bool:
    """Is a process with this cmdline and exe running `command` (an argv started in `cwd`)?"""
    if cmdline == command:
        return True
    n = len(command)
    if len(cmdline) == n and cmdline[1:] == command[1:]:  # the program named another way (PATH, a link)
        return _same_file(exe, command[0], cwd)
    # A script run through its #! line: the kernel puts its interpreter (and the line's argument)
    # first, then the script as exec'd, then the arguments.
    script = len(cmdline) - n
    return script > 0 and cmdline[script + 1:] == command[1:] and _same_file(cmdline[script], command[0], cwd)


def recorded_process(pid: int | None, started_at: float | None) -> psutil.Process | None:
    """The live process with this PID if it is the one a supervisor spawned at `started_at`, as
    recorded -- not a later process that took over the PID: same start time, and it leads the
    session it was spawned in."""
    if not (pid and started_at) or pid in _protected_pids():
        return None
    try:
        proc = psutil.Process(pid)
        if abs(proc.create_time() - started_at) > START_TIME_SLACK_S or proc.status() == psutil.STATUS_ZOMBIE:
            return None
        if os.getsid(pid) != pid:  # spawned in a session of its own, which it leads for good
            return None
    except (psutil.Error, OSError):
        return None
    return proc


def send_signal(pid: int, signum: int) -> None:
    """`signum` to the live process `pid` (the caller's current PID for a service), in words when it
    is gone or another user's."""
    try:
        psutil.Process(pid).send_signal(signum)
    except psutil.NoSuchProcess:
        raise UserError(f"PID {pid} is gone") from None
    except psutil.AccessDenied:
        raise UserError(f"PID {pid}: not allowed to signal it (another user's process)") from None


def stop_adopted(proc: psutil.Process, sig: int, timeout: float) -> bool:
    """Stop a managed service's process that an earlier supervisor spawned: `sig` to its process
    group (it leads one, as every spawned service does), SIGKILL after `timeout`. Only its parent
    can wait for it, so this polls. psutil's check that the PID is still that process comes first."""
    def send(signum: int) -> None:
        try:
            if not proc.is_running():
                return
            if os.getpgid(proc.pid) == proc.pid:
                os.killpg(proc.pid, signum)
            else:
                proc.send_signal(signum)
        except (ProcessLookupError, PermissionError, psutil.Error):
            pass

    for signum, wait_s in ((sig, timeout), (signal.SIGKILL, timeout)):
        send(signum)
        send(signal.SIGCONT)  # a stopped (hung) process must run to act on the signal
        deadline = time.monotonic() + wait_s
        while alive(proc.pid) and proc.is_running() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not (alive(proc.pid) and proc.is_running()):
            return True
    return False


def _same_file(path: str, configured: str, cwd: str | None) -> bool:
    """Relative paths are the service's (exec'd in its cwd); a bare name is looked up in PATH."""
    if os.sep not in configured:
        configured = shutil.which(configured) or configured
    try:
        return os.path.realpath(os.path.join(cwd or "", path)) == os.path.realpath(os.path.join(cwd or "", configured))
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
