"""The Mailbox operations on one IMAP folder: select, fetch a batch, delete, move.

The mailbox is meant to be kept from poll cycle to poll cycle (its session with it):
after the first batch it remembers, per UIDVALIDITY of the folder, the highest UID it
has read and which of those are still there, so a batch searches only the new UIDs
and the ones it left in the folder (see :class:`.batch.FolderPosition`).
"""

from __future__ import annotations

import imaplib
import logging
from collections.abc import Callable, Sequence
from email.parser import BytesHeaderParser
from typing import TypeVar

from imapclient import IMAPClient

from mailio.auth import check_token_provider
from mailio.config import ImapServer
from mailio.inbound.base import Arbiter, FetchedMessage, same_message_id
from mailio.inbound.imap.batch import FolderPosition, fetch_messages
from mailio.inbound.imap.expunge import expunge, finish_interrupted_deletes
from mailio.inbound.imap.idle import wait_in_idle
from mailio.inbound.imap.responses import uids_of
from mailio.inbound.imap.session import ImapSession
from mailio.inbound.wakeup import Arrival, Wakeup
from mailio.tls import server_label

log = logging.getLogger(__name__)

_T = TypeVar("_T")
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
        self.arbiter: Arbiter | None = None  # several workers on the folder: who takes what
        self._session = ImapSession(server, token_provider)
        self.name = self._session.name
        self._selected_on: IMAPClient | None = None  # the connection that has SELECTed folder
        self._position: FolderPosition | None = None  # known after the first SELECT

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

    # -- WaitingMailbox -----------------------------------------------------------

    def can_wait(self) -> bool:
        return self._run("ask the capabilities of", lambda client: client.has_capability("IDLE"))

    def wait_for_mail(self, timeout: float, wakeup: Wakeup) -> Arrival:
        def wait(client: IMAPClient) -> Arrival:
            self._ensure_selected(client)
            return wait_in_idle(client, timeout, wakeup, server_label(self.server))

        place = f"folder {self.folder!r} on {server_label(self.server)}"
        return self._session.run(f"wait in IDLE on {place}", wait, reconnect=False)

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
        uidvalidity = int(response[b"UIDVALIDITY"])
        if self._position is None or self._position.uidvalidity != uidvalidity:
            if self._position is not None:
                # The folder was recreated: its UIDs name other messages now. Reading
                # everything again is harmless, the engine's records know what it handled.
                log.warning(
                    "%s: folder %r has a new UIDVALIDITY (%d, was %d); reading it afresh",
                    self.name,
                    self.folder,
                    uidvalidity,
                    self._position.uidvalidity,
                )
            self._position = FolderPosition(uidvalidity)
        return int(response[b"EXISTS"])

    def _ensure_selected(self, client: IMAPClient) -> None:
        if self._selected_on is not client:
            self._select(client)

    def _fetch_oldest(self, client: IMAPClient, limit: int) -> list[FetchedMessage]:
        # No SELECT per batch (its cost grows with the folder): the server reports new
        # mail to the selected folder at each command.
        just_selected = self._selected_on is not client
        self._ensure_selected(client)
        uids, found_new = self._next_uids(client, limit)
        if not found_new and not just_selected and self._reselected_anew(client):
            uids, _ = self._next_uids(client, limit)
        return fetch_messages(client, uids, self.max_message_bytes)

    def _next_uids(self, client: IMAPClient, limit: int) -> tuple[list[int], bool]:
        """The UIDs of the next batch, and whether any of them is new."""
        assert self._position is not None  # set by SELECT
        finish_interrupted_deletes(client, self.name, self.folder)
        seen = self._position.seen
        uids = self._position.next_uids(client, limit, self.arbiter)
        return uids, self._position.seen != seen

    def _reselected_anew(self, client: IMAPClient) -> bool:
        """SELECT again; True when the folder has a new UIDVALIDITY (it was recreated).

        Done when a batch finds nothing new, when the folder is small and SELECT cheap:
        Dovecot keeps showing a session the folder it selected after it was deleted and
        created again, with no new mail in it ever.
        """
        assert self._position is not None
        uidvalidity = self._position.uidvalidity
        self._select(client)
        return self._position.uidvalidity != uidvalidity

    def _delete(self, client: IMAPClient, uids: list[int]) -> None:
        self._ensure_selected(client)
        expunge(client, uids, self.name, self.folder)
        self._disposed(uids)

    def _disposed(self, uids: list[int]) -> None:
        if self._position is not None:
            self._position.disposed(uids)

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
            self._disposed(uids)
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
            expunge(client, uids, self.name, from_folder)
        return len(uids)


def _header_bytes(data: dict[bytes, object]) -> bytes:
    """The header fields of one FETCH answer (imapclient names the item without PEEK)."""
    for name, value in data.items():
        if name.upper().startswith(b"BODY[HEADER.FIELDS") and isinstance(value, bytes):
            return value
    return b""
