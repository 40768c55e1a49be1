"""Where the kiosk fetches a pré-demande from: the central service, or its simulator.

Both backends answer the same way: a :class:`PreDemande`, or
:class:`PredemandeNotFound`, :class:`PredemandeUnusable` (consumed or
expired, or refused by the agency: its status says which) or
:class:`DirectoryUnavailable` (no network: the kiosk goes on offline and
asks a few questions instead; :class:`PredemandeNotHeld`, its kind for a
pré-demande the agency validated but the service holds no copy of).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from importlib import resources
from pathlib import Path

from titres.errors import (ConfigError, DirectoryUnavailable, PredemandeNotFound, PredemandeNotHeld,
                           PredemandeUnusable, SyncError)
from titres.predemande import PreDemande, Status


class PredemandeDirectory(ABC):
    #: True cuts the directory off as a pulled cable would (the scenario runner's ``network: offline``).
    offline: bool = False

    @abstractmethod
    def fetch(self, number: str) -> PreDemande: ...


def _usable(pd: PreDemande) -> PreDemande:
    if pd.status in (Status.CONSUMED, Status.DECLARED, Status.EXPIRED):
        raise PredemandeUnusable(f"pré-demande {pd.number} is {pd.status.value}", status=pd.status.value)
    if pd.status is Status.UNKNOWN:
        raise PredemandeNotFound(pd.number)
    return pd


class SimDirectory(PredemandeDirectory):
    """Demo pré-demandes from a JSON file; the "network" goes down when ``offline`` or the flag file exists.

    The flag file (``<sim_dir>/network/offline``) lets a person running the
    simulated kiosk pull the cable from another terminal.
    """

    def __init__(self, sim_dir: Path, offline: bool = False, data_file: Path | None = None):
        self.offline = offline
        self.flag = Path(sim_dir) / "network" / "offline"
        raw = data_file.read_text(encoding="utf-8") if data_file else (
            resources.files("titres") / "data" / "demo_predemandes.json").read_text(encoding="utf-8")
        self._records = {d["number"]: PreDemande.from_dict(d) for d in json.loads(raw)}

    def numbers(self) -> list[str]:
        return sorted(self._records)

    def fetch(self, number: str) -> PreDemande:
        if self.offline or self.flag.exists():
            raise DirectoryUnavailable("simulated network is down")
        pd = self._records.get(number)
        if pd is None:
            raise PredemandeNotFound(number)
        return _usable(pd)


class HttpDirectory(PredemandeDirectory):
    """``GET {central}/api/v1/predemandes/{number}``, signed as this device (docs/protocol.md).

    Any failure to get an answer (network, service error, even a refusal of
    this device) is :class:`DirectoryUnavailable`: the citizen goes on with
    the offline questions and the dossier is flagged for the agent.
    """

    def __init__(self, client):
        self.client = client

    def fetch(self, number: str) -> PreDemande:
        if self.offline:
            raise DirectoryUnavailable("network cut (simulated)")
        try:
            status, record = self.client.predemande(number)
        except SyncError as exc:
            raise DirectoryUnavailable(str(exc)) from exc
        if status == 404 or record is None:
            raise PredemandeNotFound(number)
        if status == 410:
            said = str(record.get("status", ""))[:20]
            raise PredemandeUnusable(f"pré-demande {number} is {said}", status=said)
        if record.get("held") is False:
            raise PredemandeNotHeld(f"pré-demande {number} is validated by the agency, its form is not held")
        try:
            return _usable(PreDemande.from_dict(record))
        except (KeyError, TypeError, ValueError) as exc:
            raise DirectoryUnavailable(f"the service sent a pré-demande this kiosk cannot read: {exc}") from exc


def create_directory(config) -> PredemandeDirectory:
    """The directory the configuration names (``config`` is a :class:`KioskConfig`)."""
    directory_config = config.directory
    if directory_config.backend == "sim":
        return SimDirectory(config.sim_dir, offline=directory_config.sim_offline)
    if directory_config.backend == "http":
        from kiosk.sync.client import central_client

        return HttpDirectory(central_client(config, timeout_s=directory_config.timeout_s))
    raise ConfigError(f"directory backend must be sim or http, not {directory_config.backend!r}")
