"""A citizen asks for help: the kiosk tells the mairie's agents, and tells the citizen who is coming.

The request travels the way dossiers do, through the sync worker, the one
process that talks to the central service: the app writes
``<data>/help/request.json``; the worker (:class:`HelpRelay`) sends it,
again every :data:`RESEND_S` while it is open (that is how it learns that
an agent answered "j'arrive"), and writes what the service said to
``<data>/help/answer.json``, which the app (:class:`HelpDesk`) reads every
second. The two processes share nothing else, as for the outbox.

The request says which kiosk (the signed request does), which screen the
citizen is on and for how long: nothing of the citizen's. When no answer
comes (network down, worker stopped, kiosk not enrolled), the citizen is
told within :data:`ANSWER_TIMEOUT_S` to go to the front desk rather than
wait for someone who will not come.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Callable

from titres.errors import PermanentSyncError, RetryableSyncError
from titres.i18n import Translator
from kiosk.core.narration import Prompt
from titres.durable import write_atomic

log = logging.getLogger("kiosk.sync.help")

HELP_DIR = "help"
REQUEST_FILE = "request.json"
ANSWER_FILE = "answer.json"
#: While a request is open, the worker sends it again this often: the service's answer carries the agent's "j'arrive".
RESEND_S = 2.0
#: No answer from the worker within this long: the citizen is told to go to the front desk.
ANSWER_TIMEOUT_S = 10.0


class HelpState(StrEnum):
    ASKING = "asking"  # written, not yet confirmed by the service
    SENT = "sent"  # the service has it: the agents see it
    ACKNOWLEDGED = "acknowledged"  # an agent said "j'arrive"
    UNREACHABLE = "unreachable"  # nobody can be told: go to the front desk
    CLOSED = "closed"


#: What the citizen is told in each state (titres/messages.py).
MESSAGE_FOR = {
    HelpState.ASKING: "help.asking",
    HelpState.SENT: "help.sent",
    HelpState.ACKNOWLEDGED: "help.acknowledged",
    HelpState.UNREACHABLE: "help.offline",
}


@dataclass(frozen=True)
class HelpRequest:
    """What ``request.json`` holds. Times are this machine's Unix seconds (both processes share its clock)."""

    id: str
    raised_at: float
    screen: str
    screen_since: float
    open: bool = True


def _write(path: Path, data: dict) -> None:
    # Atomically, not durably: a help request lost to a power cut is lost with the session it belonged to.
    write_atomic(path, json.dumps(data).encode("utf-8"))


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class HelpDesk:
    """The app's side: ask, follow the citizen from screen to screen, read the answer, close."""

    def __init__(self, data_dir: Path, clock: Callable[[], float] = time.time) -> None:
        self.dir = Path(data_dir) / HELP_DIR
        self.clock = clock
        self.request: HelpRequest | None = None
        self.state: HelpState | None = None

    @property
    def is_open(self) -> bool:
        return self.request is not None and self.request.open

    def ask(self, screen: str, screen_since: float) -> HelpState:
        """The citizen asked (the button on screen, or the call button): a new request, or the open one."""
        if self.is_open:
            return self.refresh()
        now = self.clock()
        self.request = HelpRequest(secrets.token_hex(16), now, screen, min(screen_since, now))
        self.state = HelpState.ASKING
        self._save()
        log.info("help asked", extra={"screen": screen})
        return self.state

    def moved(self, screen: str, since: float) -> None:
        """The citizen went on to another screen while waiting: the agent is told where to find them."""
        if self.is_open and self.request.screen != screen:
            self.request = replace(self.request, screen=screen, screen_since=since)
            self._save()

    def close(self) -> None:
        """No more need (the citizen said so, the agent came, or the session ended)."""
        if self.is_open:
            self.request = replace(self.request, open=False)
            self._save()
            log.info("help request closed")
        self.state = None

    def refresh(self) -> HelpState | None:
        """The state of the open request from the worker's answer (called every second)."""
        if not self.is_open:
            return None
        answer = _read(self.dir / ANSWER_FILE)
        waited = self.clock() - self.request.raised_at
        if answer is not None and answer.get("id") == self.request.id:
            try:
                self.state = HelpState(answer.get("state"))
            except ValueError:
                self.state = HelpState.UNREACHABLE
            # A worker that answered once and then fell silent (it stopped, the network went): not reachable.
            if self.state in (HelpState.SENT, HelpState.ACKNOWLEDGED) and \
                    self.clock() - float(answer.get("at", 0)) > ANSWER_TIMEOUT_S:
                self.state = HelpState.UNREACHABLE
        elif waited > ANSWER_TIMEOUT_S:
            self.state = HelpState.UNREACHABLE
        return self.state

    @property
    def message_key(self) -> str | None:
        return MESSAGE_FOR.get(self.state) if self.state is not None else None

    def _save(self) -> None:
        _write(self.dir / REQUEST_FILE, asdict(self.request))


class HelpRelay:
    """The sync worker's side: send the request while it is open, once more when it closes, and say what came back."""

    def __init__(self, data_dir: Path, client, clock: Callable[[], float] = time.time,
                 resend_s: float = RESEND_S) -> None:
        self.dir = Path(data_dir) / HELP_DIR
        self.client = client
        self.clock = clock
        self.resend_s = resend_s
        self._sent: tuple | None = None  # (id, open, screen) last delivered
        self._sent_at = float("-inf")

    def pump(self) -> str | None:
        """Deliver the request if it is due; the state the service answered (or ``unreachable``), None if idle."""
        data = _read(self.dir / REQUEST_FILE)
        if data is None:
            return None
        try:
            req = HelpRequest(**data)
        except TypeError:
            log.warning("help request file unreadable: ignored")
            return None
        what = (req.id, req.open, req.screen)
        now = self.clock()
        if not req.open and self._sent == what:
            return None  # closed, and the service knows
        if what == self._sent and now - self._sent_at < self.resend_s:
            return None
        payload = {"id": req.id, "state": "open" if req.open else "closed", "screen": req.screen,
                   "waiting_s": round(max(0.0, now - req.raised_at), 1),
                   "on_screen_s": round(max(0.0, now - req.screen_since), 1)}
        try:
            answer = self.client.help(payload)
            state = str(answer.get("state", ""))
            state = {"open": HelpState.SENT, "acknowledged": HelpState.ACKNOWLEDGED,
                     "closed": HelpState.CLOSED}.get(state, HelpState.SENT)
        except (RetryableSyncError, PermanentSyncError) as exc:
            log.warning("help request not delivered", extra={"error": str(exc)[:200]})
            state = HelpState.UNREACHABLE
            what = None  # try again at the next round
        self._sent, self._sent_at = what, now
        _write(self.dir / ANSWER_FILE, {"id": req.id, "state": state.value, "at": now})
        return state.value


class Assistance:
    """Help as the citizen lives it: ask (on screen or with the call button), hear and see who is coming.

    It follows the session (which screen, since when, for the agent), keeps
    the status light on "attention" while a request is open, says each new
    state aloud (not personal, and vital to someone who pressed the call
    button because they cannot read the screen), and closes the request when
    the session ends. The app and the scenario runner both drive it.
    """

    def __init__(self, desk: HelpDesk, voice, on_light: Callable[[bool], None] = lambda open_: None,
                 post: Callable[[Callable[[], None]], None] | None = None) -> None:
        self.desk = desk
        self.voice = voice
        self.on_light = on_light
        #: How the call button's press (on a device thread) reaches the UI thread (the app: Clock).
        self.post = post or (lambda fn: fn())
        #: Told when the state changes (the app's header and help panel).
        self.on_state: Callable[[HelpState | None], None] = lambda state: None
        self._session = None
        self._where: tuple | None = None
        self._since = desk.clock()
        self._generation: int | None = None

    @property
    def state(self) -> HelpState | None:
        return self.desk.state if self.desk.is_open else None

    def follow(self, session) -> None:
        """After every change of the session: the screen the citizen is on, and the end of the session."""
        self._session = session
        if self._generation is not None and session.generation != self._generation:
            self.cancel()  # the citizen is gone; the agent who comes finds the welcome screen
        self._generation = session.generation
        where = (session.generation, session.step)
        if where != self._where:
            self._where, self._since = where, self.desk.clock()
            self.desk.moved(session.step.value, self._since)

    def ask(self, session) -> HelpState:
        self.follow(session)
        before = self.state
        state = self.desk.ask(session.step.value, self._since)
        self.on_light(True)
        if state is not before or state is HelpState.ASKING:
            self.on_state(state)
            self._announce(session)
        return state

    def button_pressed(self) -> None:
        """The physical call button (GPIO27), from the indicator's thread."""
        self.post(lambda: self._session is not None and self.ask(self._session))

    def tick(self) -> HelpState | None:
        """Every second: the worker's latest answer; a new state is shown and said."""
        if not self.desk.is_open:
            return None
        before = self.desk.state
        state = self.desk.refresh()
        if state is not before:
            self.on_state(state)
            if self._session is not None:
                self._announce(self._session)
        return state

    def cancel(self) -> None:
        if self.desk.is_open:
            self.desk.close()
            self.on_light(False)
            self.on_state(None)

    def _announce(self, session) -> None:
        key = self.desk.message_key
        if key is None:
            return
        sound = "error" if self.desk.state is HelpState.UNREACHABLE else None
        self.voice.say([Prompt(key, Translator(session.lang)(key), sound=sound)], session, interrupt=True)
