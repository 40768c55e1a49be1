"""Mail to citizens: written with the decision, sent once by a real SMTP client to a real SMTP server.

The server is aiosmtpd on loopback, started by the test; its handler keeps
what it receives and can answer a refusal for an address. Dossiers are
captured by the simulated kiosk and delivered through the API
(``factory.deliver_dossier``); the tests call :meth:`MailSender.deliver_due`
themselves, and the service's clock (``clock``) says when a retry is due.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from central import mail, predemandes, reasons
from central.app import create_app
from central.config import ConfigError, SmtpServer, check_mail, load_config, plain_address, smtp_server
from central.context import build_services
from central.models import Dossier, MailState, OutgoingMail, Site
from factory import count, deliver_dossier, enroll_kiosk
from tests.smtp_inbox import Inbox, free_port, running_inbox, serve
from tests.threads import HelperThreads

ADDRESS = "elise.martin@exemple.fr"  # the demo pré-demande A1B2C3D4E5 the example scenarios replay
PERSONAL = ("MARTIN", "Élise", "Anne", "1985", "14/03", "Lilas", "Carcassonne", "06 12 34")
RETURN = reasons.notice(["photo", "address"], "", reasons.DEFAULT_REASONS)


@pytest.fixture
def smtp():
    with running_inbox() as inbox:
        yield inbox


def configured(services, port: int) -> None:
    services.config = replace(services.config, smtp_url=f"smtp://127.0.0.1:{port}",
                              mail_from="ne-pas-repondre@mairie-a.fr", public_url="https://titres.example.fr")


@pytest.fixture
def mailing(services, client, smtp, clock):
    """The service told to mail citizens through the test's server (its application started without)."""
    configured(services, smtp.port)
    with services.db() as db, db.begin():
        site = db.get(Site, "mairie-a") or Site(id="mairie-a", name="Mairie A")
        site.address, site.opening_hours = "1 place de la Mairie, 11000 Aville", "Lundi-vendredi 9h-12h"
        db.add(site)
    return services


@pytest.fixture
def french(services, client, tmp_path):
    return deliver_dossier(services, client, tmp_path / "kiosk-fr", site="mairie-a")


@pytest.fixture
def english(services, client, tmp_path):
    return deliver_dossier(services, client, tmp_path / "kiosk-en", site="mairie-a",
                           scenario="listen-on-loudspeaker-english")


def enqueue(services, dossier_id: str, kind: str = "returned", notice=RETURN) -> int | None:
    """What the decision's transaction does: the message written beside it, committed with it."""
    with services.db() as db, db.begin():
        written = mail.enqueue(db, services.config, db.get(Dossier, dossier_id), kind,
                               notice if kind == "returned" else None, services.now())
        return written.id if written is not None else None


def row(services, mail_id: int) -> OutgoingMail:
    with services.db() as db:
        return db.get(OutgoingMail, mail_id)


def text_of(message: EmailMessage) -> str:
    """The body with its lines joined, as a person reads it."""
    return " ".join(message.get_content().split())


def assert_nothing_personal(message: EmailMessage) -> None:
    said = message["Subject"] + " " + message.get_content()
    for personal in PERSONAL:
        assert personal not in said, personal


# -- what the citizen receives -------------------------------------------------------------------------------------

@pytest.mark.one_engine
def test_a_returned_dossier_mails_the_citizen_the_reasons_and_what_to_bring(mailing, smtp, french):
    mail_id = enqueue(mailing, french.id)
    assert mail.MailSender(mailing).deliver_due() == 1

    [(recipients, message)] = smtp.messages
    assert recipients == [ADDRESS] and message["To"] == ADDRESS
    assert message["From"] == "ne-pas-repondre@mairie-a.fr"
    assert message["Subject"] == f"Votre dossier {french.number} : des pièces à apporter à la mairie"
    body = text_of(message)
    for line in RETURN.lines("fr"):
        assert line in body
    assert "revenez à la mairie avec les pièces indiquées ci-dessus" in body
    assert "Mairie A" in body and "1 place de la Mairie, 11000 Aville" in body and "Lundi-vendredi 9h-12h" in body
    assert "https://titres.example.fr/statut " in body
    assert message["Auto-Submitted"] == "auto-generated" and message["Content-Language"] == "fr"
    assert message["Message-ID"] == f"<returned.{french.id}@mairie-a.fr>" and message["Date"]
    assert message.get_content_charset() == "utf-8"
    assert_nothing_personal(message)

    sent = row(mailing, mail_id)
    assert (sent.state, sent.attempts, sent.last_error) == (MailState.SENT, 1, "")
    assert sent.sent_at == mailing.now()
    with mailing.db() as db:
        assert [(s.kind, s.state, s.sent_at) for s in mail.state_for(db, french.id)] == [
            ("returned", "sent", mailing.now())]
    assert mail.MailSender(mailing).deliver_due() == 0  # sent once
    assert len(smtp.messages) == 1


@pytest.mark.one_engine
def test_an_english_dossier_is_mailed_in_english(mailing, smtp, english):
    enqueue(mailing, english.id)
    mail.MailSender(mailing).deliver_due()

    [(recipients, message)] = smtp.messages
    assert recipients == [ADDRESS]
    assert message["Subject"] == f"Your application {english.number}: documents to bring to the town hall"
    assert message["Content-Language"] == "en"
    body = text_of(message)
    for line in RETURN.lines("en"):
        assert line in body
    assert "What to do next: come back to the town hall with the documents listed above." in body
    assert "https://titres.example.fr/statut?lang=en " in body
    assert "Bonjour" not in body and RETURN.lines("fr")[0] not in body
    assert_nothing_personal(message)


@pytest.mark.one_engine
def test_a_validated_dossier_mail_says_what_comes_next(mailing, smtp, french):
    enqueue(mailing, french.id, kind="validated")
    mail.MailSender(mailing).deliver_due()

    [(_, message)] = smtp.messages
    assert message["Subject"] == f"Votre dossier {french.number} est validé par la mairie"
    body = text_of(message)
    assert "Il est transmis à la préfecture" in body
    assert "SMS" in body and "en personne à la mairie où le dossier a été déposé, dans les 3 mois" in body
    assert RETURN.lines("fr")[0] not in body
    assert_nothing_personal(message)


@pytest.mark.one_engine
def test_the_agents_note_reaches_the_citizen_as_typed(mailing, smtp, english):
    notice = reasons.notice(["stamp"], "Le timbre doit être de 25 €.", reasons.DEFAULT_REASONS)
    enqueue(mailing, english.id, notice=notice)
    mail.MailSender(mailing).deliver_due()
    body = text_of(smtp.messages[0][1])
    assert reasons.DEFAULT_REASONS[3].en in body and "Le timbre doit être de 25 €." in body


def test_a_decision_has_one_message_of_its_kind(mailing, french):
    first = enqueue(mailing, french.id)
    assert enqueue(mailing, french.id) == first
    assert count(mailing, OutgoingMail) == 1


# -- when nothing is sent ------------------------------------------------------------------------------------------

@pytest.mark.one_engine
def test_nothing_is_written_or_sent_without_a_mail_server(services, client, french, smtp):
    assert enqueue(services, french.id) is None
    assert count(services, OutgoingMail) == 0
    sender = mail.MailSender(services)
    assert sender.server is None
    sender.start()
    assert not sender.alive
    assert sender.deliver_due() == 0
    sender.stop()
    assert smtp.messages == []
    with services.db() as db:
        assert mail.state_for(db, french.id) == []


@pytest.mark.one_engine
def test_a_dossier_without_an_address_gets_no_mail(mailing, client, tmp_path):
    offline = deliver_dossier(mailing, client, tmp_path / "kiosk-off", site="mairie-a", scenario="offline-adult-loss")
    assert offline.content["predemande"] is None  # the kiosk could not fetch it, and the service has no copy
    assert enqueue(mailing, offline.id) is None
    assert count(mailing, OutgoingMail) == 0


def _stored_with_address(services, address: str) -> None:
    record = next(r for r in predemandes.demo_records() if r["number"] == "A1B2C3D4E5")
    record = {**record, "contact": {**record["contact"], "email": address}}
    with services.db() as db, db.begin():
        predemandes.upsert(db, record)


def test_the_services_copy_of_the_predemande_gives_the_address(mailing, smtp, french):
    _stored_with_address(mailing, "e.martin@autre.example")
    enqueue(mailing, french.id)
    mail.MailSender(mailing).deliver_due()
    assert smtp.messages[0][0] == ["e.martin@autre.example"]


@pytest.mark.parametrize("address", [f"{ADDRESS}\r\nBcc: x", f"{ADDRESS}\nBcc:", "elise martin@exemple.fr",
                                     f"{ADDRESS},", f"<{ADDRESS}>", "a" * 250 + "@b.fr", ADDRESS + "\n"])
@pytest.mark.one_engine
def test_an_address_that_could_add_a_header_or_a_recipient_is_refused(mailing, smtp, french, address):
    _stored_with_address(mailing, address)
    assert enqueue(mailing, french.id) is None
    assert count(mailing, OutgoingMail) == 0


@pytest.mark.parametrize("address", ["", "@", "a@", "@b.fr", "a@@b.fr", "a@b@c.fr", "a@b..fr", "a@-b.fr", "é@b.fr",
                                     'a"b@c.fr', "a;b@c.fr", "a(b)@c.fr", "a@b.fr ", None, 3])
def test_only_one_plain_address_is_an_address(address):
    assert plain_address(address) is None


def test_plain_addresses_are_kept_as_they_are():
    for address in (ADDRESS, "camille.moreau-lambert@exemple.fr", "x+tag@sub.mairie-a.fr", "o'neil@example.ie"):
        assert plain_address(address) == address


# -- failures and retries ------------------------------------------------------------------------------------------

def test_a_server_down_is_retried_later_then_delivered_once_it_is_up(services, client, clock, french):
    inbox, port = Inbox(), free_port()  # nothing listens there yet
    configured(services, port)
    mail_id = enqueue(services, french.id)
    sender = mail.MailSender(services)

    assert sender.deliver_due() == 0
    waiting = row(services, mail_id)
    assert (waiting.state, waiting.attempts) == (MailState.PENDING, 1)
    assert waiting.next_attempt_at == clock.now() + mail.FIRST_RETRY
    assert "refused" in waiting.last_error.lower() and "@" not in waiting.last_error
    assert sender.deliver_due() == 0 and row(services, mail_id).attempts == 1  # not due yet: not tried

    controller = serve(inbox, port)
    try:
        clock.advance(mail.FIRST_RETRY.total_seconds())
        assert sender.deliver_due() == 1
    finally:
        controller.stop()
    assert [r for r, _ in inbox.messages] == [[ADDRESS]]
    done = row(services, mail_id)
    assert (done.state, done.attempts, done.last_error) == (MailState.SENT, 2, "")


def test_a_4xx_answer_is_retried_with_a_growing_delay(mailing, smtp, clock, french):
    smtp.refuse[ADDRESS] = "451 4.3.0 Mailbox busy, try later"
    mail_id = enqueue(mailing, french.id)
    sender = mail.MailSender(mailing)
    sender.deliver_due()
    assert row(mailing, mail_id).last_error == "451 4.3.0 Mailbox busy, try later"
    clock.advance(60)
    sender.deliver_due()
    second = row(mailing, mail_id)
    assert (second.state, second.attempts) == (MailState.PENDING, 2)
    assert second.next_attempt_at == clock.now() + 2 * mail.FIRST_RETRY

    del smtp.refuse[ADDRESS]
    clock.advance(120)
    assert sender.deliver_due() == 1
    assert row(mailing, mail_id).state == MailState.SENT and len(smtp.messages) == 1


def test_the_delay_doubles_up_to_six_hours():
    assert [mail.retry_delay(n).total_seconds() / 60 for n in (1, 2, 3, 9)] == [1, 2, 4, 256]
    assert mail.retry_delay(10) == mail.retry_delay(500) == mail.MAX_RETRY


@pytest.mark.one_engine
def test_a_550_refusal_fails_the_message_with_the_servers_answer_and_no_address(mailing, smtp, clock, french):
    smtp.refuse[ADDRESS] = f"550 5.1.1 <{ADDRESS}>: Recipient address rejected"
    mail_id = enqueue(mailing, french.id)
    sender = mail.MailSender(mailing)
    assert sender.deliver_due() == 0
    failed = row(mailing, mail_id)
    assert failed.state == MailState.FAILED
    assert failed.last_error == "550 5.1.1 <adresse> Recipient address rejected"
    clock.advance(mail.MAX_RETRY.total_seconds())
    assert sender.deliver_due() == 0 and row(mailing, mail_id).attempts == 1  # given up: never tried again
    with mailing.db() as db:
        [status] = mail.state_for(db, french.id)
    assert (status.state, status.last_error) == ("failed", failed.last_error)
    assert smtp.messages == []


def test_a_refusal_does_not_stop_the_other_messages_of_the_pass(mailing, smtp, client, tmp_path, french):
    other = deliver_dossier(mailing, client, tmp_path / "kiosk-b", site="mairie-a", scenario="adult-loss-cni")
    smtp.refuse[ADDRESS] = "550 5.1.1 no such user"
    refused, taken = enqueue(mailing, french.id), enqueue(mailing, other.id)
    assert mail.MailSender(mailing).deliver_due() == 1
    assert (row(mailing, refused).state, row(mailing, taken).state) == (MailState.FAILED, MailState.SENT)
    assert [r for r, _ in smtp.messages] == [["jerome.dupont@exemple.fr"]]


def test_a_message_is_given_up_after_its_last_attempt(services, client, clock, french):
    configured(services, free_port())
    mail_id = enqueue(services, french.id)
    with services.db() as db, db.begin():
        db.execute(update(OutgoingMail).values(attempts=mail.MAX_ATTEMPTS - 1))
    mail.MailSender(services).deliver_due()
    assert row(services, mail_id).state == MailState.FAILED


def test_two_senders_racing_over_the_same_rows_send_each_message_once(mailing, smtp, client, tmp_path):
    kiosk = enroll_kiosk(mailing, client, tmp_path / "kiosk-race", "mairie-a")
    dossiers = [deliver_dossier(mailing, client, tmp_path / "kiosk-race", kiosk=kiosk) for _ in range(3)]
    for dossier in dossiers:
        enqueue(mailing, dossier.id)
        enqueue(mailing, dossier.id, kind="validated")
    other = build_services(mailing.config, migrate=False)  # another process: its own engine and connections
    other.clock = mailing.clock
    senders = [mail.MailSender(mailing), mail.MailSender(other)]
    start = threading.Barrier(2)
    sent = [0, 0]

    def race(i: int) -> None:
        start.wait()
        sent[i] = senders[i].deliver_due()

    try:
        with HelperThreads() as threads:
            for i in range(2):
                threads.start(race, i, name=f"mail-sender-{i}")
    finally:
        other.close()
    ids = [m["Message-ID"] for _, m in smtp.messages]
    assert sum(sent) == 6 and len(ids) == 6 and len(set(ids)) == 6
    with mailing.db() as db:
        assert set(db.execute(select(OutgoingMail.state, OutgoingMail.attempts))) == {(MailState.SENT, 1)}


# -- the service's settings and its lifecycle ----------------------------------------------------------------------

def test_the_application_sends_a_message_soon_after_its_commit(services, smtp, french, clock):
    configured(services, smtp.port)
    with TestClient(create_app(services)) as app_client:
        sender = app_client.app.state.mail_sender
        assert sender.alive and sender.poll_interval_s == mail.POLL_INTERVAL_S
        assert sender.wait_for_passes(1, timeout_s=30)  # the pass at start found nothing
        enqueue(services, french.id)  # the commit wakes the sender: no waiting for the next poll
        assert smtp.wait_for(1, timeout_s=mail.POLL_INTERVAL_S / 3), "not sent after the commit"
        assert sender.failures == 0
    assert not sender.alive
    sender.stop()  # twice is harmless


def test_a_rolled_back_decision_sends_nothing(mailing, smtp, french):
    with pytest.raises(RuntimeError):
        with mailing.db() as db, db.begin():
            mail.enqueue(db, mailing.config, db.get(Dossier, french.id), "returned", RETURN, mailing.now())
            raise RuntimeError("the decision failed")
    assert mail.MailSender(mailing).deliver_due() == 0 and smtp.messages == []


@pytest.mark.parametrize("env, complaint", [
    ({"KIOSK_CENTRAL_SMTP_URL": "smtp://localhost"}, "KIOSK_CENTRAL_MAIL_FROM is needed"),
    ({"KIOSK_CENTRAL_SMTP_URL": "smtp://localhost", "KIOSK_CENTRAL_MAIL_FROM": "a@b.fr\nBcc: c@d.fr"}, "one plain"),
    ({"KIOSK_CENTRAL_SMTP_URL": "http://localhost", "KIOSK_CENTRAL_MAIL_FROM": "a@b.fr"}, "scheme"),
    ({"KIOSK_CENTRAL_SMTP_URL": "smtps://u:secret@host", "KIOSK_CENTRAL_MAIL_FROM": "a@b.fr"}, "not in the URL"),
    ({"KIOSK_CENTRAL_SMTP_URL": "smtp://u@host", "KIOSK_CENTRAL_MAIL_FROM": "a@b.fr"}, "only over TLS"),
    ({"KIOSK_CENTRAL_SMTP_URL": "smtps://u@host", "KIOSK_CENTRAL_MAIL_FROM": "a@b.fr"}, "SMTP_PASSWORD is needed"),
    ({"KIOSK_CENTRAL_SMTP_URL": "smtp://host:99999", "KIOSK_CENTRAL_MAIL_FROM": "a@b.fr"}, "SMTP_URL"),
], ids=["no-sender", "bad-sender", "scheme", "password-in-url", "login-in-clear", "no-password", "port"])
def test_a_mail_server_the_service_cannot_use_stops_it_at_start(env, complaint):
    with pytest.raises(ConfigError, match=complaint):
        load_config(env)


def test_the_sender_refuses_a_mail_server_without_a_sender_however_the_config_was_made(services):
    services.config = replace(services.config, smtp_url="smtp://localhost")
    with pytest.raises(ConfigError, match="MAIL_FROM"):
        create_app(services)


def test_the_mail_servers_url_is_read_with_its_default_ports():
    assert smtp_server("smtp://relay") == SmtpServer("smtp", "relay", 25, "")
    starttls = smtp_server("smtp+starttls://alerts%40mairie.fr@smtp.example.fr")
    assert (starttls.port, starttls.user, starttls.starttls, starttls.tls) == (587, "alerts@mairie.fr", True, False)
    assert smtp_server("smtps://u@h:2465").tls and smtp_server("smtps://u@h:2465").port == 2465
    config = load_config({"KIOSK_CENTRAL_SMTP_URL": "smtps://u@h", "KIOSK_CENTRAL_SMTP_PASSWORD": "secret",
                          "KIOSK_CENTRAL_MAIL_FROM": "ne-pas-repondre@mairie.fr"})
    assert "secret" not in repr(config) and check_mail(config).port == 465
    assert check_mail(load_config({})) is None


def test_a_server_that_does_not_answer_costs_an_attempt_to_the_message_tried_only(services, client, tmp_path,
                                                                                  clock, french):
    configured(services, free_port())  # nothing listens there
    other = deliver_dossier(services, client, tmp_path / "kiosk-b", site="mairie-a", scenario="adult-loss-cni")
    tried, untried = enqueue(services, french.id), enqueue(services, other.id)
    assert mail.MailSender(services).deliver_due() == 0
    assert (row(services, tried).attempts, row(services, tried).next_attempt_at) == (1, clock.now() + mail.FIRST_RETRY)
    assert (row(services, untried).attempts, row(services, untried).next_attempt_at) == (0, clock.now())  # still due
