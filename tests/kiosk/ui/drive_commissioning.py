"""Drive the commissioning app of a blank kiosk with simulated touches, against a real central service.

Run by ``tests/kiosk/ui/test_technician.py`` in its own process (Kivy's global
state stays there), or by hand::

    .venv/bin/python tests/kiosk/ui/drive_commissioning.py --central URL --token TOKEN --data DIR

The simulated camera first shows a pré-demande's QR code (refused: not an
enrollment code), then the console's enrollment code; the kiosk enrolls and
shows the mairie, confirmed with a touch; the PIN is typed on the keypad,
wrongly repeated once, then twice the same; the files are saved and
"Redémarrer maintenant" stops the app to be started again. The result is one JSON object, as for ``drive_flow.py``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import traceback
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.kiosk.ui.drive_flow import Driver, Wait, _prepare_environment, emit_result  # noqa: E402

PIN = "975310"


class CommissioningDriver(Driver):
    """The citizen driver's touches, waits and screenshots, over the commissioning app."""

    def __init__(self, app, shots_dir: Path, prefix: str) -> None:
        self.kiosk = None
        self._setup(app, shots_dir, prefix, {"stages": []})
        app.flow.subscribe(lambda f: self.result["stages"].append(f.stage.value))

    @property
    def session(self):  # what the base class names in its timing and timeout messages
        flow = self.app.flow
        return SimpleNamespace(step=flow.stage, message=flow.notice)

    def _finish(self, ok: bool) -> None:
        self._verdict(ok)
        if not ok:
            self.Clock.schedule_once(lambda dt: self.app.stop(), 0.1)


def scenario(d: CommissioningDriver, central_url: str, token: str) -> Iterator[Wait]:
    from kiosk.technician.commissioning import Stage
    from titres.enrollment_code import format_code
    from kiosk.hal.sim.camera import QrScene
    from kiosk.ui.screens.widgets import OK_KEY

    app, view = d.app, d.app.view
    flow = app.flow

    def type_pin(pin: str) -> None:
        for key in [*pin, OK_KEY]:
            d.tap(view.ids.pad.ids.keypad.key_widget(key), f"key {key}")

    yield d.until(lambda: view.ids.preview.has_frame, "the camera picture")
    yield from d.shoot("scan")
    app.camera.show(QrScene("A1B2C3D4E5", code_px=200))
    yield d.until(lambda: flow.notice is not None and flow.notice.key == "commission.error.not_enrollment",
                  "the refusal of a pré-demande's code")
    d.assert_("jeton d'enrôlement" in view.ids.scan_message.text, view.ids.scan_message.text)
    yield from d.shoot("not_enrollment")

    app.camera.show(QrScene(format_code(central_url, token), code_px=260))
    yield d.until(lambda: flow.stage is Stage.CONFIRM_SITE, "the mairie to confirm", timeout=30)
    d.assert_(not app.kiosk_config.provisioned_file.exists(), "nothing is written before the confirmation")
    yield from d.shoot("confirm_site")
    d.result["summary"] = view.summary
    yield from d.tap_and_wait(view.ids.confirm_button, lambda: flow.stage is Stage.CHOOSE_PIN, "the PIN's choice")
    yield from d.shoot("choose_pin")
    type_pin(PIN)
    yield d.until(lambda: flow.stage is Stage.REPEAT_PIN, "the PIN's repetition")
    type_pin("975311")
    yield d.until(lambda: flow.stage is Stage.CHOOSE_PIN and flow.notice is not None, "the mismatch")
    d.assert_("différents" in view.ids.pad.message, view.ids.pad.message)
    yield from d.shoot("pin_mismatch")
    type_pin(PIN)
    yield d.until(lambda: flow.stage is Stage.REPEAT_PIN, "the PIN's repetition")
    type_pin(PIN)
    yield d.until(lambda: flow.stage is Stage.DONE, "the files saved", timeout=30)
    d.assert_(app.kiosk_config.provisioned_file.exists(), "provisioned once the PIN is chosen")
    yield from d.shoot("done")
    d.result["seconds_left"] = view.seconds_left
    d.result["reached_restart"] = True
    d.tap(view.ids.restart_button, "restart now")  # the app stops here, to be started again
    yield d.until(lambda: app.restart_requested, "the restart")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--central", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--size", default="800x480")
    p.add_argument("--shots", default=str(ROOT / "artifacts" / "screenshots"))
    p.add_argument("--prefix", default=None)
    p.add_argument("--result", default=None)
    args = p.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="kiosk-commission-"))
    _prepare_environment(work / "kivy-home")
    shots = Path(args.shots)
    shots.mkdir(parents=True, exist_ok=True)
    size = tuple(int(v) for v in args.size.lower().split("x"))

    from kiosk.ui.app import configure_kivy
    from kiosk.ui.commission_app import CommissioningApp, open_reader
    from kiosk.config import load_config, simulated

    cfg = simulated(load_config(env={}, data_dir=args.data))
    configure_kivy(fullscreen=False, size=size)
    camera, scanner = open_reader(cfg)
    result: dict = {"ok": False, "error": "the app did not start"}
    try:
        app = CommissioningApp(cfg, camera, scanner)
        driver = CommissioningDriver(app, shots, args.prefix or f"{args.size}_commissioning")
        driver.finish_each_frame()
        from kivy.clock import Clock

        Clock.schedule_once(lambda dt: driver.run(lambda d: scenario(d, args.central, args.token)), 0.5)
        app.run()
        result = driver.result
        result["restart_requested"] = app.restart_requested
        if result.get("reached_restart") and app.restart_requested and result["error"] is None:
            result["ok"] = not driver.errors
            result["logged_errors"] = driver.errors
    except Exception as exc:
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"}
    finally:
        for dev in (camera, scanner):
            if dev is not None:
                dev.close()
        shutil.rmtree(work, ignore_errors=True)
    return emit_result(result, args.result)


if __name__ == "__main__":
    sys.exit(main())
