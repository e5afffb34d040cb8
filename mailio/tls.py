"""TLS for IMAP and SMTP: one way to build the client context, one way to explain failures.

Verification is on unless a server sets ``verify = false``; turning it off is
logged loudly every time a context is built, so it cannot hide in a config file.
"""

from __future__ import annotations

import logging
import ssl

from mailio.config import ImapServer, SmtpServer
from mailio.errors import SecurityError, TransportTimeout, error_chain

log = logging.getLogger(__name__)

_VERSIONS = {"TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}

# OpenSSL verify codes that mean "no trusted CA signed this certificate".
_UNTRUSTED_CODES = frozenset({2, 18, 19, 20, 21})
# Host name, e-mail or IP address of the server not among the certificate's names.
_NAME_MISMATCH_CODES = frozenset({62, 63, 64})

# Ports where the server speaks TLS first: to a plain client it says nothing at all.
IMPLICIT_TLS_PORTS: dict[str, frozenset[int]] = {
    "smtp": frozenset({465}),
    "imap": frozenset({993}),
}
# How long a plain or STARTTLS client waits for a greeting on those ports: real
# servers greet within milliseconds, so a longer silence means "this port wants TLS".
TLS_PORT_GREETING_WAIT = 4.0
_TLS_PORT = {"smtp": 465, "imap": 993}


def server_label(server: SmtpServer | ImapServer) -> str:
    """How messages name a server: its configured name, else type://host:port."""
    address = f"{server.type}://{server.host}:{server.port}"
    return f"{server.name} ({address})" if server.name else address


def client_ssl_context(server: SmtpServer | ImapServer) -> ssl.SSLContext:
    """The context every TLS connection (implicit or STARTTLS) to ``server`` uses."""
    context = ssl.create_default_context(
        ssl.Purpose.SERVER_AUTH,
        cafile=str(server.ca_file) if server.ca_file is not None else None,
    )
    context.minimum_version = _VERSIONS[server.tls_min_version]
    if server.client_cert is not None:
        try:
            context.load_cert_chain(
                str(server.client_cert),
                str(server.client_key) if server.client_key is not None else None,
            )
        except (OSError, ssl.SSLError) as exc:
            raise SecurityError(
                f"{server_label(server)}: cannot load client_cert {server.client_cert}"
                f"{f' / client_key {server.client_key}' if server.client_key else ''}: {exc}"
            ) from exc
    if not server.verify:
        log.warning(
            "TLS certificate verification is OFF for server %s: anyone on the path can "
            "read and change this connection. Set ca_file instead of verify = false.",
            server_label(server),
        )
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def uses_starttls(server: SmtpServer | ImapServer) -> bool:
    """Whether the session starts in plain text and is upgraded (or refused) with STARTTLS."""
    return server.security in ("starttls-required", "starttls-if-available")


def tls_failure_in(exc: BaseException) -> ssl.SSLError | ssl.CertificateError | None:
    """The TLS error ``exc`` was raised from, or ``exc`` itself; None when TLS is not to blame."""
    for link in error_chain(exc):
        if isinstance(link, ssl.SSLError | ssl.CertificateError):
            return link
    return None


def _expects_tls_first(server: SmtpServer | ImapServer) -> bool:
    return server.security != "tls" and server.port in IMPLICIT_TLS_PORTS[server.type]


def greeting_timeout(server: SmtpServer | ImapServer) -> float:
    """Seconds to wait for the greeting: ``timeouts.greeting``, but at most
    :data:`TLS_PORT_GREETING_WAIT` when a non-TLS client connects to an implicit-TLS port."""
    if _expects_tls_first(server):
        return min(server.timeouts.greeting, TLS_PORT_GREETING_WAIT)
    return server.timeouts.greeting


def no_greeting(
    server: SmtpServer | ImapServer, silent_at: str = "sent no greeting"
) -> TransportTimeout:
    """The error for a server silent after connecting; on 465/993 it suggests implicit TLS."""
    label = server_label(server)
    wait = greeting_timeout(server)
    if _expects_tls_first(server):
        return TransportTimeout(
            f"{label} {silent_at} within {wait:g} s: port {server.port} is usually implicit "
            f"TLS, where the server waits for our TLS handshake first; set security = "
            f'"tls" (security is "{server.security}")'
        )
    return TransportTimeout(f"{label} {silent_at} within {wait:g} s (timeouts.greeting)")


def handshake_timeout(server: SmtpServer | ImapServer) -> TransportTimeout:
    """The error for a TLS handshake (implicit or STARTTLS) slower than ``timeouts.greeting``."""
    return TransportTimeout(
        f"TLS handshake with {server_label(server)} took longer than "
        f"{server.timeouts.greeting:g} s (timeouts.greeting)"
    )


def security_error(
    exc: ssl.SSLError | ssl.CertificateError, server: SmtpServer | ImapServer
) -> SecurityError:
    """Translate a failed handshake into a :class:`SecurityError` a person can act on."""
    label = server_label(server)
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = exc.verify_code
        if code in _NAME_MISMATCH_CODES:
            return SecurityError(
                f"TLS to {label} refused: the server's certificate is not for "
                f"{server.host!r} ({exc.verify_message}). Set host to a name the "
                "certificate lists, or have the server's certificate reissued for this name."
            )
        if code in _UNTRUSTED_CODES:
            hint = (
                f"ca_file {server.ca_file} did not sign it: set ca_file to the CA that signed it"
                if server.ca_file is not None
                else "set ca_file to the CA that signed it"
            )
            return SecurityError(
                f"TLS to {label} refused: the server's certificate is not trusted "
                f"({exc.verify_message}); {hint}."
            )
        return SecurityError(
            f"TLS to {label} refused: certificate verification failed ({exc.verify_message})."
        )
    reason = getattr(exc, "reason", None) or str(exc)
    if reason == "WRONG_VERSION_NUMBER" and server.security == "tls":
        # What OpenSSL makes of "220 ..." or "* OK ...": a plain greeting, not a TLS record.
        return SecurityError(
            f"TLS to {label} failed: the server answered in plain text, not TLS "
            f"(WRONG_VERSION_NUMBER); port {server.port} speaks plain {server.type.upper()}: "
            f'set security = "starttls-required" there, or use the TLS port '
            f'{_TLS_PORT[server.type]} with security = "tls".'
        )
    if reason in ("UNSUPPORTED_PROTOCOL", "TLSV1_ALERT_PROTOCOL_VERSION"):
        return SecurityError(
            f"TLS to {label} failed: the server does not speak {server.tls_min_version} or "
            "newer (tls_min_version)."
        )
    return SecurityError(f"TLS to {label} failed: {reason}.")


def upgrade_offered(server: SmtpServer | ImapServer, offered: bool, *, protocol: str) -> bool:
    """Whether to run STARTTLS. When the server does not offer it, refuse under
    ``starttls-required`` (nothing has been sent yet) or warn under ``starttls-if-available``.
    """
    if offered:
        return True
    label = server_label(server)
    secure_port = "an IMAPS port (993)" if protocol == "imap" else "an implicit-TLS port (465)"
    if server.security == "starttls-required":
        raise SecurityError(
            f'{label} does not offer STARTTLS, and security = "starttls-required": refusing '
            "to authenticate or send over an unencrypted connection. Something on the path may "
            f'be stripping STARTTLS; if the server has {secure_port}, use security = "tls" there.'
        )
    log.warning(
        "%s does not offer STARTTLS: continuing WITHOUT encryption "
        '(security = "starttls-if-available"); use "starttls-required" or "tls" to refuse this',
        label,
    )
    return False
