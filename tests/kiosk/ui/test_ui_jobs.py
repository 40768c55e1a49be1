"""The job runner: slow work on a worker thread, results on the UI thread, in order, for the right citizen."""

from __future__ import annotations

import logging
import queue
import threading
import time

import pytest

from kiosk.controller import Job
from titres.errors import InvalidTransition, KioskError, PrinterError
from kiosk.core.session import Session, SessionSettings
from kiosk.ui.jobs import JobRunner


class UiThread:
    """Stands in for Kivy's clock: ``post`` queues, ``drain`` runs the queue here, as the UI thread would."""

    def __init__(self) -> None:
        self.q: queue.Queue = queue.Queue()
        self.ident = threading.get_ident()

    def post(self, fn) -> None:
        self.q.put(fn)

    def drain(self, until=lambda: True, timeout: float = 5.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                self.q.get(timeout=0.05)()
            except queue.Empty:
                pass
            if until():
                return
        raise AssertionError("the UI thread was not called back in time")


@pytest.fixture
def ui():
    return UiThread()


@pytest.fixture
def session():
    return Session(SessionSettings(), clock=time.monotonic)


@pytest.fixture
def runner(session, ui):
    r = JobRunner(session, ui.post)
    yield r
    r.close()


def test_work_runs_off_the_ui_thread_and_apply_on_it(runner, session, ui):
    seen = {}

    def work():
        seen["work"] = threading.get_ident()
        return 42

    def apply(result, error):
        seen["apply"] = threading.get_ident()
        seen["result"] = result

    runner.submit(Job("slow", work, apply, session.page_token))
    assert runner.busy == 1
    ui.drain(lambda: "result" in seen)
    assert seen["work"] != ui.ident
    assert seen["apply"] == ui.ident
    assert seen["result"] == 42
    assert runner.busy == 0


def test_follow_up_job_runs_after_the_first_is_applied(runner, session, ui):
    order = []
    second = Job("print", lambda: order.append("print work"), lambda r, e: order.append("print apply"),
                 session.page_token)
    first = Job("submit", lambda: order.append("submit work"),
                lambda r, e: order.append("submit apply") or second, session.page_token)
    runner.submit(first)
    ui.drain(lambda: "print apply" in order)
    assert order == ["submit work", "submit apply", "print work", "print apply"]


def test_a_late_result_never_reaches_the_next_citizen(runner, session, ui):
    applied = []
    done = []
    gate = threading.Event()
    job = Job("lookup", lambda: gate.wait(2) and "old", lambda r, e: applied.append(r), session.page_token)
    runner.submit(job, on_done=lambda r, e: done.append(r))
    session.wipe()  # the citizen walked away while the job ran
    gate.set()
    ui.drain(lambda: bool(done))
    assert applied == []


def test_device_errors_are_handed_to_apply(runner, session, ui):
    got = []
    job = Job("print", lambda: (_ for _ in ()).throw(PrinterError("jam")), lambda r, e: got.append(e),
              session.page_token)
    runner.submit(job)
    ui.drain(lambda: bool(got))
    assert isinstance(got[0], PrinterError)


def test_an_unexpected_exception_is_wrapped_so_the_screen_moves_on(runner, session, ui, caplog):
    got = []
    job = Job("scan", lambda: 1 / 0, lambda r, e: got.append(e), session.page_token)
    with caplog.at_level(logging.ERROR, logger="kiosk.ui.jobs"):
        runner.submit(job)
        ui.drain(lambda: bool(got))
    assert isinstance(got[0], KioskError) and "ZeroDivisionError" in str(got[0])
    assert any("unexpectedly" in r.message for r in caplog.records)


def test_a_result_for_a_step_already_left_is_logged_not_raised(runner, session, ui, caplog):
    done = []

    def apply(result, error):
        raise InvalidTransition("event not accepted in step welcome")

    with caplog.at_level(logging.WARNING, logger="kiosk.ui.jobs"):
        runner.submit(Job("photo", lambda: b"jpeg", apply, session.page_token), on_done=lambda r, e: done.append(r))
        ui.drain(lambda: bool(done))
    assert done == [b"jpeg"], "the screen still hears back (it re-enables its buttons)"
    assert any("not applied" in r.message for r in caplog.records)


def test_jobs_run_one_at_a_time_in_order(runner, session, ui):
    running = []
    overlap = []
    order = []

    def work(i):
        def w():
            if running:
                overlap.append(i)
            running.append(i)
            time.sleep(0.01)
            running.remove(i)
            return i
        return w

    for i in range(5):
        runner.submit(Job("scan", work(i), lambda r, e: order.append(r), session.page_token))
    assert runner.pending("scan") == 5
    ui.drain(lambda: len(order) == 5)
    assert order == [0, 1, 2, 3, 4]
    assert overlap == [], "a device is only ever used by one job"


def test_closed_runner_takes_no_more_jobs(session, ui):
    r = JobRunner(session, ui.post)
    r.close()
    assert r.submit(Job("scan", lambda: 1, lambda res, e: None, session.page_token)) is None
    assert r.busy == 0
