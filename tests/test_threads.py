"""The tests' helper threads (``tests/threads.py``): what a helper raises fails its test, with its own message."""

from __future__ import annotations

import threading

import pytest

from tests.threads import HelperThreads

pytest_plugins = ["pytester"]


def _raise(message: str) -> None:
    raise ValueError(message)


def test_a_helpers_exception_fails_the_test_with_its_own_message(pytester):
    pytester.makepyfile(test_inner="""
        from tests.threads import HelperThreads

        def no_table():
            raise LookupError("no such table: dossiers")

        def test_main_thread_does_not_look():
            with HelperThreads() as threads:
                threads.start(no_table, name="sync-lives")
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*LookupError: no such table: dossiers*",
                                 "*raised in helper thread 'sync-lives'*"])


def test_join_raises_the_helpers_own_exception():
    with HelperThreads() as threads:
        helper = threads.start(_raise, "the worker ended by itself")
        with pytest.raises(ValueError, match="the worker ended by itself"):
            helper.join()
    # Raised once, at the join: leaving the block does not raise it again.


def test_a_failure_of_the_test_itself_is_kept_beneath_the_helpers():
    with pytest.raises(ValueError, match="the helper's") as caught:
        with HelperThreads() as threads:
            threads.start(_raise, "the helper's")
            threads.until(lambda: not threads._threads[0].is_alive(), "the helper never ended")
            raise AssertionError("sync kills 1")
    assert isinstance(caught.value.__context__, AssertionError)
    assert str(caught.value.__context__) == "sync kills 1"


def test_waiting_fails_at_once_when_a_helper_dies():
    never = threading.Event()
    with pytest.raises(ValueError, match="died first"):
        with HelperThreads() as threads:
            threads.start(_raise, "died first")
            threads.until(never.is_set, "the event", timeout_s=600)  # would wait ten minutes


def test_a_helper_still_running_past_the_deadline_fails_and_says_where_it_is():
    release = threading.Event()
    try:
        with pytest.raises(AssertionError, match=r"helper thread 'stuck' still running after 0.2 s(.|\n)*release.wait"):
            with HelperThreads(deadline_s=0.2) as threads:
                threads.start(lambda: release.wait(), name="stuck")
    finally:
        release.set()


def test_leaving_the_block_stops_the_helpers_that_wait_for_it():
    with HelperThreads() as threads:
        helper = threads.start(threads.stop.wait)
    assert threads.stop.is_set() and not helper.is_alive()


def test_every_helper_that_failed_is_reported():
    with pytest.raises(ExceptionGroup) as caught:
        with HelperThreads() as threads:
            threads.start(_raise, "first", name="one")
            threads.start(_raise, "second", name="two")
    assert sorted(str(e) for e in caught.value.exceptions) == ["first", "second"]
