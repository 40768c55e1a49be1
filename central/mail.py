"""Mail to citizens: their dossier was returned (and what to bring) or validated (and what comes next).

:func:`enqueue` is called in the transaction of the agent's decision
(``central.review``): it writes one :class:`~central.models.OutgoingMail`
row, subject and body already composed in the citizen's language, so the
decision and its message commit together or not at all. It writes nothing
when no mail server is configured (``KIOSK_CENTRAL_SMTP_URL``) or when the
pré-demande has no usable address.

:class:`MailSender` delivers the rows after their commit, on a thread
started and stopped with the application: woken by the commit of an
enqueue in its own process, and every ``poll_interval_s`` for retries and
for rows other processes wrote.

**What a message holds.** The dossier number, the mairie (its name,
address and hours: the mairie is not personal), what happened (the reasons
the agent chose, as ``central.reasons`` writes them for the citizen, and
the agent's note), what to do next, the status page. Never the citizen's
name, birth date or address. The logs (``central.mail``) name the dossier,
the kind and the outcome: never an address, a subject or a body, and a
refusal kept in ``last_error`` has any address taken out.

**Exactly once, or once more after a crash.** A sender *claims* a row
before sending it, with one conditional UPDATE: still ``pending``, still
due, and its ``next_attempt_at`` pushed ``LEASE`` ahead (``attempts`` + 1).
Two processes (API workers, replicas) may select the same due rows; only
one UPDATE per row matches, the other sees a row no longer due. The row is
marked ``sent`` right after the server took the message. A process that
dies between the two leaves the row ``pending`` until the lease ends, and
the message is sent a second time: a lost notice is worse than a repeated
one. The repeat carries the same ``Message-ID``, so mail systems that
deduplicate show it once.

**Retries.** Connection failures and 4xx answers are retried after 1, 2, 4
… minutes, at most ``MAX_RETRY`` (6 h) apart; after ``MAX_ATTEMPTS`` the
row is ``failed``. A 5xx refusal of the recipient or of the message is
final: ``failed`` at once, with the server's short answer, for the agents
to see. A refusal that concerns the service itself (the login, the sender
address, TLS) is not the citizen's: every message waits, and the log says
what to fix.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
import textwrap
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from central.config import CentralConfig, check_mail, plain_address
from central.context import Services
from central.housekeeping import FIRST_RETRY, MAX_RETRY, Housekeeper, retry_delay  # noqa: F401 (mail.FIRST_RETRY …)
from central.models import Dossier, MailState, OutgoingMail, Site
from central.reasons import Notice
from central.review import predemande_data
from central.texts import Texts

log = logging.getLogger("central.mail")

#: What a message tells: the agent's two decisions.
KINDS = ("returned", "validated")
#: How often a sender looks for due rows when nothing wakes it (retries, rows another process wrote).
POLL_INTERVAL_S = 30.0
#: About three days of retries (1, 2, 4 … 256 min, then every 6 h) before a message is given up.
MAX_ATTEMPTS = 20
#: How long a claimed row is left to its sender before another may take it (a crashed process's rows).
LEASE = timedelta(minutes=10)
BATCH = 50
TIMEOUT_S = 30.0
WIDTH = 72
MAX_ERROR = 120
_ENQUEUED = "central.mail.enqueued"  # a session's ``info`` key: wake the sender when it commits


# -- writing a message ------------------------------------------------------------------------------------------------

def language_of(dossier: Dossier) -> str:
    """The language the citizen used at the kiosk: ``en`` or ``fr`` (anything else)."""
    lang = (dossier.content or {}).get("language")
    return lang if lang in ("fr", "en") else "fr"


def recipient_of(db: Session, dossier: Dossier) -> str | None:
    """The address of the dossier's pré-demande, from the service's copy else the kiosk's; None if unusable.

    The record that counts is the one the console shows (the service's own
    when it has one): an address it holds that is not one plain address
    (:func:`central.config.plain_address`) is refused, not replaced.
    """
    data = predemande_data(db, dossier)  # the form's ``extra`` sections merged in, as the console shows them
    contact = data.get("contact") if data is not None else None
    return plain_address(contact.get("email")) if isinstance(contact, dict) else None


def _paragraph(text: str, bullet: bool = False) -> str:
    return "\n".join(textwrap.fill(line, WIDTH, initial_indent="- " if bullet else "",
                                   subsequent_indent="  " if bullet else "", break_long_words=False,
                                   break_on_hyphens=False)
                     for line in text.splitlines() if line.strip())


def compose(kind: str, lang: str, number: str, site: Site | None, lines: list[str],
            public_url: str = "") -> tuple[str, str]:
    """(subject, plain-text body) of the ``kind`` message about dossier ``number``, in ``lang``.

    ``lines`` are the reasons of a return as the citizen reads them; the
    body names nothing of the citizen.
    """
    if kind not in KINDS:
        raise ValueError(f"no mail for {kind!r}")
    t = Texts(lang)
    name = site.name if site is not None else ""
    body = [t("mail.hello"), _paragraph(t(f"mail.{kind}", site=name, number=number))]
    if kind == "returned":
        body.append("\n".join(filter(None, (_paragraph(line, bullet=True) for line in lines))))
    body.append(_paragraph(t(f"mail.{kind}_next")))
    where = [t("mail.address", address=site.address) if site is not None and site.address else "",
             t("mail.hours", hours=site.opening_hours) if site is not None and site.opening_hours else ""]
    if any(where):
        body.append("\n".join(filter(None, (_paragraph(line) for line in [name, *where]))))
    if public_url:
        url = f"{public_url}/statut" + ("?lang=en" if lang == "en" else "")
        body.append(_paragraph(t("mail.status", url=url, number=number)))
    else:
        body.append(_paragraph(t("mail.status_receipt")))
    body.append(_paragraph(t("mail.footer")))
    text = "\n\n".join(p for p in body if p)
    return t(f"mail.subject.{kind}", number=number), text + "\n"


def enqueue(db: Session, config: CentralConfig, dossier: Dossier, kind: str, notice: Notice | None,
            now: datetime) -> OutgoingMail | None:
    """Write the ``kind`` message about ``dossier`` in the caller's transaction; None if none is to be sent.

    None when no mail server is configured or the pré-demande has no usable
    address. ``notice`` is what a return tells (None for ``validated``). A dossier
    has one message per kind: asked again, the row already written is
    returned unchanged. The sender of this process is woken when the
    caller commits.
    """
    if kind not in KINDS:
        raise ValueError(f"no mail for {kind!r}")
    if not config.smtp_url:
        return None
    recipient = recipient_of(db, dossier)
    if recipient is None:
        return None
    existing = db.scalar(select(OutgoingMail).where(OutgoingMail.dossier_id == dossier.id,
                                                    OutgoingMail.kind == kind))
    if existing is not None:
        return existing
    lang = language_of(dossier)
    lines = notice.lines(lang) if notice is not None else []
    subject, body = compose(kind, lang, dossier.number, db.get(Site, dossier.site_id), lines, config.public_url)
    mail = OutgoingMail(dossier_id=dossier.id, kind=kind, recipient=recipient, language=lang, subject=subject,
                        body=body, state=MailState.PENDING.value, created_at=now, attempts=0, next_attempt_at=now,
                        last_error="")
    db.add(mail)
    db.flush()
    db.info[_ENQUEUED] = True
    return mail


@dataclass(frozen=True)
class MailStatus:
    """Where one message of a dossier stands, for the agents' dossier page."""

    kind: str
    state: str          # MailState: pending, sent, failed
    sent_at: datetime | None
    attempts: int
    last_error: str     # the server's short answer, no address in it


def state_for(db: Session, dossier_id: str) -> list[MailStatus]:
    """The messages of a dossier, oldest first; empty when none was written (no mail server, or no address)."""
    rows = db.scalars(select(OutgoingMail).where(OutgoingMail.dossier_id == dossier_id).order_by(OutgoingMail.id))
    return [MailStatus(r.kind, r.state, r.sent_at, r.attempts, r.last_error) for r in rows]


# -- sending it -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Outcome:
    """What a failed attempt means: ``final`` for this message, or ``server_down`` for every one of the pass."""

    error: str
    code: int = 0
    final: bool = False
    server_down: bool = False


_ADDRESS = re.compile(r"\S*@\S*")


def _short(code: int, message: Any) -> str:
    """The server's answer, short, with anything shaped like an address taken out."""
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    text = " ".join(_ADDRESS.sub("<adresse>", text).split())
    return (f"{code} {text}" if code else text)[:MAX_ERROR]


def _outcome(exc: Exception) -> _Outcome:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, message = next(iter(exc.recipients.values()))
        return _Outcome(_short(code, message), code, final=code >= 500)
    if isinstance(exc, smtplib.SMTPDataError):  # the message itself refused
        return _Outcome(_short(exc.smtp_code, exc.smtp_error), exc.smtp_code, final=exc.smtp_code >= 500)
    if isinstance(exc, smtplib.SMTPSenderRefused):
        log.error("the mail server refuses the sender (KIOSK_CENTRAL_MAIL_FROM): %s", exc.smtp_code)
        return _Outcome(_short(exc.smtp_code, exc.smtp_error), exc.smtp_code, server_down=True)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        log.error("the mail server refuses the login (KIOSK_CENTRAL_SMTP_URL, _PASSWORD): %s", exc.smtp_code)
        return _Outcome(_short(exc.smtp_code, exc.smtp_error), exc.smtp_code, server_down=True)
    if isinstance(exc, smtplib.SMTPResponseException):  # a greeting or a HELO refused: the server, not the message
        return _Outcome(_short(exc.smtp_code, exc.smtp_error), exc.smtp_code, server_down=True)
    return _Outcome(_short(0, f"{type(exc).__name__}: {exc}"), server_down=True)  # connection, TLS, timeout


def _due_now(now: datetime) -> tuple:
    return OutgoingMail.state == MailState.PENDING.value, OutgoingMail.next_attempt_at <= now


class MailSender(Housekeeper):
    """Deliver due ``pending`` messages (a :class:`~central.housekeeping.Housekeeper`): a pass at start, one
    whenever a commit in this process enqueued a message, and one every ``poll_interval_s``.

    Built from the services' configuration, and refuses one that names a
    mail server without a sender (``ConfigError``, as ``load_config`` does).
    Without a mail server it does nothing: :meth:`start` starts no thread.
    """

    name = "mail-sender"
    what = "delivering mail"

    def __init__(self, services: Services, poll_interval_s: float = POLL_INTERVAL_S):
        super().__init__(poll_interval_s, log)
        self.services = services
        self.config = services.config
        self.server = check_mail(self.config)

    @property
    def poll_interval_s(self) -> float:
        return self.interval_s

    def start(self) -> None:
        if self.server is None:
            log.info("no mail server configured (KIOSK_CENTRAL_SMTP_URL): citizens are not mailed")
            return
        self.wake_on_commits(self.services.db, _ENQUEUED)
        super().start()

    def run_once(self) -> int:
        return self.deliver_due()

    # -- one pass -----------------------------------------------------------------------------------------------------

    def deliver_due(self) -> int:
        """Send the due messages over one connection, each claimed just before its try, and record each outcome.

        Once the server does not answer, the rest of the pass is left as it
        was (due, and not counted as tried): the next pass tries them.
        Returns how many were sent.
        """
        if self.server is None:
            return 0
        now = self.services.now()
        sent, smtp = 0, None
        try:
            for mail_id in self._due(now):
                mail = self._claim(mail_id, now)
                if mail is None:  # another process took it
                    continue
                if plain_address(mail.recipient) is None:  # written by hand, not by enqueue
                    self._failed(mail, _Outcome("adresse invalide", final=True))
                    continue
                try:
                    if smtp is None:
                        smtp = self._connect()
                    smtp.send_message(self._message(mail), from_addr=self.config.mail_from,
                                      to_addrs=[mail.recipient])
                except (OSError, smtplib.SMTPException) as exc:
                    outcome = _outcome(exc)
                    self._failed(mail, outcome)
                    if outcome.server_down:
                        break
                    continue
                self._sent(mail)
                sent += 1
        finally:
            self._close(smtp)
        return sent

    def _due(self, now: datetime) -> list[int]:
        with self.services.db() as db:
            return list(db.scalars(select(OutgoingMail.id).where(*_due_now(now))
                                   .order_by(OutgoingMail.next_attempt_at, OutgoingMail.id).limit(BATCH)))

    def _claim(self, mail_id: int, now: datetime) -> OutgoingMail | None:
        """The row, if this process wins it: one conditional UPDATE that only one process can match."""
        with self.services.db() as db, db.begin():
            won = db.execute(update(OutgoingMail).where(OutgoingMail.id == mail_id, *_due_now(now))
                             .values(next_attempt_at=now + LEASE, attempts=OutgoingMail.attempts + 1))
            return db.get(OutgoingMail, mail_id) if won.rowcount == 1 else None

    def _connect(self) -> smtplib.SMTP:
        server = self.server
        assert server is not None
        context = ssl.create_default_context()
        if server.tls:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(server.host, server.port, timeout=TIMEOUT_S, context=context)
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT_S)
        try:
            if server.starttls:
                smtp.starttls(context=context)
            if server.user:
                smtp.login(server.user, self.config.smtp_password)
        except BaseException:
            self._close(smtp)
            raise
        return smtp

    @staticmethod
    def _close(smtp: smtplib.SMTP | None) -> None:
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()

    def _message(self, mail: OutgoingMail) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.config.mail_from
        msg["To"] = mail.recipient
        msg["Subject"] = mail.subject
        msg["Date"] = format_datetime(self.services.now())
        # The same for a message sent again after a crash: mail systems that deduplicate show it once.
        msg["Message-ID"] = f"<{mail.kind}.{mail.dossier_id}@{self.config.mail_from.split('@')[1]}>"
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
        msg["X-Auto-Response-Suppress"] = "All"
        msg.set_content(mail.body, charset="utf-8")
        msg["Content-Language"] = mail.language  # after set_content, which clears the Content-* headers
        return msg

    def _sent(self, mail: OutgoingMail) -> None:
        with self.services.db() as db, db.begin():
            db.execute(update(OutgoingMail).where(OutgoingMail.id == mail.id)
                       .values(state=MailState.SENT.value, sent_at=self.services.now(), last_error=""))
        log.info("mail sent", extra={"dossier": mail.dossier_id, "kind": mail.kind, "attempts": mail.attempts})

    def _failed(self, mail: OutgoingMail, outcome: _Outcome) -> None:
        final = outcome.final or mail.attempts >= MAX_ATTEMPTS
        values: dict[str, Any] = {"last_error": outcome.error}
        if final:
            values["state"] = MailState.FAILED.value
        else:
            values["next_attempt_at"] = self.services.now() + retry_delay(mail.attempts)
        with self.services.db() as db, db.begin():
            db.execute(update(OutgoingMail).where(OutgoingMail.id == mail.id,
                                                  OutgoingMail.state == MailState.PENDING.value).values(**values))
        extra = {"dossier": mail.dossier_id, "kind": mail.kind, "attempts": mail.attempts, "code": outcome.code}
        if final:
            log.warning("mail refused for good", extra=extra)
        else:
            log.info("mail deferred", extra=extra)
