"""The citizen's status page says why a dossier was returned, in the page's language, as their mail does.

A dossier is delivered by the simulated kiosk through the API; its return
is written as the agents' decision leaves it (state, the French summary in
``return_reasons``, the notice in both languages in ``return_notice``).
"""

from __future__ import annotations

from markupsafe import escape
from sqlalchemy import update

from central import reasons
from central.models import Dossier
from factory import deliver_dossier

BIRTH_DATE = "1985-03-14"  # the demo pré-demande A1B2C3D4E5 the example scenarios replay
FRENCH_ONLY = reasons.ReturnReason("mairie", "Prenez rendez-vous au guichet de l'état civil.")
NOTICE = reasons.Notice((reasons.DEFAULT_REASONS[0], reasons.DEFAULT_REASONS[2], FRENCH_ONLY))


def returned(services, dossier_id: str, notice: reasons.Notice | None, summary: str) -> None:
    """The dossier as the agent's return leaves it."""
    with services.db() as db, db.begin():
        db.execute(update(Dossier).where(Dossier.id == dossier_id).values(
            state="returned", decided_at=services.now(), decided_by="agent.a", return_reasons=summary,
            return_notice=notice.to_dict() if notice is not None else None))


def page(client, dossier, lang: str) -> str:
    answer = client.post("/statut", data={"number": dossier.number, "birth_date": BIRTH_DATE, "lang": lang})
    assert answer.status_code == 200
    return answer.text


def shown(text: str) -> str:
    return str(escape(text))  # as the template writes it


def test_a_returned_dossiers_reasons_are_on_the_status_page_in_french(services, client, tmp_path):
    dossier = deliver_dossier(services, client, tmp_path / "kiosk")
    assert "Ce que la mairie vous demande" not in page(client, dossier, "fr")  # received: nothing to bring
    returned(services, dossier.id, NOTICE, NOTICE.summary())
    html = page(client, dossier, "fr")
    assert "Ce que la mairie vous demande" in html and "Revenez à la mairie avec les pièces indiquées." in html
    for line in NOTICE.lines("fr"):
        assert f"<li>{shown(line)}</li>" in html
    assert shown(reasons.DEFAULT_REASONS[0].en) not in html


def test_a_returned_dossiers_reasons_are_on_the_status_page_in_english(services, client, tmp_path):
    dossier = deliver_dossier(services, client, tmp_path / "kiosk")
    returned(services, dossier.id, NOTICE, NOTICE.summary())
    html = page(client, dossier, "en")
    assert "What the town hall asks of you" in html and "Come back to the town hall" in html
    assert f"<li>{shown(reasons.DEFAULT_REASONS[0].en)}</li>" in html
    assert f"<li>{shown(reasons.DEFAULT_REASONS[2].en)}</li>" in html
    assert shown(reasons.DEFAULT_REASONS[0].fr) not in html
    # A reason the mairie wrote in French only is shown in French, and said to be French (WCAG 3.1.2).
    assert f'<li lang="fr">{shown(FRENCH_ONLY.fr)}</li>' in html


def test_a_return_without_a_notice_shows_its_reasons_as_the_agent_wrote_them(services, client, tmp_path):
    dossier = deliver_dossier(services, client, tmp_path / "kiosk")
    returned(services, dossier.id, None, "Justificatif de domicile trop ancien.\nApportez une facture récente.")
    html = page(client, dossier, "fr")
    assert "<li>Justificatif de domicile trop ancien.</li>" in html
    assert "<li>Apportez une facture récente.</li>" in html


def test_the_status_api_gives_the_reasons_in_both_languages(services, client, tmp_path):
    dossier = deliver_dossier(services, client, tmp_path / "kiosk")
    returned(services, dossier.id, NOTICE, NOTICE.summary())
    answer = client.get("/api/v1/status", params={"number": dossier.number, "birth_date": BIRTH_DATE}).json()
    assert answer["state"] == "returned"
    assert answer["reasons_fr"] == NOTICE.lines("fr") and answer["reasons_en"] == NOTICE.lines("en")
