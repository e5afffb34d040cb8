"""What IMAP servers answer, read into our values. Pure: no connection here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mailio.errors import MailboxError
from mailio.inbound.base import HEADER_BYTES, FetchedMessage

BODY = b"BODY[]"
SIZE = b"RFC822.SIZE"
HEADER = b"BODY[HEADER]<0>"  # how servers name the partial fetch below
FETCH_HEADER = f"BODY.PEEK[HEADER]<0.{HEADER_BYTES}>"

FetchResponse = dict[int, dict[bytes, Any]]


def sizes_in(found: FetchResponse) -> dict[int, int]:
    """RFC822.SIZE by UID, of the messages whose answer has it."""
    return {uid: int(items[SIZE]) for uid, items in found.items() if SIZE in items}


def messages_in(
    uids: list[int], found: FetchResponse, sizes: dict[int, int]
) -> list[FetchedMessage]:
    """The fetched messages in ``uids`` order: whole, or (over the size limit) the header only.

    A message expunged by someone else since the SEARCH is simply absent.
    """
    fetched = []
    for uid in uids:
        items = found.get(uid, {})
        if BODY in items:  # -1: a server that left out RFC822.SIZE; len(raw) then
            fetched.append(FetchedMessage(str(uid), bytes(items[BODY]), sizes.get(uid, -1)))
        elif HEADER in items and uid in sizes:
            header = bytes(items[HEADER])
            fetched.append(FetchedMessage(str(uid), header, sizes[uid], complete=False))
    return fetched


def uids_of(keys: Sequence[str]) -> list[int]:
    """Mailbox keys as UIDs, sorted and each once."""
    try:
        return sorted({int(key) for key in keys})
    except ValueError as exc:
        raise MailboxError(f"IMAP keys are UIDs (positive integers); got {list(keys)!r}") from exc


def reply_text(exc: BaseException) -> str:
    """The server's reply in an imaplib/imapclient error, as text."""
    text = str(exc)
    # imapclient formats server replies as repr(bytes): b'[NONEXISTENT] ...'
    if text.startswith(("b'", 'b"')) and text.endswith(text[1]):
        text = text[2:-1]
    return text


def announces_mail(responses: Sequence[tuple[Any, ...]]) -> bool:
    """True when untagged responses (of NOOP, IDLE or DONE) tell of mail in the folder:
    ``* n EXISTS``, or ``* n RECENT`` with n > 0."""
    for response in responses:
        if len(response) >= 2 and response[1] == b"EXISTS":
            return True
        if len(response) >= 2 and response[1] == b"RECENT" and response[0]:
            return True
    return False


def farewell(responses: Sequence[tuple[Any, ...]]) -> str | None:
    """The text of a ``* BYE`` among untagged responses (the server is closing), else None."""
    for response in responses:
        if response and response[0] == b"BYE":
            text = b" ".join(part for part in response[1:] if isinstance(part, bytes))
            return text.decode("utf-8", "replace") or "BYE"
    return None
