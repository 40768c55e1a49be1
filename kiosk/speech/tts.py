"""Text to speech: one small interface, espeak-ng by default, a Piper voice when the image has one.

The kiosk speaks offline: a kiosk that could only speak with the network up
would fall silent exactly when the citizen most needs telling what to do.
Both engines run as a separate program per utterance (espeak-ng takes
about 20 ms for a sentence on a PC, a little more on a Pi 4), and hand back
WAV, which :func:`kiosk.hal.audio.from_wav` reads.

An engine's :attr:`SpeechEngine.identity` names the program, its version
and the voice: :mod:`kiosk.speech.prompt_cache` keys rendered prompts with it, so
a new voice or an upgraded engine never plays a stale recording.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from titres.errors import ConfigError, HalError
from kiosk.hal.audio import from_wav

log = logging.getLogger(__name__)


class SpeechError(HalError):
    """The engine could not speak a text (missing program, voice, or a crash)."""


@dataclass(frozen=True)
class Speech:
    samples: bytes
    rate: int


class SpeechEngine(ABC):
    name = "?"

    @property
    @abstractmethod
    def identity(self) -> str:
        """Program, version and voices: changes whenever the same text would sound different."""

    @abstractmethod
    def render(self, text: str, lang: str, slow: bool = False) -> Speech:
        """``text`` spoken in ``lang`` (``slow``: for a number read out, group by group)."""


def _wav(data: bytes, program: str) -> Speech:
    try:
        samples, rate = from_wav(data)
    except ValueError as exc:
        raise SpeechError(f"{program} gave no audio: {exc}") from exc
    return Speech(samples, rate)


def _run(cmd: list[str], stdin: str | None = None, timeout_s: float = 20.0) -> bytes:
    try:
        done = subprocess.run(cmd, input=stdin.encode("utf-8") if stdin is not None else None,
                              capture_output=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SpeechError(f"{cmd[0]} failed: {exc}") from exc
    if done.returncode != 0:
        raise SpeechError(f"{cmd[0]} exited {done.returncode}: {done.stderr.decode('utf-8', 'replace').strip()[:200]}")
    return done.stdout


class EspeakEngine(SpeechEngine):
    """espeak-ng (Debian package ``espeak-ng``): French and English voices, words per minute."""

    name = "espeak-ng"

    def __init__(self, voices: dict[str, str], rate_wpm: int = 150, slow_rate_wpm: int = 110,
                 program: str = "espeak-ng") -> None:
        path = shutil.which(program)
        if path is None:
            raise SpeechError(f"{program} is not installed (sudo apt install espeak-ng)")
        self.program = path
        self.voices = dict(voices)
        self.rate_wpm = rate_wpm
        self.slow_rate_wpm = slow_rate_wpm
        self._identity: str | None = None

    @property
    def identity(self) -> str:
        if self._identity is None:
            version = _run([self.program, "--version"]).decode("utf-8", "replace").split("Data at")[0].strip()
            voices = ",".join(f"{k}={v}" for k, v in sorted(self.voices.items()))
            self._identity = f"{version}|{voices}|{self.rate_wpm}/{self.slow_rate_wpm}"
        return self._identity

    def render(self, text: str, lang: str, slow: bool = False) -> Speech:
        if not text.strip():
            raise SpeechError("nothing to say: the text is empty")
        voice = self.voices.get(lang)
        if voice is None:
            raise SpeechError(f"no voice configured for {lang!r}")
        rate = self.slow_rate_wpm if slow else self.rate_wpm
        # The text goes on stdin, never on the command line: nothing of the citizen's shows in `ps`.
        wav = _run([self.program, "-v", voice, "-s", str(rate), "--stdout", "-b", "1"], stdin=text)
        return _wav(wav, self.name)


class PiperEngine(SpeechEngine):
    """A Piper voice (``piper`` program and one ``.onnx`` model per language, installed on the image)."""

    name = "piper"

    def __init__(self, models: dict[str, str], program: str = "piper") -> None:
        path = shutil.which(program)
        if path is None:
            raise SpeechError(f"{program} is not installed (docs/accessibility.md, a better voice)")
        missing = [m for m in models.values() if not Path(m).is_file()]
        if missing:
            raise SpeechError(f"Piper voice file(s) not found: {', '.join(missing)}")
        self.program = path
        self.models = dict(models)

    @property
    def identity(self) -> str:
        stamps = ",".join(f"{k}={Path(v).name}:{Path(v).stat().st_size}:{int(Path(v).stat().st_mtime)}"
                          for k, v in sorted(self.models.items()))
        return f"piper|{stamps}"

    def render(self, text: str, lang: str, slow: bool = False) -> Speech:
        if not text.strip():
            raise SpeechError("nothing to say: the text is empty")
        model = self.models.get(lang)
        if model is None:
            raise SpeechError(f"no Piper voice configured for {lang!r}")
        cmd = [self.program, "--model", model, "--output_file", "-"]
        if slow:
            cmd += ["--length_scale", "1.35"]
        return _wav(_run(cmd, stdin=text), self.name)


def create_engine(audio) -> SpeechEngine:
    """The engine ``audio.engine`` names (:class:`kiosk.config.AudioConfig`); no silent fallback to another."""
    if audio.engine == "espeak-ng":
        return EspeakEngine({"fr": audio.voice_fr, "en": audio.voice_en}, audio.rate_wpm, audio.slow_rate_wpm)
    if audio.engine == "piper":
        return PiperEngine({"fr": audio.piper_model_fr, "en": audio.piper_model_en})
    raise ConfigError(f"audio.engine must be espeak-ng or piper, not {audio.engine!r}")
