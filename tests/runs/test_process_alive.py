"""Whether a run's or job's process is alive: running, exited, a zombie, another machine's."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from siamese.runs.process_alive import pid_alive


def test_this_process_is_alive_and_no_pid_is_not():
    assert pid_alive(os.getpid(), socket.gethostname())
    assert pid_alive(os.getpid(), None)
    assert not pid_alive(None, None) and not pid_alive(0, None)


def test_an_exited_child_is_dead_before_and_after_it_is_reaped():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped: a zombie
    assert not pid_alive(child.pid, socket.gethostname())
    child.wait()
    assert not pid_alive(child.pid, socket.gethostname())


def test_another_machine_s_process_is_assumed_alive():
    assert pid_alive(12345, socket.gethostname() + "-elsewhere")
