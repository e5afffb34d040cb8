"""New mail in a Graph folder by delta query: each batch asks only what changed.

GET {folder}/messages/delta answers pages of messages (``@odata.nextLink`` between
pages) and ends a round with ``@odata.deltaLink``; asking that link later answers
only the messages added, changed or removed since (``@removed``). A round can be left
at a next link and resumed there. The link is kept in the engine's store, so a
restarted engine resumes where it stopped instead of reading the folder again. A link
Graph no longer knows (HTTP 410) starts a new round, which lists the folder once.

The messages delta reported and that were not yet deleted or moved are ``known``:
a batch is their oldest, so a message left in the folder (a conflict with another
instance) is read again next batch, as IMAP's undisposed UIDs are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mailio.inbound.graph.api import GraphApi
from mailio.inbound.graph.messages import SIZE_EXPAND, listed_size

EXPIRED = 410  # the delta token is no longer known: start a new round
PAGE_SIZE = 100  # Prefer: odata.maxpagesize (Graph's default is 10)


def delta_query() -> dict[str, str]:
    """The first request of a round: ids, ages and sizes only."""
    return {
        "$select": "id,receivedDateTime",
        "$expand": SIZE_EXPAND,
    }


@dataclass
class DeltaPosition:
    """Where a mailbox is in its folder's changes, and the messages reported and still there."""

    link: str | None = None  # the next or delta link to ask; None: start a round
    known: dict[str, tuple[str, int | None]] = field(default_factory=dict)  # id -> (age, size)

    def oldest(self, limit: int) -> list[tuple[str, int | None]]:
        """The oldest ``limit`` known messages as (id, size)."""
        by_age = sorted(self.known.items(), key=lambda item: (item[1][0], item[0]))
        return [(key, size) for key, (_, size) in by_age[:limit]]

    def disposed(self, keys: list[str]) -> None:
        for key in keys:
            self.known.pop(key, None)

    def take(self, page: Mapping[str, Any]) -> None:
        """Learn a page of changes."""
        for item in page.get("value", []):
            key = str(item.get("id", ""))
            if not key:
                continue
            if "@removed" in item:
                self.known.pop(key, None)
            else:
                self.known[key] = (str(item.get("receivedDateTime", "")), listed_size(item))


def read_changes(
    api: GraphApi, folder_url: str, position: DeltaPosition, limit: int, folder: str
) -> None:
    """Ask the changes since ``position.link`` until ``limit`` messages are known or the
    round ends (the link is then the delta link for next time)."""
    action = f"read the changes of folder {folder!r}"
    prefer = {"Prefer": f"odata.maxpagesize={PAGE_SIZE}"}
    restarted = False
    while True:
        if position.link is None:
            url, params = f"{folder_url}/messages/delta", delta_query()
        else:
            url, params = position.link, None  # a link carries its whole query
        response = api.call("GET", url, params=params, headers=prefer)
        if response.status_code == EXPIRED and not restarted:
            position.link, restarted = None, True
            continue
        page = api.parsed(response, action)
        position.take(page)
        next_link, delta_link = page.get("@odata.nextLink"), page.get("@odata.deltaLink")
        position.link = str(next_link or delta_link) if (next_link or delta_link) else None
        if not next_link or len(position.known) >= limit:
            return
