"""The audit log: every view of biometric data and every decision, readable by an administrator.

Entries are added in the caller's transaction, so an image is never served
without its audit line committed beside the action that produced it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.models import AuditEntry


def record(db: Session, *, actor: str, role: str, action: str, dossier_id: str | None = None,
           detail: str = "", ip: str = "") -> None:
    db.add(AuditEntry(actor=actor, role=role, action=action, dossier_id=dossier_id, detail=detail[:2000], ip=ip[:64]))


def entries(db: Session, *, dossier_id: str | None = None, actor: str | None = None, limit: int = 200,
            before_id: int | None = None) -> list[AuditEntry]:
    q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if dossier_id:
        q = q.where(AuditEntry.dossier_id == dossier_id)
    if actor:
        q = q.where(AuditEntry.actor == actor)
    if before_id:
        q = q.where(AuditEntry.id < before_id)
    return list(db.scalars(q))
