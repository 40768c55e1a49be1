"""Telling systemd we are alive (``sd_notify``), without a dependency: one datagram on ``NOTIFY_SOCKET``.

With ``Type=notify`` and ``WatchdogSec=``, systemd restarts a service that
stops pinging. The ping is sent from the loop that does the work, so a
worker stuck anywhere (a hung request, a locked database) stops pinging and
is restarted; a thread that pinged on its own would hide exactly that.
Outside systemd (no ``NOTIFY_SOCKET``) every call is a no-op.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Callable, Mapping


def notify(message: str, env: Mapping[str, str] | None = None) -> bool:
    address = (os.environ if env is None else env).get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.connect(address)
        sock.sendall(message.encode())
    return True


class Watchdog:
    """Pings at most every half watchdog period (``WATCHDOG_USEC``), as sd_watchdog_enabled(3) advises."""

    def __init__(self, env: Mapping[str, str] | None = None, clock: Callable[[], float] = time.monotonic):
        env = os.environ if env is None else env
        self._env = env
        usec = int(env.get("WATCHDOG_USEC", "0") or 0)
        pid = env.get("WATCHDOG_PID")
        self.enabled = usec > 0 and (pid is None or pid == str(os.getpid()))
        self.interval_s = usec / 2e6
        self._clock = clock
        self._last = float("-inf")

    def ready(self, status: str = "") -> None:
        notify("READY=1" + (f"\nSTATUS={status}" if status else ""), self._env)

    def ping(self) -> None:
        if self.enabled and self._clock() - self._last >= self.interval_s:
            notify("WATCHDOG=1", self._env)
            self._last = self._clock()

    def status(self, text: str) -> None:
        notify(f"STATUS={text}", self._env)
