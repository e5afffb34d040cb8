"""Fixtures: Dovecot (once per session) behind an SmtpRelay — the default mail stack."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mailio.devservers import DovecotServer, MailStack, SmtpRelay
from mailio.devservers.stack import dovecot_stack

PASSWORD = "secret"
# XOAUTH2 on ``oauth_dovecot``: each user logs in with exactly their own token.
OAUTH_TOKENS = {"alice@example.test": "token-alice", "bob@example.test": "token-bob"}

RelayFactory = Callable[..., SmtpRelay]


@pytest.fixture(scope="session")
def dovecot_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DovecotServer]:
    """Plain Dovecot (no TLS) for the whole session; any user, password ``secret``."""
    with DovecotServer(tmp_path_factory.mktemp("dovecot"), password=PASSWORD) as server:
        yield server


@pytest.fixture(scope="session")
def oauth_dovecot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DovecotServer]:
    """Dovecot whose XOAUTH2 accepts, per user of OAUTH_TOKENS, only that user's token."""
    folder = tmp_path_factory.mktemp("dovecot-oauth")
    with DovecotServer(folder, password=PASSWORD, oauth2_tokens=OAUTH_TOKENS) as server:
        yield server


@pytest.fixture(scope="session")
def session_relay(dovecot_server: DovecotServer) -> Iterator[SmtpRelay]:
    """The session's SmtpRelay in front of ``dovecot_server``: AUTH with ``secret``, no TLS.

    Shared by every test: filter ``received`` by your own fresh addresses, and
    use ``smtp_relay_factory`` when you need counts or rejections of your own.
    """
    with SmtpRelay(dovecot_server.lmtp_port, auth_password=PASSWORD) as relay:
        yield relay


@pytest.fixture(scope="session")
def mail_stack(dovecot_server: DovecotServer, session_relay: SmtpRelay) -> MailStack:
    """MailStack: send on ``smtp_port`` (AUTH any user / ``password``), read on ``imap_port``.

    Example::

        def test_x(mail_stack):
            to = mail_stack.new_address("approver")
            send_as(mail_stack, mail_stack.new_address("engine"), raw, to=[to])
            assert len(read_mailbox(mail_stack, to)) == 1
    """
    return dovecot_stack(dovecot_server, session_relay, PASSWORD)


@pytest.fixture
def smtp_relay_factory(dovecot_server: DovecotServer) -> Iterator[RelayFactory]:
    """Start extra SmtpRelays in front of the session Dovecot; stopped after the test.

    Takes SmtpRelay's keyword options, e.g.
    ``relay = smtp_relay_factory(reject_recipients={addr: (451, "4.2.1 try later")})``;
    ``relay.connection_count`` and ``relay.received`` then count this test only.
    """
    relays: list[SmtpRelay] = []

    def start(**options: Any) -> SmtpRelay:
        relay = SmtpRelay(dovecot_server.lmtp_port, **options)
        relay.start()
        relays.append(relay)
        return relay

    yield start
    for relay in relays:
        relay.stop()


# What Dovecot announces after login, less IDLE: a server that cannot push.
CAPABILITIES_WITHOUT_IDLE = (
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+ NAMESPACE UNSELECT CHILDREN "
    "UIDPLUS MOVE LIST-EXTENDED ESEARCH SEARCHRES SPECIAL-USE"
)


@pytest.fixture
def own_dovecot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DovecotServer]:
    """A Dovecot of this test's own, which it may restart (plain, password ``secret``)."""
    with DovecotServer(tmp_path_factory.mktemp("dovecot-own"), password=PASSWORD) as server:
        yield server


@pytest.fixture(scope="session")
def dovecot_without_idle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DovecotServer]:
    """Dovecot that does not offer IDLE (its capabilities say so)."""
    folder = tmp_path_factory.mktemp("dovecot-no-idle")
    with DovecotServer(
        folder, password=PASSWORD, imap_capability=CAPABILITIES_WITHOUT_IDLE
    ) as server:
        yield server
