"""Sending through an SMTP server with a small pool of aiosmtplib connections.

:meth:`SmtpSender.send_messages` is synchronous for its callers; inside, one
event loop runs up to ``pool.max_connections`` connections that take messages
from a shared queue, each replaced after ``pool.max_messages_per_connection``
messages. Connections outlive the call: the outbox sends a dispatch in small
groups, one call each, and opening a connection costs more than several
messages. They run on an event loop of the sender's own (an aiosmtplib
connection belongs to the loop that opened it) and are closed (QUIT) after
``pool.IDLE_SECONDS`` without a call, or by :meth:`SmtpSender.close`.

Envelope: MAIL FROM is ``from_address`` when the server sets it (like JavaMail's
``mail.smtp.from``), else the message's From/Sender; RCPT TO are the To, Cc and
Bcc addresses (Bcc is not transmitted). A message refused for only some of its
recipients counts as sent; the refusals are logged.

The seams: :mod:`.sender` (the workers), :mod:`.pool` (the loop and the
sessions kept between calls), :mod:`.batch` (what one call has sent and
has left), :mod:`.session` (connect, greet, STARTTLS, login, QUIT),
:mod:`.transaction` (one message over an open session) and :mod:`.outcomes`
(pure: replies and failures to send errors).
"""

from mailio.outbound.smtp.sender import SmtpSender

__all__ = ["SmtpSender"]
