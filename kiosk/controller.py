"""The controller: the slow work behind the session's events, packaged as jobs.

A :class:`Job` has a blocking ``work()`` (camera, sensor, network, disk,
printer) and an ``apply(result, error)`` that turns the outcome into a
session event. The Kivy app runs ``work`` on a worker thread and ``apply``
on the UI thread (through ``Clock.schedule_once``); the scenario runner and
the tests call :meth:`Job.run_sync`. Either way the business logic lives
here and in the session, never in a screen.

``apply`` is skipped when the session has left the page the job was made
for (``Session.page_token``: the citizen, the step and the index within
it): a late result never lands in the next citizen's dossier, nor on the
document or finger after the one it was taken for if the citizen pressed
Back meanwhile. ``apply`` may return a follow-up job (submit is followed by
printing).
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

import numpy as np
from PIL import Image

from titres import outcomes
from kiosk.config import KioskConfig
from titres.errors import DirectoryUnavailable, KioskError, NotAPredemande, PrinterError, QueueError, SensorTimeout
from kiosk.hal import Devices
from kiosk.hal.indicator import Light
from titres.i18n import Translator
from titres.predemande import NumberFormat, PreDemande
from kiosk.core.quality import QualityReport, assess
from kiosk.core.readings import FingerReading
from kiosk.core.receipt import Receipt, mask_predemande
from titres.rules import Capture
from titres.wording import checklist_line, fees_line, presence_line, requirement_label
from kiosk.core.scanning import Debouncer, decode_number
from kiosk.core.session import BUSY_STEPS, Session, SessionSettings, Step
from kiosk.sync.outbox import Outbox

log = logging.getLogger("kiosk.controller")

JPEG_QUALITY = 88
#: About 6 s of preview frames without a number before suggesting to hold the code closer or type it.
UNREADABLE_AFTER_FRAMES = 48


@dataclass
class Job:
    name: str
    work: Callable[[], Any]
    apply: Callable[[Any, BaseException | None], "Job | None"]
    page: tuple  # Session.page_token when the job was made

    def run_sync(self, session: Session) -> Any:
        """Run here and now (scenarios, tests); follow-up jobs run too. Returns the last result."""
        job: Job | None = self
        result = None
        while job is not None:
            error: BaseException | None = None
            try:
                result = job.work()
            except KioskError as exc:
                error = exc
            job = job.deliver(session, result, error)
        return result

    def deliver(self, session: Session, result: Any, error: BaseException | None) -> "Job | None":
        if session.page_token != self.page:
            log.info("job result dropped: the session left the page", extra={"job": self.name})
            return None
        return self.apply(result, error)


#: The longer side of the picture shown back to the citizen once a photo is accepted.
THUMBNAIL_PX = 360


def thumbnail(rgb: np.ndarray, size: int = THUMBNAIL_PX) -> np.ndarray:
    """A small RGB copy of a still, for the screen (personal data: the screen forgets it with the citizen)."""
    img = Image.fromarray(rgb)
    img.thumbnail((size, size))
    return np.asarray(img.convert("RGB"))


def encode_jpeg(rgb: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue()


class Controller:
    def __init__(self, config: KioskConfig, devices: Devices, directory, outbox: Outbox,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.config = config
        self.devices = devices
        self.directory = directory
        self.outbox = outbox
        self.wall_clock = wall_clock
        self.settings = SessionSettings.from_config(config)
        self.number_format: NumberFormat = self.settings.number_format
        self.session = Session(self.settings, clock, wall_clock)
        self.debouncer = Debouncer(clock=clock)
        self._foreign_payload: str | None = None
        self._scan_generation = -1
        self._light: Light | None = None
        self._help_open = False
        self._refused_number: str | None = None
        self._frames_without_number = 0
        self.session.subscribe(self._on_change)
        self.refresh_availability()

    # -- availability and the status light -------------------------------------
    def refresh_availability(self) -> None:
        """Stop taking new citizens before the data partition is full, instead of losing a dossier."""
        full = not self.outbox.accepting()
        self.session.out_of_service = "summary.error.disk_full" if full else None
        if full:
            log.warning("data partition nearly full: new sessions refused", extra={"free": self.outbox.free_bytes()})

    def _on_change(self, session: Session) -> None:
        light = Light.READY
        if session.out_of_service:
            light = Light.FAULT  # the kiosk takes nobody: a technician's job, seen from across the hall
        elif session.step in BUSY_STEPS:
            light = Light.BUSY
        elif session.step is Step.RECEIPT_FAILED or self._help_open:
            light = Light.ATTENTION  # a citizen waits for an agent
        if light is self._light:
            return
        try:
            self.devices.indicator.show(light)
            self._light = light
        except Exception:  # a status light must never take a citizen's session down
            log.exception("status light failed")

    def help_light(self, open_: bool) -> None:
        """A citizen asked for help (or no longer waits): the light says so to the agents across the hall."""
        self._help_open = open_
        self._on_change(self.session)

    # -- identify ---------------------------------------------------------------
    def scan_job(self) -> Job:
        """One preview frame through the decoder. Returns the frame (for the preview) and the decode result."""
        s = self.session

        def work():
            frame = self.devices.camera.preview_frame()
            return frame, decode_number(frame, self.devices.scanner, self.number_format)

        def apply(result, error) -> Job | None:
            if s.step is not Step.IDENTIFY:
                return None
            if error is not None:
                s.report(error.message_key if isinstance(error, KioskError) else "error.camera")
                return None
            _, decoded = result
            if self._scan_generation != s.generation:
                self._scan_generation, self._frames_without_number = s.generation, 0
                self._refused_number = self._foreign_payload = None
                self.debouncer.reset()
            self._frames_without_number = 0 if decoded.number else self._frames_without_number + 1
            if self._frames_without_number == UNREADABLE_AFTER_FRAMES:
                s.scan_unreadable()  # a way forward: hold it closer, or type the number
            if decoded.number:
                confirmed = self.debouncer.feed(decoded.number)
                if not confirmed or confirmed == self._refused_number:
                    return None  # the same refused code still in view: the message stays, no new look-up
                return self.lookup_job(s.qr_decoded(confirmed))
            if decoded.payloads and decoded.payloads[0] != self._foreign_payload:
                # A code that is not a pré-demande: say so once, not on every frame it stays in view.
                self._foreign_payload = decoded.payloads[0]
                try:
                    s.qr_decoded(decoded.payloads[0])
                except NotAPredemande:
                    pass
            return None

        return Job("scan", work, apply, s.page_token)

    def preview_job(self) -> Job:
        """One preview frame for the screen, without decoding (document photos); no session event."""
        return Job("preview", self.devices.camera.preview_frame, lambda result, error: None, self.session.page_token)

    def lookup_job(self, number: str) -> Job:
        s = self.session

        def apply(result: PreDemande | None, error) -> None:
            if error is not None:
                if not isinstance(error, DirectoryUnavailable):
                    self._refused_number = number
                s.lookup_failed(error)
            else:
                s.lookup_finished(result)

        return Job("lookup", lambda: self.directory.fetch(number), apply, s.page_token)

    def typed_number_job(self, text: str) -> Job:
        """The citizen pressed OK on the keyboard; raises InvalidNumber (message already set) when malformed."""
        return self.lookup_job(self.session.submit_number(text))

    # -- documents ---------------------------------------------------------------
    def photo_job(self) -> Job:
        """Take a still and assess it; its result also carries a small picture of an accepted photo, made
        here on the worker, for the screen to show ("Photo acceptée") without decoding a JPEG itself."""
        s = self.session

        def work() -> tuple[bytes, QualityReport, np.ndarray | None]:
            still = self.devices.camera.capture_still()
            report = assess(still)
            if not report.acceptable:
                return b"", report, None
            return encode_jpeg(still), report, thumbnail(still)

        def apply(result, error) -> None:
            if error is not None:
                s.report(getattr(error, "message_key", "error.camera"))
                return None
            image, report, _ = result
            s.document_captured(image, report)
            return None

        return Job("photo", work, apply, s.page_token)

    # -- fingerprints ------------------------------------------------------------
    def finger_job(self) -> Job:
        s = self.session

        def work() -> FingerReading:
            sensor = self.devices.fingerprint
            sensor.guide("place")
            try:
                reading = sensor.read(timeout_s=10.0)
            except Exception:
                sensor.guide("idle")
                raise
            sensor.guide("ok" if reading.ok else "retry")
            return reading

        def apply(result, error) -> None:
            if isinstance(error, SensorTimeout):
                s.finger_read(FingerReading(ok=False, feedback="no_finger"))
            elif error is not None:
                s.sensor_failed(error)
            else:
                s.finger_read(result)
            return None

        return Job("finger", work, apply, s.page_token)

    # -- submit and print --------------------------------------------------------
    def receipt_content(self, number: str) -> Receipt:
        """What the receipt says, from the same account as the summary (:mod:`titres.outcomes`): the
        originals to bring, and what is left for the desk, nothing more and nothing less."""
        s = self.session
        t = Translator(s.lang)
        site = self.config.site
        items = outcomes.documents(s.checklist, s.not_applicable, s.dossier)
        at_desk = outcomes.shown_at_desk(items)
        # A person who comes, a fee paid there: not an original.
        originals = [checklist_line(t, req) for req in at_desk if req.capture is not Capture.PRESENCE]
        presence = [presence_line(t, req) for req in at_desk if req.capture is Capture.PRESENCE]
        desk = [t("receipt.not_held", document=requirement_label(t, i.requirement))
                for i in items if i.outcome is outcomes.Outcome.NOT_HELD]
        desk += [t("receipt.finger_at_desk", finger=t(f"finger.{f.finger}"))
                 for f in outcomes.fingers(s.fingers, s.dossier) if not f.taken]
        now = self.wall_clock().astimezone(self.settings.zone)
        return Receipt(
            mairie=site.name, address=site.address, opening_hours=site.opening_hours,
            printed_at=now.strftime("%d/%m/%Y %H:%M"), dossier_number=number,
            predemande_masked=mask_predemande(s.predemande_number or ""), originals=tuple(originals),
            flags=tuple(desk), language=s.lang, presence=tuple(presence),
            fees=fees_line(t, s.stamp_fees_cents),
            status_url=site.status_url,
        )

    def submit_job(self) -> Job | None:
        """Seal the dossier into the queue, then print. None when the session refused (no consent)."""
        s = self.session
        dossier = s.submit()
        if dossier is None:
            return None

        def work() -> str:
            return self.outbox.submit(dossier, lambda number: self.receipt_content(number).as_dict())

        def apply(number, error) -> Job | None:
            if error is not None:
                log.error("submit failed", extra={"error": str(error)})
                self.refresh_availability()
                s.submit_failed(error if isinstance(error, KioskError) else QueueError(str(error)))
                return None
            log.info("dossier queued", extra={"dossier": dossier.id, "number": number})
            s.submitted(number)
            self.refresh_availability()
            return self.print_job(number)

        return Job("submit", work, apply, s.page_token)

    def print_job(self, number: str) -> Job:
        s = self.session

        def work() -> str:
            queued = self.outbox.by_number(number)
            if queued is None:
                raise QueueError(f"no dossier {number}")
            receipt = Receipt.from_dict(queued.receipt)
            self.devices.printer.print_receipt(receipt)
            return number

        def apply(result, error) -> None:
            if error is not None:
                log.warning("receipt not printed", extra={"number": number, "error": str(error)})
                s.print_failed(error if isinstance(error, KioskError) else PrinterError(str(error)))
            else:
                s.printed()
            return None

        return Job("print", work, apply, s.page_token)

    def retry_print_job(self) -> Job:
        self.session.retry_print()
        assert self.session.dossier_number is not None
        return self.print_job(self.session.dossier_number)

    def reprint(self, number: str) -> Receipt:
        """Reprint a receipt from the queue after its session is gone (desk or maintenance)."""
        queued = self.outbox.by_number(number)
        if queued is None:
            raise QueueError(f"no dossier {number}")
        receipt = Receipt.from_dict({**queued.receipt, "reprint": True})
        self.devices.printer.print_receipt(receipt)
        return receipt
