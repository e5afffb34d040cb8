"""``approvals test-config``: a test message through each outbound server, and the reply
folder opened, each step reported as it went (connect, secure, authenticate, send…)."""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import parseaddr

from approvals.mails import new_message_id, sender_domain
from approvals.settings import EngineSettings
from mailio.compose import RenderedParts, build_message
from mailio.inbound.base import Mailbox
from mailio.outbound.base import Sender
from mailio.probe import ProbeStep, probe_mailbox, probe_sender


def probe_configuration(
    settings: EngineSettings, senders: Sequence[Sender], mailbox: Mailbox, to: str | None = None
) -> list[ProbeStep]:
    """``senders`` in the order of ``[outbound] server`` and its fallbacks."""
    recipient = to or parseaddr(settings.outbound.from_address)[1]
    steps: list[ProbeStep] = []
    for sender, name in zip(senders, settings.outbound.server_names, strict=True):
        message = build_message(
            parts=RenderedParts(
                subject=f"Approvals test message via {name}",
                text="This message was sent by `approvals test-config` to check the "
                f"outbound server {name}. Nothing needs to be done.\n",
                html=None,
            ),
            sender=settings.outbound.from_address,
            to=recipient,
            message_id=new_message_id(sender_domain(settings.outbound)),
            headers={"Auto-Submitted": "auto-generated"},
        )
        steps += probe_sender(sender, settings.servers[name], message)
    steps += probe_mailbox(
        mailbox, settings.servers[settings.inbound.server], settings.inbound.folder
    )
    return steps
