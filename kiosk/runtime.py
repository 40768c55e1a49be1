"""Assembling a kiosk from its configuration: devices, directory, outbox, controller.

One place builds the object graph, so the app, the scenario runner, the
self-test and the benchmarks all run the same parts.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from kiosk.config import KioskConfig
from kiosk.controller import Controller
from kiosk.sync.directory import create_directory
from kiosk.hal import Devices, create_devices
from kiosk.sync.help import Assistance, HelpDesk
from kiosk.speech.prompt_cache import PromptCache
from kiosk.sync.client import load_device_key
from kiosk.sync.outbox import Outbox
from titres.protocol import DeviceSigner
from kiosk.sync.seal import development_recipient, recipient_key
from kiosk.speech.tts import create_engine
from kiosk.speech.voice import Voice

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
        from titres.errors import ConfigError

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
    voice: Voice
    assistance: Assistance

    def close(self) -> None:
        self.voice.close()
        self.devices.close()
        self.outbox.close()

    def __enter__(self) -> "Kiosk":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def build_voice(config: KioskConfig, devices: Devices, inline: bool = False) -> Voice:
    """The voice over the configured engine, its prompt cache and the audio output."""
    engine = create_engine(config.audio)
    cache = PromptCache(config.speech_cache_dir, engine, config.audio.cache_max_mb * 1024 * 1024)
    return Voice(devices.audio, cache, engine, volume=config.audio.volume, sounds_volume=config.audio.sounds_volume,
                 inline=inline)


def build_kiosk(config: KioskConfig, recover: bool = True, inline_voice: bool = False,
                help_clock: Callable[[], float] = time.time, **controller_kw) -> Kiosk:
    """``inline_voice``: speech rendered and played on the caller's thread (the scenario runner);
    ``help_clock``: the Unix time the help request shares with the sync worker (the scenario's fake one)."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    devices = create_devices(config.hal, config.sim_dir).open()
    try:
        outbox = open_outbox(config, recover=recover)
        directory = create_directory(config)
        controller = Controller(config, devices, directory, outbox, **controller_kw)
        voice = build_voice(config, devices, inline=inline_voice)
        controller.session.subscribe(voice.follow)
        assistance = Assistance(HelpDesk(config.data_dir, help_clock), voice, on_light=controller.help_light)
        controller.session.subscribe(assistance.follow)
        assistance.follow(controller.session)
        devices.indicator.on_call_button(assistance.button_pressed)
    except BaseException:
        devices.close()
        raise
    return Kiosk(config, devices, outbox, controller, voice, assistance)
