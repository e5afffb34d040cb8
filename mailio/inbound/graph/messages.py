"""Graph's JSON about messages, read into our values. Pure: no requests here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mailio.inbound.base import FetchedMessage, header_block

SIZE_PROPERTY = 0x0E08  # PR_MESSAGE_SIZE; Graph answers with its id as "Integer 0xe08"
PAGE_SIZE_CAP = 1000  # Graph's largest $top for messages
# The listed messages' sizes, as their MAPI property (Graph v1.0 has no size property).
SIZE_EXPAND = "singleValueExtendedProperties($filter=id eq 'Integer 0x0E08')"


def listing_query(limit: int) -> dict[str, str]:
    """The query listing a folder's oldest ``limit`` messages: id, age and size only."""
    return {
        "$select": "id,receivedDateTime",
        "$expand": SIZE_EXPAND,
        "$orderby": "receivedDateTime asc",
        "$top": str(min(limit, PAGE_SIZE_CAP)),
    }


def listed_message(item: Mapping[str, Any]) -> tuple[str, int | None]:
    """A listed message's id and PR_MESSAGE_SIZE (None: not given)."""
    return str(item["id"]), listed_size(item)


def listed_size(item: Mapping[str, Any]) -> int | None:
    """PR_MESSAGE_SIZE from a listed message's expanded extended properties, if present."""
    for prop in item.get("singleValueExtendedProperties") or ():
        kind, _, tag = str(prop.get("id", "")).partition(" ")
        try:
            if kind.lower() == "integer" and int(tag, 16) == SIZE_PROPERTY:
                return int(prop["value"])
        except (KeyError, TypeError, ValueError):
            return None
    return None


def is_over(size: int, limit: int | None) -> bool:
    """True when a message of ``size`` bytes is over ``limit`` (None: no limit)."""
    return limit is not None and size > limit


def fetched_message(key: str, raw: bytes, listed: int | None, limit: int | None) -> FetchedMessage:
    """A downloaded message; cut to its header when over ``limit`` (the listing had no size)."""
    if is_over(len(raw), limit):
        return FetchedMessage(key, header_block(raw), len(raw), complete=False)
    return FetchedMessage(key, raw, len(raw) if listed is None else listed)


def header_from_fields(fields: Iterable[Mapping[str, Any]] | None) -> bytes:
    """The internet header rebuilt from Graph's internetMessageHeaders name/value list."""
    lines = []
    for item in fields or ():
        # Graph unfolds values; a CR or LF left in one must not start a header of its own.
        name, value = (" ".join(str(item.get(k, "")).splitlines()) for k in ("name", "value"))
        lines.append(f"{name}: {value}\r\n")
    return header_block(("".join(lines) + "\r\n").encode("utf-8"))


def odata_quote(value: str) -> str:
    """An OData string literal: single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"
