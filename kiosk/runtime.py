"""Assembling a kiosk from its configuration: devices, directory, outbox, controller.

One place builds the object graph, so the app, the scenario runner, the
self-test and the benchmarks all run the same parts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from kiosk.config import KioskConfig
from kiosk.controller import Controller
from kiosk.directory import create_directory
from kiosk.hal import Devices, create_devices
from kiosk.provision import load_device_key
from kiosk.sync.outbox import Outbox
from kiosk.sync.protocol import DeviceSigner
from kiosk.sync.seal import development_recipient, recipient_key

log = logging.getLogger("kiosk.runtime")


def dev_central_dir(config: KioskConfig) -> Path:
    """Where ``--simulate`` keeps the stand-in central key pair: beside the data directory, never in it."""
    data = config.data_dir.resolve()
    return data.parent / f"{data.name}.central-dev"


def open_outbox(config: KioskConfig, recover: bool = False) -> Outbox:
    if config.queue.recipient_public_key:
        key = recipient_key(config.queue.recipient_public_key)
    elif config.hal.default == "sim":
        key = development_recipient(dev_central_dir(config))
        log.warning("not provisioned: sealing to a development key", extra={"dir": str(dev_central_dir(config))})
    else:
        from kiosk.errors import ConfigError

        raise ConfigError("this kiosk is not provisioned: no queue.recipient_public_key (provisioning sets it)")
    return Outbox(config.data_dir, key, config.queue.min_free_bytes, recover=recover, signer=device_signer(config))


def device_signer(config: KioskConfig) -> DeviceSigner | None:
    """The enrolled device's signer, or None before provisioning (then packages are signed at upload)."""
    if not config.sync.provisioned:
        return None
    return DeviceSigner(config.sync.device_id, load_device_key(config))


@dataclass
class Kiosk:
    config: KioskConfig
    devices: Devices
    outbox: Outbox
    controller: Controller

    def close(self) -> None:
        self.devices.close()
        self.outbox.close()

    def __enter__(self) -> "Kiosk":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def build_kiosk(config: KioskConfig, recover: bool = True, **controller_kw) -> Kiosk:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    devices = create_devices(config.hal, config.sim_dir).open()
    try:
        outbox = open_outbox(config, recover=recover)
        directory = create_directory(config)
        controller = Controller(config, devices, directory, outbox, **controller_kw)
    except BaseException:
        devices.close()
        raise
    return Kiosk(config, devices, outbox, controller)
