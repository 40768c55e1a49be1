"""The self-test: open each device with its configured backend, exercise it, and say plainly how it went.

What a technician at a town hall needs from ``kiosk selftest``:

* **every** device tried, whatever happened to the one before: a camera that
  will not open says nothing about the printer;
* a device whose backend cannot even load reported as failed, with the
  reason, not skipped;
* a hung device cut off after a time limit (each probe runs in its own
  thread, and the thread is abandoned, not waited for), so the command
  always ends and says "no answer within N s" and at which stage;
* a table in French first (English on request), and JSON with English keys
  for scripts, the same facts in both.

Each device's own check is its ``_self_test()``, written with its backend;
this module only runs them. The last result is kept where the sync worker
finds it for its heartbeat (:func:`save_summary`), so the fleet view shows
a kiosk whose printer was unplugged this morning.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from kiosk.config import KioskConfig
from titres.errors import KioskError
from kiosk.hal import BACKENDS, load_backend, resolve
from titres.i18n import Translator

#: Seconds each device has to load, open, answer its self-test, (print) and close.
#: The slowest honest device (a camera's first frame, a sensor's handshake) needs a few.
DEFAULT_TIMEOUT_S = 15.0

ENGLISH = Translator("en")


@dataclass(frozen=True)
class ProbeResult:
    """How one device fared. ``failure`` says where it stopped, for scripts.

    ``failure`` is ``None`` (it works), ``load`` (the backend cannot load),
    ``open``, ``self_test``, ``print`` (the test ticket, with ``--print``) or
    ``timeout`` (no answer in time; ``stage`` says during what).
    ``said`` is what the device's own self-test reported, ``error`` what went
    wrong outside it, ``page`` what printing the test ticket reported.
    """

    device: str
    backend: str
    ok: bool
    failure: str | None = None
    said: str = ""
    error: str = ""
    page: str | None = None
    stage: str = ""
    timeout_s: float = 0.0
    seconds: float = 0.0

    def detail(self, t: Translator = ENGLISH) -> str:
        """The detail column, in ``t``'s language (the devices' own words stay as they said them)."""
        if self.failure == "load":
            return t("selftest.cannot_load", error=self.error)
        if self.failure == "open":
            return t("selftest.cannot_open", error=self.error)
        if self.failure == "timeout":
            return t("selftest.timeout", seconds=f"{self.timeout_s:g}", stage=t(f"selftest.stage.{self.stage}"))
        if self.failure == "print":
            if self.page is None and not self.error:
                return t("selftest.no_test_page", detail=self.said)
            return t("selftest.print_failed", detail=self.said, error=self.error)
        if self.page is not None:
            return t("selftest.printed", detail=self.said, page=self.page)
        return self.said

    def as_dict(self) -> dict[str, Any]:
        """The stable form for ``--json`` and the saved summary: English keys, English detail."""
        return {"device": self.device, "backend": self.backend, "ok": self.ok, "detail": self.detail(),
                "failure": self.failure, "seconds": round(self.seconds, 3)}


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, KioskError):
        return exc.detail or type(exc).__name__
    return f"{type(exc).__name__}: {exc}"


class _Run:
    """What one probe's thread tells the waiting thread: the stage it is in, then its result."""

    def __init__(self) -> None:
        self.stage = "load"
        self.result: dict[str, Any] | None = None
        self.closed = threading.Event()


def probe(device: str, backend: str, make: Callable[[], Any], *, timeout_s: float | None = DEFAULT_TIMEOUT_S,
          print_test_page: bool = False) -> ProbeResult:
    """Load (``make()``), open, self-test, optionally print a test ticket, and close one device, within ``timeout_s``.

    Never raises. The work runs in a daemon thread: a device hung in a
    driver call keeps its thread, not the command, and the process can
    still exit. ``print_test_page`` calls the device's ``print_test_page()``
    after a successful self-test; a backend without it fails the row.
    ``timeout_s=None`` runs it here, in the calling thread, without a limit.
    """
    run = _Run()

    def work() -> None:
        dev = None
        try:
            try:
                dev = make()
            except Exception as exc:
                run.result = {"failure": "load", "error": _error_text(exc)}
                return
            run.stage = "open"
            try:
                dev.open()
            except Exception as exc:
                run.result = {"failure": "open", "error": _error_text(exc)}
                return
            run.stage = "test"
            outcome = dev.self_test()
            result: dict[str, Any] = {"said": outcome.detail, "failure": None if outcome.ok else "self_test"}
            if outcome.ok and print_test_page:
                run.stage = "print"
                printer_page = getattr(dev, "print_test_page", None)
                if printer_page is None:
                    result["failure"] = "print"
                else:
                    try:
                        result["page"] = str(printer_page())
                    except Exception as exc:
                        result.update(failure="print", error=_error_text(exc))
            run.result = result
        except Exception as exc:  # a bug in a backend's self-test plumbing: still a row, not a crash
            run.result = {"failure": "self_test", "said": _error_text(exc)}
        finally:
            if dev is not None:
                run.stage = "close"
                try:
                    dev.close()
                except Exception as exc:
                    if run.result is not None and run.result.get("failure") is None:
                        run.result = {**run.result, "failure": "self_test",
                                      "said": f"{run.result.get('said', '')}; close failed: {_error_text(exc)}"}
            run.closed.set()

    started = time.monotonic()
    if timeout_s is None:
        work()
        finished = True
    else:
        thread = threading.Thread(target=work, name=f"selftest-{device}", daemon=True)
        thread.start()
        finished = run.closed.wait(timeout_s)
    seconds = time.monotonic() - started
    if not finished or run.result is None:
        return ProbeResult(device, backend, False, failure="timeout", stage=run.stage, timeout_s=timeout_s,
                           seconds=seconds)
    r = run.result
    return ProbeResult(device, backend, r.get("failure") is None, failure=r.get("failure"), said=r.get("said", ""),
                       error=r.get("error", ""), page=r.get("page"), seconds=seconds)


def run_selftest(config: KioskConfig, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                 print_test_page: bool = False) -> list[ProbeResult]:
    """Probe every device, in the registry's order, with the backend its configuration names."""
    results = []
    for device in BACKENDS:
        name = config.hal.backend_for(device)
        try:
            backend = resolve(device, name)
        except KioskError as exc:
            results.append(ProbeResult(device, name, False, failure="load", error=_error_text(exc)))
            continue

        def make(device: str = device, backend: str = backend) -> Any:
            return load_backend(device, backend)(config.hal, config.sim_dir)

        results.append(probe(device, backend, make, timeout_s=timeout_s,
                             print_test_page=print_test_page and device == "printer"))
    return results


class _Borrowed:
    """An open device lent to a probe by the running app: opening and closing it stay the app's business."""

    def __init__(self, device: Any) -> None:
        self._device = device

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._device, name)


def selftest_devices(devices, *, print_test_page: bool = False) -> list[ProbeResult]:
    """The same probes on the devices the app already holds (the maintenance screen), run in this thread.

    The app has the serial port and the printer open; a second opening from
    the same process would fail or fight over them, so each device's
    ``self_test()`` runs on the app's own instance. And on the app's job
    worker, without a time limit: a probe abandoned after a timeout would
    keep using the device from another thread while the citizens' jobs use
    it too. Each device's own calls are bounded by their read timeouts.
    """
    return [probe(device, devices.backends.get(device, "?"), lambda d=getattr(devices, device): _Borrowed(d),
                  timeout_s=None, print_test_page=print_test_page and device == "printer")
            for device in BACKENDS]


def format_table(results: list[ProbeResult], t: Translator, kiosk_code: str = "") -> str:
    """The table a technician reads on the kiosk's console: device, backend, OK/ÉCHEC, detail; then a verdict."""
    header = (t("selftest.column.device"), t("selftest.column.backend"), t("selftest.column.result"),
              t("selftest.column.detail"))
    rows = [(t(f"selftest.device.{r.device}"), r.backend, t("selftest.result.ok" if r.ok else "selftest.result.fail"),
             r.detail(t)) for r in results]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells[:3], widths)) + "  " + cells[3]

    failed = sum(not r.ok for r in results)
    verdict = (t("selftest.summary.ok", total=len(results)) if not failed
               else t("selftest.summary.failed", failed=failed, total=len(results)))
    out = [t("selftest.title", kiosk=kiosk_code).rstrip(), "", line(header),
           line(tuple("-" * w for w in [*widths, len(header[3])])), *map(line, rows), "", verdict]
    return "\n".join(out)


SUMMARY_FILE = "selftest.json"


def save_summary(config: KioskConfig, results: list, now: float | None = None) -> dict:
    """Keep the last result where the sync worker finds it for its heartbeat (the fleet view).

    ``results`` are :class:`ProbeResult` or their ``as_dict()`` form; the file
    holds ``{"ok", "at", "devices": {device: "ok" or the English detail}}``.
    """
    import json

    from titres.durable import write_durably

    rows = [r.as_dict() if isinstance(r, ProbeResult) else r for r in results]
    summary = {"ok": all(r["ok"] for r in rows), "at": time.time() if now is None else now,
               "devices": {r["device"]: ("ok" if r["ok"] else r["detail"]) for r in rows}}
    config.data_dir.mkdir(parents=True, exist_ok=True)
    write_durably(config.data_dir / SUMMARY_FILE, json.dumps(summary, ensure_ascii=False).encode("utf-8"))
    return summary


def load_summary(config: KioskConfig) -> dict | None:
    import json

    try:
        return json.loads((config.data_dir / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
