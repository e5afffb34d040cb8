"""Settings and messages for the transport tests: what they hand SmtpSender and ImapMailbox.

Every test server here logs in any user with ``PASSWORD`` on loopback; a test
names only what it is about (port, security, a wrong password, a proxy...).
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from mailio.config import ImapServer, SmtpServer
from mailio.devservers.ports import LOOPBACK
from tests.servers.dovecot_stack import PASSWORD

ENGINE_ADDRESS = "engine@example.test"
MAILBOX_ADDRESS = "approvals@example.test"


def smtp_settings(port: int, **overrides: Any) -> SmtpServer:
    """SMTP on loopback ``port``, no TLS, AUTH as the engine; ``overrides`` win."""
    return SmtpServer(**_defaults(port, ENGINE_ADDRESS) | overrides)


def imap_settings(port: int, **overrides: Any) -> ImapServer:
    """IMAP on loopback ``port``, no TLS, login as the approvals mailbox; ``overrides`` win."""
    return ImapServer(**_defaults(port, MAILBOX_ADDRESS) | overrides)


def _defaults(port: int, username: str) -> dict[str, Any]:
    return {
        "host": LOOPBACK,
        "port": port,
        "security": "none",
        "username": username,
        "password": PASSWORD,
    }


def outgoing_message(to: str, subject: str = "approval needed", **headers: str) -> EmailMessage:
    """A notification from the engine; Message-ID from ``subject``, so keep subjects unique.

    ``headers``: extra ones, ``_`` read as ``-`` (``Reply_To=...``).
    """
    message = EmailMessage()
    message["From"] = ENGINE_ADDRESS
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{subject}@example.test>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("Please reply APPROVE or REJECT.\n")
    return message
