"""Build an ApprovalEngine on the in-memory transports (``type = "memory"``): no mail server.

The engine sends through the memory server OUTGOING and reads its replies from
the memory server INCOMING. An approver's mailbox is what OUTGOING accepted
for them, read back from the bytes an SMTP server would have received; a
reply reaches INCOMING only when it is addressed to the engine (plus address
included), as a mail server would route it. The twin of the Dovecot scenario
in tests/engine_setup.py, with the same methods where they mean the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import pytest

from approvals.engine import ApprovalEngine
from approvals.mails import PACKAGED_TEMPLATES
from approvals.models import ApprovalRequest
from approvals.settings import EngineSettings
from mailio.devservers.approver import compose_reply
from mailio.inbound import memory as folders
from mailio.inbound.memory import MemoryMailbox
from mailio.outbound import memory as outboxes
from mailio.outbound.envelope import envelope_recipients, mime_bytes
from tests.engine_setup import SECRET, Clock

OUTGOING = "outgoing"  # the memory server the engine sends through
INCOMING = "incoming"  # the memory server holding the engine's reply folder
ENGINE_ADDRESS = "approvals@example.test"
# RFC 5321: a line on the SMTP wire is at most 998 octets; the real relay refuses longer.
MAX_WIRE_LINE = 998


def memory_engine_settings(
    store_url: str, engine_address: str = ENGINE_ADDRESS, **inbound: Any
) -> EngineSettings:
    """tests.engine_setup.engine_settings, with memory servers instead of SMTP and IMAP."""
    return EngineSettings.model_validate(
        {
            "store": {"url": store_url},
            "tokens": {"secret": SECRET, "ttl_days": 14},
            "outbound": {
                "server": OUTGOING,
                "from": f"Approvals <{engine_address}>",
                "reply_to": engine_address,
                "templates_dir": str(PACKAGED_TEMPLATES),
            },
            "inbound": {"server": INCOMING, "folder": "INBOX", "max_messages": 30, **inbound},
            "servers": {
                OUTGOING: {"type": "memory", "name": OUTGOING},
                INCOMING: {"type": "memory", "name": INCOMING},
            },
        }
    )


def write_memory_config(
    env: pytest.MonkeyPatch, folder: Path, address: str = ENGINE_ADDRESS, *, extra: str = ""
) -> Path:
    """An approvals.toml on memory servers, laid out as scheduler.demo.config_for_stack
    writes one (the secret comes from the environment through $<<VAR>>)."""
    env.setenv("APPROVALS_SECRET", SECRET)
    config = folder / "approvals.toml"
    config.write_text(
        f"""\
[store]
url = "sqlite:///{folder / "approvals.db"}"
[tokens]
secret = "$<<APPROVALS_SECRET>>"
ttl_days = 14
[outbound]
server = "{OUTGOING}"
from = "Approvals <{address}>"
reply_to = "{address}"
templates_dir = "{PACKAGED_TEMPLATES}"
[inbound]
server = "{INCOMING}"
folder = "INBOX"
interval_minutes = 5
max_messages = 30
after_processing = "delete"
failure_folder = "Failed"
[servers.{OUTGOING}]
type = "memory"
[servers.{INCOMING}]
type = "memory"
"""
        + extra
    )
    return config


def _parsed(raw: bytes) -> EmailMessage:
    return message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def wire_bytes(message: Message) -> bytes:
    """``message`` as an SMTP server would have received it; fails on what it would refuse."""
    raw = mime_bytes(message)
    too_long = [line for line in raw.split(b"\r\n") if len(line) > MAX_WIRE_LINE]
    assert not too_long, f"a line of {len(too_long[0])} octets: an SMTP server refuses it"
    return raw


def received_by(address: str, server: str = OUTGOING) -> list[EmailMessage]:
    """The mailbox of ``address``: what ``server`` accepted for it, oldest first."""
    wanted = address.lower()
    return [
        _parsed(wire_bytes(message))
        for message in outboxes.outbox(server)
        if wanted in (recipient.lower() for recipient in envelope_recipients(message))
    ]


def _mailbox_of(address: str) -> str:
    """``approvals+tag@example.test`` -> ``approvals@example.test``, as subaddressing delivers."""
    local, _, domain = address.lower().rpartition("@")
    return f"{local.partition('+')[0]}@{domain}"


def deliver_to_engine(engine_address: str, message: EmailMessage, server: str = INCOMING) -> str:
    """Put ``message`` in the engine's reply folder if a mail server would route it there."""
    fields = [str(v) for name in ("To", "Cc", "Bcc") for v in message.get_all(name, [])]
    recipients = [address for _, address in getaddresses(fields) if address]
    assert _mailbox_of(engine_address) in {_mailbox_of(r) for r in recipients}, (
        f"{recipients} would not reach the engine's mailbox {engine_address}"
    )
    return folders.deliver(server, message.as_bytes(policy=policy.SMTP))


@dataclass
class MemoryScenario:
    """One engine on memory servers, and approvers whose mailboxes are its memory outbox."""

    engine: ApprovalEngine
    address: str
    clock: Clock
    decided: list[ApprovalRequest] = field(default_factory=list)

    def ask(self, *approvers: str, **options: Any) -> ApprovalRequest:
        request = self.engine.request_approval("Deploy 1.4.2 to production", approvers, **options)
        self.engine.dispatch_pending()
        return request

    def mailbox(self, approver: str) -> list[EmailMessage]:
        """What the engine sent ``approver``, oldest first."""
        return received_by(approver)

    def notification_for(self, approver: str) -> EmailMessage:
        messages = self.mailbox(approver)
        assert messages, f"nothing was sent to {approver}"
        return messages[-1]

    def reply(
        self, approver: str, text: str, *, sender: str | None = None, **kw: Any
    ) -> EmailMessage:
        reply = compose_reply(self.notification_for(approver), sender or approver, text, **kw)
        self.send(reply)
        return reply

    def send(self, message: EmailMessage) -> None:
        deliver_to_engine(self.address, message)

    def folder(self, name: str = "INBOX") -> list[EmailMessage]:
        """The engine's folder ``name`` on INCOMING, oldest first."""
        return [_parsed(raw) for raw in folders.messages(INCOMING, name)]

    def move_all(self, source: str, target: str) -> None:
        """What an admin does in a mail client: move every message of ``source`` to ``target``."""
        box = MemoryMailbox(INCOMING, source)
        box.move([message.key for message in box.fetch_batch(box.count())], target)


def memory_scenario(
    tmp_path: Path, store_url: str | None = None, **inbound: Any
) -> Iterator[MemoryScenario]:
    """The engine of a MemoryScenario, on empty memory servers; closed afterwards."""
    outboxes.reset()
    folders.reset()
    clock = Clock()
    url = store_url or f"sqlite:///{tmp_path / 'approvals.db'}"
    engine = ApprovalEngine(memory_engine_settings(url, **inbound), clock=clock)
    result = MemoryScenario(engine=engine, address=ENGINE_ADDRESS, clock=clock)
    engine.on_decision(result.decided.append)
    try:
        yield result
    finally:
        engine.close()
        outboxes.reset()
        folders.reset()
