"""Build an ApprovalEngine wired to a test mail stack (Dovecot or GreenMail)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_string, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from approvals.engine import ApprovalEngine
from approvals.mails import PACKAGED_TEMPLATES
from approvals.models import ApprovalRequest
from approvals.settings import EngineSettings
from approvals.tokens import find_tokens
from mailio.devservers import approver as client
from mailio.devservers.stack import MailStack
from mailio.inbound.base import FetchedMessage, Mailbox, header_block
from scheduler.demo import config_for_stack
from tests.servers.mail_client import send_as

REPO = Path(__file__).resolve().parents[1]
SECRET = "test-secret-0123456789abcdef"


def engine_settings(
    stack: MailStack, store_url: str, engine_address: str, **inbound: Any
) -> EngineSettings:
    server = {
        "host": stack.host,
        "security": "none",
        "username": engine_address,
        "password": stack.password,
    }
    return EngineSettings.model_validate(
        {
            "store": {"url": store_url},
            "tokens": {"secret": SECRET, "ttl_days": 14},
            "outbound": {
                "server": "smtp",
                "from": f"Approvals <{engine_address}>",
                "reply_to": engine_address,
                "templates_dir": str(PACKAGED_TEMPLATES),
            },
            "inbound": {"server": "imap", "folder": "INBOX", "max_messages": 30, **inbound},
            "servers": {
                "smtp": {"type": "smtp", "name": "smtp", "port": stack.smtp_port, **server},
                "imap": {"type": "imap", "name": "imap", "port": stack.imap_port, **server},
            },
        }
    )


def write_config(
    env: pytest.MonkeyPatch,
    stack: MailStack,
    folder: Path,
    address: str,
    *,
    password: str | None = None,
    extra: str = "",
) -> Path:
    """An approvals.toml for the stack as an admin writes it: secrets come from the
    environment through $<<VAR>> (set here with ``env``)."""
    env.setenv("APPROVALS_SECRET", SECRET)
    env.setenv("MAIL_PASSWORD", password or stack.password)
    config = folder / "approvals.toml"
    config.write_text(config_for_stack(stack, folder, address, interval_minutes=5) + extra)
    return config


def reconfigured(settings: EngineSettings, **sections: dict[str, Any]) -> EngineSettings:
    """``settings`` with some keys of some sections changed (secrets stay SecretStr)."""
    data = settings.model_dump(by_alias=True)
    for section, values in sections.items():
        data[section] = {**data.get(section, {}), **values}
    return EngineSettings.model_validate(data)


class ListMailbox:
    """A folder in memory: fetched oldest first, deleted and moved by key.

    Like the real readers, it hands out only the header of a message over
    ``max_message_bytes`` (the engine sets it from [inbound] before fetching).
    """

    def __init__(self, raws: Sequence[bytes], max_message_bytes: int | None = None) -> None:
        self.messages = {str(i): raw for i, raw in enumerate(raws)}
        self.moved: dict[str, list[str]] = {}
        self.max_message_bytes = max_message_bytes

    def fetch_batch(self, limit: int) -> list[FetchedMessage]:
        return [self._fetched(k, v) for k, v in list(self.messages.items())[:limit]]

    def _fetched(self, key: str, raw: bytes) -> FetchedMessage:
        if self.max_message_bytes is not None and len(raw) > self.max_message_bytes:
            return FetchedMessage(key, header_block(raw), len(raw), complete=False)
        return FetchedMessage(key, raw)

    def delete(self, keys: Sequence[str]) -> None:
        for key in keys:
            del self.messages[key]

    def move(self, keys: Sequence[str], folder: str) -> None:
        self.moved.setdefault(folder, []).extend(keys)
        self.delete(keys)

    def count(self) -> int:
        return len(self.messages)

    def close(self) -> None:
        pass


class MailboxWrapper:
    """Passes every call to ``inner``; tests override what they change (no size limit:
    it stands for a mailbox written before ``max_message_bytes``)."""

    def __init__(self, inner: Mailbox) -> None:
        self.inner = inner

    def fetch_batch(self, limit: int) -> list[FetchedMessage]:
        return self.inner.fetch_batch(limit)

    def delete(self, keys: Sequence[str]) -> None:
        self.inner.delete(keys)

    def move(self, keys: Sequence[str], folder: str) -> None:
        self.inner.move(keys, folder)

    def count(self) -> int:
        return self.inner.count()

    def close(self) -> None:
        self.inner.close()


class Clock:
    """A wall clock that tests can move forward."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Scenario:
    """One engine, its mailbox on the stack, and approvers with mailboxes of their own."""

    stack: MailStack
    engine: ApprovalEngine
    address: str
    clock: Clock
    decided: list[ApprovalRequest] = field(default_factory=list)

    def ask(self, *approvers: str, **options: Any) -> ApprovalRequest:
        request = self.engine.request_approval("Deploy 1.4.2 to production", approvers, **options)
        self.engine.dispatch_pending()
        return request

    def inbox(self, address: str, folder: str = "INBOX") -> list[EmailMessage]:
        return client.read_inbox(
            self.stack.host, self.stack.imap_port, address, self.stack.password, folder
        )

    def notification_for(self, approver: str) -> EmailMessage:
        messages = self.inbox(approver)
        assert messages, f"no notification in {approver}'s mailbox"
        return messages[-1]

    def reply(
        self, approver: str, text: str, *, sender: str | None = None, **kw: Any
    ) -> EmailMessage:
        reply = client.compose_reply(
            self.notification_for(approver), sender or approver, text, **kw
        )
        self.send(reply)
        return reply

    def send(self, message: EmailMessage) -> None:
        send_as(self.stack, str(message["From"]), message)  # logs in where the stack wants it


def scenario(
    stack: MailStack, tmp_path: Path, store_url: str | None = None, **inbound: Any
) -> Iterator[Scenario]:
    address = stack.new_address("approvals")
    clock = Clock()
    url = store_url or f"sqlite:///{tmp_path / 'approvals.db'}"
    engine = ApprovalEngine(engine_settings(stack, url, address, **inbound), clock=clock)
    result = Scenario(stack=stack, engine=engine, address=address, clock=clock)
    engine.on_decision(result.decided.append)
    try:
        yield result
    finally:
        engine.close()


ScenarioFactory = Callable[..., Scenario]


def delivery_status_notification(to: str, original: EmailMessage) -> EmailMessage:
    """An RFC 3464 bounce as Postfix sends it, with the original's headers attached."""
    headers = "".join(f"{name}: {value}\n" for name, value in original.items())
    raw = f"""\
From: Mail Delivery System <MAILER-DAEMON@mx.example.test>
To: {to}
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
Message-ID: <bounce.{id(original)}@mx.example.test>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"

--BOUNDARY
Content-Type: text/plain

This is the mail system. Your message could not be delivered.

--BOUNDARY
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.test

Final-Recipient: rfc822; {original["To"]}
Action: failed
Status: 5.1.1

--BOUNDARY
Content-Type: text/rfc822-headers

{headers}
--BOUNDARY--
"""
    return message_from_string(raw, policy=policy.default)  # type: ignore[return-value]


def reply_to_stored_notification(
    engine: ApprovalEngine, request_id: str, approver: str, text: str, mid: str
) -> bytes:
    """A reply to the notification ``approver`` got, read from the store (no mail server)."""
    (entry,) = (e for e in engine.outbox(request_id) if e.approver == approver)
    mime = engine.notification_message(entry.id)  # as the approver got it
    (token,) = find_tokens(mime.decode())
    reply = EmailMessage()
    reply["From"] = approver
    reply["To"] = f"approvals+{token}@example.test"
    reply["Subject"] = f"Re: Approval requested [{token.upper()}]"
    reply["Message-ID"] = f"<{mid}>"
    reply.set_content(f"{text}\n\n> To approve, reply with APPROVE\n")
    return reply.as_bytes()
