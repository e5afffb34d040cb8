"""HTTP to one mailbox's Graph API: the bearer token, waiting out throttling, paging,
and answers checked (a refusal or an answer that is not JSON raises MailboxError)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from mailio.config import RetrySettings
from mailio.errors import MailboxError
from mailio.http import mapped_http_errors, parse_retry_after
from mailio.outbound.graph import graph_error_text
from mailio.outbound.retry import next_attempt_delay

THROTTLED = frozenset({429, 503})


class GraphApi:
    """Calls under ``user_url`` ({base_url}/users/{mailbox}) for the mailbox named ``name``.

    Owns ``client``. ``sleep`` is how throttling is waited out, at most ``max_wait``
    seconds at a time.
    """

    def __init__(
        self,
        name: str,
        user_url: str,
        client: httpx.Client,
        token: Callable[[], str],
        *,
        retry: RetrySettings,
        sleep: Callable[[float], None],
        max_wait: float,
    ) -> None:
        self.name = name
        self.user_url = user_url
        self.token = token
        self._client = client
        self._retry = retry
        self._sleep = sleep
        self._max_wait = max_wait

    def message_url(self, key: str) -> str:
        return f"{self.user_url}/messages/{quote(key, safe='')}"

    def folder_url(self, folder_id: str) -> str:
        return f"{self.user_url}/mailFolders/{quote(folder_id, safe='')}"

    def call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One Graph call, waiting out throttling; connection failures raise TransportError."""
        attempt = 1
        extra_headers = kwargs.pop("headers", {})
        while True:
            with mapped_http_errors(f"Microsoft Graph ({self.name}): {method}", kind="transport"):
                headers = {"Authorization": f"Bearer {self.token()}", **extra_headers}
                response = self._client.request(method, url, headers=headers, **kwargs)
            if response.status_code not in THROTTLED or attempt >= self._retry.max_attempts:
                return response
            advised = parse_retry_after(response.headers.get("Retry-After"))
            wait = advised if advised is not None else next_attempt_delay(attempt, self._retry)
            self._sleep(min(wait, self._max_wait))
            attempt += 1

    def call_json(self, method: str, url: str, action: str, **kwargs: Any) -> Mapping[str, Any]:
        """The JSON object of a successful call; ``action`` names it in errors."""
        return self.parsed(self.call(method, url, **kwargs), action)

    def pages(
        self, url: str, params: Mapping[str, str], action: str
    ) -> Iterator[list[Mapping[str, Any]]]:
        """The items of a listing, one page per request, following @odata.nextLink."""
        next_url: str | None = url
        query: Mapping[str, str] | None = params
        while next_url:
            page = self.call_json("GET", next_url, action, params=query)
            yield list(page.get("value", []))
            next_url = page.get("@odata.nextLink")
            query = None  # the next link carries the whole query

    def check(self, response: httpx.Response, action: str) -> None:
        if response.is_success:
            return
        throttled = " (still throttled after retries)" if response.status_code in THROTTLED else ""
        raise MailboxError(
            f"Microsoft Graph ({self.name}): {action} failed: HTTP {response.status_code}"
            f"{throttled}: {graph_error_text(response)}"
        )

    def parsed(self, response: httpx.Response, action: str) -> Mapping[str, Any]:
        self.check(response, action)
        try:
            data = response.json()
        except ValueError:
            raise MailboxError(
                f"Microsoft Graph ({self.name}): {action}: the answer was not JSON"
            ) from None
        if not isinstance(data, dict):
            raise MailboxError(f"Microsoft Graph ({self.name}): {action}: unexpected answer")
        return data

    def close(self) -> None:
        self._client.close()
