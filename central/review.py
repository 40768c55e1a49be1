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
  no dossier content;
* a dossier has a **version**, bumped by every verdict and decision: a
  page drawn at an older version (a colleague has judged since) cannot
  change it (:class:`Stale`), so nobody overwrites a verdict they did not
  see;
* a dossier is **held** by the reviewer who has it open (:func:`hold`);
  while their page says it is still open (within :data:`HOLD_SECONDS`),
  nobody else judges or decides it (:class:`Held`) unless they take it
  over, which is audited and written to its history;
* every verdict change, take-over and decision is a line of the dossier's
  history (``DossierEvent``), shown to agents with the person's name.

The caller owns the transaction (``with services.db() as db, db.begin():``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from urllib.parse import quote

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from central import audit
from central.models import Dossier, DossierEvent, DossierState, Predemande, Role, User, Verdict
from central.reasons import Notice
from titres.dossier import AnswerSource, FingerStatus, Flag
from titres.dossier import Dossier as CapturedDossier
from titres.i18n import Translator
from titres.messages import MESSAGES
from titres.rules import Case, SecureDocument, checklist
from titres.wording import requirement_condition as requirement_condition_of
from titres.wording import requirement_label as requirement_label_of

MAX_COMMENT = 500
VERDICTS = {"conforme": "Conforme", "non_conforme": "Non conforme", "original": "Présenté en original",
            "sans_objet": "Sans objet"}
#: Only a conditional item (the citizen could not tell whether it applies) may be judged "sans objet".
CONDITIONAL_ONLY = {"sans_objet"}
REVIEWERS = (Role.AGENT.value, Role.SUPERVISOR.value)
#: A holder whose page has not said it is open for this long has left: the dossier is free again.
HOLD_SECONDS = 120

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


class Stale(InvalidAction):
    """The page was drawn at an older version of the dossier: someone has judged or decided since."""


class Held(InvalidAction):
    """Someone else has the dossier open right now; taking it over is an explicit, audited action."""


#: Told of a decision inside its transaction: ``tell(db, dossier, kind, notice)`` (the citizen's mail).
Teller = Callable[[Session, Dossier, str, "Notice | None"], object]


def _now() -> datetime:
    return datetime.now(timezone.utc)


# -- who sees what ------------------------------------------------------------------

def reviewable_site(user) -> str | None:
    """The one mairie whose dossiers ``user`` may see, None for every mairie; refuses the other roles."""
    if user.role == Role.SUPERVISOR:
        return None
    if user.role == Role.AGENT and user.site_id:
        return user.site_id
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


def names(db: Session, usernames) -> dict[str, str]:
    """Each login's full name (the login itself when the account has none): agents read names, not logins."""
    wanted = {u for u in usernames if u}
    if not wanted:
        return {}
    rows = db.execute(select(User.username, User.full_name).where(User.username.in_(wanted))).all()
    found = {username: full_name or username for username, full_name in rows}
    return {u: found.get(u, u) for u in wanted}


# -- who has the dossier open -------------------------------------------------------------------

@dataclass(frozen=True)
class Holder:
    user_id: int
    username: str  # for the audit log
    name: str      # for the pages
    since: datetime
    seen_at: datetime

    def active(self, now: datetime) -> bool:
        return now - self.seen_at <= timedelta(seconds=HOLD_SECONDS)


def holders(db: Session, dossiers) -> dict[str, Holder]:
    """Who holds each of ``dossiers`` (by dossier id), active or not: one query for all their names."""
    held = [d for d in dossiers if d.holder_id is not None and d.held_since is not None and d.held_seen_at is not None]
    if not held:
        return {}
    users = {uid: (username, full_name) for uid, username, full_name in db.execute(
        select(User.id, User.username, User.full_name).where(User.id.in_({d.holder_id for d in held})))}
    out = {}
    for d in held:
        username, full_name = users.get(d.holder_id, (str(d.holder_id), "un compte supprimé"))
        out[d.id] = Holder(d.holder_id, username, full_name or username, d.held_since, d.held_seen_at)
    return out


def holder(db: Session, dossier: Dossier) -> Holder | None:
    return holders(db, [dossier]).get(dossier.id)


def held_by_other(db: Session, user, dossier: Dossier, now: datetime) -> Holder | None:
    """The colleague who has this dossier open right now, if it is not ``user``."""
    current = holder(db, dossier)
    if current is not None and current.user_id != user.id and current.active(now):
        return current
    return None


def hold(db: Session, user, dossier: Dossier, now: datetime | None = None, take: bool = False,
         ip: str = "") -> Holder | None:
    """Say that ``user`` has the dossier open. Returns the colleague who holds it instead, if any (and ``take``
    is false); else ``user`` holds it from now (or still), and None.

    Holding changes nothing of the dossier's content, so it does not bump
    its version. Taking over is written to the audit log and the history.
    """
    now = now or _now()
    if dossier.state != DossierState.RECEIVED:
        return None
    current = holder(db, dossier)
    active = current is not None and current.active(now)
    if active and current.user_id != user.id:
        if not take:
            return current
        audit.record(db, actor=user.username, role=user.role, action="take_over", dossier_id=dossier.id,
                     detail=f"à {current.username}", ip=ip)
        db.add(DossierEvent(dossier_id=dossier.id, at=now, kind="take_over", actor=user.username,
                            detail=current.name))
    if not (active and current.user_id == user.id):
        dossier.held_since = now  # a new holding: since now
    dossier.holder_id, dossier.held_seen_at = user.id, now
    return None


def _for_change(db: Session, user, dossier_id: str, version: int | None, now: datetime) -> Dossier:
    """The dossier, locked, once it is still to review, at the version the page was drawn at, and not in
    a colleague's hands. ``version`` None is for callers without a page (the command line, tests)."""
    dossier = get_for_user(db, user, dossier_id, lock=True)
    _require_received(dossier)
    if version is not None and version != dossier.version:
        raise Stale("Ce dossier a changé depuis l'affichage de votre page (un collègue a donné un avis ou l'a "
                    "traité). Votre saisie n'a pas été enregistrée : voici son état actuel, vérifiez puis "
                    "recommencez.")
    other = held_by_other(db, user, dossier, now)
    if other is not None:
        minutes = max(1, int((now - other.since).total_seconds() // 60))
        raise Held(f"{other.name} a ce dossier ouvert depuis {minutes} min : votre saisie n'a pas été "
                   "enregistrée. Prenez la main si cette personne n'y travaille plus.")
    hold(db, user, dossier, now)
    return dossier


def _bump(db: Session, dossier: Dossier) -> None:
    """The next version, with an UPDATE conditional on the one read: a concurrent change cannot be lost."""
    done = db.execute(update(Dossier).where(Dossier.id == dossier.id, Dossier.version == dossier.version)
                      .values(version=Dossier.version + 1).execution_options(synchronize_session="fetch"))
    if done.rowcount != 1:
        raise Stale("Ce dossier vient d'être modifié par quelqu'un d'autre : rechargez-le.")


def _check_verdict(dossier: Dossier, requirement: str, verdict: str, comment: str) -> str:
    if requirement not in requirements(dossier):
        raise InvalidAction("Cette pièce ne fait pas partie du dossier.")
    if verdict not in VERDICTS:
        raise InvalidAction("Choisissez : conforme, non conforme, présenté en original ou sans objet.")
    if verdict in CONDITIONAL_ONLY and requirement not in conditional_items(dossier):
        raise InvalidAction("Cette pièce est exigée dans ce cas : elle ne peut pas être sans objet.")
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidAction(f"Le commentaire fait au plus {MAX_COMMENT} caractères.")
    return comment


def _record_verdict(db: Session, user, dossier: Dossier, requirement: str, verdict: str, comment: str,
                    now: datetime, ip: str) -> Verdict | None:
    """Write one verdict; None when it changes nothing. A comment left as it was under another verdict is
    dropped with it: it said why about something else, and it was someone's own words."""
    row = db.get(Verdict, (dossier.id, requirement))
    if row is not None:
        if (row.verdict, row.comment) == (verdict, comment):
            return None
        if row.verdict != verdict and comment == row.comment:
            comment = ""
    else:
        row = Verdict(dossier_id=dossier.id, requirement=requirement)
        db.add(row)
    row.verdict, row.comment, row.agent, row.at = verdict, comment, user.username, now
    label = requirement_label(dossier, requirement)
    db.add(DossierEvent(dossier_id=dossier.id, at=now, kind="verdict", actor=user.username,
                        detail=f"{label} : {VERDICTS[verdict]}" + (f" — {comment}" if comment else "")))
    audit.record(db, actor=user.username, role=user.role, action="verdict", dossier_id=dossier.id,
                 detail=f"{requirement}: {verdict}", ip=ip)
    return row


def set_verdict(db: Session, user, dossier_id: str, requirement: str, verdict: str, comment: str = "",
                ip: str = "", version: int | None = None, now: datetime | None = None) -> Verdict | None:
    """Judge one item; the dossier's new version follows. None when the verdict and comment were already so."""
    now = now or _now()
    dossier = _for_change(db, user, dossier_id, version, now)
    comment = _check_verdict(dossier, requirement, verdict, comment)
    row = _record_verdict(db, user, dossier, requirement, verdict, comment, now, ip)
    if row is not None:
        _bump(db, dossier)
    return row


def set_remaining(db: Session, user, dossier_id: str, verdict: str = "conforme", ip: str = "",
                  version: int | None = None, now: datetime | None = None) -> list[str]:
    """« Tout conforme » : ``verdict`` on every item still without one; the items already judged (the
    exceptions the agent made first) keep theirs. Returns the items judged."""
    now = now or _now()
    dossier = _for_change(db, user, dossier_id, version, now)
    given = verdicts(db, dossier.id)
    todo = [r for r in requirements(dossier) if r not in given]
    for requirement in todo:
        _record_verdict(db, user, dossier, requirement, verdict, _check_verdict(dossier, requirement, verdict, ""),
                        now, ip)
    if todo:
        _bump(db, dossier)
    return todo


def missing_verdicts(db: Session, dossier: Dossier) -> tuple[list[str], list[str]]:
    """(items without a verdict, items judged non conforme)."""
    given = verdicts(db, dossier.id)
    missing = [r for r in requirements(dossier) if r not in given]
    refused = [r for r, v in given.items() if v.verdict == "non_conforme"]
    return missing, refused


def _decide(db: Session, user, dossier: Dossier, state: DossierState, notice: Notice | None, now: datetime,
            tell: Teller | None) -> None:
    """Move a received dossier to ``state``; the WHERE on the state makes a concurrent second decision lose."""
    reasons = notice.summary() if notice is not None else None
    done = db.execute(update(Dossier).where(Dossier.id == dossier.id, Dossier.state == DossierState.RECEIVED.value,
                                            Dossier.version == dossier.version)
                      .values(state=state.value, decided_by=user.username, decided_at=now, return_reasons=reasons,
                              return_notice=notice.to_dict() if notice is not None else None,
                              version=Dossier.version + 1, holder_id=None, held_since=None, held_seen_at=None)
                      .execution_options(synchronize_session="fetch"))
    if done.rowcount != 1:
        raise InvalidAction("Ce dossier vient d'être traité par quelqu'un d'autre.")
    db.add(DossierEvent(dossier_id=dossier.id, at=now, kind=state.value, actor=user.username, detail=reasons or ""))
    if tell is not None:
        tell(db, dossier, state.value, notice)


def approve(db: Session, user, dossier_id: str, ip: str = "", version: int | None = None,
            now: datetime | None = None, tell: Teller | None = None) -> None:
    now = now or _now()
    dossier = _for_change(db, user, dossier_id, version, now)
    missing, refused = missing_verdicts(db, dossier)
    if missing:
        raise InvalidAction("Avis manquant pour : " + ", ".join(requirement_label(dossier, r) for r in missing) + ".")
    if refused:
        raise InvalidAction("Pièce non conforme : " + ", ".join(requirement_label(dossier, r) for r in refused)
                            + ". Renvoyez le dossier avec un motif.")
    _decide(db, user, dossier, DossierState.VALIDATED, None, now, tell)
    audit.record(db, actor=user.username, role=user.role, action="approve", dossier_id=dossier.id, ip=ip)


def return_(db: Session, user, dossier_id: str, notice: Notice, ip: str = "", version: int | None = None,
            now: datetime | None = None, tell: Teller | None = None) -> None:
    """Send the dossier back; ``notice`` (``central.reasons.notice``) is what the citizen is told, and why."""
    now = now or _now()
    dossier = _for_change(db, user, dossier_id, version, now)
    _decide(db, user, dossier, DossierState.RETURNED, notice, now, tell)
    audit.record(db, actor=user.username, role=user.role, action="return", dossier_id=dossier.id, ip=ip)


# -- what the dossier page shows ------------------------------------------------------------

_FR = Translator("fr")

#: A document's name as agents say it: the kiosk's own words speak to the citizen (« Votre passeport »).
AGENT_WORDING = {
    "doc.photo.child": "Photo d'identité du mineur",
    "doc.previous_title": "Carte d'identité ou passeport actuel",
    "doc.previous_title.child": "Carte d'identité ou passeport actuel du mineur",
    "doc.previous_cni": "Carte d'identité actuelle",
    "doc.previous_cni.child": "Carte d'identité actuelle du mineur",
    "doc.previous_passport": "Passeport actuel",
    "doc.previous_passport.child": "Passeport actuel du mineur",
    "doc.passport_held": "Passeport détenu",
    "doc.passport_held.child": "Passeport détenu par le mineur",
    "doc.secure_id_held": "Carte d'identité ou passeport détenu",
    "doc.secure_id_held.child": "Carte d'identité ou passeport détenu par le mineur",
    "doc.cni_held": "Carte d'identité détenue",
    "doc.cni_held.child": "Carte d'identité détenue par le mineur",
    "doc.birth_certificate.child": "Acte de naissance du mineur",
    "doc.nationality_proof.child": "Justificatif de nationalité française du mineur",
    "doc.parent_presence": "Présence du mineur au guichet avec son représentant légal",
}
_AGENT = Translator("fr", {**MESSAGES, **{key: {"fr": text} for key, text in AGENT_WORDING.items()}})


def _checklist(dossier: Dossier) -> dict[str, Any]:
    """The checklist the citizen saw at the kiosk, rebuilt from the dossier's case by the kiosk's own rules."""
    case = _captured(dossier).case
    try:
        return {r.id: r for r in checklist(Case.from_dict(case))}
    except (KeyError, TypeError, ValueError):
        return {}


def requirement_label(dossier: Dossier, requirement: str) -> str:
    """The document's title in French, in agents' words (:data:`AGENT_WORDING`) where the kiosk's address the
    citizen."""
    req = _checklist(dossier).get(requirement)
    return requirement_label_of(_AGENT, req) if req is not None else requirement


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


def attachment_label(dossier: Dossier, name: str, kind: str) -> tuple[str, str | None]:
    """An image's name as agents read it on the dossier page, and the checklist item it is the photo of (None for
    a fingerprint or the signature). ``kind`` is :func:`attachment_kind`'s answer for ``name``."""
    captured = _captured(dossier)
    if kind == "fingerprint":
        finger = next(f.finger for f in captured.fingerprints if f.attachment == name)
        return f"Empreinte : {finger_label(finger)}", None
    if kind == "signature":
        return "Signature", None
    requirement = next(d.requirement for d in captured.documents if d.attachment == name)
    return ("Photo d'identité" if kind == "photo" else requirement_label(dossier, requirement)), requirement


def image_version(dossier: Dossier) -> str:
    """What an image's address says of the package it comes from: a package never changes, so an address that
    names it may be kept by the agent's browser (``central.console.dossiers.attachment``)."""
    return dossier.package_sha256[:16]


def attachment_url(dossier: Dossier, name: str) -> str:
    """Where the console serves an image of the dossier, at the address that names its package (``?v=``)."""
    return f"/console/dossiers/{dossier.id}/attachments/{quote(name)}?v={image_version(dossier)}"
