"""The citizen's session: a state machine in plain Python.

It knows nothing of Kivy, cameras or disks. Screens and the scenario runner
send it *events* (a number was typed, a photo was taken and assessed, a
finger was read) and read its state back; the slow work that produces those
events (look-ups, camera, sensor, sealing, printing) is done elsewhere
(:mod:`kiosk.controller`), off the UI thread, and its result is handed in as
an event. Every event checks that the current step accepts it
(:class:`InvalidTransition` otherwise), so a late or doubled touch cannot
skip a step.

``generation`` changes whenever the session is wiped: a worker that started
for an earlier citizen compares it before delivering its result, so nothing
of one citizen can land in the next one's dossier.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from enum import StrEnum
from typing import Callable

from kiosk import __version__
from kiosk.config import site_zone
from titres.dossier import (
    Answer, AnswerSource, DocumentCapture, DocumentStatus, Dossier, FingerCapture, FingerStatus, Flag, Stamp,
    StampMode,
)
from titres.errors import (
    DirectoryUnavailable, InvalidNumber, InvalidTransition, KioskError, NotAPredemande,
)
from titres.ids import uuid7
from kiosk.core.interview import Question, case_from, from_predemande, parse, questions, serialised
from titres.predemande import Entry, NumberFormat, PreDemande
from kiosk.core.quality import QualityReport
from kiosk.core.readings import FingerReading
from titres.rules import AgeBand, Capture, Case, Region, Requirement, assess, fingerprints_required, signer, total_fees_cents


class Step(StrEnum):
    WELCOME = "welcome"
    IDENTIFY = "identify"
    LOOKING_UP = "looking_up"
    CONFIRM = "confirm"  # the pré-demande was fetched: the citizen checks it is theirs
    QUESTIONS = "questions"  # one question per page: what the checklist needs and nobody has said yet
    CHECKLIST = "checklist"
    CAPTURE = "capture"
    STAMP = "stamp"
    FINGERPRINTS = "fingerprints"
    SIGNATURE = "signature"
    SUMMARY = "summary"
    SUBMITTING = "submitting"
    PRINTING = "printing"
    RECEIPT_FAILED = "receipt_failed"
    END = "end"


#: Steps where the citizen is filling in: inactivity warns, then abandons and wipes.
ACTIVE_STEPS = frozenset({
    Step.IDENTIFY, Step.CONFIRM, Step.QUESTIONS, Step.CHECKLIST, Step.CAPTURE, Step.STAMP,
    Step.FINGERPRINTS, Step.SIGNATURE, Step.SUMMARY,
})
#: Steps where a worker is busy: no timeout, no cancel (the result is about to arrive).
BUSY_STEPS = frozenset({Step.LOOKING_UP, Step.SUBMITTING, Step.PRINTING})

STAMP_DIGITS = 16  # a dematerialised fiscal stamp's number
STAMP_NUMBER = re.compile(rf"^\d{{{STAMP_DIGITS}}}$")


@dataclass(frozen=True)
class SessionSettings:
    """The part of the configuration the session needs (kept apart from the file format)."""

    number_format: NumberFormat = NumberFormat.from_pattern("[A-Z0-9]{10}")
    fingers: tuple[str, ...] = ("left_index", "right_index")
    finger_attempts: int = 3
    fingerprint_min_age: int = 12
    inactivity_warning_s: float = 60.0
    inactivity_abandon_s: float = 30.0
    end_screen_s: float = 15.0
    languages: tuple[str, ...] = ("fr", "en")
    default_language: str = "fr"
    site_id: str = "demo-site"
    kiosk_code: str = "K01"
    region: Region = Region.METROPOLE
    proof_of_address_max_months: int = 12
    #: The mairie's time zone: its date counts the applicant's age (a kiosk in Nouméa is 11 hours ahead).
    zone: tzinfo = timezone.utc

    @classmethod
    def from_config(cls, cfg) -> "SessionSettings":
        s = cfg.session
        return cls(
            number_format=cfg.predemande.number_format(),
            fingers=tuple(s.fingers), finger_attempts=s.finger_attempts, fingerprint_min_age=s.fingerprint_min_age,
            inactivity_warning_s=s.inactivity_warning_s, inactivity_abandon_s=s.inactivity_abandon_s,
            end_screen_s=s.end_screen_s, languages=tuple(s.languages), default_language=s.default_language,
            site_id=cfg.site.site_id, kiosk_code=cfg.site.kiosk_code, region=Region(cfg.site.region),
            proof_of_address_max_months=cfg.site.proof_of_address_max_months, zone=site_zone(cfg.site),
        )


@dataclass
class Message:
    key: str
    params: dict = field(default_factory=dict)
    level: str = "info"  # "info", "ok" (an action succeeded) or "error"
    #: When the words depend on a number ("Encore 1 caractère" / "Encore 3 caractères"): the key has
    #: ``.one`` and ``.other`` forms (:func:`titres.wording.message_text`).
    count: int | None = None


@dataclass(frozen=True)
class Page:
    """Where the citizen is, for the Back button: a step and an index within it."""

    step: Step
    index: int = 0


class Session:
    def __init__(
        self,
        settings: SessionSettings,
        clock: Callable[[], float],
        wall_clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ):
        self.settings = settings
        self._clock = clock
        self._wall = wall_clock
        self._listeners: list[Callable[["Session"], None]] = []
        self.generation = 0
        self.lang = settings.default_language
        self.out_of_service: str | None = None  # a message key set by the controller (disk full…)
        self._reset()
        self.step = Step.WELCOME

    # -- observation -----------------------------------------------------------
    def subscribe(self, listener: Callable[["Session"], None]) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener(self)

    def _reset(self) -> None:
        self.step = Step.WELCOME
        self.page_stack: list[Page] = []
        self.message: Message | None = None
        self.warning = False
        self.last_activity = self._clock()
        self.typed = ""
        self.predemande_number: str | None = None
        self._typed_number = False
        self.predemande: PreDemande | None = None
        self.fetched = False
        #: What the citizen answered (``None``: "I don't know"); kept on Back so their choice shows again.
        self.answers: dict[Question, object] = {}
        self.case: Case | None = None
        self.checklist: tuple[Requirement, ...] = ()
        self.not_applicable: tuple[Requirement, ...] = ()  # ruled out by an answer: never asked for
        self.dossier: Dossier | None = None
        self.index = 0  # within QUESTIONS, CAPTURE, STAMP, FINGERPRINTS
        self.attempts = 0  # on the current page (document retakes, finger tries)
        self._best_finger: FingerReading | None = None
        #: On a CAPTURE page: the photo was accepted and is shown; the citizen keeps it or takes it again.
        self.reviewing = False
        #: On the FINGERPRINTS page: the sensor failed, the remaining fingers are left for the desk.
        self.sensor_down = False
        self.consent = False
        self.dossier_number: str | None = None

    # -- helpers ---------------------------------------------------------------
    def _expect(self, *steps: Step) -> None:
        if self.step not in steps:
            raise InvalidTransition(f"event not accepted in step {self.step.value}")

    def _activity(self) -> None:
        self.last_activity = self._clock()
        self.warning = False

    def _go(self, step: Step, index: int = 0, remember: bool = True) -> None:
        """To another page, which starts clean: no message, no retake count, nothing under review."""
        if remember and self.step not in BUSY_STEPS and self.step is not Step.WELCOME:
            self.page_stack.append(Page(self.step, self.index))
        self.step = step
        self.index = index
        self.attempts = 0
        self.reviewing = False
        self.sensor_down = False
        self.message = None

    def _say(self, key: str, level: str = "info", count: int | None = None, **params) -> None:
        self.message = Message(key, params, level, count)

    def wipe(self, reason: str | None = None) -> None:
        """Forget the citizen: overwrite captures in memory, clear every field, back to Welcome."""
        if self.dossier is not None:
            self.dossier.wipe()
        self._reset()
        self.generation += 1
        self.lang = self.settings.default_language
        if reason:
            self._say(reason)

    # -- language and activity -------------------------------------------------
    def set_language(self, lang: str) -> None:
        if lang not in self.settings.languages:
            raise InvalidTransition(f"language {lang!r} not offered")
        self.lang = lang
        self._activity()
        self._changed()

    @property
    def page_token(self) -> tuple:
        """Which citizen, step and page this is: a slow job's result is only delivered to the same page
        (a photo taken while the last one was shown for review belongs to no page)."""
        return (self.generation, self.step, self.index, self.reviewing)

    def report(self, message_key: str) -> None:
        """A device could not do what was asked (camera gone…): tell the citizen, stay on the step."""
        self._say(message_key, "error")
        self._changed()

    def touch(self) -> None:
        """Any touch on the screen: the citizen is still there."""
        self._activity()
        self._changed()

    def tick(self) -> None:
        """Called about once a second: inactivity warning, abandon, and the end screen's return."""
        idle = self._clock() - self.last_activity
        s = self.settings
        if self.step is Step.RECEIPT_FAILED:
            # The dossier is already saved: nothing is "erased", the kiosk just returns to Welcome.
            if idle >= s.inactivity_warning_s + s.inactivity_abandon_s:
                self.wipe()
                self._changed()
        elif self.step in ACTIVE_STEPS:
            if idle >= s.inactivity_warning_s + s.inactivity_abandon_s:
                self.wipe("inactivity.abandoned")
                self._changed()
            elif idle >= s.inactivity_warning_s and not self.warning:
                self.warning = True
                self._changed()
        elif self.step is Step.END and idle >= s.end_screen_s:
            self.wipe()
            self._changed()

    @property
    def seconds_before_abandon(self) -> int:
        s = self.settings
        left = s.inactivity_warning_s + s.inactivity_abandon_s - (self._clock() - self.last_activity)
        return max(0, int(round(left)))

    # -- navigation ------------------------------------------------------------
    def start(self) -> None:
        self._expect(Step.WELCOME)
        if self.out_of_service:
            self._say(self.out_of_service, "error")
            self._changed()
            return
        self._activity()
        self.message = None
        self._go(Step.IDENTIFY, remember=False)
        self._changed()

    def cancel(self) -> None:
        """The citizen gives up: nothing of the session is kept."""
        if self.step in BUSY_STEPS:
            raise InvalidTransition("cannot cancel while the kiosk is working")
        if self.step in (Step.END, Step.RECEIPT_FAILED):
            self.finish()
            return
        self.wipe()
        self._changed()

    def can_go_back(self) -> bool:
        return self.step in ACTIVE_STEPS

    def back(self) -> None:
        if not self.can_go_back():
            raise InvalidTransition(f"no way back from {self.step.value}")
        self._activity()
        if self.step is Step.CAPTURE and self.reviewing:
            self._drop_photo()  # the page before the photo shown is the same document, camera on
            self._changed()
            return
        if self.step is Step.FINGERPRINTS and self.sensor_down:
            # Leaving the page that said the sensor failed: what it recorded for the remaining fingers goes.
            self._drop_fingers(self.index)
            self._drop_stale_flags()
        if not self.page_stack:
            self.wipe()
            self._changed()
            return
        page = self.page_stack.pop()
        self._undo_from(page)
        self.step, self.index = page.step, page.index
        self.attempts = 0  # a new visit of the page: retakes are counted afresh
        self._best_finger = None
        self.reviewing = self.sensor_down = False
        self.consent = False  # given on the summary for what it shows: asked again after any change
        self.message = None
        self._changed()

    def _undo_from(self, page: Page) -> None:
        """Going back to ``page`` discards what was captured on it and after it."""
        d = self.dossier
        if page.step in (Step.CONFIRM, Step.QUESTIONS, Step.IDENTIFY):
            if d is not None:
                d.wipe()
            self.dossier, self.case, self.checklist, self.not_applicable = None, None, (), ()
            if page.step is Step.IDENTIFY:
                self.predemande, self.predemande_number, self.fetched, self.answers = None, None, False, {}
            return
        if d is None:
            return
        if page.step is Step.CAPTURE:
            self._drop_documents(self.photo_requirements[page.index].id)
        if page.step is Step.STAMP:
            req = self.stamp_requirements[page.index].id
            d.stamps = [s for s in d.stamps if s.requirement != req]
        if page.step is Step.FINGERPRINTS:
            self._drop_fingers(page.index)
        if page.step is Step.SIGNATURE:
            d.drop_attachment(d.signature)
            d.signature = None
        self._drop_stale_flags()

    def _drop_stale_flags(self) -> None:
        """A flag raised by a capture that was undone must not reach the agent (or the receipt)."""
        d = self.dossier
        assert d is not None
        backed = {
            Flag.ORIGINALS_ONLY: any(x.status is DocumentStatus.ORIGINAL_AT_DESK for x in d.documents),
            Flag.PAPER_STAMP: any(x.mode is StampMode.PAPER_AT_DESK for x in d.stamps),
            Flag.FINGER_LOW_QUALITY: any(x.status is FingerStatus.LOW_QUALITY for x in d.fingerprints),
            Flag.FINGER_UNAVAILABLE: any(x.status is FingerStatus.UNAVAILABLE for x in d.fingerprints),
            Flag.SENSOR_FAILED: any(x.status is FingerStatus.SENSOR_FAILED for x in d.fingerprints),
        }
        d.flags = [f for f in d.flags if backed.get(f, True)]  # StrEnum keys match the stored strings

    # -- identify --------------------------------------------------------------
    def number_typed(self, text: str) -> Entry:
        """Feedback as the citizen types; no transition."""
        self._expect(Step.IDENTIFY)
        self._activity()
        self.typed = text
        fmt = self.settings.number_format
        entry = fmt.check(text)
        normal = fmt.normalise(text)
        # "The letter O is not in these numbers: we put the digit 0", when the format says so.
        fixed = fmt.corrections(text)
        note = {"typed": fixed[0][0], "instead": fixed[0][1]} if fixed else {}
        suffix = ".lookalike" if fixed else ""
        if entry is Entry.PARTIAL:
            self._say("identify.entry.partial" + suffix, count=fmt.min_len - len(normal), **note)
        elif entry is Entry.COMPLETE:
            self._say("identify.entry.complete" + suffix, **note)
        elif entry is Entry.INVALID:
            self._say("identify.entry.invalid", "error", length=fmt.max_len)
        else:
            self.message = None
        self._changed()
        return entry

    @property
    def typed_number(self) -> str:
        """What was typed, as it will be read: upper case, look-alikes the format cannot hold put right."""
        return self.settings.number_format.normalise(self.typed)

    def submit_number(self, text: str) -> str:
        """A typed number; returns the normalised number to look up (the step is now LOOKING_UP)."""
        self._expect(Step.IDENTIFY)
        self._activity()
        try:
            number = self.settings.number_format.validate(text)
        except InvalidNumber as exc:
            self._say(exc.message_key, "error")
            self._changed()
            raise
        return self._look_up(number, typed=True)

    def qr_decoded(self, payload: str) -> str:
        """A QR payload from the scanner; returns the number to look up, or raises :class:`NotAPredemande`."""
        self._expect(Step.IDENTIFY)
        self._activity()
        try:
            number = self.settings.number_format.number_from_qr(payload)
        except NotAPredemande as exc:
            self._say(exc.message_key, "error")
            self._changed()
            raise
        return self._look_up(number)

    def scan_unreadable(self) -> None:
        """The scanner saw a code it could not read for a while: suggest what to do."""
        self._expect(Step.IDENTIFY)
        self._say("identify.error.unreadable", "error")
        self._changed()

    def _look_up(self, number: str, typed: bool = False) -> str:
        self.predemande_number = number
        self._typed_number = typed
        self._go(Step.LOOKING_UP)
        self._say("identify.looking_up")
        self._changed()
        return number

    def lookup_finished(self, predemande: PreDemande) -> None:
        self._expect(Step.LOOKING_UP)
        self._activity()
        self.predemande = predemande
        self.fetched = True
        self.answers = {}
        self._go(Step.CONFIRM)
        self._changed()

    def lookup_failed(self, error: KioskError) -> None:
        self._expect(Step.LOOKING_UP)
        self._activity()
        if isinstance(error, DirectoryUnavailable):
            self.fetched = False
            self.answers = {}
            self._go(Step.QUESTIONS)
            self._say(error.message_key)  # offline, or the agency's pré-demande that the service holds no copy of
        else:
            if self.page_stack:
                self.page_stack.pop()
            self.step = Step.IDENTIFY
            key = error.message_key
            if (key == "identify.error.unknown" and self._typed_number
                    and self.settings.number_format.ambiguous(self.predemande_number or "")):
                key = "identify.error.unknown_lookalike"  # O and 0, I and 1: the likeliest slip
            self.predemande_number = None
            self._say(key, "error")
        self._changed()

    # -- confirm / questions -------------------------------------------------
    def today(self):
        """The date at the mairie, which counts the applicant's age (not the UTC date)."""
        return self._wall().astimezone(self.settings.zone).date()

    def _from_form(self) -> dict[Question, object]:
        return from_predemande(self.predemande, self.today())

    def needed_questions(self) -> list[Question]:
        """The questions this citizen is asked, one per page, in order (see :mod:`kiosk.core.interview`)."""
        return questions(self._from_form(), self.answers, self.settings.region, self.applicant_age)

    @property
    def current_question(self) -> Question | None:
        if self.step is not Step.QUESTIONS:
            return None
        asked = self.needed_questions()
        return asked[self.index] if self.index < len(asked) else None

    def known_case(self) -> Case | None:
        """The case as far as it is known: the computed one, or the form's and answers' before the
        checklist (enough to tell stamps and fingerprints); ``None`` before the title and age are known."""
        if self.case is not None:
            return self.case
        return case_from({**self._from_form(), **self.answers}, self.settings.region, self.applicant_age)

    @property
    def audience(self) -> str | None:
        """Who the screen speaks to: ``self`` (an adult applying for themself), ``child`` (a parent for
        their child: "votre enfant"), or ``None`` while the age is not known yet."""
        if self.predemande is not None:
            return "child" if self.applicant_minor else "self"
        band = self.answers.get(Question.AGE_BAND)
        if band is None:
            return None
        return "child" if AgeBand(band).minor else "self"

    def confirm(self) -> None:
        """The citizen recognises the pré-demande as theirs (or their child's): on to the questions."""
        self._expect(Step.CONFIRM)
        self._activity()
        self._next_question(0)
        self._changed()

    def answer(self, question: Question | str, value) -> None:
        """Record the answer to the question on screen; ``None`` is "I don't know" where allowed."""
        self._expect(Step.QUESTIONS)
        self._activity()
        q = Question(question)
        if q is not self.current_question:
            raise InvalidTransition(f"{q.value} is not the question on screen ({self.current_question})")
        try:
            self.answers[q] = parse(q, value)
        except ValueError as exc:
            raise InvalidTransition(f"not an answer to {q.value}: {exc}") from exc
        self.message = None
        self._changed()

    def next_question(self) -> None:
        """"Continuer" under a question: the next question, or the checklist after the last."""
        self._expect(Step.QUESTIONS)
        self._activity()
        q = self.current_question
        if q is not None and q not in self.answers:
            self._say("questions.unanswered", "error")
            self._changed()
            return
        self._next_question(self.index + 1)
        self._changed()

    def _next_question(self, index: int) -> None:
        if index < len(self.needed_questions()):
            self._go(Step.QUESTIONS, index)
        else:
            self._make_checklist()

    def _make_checklist(self) -> None:
        """Every question answered: the case, its documents, and the dossier that will hold them."""
        asked = self.needed_questions()
        from_form = self._from_form()
        answered = {q: self.answers[q] for q in asked}
        self.case = case_from({**from_form, **answered}, self.settings.region, self.applicant_age)
        assert self.case is not None, "the form's questions come first"
        assessed = assess(self.case, self.settings.proof_of_address_max_months)
        self.checklist = tuple(a.requirement for a in assessed if a.applies is not False)
        self.not_applicable = tuple(a.requirement for a in assessed if a.applies is False)
        pd = self.predemande
        s = self.settings
        self.dossier = Dossier(
            id=str(uuid7()), site_id=s.site_id, kiosk_code=s.kiosk_code,
            created_at=self._wall().astimezone(timezone.utc).isoformat(timespec="seconds"),
            language=self.lang, predemande_number=self.predemande_number or "",
            predemande_fetched=self.fetched, predemande=pd.to_dict() if pd else None,
            case=self.case.to_dict(), checklist=[r.id for r in self.checklist],
            answers=[Answer(q.value, serialised(v), AnswerSource.PREDEMANDE) for q, v in from_form.items()]
                    + [Answer(q.value, serialised(v), AnswerSource.CITIZEN) for q, v in answered.items()],
            conditional=[r.id for r in self.checklist if r.conditional],
            not_applicable=[r.id for r in self.not_applicable],
            signer=signer(self.case).value, software_version=__version__,
        )
        if not self.fetched:
            self.dossier.flag(Flag.PREDEMANDE_NOT_FETCHED)
        self._go(Step.CHECKLIST)

    # -- documents ------------------------------------------------------------------
    @property
    def photo_requirements(self) -> tuple[Requirement, ...]:
        return tuple(r for r in self.checklist if r.capture is Capture.PHOTO)

    @property
    def stamp_requirements(self) -> tuple[Requirement, ...]:
        return tuple(r for r in self.checklist if r.capture is Capture.STAMP)

    @property
    def fingers(self) -> tuple[str, ...]:
        if self.case is None or not fingerprints_required(self.case, self.settings.fingerprint_min_age):
            return ()
        return self.settings.fingers

    @property
    def stamp_fees_cents(self) -> int:
        """The total of the fiscal stamps the checklist asks for."""
        return total_fees_cents(self.stamp_requirements)

    @property
    def applicant_age(self) -> int | None:
        """The applicant's age from the pré-demande (None offline: only the band is known)."""
        return self.predemande.age(self.today()) if self.predemande is not None else None

    @property
    def applicant_minor(self) -> bool | None:
        age = self.applicant_age
        return None if age is None else AgeBand.of(age).minor

    @property
    def current_requirement(self) -> Requirement | None:
        if self.step is Step.CAPTURE:
            return self.photo_requirements[self.index]
        if self.step is Step.STAMP:
            return self.stamp_requirements[self.index]
        return None

    @property
    def current_finger(self) -> str | None:
        return self.fingers[self.index] if self.step is Step.FINGERPRINTS else None

    def begin_capture(self) -> None:
        self._expect(Step.CHECKLIST)
        self._activity()
        self._after(Step.CHECKLIST)
        self._changed()

    def _after(self, step: Step) -> None:
        """Move to the first page of the step following ``step`` that has something to do."""
        order = [Step.CAPTURE, Step.STAMP, Step.FINGERPRINTS, Step.SIGNATURE]
        todo = {
            Step.CAPTURE: bool(self.photo_requirements),
            Step.STAMP: bool(self.stamp_requirements),
            Step.FINGERPRINTS: bool(self.fingers),
            Step.SIGNATURE: True,
        }
        start = order.index(step) + 1 if step in order else 0
        for nxt in order[start:]:
            if todo[nxt]:
                self._go(nxt, 0)
                self._best_finger = None
                return

    def _advance(self, count: int, then: str | None = None, level: str = "ok") -> None:
        """The next page of this step, or the next step. ``then`` (the result of what was just done:
        "finger read") is said on the next page of the same step only: a new step starts clean."""
        if self.index + 1 < count:
            self._go(self.step, self.index + 1)
            self._best_finger = None
            if then:
                self._say(then, level)
        else:
            self._after(self.step)

    def _expect_review(self, shown: bool) -> None:
        """On a document's page, with a photo shown for review (``shown``) or the camera on."""
        self._expect(Step.CAPTURE)
        if self.reviewing is not shown:
            raise InvalidTransition("a photo is shown for review" if self.reviewing else "no photo is shown")

    def document_captured(self, image: bytes, quality: QualityReport, media_type: str = "image/jpeg") -> bool:
        """A still was taken and assessed. Kept and shown for review if acceptable, else a retake is asked."""
        self._expect_review(False)
        self._activity()
        req = self.photo_requirements[self.index]
        assert self.dossier is not None
        self.attempts += 1
        if not quality.acceptable:
            self._say(quality.problem or "quality.blurry", "error")
            self._changed()
            return False
        name = self.dossier.attach(f"documents/{req.id}", media_type, image)
        self.dossier.documents.append(DocumentCapture(req.id, DocumentStatus.CAPTURED, name, quality.as_dict(), self.attempts))
        self.reviewing = True
        self._say("capture.accepted", "ok")
        self._changed()
        return True

    def document_kept(self) -> None:
        """The citizen saw the accepted photo and goes on to the next document."""
        self._expect_review(True)
        self._activity()
        self._advance(len(self.photo_requirements))
        self._changed()

    def retake(self) -> None:
        """The citizen wants another photo of the same document: the one shown is dropped."""
        self._expect_review(True)
        self._activity()
        self._drop_photo()
        self._changed()

    def _drop_photo(self) -> None:
        self._drop_documents(self.photo_requirements[self.index].id)
        self.reviewing = False
        self.message = None

    def _drop_documents(self, requirement: str) -> None:
        """What was recorded for a document (its photo wiped), as when the citizen goes back over it."""
        d = self.dossier
        assert d is not None
        for doc in [x for x in d.documents if x.requirement == requirement]:
            d.drop_attachment(doc.attachment)
            d.documents.remove(doc)

    def _drop_fingers(self, index: int) -> None:
        """What was recorded from this finger on (a sensor failure records every remaining finger at once)."""
        d = self.dossier
        assert d is not None
        fingers = set(self.fingers[index:])
        for f in [x for x in d.fingerprints if x.finger in fingers]:
            d.drop_attachment(f.attachment)
            d.drop_attachment(f.template)
            d.fingerprints.remove(f)

    def document_at_desk(self) -> None:
        """The citizen will show the original at the desk instead of photographing it."""
        self._record_without_photo(DocumentStatus.ORIGINAL_AT_DESK)
        assert self.dossier is not None
        self.dossier.flag(Flag.ORIGINALS_ONLY)
        self._advance(len(self.photo_requirements))
        self._changed()

    def document_not_held(self) -> None:
        """"I don't have this document", for a document that only applies in a case the citizen could not
        tell: nothing is asked for it, the agent decides at the desk."""
        req = self.photo_requirements[self.index] if self.step is Step.CAPTURE else None
        if req is not None and not req.conditional:
            raise InvalidTransition(f"{req.id} is required: it can be shown at the desk, not skipped")
        self._record_without_photo(DocumentStatus.NOT_HELD)
        self._advance(len(self.photo_requirements))
        self._changed()

    def _record_without_photo(self, status: DocumentStatus) -> None:
        self._expect_review(False)
        self._activity()
        assert self.dossier is not None
        req = self.photo_requirements[self.index]
        self.dossier.documents.append(DocumentCapture(req.id, status, None, {}, self.attempts))

    # -- stamp --------------------------------------------------------------------
    def stamp_entered(self, text: str) -> bool:
        self._expect(Step.STAMP)
        self._activity()
        digits = re.sub(r"\s", "", text)
        req = self.stamp_requirements[self.index]
        assert self.dossier is not None
        if not STAMP_NUMBER.match(digits):
            self._say("stamp.error.format", "error")
            self._changed()
            return False
        if any(s.number == digits for s in self.dossier.stamps):
            self._say("stamp.error.duplicate", "error")
            self._changed()
            return False
        self.dossier.stamps.append(Stamp(req.id, StampMode.DEMATERIALISED, digits, req.amount_cents))
        self._advance(len(self.stamp_requirements))
        self._changed()
        return True

    def stamp_paper(self) -> None:
        self._expect(Step.STAMP)
        self._activity()
        req = self.stamp_requirements[self.index]
        assert self.dossier is not None
        self.dossier.stamps.append(Stamp(req.id, StampMode.PAPER_AT_DESK, None, req.amount_cents))
        self.dossier.flag(Flag.PAPER_STAMP)
        self._advance(len(self.stamp_requirements))
        self._changed()

    # -- fingerprints ------------------------------------------------------------
    def finger_read(self, reading: FingerReading) -> None:
        """One attempt on the sensor. Up to ``finger_attempts`` tries; then the best image is kept and flagged."""
        self._expect_sensor()
        self._activity()
        finger = self.fingers[self.index]
        d = self.dossier
        assert d is not None
        self.attempts += 1
        if reading.ok and reading.image:
            self._store_finger(finger, FingerStatus.CAPTURED, reading)
            self._advance(len(self.fingers), then="finger.lift")
            self._changed()
            return
        if reading.image and (self._best_finger is None or (reading.quality or 0) > (self._best_finger.quality or 0)):
            self._best_finger = reading
        if self.attempts >= self.settings.finger_attempts:
            if self._best_finger is not None:
                self._store_finger(finger, FingerStatus.LOW_QUALITY, self._best_finger)
                d.flag(Flag.FINGER_LOW_QUALITY)
            else:
                d.fingerprints.append(FingerCapture(finger, FingerStatus.UNAVAILABLE, self.attempts))
                d.flag(Flag.FINGER_UNAVAILABLE)
            self._advance(len(self.fingers), then="finger.flagged", level="info")
        else:
            self._say(f"finger.feedback.{reading.feedback or 'no_finger'}", "error")
        self._changed()

    def _expect_sensor(self) -> None:
        self._expect(Step.FINGERPRINTS)
        if self.sensor_down:
            raise InvalidTransition("the sensor failed: the fingers are left for the desk")

    def _store_finger(self, finger: str, status: FingerStatus, reading: FingerReading) -> None:
        d = self.dossier
        assert d is not None and reading.image is not None
        image = d.attach(f"fingerprints/{finger}.png", "image/png", reading.image)
        template = d.attach(f"fingerprints/{finger}.tpl", "application/octet-stream", reading.template) if reading.template else None
        d.fingerprints.append(FingerCapture(finger, status, self.attempts, reading.quality, image, template))

    def finger_unavailable(self) -> None:
        """Exception path: this finger cannot be taken (injury, bandage); the agent decides."""
        self._expect_sensor()
        self._activity()
        assert self.dossier is not None
        self.dossier.fingerprints.append(FingerCapture(self.fingers[self.index], FingerStatus.UNAVAILABLE, self.attempts))
        self.dossier.flag(Flag.FINGER_UNAVAILABLE)
        self._advance(len(self.fingers), then="finger.flagged", level="info")
        self._changed()

    def sensor_failed(self, error: KioskError) -> None:
        """The sensor is gone: the remaining fingers are left to the agent at the desk. The page stays,
        with what happened and a way on (:meth:`continue_without_sensor`), so the citizen reads it."""
        self._expect(Step.FINGERPRINTS)
        if self.sensor_down:
            return
        self._activity()
        d = self.dossier
        assert d is not None
        for finger in self.fingers[self.index:]:
            d.fingerprints.append(FingerCapture(finger, FingerStatus.SENSOR_FAILED, self.attempts))
        d.flag(Flag.SENSOR_FAILED)
        self.sensor_down = True
        self._say(error.message_key, "error")
        self._changed()

    def continue_without_sensor(self) -> None:
        self._expect(Step.FINGERPRINTS)
        if not self.sensor_down:
            raise InvalidTransition("the sensor works")
        self._activity()
        self._after(Step.FINGERPRINTS)
        self._changed()

    # -- signature, summary, submit ---------------------------------------------
    def signature_done(self, png: bytes, strokes: int) -> bool:
        self._expect(Step.SIGNATURE)
        self._activity()
        if strokes <= 0 or not png:
            self._say("signature.empty", "error")
            self._changed()
            return False
        assert self.dossier is not None
        self.dossier.signature = self.dossier.attach("signature.png", "image/png", png)
        self._go(Step.SUMMARY)
        self._changed()
        return True

    def set_consent(self, value: bool) -> None:
        self._expect(Step.SUMMARY)
        self._activity()
        self.consent = bool(value)
        self.message = None
        self._changed()

    def submit(self) -> Dossier | None:
        """Ask to submit. Returns the dossier to seal into the queue, or None when consent is missing."""
        self._expect(Step.SUMMARY)
        self._activity()
        if not self.consent:
            self._say("summary.consent_needed", "error")
            self._changed()
            return None
        assert self.dossier is not None
        self.dossier.consent_at = self._wall().astimezone(timezone.utc).isoformat(timespec="seconds")
        self.dossier.language = self.lang
        self._go(Step.SUBMITTING)
        self._say("summary.submitting")
        self._changed()
        return self.dossier

    def submitted(self, number: str) -> None:
        """The dossier is durable in the queue: now, and only now, the receipt may print."""
        self._expect(Step.SUBMITTING)
        self.dossier_number = number
        self._wipe_captures()
        self._go(Step.PRINTING, remember=False)
        self._say("receipt.printing")
        self._changed()

    def submit_failed(self, error: KioskError) -> None:
        self._expect(Step.SUBMITTING)
        self._activity()
        if self.page_stack and self.page_stack[-1].step is Step.SUMMARY:
            self.page_stack.pop()  # pushed on the way to SUBMITTING: Back must lead to the signature
        self.step, self.index = Step.SUMMARY, 0
        self._say(error.message_key, "error")
        self._changed()

    def printed(self) -> None:
        self._expect(Step.PRINTING)
        self._activity()
        self._go(Step.END, remember=False)
        self._say("receipt.take")
        self._changed()

    def print_failed(self, error: KioskError) -> None:
        self._expect(Step.PRINTING)
        self._activity()
        self._go(Step.RECEIPT_FAILED, remember=False)
        self._say(error.message_key, "error")
        self._changed()

    def retry_print(self) -> None:
        self._expect(Step.RECEIPT_FAILED)
        self._activity()
        self._go(Step.PRINTING, remember=False)
        self._say("receipt.printing")
        self._changed()

    def _wipe_captures(self) -> None:
        """Once sealed, the kiosk has no reason to hold the captures: wipe them now, keep what the receipt needs."""
        if self.dossier is not None:
            for att in self.dossier.attachments.values():
                att.wipe()
            self.dossier.attachments.clear()

    def finish(self) -> None:
        self._expect(Step.END, Step.RECEIPT_FAILED)
        self.wipe()
        self._changed()
