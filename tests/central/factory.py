"""Real dossiers for the central service's tests: captured by the simulated kiosk, delivered by the real client.

``deliver_dossier`` enrolls a kiosk with a one-time token, replays an example
scenario on the simulated hardware with the outbox sealed to the service's
key, and uploads the package through :class:`kiosk.sync.client.CentralClient`
over the test client. Nothing is inserted behind the API's back. ``Clock`` is
the service's clock that tests move by hand (the ``clock`` fixture installs one).

Two things every test would otherwise pay for again are made once per run:
a capture (about 1.3 s: the camera's stills, the sensor's handshake), which
:class:`Captures` replays where its inputs are the same, and the accounts'
password hash (:data:`PASSWORD_HASH`).
"""

from __future__ import annotations

import atexit
import hashlib
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from nacl.signing import SigningKey, VerifyKey
from sqlalchemy import func, select

from central.context import Services
from central.enrollment import create_token, site_by_name
from central.passwords import hash_password
from central.sites import create_site
from central import ingest
from central.models import Device, Dossier, User
from kiosk.config import KioskConfig, QueueConfig, SiteConfig, load_config, simulated
from kiosk.scenario import load_scenario, run_scenario
from kiosk.sync.client import CentralClient
from kiosk.sync.outbox import Outbox
from kiosk.sync.seal import recipient_key
from titres.protocol import sign_manifest

#: The password of every console account the tests make (``people`` in conftest.py).
PASSWORD = "mairie-password-2026"
#: One real scrypt hash of :data:`PASSWORD`, carried by every account the tests add (:func:`add_account`): a
#: hash costs 50 ms, and a fixture of five accounts paid a quarter of a second per test for the same password.
#: A login still verifies it with scrypt; how ``create_user`` hashes is what test_accounts.py checks.
PASSWORD_HASH = hash_password(PASSWORD)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scenarios"


@dataclass
class Kiosk:
    device_id: str
    site_id: str
    kiosk_code: str
    key: SigningKey
    central: CentralClient
    config: KioskConfig


def add_account(db, username: str, role: str, site_id: str | None = None, full_name: str = "") -> User:
    """An account whose password is :data:`PASSWORD`, in the caller's transaction.

    What ``central.accounts.create_user`` stores, with the run's one hash instead of a new one: its rules and
    its hashing are tested in test_accounts.py, the accounts here are only who the other tests log in as.
    """
    user = User(username=username, password_hash=PASSWORD_HASH, role=role, site_id=site_id, full_name=full_name)
    db.add(user)
    db.flush()
    return user


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


class Captures:
    """The captures made in this run, each replayed where the same capture is asked for again.

    What a capture leaves in the kiosk's data folder depends on the scenario, on
    the kiosk's configuration (its mairie, its code, the key its outbox seals
    to) and on what the folder held before; the rest (ids, noise, the clock) is
    arbitrary. So the folder after a capture is kept, keyed by those, and copied
    in place of the next capture with the same key: the service receives a
    dossier the kiosk really captured and sealed to its key, and the tests'
    services share one set of keys (``service_keys`` in conftest.py) for the
    key to repeat. A folder the test changed otherwise (an upload marks the
    queue) has another key, and is captured for real.
    """

    def __init__(self) -> None:
        self._root: Path | None = None
        self._made: dict[str, tuple[str, str]] = {}

    def capture(self, config: KioskConfig, scenario: str) -> tuple[str, str]:
        """(dossier id, number) of ``scenario`` captured on ``config``'s kiosk, as queued in its data folder."""
        data = Path(config.data_dir)
        key = self._key(config, scenario)
        if key in self._made:
            shutil.rmtree(data, ignore_errors=True)
            shutil.copytree(self._root / key, data)
            return self._made[key]
        result = run_scenario(load_scenario(EXAMPLES / f"{scenario}.json"), config)
        assert result["ok"], result["failures"]
        with Outbox(data, recipient_key(config.queue.recipient_public_key), recover=False) as outbox:
            queued = outbox.by_number(result["dossier_number"])
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="kiosk-test-captures-"))
            atexit.register(shutil.rmtree, self._root, True)
        shutil.copytree(data, self._root / key)
        self._made[key] = (queued.id, queued.number)
        return self._made[key]

    @staticmethod
    def _key(config: KioskConfig, scenario: str) -> str:
        digest = hashlib.sha256(f"{scenario}\0{replace(config, data_dir=Path('.'))!r}".encode())
        data = Path(config.data_dir)
        for path in sorted(data.rglob("*")) if data.is_dir() else ():
            if path.is_file():
                digest.update(f"\0{path.relative_to(data)}\0".encode())
                digest.update(path.read_bytes())
        return digest.hexdigest()


#: The run's captures (a capture is the same whichever test asks for it; see :class:`Captures`).
CAPTURES = Captures()


def capture(kiosk: Kiosk, scenario: str = "adult-renewal-cni") -> tuple[str, str]:
    """Replay an example on the simulated kiosk; return (dossier id, number) as queued."""
    return CAPTURES.capture(kiosk.config, scenario)


def _any_key(kiosk: Kiosk):
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
