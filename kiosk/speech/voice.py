"""The kiosk's voice: follows the session, renders what :mod:`kiosk.core.narration` says, plays it.

Speech is off until the citizen asks for it, by plugging in headphones or
by touching "Écouter", and it ends with the session, with the volume back to
its default (EN 301 549 5.1.3.13): the next citizen starts from a silent,
ordinary kiosk. While it is on, every page is read when it comes, every
result is said after its sound, and what the citizen types is echoed.

Privacy decides what the loudspeaker may say. Through headphones,
everything; through the loudspeaker, in a public hall, nothing personal
(the citizen's name, numbers, what they type) unless they touched
"Écouter" on that very page; otherwise a sentence says how to hear it.

Rendering and playing happen on the voice's own thread, never on the UI
thread: a prompt with the citizen's name is rendered there, in memory, each
time; a prompt that is the same for everyone comes from the
:class:`~kiosk.speech.prompt_cache.PromptCache`. A new page interrupts what is
being said (stale words are worse than none). The thread also watches the
headphone socket, once a second. If it dies, :meth:`Voice.check` says so,
loudly, and starts another: the app calls it every second.

``inline=True`` (the scenario runner, the tests of the words) does all of
it on the caller's thread, in order, so a replayed session hears every page.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable

from kiosk.hal.audio import AudioOutput, Clip
from titres.i18n import Translator
from kiosk.core.narration import Narrator, Prompt, legibility, typed
from kiosk.hal.tones import tone

log = logging.getLogger("kiosk.speech.voice")

#: How often the voice's thread looks at the headphone socket.
HEADPHONE_POLL_S = 1.0
VOLUME_STEP = 0.1


@dataclass
class _Item:
    epoch: int
    prompt: Prompt
    lang: str
    said_at: float
    first: bool = False  # the first of what was said together: its start is what the citizen waits for


class Voice:
    def __init__(self, audio: AudioOutput, cache, engine, *, volume: float = 0.8, sounds_volume: float = 0.5,
                 inline: bool = False, post: Callable[[Callable[[], None]], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.audio = audio
        self.cache = cache
        self.engine = engine
        self.default_volume = volume
        self.sounds_volume = sounds_volume
        self.inline = inline
        #: How the thread hands a headphone change to the UI thread (the app: ``Clock.schedule_once``).
        self.post = post or (lambda fn: fn())
        self.clock = clock
        self.narrator = Narrator()
        self.enabled = False
        #: The page on which the citizen touched "Écouter": personal words may go to the loudspeaker there.
        self._chosen_page = None
        self.headphones = bool(audio.headphone_plugged())
        self.on_headphone: Callable[[bool], None] = lambda plugged: None
        #: Listeners told when speech turns on or off (the header's "Écouter" button shows it).
        self.on_enabled: Callable[[bool], None] = lambda enabled: None
        self._epoch = 0
        self._generation: int | None = None
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._idle = threading.Condition()
        self._busy = 0
        self._thread: threading.Thread | None = None
        self._closed = False
        self.failures = 0
        self._failed = False
        #: (seconds from :meth:`say` to the first sample heard, prompt key) of the last batch said (benchmarks).
        self.last_latency: tuple[float, str] | None = None
        audio.set_volume(volume)
        if not inline:
            self._start_thread()

    # -- what the app and the scenario runner call -------------------------------------
    def follow(self, session) -> None:
        """After every change of the session: say what changed, when speech is on."""
        if self._generation is not None and session.generation != self._generation:
            self.end_session()  # before a word of the next session: it starts silent
        self._generation = session.generation
        t = Translator(session.lang)
        prompts, interrupt = self.narrator.update(t, session)
        if self.enabled and prompts:
            self.say(prompts, session, interrupt=interrupt)

    def listen(self, session) -> None:
        """"Écouter": speech on, the whole page said again, and personal words allowed on this page."""
        self._chosen_page = self._page(session)
        self._set_enabled(True)
        self.say(self.narrator.whole_page(Translator(session.lang), session), session, interrupt=True)

    def silence(self, session) -> None:
        """"Arrêter la voix": speech off until "Écouter" again (or headphones plugged in again)."""
        t = Translator(session.lang)
        self.say([Prompt("speech.stopped", t("speech.stopped", listen=t("common.listen")))], session, interrupt=True)
        self._set_enabled(False)

    def change_volume(self, session, louder: bool) -> float:
        """One step (:data:`VOLUME_STEP`) louder or softer, said at the new level."""
        self.audio.set_volume(round(self.audio.volume + (VOLUME_STEP if louder else -VOLUME_STEP), 2))
        percent = int(round(self.audio.volume * 100))
        self.say([Prompt("speech.volume", Translator(session.lang)("speech.volume", percent=percent))], session,
                 interrupt=True)
        return self.audio.volume

    def say_keys(self, session, *keys: str) -> None:
        """A panel's own words (the cancel question and its two answers), when speech is on."""
        if self.enabled:
            t = Translator(session.lang)
            self.say([Prompt(k, t(k)) for k in keys], session, interrupt=True)

    def setting_changed(self, session, before, after) -> None:
        """Text size or contrast switched (``kiosk.core.legibility``): the new state said, when speech is on."""
        if self.enabled:
            self.say(legibility(Translator(session.lang), before, after), session, interrupt=True)

    def echo(self, session, before: str, after: str) -> None:
        """A key on a keypad the session does not hold (the stamp's digits): the digit, or "Effacé"."""
        if self.enabled:
            self.say(typed(Translator(session.lang), before, after), session, interrupt=True)

    def cue(self, sound: str) -> None:
        """A short sound alone ("your turn": the sensor waits for the finger), when speech is on."""
        if self.enabled:
            self._enqueue([Prompt(f"sound.{sound}", sound=sound)], "", interrupt=False)

    def headphone_changed(self, plugged: bool, session) -> None:
        """Plugged in: speech starts, from the page the citizen is on. Unplugged: what was said stops."""
        self.headphones = plugged
        if plugged:
            self._set_enabled(True)
            self.say(self.narrator.whole_page(Translator(session.lang), session), session, interrupt=True)
        else:
            self._drop()  # nothing meant for headphones goes on aloud

    def poll_headphone(self, session) -> bool:
        """Look at the socket now (the scenario runner; the app's voice thread does it by itself)."""
        plugged = bool(self.audio.headphone_plugged())
        if plugged != self.headphones:
            self.headphone_changed(plugged, session)
        return plugged

    def end_session(self) -> None:
        """The citizen is gone: silence, speech off, the volume back to its default."""
        self._drop()
        self._chosen_page = None
        self._failed = False
        self._set_enabled(False)
        self.audio.set_volume(self.default_volume)

    def say(self, prompts: list[Prompt], session, interrupt: bool = False) -> None:
        """Queue ``prompts`` in the session's language, less what the loudspeaker may not say here."""
        allowed = self.headphones or self._chosen_page == self._page(session)
        kept: list[Prompt] = []
        hidden = False
        t = Translator(session.lang)
        for p in prompts:
            if p.personal and not allowed:
                if not hidden:
                    kept.append(Prompt("speech.personal_hidden", t("speech.personal_hidden",
                                                                   listen=t("common.listen"))))
                    hidden = True
                continue
            kept.append(p)
        self._enqueue(kept, session.lang, interrupt)

    @staticmethod
    def _page(session) -> tuple:
        """The page, whatever its language: a choice to hear one's details survives a switch to English."""
        return Narrator.page_key(session)[:5]

    # -- the thread --------------------------------------------------------------------
    def _set_enabled(self, on: bool) -> None:
        if on != self.enabled:
            self.enabled = on
            self.on_enabled(on)

    def _enqueue(self, prompts: list[Prompt], lang: str, interrupt: bool) -> None:
        if interrupt:
            self._drop()
        now = self.clock()
        items = [_Item(self._epoch, p, lang, now, first=i == 0) for i, p in enumerate(prompts)]
        if self.inline:
            for item in items:
                self._play(item)
            return
        with self._idle:
            self._busy += len(items)
        for item in items:
            self._queue.put(item)

    def _drop(self) -> None:
        """Forget what is queued and cut what is playing."""
        self._epoch += 1
        self.audio.stop()

    def _play(self, item: _Item) -> None:
        p = item.prompt
        if item.epoch != self._epoch:
            return
        started = None
        try:
            if p.sound:
                self.audio.play(tone(p.sound, self.sounds_volume))
                started = self.audio.first_sample_at
            if p.text and item.epoch == self._epoch:
                clip = self._render(p, item.lang)
                if item.epoch == self._epoch:
                    self.audio.play(clip)
                    started = started or self.audio.first_sample_at
            if item.first and started is not None:
                self.last_latency = (started - item.said_at, p.key)
        except Exception as exc:  # one prompt that cannot be said must not silence the rest
            self.failures += 1
            if not self._failed:  # once a session: a missing sound card must not fill the log prompt by prompt
                log.error("prompt not spoken", extra={"key": p.key, "error": repr(exc)})
            self._failed = True

    def _render(self, p: Prompt, lang: str) -> Clip:
        # The citizen's own words are rendered now, in memory; everyone's words come from the cache. (The
        # words come from a Translator without typography: plain spaces, as espeak-ng wants them.)
        speech = self.engine.render(p.text, lang, p.slow) if p.personal else self.cache.get(p.text, lang, p.slow)
        return Clip(speech.samples, speech.rate, key=p.key, text=p.text, lang=lang, personal=p.personal)

    def _start_thread(self) -> None:
        self._thread = threading.Thread(target=self._run, name="kiosk-voice", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._closed:
                try:
                    item = self._queue.get(timeout=HEADPHONE_POLL_S)
                except queue.Empty:
                    self._watch_socket()
                    continue
                if item is None:
                    break
                try:
                    self._play(item)
                finally:
                    with self._idle:
                        self._busy -= 1
                        self._idle.notify_all()
                if self._queue.empty():
                    self._watch_socket()
        except BaseException:
            log.exception("the voice's thread died")
            raise

    def _watch_socket(self) -> None:
        try:
            plugged = bool(self.audio.headphone_plugged())
        except Exception as exc:
            log.warning("headphone socket unreadable", extra={"error": repr(exc)})
            return
        if plugged != self.headphones:
            self.headphones = plugged
            self.post(lambda: self.on_headphone(plugged))

    def check(self) -> bool:
        """True while the thread runs; if it died, say so and start another (called every second)."""
        if self.inline or self._closed:
            return True
        if self._thread is not None and self._thread.is_alive():
            return True
        log.error("voice thread was not running: restarted")
        with self._idle:
            self._busy = self._queue.qsize()
            self._idle.notify_all()
        self._start_thread()
        return False

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Until everything queued was played (tests, benchmarks); False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._idle:
            while self._busy > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._drop()
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
