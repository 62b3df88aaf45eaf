"""Which process follows a task: a process as the ledger names it, and
whether it still runs (so the tasks of a kernel that restarted are known as
nobody's)."""

from __future__ import annotations

import os


def _start_time(pid: int) -> str:
    """When process ``pid`` started, where the system says (Linux), so a
    reused process id is not taken for the process that wrote the row; a
    process that has ended but is not yet reaped (a zombie) has none."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return ""
    if len(fields) < 20 or fields[0] == b"Z":
        return "ended"
    return fields[19].decode()


#: This process, as the ledger names the owner of the tasks it follows.
ME = f"{os.getpid()}:{_start_time(os.getpid())}"


def alive(owner: str) -> bool:
    """Whether the process named ``owner`` (``"pid:start"``) still runs."""
    if owner == ME:
        return True
    pid_text, _, started = owner.partition(":")
    try:
        pid = int(pid_text)
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        pass  # another user's process: it exists
    return not started or _start_time(pid) in ("", started)
