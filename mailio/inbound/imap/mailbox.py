"""The Mailbox operations on one IMAP folder: select, fetch a batch, delete, move."""

from __future__ import annotations

import imaplib
import logging
from collections.abc import Callable, Sequence
from email.parser import BytesHeaderParser
from typing import TypeVar

from imapclient import IMAPClient

from mailio.auth import check_token_provider
from mailio.config import ImapServer
from mailio.inbound.base import FetchedMessage, same_message_id
from mailio.inbound.imap.batch import fetch_oldest
from mailio.inbound.imap.responses import uids_of
from mailio.inbound.imap.session import ImapSession
from mailio.tls import server_label

log = logging.getLogger(__name__)

_T = TypeVar("_T")
_DELETED = b"\\Deleted"
_MESSAGE_ID_FIELD = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"


class ImapMailbox:
    """One folder on one IMAP server; implements :class:`mailio.inbound.base.Mailbox`.

    ``token_provider`` returns an OAuth2 access token; it is required when the
    server's ``auth`` is ``"oauth2"`` and called at each login. Messages over
    ``max_message_bytes`` are returned with their header only (see
    :mod:`mailio.inbound.base`).
    """

    def __init__(
        self,
        server: ImapServer,
        folder: str,
        *,
        token_provider: Callable[[], str] | None = None,
        max_message_bytes: int | None = None,
    ) -> None:
        check_token_provider(server, token_provider)
        self.server = server
        self.folder = folder
        self.max_message_bytes = max_message_bytes
        self._session = ImapSession(server, token_provider)
        self.name = self._session.name
        self._selected_on: IMAPClient | None = None  # the connection that has SELECTed folder

    # -- Mailbox ---------------------------------------------------------------

    def fetch_batch(self, limit: int) -> list[FetchedMessage]:
        if limit < 1:
            return []
        return self._run("fetch from", lambda client: self._fetch_oldest(client, limit))

    def delete(self, keys: Sequence[str]) -> None:
        uids = uids_of(keys)
        if uids:
            self._run("delete from", lambda client: self._delete(client, uids))

    def move(self, keys: Sequence[str], folder: str) -> None:
        uids = uids_of(keys)
        if uids:
            self._run(f"move to {folder!r} from", lambda client: self._move(client, uids, folder))

    def count(self) -> int:
        return self._run("count", self._select)

    def restore(self, message_id: str, from_folder: str) -> int:
        return self._run(
            f"move {message_id!r} from {from_folder!r} into",
            lambda client: self._restore(client, message_id, from_folder),
        )

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> ImapMailbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- operations on a logged-in client ---------------------------------------

    def _run(self, what: str, operation: Callable[[IMAPClient], _T]) -> _T:
        place = f"folder {self.folder!r} on {server_label(self.server)}"
        return self._session.run(f"{what} {place}", operation)

    def _select(self, client: IMAPClient) -> int:
        response = client.select_folder(self.folder, readonly=False)
        self._selected_on = client
        return int(response[b"EXISTS"])

    def _ensure_selected(self, client: IMAPClient) -> None:
        if self._selected_on is not client:
            self._select(client)

    def _fetch_oldest(self, client: IMAPClient, limit: int) -> list[FetchedMessage]:
        # Re-select each time: SELECT refreshes EXISTS.
        if self._select(client) == 0:
            return []
        return fetch_oldest(client, limit, self.max_message_bytes)

    def _delete(self, client: IMAPClient, uids: list[int]) -> None:
        self._ensure_selected(client)
        self._expunge(client, uids, self.folder)

    def _expunge(self, client: IMAPClient, uids: list[int], folder: str) -> None:
        """Remove ``uids`` from the selected folder (named ``folder``, for the log)."""
        client.add_flags(uids, [_DELETED], silent=True)
        if client.has_capability("UIDPLUS"):
            client.uid_expunge(uids)
            return
        # Plain EXPUNGE removes every \Deleted message; do it only when that is ours alone.
        others = set(client.search(["DELETED"])) - set(uids)
        if others:
            log.warning(
                "%s has no UIDPLUS and folder %r holds %d other message(s) flagged \\Deleted; "
                "left %d processed message(s) flagged \\Deleted instead of expunging them",
                self.name,
                folder,
                len(others),
                len(uids),
            )
            return
        client.expunge()

    def _move(self, client: IMAPClient, uids: list[int], folder: str) -> None:
        self._ensure_selected(client)
        if not client.folder_exists(folder):
            try:
                client.create_folder(folder)
            except imaplib.IMAP4.error:
                # Another worker may have created it a moment ago.
                if not client.folder_exists(folder):
                    raise
        if client.has_capability("MOVE"):
            client.move(uids, folder)
        else:
            client.copy(uids, folder)
            self._delete(client, uids)

    def _restore(self, client: IMAPClient, message_id: str, from_folder: str) -> int:
        client.select_folder(from_folder, readonly=False)
        self._selected_on = None  # our folder is no longer the selected one
        # HEADER search matches a substring; the fetched header must name it exactly.
        bare = message_id.strip().strip("<>").strip()
        candidates = client.search(["UNDELETED", "HEADER", "Message-ID", bare])
        if not candidates:
            return 0
        parser = BytesHeaderParser()
        uids = sorted(
            uid
            for uid, data in client.fetch(candidates, [_MESSAGE_ID_FIELD]).items()
            if same_message_id(parser.parsebytes(_header_bytes(data))["Message-ID"], message_id)
        )
        if not uids:
            return 0
        if client.has_capability("MOVE"):
            client.move(uids, self.folder)
        else:
            client.copy(uids, self.folder)
            self._expunge(client, uids, from_folder)
        return len(uids)


def _header_bytes(data: dict[bytes, object]) -> bytes:
    """The header fields of one FETCH answer (imapclient names the item without PEEK)."""
    for name, value in data.items():
        if name.upper().startswith(b"BODY[HEADER.FIELDS") and isinstance(value, bytes):
            return value
    return b""
