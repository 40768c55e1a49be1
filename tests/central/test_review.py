"""Reviewing dossiers: who sees what, the scanner-friendly search, verdicts and the single decision."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from central import reasons, review
from central.accounts import Account
from central.models import AuditEntry, Dossier, DossierEvent
from central.review import Forbidden, InvalidAction, NotFound
from central.worklist import worklist
from factory import deliver_dossier
from titres.dossier import AnswerSource, FingerStatus, Flag
from titres.ids import dossier_number
from titres.rules import SecureDocument

AGENT_A = Account(1, "agent.a", "Agent A", "agent", "mairie-a")
AGENT_B = Account(2, "agent.b", "Agent B", "agent", "mairie-b")
SUPERVISOR = Account(3, "nadia", "Nadia", "supervisor", None)
TECHNICIAN = Account(4, "hugo", "Hugo", "technician", None)
ADMIN = Account(5, "aline", "Aline", "admin", None)


@pytest.fixture
def dossier(services, client, tmp_path) -> Dossier:
    """An adult's CNI renewal (photo, proof of address, previous card), delivered by a kiosk of mairie A."""
    return deliver_dossier(services, client, tmp_path / "kiosk-a", site="Mairie A")


def _copies(services, model: Dossier, n: int, site_id: str | None = None) -> list[str]:
    """``n`` more dossiers like ``model``, each received a minute later than the one before (for paging)."""
    ids = []
    with services.db() as db, db.begin():
        for i in range(1, n + 1):
            number = dossier_number("ZZ", i)
            row = Dossier(id=f"00000000-0000-7000-8000-{i:012d}", number=number, site_id=site_id or model.site_id,
                          device_id=model.device_id, state="received", created_at=model.created_at,
                          received_at=model.received_at + timedelta(minutes=i), package_sha256=model.package_sha256,
                          manifest=model.manifest, signature=model.signature, flags=[],
                          predemande_number=f"COPY{i:06d}", surname=f"COPIE{i}", given_names="",
                          birth_date=model.birth_date, content=model.content)
            db.add(row)
            ids.append(row.id)
    return ids


def _judge_all(services, user, dossier_id, verdict="conforme"):
    with services.db() as db, db.begin():
        for requirement in review.requirements(db.get(Dossier, dossier_id)):
            review.set_verdict(db, user, dossier_id, requirement, verdict)


def _note(text: str) -> reasons.Notice:
    """A return with the agent's words only."""
    return reasons.notice([], text, reasons.DEFAULT_REASONS)


def _audit(services, action):
    with services.db() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)))


# -- who sees what -----------------------------------------------------------------------

def test_agent_sees_only_the_dossiers_of_their_own_mairie(services, dossier):
    _copies(services, dossier, 2, site_id=None)
    with services.db() as db:
        assert len(worklist(db, AGENT_A).items) == 3
        assert worklist(db, AGENT_B).items == []
        assert len(worklist(db, SUPERVISOR).items) == 3


@pytest.mark.parametrize("user", [TECHNICIAN, ADMIN], ids=["technician", "admin"])
def test_technicians_and_administrators_see_no_dossier(services, dossier, user):
    with services.db() as db:
        with pytest.raises(Forbidden):
            worklist(db, user)
        with pytest.raises(Forbidden):
            review.get_for_user(db, user, dossier.id)


def test_agent_of_another_mairie_is_refused_the_dossier(services, dossier):
    with services.db() as db:
        with pytest.raises(Forbidden, match="autre mairie"):
            review.get_for_user(db, AGENT_B, dossier.id)
        assert review.get_for_user(db, SUPERVISOR, dossier.id).id == dossier.id
        with pytest.raises(NotFound):
            review.get_for_user(db, AGENT_A, "01000000-0000-7000-8000-000000000000")


# -- verdicts ---------------------------------------------------------------------------------

def test_requirements_are_the_dossiers_checklist(dossier):
    assert review.requirements(dossier) == ["photo", "proof_of_address", "previous_title"]
    assert review.requirement_label(dossier, "photo").startswith("Photo d'identité")


def test_verdict_is_recorded_replaced_and_audited(services, dossier):
    with services.db() as db, db.begin():
        review.set_verdict(db, AGENT_A, dossier.id, "photo", "non_conforme", "Photo floue", ip="10.1.1.1")
    with services.db() as db, db.begin():
        with pytest.raises(review.Held):  # the agent has it in hand: the supervisor takes it over first
            review.set_verdict(db, SUPERVISOR, dossier.id, "photo", "conforme")
    with services.db() as db, db.begin():
        review.hold(db, SUPERVISOR, db.get(Dossier, dossier.id), take=True)
        review.set_verdict(db, SUPERVISOR, dossier.id, "photo", "conforme")
    with services.db() as db:
        verdicts = review.verdicts(db, dossier.id)
    assert (verdicts["photo"].verdict, verdicts["photo"].agent, verdicts["photo"].comment) == ("conforme", "nadia", "")
    entries = _audit(services, "verdict")
    assert [(e.actor, e.detail, e.dossier_id) for e in entries] == [
        ("agent.a", "photo: non_conforme", dossier.id), ("nadia", "photo: conforme", dossier.id)]
    assert entries[0].ip == "10.1.1.1"


@pytest.mark.parametrize("requirement, verdict, comment, message", [
    ("birth_certificate", "conforme", "", "ne fait pas partie"),
    ("photo", "maybe", "", "Choisissez"),
    ("photo", "conforme", "x" * 501, "500"),
])
def test_verdict_refused_for_bad_input(services, dossier, requirement, verdict, comment, message):
    with services.db() as db, db.begin():
        with pytest.raises(InvalidAction, match=message):
            review.set_verdict(db, AGENT_A, dossier.id, requirement, verdict, comment)
    assert _audit(services, "verdict") == []


def test_verdict_refused_to_an_agent_of_another_mairie(services, dossier):
    with services.db() as db, db.begin():
        with pytest.raises(Forbidden):
            review.set_verdict(db, AGENT_B, dossier.id, "photo", "conforme")


def test_stamps_need_a_verdict_too(services, client, tmp_path):
    offline = deliver_dossier(services, client, tmp_path / "k", site="Mairie A", scenario="offline-adult-loss")
    assert "fiscal_stamp.cni" in review.requirements(offline)
    assert "25 €" in review.requirement_label(offline, "fiscal_stamp.cni")


# -- approval and return --------------------------------------------------------------------------

def test_approve_refused_while_a_verdict_is_missing(services, dossier):
    with services.db() as db, db.begin():
        review.set_verdict(db, AGENT_A, dossier.id, "photo", "conforme")
        with pytest.raises(InvalidAction, match="Avis manquant"):
            review.approve(db, AGENT_A, dossier.id)
    with services.db() as db:
        assert db.get(Dossier, dossier.id).state == "received"


def test_approve_refused_while_a_document_is_non_conforme(services, dossier):
    _judge_all(services, AGENT_A, dossier.id)
    with services.db() as db, db.begin():
        review.set_verdict(db, AGENT_A, dossier.id, "proof_of_address", "non_conforme", "Plus de 12 mois")
        with pytest.raises(InvalidAction, match="non conforme"):
            review.approve(db, AGENT_A, dossier.id)
    assert _audit(services, "approve") == []


def test_approve_validates_records_who_and_audits(services, dossier):
    _judge_all(services, AGENT_A, dossier.id)
    with services.db() as db, db.begin():
        review.set_verdict(db, AGENT_A, dossier.id, "previous_title", "original")
        review.approve(db, AGENT_A, dossier.id, ip="10.2.2.2")
    with services.db() as db:
        row = db.get(Dossier, dossier.id)
        events = [(e.kind, e.actor)
                  for e in db.scalars(select(DossierEvent).where(DossierEvent.dossier_id == dossier.id))]
    assert (row.state, row.decided_by) == ("validated", "agent.a") and row.decided_at is not None
    assert ("validated", "agent.a") in events
    assert [(e.actor, e.dossier_id, e.ip) for e in _audit(services, "approve")] == [("agent.a", dossier.id, "10.2.2.2")]


def test_a_decided_dossier_cannot_be_decided_or_judged_again(services, dossier):
    _judge_all(services, AGENT_A, dossier.id)
    with services.db() as db, db.begin():
        review.approve(db, AGENT_A, dossier.id)
    with services.db() as db, db.begin():
        with pytest.raises(InvalidAction, match="déjà été traité"):
            review.return_(db, SUPERVISOR, dossier.id, _note("Trop tard"))
        with pytest.raises(InvalidAction, match="déjà été traité"):
            review.set_verdict(db, AGENT_A, dossier.id, "photo", "non_conforme")
        with pytest.raises(InvalidAction):
            review.approve(db, AGENT_A, dossier.id)


def test_return_stores_the_reason_for_the_agents_but_not_in_the_audit_log(services, dossier):
    with services.db() as db, db.begin():
        review.return_(db, AGENT_A, dossier.id, _note("  Justificatif de domicile illisible  "))
    with services.db() as db:
        row = db.get(Dossier, dossier.id)
        event = db.scalar(select(DossierEvent).where(DossierEvent.kind == "returned"))
    assert (row.state, row.return_reasons, row.decided_by) == ("returned", "Justificatif de domicile illisible",
                                                               "agent.a")
    assert event.detail == "Justificatif de domicile illisible"
    [entry] = _audit(services, "return")
    assert "illisible" not in entry.detail


# -- what the page shows ------------------------------------------------------------------------

def test_attachment_kinds_and_their_audit_actions(dossier):
    content = dossier.content
    finger = next(f["attachment"] for f in content["fingerprints"] if f["attachment"])
    template = next(f["template"] for f in content["fingerprints"] if f["template"])
    kinds = {name: review.attachment_kind(dossier, name)
             for name in (finger, template, content["signature"], "documents/photo", "documents/proof_of_address")}
    assert kinds == {finger: "fingerprint", template: None, content["signature"]: "signature",
                     "documents/photo": "photo", "documents/proof_of_address": "document"}
    assert [review.audit_action(k) for k in ("fingerprint", "signature", "photo", "document")] == [
        "view_fingerprint", "view_biometric", "view_biometric", "view_document"]


def test_predemande_fields_come_from_the_form_the_kiosk_fetched(services, dossier):
    with services.db() as db:
        sections = dict(review.predemande_fields(db, dossier))
    assert ("Nom", "MARTIN") in sections["État civil"]
    assert ("Motif", "Renouvellement") in sections["Demande"]
    assert ("Titres demandés", "Carte nationale d'identité") in sections["Demande"]
    assert ("Parent 2", "DUPONT Marie") in sections["Filiation"]
    assert ("Courriel", "elise.martin@exemple.fr") in sections["Contact"]


# -- the answers the checklist rests on, and conditional items -----------------------------------

def test_the_page_data_says_each_answer_and_who_gave_it(services, client, tmp_path):
    d = deliver_dossier(services, client, tmp_path / "k", site="Mairie A", scenario="birthplace-dont-know")
    rows = review.answers(d)
    assert ("Hébergé par un tiers", "Non", "Pré-demande") in rows
    assert ("Carte d'identité ou passeport sécurisé détenu", "Non", "Déclaré à la borne") in rows
    assert ("État civil du lieu de naissance dématérialisé (COMEDEC)", "Ne sait pas : à vérifier au guichet",
            "Déclaré à la borne") in rows
    assert review.conditional_items(d) == {"birth_certificate"}
    assert review.requirement_condition(d, "birth_certificate").startswith("Seulement si")
    assert review.requirement_condition(d, "photo") == ""


def test_only_a_conditional_item_may_be_sans_objet(services, client, tmp_path):
    d = deliver_dossier(services, client, tmp_path / "k", site="Mairie A", scenario="birthplace-dont-know")
    with services.db() as db, db.begin():
        review.set_verdict(db, AGENT_A, d.id, "birth_certificate", "sans_objet", "Né à Lyon : COMEDEC")
        with pytest.raises(InvalidAction, match="exigée"):
            review.set_verdict(db, AGENT_A, d.id, "photo", "sans_objet")
    _judge_all(services, AGENT_A, d.id)  # the others conforme: a sans-objet item does not block validation
    with services.db() as db, db.begin():
        review.set_verdict(db, AGENT_A, d.id, "birth_certificate", "sans_objet")
        review.approve(db, AGENT_A, d.id)


def test_a_schema_1_dossier_takes_its_conditional_items_from_the_rules(services, client, tmp_path):
    """Schema 1 recorded neither the answers nor what stayed conditional: the rules say it, as at the kiosk."""
    d = deliver_dossier(services, client, tmp_path / "k", site="Mairie A", scenario="birthplace-dont-know")
    old = {k: v for k, v in d.content.items() if k not in ("answers", "conditional", "not_applicable")}
    [copy_id] = _copies(services, d, 1)
    with services.db() as db, db.begin():
        db.get(Dossier, copy_id).content = {**old, "schema": 1}
    with services.db() as db:
        copy = db.get(Dossier, copy_id)
    assert review.answers(copy) == []
    assert review.conditional_items(copy) == review.conditional_items(d) == {"birth_certificate"}
    assert review.requirements(copy) == review.requirements(d)


# -- the kiosk's words, from the shared enums ------------------------------------------------------

def test_every_flag_a_kiosk_raises_has_its_label_and_what_to_do():
    assert set(review.FLAG_LABELS) == set(Flag)
    assert all(title and action for title, action in review.FLAG_LABELS.values())
    assert review.FLAG_LABELS.get("paper_stamp")[0] == "Timbre fiscal papier"  # the stored flags are strings


def test_every_finger_status_answer_source_and_secure_title_has_its_label():
    assert set(review.FINGER_STATUS) == set(FingerStatus)
    assert review.FINGER_STATUS.get("low_quality") == "Qualité insuffisante"
    assert set(review.SOURCE_LABELS) == set(AnswerSource)
    assert set(review.SECURE_LABELS) == set(SecureDocument)


def test_documents_are_named_in_agents_words_not_the_citizens(dossier):
    labels = [review.requirement_label(dossier, r) for r in review.requirements(dossier)]
    assert labels == ["Photo d'identité", "Justificatif de domicile", "Carte d'identité actuelle"]
    assert not any(word in label for label in labels for word in ("Votre", "votre", "vous"))
    from titres.messages import MESSAGES

    assert set(review.AGENT_WORDING) <= set(MESSAGES)  # each overrides a word the kiosk has
