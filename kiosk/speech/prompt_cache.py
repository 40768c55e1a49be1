"""Prompts rendered once: the spoken form of every text that does not depend on the citizen.

A screen's title and instructions sound the same for every citizen, so they
are rendered the first time they are needed (or ahead, by :meth:`warm`) and
kept on the data partition, keyed by the text, the language, the pace and
the engine's identity (program, version, voice): a new voice or an upgraded
espeak-ng never plays an old recording. A cached prompt starts playing in a
few milliseconds instead of the engine's tens.

Nothing of a citizen's is ever stored here: :class:`kiosk.speech.voice.Voice`
renders a prompt that carries their name or their dossier number each
time, in memory, and never calls :meth:`PromptCache.get` for it.
The cache is bounded (``audio.cache_max_mb``); the least recently used
recordings go first.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path

from kiosk.hal.audio import from_wav, to_wav
from titres.durable import write_atomic
from kiosk.speech.tts import Speech, SpeechEngine

log = logging.getLogger(__name__)

#: Recordings kept in memory too (a screen's prompts are a few hundred kilobytes each).
MEMORY_ENTRIES = 64


class PromptCache:
    def __init__(self, directory: Path, engine: SpeechEngine, max_bytes: int = 128 * 1024 * 1024) -> None:
        self.dir = Path(directory)
        self.engine = engine
        self.max_bytes = max_bytes
        self._memory: OrderedDict[str, Speech] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def key(self, text: str, lang: str, slow: bool = False) -> str:
        h = hashlib.sha256()
        for part in (self.engine.identity, lang, "slow" if slow else "normal", text):
            h.update(part.encode("utf-8"))
            h.update(b"\0")
        return h.hexdigest()

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.wav"

    def get(self, text: str, lang: str, slow: bool = False) -> Speech:
        """The recording of ``text``: from memory, from disk, or rendered now and kept."""
        key = self.key(text, lang, slow)
        with self._lock:
            found = self._memory.get(key)
            if found is not None:
                self._memory.move_to_end(key)
                self.hits += 1
                return found
        path = self._path(key)
        speech = None
        try:
            speech = Speech(*from_wav(path.read_bytes()))
            os.utime(path)  # recently used: kept when the cache is trimmed
            self.hits += 1
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:  # a damaged file (a power cut while writing): render it again
            log.warning("speech cache entry unreadable, rendered again", extra={"error": repr(exc)})
        if speech is None:
            self.misses += 1
            speech = self.engine.render(text, lang, slow)
            self._store(path, speech)
        with self._lock:
            self._memory[key] = speech
            while len(self._memory) > MEMORY_ENTRIES:
                self._memory.popitem(last=False)
        return speech

    def _store(self, path: Path, speech: Speech) -> None:
        try:
            write_atomic(path, to_wav(speech.samples, speech.rate))
        except OSError as exc:  # a full disk costs a re-render next time, never the prompt itself
            log.warning("speech cache not written", extra={"error": repr(exc)})
            return
        self.trim()

    def warm(self, prompts) -> int:
        """Render ahead every ``(text, lang, slow)`` not yet on disk; how many were rendered."""
        before = self.misses
        for text, lang, slow in prompts:
            if not self._path(self.key(text, lang, slow)).exists():
                self.get(text, lang, slow)
        return self.misses - before

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.dir.glob("*/*.wav")) if self.dir.exists() else 0

    def trim(self) -> None:
        files = sorted(self.dir.glob("*/*.wav"), key=lambda p: p.stat().st_mtime)
        total = sum(p.stat().st_size for p in files)
        while files and total > self.max_bytes:
            oldest = files.pop(0)
            total -= oldest.stat().st_size
            oldest.unlink(missing_ok=True)
