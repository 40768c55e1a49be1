"""The kiosk's short sounds: success, error, "your turn", and the self-test's beep.

A person who cannot see the screen learns from a sound, faster than from
a sentence, that a photo was taken or a finger read, and when the sensor
waits for them. Each sound has its own shape, not only its own pitch, so
that it is told apart by someone who hears pitch poorly: success rises in
two notes, an error is one low note held, "your turn" is two short equal
beeps. They are made here (a few milliseconds of numpy), never read from
files, at a level set by ``audio.sounds_volume``.
"""

from __future__ import annotations

from kiosk.hal.audio import Clip

RATE = 22050

#: name → ((frequency Hz, seconds), …): silence between notes is a frequency of 0.
SHAPES: dict[str, tuple[tuple[float, float], ...]] = {
    "success": ((660.0, 0.09), (0.0, 0.03), (990.0, 0.14)),
    "error": ((220.0, 0.35),),
    "your_turn": ((880.0, 0.08), (0.0, 0.08), (880.0, 0.08)),
    "selftest": ((1000.0, 0.25),),
}


def tone(name: str, level: float = 0.5) -> Clip:
    """The sound ``name`` at ``level`` (0 to 1 of full scale), with 8 ms fades so that it does not click."""
    import numpy as np

    parts = []
    for freq, seconds in SHAPES[name]:
        n = int(RATE * seconds)
        if freq <= 0:
            parts.append(np.zeros(n, dtype=np.float32))
            continue
        t = np.arange(n, dtype=np.float32) / RATE
        wave = np.sin(2 * np.pi * freq * t)
        fade = min(n // 2, int(RATE * 0.008))
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        wave[:fade] *= ramp
        wave[n - fade:] *= ramp[::-1]
        parts.append(wave)
    samples = (np.concatenate(parts) * 32767 * min(1.0, max(0.0, level))).astype("<i2").tobytes()
    return Clip(samples, RATE, key=f"sound.{name}", kind="sound")
