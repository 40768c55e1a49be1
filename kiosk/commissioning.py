"""Commissioning ("mise en service"): the steps a blank kiosk's screen walks a technician through.

A kiosk fresh from the image has no site, no keys and no technician PIN.
Its screen shows this flow instead of the citizen's welcome:

1. read the enrollment code (the console's printed QR code, or typed with
   a USB keyboard: the service's address and the token);
2. choose the technician PIN, twice (before enrolling: once
   ``provisioned.toml`` exists, the first-boot service restarts the app);
3. enroll (a job: it needs the network) and show what the service
   answered (the mairie, its address and hours as the receipt will print
   them, the kiosk's code), then restart into the citizen's app.

Like :mod:`kiosk.session`, this is a plain state machine the screen only
shows: no Kivy, no network, no disk here; the screen runs the enrollment
job (:func:`kiosk.provision.provision`) and reports back.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable

from kiosk.enrollment_code import EnrollmentCode, EnrollmentCodeError, parse_code
from kiosk.errors import InvalidTransition, KioskError, PermanentSyncError, RetryableSyncError
from kiosk.technician_pin import PinRefused, check_new_pin


#: Seconds the result stays on screen before the app restarts into the citizen's welcome
#: (``kiosk-firstboot.service`` waits longer than this before restarting the app itself).
RESTART_AFTER_S = 15


class Stage(Enum):
    SCANNING = "scanning"
    TYPING = "typing"
    CHOOSE_PIN = "choose_pin"
    REPEAT_PIN = "repeat_pin"
    ENROLLING = "enrolling"
    DONE = "done"


@dataclass(frozen=True)
class Notice:
    key: str
    level: str = "error"
    params: tuple[tuple[str, Any], ...] = ()


#: Refusals from the central service (``PermanentSyncError.code``) and what the screen says.
_REFUSALS = {"bad_token": "commission.error.token", "protocol": "commission.error.protocol",
             "key_in_use": "commission.error.retry", "keys_changed": "commission.error.retry"}


def notice_for(error: BaseException) -> Notice:
    """What the technician is told when enrolling failed: a cause they can act on."""
    if isinstance(error, EnrollmentCodeError):
        return Notice(f"commission.error.{error.reason}")
    if isinstance(error, RetryableSyncError):
        return Notice("commission.error.network")
    if isinstance(error, PermanentSyncError):
        return Notice(_REFUSALS.get(getattr(error, "code", ""), "commission.error.refused"),
                      params=(("detail", error.detail[:160]),))
    if isinstance(error, PinRefused):
        return Notice(error.message_key)
    if isinstance(error, KioskError):
        return Notice(error.message_key)
    return Notice("commission.error.unexpected", params=(("detail", f"{type(error).__name__}"),))


class Commissioning:
    """The flow's state; every change is announced to subscribers, as the session does."""

    def __init__(self, default_central_url: str = "", pin_already_set: bool = False) -> None:
        self.default_central_url = default_central_url
        self.stage = Stage.SCANNING
        #: Where the code came from (scanning or typing): where a failed enrollment goes back to.
        self._source = Stage.SCANNING
        self.notice: Notice | None = None
        self.code: EnrollmentCode | None = None
        #: Kept only between the PIN's second entry and the enrollment job that stores its hash.
        self._pin: str | None = None
        self._first_pin: str | None = None
        self._pin_chosen = pin_already_set
        self.answer: dict[str, Any] | None = None
        self._subscribers: list[Callable[["Commissioning"], None]] = []

    def subscribe(self, fn: Callable[["Commissioning"], None]) -> None:
        self._subscribers.append(fn)

    def _changed(self) -> None:
        for fn in list(self._subscribers):
            fn(self)

    def _expect(self, *stages: Stage) -> None:
        if self.stage not in stages:
            raise InvalidTransition(f"not possible while {self.stage.value}")

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
        """A QR code seen by the camera; False (and a notice) when it is not an enrollment code."""
        self._expect(Stage.SCANNING)
        return self._take(lambda: parse_code(text, self.default_central_url))

    def code_typed(self, central_url: str, token: str) -> bool:
        self._expect(Stage.TYPING)
        url = central_url.strip() or self.default_central_url
        return self._take(lambda: parse_code(token, url) if "kiosque:" in token else
                          EnrollmentCode(*_checked(url, token)))

    def _take(self, parse: Callable[[], EnrollmentCode]) -> bool:
        try:
            self.code = parse()
        except EnrollmentCodeError as exc:
            self.notice = notice_for(exc)
            self._changed()
            return False
        self.notice = None
        self._source = self.stage
        self.stage = Stage.ENROLLING if self._pin_chosen else Stage.CHOOSE_PIN
        self._changed()
        return True

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
            self.stage, self.notice = Stage.ENROLLING, None
        self._changed()

    def take_pin(self) -> str | None:
        """The PIN to store, handed once to the enrollment job, then forgotten here."""
        pin, self._pin = self._pin, None
        return pin

    # -- enrolling ---------------------------------------------------------------------
    def enrolled(self, answer: dict[str, Any]) -> None:
        self._expect(Stage.ENROLLING)
        self.answer, self.stage, self.notice = answer, Stage.DONE, None
        self._changed()

    def enrollment_failed(self, error: BaseException, pin_stored: bool) -> None:
        """Back to reading a code (scanned or typed, as before), with the reason; a stored PIN is not asked again."""
        self._expect(Stage.ENROLLING)
        self._pin_chosen = self._pin_chosen or pin_stored
        self.code, self.stage, self.notice = None, self._source, notice_for(error)
        self._changed()


def _checked(url: str, token: str) -> tuple[str, str]:
    from kiosk.enrollment_code import check_central_url, check_token

    return check_central_url(url), check_token(token)
