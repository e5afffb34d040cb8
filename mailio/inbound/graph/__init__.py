"""The reply folder of an Exchange Online mailbox, read through Microsoft Graph.

Listing: GET /users/{mailbox}/mailFolders/{folder}/messages with $select,
$orderby=receivedDateTime asc and $top, following @odata.nextLink until the
batch is full. Graph v1.0 has no size property on message, so the listing
expands the MAPI property PR_MESSAGE_SIZE (``Integer 0x0E08``) through
singleValueExtendedProperties. Content: GET /messages/{id}/$value (the MIME;
reading it does not mark the message read), only for messages within
``max_message_bytes``; of the others only GET /messages/{id}?$select=
internetMessageHeaders. Delete: DELETE /messages/{id}. Move: POST
/messages/{id}/move, creating the target folder first when it is missing.

Graph throttles with 429 (and sometimes 503) plus Retry-After; those calls are
retried after the advised wait, bounded by ``max_wait_seconds``, up to the
server's ``retry.max_attempts``. Everything else that fails raises MailboxError.

The seams: :mod:`.api` (requests, throttling, paging, answers checked),
:mod:`.messages` (pure: Graph's JSON to our values), :mod:`.folders` (ids by
display name) and :mod:`.mailbox` (the Mailbox operations).
"""

from mailio.inbound.graph.mailbox import GraphMailbox

__all__ = ["GraphMailbox"]
