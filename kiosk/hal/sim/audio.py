"""The simulated sound output: what the citizen would hear, kept as WAV files and one JSON line each.

Every clip played is written to ``<sim_dir>/audio/NNNN-<key>.wav`` at the
volume it was played at, and ``<sim_dir>/audio/log.jsonl`` gets one line
per clip: ``{"seq", "key", "lang", "text", "wav", "seconds", "kind",
"personal", "volume", "output", "interrupted"}``, so a test, a scenario or
a person at the demo reads (or listens to) what the kiosk said, in order.
``output`` is ``headphones`` or ``speaker``: the simulated socket's state
when the clip played.

The headphone socket is ``<sim_dir>/audio/headphone``: ``plugged`` or
``unplugged`` (absent: unplugged), edited by hand, by ``kiosk scenario``'s
``headphone`` step, or with :meth:`SimAudioOutput.plug`. Unlike the Pi's own
3.5 mm jack, the simulated socket reports what is plugged into it, like a
USB headset adapter with a jack switch.

By default a clip "plays" at once; ``hal.sim_audio_realtime`` makes it take
its real duration (so that cutting speech short when the citizen moves on
can be seen), waiting on an event that :meth:`stop` sets.
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

from titres.errors import HalError
from kiosk.hal.audio import AudioOutput, Clip, scaled, to_wav
from kiosk.hal.sim.control import ControlFile
from titres.durable import write_atomic


def audio_dir(sim_dir: Path) -> Path:
    return Path(sim_dir) / "audio"


def read_log(sim_dir: Path) -> list[dict]:
    """The clips played so far, oldest first (what a test checks)."""
    path = audio_dir(sim_dir) / "log.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class SimAudioOutput(AudioOutput):
    backend_name = "sim"

    def __init__(self, hal_config, sim_dir: Path) -> None:
        super().__init__()
        self.dir = audio_dir(sim_dir)
        self.realtime = bool(getattr(hal_config, "sim_audio_realtime", False))
        self.socket = ControlFile(self.dir / "headphone")
        self._plugged = False
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one clip written at a time, in order
        self._seq = 0

    def _open(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        existing = [int(m.group(1)) for p in self.dir.glob("*.wav") if (m := re.match(r"(\d+)-", p.name))]
        self._seq = max(existing, default=0)
        self.socket = ControlFile(self.dir / "headphone")

    def _self_test(self) -> str:
        from kiosk.hal.tones import tone

        self.play(tone("selftest"))
        return f"tone played into {self.dir}; headphones {'plugged' if self.headphone_plugged() else 'unplugged'}"

    def plug(self, plugged: bool = True) -> None:
        """What a citizen does with the headphone's plug."""
        write_atomic(self.dir / "headphone", b"plugged\n" if plugged else b"unplugged\n")

    def headphone_plugged(self) -> bool:
        changed, text = self.socket.poll()
        if changed:
            self._plugged = (text or "").strip().lower() == "plugged"
        return self._plugged

    def play(self, clip: Clip) -> bool:
        if not self.is_open:
            raise HalError("audio output is closed")
        self._stop.clear()
        with self._lock:
            self._seq += 1
            seq = self._seq
            name = f"{seq:04d}-{re.sub(r'[^a-z0-9_.]+', '_', clip.key.lower())[:60]}.wav"
            volume = self.volume
            write_atomic(self.dir / name, to_wav(scaled(clip.samples, volume), clip.rate))
            self.first_sample_at = time.monotonic()
        interrupted = self._stop.wait(clip.seconds) if self.realtime else False
        entry = {"seq": seq, "key": clip.key, "lang": clip.lang, "text": clip.text, "wav": name,
                 "seconds": round(clip.seconds, 3), "kind": clip.kind, "personal": clip.personal,
                 "volume": round(volume, 3), "output": "headphones" if self.headphone_plugged() else "speaker",
                 "interrupted": interrupted}
        with self._lock, open(self.dir / "log.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
        return not interrupted

    def stop(self) -> None:
        self._stop.set()
