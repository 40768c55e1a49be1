"""``kiosk-central``: serve the service and administer it from a shell.

Every command takes ``--data-dir`` (else ``KIOSK_CENTRAL_DATA``) and
``--db`` (else ``KIOSK_CENTRAL_DB``, else SQLite in the data directory).
Output meant for scripts is on stdout alone (``token create`` prints the
token and nothing else); messages for people go to stderr. A refusal (an
unknown mairie or account, a value a mairie cannot take) is its own French
message on stderr, with exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from central import __version__
from central.config import LOOPBACK_HOSTS, load_config
from central.context import build_services
from central.backup import BackupRefused
from central.datadir import InsecureDataDir, set_umask
from central.demo import NotDemoData
from titres.i18n import LANGUAGES


def _services(args):
    return build_services(load_config(data_dir=args.data_dir, db_url=args.db))


def cmd_serve(args) -> int:
    from central.server import run

    from titres.logs import setup_logging

    if args.public_url:  # the workers read it, and so does the configuration's check of the agency's connector
        os.environ["KIOSK_CENTRAL_PUBLIC_URL"] = args.public_url
    config = load_config(data_dir=args.data_dir, db_url=args.db, ants_url=args.ants_url)
    setup_logging(config.log_level, name="")  # the supervisor's lines too (each worker sets up its own)
    services = build_services(config)  # migrate once, before the workers start
    try:
        if args.demo:
            from central.demo import seed

            print(seed(services), file=sys.stderr)
    finally:
        services.close()
    # The workers build their own services from the same environment: nothing is shared in memory.
    os.environ["KIOSK_CENTRAL_DATA"] = str(config.data_dir)
    if config.db_url:
        os.environ["KIOSK_CENTRAL_DB"] = config.db_url
    if config.ants_url:
        os.environ["KIOSK_CENTRAL_ANTS_URL"] = config.ants_url
    run(args.host, args.port, args.workers, config.trusted_proxies)


def cmd_ants_emulator(args) -> int:
    from central.ants_emulator import create_emulator, load_statuses

    import uvicorn

    if args.host not in LOOPBACK_HOSTS:
        raise ValueError("the emulator listens on the loopback only (--host 127.0.0.1)")
    token = load_config().ants_token
    if not token:
        raise ValueError("KIOSK_CENTRAL_ANTS_TOKEN: the token the emulator expects, as the service sends it")
    app = create_emulator(token, load_statuses(Path(args.statuses) if args.statuses else None))
    print(f"agency emulator on http://{args.host}:{args.port}/api (KIOSK_CENTRAL_ANTS_URL)", file=sys.stderr)
    # A request it was told to answer late does not hold its stop for long.
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=2)
    return 0


def cmd_token_create(args) -> int:
    from central.enrollment import create_token

    print(create_token(_services(args), args.site, created_by=args.by, ttl=timedelta(days=args.days)))
    return 0


def cmd_dossiers_list(args) -> int:
    from central.models import Dossier

    services = _services(args)
    with services.db() as db:
        rows = db.execute(select(Dossier.id, Dossier.number, Dossier.site_id, Dossier.state, Dossier.package_sha256,
                                 Dossier.received_at).order_by(Dossier.received_at)).all()
    items = [{"id": r.id, "number": r.number, "site": r.site_id, "state": r.state, "content_sha256": r.package_sha256,
              "received_at": r.received_at.isoformat(timespec="seconds")} for r in rows]
    if args.json:
        json.dump(items, sys.stdout, indent=1)
        print()
    else:
        for it in items:
            print(f"{it['number']:<14} {it['state']:<10} {it['site']:<24} {it['received_at']}  {it['id']}")
    return 0


def cmd_devices_list(args) -> int:
    from central.fleet import fleet

    services = _services(args)
    items = [{"id": k.device_id, "site": k.site, "kiosk_code": k.kiosk_code, "revoked": k.revoked,
              "last_seen_at": k.last_seen_at.isoformat(timespec="seconds") if k.last_seen_at else None,
              "software_version": k.software_version, "queue": k.queue, "online": k.online,
              "oldest_queued_age_s": k.oldest_queued_age_s, "selftest_ok": k.selftest_ok,
              "selftest": k.selftest} for k in fleet(services)]
    if args.json:
        json.dump(items, sys.stdout, indent=1)
        print()
    else:
        for it in items:
            state = "révoquée" if it["revoked"] else (it["last_seen_at"] or "jamais vue")
            print(f"{it['kiosk_code']:<6} {it['site']:<30} {state:<26} {it['id']}")
    return 0


def cmd_devices_revoke(args) -> int:
    from central.enrollment import revoke_device

    if not revoke_device(_services(args), args.device_id, by=args.by):
        print(f"no device {args.device_id}", file=sys.stderr)
        return 1
    print(f"device {args.device_id} revoked", file=sys.stderr)
    return 0


def cmd_predemandes_import(args) -> int:
    from central.predemandes import demo_records, import_file, import_records

    services = _services(args)
    count = import_records(services, demo_records()) if args.demo else import_file(services, Path(args.file))
    print(f"{count} pré-demandes imported", file=sys.stderr)
    return 0


def cmd_user_create(args) -> int:
    from central import audit
    from central.accounts import create_user
    from central.enrollment import existing_site

    services = _services(args)
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
    if not password:
        print("give the password on stdin with --password-stdin", file=sys.stderr)
        return 2
    with services.db() as db, db.begin():
        site_id = existing_site(db, args.site).id if args.site else None
        user = create_user(db, args.username, password, args.role, site_id, args.full_name)
        audit.record(db, actor=args.by, role="cli", action="create_user", detail=f"{user.username} ({user.role})")
    print(f"user {args.username} created ({args.role})", file=sys.stderr)
    return 0


def cmd_user_list(args) -> int:
    from central.accounts import list_users, login_waits, states
    from central.models import Site
    from central.texts import Texts

    services = _services(args)
    now, fr = services.now(), Texts("fr")
    items = []
    with services.db() as db:
        names = {row.id: row.name for row in db.execute(select(Site.id, Site.name))}
        waits = login_waits(db, now)
        for u in list_users(db):
            wait = waits.get(u.username)
            items.append({"username": u.username, "full_name": u.full_name, "role": u.role, "site": u.site_id,
                          "site_name": names.get(u.site_id), "states": states(u, waits),
                          "throttled_until": wait.isoformat(timespec="seconds") if wait else None})
    if args.json:
        json.dump(items, sys.stdout, indent=1, ensure_ascii=False)
        print()
    else:
        for it in items:
            state = ", ".join(fr.label("user_state", code) for code in it["states"])
            print(f"{it['username']:<20} {it['full_name']:<28} {it['role']:<11} {it['site'] or '—':<20} {state}")
    return 0


def _user_action(args, action: str) -> int:
    """``user disable|enable|unlock USERNAME``: one of :data:`central.accounts.ACTIONS`, audited as ``--by``."""
    from central import accounts

    todo = accounts.ACTIONS[action]
    with _services(args).db() as db, db.begin():
        changed = todo.run(db, args.username, accounts.Actor(args.by, "cli"))
    print(f"user {args.username}: " + (todo.state if changed else f"unchanged (already {todo.state})"),
          file=sys.stderr)
    return 0


def cmd_user_reset_password(args) -> int:
    """The temporary password alone on stdout, for the person who hands it over; nothing of it on stderr."""
    from central import accounts

    with _services(args).db() as db, db.begin():
        reset = accounts.reset_password(db, args.username, accounts.Actor(args.by, "cli"))
    print(reset.password)
    print(f"user {args.username}: temporary password set, to be changed at the next login; its sessions are "
          "closed. Hand it over in person.", file=sys.stderr)
    return 0


def cmd_site_list(args) -> int:
    from dataclasses import asdict

    from central.sites import list_sites

    with _services(args).db() as db:
        items = [asdict(row) for row in list_sites(db)]
    if args.json:
        json.dump(items, sys.stdout, indent=1, ensure_ascii=False)
        print()
    else:
        for it in items:
            print(f"{it['id']:<24} {it['name']:<30} {it['default_language']:<3} {it['timezone']:<16} "
                  f"{it['kiosks']:>3} kiosks  {it['address']} | {it['opening_hours']}")
    return 0


def cmd_site_set(args) -> int:
    from central.enrollment import existing_site
    from central.sites import edit_site

    with _services(args).db() as db, db.begin():
        site = existing_site(db, args.site)
        changed = edit_site(db, site, actor=args.by, role="cli", name=args.name, address=args.address,
                            opening_hours=args.hours, default_language=args.language, timezone=args.timezone)
        site_id = site.id
    print(f"site {site_id}: " + (", ".join(changed) + " changed" if changed else "unchanged"), file=sys.stderr)
    return 0


def cmd_site_create(args) -> int:
    from central.sites import create_site

    with _services(args).db() as db, db.begin():
        site = create_site(db, actor=args.by, role="cli", name=args.name, address=args.address,
                           opening_hours=args.hours, default_language=args.language, timezone=args.timezone)
        site_id = site.id
    print(site_id)
    print(f"site {site_id} created", file=sys.stderr)
    return 0


def cmd_db_upgrade(args) -> int:
    _services(args)  # building the services migrates
    print("schema up to date", file=sys.stderr)
    return 0


def cmd_demo(args) -> int:
    from central.demo import seed

    print(seed(_services(args)), file=sys.stderr)
    return 0


def cmd_transmit(args) -> int:
    from central.transmission import transmit_validated

    count = transmit_validated(_services(args), Path(args.out) if args.out else None)
    print(f"{count} dossiers sent to the préfecture", file=sys.stderr)
    return 0


def cmd_import(args) -> int:
    from central.importer import import_dir

    report = import_dir(_services(args), Path(args.directory))
    print(json.dumps(report, ensure_ascii=False))
    return 1 if report["refused"] else 0


def cmd_backup(args) -> int:
    from central.backup import backup

    summary = backup(load_config(data_dir=args.data_dir, db_url=args.db), Path(args.dest), with_keys=args.with_keys)
    print(f"backup in {args.dest}: {summary}" + ("" if args.with_keys else " (without the keys: keep them apart)"),
          file=sys.stderr)
    return 0


def cmd_restore(args) -> int:
    from central.backup import restore

    config = load_config(data_dir=args.data_dir, db_url=args.db)
    summary = restore(config, Path(args.source))
    build_services(config).close()  # migrated: a backup of an older version opens in this one
    print(f"restored from {args.source}: {summary}", file=sys.stderr)
    return 0


def _by(p: argparse.ArgumentParser) -> None:
    p.add_argument("--by", default="cli", help="who asked (recorded)")


def _site_settings(p: argparse.ArgumentParser, new: bool) -> None:
    """What ``site create`` and ``site set`` both take; a new mairie's defaults are ``central.sites``'."""
    from central.sites import DEFAULT_LANGUAGE, DEFAULT_ZONE

    default = " (default %(default)s)" if new else ""
    p.add_argument("--address", default="" if new else None,
                   help="printed on the receipt (48 columns a line: keep it short)")
    p.add_argument("--hours", default="" if new else None, help="opening hours, printed on the receipt")
    p.add_argument("--language", choices=list(LANGUAGES), default=DEFAULT_LANGUAGE if new else None,
                   help="the language its kiosks greet in" + default)
    p.add_argument("--timezone", default=DEFAULT_ZONE if new else None,
                   help="its time zone, printed on receipts (e.g. Europe/Paris, America/Cayenne)" + default)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk-central", description="Central service of the kiosks.")
    parser.add_argument("--version", action="version", version=__version__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="state directory (else KIOSK_CENTRAL_DATA, else var/central)")
    common.add_argument("--db", help="database URL, e.g. postgresql+psycopg://user@host/db (else SQLite)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", parents=[common], help="run the HTTP service")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--workers", type=int, default=1, help="API processes (stateless; share the database)")
    p.add_argument("--demo", action="store_true", help="load demo pré-demandes, sites and accounts first")
    p.add_argument("--public-url", help="where citizens reach this service (printed on receipts: its /statut page)")
    p.add_argument("--ants-url", help="the agency's coordination API, e.g. https://api-coordination."
                                      "rendezvouspasseport.ants.gouv.fr/api (token in KIOSK_CENTRAL_ANTS_TOKEN)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("ants-emulator", help="serve an emulator of the agency's coordination API on the loopback")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8090)
    p.add_argument("--statuses", help='JSON {"NUMBER": "validated"|"consumed"|…} (default: the demo pré-demandes)')
    p.set_defaults(func=cmd_ants_emulator)

    token = sub.add_parser("token", help="enrollment tokens").add_subparsers(dest="action", required=True)
    p = token.add_parser("create", parents=[common], help="print a one-time enrollment token for a site")
    p.add_argument("--site", required=True, help="site id or name (an existing one: `site create` adds one)")
    p.add_argument("--days", type=float, default=7.0, help="validity (default 7 days)")
    _by(p)
    p.set_defaults(func=cmd_token_create)

    dossiers = sub.add_parser("dossiers", help="received dossiers").add_subparsers(dest="action", required=True)
    p = dossiers.add_parser("list", parents=[common])
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_dossiers_list)

    devices = sub.add_parser("devices", help="enrolled kiosks").add_subparsers(dest="action", required=True)
    p = devices.add_parser("list", parents=[common])
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_devices_list)
    p = devices.add_parser("revoke", parents=[common])
    p.add_argument("device_id")
    _by(p)
    p.set_defaults(func=cmd_devices_revoke)

    pre = sub.add_parser("predemandes", help="pré-demandes").add_subparsers(dest="action", required=True)
    p = pre.add_parser("import", parents=[common], help="import a JSON file (a list of pré-demandes)")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("file", nargs="?")
    group.add_argument("--demo", action="store_true", help="the demo set")
    p.set_defaults(func=cmd_predemandes_import)

    users = sub.add_parser("user", help="console accounts").add_subparsers(dest="action", required=True)
    p = users.add_parser("create", parents=[common])
    p.add_argument("--username", required=True)
    p.add_argument("--role", required=True, choices=["agent", "supervisor", "technician", "admin"])
    p.add_argument("--site", help="the agent's mairie (id or name)")
    p.add_argument("--full-name", default="")
    p.add_argument("--password-stdin", action="store_true")
    _by(p)
    p.set_defaults(func=cmd_user_create)
    p = users.add_parser("list", parents=[common], help="every account: login, name, role, mairie, state")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_user_list)
    for action, help_text in (("disable", "refuse the account every login and close its sessions"),
                              ("enable", "let a disabled account log in again"),
                              ("unlock", "lift the waits set on logins to the account (too many failures)")):
        p = users.add_parser(action, parents=[common], help=help_text)
        p.add_argument("username")
        _by(p)
        p.set_defaults(func=lambda args, action=action: _user_action(args, action))
    p = users.add_parser("reset-password", parents=[common],
                         help="print a temporary password (alone on stdout), to be changed at the next login")
    p.add_argument("username")
    _by(p)
    p.set_defaults(func=cmd_user_reset_password)

    site = sub.add_parser("site", help="the mairies' settings").add_subparsers(dest="action", required=True)
    p = site.add_parser("list", parents=[common])
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_site_list)
    p = site.add_parser("create", parents=[common], help="add a mairie (prints its id alone on stdout)")
    p.add_argument("name", help="its name, as kiosks print it (its id is made from it)")
    _site_settings(p, new=True)
    _by(p)
    p.set_defaults(func=cmd_site_create)
    p = site.add_parser("set", parents=[common], help="change what a mairie's kiosks print and speak first")
    p.add_argument("site", help="site id or name")
    p.add_argument("--name", help="a new name")
    _site_settings(p, new=False)
    _by(p)
    p.set_defaults(func=cmd_site_set)

    db = sub.add_parser("db", help="schema").add_subparsers(dest="action", required=True)
    p = db.add_parser("upgrade", parents=[common])
    p.set_defaults(func=cmd_db_upgrade)

    p = sub.add_parser("demo", parents=[common], help="load demo sites, accounts and pré-demandes")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("import", parents=[common], help="ingest packages exported on a USB stick by `kiosk queue export`")
    p.add_argument("directory")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("backup", parents=[common], help="back the service up while it runs (database, parts)")
    p.add_argument("dest", help="a new or empty directory")
    p.add_argument("--with-keys", action="store_true",
                   help="include the service's keys (else keep them apart: they open every dossier)")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("restore", parents=[common], help="restore a backup into a service that has no database yet")
    p.add_argument("source", help="a directory made by `kiosk-central backup`")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("transmit", parents=[common], help="send validated dossiers to the préfecture")
    p.add_argument("--out", help="directory receiving the transmitted packages (stand-in for the national system)")
    p.set_defaults(func=cmd_transmit)
    return parser


def main(argv: list[str] | None = None) -> int:
    set_umask()  # before any command creates a file
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (InsecureDataDir, NotDemoData, BackupRefused) as exc:
        print(f"kiosk-central: {exc}", file=sys.stderr)
        return 2
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"kiosk-central: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
