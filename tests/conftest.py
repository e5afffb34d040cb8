"""Shared fixtures: the real local mail servers and the test-only servers (tests/servers/)."""

from tests.servers.dovecot_stack import (  # noqa: F401 - fixtures are found by name
    dovecot_server,
    mail_stack,
    oauth_dovecot,
    session_relay,
    smtp_relay_factory,
)
from tests.servers.greenmail import any_mail_stack, greenmail_stack  # noqa: F401
from tests.servers.misbehaving import (  # noqa: F401
    full_backlog_port,
    http_connect_proxy,
    never_greeting_server,
    silent_imap_server,
    silent_smtp_server,
    socks5_proxy,
)
from tests.servers.tls_stack import (  # noqa: F401
    client_cert_relay,
    implicit_tls_relay,
    no_starttls_relay,
    recorded_no_starttls_smtp,
    starttls_relay,
    stripped_imap,
    stripped_smtp,
    tls_ca,
    tls_dovecot,
    wrong_host_dovecot,
    wrong_host_relay,
    wrong_host_starttls_relay,
)
