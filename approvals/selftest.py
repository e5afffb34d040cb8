"""``approvals test-config``: a test message through each outbound server, the reply
folder opened, and with ``--round-trip`` a probe read back from it; each step reported
as it went (connect, secure, authenticate, send, open folder, read back)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from email.utils import parseaddr

from approvals.canary import probe_message, read_back
from approvals.settings import EngineSettings
from mailio.inbound.base import Mailbox
from mailio.outbound.base import Sender
from mailio.probe import ProbeStep, probe_mailbox, probe_sender


def probe_configuration(
    settings: EngineSettings,
    senders: Sequence[Sender],
    mailbox_factory: Callable[[], Mailbox],
    now: datetime,
    *,
    to: str | None = None,
    round_trip: bool = False,
    probe_only: bool = False,
) -> list[ProbeStep]:
    """``senders`` in the order of ``[outbound] server`` and its fallbacks.

    Every test message is a signed probe, so the poller deletes it if it lands in
    the reply folder. ``round_trip``: one probe through the main server to the reply
    address, then wait until the reply folder shows it (and delete it); ``probe_only``:
    that round trip alone (the canary).
    """
    recipient = to or parseaddr(settings.outbound.from_address)[1]
    steps: list[ProbeStep] = []
    for sender, name in zip(senders, settings.outbound.server_names, strict=not probe_only):
        if probe_only:  # the canary: only the probe's round trip
            break
        message = probe_message(
            settings,
            now,
            to=recipient,
            subject=f"Approvals test message via {name}",
            text="This message was sent by `approvals test-config` to check the "
            f"outbound server {name}. Nothing needs to be done.\n",
        )
        steps += probe_sender(sender, settings.servers[name], message)
    inbound = settings.inbound
    if not probe_only:
        steps += probe_mailbox(mailbox_factory(), settings.servers[inbound.server], inbound.folder)
    if (round_trip or probe_only) and all(step.ok for step in steps):
        probe = probe_message(settings, now)
        primary = settings.outbound.server
        sent = probe_sender(senders[0], settings.servers[primary], probe)
        steps += sent
        if all(step.ok for step in sent):
            steps.append(read_back(settings, mailbox_factory, probe, inbound.server))
    return steps
