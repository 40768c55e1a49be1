"""Welcome: touch anywhere to start; says so when the kiosk cannot take a new application."""

from __future__ import annotations

from kivy.properties import BooleanProperty

from kiosk.ui.screens.base import KioskScreen


class WelcomeScreen(KioskScreen):
    unavailable = BooleanProperty(False)

    def on_page(self, session) -> None:
        self.on_session(session)

    def on_session(self, session) -> None:
        self.unavailable = bool(session.out_of_service)
        # A message left by the last session (erased after inactivity). Why the kiosk refuses a new
        # one is for the desk: the citizen reads "unavailable, ask at the front desk" in the button.
        msg = session.message
        if msg is not None and msg.key == session.out_of_service:
            self.ids.message.text = ""
        else:
            self.show_message(self.ids.message, session)

    def on_touch_down(self, touch):
        if self.collide_point(*touch.pos):
            super().on_touch_down(touch)  # the words' scroll view, when an enlarged text needs it
            touch.ud["welcome"] = True
            return True
        return super().on_touch_down(touch)

    def on_touch_up(self, touch):
        if touch.ud.get("maintenance"):
            return True  # the technician's held touch opened the PIN pad: no session for it
        if touch.ud.get("welcome") and self.collide_point(*touch.pos):
            super().on_touch_up(touch)
            if not self._moved(touch):  # a finger that moved was scrolling the words
                self.session.start()
            return True
        return super().on_touch_up(touch)

    def _moved(self, touch) -> bool:
        limit = self.ids.scroll.scroll_distance
        return abs(touch.x - touch.ox) > limit or abs(touch.y - touch.oy) > limit
