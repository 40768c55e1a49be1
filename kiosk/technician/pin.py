"""The technician's PIN: what opens the maintenance screen, and how guessing it is slowed down.

The maintenance screen shows the queue, the kiosk's identity and lets the
holder reprint receipts and restart services, in a public hall: it needs
more than a hidden gesture, which anyone watching can copy. The PIN is
chosen by the technician at provisioning (on screen, or ``kiosk pin set``),
so no two sites share a factory default.

Only a scrypt hash is kept (``<data>/keys/technician-pin.json``, 0600), so
a copied card does not give the PIN away. A 6-digit PIN is a small space,
so what protects it is the lockout: after ``max_failures`` wrong PINs in a
row the pad refuses every PIN for ``lockout_s``. The count is on disk, so
restarting the app (pulling the plug) does not reset it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Callable

from titres.errors import KioskError
from titres.durable import write_durably

MIN_DIGITS, MAX_DIGITS = 6, 8
#: scrypt's cost: about 50 ms on a PC, a few hundred on a Pi 4; the lockout does the rest.
SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}


class PinRefused(KioskError):
    """A PIN that cannot be chosen; ``message_key`` says why, for the screen and the command line."""

    message_key = "pin.error.format"


def check_new_pin(pin: str) -> str:
    """6 to 8 digits, not one digit repeated nor a run such as 123456 (the first ones anyone tries)."""
    if not (pin.isascii() and pin.isdigit() and MIN_DIGITS <= len(pin) <= MAX_DIGITS):
        raise PinRefused("a technician PIN is 6 to 8 digits", message_key="pin.error.format")
    steps = {int(b) - int(a) for a, b in zip(pin, pin[1:])}
    if len(set(pin)) == 1 or steps in ({1}, {-1}):
        raise PinRefused("this PIN is too easy to guess", message_key="pin.error.weak")
    return pin


def _scrypt(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=64 * 1024 * 1024)


class Verdict(Enum):
    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"
    NOT_SET = "not_set"


@dataclass(frozen=True)
class Check:
    verdict: Verdict
    #: Tries left before the lockout (after a wrong PIN), or seconds left locked.
    tries_left: int = 0
    locked_s: float = 0.0


class PinGuard:
    """Check PINs against the stored hash, counting failures on disk."""

    def __init__(self, pin_file: Path, *, max_failures: int = 5, lockout_s: float = 300.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.pin_file = Path(pin_file)
        self.state_file = self.pin_file.with_name(self.pin_file.stem + ".failures.json")
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self.clock = clock

    # -- setting -------------------------------------------------------------------------
    def is_set(self) -> bool:
        return self.pin_file.exists()

    def set(self, pin: str) -> None:
        check_new_pin(pin)
        salt = secrets.token_bytes(16)
        record = {"scheme": "scrypt", **SCRYPT, "salt": salt.hex(), "hash": _scrypt(pin, salt, **SCRYPT).hex()}
        self.pin_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_durably(self.pin_file, json.dumps(record).encode())
        os.chmod(self.pin_file, 0o600)
        self._save_failures(0, 0.0)

    # -- checking ------------------------------------------------------------------------
    def locked_for(self) -> float:
        """Seconds left locked, never more than one lockout.

        A Pi has no battery clock: after a reboot without network its clock
        may be far behind the lockout's start. A clock gone backwards
        restarts the lockout from now (written down), rather than locking
        the pad for years or opening it early.
        """
        failures, last = self._failures()
        if failures < self.max_failures:
            return 0.0
        now = self.clock()
        if now < last:
            self._save_failures(failures, now)
            last = now
        return min(self.lockout_s, max(0.0, last + self.lockout_s - now))

    def check(self, pin: str) -> Check:
        if not self.is_set():
            return Check(Verdict.NOT_SET)
        locked = self.locked_for()
        if locked > 0:
            return Check(Verdict.LOCKED, locked_s=locked)
        try:
            record = json.loads(self.pin_file.read_text())
            expected = bytes.fromhex(record["hash"])
            actual = _scrypt(pin, bytes.fromhex(record["salt"]), record["n"], record["r"], record["p"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KioskError(f"the technician PIN file is unreadable: {exc}") from exc
        if hmac.compare_digest(expected, actual):
            self._save_failures(0, 0.0)
            return Check(Verdict.OK)
        failures, _ = self._failures()
        # A lockout that has run out gives a fresh series of tries, not one.
        failures = (0 if failures >= self.max_failures else failures) + 1
        self._save_failures(failures, self.clock())
        if failures >= self.max_failures:
            return Check(Verdict.LOCKED, locked_s=self.lockout_s)
        return Check(Verdict.WRONG, tries_left=self.max_failures - failures)

    def _failures(self) -> tuple[int, float]:
        try:
            data = json.loads(self.state_file.read_text())
            return int(data["failures"]), float(data["last"])
        except FileNotFoundError:
            return 0, 0.0
        except (OSError, ValueError, KeyError, TypeError):
            # A damaged counter must not open the door: a lockout starting now, written down so it ends.
            now = self.clock()
            self._save_failures(self.max_failures, now)
            return self.max_failures, now

    def _save_failures(self, failures: int, last: float) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_durably(self.state_file, json.dumps({"failures": failures, "last": last}).encode())
