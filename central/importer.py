"""``kiosk-central import DIR``: packages carried on a USB stick from a kiosk that could not sync.

Every folder goes through the same three steps as a network upload
(declare, parts, commit), as the device named in the signed manifest: the
signature, the device's revocation, the hashes and the exactly-once commit
are checked by the same code. A folder without ``package.json`` (a copy cut
short) is skipped and reported, never half-imported.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from central import ingest
from central.context import Services
from central.models import Device
from titres.protocol import ProtocolError

PACKAGE_FILE = "package.json"


def import_dir(services: Services, source: Path) -> dict[str, Any]:
    report: dict[str, Any] = {"imported": 0, "already_held": 0, "refused": []}
    for folder in sorted(p for p in Path(source).iterdir() if p.is_dir()):
        try:
            stored = _import_one(services, folder)
        except (ProtocolError, OSError, ValueError) as exc:
            report["refused"].append({"folder": folder.name, "error": str(exc)})
            continue
        report["imported" if stored else "already_held"] += 1
    return report


def _import_one(services: Services, folder: Path) -> bool:
    package_file = folder / PACKAGE_FILE
    if not package_file.exists():
        raise ProtocolError("incomplete", "no package.json: the copy was cut short")
    body = json.loads(package_file.read_text())
    manifest = body.get("manifest") if isinstance(body, dict) else None
    if not isinstance(manifest, dict) or manifest.get("id") != folder.name:
        raise ProtocolError("malformed_manifest", "package.json does not describe this folder")
    with services.db() as db:
        device = db.get(Device, str(manifest.get("device_id", ""))[:64])
    if device is None:
        raise ProtocolError("unknown_device", "the package names a device this service does not know")
    if device.revoked_at is not None:
        raise ProtocolError("revoked", "the package's device is revoked")
    declared = ingest.declare(services, device, manifest, body.get("signature"))
    if declared.complete:
        return False
    for index in declared.missing:
        ingest.put_part(services, device, manifest["id"], index, (folder / f"p{index:03d}.sealed").read_bytes())
    ingest.commit(services, device, manifest["id"])
    return True
