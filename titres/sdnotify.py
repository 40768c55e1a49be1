"""Telling systemd we are alive (``sd_notify``), without a dependency: one datagram on ``NOTIFY_SOCKET``.

With ``Type=notify`` and ``WatchdogSec=``, systemd restarts a service that
stops pinging. The ping is sent from the loop that does the work, so a
worker stuck anywhere (a hung request, a locked database) stops pinging and
is restarted; a thread that pinged on its own would hide exactly that.
Outside systemd (no ``NOTIFY_SOCKET``) every call is a no-op.

Both the kiosk's services and the central service use it, hence its place in
``titres``. A process that starts children of its own (the central
service's supervisor) takes the variables out of its environment
(:func:`Watchdog.take`), so that only it speaks to systemd, as
sd_notify(3)'s ``unset_environment`` advises.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Callable, Mapping, MutableMapping

VARIABLES = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")


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
        self._env = {key: env[key] for key in VARIABLES if key in env}  # a copy: see take()
        usec = int(env.get("WATCHDOG_USEC", "0") or 0)
        pid = env.get("WATCHDOG_PID")
        self.enabled = usec > 0 and (pid is None or pid == str(os.getpid()))
        self.period_s = usec / 1e6
        self.interval_s = usec / 2e6
        self._clock = clock
        self._last = float("-inf")

    @classmethod
    def take(cls, env: MutableMapping[str, str] | None = None, clock: Callable[[], float] = time.monotonic
             ) -> "Watchdog":
        """The watchdog for this process alone: the variables leave ``env`` (the process's own by default), so the
        children it starts neither ping nor claim readiness in its place."""
        env = os.environ if env is None else env
        dog = cls(env, clock)
        for key in VARIABLES:
            env.pop(key, None)
        return dog

    def ready(self, status: str = "") -> None:
        notify("READY=1" + (f"\nSTATUS={status}" if status else ""), self._env)

    def ping(self) -> None:
        if self.enabled and self._clock() - self._last >= self.interval_s:
            notify("WATCHDOG=1", self._env)
            self._last = self._clock()

    def status(self, text: str) -> None:
        notify(f"STATUS={text}", self._env)
