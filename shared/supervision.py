"""A service process and its supervisor (the run command, systemd, Docker, Kubernetes).

The run command starts the four services as its children. Ctrl-C or SIGTERM lets it stop them;
a SIGKILL, or a crash, would leave them running, holding their ports, on a broker that may be
gone. So a service started with ``SANGKIEN_SUPERVISOR_PID`` asks the kernel to send it SIGTERM
when that process dies, and stops as it would on any SIGTERM.

The other way round, a service that can no longer do its work (a consumer stopped) leaves
through ``exit_soon``: its supervisor sees a non-zero exit and starts it again.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import threading
from collections.abc import Callable

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


# A stopped consumer: readiness shows it for this long before the process stops by itself, and
# a shutdown that hangs is cut short after the second figure.
SECONDS_BEFORE_EXIT = 5.0
SECONDS_TO_SHUT_DOWN = 30.0
EXIT_CONSUMER_STOPPED = 70  # EX_SOFTWARE


def exit_soon(
    stop: Callable[[], None],
    code: int = EXIT_CONSUMER_STOPPED,
    grace: float = SECONDS_BEFORE_EXIT,
    deadline: float = SECONDS_TO_SHUT_DOWN,
) -> None:
    """Call ``stop`` (which starts a graceful shutdown, after which the caller exits with
    ``code``) in ``grace`` seconds, and exit at once with ``code`` if the process is still
    alive ``deadline`` seconds after that. Call from the event loop."""
    asyncio.get_running_loop().call_later(grace, stop)
    timer = threading.Timer(grace + deadline, os._exit, (code,))
    timer.daemon = True
    timer.start()
