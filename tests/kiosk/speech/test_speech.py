"""Text to speech and the prompt cache, on the real espeak-ng: every text a screen shows can be heard."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from kiosk.config import AudioConfig
from titres.errors import ConfigError
from kiosk.hal.audio import peak
from kiosk.speech.prompt_cache import PromptCache
from kiosk.speech.tts import EspeakEngine, SpeechError, create_engine
from tests.kiosk.ui.texts import citizen_keys, sample_text


@pytest.fixture(scope="module")
def engine() -> EspeakEngine:
    return create_engine(AudioConfig())


def test_the_set_of_screen_keys_is_not_empty_and_holds_what_screens_say():
    keys = citizen_keys()
    for k in ("welcome.start", "capture.shoot", "finger.left_index", "help.sent", "speech.number", "confirm.ok"):
        assert k in keys
    assert not any(k.startswith("maintenance.") for k in keys)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_text_a_screen_shows_renders_to_audible_speech(engine, lang):
    keys = sorted(citizen_keys())

    def render(key):
        speech = engine.render(sample_text(key, lang), lang)
        return key, len(speech.samples) / 2 / speech.rate, peak(speech.samples)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(render, keys))
    silent = [k for k, seconds, loudest in results if seconds < 0.2 or loudest < 1000]
    assert not silent, f"{lang}: rendered silent or too short: {silent}"
    assert len(results) > 250


def test_an_empty_text_is_refused_rather_than_played_as_nothing(engine):
    with pytest.raises(SpeechError, match="empty"):
        engine.render("  ", "fr")


def test_a_language_without_a_voice_is_refused(engine):
    with pytest.raises(SpeechError, match="no voice"):
        engine.render("Hallo", "de")


def test_a_number_read_slowly_takes_longer(engine):
    normal = engine.render("K, 0, 1. 0, 0, 0, 0, 1. H", "en")
    slow = engine.render("K, 0, 1. 0, 0, 0, 0, 1. H", "en", slow=True)
    assert len(slow.samples) > 1.2 * len(normal.samples)


def test_an_unknown_engine_or_a_missing_piper_voice_stops_loudly():
    with pytest.raises(ConfigError):
        create_engine(AudioConfig(engine="festival"))
    with pytest.raises(SpeechError):
        create_engine(AudioConfig(engine="piper", piper_model_fr="/nonexistent/fr.onnx"))


class CountingEngine(EspeakEngine):
    """espeak-ng, counting its renders (the cache's hits are the renders that did not happen)."""

    def __init__(self, identity_suffix: str = "") -> None:
        super().__init__({"fr": "fr-fr", "en": "en-gb"})
        self.renders = 0
        self.suffix = identity_suffix

    @property
    def identity(self) -> str:
        return super().identity + self.suffix

    def render(self, text, lang, slow=False):
        self.renders += 1
        return super().render(text, lang, slow)


def test_a_prompt_is_rendered_once_then_read_back_from_disk(tmp_path):
    engine = CountingEngine()
    first = PromptCache(tmp_path, engine).get("Prenez votre reçu.", "fr")
    again = PromptCache(tmp_path, engine).get("Prenez votre reçu.", "fr")  # a new process: from disk
    assert engine.renders == 1 and again.samples == first.samples and again.rate == first.rate
    assert len(list(tmp_path.glob("*/*.wav"))) == 1


def test_another_voice_or_engine_version_never_plays_an_old_recording(tmp_path):
    PromptCache(tmp_path, CountingEngine()).get("Bonjour", "fr")
    other = CountingEngine(identity_suffix="|voice=fr-be")
    PromptCache(tmp_path, other).get("Bonjour", "fr")
    assert other.renders == 1 and len(list(tmp_path.glob("*/*.wav"))) == 2


def test_a_damaged_recording_is_rendered_again(tmp_path):
    engine = CountingEngine()
    cache = PromptCache(tmp_path, engine)
    cache.get("Bonjour", "fr")
    (wav,) = tmp_path.glob("*/*.wav")
    wav.write_bytes(b"RIFF\x00")  # a power cut in the middle of writing it
    speech = PromptCache(tmp_path, engine).get("Bonjour", "fr")
    assert engine.renders == 2 and peak(speech.samples) > 1000


def test_the_cache_stays_within_its_size(tmp_path):
    engine = CountingEngine()
    cache = PromptCache(tmp_path, engine, max_bytes=500_000)
    for n in range(6):
        cache.get(f"Pièce {n} sur 6 : justificatif de domicile de moins d'un an.", "fr")
    assert 0 < cache.size_bytes() <= 500_000
    assert 1 <= len(list(tmp_path.glob("*/*.wav"))) < 6  # the oldest went first
    assert cache.get("Pièce 5 sur 6 : justificatif de domicile de moins d'un an.", "fr") and engine.renders == 6
