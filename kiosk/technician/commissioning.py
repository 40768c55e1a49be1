"""Commissioning ("mise en service"): the steps a blank kiosk's screen walks a technician through.

A kiosk fresh from the image has no site, no keys and no technician PIN.
Its screen shows this flow instead of the citizen's welcome:

1. read the enrollment code (the console's printed QR code, or typed with
   a USB keyboard: the service's address and the token); a service the
   image does not trust is refused before any request;
2. enroll (a job: it needs the network). Nothing is written yet;
3. show what the service answered (the mairie, its address and hours as
   the receipt will print them, the kiosk's code) and ask the technician
   to confirm it is the right mairie: a code held up by someone else, or
   the wrong sheet, stops here;
4. choose the technician PIN, twice;
5. save the key, the PIN and the configuration (``provisioned.toml``
   last), then restart into the citizen's app.

Nothing is kept from an attempt that did not finish: a PIN chosen by a
passer-by cannot survive to become the kiosk's.

Like :mod:`kiosk.core.session`, this is a plain state machine the screen only
shows: no Kivy, no network, no disk here; the screen runs the jobs
(:func:`kiosk.technician.provision.enroll`, :func:`kiosk.technician.provision.save_enrollment`)
and reports back.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable

from titres.enrollment_code import (EnrollmentCode, EnrollmentCodeError, check_central_url, check_token,
                                   check_trusted, parse_code)
from titres.errors import InvalidTransition, KioskError, PermanentSyncError, RetryableSyncError
from kiosk.technician.pin import PinRefused, check_new_pin

#: Seconds the result stays on screen before the app restarts into the citizen's welcome
#: (``kiosk-firstboot.service`` waits longer than this before restarting the app itself).
RESTART_AFTER_S = 15


class Stage(Enum):
    SCANNING = "scanning"
    TYPING = "typing"
    ENROLLING = "enrolling"
    CONFIRM_SITE = "confirm_site"
    CHOOSE_PIN = "choose_pin"
    REPEAT_PIN = "repeat_pin"
    SAVING = "saving"
    DONE = "done"


@dataclass(frozen=True)
class Notice:
    key: str
    level: str = "error"
    params: tuple[tuple[str, Any], ...] = ()


#: Refusals from the central service (``PermanentSyncError.code``) and what the screen says.
REFUSALS = {"bad_token": "commission.error.token", "protocol": "commission.error.protocol",
            "key_in_use": "commission.error.retry", "keys_changed": "commission.error.retry"}


def notice_for(error: BaseException) -> Notice:
    """What the technician is told when a step failed: a cause they can act on."""
    if isinstance(error, EnrollmentCodeError):
        return Notice(f"commission.error.{error.reason}")
    if isinstance(error, RetryableSyncError):
        return Notice("commission.error.network")
    if isinstance(error, PermanentSyncError):
        return Notice(REFUSALS.get(getattr(error, "code", ""), "commission.error.refused"),
                      params=(("detail", error.detail[:160]),))
    if isinstance(error, KioskError):
        return Notice(error.message_key)
    return Notice("commission.error.unexpected", params=(("detail", f"{type(error).__name__}"),))


class Commissioning:
    """The flow's state; every change is announced to subscribers, as the session does."""

    def __init__(self, default_central_url: str = "", allowed: tuple[str, ...] = ()) -> None:
        self.default_central_url = default_central_url
        self.allowed = allowed
        self.stage = Stage.SCANNING
        #: Where the code came from (scanning or typing): where a failed enrollment goes back to.
        self._source = Stage.SCANNING
        self.notice: Notice | None = None
        self.code: EnrollmentCode | None = None
        #: The service's answer, shown for confirmation, then kept.
        self.answer: dict[str, Any] | None = None
        self._first_pin: str | None = None
        self._pin: str | None = None
        self._subscribers: list[Callable[["Commissioning"], None]] = []

    def subscribe(self, fn: Callable[["Commissioning"], None]) -> None:
        self._subscribers.append(fn)

    def _changed(self) -> None:
        for fn in list(self._subscribers):
            fn(self)

    def _expect(self, *stages: Stage) -> None:
        if self.stage not in stages:
            raise InvalidTransition(f"not possible while {self.stage.value}")

    def _restart(self, stage: Stage, notice: Notice | None) -> None:
        """Back to reading a code: everything of the attempt is dropped."""
        self.code = self.answer = self._first_pin = self._pin = None
        self.stage, self.notice = stage, notice
        self._changed()

    # -- the code --------------------------------------------------------------------
    def type_instead(self) -> None:
        self._expect(Stage.SCANNING)
        self.stage, self.notice = Stage.TYPING, None
        self._changed()

    def scan_instead(self) -> None:
        self._expect(Stage.TYPING)
        self.stage, self.notice = Stage.SCANNING, None
        self._changed()

    def code_read(self, text: str) -> bool:
        """A QR code seen by the camera; False (and a notice) when it cannot be used."""
        self._expect(Stage.SCANNING)
        return self._take(lambda: parse_code(text, self.default_central_url))

    def code_typed(self, central_url: str, token: str) -> bool:
        self._expect(Stage.TYPING)
        url = central_url.strip() or self.default_central_url
        return self._take(lambda: parse_code(token, url) if token.strip().startswith("kiosque:") else
                          EnrollmentCode(check_central_url(url), check_token(token)))

    def _take(self, parse: Callable[[], EnrollmentCode]) -> bool:
        try:
            code = parse()
            check_trusted(code.central_url, self.allowed)
        except EnrollmentCodeError as exc:
            self.notice = notice_for(exc)
            self._changed()
            return False
        self.code, self.notice, self._source, self.stage = code, None, self.stage, Stage.ENROLLING
        self._changed()
        return True

    # -- enrolling and confirming ----------------------------------------------------------
    def enrolled(self, answer: dict[str, Any]) -> None:
        self._expect(Stage.ENROLLING)
        self.answer, self.stage, self.notice = answer, Stage.CONFIRM_SITE, None
        self._changed()

    def enrollment_failed(self, error: BaseException) -> None:
        """Back to reading a code (scanned or typed, as before), with the reason."""
        self._expect(Stage.ENROLLING)
        self._restart(self._source, notice_for(error))

    def site_confirmed(self) -> None:
        self._expect(Stage.CONFIRM_SITE)
        self.stage, self.notice = Stage.CHOOSE_PIN, None
        self._changed()

    def site_refused(self) -> None:
        """Not this mairie: nothing is kept; the service holds an enrolled device to revoke."""
        self._expect(Stage.CONFIRM_SITE)
        kiosk = (self.answer or {}).get("kiosk_code", "")
        self._restart(Stage.SCANNING, Notice("commission.error.wrong_site", params=(("kiosk", kiosk),)))

    # -- the PIN ----------------------------------------------------------------------
    def pin_entered(self, pin: str) -> None:
        self._expect(Stage.CHOOSE_PIN, Stage.REPEAT_PIN)
        if self.stage is Stage.CHOOSE_PIN:
            try:
                self._first_pin = check_new_pin(pin)
            except PinRefused as exc:
                self.notice = notice_for(exc)
            else:
                self.stage, self.notice = Stage.REPEAT_PIN, None
        elif pin != self._first_pin:
            self._first_pin = None
            self.stage, self.notice = Stage.CHOOSE_PIN, Notice("pin.error.mismatch")
        else:
            self._pin, self._first_pin = pin, None
            self.stage, self.notice = Stage.SAVING, None
        self._changed()

    def take_pin(self) -> str | None:
        """The PIN to store, handed once to the saving job, then forgotten here."""
        pin, self._pin = self._pin, None
        return pin

    # -- saving -------------------------------------------------------------------------
    def saved(self) -> None:
        self._expect(Stage.SAVING)
        self.stage, self.notice = Stage.DONE, None
        self._changed()

    def save_failed(self, error: BaseException) -> None:
        """The card refused the files (full, read-only): say so; the PIN is chosen again for the retry."""
        self._expect(Stage.SAVING)
        self.stage, self.notice = Stage.CHOOSE_PIN, notice_for(error)
        self._changed()
