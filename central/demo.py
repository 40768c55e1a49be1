"""Demo data for the README's run command: two mairies, one account per role, the demo pré-demandes.

Idempotent: running it again changes nothing. The accounts' passwords are
printed on the console (stderr) of the person who asked for the demo; they
exist only in a demo data directory, and they are published: so ``seed``
refuses a service that holds anything else (:class:`NotDemoData`): other
mairies, other accounts, or a demo account whose password was changed.
"""

from __future__ import annotations

from sqlalchemy import select

from central.accounts import create_user
from central.context import Services
from central.models import Site, User
from central.passwords import verify_password
from central.predemandes import demo_records, import_records

DEMO_PASSWORD = "demo-mairie-2026"
SITES = [
    Site(id="demo-site", name="Mairie de démonstration", address="1 place de la Mairie, 00000 Démoville",
         opening_hours="Lundi-vendredi 9h-12h / 14h-17h"),
    Site(id="trebes", name="Mairie de Trèbes", address="Place de la République, 11800 Trèbes",
         opening_hours="Lundi-vendredi 8h30-12h / 13h30-17h30"),
]
USERS = [  # username, role, site, full name
    ("agent", "agent", "demo-site", "Camille Agent"),
    ("agent.trebes", "agent", "trebes", "Louis Agent"),
    ("superviseur", "supervisor", None, "Nadia Superviseure"),
    ("technicien", "technician", None, "Hugo Technicien"),
    ("admin", "admin", None, "Aline Administratrice"),
]


class NotDemoData(Exception):
    """The service holds real data: the demo's published passwords must not be added to it."""


def _check_is_demo(db) -> None:
    """Raise :class:`NotDemoData` unless every mairie is a demo one and every account a demo one that still has
    the demo's password (an empty service included). Checked at every seeding: a demo directory that was
    later given real accounts is real data from then on."""
    sites = set(db.scalars(select(Site.id)))
    users = list(db.scalars(select(User)))
    if not sites <= {site.id for site in SITES} or not all(
            user.username in {u[0] for u in USERS} and verify_password(DEMO_PASSWORD, user.password_hash)
            for user in users):
        raise NotDemoData(
            "Ce service contient des données qui ne sont pas celles de la démonstration (mairies ou "
            "comptes) : --demo y ajouterait des comptes au mot de passe publié. Donnez à la démonstration "
            "un dossier de données à elle (--data-dir).\n"
            "This service holds data that is not the demo's (mairies or accounts): --demo would add "
            "accounts whose password is published. Give the demo a data directory of its own (--data-dir).")


def seed(services: Services) -> str:
    with services.db() as db, db.begin():
        _check_is_demo(db)
        for site in SITES:
            if db.get(Site, site.id) is None:
                db.add(Site(id=site.id, name=site.name, address=site.address, opening_hours=site.opening_hours))
        db.flush()
        for username, role, site_id, full_name in USERS:
            if db.scalar(select(User.id).where(User.username == username)) is None:
                create_user(db, username, DEMO_PASSWORD, role, site_id, full_name)
    count = import_records(services, demo_records())
    names = ", ".join(u[0] for u in USERS)
    return f"demo: {len(SITES)} mairies, {count} pré-demandes; accounts {names} with password {DEMO_PASSWORD!r}"
