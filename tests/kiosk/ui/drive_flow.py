"""Drive the real Kivy app through a citizen's session with simulated touches, in its own process.

Run by ``tests/kiosk/ui/test_flow.py`` (one process per scenario, so that Kivy's
global state never leaks into other tests), or by hand::

    .venv/bin/python tests/kiosk/ui/drive_flow.py online --size 800x480 --shots artifacts/screenshots

Every action is a touch at a widget's position on the screen
(``UnitTestTouch``), as a finger would do it, never a direct call of a
button's handler. The scenario waits for what a person would wait for (the
next screen, a message) and takes a screenshot of each screen from a
``Window.on_flip`` handler, once new frames have been drawn.

The result is one JSON object on the last line of stdout and in ``--result``:
``ok``, ``error``, the screenshots, the longest gaps between frames (the UI
thread must never block), the queue's counts, the receipts printed, the
dossier numbers shown on screen and the process's memory. Errors the app
logs (a screen that failed) fail the run.

Frame gaps: each frame is rendered to completion before the next (see
:meth:`Driver.finish_each_frame`; ``--no-finish`` to measure without);
``--watch-stalls`` samples the UI thread's stack whenever a frame is more
than 100 ms late, to find what blocks it; ``--no-shots`` leaves the
screenshots out of the measurement.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.threads import HelperThreads  # noqa: E402


def _prepare_environment(kivy_home: Path) -> None:
    """Kivy reads these at import: set them before anything imports kivy."""
    os.environ["KIVY_NO_ARGS"] = "1"
    os.environ["KIVY_NO_FILELOG"] = "1"
    os.environ["KIVY_HOME"] = str(kivy_home)
    os.environ["KIVY_CLIPBOARD"] = "sdl2"  # as kiosk-ui.service sets it (no xsel/xclip on a kiosk)
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    if not os.environ.get("DISPLAY"):
        os.environ["SDL_VIDEODRIVER"] = "offscreen"


class _ErrorCollector(logging.Handler):
    """Errors the app logged (a screen that failed, a job whose result could not be applied) fail the run."""

    def __init__(self, sink: list[str]) -> None:
        super().__init__(level=logging.ERROR)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.name}: {record.getMessage()}"
        if record.exc_info:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info))
        self.sink.append(text)


def _memory() -> dict:
    """Resident memory now and at its peak, in MB (Linux)."""
    import resource

    out = {"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out["rss_mb"] = round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return out


# -- what a scenario yields: a condition to wait for --------------------------------
@dataclass
class Wait:
    until: Callable[[], bool]
    what: str
    timeout: float = 15.0


class ScenarioFailed(AssertionError):
    pass


class Driver:
    """Pumps a scenario (a generator of :class:`Wait`) from the Kivy clock, one step per frame."""

    def __init__(self, app, kiosk, shots_dir: Path, prefix: str, sim_dir: Path) -> None:
        self.kiosk = kiosk
        self.session = kiosk.controller.session
        self.sim_dir = sim_dir
        self._setup(app, shots_dir, prefix, {"numbers_shown": [], "steps": []})
        self.session.subscribe(self._record_step)

    def _setup(self, app, shots_dir: Path, prefix: str, result: dict) -> None:
        """What any driven app needs: the clock and window, the result, the frame timing, the error log."""
        from kivy.clock import Clock
        from kivy.core.window import Window

        self.app = app
        self.shots_dir = shots_dir
        self.prefix = prefix
        self.shots_enabled = True
        self.Clock = Clock
        self.Window = Window
        self.result: dict = {"ok": False, "error": None, "shots": [], **result}
        self._gen: Iterator[Wait] | None = None
        self._waiting: tuple[Wait, float] | None = None
        self._last_frame: float | None = None
        self._started = time.perf_counter()
        self._gaps: list[tuple[float, str]] = []
        self._skip_gap = False
        self._shot_n = 0
        self.errors: list[str] = []
        self._log_handler = _ErrorCollector(self.errors)
        logging.getLogger("kiosk").addHandler(self._log_handler)

    # -- running ------------------------------------------------------------------------
    def watch_stalls(self, threads: HelperThreads, threshold_s: float = 0.1) -> None:
        """Where the UI thread is when a frame is late: a sampling of its stack, kept in the result.

        The watcher runs until the scenario ends or ``threads`` stops it; what it raises fails the run."""
        import threading

        main_id = threading.main_thread().ident
        stalls = self.result.setdefault("stalls", [])

        def watch():
            seen = None
            while not threads.stop.wait(0.02) and (self._gen is not None or self._last_frame is None):
                last = self._last_frame
                if last is None or time.perf_counter() - last < threshold_s or last == seen:
                    continue
                seen = last
                frames = sys._current_frames()
                frame = frames.get(main_id)
                stack = traceback.format_stack(frame)[-8:] if frame is not None else []
                workers = {t.name: "".join(traceback.format_stack(frames[t.ident])[-6:])
                           for t in threading.enumerate() if t.name.startswith("kiosk-job") and t.ident in frames}
                if len(stalls) < 40:
                    stalls.append({"step": self.session.step.value, "stack": "".join(stack), "workers": workers})

        threads.start(watch, name="stall-watch")

    def finish_each_frame(self) -> None:
        """Wait for each frame to be rendered before it is shown, as a display's buffer swap does.

        Offscreen, nothing paces the GL pipeline: software GL (llvmpipe)
        queues frames, and the next texture upload (a label's new text) waits
        for all of them, which shows up as a 400 ms "frame" that no real
        screen would have. With this the gaps measured are the app's own.
        """
        from kivy.graphics.opengl import glFinish

        self.Window.bind(on_flip=lambda *a: glFinish())

    def run(self, scenario) -> None:
        self._gen = scenario(self)
        self.Clock.schedule_interval(self._frame, 0)
        self.Clock.schedule_once(lambda dt: self._pump(), 0)

    def _record_step(self, session) -> None:
        steps = self.result["steps"]
        if not steps or steps[-1] != session.step.value:
            steps.append(session.step.value)

    def _frame(self, dt) -> None:
        now = time.perf_counter()
        if self._last_frame is not None and now - self._started > 1.5 and not self._skip_gap:
            self._gaps.append(((now - self._last_frame) * 1000.0, f"{self.session.step.value}@{self.Clock.frames_displayed}"))
        self._skip_gap = False
        self._last_frame = now
        self._pump()

    def _pump(self) -> None:
        if self._gen is None:
            return
        try:
            if self._waiting is not None:
                wait, deadline = self._waiting
                if not wait.until():
                    if time.monotonic() > deadline:
                        raise ScenarioFailed(f"timed out waiting for {wait.what} (step {self.session.step.value}, "
                                             f"message {self.session.message})")
                    return
                self._waiting = None
            wait = next(self._gen)
            self._waiting = (wait, time.monotonic() + wait.timeout)
        except StopIteration:
            self._finish(ok=True)
        except Exception as exc:
            self.result["error"] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
            self._finish(ok=False)

    def _verdict(self, ok: bool) -> None:
        """The run's outcome (an error the app logged fails it) and its frame timing."""
        self._gen = None
        if ok and self.errors:
            ok = False
            self.result["error"] = "errors were logged:\n" + "\n".join(self.errors)
        self.result["logged_errors"] = self.errors
        self.result["ok"] = ok
        gaps = sorted(self._gaps, reverse=True)
        self.result["frames"] = len(self._gaps)
        self.result["max_gap_ms"] = round(gaps[0][0], 1) if gaps else None
        self.result["max_frame_gap_ms"] = self.result["max_gap_ms"]  # the name bench/bench_ui.py reads
        self.result["frame_gaps_over_100ms"] = sum(1 for g, _ in gaps if g > 100.0)
        self.result["worst_gaps"] = [(round(g, 1), step) for g, step in gaps[:5]]

    def _finish(self, ok: bool) -> None:
        self._verdict(ok)
        self.result.update(_memory())
        self.result["queue"] = self.kiosk.outbox.counts()
        self.result["queued_numbers"] = [q.number for q in self.kiosk.outbox.list()]
        self.result["receipts"] = sorted(str(p) for p in (self.sim_dir / "printer").glob("receipt-*.bin"))
        self.Clock.schedule_once(lambda dt: self.app.stop(), 0.1)

    # -- what scenarios use ----------------------------------------------------------------
    def step_is(self, step, timeout: float = 15.0) -> Wait:
        return Wait(lambda: self.session.step is step, f"step {step.value}", timeout)

    def frames(self, n: int = 3) -> Wait:
        target = self.Clock.frames_displayed + n
        return Wait(lambda: self.Clock.frames_displayed >= target, f"{n} frames")

    def seconds(self, s: float) -> Wait:
        end = time.monotonic() + s
        return Wait(lambda: time.monotonic() >= end, f"{s} s", timeout=s + 5)

    def until(self, cond: Callable[[], bool], what: str, timeout: float = 15.0) -> Wait:
        return Wait(cond, what, timeout)

    def screen(self, name: str):
        return self.app.screens[name]

    def current(self) -> str:
        return self.app.root.ids.sm.current

    def assert_(self, cond: bool, what: str) -> None:
        if not cond:
            raise ScenarioFailed(what)

    # touches
    def _visible(self, widget) -> bool:
        w = widget
        while w is not None and w is not self.Window and w.parent is not w:
            if getattr(w, "opacity", 1) == 0 or getattr(w, "disabled", False):
                return False
            w = w.parent
        return True

    def window_point(self, widget, fx: float = 0.5, fy: float = 0.5) -> tuple[float, float]:
        x, y = widget.to_window(widget.x + widget.width * fx, widget.y + widget.height * fy)
        return x, y

    def tap(self, widget, what: str = "") -> None:
        """Touch ``widget`` where a finger would: at its centre, on the window."""
        from kivy.tests.common import UnitTestTouch

        what = what or getattr(widget, "text", "") or type(widget).__name__
        self.assert_(widget.get_root_window() is not None, f"{what!r} is not on the screen")
        self.assert_(self._visible(widget), f"{what!r} is hidden or disabled")
        self.assert_(widget.width >= 1 and widget.height >= 1,
                     f"{what!r} has no size ({widget.size} at {widget.pos}, parent {widget.parent!r} {getattr(widget.parent, 'size', None)})")
        x, y = self.window_point(widget)
        self.assert_(0 <= x < self.Window.width and 0 <= y < self.Window.height,
                     f"{what!r} is off the window at {(round(x), round(y))}")
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        touch.touch_up()

    def tap_at(self, x: float, y: float) -> None:
        from kivy.tests.common import UnitTestTouch

        touch = UnitTestTouch(x, y)
        touch.touch_down()
        touch.touch_up()

    def drag(self, widget, points: list[tuple[float, float]]) -> Iterator[Wait]:
        """A finger stroke over ``widget`` through relative points (0..1), a few moves per frame."""
        from kivy.tests.common import UnitTestTouch

        first = self.window_point(widget, *points[0])
        touch = UnitTestTouch(*first)
        touch.touch_down()
        for i, p in enumerate(points[1:], 1):
            touch.touch_move(*self.window_point(widget, *p))
            if i % 4 == 0:
                yield self.frames(1)
        touch.touch_up()
        yield self.frames(1)

    def reveal(self, widget) -> Iterator[Wait]:
        """Scroll the ScrollView holding ``widget`` so that it is on screen, as a person would."""
        from kivy.uix.scrollview import ScrollView

        parent = widget.parent
        while parent is not None and parent is not self.Window and not isinstance(parent, ScrollView):
            parent = parent.parent
        if not isinstance(parent, ScrollView):
            return
        yield self.frames(2)
        parent.scroll_to(widget, padding=20, animate=False)
        yield self.frames(3)

    def tap_and_wait(self, widget, cond: Callable[[], bool], what: str, timeout: float = 15.0) -> Iterator[Wait]:
        yield self.frames(2)  # a screen that just appeared is laid out on the next frame
        yield from self.reveal(widget)
        self.tap(widget, what)
        yield self.until(cond, what, timeout)

    def shoot(self, name: str) -> Iterator[Wait]:
        """Save the screen as it is shown, from the frame's flip (not a stale buffer)."""
        yield self.frames(3)
        if not self.shots_enabled:
            return
        self._shot_n += 1
        done: dict = {}
        target = self.Clock.frames_displayed + 1
        final = self.shots_dir / f"{self.prefix}_{self._shot_n:02d}_{name}.png"

        def on_flip(window, *args):
            if self.Clock.frames_displayed < target or done:
                return
            window.unbind(on_flip=on_flip)
            tmp = Path(tempfile.mkdtemp()) / "shot.png"
            saved = window.screenshot(name=str(tmp))  # Kivy appends a counter to the name
            shutil.move(saved, final)
            shutil.rmtree(tmp.parent, ignore_errors=True)
            done["path"] = str(final)
            self._skip_gap = True  # writing the PNG is the test's cost, not the app's

        self.Window.bind(on_flip=on_flip)

        def flipped() -> bool:
            if "path" not in done:
                self.Window.canvas.ask_update()  # Kivy only draws (and flips) when something changed
            return "path" in done

        yield self.until(flipped, f"screenshot {name}")
        self.result["shots"].append(done["path"])


# -- scenarios ------------------------------------------------------------------------------------
DOC_KINDS = {"photo": "photo", "proof_of_address": "proof_of_address", "previous_title": "id_card",
             "secure_id": "passport", "loss_declaration": "declaration", "theft_declaration": "police_receipt",
             "birth_certificate": "birth_certificate", "custody_judgment": "judgment"}


def start_session(d: Driver, shots: bool) -> Iterator[Wait]:
    """Welcome → Identify with nothing under the camera."""
    from kiosk.hal.sim.camera import EmptyScene
    from kiosk.core.session import Step

    d.kiosk.devices.camera.show(EmptyScene())
    yield d.step_is(Step.WELCOME)
    if shots:
        yield from d.shoot("welcome")
    welcome = d.screen("welcome")
    d.tap(welcome.ids.start_hint, "touch to start")
    yield d.step_is(Step.IDENTIFY)
    yield d.until(lambda: d.screen("identify").ids.preview.has_frame, "the camera picture")


def scan(d: Driver, number: str, shots: bool) -> Iterator[Wait]:
    from kiosk.hal.sim.camera import QrScene
    from kiosk.core.session import Step

    if shots:
        yield from d.shoot("identify_scan")
    d.kiosk.devices.camera.show(QrScene(number, code_px=190, angle_deg=8))
    if shots:
        yield d.step_is(Step.LOOKING_UP, timeout=10)
        yield from d.shoot("busy_looking_up")
    yield d.until(lambda: d.session.step in (Step.CONFIRM, Step.QUESTIONS), "the pré-demande", timeout=20)


def type_number(d: Driver, number: str, shots: bool) -> Iterator[Wait]:
    from kiosk.ui.screens.widgets import BACKSPACE, OK_KEY
    from kiosk.core.session import Step

    screen = d.screen("identify")
    yield from d.tap_and_wait(screen.ids.type_button, lambda: screen.typing, "the keyboard")
    yield d.frames(3)
    kb = screen.ids.keyboard
    # A slip first: one character short, OK → the session explains; then the last character.
    for ch in number[:-1]:
        d.tap(kb.key_widget(ch), ch)
        yield d.frames(1)
    d.tap(kb.key_widget("X"), "X")
    d.tap(kb.key_widget(BACKSPACE), "backspace")
    yield d.until(lambda: d.session.typed == number[:-1], "the typed number")
    d.tap(kb.key_widget(OK_KEY), "OK")
    yield d.until(lambda: d.session.message is not None and d.session.message.level == "error", "the format error")
    if shots:
        yield from d.shoot("identify_keyboard_error")
    d.tap(kb.key_widget(number[-1]), number[-1])
    yield d.until(lambda: d.session.message is not None and d.session.message.key == "identify.entry.complete",
                  "complete")
    if shots:
        yield from d.shoot("identify_keyboard")
    d.tap(kb.key_widget(OK_KEY), "OK")
    yield d.until(lambda: d.session.step is Step.CONFIRM, "the pré-demande", timeout=20)


def answer(d: Driver, question: str, value, shot: str | None = None) -> Iterator[Wait]:
    """On the page of ``question``: touch the answer, see it ticked, then "Continuer"."""
    from kiosk.core.interview import Question
    from kiosk.ui.screens.questions import is_selected
    from kiosk.core.session import Step

    screen = d.screen("questions")
    q = Question(question)
    yield d.until(lambda: d.session.current_question is q and screen.question is q, f"the question {question}")
    yield d.frames(2)
    button = screen.button(question, value)
    d.assert_(button is not None, f"no button for {question}={value!r}")
    yield from d.tap_and_wait(button, lambda: is_selected(q, button.value, d.session.answers),
                              f"answer {question}={value!r}")
    yield d.until(lambda: button.selected, "the answer shown as chosen")
    if shot:
        yield from d.shoot(shot)
    index = d.session.index
    yield from d.tap_and_wait(screen.ids.continue_button,
                              lambda: d.session.step is not Step.QUESTIONS or d.session.index != index,
                              "the next question")


def confirm_predemande(d: Driver, shot: str | None = None) -> Iterator[Wait]:
    from kiosk.core.session import Step

    yield d.until(lambda: d.current() == "confirm", "the confirm screen")
    if shot:
        yield from d.shoot(shot)
    yield from d.tap_and_wait(d.screen("confirm").ids.continue_button, lambda: d.session.step is Step.QUESTIONS,
                              "the first question")


def capture_documents(d: Driver, shots: bool, at_desk: set[str] = frozenset(), blurry_first: bool = False,
                      not_held: bool = False) -> Iterator[Wait]:
    """Photograph each document (or leave those in ``at_desk`` for the desk; with ``not_held``, say "I don't
    have it" for each conditional one)."""
    from kiosk.hal.sim.camera import DocumentScene
    from kiosk.core.session import Step

    screen = d.screen("capture")
    first = True
    while d.session.step is Step.CAPTURE:
        index = d.session.index
        req = d.session.current_requirement
        kind = DOC_KINDS.get(req.id, "document")
        leave = ("not_held_button" if not_held and req.conditional else
                 "desk_button" if req.id in at_desk else None)
        if leave:
            if leave == "not_held_button" and not d.result.get("conditional_shot"):
                d.result["conditional_shot"] = True
                yield from d.shoot("capture_conditional")
            yield from d.tap_and_wait(screen.ids[leave],
                                      lambda: d.session.step is not Step.CAPTURE or d.session.index != index,
                                      f"{req.id}: {leave}")
            continue
        if first and blurry_first:
            d.kiosk.devices.camera.show(DocumentScene(kind=kind, blur=9))
            yield d.until(lambda: screen.ids.preview.has_frame, "the camera picture")
            if shots:
                yield from d.shoot("capture")
            d.tap(screen.ids.shoot_button, "take the photo")
            yield d.until(lambda: d.session.message is not None and d.session.message.key.startswith("quality."),
                          "the retake message", timeout=20)
            if shots:
                yield from d.shoot("capture_retake")
        first = False
        d.kiosk.devices.camera.show(DocumentScene(kind=kind))
        yield d.frames(2)
        yield d.until(lambda: not screen.working and d.app.runner.pending("photo") == 0, "the camera idle", timeout=10)
        d.tap(screen.ids.shoot_button, "take the photo")
        # While the photo is taken, Back cannot send it to another page.
        d.assert_(d.app.root.ids.back_button.disabled, "Back is locked while the photo is taken")
        yield d.until(lambda: d.session.reviewing and screen.reviewing, f"{req.id} accepted", timeout=20)
        yield d.until(lambda: not d.app.navigation_locked, "Back unlocked")
        if shots and not d.result.get("accepted_shot"):
            d.result["accepted_shot"] = True
            yield from d.shoot("capture_accepted")
        yield from d.tap_and_wait(screen.ids.keep_button,
                                  lambda: d.session.step is not Step.CAPTURE or d.session.index != index,
                                  f"{req.id} kept")


def enter_stamp(d: Driver, digits: str, shots: bool) -> Iterator[Wait]:
    from kiosk.ui.screens.widgets import OK_KEY
    from kiosk.core.session import Step

    screen = d.screen("stamp")
    pad = screen.ids.keypad
    index = d.session.index
    for i, ch in enumerate(digits):
        d.tap(pad.key_widget(ch), ch)
        if i % 4 == 3:
            yield d.frames(1)
    yield d.until(lambda: screen.digits == digits, "the digits typed")
    if shots:
        yield from d.shoot("stamp")
    d.tap(pad.key_widget(OK_KEY), "OK")
    yield d.until(lambda: d.session.step is not Step.STAMP or d.session.index != index, "the stamp accepted")


def take_fingers(d: Driver, shots: bool, unavailable: bool = False) -> Iterator[Wait]:
    from kiosk.core.session import Step

    screen = d.screen("fingerprints")
    first = True
    while d.session.step is Step.FINGERPRINTS:
        index = d.session.index
        if unavailable:
            yield from d.tap_and_wait(screen.ids.unavailable_button,
                                      lambda: d.session.step is not Step.FINGERPRINTS or d.session.index != index,
                                      "finger unavailable")
            continue
        if first:
            if shots:
                yield from d.shoot("fingerprints")
            d.kiosk.devices.fingerprint.script("too_wet")
            d.tap(screen.ids.start_button, "start reading")
            yield d.until(lambda: d.session.attempts == 1 and not screen.reading, "the first attempt", timeout=20)
            if shots:
                yield from d.shoot("fingerprints_feedback")
            first = False
        yield d.until(lambda: not screen.reading, "the sensor idle")
        d.tap(screen.ids.start_button, "start reading")
        yield d.until(lambda: d.session.step is not Step.FINGERPRINTS or d.session.index != index,
                      "the finger read", timeout=20)


def sign(d: Driver, shots: bool) -> Iterator[Wait]:
    import math

    from kiosk.core.session import Step

    screen = d.screen("signature")
    pad = screen.ids.pad
    # Continue on an empty pad: the session asks for a signature.
    yield from d.tap_and_wait(screen.ids.continue_button,
                              lambda: d.session.message is not None and d.session.message.key == "signature.empty",
                              "the empty-signature message")
    wave = [(0.1 + 0.5 * i / 40, 0.45 + 0.2 * math.sin(i / 3.0)) for i in range(41)]
    yield from d.drag(pad, wave)
    loop = [(0.62 + 0.1 * math.cos(a / 8.0), 0.5 + 0.22 * math.sin(a / 8.0)) for a in range(0, 52)]
    yield from d.drag(pad, loop)
    yield from d.drag(pad, [(0.78, 0.3), (0.85, 0.7), (0.9, 0.3)])
    d.assert_(pad.stroke_count == 3, f"3 strokes drawn, pad has {pad.stroke_count}")
    if shots:
        yield from d.shoot("signature")
    yield from d.tap_and_wait(screen.ids.continue_button, lambda: d.session.step is Step.SUMMARY, "the summary")


def submit(d: Driver, shots: bool, expect) -> Iterator[Wait]:
    screen = d.screen("summary")
    # Send without the consent: the session asks for it.
    yield from d.tap_and_wait(screen.ids.send_button,
                              lambda: d.session.message is not None and d.session.message.key == "summary.consent_needed",
                              "the consent message")
    if shots:
        yield from d.shoot("summary_consent_needed")
    yield from d.tap_and_wait(screen.ids.consent, lambda: d.session.consent, "the consent ticked")
    yield d.until(lambda: screen.ids.consent.active, "the tick shown")
    if shots:
        yield from d.shoot("summary")
    d.tap(screen.ids.send_button, "send")
    yield d.step_is(expect, timeout=30)


def check_number_shown(d: Driver, label, what: str) -> None:
    numbers = [q.number for q in d.kiosk.outbox.list()]
    shown = label.text.strip()
    d.result["numbers_shown"].append(shown)
    d.assert_(shown in numbers, f"{what}: number on screen {shown!r} is not in the queue {numbers}")
    d.assert_(shown == d.session.dossier_number, f"{what}: {shown!r} is not the session's number")


def finish_at_end(d: Driver, shots: bool) -> Iterator[Wait]:
    from kiosk.core.session import Step

    end = d.screen("end")
    yield d.frames(3)
    check_number_shown(d, end.ids.number, "end screen")
    if shots:
        yield from d.shoot("end")
    yield from d.tap_and_wait(end.ids.finish_button, lambda: d.session.step is Step.WELCOME, "back to welcome")


# A loss of a CNI, adult, holding a passport: 5 items, one stamp, two fingers.
ONLINE_NUMBER = "B2C3D4E5F6"
STAMP_DIGITS = "1234567890123456"


def scenario_online(d: Driver) -> Iterator[Wait]:
    """Scan → confirm (two questions) → checklist → photos (a retake, one at the desk) → stamp → fingers → sign → send → receipt."""
    from kiosk.core.session import Step

    shots = True
    yield from start_session(d, shots)
    yield from scan(d, ONLINE_NUMBER, shots)
    d.assert_(d.session.step is Step.CONFIRM, "the pré-demande was fetched")
    yield from confirm_predemande(d, "confirm")
    # Continue without an answer: the page says what to do.
    yield from d.tap_and_wait(d.screen("questions").ids.continue_button,
                              lambda: d.session.message is not None and d.session.message.key == "questions.unanswered",
                              "the unanswered message")
    yield from answer(d, "secure_document", "none", shot="question_secure_document")
    yield d.until(lambda: d.session.current_question.value == "birthplace_dematerialised", "the follow-up")
    yield from d.shoot("question_birthplace")
    # Back: the previous question, its answer still ticked; a valid passport spares the follow-up.
    yield from d.tap_and_wait(d.app.root.ids.back_button, lambda: d.session.index == 0, "back to the first question")
    yield d.until(lambda: d.screen("questions").button("secure_document", "none").selected, "the answer kept")
    yield from answer(d, "secure_document", "valid")
    yield d.step_is(Step.CHECKLIST)
    yield from d.shoot("checklist")
    yield from d.tap_and_wait(d.screen("checklist").ids.start_button, lambda: d.session.step is Step.CAPTURE,
                              "the first document")
    yield from capture_documents(d, shots, at_desk={"loss_declaration"}, blurry_first=True)
    yield d.step_is(Step.STAMP)
    yield from enter_stamp(d, STAMP_DIGITS, shots)
    yield d.step_is(Step.FINGERPRINTS)
    yield from take_fingers(d, shots)
    yield d.step_is(Step.SIGNATURE)
    yield from sign(d, shots)
    yield from submit(d, shots, Step.END)
    d.assert_(d.kiosk.outbox.counts().get("queued", 0) == 1, f"one dossier queued: {d.kiosk.outbox.counts()}")
    yield from finish_at_end(d, shots)
    yield from d.shoot("welcome_after")


def scenario_main_screens(d: Driver) -> Iterator[Wait]:
    """The online path with a screenshot of each main screen (for the larger panel)."""
    yield from scenario_online(d)


def scenario_typed(d: Driver) -> Iterator[Wait]:
    """Type the number (a slip first), switch to English, leave every document for the desk, no fingers."""
    from kiosk.core.session import Step

    yield from start_session(d, shots=False)
    yield from type_number(d, "A1B2C3D4E5", shots=True)
    yield d.until(lambda: d.current() == "confirm", "the confirm screen")
    d.tap(d.app.root.ids.language_button, "English")
    yield d.until(lambda: d.session.lang == "en" and d.app.t.lang == "en", "English")
    yield d.until(lambda: d.app.root.ids.language_button.text == "Français", "the button offers French")
    yield from confirm_predemande(d, "confirm_en")
    yield from answer(d, "secure_document", "valid")
    yield d.step_is(Step.CHECKLIST)
    yield from d.shoot("checklist_en")
    yield from d.tap_and_wait(d.screen("checklist").ids.start_button, lambda: d.session.step is Step.CAPTURE,
                              "the first document")
    yield d.until(lambda: d.screen("capture").ids.preview.has_frame, "the camera picture")
    yield from d.shoot("capture_en")
    ids = {r.id for r in d.session.photo_requirements}
    yield from capture_documents(d, shots=False, at_desk=ids)
    yield d.step_is(Step.FINGERPRINTS)
    yield from d.shoot("fingerprints_en")
    yield from take_fingers(d, shots=False, unavailable=True)
    yield d.step_is(Step.SIGNATURE)
    yield from sign(d, shots=False)
    yield from d.shoot("summary_en")
    yield from submit(d, shots=False, expect=Step.END)
    yield from d.shoot("end_en")
    yield from finish_at_end(d, shots=False)
    d.assert_(d.session.lang == "fr", "the next citizen starts in French")


def scenario_offline(d: Driver) -> Iterator[Wait]:
    """No network: questions instead of the look-up; no paper: the number on screen; paper back: the receipt."""
    from kiosk.hal.sim.camera import QrScene
    from kiosk.core.session import Step

    flag = d.sim_dir / "network" / "offline"
    flag.parent.mkdir(parents=True, exist_ok=True)
    flag.write_text("1\n")
    d.kiosk.devices.printer.set_paper("out")
    yield from start_session(d, shots=False)
    d.kiosk.devices.camera.show(QrScene("A1B2C3D4E5"))
    yield d.step_is(Step.QUESTIONS, timeout=20)
    yield d.until(lambda: d.current() == "questions", "the questions screen")
    yield from d.shoot("questions")
    yield from answer(d, "titles", ["cni", "passport"])
    yield from answer(d, "motif", "first")
    yield from answer(d, "age_band", "15_17", shot="question_age")
    yield from answer(d, "secure_document", "none")
    yield from answer(d, "birthplace_dematerialised", None, shot="question_birthplace_dont_know")
    yield from answer(d, "born_abroad_parents_abroad", False)
    yield from answer(d, "hosted", False, shot="question_hosted_child")
    yield from answer(d, "alternating_residence", None)
    yield d.step_is(Step.CHECKLIST)
    yield from d.shoot("checklist_offline")
    yield from d.tap_and_wait(d.screen("checklist").ids.start_button, lambda: d.session.step is Step.CAPTURE,
                              "the first document")
    ids = {r.id for r in d.session.photo_requirements if not r.conditional}
    yield from capture_documents(d, shots=False, at_desk=ids - {"photo"}, not_held=True)
    yield d.step_is(Step.STAMP)
    yield from d.tap_and_wait(d.screen("stamp").ids.paper_button,
                              lambda: d.session.step is not Step.STAMP or d.session.index == 1, "a paper stamp")
    while d.session.step is Step.STAMP:  # CNI and passport: a stamp each
        index = d.session.index
        yield from d.tap_and_wait(d.screen("stamp").ids.paper_button,
                                  lambda: d.session.step is not Step.STAMP or d.session.index != index, "paper stamp")
    yield d.step_is(Step.FINGERPRINTS)
    yield from take_fingers(d, shots=False)
    yield from sign(d, shots=False)
    yield from submit(d, shots=False, expect=Step.RECEIPT_FAILED)
    screen = d.screen("receipt_failed")
    yield d.until(lambda: d.current() == "receipt_failed", "the receipt-failed screen")
    check_number_shown(d, screen.ids.number, "receipt failed")
    yield from d.shoot("receipt_failed")
    d.assert_(not list((d.sim_dir / "printer").glob("receipt-*.bin")), "nothing printed without paper")
    d.kiosk.devices.printer.set_paper("ok")
    yield from d.tap_and_wait(screen.ids.retry_button, lambda: d.session.step is Step.END, "printed", timeout=20)
    yield from finish_at_end(d, shots=False)


def choose_legibility(d: Driver) -> Iterator[Wait]:
    """On the welcome screen: "Texte plus grand" touched twice (150 %), "Contraste" once; they stay for the
    session they start."""
    from kiosk.core.session import Step

    app, header = d.app, d.app.root.ids
    yield d.step_is(Step.WELCOME)
    d.assert_(header.text_size_button.text == "Texte plus grand", f"the button says {header.text_size_button.text!r}")
    for scale in (1.25, 1.5):
        yield from d.tap_and_wait(header.text_size_button, lambda: app.text_scale == scale, f"text at {scale}")
    yield d.until(lambda: header.text_size_button.text == "Texte 150\u00a0%", "the button shows 150 %")
    yield from d.tap_and_wait(header.contrast_button, lambda: app.high_contrast, "high contrast")
    d.assert_(header.contrast_button.selected and app.theme.name == "high_contrast", "the contrast switch is on")
    d.assert_(abs(app.tu - app.u * 1.5) < 1e-6, f"tu {app.tu} is not u {app.u} x 1.5")
    yield from d.shoot("welcome_large_contrast")
    d.tap(d.screen("welcome").ids.start_hint, "touch to start")
    yield d.step_is(Step.IDENTIFY)
    d.assert_(app.text_scale == 1.5 and app.high_contrast, "the choice made on the welcome screen lasts into the session")
    yield from d.shoot("identify_large_contrast")


def scenario_cancel(d: Driver) -> Iterator[Wait]:
    """Back, Cancel with its confirmation, the inactivity question, and the abandon after silence; text size
    and contrast chosen by the first citizen, gone with them."""
    from kiosk.hal.sim.camera import QrScene
    from kiosk.core.session import Step

    from kiosk.hal.sim.camera import EmptyScene

    d.kiosk.devices.camera.show(EmptyScene())
    yield from choose_legibility(d)
    yield d.until(lambda: d.screen("identify").ids.preview.has_frame, "the camera picture")
    # Someone else's QR code (a web address): the screen says what to show instead.
    d.kiosk.devices.camera.show(QrScene("https://www.service-public.fr/particuliers/vosdroits/N358", code_px=170))
    yield d.until(lambda: d.session.message is not None and d.session.message.key == "identify.error.not_predemande",
                  "the not-a-pré-demande message", timeout=20)
    yield d.until(lambda: d.screen("identify").ids.message_scan.text != "", "the message shown")
    yield from d.shoot("identify_not_predemande")
    # A pré-demande already used for a dossier: the agency's words for it, and what to do.
    d.kiosk.devices.camera.show(QrScene("G7H8J9K0L1", code_px=170))
    yield d.until(lambda: d.session.message is not None and d.session.message.key == "identify.error.consumed",
                  "the consumed message", timeout=20)
    yield d.until(lambda: "instruit" in d.screen("identify").ids.message_scan.text, "the message shown")
    yield from d.shoot("identify_consumed")
    d.kiosk.devices.camera.show(QrScene("A1B2C3D4E5"))
    yield d.step_is(Step.CONFIRM, timeout=20)

    d.kiosk.devices.camera.show(EmptyScene())
    yield from d.tap_and_wait(d.app.root.ids.back_button, lambda: d.session.step is Step.IDENTIFY, "back")
    yield from d.tap_and_wait(d.app.root.ids.cancel_button, lambda: d.app.cancel_dialog.parent is not None,
                              "the cancel question")
    yield from d.shoot("cancel_dialog")
    yield from d.tap_and_wait(d.app.cancel_dialog.ids.keep_button, lambda: d.app.cancel_dialog.parent is None,
                              "kept going")
    d.assert_(d.session.step is Step.IDENTIFY, "still identifying after 'keep going'")
    yield from d.tap_and_wait(d.app.root.ids.cancel_button, lambda: d.app.cancel_dialog.parent is not None,
                              "the cancel question")
    yield from d.tap_and_wait(d.app.cancel_dialog.ids.confirm_button, lambda: d.session.step is Step.WELCOME,
                              "cancelled")
    # The next citizen finds the usual text and colours.
    yield d.until(lambda: d.app.text_scale == 1 and not d.app.high_contrast and d.app.theme.name == "normal",
                  "the usual text size and palette again")
    d.assert_(d.app.root.ids.text_size_button.text == "Texte plus grand", "the text-size button is reset")
    # Nothing of the citizen stays in a widget: the pré-demande's fields shown on Confirm are gone.
    shown = " ".join(getattr(w, "text", "") for w in d.screen("confirm").ids.predemande.walk())
    d.assert_("MARTIN" not in shown and "A1B2C3D4E5" not in shown, f"the cancelled citizen still shown: {shown!r}")
    # Inactivity: the question, a touch, then silence until the session is erased.
    yield from d.tap_and_wait(d.screen("welcome").ids.start_hint, lambda: d.session.step is Step.IDENTIFY,
                              "touch to start")
    warning_s = d.session.settings.inactivity_warning_s
    yield d.until(lambda: d.session.warning and d.app.overlay.parent is not None, "the inactivity question",
                  timeout=warning_s + 5)
    yield from d.shoot("inactivity")
    # The touch that answers the question must not press what is under it (Cancel here).
    d.tap_at(*d.window_point(d.app.root.ids.cancel_button))
    yield d.until(lambda: not d.session.warning and d.app.overlay.parent is None, "the question gone")
    d.assert_(d.app.cancel_dialog.parent is None, "the waking touch opened the cancel question")
    yield d.step_is(Step.WELCOME, timeout=warning_s + d.session.settings.inactivity_abandon_s + 5)
    yield d.until(lambda: d.screen("welcome").ids.message.text != "", "the 'erased' message")
    yield from d.shoot("welcome_abandoned")


def scenario_unavailable(d: Driver) -> Iterator[Wait]:
    """The data partition is nearly full: the kiosk says so and takes no one."""
    from kiosk.core.session import Step

    yield d.step_is(Step.WELCOME)
    welcome = d.screen("welcome")
    yield d.until(lambda: welcome.unavailable, "the unavailable notice")
    yield from d.tap_and_wait(welcome.ids.start_hint,
                              lambda: d.session.message is not None and d.session.message.level == "error",
                              "the refusal")
    d.assert_(d.session.step is Step.WELCOME, "no session starts on a full kiosk")
    yield from d.shoot("welcome_unavailable")


def hold_corner(d: Driver, seconds: float) -> Iterator[Wait]:
    """Press the top-left corner of the welcome screen (under the header) for ``seconds``."""
    from kivy.tests.common import UnitTestTouch

    sm = d.app.root.ids.sm
    touch = UnitTestTouch(sm.x + 8, sm.top - 8)
    touch.touch_down()
    yield d.seconds(seconds)
    touch.touch_up()
    yield d.frames(2)


def type_pin(d: Driver, pad, pin: str) -> None:
    from kiosk.ui.screens.widgets import OK_KEY

    for digit in [*pin, OK_KEY]:
        d.tap(pad.ids.keypad.key_widget(digit), f"key {digit}")


def scenario_maintenance(d: Driver) -> Iterator[Wait]:
    """A technician: the hidden gesture, a wrong PIN, the right one, every section, and back to the citizens."""
    from kiosk.core.session import Step

    app = d.app
    maintenance = d.screen("maintenance")
    yield d.step_is(Step.WELCOME)
    yield from hold_corner(d, MAINTENANCE_HOLD_S + 0.4)
    d.assert_(app.pin_dialog.parent is not None, "held long enough, the corner asks for the PIN")
    d.assert_(d.session.step is Step.WELCOME, "the held touch did not start a session")
    pad = app.pin_dialog.ids.pad
    yield from d.shoot("pin")
    type_pin(d, pad, "111112")
    yield d.until(lambda: "incorrect" in pad.message, "the wrong PIN's message")
    yield from d.shoot("pin_wrong")
    type_pin(d, pad, MAINTENANCE_PIN)
    yield d.until(lambda: d.current() == "maintenance" and maintenance.report is not None, "the maintenance screen")
    yield from d.shoot("maintenance_devices")

    yield from d.tap_and_wait(maintenance.ids.action_main, lambda: maintenance.selftest_rows is not None,
                              "the self-test", timeout=30)
    d.assert_("OK" in maintenance.body and "ÉCHEC" not in maintenance.body, f"self-test: {maintenance.body}")
    yield from d.shoot("maintenance_selftest")
    printed = len(list((d.sim_dir / "printer").glob("*.bin")))
    yield from d.tap_and_wait(maintenance.ids.action_other,
                              lambda: len(list((d.sim_dir / "printer").glob("*.bin"))) > printed and not d.app.runner.busy,
                              "the test ticket", timeout=30)
    d.result["test_ticket"] = True

    yield from d.tap_and_wait(maintenance.ids.tab_queue, lambda: "À envoyer\u00a0: 1" in maintenance.body, "the queue")
    yield from d.shoot("maintenance_queue")
    yield from d.tap_and_wait(maintenance.ids.action_main, lambda: "dès maintenant" in maintenance.note, "retry")

    yield from d.tap_and_wait(maintenance.ids.tab_network, lambda: "Service central" in maintenance.body, "network")
    # Provisioned (after commissioning against a local central service), the service answers.
    reachable = d.kiosk.config.sync.provisioned
    yield from d.tap_and_wait(maintenance.ids.action_main,
                              lambda: ("joignable (" if reachable else "injoignable") in maintenance.note,
                              "the connection test", timeout=20)
    d.result["network_note"] = maintenance.note
    yield from d.shoot("maintenance_network")
    yield from d.tap_and_wait(maintenance.ids.action_other, lambda: "Impossible de redémarrer" in maintenance.note,
                              "restart refused without systemd")

    yield from d.tap_and_wait(maintenance.ids.tab_problems, lambda: maintenance.section == "problems"
                              and "Service central" not in maintenance.body, "the problems")
    d.result["problems_body"] = maintenance.body
    yield from d.shoot("maintenance_problems")
    yield from d.tap_and_wait(maintenance.ids.tab_about, lambda: "Version du logiciel" in maintenance.body, "about")
    yield from d.shoot("maintenance_about")

    yield from d.tap_and_wait(maintenance.ids.tab_reprint, lambda: len(maintenance.ids.reprint_list.children) == 1
                              and not app.runner.busy, "the reprint list")
    yield from d.shoot("maintenance_reprint")
    receipts = len(list((d.sim_dir / "printer").glob("receipt-*.bin")))
    yield from d.tap_and_wait(maintenance.ids.reprint_list.children[0],
                              lambda: "réimprimé" in maintenance.note, "the reprint", timeout=20)
    d.result["reprint_note"] = maintenance.note
    d.result["reprinted"] = len(list((d.sim_dir / "printer").glob("receipt-*.bin"))) - receipts

    yield from d.tap_and_wait(maintenance.ids.quit_button, lambda: d.current() == "welcome", "back to welcome")
    d.assert_(maintenance.report is None and maintenance.body == "", "nothing of the maintenance stays behind")
    yield from d.shoot("welcome_after_maintenance")
    # The same corner, touched briefly, is the welcome screen like anywhere else: a citizen starts.
    yield from hold_corner(d, 0.2)
    d.assert_(app.pin_dialog.parent is None, "a short touch of the corner asks nothing")
    yield d.step_is(Step.IDENTIFY)


#: The maintenance scenario's short hold (the real default is 5 s) and its PIN.
MAINTENANCE_HOLD_S = 1.0
MAINTENANCE_PIN = "975310"


def scenario_assisted(d: Driver) -> Iterator[Wait]:
    """Text at 150 % and "Écouter" on the welcome screen, a whole capture heard; on the checklist, "Besoin
    d'aide ?": the sync worker delivers it, an agent answers « J'arrive » in the console (the test does, in
    its own process), the kiosk shows and says so, and the citizen goes on."""
    from kiosk.hal.sim.audio import read_log
    from kiosk.core.session import Step

    app, header = d.app, d.app.root.ids
    yield d.step_is(Step.WELCOME)
    for scale in (1.25, 1.5):
        yield from d.tap_and_wait(header.text_size_button, lambda: app.text_scale == scale, f"text at {scale}")
    yield from d.tap_and_wait(header.listen_button, lambda: app.listening and header.listen_button.selected,
                              "speech on, and the button says so")
    yield from d.shoot("welcome_listening")
    yield from start_session(d, shots=False)
    d.assert_(app.listening and app.text_scale == 1.5, "speech and the text size last into the session")
    yield from scan(d, "A1B2C3D4E5", shots=False)
    yield from confirm_predemande(d, "confirm_listening")
    yield from answer(d, "secure_document", "valid")
    yield d.step_is(Step.CHECKLIST)
    yield from d.tap_and_wait(header.help_button, lambda: app.help_panel.parent is not None, "the help panel")
    yield from d.shoot("help_asking")
    yield d.until(lambda: app.help_state == "sent", "the call delivered by the sync worker", timeout=60)
    yield d.until(lambda: app.help_state == "acknowledged", "an agent's « J'arrive »", timeout=120)
    yield d.until(lambda: app.help_panel.status_text == app.t("help.acknowledged"), "the panel says an agent comes")
    yield from d.shoot("help_acknowledged")
    yield from d.tap_and_wait(app.help_panel.ids.resume_button, lambda: app.help_panel.parent is None,
                              "back to the checklist")
    yield from d.tap_and_wait(d.screen("checklist").ids.start_button, lambda: d.session.step is Step.CAPTURE,
                              "the first document")
    yield from capture_documents(d, shots=False)
    yield d.step_is(Step.FINGERPRINTS)
    yield from take_fingers(d, shots=False)
    yield d.step_is(Step.SIGNATURE)
    yield from sign(d, shots=False)
    yield from submit(d, shots=False, expect=Step.END)
    yield from d.shoot("end_listening")
    yield d.until(lambda: d.kiosk.voice.wait_idle(0.01), "the end screen spoken")
    d.result["spoken"] = [{k: e[k] for k in ("key", "lang", "output", "personal")} for e in read_log(d.sim_dir)]
    yield from finish_at_end(d, shots=False)
    d.assert_(not app.listening and app.text_scale == 1.0 and app.help_state == "",
              "the next citizen finds a silent kiosk at 100 %, with no call open")


SCENARIOS = {
    "assisted": scenario_assisted,
    "maintenance": scenario_maintenance,
    "online": scenario_online,
    "typed": scenario_typed,
    "offline": scenario_offline,
    "cancel": scenario_cancel,
    "unavailable": scenario_unavailable,
}


class SlowDirectory:
    """The simulated directory behind a slow network, so the busy screen is seen and the UI must not block."""

    def __init__(self, inner, delay_s: float) -> None:
        self.inner = inner
        self.delay_s = delay_s

    def fetch(self, number):
        time.sleep(self.delay_s)
        return self.inner.fetch(number)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scenario", choices=sorted(SCENARIOS))
    p.add_argument("--size", default="800x480")
    p.add_argument("--shots", default=str(ROOT / "artifacts" / "screenshots"))
    p.add_argument("--prefix", default=None, help="screenshot name prefix (default: <size>_<scenario>)")
    p.add_argument("--data", default=None, help="data directory (default: a temporary one)")
    p.add_argument("--result", default=None)
    p.add_argument("--lookup-delay", type=float, default=0.8, help="simulated network delay of a look-up (s)")
    p.add_argument("--watch-stalls", action="store_true", help="sample the UI thread's stack when a frame is late")
    p.add_argument("--no-finish", action="store_true",
                   help="do not wait for each frame's rendering (see Driver.finish_each_frame)")
    p.add_argument("--no-shots", action="store_true", help="no screenshots (to measure frame gaps alone)")
    p.add_argument("--min-free-bytes", type=int, default=None, help="queue.min_free_bytes (huge: a full kiosk)")
    p.add_argument("--inactivity", default=None, help="warning,abandon seconds (short, for the cancel scenario)")
    args = p.parse_args(argv)

    import faulthandler
    import signal

    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints where a stuck run is
    work = Path(tempfile.mkdtemp(prefix="kiosk-ui-"))
    _prepare_environment(work / "kivy-home")
    data = Path(args.data) if args.data else work / "data"
    shots = Path(args.shots)
    shots.mkdir(parents=True, exist_ok=True)
    size = tuple(int(v) for v in args.size.lower().split("x"))

    import dataclasses

    from kiosk.config import load_config, simulated
    from kiosk.runtime import build_kiosk

    cfg = simulated(load_config(env={}, data_dir=data))  # a provisioned --data talks to its central service
    if args.inactivity:
        warn, abandon = (float(v) for v in args.inactivity.split(","))
        cfg = cfg.with_overrides(session=dataclasses.replace(cfg.session, inactivity_warning_s=warn,
                                                             inactivity_abandon_s=abandon))
    if args.min_free_bytes is not None:
        cfg = cfg.with_overrides(queue=dataclasses.replace(cfg.queue, min_free_bytes=args.min_free_bytes))
    if args.scenario == "maintenance":
        from kiosk.scenario import load_scenario, run_scenario
        from kiosk.technician.pin import PinGuard

        cfg = cfg.with_overrides(maintenance=dataclasses.replace(cfg.maintenance, hold_s=MAINTENANCE_HOLD_S))
        PinGuard(cfg.technician_pin_file).set(MAINTENANCE_PIN)
        done = run_scenario(load_scenario(ROOT / "examples" / "scenarios" / "adult-renewal-cni.json"), cfg)
        assert done["ok"], done  # one dossier in the queue, to reprint
    from kiosk.ui.app import KioskApp, configure_kivy

    configure_kivy(fullscreen=False, size=size)
    kiosk = build_kiosk(cfg)
    result: dict = {"ok": False, "error": "the app did not start"}
    try:
        kiosk.controller.directory = SlowDirectory(kiosk.controller.directory, args.lookup_delay)
        app = KioskApp(kiosk)
        prefix = args.prefix or f"{args.size}_{args.scenario}"
        driver = Driver(app, kiosk, shots, prefix, cfg.sim_dir)
        driver.shots_enabled = not args.no_shots
        if not args.no_finish:
            driver.finish_each_frame()
        from kivy.clock import Clock

        Clock.schedule_once(lambda dt: driver.run(SCENARIOS[args.scenario]), 0.5)
        started = time.monotonic()
        with HelperThreads() as threads:
            if args.watch_stalls:
                driver.watch_stalls(threads)
            app.run()
        result = driver.result
        result["seconds"] = round(time.monotonic() - started, 1)
        result["window"] = list(driver.Window.size)
    except Exception as exc:
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"}
    finally:
        kiosk.close()
        shutil.rmtree(work / "kivy-home", ignore_errors=True)
    result["scenario"] = args.scenario
    return emit_result(result, args.result)


def emit_result(result: dict, path: str | None) -> int:
    """The run's result as one JSON line, on stdout and in ``path``; the exit status says whether it passed."""
    line = json.dumps(result, ensure_ascii=False)
    if path:
        Path(path).write_text(line, encoding="utf-8")
    print(line, flush=True)
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
