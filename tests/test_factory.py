"""Building senders and mailboxes from settings: token providers live across polls."""

from __future__ import annotations

from mailio.config import GraphServer, ImapServer, SmtpServer
from mailio.factory import build_mailbox, build_sender

OAUTH2 = {"tenant": "contoso", "client_id": "app", "client_secret": "s3cret"}


def test_imap_oauth2_token_provider_outlives_the_poll_and_uses_the_proxy() -> None:
    server = ImapServer(
        host="imap.example.test",
        port=993,
        security="tls",
        username="approvals@example.test",
        auth="oauth2",
        oauth2=OAUTH2,  # type: ignore[arg-type]
        proxy="http://proxy.example.test:3128",
    )
    first, second = build_mailbox(server, "INBOX"), build_mailbox(server, "INBOX")
    provider = first._session.token_provider.__self__  # type: ignore[attr-defined]

    assert second._session.token_provider.__self__ is provider  # type: ignore[attr-defined]
    assert provider._http._mounts  # requests to the token endpoint go through the proxy


def test_graph_reader_and_sender_share_one_token_provider() -> None:
    server = GraphServer(mailbox="approvals@example.test", oauth2=OAUTH2)  # type: ignore[arg-type]
    mailbox = build_mailbox(server, "INBOX")
    sender = build_sender(server)
    assert mailbox._api.token == sender._token  # type: ignore[attr-defined]


def test_password_servers_get_no_token_provider() -> None:
    server = SmtpServer.model_validate(
        {"host": "smtp.example.test", "port": 587, "username": "a@example.test", "password": "pw"}
    )
    assert build_sender(server)._token_provider is None  # type: ignore[attr-defined]
