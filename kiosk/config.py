"""The kiosk's configuration: one typed object, loaded from one TOML file plus the environment.

Nothing else in the code base reads ``os.environ``: callers receive a
:class:`KioskConfig` and pass the parts they need. Environment variables win
over the file so that a technician (or a test) can override one setting
without editing the file:

==========================  ===============================================
``KIOSK_CONFIG``            path of the TOML file (default: none, built-ins)
``KIOSK_DATA``              data directory (queue, sealed blobs, keys)
``KIOSK_HAL``               default backend for every device (``sim``, ``pi``)
``KIOSK_HAL_<DEVICE>``      backend for one device: CAMERA, SCANNER,
                            FINGERPRINT, PRINTER, INDICATOR, AUDIO
``KIOSK_LANG``              default language (``fr`` or ``en``)
``KIOSK_DIRECTORY``         pré-demande source: ``sim`` or ``http``
``KIOSK_CENTRAL_URL``       URL of the central service
``KIOSK_SIM_OFFLINE``       ``1``: the simulated network is down
==========================  ===============================================
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from titres.errors import ConfigError
from titres.predemande import DEFAULT_RECAP_FORMATS, NumberFormat
from titres.timezones import time_zone

DEVICES = ("camera", "scanner", "fingerprint", "printer", "indicator", "audio")
#: Written by ``kiosk provision`` in the data directory; read over the main file, under the environment.
PROVISIONED_FILE = "provisioned.toml"


@dataclass(frozen=True)
class SiteConfig:
    """What the receipt and the rules need to know about the mairie."""

    name: str = "Mairie de démonstration"
    address: str = "1 place de la Mairie, 00000 Démoville"
    opening_hours: str = "Lundi-vendredi 9h-12h / 14h-17h"
    site_id: str = "demo-site"
    kiosk_code: str = "K01"
    #: "metropole", "guyane" (reduced stamp, CGI art. 1043 A) or "abroad" (consulate).
    region: str = "metropole"
    #: Some mairies ask for a proof of address under 3 or 6 months; the national rule is 1 year.
    proof_of_address_max_months: int = 12
    #: The mairie's own time zone (IANA name): a receipt printed in Cayenne shows Cayenne's time, and a
    #: child's age is counted on the mairie's date, whatever the image's clock is set to. Empty: the
    #: region's (Europe/Paris, America/Cayenne); a consulate (``abroad``) must name its own.
    timezone: str = ""
    #: The citizen's status page printed on the receipt (the central service sends it at enrollment);
    #: empty: none is printed, rather than an address citizens cannot reach.
    status_url: str = ""


@dataclass(frozen=True)
class SessionConfig:
    inactivity_warning_s: float = 60.0
    inactivity_abandon_s: float = 30.0  # after the warning
    end_screen_s: float = 15.0
    fingers: tuple[str, ...] = ("left_index", "right_index")
    finger_attempts: int = 3
    fingerprint_min_age: int = 12
    languages: tuple[str, ...] = ("fr", "en")
    default_language: str = "fr"


@dataclass(frozen=True)
class PredemandeConfig:
    #: A pattern of the form ``[CLASS]{N}`` or ``[CLASS]{M,N}``; checked as typed.
    number_pattern: str = "[A-Z0-9]{10}"
    #: The longer texts a recap's QR code may hold the number in: regular expressions the whole text must match,
    #: ``{number}`` where the number stands. By default the agency's own addresses (``*.ants.gouv.fr``, the
    #: number a segment of the path or a query's value); anything else is not a pré-demande's code.
    recap_formats: tuple[str, ...] = DEFAULT_RECAP_FORMATS

    def number_format(self) -> NumberFormat:
        """The number and its recap formats, checked (a bad pattern is a :class:`ConfigError`)."""
        return NumberFormat.from_pattern(self.number_pattern, self.recap_formats)


@dataclass(frozen=True)
class HalConfig:
    """Which backend drives each device, and what the Raspberry Pi backends need to find theirs.

    See ``docs/hardware.md`` for wiring and ``docs/configuration.md`` for the file.
    """

    default: str = "sim"
    backends: Mapping[str, str] = field(default_factory=dict)
    # Fingerprint sensor on the UART (R503 / R307 class).
    serial_port: str = "/dev/serial0"
    serial_baud: int = 57600
    #: Raise the sensor's line rate to this at open (system parameter 4), 0 to keep ``serial_baud``.
    #: The image upload is bound by the line: 36,864 bytes take 7.0 s at 57600 baud, 3.7 s at 115200.
    fingerprint_fast_baud: int = 115200
    #: The sensor's 32-bit handshake password (0 on a sensor out of the box).
    fingerprint_password: int = 0
    #: The simulated sensor's model: ``r503`` (192x192 image, LED ring) or ``r307`` (256x288, no ring).
    sim_fingerprint_model: str = "r503"
    # Receipt printer (USB ESC/POS).
    printer_usb_vendor: int = 0x0416
    printer_usb_product: int = 0x5011
    #: A python-escpos capabilities profile (``python -m escpos.cli ...``); decides native QR and code pages.
    printer_profile: str = "default"
    printer_width_chars: int = 32
    #: How the receipt's QR code is printed: ``native`` (the printer's ``GS ( k`` command), ``image``
    #: (a raster image, for printers without it), ``auto`` (native where the profile says it is supported).
    printer_qr: str = "auto"
    # Camera.
    camera_preview_size: tuple[int, int] = (640, 480)
    camera_still_size: tuple[int, int] = (2028, 1520)
    #: The V4L2 device of the ``opencv`` backend: an index (``0`` is ``/dev/video0``) or a path.
    camera_device: str = "0"
    sim_camera_dir: str = ""  # a folder of images to play as the camera feed
    # Status light (an RGB LED, common cathode) and "call an agent" button, BCM numbering.
    gpio_led_pin: int = 17  # red
    gpio_led_green_pin: int = 22
    gpio_led_blue_pin: int = 23
    gpio_button_pin: int = 27
    #: gpiozero's pin factory on the Pi (``lgpio``: Debian's python3-lgpio, the only one that works on a Pi 5).
    gpio_pin_factory: str = "lgpio"
    # Sound (speech and tones), ALSA on the Pi: docs/hardware.md.
    #: The ALSA PCM to play on (``aplay -L``): ``default``, or ``plughw:CARD=Device`` for a USB adapter.
    audio_device: str = "default"
    #: The ALSA card whose jack switch says whether headphones are in (``aplay -l``); empty: the default card.
    audio_card: str = ""
    #: That card's jack-detection control (``amixer -c CARD controls``), e.g. ``Headphone Jack``; empty: the
    #: output cannot tell (the Pi's own 3.5 mm socket), and speech starts only with "Écouter".
    headphone_control: str = ""
    #: The simulated output takes each clip's real duration (so that speech cut short can be seen).
    sim_audio_realtime: bool = False

    def backend_for(self, device: str) -> str:
        if device not in DEVICES:
            raise ConfigError(f"unknown device {device!r}")
        return self.backends.get(device, self.default)


#: Where ``kiosk-central serve`` listens by default: the demo's central service, on this machine.
LOCAL_CENTRAL_URL = "http://127.0.0.1:8080"


@dataclass(frozen=True)
class DirectoryConfig:
    backend: str = "sim"
    #: Set by provisioning. Empty until then, so that a bare token asks for the address instead of
    #: trying this machine; ``simulated()`` (the demo) uses the local central service.
    central_url: str = ""
    timeout_s: float = 4.0
    sim_offline: bool = False
    #: The only services a blank kiosk may enroll with (an image built for one préfecture names its own);
    #: empty: any service over https (plain http on this machine only). See titres.enrollment_code.
    allowed_central_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class QueueConfig:
    #: Refuse new sessions below this much free space on the data partition.
    min_free_bytes: int = 200 * 1024 * 1024
    #: Public key (raw 32 bytes, hex) the dossiers are sealed to. Set at provisioning.
    recipient_public_key: str = ""


@dataclass(frozen=True)
class SyncConfig:
    """The link to the central service, written by ``kiosk provision`` into ``<data>/provisioned.toml``."""

    device_id: str = ""
    #: The service's Ed25519 key (hex) that signs acknowledgements.
    service_verify_key: str = ""
    heartbeat_s: float = 60.0
    retry_base_s: float = 5.0
    retry_max_s: float = 900.0
    timeout_s: float = 30.0
    #: Acknowledged dossiers keep their sealed copy this long before it is purged.
    retention_days: float = 7.0

    @property
    def provisioned(self) -> bool:
        return bool(self.device_id and self.service_verify_key)


@dataclass(frozen=True)
class MaintenanceConfig:
    """The technician's side of the kiosk: the hidden gesture, the PIN's lockout, the services it restarts."""

    #: Seconds the top-left corner of the welcome screen must be held to ask for the technician PIN.
    hold_s: float = 5.0
    #: The maintenance screen closes (and locks again) after this long without a touch.
    idle_exit_s: float = 180.0
    #: The PIN pad goes away after this long without a touch (the next citizen must see the welcome screen).
    pin_idle_s: float = 60.0
    #: Wrong PINs in a row before the PIN pad locks, and for how long.
    max_pin_failures: int = 5
    lockout_s: float = 300.0
    #: How services are restarted: ``systemctl`` on the appliance (allowed to the kiosk user by the
    #: polkit rule in ``systemd/polkit``), ``none`` where no systemd manages the kiosk (a PC, the demo).
    service_manager: str = "systemctl"
    sync_unit: str = "kiosk-sync.service"
    ui_unit: str = "kiosk-ui.service"
    #: A file that exists while the app shows the commissioning screen (the image: in kiosk-ui's runtime
    #: directory), so that kiosk-firstboot.service restarts the app only if it still shows it.
    commissioning_marker: str = ""


@dataclass(frozen=True)
class AudioConfig:
    """The kiosk's voice (``kiosk.speech.voice``): engine, voices, pace, levels; the output itself is ``[hal]``'s."""

    #: ``espeak-ng`` (Debian's, offline, French and English) or ``piper`` (a voice file on the image).
    engine: str = "espeak-ng"
    voice_fr: str = "fr-fr"
    voice_en: str = "en-gb"
    #: Words per minute; a number read out (the dossier's) goes at ``slow_rate_wpm``.
    rate_wpm: int = 150
    slow_rate_wpm: int = 100
    piper_model_fr: str = ""
    piper_model_en: str = ""
    #: Each session starts at this level (0 to 1); the citizen changes it for their session only.
    volume: float = 0.8
    #: The short sounds (success, error, "your turn"), as a share of full scale.
    sounds_volume: float = 0.5
    #: The recordings of prompts that are the same for everyone, on the data partition (every screen's text
    #: in both languages is about 75 MB at 22 kHz: bench/bench_speech.py).
    cache_max_mb: int = 128


@dataclass(frozen=True)
class KioskConfig:
    data_dir: Path = Path("var/kiosk")
    site: SiteConfig = field(default_factory=SiteConfig)
    session: SessionConfig = field(default_factory=SessionConfig)
    predemande: PredemandeConfig = field(default_factory=PredemandeConfig)
    hal: HalConfig = field(default_factory=HalConfig)
    directory: DirectoryConfig = field(default_factory=DirectoryConfig)
    queue: QueueConfig = field(default_factory=QueueConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)
    maintenance: MaintenanceConfig = field(default_factory=MaintenanceConfig)
    audio: AudioConfig = field(default_factory=AudioConfig)
    log_level: str = "INFO"

    @property
    def provisioned_file(self) -> Path:
        return self.data_dir / PROVISIONED_FILE

    @property
    def device_key_file(self) -> Path:
        return self.data_dir / "keys" / "device.key"

    @property
    def technician_pin_file(self) -> Path:
        return self.data_dir / "keys" / "technician-pin.json"

    @property
    def speech_cache_dir(self) -> Path:
        return self.data_dir / "cache" / "speech"

    @property
    def sim_dir(self) -> Path:
        """Where simulated devices put what a real one would hand out (printed paper)."""
        return self.data_dir / "sim"

    def with_overrides(self, **changes: Any) -> "KioskConfig":
        return dataclasses.replace(self, **changes)


def _build(cls: type, values: Mapping[str, Any], where: str) -> Any:
    """Build a frozen dataclass from a TOML table, refusing unknown keys and wrong types loudly.

    A wrong type must fail here, at start-up, rather than as a ``TypeError``
    in the middle of a citizen's session (``inactivity_warning_s = "60"``).
    """
    if not isinstance(values, Mapping):
        raise ConfigError(f"{where.rstrip('.') or 'configuration'} must be a table, not {values!r}")
    known = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"unknown setting {where}{key}")
        f = known[key]
        default = getattr(cls(), key) if f.default is dataclasses.MISSING else f.default
        if dataclasses.is_dataclass(default):
            value = _build(type(default), value, f"{where}{key}.")
        elif isinstance(default, tuple) and isinstance(value, list):
            value = tuple(value)
        elif isinstance(default, Path):
            if not isinstance(value, str):
                raise ConfigError(f"{where}{key} must be a path (a string), not {value!r}")
            value = Path(value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{where}{key} must be true or false, not {value!r}")
        elif isinstance(default, (int, float, str)):
            # bool is an int to Python, not to a person writing the file; an int is a fine float.
            wanted = (int, float) if isinstance(default, float) else type(default)
            if isinstance(value, bool) or not isinstance(value, wanted):
                raise ConfigError(f"{where}{key} must be a {type(default).__name__}, not {value!r}")
            if isinstance(default, float):
                value = float(value)
        kwargs[key] = value
    return cls(**kwargs)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read configuration {path}: {exc}") from exc


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, Mapping) and isinstance(out.get(key), dict) else value
    return out


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None,
                data_dir: str | Path | None = None) -> KioskConfig:
    """Load the configuration: defaults, the TOML file, what provisioning wrote, then the environment.

    ``data_dir`` (the command line's ``--data-dir``) wins over everything, and is
    where provisioning's file is looked for.
    """
    env = os.environ if env is None else env
    path = path or env.get("KIOSK_CONFIG")
    raw: dict[str, Any] = _read_toml(Path(path)) if path else {}
    cfg: KioskConfig = _build(KioskConfig, raw, "")
    if "KIOSK_DATA" in env:
        cfg = dataclasses.replace(cfg, data_dir=Path(env["KIOSK_DATA"]))
    if data_dir is not None:
        cfg = dataclasses.replace(cfg, data_dir=Path(data_dir))
    if cfg.provisioned_file.exists():
        data_dir = cfg.data_dir
        cfg = dataclasses.replace(_build(KioskConfig, _merge(raw, _read_toml(cfg.provisioned_file)), ""), data_dir=data_dir)
    hal = cfg.hal
    backends = dict(hal.backends)
    default = env.get("KIOSK_HAL", hal.default)
    for device in DEVICES:
        override = env.get(f"KIOSK_HAL_{device.upper()}")
        if override:
            backends[device] = override
    cfg = dataclasses.replace(cfg, hal=dataclasses.replace(hal, default=default, backends=backends))
    if "KIOSK_LANG" in env:
        cfg = dataclasses.replace(cfg, session=dataclasses.replace(cfg.session, default_language=env["KIOSK_LANG"]))
    directory = cfg.directory
    if "KIOSK_DIRECTORY" in env:
        directory = dataclasses.replace(directory, backend=env["KIOSK_DIRECTORY"])
    if "KIOSK_CENTRAL_URL" in env:
        directory = dataclasses.replace(directory, central_url=env["KIOSK_CENTRAL_URL"])
    if "KIOSK_SIM_OFFLINE" in env:
        flag = env["KIOSK_SIM_OFFLINE"].strip().lower()
        directory = dataclasses.replace(directory, sim_offline=flag not in ("", "0", "false", "no", "off"))
    cfg = dataclasses.replace(cfg, directory=directory)
    validate(cfg)
    return cfg


def simulated(cfg: KioskConfig) -> KioskConfig:
    """The same configuration with every device on its simulator.

    The pré-demande directory is simulated too, unless the kiosk is
    provisioned: then it asks the real (local) central service, as in the demo.
    """
    hal = dataclasses.replace(cfg.hal, default="sim", backends={})
    backend = "http" if cfg.sync.provisioned and cfg.directory.backend == "http" else "sim"
    central_url = cfg.directory.central_url or LOCAL_CENTRAL_URL
    # No systemd runs a simulated kiosk's services: the maintenance screen says so rather than fail.
    maintenance = dataclasses.replace(cfg.maintenance, service_manager="none")
    return dataclasses.replace(cfg, hal=hal, maintenance=maintenance,
                               directory=dataclasses.replace(cfg.directory, backend=backend, central_url=central_url))


#: The time zone of a region when the site does not name one.
REGION_ZONES = {"metropole": "Europe/Paris", "guyane": "America/Cayenne"}


def site_zone(site: SiteConfig):
    """The mairie's time zone: the one it names, else its region's."""
    name = site.timezone or REGION_ZONES.get(site.region)
    if not name:
        raise ConfigError("site.timezone must name the consulate's time zone (site.region = \"abroad\")")
    return time_zone(name)


def validate(cfg: KioskConfig) -> None:
    cfg.predemande.number_format()
    if cfg.session.default_language not in cfg.session.languages:
        raise ConfigError(f"default language {cfg.session.default_language!r} is not in {cfg.session.languages}")
    if cfg.site.region not in ("metropole", "guyane", "abroad"):
        raise ConfigError(f"site.region must be metropole, guyane or abroad, not {cfg.site.region!r}")
    site_zone(cfg.site)
    if cfg.maintenance.service_manager not in ("systemctl", "none"):
        raise ConfigError(f"maintenance.service_manager must be systemctl or none, not {cfg.maintenance.service_manager!r}")
    if cfg.maintenance.max_pin_failures < 1:
        raise ConfigError("maintenance.max_pin_failures must be at least 1")
    if cfg.audio.engine not in ("espeak-ng", "piper"):
        raise ConfigError(f"audio.engine must be espeak-ng or piper, not {cfg.audio.engine!r}")
    for name in ("volume", "sounds_volume"):
        if not 0.0 <= getattr(cfg.audio, name) <= 1.0:
            raise ConfigError(f"audio.{name} must be between 0 and 1")
    if cfg.session.finger_attempts < 1:
        raise ConfigError("session.finger_attempts must be at least 1")
