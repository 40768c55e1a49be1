"""Sound on the Raspberry Pi: ALSA, through sounddevice over PortAudio.

sounddevice (Debian's python3-sounddevice, or the wheel with libportaudio2)
is imported when the device opens, so this module imports anywhere. The
output is the ALSA PCM named by ``audio.alsa_device`` (``default``, or
``plughw:CARD=Device`` for a USB adapter; ``aplay -L`` lists them), opened
for each clip at the clip's own rate: the ``plug`` layer of ALSA converts
to what the hardware takes.

Whether headphones are in is read from the card's jack-detection control,
``audio.headphone_control`` (``Headphone Jack`` on USB adapters and HATs
that have a jack switch), with ``amixer cget`` from alsa-utils: PortAudio
does not expose ALSA's card controls. The Pi's own 3.5 mm socket has no
switch: leave the control empty and :meth:`headphone_plugged` answers None
(unknown), so speech starts only when the citizen taps "Écouter".
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

from titres.errors import BackendUnavailable, HalError
from kiosk.hal.audio import AudioOutput, Clip, scaled

log = logging.getLogger(__name__)

#: PortAudio's frames per buffer: 1024 frames at 22,050 Hz is 46 ms, small enough for speech to stop at once.
BLOCK_FRAMES = 1024


def parse_switch(amixer_output: str) -> bool | None:
    """The state of a boolean control from ``amixer cget`` (``: values=on``), None if it is not one."""
    m = re.search(r":\s*values=(on|off)\b", amixer_output)
    return None if m is None else m.group(1) == "on"


class AlsaAudioOutput(AudioOutput):
    backend_name = "alsa"

    def __init__(self, hal_config, sim_dir: Path) -> None:
        super().__init__()
        self.device = getattr(hal_config, "audio_device", "default") or "default"
        self.card = str(getattr(hal_config, "audio_card", "") or "")
        self.jack_control = str(getattr(hal_config, "headphone_control", "") or "")
        self._sd = None
        self._missing: str | None = None
        self._stop = threading.Event()

    def _open(self) -> None:
        try:
            import sounddevice
        except (ImportError, OSError) as exc:  # OSError: the wheel is there, libportaudio2 is not
            raise BackendUnavailable(f"audio backend 'alsa' cannot load sounddevice: {exc} "
                                     "(sudo apt install python3-sounddevice libportaudio2)") from exc
        self._sd = sounddevice
        self._missing = None
        try:
            sounddevice.query_devices(self.device, "output")
        except (ValueError, sounddevice.PortAudioError) as exc:
            self._missing = f"no ALSA output {self.device!r}: {exc} (aplay -L lists them; hal.audio_device)"
            log.error("sound output missing: the kiosk is mute", extra={"device": self.device, "error": str(exc)})

    @property
    def present(self) -> bool:
        return self._sd is not None and self._missing is None

    def _close(self) -> None:
        self.stop()
        self._sd = None

    def _self_test(self) -> str:
        from kiosk.hal.tones import tone

        if self._missing:
            raise HalError(self._missing)
        info = self._sd.query_devices(self.device, "output")
        self.play(tone("selftest"))
        plugged = self.headphone_plugged()
        jack = ("headphones plugged" if plugged else "no headphones") if plugged is not None else \
            "headphone detection: none configured" if not self.jack_control else "headphone detection: no answer"
        return f"tone played on {info['name']!r} ({int(info['default_samplerate'])} Hz); {jack}"

    def headphone_plugged(self) -> bool | None:
        if not self.jack_control:
            return None
        amixer = shutil.which("amixer")
        if amixer is None:
            log.warning("amixer not found: install alsa-utils for headphone detection")
            return None
        cmd = [amixer, *(["-c", self.card] if self.card else []), "cget", f"iface=CARD,name={self.jack_control}"]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=2.0)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("headphone detection failed", extra={"error": repr(exc)})
            return None
        if done.returncode != 0:
            return None
        return parse_switch(done.stdout)

    def play(self, clip: Clip) -> bool:
        sd = self._sd
        if sd is None:
            raise HalError("audio output is closed")
        if self._missing:
            raise HalError(self._missing)
        self._stop.clear()
        data = scaled(clip.samples, self.volume)
        frames = len(data) // 2
        position = 0
        finished = threading.Event()

        def fill(outdata, n, timing, status) -> None:
            nonlocal position
            if position == 0:
                self.first_sample_at = time.monotonic()
            chunk = data[position * 2:(position + n) * 2]
            outdata[:len(chunk)] = chunk
            outdata[len(chunk):] = b"\x00" * (n * 2 - len(chunk))
            position += n
            if position >= frames or self._stop.is_set():
                raise sd.CallbackStop

        try:
            with sd.RawOutputStream(samplerate=clip.rate, channels=1, dtype="int16", device=self.device,
                                    blocksize=BLOCK_FRAMES, callback=fill, finished_callback=finished.set):
                while not finished.wait(0.05):  # a poll, not a sleep: ends as soon as the stream does
                    if self._stop.is_set():
                        break
        except sd.PortAudioError as exc:
            raise HalError(f"audio output failed: {exc}") from exc
        return not self._stop.is_set()

    def stop(self) -> None:
        self._stop.set()
