"""One batch from the selected folder: which UIDs (incrementally), then their sizes and bodies."""

from __future__ import annotations

from dataclasses import dataclass, field

from imapclient import IMAPClient

from mailio.inbound.base import Arbiter, FetchedMessage
from mailio.inbound.imap.responses import FETCH_HEADER, messages_in, sizes_in


@dataclass
class FolderPosition:
    """What a mailbox knows of its folder under one UIDVALIDITY, so that a batch need
    not search the whole folder: every message up to ``seen`` was in some batch, and
    ``undisposed`` are those of them not deleted or moved since (a KEEP, a failed
    move): they are read again, as the oldest."""

    uidvalidity: int
    seen: int = 0  # 0: nothing read yet, the first batch searches the whole folder
    undisposed: set[int] = field(default_factory=set)

    def next_uids(
        self, client: IMAPClient, limit: int, arbiter: Arbiter | None = None
    ) -> list[int]:
        """The oldest ``limit`` messages of the selected folder not flagged \\Deleted (and,
        with an ``arbiter``, not held by another worker): a ``UID SEARCH`` of the
        undisposed UIDs and of the next ``4 * limit`` UIDs above ``seen`` (a backlog is
        not listed whole each batch); of all above ``seen`` only when that window holds
        too few.

        Messages someone flagged \\Deleted but did not expunge are not ours to act on;
        UIDs ascend with age, so the undisposed come first. Those another worker holds
        count as undisposed: searched again until they are gone, taken if its hold lapses.
        """
        uids = self._search(client, f"{self.seen + 1}:{self.seen + 4 * limit}")
        if len(uids) < limit:
            uids = self._search(client, f"{self.seen + 1}:*")
        if arbiter is None:
            oldest = considered = uids[:limit]
        else:
            granted = {int(key) for key in arbiter.claim([str(uid) for uid in uids], limit)}
            oldest = [uid for uid in uids if uid in granted]
            considered = [uid for uid in uids if uid <= max(oldest)] if oldest else uids
        # expunged by others: gone; held by others, or ours now: looked at again
        self.undisposed = (self.undisposed & set(uids)) | set(considered)
        self.seen = max([self.seen, *considered])
        return oldest

    def _search(self, client: IMAPClient, above_seen: str) -> list[int]:
        ranges = [str(uid) for uid in sorted(self.undisposed)] + [above_seen]
        found = client.search(["UID", ",".join(ranges), "UNDELETED"])
        # "n:*" also names the last message when every UID is below n (RFC 3501 9).
        return sorted(uid for uid in found if uid > self.seen or uid in self.undisposed)

    def disposed(self, uids: list[int]) -> None:
        """These were deleted or moved: not to be read again."""
        self.undisposed.difference_update(uids)


def fetch_messages(
    client: IMAPClient, uids: list[int], max_message_bytes: int | None
) -> list[FetchedMessage]:
    """The messages ``uids`` of the selected folder, in that order; of those over
    ``max_message_bytes`` only the header."""
    if not uids:
        return []
    if max_message_bytes is None:
        found = client.fetch(uids, ["RFC822.SIZE", "BODY.PEEK[]"])
        return messages_in(uids, found, sizes_in(found))
    sizes = sizes_in(client.fetch(uids, ["RFC822.SIZE"]))
    present = [uid for uid in uids if uid in sizes]  # the others were expunged meanwhile
    within = [uid for uid in present if sizes[uid] <= max_message_bytes]
    over = [uid for uid in present if sizes[uid] > max_message_bytes]
    found = client.fetch(within, ["BODY.PEEK[]"]) if within else {}
    if over:
        found.update(client.fetch(over, [FETCH_HEADER]))
    return messages_in(uids, found, sizes)
