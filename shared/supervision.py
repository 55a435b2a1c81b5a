"""A service process that dies with the process that started it (Linux).

The run command starts the four services as its children. Ctrl-C or SIGTERM lets it stop them;
a SIGKILL, or a crash, would leave them running, holding their ports, on a broker that may be
gone. So a service started with ``SANGKIEN_SUPERVISOR_PID`` asks the kernel to send it SIGTERM
when that process dies, and stops as it would on any SIGTERM.
"""

from __future__ import annotations

import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1


def stop_with(supervisor_pid: int) -> None:
    """SIGTERM to this process when its parent, ``supervisor_pid``, dies, even by SIGKILL.

    Raises ``SystemExit`` when the parent is not (or no longer) that process: it died before
    this process could ask. The kernel watches the parent's thread that started this process,
    not the whole parent: a supervisor starts its services from its main thread.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != supervisor_pid:
        raise SystemExit(f"the process that started this one ({supervisor_pid}) is gone")
