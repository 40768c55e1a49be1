"""What every device facade shares: an explicit lifecycle, safe to close twice."""

from __future__ import annotations

from abc import ABC, abstractmethod

from kiosk.core.readings import SelfTestResult


class Device(ABC):
    """A device behind a facade. ``open()``/``close()`` or ``with``; never rely on ``__del__``."""

    device_name = "device"
    backend_name = "?"

    def __init__(self) -> None:
        self._opened = False

    @property
    def is_open(self) -> bool:
        return self._opened

    def open(self) -> "Device":
        if not self._opened:
            self._open()
            self._opened = True
        return self

    def close(self) -> None:
        if self._opened:
            self._opened = False
            self._close()

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    @abstractmethod
    def _open(self) -> None: ...

    def _close(self) -> None:
        pass

    def self_test(self) -> SelfTestResult:
        """Exercise the device for the technician and ``kiosk selftest``; never raises."""
        try:
            detail = self._self_test()
            return SelfTestResult(self.device_name, self.backend_name, True, detail)
        except Exception as exc:  # the point of a self-test is to report, not to crash
            return SelfTestResult(self.device_name, self.backend_name, False, f"{type(exc).__name__}: {exc}")

    @abstractmethod
    def _self_test(self) -> str: ...
