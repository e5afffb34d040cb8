"""One SMTP session: connect (through the proxy), greet, STARTTLS, log in; and QUIT.

Every failure raises :class:`mailio.errors.TransportError` or a subclass, with
the library's exception as its cause (the reply code of a refused login stays
readable there).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable

import aiosmtplib

from mailio.auth import login_refused
from mailio.config import SmtpServer
from mailio.connect import open_socket
from mailio.errors import AuthenticationError, SecurityError, TransportError, TransportTimeout
from mailio.tls import (
    client_ssl_context,
    greeting_timeout,
    handshake_timeout,
    no_greeting,
    security_error,
    server_label,
    tls_failure_in,
    upgrade_offered,
    uses_starttls,
)


async def open_session(
    server: SmtpServer,
    *,
    local_hostname: str | None,
    token_provider: Callable[[], str] | None,
) -> aiosmtplib.SMTP:
    """Connect, greet, secure and log in; raises TransportError and its subclasses."""
    context = client_ssl_context(server) if server.security != "none" else None
    sock = await asyncio.to_thread(
        open_socket,
        server.host,
        server.port,
        timeout=server.timeouts.connect,
        proxy=server.proxy,
    )
    smtp = aiosmtplib.SMTP(
        hostname=server.host,
        sock=sock,
        timeout=server.timeouts.socket,
        use_tls=server.security == "tls",
        start_tls=False,  # decided below, after reading EHLO ourselves
        tls_context=context,
        local_hostname=local_hostname,
    )
    try:
        await _greet(smtp, server)
        if uses_starttls(server):
            await _start_tls(smtp, server, context)
        await _login(smtp, server, token_provider)
    except BaseException:
        smtp.close()
        raise
    return smtp


async def quit_session(smtp: aiosmtplib.SMTP) -> None:
    """Say QUIT; a server that is gone already leaves only our side to close."""
    try:
        await smtp.quit()
    except (aiosmtplib.SMTPException, OSError):
        smtp.close()


async def _greet(smtp: aiosmtplib.SMTP, server: SmtpServer) -> None:
    label = server_label(server)
    try:
        # With a ready socket "connect" is the TLS handshake (implicit TLS) and the greeting.
        await smtp.connect(timeout=greeting_timeout(server))
        await smtp.ehlo()
    except aiosmtplib.SMTPConnectTimeoutError as exc:
        raise no_greeting(server) from exc
    except aiosmtplib.SMTPConnectResponseError as exc:
        raise TransportError(f"{label} refused the connection: {exc.code} {exc.message}") from exc
    except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected) as exc:
        tls_failure = tls_failure_in(exc)
        if tls_failure is not None:
            raise security_error(tls_failure, server) from exc
        hint = _tls_hangup_hint(server) if server.security == "tls" else ""
        raise TransportError(f"{label} closed the connection at greeting: {exc}{hint}") from exc
    except aiosmtplib.SMTPTimeoutError as exc:
        raise TransportTimeout(
            f"{label} did not answer EHLO within {server.timeouts.socket:g} s (timeouts.socket)"
        ) from exc
    except aiosmtplib.SMTPResponseException as exc:
        raise TransportError(f"{label} refused EHLO: {exc.code} {exc.message}") from exc


async def _start_tls(
    smtp: aiosmtplib.SMTP, server: SmtpServer, context: ssl.SSLContext | None
) -> None:
    label = server_label(server)
    if not upgrade_offered(server, smtp.supports_extension("starttls"), protocol="smtp"):
        return
    try:
        await smtp.starttls(tls_context=context, timeout=server.timeouts.greeting)
    except (ssl.SSLError, ssl.CertificateError) as exc:
        raise security_error(exc, server) from exc
    except aiosmtplib.SMTPResponseException as exc:
        raise SecurityError(
            f"{label} offered STARTTLS but refused it: {exc.code} {exc.message}"
        ) from exc
    except (aiosmtplib.SMTPException, OSError) as exc:
        tls_failure = tls_failure_in(exc)
        if tls_failure is not None:
            raise security_error(tls_failure, server) from exc
        if isinstance(exc, TimeoutError):
            raise handshake_timeout(server) from exc
        raise SecurityError(f"STARTTLS with {label} failed: {exc}") from exc


async def _login(
    smtp: aiosmtplib.SMTP, server: SmtpServer, token_provider: Callable[[], str] | None
) -> None:
    method = server.auth_method
    if method == "none":
        return
    username = server.username or ""
    address = f"{server.host}:{server.port}"
    try:
        if method == "password":
            assert server.password is not None  # SmtpServer's validator guarantees it
            await _password_login(smtp, username, server.password.get_secret_value())
        else:
            assert token_provider is not None  # SmtpSender checks it
            # From a worker thread: the provider may block on a token endpoint.
            token = await asyncio.to_thread(token_provider)
            await smtp.auth_xoauth2(username, token)
    except aiosmtplib.SMTPAuthenticationError as exc:
        # The cause keeps the reply code: 454 (try later) and 535 (wrong) differ.
        raise login_refused(server, f"{exc.code} {exc.message}") from exc
    except aiosmtplib.SMTPTimeoutError as exc:
        raise TransportTimeout(f"{address} did not answer AUTH in time") from exc
    except aiosmtplib.SMTPServerDisconnected as exc:
        hint = _tls_hangup_hint(server) if server.security != "none" else ""
        raise TransportError(f"{address} closed the connection during AUTH{hint}") from exc
    except aiosmtplib.SMTPException as exc:
        # Typically: the server advertises no AUTH (on a plain port it may want STARTTLS).
        raise AuthenticationError(
            f"SMTP login for {username} at {address} impossible: {exc}"
        ) from exc


async def _password_login(smtp: aiosmtplib.SMTP, username: str, password: str) -> None:
    """Each advertised method in turn, as ``aiosmtplib.SMTP.login`` does; but once the
    password was refused, a server that then hangs up or goes quiet (many do after a
    refusal) leaves the refusal as the answer, not a cut or a timeout."""
    if smtp.is_ehlo_or_helo_needed:  # after STARTTLS the server's extensions are asked anew
        await smtp.ehlo()
    if not smtp.supports_extension("auth"):
        await smtp.login(username, password)  # raises its "AUTH not supported" SMTPException
        return
    refused: aiosmtplib.SMTPAuthenticationError | None = None
    for name in smtp.supported_auth_methods:
        method = getattr(smtp, f"auth_{name.replace('-', '')}")
        try:
            await method(username, password)
            return
        except aiosmtplib.SMTPAuthenticationError as exc:
            refused = exc
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError):
            if refused is None:
                raise
            raise refused from None
    if refused is not None:
        raise refused
    await smtp.login(username, password)  # no method we know: its own message says so


def _tls_hangup_hint(server: SmtpServer) -> str:
    # With TLS 1.3 the server judges our certificate after the handshake has
    # "succeeded": a refusal shows up only as a closed connection.
    if server.client_cert is None:
        return (
            "; if the server requires a client certificate, set client_cert and client_key"
            f" (or it refuses TLS versions from {server.tls_min_version} up)"
        )
    return f"; the server may refuse our client certificate or TLS from {server.tls_min_version}"
