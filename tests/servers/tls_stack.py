"""Fixtures: a test CA (trustme) and TLS variants of Dovecot and the SMTP relay.

Every server here logs in any user with PASSWORD. Dovecots are per session;
relays are per test (they start in milliseconds), so their ``connection_count``
and ``received`` belong to the test alone.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from mailio.devservers import DovecotServer, SmtpRelay, TlsFiles
from mailio.devservers.ports import LOOPBACK
from tests.servers.dovecot_stack import PASSWORD
from tests.servers.starttls_stripper import StartTlsStrippingProxy

SERVER_HOSTS = ("localhost", LOOPBACK)
WRONG_HOST = "wrong.example"


@dataclass(frozen=True)
class TlsCa:
    """PEM files of a throwaway CA and of certificates it issued.

    ``server``: for localhost and 127.0.0.1. ``wrong_host``: for wrong.example only.
    ``other_ca_file``: a second CA that issued nothing here (a wrong ``ca_file``).
    """

    ca: trustme.CA
    ca_file: Path
    other_ca_file: Path
    server: TlsFiles
    wrong_host: TlsFiles

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts this CA."""
        return ssl.create_default_context(cafile=str(self.ca_file))


def _issue(ca: trustme.CA, folder: Path, name: str, *hosts: str) -> TlsFiles:
    cert = ca.issue_cert(*hosts)
    cert_file, key_file = folder / f"{name}.crt", folder / f"{name}.key"
    cert_file.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    cert.private_key_pem.write_to_path(str(key_file))
    return TlsFiles(cert_file, key_file)


@pytest.fixture(scope="session")
def tls_ca(tmp_path_factory: pytest.TempPathFactory) -> TlsCa:
    """TlsCa: a CA, its PEM file, a localhost/127.0.0.1 cert and a wrong.example cert."""
    folder = tmp_path_factory.mktemp("tls-ca")
    ca, other = trustme.CA(), trustme.CA()
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    other.cert_pem.write_to_path(str(folder / "other-ca.pem"))
    return TlsCa(
        ca=ca,
        ca_file=folder / "ca.pem",
        other_ca_file=folder / "other-ca.pem",
        server=_issue(ca, folder, "server", *SERVER_HOSTS),
        wrong_host=_issue(ca, folder, WRONG_HOST, WRONG_HOST),
    )


@pytest.fixture(scope="session")
def tls_dovecot(tls_ca: TlsCa, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DovecotServer]:
    """Dovecot offering STARTTLS on ``imap_port`` (not required) and TLS on ``imaps_port``."""
    folder = tmp_path_factory.mktemp("dovecot-tls")
    with DovecotServer(folder, password=PASSWORD, tls=tls_ca.server) as server:
        yield server


@pytest.fixture(scope="session")
def wrong_host_dovecot(
    tls_ca: TlsCa, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DovecotServer]:
    """Like ``tls_dovecot`` but presenting a (CA-signed) certificate for wrong.example."""
    folder = tmp_path_factory.mktemp("dovecot-wrong-host")
    with DovecotServer(folder, password=PASSWORD, tls=tls_ca.wrong_host) as server:
        yield server


def _relay(dovecot: DovecotServer, **options: object) -> Iterator[SmtpRelay]:
    with SmtpRelay(dovecot.lmtp_port, auth_password=PASSWORD, **options) as relay:  # type: ignore[arg-type]
        yield relay


@pytest.fixture
def starttls_relay(tls_ca: TlsCa, tls_dovecot: DovecotServer) -> Iterator[SmtpRelay]:
    """SmtpRelay advertising STARTTLS; AUTH (PASSWORD) is offered only after STARTTLS."""
    yield from _relay(tls_dovecot, tls_context=tls_ca.server.server_context())


@pytest.fixture
def implicit_tls_relay(tls_ca: TlsCa, tls_dovecot: DovecotServer) -> Iterator[SmtpRelay]:
    """SmtpRelay speaking TLS from the first byte (like port 465); AUTH with PASSWORD."""
    yield from _relay(tls_dovecot, implicit_tls_context=tls_ca.server.server_context())


@pytest.fixture
def no_starttls_relay(tls_ca: TlsCa, tls_dovecot: DovecotServer) -> Iterator[SmtpRelay]:
    """SmtpRelay that has a certificate but does not offer STARTTLS; AUTH over plain text."""
    yield from _relay(tls_dovecot, tls_context=tls_ca.server.server_context(), offer_starttls=False)


@pytest.fixture
def wrong_host_relay(tls_ca: TlsCa, tls_dovecot: DovecotServer) -> Iterator[SmtpRelay]:
    """Implicit-TLS SmtpRelay whose certificate (signed by ``tls_ca``) names wrong.example."""
    yield from _relay(tls_dovecot, implicit_tls_context=tls_ca.wrong_host.server_context())


@pytest.fixture
def wrong_host_starttls_relay(tls_ca: TlsCa, tls_dovecot: DovecotServer) -> Iterator[SmtpRelay]:
    """STARTTLS SmtpRelay whose certificate (signed by ``tls_ca``) names wrong.example."""
    yield from _relay(tls_dovecot, tls_context=tls_ca.wrong_host.server_context())


@pytest.fixture
def stripped_smtp(starttls_relay: SmtpRelay) -> Iterator[StartTlsStrippingProxy]:
    """Proxy in front of ``starttls_relay`` that hides STARTTLS and refuses the command.

    Connect to ``stripped_smtp.port``; the relay behind it still wants AUTH, which it
    offers only after STARTTLS, so a client that falls back to plain cannot log in.
    """
    with StartTlsStrippingProxy(starttls_relay.host, starttls_relay.port, "smtp") as proxy:
        yield proxy


@pytest.fixture
def recorded_no_starttls_smtp(
    no_starttls_relay: SmtpRelay,
) -> Iterator[StartTlsStrippingProxy]:
    """The same proxy in front of ``no_starttls_relay``: no STARTTLS, AUTH offered in plain.

    What a client meets when an attacker strips STARTTLS from a server that allows AUTH
    before it: a client that falls back would log in, and ``client_lines`` would show it.
    """
    relay = no_starttls_relay
    with StartTlsStrippingProxy(relay.host, relay.port, "smtp") as proxy:
        yield proxy


@pytest.fixture
def stripped_imap(tls_dovecot: DovecotServer) -> Iterator[StartTlsStrippingProxy]:
    """Proxy in front of ``tls_dovecot``'s imap port that hides and refuses STARTTLS."""
    with StartTlsStrippingProxy(tls_dovecot.host, tls_dovecot.imap_port, "imap") as proxy:
        yield proxy


@dataclass(frozen=True)
class ClientCertificate:
    cert_file: Path
    key_file: Path


@pytest.fixture
def client_cert_relay(
    tls_ca: TlsCa, tls_dovecot: DovecotServer, tmp_path: Path
) -> Iterator[tuple[SmtpRelay, ClientCertificate]]:
    """Implicit-TLS SmtpRelay that requires a client certificate from ``tls_ca``, and one."""
    context = tls_ca.server.server_context()
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cafile=str(tls_ca.ca_file))
    issued = _issue(tls_ca.ca, tmp_path, "client", "approvals-client.example")
    for relay in _relay(tls_dovecot, implicit_tls_context=context):
        yield relay, ClientCertificate(issued.cert_file, issued.key_file)
