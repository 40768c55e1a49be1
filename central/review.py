"""The agents' work on dossiers: the queue, a verdict per document, validation or return.

Plain functions over a database session, with no web framework, so the
console, the command line and the tests share the same rules:

* an agent sees the dossiers of their own mairie; a supervisor sees every
  mairie's; technicians and administrators see no dossier at all;
* a dossier is decided once: it is validated only when every item of its
  checklist has a verdict and none is *non conforme*, or returned with a
  reason; the state changes with a conditional UPDATE, so two agents
  deciding at once cannot both win;
* every decision is written to the audit log in the transaction that makes it,
  without comments or reasons: administrators read the log, and they see
  no dossier content.

The caller owns the transaction (``with services.db() as db, db.begin():``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from central import audit
from central.models import Dossier, DossierEvent, DossierState, Predemande, Role, Verdict
from titres.dossier import AnswerSource, FingerStatus, Flag
from titres.dossier import Dossier as CapturedDossier
from titres.i18n import Translator
from titres.rules import Case, SecureDocument, checklist
from titres.wording import requirement_condition as requirement_condition_of
from titres.wording import requirement_label as requirement_label_of

MAX_COMMENT = 500
MAX_REASONS = 2000
VERDICTS = {"conforme": "Conforme", "non_conforme": "Non conforme", "original": "Présenté en original",
            "sans_objet": "Sans objet"}
#: Only a conditional item (the citizen could not tell whether it applies) may be judged "sans objet".
CONDITIONAL_ONLY = {"sans_objet"}
REVIEWERS = (Role.AGENT.value, Role.SUPERVISOR.value)

#: What the kiosk flagged, as the agent must read it before anything else.
FLAG_LABELS = {
    Flag.PREDEMANDE_NOT_FETCHED: ("Pré-demande non récupérée à la borne",
                                  "Vérifier l'état civil et le motif sur la pré-demande en ligne."),
    Flag.FINGER_UNAVAILABLE: ("Empreinte impossible à relever à la borne", "Relever les empreintes au guichet."),
    Flag.FINGER_LOW_QUALITY: ("Empreinte de qualité insuffisante", "Reprendre les empreintes au guichet."),
    Flag.SENSOR_FAILED: ("Capteur d'empreintes en panne", "Relever les empreintes au guichet ; prévenir le technicien."),
    Flag.ORIGINALS_ONLY: ("Pièces non photographiées", "Contrôler ces pièces en original au guichet."),
    Flag.PAPER_STAMP: ("Timbre fiscal papier", "Contrôler et oblitérer le timbre au guichet."),
}


class ReviewError(Exception):
    """A refusal with a French message fit to show the agent."""


class Forbidden(ReviewError):
    pass


class NotFound(ReviewError):
    pass


class InvalidAction(ReviewError):
    pass


def _now() -> datetime:
    return datetime.now(timezone.utc)


# -- who sees what ------------------------------------------------------------------

def _scoped(user, q: Select) -> Select:
    if user.role == Role.SUPERVISOR:
        return q
    if user.role == Role.AGENT and user.site_id:
        return q.where(Dossier.site_id == user.site_id)
    raise Forbidden("Votre rôle ne donne pas accès aux dossiers des usagers.")


def may_see(user, dossier: Dossier) -> bool:
    return user.role == Role.SUPERVISOR or (user.role == Role.AGENT and user.site_id == dossier.site_id)


def get_for_user(db: Session, user, dossier_id: str, lock: bool = False) -> Dossier:
    if user.role not in REVIEWERS:
        raise Forbidden("Votre rôle ne donne pas accès aux dossiers des usagers.")
    dossier = db.get(Dossier, str(dossier_id)[:36], with_for_update=lock)
    if dossier is None:
        raise NotFound("Ce dossier n'existe pas.")
    if not may_see(user, dossier):
        raise Forbidden("Ce dossier a été déposé dans une autre mairie.")
    return dossier


# -- verdicts and decisions ---------------------------------------------------------------

def _captured(dossier: Dossier) -> CapturedDossier:
    """What the kiosk captured, read through the shared model (ingest stored only dossiers it reads).

    Read once per row object and kept beside its content: one page asks a
    dozen questions of the same dossier.
    """
    read = getattr(dossier, "_captured", None)
    if read is None or read[0] is not dossier.content:
        read = dossier._captured = (dossier.content, CapturedDossier.from_dict(dossier.content))
    return read[1]


def requirements(dossier: Dossier) -> list[str]:
    """Every item needing a verdict: the checklist, plus any document or stamp the kiosk recorded beyond it."""
    captured = _captured(dossier)
    out: list[str] = []
    for rid in [*captured.checklist, *(d.requirement for d in captured.documents),
                *(s.requirement for s in captured.stamps)]:
        if rid and rid not in out:
            out.append(rid)
    return out


def verdicts(db: Session, dossier_id: str) -> dict[str, Verdict]:
    return {v.requirement: v for v in db.scalars(select(Verdict).where(Verdict.dossier_id == dossier_id))}


def _require_received(dossier: Dossier) -> None:
    if dossier.state != DossierState.RECEIVED:
        raise InvalidAction("Ce dossier a déjà été traité : il n'est plus modifiable.")


def set_verdict(db: Session, user, dossier_id: str, requirement: str, verdict: str, comment: str = "",
                ip: str = "") -> Verdict:
    dossier = get_for_user(db, user, dossier_id, lock=True)
    _require_received(dossier)
    if requirement not in requirements(dossier):
        raise InvalidAction("Cette pièce ne fait pas partie du dossier.")
    if verdict not in VERDICTS:
        raise InvalidAction("Choisissez : conforme, non conforme, présenté en original ou sans objet.")
    if verdict in CONDITIONAL_ONLY and requirement not in conditional_items(dossier):
        raise InvalidAction("Cette pièce est exigée dans ce cas : elle ne peut pas être sans objet.")
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidAction(f"Le commentaire fait au plus {MAX_COMMENT} caractères.")
    row = db.get(Verdict, (dossier.id, requirement))
    if row is None:
        row = Verdict(dossier_id=dossier.id, requirement=requirement)
        db.add(row)
    row.verdict, row.comment, row.agent, row.at = verdict, comment, user.username, _now()
    audit.record(db, actor=user.username, role=user.role, action="verdict", dossier_id=dossier.id,
                 detail=f"{requirement}: {verdict}", ip=ip)
    return row


def missing_verdicts(db: Session, dossier: Dossier) -> tuple[list[str], list[str]]:
    """(items without a verdict, items judged non conforme)."""
    given = verdicts(db, dossier.id)
    missing = [r for r in requirements(dossier) if r not in given]
    refused = [r for r, v in given.items() if v.verdict == "non_conforme"]
    return missing, refused


def _decide(db: Session, user, dossier: Dossier, state: DossierState, reasons: str | None) -> None:
    """Move a received dossier to ``state``; the WHERE on the state makes a concurrent second decision lose."""
    now = _now()
    done = db.execute(update(Dossier).where(Dossier.id == dossier.id, Dossier.state == DossierState.RECEIVED.value)
                      .values(state=state.value, decided_by=user.username, decided_at=now, return_reasons=reasons)
                      .execution_options(synchronize_session="fetch"))
    if done.rowcount != 1:
        raise InvalidAction("Ce dossier vient d'être traité par quelqu'un d'autre.")
    db.add(DossierEvent(dossier_id=dossier.id, at=now, kind=state.value, actor=user.username, detail=reasons or ""))


def approve(db: Session, user, dossier_id: str, ip: str = "") -> None:
    dossier = get_for_user(db, user, dossier_id, lock=True)
    _require_received(dossier)
    missing, refused = missing_verdicts(db, dossier)
    if missing:
        raise InvalidAction("Avis manquant pour : " + ", ".join(requirement_label(dossier, r) for r in missing) + ".")
    if refused:
        raise InvalidAction("Pièce non conforme : " + ", ".join(requirement_label(dossier, r) for r in refused)
                            + ". Renvoyez le dossier avec un motif.")
    _decide(db, user, dossier, DossierState.VALIDATED, None)
    audit.record(db, actor=user.username, role=user.role, action="approve", dossier_id=dossier.id, ip=ip)


def return_(db: Session, user, dossier_id: str, reasons: str, ip: str = "") -> None:
    dossier = get_for_user(db, user, dossier_id, lock=True)
    _require_received(dossier)
    reasons = (reasons or "").strip()
    if not reasons:
        raise InvalidAction("Indiquez le motif du renvoi : l'usager en sera informé.")
    if len(reasons) > MAX_REASONS:
        raise InvalidAction(f"Le motif fait au plus {MAX_REASONS} caractères.")
    _decide(db, user, dossier, DossierState.RETURNED, reasons)
    audit.record(db, actor=user.username, role=user.role, action="return", dossier_id=dossier.id, ip=ip)


# -- what the dossier page shows ------------------------------------------------------------

_FR = Translator("fr")


def _checklist(dossier: Dossier) -> dict[str, Any]:
    """The checklist the citizen saw at the kiosk, rebuilt from the dossier's case by the kiosk's own rules."""
    case = _captured(dossier).case
    try:
        return {r.id: r for r in checklist(Case.from_dict(case))}
    except (KeyError, TypeError, ValueError):
        return {}


def requirement_label(dossier: Dossier, requirement: str) -> str:
    """The document's title as the citizen read it at the kiosk (in French)."""
    req = _checklist(dossier).get(requirement)
    return requirement_label_of(_FR, req) if req is not None else requirement


def requirement_condition(dossier: Dossier, requirement: str) -> str:
    """"Seulement si : …" for an item whose facts the citizen could not tell; else empty."""
    req = _checklist(dossier).get(requirement)
    return requirement_condition_of(_FR, req) if req is not None else ""


def conditional_items(dossier: Dossier) -> set[str]:
    """What the kiosk recorded as still conditional (schema 2), or what the rules make so (schema 1)."""
    captured = _captured(dossier)
    if captured.schema >= 2:
        return set(captured.conditional)
    return {rid for rid, req in _checklist(dossier).items() if req.conditional}


#: The facts the checklist rests on, as the agent reads them; who said each.
QUESTION_LABELS = {
    "titles": "Titres demandés", "motif": "Motif", "age_band": "Âge",
    "secure_document": "Carte d'identité ou passeport sécurisé détenu",
    "birthplace_dematerialised": "État civil du lieu de naissance dématérialisé (COMEDEC)",
    "born_abroad_parents_abroad": "Né à l'étranger de parents nés à l'étranger",
    "hosted": "Hébergé par un tiers", "alternating_residence": "Résidence alternée",
}
SECURE_LABELS = {SecureDocument.VALID: "Oui, valide", SecureDocument.EXPIRED_UNDER_5Y: "Oui, périmé depuis moins de 5 ans",
                 SecureDocument.EXPIRED_OVER_5Y: "Oui, périmé depuis plus de 5 ans", SecureDocument.NONE: "Non"}
SOURCE_LABELS = {AnswerSource.PREDEMANDE: "Pré-demande", AnswerSource.CITIZEN: "Déclaré à la borne"}


def _answer_label(question: str, value: Any) -> str:
    if value is None:
        return "Ne sait pas : à vérifier au guichet"
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if question == "titles" and isinstance(value, list):
        return ", ".join(_FR(f"title.{t}") for t in value if isinstance(t, str))
    if question == "motif":
        return _FR(f"motif.{value}")
    if question == "age_band":
        return _FR(f"age.{value}")
    if question == "secure_document":
        return SECURE_LABELS.get(str(value), str(value))
    return str(value)


def answers(dossier: Dossier) -> list[tuple[str, str, str]]:
    """(question, answer, who said it) for each fact the checklist rests on, in the order asked."""
    return [(QUESTION_LABELS.get(a.question, a.question), _answer_label(a.question, a.value), SOURCE_LABELS[a.source])
            for a in _captured(dossier).answers]


def attachment_kind(dossier: Dossier, name: str) -> str | None:
    """``fingerprint``, ``signature``, ``photo`` or ``document`` for an image the console may show; else None.

    The fingerprint templates are attachments too but are never shown: the
    console serves only what it displays.
    """
    captured = _captured(dossier)
    if any(f.attachment == name for f in captured.fingerprints):
        return "fingerprint"
    if name and captured.signature == name:
        return "signature"
    for d in captured.documents:
        if d.attachment == name:
            return "photo" if d.requirement == "photo" else "document"
    return None


def audit_action(kind: str) -> str:
    """The audit action for viewing an attachment: fingerprints are biometric data of their own kind."""
    return {"fingerprint": "view_fingerprint", "signature": "view_biometric", "photo": "view_biometric"}.get(
        kind, "view_document")


def predemande_data(db: Session, dossier: Dossier) -> dict[str, Any] | None:
    """The online form: the service's own copy when it has one, else what the kiosk fetched."""
    stored = db.get(Predemande, dossier.predemande_number) if dossier.predemande_number else None
    data = stored.data if stored is not None else _captured(dossier).predemande
    if not isinstance(data, dict):
        return None
    extra = data.get("extra") if isinstance(data.get("extra"), dict) else {}
    return {**extra, **data}


def _name(p: dict[str, Any] | None) -> str:
    if not isinstance(p, dict):
        return ""
    return " ".join(str(x) for x in (p.get("surname"), p.get("given_names")) if x)


def predemande_fields(db: Session, dossier: Dossier) -> list[tuple[str, list[tuple[str, str]]]]:
    """The pré-demande as (section, [(label, value)]) for the page, in the order an agent checks them."""
    pd = predemande_data(db, dossier)
    if pd is None:
        return []
    person = pd.get("person") if isinstance(pd.get("person"), dict) else {}
    fil = pd.get("filiation") if isinstance(pd.get("filiation"), dict) else {}
    contact = pd.get("contact") if isinstance(pd.get("contact"), dict) else {}
    titles = ", ".join(_FR(f"title.{t}") for t in pd.get("titles", []) if isinstance(t, str))
    sex = {"F": "Féminin", "M": "Masculin"}.get(str(person.get("sex", "")), str(person.get("sex", "")))
    born = person.get("birth_date") or ""
    if isinstance(born, str) and len(born) == 10:
        born = f"{born[8:10]}/{born[5:7]}/{born[0:4]}"
    place = str(person.get("birth_place") or "")
    if person.get("birth_country"):
        place += f" ({person['birth_country']})"
    sections = [
        ("Demande", [("Numéro de pré-demande", str(pd.get("number", dossier.predemande_number))),
                     ("Motif", _FR(f"motif.{pd.get('motif')}") if pd.get("motif") else ""),
                     ("Titres demandés", titles)]),
        ("État civil", [("Nom", str(person.get("surname", ""))), ("Nom d'usage", str(person.get("usage_name", ""))),
                        ("Prénoms", str(person.get("given_names", ""))), ("Sexe", sex), ("Date de naissance", born),
                        ("Lieu de naissance", place.strip())]),
        ("Filiation", [("Parent 1", _name(fil.get("parent1"))), ("Parent 2", _name(fil.get("parent2")))]),
        ("Nationalité", [("Nationalité", str(pd.get("nationality", "")))]),
        ("Adresse", [("Adresse", str(pd.get("address", ""))),
                     ("Hébergé par un tiers", {True: "Oui", False: "Non"}.get(pd.get("hosted"), "Non précisé"))]),
        ("Contact", [("Courriel", str(contact.get("email", ""))), ("Téléphone", str(contact.get("phone", "")))]),
    ]
    return [(title, [(k, v) for k, v in rows if v]) for title, rows in sections]


def finger_label(finger: str) -> str:
    return _FR(f"finger.{finger}") if f"finger.{finger}" in _FR.table else finger


FINGER_STATUS = {FingerStatus.CAPTURED: "Relevée", FingerStatus.LOW_QUALITY: "Qualité insuffisante",
                 FingerStatus.UNAVAILABLE: "Impossible à la borne", FingerStatus.SENSOR_FAILED: "Capteur en panne"}
