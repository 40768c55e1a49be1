"""The real voice for tests that need to hear what the kiosk says: espeak-ng, the simulated output, in line."""

from __future__ import annotations

from pathlib import Path

from kiosk.config import AudioConfig, HalConfig
from kiosk.hal.sim.audio import SimAudioOutput, read_log
from kiosk.speech.prompt_cache import PromptCache
from kiosk.speech.tts import create_engine
from kiosk.speech.voice import Voice


def inline_voice(tmp_path: Path) -> Voice:
    """The kiosk's voice over the real engine, speaking on the caller's thread into ``tmp_path/sim/audio``."""
    engine = create_engine(AudioConfig())
    out = SimAudioOutput(HalConfig(), tmp_path / "sim").open()
    return Voice(out, PromptCache(tmp_path / "cache", engine), engine, inline=True)


def spoken(tmp_path: Path) -> list[str]:
    """The message keys said so far, in order."""
    return [e["key"] for e in read_log(tmp_path / "sim")]
