"""A real SMTP server on loopback for the tests (aiosmtpd): what it took, and the refusals it is told to give.

The service's mail to citizens (``central.mail``) is tested against it, from
the service's own tests and from the browser tests' server (:func:`running_inbox`).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Iterator

from aiosmtpd.controller import Controller

from tests.chain import free_port


class Inbox:
    """The test server's handler: the messages it took, and the answer to give an address instead of 250."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.refuse: dict[str, str] = {}
        self._arrived = threading.Condition()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._arrived:
            self.messages.append((list(envelope.rcpt_tos), message))
            self._arrived.notify_all()
        return "250 Message accepted"

    def wait_for(self, count: int, timeout_s: float) -> bool:
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self.messages) >= count, timeout_s)


def serve(inbox: Inbox, port: int) -> Controller:
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


@contextmanager
def running_inbox() -> Iterator[Inbox]:
    """A server listening on a free port of loopback (``inbox.port``) for the block's time."""
    inbox = Inbox()
    inbox.port = free_port()
    controller = serve(inbox, inbox.port)
    try:
        yield inbox
    finally:
        controller.stop()
