"""The status report: every fact a technician checks, gathered once, and how it reads.

The maintenance screen shows it section by section in the kiosk's language;
``kiosk status`` prints it as lines to read over SSH (English), or as JSON
(:meth:`StatusReport.as_dict`). Both read the same typed report and word it
here. Everything is plain Python over the configuration, the outbox and the
files the sync worker and the self-test leave. Each fact is gathered on its
own: a queue that cannot be read does not hide the version or the network.
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from kiosk import __version__
from kiosk.config import KioskConfig
from kiosk.sync.status import SyncStatus, read_status
from kiosk.technician.selftest import load_summary
from titres.i18n import Translator

log = logging.getLogger("kiosk.technician.report")


# -- what it holds ---------------------------------------------------------------------
@dataclass(frozen=True)
class Unreadable:
    """A fact that could not be read, and why: shown in its place."""

    error: str

    def as_dict(self) -> dict[str, Any]:
        return {"error": self.error}


@dataclass(frozen=True)
class QueueFacts:
    #: Dossiers by state (``queued``, ``uploading``, ``acknowledged``, ``corrupt``, ``purged``).
    counts: dict[str, int]
    oldest_waiting_age_s: int
    free_bytes: int
    accepting: bool

    @property
    def waiting(self) -> int:
        return self.counts["queued"] + self.counts["uploading"]

    @classmethod
    def of(cls, outbox) -> "QueueFacts":
        return cls(outbox.counts(), int(outbox.oldest_waiting_age_s()), outbox.free_bytes(), outbox.accepting())

    def as_dict(self) -> dict[str, Any]:
        return {"counts": self.counts, "waiting": self.waiting, "oldest_waiting_age_s": self.oldest_waiting_age_s,
                "free_bytes": self.free_bytes, "accepting": self.accepting}


@dataclass(frozen=True)
class Problem:
    """A warning or an error the app logged, or the sync worker's last error."""

    at: float
    level: str
    logger: str
    msg: str
    detail: str = ""


@dataclass(frozen=True)
class SelftestSummary:
    """The last self-test, as :func:`kiosk.technician.selftest.save_summary` keeps it."""

    ok: bool
    at: float
    #: Device → ``"ok"`` or what failed (in English).
    devices: dict[str, str]

    @property
    def failed(self) -> dict[str, str]:
        return {k: v for k, v in self.devices.items() if v != "ok"}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SelftestSummary":
        return cls(d.get("ok", False), d.get("at", 0.0), d.get("devices", {}))


@dataclass(frozen=True)
class StatusReport:
    """Every fact the technician needs; :meth:`as_dict` is the JSON ``kiosk status --json`` prints."""

    version: str
    release: str
    kiosk_code: str
    site: str
    site_id: str
    device_id: str
    provisioned: bool
    central_url: str
    #: None: the sync worker never wrote its status (not provisioned, never started).
    sync: SyncStatus | None
    selftest: SelftestSummary | None
    disk_free_bytes: int | Unreadable
    #: None: no queue was asked about (before provisioning there is none).
    queue: QueueFacts | Unreadable | None
    #: Newest first.
    problems: tuple[Problem, ...]

    def as_dict(self) -> dict[str, Any]:
        disk = self.disk_free_bytes
        out: dict[str, Any] = {
            "version": self.version, "release": self.release, "kiosk_code": self.kiosk_code, "site": self.site,
            "site_id": self.site_id, "device_id": self.device_id, "provisioned": self.provisioned,
            "central_url": self.central_url, "sync": None if self.sync is None else asdict(self.sync),
            "selftest": None if self.selftest is None else asdict(self.selftest),
            "disk": disk.as_dict() if isinstance(disk, Unreadable) else {"free_bytes": disk},
        }
        if self.queue is not None:
            out["queue"] = self.queue.as_dict()
        out["problems"] = [asdict(p) for p in self.problems]
        return out


# -- gathering it ------------------------------------------------------------------------
class RecentProblems(logging.Handler):
    """The app's last warnings and errors, kept in memory for the maintenance screen.

    The journal is in RAM and read by root; the technician in front of the
    kiosk has neither a shell nor a keyboard. Only the message and a few
    safe fields are kept: logs never carry personal data (``titres.logs``).
    """

    def __init__(self, size: int = 30) -> None:
        super().__init__(level=logging.WARNING)
        self.records: deque[Problem] = deque(maxlen=size)

    def emit(self, record: logging.LogRecord) -> None:
        # Handler.handle() holds self.lock around emit(): read under the same lock.
        detail = getattr(record, "error", None) or getattr(record, "detail", None) or ""
        self.records.append(Problem(record.created, record.levelname.lower(), record.name, record.getMessage(),
                                    str(detail)[:300]))

    def newest_first(self) -> list[Problem]:
        with self.lock:  # the worker reads while the UI thread logs
            return list(reversed(self.records))


def release_name(prefix: str = sys.prefix) -> str:
    """The installed release (``kiosk-update``'s ``releases/<version>/venv``), or ``development``."""
    venv = Path(prefix).resolve()
    return venv.parent.name if venv.parent.parent.name == "releases" else "development"


def _safely(what: str, gather: Callable[[], Any]) -> Any:
    try:
        return gather()
    except Exception as exc:  # one unreadable fact must not hide the others
        log.warning("maintenance: could not read", extra={"what": what, "error": repr(exc)})
        return Unreadable(f"{type(exc).__name__}: {exc}")


def status_report(config: KioskConfig, outbox=None, problems: RecentProblems | None = None) -> StatusReport:
    """Every fact the technician needs, read now; the queue's only when ``outbox`` is given."""
    sync = read_status(config.data_dir)
    summary = load_summary(config)
    found = problems.newest_first() if problems is not None else []
    if sync is not None and sync.last_error:
        found = [Problem(sync.last_error_at, "warning", "kiosk.sync", "sync", sync.last_error), *found]
    return StatusReport(
        version=__version__, release=release_name(),
        kiosk_code=config.site.kiosk_code, site=config.site.name, site_id=config.site.site_id,
        device_id=config.sync.device_id, provisioned=config.sync.provisioned,
        central_url=config.directory.central_url, sync=sync,
        selftest=SelftestSummary.from_dict(summary) if summary else None,
        disk_free_bytes=_safely("disk", lambda: shutil.disk_usage(config.data_dir).free),
        queue=None if outbox is None else _safely("queue", lambda: QueueFacts.of(outbox)),
        problems=tuple(sorted(found, key=lambda p: p.at, reverse=True)),
    )


# -- how it reads --------------------------------------------------------------------------
def duration(seconds: float, lang: str = "fr") -> str:
    """A duration as a technician reads it: 45 s, 12 min, 26 h, 3 j (3 d in English)."""
    s = int(seconds)
    return (f"{s} s" if s < 120 else f"{s // 60} min" if s < 7200 else f"{s // 3600} h" if s < 172800
            else f"{s // 86400} {'j' if lang == 'fr' else 'd'}")


def size_text(n: int, lang: str = "fr") -> str:
    """Free space as a technician reads it: 81.6 Go, 950 Mo (GB, MB in English)."""
    g, m = ("Go", "Mo") if lang == "fr" else ("GB", "MB")
    return f"{n / 1e9:.1f} {g}" if n >= 1e9 else f"{n / 1e6:.0f} {m}"


#: The maintenance screen's sections that show the report (the others show the self-test and the queue's dossiers).
REPORT_SECTIONS = ("queue", "network", "problems", "about")


def section_text(report: StatusReport, section: str, t: Translator, now: float | None = None) -> str:
    """The body of one of the maintenance screen's :data:`REPORT_SECTIONS`, in ``t``'s language."""
    now = time.time() if now is None else now
    if section == "queue":
        q = report.queue
        if isinstance(q, Unreadable):
            return t("maintenance.failed", detail=q.error)
        if q is None:
            return ""
        c = q.counts
        return "\n".join([
            t("maintenance.queue.body", queued=c["queued"], uploading=c["uploading"], acknowledged=c["acknowledged"],
              corrupt=c["corrupt"], oldest=duration(q.oldest_waiting_age_s, t.lang) if q.waiting
              else t("maintenance.none"), free=size_text(q.free_bytes, t.lang)),
            "", t("maintenance.queue.accepting" if q.accepting else "maintenance.queue.full")])
    if section == "network":
        sync = report.sync or SyncStatus()
        body = t("maintenance.network.body", url=report.central_url, contact=_when(t, sync.last_contact_at, now),
                 delivery=_when(t, sync.last_delivery_at, now), error=sync.last_error or t("maintenance.none"))
        return body + ("\n\n" + t("maintenance.network.no_worker") if report.sync is None else "")
    if section == "problems":
        rows = [f"{datetime.fromtimestamp(p.at).strftime('%d/%m %H:%M:%S')}  {p.level.upper()}  {p.msg}"
                + (f" — {p.detail}" if p.detail else "") for p in report.problems[:15]]
        return "\n".join(rows) or t("maintenance.problems.none")
    if section == "about":
        return t("maintenance.about.body", version=report.version, release=report.release, kiosk=report.kiosk_code,
                 site=report.site, device=report.device_id or "-")
    raise ValueError(f"not a section of the report: {section!r}")


def status_lines(report: StatusReport, now: float | None = None) -> list[str]:
    """``kiosk status``: one line per fact, for a technician over SSH."""
    now = time.time() if now is None else now
    lines = [f"version        {report.version} ({report.release})",
             f"kiosk          {report.kiosk_code}  {report.site}  device {report.device_id or '-'}",
             f"provisioned    {'yes' if report.provisioned else 'no'}",
             f"central        {report.central_url}"]
    q = report.queue
    if isinstance(q, QueueFacts):
        lines.append(f"queue          {q.waiting} waiting, {q.counts['acknowledged']} acknowledged, "
                     f"{q.counts['corrupt']} corrupt; oldest {q.oldest_waiting_age_s} s; "
                     f"{size_text(q.free_bytes, 'en')} free{'' if q.accepting else ' (REFUSING new sessions)'}")
    sync = report.sync
    if sync is not None:
        lines.append(f"sync           last contact {_ago(sync.last_contact_at, now)}, last delivery "
                     f"{_ago(sync.last_delivery_at, now)}, last error: {sync.last_error or 'none'}")
    else:
        lines.append("sync           the sync worker has reported nothing yet")
    if report.selftest is not None:
        bad = report.selftest.failed
        lines.append(f"self-test      {_ago(report.selftest.at, now)}: "
                     + ("all ok" if not bad else "; ".join(f"{k}: {v}" for k, v in bad.items())))
    return lines


def _when(t: Translator, at: float, now: float) -> str:
    """On the screen: "22/11 14:05 (il y a 12 min)", or "jamais"."""
    if not at:
        return t("maintenance.never")
    return t("maintenance.ago", when=datetime.fromtimestamp(at).strftime("%d/%m %H:%M"), age=duration(now - at, t.lang))


def _ago(at: float, now: float) -> str:
    """In ``kiosk status``: "12 min ago", or "never"."""
    return f"{duration(now - at, 'en')} ago" if at else "never"
