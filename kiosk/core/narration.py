"""What the kiosk says aloud: the spoken form of each page, of each message, and of each key typed.

A person who cannot read the screen must hear what a reader sees: where
they are, what the page asks, and which button does what, named as the
button says it (the button's own message key fills the sentence, so the
spoken name can never drift from the written one). After an action, they
hear its result: the session's message, with a short sound first (rising
for success, low for an error). This module decides the words; it knows
nothing of audio, threads or Kivy, and the tests read its prompts
directly. :class:`kiosk.speech.voice.Voice` renders and plays them.

A :class:`Prompt` is ``personal`` when it says something of the citizen's
(their name and birth date on the confirm page, the pré-demande number, the
characters they type, the dossier number): the voice speaks it through the
loudspeaker only when the citizen asked for it on that very page
(EN 301 549 5.1.3.9, private access to personal data); through headphones,
always.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.core import journey
from kiosk.core.interview import CHOICES, prompt_key
from kiosk.core.journey import header_title
from kiosk.core.session import BUSY_STEPS, Step
from titres.i18n import Translator, euros
from titres.wording import (
    checklist_line, fees_line, message_text, requirement_condition, requirement_detail, requirement_label, summary_lines,
)


@dataclass(frozen=True)
class Prompt:
    """One sentence to say. ``key`` is the message key it comes from (``sound.*`` for a tone alone)."""

    key: str
    text: str = ""
    personal: bool = False
    #: Said slowly: a number read out group by group.
    slow: bool = False
    #: A short sound before the words (:data:`kiosk.hal.tones.SHAPES`), or None.
    sound: str | None = None


def spelled(text: str, t: Translator) -> str:
    """``K01-00001-H`` as it is read out: one character at a time, a pause between groups."""
    groups = [g for g in text.replace(" ", "-").split("-") if g]
    return ". ".join(", ".join(_char(c, t) for c in g) for g in groups)


def _char(c: str, t: Translator) -> str:
    # espeak-ng reads a lone "A" as the article in French ("à"): name the letter instead.
    if c.isalpha() and t.lang == "fr":
        return LETTER_NAMES_FR.get(c.upper(), c.upper())
    return c.upper()


#: French letter names as spoken when spelling (what espeak-ng pronounces right).
LETTER_NAMES_FR = {"A": "a", "B": "bé", "C": "cé", "D": "dé", "E": "e", "F": "èfe", "G": "gé", "H": "ache",
                   "I": "i", "J": "ji", "K": "ka", "L": "èle", "M": "ème", "N": "ène", "O": "o", "P": "pé",
                   "Q": "ku", "R": "ère", "S": "èsse", "T": "té", "U": "u", "V": "vé", "W": "double vé",
                   "X": "ixe", "Y": "i grec", "Z": "zède"}


def _p(t: Translator, key: str, personal: bool = False, **params) -> Prompt:
    return Prompt(key, t(key, **params), personal=personal)


def _buttons(t: Translator, **keys: str) -> dict[str, str]:
    """Button names for a sentence: ``ok="confirm.ok"`` gives ``{"ok": "Oui, c'est bien moi"}``."""
    return {name: t(key) for name, key in keys.items()}


def page(t: Translator, session) -> list[Prompt]:
    """The page as it is read out when it comes on screen (or when the citizen asks to hear it again)."""
    step = session.step
    out: list[Prompt] = []
    if step is Step.WELCOME:
        if session.out_of_service:
            return [_p(t, session.out_of_service)]
        out += [_p(t, "welcome.title"), _p(t, "app.title"), _p(t, "welcome.body"), _p(t, "welcome.start")]
        return out
    if step in BUSY_STEPS:
        return []  # the busy page says what it is doing: its message (:func:`message`)
    out.append(_step_title(t, session))
    if step is Step.IDENTIFY:
        out += [_p(t, "identify.scan_hint"),
                _p(t, "speech.identify.or_type", **_buttons(t, type_instead="identify.type_instead"))]
        if session.typed:
            out.append(Prompt("speech.typed.so_far", t("speech.typed.so_far", spelled=spelled(session.typed, t)),
                              personal=True, slow=True))
    elif step is Step.CONFIRM:
        out += _confirm(t, session)
    elif step is Step.QUESTIONS:
        out += _question(t, session)
    elif step is Step.CHECKLIST:
        out += _checklist(t, session)
    elif step is Step.CAPTURE:
        out += _capture(t, session)
    elif step is Step.STAMP:
        req = session.current_requirement
        if req is not None:
            out.append(Prompt("stamp.document", requirement_label(t, req)))
        out += [_p(t, "stamp.hint", amount=euros((req.amount_cents or 0) if req is not None else 0, t.lang)),
                _p(t, "speech.stamp.do", **_buttons(t, ok="keyboard.ok", paper="stamp.paper"))]
    elif step is Step.FINGERPRINTS:
        out += _fingers(t, session)
    elif step is Step.SIGNATURE:
        signer = session.dossier.signer if session.dossier is not None else "applicant"
        out += [_p(t, f"signature.hint.{signer}"), _p(t, "speech.signature.do", **_buttons(t, next="common.continue"))]
    elif step is Step.SUMMARY:
        out += [Prompt("summary.line", line) for line in summary_lines(t, session)]
        out += [_p(t, "summary.consent"), _p(t, "speech.summary.do", **_buttons(t, submit="summary.submit"))]
    elif step is Step.RECEIPT_FAILED:
        out += _number(t, session)
        out.append(_p(t, "speech.receipt_failed.do", **_buttons(t, retry="receipt.retry", done="receipt.done")))
        return out  # the message (what failed) is said first, by :func:`message`
    elif step is Step.END:
        out += _number(t, session)
        out.append(_p(t, "speech.end.do", **_buttons(t, done="receipt.done")))
    return out


def _step_title(t: Translator, session) -> Prompt:
    # The header names a child ("Vérifiez la demande de Léa"); aloud, the name waits for the fields, which
    # the loudspeaker says only if the citizen asks.
    child_confirm = session.step is Step.CONFIRM and session.audience == "child"
    title = t("speech.confirm.title.child") if child_confirm else header_title(t, session)
    where = journey.position(session)
    text = f"{t('common.step', index=where[0], count=where[1])}. {title}." if where else f"{title}."
    return Prompt("title." + session.step.value, text)


def _confirm(t: Translator, session) -> list[Prompt]:
    pd = session.predemande
    out = []
    if pd is not None:
        p = pd.person
        name = f"{p.given_names} {p.surname}".strip()
        born = p.birth_date.strftime("%d/%m/%Y")
        out.append(Prompt("speech.field.person", t("speech.field", name=t.worded("confirm.person", session.audience),
                                                    value=name), personal=True))
        out.append(Prompt("speech.field.birth", t("speech.field", name=t("confirm.birth"), value=(
            t("confirm.birth_value", date=born, place=p.birth_place) if p.birth_place else born)), personal=True))
        titles = " + ".join(t(f"title.{x.value}") for x in sorted(pd.titles))
        out.append(Prompt("speech.field.titles", t("speech.field", name=t("confirm.titles"), value=titles)))
        out.append(Prompt("speech.field.motif", t("speech.field", name=t("confirm.motif"), value=t(f"motif.{pd.motif.value}"))))
        out.append(Prompt("speech.field.number", t("speech.field", name=t("confirm.number"), value=spelled(pd.number, t)),
                          personal=True, slow=True))
    ok = "confirm.ok.child" if session.audience == "child" else "confirm.ok"
    out.append(Prompt("speech.confirm.do", t.worded("speech.confirm.do", session.audience,
                                                   **_buttons(t, ok=ok, back="common.back"))))
    return out


def _question(t: Translator, session) -> list[Prompt]:

    q = session.current_question
    if q is None:
        return []
    out = [_p(t, "questions.progress", index=session.index + 1, count=len(session.needed_questions())),
           Prompt(prompt_key(q), t.worded(prompt_key(q), session.audience))]
    if t.has(f"{prompt_key(q)}.detail"):
        out.append(_p(t, f"{prompt_key(q)}.detail"))
    answers = ", ".join(t(key) for key, _ in CHOICES[q])
    out.append(_p(t, "speech.questions.answers", answers=answers, **_buttons(t, next="common.continue")))
    return out


def _checklist(t: Translator, session) -> list[Prompt]:
    items = "; ".join(checklist_line(t, req) for req in session.checklist)
    out = [_p(t, "checklist.intro"), Prompt("speech.checklist.items", t("speech.checklist.items", items=items))]
    if session.stamp_fees_cents:
        out.append(Prompt("checklist.fees", fees_line(t, session.stamp_fees_cents)))
    out.append(_p(t, "speech.checklist.do", **_buttons(t, start="checklist.start")))
    return out


def _capture(t: Translator, session) -> list[Prompt]:
    req = session.current_requirement
    if req is None:
        return []
    out = [_p(t, "capture.progress", index=session.index + 1, count=len(session.photo_requirements)),
           Prompt("capture.document", requirement_label(t, req))]
    detail, condition = requirement_detail(t, req), requirement_condition(t, req)
    out += [Prompt("capture.detail", x) for x in (detail, condition) if x]
    if session.reviewing:
        out.append(_p(t, "speech.capture.review", **_buttons(t, keep="capture.keep", retake="capture.retake")))
    else:
        out += [_p(t, "capture.hint"), _p(t, "speech.capture.do", **_buttons(t, shoot="capture.shoot",
                                                                             at_desk="capture.at_desk"))]
    return out


def _fingers(t: Translator, session) -> list[Prompt]:
    finger = session.current_finger
    if finger is None:
        return []
    out = [_p(t, "finger.progress", index=session.index + 1, count=len(session.fingers))]
    if session.sensor_down:
        return out + [_p(t, "speech.finger.sensor_down", **_buttons(t, next="common.continue"))]
    out.append(Prompt("finger.place", t.worded("finger.place", session.audience, finger=t(f"finger.{finger}"))))
    out.append(_p(t, "speech.finger.do", **_buttons(t, start="finger.start")))
    return out


def _number(t: Translator, session) -> list[Prompt]:
    if not session.dossier_number:
        return []
    return [Prompt("speech.number", t("speech.number", spelled=spelled(session.dossier_number, t)),
                   personal=True, slow=True)]


#: Messages that carry what the citizen typed (the number so far): spoken only in private, as the keys are.
PERSONAL_MESSAGES = ("identify.entry.",)


def message(t: Translator, session) -> list[Prompt]:
    """The session's message (the result of an action, an error and its way out), with its sound."""
    msg = session.message
    if msg is None:
        return []
    text = message_text(t, msg, session.audience)
    sound = {"ok": "success", "error": "error"}.get(msg.level)
    return [Prompt(msg.key, text, personal=msg.key.startswith(PERSONAL_MESSAGES), sound=sound)]


def typed(t: Translator, before: str, after: str) -> list[Prompt]:
    """A key on the keyboard: the character it added ("K", "zéro"), or that one was deleted."""
    if len(after) > len(before) and after.startswith(before):
        return [Prompt("speech.typed.char", spelled(after[len(before):], t), personal=True)]
    if len(after) < len(before):
        return [Prompt("speech.typed.deleted", t("speech.typed.deleted"))]
    return []


def legibility(t: Translator, before, after) -> list[Prompt]:
    """A reading setting switched (:class:`kiosk.core.legibility.Legibility`): its new state, heard (EN 301 549
    5.6.1: a toggle's status is not only seen)."""
    out = []
    if after.text_scale != before.text_scale:
        out.append(_p(t, "speech.text_size", percent=round(after.text_scale * 100)))
    if after.high_contrast != before.high_contrast:
        out.append(_p(t, "speech.contrast.on" if after.high_contrast else "speech.contrast.off"))
    return out


def warning(t: Translator, session) -> list[Prompt]:
    """The inactivity question, over whatever page the citizen left."""
    return [Prompt("inactivity.title", t("inactivity.title"), sound="your_turn"),
            _p(t, "inactivity.body", seconds=session.seconds_before_abandon)]


#: Prompts that say where the citizen is, not what to do: not repeated when only the page's state changes.
WHERE = frozenset({"capture.progress", "capture.document", "capture.detail", "finger.progress"}
                  | {f"title.{step.value}" for step in Step})


class Narrator:
    """Follows the session and says what changed: a new page, a new message, a key typed, the warning.

    :meth:`update` answers what to say after a change of the session, and
    whether it replaces what is being said (a new page does; a message on
    the same page follows the page's words, unless the page was already
    said). The narrator keeps what it last said, not the session's data.
    """

    def __init__(self) -> None:
        self._page = None
        self._message = None
        self._typed = ""
        self._warning = False

    @staticmethod
    def page_key(session) -> tuple:
        return (session.generation, session.step, session.index, session.reviewing, session.sensor_down,
                session.lang)

    def whole_page(self, t: Translator, session) -> list[Prompt]:
        """Everything on the page now (the citizen asked to hear it, or speech just started)."""
        self._note(session)
        return page(t, session) + message(t, session)

    def _note(self, session) -> None:
        self._page = self.page_key(session)
        self._message = session.message
        self._typed = session.typed
        self._warning = session.warning

    def update(self, t: Translator, session) -> tuple[list[Prompt], bool]:
        """``(prompts, interrupt)`` for the change just made to ``session``; ``([], False)``: nothing to say."""
        if session.warning and not self._warning:
            self._warning = True
            return warning(t, session), True
        self._warning = session.warning
        key = self.page_key(session)
        if key != self._page:
            before = self._page
            self._note(session)
            said = page(t, session)
            if before is not None and before[:3] == key[:3] and before[5] == key[5]:
                # The same page, in another state (the photo shown for review, the sensor gone): the result
                # first ("Photo acceptée"), then what to do now; where the citizen is, they know already.
                return message(t, session) + [p for p in said if p.key not in WHERE], True
            if session.step is Step.RECEIPT_FAILED:
                return message(t, session) + said, True  # what failed, before the number to note
            return said + message(t, session), True
        out: list[Prompt] = []
        if session.typed != self._typed:
            out += typed(t, self._typed, session.typed)
            self._typed = session.typed
        if session.message != self._message:
            self._message = session.message
            if session.message is not None and not (session.message.key.startswith("identify.entry.partial")
                                                    and out):
                out += message(t, session)
        return out, False
