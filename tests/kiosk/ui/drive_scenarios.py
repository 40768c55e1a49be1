"""Every example scenario and every demo pré-demande, through the real app by touches, every screen audited.

Run by ``tests/kiosk/ui/test_screens.py`` (one process per screen size), or by hand::

    .venv/bin/python tests/kiosk/ui/drive_scenarios.py --size 800x480 --shots artifacts/screenshots/audit

One app, one window, session after session as citizens come one after the
other. ``examples/scenarios/*.json`` are played as a person would: the QR
code shown to the simulated camera, keys touched, answers touched on their
question's page, photos taken, fingers laid on the simulated sensor, a
signature drawn. Then each demo pré-demande once more, answering "Je ne sais
pas" wherever it may be answered, so that every conditional document (the
longest titles, the "Je n'ai pas ce document" button) is on screen too.

On every screen reached, in French and then in English (the language
button, touched), :mod:`tests.kiosk.ui.audit` checks the labels' boxes, their
overlaps, the contrast of every text against the pixels drawn behind it,
and the step counter; each distinct screen is saved as a PNG. A scenario's
``expect`` is checked against what the app did, as the headless runner does.

The result is one JSON object: ``ok``, ``problems`` (per screen and
language), ``sessions`` (per scenario: ok, failures), ``shots``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import math
import os
import shutil
import sys
import tempfile
import time
import traceback
from datetime import datetime
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.kiosk.ui.drive_flow import (  # noqa: E402
    DOC_KINDS, Driver, SlowDirectory, Wait, _prepare_environment, emit_result,
)

DEMO_TODAY = "2026-11-22T10:00:00+01:00"
SCENARIOS = ROOT / "examples" / "scenarios"
SPEECH_EXPECTATIONS = ("spoken", "spoken_lang", "every_screen_spoken", "not_spoken_aloud")


class Clocks:
    """The session's clocks: real time plus what a scenario lets pass ("idle"), and the scenario's day.

    They stand still while a screen is audited (:meth:`freeze`, :meth:`thaw`): an audit is the test's
    time, not the citizen's, and on a loaded machine it can outlast the kiosk's own deadlines (the help
    call's ten seconds, the inactivity warning), which would then fire in the middle of a scenario that
    never waited for them.
    """

    def __init__(self) -> None:
        self.offset = 0.0
        self.today: datetime | None = None
        self._frozen_at: float | None = None

    def _held(self) -> float:
        """Real seconds since the clocks were frozen (0 while they run)."""
        return time.monotonic() - self._frozen_at if self._frozen_at is not None else 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.offset - self._held()

    def wall(self) -> datetime:
        return self.today if self.today is not None else datetime.now().astimezone()

    def unix(self) -> float:
        """The Unix time a help request shares with the sync worker, moved on by "wait" too."""
        return time.time() + self.offset - self._held()

    def freeze(self) -> None:
        if self._frozen_at is None:
            self._frozen_at = time.monotonic()

    def thaw(self) -> None:
        """Run again from where they stopped: the time held is taken out, so they never jump."""
        if self._frozen_at is not None:
            self.offset -= self._held()
            self._frozen_at = None


class AuditDriver(Driver):
    """The flow driver, plus: audit every screen reached in both languages, and play scenario files."""

    def __init__(self, app, kiosk, shots_dir: Path, prefix: str, sim_dir: Path, clocks: Clocks) -> None:
        super().__init__(app, kiosk, shots_dir, prefix, sim_dir)
        self.clocks = clocks
        self.result.update(problems=[], sessions=[], audited=0)
        self._hashes: set[str] = set()
        self._audited: set[tuple] = set()
        self.sizes: list[tuple[int, int]] = [tuple(self.Window.size)]
        self.audited_at: dict[str, int] = {}  # "800x480/fr" → screens audited there
        self._label = "start"
        self._seen_pages: set[tuple] = set()
        #: Audit each kind of page at 125 %, 150 % and in high contrast too (``--legibility``), once over the
        #: shares that claim kinds in the ``claims`` directory (``--claims``).
        self.legibility_checks = False
        self.claims: Path | None = None
        self._legibility_done: set[str] = set()
        #: "800x480/150-hc" (size/setting) → the kinds of page audited there.
        self.kinds: dict[str, set[str]] = {}
        self._targets: dict[tuple, dict] = {}
        self._audited_kind = False

    # -- auditing --------------------------------------------------------------------
    def _layer(self):
        app = self.app
        for modal in (app.cancel_dialog, app.help_panel, app.audio_panel):  # what is on top is what is read
            if modal is not None and modal.parent is not None:
                return modal
        if app.overlay is not None and app.overlay.parent is not None:
            return app.overlay
        return app.root

    def _grab(self) -> Iterator[Wait]:
        """The pixels of the next frame drawn, read back from GL in its flip (rows from the bottom)."""
        import numpy as np
        from kivy.graphics.opengl import GL_RGB, GL_UNSIGNED_BYTE, glReadPixels

        got: dict = {}
        target = self.Clock.frames_displayed + 1

        def on_flip(window, *args):
            if self.Clock.frames_displayed < target or got:
                return
            window.unbind(on_flip=on_flip)
            w, h = window.size
            data = glReadPixels(0, 0, w, h, GL_RGB, GL_UNSIGNED_BYTE)
            got["pixels"] = np.frombuffer(data, dtype=np.uint8).reshape(h, w, 3)
            self._skip_gap = True

        self.Window.bind(on_flip=on_flip)

        def flipped() -> bool:
            if "pixels" not in got:
                self.Window.canvas.ask_update()
            return "pixels" in got

        yield self.until(flipped, "a frame to read")
        self._pixels = got["pixels"]

    @property
    def setting(self) -> str:
        """The text size and palette shown: "100" (as designed), "125", "150", "150-hc"…"""
        return f"{round(self.app.text_scale * 100)}" + ("-hc" if self.app.high_contrast else "")

    def _audit_now(self, name: str, settle: bool = True) -> Iterator[Wait]:
        from tests.kiosk.ui.audit import audit, smaller_targets, step_counter_problems, touch_targets

        from kiosk.core.session import Step

        if settle:  # the page was just changed (another language, size or text size): laid out on the next frames
            yield self.frames(2)
        page = (self.session.step, self.session.index, self.session.lang, self.session.reviewing,
                self.session.generation)
        yield from self._grab()
        if page != (self.session.step, self.session.index, self.session.lang, self.session.reviewing,
                    self.session.generation):
            return  # the page changed under the grab (a busy step ending): what was read is stale
        layer = self._layer()
        scale = self.app.text_scale
        problems = audit(layer, self.Window.size, self._pixels, text_scale=scale)
        if layer is self.app.root and self.session.step is not Step.WELCOME and self.app.current_screen is not None \
                and self.app.current_screen.name != "maintenance":
            problems += step_counter_problems(self.app)
        # Touch targets: recorded on the page as designed, in each language; enlarged, none may be lower.
        where_targets = (tuple(self.Window.size), self.session.lang)
        if self.setting == "100":
            self._targets[where_targets] = touch_targets(layer)
        elif scale > 1:
            problems += smaller_targets(self._targets.get(where_targets, {}), touch_targets(layer), self.app.u)
        self.result["audited"] += 1
        key = f"{self.Window.size[0]}x{self.Window.size[1]}/{self.session.lang}"
        if self.setting != "100":
            key += f"/{self.setting}"
        self.audited_at[key] = self.audited_at.get(key, 0) + 1
        self._audited_kind = True
        for p in problems:
            self.result["problems"].append({**self._where(name), **p.as_dict()})
        self._save(name)
        yield from self._audit_long_lists(name, layer)

    def _where(self, name: str) -> dict:
        return {"session": self._label, "screen": name, "step": self.session.step.value, "lang": self.session.lang,
                "size": list(self.Window.size), "setting": self.setting}

    def _audit_long_lists(self, name: str, layer) -> Iterator[Wait]:
        """Long lists taller than their view (the checklist, the summary) audited scrolled to their end too;
        with the text enlarged, every scroll view that scrolls. All at once: one more frame to read."""
        from tests.kiosk.ui.audit import audit

        from kiosk.ui.screens.widgets import KioskScrollView

        scale = self.app.text_scale
        views = [w for w in layer.walk(restrict=True) if isinstance(w, KioskScrollView) and (w.long_list or scale > 1)
                 and w.children and w.children[0].height > w.height and w.get_root_window() is not None]
        if not views:
            return
        for view in views:
            view.scroll_y = 0
        yield self.frames(2)
        yield from self._grab()
        for p in audit(layer, self.Window.size, self._pixels, text_scale=scale):
            self.result["problems"].append({**self._where(f"{name}_end"), **p.as_dict()})
        self._save(f"{name}_end")
        for view in views:
            view.scroll_y = 1
        yield self.frames(1)

    def _save(self, name: str) -> None:
        from PIL import Image
        import numpy as np

        digest = hashlib.sha1(self._pixels.tobytes()).hexdigest()
        if digest in self._hashes or not self.shots_enabled:
            return
        self._hashes.add(digest)
        self._shot_n += 1
        w, h = self.Window.size
        setting = "" if self.setting == "100" else f"_{self.setting}"
        path = self.shots_dir / (f"{w}x{h}_{self.prefix}{self._shot_n:04d}_{self._label}_{name}_{self.session.lang}"
                                 f"{setting}.png")
        Image.fromarray(np.flipud(self._pixels)).save(path, compress_level=1)
        self.result["shots"].append(str(path))

    def _signature(self) -> tuple:
        """What decides a screen's audit: each visible label's text, look and place, the layer and the size."""
        from tests.kiosk.ui.audit import box, labels_on_screen

        layer = self._layer()
        # Digits count as one (a counter "Pièce 3 sur 5" or "4 sur 5" takes the same room): a page already
        # audited with other numbers is the same page.
        return (type(layer).__name__, tuple(self.Window.size), tuple(
            (type(w).__name__, re.sub(r"\d", "0", w.text), tuple(w.color), bool(w.bold), bool(w.disabled),
             str(box(w)),
             # what changes the pixels behind a text: a button's fill, a message's level, a chosen answer
             tuple(getattr(w, "fill", ())), getattr(w, "level", None), getattr(w, "selected", None), w.state
             if hasattr(w, "state") else None)
            for w in labels_on_screen(layer)))

    def kind(self, name: str) -> str:
        """What makes a page different enough to be audited again with the text enlarged and in high
        contrast: its name (digits aside; a document's page by its state, not by which document: the
        document's own words scroll), who it speaks to, the message it shows, whether the document may not
        apply."""
        s = self.session
        req = s.current_requirement if s.step.value == "capture" else None
        if req is not None:
            name = name.replace(f"_{req.id}", "")
        msg = s.message.key if s.message is not None else "-"
        conditional = "conditional" if getattr(req, "conditional", False) else "-"
        return "/".join((re.sub(r"\d", "0", name), s.audience or "-", msg, conditional))

    def wants_legibility(self, name: str) -> bool:
        """Is this page's kind still to be audited with the text enlarged and in high contrast, here? Once per
        kind over all the shares running side by side: the first to reach a kind claims it (a file created
        exclusively in ``claims``, when given), the others leave it."""
        if not self.legibility_checks:
            return False
        kind = self.kind(name)
        if kind in self._legibility_done:
            return False
        self._legibility_done.add(kind)
        if self.claims is None:
            return True
        try:
            os.close(os.open(self.claims / hashlib.sha1(kind.encode()).hexdigest(), os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return False
        return True

    def check(self, name: str, both_languages: bool = True) -> Iterator[Wait]:
        """Audit the screen (:meth:`_check`) with the session's clocks stopped, so that the audit's own time,
        long on a loaded machine, lets no deadline of the kiosk pass."""
        self.clocks.freeze()
        try:
            yield from self._check(name, both_languages)
        finally:
            self.clocks.thaw()

    def _check(self, name: str, both_languages: bool = True) -> Iterator[Wait]:
        """Audit the screen at every size in both languages: as it is, then in the other language (the
        language button touched), at the other size (the window resized), back in the first language, and
        back to the first size. With ``legibility_checks``, each kind of page (:meth:`kind`) is audited at
        each size with the text enlarged and in high contrast too (:meth:`_audit_legibility`), in the
        language it is in at that size: the page's own at the first size, the other at the second.

        A screen already audited with the very same labels, looks and places (the welcome screen, the
        ID photo's page, seen by every session) is not audited again: its verdict cannot differ.
        """
        yield self.frames(2)
        signature = self._signature()
        if signature in self._audited:
            self.result["skipped"] = self.result.get("skipped", 0) + 1
            return
        self._audited.add(signature)
        kind = self.kind(name)
        legibility = self.wants_legibility(name)
        first = tuple(self.Window.size)
        sizes = [first] + [size for size in self.sizes if size != first]
        toggle = both_languages and self._layer() is self.app.root  # a dialog covers the header
        for i, size in enumerate(sizes):
            if i:
                yield from self._resize(size)
            yield from self._audit_kind(name, kind, settle=i > 0)
            if legibility:
                yield from self._audit_legibility(name, kind)
            if toggle:
                yield from self._toggle_language()
                yield from self._audit_kind(name, kind)
        if len(sizes) > 1:
            yield from self._resize(first)
        if toggle and len(sizes) % 2:
            yield from self._toggle_language()  # an odd number of sizes leaves the other language on

    def _audit_legibility(self, name: str, kind: str) -> Iterator[Wait]:
        """The page with the text at 125 %, at 150 %, then in high contrast at 150 %; back to the usual text
        and colours. Three changes of text size, the costly part (every screen is laid out again)."""
        yield from self._choose_text_size()  # 125 %
        yield from self._audit_kind(name, kind)
        yield from self._choose_text_size()  # 150 %
        yield from self._audit_kind(name, kind)
        yield from self._choose_contrast()
        yield from self._audit_kind(name, kind)
        yield from self._choose_text_size()  # back to 100 %
        yield from self._choose_contrast()

    def _audit_kind(self, name: str, kind: str, settle: bool = True) -> Iterator[Wait]:
        """Audit, and count the page's kind as audited at this size and setting (unless the page changed)."""
        self._audited_kind = False
        yield from self._audit_now(name, settle)
        if self._audited_kind:
            w, h = self.Window.size
            self.kinds.setdefault(f"{w}x{h}/{self.setting}", set()).add(kind)

    def _choose_text_size(self) -> Iterator[Wait]:
        """The next text size, by a touch on the header's button (as the citizen would), or, under a
        dialog that covers the header, as chosen before it opened."""
        scale = self.app.text_scale
        yield from self._header_switch(self.app.root.ids.text_size_button, self.app.cycle_text_size)
        yield self.until(lambda: self.app.text_scale != scale, "another text size")

    def _choose_contrast(self) -> Iterator[Wait]:
        high = self.app.high_contrast
        yield from self._header_switch(self.app.root.ids.contrast_button, self.app.toggle_contrast)
        yield self.until(lambda: self.app.high_contrast != high, "the other palette")

    def _header_switch(self, button, same) -> Iterator[Wait]:
        if self._layer() is self.app.root:
            self.tap(button)
        else:
            same()
        yield from ()

    def _toggle_language(self) -> Iterator[Wait]:
        lang = self.session.lang
        self.tap(self.app.root.ids.language_button, "language")
        yield self.until(lambda: self.session.lang != lang, "the other language")

    def _resize(self, size: tuple[int, int]) -> Iterator[Wait]:
        from kiosk.ui.app import scale_for

        self.Window.size = size
        yield self.until(lambda: tuple(self.Window.size) == tuple(size) and self.app.u == scale_for(size),
                         f"the window at {size}")
        yield self.frames(2)


class Held:
    """A device call held on the worker until released, so that the screen of "working…" can be audited:
    the photo being checked, the finger being read (their buttons greyed). Never longer than ``limit_s``."""

    def __init__(self, device, name: str, limit_s: float = 20.0) -> None:
        import threading

        self.device, self.name, self.limit_s = device, name, limit_s
        self.inner = getattr(device, name)
        self.release_event = threading.Event()
        self.entered = threading.Event()

    def __enter__(self) -> "Held":
        def held(*args, **kw):
            self.entered.set()
            self.release_event.wait(self.limit_s)
            return self.inner(*args, **kw)

        setattr(self.device, self.name, held)
        return self

    def release(self) -> None:
        self.release_event.set()

    def __exit__(self, *exc) -> None:
        self.release_event.set()
        setattr(self.device, self.name, self.inner)


# -- playing one scenario file by touches ------------------------------------------------------
class ScenarioPlayer:
    def __init__(self, d: AuditDriver) -> None:
        self.d = d
        self.s = d.session
        self.answers: dict = {}

    def play(self, scenario: dict) -> Iterator[Wait]:
        d = self.d
        ctl = d.kiosk.controller
        if scenario.get("network") == "offline":
            ctl.directory.inner.offline = True
        if "printer" in scenario:
            d.kiosk.devices.printer.set_state(scenario["printer"])
        for i, step in enumerate(scenario.get("steps", [])):
            key, value = next(iter(step.items()))
            yield from getattr(self, f"do_{key}")(value)

    # identification
    def _welcome_to_identify(self) -> Iterator[Wait]:
        from kiosk.hal.sim.camera import EmptyScene
        from kiosk.core.session import Step

        d = self.d
        if self.s.step is Step.WELCOME:
            d.kiosk.devices.camera.show(EmptyScene())
            yield from d.check("welcome", both_languages=False)
            d.tap(d.screen("welcome").ids.start_hint, "touch to start")
            yield d.step_is(Step.IDENTIFY)
            yield d.until(lambda: d.screen("identify").ids.preview.has_frame, "the camera picture")

    def _looked_up(self, before_messages: int) -> bool:
        from kiosk.core.session import Step

        if self.s.step in (Step.CONFIRM, Step.QUESTIONS):
            return True
        return (self.s.step is Step.IDENTIFY and self.s.message is not None and self.s.message.level == "error"
                and len(self.d.seen.messages) > before_messages)

    def do_scan(self, spec) -> Iterator[Wait]:
        from kiosk.hal.sim.camera import EmptyScene, QrScene
        from kiosk.core.session import Step

        d = self.d
        yield from self._welcome_to_identify()
        screen = d.screen("identify")
        if screen.typing:
            d.tap(screen.ids.scan_button, "scan instead")
            yield d.until(lambda: not screen.typing, "the scanner")
        spec = {"payload": spec} if isinstance(spec, str) else dict(spec)
        spec.setdefault("code_px", 190)
        before = len(d.seen.messages)
        d.kiosk.devices.camera.show(QrScene(**spec))
        # The look-up waits while its busy page is audited (at every size, and text size), then goes on.
        with Held(d.kiosk.controller.directory, "fetch", limit_s=60) as held:
            yield d.until(lambda: self.s.step is Step.LOOKING_UP or self._looked_up(before), "the code read",
                          timeout=30)
            if self.s.step is Step.LOOKING_UP:
                yield from d.check("busy_looking_up", both_languages=False)
            held.release()
        yield d.until(lambda: self._looked_up(before), "the look-up", timeout=30)
        d.kiosk.devices.camera.show(EmptyScene())
        yield from d.check("identify_result" if self.s.step is Step.IDENTIFY else self.s.step.value)

    def do_type(self, text) -> Iterator[Wait]:
        from kiosk.ui.screens.widgets import BACKSPACE, OK_KEY
        from kiosk.core.session import Step

        d = self.d
        yield from self._welcome_to_identify()
        screen = d.screen("identify")
        if not screen.typing:
            yield from d.tap_and_wait(screen.ids.type_button, lambda: screen.typing, "the keyboard")
            yield d.frames(2)
        kb = screen.ids.keyboard
        while self.s.typed:
            d.tap(kb.key_widget(BACKSPACE), "backspace")
            yield d.frames(1)
        for ch in text:
            d.tap(kb.key_widget(ch), ch)
            yield d.frames(1)
        yield d.until(lambda: self.s.typed == text, "the number typed")
        yield from d.check("identify_typed")
        before = len(d.seen.messages)
        d.tap(kb.key_widget(OK_KEY), "OK")
        yield d.until(lambda: self.s.step is Step.LOOKING_UP or self._looked_up(before), "the look-up", timeout=30)
        yield d.until(lambda: self._looked_up(before), "the look-up", timeout=30)
        yield from d.check("identify_result" if self.s.step is Step.IDENTIFY else self.s.step.value)

    # questions
    def do_answer(self, answers) -> Iterator[Wait]:
        self.answers.update(answers)
        yield from ()

    def do_confirm(self, _) -> Iterator[Wait]:
        """"C'est bien moi", then each question on its page with the answer given in advance."""
        from kiosk.core.session import Step

        if self.s.step is Step.CONFIRM:
            yield from self.confirm_page()
        while self.s.step is Step.QUESTIONS:
            q = self.s.current_question
            if q.value not in self.answers:
                raise AssertionError(f"the scenario gives no answer to {q.value!r}")
            yield from self.answer_page(self.answers[q.value])

    def confirm_page(self) -> Iterator[Wait]:
        from kiosk.core.session import Step

        d = self.d
        yield from d.check("confirm")
        yield from d.tap_and_wait(d.screen("confirm").ids.continue_button,
                                  lambda: self.s.step is not Step.CONFIRM, "confirmed")

    def answer_page(self, value) -> Iterator[Wait]:
        """Touch ``value``'s answer on the question shown, see it ticked, then "Continuer"."""
        from kiosk.core.session import Step

        d = self.d
        q = self.s.current_question
        index = self.s.index
        screen = d.screen("questions")
        yield d.until(lambda: screen.question is q, "the question shown")
        button = screen.button(q, value)
        d.assert_(button is not None, f"no button for {q.value}={value!r}")
        yield from d.tap_and_wait(button, lambda: button.selected, f"answer {q.value}={value!r}")
        yield from d.check(f"question_{q.value}")
        yield from d.tap_and_wait(screen.ids.continue_button,
                                  lambda: self.s.step is not Step.QUESTIONS or self.s.index != index,
                                  "the next question")

    def do_begin_capture(self, _) -> Iterator[Wait]:
        from kiosk.core.session import Step

        d = self.d
        yield from d.check("checklist")
        yield from d.tap_and_wait(d.screen("checklist").ids.start_button,
                                  lambda: self.s.step is not Step.CHECKLIST, "the first document")

    # documents
    def _capture_screen(self):
        return self.d.screen("capture")

    def do_photo(self, spec, keep: bool = True) -> Iterator[Wait]:
        from kiosk.hal.sim.camera import DocumentScene

        d = self.d
        screen = self._capture_screen()
        req = self.s.current_requirement
        index = self.s.index
        yield from self._first_look()
        d.kiosk.devices.camera.show(DocumentScene(kind=DOC_KINDS.get(req.id, "document"), **(spec or {})))
        yield d.frames(2)
        yield d.until(lambda: not screen.working and d.app.runner.pending("photo") == 0, "the camera idle")
        attempts = self.s.attempts
        if not d.result.get("working_audited"):
            # Once: the page while the photo is checked, its buttons greyed (they must stay readable).
            d.result["working_audited"] = True
            with Held(d.kiosk.devices.camera, "capture_still") as held:
                d.tap(screen.ids.shoot_button, "take the photo")
                yield d.until(lambda: held.entered.is_set() and screen.working, "the photo being taken")
                yield from d.check("capture_working")
                held.release()
                yield d.until(lambda: self.s.attempts > attempts and not screen.working, "the photo checked",
                              timeout=30)
        else:
            d.tap(screen.ids.shoot_button, "take the photo")
        yield d.until(lambda: self.s.attempts > attempts and not screen.working, "the photo checked", timeout=30)
        if not self.s.reviewing:
            yield from d.check(f"capture_refused_{req.id}")
            return
        yield d.until(lambda: screen.reviewing and screen.ids.preview.has_frame, "the photo shown")
        yield from d.check(f"capture_accepted_{req.id}")
        if keep:
            yield from d.tap_and_wait(screen.ids.keep_button,
                                      lambda: self.s.index != index or self.s.step.value != "capture", "kept")

    def _first_look(self) -> Iterator[Wait]:
        """Each document's page audited once, before anything is done on it."""
        key = (self.s.generation, self.s.step, self.s.index)
        if key not in self.d._seen_pages:
            self.d._seen_pages.add(key)
            req = self.s.current_requirement
            yield from self.d.check(f"capture_{req.id}")

    def do_photos(self, _) -> Iterator[Wait]:
        from kiosk.core.session import Step

        while self.s.step is Step.CAPTURE:
            before = (self.s.index, self.s.step)
            yield from self.do_photo({})
            self.d.assert_((self.s.index, self.s.step) != before, "a good document photo was refused")

    def do_retake(self, spec) -> Iterator[Wait]:
        d = self.d
        yield from self.do_photo(spec, keep=False)
        yield from d.tap_and_wait(self._capture_screen().ids.retake_button, lambda: not self.s.reviewing, "retake")

    def _leave_document(self, button_id: str) -> Iterator[Wait]:
        d = self.d
        index, step = self.s.index, self.s.step
        yield from self._first_look()
        yield from d.tap_and_wait(self._capture_screen().ids[button_id],
                                  lambda: (self.s.index, self.s.step) != (index, step), button_id)

    def do_at_desk(self, _) -> Iterator[Wait]:
        yield from self._leave_document("desk_button")

    def do_not_held(self, _) -> Iterator[Wait]:
        yield from self._leave_document("not_held_button")

    # stamps
    def do_stamp(self, number) -> Iterator[Wait]:
        from kiosk.ui.screens.widgets import OK_KEY

        d = self.d
        screen = d.screen("stamp")
        pad = screen.ids.keypad
        index, step = self.s.index, self.s.step
        yield from d.check("stamp")
        for i, ch in enumerate(number):
            d.tap(pad.key_widget(ch), ch)
            if i % 4 == 3:
                yield d.frames(1)
        yield d.until(lambda: screen.digits == number, "the digits typed")
        yield from d.check("stamp_typed")
        d.tap(pad.key_widget(OK_KEY), "OK")
        yield d.until(lambda: (self.s.index, self.s.step) != (index, step) or
                      (self.s.message is not None and self.s.message.level == "error"), "the stamp checked")

    def do_paper_stamp(self, _) -> Iterator[Wait]:
        d = self.d
        index, step = self.s.index, self.s.step
        yield from d.check("stamp")
        yield from d.tap_and_wait(d.screen("stamp").ids.paper_button,
                                  lambda: (self.s.index, self.s.step) != (index, step), "paper stamp")

    # fingers
    def do_finger(self, outcome) -> Iterator[Wait]:
        d = self.d
        screen = d.screen("fingerprints")
        yield d.until(lambda: not screen.reading, "the sensor idle")
        page = (self.s.step, self.s.index, self.s.attempts, self.s.sensor_down)
        if self.s.attempts == 0:
            yield from d.check("fingerprints")
        d.kiosk.devices.fingerprint.script(outcome)
        if not d.result.get("reading_audited"):
            d.result["reading_audited"] = True  # once: the page while the finger is read
            with Held(d.kiosk.devices.fingerprint, "read") as held:
                d.tap(screen.ids.start_button, "read the fingerprint")
                yield d.until(lambda: held.entered.is_set() and screen.reading, "the finger being read")
                yield from d.check("fingerprints_reading")
        else:
            d.tap(screen.ids.start_button, "read the fingerprint")
        yield d.until(lambda: not screen.reading and
                      (self.s.step, self.s.index, self.s.attempts, self.s.sensor_down) != page,
                      "the finger read", timeout=30)
        if self.s.step.value == "fingerprints":
            yield from d.check("fingerprints_after")

    def do_fingers(self, outcomes) -> Iterator[Wait]:
        for outcome in outcomes:
            yield from self.do_finger(outcome)

    def do_check_fingers(self) -> Iterator[Wait]:
        yield from self.d.check("fingerprints")

    def do_finger_unavailable(self, _) -> Iterator[Wait]:
        d = self.d
        page = (self.s.step, self.s.index)
        yield from d.tap_and_wait(d.screen("fingerprints").ids.unavailable_button,
                                  lambda: (self.s.step, self.s.index) != page, "finger unavailable")

    def do_continue(self, _) -> Iterator[Wait]:
        from kiosk.core.session import Step

        d = self.d
        yield from d.tap_and_wait(d.screen("fingerprints").ids.start_button,
                                  lambda: self.s.step is not Step.FINGERPRINTS, "continued")

    # signature, summary, receipt
    def do_sign(self, _) -> Iterator[Wait]:
        from kiosk.core.session import Step

        d = self.d
        screen = d.screen("signature")
        yield from d.check("signature")
        pad = screen.ids.pad
        yield from d.drag(pad, [(0.1 + 0.5 * i / 30, 0.45 + 0.2 * math.sin(i / 3.0)) for i in range(31)])
        yield from d.drag(pad, [(0.7, 0.3), (0.78, 0.7), (0.86, 0.3)])
        yield from d.check("signature_signed")
        yield from d.tap_and_wait(screen.ids.continue_button, lambda: self.s.step is Step.SUMMARY, "the summary")

    def do_consent(self, value) -> Iterator[Wait]:
        d = self.d
        yield from d.check("summary")
        # What the summary screen really shows, for the scenario's "summary_contains".
        d.summary_shown = [w.text for w in reversed(d.screen("summary").ids.lines.children) if w.text]
        if bool(value) != self.s.consent:
            screen = d.screen("summary")
            yield from d.tap_and_wait(screen.ids.consent, lambda: self.s.consent is bool(value), "consent")

    def do_submit(self, _) -> Iterator[Wait]:
        from kiosk.core.session import Step

        d = self.d
        yield from d.check("summary_consented")
        yield from d.tap_and_wait(d.screen("summary").ids.send_button,
                                  lambda: self.s.step in (Step.END, Step.RECEIPT_FAILED) or
                                  (self.s.step is Step.SUMMARY and self.s.message is not None
                                   and self.s.message.level == "error"), "sent", timeout=40)
        yield from d.check(self.s.step.value)

    def do_retry_print(self, _) -> Iterator[Wait]:
        from kiosk.core.session import Step

        d = self.d
        yield from d.tap_and_wait(d.screen("receipt_failed").ids.retry_button,
                                  lambda: self.s.step in (Step.END, Step.RECEIPT_FAILED) and
                                  d.app.runner.pending("print") == 0, "printed again", timeout=40)
        yield from d.check(self.s.step.value)

    def do_finish(self, _) -> Iterator[Wait]:
        from kiosk.core.session import Step

        d = self.d
        yield from d.tap_and_wait(d.screen(d.current()).ids.finish_button,
                                  lambda: self.s.step is Step.WELCOME, "finished")

    # time and the header
    def do_idle(self, seconds) -> Iterator[Wait]:
        from kiosk.core.session import Step

        d = self.d
        settings = self.s.settings
        seconds = float(seconds)
        warn = settings.inactivity_warning_s
        if seconds >= warn and self.s.step.value != "end":
            d.clocks.offset += warn + 0.5
            yield d.until(lambda: self.s.warning and d.app.overlay.parent is not None, "the inactivity question")
            yield from d.check("inactivity", both_languages=False)
            seconds -= warn + 0.5
        generation = self.s.generation
        d.clocks.offset += max(0.0, seconds)
        yield d.seconds(1.5)  # the app's once-a-second tick sees the time passed
        if self.s.generation != generation and self.s.step is Step.WELCOME:
            yield from d.check("welcome_after_idle", both_languages=False)

    def do_tick(self, _) -> Iterator[Wait]:
        yield self.d.seconds(1.1)

    def do_cancel(self, _) -> Iterator[Wait]:
        from kiosk.core.session import Step

        d = self.d
        yield from d.tap_and_wait(d.app.root.ids.cancel_button, lambda: d.app.cancel_dialog.parent is not None,
                                  "the cancel question")
        yield from d.check("cancel_dialog", both_languages=False)
        yield from d.tap_and_wait(d.app.cancel_dialog.ids.confirm_button, lambda: self.s.step is Step.WELCOME,
                                  "cancelled")

    def do_back(self, _) -> Iterator[Wait]:
        d = self.d
        page = (self.s.step, self.s.index, self.s.reviewing)
        yield from d.tap_and_wait(d.app.root.ids.back_button,
                                  lambda: (self.s.step, self.s.index, self.s.reviewing) != page, "back")
        yield from d.check("after_back")

    def do_language(self, lang) -> Iterator[Wait]:
        d = self.d
        if self.s.lang != lang:
            yield from d.tap_and_wait(d.app.root.ids.language_button, lambda: self.s.lang == lang, "language")

    def do_network(self, state) -> Iterator[Wait]:
        self.d.kiosk.controller.directory.inner.offline = state == "offline"
        yield from ()

    def do_printer(self, state) -> Iterator[Wait]:
        self.d.kiosk.devices.printer.set_state(state)
        yield from ()

    def do_sensor(self, state) -> Iterator[Wait]:
        if state == "unplugged":
            self.d.kiosk.devices.fingerprint.script("unplugged")
        yield from ()

    # speech, help, reading
    def _audio_panel(self) -> Iterator[Wait]:
        d = self.d
        if d.app.audio_panel.parent is None:
            yield from d.tap_and_wait(d.app.root.ids.listen_button, lambda: d.app.audio_panel.parent is not None,
                                      "the voice's controls")
            yield from d.check("audio_panel", both_languages=False)

    def do_listen(self, action) -> Iterator[Wait]:
        d = self.d
        if action in (True, "on") or (action == "repeat" and not d.app.listening):
            yield from d.tap_and_wait(d.app.root.ids.listen_button, lambda: d.app.listening, "speech on")
            return
        yield from self._audio_panel()
        panel = d.app.audio_panel
        button = {"repeat": "repeat_button", "louder": "louder_button", "softer": "softer_button",
                  "stop": "stop_button", False: "stop_button"}[action]
        before = d.kiosk.voice.audio.volume
        d.tap(panel.ids[button], button)
        if action in ("louder", "softer"):
            yield d.until(lambda: d.kiosk.voice.audio.volume != before, "the volume changed")
            yield from d.tap_and_wait(panel.ids.close_button, lambda: panel.parent is None, "the panel closed")
        else:
            yield d.until(lambda: panel.parent is None, "the panel closed")

    def do_headphone(self, state) -> Iterator[Wait]:
        d = self.d
        plugged = state == "plugged"
        d.kiosk.devices.audio.plug(plugged)  # the voice's thread looks at the socket every second
        yield d.until(lambda: d.kiosk.voice.headphones is plugged and (d.app.listening or not plugged),
                      f"headphones {state}")

    def do_help(self, how) -> Iterator[Wait]:
        d = self.d
        a = d.kiosk.assistance
        if how == "screen":
            yield from d.tap_and_wait(d.app.root.ids.help_button, lambda: d.app.help_panel.parent is not None,
                                      "the help panel")
        elif how == "button":
            d.kiosk.devices.indicator.press_call_button()
            yield d.until(lambda: d.app.help_panel.parent is not None, "the help panel")
        elif how == "cancel":
            yield from d.tap_and_wait(d.app.help_panel.ids.cancel_help_button, lambda: a.state is None,
                                      "the call withdrawn")
        elif how == "wait":
            d.clocks.offset += 1.0
            yield d.seconds(1.1)  # the app's once-a-second look at the sync worker's answer sees it
        if d.app.help_panel.parent is not None:
            yield from d.check(f"help_{d.app.help_state or 'closed'}", both_languages=False)
        d.seen.help.append(a.state.value if a.state is not None else "closed")

    def _reading(self, button: str, done) -> Iterator[Wait]:
        d = self.d
        yield from d.tap_and_wait(d.app.root.ids[button], done, button)
        d.seen.legibility.append([d.app.text_scale, d.app.high_contrast])

    def do_text_size(self, scale) -> Iterator[Wait]:
        d = self.d
        while True:
            before = d.app.text_scale
            yield from self._reading("text_size_button", lambda: d.app.text_scale != before)
            if scale == "larger" or d.app.text_scale == scale:
                break

    def do_contrast(self, on) -> Iterator[Wait]:
        d = self.d
        if d.app.high_contrast != bool(on):
            yield from self._reading("contrast_button", lambda: d.app.high_contrast == bool(on))


def demo_session(number: str, status: str) -> dict:
    """A demo pré-demande played with "Je ne sais pas" wherever allowed: the longest checklist it can have."""
    if status != "validated":
        return {"name": f"demo-{number}", "today": DEMO_TODAY, "steps": [{"scan": number}],
                "expect": {"step": "identify", "nothing_queued": True}}
    return {"name": f"demo-{number}", "today": DEMO_TODAY, "demo": True,
            "steps": [{"scan": number}], "expect": {"step": "end", "queue_state": "queued", "receipt": True}}


def play_demo(player: ScenarioPlayer, scenario: dict) -> Iterator[Wait]:
    """Answer each question with "I don't know" where allowed (else its first answer); photograph the
    first document, leave the others for the desk (each page audited first), say "I don't have it" for
    what may not apply, a paper stamp, fingers left for the desk; sign, send. What photographing, typing
    a stamp and reading fingers look like, the example scenarios show: here every page is seen, cheaply."""
    from kiosk.core.interview import MAY_NOT_KNOW
    from kiosk.core.interview import CHOICES
    from kiosk.core.session import Step

    s = player.s
    yield from player.do_scan(scenario["steps"][0]["scan"])
    if s.step not in (Step.CONFIRM, Step.QUESTIONS):
        return
    if s.step is Step.CONFIRM:
        yield from player.confirm_page()
    while s.step is Step.QUESTIONS:
        q = s.current_question
        value = None if q in MAY_NOT_KNOW else CHOICES[q][0][1]
        yield from player.answer_page(list(value) if isinstance(value, tuple) else value)
    yield from player.do_begin_capture(None)
    first = True
    while s.step is Step.CAPTURE:
        if s.current_requirement.conditional:
            yield from player.do_not_held(None)
        elif first:
            yield from player.do_photo({})
            first = False
        else:
            yield from player.do_at_desk(None)
    while s.step is Step.STAMP:
        yield from player.do_paper_stamp(None)
    while s.step is Step.FINGERPRINTS:
        yield from player.do_check_fingers()
        yield from player.do_finger_unavailable(None)
    yield from player.do_sign(None)
    yield from player.do_consent(True)
    yield from player.do_submit(None)


def back_to_welcome(d: AuditDriver) -> Iterator[Wait]:
    """Whatever a session ended on, the next citizen starts from the welcome screen."""
    from kiosk.core.session import ACTIVE_STEPS, BUSY_STEPS, Step

    s = d.session
    yield d.until(lambda: s.step not in BUSY_STEPS, "the kiosk idle", timeout=40)
    if s.step in (Step.END, Step.RECEIPT_FAILED):
        yield from d.tap_and_wait(d.screen(d.current()).ids.finish_button, lambda: s.step is Step.WELCOME, "finish")
    elif s.step in ACTIVE_STEPS:
        if d.app.cancel_dialog.parent is None:
            d.tap(d.app.root.ids.cancel_button, "cancel")
            yield d.until(lambda: d.app.cancel_dialog.parent is not None, "the cancel question")
        yield from d.check("cancel_dialog", both_languages=False)
        d.tap(d.app.cancel_dialog.ids.confirm_button, "yes, cancel")
        yield d.step_is(Step.WELCOME)
    d.kiosk.controller.directory.inner.offline = False
    d.kiosk.devices.printer.set_state("ok")


def run_all(d: AuditDriver, sessions: list[dict]) -> Iterator[Wait]:
    from kiosk.hal.sim.audio import read_log
    from kiosk.scenario import check_expectations

    for scenario in sessions:
        d._label = scenario["name"]
        d.seen.reset()
        d.seen.heard_from = len(read_log(d.kiosk.config.sim_dir))
        d.summary_shown = []
        d.clocks.today = datetime.fromisoformat(scenario.get("today", DEMO_TODAY))
        player = ScenarioPlayer(d)
        error = None
        try:
            if scenario.get("demo"):
                yield from play_demo(player, scenario)
            else:
                yield from player.play(scenario)
        except AssertionError as exc:
            error = f"{type(exc).__name__}: {exc}"
        d.kiosk.voice.wait_idle(30)
        outcome = {**d.seen.outcome(d.kiosk), "summary": d.summary_shown}
        # The audit words each page in English too, so what is heard here is not the session's alone:
        # speech is checked headless (tests/kiosk/test_scenarios.py) and by touch in tests/kiosk/ui/test_assisted.py.
        expect = {k: v for k, v in scenario.get("expect", {}).items() if k not in SPEECH_EXPECTATIONS}
        failures = ([error] if error else []) + check_expectations(expect, outcome)
        d.result["sessions"].append({"name": scenario["name"], "ok": not failures, "failures": failures})
        yield from back_to_welcome(d)


def load_sessions(only: list[str] | None) -> list[dict]:
    from kiosk.scenario import load_scenario

    sessions = [load_scenario(p) for p in sorted(SCENARIOS.glob("*.json"))]
    demo = json.loads((ROOT / "titres" / "data" / "demo_predemandes.json").read_text(encoding="utf-8"))
    sessions += [demo_session(pd["number"], pd.get("status", "validated")) for pd in demo]
    if only:
        sessions = [s for s in sessions if s["name"] in only]
    return sessions


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="800x480,1280x800",
                   help="window sizes, the first one the app starts at; each screen is audited at every one")
    p.add_argument("--shard", default="1/1", help="K/N: play the K-th of N equal shares of the sessions")
    p.add_argument("--shots", default=str(ROOT / "artifacts" / "screenshots" / "audit"))
    p.add_argument("--prefix", default=None)
    p.add_argument("--result", default=None)
    p.add_argument("--only", nargs="*", default=None, help="scenario names (file stems, demo-<number>)")
    p.add_argument("--no-shots", action="store_true")
    p.add_argument("--legibility", action="store_true",
                   help="audit each kind of page at 125 %% and 150 %% text and in high contrast too")
    p.add_argument("--claims", default=None,
                   help="a directory shared by the shares run side by side: each kind of page is audited "
                        "enlarged by the first share that reaches it")
    args = p.parse_args(argv)

    import faulthandler
    import signal

    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints where a stuck run is
    work = Path(tempfile.mkdtemp(prefix="kiosk-audit-"))
    _prepare_environment(work / "kivy-home")
    shots = Path(args.shots)
    shots.mkdir(parents=True, exist_ok=True)
    sizes = [tuple(int(v) for v in size.lower().split("x")) for size in args.sizes.split(",")]
    size = sizes[0]

    from kiosk.config import load_config, simulated
    from kiosk.runtime import build_kiosk
    from kiosk.scenario import Observer

    cfg = simulated(load_config(env={}, data_dir=work / "data"))
    from kiosk.ui.app import KioskApp, configure_kivy

    configure_kivy(fullscreen=False, size=size)
    from kivy.config import Config

    Config.set("graphics", "maxfps", "0")  # frames as fast as they are drawn: the audit waits for frames, not time
    clocks = Clocks()
    kiosk = build_kiosk(cfg, clock=clocks.monotonic, wall_clock=clocks.wall, help_clock=clocks.unix)
    result: dict = {"ok": False, "error": "the app did not start"}
    try:
        kiosk.controller.directory = SlowDirectory(kiosk.controller.directory, 0.3)
        app = KioskApp(kiosk)
        shard, shards = (int(v) for v in args.shard.split("/"))
        prefix = args.prefix or (f"s{shard}-" if shards > 1 else "")
        driver = AuditDriver(app, kiosk, shots, prefix, cfg.sim_dir, clocks)
        driver.sizes = sizes
        driver.seen = Observer(driver.session)
        driver.shots_enabled = not args.no_shots
        driver.legibility_checks = args.legibility
        driver.claims = Path(args.claims) if args.claims else None
        sessions = load_sessions(args.only)[shard - 1::shards]
        from kivy.clock import Clock

        Clock.schedule_once(lambda dt: driver.run(lambda d: run_all(d, sessions)), 0.5)
        started = time.monotonic()
        app.run()
        result = driver.result
        result["ok"] = bool(result["ok"]) and not result["problems"] and all(s["ok"] for s in result["sessions"])
        result["seconds"] = round(time.monotonic() - started, 1)
        result["sizes"] = sorted({tuple(p["size"]) for p in result["problems"]} | set(sizes))
        result["audited_at"] = driver.audited_at
        result["kinds"] = {setting: sorted(kinds) for setting, kinds in driver.kinds.items()}
    except Exception as exc:
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"}
    finally:
        kiosk.close()
        shutil.rmtree(work, ignore_errors=True)
    return emit_result(result, args.result)


if __name__ == "__main__":
    sys.exit(main())
