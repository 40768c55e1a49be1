"""The ``kiosk`` command: the app, and the tools technicians and tests use around it."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from kiosk import __version__
from kiosk.config import KioskConfig, load_config, simulated
from titres.errors import KioskError
from titres.logs import setup_logging

log = logging.getLogger("kiosk.cli")


def _config(args) -> KioskConfig:
    cfg = load_config(args.config, data_dir=getattr(args, "data_dir", None))
    if getattr(args, "simulate", False):
        cfg = simulated(cfg)
    return cfg


def cmd_run(args) -> int:
    """The touchscreen app: commissioning while the kiosk is not provisioned, the citizen's app after."""
    from titres.sdnotify import Watchdog

    cfg = _config(args)
    size = tuple(int(x) for x in args.size.lower().split("x"))
    os.environ.setdefault("KIVY_NO_ARGS", "1")  # Kivy must not parse the kiosk's own arguments
    # Text fields (commissioning) use SDL2's clipboard, like the window, not X tools a kiosk lacks.
    os.environ.setdefault("KIVY_CLIPBOARD", "sdl2")
    if not cfg.sync.provisioned:
        from kiosk.ui.commission_app import run_commissioning

        log.info("kiosk not provisioned: commissioning screen", extra={"version": __version__})
        marker = Path(cfg.maintenance.commissioning_marker) if cfg.maintenance.commissioning_marker else None
        if marker is not None:
            marker.touch()
        try:
            again = run_commissioning(cfg, fullscreen=args.fullscreen, size=size,
                                      on_heartbeat=_ui_heartbeat(Watchdog(), "showing the commissioning screen"))
        finally:
            if marker is not None:
                marker.unlink(missing_ok=True)
    else:
        from kiosk.runtime import build_kiosk

        with build_kiosk(cfg) as kiosk:
            log.info("kiosk starting", extra={"version": __version__, "backends": json.dumps(kiosk.devices.backends)})
            from kiosk.ui.app import run_app  # Kivy only when there is a window to show

            again = run_app(kiosk, fullscreen=args.fullscreen, size=size, on_heartbeat=_ui_heartbeat(Watchdog()))
    if again:
        _start_again(cfg)
    return 0


def _start_again(cfg: KioskConfig) -> None:
    """The app stopped to start afresh (commissioned, or a technician's restart).

    On the appliance (``maintenance.service_manager = "systemctl"``)
    exiting is enough: kiosk-ui.service has ``Restart=always``. Elsewhere (a
    PC, the demo) the process replaces itself with the same command, so the
    window comes back with the new configuration.
    """
    if cfg.maintenance.service_manager == "systemctl":
        log.warning("app stopping to be restarted by systemd")
        return
    log.warning("app starting again")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "kiosk", *sys.argv[1:]])


def _ui_heartbeat(watchdog, status: str = "showing the welcome screen"):
    """What the Kivy main loop calls once a second: READY=1 the first time, then WATCHDOG=1.

    Called from the loop itself, so systemd hears from the UI only while it
    is responsive: a frozen loop stops the pings and kiosk-ui.service's
    ``WatchdogSec=`` restarts it. Outside systemd both are no-ops.
    """
    started = []

    def beat() -> None:
        if not started:
            watchdog.ready(status)
            started.append(True)
        watchdog.ping()

    return beat


def cmd_decode(args) -> int:
    from kiosk.hal import load_backend
    from kiosk.core.scanning import decode_image_file

    cfg = _config(args)
    fmt = cfg.predemande.number_format()
    scanner = load_backend("scanner", cfg.hal.backend_for("scanner"))(cfg.hal, cfg.sim_dir)
    failures = 0
    with scanner:
        for path in args.images:
            result = decode_image_file(Path(path), scanner, fmt)
            failures += result["number"] is None
            if args.json:
                print(json.dumps(result, ensure_ascii=False), flush=True)
            else:
                print(f"{path}: {result['number'] or 'ERROR ' + str(result['error'])} ({result['ms']:.1f} ms)")
    return 0 if failures == 0 else 1


def cmd_scenario(args) -> int:
    from kiosk.scenario import load_scenario, run_scenario

    cfg = _config(args)
    if cfg.hal.default != "sim":
        print("kiosk scenario drives the simulators: add --simulate", file=sys.stderr)
        return 2
    result = run_scenario(load_scenario(Path(args.file)), cfg)
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result["ok"] else 1


def cmd_queue(args) -> int:
    from kiosk.runtime import open_outbox

    cfg = _config(args)
    with open_outbox(cfg) as outbox:
        if args.action == "status":
            counts = outbox.counts()
            counts["free_bytes"] = outbox.free_bytes()
            counts["accepting"] = outbox.accepting()
            if args.json:
                print(json.dumps(counts))
            else:
                for k, v in counts.items():
                    print(f"{k:>12}: {v}")
        elif args.action == "list":
            rows = [q.as_dict() for q in outbox.list()]
            if args.json:
                print(json.dumps(rows, ensure_ascii=False))
            else:
                for r in rows:
                    print(f"{r['number']}  {r['state']:<12} {r['created_at']}  {','.join(r['flags'])}")
        elif args.action == "verify":
            corrupt = outbox.verify()
            print(json.dumps({"corrupt": corrupt}))
            return 1 if corrupt else 0
        elif args.action == "retry":
            print(json.dumps({"due_now": outbox.retry_now()}))
        elif args.action == "export":
            from kiosk.sync.client import load_device_key
            from kiosk.sync.export import export_queue

            if not args.directory:
                print("kiosk queue export DIR: name the directory (the USB stick)", file=sys.stderr)
                return 2
            if not cfg.sync.provisioned:
                print("kiosk queue export: this kiosk is not provisioned", file=sys.stderr)
                return 2
            numbers = export_queue(outbox, cfg.sync.device_id, load_device_key(cfg), Path(args.directory))
            print(json.dumps({"exported": numbers}))
    return 0


def cmd_provision(args) -> int:
    from kiosk.technician.provision import provision

    cfg = _config(args)
    answer = provision(cfg, args.central, args.token)
    print(json.dumps({"device_id": answer["device_id"], "kiosk_code": answer["kiosk_code"],
                      "site": answer["site"]["name"], "config": str(cfg.provisioned_file)}, ensure_ascii=False))
    return 0


def cmd_sync(args) -> int:
    import signal
    import threading

    from kiosk.sync.client import central_client
    from kiosk.runtime import open_outbox
    from titres.sdnotify import Watchdog
    from kiosk.technician.selftest import load_summary
    from kiosk.sync.worker import SyncWorker

    cfg = _config(args)
    if not cfg.sync.provisioned:
        print("kiosk sync: this kiosk is not provisioned (kiosk provision --central URL --token TOKEN)", file=sys.stderr)
        return 2
    client = central_client(cfg)
    with open_outbox(cfg) as outbox:
        from kiosk.sync.help import HelpRelay
        from kiosk.sync.status import SyncStatus, read_status

        known = read_status(cfg.data_dir) or SyncStatus()  # what the last run knew, until this one knows better
        worker = SyncWorker(outbox, client, cfg.sync.device_id, base_s=cfg.sync.retry_base_s, status=known,
                            help_relay=HelpRelay(cfg.data_dir, client),
                            selftest=lambda: load_summary(cfg), watchdog=Watchdog(),
                            max_s=cfg.sync.retry_max_s, heartbeat_s=cfg.sync.heartbeat_s,
                            retention_s=cfg.sync.retention_days * 86400)
        if args.once:
            outbox.requeue_interrupted()
            report = worker.run_once()
            print(json.dumps({**report, **outbox.counts()}))
            return 0 if report["failed"] == report["corrupt"] == 0 else 1
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        log.info("sync worker starting", extra={"central": cfg.directory.central_url, "device": cfg.sync.device_id})
        worker.run_forever(stop)
    return 0


def cmd_selftest(args) -> int:
    """Probe every device; the table for a technician (French unless told), or JSON for scripts. 0 only if all work."""
    from titres.i18n import Translator
    from kiosk.technician.selftest import format_table, run_selftest, save_summary

    cfg = _config(args)
    limit = {} if args.timeout is None else {"timeout_s": args.timeout}
    results = run_selftest(cfg, print_test_page=args.print_page, **limit)
    save_summary(cfg, results)
    ok = all(r.ok for r in results)
    if args.json:
        print(json.dumps({"ok": ok, "devices": [r.as_dict() for r in results]}, ensure_ascii=False))
    else:
        print(format_table(results, Translator(args.lang or cfg.session.default_language), cfg.site.kiosk_code))
    return 0 if ok else 1


def cmd_pin(args) -> int:
    """Set the technician PIN from a shell: asked twice on the terminal, or one line on stdin (``--stdin``)."""
    import getpass

    from kiosk.technician.pin import PinGuard, PinRefused

    cfg = _config(args)
    if cfg.data_dir.exists() and cfg.data_dir.stat().st_uid != os.geteuid():
        # A PIN file owned by someone else (root) is one the app cannot read: the maintenance screen
        # would stay locked. On the appliance: sudo -u kiosk kiosk pin set (docs/technician.md).
        print(f"kiosk pin set: run it as the owner of {cfg.data_dir} (uid {cfg.data_dir.stat().st_uid})",
              file=sys.stderr)
        return 2
    if args.stdin:
        pin = sys.stdin.readline().strip()
    else:
        pin = getpass.getpass("Code technicien (6 à 8 chiffres) : ")
        if getpass.getpass("Le même code, une seconde fois : ") != pin:
            print("kiosk pin set: les deux codes sont différents / the two PINs differ", file=sys.stderr)
            return 2
    try:
        PinGuard(cfg.technician_pin_file).set(pin)
    except PinRefused as exc:
        print(f"kiosk pin set: {exc.detail}", file=sys.stderr)
        return 2
    log.warning("technician PIN set from the command line")
    print(json.dumps({"pin_file": str(cfg.technician_pin_file)}))
    return 0


def cmd_status(args) -> int:
    """What the maintenance screen shows, for a technician over SSH: JSON, or lines to read."""
    from titres.errors import ConfigError
    from kiosk.technician.report import status_lines, status_report

    cfg = _config(args)
    outbox = None
    if cfg.sync.provisioned:  # before that there is no queue, and asking must not create one
        from kiosk.runtime import open_outbox

        try:
            outbox = open_outbox(cfg)
        except ConfigError as exc:
            print(f"kiosk status: the queue cannot be opened: {exc.detail}", file=sys.stderr)
    try:
        report = status_report(cfg, outbox)
    finally:
        if outbox is not None:
            outbox.close()
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        print("\n".join(status_lines(report)))
    return 0


def cmd_reprint(args) -> int:
    from kiosk.runtime import build_kiosk

    cfg = _config(args)
    with build_kiosk(cfg, recover=False) as kiosk:
        receipt = kiosk.controller.reprint(args.number)
    print(json.dumps({"reprinted": receipt.dossier_number}))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kiosk", description="Self-service kiosk for CNI and passport applications.")
    p.add_argument("--version", action="version", version=__version__)
    p.add_argument("--config", help="TOML configuration file (default: $KIOSK_CONFIG)")
    p.add_argument("--data-dir", help="data directory (default: $KIOSK_DATA or var/kiosk)")
    p.add_argument("--log-level", default=None)
    sub = p.add_subparsers(dest="command", required=True)

    def simulate(sp):
        sp.add_argument("--simulate", action="store_true", help="every device and the directory on their simulators")

    sp = sub.add_parser("run", help="the kiosk app")
    simulate(sp)
    sp.add_argument("--fullscreen", action="store_true")
    sp.add_argument("--size", default="800x480", help="window size, e.g. 800x480 or 1280x800")
    sp.set_defaults(func=cmd_run)

    sp = sub.add_parser("decode", help="decode pré-demande numbers from still images")
    sp.add_argument("--json", action="store_true", help="one JSON line per image")
    sp.add_argument("images", nargs="+")
    sp.set_defaults(func=cmd_decode)

    sp = sub.add_parser("scenario", help="replay a scripted citizen session, headless")
    simulate(sp)
    sp.add_argument("file")
    sp.set_defaults(func=cmd_scenario)

    sp = sub.add_parser("queue", help="the local queue of sealed dossiers")
    simulate(sp)
    sp.add_argument("action", choices=["status", "list", "verify", "retry", "export"])
    sp.add_argument("directory", nargs="?", help="export: where to write the sealed packages")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_queue)

    sp = sub.add_parser("provision", help="enroll this kiosk with the central service")
    sp.add_argument("--central", required=True, help="the central service's URL")
    sp.add_argument("--token", required=True, help="the one-time enrollment token")
    sp.set_defaults(func=cmd_provision)

    sp = sub.add_parser("sync", help="send queued dossiers to the central service")
    simulate(sp)
    sp.add_argument("--once", action="store_true", help="drain what is due, then exit")
    sp.set_defaults(func=cmd_sync)

    from titres.i18n import LANGUAGES  # the translation table only: the devices load when the command runs

    sp = sub.add_parser("selftest", help="exercise every device; exit 1 if any fails")
    simulate(sp)
    sp.add_argument("--json", action="store_true", help="one JSON object with English keys, for scripts")
    sp.add_argument("--print", dest="print_page", action="store_true", help="also print a test ticket")
    sp.add_argument("--lang", choices=LANGUAGES, help="language of the table (default: session.default_language)")
    sp.add_argument("--timeout", type=float, metavar="S",
                    help="seconds each device has to answer before it is reported hung (default 15)")
    sp.set_defaults(func=cmd_selftest)

    sp = sub.add_parser("pin", help="the technician PIN that opens the maintenance screen")
    sp.add_argument("action", choices=["set"])
    sp.add_argument("--stdin", action="store_true", help="read the PIN from one line of standard input")
    sp.set_defaults(func=cmd_pin)

    sp = sub.add_parser("status", help="what the maintenance screen shows: version, queue, sync, self-test")
    simulate(sp)
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_status)

    sp = sub.add_parser("reprint", help="reprint the receipt of a queued dossier")
    simulate(sp)
    sp.add_argument("number")
    sp.set_defaults(func=cmd_reprint)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    setup_logging(args.log_level or "WARNING" if args.command != "run" else (args.log_level or "INFO"))
    try:
        return args.func(args)
    except KioskError as exc:
        log.error("command failed", extra={"error": type(exc).__name__, "detail": exc.detail})
        print(f"kiosk: {type(exc).__name__}: {exc.detail}", file=sys.stderr)
        return 2
