"""Real mail servers on loopback, for the tests and for ``approvals demo``.

:class:`DovecotServer` runs Dovecot unprivileged inside a folder (IMAP, IMAPS,
LMTP); :class:`SmtpRelay` is an aiosmtpd SMTP server that hands every accepted
message to Dovecot over LMTP, so mail sent to any address lands in that user's
mailbox. :func:`local_mail_stack` starts both and yields a :class:`MailStack`.
Nothing here is meant for production traffic.
"""

from mailio.devservers.dovecot import (
    DevServerError,
    DovecotNotInstalledError,
    DovecotServer,
    DovecotStartError,
)
from mailio.devservers.smtp_relay import ReceivedEnvelope, SmtpRelay
from mailio.devservers.stack import MailStack, local_mail_stack, unique_address
from mailio.devservers.tls_files import TlsFiles

__all__ = [
    "DevServerError",
    "DovecotNotInstalledError",
    "DovecotServer",
    "DovecotStartError",
    "ReceivedEnvelope",
    "MailStack",
    "SmtpRelay",
    "TlsFiles",
    "local_mail_stack",
    "unique_address",
]
