"""Busy (looking up, saving, printing), ReceiptFailed (the number to write down) and End (thank you)."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.ui.screens.base import KioskScreen


class BusyScreen(KioskScreen):
    """Shared by the steps where a worker is busy: no Back, no Cancel, a turning spinner and what is happening."""

    def activate(self) -> None:
        self.ids.spinner.running = True

    def deactivate(self) -> None:
        self.ids.spinner.running = False

    def on_page(self, session) -> None:
        self.on_session(session)

    def on_session(self, session) -> None:
        msg = session.message
        self.ids.what.text = self.t(msg.key, **msg.params) if msg is not None else ""


class _NumberScreen(KioskScreen):
    """A last page: the dossier's number, and the session ends when the citizen is done."""

    number = StringProperty("")

    def finish(self) -> None:
        self.session.finish()

    def on_page(self, session) -> None:
        self.number = session.dossier_number or ""
        self.on_session(session)

    def on_session(self, session) -> None:
        self.show_message(self.ids.message, session)


class ReceiptFailedScreen(_NumberScreen):
    """The dossier is saved but the receipt did not print: its number, huge, to write down."""

    def retry(self) -> None:
        self.runner.submit(self.controller.retry_print_job())


class EndScreen(_NumberScreen):
    def on_session(self, session) -> None:
        super().on_session(session)
        self.ids.message.level = "ok"
