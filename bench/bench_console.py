"""The agents' console with a full database: page times at 100,000 dossiers against 1,000, SQLite and PostgreSQL.

A département's central service accumulates about 100,000 dossiers over a
few years. The question is whether the pages an agent uses all day (the
queue, a search by the number on the citizen's receipt, a dossier) stay as
fast as on a young database. Each backend is filled twice in the same run,
with 1,000 and with ``--dossiers`` (100,000) rows, and the same requests
are timed on both: the ratio shows whether time grows with size.

Rows are bulk-inserted with SQLAlchemy Core (content JSON in the kiosk's
schema, 200 mairies, two years of reception dates, states by age, one
history event each); a handful of real dossiers with real images are then
delivered through the API by enrolled kiosks, so the dossier page shows
what an agent sees. Requests go over HTTP to ``kiosk-central serve``,
logged in through the login form as an agent of one mairie (and as a
supervisor, whose queue spans every mairie). PostgreSQL is ANALYZEd after
the bulk load, as autovacuum would have done; SQLite is left as is.

The page query behind the worklist is captured as the console runs it and
EXPLAINed on both engines, to check it walks an index instead of sorting
the table: ``dossiers_site_state_received`` (agent) and
``dossiers_state_received`` (supervisor) for the dossiers « À vérifier »,
oldest first (the default), ``dossiers_site_received`` and
``dossiers_received`` for every state.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import sys
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _central_server import (build_package, central_service, enroll_kiosks, fresh_database, percentile,  # noqa: E402
                             postgres, scratch_dir, template_dossier)

SITES = 200
BATCH = 5_000
PASSWORD = "banc-d-essai-console"
SURNAMES = ["MARTIN", "BERNARD", "THOMAS", "PETIT", "ROBERT", "RICHARD", "DURAND", "DUBOIS", "MOREAU", "LAURENT",
            "SIMON", "MICHEL", "LEFEBVRE", "LEROY", "ROUX", "DAVID", "BERTRAND", "MOREL", "FOURNIER", "GIRARD",
            "BONNET", "DUPONT", "LAMBERT", "FONTAINE", "ROUSSEAU", "VINCENT", "MULLER", "LEFEVRE", "FAURE", "ANDRE",
            "MERCIER", "BLANC", "GUERIN", "BOYER", "GARNIER", "CHEVALIER", "FRANCOIS", "LEGRAND", "GAUTHIER", "NGUYEN"]
GIVEN = ["Jean", "Marie", "Nathalie", "Pierre", "Isabelle", "Michel", "Sylvie", "Philippe", "Catherine", "Alain",
         "Léa", "Lucas", "Chloé", "Hugo", "Emma", "Louis", "Inès", "Gabriel", "Jade", "Raphaël"]


def site_name(i: int) -> str:
    return f"Mairie de Banc {i:03d}"


# -- filling the database ----------------------------------------------------------------
def _images() -> dict[str, bytes]:
    """Real JPEG and PNG bytes of about the kiosk's sizes, so the dossier page has images to show; the
    signature is the kiosk's own rendering of a scribble."""
    import numpy as np
    from PIL import Image

    from kiosk.core.signature import demo_strokes, signature_png

    rng = np.random.default_rng(7)

    def encode(array, fmt, **kw) -> bytes:
        out = io.BytesIO()
        Image.fromarray(array).save(out, fmt, **kw)
        return out.getvalue()

    page = (rng.normal(200, 40, (900, 640, 3)).clip(0, 255)).astype("uint8")
    finger = (rng.normal(128, 60, (288, 256))).clip(0, 255).astype("uint8")
    return {"jpeg": encode(page, "JPEG", quality=80), "finger": encode(finger, "PNG"),
            "signature": signature_png(demo_strokes()), "template": os.urandom(512)}


def _payload(images: dict[str, bytes]):
    def payload(name: str) -> bytes:
        if name.startswith("documents/"):
            return images["jpeg"]
        if name.endswith(".tpl"):
            return images["template"]
        return images["finger"] if name.startswith("fingerprints/") else images["signature"]
    return payload


def bulk_load(services, count: int, template: dict, agent_rows: int, seed: int = 1) -> dict:
    """``count`` dossier rows (and one event each) over ``SITES`` mairies, inserted with Core in batches.

    The agent's mairie (site 0) gets ``agent_rows`` of them whatever ``count``
    is, so its queue holds the same number of dossiers on the small and the
    big database and the ratio measures the table's size, not a fuller page.
    """
    from sqlalchemy import insert

    from central.enrollment import slug
    from central.models import Device, Dossier, DossierEvent, Site
    from titres.ids import dossier_number, encode, uuid7

    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    sites = [{"id": slug(site_name(i)), "name": site_name(i), "address": f"{i} place de la Mairie",
              "opening_hours": "lun.-ven. 9 h-17 h"} for i in range(SITES)]
    devices = [{"id": str(uuid.uuid4()), "site_id": s["id"], "kiosk_code": "B" + encode(i, 3),
                "public_key": os.urandom(32).hex(), "hostname": f"borne-{i}", "software_version": "0.1.0",
                "heartbeat": {}, "enrolled_at": now - timedelta(days=800)} for i, s in enumerate(sites)]
    parts = [{"size": 335_048, "sha256": os.urandom(32).hex()} for _ in range(10)]
    stub = os.urandom(80).hex()
    counters = [0] * SITES
    t0 = time.perf_counter()
    with services.engine.begin() as conn:
        conn.execute(insert(Site.__table__), sites)
        conn.execute(insert(Device.__table__), devices)
    sample_numbers: list[str] = []
    sample_ids: list[str] = []
    done = 0
    while done < count:
        rows, events = [], []
        for _ in range(min(BATCH, count - done)):
            s = 0 if done + len(rows) < agent_rows else rng.randrange(1, SITES)
            counters[s] += 1
            received = now - timedelta(seconds=rng.uniform(3600, 730 * 86400))
            created = received - timedelta(minutes=rng.uniform(1, 600))
            dossier_id = str(uuid7(int(created.timestamp() * 1000)))
            number = dossier_number(devices[s]["kiosk_code"], counters[s])
            surname, given = rng.choice(SURNAMES), rng.choice(GIVEN)
            born = date(1940, 1, 1) + timedelta(days=rng.randrange(30_000))
            age_days = (now - received).days
            state = ("sent" if rng.random() > 0.05 else "returned") if age_days > 14 else \
                rng.choice(["received", "received", "validated"])
            pd_number = "".join(rng.choice("ABCDEFGHJKMNPQRSTVWXYZ0123456789") for _ in range(10))
            content = json.loads(json.dumps(template))
            content.update(id=dossier_id, number=number, site_id=sites[s]["id"], kiosk_code=devices[s]["kiosk_code"],
                           created_at=created.isoformat(timespec="seconds"), predemande_number=pd_number)
            content["predemande"]["number"] = pd_number
            content["predemande"]["person"].update(surname=surname, given_names=given, birth_date=born.isoformat())
            manifest = {"protocol": 1, "id": dossier_id, "number": number, "created_at": content["created_at"],
                        "site_id": sites[s]["id"], "kiosk_code": devices[s]["kiosk_code"],
                        "device_id": devices[s]["id"], "flags": [], "parts": parts,
                        "package_sha256": os.urandom(32).hex(), "status_stub": stub}
            decided = received + timedelta(hours=rng.uniform(1, 48)) if state != "received" else None
            rows.append({"id": dossier_id, "number": number, "site_id": sites[s]["id"], "device_id": devices[s]["id"],
                         "state": state, "created_at": created, "received_at": received,
                         "package_sha256": manifest["package_sha256"], "manifest": manifest,
                         "signature": os.urandom(64).hex(), "flags": [], "predemande_number": pd_number,
                         "surname": surname, "given_names": given, "birth_date": born, "content": content,
                         "decided_at": decided, "decided_by": "agent.banc" if decided else None,
                         "return_reasons": "Justificatif de domicile illisible." if state == "returned" else None,
                         "sent_at": decided + timedelta(days=1) if state == "sent" else None})
            events.append({"dossier_id": dossier_id, "at": received, "kind": "received",
                           "actor": devices[s]["id"], "detail": "10 parties"})
            if s == 0 and len(sample_numbers) < 50:
                sample_numbers.append(number)
                sample_ids.append(dossier_id)
        with services.engine.begin() as conn:
            conn.execute(insert(Dossier.__table__), rows)
            conn.execute(insert(DossierEvent.__table__), events)
        done += len(rows)
    return {"seconds": round(time.perf_counter() - t0, 1), "sample_numbers": sample_numbers, "sample_ids": sample_ids,
            "site0": sites[0]["id"]}


# -- query plans ---------------------------------------------------------------------------
def queue_plans(services, site_id: str) -> dict:
    """EXPLAIN the page query that ``worklist.worklist`` sends, captured as it runs, for an agent and a supervisor:
    the day's worklist (« À vérifier », oldest first) and every state (« Tous »)."""
    from sqlalchemy import event

    from central import worklist
    from central.models import Role

    captured: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM dossiers" in statement and statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    agent = SimpleNamespace(id=None, role=Role.AGENT, site_id=site_id)
    supervisor = SimpleNamespace(id=None, role=Role.SUPERVISOR, site_id=None)
    cases = (("agent", agent, worklist.Filters(), "dossiers_site_state_received"),
             ("supervisor", supervisor, worklist.Filters(), "dossiers_state_received"),
             ("agent_all_states", agent, worklist.Filters(state=None), "dossiers_site_received"),
             ("supervisor_all_states", supervisor, worklist.Filters(state=None), "dossiers_received"))
    event.listen(services.engine, "before_cursor_execute", capture)
    try:
        plans = {}
        for who, user, filters, index in cases:
            captured.clear()
            with services.db() as db:
                worklist.worklist(db, user, filters)
            statement, params = next((s, p) for s, p in captured if "ORDER BY" in s and "LIMIT" in s)
            prefix = "EXPLAIN QUERY PLAN " if services.engine.dialect.name == "sqlite" else "EXPLAIN ANALYZE "
            with services.engine.connect() as conn:
                rows = conn.exec_driver_sql(prefix + statement, params).all()
            text = "\n".join(" ".join(str(c) for c in r[-1:]) for r in rows)
            plans[who] = {"uses_index": index in text, "index": index, "plan": text}
        return plans
    finally:
        event.remove(services.engine, "before_cursor_execute", capture)


# -- timing ------------------------------------------------------------------------------
def login(base_url: str, username: str):
    """An HTTP client with a console session, through the login form as a person would."""
    import httpx

    http = httpx.Client(base_url=base_url, timeout=60.0, follow_redirects=False)
    http.get("/console/login").raise_for_status()
    csrf = http.cookies.get("console_login")
    answer = http.post("/console/login", data={"username": username, "password": PASSWORD, "csrf": csrf or ""})
    if answer.status_code != 303 or "console_session" not in http.cookies:
        raise RuntimeError(f"login as {username} failed: {answer.status_code} {answer.text[:200]}")
    return http


def timed(http, paths: list[str], repeat: int, expect: tuple[int, ...] = (200,)) -> dict:
    """Time GETs of ``paths`` in turn (after one untimed round); p50/p95 in ms."""
    for path in paths:
        http.get(path)
    times = []
    for i in range(repeat):
        path = paths[i % len(paths)]
        t0 = time.perf_counter()
        answer = http.get(path)
        times.append((time.perf_counter() - t0) * 1000)
        if answer.status_code not in expect:
            raise RuntimeError(f"GET {path}: {answer.status_code} {answer.text[:200]}")
    return {"p50_ms": round(percentile(times, 50), 1), "p95_ms": round(percentile(times, 95), 1), "n": repeat}


def measure_size(backend: str, db_url: str | None, count: int, args, template: dict, images: dict) -> dict:
    """One database of ``count`` rows: fill, deliver real dossiers, explain, time the pages."""
    from sqlalchemy import text

    from central.accounts import create_user
    from central.config import load_config
    from central.context import build_services
    from central.models import Role

    scratch = scratch_dir(f"bench-console-{backend}-{count}-", args.scratch)
    data_dir = scratch / "central"
    try:
        with central_service(data_dir, db_url, args.workers) as server:
            services = build_services(load_config(env={}, data_dir=str(data_dir), db_url=db_url))
            try:
                loaded = bulk_load(services, count, template, min(args.agent_rows, count // 2))
                kiosks = enroll_kiosks(server.base_url, data_dir, db_url, 2, [site_name(0)])
                real = []
                for i in range(args.real):
                    built = build_package(kiosks[i % 2], template, {"surname": "ESSAI", "given_names": "Camille"},
                                          _payload(images))
                    kiosks[i % 2].client.upload(built.package)
                    real.append(built.package.manifest["id"])
                for k in kiosks:
                    k.client.close()
                with services.db() as db, db.begin():
                    create_user(db, "agent.banc", PASSWORD, Role.AGENT.value, loaded["site0"], "Agent de banc")
                    create_user(db, "superviseur.banc", PASSWORD, Role.SUPERVISOR.value, None, "Superviseur")
                if services.engine.dialect.name == "postgresql":
                    with services.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                        conn.execute(text("ANALYZE"))
                plans = queue_plans(services, loaded["site0"])
            finally:
                services.close()
            agent = login(server.base_url, "agent.banc")
            supervisor = login(server.base_url, "superviseur.banc")
            n = args.repeat
            attachment = next(a["name"] for a in template["attachments"] if a["name"].startswith("documents/"))
            pages = {
                "queue_agent": timed(agent, ["/console/"], n),
                "queue_supervisor": timed(supervisor, ["/console/"], n),
                "queue_agent_page_5": timed(agent, ["/console/?state=all&page=5"], n),
                "queue_agent_filtered": timed(agent, ["/console/?state=all&alerts=without&sort=surname"], n),
                "search_number": timed(agent, [f"/console/?q={num}" for num in loaded["sample_numbers"]], n, (303,)),
                "search_surname": timed(agent, [f"/console/?q={s.lower()}" for s in SURNAMES[:10]], n),
                "dossier_real": timed(agent, [f"/console/dossiers/{i}" for i in real], n),
                "dossier_bulk": timed(agent, [f"/console/dossiers/{i}" for i in loaded["sample_ids"]], n),
                "attachment_image": timed(agent, [f"/console/dossiers/{i}/attachments/{attachment}" for i in real],
                                          max(10, n // 2)),
            }
            agent.close()
            supervisor.close()
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    return {"dossiers": count, "bulk_load_s": loaded["seconds"], "pages": pages, "plans": plans}


def run_backend(backend: str, args, template: dict, images: dict, admin_url: str | None = None) -> dict:
    out = {}
    for count in (args.small, args.dossiers):
        db_url = fresh_database(admin_url, f"bench_console_{count}") if admin_url else None
        out[count] = measure_size(backend, db_url, count, args, template, images)
    small, big = out[args.small]["pages"], out[args.dossiers]["pages"]
    ratios = {page: round(big[page]["p50_ms"] / small[page]["p50_ms"], 2) for page in big}
    return {"backend": backend, "small": out[args.small], "big": out[args.dossiers], "ratio_p50_big_over_small": ratios}


def print_report(res: dict) -> None:
    small, big = res["small"], res["big"]
    print(f"[{res['backend']}] console pages, {big['dossiers']:,} dossiers (bulk load {big['bulk_load_s']} s) "
          f"against {small['dossiers']:,}: p50 / p95 ms, ratio of p50s")
    for page, b in big["pages"].items():
        s = small["pages"][page]
        print(f"    {page:<20} {b['p50_ms']:>7} / {b['p95_ms']:<7}  vs {s['p50_ms']:>7} / {s['p95_ms']:<7}  "
              f"x{res['ratio_p50_big_over_small'][page]}")
    for who, plan in big["plans"].items():
        print(f"    {who} queue at {big['dossiers']:,}: {plan['index']} {'used' if plan['uses_index'] else 'NOT used'}; "
              f"plan: {plan['plan'].splitlines()[0] if plan['plan'] else '?'}"
              + (" | " + " | ".join(line.strip() for line in plan["plan"].splitlines()[1:4]) if "\n" in plan["plan"] else ""))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dossiers", type=int, default=100_000, help="rows of the big database (default 100,000)")
    parser.add_argument("--small", type=int, default=1_000, help="rows of the baseline database (default 1,000)")
    parser.add_argument("--agent-rows", type=int, default=500,
                        help="dossiers of the agent's mairie in both databases (default 500: 100,000 / 200 mairies)")
    parser.add_argument("--real", type=int, default=5, help="dossiers delivered through the API (default 5)")
    parser.add_argument("--repeat", type=int, default=60, help="timed requests per page (default 60)")
    parser.add_argument("--workers", type=int, default=2, help="server processes (default 2)")
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--quick", action="store_true", help="10,000 against 1,000 rows, fewer requests")
    parser.add_argument("--scratch", default="/tmp", help="where the data directories go (default /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the data directories")
    args = parser.parse_args(argv)
    if args.quick:
        args.dossiers, args.real, args.repeat = min(args.dossiers, 10_000), min(args.real, 3), min(args.repeat, 20)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    template, images = template_dossier(), _images()
    results = {}
    if "sqlite" in backends:
        results["sqlite"] = run_backend("sqlite", args, template, images)
        print_report(results["sqlite"])
    if "postgresql" in backends:
        with postgres() as admin_url:
            results["postgresql"] = run_backend("postgresql", args, template, images, admin_url)
        print_report(results["postgresql"])
    return results


if __name__ == "__main__":
    summary = main()
    for backend in summary.values():  # the last line stays one readable JSON summary
        for size in ("small", "big"):
            for plan in backend[size]["plans"].values():
                plan["plan"] = plan["plan"][:400]
    print(json.dumps(summary))
