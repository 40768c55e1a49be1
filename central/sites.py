"""The mairies' settings: the name, address and opening hours a kiosk prints, the language it greets in,
the reasons its agents return a dossier for.

A mairie is added on purpose, by :func:`create_site` (the console's
*Mairies* page, ``kiosk-central site create``), never on the way to
something else: a typo in a name must not make a second mairie. The
console's page and ``kiosk-central site set`` edit one through
:func:`edit_site`. Both check every value before changing any and write
the audit line in the caller's transaction. A kiosk receives
these settings when it enrolls (``central.api``); one already in service
keeps what it received until it is enrolled again.

The receipt wraps the address and the hours to the printer's 48 columns and
prints line breaks as spaces, so each value is kept on one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central import audit, reasons
from central.enrollment import slug
from central.models import Device, Site
from titres.errors import ConfigError
from titres.i18n import LANGUAGES
from titres.timezones import time_zone

NAME_MAX = 200
ADDRESS_MAX = 300
HOURS_MAX = 300
LANGUAGE_LABELS = {"fr": "Français", "en": "Anglais"}
#: How each setting is named in messages and in the audit log.
FIELD_LABELS = {"name": "nom", "address": "adresse", "opening_hours": "horaires", "default_language": "langue",
                "timezone": "fuseau horaire", "return_reasons": "motifs de renvoi"}
#: A new mairie's language and time zone when none is given (the console's form shows them chosen).
DEFAULT_LANGUAGE, DEFAULT_ZONE = "fr", "Europe/Paris"
#: The reasons' two texts are at most this long (30 reasons of 300 characters, and their line breaks).
REASONS_TEXT_MAX = reasons.MAX_REASONS_PER_SITE * (reasons.MAX_REASON + 2)
#: The zones of the mairies of France and its overseas territories, offered first in the console.
FRENCH_ZONES = {
    "Europe/Paris": "Métropole et Corse", "America/Cayenne": "Guyane", "America/Guadeloupe": "Guadeloupe",
    "America/Martinique": "Martinique", "Indian/Reunion": "La Réunion", "Indian/Mayotte": "Mayotte",
    "America/Miquelon": "Saint-Pierre-et-Miquelon", "Pacific/Noumea": "Nouvelle-Calédonie",
    "Pacific/Tahiti": "Polynésie française (Tahiti)", "Pacific/Wallis": "Wallis-et-Futuna",
}


class SiteError(ValueError):
    """A value the mairie cannot take, with a French message and the field it concerns."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class SiteSummary:
    id: str
    name: str
    address: str
    opening_hours: str
    default_language: str
    kiosks: int  # enrolled and not revoked
    timezone: str = DEFAULT_ZONE


def list_sites(db: Session) -> list[SiteSummary]:
    kiosks = (select(func.count(Device.id)).where(Device.site_id == Site.id, Device.revoked_at.is_(None))
              .correlate(Site).scalar_subquery())
    rows = db.execute(select(Site, kiosks)).all()
    summaries = [SiteSummary(s.id, s.name, s.address, s.opening_hours, s.default_language, n, s.timezone)
                 for s, n in rows]
    return sorted(summaries, key=lambda s: (slug(s.name), s.name))  # "Trèbes" after "démonstration"


def _checked_name(db: Session, site: Site, value: str) -> str:
    name = reasons.one_line(value)
    if not name:
        raise SiteError("name", "Indiquez le nom de la mairie.")
    if len(name) > NAME_MAX:
        raise SiteError("name", f"Le nom fait au plus {NAME_MAX} caractères.")
    # A mairie is found by its id or its name (``enrollment.site_by_name``): neither may point at another one.
    taken = db.scalar(select(Site.id).where(or_(Site.name == name, Site.id == name), Site.id != site.id))
    if taken is not None:
        raise _name_taken(name)
    return name


def _name_taken(name: str) -> SiteError:
    return SiteError("name", f"« {name} » désigne déjà une autre mairie.")


def _checked_text(field: str, value: str, limit: int) -> str:
    text = reasons.one_line(value)
    if len(text) > limit:
        raise SiteError(field, f"Le champ « {FIELD_LABELS[field]} » fait au plus {limit} caractères.")
    return text


def _checked_language(value: str) -> str:
    language = value.strip().lower()
    if language not in LANGUAGES:
        names = " ou ".join(f"{LANGUAGE_LABELS.get(code, code).lower()} ({code})" for code in LANGUAGES)
        raise SiteError("default_language", f"Choisissez la langue parmi : {names}.")
    return language


def _checked_zone(value: str) -> str:
    zone = value.strip()
    try:
        time_zone(zone)
    except ConfigError:
        raise SiteError("timezone", f"« {zone[:64]} » n'est pas un fuseau horaire connu "
                                    "(par exemple Europe/Paris ou America/Cayenne).") from None
    return zone


def _checked_reasons(site: Site, fr: str, en: str) -> list[dict[str, str]] | None:
    """The form's two texts (``reasons.from_text``) as the column keeps them; None for the defaults.

    Texts longer than any allowed list could be are refused before they are read line by line.
    """
    if max(len(fr), len(en)) > REASONS_TEXT_MAX:
        raise SiteError("return_reasons", f"Les motifs de renvoi sont trop longs ({reasons.MAX_REASONS_PER_SITE} "
                                          f"motifs de {reasons.MAX_REASON} caractères au plus).")
    try:
        chosen = reasons.from_text(fr, en, reasons.for_site(site))
        return None if chosen is None else reasons.stored(chosen)
    except reasons.ReasonsError as exc:
        raise SiteError("return_reasons", str(exc)) from None


def _shown(field: str, value: Any) -> str:
    """A value as the audit line shows it: a list of reasons by their codes."""
    if field == "return_reasons":
        return "par défaut" if value is None else ", ".join(r["code"] for r in value)
    return value


def _free_id(db: Session, name: str) -> str:
    """An id made from the name, taken neither as another mairie's id nor as its name."""
    base = slug(name)[:60]
    candidate, n = base, 1
    while db.scalar(select(Site.id).where(or_(Site.id == candidate, Site.name == candidate))) is not None:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _checked_new_name(db: Session, site: Site, value: str) -> str:
    name = _checked_name(db, site, value)
    twin = next((other for other in db.scalars(select(Site.name)) if slug(other) == slug(name)), None)
    if twin is not None:
        raise SiteError("name", f"« {name} » ressemble trop à « {twin} », qui existe déjà : si c'est la même "
                                "mairie, choisissez-la plutôt que d'en ajouter une.")
    return name


def create_site(db: Session, *, actor: str, role: str, ip: str = "", name: str, address: str = "",
                opening_hours: str = "", default_language: str = DEFAULT_LANGUAGE,
                timezone: str = DEFAULT_ZONE) -> Site:
    """Add a mairie, its id made from its name, and audit it as ``create_site``.

    Raises :class:`SiteError` before adding anything when a value is refused,
    a name already taken included, or one that differs from another's only by
    its accents, case or punctuation (« Mairie de Trebes » beside « Mairie de
    Trèbes »): that is a typo, not a second mairie.
    """
    site = Site(id=_free_id(db, reasons.one_line(name) or "site"))
    values = {"name": _checked_new_name(db, site, name),
              "address": _checked_text("address", address, ADDRESS_MAX),
              "opening_hours": _checked_text("opening_hours", opening_hours, HOURS_MAX),
              "default_language": _checked_language(default_language),
              "timezone": _checked_zone(timezone or DEFAULT_ZONE)}
    for field, value in values.items():
        setattr(site, field, value)
    db.add(site)
    try:
        db.flush()
    except IntegrityError:  # another mairie took the name or the id since they were checked
        raise _name_taken(values["name"]) from None
    detail = " ; ".join(f"{FIELD_LABELS[field]} « {value} »" for field, value in values.items())
    audit.record(db, actor=actor, role=role, action="create_site", detail=f"{site.id} : {detail}", ip=ip)
    return site


def edit_site(db: Session, site: Site, *, actor: str, role: str, ip: str = "", name: str | None = None,
              address: str | None = None, opening_hours: str | None = None,
              default_language: str | None = None, timezone: str | None = None,
              return_reasons: tuple[str, str] | None = None) -> list[str]:
    """Set the given values (``None`` leaves one as it is) and audit the change as ``edit_site``.

    ``return_reasons`` is the settings form's two texts, French and English,
    one reason a line (``reasons.from_text``); an empty French text brings
    the defaults back. Returns the fields that changed, empty when nothing
    did (and then no audit line is written). Raises :class:`SiteError`
    before changing anything when a value is refused.
    """
    wanted: dict[str, Any] = {}
    if name is not None:
        wanted["name"] = _checked_name(db, site, name)
    if address is not None:
        wanted["address"] = _checked_text("address", address, ADDRESS_MAX)
    if opening_hours is not None:
        wanted["opening_hours"] = _checked_text("opening_hours", opening_hours, HOURS_MAX)
    if default_language is not None:
        wanted["default_language"] = _checked_language(default_language)
    if timezone is not None:
        wanted["timezone"] = _checked_zone(timezone)
    if return_reasons is not None:
        wanted["return_reasons"] = _checked_reasons(site, *return_reasons)
    changed = {field: (getattr(site, field), value) for field, value in wanted.items()
               if getattr(site, field) != value}
    if not changed:
        return []
    for field, (_, value) in changed.items():
        setattr(site, field, value)
    try:
        db.flush()
    except IntegrityError:  # another mairie took the name since it was checked
        raise _name_taken(wanted["name"]) from None
    detail = " ; ".join(f"{FIELD_LABELS[field]} « {_shown(field, old)} » → « {_shown(field, new)} »"
                        for field, (old, new) in changed.items())
    audit.record(db, actor=actor, role=role, action="edit_site", detail=f"{site.id} : {detail}", ip=ip)
    return list(changed)
