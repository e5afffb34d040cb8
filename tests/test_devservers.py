"""The local mail servers the other tests stand on: Dovecot, the SMTP relay, GreenMail.

What the other tests take for granted: mail really arrives, at once; wrong
passwords and missing AUTH are really refused; the relay refuses what it is
told to refuse and counts what it saw. That GreenMail delivers is proven by
test_round_trip, which runs on it where Docker answers.
"""

from __future__ import annotations

import imaplib
import smtplib
from email.message import EmailMessage
from pathlib import Path

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from mailio.devservers import DovecotServer, MailStack, SmtpRelay
from tests.servers.dovecot_stack import OAUTH_TOKENS, RelayFactory
from tests.servers.greenmail import greenmail_container
from tests.servers.mail_client import read_mailbox, send_as, wait_for_messages


def _message(sender: str, to: str, subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Please approve.\n.\n..a line starting with dots\n")
    return message


def test_one_transaction_lands_in_every_recipients_mailbox_before_smtp_returns(
    mail_stack: MailStack,
) -> None:
    sender = mail_stack.new_address("engine")
    first, second = mail_stack.new_address("a"), mail_stack.new_address("b")

    send_as(mail_stack, sender, _message(sender, f"{first}, {second}", "Approval needed"))

    # no polling: LMTP stored the mail before the relay answered DATA
    [message] = read_mailbox(mail_stack, first)
    assert len(wait_for_messages(mail_stack, second, 1, timeout=0)) == 1
    assert message["Subject"] == "Approval needed"
    # dot-stuffing survives both hops (SMTP in, LMTP out)
    lines = message.get_content().splitlines()
    assert lines == ["Please approve.", ".", "..a line starting with dots"]
    assert mail_stack.relay is not None
    mine = [e for e in mail_stack.relay.received if first in e.recipients]
    assert [(e.sender, e.recipients) for e in mine] == [(sender, (first, second))]


def test_wait_for_messages_names_the_shortfall(mail_stack: MailStack) -> None:
    nobody = mail_stack.new_address("empty")
    with pytest.raises(AssertionError, match="expected 1 message"):
        wait_for_messages(mail_stack, nobody, 1, timeout=0)


def test_dovecot_refuses_a_wrong_password(mail_stack: MailStack) -> None:
    with (
        IMAPClient(mail_stack.host, mail_stack.imap_port, ssl=False) as imap,
        pytest.raises(LoginError),
    ):
        imap.login(mail_stack.new_address("approver"), "not-" + mail_stack.password)


def test_relay_takes_mail_only_after_auth_with_the_password(mail_stack: MailStack) -> None:
    with smtplib.SMTP(mail_stack.host, mail_stack.smtp_port) as smtp:
        smtp.ehlo()
        code, _ = smtp.mail("engine@example.test")
        assert code == 530
        smtp.rset()
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            smtp.login("engine@example.test", "not-" + mail_stack.password)
        assert refused.value.smtp_code == 535


def test_rejected_recipient_gets_the_configured_reply(
    mail_stack: MailStack, smtp_relay_factory: RelayFactory
) -> None:
    busy, fine = mail_stack.new_address("busy"), mail_stack.new_address("fine")
    relay = smtp_relay_factory(reject_recipients={busy: (451, "4.2.1 mailbox busy")})

    with smtplib.SMTP(relay.host, relay.port) as smtp:
        refused = smtp.sendmail("engine@example.test", [busy, fine], b"Subject: x\r\n\r\nx\r\n")

    assert refused == {busy: (451, b"4.2.1 mailbox busy")}
    assert [e.recipients for e in relay.received] == [(fine,)]
    assert read_mailbox(mail_stack, busy) == []
    assert relay.connection_count == 1


def test_relay_counts_each_connection(smtp_relay_factory: RelayFactory) -> None:
    relay = smtp_relay_factory()
    assert relay.connection_count == 0  # the start-up probe is not counted
    for _ in range(3):
        with smtplib.SMTP(relay.host, relay.port) as smtp:
            smtp.noop()
    assert relay.connection_count == 3


def test_rejected_data_is_not_delivered(
    mail_stack: MailStack, smtp_relay_factory: RelayFactory
) -> None:
    to = mail_stack.new_address("approver")
    relay = smtp_relay_factory(reject_data=(554, "5.6.0 content refused"))
    with smtplib.SMTP(relay.host, relay.port) as smtp, pytest.raises(smtplib.SMTPDataError):
        smtp.sendmail("engine@example.test", [to], b"Subject: x\r\n\r\nx\r\n")
    assert relay.received == []
    assert read_mailbox(mail_stack, to) == []


def test_oauth2_login_needs_that_users_exact_token(oauth_dovecot: DovecotServer) -> None:
    def xoauth2(user: str, token: str) -> bool:
        imap = imaplib.IMAP4(oauth_dovecot.host, oauth_dovecot.imap_port)
        try:
            payload = f"user={user}\x01auth=Bearer {token}\x01\x01".encode()
            imap.authenticate("XOAUTH2", lambda _: payload)
            return True
        except imaplib.IMAP4.error:
            return False
        finally:
            imap.shutdown()

    alice, bob = OAUTH_TOKENS
    assert xoauth2(alice, OAUTH_TOKENS[alice])
    assert not xoauth2(alice, OAUTH_TOKENS[bob])
    assert not xoauth2("carol@example.test", OAUTH_TOKENS[alice])
    assert not xoauth2(alice, oauth_dovecot.password)


@pytest.mark.mailserver
def test_a_stopped_dovecot_frees_its_port_and_the_relay_defers_mail(tmp_path: Path) -> None:
    server = DovecotServer(tmp_path)
    with server:
        imap_port, lmtp_port = server.imap_port, server.lmtp_port
    assert not server.running
    with pytest.raises(ConnectionRefusedError):
        imaplib.IMAP4("127.0.0.1", imap_port)
    with (
        SmtpRelay(lmtp_port) as relay,
        smtplib.SMTP(relay.host, relay.port) as smtp,
        pytest.raises(smtplib.SMTPDataError) as refused,
    ):
        smtp.sendmail("engine@example.test", ["a@example.test"], b"Subject: x\r\n\r\nx\r\n")
    assert refused.value.smtp_code == 451  # temporary: the sender retries later


def test_greenmail_skips_with_dockers_reason_where_no_engine_answers() -> None:
    """Here there is no Docker engine: building the container must fail the way we catch."""
    from docker.errors import DockerException

    try:
        greenmail_container()
    except DockerException as error:
        assert str(error)  # the text pytest.skip prints
        return
    pytest.skip("a Docker engine answers here: the greenmail fixtures run instead of skipping")
