"""Sending through an SMTP server with a small pool of aiosmtplib connections.

:meth:`SmtpSender.send_messages` is synchronous for its callers; inside, one
event loop runs up to ``pool.max_connections`` connections that take messages
from a shared queue, each replaced after ``pool.max_messages_per_connection``
messages. Connections live for one call and are closed (QUIT) at its end: an
aiosmtplib connection belongs to the event loop that opened it, and a batch
every few seconds gains little from idle connections a server may drop.

Envelope: MAIL FROM is ``from_address`` when the server sets it (like JavaMail's
``mail.smtp.from``), else the message's From/Sender; RCPT TO are the To, Cc and
Bcc addresses (Bcc is not transmitted). A message refused for only some of its
recipients counts as sent; the refusals are logged.

The seams: :mod:`.sender` (the pool), :mod:`.batch` (what one call has sent and
has left), :mod:`.session` (connect, greet, STARTTLS, login, QUIT),
:mod:`.transaction` (one message over an open session) and :mod:`.outcomes`
(pure: replies and failures to send errors).
"""

from mailio.outbound.smtp.sender import SmtpSender

__all__ = ["SmtpSender"]
