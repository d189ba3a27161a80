"""Whether the process that wrote a run or started a job is still alive."""

from __future__ import annotations

import os
import socket
from pathlib import Path


def pid_alive(pid: int | None, host: str | None) -> bool:
    """Whether process ``pid`` on ``host`` is still running (another host's is assumed alive).

    A killed child that its parent has not reaped yet is a zombie: dead, though signal 0
    still reaches it, so on Linux its state in ``/proc`` is checked too.
    """
    if not pid:
        return False
    if host and host != socket.gethostname():
        return True  # another machine's process cannot be checked from here
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (not Linux): signal 0 is all we have
    return state not in ("Z", "X")
