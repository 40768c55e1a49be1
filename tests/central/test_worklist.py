"""The agents' worklist: what it shows by default, its filters and orders, totals and pages, duplicates, who has a
dossier open, the next dossier to check, and the scanner-friendly search."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select, update

from central import worklist
from central.accounts import Account, create_user
from central.models import Dossier, User
from central.review import Forbidden
from central.review import HOLD_SECONDS
from central.worklist import Filters, InvalidFilter, Sort, duplicates_of, next_dossier
from factory import PASSWORD, deliver_dossier, enroll_kiosk
from kiosk.core.receipt import Receipt
from titres.ids import dossier_number

AGENT_A = Account(1, "agent.a", "Camille A", "agent", "mairie-a")
AGENT_B = Account(2, "agent.b", "Louis B", "agent", "mairie-b")
SUPERVISOR = Account(3, "nadia", "Nadia", "supervisor", None)
TECHNICIAN = Account(4, "hugo", "Hugo", "technician", None)
#: The morning every copied dossier is received from (a minute apart unless a test says otherwise).
MORNING = datetime(2026, 3, 10, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def dossier(services, client, tmp_path, people) -> Dossier:
    """An adult's CNI renewal (pré-demande A1B2C3D4E5, no alert) delivered by a kiosk of mairie A."""
    return deliver_dossier(services, client, tmp_path / "kiosk-a", site="mairie-a")


@pytest.fixture
def world(services, client, tmp_path, people) -> dict:
    """Three dossiers of the same pré-demande from three enrolled kiosks: two of mairie A (one dossier with alerts),
    one of B. The first is captured and delivered for real; the others are its rows as the other kiosks would
    have delivered them (the worklist reads rows: a capture each would only make the tests slower)."""
    a1 = enroll_kiosk(services, client, tmp_path / "a1", "mairie-a")
    a2 = enroll_kiosk(services, client, tmp_path / "a2", "mairie-a")
    b = enroll_kiosk(services, client, tmp_path / "b", "mairie-b")
    real = deliver_dossier(services, client, tmp_path / "a1", kiosk=a1)
    now = real.received_at
    out = {"kiosk_a1": a1, "kiosk_a2": a2, "kiosk_b": b, "a1": real,
           "a2": _copy(services, real, device_id=a2.device_id, predemande_number=real.predemande_number,
                       surname=real.surname, given_names=real.given_names, received_at=now + timedelta(seconds=1),
                       flags=["finger_low_quality"]),
           "b": _copy(services, real, site_id="mairie-b", device_id=b.device_id,
                      predemande_number=real.predemande_number, surname=real.surname, given_names=real.given_names,
                      received_at=now + timedelta(seconds=2))}
    assert out["a1"].predemande_number == out["a2"].predemande_number == out["b"].predemande_number != ""
    assert out["a2"].flags and not out["a1"].flags
    return out


_serial = iter(range(1, 100_000))


def _copy(services, model: Dossier, **fields) -> Dossier:
    """A dossier like ``model`` (its kiosk, mairie, content), with its own id, number and pré-demande, and ``fields``."""
    i = next(_serial)
    values = dict(id=f"00000000-0000-7000-8000-{i:012d}", number=dossier_number("ZZ", i), site_id=model.site_id,
                  device_id=model.device_id, state="received", created_at=model.created_at,
                  received_at=MORNING + timedelta(minutes=i), package_sha256=model.package_sha256,
                  manifest=model.manifest, signature=model.signature, flags=[], predemande_number=f"COPY{i:06d}",
                  surname=f"COPIE{i:05d}", given_names="Jean", birth_date=model.birth_date, content=model.content)
    values.update(fields)
    with services.db() as db, db.begin():
        db.add(Dossier(**values))
    with services.db() as db:
        return db.get(Dossier, values["id"])


def _ids(result) -> list[str]:
    return [d.id for d in result.items]


def _list(services, user, now=None, **params) -> worklist.Worklist:
    with services.db() as db:
        return worklist.worklist(db, user, Filters.parse(params), now)


def _user_id(services, username: str) -> int:
    with services.db() as db:
        return db.scalar(select(User.id).where(User.username == username))


def _hold(services, dossier: Dossier, user_id: int, seen: datetime, since: datetime | None = None) -> None:
    with services.db() as db, db.begin():
        db.execute(update(Dossier).where(Dossier.id == dossier.id)
                   .values(holder_id=user_id, held_since=since or seen, held_seen_at=seen))


# -- what the worklist opens on --------------------------------------------------------------------

def test_the_worklist_opens_on_the_dossiers_to_check_oldest_first(services, dossier):
    late = _copy(services, dossier, received_at=MORNING + timedelta(hours=3))
    early = _copy(services, dossier, received_at=MORNING + timedelta(hours=1))
    done = _copy(services, dossier, state="validated", received_at=MORNING)
    result = _list(services, AGENT_A)
    assert _ids(result) == [early.id, late.id, dossier.id]  # the real one arrived today
    assert result.total == 3 and result.total_label == "3 dossiers à vérifier"
    everything = _list(services, AGENT_A, state="all")
    assert _ids(everything) == [done.id, early.id, late.id, dossier.id]
    assert everything.total_label == "4 dossiers"
    assert _list(services, AGENT_A, state="validated").total_label == "1 dossier validé"


def test_every_order_is_stable_on_ties(services, world):
    a1, a2 = world["a1"], world["a2"]
    same = MORNING + timedelta(hours=2)
    x = _copy(services, a1, received_at=same, surname="DUPONT")
    y = _copy(services, a2, received_at=same, surname="DUPONT")
    z = _copy(services, a1, received_at=MORNING, surname="BERNARD")
    with services.db() as db, db.begin():  # the real ones: later, named MARTIN
        db.execute(update(Dossier).where(Dossier.id.in_([a1.id, a2.id])).values(received_at=same + timedelta(hours=1)))
    first, second = sorted([a1.id, a2.id])
    assert _ids(_list(services, AGENT_A)) == [z.id, x.id, y.id, first, second]
    assert _ids(_list(services, AGENT_A, sort="newest")) == [second, first, y.id, x.id, z.id]
    assert _ids(_list(services, AGENT_A, sort="surname")) == [z.id, x.id, y.id, first, second]
    code_1, code_2 = world["kiosk_a1"].kiosk_code, world["kiosk_a2"].kiosk_code
    assert code_1 < code_2
    by_kiosk = _list(services, AGENT_A, sort="kiosk")
    assert _ids(by_kiosk) == [z.id, x.id, a1.id, y.id, a2.id]
    assert [r.kiosk_code for r in by_kiosk.rows] == [code_1, code_1, code_1, code_2, code_2]


# -- totals and pages ----------------------------------------------------------------------------

def test_the_total_counts_every_page_and_pages_hold_fifty(services, dossier):
    copies = [_copy(services, dossier) for _ in range(120)]
    first = _list(services, AGENT_A)
    assert (first.total, first.pages, len(first.rows)) == (121, 3, 50)
    assert first.has_next and not first.has_previous
    assert first.items[0].id == copies[0].id
    third = _list(services, AGENT_A, page="3")
    assert len(third.rows) == 21 and third.items[-1].id == dossier.id
    assert third.has_previous and not third.has_next
    beyond = _list(services, AGENT_A, page="9")  # an old link to a page the day's work emptied: the last one
    assert beyond.page == 3 and _ids(beyond) == _ids(third)
    assert _list(services, AGENT_A, page="abc").page == 1


def test_each_page_costs_the_same_few_queries_whatever_it_holds(services, world):
    for i in range(60):  # duplicates and someone's presence on every row
        copy = _copy(services, world["a1"], predemande_number=f"PAIR{i // 2:04d}")
        _hold(services, copy, _user_id(services, "agent.b"), datetime.now(timezone.utc))
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(services.engine, "before_cursor_execute", count)
    try:
        full = _list(services, AGENT_A)
        asked_full = len(statements)
        statements.clear()
        short = _list(services, AGENT_A, page="2")
        asked_short = len(statements)
    finally:
        event.remove(services.engine, "before_cursor_execute", count)
    assert len(full.rows) == 50 and len(short.rows) == 12
    assert all(r.duplicates and r.presence for r in full.rows)
    assert asked_full == asked_short <= 4


# -- filters ---------------------------------------------------------------------------------------

def test_supervisor_filters_by_mairie(services, world):
    assert {d.site_id for d in _list(services, SUPERVISOR).items} == {"mairie-a", "mairie-b"}
    only_b = _list(services, SUPERVISOR, site="mairie-b")
    assert _ids(only_b) == [world["b"].id] and only_b.total == 1


def test_agents_never_see_another_mairie_even_with_the_mairie_filter_set(services, world):
    asked = _list(services, AGENT_A, site="mairie-b")
    assert sorted(_ids(asked)) == sorted([world["a1"].id, world["a2"].id])
    assert _ids(_list(services, AGENT_B, site="mairie-a", state="all")) == [world["b"].id]
    with services.db() as db:
        assert duplicates_of(db, AGENT_B, world["b"]) == []


def test_filter_by_kiosk(services, world):
    code_2 = world["kiosk_a2"].kiosk_code
    result = _list(services, AGENT_A, kiosk=code_2.lower())
    assert _ids(result) == [world["a2"].id] and result.total == 1 and result.filters.kiosk == code_2
    assert _list(services, AGENT_A, kiosk=world["kiosk_b"].kiosk_code).items == []  # B's kiosk: not A's dossiers
    with services.db() as db:
        assert [code for code, _ in worklist.kiosks(db, AGENT_A)] == sorted(
            [world["kiosk_a1"].kiosk_code, code_2])
        assert len(worklist.kiosks(db, SUPERVISOR)) == 3
        with pytest.raises(Forbidden):
            worklist.kiosks(db, TECHNICIAN)


def test_filter_by_alerts(services, world):
    assert _ids(_list(services, AGENT_A, alerts="with")) == [world["a2"].id]
    assert _ids(_list(services, AGENT_A, alerts="without")) == [world["a1"].id]
    assert _list(services, AGENT_A).total == 2


def test_date_range_is_in_paris_days_both_included(services, dossier):
    late_evening = _copy(services, dossier, received_at=datetime(2026, 3, 10, 22, 30, tzinfo=timezone.utc))
    evening = _copy(services, dossier, received_at=datetime(2026, 3, 10, 21, 30, tzinfo=timezone.utc))
    # 22:30 UTC on 10 March is 23:30 in Paris, still the 10th; 23:30 UTC on the 11th is already the 12th there.
    next_day = _copy(services, dossier, received_at=datetime(2026, 3, 11, 23, 30, tzinfo=timezone.utc))
    assert _ids(_list(services, AGENT_A, **{"from": "2026-03-10", "to": "2026-03-10"})) == [evening.id,
                                                                                            late_evening.id]
    assert _ids(_list(services, AGENT_A, **{"from": "11/03/2026", "to": "12/03/2026"})) == [next_day.id]
    assert _ids(_list(services, AGENT_A, to="2026-03-11")) == [evening.id, late_evening.id]
    assert _list(services, AGENT_A, **{"from": "2026-03-10"}).total == 4


@pytest.mark.parametrize("params, words", [
    ({"state": "lost"}, "État inconnu"),
    ({"kiosk": "K0!"}, "Code de borne invalide"),
    ({"alerts": "maybe"}, "alertes"),
    ({"from": "32/13/2026"}, "Date de début invalide"),
    ({"to": "demain"}, "Date de fin invalide"),
    ({"from": "2026-03-12", "to": "2026-03-10"}, "début est après la date de fin"),
    ({"sort": "random"}, "Ordre inconnu"),
    ({"site": "<script>"}, "Mairie inconnue"),
    ({"q": "K" * 101}, "100 caractères"),
], ids=["state", "kiosk", "alerts", "from", "to", "reversed", "sort", "site", "search"])
def test_a_filter_value_it_cannot_read_is_refused_in_french(params, words):
    with pytest.raises(InvalidFilter, match=words):
        Filters.parse(params)


def test_filters_read_back_from_their_own_links():
    filters = Filters.parse({"q": "martin", "state": "all", "kiosk": "k001", "alerts": "with",
                             "from": "10/03/2026", "to": "2026-03-12", "sort": "surname", "page": "2"})
    assert filters == Filters("martin", None, None, "K001", worklist.Alerts.WITH, date(2026, 3, 10),
                              date(2026, 3, 12), Sort.SURNAME, 2)
    assert Filters.parse(filters.params()) == filters
    assert Filters().query() == "?" and Filters.parse({}) == Filters()
    assert Filters().query(sort="newest") == "?sort=newest"


# -- duplicates -------------------------------------------------------------------------------------

def test_dossiers_of_the_same_predemande_are_flagged_within_what_the_user_may_see(services, world):
    a1, a2, b = world["a1"], world["a2"], world["b"]
    no_pd = [_copy(services, a1, predemande_number="") for _ in range(2)]  # without pré-demande: never duplicates
    lonely = _copy(services, a1)
    rows = {r.dossier.id: r for r in _list(services, AGENT_A).rows}
    assert [o.id for o in rows[a1.id].duplicates] == [a2.id]  # B's dossier is not A's to see
    assert [o.id for o in rows[a2.id].duplicates] == [a1.id]
    assert rows[a2.id].duplicates[0].number == a1.number
    assert all(rows[d.id].duplicates == () for d in [*no_pd, lonely])
    seen_by_supervisor = {r.dossier.id: r for r in _list(services, SUPERVISOR, site="mairie-a").rows}
    assert [o.id for o in seen_by_supervisor[a1.id].duplicates] == [a2.id, b.id]
    with services.db() as db, db.begin():
        db.execute(update(Dossier).where(Dossier.id == a2.id).values(state="returned"))
    rows = {r.dossier.id: r for r in _list(services, AGENT_A).rows}
    assert [(o.id, o.state) for o in rows[a1.id].duplicates] == [(a2.id, "returned")]  # flagged whatever its state
    with services.db() as db:
        assert [d.id for d in duplicates_of(db, AGENT_A, a1)] == [a2.id]
        assert [d.id for d in duplicates_of(db, SUPERVISOR, a1)] == [a2.id, b.id]
        assert duplicates_of(db, AGENT_A, no_pd[0]) == []


# -- who has a dossier open ------------------------------------------------------------------------

def test_presence_is_shown_only_within_hold_seconds(services, dossier):
    now = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
    with services.db() as db, db.begin():
        create_user(db, "sans.nom", PASSWORD, "agent", "mairie-a", "")
    held = _copy(services, dossier)
    stale = _copy(services, dossier)
    nameless = _copy(services, dossier)
    mine = _copy(services, dossier)
    _hold(services, held, _user_id(services, "agent.b"), now - timedelta(seconds=HOLD_SECONDS - 5),
          since=now - timedelta(minutes=3))
    _hold(services, stale, _user_id(services, "agent.b"), now - timedelta(seconds=HOLD_SECONDS + 5))
    _hold(services, nameless, _user_id(services, "sans.nom"), now)
    _hold(services, mine, AGENT_A.id, now)
    rows = {r.dossier.id: r for r in _list(services, AGENT_A, now).rows}
    assert rows[held.id].presence.name == "Louis B" and now - rows[held.id].presence.since == timedelta(minutes=3)
    assert rows[held.id].presence.user_id != AGENT_A.id
    assert rows[stale.id].presence is None and rows[dossier.id].presence is None
    assert rows[nameless.id].presence.name == "sans.nom"
    assert rows[mine.id].presence.user_id == AGENT_A.id


# -- the next dossier ----------------------------------------------------------------------------------

def test_next_dossier_follows_the_worklist_order_and_skips_dossiers_held_by_someone_else(services, world):
    now = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
    a1 = world["a1"]
    first, second, third, fourth = (_copy(services, a1) for _ in range(4))
    _copy(services, a1, state="validated", received_at=first.received_at + timedelta(seconds=30))
    other = _user_id(services, "agent.b")
    _hold(services, second, other, now - timedelta(seconds=10))   # open elsewhere right now: skipped
    _hold(services, third, other, now - timedelta(seconds=HOLD_SECONDS + 1))  # left open and forgotten: offered
    _hold(services, fourth, AGENT_A.id, now)                         # open by the agent themselves: offered
    with services.db() as db:
        def after(d, **params):
            found = next_dossier(db, AGENT_A, d, Filters.parse(params), now)
            return found.id if found else None

        assert after(first) == third.id
        assert after(third) == fourth.id
        assert after(fourth, sort="newest") == third.id
        assert after(third, sort="newest") == first.id
        assert after(first, kiosk=world["kiosk_a2"].kiosk_code) == world["a2"].id
        assert after(first, state="validated", q="ZZZ", page="3") == third.id  # always the dossiers to check
        # Past the end of the list: back to the first one left from the start.
        assert after(world["a2"]) == first.id
        assert after(world["a2"], alerts="with") is None  # it was the only one with alerts


def test_next_dossier_by_surname_and_by_kiosk(services, world):
    now = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
    a1, a2 = world["a1"], world["a2"]  # MARTIN, received today
    aubert = _copy(services, a2, surname="AUBERT")
    zola = _copy(services, a1, surname="ZOLA")
    with services.db() as db:
        def after(d, sort):
            found = next_dossier(db, AGENT_A, d, Filters(sort=sort), now)
            return found.id if found else None

        assert after(aubert, Sort.SURNAME) == a1.id
        assert after(a2, Sort.SURNAME) == zola.id
        assert after(zola, Sort.KIOSK) == a1.id   # kiosk 1: zola (this morning), then a1 (today)
        assert after(a1, Sort.KIOSK) == aubert.id  # then kiosk 2


# -- the search a desk scanner types into -------------------------------------------------------

def _receipt_payload(number: str) -> str:
    receipt = Receipt(mairie="Mairie A", address="", opening_hours="", printed_at="", dossier_number=number,
                      predemande_masked="", originals=())
    return receipt.qr_payload()


@pytest.mark.parametrize("typed", [
    lambda n: n,                                  # as printed
    lambda n: n.replace("-", ""),                 # without dashes
    lambda n: n.lower(),                          # lower case
    lambda n: f"  {n.lower().replace('-', ' ')} \t",
    _receipt_payload,                             # what the receipt's QR code holds
], ids=["printed", "no-dashes", "lowercase", "spaces", "receipt-qr"])
def test_search_finds_the_dossier_by_number_however_it_is_typed(services, dossier, typed):
    for _ in range(3):
        _copy(services, dossier)
    result = _list(services, AGENT_A, q=typed(dossier.number))
    assert result.by_number
    assert _ids(result) == [dossier.id]


def test_a_number_finds_its_dossier_whatever_the_other_filters_say(services, dossier):
    with services.db() as db, db.begin():
        db.execute(update(Dossier).where(Dossier.id == dossier.id).values(state="validated"))
    result = _list(services, AGENT_A, q=dossier.number, alerts="with", kiosk="ZZ")
    assert result.by_number and _ids(result) == [dossier.id]


def test_search_decodes_a_scanner_typing_us_layout_on_an_azerty_keyboard(services, dossier):
    us_to_azerty = str.maketrans("1234567890-AQZWMaqzwm", "&é\"'(-è_çà)QAWZ?qawz,")
    garbled = dossier.number.translate(us_to_azerty)
    assert garbled != dossier.number
    assert _ids(_list(services, AGENT_A, q=garbled)) == [dossier.id]


def test_search_by_number_does_not_cross_mairies(services, dossier):
    result = _list(services, AGENT_B, q=dossier.number)
    assert result.by_number and result.items == []


def test_search_by_predemande_number_or_surname_prefix_within_the_filters(services, dossier):
    for _ in range(2):
        _copy(services, dossier)
    by_pd = _list(services, AGENT_A, q=dossier.predemande_number.lower())
    assert _ids(by_pd) == [dossier.id] and not by_pd.by_number
    assert _ids(_list(services, AGENT_A, q=dossier.surname[:3].lower())) == [dossier.id]
    assert _list(services, AGENT_A, q="ZZZZZZ").items == [] and _list(services, AGENT_A, q="%").items == []
    assert _list(services, AGENT_A, q=dossier.surname, state="validated").items == []


# -- the page ------------------------------------------------------------------------------------------

def _login(client, username: str) -> None:
    form = client.get("/console/login")
    csrf = re.search(r'name="csrf" value="([^"]*)"', form.text)[1]
    answer = client.post("/console/login", data={"username": username, "password": PASSWORD, "csrf": csrf},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text


def test_the_page_shows_the_total_the_sorted_column_duplicates_and_presence(client, services, world):
    _hold(services, world["a2"], _user_id(services, "agent.b"), datetime.now(timezone.utc),
          since=datetime.now(timezone.utc) - timedelta(minutes=3))
    _login(client, "agent.a")
    page = client.get("/console/").text
    assert "2 dossiers à vérifier" in page
    assert re.search(r'<th scope="col" aria-sort="ascending" class="sorted"><a href="/console/\?sort=newest">Reçu le',
                     page)
    assert f'href="/console/dossiers/{world["a1"].id}" class="number">{world["a1"].number}</a>' in page
    assert "Doublon" in page and world["b"].number not in page
    assert "Ouvert par Louis B depuis 3 min" in page
    assert '<label for="site">' not in page and "<th scope=\"col\">Mairie</th>" not in page
    assert re.search(r'<input id="q" name="q"[^>]*autofocus', page)
    newest = client.get("/console/", params={"sort": "newest"}).text
    assert 'aria-sort="descending"' in newest and 'name="sort" value="newest"' in newest


def test_the_supervisor_has_a_mairie_column_and_filter(client, world):
    _login(client, "nadia")
    page = client.get("/console/").text
    assert '<label for="site">Mairie</label>' in page and '<th scope="col">Mairie</th>' in page
    assert "3 dossiers à vérifier" in page
    only_b = client.get("/console/", params={"site": "mairie-b"}).text
    assert "1 dossier à vérifier" in only_b and world["b"].number in only_b


def test_an_agent_asking_for_another_mairie_still_gets_their_own(client, world):
    _login(client, "agent.b")
    page = client.get("/console/", params={"site": "mairie-a"}).text
    assert "1 dossier à vérifier" in page and world["a1"].number not in page


def test_a_scanned_number_opens_the_dossier_even_when_decided(client, services, dossier):
    with services.db() as db, db.begin():
        db.execute(update(Dossier).where(Dossier.id == dossier.id).values(state="sent"))
    _login(client, "agent.a")
    answer = client.get("/console/", params={"q": dossier.number.lower()}, follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, f"/console/dossiers/{dossier.id}")


@pytest.mark.parametrize("params", [{"state": "lost"}, {"kiosk": "???"}, {"alerts": "x"}, {"from": "2026-02-30"},
                                    {"from": "2026-03-12", "to": "2026-03-01"}, {"sort": "x"}, {"site": "a b"}],
                         ids=["state", "kiosk", "alerts", "date", "range", "sort", "site"])
def test_bad_filter_values_get_a_clear_400_page(client, people, params):
    _login(client, "agent.a")
    answer = client.get("/console/", params=params)
    assert answer.status_code == 400
    assert '<p class="error" role="alert">' in answer.text
    assert '<input id="q" name="q"' in answer.text  # the form is there to correct it
