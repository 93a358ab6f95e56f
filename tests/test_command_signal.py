"""Queued commands wake the daemon through a FIFO next to the SQLite file."""

from __future__ import annotations

import os
import select
import stat

from grace_tui.registry import Registry
from grace_tui.registry import commands as command_queue


def test_enqueue_wakes_a_reader_of_the_fifo(tmp_path):
    registry = Registry.open(tmp_path / "state")
    try:
        path = command_queue.signal_path()
        assert path == tmp_path / "state" / "grace.db.signal"
        command_queue.wake_daemon()  # no daemon yet: nothing happens, nothing is created
        assert not path.exists()
        fd = command_queue.open_signal()
        assert fd is not None
        try:
            mode = os.stat(path).st_mode
            assert stat.S_ISFIFO(mode) and stat.S_IMODE(mode) == 0o600
            assert select.select([fd], [], [], 0)[0] == []  # nothing signalled yet
            command_id = command_queue.enqueue("retry", "inc-1")
            assert select.select([fd], [], [], 20)[0] == [fd]
            assert os.read(fd, 100) == b"!"
            assert command_queue.pending_commands()[0].id == command_id
        finally:
            os.close(fd)
    finally:
        registry.close()


def test_a_regular_file_in_place_of_the_fifo_is_left_alone(tmp_path):
    registry = Registry.open(tmp_path / "state")
    try:
        path = command_queue.signal_path()
        path.write_text("")
        assert command_queue.open_signal() is None  # the daemon falls back to its slow look
        command_queue.enqueue("retry", "inc-1")
        assert path.read_text() == ""  # never written into
    finally:
        registry.close()
