"""Waiting in IMAP IDLE (RFC 2177) on the selected folder until the server announces mail.

Before each wait a NOOP collects what changed since the last command (a reply that
landed between the last batch and now); then IDLE, re-issued every
:data:`IDLE_RENEW_SECONDS` as the RFC asks (servers may end an IDLE after 30 minutes).
The server's socket and the caller's :class:`~mailio.inbound.wakeup.Wakeup` are watched
together. A ``* BYE``, or a socket that turns readable with nothing on it (closed), ends
the wait with an error; so does a DONE the server does not answer within the socket
timeout: a connection that died silently is found at the latest at the next renewal.
"""

from __future__ import annotations

import selectors
import time

from imapclient import IMAPClient

from mailio.errors import TransportError
from mailio.inbound.imap.responses import announces_mail, farewell
from mailio.inbound.wakeup import Arrival, Wakeup

IDLE_RENEW_SECONDS = 25 * 60


def wait_in_idle(client: IMAPClient, timeout: float, wakeup: Wakeup, label: str) -> Arrival:
    """Wait on the selected folder of ``client`` for at most ``timeout`` seconds."""
    _, pending = client.noop()
    if announces_mail(pending):
        return Arrival.NEW_MAIL
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        client.idle()
        arrival = _watch(client, min(remaining, IDLE_RENEW_SECONDS), wakeup, label)
        _, responses = client.idle_done()  # unanswered within the socket timeout: dead
        if arrival is Arrival.NEW_MAIL or announces_mail(responses):
            return Arrival.NEW_MAIL
        if arrival is Arrival.WOKEN:
            return Arrival.WOKEN
    return Arrival.TIMED_OUT


def _watch(client: IMAPClient, seconds: float, wakeup: Wakeup, label: str) -> Arrival | None:
    """One IDLE: an arrival, or None when it is time to end it (renewal, or a socket
    that needs DONE to tell whether it still lives)."""
    deadline = time.monotonic() + seconds
    with selectors.DefaultSelector() as selector:
        selector.register(client.socket(), selectors.EVENT_READ, "server")
        selector.register(wakeup, selectors.EVENT_READ, "wakeup")
        while (remaining := deadline - time.monotonic()) > 0:
            ready = {key.data for key, _ in selector.select(remaining)}
            if "server" in ready:
                responses = client.idle_check(timeout=0)
                goodbye = farewell(responses)
                if goodbye is not None:
                    raise TransportError(f"{label} closed the connection during IDLE: {goodbye}")
                if announces_mail(responses):
                    return Arrival.NEW_MAIL
                if not responses:
                    return None  # readable with nothing to read: closed, DONE will tell
            if "wakeup" in ready and wakeup.consume():
                return Arrival.WOKEN
    return None
