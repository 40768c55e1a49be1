"""Replaying a scripted citizen session, headless, through the real state machine and simulators.

The format is documented in ``docs/scenarios.md``; ``examples/scenarios/``
holds one per motif for an adult and a minor, the offline path, a failed
fingerprint, an abandoned session and a printer out of paper. The same
controller jobs the app runs on its worker thread run here in line, and
time is a fake clock, so an abandon after 90 s of inactivity replays in
milliseconds.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from titres import outcomes
from kiosk.config import KioskConfig
from titres.errors import InvalidNumber, KioskError, NotAPredemande
from titres.i18n import Translator
from kiosk.core.legibility import TEXT_SCALES, Legibility
from kiosk.runtime import Kiosk, build_kiosk
from kiosk.core.session import BUSY_STEPS, Step
from kiosk.core.signature import demo_strokes, signature_png
from titres.wording import summary_lines

STEP_KEYS = {
    "language", "scan", "type", "answer", "confirm", "begin_capture", "photo", "photos", "at_desk", "not_held",
    "retake", "stamp", "paper_stamp", "finger", "fingers", "finger_unavailable", "continue", "sign", "consent",
    "submit", "retry_print", "finish", "idle", "tick", "cancel", "back", "network", "printer", "sensor",
    "listen", "headphone", "help", "text_size", "contrast",
}
MAX_SCAN_FRAMES = 12


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ScenarioError(KioskError):
    pass


def load_scenario(path: Path) -> dict[str, Any]:
    try:
        scenario = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc}") from exc
    for i, step in enumerate(scenario.get("steps", [])):
        if not isinstance(step, dict) or len(step) != 1 or next(iter(step)) not in STEP_KEYS:
            raise ScenarioError(f"step {i} must be one of {sorted(STEP_KEYS)} as {{key: value}}: {step!r}")
    scenario.setdefault("name", Path(path).stem)
    return scenario


class Observer:
    """What a session showed and built, kept as it goes (the dossier is wiped at the end): the messages
    said, the dossier's id, flags, documents and answers, and the summary's sentences. The headless
    runner and the touch-driven UI tests read the same one."""

    def __init__(self, session) -> None:
        self.reset()
        session.subscribe(self)

    def reset(self) -> None:
        self.messages: list[str] = []
        self.dossier_id: str | None = None
        self.flags: list[str] = []
        self.documents: list[dict] = []
        self.answers: list[dict] = []
        self.summary: list[str] = []
        #: The steps shown, in order (each once per visit): what the voice's log is checked against.
        self.steps: list[str] = []
        self.help: list[str] = []
        #: [text scale, high contrast] after each touch of the header's reading settings.
        self.legibility: list[list] = []
        #: Where this session's utterances start in the simulated audio log (a kiosk that ran others before).
        self.heard_from = 0

    def __call__(self, session) -> None:
        if not self.steps or self.steps[-1] != session.step.value:
            self.steps.append(session.step.value)
        if session.message and (not self.messages or self.messages[-1] != session.message.key):
            self.messages.append(session.message.key)
        if session.dossier is not None:
            d = session.dossier
            self.dossier_id = d.id
            self.flags = list(d.flags)
            self.documents = [i.as_dict() for i in outcomes.documents(session.checklist, session.not_applicable, d)]
            self.answers = [{"question": a.question, "value": a.value, "source": a.source.value} for a in d.answers]
        if session.step is Step.SUMMARY:
            self.summary = summary_lines(Translator(session.lang), session)

    def outcome(self, kiosk: Kiosk) -> dict[str, Any]:
        """The scenario's result fields (those :func:`check_expectations` reads) once it has run."""
        s = kiosk.controller.session
        queued = kiosk.outbox.get(self.dossier_id) if self.dossier_id else None
        receipt = getattr(kiosk.devices.printer, "last_job_path", None) if queued else None
        text = _receipt_text(receipt)
        if queued and queued.number not in " ".join(text):
            receipt, text = None, []  # the last receipt printed is another dossier's
        return {
            "dossier_id": queued.id if queued else None,
            "dossier_number": queued.number if queued else None,
            "queue_state": queued.state.name.lower() if queued else None,
            "receipt": str(receipt) if receipt else None,
            "final_step": s.step.value,
            "flags": sorted(self.flags) if queued else [],
            "documents": self.documents,
            "answers": self.answers,
            "summary": self.summary,
            "receipt_text": text,
            "messages": self.messages,
            "steps": self.steps,
            "help": self.help,
            "legibility": self.legibility,
            "spoken": _spoken(kiosk)[self.heard_from:],
        }


class Runner:
    def __init__(self, kiosk: Kiosk, clock: FakeClock):
        self.kiosk = kiosk
        self.clock = clock
        self.c = kiosk.controller
        self.s = kiosk.controller.session
        self.devices = kiosk.devices
        self.seen = Observer(self.s)
        self.given: dict[str, Any] = {}  # answers given in advance, by question
        self.legibility = Legibility(generation=self.s.generation)  # the header's text size and contrast

    def run_job(self, job) -> None:
        if job is not None:
            job.run_sync(self.s)

    # -- steps --------------------------------------------------------------------
    def step(self, key: str, value: Any) -> None:
        getattr(self, f"do_{key}")(value)

    def do_language(self, lang):
        self.s.set_language(lang)

    def do_scan(self, spec):
        from kiosk.hal.sim.camera import QrScene

        if self.s.step is Step.WELCOME:
            self.s.start()
        spec = {"payload": spec} if isinstance(spec, str) else dict(spec)
        self.devices.camera.show(QrScene(**spec))
        for _ in range(MAX_SCAN_FRAMES):
            self.run_job(self.c.scan_job())
            self.clock.now += 0.12
            if self.s.step is not Step.IDENTIFY or (self.s.message and self.s.message.level == "error"):
                return
        self.s.scan_unreadable()

    def do_type(self, text):
        if self.s.step is Step.WELCOME:
            self.s.start()
        for i in range(1, len(text) + 1):
            self.s.number_typed(text[:i])
        try:
            self.run_job(self.c.typed_number_job(text))
        except InvalidNumber:
            pass

    def do_answer(self, answers):
        """Answers given in advance: each is given when its question comes on screen (:meth:`do_confirm`)."""
        self.given.update(answers)

    def do_confirm(self, _):
        """Confirm the pré-demande, then go through the questions, one page each, with the answers given."""
        if self.s.step is Step.CONFIRM:
            self.s.confirm()
        while self.s.step is Step.QUESTIONS:
            q = self.s.current_question
            if q.value not in self.given:
                asked = self.s.needed_questions()
                raise ScenarioError(
                    f"the scenario gives no answer to {q.value!r} (question {self.s.index + 1} of {len(asked)}: "
                    f"{', '.join(x.value for x in asked)}); add it to the \"answer\" step")
            self.s.answer(q, self.given[q.value])
            self.s.next_question()

    def do_begin_capture(self, _):
        self.s.begin_capture()

    def _shoot(self, spec) -> None:
        """The current document under the simulated camera, and a still taken and assessed."""
        from kiosk.hal.sim.camera import DocumentScene

        req = self.s.current_requirement
        self.devices.camera.show(DocumentScene(kind=req.id if req else "document", **(spec or {})))
        self.run_job(self.c.photo_job())

    def do_photo(self, spec):
        self._shoot(spec)
        if self.s.reviewing:
            self.s.document_kept()  # the citizen sees "Photo acceptée" and goes on

    def do_photos(self, _):
        while self.s.step is Step.CAPTURE:
            before = self.s.index
            self.do_photo({})
            if self.s.step is Step.CAPTURE and self.s.index == before:
                raise ScenarioError("a good document photo was refused")

    def do_at_desk(self, _):
        self.s.document_at_desk()

    def do_not_held(self, _):
        self.s.document_not_held()

    def do_retake(self, spec):
        """Take a photo, see it accepted, and ask for another one of the same document."""
        self._shoot(spec)
        self.s.retake()

    def do_continue(self, _):
        """"Continuer" on a page that waits for it: after the sensor failed."""
        self.s.continue_without_sensor()

    def do_stamp(self, number):
        self.s.stamp_entered(number)

    def do_paper_stamp(self, _):
        self.s.stamp_paper()

    def do_finger(self, outcome):
        self.devices.fingerprint.script(outcome)
        self.run_job(self.c.finger_job())

    def do_fingers(self, outcomes):
        for outcome in outcomes:
            if self.s.step is not Step.FINGERPRINTS:
                raise ScenarioError(f"fingers left over: not in the fingerprint step ({self.s.step.value})")
            self.do_finger(outcome)

    def do_finger_unavailable(self, _):
        self.s.finger_unavailable()

    def do_sign(self, _):
        """A scribble on a pad three times as wide as high, rendered as the signature pad renders it."""
        strokes = demo_strokes()
        self.s.signature_done(signature_png(strokes), len(strokes))

    def do_consent(self, value):
        self.s.set_consent(bool(value))

    def do_submit(self, _):
        self.run_job(self.c.submit_job())

    def do_retry_print(self, _):
        self.run_job(self.c.retry_print_job())

    def do_finish(self, _):
        self.s.finish()

    def do_idle(self, seconds):
        end = self.clock.now + float(seconds)
        while self.clock.now < end:
            self.clock.now = min(end, self.clock.now + 1.0)
            self.s.tick()

    def do_tick(self, _):
        self.s.tick()

    def do_cancel(self, _):
        self.s.cancel()

    def do_back(self, _):
        self.s.back()

    def do_network(self, state):
        self.c.directory.offline = state == "offline"

    def do_printer(self, state):
        self.devices.printer.set_state(state)  # paper (ok, near_end, out), unplugged or busy

    def do_sensor(self, state):
        if state == "unplugged":
            self.devices.fingerprint.script("unplugged")

    def do_listen(self, action):
        """The header's "Écouter" (``true``), then its panel: ``repeat``, ``louder``, ``softer``, ``stop``."""
        voice = self.kiosk.voice
        if action in (True, "on", "repeat"):
            voice.listen(self.s)
        elif action in ("louder", "softer"):
            voice.change_volume(self.s, louder=action == "louder")
        elif action in ("stop", False):
            voice.silence(self.s)
        else:
            raise ScenarioError(f"listen: true, repeat, louder, softer or stop, not {action!r}")

    def do_headphone(self, state):
        """A plug in the headphone socket (``plugged``) or out of it (``unplugged``)."""
        if state not in ("plugged", "unplugged"):
            raise ScenarioError(f"headphone: plugged or unplugged, not {state!r}")
        self.devices.audio.plug(state == "plugged")
        self.kiosk.voice.poll_headphone(self.s)

    def _choose(self, change) -> None:
        before = self.legibility.for_session(self.s.generation)
        self.legibility = change(before)
        self.kiosk.voice.setting_changed(self.s, before, self.legibility)
        self.seen.legibility.append([self.legibility.text_scale, self.legibility.high_contrast])

    def do_text_size(self, scale):
        """"Texte plus grand" touched until the text is at ``scale`` (1, 1.25 or 1.5), or once (``larger``)."""
        if scale != "larger" and scale not in TEXT_SCALES:
            raise ScenarioError(f"text_size: larger or one of {list(TEXT_SCALES)}, not {scale!r}")
        self._choose(Legibility.larger_text)
        while scale != "larger" and self.legibility.text_scale != scale:
            self._choose(Legibility.larger_text)

    def do_contrast(self, on):
        """"Contraste" touched when the palette is not the one asked for (``true``: high contrast)."""
        if bool(on) != self.legibility.for_session(self.s.generation).high_contrast:
            self._choose(Legibility.contrast_switched)

    def do_help(self, how):
        """``screen``: "Besoin d'aide ?" touched; ``button``: the call button pressed; ``cancel``: no more need;
        ``wait``: a second passes and the kiosk reads the sync worker's answer."""
        a = self.kiosk.assistance
        if how == "screen":
            a.ask(self.s)
        elif how == "button":
            self.devices.indicator.press_call_button()
        elif how == "cancel":
            a.cancel()
        elif how == "wait":
            self.clock.now += 1.0
            a.tick()
        else:
            raise ScenarioError(f"help: screen, button, cancel or wait, not {how!r}")
        self.seen.help.append(a.state.value if a.state is not None else "closed")


def run_scenario(scenario: dict[str, Any], config: KioskConfig) -> dict[str, Any]:
    clock = FakeClock()
    today = scenario.get("today")
    wall = (lambda: datetime.fromisoformat(today)) if today else (lambda: datetime.now(timezone.utc))
    failures: list[str] = []
    with build_kiosk(config, clock=clock, wall_clock=wall, inline_voice=True, help_clock=clock) as kiosk:
        runner = Runner(kiosk, clock)
        if scenario.get("network") == "offline":
            runner.do_network("offline")
        if "printer" in scenario:
            runner.do_printer(scenario["printer"])
        for i, step in enumerate(scenario.get("steps", [])):
            key, value = next(iter(step.items()))
            try:
                runner.step(key, value)
            except NotAPredemande:
                pass  # the session shows the message; the scenario's expectations say whether it was wanted
            except KioskError as exc:
                failures.append(f"step {i} {key}: {type(exc).__name__}: {exc.detail}")
                break
        result = {"scenario": scenario["name"], **runner.seen.outcome(kiosk), "queue": kiosk.outbox.counts()}
    failures += check_expectations(scenario.get("expect", {}), result)
    result["failures"] = failures
    result["ok"] = not failures
    return result


def _spoken(kiosk: Kiosk) -> list[dict]:
    """What the simulated audio output played, in order (empty on a real one)."""
    from kiosk.hal.sim.audio import SimAudioOutput, read_log

    if not isinstance(kiosk.devices.audio, SimAudioOutput):
        return []
    return [{k: e[k] for k in ("key", "lang", "text", "output", "personal")} for e in read_log(kiosk.config.sim_dir)]


def _receipt_text(path) -> list[str]:
    """The printed receipt's lines, read back from the simulated printer's ESC/POS bytes."""
    if not path:
        return []
    from kiosk.hal.sim.escpos_decode import decode_file

    return decode_file(path).text.splitlines()


def _check_speech(expect: dict[str, Any], result: dict[str, Any]) -> list[str]:
    """``spoken``: keys heard in this order (others between); ``spoken_lang``; ``every_screen_spoken``:
    each step shown after speech started has its title heard, in the order shown; ``not_spoken_aloud``:
    keys that must never come out of the loudspeaker."""
    out = []
    heard = result.get("spoken", [])
    keys = [e["key"] for e in heard]
    at = 0
    for key in expect.get("spoken", []):
        try:
            at = keys.index(key, at) + 1
        except ValueError:
            out.append(f"{key!r} was not spoken (in this order)")
    lang = expect.get("spoken_lang")
    if lang and any(e["lang"] not in ("", lang) for e in heard):
        out.append(f"something was spoken in another language than {lang!r}")
    for key in expect.get("not_spoken_aloud", []):
        if any(e["key"] == key and e["output"] == "speaker" for e in heard):
            out.append(f"{key!r} was spoken through the loudspeaker")
    if expect.get("every_screen_spoken"):
        titles = []
        for k in keys:  # one title per page: a step of several pages (documents, fingers) is one screen
            if k.startswith("title.") and (not titles or titles[-1] != k[len("title."):]):
                titles.append(k[len("title."):])
        first = titles[0] if titles else None
        shown = result.get("steps", [])
        silent = {s.value for s in BUSY_STEPS}  # the busy page says its message, not a title
        after = shown[shown.index(first):] if first in shown else []
        if "welcome" in after[1:]:
            after = after[:after.index("welcome", 1)]  # the session ended: the voice with it
        wanted = [s for s in after if s not in silent]
        if not titles:
            out.append("no screen was spoken")
        elif titles != wanted:
            out.append(f"screens spoken {titles}, shown {wanted}")
    return out


def check_expectations(expect: dict[str, Any], result: dict[str, Any]) -> list[str]:
    out = []
    documents = {d["key"]: d for d in result.get("documents", [])}
    for key, want in expect.get("documents", {}).items():
        want = {"outcome": want} if isinstance(want, str) or want is None else dict(want)
        got = documents.get(key)
        if got is None:
            out.append(f"document {key!r} was not considered (got {sorted(documents)})")
            continue
        for field, value in want.items():
            if got.get(field) != value:
                out.append(f"document {key!r}: {field} {got.get(field)!r}, expected {value!r}")
    for where, lines in (("summary", result.get("summary", [])), ("receipt", result.get("receipt_text", []))):
        text = " ".join(" ".join(lines).split())
        for wanted in expect.get(f"{where}_contains", []):
            if " ".join(wanted.split()) not in text:
                out.append(f"the {where} does not say {wanted!r}")
        for unwanted in expect.get(f"{where}_lacks", []):
            if " ".join(unwanted.split()) in text:
                out.append(f"the {where} says {unwanted!r}")
    if "step" in expect and result["final_step"] != expect["step"]:
        out.append(f"final step {result['final_step']!r}, expected {expect['step']!r}")
    if "queue_state" in expect and result["queue_state"] != expect["queue_state"]:
        out.append(f"queue state {result['queue_state']!r}, expected {expect['queue_state']!r}")
    if "receipt" in expect and bool(result["receipt"]) != bool(expect["receipt"]):
        out.append(f"receipt printed: {bool(result['receipt'])}, expected {bool(expect['receipt'])}")
    for flag in expect.get("flags", []):
        if flag not in result["flags"]:
            out.append(f"flag {flag!r} missing (got {result['flags']})")
    for key in expect.get("messages", []):
        if key not in result["messages"]:
            out.append(f"message {key!r} never shown")
    out += _check_speech(expect, result)
    if "legibility" in expect and result.get("legibility", [])[-1:] != [expect["legibility"]]:
        out.append(f"text size and contrast {result.get('legibility', [])[-1:]}, expected {expect['legibility']}")
    for state in expect.get("help", []):
        if state not in result.get("help", []):
            out.append(f"help state {state!r} never reached (got {result.get('help', [])})")
    if expect.get("nothing_queued") and result["dossier_id"]:
        out.append("a dossier was queued but the scenario expected none")
    return out
