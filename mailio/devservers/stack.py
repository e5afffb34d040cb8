"""Dovecot + SMTP relay started together: what the tests and ``approvals demo`` talk to."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from mailio.devservers.dovecot import DovecotServer
from mailio.devservers.smtp_relay import SmtpRelay

DEFAULT_DOMAIN = "example.test"


def unique_address(label: str, domain: str = DEFAULT_DOMAIN) -> str:
    """``label-<12 hex>@domain``: a mailbox no other test has touched."""
    return f"{label}-{uuid.uuid4().hex[:12]}@{domain}"


@dataclass(frozen=True)
class MailStack:
    """Where to send (SMTP) and read (IMAP) mail; any address logs in with ``password``.

    ``relay`` is the local SmtpRelay (for ``received`` / ``connection_count``), None
    where the stack is another server (GreenMail). ``refuses_wrong_password`` is
    False where the server accepts any password.
    """

    name: str
    host: str
    imap_port: int
    smtp_port: int
    password: str
    new_address: Callable[[str], str] = field(default=unique_address, repr=False)
    smtp_requires_auth: bool = True
    refuses_wrong_password: bool = True
    relay: SmtpRelay | None = field(default=None, repr=False, compare=False)


def dovecot_stack(dovecot: DovecotServer, relay: SmtpRelay, password: str) -> MailStack:
    """The MailStack of a running Dovecot and the SmtpRelay in front of it."""
    return MailStack(
        name="dovecot",
        host=dovecot.host,
        imap_port=dovecot.imap_port,
        smtp_port=relay.port,
        password=password,
        relay=relay,
    )


@contextmanager
def local_mail_stack(base_dir: Path, password: str = "secret") -> Iterator[MailStack]:
    """Start Dovecot in ``base_dir`` and an SmtpRelay (AUTH with ``password``) in front of it."""
    with (
        DovecotServer(base_dir, password=password) as dovecot,
        SmtpRelay(dovecot.lmtp_port, auth_password=password) as relay,
    ):
        yield dovecot_stack(dovecot, relay, password)
