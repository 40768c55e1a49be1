"""The kiosk's sound: speech and short tones, through a loudspeaker or the citizen's headphones.

EN 301 549 (5.1.3) asks a terminal that cannot run the citizen's own
screen reader to speak for itself, through a headphone socket, with the
volume under the citizen's control. This facade is what the rest of the
kiosk sees of that output: it plays a :class:`Clip` (mono 16-bit PCM, made
by :mod:`kiosk.speech.tts` or :mod:`kiosk.hal.tones`), stops it, sets the volume, and
says whether headphones are plugged in, because what the loudspeaker may
say aloud in a public hall is less than what headphones may
(:mod:`kiosk.speech.voice`).

Backends: ``sim`` writes what would be heard as WAV files and a JSON line
each (:mod:`kiosk.hal.sim.audio`); ``alsa`` plays through ALSA with
sounddevice over PortAudio (:mod:`kiosk.hal.alsa_audio`).
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass

from kiosk.hal.base import Device


@dataclass(frozen=True)
class Clip:
    """One thing to hear: what it says (``key``, ``text``, ``lang``), and its samples.

    ``kind`` is ``speech`` or ``sound`` (a tone); ``personal`` marks a clip
    that says something of the citizen's (their name, their dossier number):
    the facade plays what it is given, the voice decides whether it may be.
    """

    samples: bytes  # mono, signed 16-bit little-endian
    rate: int
    key: str
    text: str = ""
    lang: str = ""
    kind: str = "speech"
    personal: bool = False

    @property
    def seconds(self) -> float:
        return len(self.samples) / 2 / self.rate if self.rate else 0.0


def scaled(samples: bytes, gain: float) -> bytes:
    """``samples`` with a software gain in [0, 1]: the volume the citizen chose, applied the same on every backend."""
    import numpy as np  # here: the facade imports anywhere, numpy only when a clip plays

    gain = min(1.0, max(0.0, gain))
    if gain >= 0.999:
        return samples
    a = np.frombuffer(samples[: len(samples) // 2 * 2], dtype="<i2")
    return (a.astype(np.float32) * gain).astype("<i2").tobytes()


def peak(samples: bytes) -> int:
    """The largest absolute sample: 0 is silence (a renderer that produced nothing audible)."""
    import numpy as np

    a = np.frombuffer(samples[: len(samples) // 2 * 2], dtype="<i2")
    return int(np.abs(a.astype(np.int32)).max()) if a.size else 0


class AudioOutput(Device):
    """Backends: ``sim``; ``alsa`` over sounddevice (PortAudio) on the Pi."""

    device_name = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._volume = 0.8

    @abstractmethod
    def play(self, clip: Clip) -> bool:
        """Play ``clip`` to its end, on the caller's thread; False if :meth:`stop` cut it short.

        The first samples reach the output before this returns
        (:attr:`first_sample_at`, for the latency benchmark).
        """

    @abstractmethod
    def stop(self) -> None:
        """Cut the clip playing now (from any thread): the citizen moved on, or the session ended."""

    @abstractmethod
    def headphone_plugged(self) -> bool | None:
        """True or False when the hardware can tell (a jack switch), None when it cannot."""

    @property
    def present(self) -> bool:
        """Whether the output was found when the device opened. A missing sound card does not stop the
        kiosk (a citizen who reads the screen still can use it): it opens, says so here and in its self-test
        (so the fleet view shows it), and each clip fails with :class:`~titres.errors.HalError`."""
        return True

    @property
    def volume(self) -> float:
        return self._volume

    def set_volume(self, volume: float) -> None:
        """The level, 0 (silent) to 1 (full): applied to each clip as it starts."""
        self._volume = min(1.0, max(0.0, float(volume)))

    #: ``time.monotonic()`` when the last clip's first samples went to the output (None before any).
    first_sample_at: float | None = None


def to_wav(samples: bytes, rate: int) -> bytes:
    """Mono 16-bit PCM as a WAV file's bytes."""
    import io
    import wave

    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples)
    return out.getvalue()


def from_wav(data: bytes) -> tuple[bytes, int]:
    """``(samples, rate)`` of a mono 16-bit WAV file; :class:`ValueError` for anything else.

    espeak-ng writes its WAV header before it knows the length (0x7FFFFFFF
    when it writes to a pipe), so the data chunk is read to the end of the
    bytes, not to the length the header claims.
    """
    import io
    import wave

    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            if w.getnchannels() != 1 or w.getsampwidth() != 2:
                raise ValueError(f"expected mono 16-bit audio, got {w.getnchannels()} channel(s) of "
                                 f"{8 * w.getsampwidth()} bits")
            rate = w.getframerate()
            samples = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"not a WAV file: {exc}") from exc
    return samples[: len(samples) // 2 * 2], rate
