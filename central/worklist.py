"""The agents' worklist: which dossiers to check, in which order, and what to know before opening one.

Plain functions over a database session, with no web code, as in
``central.review`` (whose rule on who sees what this module follows: an
agent sees their own mairie's dossiers, a supervisor every mairie's):

* :class:`Filters` is the worklist's question in one typed object, read from
  a query string with French refusals (:class:`InvalidFilter`); by default
  the dossiers « À vérifier », oldest first, the order the work is done in;
* :func:`worklist` answers it a page at a time, with the total for those
  filters, each row's kiosk code, the other dossiers made from the same
  pré-demande (« Doublon ») and who has the dossier open right now; a page
  costs a fixed number of queries whatever its length;
* :func:`duplicates_of` and :func:`next_dossier` serve the dossier page
  (the other dossiers of the same pré-demande; « Dossier suivant »).

A search that reads as a dossier number (typed, or scanned from the
receipt) names one dossier: it ignores the other filters, so a scan opens a
dossier whatever its state. A pré-demande or surname search stays within
the filters.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, or_, select, tuple_
from sqlalchemy.orm import Session

from central import review
from central.models import Device, Dossier, DossierState, Role
from central.review import InvalidAction
from central.status import canonical_number
from titres.ids import normalise_kiosk_code

PAGE_SIZE = 50
MAX_SEARCH = 100
MAX_PAGE = 10_000
#: Dates typed in the filters are days in Paris, as the console shows every time (a mairie overseas reads them so).
PARIS = ZoneInfo("Europe/Paris")


class InvalidFilter(InvalidAction):
    """A filter value the worklist cannot read; the message (French) says which and how to write it."""


class Sort(enum.StrEnum):
    OLDEST = "oldest"    # received_at ascending: the order work is done in
    NEWEST = "newest"
    SURNAME = "surname"
    KIOSK = "kiosk"


class Alerts(enum.StrEnum):
    ANY = ""
    WITH = "with"
    WITHOUT = "without"


#: The worklist's choices as the agent reads them (the filter form, the caption).
SORT_LABELS = {Sort.OLDEST: "du plus ancien au plus récent", Sort.NEWEST: "du plus récent au plus ancien",
               Sort.SURNAME: "par nom", Sort.KIOSK: "par borne"}
ALERT_LABELS = {Alerts.ANY: "Avec ou sans alerte", Alerts.WITH: "Avec alertes", Alerts.WITHOUT: "Sans alerte"}
#: « 124 dossiers à vérifier »: the total's words per state (singular, plural); None is every state.
TOTAL_WORDS = {None: ("dossier", "dossiers"), "received": ("dossier à vérifier", "dossiers à vérifier"),
               "validated": ("dossier validé", "dossiers validés"), "returned": ("dossier renvoyé", "dossiers renvoyés"),
               "sent": ("dossier transmis à la préfecture", "dossiers transmis à la préfecture")}
ALL_STATES = "all"


def _paris_day(text: str, what: str) -> date:
    """A day as a date field sends it (2026-12-02) or as an agent types it (02/12/2026)."""
    text = text.strip()
    try:
        if "/" in text:
            day, month, year = text.split("/")
            return date(int(year), int(month), int(day))
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidFilter(f"Date {what} invalide : écrivez-la jj/mm/aaaa (par exemple 02/12/2026).") from None


@dataclass(frozen=True)
class Filters:
    """What the worklist shows: every field has the default an agent starts the day with.

    ``state`` None is « Tous ». ``site_id`` is honoured for supervisors only:
    an agent's worklist is always their own mairie's. ``received_from`` and
    ``received_to`` are days in Europe/Paris, both included.
    """

    search: str = ""
    state: str | None = DossierState.RECEIVED.value
    site_id: str | None = None
    kiosk: str | None = None
    alerts: Alerts = Alerts.ANY
    received_from: date | None = None
    received_to: date | None = None
    sort: Sort = Sort.OLDEST
    page: int = 1

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> Filters:
        """The filters of a query string (``q``, ``state``, ``site``, ``kiosk``, ``alerts``, ``from``, ``to``,
        ``sort``, ``page``); an absent or empty value is the default. Raises :class:`InvalidFilter`.

        A page that is not a number is the first (a hand-edited address, not a wrong filter).
        """
        def get(name: str) -> str:
            return str(params.get(name) or "").strip()

        search = get("q")
        if len(search) > MAX_SEARCH:
            raise InvalidFilter(f"La recherche fait au plus {MAX_SEARCH} caractères.")
        state_text = get("state")
        if state_text == ALL_STATES:
            state = None
        elif not state_text:
            state = DossierState.RECEIVED.value
        elif state_text in {s.value for s in DossierState}:
            state = state_text
        else:
            raise InvalidFilter("État inconnu : choisissez un état dans la liste.")
        site_id = get("site") or None
        if site_id is not None and (len(site_id) > 64 or not all(c.isalnum() or c in "-_." for c in site_id)):
            raise InvalidFilter("Mairie inconnue : choisissez une mairie dans la liste.")
        kiosk = get("kiosk") or None
        if kiosk is not None:
            try:
                kiosk = normalise_kiosk_code(kiosk)
            except ValueError:
                raise InvalidFilter("Code de borne invalide : choisissez une borne dans la liste.") from None
        try:
            alerts = Alerts(get("alerts"))
        except ValueError:
            raise InvalidFilter("Filtre d'alertes inconnu : avec ou sans alerte.") from None
        received_from = _paris_day(get("from"), "de début") if get("from") else None
        received_to = _paris_day(get("to"), "de fin") if get("to") else None
        if received_from and received_to and received_from > received_to:
            raise InvalidFilter("La date de début est après la date de fin.")
        try:
            sort = Sort(get("sort") or Sort.OLDEST)
        except ValueError:
            raise InvalidFilter("Ordre inconnu : du plus ancien, du plus récent, par nom ou par borne.") from None
        page_text = get("page")
        page = min(int(page_text), MAX_PAGE) if page_text.isdigit() and len(page_text) < 6 else 1
        return cls(search, state, site_id, kiosk, alerts, received_from, received_to, sort, max(1, page))

    def params(self, **changes: Any) -> dict[str, str]:
        """The query string's values for these filters (with ``changes``), defaults left out: links stay short."""
        f = replace(self, **changes) if changes else self
        sort, alerts = Sort(f.sort), Alerts(f.alerts)  # a template passes plain strings
        out = {"q": f.search, "state": ALL_STATES if f.state is None else
               ("" if f.state == DossierState.RECEIVED.value else f.state),
               "site": f.site_id or "", "kiosk": f.kiosk or "", "alerts": alerts.value,
               "from": f.received_from.isoformat() if f.received_from else "",
               "to": f.received_to.isoformat() if f.received_to else "",
               "sort": "" if sort == Sort.OLDEST else sort.value, "page": "" if f.page == 1 else str(f.page)}
        return {k: v for k, v in out.items() if v}

    def query(self, **changes: Any) -> str:
        """``?state=all&sort=newest`` for a link to these filters with ``changes`` (``?`` alone for the defaults)."""
        return "?" + urlencode(self.params(**changes))

    @property
    def narrowed(self) -> bool:
        """Whether anything but the state, the order and the page narrows the list (the empty list says so)."""
        return bool(self.search or self.site_id or self.kiosk or self.alerts or self.received_from
                    or self.received_to)


@dataclass(frozen=True)
class Duplicate:
    """Another dossier made from the same pré-demande: enough to link to it and say where it stands."""

    id: str
    number: str
    state: str


@dataclass(frozen=True)
class Row:
    dossier: Dossier
    kiosk_code: str
    duplicates: tuple[Duplicate, ...] = ()
    #: Who has it open right now (``review.Holder``), if anyone.
    presence: review.Holder | None = None


@dataclass
class Worklist:
    filters: Filters
    rows: list[Row]
    total: int
    #: The search was a dossier number: one row means the console can open it directly.
    by_number: bool = False

    @property
    def page(self) -> int:
        return self.filters.page

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / PAGE_SIZE))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def items(self) -> list[Dossier]:
        return [r.dossier for r in self.rows]

    @property
    def total_label(self) -> str:
        """« 124 dossiers à vérifier », « 1 dossier validé »."""
        one, many = TOTAL_WORDS[self.filters.state if not self.by_number else None]
        return f"{self.total} {one if self.total == 1 else many}"


# -- who sees what, what the filters ask ----------------------------------------------------

def _scoped(user, q: Select) -> Select:
    site = review.reviewable_site(user)
    return q if site is None else q.where(Dossier.site_id == site)


# A desk scanner configured as a US keyboard on a French AZERTY workstation types
# the unshifted top row (& é " ' ( - è _ ç à) for digits, ")" for "-" and swaps
# A/Q, Z/W and M. Decoding is tried only when the text is not a number as typed;
# the check character makes a false match practically impossible.
_AZERTY = str.maketrans({"&": "1", "é": "2", '"': "3", "'": "4", "(": "5", "-": "6", "è": "7", "_": "8",
                         "ç": "9", "à": "0", ")": "-", "a": "q", "q": "a", "z": "w", "w": "z",
                         "A": "Q", "Q": "A", "Z": "W", "W": "Z", "?": "M", ",": "m"})


def scanned_number(text: str) -> str | None:
    """The canonical dossier number in what was typed or scanned (the receipt's QR holds the number), else None."""
    return canonical_number(text) or canonical_number(text.translate(_AZERTY))


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), PARIS).astimezone(timezone.utc)


def _filtered(user, filters: Filters, q: Select) -> Select:
    """``q`` within what ``user`` may see and what ``filters`` ask (a number searched for: that dossier alone).

    Expects ``q`` to select from dossiers joined to their device (``Device``)
    when the kiosk filter is set.
    """
    q = _scoped(user, q)
    if filters.search:
        number = scanned_number(filters.search)
        if number:
            return q.where(Dossier.number == number)
        pd = "".join(c for c in filters.search.upper() if c.isalnum())[:16]
        prefix = filters.search.upper().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        q = q.where(or_(Dossier.predemande_number == pd, Dossier.surname.ilike(prefix + "%", escape="\\")))
    if filters.state:
        q = q.where(Dossier.state == filters.state)
    if filters.site_id and user.role == Role.SUPERVISOR:
        q = q.where(Dossier.site_id == filters.site_id)
    if filters.kiosk:
        q = q.where(Device.kiosk_code == filters.kiosk)
    if filters.alerts == Alerts.WITH:
        q = q.where(func.json_array_length(Dossier.flags) > 0)
    elif filters.alerts == Alerts.WITHOUT:
        q = q.where(func.json_array_length(Dossier.flags) == 0)
    if filters.received_from:
        q = q.where(Dossier.received_at >= _day_start(filters.received_from))
    if filters.received_to:
        q = q.where(Dossier.received_at < _day_start(filters.received_to + timedelta(days=1)))
    return q


def _columns(sort: Sort) -> list:
    """What ``sort`` orders by: its own column first, then the reception time and the id, so it is stable."""
    lead = {Sort.SURNAME: [Dossier.surname], Sort.KIOSK: [Device.kiosk_code]}.get(sort, [])
    return [*lead, Dossier.received_at, Dossier.id]


def _order(sort: Sort) -> list:
    """The worklist's order (:func:`_columns`, backwards for the newest first)."""
    return [c.desc() for c in _columns(sort)] if sort == Sort.NEWEST else _columns(sort)


def _free_for(user, now: datetime):
    """The SQL condition "nobody else's page said, less than ``review.HOLD_SECONDS`` ago, that they have it open"."""
    return or_(Dossier.holder_id.is_(None), Dossier.holder_id == getattr(user, "id", None),
               Dossier.held_seen_at.is_(None), Dossier.held_seen_at < now - timedelta(seconds=review.HOLD_SECONDS))


# -- the worklist ------------------------------------------------------------------------------

def worklist(db: Session, user, filters: Filters = Filters(), now: datetime | None = None) -> Worklist:
    """The page of dossiers ``filters`` asks for, with their total, duplicates and who has them open.

    Four queries whatever the page holds: the total, the page, the other
    dossiers of the page's pré-demandes, the names of those who hold them.
    """
    now = now or datetime.now(timezone.utc)
    counting = select(func.count()).select_from(Dossier)
    if filters.kiosk:
        counting = counting.join(Device, Device.id == Dossier.device_id)
    by_number = bool(filters.search) and scanned_number(filters.search) is not None
    counted = _filtered(user, filters, counting)
    total = db.scalar(counted) or 0
    page = min(filters.page, max(1, math.ceil(total / PAGE_SIZE)))
    if page != filters.page:
        filters = replace(filters, page=page)
    listed = _filtered(user, filters, select(Dossier, Device.kiosk_code).join(Device, Device.id == Dossier.device_id))
    if by_number:
        listed = listed.order_by(Dossier.id)
    else:
        listed = listed.order_by(*_order(filters.sort))
    rows = db.execute(listed.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    dossiers = [d for d, _ in rows]
    duplicates = _duplicates(db, user, dossiers)
    presence = _presence(db, dossiers, now)
    return Worklist(filters, [Row(d, code, duplicates.get(d.id, ()), presence.get(d.id)) for d, code in rows],
                    total, by_number)


def _duplicates(db: Session, user, dossiers: list[Dossier]) -> dict[str, tuple[Duplicate, ...]]:
    """For each of ``dossiers``, the others ``user`` may see with the same (non-empty) pré-demande, oldest first."""
    numbers = {d.predemande_number for d in dossiers if d.predemande_number}
    if not numbers:
        return {}
    q = _scoped(user, select(Dossier.id, Dossier.number, Dossier.state, Dossier.predemande_number)
                .where(Dossier.predemande_number.in_(sorted(numbers)))
                .order_by(Dossier.received_at, Dossier.id))
    by_pd: dict[str, list[Duplicate]] = {}
    for id_, number, state, pd in db.execute(q):
        by_pd.setdefault(pd, []).append(Duplicate(id_, number, state))
    return {d.id: others for d in dossiers if d.predemande_number
            if (others := tuple(o for o in by_pd.get(d.predemande_number, ()) if o.id != d.id))}


def _presence(db: Session, dossiers: list[Dossier], now: datetime) -> dict[str, review.Holder]:
    return {id_: h for id_, h in review.holders(db, dossiers).items() if h.active(now)}


def kiosks(db: Session, user) -> list[tuple[str, str]]:
    """(kiosk code, mairie id) of the kiosks whose dossiers ``user`` may see, for the kiosk filter's list."""
    q = select(Device.kiosk_code, Device.site_id).order_by(Device.kiosk_code)
    site = review.reviewable_site(user)
    if site is not None:
        q = q.where(Device.site_id == site)
    return [(code, site) for code, site in db.execute(q)]


def duplicates_of(db: Session, user, dossier: Dossier) -> list[Dossier]:
    """The other dossiers ``user`` may see made from ``dossier``'s pré-demande, oldest first (none without one)."""
    if not dossier.predemande_number:
        return []
    q = _scoped(user, select(Dossier).where(Dossier.predemande_number == dossier.predemande_number,
                                            Dossier.id != dossier.id).order_by(Dossier.received_at, Dossier.id))
    return list(db.scalars(q))


def next_dossier(db: Session, user, after: Dossier, filters: Filters = Filters(),
                 now: datetime | None = None) -> Dossier | None:
    """The dossier to offer as « Dossier suivant » once ``after`` is decided, or None when none is left.

    The next dossier « À vérifier » in ``filters``' order after ``after``
    (whatever the filters' state, search and page say), skipping those
    someone else has open right now; past the end of the list, the first
    one left from its start (a dossier skipped earlier is still work to do).
    """
    now = now or datetime.now(timezone.utc)
    filters = replace(filters, state=DossierState.RECEIVED.value, search="", page=1)
    q = _filtered(user, filters, select(Dossier).join(Device, Device.id == Dossier.device_id))
    q = q.where(Dossier.id != after.id, _free_for(user, now))
    lead = {Sort.SURNAME: [after.surname],
            Sort.KIOSK: [db.scalar(select(Device.kiosk_code).where(Device.id == after.device_id)) or ""]}
    values = (*lead.get(filters.sort, []), after.received_at, after.id)
    columns = tuple_(*_columns(filters.sort))
    later = columns < tuple_(*values) if filters.sort == Sort.NEWEST else columns > tuple_(*values)
    ordered = q.order_by(*_order(filters.sort)).limit(1)
    return db.scalars(ordered.where(later)).first() or db.scalars(ordered).first()
