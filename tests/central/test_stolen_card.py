"""A stolen SD card: from the kiosk's data directory alone, nothing personal can be read.

Real sessions (adult, minor, offline) are captured on the simulated kiosk,
provisioned against the service. Every byte under the data directory —
SQLite file and its WAL, sealed parts, manifests, keys, configuration — is
then searched for the citizens' fields and for slices of the very images
captured (recovered at the service, the only place that can open them).
The simulated printer's output is left out: it stands for the paper
receipt handed to the citizen.
"""

from __future__ import annotations

import json

from nacl.public import SealedBox

from central.predemandes import demo_records
from factory import capture, enroll_kiosk
from kiosk.sync.outbox import Outbox
from kiosk.sync.seal import recipient_key

SCENARIOS = ["adult-renewal-cni", "minor-first-passport", "offline-adult-loss"]


def _card(data_dir) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(data_dir.rglob("*"))
                    if p.is_file() and "sim" not in p.relative_to(data_dir).parts)


def _needles(record: dict) -> list[bytes]:
    person = record["person"]
    born = person["birth_date"]
    y, m, d = born.split("-")
    texts = [person["surname"], person["given_names"], born, f"{d}/{m}/{y}", record["number"],
             record.get("address", ""), record.get("contact", {}).get("email", "")]
    return [t.encode() for t in texts if t and len(t) >= 5] + [t.encode("utf-16-le") for t in texts if t and len(t) >= 5]


def test_the_data_directory_reveals_no_personal_field_or_image(services, client, tmp_path):
    kiosk = enroll_kiosk(services, client, tmp_path / "kiosk")
    ids = [capture(kiosk, name)[0] for name in SCENARIOS]
    card = _card(kiosk.config.data_dir)
    assert len(card) > 100_000  # the dossiers are there, sealed
    opener = SealedBox(services.keys.sealing)
    demo = {r["number"]: r for r in demo_records()}
    with Outbox(kiosk.config.data_dir, recipient_key(kiosk.config.queue.recipient_public_key), recover=False) as ob:
        for dossier_id in ids:
            parts = [opener.decrypt(read()) for read in ob.package(dossier_id, kiosk.device_id).parts]
            content = json.loads(parts[0])
            # offline, the kiosk never had the record; the citizen's fields are still the demo set's
            record = content["predemande"] or demo[content["predemande_number"]]
            for needle in _needles(record):
                assert needle not in card, needle
            for plain in parts[1:]:
                for start in range(0, len(plain) - 64, max(64, len(plain) // 8)):
                    assert plain[start:start + 64] not in card  # no slice of any image
