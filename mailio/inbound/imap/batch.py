"""One batch from the selected folder: the oldest UIDs, then their sizes and bodies."""

from __future__ import annotations

from imapclient import IMAPClient

from mailio.inbound.base import FetchedMessage
from mailio.inbound.imap.responses import FETCH_HEADER, messages_in, sizes_in


def fetch_oldest(
    client: IMAPClient, limit: int, max_message_bytes: int | None
) -> list[FetchedMessage]:
    """Up to ``limit`` messages of the selected folder, oldest first; of those over
    ``max_message_bytes`` only the header.

    Messages someone flagged \\Deleted but did not expunge are not ours to act on;
    UIDs ascend with age.
    """
    oldest = sorted(client.search(["UNDELETED"]))[:limit]
    if not oldest:
        return []
    if max_message_bytes is None:
        found = client.fetch(oldest, ["RFC822.SIZE", "BODY.PEEK[]"])
        return messages_in(oldest, found, sizes_in(found))
    sizes = sizes_in(client.fetch(oldest, ["RFC822.SIZE"]))
    present = [uid for uid in oldest if uid in sizes]  # the others were expunged meanwhile
    within = [uid for uid in present if sizes[uid] <= max_message_bytes]
    over = [uid for uid in present if sizes[uid] > max_message_bytes]
    found = client.fetch(within, ["BODY.PEEK[]"]) if within else {}
    if over:
        found.update(client.fetch(over, [FETCH_HEADER]))
    return messages_in(oldest, found, sizes)
