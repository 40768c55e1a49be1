"""The touchscreen app: Kivy views over the session, slow work on a worker thread.

:class:`KioskApp` is built from a :class:`kiosk.runtime.Kiosk`. It subscribes
to the session and shows the screen of the current step
(:data:`kiosk.ui.screens.SCREEN_FOR`); screens send the session events and
submit the controller's jobs to a :class:`kiosk.ui.jobs.JobRunner`, which
runs them off the UI thread. Every second the app ticks the session
(inactivity, the end screen's return) and calls :attr:`KioskApp.on_heartbeat`,
the hook the systemd watchdog will use.

Everything is sized in units of ``u``: 1 at the 800x480 reference screen,
growing with the window (1.6 on a 1280x800 panel), so text stays large and
touch targets at least 56 px high at the reference size. Text is sized in
units of ``tu``: ``u`` times the text size the citizen chose
(``text_scale``: 1, 1.25 or 1.5, :mod:`kiosk.core.legibility`); a box that holds
text grows with its text, never the other way round. Colours come from
``theme``, the palette in use (:mod:`kiosk.ui.screens.theme`): kv rules read
``app.theme.BLUE``, so switching to high contrast re-colours every screen.

:func:`run_app` configures Kivy (window size, full screen, input, Escape)
before the window exists, then runs the app. The caller sets
``KIVY_NO_ARGS=1`` so that Kivy leaves the command line alone.
"""

from __future__ import annotations

import gc
import logging
from typing import Callable

from kivy.app import App
from kivy.base import ExceptionHandler, ExceptionManager
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import AliasProperty, BooleanProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.modalview import ModalView

from titres.errors import InvalidTransition
from kiosk.sync.help import HelpState
from titres.i18n import Translator
from kiosk.core.legibility import Legibility
from kiosk.technician.maintenance import MaintenanceAccess
from kiosk.technician.report import RecentProblems
from kiosk.ui.memory import release_free_memory, tune_allocator
from kiosk.core import journey
from kiosk.core.journey import header_title
from kiosk.ui.screens import KV_DIR, KV_FILES, SCREEN_FOR
from kiosk.ui.screens.theme import NORMAL, palette
from kiosk.core.session import BUSY_STEPS, Step
from kiosk.ui.jobs import JobRunner, Task
from kiosk.ui.kvrules import forget_dead_rules

log = logging.getLogger("kiosk.ui.app")

REFERENCE_SIZE = (800, 480)


class KioskRoot(FloatLayout):
    """Header, progress bar and screens (``root.kv``); the inactivity overlay goes on top."""


class CancelDialog(ModalView):
    """"Abandon the application?": erasing everything takes a second, deliberate touch."""


class InactivityOverlay(FloatLayout):
    """"Are you still there?" over the whole screen, with the seconds left."""

    seconds = NumericProperty(0)


def scale_for(size: tuple[float, float]) -> float:
    """The unit ``u`` for a window: how much larger than 800x480 it is, limited by its narrower side."""
    w, h = size
    return max(0.6, min(w / REFERENCE_SIZE[0], h / REFERENCE_SIZE[1]))


class LateTouch(ExceptionHandler):
    """A touch that reaches a button after the session moved on (a double tap, a button still
    under the finger while the screen changes) is not a crash: the session refused it, log and go on.
    Anything else still ends the app, loudly, for the supervisor to restart it."""

    def handle_exception(self, inst):
        if isinstance(inst, InvalidTransition):
            log.warning("late touch ignored", extra={"detail": inst.detail})
            return ExceptionManager.PASS
        return ExceptionManager.RAISE


def install_late_touch_handler() -> None:
    """Once per process (Kivy's exception manager is process-wide), whichever app runs."""
    if not any(isinstance(h, LateTouch) for h in ExceptionManager.handlers):
        ExceptionManager.add_handler(LateTouch())


class TouchApp(App):
    """What the citizens' app and the commissioning app share: the units ``u`` and ``tu``, the palette
    ``theme``, the translator ``t``, the kv files, the heartbeat the systemd watchdog is fed from, and
    stopping to start again."""

    u = NumericProperty(1.0)
    #: The text size chosen (1 = as designed); the technician's screens keep 1 (they are sized in ``u``).
    text_scale = NumericProperty(1.0)
    #: The unit of font sizes: ``u`` times ``text_scale``, kept in step with both.
    tu = AliasProperty(lambda self: self.u * self.text_scale, None, bind=("u", "text_scale"), cache=True)
    #: ``rebind``: kv rules read ``app.theme.BLUE``, and must follow when the palette object changes.
    theme = ObjectProperty(NORMAL, rebind=True)
    t = ObjectProperty(Translator("fr", typography=True))

    def __init__(self, lang: str, **kw):
        super().__init__(**kw)
        install_late_touch_handler()
        self.t = Translator(lang, typography=True)
        #: Called from the main loop every second; systemd's watchdog is fed there.
        self.on_heartbeat: Callable[[], None] = lambda: None
        #: Set when the app stops so that it can start again (commissioned, a technician's restart).
        self.restart_requested = False
        self._events = []

    def load_screens_kv(self, names) -> None:
        """Load ``names`` from the screens' directory once per process; ``u`` follows the window's size."""
        from kivy.core.window import Window

        self.u = scale_for(Window.size)
        Window.bind(size=self._on_resize)
        for name in names:
            path = str(KV_DIR / name)
            if path not in Builder.files:
                Builder.load_file(path)

    def _on_resize(self, window, size) -> None:
        self.u = scale_for(size)

    def beat(self) -> None:
        try:
            self.on_heartbeat()
        except Exception:
            log.exception("heartbeat hook failed")

    def request_restart(self) -> None:
        """Stop the app so that ``kiosk run`` starts it again (see :func:`run_app`)."""
        self.restart_requested = True
        self.stop()

    def on_stop(self):
        for event in self._events:
            event.cancel()


class KioskApp(TouchApp):
    header_title = StringProperty("")
    can_go_back = BooleanProperty(False)
    #: Set by a screen while a photo or a finger is being taken: Back and Cancel wait for the result,
    #: so that it cannot land on another page (the session only knows the citizen, not the page).
    navigation_locked = BooleanProperty(False)
    progress_count = NumericProperty(8)
    progress_done = NumericProperty(0)
    progress_shown = BooleanProperty(False)
    step_text = StringProperty("")
    #: False while the technician's maintenance screen is shown: the citizen's header buttons go.
    citizen_view = BooleanProperty(True)
    high_contrast = BooleanProperty(False)
    #: Speech is on (the header's "Écouter" button shows it pressed).
    listening = BooleanProperty(False)
    #: The open help request's state (``kiosk.sync.help.HelpState`` value), "" when none.
    help_state = StringProperty("")

    def __init__(self, kiosk, problems: RecentProblems | None = None, **kw):
        super().__init__(kiosk.controller.session.lang, **kw)
        tune_allocator()  # before the job runner's thread exists
        self.kiosk = kiosk
        self.controller = kiosk.controller
        self.session = kiosk.controller.session
        self.runner: JobRunner | None = None
        self.screens: dict = {}
        self.overlay: InactivityOverlay | None = None
        self.cancel_dialog: CancelDialog | None = None
        self._root: KioskRoot | None = None
        self._page_key = None
        #: The app's last warnings and errors, for the maintenance screen (attached to the "kiosk" logger by run_app).
        self.problems = problems or RecentProblems()
        self.pin_dialog = None
        #: The technician's way in (kiosk.technician.maintenance): the app only shows what it decides.
        self.access = MaintenanceAccess(kiosk.config.maintenance)
        self._hold_event = None
        self.audio_panel = None
        self.help_panel = None
        #: The citizen's text size and contrast, for this session only (kiosk.core.legibility).
        self.legibility = Legibility(generation=self.session.generation)

    # -- building -------------------------------------------------------------------
    def build(self):
        from kivy.core.window import Window

        from kiosk.ui.screens import screen_classes

        self.title = self.t("app.title")
        self.load_screens_kv(KV_FILES)
        root = self._root = KioskRoot()
        sm = root.ids.sm
        from kivy.uix.screenmanager import NoTransition

        sm.transition = NoTransition()
        for name, cls in screen_classes().items():
            screen = cls(self, name=name)
            self.screens[name] = screen
            sm.add_widget(screen)
        # Lay every screen out at the window's size now, not when first shown: their text is then
        # rendered once, at start-up, instead of during the citizen's first touch on each screen.
        sm.bind(size=self._size_screens)
        self.overlay = InactivityOverlay()
        self.cancel_dialog = CancelDialog()
        from kiosk.ui.screens.maintenance import PinDialog
        from kiosk.technician.pin import PinGuard

        m = self.kiosk.config.maintenance
        self.pin_dialog = PinDialog(self, PinGuard(self.kiosk.config.technician_pin_file,
                                                   max_failures=m.max_pin_failures, lockout_s=m.lockout_s))
        self.runner = JobRunner(self.session, post=lambda fn: Clock.schedule_once(lambda dt: fn()),
                                on_error=self._job_error)
        self._wire_assistance()
        self.session.subscribe(self._on_session)
        Window.bind(on_touch_down=self._on_window_touch, on_touch_up=self._on_window_release)
        self._events.append(Clock.schedule_interval(self._every_second, 1.0))
        self._on_session(self.session)
        return root

    def on_start(self):
        # Everything built so far lives as long as the app: keep it out of the garbage collector's
        # full passes, which otherwise stop every thread (the UI too) for 100 ms and more.
        gc.collect()
        gc.freeze()

    def on_stop(self):
        super().on_stop()
        if self.runner is not None:
            self.runner.close(wait=True)

    # -- the session drives the screens ------------------------------------------------
    def _on_session(self, session) -> None:
        """Show the session's state. A screen's bug is logged, loudly, rather than ending the citizen's session."""
        try:
            self._show(session)
        except Exception:
            log.exception("a screen failed to show the session", extra={"step": session.step.value})

    def _show(self, session) -> None:
        if session.lang != self.t.lang:
            self.t = Translator(session.lang, typography=True)
            self.title = self.t("app.title")
        self._set_legibility(self.legibility.for_session(session.generation))
        if self.access.is_open:
            self._title_maintenance()
            self.screens["maintenance"].render()
            return  # the citizen's screens wait behind; close_maintenance() shows the session again
        step = session.step
        self.header_title = header_title(self.t, session)
        self.can_go_back = session.can_go_back()
        where = journey.position(session)
        self.progress_shown = where is not None
        if where is not None:
            self.progress_done, self.progress_count = where[0] - 1, where[1]
            self.step_text = self.t("common.step", index=where[0], count=where[1])

        if self._page_key is not None and self._page_key[2] != session.generation:
            for each in self.screens.values():
                each.forget()  # nothing of the previous citizen stays in a widget
            release_free_memory()  # and give their buffers back

        sm = self._root.ids.sm
        name = SCREEN_FOR[step]
        screen = self.screens[name]
        key = (step, session.index, session.generation, session.lang)
        if sm.current != name or self._page_key is None:
            old = self.screens.get(sm.current)
            if old is not None and old is not screen:
                old.deactivate()
            sm.current = name
            screen.on_page(session)
            screen.activate()
        elif key[:3] != self._page_key[:3]:
            screen.on_page(session)
        elif key != self._page_key:
            screen.on_language(session)  # the same page in the other language: words change, not what was done
        else:
            screen.on_session(session)
        self._page_key = key

        if not self.can_go_back and self.cancel_dialog is not None and self.cancel_dialog.parent is not None:
            self.cancel_dialog.dismiss(animation=False)
        self._show_overlay(session.warning)

    def _show_overlay(self, shown: bool) -> None:
        root = self._root
        if root is None or self.overlay is None:
            return
        if shown:
            self.overlay.seconds = self.session.seconds_before_abandon
            if self.overlay.parent is None:
                if self.cancel_dialog is not None and self.cancel_dialog.parent is not None:
                    self.cancel_dialog.dismiss(animation=False)
                root.add_widget(self.overlay)
        elif self.overlay.parent is not None:
            root.remove_widget(self.overlay)

    def _on_window_touch(self, window, touch) -> bool:
        """Any touch tells the session the citizen is there; the touch that wakes the kiosk does nothing else.

        On the welcome screen, a touch in the top-left corner starts the
        maintenance gesture: held for ``maintenance.hold_s``, it asks for
        the technician PIN (and that touch does not start a session).
        """
        self.access.touched()
        if self.access.may_ask(self._at_welcome) and self._in_corner(window, touch):
            self._cancel_hold()
            touch.ud["corner"] = True
            self._hold_event = Clock.schedule_once(lambda dt: self._hold_fired(touch),
                                                   self.kiosk.config.maintenance.hold_s)
        was_warning = self.session.warning
        self.session.touch()
        return was_warning

    @property
    def _at_welcome(self) -> bool:
        return self.session.step is Step.WELCOME

    def _in_corner(self, window, touch) -> bool:
        """The top-left corner of the welcome screen itself, under the header: a touch there reaches the
        welcome screen, which must then not start a session (``touch.ud["maintenance"]``)."""
        sm = self._root.ids.sm
        side = self.u * 90
        return sm.x <= touch.x <= sm.x + side and sm.top - side <= touch.y <= sm.top

    def _hold_fired(self, touch) -> None:
        self._hold_event = None
        if self.pin_dialog is not None and self.access.ask(self._at_welcome):  # never over the pad itself
            touch.ud["maintenance"] = True  # the welcome screen must not start a session on its release
            log.info("maintenance gesture: PIN asked")
            self.pin_dialog.ask()

    def _on_window_release(self, window, touch) -> None:
        if touch.ud.get("corner"):
            self._cancel_hold()

    def _cancel_hold(self) -> None:
        if self._hold_event is not None:
            self._hold_event.cancel()
            self._hold_event = None

    # -- maintenance -----------------------------------------------------------------------
    def run_task(self, name: str, work: Callable[[], object], on_done) -> None:
        """Technician work on the job runner's single worker, so devices are never used by two threads."""
        self.runner.submit(Task(name, work), on_done=on_done)

    def _title_maintenance(self) -> None:
        self.header_title = self.t("maintenance.title", kiosk=self.kiosk.config.site.kiosk_code)
        self.can_go_back = False
        self.progress_shown = False
        self.citizen_view = False

    def open_maintenance(self) -> None:
        """Only from the welcome screen: nothing of a citizen is ever behind the maintenance screen."""
        if not self.access.open(self._at_welcome):
            return
        # The technician's screens are designed at the usual size and colours, whatever was chosen here.
        self._set_legibility(Legibility(generation=self.session.generation))
        sm = self._root.ids.sm
        old = self.screens.get(sm.current)
        if old is not None:
            old.deactivate()
        self._title_maintenance()
        sm.current = "maintenance"
        self.screens["maintenance"].activate()

    def close_maintenance(self) -> None:
        if not self.access.close():
            return
        log.info("maintenance closed")
        screen = self.screens["maintenance"]
        screen.deactivate()
        screen.forget()
        self._page_key = None
        self.citizen_view = True
        self._on_session(self.session)

    def _size_screens(self, sm, size) -> None:
        for screen in self.screens.values():
            screen.size = size

    def _every_second(self, dt) -> None:
        expired = self.access.expired()
        if expired == "screen":
            self.close_maintenance()
        elif expired == "pad" and self.pin_dialog is not None:
            self.pin_dialog.dismiss(animation=False)
        self.session.tick()
        self.kiosk.assistance.tick()
        self.kiosk.voice.check()
        if self.overlay is not None and self.overlay.parent is not None:
            self.overlay.seconds = self.session.seconds_before_abandon
        self.beat()

    def _job_error(self, job_name: str, exc: BaseException) -> None:
        log.error("job left the session unchanged", extra={"job": job_name, "error": repr(exc)})

    # -- speech and help --------------------------------------------------------------------
    def _wire_assistance(self) -> None:
        """The voice's and the help request's news reach the UI thread, and the header shows them."""
        from kiosk.ui.screens.assist import AudioPanel, HelpPanel

        def on_ui(fn) -> None:
            Clock.schedule_once(lambda dt: fn())

        voice, assistance = self.kiosk.voice, self.kiosk.assistance
        voice.post = on_ui
        voice.on_headphone = lambda plugged: voice.headphone_changed(plugged, self.session)
        voice.on_enabled = self._listening_changed
        assistance.post = on_ui
        assistance.on_state = self._help_changed
        self.audio_panel = AudioPanel(self)
        self.help_panel = HelpPanel(self)

    def _listening_changed(self, on: bool) -> None:
        self.listening = on
        if not on and self.audio_panel is not None:
            self.audio_panel.dismiss(animation=False)  # the session ended: its voice's controls with it

    def toggle_listen(self) -> None:
        """"Écouter": speech on and the page read; once on, the voice's controls (volume, repeat, stop)."""
        voice = self.kiosk.voice
        if not voice.enabled:
            voice.listen(self.session)
        elif self.audio_panel is not None:
            self.audio_panel.show()

    def ask_help(self) -> None:
        """"Besoin d'aide ?": the agents are told (:mod:`kiosk.sync.help`; the call button goes there directly). The
        panel follows the request's state (:meth:`_help_changed`); touched again, it shows again."""
        self.kiosk.assistance.ask(self.session)
        if self.help_panel is not None:
            self.help_panel.show()

    def _help_changed(self, state) -> None:
        """The panel follows the request; it comes back over the page for what the citizen must not miss
        (the call button was pressed, an agent answered, nobody can be told), not for "sent"."""
        self.help_state = state.value if state is not None else ""
        if self.help_panel is None:
            return
        if state is None:
            self.help_panel.dismiss(animation=False)
            return
        self.help_panel.show_state(state)
        if state in (HelpState.ASKING, HelpState.ACKNOWLEDGED, HelpState.UNREACHABLE):
            self.help_panel.show()

    # -- header actions -----------------------------------------------------------------
    def go_back(self) -> None:
        if self.session.can_go_back() and not self.navigation_locked:
            self.session.back()

    def toggle_language(self) -> None:
        langs = self.session.settings.languages
        i = langs.index(self.session.lang) if self.session.lang in langs else 0
        self.session.set_language(langs[(i + 1) % len(langs)])

    def cycle_text_size(self) -> None:
        """100 % → 125 % → 150 % → 100 %, for this session (kiosk.core.legibility)."""
        self._choose(Legibility.larger_text)

    def toggle_contrast(self) -> None:
        self._choose(Legibility.contrast_switched)

    def _choose(self, change) -> None:
        """The citizen's touch on a reading setting: shown, and said when speech is on."""
        before = self.legibility.for_session(self.session.generation)
        after = change(before)
        self._set_legibility(after)
        self.kiosk.voice.setting_changed(self.session, before, after)
        self._on_session(self.session)

    def _set_legibility(self, legibility: Legibility) -> None:
        """Show ``legibility``: the kv rules follow ``text_scale`` and ``theme``; the page is then worded
        again (``on_language``) so that what a screen made in Python (a markup colour) follows too."""
        shown = (self.text_scale, self.high_contrast)
        self.legibility = legibility
        if (legibility.text_scale, legibility.high_contrast) == shown:
            return
        forget_dead_rules(self, "text_scale", "high_contrast", "theme")
        self.text_scale = legibility.text_scale
        self.high_contrast = legibility.high_contrast
        self.theme = palette(legibility.high_contrast)
        if self._page_key is not None:
            self._page_key = self._page_key[:3] + (None,)  # the same page, to be worded again

    def ask_cancel(self) -> None:
        if self.session.can_go_back() and not self.navigation_locked and self.cancel_dialog is not None:
            self.cancel_dialog.open(animation=False)
            self.kiosk.voice.say_keys(self.session, "cancel.confirm", "cancel.keep", "cancel.yes")

    def cancel_confirmed(self) -> None:
        if self.session.step not in BUSY_STEPS:
            self.session.cancel()

    # -- for tests and tools ----------------------------------------------------------------
    @property
    def current_screen(self):
        return self.screens.get(self._root.ids.sm.current) if self._root is not None else None


def configure_kivy(fullscreen: bool = False, size: tuple[int, int] = REFERENCE_SIZE) -> None:
    """Kivy settings for a kiosk; must run before ``kivy.core.window`` is imported."""
    import sys

    from kivy.config import Config

    if "kivy.core.window" in sys.modules:
        log.warning("the window already exists: size and full-screen settings will not apply")

    Config.set("graphics", "width", str(int(size[0])))
    Config.set("graphics", "height", str(int(size[1])))
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "resizable", "0" if fullscreen else "1")
    Config.set("graphics", "show_cursor", "0" if fullscreen else "1")
    Config.set("graphics", "allow_screensaver", "0")
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("kivy", "keyboard_mode", "system")
    # One touch provider, or every touch arrives twice: SDL2's own (added with the window) stays;
    # the default kernel-device probe (hidinput on the Pi's touchscreen) goes. No red multitouch dots.
    if Config.has_option("input", "%(name)s"):
        Config.remove_option("input", "%(name)s")
    Config.set("input", "mouse", "mouse,disable_multitouch")


def run_app(kiosk, fullscreen: bool = False, size: tuple[int, int] = REFERENCE_SIZE,
            on_heartbeat: Callable[[], None] | None = None) -> bool:
    """Show the kiosk on the screen until the app stops; True if it stopped to be started again."""
    configure_kivy(fullscreen, size)
    problems = RecentProblems()
    logging.getLogger("kiosk").addHandler(problems)
    try:
        app = KioskApp(kiosk, problems=problems)
        if on_heartbeat is not None:
            app.on_heartbeat = on_heartbeat
        app.run()
    finally:
        logging.getLogger("kiosk").removeHandler(problems)
    return app.restart_requested
