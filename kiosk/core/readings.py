"""What devices hand to the core: plain values, no hardware types."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FingerReading:
    """One attempt on the fingerprint sensor.

    ``ok`` is true when the image is good enough to keep; otherwise
    ``feedback`` names what the citizen should change: ``no_finger``,
    ``too_light``, ``too_wet``, ``too_dry`` or ``moved`` (message keys
    ``finger.feedback.*``). ``image`` is the sensor's greyscale image as PNG
    (lossless), present whenever one was captured, even a poor one.
    """

    ok: bool
    feedback: str | None = None
    image: bytes | None = None
    quality: int | None = None  # 0-100, advisory
    template: bytes | None = None


@dataclass(frozen=True)
class PrinterStatus:
    """``online``/``paper`` are ``None`` when the printer did not answer: unknown is not "ok"."""

    online: bool | None
    paper: str | None  # "ok", "near_end", "out", or None (unknown)

    @property
    def can_print(self) -> bool:
        return self.online is not False and self.paper != "out"


@dataclass(frozen=True)
class SelfTestResult:
    device: str
    backend: str
    ok: bool
    detail: str = ""

    def as_dict(self) -> dict:
        return {"device": self.device, "backend": self.backend, "ok": self.ok, "detail": self.detail}
