"""Transport security of ImapMailbox and SmtpSender against real TLS servers.

Dovecot (STARTTLS on the imap port, TLS on imaps) and SmtpRelay (STARTTLS,
implicit TLS, no STARTTLS) present certificates from a trustme CA made here.
For "no credentials were sent" a small server that greets, advertises no
STARTTLS and records every line it receives stands in for a server (or a
STARTTLS-stripping attacker) that never offers encryption.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import pytest
import trustme

from mailio.config import ImapServer, SmtpServer
from mailio.devservers.dovecot import DovecotServer
from mailio.devservers.ports import LOOPBACK
from mailio.devservers.smtp_relay import SmtpRelay
from mailio.devservers.tls_files import TlsFiles
from mailio.errors import PermanentSendError, SecurityError
from mailio.inbound.imap import ImapMailbox
from mailio.outbound.smtp import SmtpSender
from mailio.tls import client_ssl_context

PASSWORD = "secret"
USER = "approvals@example.test"


@dataclass(frozen=True)
class Pki:
    ca_file: Path
    other_ca_file: Path
    tls: TlsFiles  # issued for 127.0.0.1 and localhost
    wrong_host_tls: TlsFiles  # issued for mail.example.test only


def _write_cert(ca: trustme.CA, folder: Path, name: str, *hosts: str) -> TlsFiles:
    cert = ca.issue_cert(*hosts)
    cert.private_key_and_cert_chain_pem.write_to_path(str(folder / f"{name}.pem"))
    cert.private_key_pem.write_to_path(str(folder / f"{name}.key"))
    return TlsFiles(folder / f"{name}.pem", folder / f"{name}.key")


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca, other = trustme.CA(), trustme.CA()
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    other.cert_pem.write_to_path(str(folder / "other-ca.pem"))
    return Pki(
        ca_file=folder / "ca.pem",
        other_ca_file=folder / "other-ca.pem",
        tls=_write_cert(ca, folder, "server", LOOPBACK, "localhost"),
        wrong_host_tls=_write_cert(ca, folder, "wrong-host", "mail.example.test"),
    )


@pytest.fixture(scope="module")
def dovecot(pki, tmp_path_factory) -> Iterator[DovecotServer]:
    with DovecotServer(tmp_path_factory.mktemp("dovecot-tls"), PASSWORD, tls=pki.tls) as server:
        yield server


@pytest.fixture(scope="module")
def starttls_relay(dovecot, pki) -> Iterator[SmtpRelay]:
    context = pki.tls.server_context()
    with SmtpRelay(dovecot.lmtp_port, auth_password=PASSWORD, tls_context=context) as relay:
        yield relay


@pytest.fixture(scope="module")
def implicit_relay(dovecot, pki) -> Iterator[SmtpRelay]:
    context = pki.tls.server_context()
    with SmtpRelay(
        dovecot.lmtp_port, auth_password=PASSWORD, implicit_tls_context=context
    ) as relay:
        yield relay


@pytest.fixture(scope="module")
def wrong_host_relay(dovecot, pki) -> Iterator[SmtpRelay]:
    context = pki.wrong_host_tls.server_context()
    with SmtpRelay(
        dovecot.lmtp_port, auth_password=PASSWORD, implicit_tls_context=context
    ) as relay:
        yield relay


def _imap(port: int, security: str, **overrides) -> ImapServer:
    settings = {
        "host": LOOPBACK,
        "port": port,
        "security": security,
        "username": USER,
        "password": PASSWORD,
    }
    settings.update(overrides)
    return ImapServer(**settings)


def _smtp(port: int, security: str, **overrides) -> SmtpServer:
    settings = {
        "host": LOOPBACK,
        "port": port,
        "security": security,
        "username": USER,
        "password": PASSWORD,
    }
    settings.update(overrides)
    return SmtpServer(**settings)


def _message(subject: str = "tls") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "engine@example.test"
    message["To"] = USER
    message["Subject"] = subject
    message["Message-ID"] = f"<{subject}@example.test>"
    message.set_content("over TLS\n")
    return message


def _send_one(server: SmtpServer, subject: str = "tls"):
    [result] = SmtpSender(server).send_messages([_message(subject)])
    return result


# -- each security mode against a server that supports it -------------------------


@pytest.mark.parametrize("security", ["starttls-required", "starttls-if-available"])
def test_smtp_starttls_delivers(starttls_relay, pki, security):
    before = len(starttls_relay.received)

    result = _send_one(_smtp(starttls_relay.port, security, ca_file=pki.ca_file), security)

    assert result.ok, result.error
    assert len(starttls_relay.received) == before + 1


def test_smtp_implicit_tls_delivers(implicit_relay, pki):
    result = _send_one(_smtp(implicit_relay.port, "tls", ca_file=pki.ca_file))

    assert result.ok, result.error


@pytest.mark.parametrize("security", ["starttls-required", "starttls-if-available"])
def test_imap_starttls_logs_in_and_reads(dovecot, pki, security):
    with ImapMailbox(_imap(dovecot.imap_port, security, ca_file=pki.ca_file), "INBOX") as box:
        assert box.count() >= 0
        assert box._client is not None
        assert box._client.socket().version() is not None  # an SSLSocket: TLS is on


def test_imaps_logs_in_and_reads(dovecot, pki):
    with ImapMailbox(_imap(dovecot.imaps_port, "tls", ca_file=pki.ca_file), "INBOX") as box:
        assert box.count() >= 0


# -- certificates ---------------------------------------------------------------------


def test_an_untrusted_certificate_is_refused_with_advice(dovecot):
    box = ImapMailbox(_imap(dovecot.imaps_port, "tls"), "INBOX")

    with pytest.raises(SecurityError, match="set ca_file to the CA that signed it"):
        box.count()


def test_a_ca_file_of_another_ca_does_not_make_the_certificate_trusted(implicit_relay, pki):
    result = _send_one(_smtp(implicit_relay.port, "tls", ca_file=pki.other_ca_file))

    assert isinstance(result.error, PermanentSendError)
    assert isinstance(result.error.__cause__, SecurityError)
    assert "not trusted" in str(result.error) and str(pki.other_ca_file) in str(result.error)


def test_a_certificate_for_another_host_is_refused(wrong_host_relay, pki):
    result = _send_one(_smtp(wrong_host_relay.port, "tls", ca_file=pki.ca_file))

    assert isinstance(result.error, PermanentSendError)
    assert isinstance(result.error.__cause__, SecurityError)
    assert "not for '127.0.0.1'" in str(result.error)


def test_verify_false_connects_to_an_untrusted_server_and_warns_loudly(implicit_relay, caplog):
    with caplog.at_level(logging.WARNING, logger="mailio.tls"):
        result = _send_one(_smtp(implicit_relay.port, "tls", verify=False))

    assert result.ok, result.error
    assert "certificate verification is OFF" in caplog.text


def test_client_ssl_context_enforces_the_minimum_version(pki):
    context = client_ssl_context(_smtp(1, "tls", ca_file=pki.ca_file, tls_min_version="TLSv1.3"))

    assert context.minimum_version.name == "TLSv1_3"
    assert context.check_hostname


# -- refusing to go on without STARTTLS -----------------------------------------------


@dataclass
class RecordingServer:
    """Greets like an SMTP or IMAP server that offers no STARTTLS; records what it gets."""

    protocol: str
    port: int = 0
    received: list[bytes] = field(default_factory=list)
    _listener: socket.socket | None = None

    def start(self) -> None:
        self._listener = socket.create_server((LOOPBACK, 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()

    def _serve(self) -> None:
        assert self._listener is not None
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with conn, conn.makefile("rwb") as stream:
                self._talk(stream)

    def _talk(self, stream) -> None:
        smtp = self.protocol == "smtp"
        stream.write(b"220 plain.example ESMTP\r\n" if smtp else b"* OK ready\r\n")
        stream.flush()
        for line in stream:
            self.received.append(line)
            if smtp and line[:4].upper() in (b"EHLO", b"HELO"):
                reply = b"250-plain.example\r\n250 AUTH PLAIN LOGIN\r\n"
            elif smtp:
                reply = b"221 bye\r\n" if line.upper().startswith(b"QUIT") else b"250 ok\r\n"
            else:
                tag, command = (line.split(b" ", 2) + [b""])[:2]
                untagged = {
                    b"CAPABILITY": b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n",
                    b"SELECT": b"* FLAGS ()\r\n* 0 EXISTS\r\n* 0 RECENT\r\n",
                    b"LOGOUT": b"* BYE\r\n",
                }.get(command.strip().upper(), b"")
                reply = untagged + tag + b" OK done\r\n"
            stream.write(reply)
            stream.flush()


@pytest.fixture(params=["smtp", "imap"])
def plain_server(request) -> Iterator[RecordingServer]:
    server = RecordingServer(request.param)
    server.start()
    yield server
    server.stop()


def test_starttls_required_refuses_before_sending_credentials(plain_server):
    if plain_server.protocol == "smtp":
        result = _send_one(_smtp(plain_server.port, "starttls-required"))
        assert isinstance(result.error, PermanentSendError)
        error = result.error.__cause__
    else:
        with pytest.raises(SecurityError) as caught:
            ImapMailbox(_imap(plain_server.port, "starttls-required"), "INBOX").count()
        error = caught.value

    assert isinstance(error, SecurityError)
    assert "does not offer STARTTLS" in str(error)
    sent = b"".join(plain_server.received).upper()
    assert b"AUTH" not in sent and b"LOGIN" not in sent and b"MAIL FROM" not in sent
    assert PASSWORD.encode().upper() not in sent


def test_starttls_if_available_falls_back_to_plain_with_a_warning(plain_server, caplog):
    if plain_server.protocol == "smtp":
        with caplog.at_level(logging.WARNING):
            _send_one(_smtp(plain_server.port, "starttls-if-available"))
    else:
        server = _imap(plain_server.port, "starttls-if-available")
        with caplog.at_level(logging.WARNING), ImapMailbox(server, "INBOX") as box:
            assert box.count() == 0

    assert "WITHOUT encryption" in caplog.text
    sent = b"".join(plain_server.received).upper()
    assert (b"AUTH" in sent) or (b"LOGIN" in sent)
