"""An SMTP server (aiosmtpd, in this process) that tells its sessions apart and counts QUITs."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from mailio.devservers.ports import LOOPBACK, free_port


class SessionCounter:
    """Accepts every message; records which session carried it and when QUIT came.

    ``forgotten``: sessions cut at their next MAIL FROM without an answer, as by a
    server (or a NAT box) that forgot an idle client.
    """

    def __init__(self) -> None:
        self.carried: list[int] = []  # the session of each accepted message
        self.quits = 0
        self.forgotten: set[int] = set()
        self.quit_seen = threading.Event()

    @property
    def sessions(self) -> int:
        return len(set(self.carried))

    async def handle_MAIL(  # noqa: N802 - name fixed by aiosmtpd
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if id(session) in self.forgotten:
            transport = server.transport
            assert isinstance(transport, asyncio.Transport)
            transport.abort()  # cut only now: the client learns of it from this command
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.carried.append(id(session))
        return "250 OK"

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.quits += 1
        self.quit_seen.set()
        return "221 Bye"


@pytest.fixture
def counter() -> Iterator[tuple[SessionCounter, int]]:
    handler = SessionCounter()
    controller = Controller(handler, hostname=LOOPBACK, port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


@pytest.fixture
def session_counter() -> Iterator[tuple[SessionCounter, int]]:
    """The handler and the port of a running SessionCounter."""
    handler = SessionCounter()
    controller = Controller(handler, hostname=LOOPBACK, port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()
