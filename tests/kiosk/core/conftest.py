"""Fixtures for the pure core: clocks, pré-demandes, a session and a walker that drives it.

Nothing here imports Kivy or touches hardware: the session is driven with
plain events, as the controller would hand them in.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import numpy as np
import pytest

from titres.predemande import Motif, Person, PreDemande, Title
from kiosk.core.quality import QualityReport
from kiosk.core.readings import FingerReading
from kiosk.core.interview import Question
from kiosk.core.session import Session, SessionSettings, Step

TODAY = datetime(2025, 3, 10, 9, 30, tzinfo=timezone.utc)


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings() -> SessionSettings:
    return SessionSettings()


def make_predemande(
    number: str = "AB12CD34EF",
    titles=(Title.CNI,),
    motif: Motif = Motif.LOSS,
    birth: date = date(1980, 5, 17),
    **kw,
) -> PreDemande:
    kw.setdefault("hosted", False)
    kw.setdefault("born_abroad_parents_abroad", False)
    return PreDemande(
        number=number,
        titles=frozenset(titles),
        motif=motif,
        person=Person("DUPONT", "Jeanne Marie", birth, birth_place="Carcassonne", sex="F"),
        address="12 rue des Lilas, 11000 Carcassonne",
        **kw,
    )


@pytest.fixture
def adult_loss() -> PreDemande:
    """An adult (44 on TODAY) who lost her CNI; the form says she is neither hosted nor born abroad."""
    return make_predemande()


@pytest.fixture
def child_theft() -> PreDemande:
    """A 9-year-old whose CNI was stolen."""
    return make_predemande("CH1LD00009", motif=Motif.THEFT, birth=date(2015, 6, 1))


@pytest.fixture
def teen_theft() -> PreDemande:
    """A 14-year-old whose CNI was stolen."""
    return make_predemande("TEEN000014", motif=Motif.THEFT, birth=date(2010, 6, 1))


GOOD = QualityReport(sharpness=200.0, brightness=128.0, clipped=0.0, contrast=50.0)
BLURRY = QualityReport(sharpness=5.0, brightness=128.0, clipped=0.0, contrast=50.0, problem="quality.blurry")


def good_finger(quality: int = 80) -> FingerReading:
    return FingerReading(ok=True, image=b"\x89PNG finger", quality=quality, template=b"TPL")


class Walker:
    """Drives a :class:`Session` along the happy path, so a test can start at the step it is about."""

    def __init__(self, session: Session, clock: FakeClock) -> None:
        self.s = session
        self.clock = clock

    def to_identify(self) -> Session:
        self.s.start()
        return self.s

    def to_confirm(self, pd: PreDemande) -> Session:
        self.to_identify()
        self.s.submit_number(pd.number)
        self.s.lookup_finished(pd)
        return self.s

    #: What the walker answers when a test does not say: a citizen with nothing unusual.
    DEFAULT_ANSWERS = {Question.SECURE_DOCUMENT: "valid", Question.BIRTHPLACE_DEMATERIALISED: True,
                       Question.BORN_ABROAD_PARENTS_ABROAD: False, Question.HOSTED: False,
                       Question.ALTERNATING_RESIDENCE: False}

    def answer_all(self, **answers) -> list[Question]:
        """Answer each question as it comes, one page each; returns the questions asked."""
        asked = []
        while self.s.step is Step.QUESTIONS:
            q = self.s.current_question
            asked.append(q)
            self.s.answer(q, answers[q.value] if q.value in answers else self.DEFAULT_ANSWERS[q])
            self.s.next_question()
        return asked

    def to_checklist(self, pd: PreDemande, secure: str = "valid", birthplace=True, **answers) -> Session:
        self.to_confirm(pd)
        self.s.confirm()
        self.answer_all(secure_document=secure, birthplace_dematerialised=birthplace, **answers)
        assert self.s.step is Step.CHECKLIST
        return self.s

    def photograph(self, image: bytes | None = None) -> bool:
        """Take the current document's photo and, accepted, go on (as "Continuer" under it does)."""
        ok = self.s.document_captured(image or b"jpeg of " + self.s.current_requirement.id.encode(), GOOD)
        if ok:
            self.s.document_kept()
        return ok

    def capture_all_documents(self) -> None:
        while self.s.step is Step.CAPTURE:
            self.photograph()

    def enter_all_stamps(self) -> None:
        n = 0
        while self.s.step is Step.STAMP:
            n += 1
            assert self.s.stamp_entered(f"{n:016d}")

    def read_all_fingers(self) -> None:
        while self.s.step is Step.FINGERPRINTS:
            self.s.finger_read(good_finger())

    def to_step(self, pd: PreDemande, step: Step, **kw) -> Session:
        """Along the happy path until ``step`` is reached."""
        self.to_checklist(pd, **kw)
        if step is Step.CHECKLIST:
            return self.s
        self.s.begin_capture()
        for stage in (self.capture_all_documents, self.enter_all_stamps, self.read_all_fingers):
            if self.s.step is step:
                return self.s
            stage()
        if self.s.step is step:
            return self.s
        assert self.s.signature_done(b"\x89PNG signature", strokes=3)
        if step is Step.SUMMARY:
            return self.s
        raise AssertionError(f"the walker does not stop at {step}")

    def to_summary(self, pd: PreDemande, **kw) -> Session:
        return self.to_step(pd, Step.SUMMARY, **kw)


def document_image(height: int = 960, width: int = 1280, seed: int = 1) -> np.ndarray:
    """A sheet of paper with lines of dark "words" on a darker table: sharp, well exposed."""
    rng = np.random.default_rng(seed)
    img = np.full((height, width), 185, np.uint8)
    edge = width // 32
    img[:, :edge] = img[:, -edge:] = 60
    img[:edge] = img[-edge:] = 60
    for y in range(height // 10, height - height // 10, 28):
        x = width // 12
        while x < width - width // 8:
            word = int(rng.integers(8, 40))
            img[y:y + 12, x:x + word] = 30
            x += word + int(rng.integers(6, 14))
    return img


def box_blur(img: np.ndarray, radius: int) -> np.ndarray:
    """A (2r+1)-square box blur with edge padding, through an integral image."""
    n = 2 * radius + 1
    padded = np.pad(img.astype(np.float64), radius, mode="edge")
    integral = np.pad(padded.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    total = integral[n:, n:] - integral[:-n, n:] - integral[n:, :-n] + integral[:-n, :-n]
    return (total / (n * n)).round().astype(np.uint8)


@pytest.fixture
def document():
    return document_image


@pytest.fixture
def blur():
    return box_blur


@pytest.fixture
def good() -> QualityReport:
    return GOOD


@pytest.fixture
def blurry() -> QualityReport:
    return BLURRY


@pytest.fixture
def finger():
    """``finger()`` → a good reading; ``finger(ok=False, image=None, feedback="moved")`` → a poor one."""

    def make(ok: bool = True, image: bytes | None = b"\x89PNG finger", quality: int | None = 80,
             feedback: str | None = None, template: bytes | None = b"TPL") -> FingerReading:
        return FingerReading(ok=ok, feedback=feedback, image=image, quality=quality, template=template)

    return make


@pytest.fixture
def make_pd():
    return make_predemande


@pytest.fixture
def session(settings, clock) -> Session:
    return Session(settings, clock, wall_clock=lambda: TODAY)


@pytest.fixture
def walk(session, clock) -> Walker:
    return Walker(session, clock)
