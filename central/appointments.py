"""The appointments the service declares to the agency for the pré-demandes its kiosks used, and removes.

When a dossier is received, the agency is told that its pré-demande was
used at that mairie, as mairie software declares an appointment
(``POST /appointments``: the mairie's name and code, the capture time in
the mairie's time zone, the citizen's status page); a dossier sent back
removes it (``DELETE /appointments``). Nothing else goes to the agency.

Each call is a row (``agency_calls``) written in the transaction of what it
tells (the dossier's arrival, the agent's decision), then made by a thread
of each ``serve`` process (:class:`AgencyCaller`), woken by the commit and
every 30 s. A call is claimed by one conditional UPDATE before it is made,
so several processes never make it twice; a process killed between the
agency's answer and marking the row leaves it to be made again after the
lease, which the agency takes as the same appointment. A failure waits 1,
2, 4 … minutes, at most 6 h, and is retried as long as it takes: a day
without the agency loses nothing. A removal waits for its declaration.
The fleet page shows what waits (:func:`backlog`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.orm import Session, aliased

from central.ants import AgencyUnavailable, Appointment, appointment_time
from central.context import Services
from central.housekeeping import Housekeeper, retry_delay
from central.models import AgencyCall, Dossier, Site
from titres.timezones import time_zone

log = logging.getLogger("central.appointments")

DECLARE, REMOVE = "declare", "remove"
PENDING, DONE = "pending", "done"
POLL_INTERVAL_S = 30.0
LEASE = timedelta(minutes=10)
BATCH = 50
_ENQUEUED = "agency_call_enqueued"


def enqueue(db: Session, services: Services, dossier: Dossier, action: str) -> None:
    """In the caller's transaction: the call that tells the agency of ``dossier`` (nothing when the connector is
    off, or for a removal with no declaration to undo). Once per dossier and action."""
    if services.ants is None or _call(db, dossier.id, action) is not None:
        return
    if action == REMOVE:
        declared = _call(db, dossier.id, DECLARE)
        if declared is None:
            return
        appointment = replace(_appointment(declared), management_url="")  # removed by where and when alone
    else:
        site = db.get(Site, dossier.site_id)
        appointment = Appointment(dossier.predemande_number, site.name[:200], site.id[:64],
                                  appointment_time(dossier.created_at.astimezone(time_zone(site.timezone))),
                                  f"{services.config.public_url}/statut")
    db.add(AgencyCall(dossier_id=dossier.id, action=action, number=appointment.application_id,
                      meeting_point=appointment.meeting_point, meeting_point_id=appointment.meeting_point_id,
                      appointment_date=appointment.appointment_date, management_url=appointment.management_url,
                      created_at=services.now(), next_attempt_at=services.now()))
    db.info[_ENQUEUED] = True


def _call(db: Session, dossier_id: str, action: str) -> AgencyCall | None:
    return db.scalar(select(AgencyCall).where(AgencyCall.dossier_id == dossier_id, AgencyCall.action == action))


def _appointment(call: AgencyCall) -> Appointment:
    return Appointment(call.number, call.meeting_point, call.meeting_point_id, call.appointment_date,
                       call.management_url)


@dataclass(frozen=True)
class Backlog:
    """What waits for the agency, for the fleet page."""

    waiting: int
    oldest: datetime | None
    last_error: str


def backlog(db: Session) -> Backlog:
    waiting, oldest = db.execute(select(func.count(), func.min(AgencyCall.created_at))
                                 .where(AgencyCall.state == PENDING)).one()
    error = db.scalar(select(AgencyCall.last_error).where(AgencyCall.state == PENDING, AgencyCall.last_error != "")
                      .order_by(AgencyCall.next_attempt_at.desc()).limit(1))
    return Backlog(waiting, oldest, error or "")


def _due_now(now: datetime) -> tuple:
    declare = aliased(AgencyCall)
    waits_for_declaration = exists().where(and_(declare.dossier_id == AgencyCall.dossier_id,
                                                declare.action == DECLARE, declare.state == PENDING))
    return (AgencyCall.state == PENDING, AgencyCall.next_attempt_at <= now,
            ~and_(AgencyCall.action == REMOVE, waits_for_declaration))


class AgencyCaller(Housekeeper):
    """Make the due calls (a :class:`~central.housekeeping.Housekeeper`): a pass at start, one when a commit in
    this process wrote a call, one every ``poll_interval_s``. Without the connector, no thread."""

    name = "agency-calls"
    what = "calling the agency"

    def __init__(self, services: Services, poll_interval_s: float = POLL_INTERVAL_S):
        super().__init__(poll_interval_s, log)
        self.services = services

    def start(self) -> None:
        if self.services.ants is None:
            return
        self.wake_on_commits(self.services.db, _ENQUEUED)
        super().start()

    def run_once(self) -> int:
        return self.call_due()

    def call_due(self) -> int:
        """Make the due calls in order, each claimed just before; stop at the first the agency does not take (the
        rest waits for the next pass). Returns how many it took."""
        if self.services.ants is None:
            return 0
        now = self.services.now()
        with self.services.db() as db:
            due = list(db.scalars(select(AgencyCall.id).where(*_due_now(now)).order_by(AgencyCall.id).limit(BATCH)))
        made = 0
        for call_id in due:
            call = self._claim(call_id, now)
            if call is None:  # another process took it
                continue
            try:
                if call.action == DECLARE:
                    self.services.ants.declare(_appointment(call))
                else:
                    self.services.ants.remove(_appointment(call))
            except AgencyUnavailable as exc:
                self._failed(call, str(exc))
                break
            self._done(call)
            made += 1
        if made:
            self.wake()  # a removal that waited for the declaration just made is due: at once, not at the next poll
        return made

    def _claim(self, call_id: int, now: datetime) -> AgencyCall | None:
        with self.services.db() as db, db.begin():
            won = db.execute(update(AgencyCall).where(AgencyCall.id == call_id, *_due_now(now))
                             .values(next_attempt_at=now + LEASE, attempts=AgencyCall.attempts + 1)
                             .execution_options(synchronize_session=False))
            return db.get(AgencyCall, call_id) if won.rowcount == 1 else None

    def _done(self, call: AgencyCall) -> None:
        with self.services.db() as db, db.begin():
            db.execute(update(AgencyCall).where(AgencyCall.id == call.id)
                       .values(state=DONE, done_at=self.services.now(), last_error=""))
        log.info("agency told", extra={"dossier": call.dossier_id, "action": call.action, "attempts": call.attempts})

    def _failed(self, call: AgencyCall, error: str) -> None:
        with self.services.db() as db, db.begin():
            db.execute(update(AgencyCall).where(AgencyCall.id == call.id, AgencyCall.state == PENDING)
                       .values(last_error=error[:200],
                               next_attempt_at=self.services.now() + retry_delay(call.attempts)))
        log.info("agency call deferred", extra={"dossier": call.dossier_id, "action": call.action,
                                                "attempts": call.attempts, "error": error[:200]})
