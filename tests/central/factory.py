"""Real dossiers for the central service's tests: captured by the simulated kiosk, delivered by the real client.

``deliver_dossier`` enrolls a kiosk with a one-time token, replays an example
scenario on the simulated hardware with the outbox sealed to the service's
key, and uploads the package through :class:`kiosk.sync.client.CentralClient`
over the test client. Nothing is inserted behind the API's back. ``Clock`` is
the service's clock that tests move by hand (the ``clock`` fixture installs one).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from nacl.signing import SigningKey, VerifyKey
from sqlalchemy import func, select

from central.context import Services
from central.enrollment import create_token, site_by_name
from central.sites import create_site
from central import ingest
from central.models import Device, Dossier
from kiosk.config import KioskConfig, QueueConfig, SiteConfig, load_config, simulated
from kiosk.scenario import load_scenario, run_scenario
from kiosk.sync.client import CentralClient
from kiosk.sync.outbox import Outbox
from titres.protocol import sign_manifest

#: The password of every console account the tests make (``people`` in conftest.py).
PASSWORD = "mairie-password-2026"

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scenarios"


@dataclass
class Kiosk:
    device_id: str
    site_id: str
    kiosk_code: str
    key: SigningKey
    central: CentralClient
    config: KioskConfig


def add_site(services: Services, name: str) -> str:
    """The mairie of this id or name, added as the *Mairies* page adds one if the test has not made it yet; its id.

    Tokens are made only for existing mairies: the console's *Mairies* page adds them, here the test does.
    """
    with services.db() as db, db.begin():
        site = site_by_name(db, name) or create_site(db, actor="test", role="test", name=name)
        return site.id


def enroll_kiosk(services: Services, http, data_dir: Path, site: str = "demo-site") -> Kiosk:
    token = create_token(services, add_site(services, site), created_by="test")
    key = SigningKey.generate()
    central = CentralClient(http)
    answer = central.enroll(token, bytes(key.verify_key).hex(), "test-kiosk", "test")
    central.device_id, central.key = answer["device_id"], key
    central.service_key = VerifyKey(bytes.fromhex(answer["verify_key"]))
    config = simulated(load_config(env={})).with_overrides(
        data_dir=data_dir,
        site=SiteConfig(site_id=answer["site"]["id"], kiosk_code=answer["kiosk_code"], name=answer["site"]["name"]),
        queue=QueueConfig(min_free_bytes=0, recipient_public_key=answer["sealing_public_key"]),
    )
    return Kiosk(answer["device_id"], answer["site"]["id"], answer["kiosk_code"], key, central, config)


def capture(kiosk: Kiosk, scenario: str = "adult-renewal-cni") -> tuple[str, str]:
    """Replay an example on the simulated kiosk; return (dossier id, number) as queued."""
    result = run_scenario(load_scenario(EXAMPLES / f"{scenario}.json"), kiosk.config)
    assert result["ok"], result["failures"]
    with Outbox(kiosk.config.data_dir, _any_key(kiosk), recover=False) as outbox:
        queued = outbox.by_number(result["dossier_number"])
    return queued.id, queued.number


def _any_key(kiosk: Kiosk):
    from kiosk.sync.seal import recipient_key

    return recipient_key(kiosk.config.queue.recipient_public_key)


def package_of(kiosk: Kiosk, dossier_id: str) -> tuple[dict, list[bytes]]:
    """The queued package as the kiosk would send it: its manifest and its sealed parts."""
    with Outbox(kiosk.config.data_dir, _any_key(kiosk), recover=False) as outbox:
        pkg = outbox.package(dossier_id, kiosk.device_id)
        return pkg.manifest, [read() for read in pkg.parts]


def staged(services: Services, kiosk: Kiosk, dossier_id: str, sent=None) -> tuple[dict, Device]:
    """The queued package declared to the service and its parts ``sent`` (indices; all when None) put, as the
    kiosk's upload would, without the commit: its manifest and the kiosk's row."""
    manifest, parts = package_of(kiosk, dossier_id)
    with services.db() as db:
        device = db.get(Device, kiosk.device_id)
    ingest.declare(services, device, manifest, sign_manifest(manifest, kiosk.key))
    for index in range(len(parts)) if sent is None else sent:
        ingest.put_part(services, device, dossier_id, index, parts[index])
    return manifest, device


def upload(kiosk: Kiosk, dossier_id: str) -> dict:
    with Outbox(kiosk.config.data_dir, _any_key(kiosk), recover=False) as outbox:
        return kiosk.central.upload(outbox.package(dossier_id, kiosk.device_id))


def deliver_dossier(services: Services, http, data_dir: Path, site: str = "demo-site",
                    scenario: str = "adult-renewal-cni", kiosk: Kiosk | None = None) -> Dossier:
    kiosk = kiosk or enroll_kiosk(services, http, data_dir, site)
    dossier_id, _ = capture(kiosk, scenario)
    upload(kiosk, dossier_id)
    with services.db() as db:
        return db.get(Dossier, dossier_id)


def count(services: Services, model) -> int:
    with services.db() as db:
        return db.scalar(select(func.count()).select_from(model))


class Clock:
    """The service's clock, moved by hand."""

    def __init__(self) -> None:
        self.t = float(int(time.time()))

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.t, timezone.utc)
