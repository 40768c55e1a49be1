"""Where the kiosk fetches a pré-demande from: the central service, or its simulator.

Both backends answer the same way: a :class:`PreDemande`, or
:class:`PredemandeNotFound`, :class:`PredemandeUnusable` (consumed or
expired) or :class:`DirectoryUnavailable` (no network: the kiosk goes on
offline and asks a few questions instead).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from importlib import resources
from pathlib import Path

from kiosk.errors import ConfigError, DirectoryUnavailable, PredemandeNotFound, PredemandeUnusable
from kiosk.predemande import PreDemande, Status


class PredemandeDirectory(ABC):
    @abstractmethod
    def fetch(self, number: str) -> PreDemande: ...


def _usable(pd: PreDemande) -> PreDemande:
    if pd.status in (Status.CONSUMED, Status.EXPIRED):
        raise PredemandeUnusable(f"pré-demande {pd.number} is {pd.status.value}")
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
            resources.files("kiosk") / "data" / "demo_predemandes.json").read_text(encoding="utf-8")
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
    """``GET {central}/api/v1/predemandes/{number}`` on the central service (see docs/protocol.md)."""

    def __init__(self, base_url: str, timeout_s: float = 4.0, headers: dict[str, str] | None = None):
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.headers = headers or {}

    def fetch(self, number: str) -> PreDemande:
        url = f"{self.base_url}/api/v1/predemandes/{urllib.parse.quote(number)}"
        request = urllib.request.Request(url, headers={"Accept": "application/json", **self.headers})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as resp:
                body = json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise PredemandeNotFound(number) from exc
            if exc.code in (409, 410):
                raise PredemandeUnusable(number) from exc
            raise DirectoryUnavailable(f"central service answered {exc.code}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise DirectoryUnavailable(f"central service unreachable: {exc}") from exc
        return _usable(PreDemande.from_dict(body))


def create_directory(directory_config, sim_dir: Path) -> PredemandeDirectory:
    if directory_config.backend == "sim":
        return SimDirectory(sim_dir, offline=directory_config.sim_offline)
    if directory_config.backend == "http":
        return HttpDirectory(directory_config.central_url, directory_config.timeout_s)
    raise ConfigError(f"directory backend must be sim or http, not {directory_config.backend!r}")
