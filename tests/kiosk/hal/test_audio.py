"""The sound output: the simulator's record of what was heard, and the real ALSA path through PortAudio.

There is no sound card here, so the ``alsa`` backend plays into ALSA's own
``file`` plugin (an ALSA configuration given to a child process with
``ALSA_CONFIG_PATH``): the same sounddevice → PortAudio → alsa-lib path a
Pi's USB adapter takes, with the samples landing in a WAV file the test
reads back. Headphone detection runs ``amixer``: a stand-in on ``PATH``
answers as alsa-utils does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from kiosk.config import HalConfig
from kiosk.hal.alsa_audio import AlsaAudioOutput, parse_switch
from kiosk.hal.audio import Clip, from_wav, peak, scaled, to_wav
from kiosk.hal.sim.audio import SimAudioOutput, read_log
from kiosk.hal.tones import SHAPES, tone
from tests.threads import HelperThreads

REPO = Path(__file__).resolve().parents[3]


def speech_like(seconds: float = 0.5, rate: int = 22050) -> Clip:
    import numpy as np

    t = np.arange(int(seconds * rate)) / rate
    samples = (np.sin(2 * np.pi * 300 * t) * 12000).astype("<i2").tobytes()
    return Clip(samples, rate, key="speech.test", text="Un essai", lang="fr")


# -- what every backend shares ---------------------------------------------------------------
def test_a_clip_round_trips_through_wav_and_the_volume_scales_it():
    clip = speech_like(0.1)
    samples, rate = from_wav(to_wav(clip.samples, clip.rate))
    assert (samples, rate) == (clip.samples, clip.rate)
    assert abs(peak(scaled(clip.samples, 0.5)) - peak(clip.samples) / 2) <= 1
    assert peak(scaled(clip.samples, 0.0)) == 0


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_each_sound_is_audible_and_short(name):
    clip = tone(name, 0.5)
    assert 0.1 < clip.seconds < 0.6 and 15000 < peak(clip.samples) <= 16384


def test_the_sounds_differ_in_shape_not_only_in_pitch():
    lengths = {name: tone(name).seconds for name in ("success", "error", "your_turn")}
    assert len(set(round(v, 2) for v in lengths.values())) == 3


# -- the simulator -----------------------------------------------------------------------------
def test_the_simulator_keeps_each_clip_as_a_wav_and_a_line_in_order(tmp_path):
    with SimAudioOutput(HalConfig(), tmp_path) as out:
        out.set_volume(0.5)
        assert out.play(speech_like()) and out.play(tone("success"))
    log = read_log(tmp_path)
    assert [e["key"] for e in log] == ["speech.test", "sound.success"]
    first = log[0]
    assert (first["lang"], first["text"], first["volume"], first["output"]) == ("fr", "Un essai", 0.5, "speaker")
    assert first["seconds"] == pytest.approx(0.5, abs=0.01)
    samples, rate = from_wav((tmp_path / "audio" / first["wav"]).read_bytes())
    assert rate == 22050 and abs(peak(samples) - 6000) <= 2  # played at the volume chosen


def test_the_simulated_socket_reports_a_plug_as_a_jack_switch_would(tmp_path):
    with SimAudioOutput(HalConfig(), tmp_path) as out:
        assert out.headphone_plugged() is False
        out.plug(True)
        assert out.headphone_plugged() is True
        out.play(tone("success"))
        (tmp_path / "audio" / "headphone").write_text("unplugged\n")  # by hand, from outside
        assert out.headphone_plugged() is False
    assert read_log(tmp_path)[-1]["output"] == "headphones"


def test_a_realtime_clip_is_cut_short_by_stop_from_another_thread(tmp_path):
    with SimAudioOutput(HalConfig(sim_audio_realtime=True), tmp_path) as out, HelperThreads() as threads:
        result = {}

        def play():
            result["finished"] = out.play(speech_like(30.0))

        player = threads.start(play)
        threads.until(lambda: out.first_sample_at is not None, "the clip never began")
        out.stop()
        player.join()
        assert result["finished"] is False
    assert read_log(tmp_path)[-1]["interrupted"] is True


def test_the_simulator_self_test_plays_its_tone(tmp_path):
    with SimAudioOutput(HalConfig(), tmp_path) as out:
        result = out.self_test()
    assert result.ok and "tone played" in result.detail
    assert read_log(tmp_path)[0]["key"] == "sound.selftest"


# -- the real ALSA path --------------------------------------------------------------------------
ALSA_CONF = """</usr/share/alsa/alsa.conf>
pcm.kiosktest {{
  type file
  slave.pcm "null"
  file "{out}"
  format "wav"
}}
pcm.!default pcm.kiosktest
"""

CHILD = r"""
import json, shutil, sys
from kiosk.config import HalConfig
from kiosk.hal.alsa_audio import AlsaAudioOutput
from kiosk.hal.tones import tone
out = AlsaAudioOutput(HalConfig(audio_device=sys.argv[1]), None)
out.open()
out.set_volume(0.5)
finished = out.play(tone("success", 1.0))
shutil.copy(sys.argv[2], sys.argv[2] + ".first")  # each clip is its own stream: the plugin rewrites the file
detail = out.self_test().detail
out.close()
out.close()
print(json.dumps({"finished": finished, "detail": detail, "first_sample": out.first_sample_at is not None}))
"""


def _alsa_child(tmp_path: Path, device: str = "default") -> subprocess.CompletedProcess:
    pytest.importorskip("sounddevice", reason="sounddevice (PortAudio) not installed")
    conf = tmp_path / "asound.conf"
    conf.write_text(ALSA_CONF.format(out=tmp_path / "played.wav"))
    env = {**os.environ, "ALSA_CONFIG_PATH": str(conf), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", CHILD, device, str(tmp_path / "played.wav")], capture_output=True, text=True, env=env,
                          timeout=120, cwd=REPO)


def test_alsa_plays_the_samples_at_the_volume_chosen_through_portaudio(tmp_path):
    proc = _alsa_child(tmp_path)
    if "libportaudio" in proc.stderr or "PortAudio library not found" in proc.stderr:
        pytest.skip("libportaudio2 is not installed")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.splitlines()[-1])
    assert report["finished"] and report["first_sample"]
    assert "tone played on" in report["detail"] and "headphone detection: none configured" in report["detail"]
    with wave.open(str(tmp_path / "played.wav.first")) as w:  # what alsa-lib's file plugin received
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        frames = w.readframes(w.getnframes())
    sent = tone("success", 1.0).samples
    assert abs(peak(frames) - peak(sent) * 0.5) < 0.02 * 32767  # the success tone, at half volume
    assert scaled(sent, 0.5) in frames  # every sample, unchanged but for the volume (ALSA pads with silence)


MISSING = r"""
import json, sys
from kiosk.config import HalConfig
from titres.errors import HalError
from kiosk.hal.alsa_audio import AlsaAudioOutput
from kiosk.hal.tones import tone
out = AlsaAudioOutput(HalConfig(audio_device="no-such-card"), None).open()
try:
    out.play(tone("success"))
    played = "played"
except HalError as exc:
    played = str(exc)
print(json.dumps({"present": out.present, "played": played, "selftest": out.self_test().detail,
                  "ok": out.self_test().ok}))
"""


def test_a_missing_sound_card_leaves_the_kiosk_running_mute_and_says_so(tmp_path):
    pytest.importorskip("sounddevice", reason="sounddevice (PortAudio) not installed")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", MISSING], capture_output=True, text=True, env=env, timeout=120,
                          cwd=REPO)
    if "PortAudio library not found" in proc.stderr:
        pytest.skip("libportaudio2 is not installed")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.splitlines()[-1])
    assert report["present"] is False and report["ok"] is False
    assert "no ALSA output 'no-such-card'" in report["played"] and "no ALSA output" in report["selftest"]
    assert "sound output missing" in proc.stderr  # logged, loudly, once


def _amixer(tmp_path: Path, answer: str, code: int = 0) -> dict:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "amixer"
    script.write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path}/args\nprintf '%s\\n' \"{answer}\"\nexit {code}\n")
    script.chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}"}


@pytest.mark.parametrize("answer,expected", [
    ("numid=12,iface=CARD,name='Headphone Jack'\n  ; type=BOOLEAN,access=r-------,values=1\n  : values=on", True),
    ("numid=12,iface=CARD,name='Headphone Jack'\n  ; type=BOOLEAN,access=r-------,values=1\n  : values=off", False),
])
def test_headphones_are_read_from_the_cards_jack_switch(tmp_path, monkeypatch, answer, expected):
    for k, v in _amixer(tmp_path, answer).items():
        monkeypatch.setenv(k, v)
    out = AlsaAudioOutput(HalConfig(audio_card="1", headphone_control="Headphone Jack"), None)
    assert out.headphone_plugged() is expected
    assert (tmp_path / "args").read_text().split() == ["-c", "1", "cget", "iface=CARD,name=Headphone", "Jack"]


def test_a_card_without_that_control_cannot_tell(tmp_path, monkeypatch):
    for k, v in _amixer(tmp_path, "amixer: Cannot find the given element from control hw:1", code=1).items():
        monkeypatch.setenv(k, v)
    assert AlsaAudioOutput(HalConfig(headphone_control="Headphone Jack"), None).headphone_plugged() is None
    assert AlsaAudioOutput(HalConfig(), None).headphone_plugged() is None  # none configured: the Pi's own jack


def test_the_switch_parser_only_believes_a_boolean():
    assert parse_switch("  : values=on") is True and parse_switch(": values=off") is False
    assert parse_switch("  : values=87,87") is None
