"""The reply folder on an IMAP server, read with imapclient.

One connection (one login) serves every call until :meth:`ImapMailbox.close`;
a connection the server dropped in between is replaced once, transparently.
A batch costs three round trips whatever its size: ``UID SEARCH DELETED`` (what a
crash left flagged \\Deleted is expunged first), ``UID SEARCH`` of the oldest messages
(after the first batch, only of the UIDs above the highest read and of those read but
left in the folder), then one ``UID FETCH`` of their sizes and bodies. With a size limit
(``max_message_bytes``) the sizes come first, in a ``UID FETCH`` of
``RFC822.SIZE`` alone; the bodies are fetched only of the messages within the
limit, and of the others only the start of the header (one more ``UID FETCH``,
only when there are such messages).

The seams: :mod:`.mailbox` (the Mailbox operations), :mod:`.batch` (the
incremental SEARCH and the FETCH of one batch), :mod:`.responses` (pure: server answers to
values), :mod:`.session` (the kept, logged-in connection and its errors) and
:mod:`.client` (the socket: proxy, timeouts, implicit TLS).
"""

from mailio.inbound.imap.mailbox import ImapMailbox

__all__ = ["ImapMailbox"]
