"""Provisioning: a kiosk takes its place in the fleet with a one-time token from the central service.

The device's Ed25519 key pair is made here, on the kiosk; only the public
half leaves it. What the service answers (device id, kiosk code, the
mairie's details for the receipt, the service's sealing and verification
keys) is written to ``<data>/provisioned.toml``, which ``load_config``
reads, so provisioning is nothing more than configuration. Both files are
written durably; provisioning again replaces them (a re-enrolled kiosk).
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from typing import Any

from nacl.signing import SigningKey

from kiosk import __version__
from kiosk.config import KioskConfig
from titres.timezones import time_zone
from titres.errors import ConfigError, PermanentSyncError
from titres.i18n import LANGUAGES
from kiosk.sync.client import CentralClient
from titres.durable import write_durably
from titres.protocol import PROTOCOL_VERSION

log = logging.getLogger("kiosk.technician.provision")


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _known_zone(name: str) -> bool:
    try:
        time_zone(str(name))
        return True
    except ConfigError:
        return False


def render_provisioned(central_url: str, answer: dict[str, Any]) -> str:
    site = answer["site"]
    lines = [
        "# Written by `kiosk provision`. Provision again rather than editing.",
        "[site]",
        f"site_id = {_toml_str(site['id'])}",
        f"kiosk_code = {_toml_str(answer['kiosk_code'])}",
        f"name = {_toml_str(site['name'])}",
    ]
    if site.get("address"):
        lines.append(f"address = {_toml_str(site['address'])}")
    if site.get("opening_hours"):
        lines.append(f"opening_hours = {_toml_str(site['opening_hours'])}")
    zone = site.get("timezone")
    if zone and _known_zone(zone):  # an unknown one would stop the kiosk starting
        lines.append(f"timezone = {_toml_str(zone)}")
    elif zone:
        log.warning("the mairie's time zone is unknown to this kiosk: its region's is used",
                    extra={"timezone": str(zone)[:64]})
    if site.get("status_url"):
        lines.append(f"status_url = {_toml_str(site['status_url'])}")
    language = site.get("default_language")
    if language in LANGUAGES:  # a language this kiosk cannot show would stop it from starting
        lines += ["", "[session]", f"default_language = {_toml_str(language)}"]
    lines += [
        "", "[directory]", 'backend = "http"', f"central_url = {_toml_str(central_url)}",
        "", "[queue]", f"recipient_public_key = {_toml_str(answer['sealing_public_key'])}",
        "", "[sync]", f"device_id = {_toml_str(answer['device_id'])}",
        f"service_verify_key = {_toml_str(answer['verify_key'])}", "",
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class Enrollment:
    """What the service granted, not yet on disk: the commissioning screen shows it before keeping it."""

    central_url: str
    answer: dict[str, Any]
    key: SigningKey = field(repr=False)


def enroll(central_url: str, token: str, client: CentralClient | None = None) -> Enrollment:
    """Redeem ``token`` with a key pair made here; nothing is written (see :func:`save_enrollment`)."""
    central_url = central_url.rstrip("/")
    client = client or CentralClient.connect(central_url)
    info = client.service_info()
    if info.get("protocol") != PROTOCOL_VERSION:
        error = PermanentSyncError(f"the central service speaks protocol {info.get('protocol')}, this kiosk {PROTOCOL_VERSION}")
        error.code = "protocol"
        raise error
    key = SigningKey.generate()
    answer = client.enroll(token.strip(), bytes(key.verify_key).hex(), socket.gethostname(), __version__)
    if answer.get("sealing_public_key") != info.get("sealing_public_key"):
        error = PermanentSyncError("the service's keys changed during enrollment; try again")
        error.code = "keys_changed"
        raise error
    return Enrollment(central_url, answer, key)


def save_enrollment(config: KioskConfig, enrollment: Enrollment, technician_pin: str | None = None) -> None:
    """The device key, then the technician PIN, then ``provisioned.toml``, each durably.

    ``provisioned.toml`` goes last: its appearance is what makes the kiosk
    provisioned (``load_config``, ``kiosk-firstboot.service``), so a kiosk
    is never provisioned without its key, nor, from the commissioning
    screen, without a way into its maintenance screen.
    """
    keys_dir = config.device_key_file.parent
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_durably(config.device_key_file, bytes(enrollment.key).hex().encode())
    os.chmod(config.device_key_file, 0o600)
    if technician_pin is not None:
        from kiosk.technician.pin import PinGuard

        PinGuard(config.technician_pin_file).set(technician_pin)
    write_durably(config.provisioned_file,
                  render_provisioned(enrollment.central_url, enrollment.answer).encode("utf-8"))


def provision(config: KioskConfig, central_url: str, token: str, client: CentralClient | None = None) -> dict[str, Any]:
    """``kiosk provision``: enroll with ``token``; return the service's answer once both files are on disk."""
    enrollment = enroll(central_url, token, client)
    save_enrollment(config, enrollment)
    return enrollment.answer


