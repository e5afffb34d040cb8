"""Shared fixtures: the real local mail servers (see tests/servers/)."""

from tests.servers.dovecot_stack import (  # noqa: F401 - fixtures are found by name
    dovecot_server,
    mail_stack,
    session_relay,
    smtp_relay_factory,
)
from tests.servers.greenmail import any_mail_stack, greenmail_stack  # noqa: F401
