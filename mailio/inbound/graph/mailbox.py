"""The Mailbox operations on one Graph mail folder."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import httpx

from mailio.config import GRAPH_SCOPE, GraphServer
from mailio.http import build_http_client
from mailio.inbound.base import CursorStore, FetchedMessage
from mailio.inbound.graph.api import GraphApi
from mailio.inbound.graph.delta import DeltaPosition, read_changes
from mailio.inbound.graph.folders import GraphFolders
from mailio.inbound.graph.messages import (
    fetched_message,
    header_from_fields,
    is_over,
    listed_message,
    listing_query,
    odata_quote,
)
from mailio.oauth import OAuth2TokenProvider
from mailio.outbound.graph import user_url


class GraphMailbox:
    """One folder of one mailbox. ``folder`` "INBOX" means Graph's well-known inbox.

    ``sleep`` is how the mailbox waits out throttling (tests pass a recorder).
    The mailbox owns ``http_client`` and closes it in :meth:`close`. Messages
    over ``max_message_bytes`` are returned with their header only (see
    :mod:`mailio.inbound.base`).

    Batches list the folder, oldest first, until one finds fewer messages than it may
    take (the folder's backlog is read); from then on they ask only for changes (a
    delta query, :mod:`.delta`), whose link ``cursors`` keeps from run to run.
    """

    def __init__(
        self,
        server: GraphServer,
        folder: str = "INBOX",
        *,
        http_client: httpx.Client,
        token_provider: Callable[[], str],
        sleep: Callable[[float], None] = time.sleep,
        max_wait_seconds: float = 60.0,
        max_message_bytes: int | None = None,
        cursors: CursorStore | None = None,
    ) -> None:
        self.name = server.name or "graph"
        self.folder = folder
        self.max_message_bytes = max_message_bytes
        self._api = GraphApi(
            self.name,
            user_url(server),
            http_client,
            token_provider,
            retry=server.retry,
            sleep=sleep,
            max_wait=max_wait_seconds,
        )
        self._folders = GraphFolders(self._api)
        self._cursors = cursors
        self._cursor_key = f"graph delta {self._api.user_url} {folder}"
        self._delta: DeltaPosition | None = None  # None: the backlog is being listed

    @classmethod
    def from_settings(
        cls,
        server: GraphServer,
        folder: str = "INBOX",
        *,
        http_client: httpx.Client | None = None,
        token_provider: Callable[[], str] | None = None,
        max_message_bytes: int | None = None,
        cursors: CursorStore | None = None,
    ) -> GraphMailbox:
        """A mailbox with the server's timeouts and proxy, and tokens from its [oauth2] table."""
        client = http_client or build_http_client(server.timeouts, server.proxy)
        if token_provider is None:
            token_provider = OAuth2TokenProvider(
                server.oauth2, GRAPH_SCOPE, http_client=client
            ).token
        return cls(
            server,
            folder,
            http_client=client,
            token_provider=token_provider,
            max_message_bytes=max_message_bytes,
            cursors=cursors,
        )

    # --- Mailbox protocol ----------------------------------------------------------------

    def fetch_batch(self, limit: int) -> list[FetchedMessage]:
        if limit <= 0:
            return []
        listed = self._new_messages(limit)
        fetched = []
        for key, size in listed:
            message = self._fetch(key, size)
            if message is not None:  # None: deleted since it was listed, e.g. by another worker
                fetched.append(message)
            else:
                self._disposed([key])
        return fetched

    def delete(self, keys: Sequence[str]) -> None:
        for key in keys:
            response = self._api.call("DELETE", self._api.message_url(key))
            if response.status_code != 404:  # already gone is what we wanted
                self._api.check(response, f"delete message {key}")
            self._disposed([key])

    def move(self, keys: Sequence[str], folder: str) -> None:
        if not keys:
            return
        destination = self._folders.folder_id(folder, create=True)
        for key in keys:
            self._api.call_json(
                "POST",
                f"{self._api.message_url(key)}/move",
                f"move message {key} to {folder!r}",
                json={"destinationId": destination},
            )
            self._disposed([key])

    def count(self) -> int:
        data = self._api.call_json(
            "GET",
            self._folder_url(),
            f"count folder {self.folder!r}",
            params={"$select": "totalItemCount"},
        )
        return int(data.get("totalItemCount", 0))

    def restore(self, message_id: str, from_folder: str) -> int:
        source = self._folders.folder_id(from_folder, create=False)
        bare = message_id.strip().strip("<>").strip()
        data = self._api.call_json(
            "GET",
            f"{self._api.folder_url(source)}/messages",
            f"look up message {bare!r} in folder {from_folder!r}",
            params={"$filter": f"internetMessageId eq {odata_quote(f'<{bare}>')}", "$select": "id"},
        )
        keys = [str(item["id"]) for item in data.get("value", [])]
        destination = self._folders.folder_id(self.folder, create=False)
        for key in keys:
            self._api.call_json(
                "POST",
                f"{self._api.message_url(key)}/move",
                f"move message {key} to {self.folder!r}",
                json={"destinationId": destination},
            )
        return len(keys)

    def close(self) -> None:
        self._api.close()

    def __repr__(self) -> str:
        return (
            f"GraphMailbox(name={self.name!r}, user={self._api.user_url!r}, folder={self.folder!r})"
        )

    def _folder_url(self) -> str:
        return self._api.folder_url(self._folders.folder_id(self.folder, create=False))

    # --- which messages ---------------------------------------------------------------------

    def _new_messages(self, limit: int) -> list[tuple[str, int | None]]:
        """(id, size) of the batch: listed while the backlog lasts, then from the changes."""
        folder_url = self._folder_url()
        if self._delta is None:
            items = []
            query = listing_query(limit)
            for page in self._api.pages(f"{folder_url}/messages", query, f"list {self.folder!r}"):
                items += page
                if len(items) >= limit:
                    break
            if len(items) < limit:  # the whole backlog: from the next batch on, the changes
                link = self._cursors.load(self._cursor_key) if self._cursors is not None else None
                self._delta = DeltaPosition(link)
                self._delta.take({"value": items})  # those still here are read again if kept
            return [listed_message(item) for item in items[:limit]]
        read_changes(self._api, folder_url, self._delta, limit, self.folder)
        if self._cursors is not None:
            self._cursors.save(self._cursor_key, self._delta.link)
        return self._delta.oldest(limit)

    def _disposed(self, keys: list[str]) -> None:
        if self._delta is not None:
            self._delta.disposed(keys)

    # --- messages --------------------------------------------------------------------------

    def _fetch(self, key: str, size: int | None) -> FetchedMessage | None:
        if size is not None and is_over(size, self.max_message_bytes):
            header = self._header(key)
            return None if header is None else FetchedMessage(key, header, size, complete=False)
        response = self._api.call("GET", f"{self._api.message_url(key)}/$value")
        if response.status_code == 404:
            return None
        self._api.check(response, f"read message {key}")
        return fetched_message(key, response.content, size, self.max_message_bytes)

    def _header(self, key: str) -> bytes | None:
        """The message's internet header (None: gone)."""
        response = self._api.call(
            "GET", self._api.message_url(key), params={"$select": "internetMessageHeaders"}
        )
        if response.status_code == 404:
            return None
        data = self._api.parsed(response, f"read the header of message {key}")
        return header_from_fields(data.get("internetMessageHeaders"))
