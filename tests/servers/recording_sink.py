"""An SMTP server that accepts every message after a short delay and records its recipients.

Lives in the test process, so what it accepted survives a dispatcher killed with
SIGKILL. ``wait_for(count)`` blocks until that many messages were accepted.
"""

from __future__ import annotations

import asyncio
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from mailio.devservers.ports import LOOPBACK, free_port


class RecordingSink:
    """``accepted``: one entry per accepted message, its recipients, in order of acceptance."""

    def __init__(self, delay: float = 0.01) -> None:
        self.host = LOOPBACK
        self.port = free_port()
        self.delay = delay
        self.accepted: list[tuple[str, ...]] = []
        self._changed = threading.Condition()
        self._controller = Controller(
            self, hostname=self.host, port=self.port, server_hostname="sink.localhost"
        )

    def __enter__(self) -> RecordingSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    def wait_for(self, count: int, timeout: float = 30.0) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: len(self.accepted) >= count, timeout)

    async def handle_DATA(  # noqa: N802 - name fixed by aiosmtpd
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        await asyncio.sleep(self.delay)  # slow enough to be killed mid-dispatch
        with self._changed:
            self.accepted.append(tuple(envelope.rcpt_tos))
            self._changed.notify_all()
        return "250 2.0.0 accepted"
