"""An agent's validation of a 3-document dossier through the browser: verdicts saved in place, against the
same validation with each verdict a form that reloads the page, measured in the same run.

The service is ``kiosk-central serve`` on SQLite, holding dossiers captured by the simulated kiosk and
delivered through the real API (``tests/central/factory.py``: real photos, fingerprints, signature).
Debian's Chromium, driven by Playwright, logs in as an agent and, for each dossier: opens its page,
judges each document « Conforme » and saves it, then validates. Three ways, on dossiers of their own:

* ``avant``: an emulation of the console before issue 16, not that code: today's console with JavaScript
  and the browser's cache turned off, so each save posts the form, the page comes back and every image is
  downloaded again, as every verdict worked then (images were ``no-store``);
* ``formulaires``: JavaScript off, the page as it works without it today: the same posts and page
  loads, the images kept by the browser at their content address;
* ``en place``: JavaScript on: each save is one request that answers the page's changed parts.

For each validation it prints the wall time from opening the page to the validated page (the server's
and the browser's time: no think time), the time of one verdict, the page loads a verdict made (the
``document`` requests between the click on « Enregistrer » and the verdict shown), the requests made
(pages, images, scripts' requests) and the server's CPU time. Target: no verdict loads a page (0 for
``en place``); a 3-document validation under 3 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(REPO / "tests" / "browser"))  # the browser tests' Chromium, its flags, the login

from _central_server import central_service, cpu_seconds  # noqa: E402
from browsing import ARGS, CHROMIUM, login, seed_people, service, service_db  # noqa: E402


def seed(data: Path, count: int) -> list:
    from fastapi.testclient import TestClient

    from central.app import create_app
    from factory import deliver_dossier, enroll_kiosk

    with service(data) as services:
        seed_people(services, [("agent", "agent", "mairie-a", "Camille Durand")],
                    {"mairie-a": ("Mairie de Trèbes", None)})
        with TestClient(create_app(services)) as http:
            kiosk = enroll_kiosk(services, http, data / "kiosk", "mairie-a")
            return [deliver_dossier(services, http, data / "kiosk", kiosk=kiosk) for _ in range(count)]


def image_reads(data: Path, dossier_id: str) -> int:
    """Images the server sent for this dossier: each is an audit line (``view_*``), written before it is sent."""
    from sqlalchemy import func, select

    from central.models import AuditEntry

    with service_db(data) as db:
        return db.scalar(select(func.count()).select_from(AuditEntry)
                         .where(AuditEntry.dossier_id == dossier_id, AuditEntry.action.like("view_%")))


def validate(page, url: str, dossier, in_place: bool) -> dict:
    """One validation; what it cost."""
    requests: list[tuple[str, str]] = []

    def seen(request) -> None:
        requests.append((request.method, request.resource_type))

    page.on("request", seen)
    verdicts, verdict_pages = [], []
    start = time.perf_counter()
    page.goto(f"{url}/console/dossiers/{dossier.id}")
    page.wait_for_load_state("load")
    pieces = page.locator("article.piece")
    for i in range(pieces.count()):
        piece = pieces.nth(i)
        piece.get_by_label("Conforme", exact=True).check()
        asked = len(requests)
        began = time.perf_counter()
        if in_place:
            piece.get_by_role("button", name="Enregistrer").click()
            piece.locator(".current.verdict-conforme").wait_for()
        else:
            with page.expect_navigation(wait_until="load"):
                piece.get_by_role("button", name="Enregistrer").click()
            pieces.nth(i).locator(".current.verdict-conforme").wait_for()
        verdicts.append(time.perf_counter() - began)
        verdict_pages.append(sum(1 for _, kind in requests[asked:] if kind == "document"))
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Valider et transmettre à la préfecture").click()
    assert "Validé" in page.locator("h1 .state").inner_text()
    elapsed = time.perf_counter() - start
    page.remove_listener("request", seen)
    return {"seconds": elapsed, "verdict_s": statistics.median(verdicts), "verdict_pages": sum(verdict_pages),
            "requests": len(requests),
            "pages": sum(1 for _, kind in requests if kind == "document"),
            "images": sum(1 for _, kind in requests if kind == "image"),
            "fetches": sum(1 for _, kind in requests if kind == "fetch")}


def run(per_mode: int) -> dict:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-review-") as tmp:
        data = Path(tmp) / "central"
        print(f"delivering {3 * per_mode} dossiers through the API…", flush=True)
        dossiers = seed(data, 3 * per_mode)
        results: dict[str, list[dict]] = {}
        with central_service(data, None, workers=1) as server, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            for mode, in_place, cached, batch in (("avant", False, False, dossiers[:per_mode]),
                                                  ("formulaires", False, True, dossiers[per_mode:2 * per_mode]),
                                                  ("en place", True, True, dossiers[2 * per_mode:])):
                context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="fr-FR",
                                              java_script_enabled=in_place)
                page = context.new_page()
                if not cached:
                    devtools = context.new_cdp_session(page)
                    devtools.send("Network.enable")
                    devtools.send("Network.setCacheDisabled", {"cacheDisabled": True})
                login(page, server.base_url, "agent")
                runs = []
                for dossier in batch:
                    before = cpu_seconds(server.pids())
                    row = validate(page, server.base_url, dossier, in_place)
                    row["server_cpu_s"] = cpu_seconds(server.pids()) - before
                    row["images_sent"] = image_reads(data, dossier.id)
                    runs.append(row)
                results[mode] = runs
                context.close()
            browser.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=5, help="validations per way (default 5)")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print("bench_review: Debian's chromium is needed (apt-get install chromium)", file=sys.stderr)
        return 2
    results = run(args.dossiers)
    print(f"\nA 3-document validation through the browser, median of {args.dossiers} per way:")
    print(f"{'':14}{'validation':>12}{'one verdict':>13}{'verdict pages':>15}{'requests':>10}{'pages':>7}"
          f"{'images':>8}{'sent':>6}{'fetches':>9}{'server CPU':>12}")
    medians = {}
    for mode, runs in results.items():
        m = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        medians[mode] = m
        print(f"{mode:14}{m['seconds']:>10.2f} s{m['verdict_s'] * 1000:>10.0f} ms{m['verdict_pages']:>15.0f}"
              f"{m['requests']:>10.0f}"
              f"{m['pages']:>7.0f}{m['images']:>8.0f}{m['images_sent']:>6.0f}{m['fetches']:>9.0f}"
              f"{m['server_cpu_s']:>10.2f} s")
    old, new = medians["avant"], medians["en place"]
    print(f"\nen place / avant: validation ×{new['seconds'] / old['seconds']:.2f}, "
          f"one verdict ×{new['verdict_s'] / old['verdict_s']:.2f}, requests ×{new['requests'] / old['requests']:.2f}, "
          f"server CPU ×{new['server_cpu_s'] / old['server_cpu_s']:.2f}")
    print(f"target: a validation under 3 s (en place: {new['seconds']:.2f} s); no verdict loads a page "
          f"(en place: {new['verdict_pages']:.0f} page loads in its 3 verdicts, avant: {old['verdict_pages']:.0f})")
    print("avant: an emulation of the console before issue 16 (today's code, JavaScript and the browser's cache "
          "off), not that code")
    print("verdict pages: the document requests between the clicks on « Enregistrer » and the verdicts shown; "
          "pages: all of a validation's, opening the dossier and validating it included")
    print("requests and images: what the browser asked for, from its cache or not; sent: the images the server "
          "sent (one audit line each)")
    print(json.dumps({mode: {key: round(value, 3) for key, value in m.items()} for mode, m in medians.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
