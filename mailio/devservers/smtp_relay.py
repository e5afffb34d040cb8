"""A real SMTP server (aiosmtpd) that delivers every accepted message to Dovecot over LMTP.

Mail sent to any address lands in that user's Dovecot mailbox before the SMTP
transaction ends (LMTP delivery is synchronous), so a test can read it at once.
The relay also records what it accepted and can refuse chosen recipients, for
tests of retries and permanent failures.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import smtplib
import ssl
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from mailio.devservers.lifecycle import Startable
from mailio.devservers.ports import LOOPBACK

LMTP_TIMEOUT = 30.0
SERVER_HOSTNAME = "relay.localhost"  # fixed: socket.getfqdn() can take seconds

# aiosmtpd objects to AUTH without TLS (intended on a plain test port) and trips
# over its own deprecated Session.login_data on every login: neither says anything
# to someone reading test output.
_AIOSMTPD_NOISE = (
    "auth_required == True but auth_require_tls == False",
    "Session.login_data is deprecated and will be removed in version 2.0",
)
logging.getLogger("mail.log").addFilter(lambda record: record.getMessage() not in _AIOSMTPD_NOISE)


@dataclass(frozen=True)
class ReceivedEnvelope:
    """One accepted SMTP transaction: MAIL FROM, the accepted RCPT TOs, the DATA bytes."""

    sender: str
    recipients: tuple[str, ...]
    raw: bytes


class SmtpRelay(Startable):
    """SMTP on a free loopback port, handing mail to Dovecot's LMTP listener.

    ``auth_password``: require AUTH PLAIN/LOGIN, any username, this password.
    ``tls_context``: server certificate for STARTTLS (advertised unless
    ``offer_starttls`` is False). ``implicit_tls_context``: TLS from the first
    byte, like port 465. ``reject_recipients``: address -> (code, text) answered
    to RCPT TO; the relay reads this dict live, so a test may change it between
    attempts. ``reject_data``: (code, text) answered after DATA instead of delivering.
    """

    def __init__(
        self,
        lmtp_port: int,
        *,
        lmtp_host: str = LOOPBACK,
        auth_password: str | None = None,
        tls_context: ssl.SSLContext | None = None,
        implicit_tls_context: ssl.SSLContext | None = None,
        offer_starttls: bool = True,
        reject_recipients: dict[str, tuple[int, str]] | None = None,
        reject_data: tuple[int, str] | None = None,
    ) -> None:
        if tls_context is not None and implicit_tls_context is not None:
            raise ValueError("SmtpRelay: give tls_context (STARTTLS) or implicit_tls_context")
        self.lmtp_host = lmtp_host
        self.lmtp_port = lmtp_port
        self.auth_password = auth_password
        self.tls_context = tls_context
        self.implicit_tls_context = implicit_tls_context
        self.offer_starttls = offer_starttls
        self.reject_recipients = reject_recipients if reject_recipients is not None else {}
        self.reject_data = reject_data
        self.host = LOOPBACK
        self.port = 0
        self._lock = threading.Lock()
        self._received: list[ReceivedEnvelope] = []
        self._connection_count = 0
        self._controller: _CountingController | None = None

    def __repr__(self) -> str:
        return f"SmtpRelay({self.host}:{self.port} -> LMTP {self.lmtp_host}:{self.lmtp_port})"

    @property
    def connection_count(self) -> int:
        """Connections accepted since start (the start-up probe is not counted)."""
        with self._lock:
            return self._connection_count

    @property
    def received(self) -> list[ReceivedEnvelope]:
        """A copy of the envelopes accepted (and delivered) so far, oldest first."""
        with self._lock:
            return list(self._received)

    def start(self) -> None:
        starttls = self.tls_context if self.offer_starttls else None
        controller = _CountingController(
            self,
            _LmtpHandoff(self),
            hostname=self.host,
            port=0,
            ssl_context=self.implicit_tls_context,
            server_hostname=SERVER_HOSTNAME,
            decode_data=False,
            tls_context=starttls,
            authenticator=self._authenticate if self.auth_password is not None else None,
            auth_required=self.auth_password is not None,
            # Like real servers: with STARTTLS on offer, AUTH waits for it. Implicit TLS
            # is already encrypted, but aiosmtpd only knows about STARTTLS.
            auth_require_tls=starttls is not None,
        )
        controller.start()
        self._controller = controller
        self.port = controller.port
        controller.counting = True

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def clear(self) -> None:
        """Forget recorded envelopes and connections (for a session-wide relay)."""
        with self._lock:
            self._received.clear()
            self._connection_count = 0

    def _count_connection(self) -> None:
        with self._lock:
            self._connection_count += 1

    def _record(self, envelope: ReceivedEnvelope) -> None:
        with self._lock:
            self._received.append(envelope)

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        expected = self.auth_password
        ok = (
            expected is not None
            and isinstance(auth_data, LoginPassword)
            and hmac.compare_digest(auth_data.password, expected.encode())
        )
        return AuthResult(success=ok, handled=False)


class _CountingController(Controller):
    """Counts connections once ``counting`` is set, so the start-up probe is left out."""

    def __init__(self, relay: SmtpRelay, handler: object, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.relay = relay
        self.counting = False

    def factory(self) -> SMTP:
        if self.counting:
            self.relay._count_connection()
        _quiet_aiosmtpd_warnings()  # again per connection: pytest resets filters per test
        return super().factory()

    def _trigger_server(self) -> None:
        # We bind port 0 (no race for a free port); the probe needs the real one.
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class _LmtpHandoff:
    """aiosmtpd handler: refuse configured recipients, deliver the rest over LMTP."""

    def __init__(self, relay: SmtpRelay) -> None:
        self.relay = relay

    async def handle_RCPT(  # noqa: N802 - name fixed by aiosmtpd
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        rejection = _lookup(self.relay.reject_recipients, address)
        if rejection is not None:
            code, text = rejection
            return f"{code} {text}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - name fixed by aiosmtpd
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.relay.reject_data is not None:
            code, text = self.relay.reject_data
            return f"{code} {text}"
        raw = envelope.content
        assert isinstance(raw, bytes)  # decode_data=False
        accepted = ReceivedEnvelope(
            sender=envelope.mail_from or "",
            recipients=tuple(envelope.rcpt_tos),
            raw=raw,
        )
        failure = await asyncio.get_running_loop().run_in_executor(
            None, _deliver_lmtp, self.relay.lmtp_host, self.relay.lmtp_port, accepted
        )
        if failure is not None:
            return failure
        self.relay._record(accepted)
        return "250 OK delivered"


def _quiet_aiosmtpd_warnings() -> None:
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")


def _lookup(rejections: Mapping[str, tuple[int, str]], address: str) -> tuple[int, str] | None:
    wanted = address.strip("<>").lower()
    for candidate, rejection in list(rejections.items()):
        if candidate.strip("<>").lower() == wanted:
            return rejection
    return None


def _deliver_lmtp(host: str, port: int, envelope: ReceivedEnvelope) -> str | None:
    """Deliver one transaction with all recipients; None on success, else an SMTP reply."""
    try:
        with smtplib.LMTP(host, port, timeout=LMTP_TIMEOUT) as lmtp:
            lmtp.ehlo()  # LHLO
            code, text = lmtp.mail(envelope.sender)
            if code != 250:
                return _as_reply(code, text)
            for recipient in envelope.recipients:
                code, text = lmtp.rcpt(recipient)
                if code != 250:
                    return _as_reply(code, text)
            code, text = lmtp.docmd("DATA")
            if code != 354:
                return _as_reply(code, text)
            lmtp.send(_dot_stuffed(envelope.raw))
            # LMTP answers DATA once per recipient (RFC 2033); smtplib.LMTP reads only one.
            for _ in envelope.recipients:
                code, text = lmtp.getreply()
                if code != 250:
                    return _as_reply(code, text)
    except (OSError, smtplib.SMTPException) as error:
        return f"451 4.4.0 LMTP hand-off to Dovecot failed: {error}"
    return None


def _dot_stuffed(raw: bytes) -> bytes:
    """DATA payload with CRLF line ends, leading dots doubled and the final "." line."""
    data = re.sub(rb"(?m)^\.", b"..", re.sub(rb"\r?\n", b"\r\n", raw))
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _as_reply(code: int, text: bytes) -> str:
    # An LMTP refusal becomes the same class of SMTP reply, so clients see 4xx vs 5xx.
    return f"{code} {text.decode('utf-8', 'replace').replace(chr(10), ' ')}"
