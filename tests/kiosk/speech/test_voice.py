"""The voice on its own thread, over the real espeak-ng and the simulated output: what is heard, when, where."""

from __future__ import annotations

import pytest

from kiosk.config import AudioConfig, HalConfig
from kiosk.hal.sim.audio import SimAudioOutput, read_log
from titres.i18n import Translator
from kiosk.core.narration import Prompt
from kiosk.speech.prompt_cache import PromptCache
from kiosk.core.session import Session, SessionSettings
from kiosk.speech.tts import create_engine
from kiosk.speech.voice import Voice
from tests.kiosk.core.conftest import TODAY, FakeClock, Walker, make_predemande


@pytest.fixture
def out(tmp_path):
    with SimAudioOutput(HalConfig(), tmp_path / "sim") as audio:
        yield audio


@pytest.fixture
def engine():
    return create_engine(AudioConfig())


@pytest.fixture
def voice(out, engine, tmp_path):
    v = Voice(out, PromptCache(tmp_path / "cache", engine), engine, volume=0.8)
    yield v
    v.close()


@pytest.fixture
def session():
    clock = FakeClock()
    s = Session(SessionSettings(), clock, wall_clock=lambda: TODAY)
    return s


def heard(out) -> list[dict]:
    return read_log(out.dir.parent)


def follow(session, voice):
    session.subscribe(voice.follow)
    voice.follow(session)


def test_speech_is_off_until_asked_then_each_page_is_read_in_order(session, voice, out):
    follow(session, voice)
    session.start()
    assert voice.wait_idle() and heard(out) == []  # nobody asked: a silent kiosk
    voice.listen(session)
    assert voice.wait_idle()
    assert [e["key"] for e in heard(out)] == ["title.identify", "identify.scan_hint", "speech.identify.or_type"]
    session.submit_number("AB12CD34EF")
    assert voice.wait_idle()
    assert heard(out)[-1]["key"] == "identify.looking_up"


def test_the_loudspeaker_keeps_the_name_back_unless_listen_is_touched_on_that_page(session, voice, out):
    follow(session, voice)
    walk = Walker(session, FakeClock())
    voice.listen(session)
    pd = make_predemande()
    walk.to_confirm(pd)
    assert voice.wait_idle()
    said = heard(out)
    assert "speech.personal_hidden" in [e["key"] for e in said]
    assert not any(pd.person.surname in e["text"] for e in said)
    voice.listen(session)  # "Écouter" on the confirm page: the citizen chose to hear it here
    assert voice.wait_idle()
    assert any(pd.person.surname in e["text"] and e["output"] == "speaker" for e in heard(out))
    session.confirm()  # the next page: the choice does not carry over
    assert voice._chosen_page != voice._page(session)
    assert voice.wait_idle()
    n = len(heard(out))
    session.back()  # back on the page where it was chosen: the choice is that page's, the details said again
    assert voice.wait_idle()
    again = heard(out)[n:]
    assert any(pd.person.surname in e["text"] and e["output"] == "speaker" for e in again)


def test_headphones_plugged_in_start_the_voice_with_everything_and_privately(session, voice, out):
    follow(session, voice)
    walk = Walker(session, FakeClock())
    pd = make_predemande()
    walk.to_confirm(pd)
    out.plug(True)
    voice.poll_headphone(session)
    assert voice.enabled and voice.wait_idle()
    said = heard(out)
    assert said[0]["key"] == "title.confirm" and all(e["output"] == "headphones" for e in said)
    assert any(pd.person.surname in e["text"] for e in said)


def test_the_citizens_words_are_never_kept_in_the_cache(session, voice, out, tmp_path):
    follow(session, voice)
    out.plug(True)
    voice.poll_headphone(session)
    walk = Walker(session, FakeClock())
    pd = make_predemande()
    walk.to_confirm(pd)
    assert voice.wait_idle()
    personal = [e for e in heard(out) if e["personal"]]
    assert personal
    for e in personal:  # at either pace: the dossier number is read slowly
        for slow in (False, True):
            assert not (voice.cache._path(voice.cache.key(e["text"], e["lang"], slow=slow))).exists()
    assert list((tmp_path / "cache").glob("*/*.wav"))  # and everyone's words are


def test_the_session_ending_silences_the_voice_and_resets_the_volume(session, voice, out):
    follow(session, voice)
    voice.listen(session)
    session.start()
    voice.change_volume(session, louder=True)
    voice.change_volume(session, louder=True)
    assert out.volume == pytest.approx(1.0)
    session.cancel()
    assert not voice.enabled and out.volume == pytest.approx(0.8)
    assert voice.wait_idle()
    n = len(heard(out))
    session.start()
    assert voice.wait_idle() and len(heard(out)) == n  # the next citizen starts silent


def test_a_new_page_cuts_short_what_was_being_said(session, engine, tmp_path):
    with SimAudioOutput(HalConfig(sim_audio_realtime=True), tmp_path / "sim") as out:
        v = Voice(out, PromptCache(tmp_path / "cache", engine), engine)
        try:
            follow(session, v)
            v.listen(session)  # the welcome page: several seconds of speech at real speed
            while out.first_sample_at is None:
                v.wait_idle(0.05)
            welcome_started = out.first_sample_at
            session.start()  # touched before the end
            while out.first_sample_at == welcome_started:  # the next page has begun
                v.wait_idle(0.05)
            session.cancel()  # and the session ends: silence at once
            assert v.wait_idle(60)
        finally:
            v.close()
        log = read_log(tmp_path / "sim")
    keys = [e["key"] for e in log]
    assert (log[0]["key"], log[0]["interrupted"]) == ("welcome.title", True)
    assert "title.identify" in keys and "welcome.start" not in keys  # the rest of the welcome page was dropped
    assert log[-1]["interrupted"] is True  # and the end of the session cut the identify page short


def test_a_prompt_that_cannot_be_rendered_is_logged_and_the_next_is_still_said(session, voice, out, caplog):
    session.start()
    voice.say([Prompt("speech.bad", "   "), Prompt("speech.good", "Bonjour")], session)
    assert voice.wait_idle()
    assert [e["key"] for e in heard(out)] == ["speech.good"] and voice.failures == 1
    assert "prompt not spoken" in caplog.text


def test_a_dead_voice_thread_is_noticed_and_replaced(session, voice, out):
    voice._queue.put(None)  # what a crash does: the thread ends
    voice._thread.join(10)
    assert voice.check() is False  # said, loudly, and restarted
    assert voice.check() is True
    session.start()
    voice.say([Prompt("speech.good", "Bonjour")], session)
    assert voice.wait_idle() and heard(out)[-1]["key"] == "speech.good"


def test_the_sounds_come_before_their_words_and_your_turn_only_when_speech_is_on(session, voice, out):
    voice.cue("your_turn")
    assert voice.wait_idle() and heard(out) == []
    session.start()
    voice.listen(session)
    voice.cue("your_turn")
    session.scan_unreadable()
    voice.follow(session)
    assert voice.wait_idle()
    keys = [e["key"] for e in heard(out)]
    assert keys[-2:] == ["sound.error", "identify.error.unreadable"] and "sound.your_turn" in keys


def test_the_volume_is_said_at_its_new_level_and_stays_within_bounds(session, voice, out):
    session.start()
    for _ in range(5):
        voice.change_volume(session, louder=True)
    assert out.volume == 1.0
    assert voice.wait_idle()
    assert heard(out)[-1]["text"] == Translator("fr")("speech.volume", percent=100)
    assert heard(out)[-1]["volume"] == 1.0
