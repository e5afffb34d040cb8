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
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from mailio.config import GRAPH_SCOPE, GraphServer
from mailio.errors import MailboxError, TransportError, TransportTimeout
from mailio.http import build_http_client, parse_retry_after
from mailio.inbound.base import FetchedMessage, header_block
from mailio.oauth import OAuth2TokenProvider
from mailio.outbound.graph import graph_error_text, user_url

_THROTTLED = frozenset({429, 503})
_SIZE_PROPERTY = 0x0E08  # PR_MESSAGE_SIZE; Graph answers with its id as "Integer 0xe08"
_EXPAND_SIZE = "singleValueExtendedProperties($filter=id eq 'Integer 0x0E08')"


def _size(item: Mapping[str, Any]) -> int | None:
    """PR_MESSAGE_SIZE from a listed message's expanded extended properties, if present."""
    for prop in item.get("singleValueExtendedProperties") or ():
        kind, _, tag = str(prop.get("id", "")).partition(" ")
        try:
            if kind.lower() == "integer" and int(tag, 16) == _SIZE_PROPERTY:
                return int(prop["value"])
        except (KeyError, TypeError, ValueError):
            return None
    return None


def _odata_quote(value: str) -> str:
    # OData string literals double their single quotes.
    return "'" + value.replace("'", "''") + "'"


class GraphMailbox:
    """One folder of one mailbox. ``folder`` "INBOX" means Graph's well-known inbox.

    ``sleep`` is how the mailbox waits out throttling (tests pass a recorder).
    The mailbox owns ``http_client`` and closes it in :meth:`close`. Messages
    over ``max_message_bytes`` are returned with their header only (see
    :mod:`mailio.inbound.base`).
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
    ) -> None:
        self.name = server.name or "graph"
        self.folder = folder
        self.max_message_bytes = max_message_bytes
        self._user = user_url(server)
        self._client = http_client
        self._token = token_provider
        self._sleep = sleep
        self._max_wait = max_wait_seconds
        self._retry = server.retry
        self._folder_ids: dict[str, str] = {}

    @classmethod
    def from_settings(
        cls,
        server: GraphServer,
        folder: str = "INBOX",
        *,
        http_client: httpx.Client | None = None,
        token_provider: Callable[[], str] | None = None,
        max_message_bytes: int | None = None,
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
        )

    # --- Mailbox protocol ----------------------------------------------------------------

    def fetch_batch(self, limit: int) -> list[FetchedMessage]:
        if limit <= 0:
            return []
        folder_id = self._folder_id(self.folder, create=False)
        url: str | None = f"{self._user}/mailFolders/{quote(folder_id, safe='')}/messages"
        params: dict[str, str] | None = {
            "$select": "id,receivedDateTime",
            "$expand": _EXPAND_SIZE,
            "$orderby": "receivedDateTime asc",
            "$top": str(min(limit, 1000)),  # Graph's page size cap for messages
        }
        listed: list[tuple[str, int | None]] = []
        while url and len(listed) < limit:
            page = self._json("GET", url, f"list folder {self.folder!r}", params=params)
            listed += [(str(item["id"]), _size(item)) for item in page.get("value", [])]
            url = page.get("@odata.nextLink")
            params = None  # the next link carries the whole query
        fetched = []
        for key, size in listed[:limit]:
            message = self._fetch(key, size)
            if message is not None:  # None: deleted since it was listed, e.g. by another worker
                fetched.append(message)
        return fetched

    def delete(self, keys: Sequence[str]) -> None:
        for key in keys:
            response = self._call("DELETE", self._message_url(key))
            if response.status_code != 404:  # already gone is what we wanted
                self._check(response, f"delete message {key}")

    def move(self, keys: Sequence[str], folder: str) -> None:
        if not keys:
            return
        destination = self._folder_id(folder, create=True)
        for key in keys:
            self._json(
                "POST",
                f"{self._message_url(key)}/move",
                f"move message {key} to {folder!r}",
                json={"destinationId": destination},
            )

    def count(self) -> int:
        folder_id = self._folder_id(self.folder, create=False)
        data = self._json(
            "GET",
            f"{self._user}/mailFolders/{quote(folder_id, safe='')}",
            f"count folder {self.folder!r}",
            params={"$select": "totalItemCount"},
        )
        return int(data.get("totalItemCount", 0))

    def close(self) -> None:
        self._client.close()

    def __repr__(self) -> str:
        return f"GraphMailbox(name={self.name!r}, user={self._user!r}, folder={self.folder!r})"

    # --- messages --------------------------------------------------------------------------

    def _fetch(self, key: str, size: int | None) -> FetchedMessage | None:
        limit = self.max_message_bytes
        if limit is not None and size is not None and size > limit:
            header = self._header(key)
            return None if header is None else FetchedMessage(key, header, size, complete=False)
        response = self._call("GET", f"{self._message_url(key)}/$value")
        if response.status_code == 404:
            return None
        self._check(response, f"read message {key}")
        raw = response.content
        if limit is not None and len(raw) > limit:  # the listing did not say its size
            return FetchedMessage(key, header_block(raw), len(raw), complete=False)
        return FetchedMessage(key, raw, len(raw) if size is None else size)

    def _header(self, key: str) -> bytes | None:
        """The message's internet header, rebuilt from Graph's name/value list (None: gone)."""
        response = self._call(
            "GET", self._message_url(key), params={"$select": "internetMessageHeaders"}
        )
        if response.status_code == 404:
            return None
        data = self._parsed(response, f"read the header of message {key}")
        lines = []
        for item in data.get("internetMessageHeaders") or ():
            # Graph unfolds values; a CR or LF left in one must not start a header of its own.
            name, value = (" ".join(str(item.get(k, "")).splitlines()) for k in ("name", "value"))
            lines.append(f"{name}: {value}\r\n")
        return header_block(("".join(lines) + "\r\n").encode("utf-8"))

    # --- folders ---------------------------------------------------------------------------

    def _folder_id(self, name: str, *, create: bool) -> str:
        if name.upper() == "INBOX":
            return "inbox"
        if name in self._folder_ids:
            return self._folder_ids[name]
        found = self._find_folder(name)
        if found is None and create:
            response = self._call("POST", f"{self._user}/mailFolders", json={"displayName": name})
            if response.status_code == 409:  # another worker created it meanwhile
                found = self._find_folder(name)
            else:
                self._check(response, f"create folder {name!r}")
                found = str(response.json()["id"])
        if found is None:
            raise MailboxError(
                f"Microsoft Graph ({self.name}): no top-level folder {name!r} in {self._user}; "
                "create it or fix the folder name in the configuration"
            )
        self._folder_ids[name] = found
        return found

    def _find_folder(self, name: str) -> str | None:
        data = self._json(
            "GET",
            f"{self._user}/mailFolders",
            f"look up folder {name!r}",
            params={"$filter": f"displayName eq {_odata_quote(name)}", "$select": "id"},
        )
        values = data.get("value", [])
        return str(values[0]["id"]) if values else None

    # --- HTTP ------------------------------------------------------------------------------

    def _message_url(self, key: str) -> str:
        return f"{self._user}/messages/{quote(key, safe='')}"

    def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One Graph call, waiting out throttling; connection failures raise TransportError."""
        attempt = 1
        while True:
            try:
                response = self._client.request(
                    method, url, headers={"Authorization": f"Bearer {self._token()}"}, **kwargs
                )
            except httpx.TimeoutException as exc:
                # Not chained: the request inside carries the bearer token.
                raise TransportTimeout(
                    f"Microsoft Graph ({self.name}): {method} timed out ({type(exc).__name__})"
                ) from None
            except httpx.TransportError as exc:
                raise TransportError(
                    f"Microsoft Graph ({self.name}): {method} failed: {type(exc).__name__}: {exc}"
                ) from None
            if response.status_code not in _THROTTLED or attempt >= self._retry.max_attempts:
                return response
            advised = parse_retry_after(response.headers.get("Retry-After"))
            backoff = self._retry.backoff_seconds * 2 ** (attempt - 1)
            self._sleep(min(advised if advised is not None else backoff, self._max_wait))
            attempt += 1

    def _check(self, response: httpx.Response, action: str) -> None:
        if response.is_success:
            return
        throttled = " (still throttled after retries)" if response.status_code in _THROTTLED else ""
        raise MailboxError(
            f"Microsoft Graph ({self.name}): {action} failed: HTTP {response.status_code}"
            f"{throttled}: {graph_error_text(response)}"
        )

    def _json(self, method: str, url: str, action: str, **kwargs: Any) -> Mapping[str, Any]:
        return self._parsed(self._call(method, url, **kwargs), action)

    def _parsed(self, response: httpx.Response, action: str) -> Mapping[str, Any]:
        self._check(response, action)
        try:
            data = response.json()
        except ValueError:
            raise MailboxError(
                f"Microsoft Graph ({self.name}): {action}: the answer was not JSON"
            ) from None
        if not isinstance(data, dict):
            raise MailboxError(f"Microsoft Graph ({self.name}): {action}: unexpected answer")
        return data
