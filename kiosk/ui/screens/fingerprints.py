"""Fingerprints: which finger, which attempt, what to change; or this finger cannot be taken."""

from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty

from kiosk.ui.screens.base import KioskScreen


class FingerprintsScreen(KioskScreen):
    reading = BooleanProperty(False)
    sensor_down = BooleanProperty(False)  # the sensor failed: what happened, and "Continuer"
    finger = StringProperty("")
    attempt = StringProperty("")
    progress = StringProperty("")

    def start(self) -> None:
        if self.reading:
            return
        if self.session.sensor_down:
            self.session.continue_without_sensor()
            return
        self.reading = True
        self.on_session(self.session)
        self.kiosk_app.kiosk.voice.cue("your_turn")  # two beeps: the sensor waits for the finger
        self.runner.submit(self.controller.finger_job(), on_done=self._read_done)

    def on_reading(self, instance, value) -> None:
        self.kiosk_app.navigation_locked = value

    def _read_done(self, result, error) -> None:
        self.reading = False
        self.on_session(self.session)

    def unavailable(self) -> None:
        if not self.reading:
            self.session.finger_unavailable()

    def on_page(self, session) -> None:
        self.on_session(session)

    def on_session(self, session) -> None:
        finger = session.current_finger
        if finger is None:
            return
        t = self.t
        self.sensor_down = session.sensor_down
        if session.sensor_down:  # no finger is asked for any more: what happened, and the way on
            self.finger = t("finger.sensor_down")
        else:
            self.finger = t.worded("finger.place", session.audience, finger=t(f"finger.{finger}"))
        self.attempt = t("finger.attempt", attempt=min(session.attempts + 1, session.settings.finger_attempts),
                         max=session.settings.finger_attempts)
        self.progress = t("finger.progress", index=session.index + 1, count=len(session.fingers))
        label = self.ids.message
        if self.reading:
            label.text, label.level = t("finger.reading"), "info"
        else:
            self.show_message(label, session)
