"""One message over an open SMTP session: MAIL FROM, RCPT TO, DATA, and what went wrong.

Every failure becomes the message's :class:`SendResult`; a timeout or a dropped
connection also closes the session, so its ``is_connected`` tells the pool to
open another.
"""

from __future__ import annotations

import copy
import logging
from email.message import Message

import aiosmtplib

from mailio.config import SmtpServer
from mailio.errors import PermanentSendError, TemporarySendError
from mailio.outbound.base import SendResult
from mailio.outbound.envelope import (
    StoredMessage,
    envelope_recipients,
    envelope_sender,
    mime_bytes,
    new_message_id,
)
from mailio.outbound.smtp.outcomes import all_recipients_refused, failed, reply_error

log = logging.getLogger(__name__)


async def send_message(
    smtp: aiosmtplib.SMTP, message: Message, server: SmtpServer, name: str
) -> SendResult:
    """Send ``message`` through ``server`` (called ``name`` in messages) over ``smtp``."""
    message_id = message.get("Message-ID")
    if message_id is None:
        message = _copy_with_message_id(message)
        message_id = message["Message-ID"]
    try:
        if isinstance(message, StoredMessage) and "Bcc" not in message:
            # Finished bytes: sent as stored, not re-flattened (see envelope.py).
            refused, _ = await smtp.sendmail(
                envelope_sender(message, server.from_address),
                envelope_recipients(message),
                mime_bytes(message),
            )
        else:
            refused, _ = await smtp.send_message(message, sender=server.from_address)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        return SendResult(message_id, all_recipients_refused(exc.recipients))
    except aiosmtplib.SMTPResponseException as exc:
        return SendResult(message_id, reply_error(exc.code, exc.message))
    except (aiosmtplib.SMTPTimeoutError, TimeoutError) as exc:
        smtp.close()
        timeout = server.timeouts.socket
        text = f"{name} did not answer within {timeout:g} s (timeouts.socket) while sending"
        return failed(message_id, TemporarySendError(text), exc)
    except (aiosmtplib.SMTPServerDisconnected, OSError) as exc:
        smtp.close()
        text = f"connection to {name} lost while sending: {exc}"
        return failed(message_id, TemporarySendError(text), exc)
    except (aiosmtplib.SMTPException, ValueError) as exc:
        # No From/recipients, an address SMTP cannot carry, SMTPUTF8 not offered…
        text = f"{name} cannot send this message: {exc}"
        return failed(message_id, PermanentSendError(text), exc)
    if refused:
        log.warning(
            "%s accepted message %s but refused some recipients: %s",
            name,
            message_id,
            ", ".join(f"{rcpt} ({reply.code} {reply.message})" for rcpt, reply in refused.items()),
        )
    return SendResult(message_id)


def _copy_with_message_id(message: Message) -> Message:
    # The caller's message stays as it was; the id we add is the one in the result.
    with_id = copy.deepcopy(message)
    with_id["Message-ID"] = new_message_id(message)
    return with_id
