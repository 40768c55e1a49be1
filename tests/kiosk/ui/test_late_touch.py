"""A touch the session refuses is logged, not a crash; any other error still stops the app."""

from kivy.base import ExceptionManager

from kiosk.ui.app import LateTouch
from titres.errors import InvalidTransition


def test_a_late_touch_refused_by_the_session_does_not_end_the_app():
    assert LateTouch().handle_exception(InvalidTransition("event not accepted in step end")) == ExceptionManager.PASS


def test_any_other_error_still_ends_the_app_for_the_supervisor():
    assert LateTouch().handle_exception(ValueError("a real bug")) == ExceptionManager.RAISE
