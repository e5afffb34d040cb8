"""Reading headers and text parts of a parsed message without ever raising.

``email.policy.default`` parses a header when it is first read, and some
malformed headers make that raise. We read the raw header text instead
(``raw_items``), decode RFC 2047 words ourselves and fall back to the raw text
when decoding fails. Bodies are decoded from their transfer encoding by the
``email`` package and from their charset here: an unknown or broken charset
degrades to UTF-8 with replacement characters.
"""

from __future__ import annotations

import binascii
import datetime
import email.base64mime
import email.quoprimime
import email.utils
import re
from collections.abc import Iterator
from email.errors import HeaderParseError, MessageError
from email.message import Message
from email.policy import Policy, compat32

# What the email package raises on hostile input; we degrade instead (see module doc).
DECODE_ERRORS = (
    ValueError,
    LookupError,
    UnicodeError,
    TypeError,
    AttributeError,
    IndexError,
    HeaderParseError,
    MessageError,
    binascii.Error,
)

_MSG_ID = re.compile(r"<([^<>\s]+)>")
# email.header.ecre: an RFC 2047 encoded word.
_ENCODED_WORD = re.compile(r"=\?([^?]*?)\?([qQbB])\?(.*?)\?=", re.MULTILINE)
_WHITESPACE = re.compile(r"\s+")


class IndexedMessage(Message):
    """A message (or part) that keeps what is read of it: its headers by name, their
    decoded values, its content type and, for text a client shows, its text.

    Each step of reading a reply asks for the same few headers, types and texts again
    (a reply's From twice, every part's type in four walks, an HTML alternative's text
    for its verdict and for tokens); each is worked out once. What is kept goes with
    the message. :func:`approvals.replies.parsing.read_message` parses into this
    class; read it, do not change it.
    """

    def __init__(self, policy: Policy = compat32) -> None:
        super().__init__(policy)
        self.headers_by_name: dict[str, tuple[str, ...]] | None = None
        self.decoded_headers: dict[str, tuple[str, ...]] = {}
        self.mime_type: str | None = None
        self.text: str | None = None


def _headers_by_name(message: Message) -> dict[str, tuple[str, ...]]:
    index: dict[str, list[str]] = {}
    try:
        for key, value in message.raw_items():
            index.setdefault(str(key).lower(), []).append(str(value))
    except DECODE_ERRORS:
        index = {}
    return {name: tuple(values) for name, values in index.items()}


def raw_headers(message: Message, name: str) -> list[str]:
    """Undecoded values of every header called ``name`` (case-insensitive)."""
    if not isinstance(message, IndexedMessage):
        return list(_headers_by_name(message).get(name.lower(), ()))
    if message.headers_by_name is None:
        message.headers_by_name = _headers_by_name(message)
    return list(message.headers_by_name.get(name.lower(), ()))


def header_values(message: Message, name: str) -> list[str]:
    """Decoded, unfolded values of every header called ``name``."""
    if not isinstance(message, IndexedMessage):
        return [decode_words(value) for value in raw_headers(message, name)]
    key = name.lower()
    decoded = message.decoded_headers.get(key)
    if decoded is None:
        decoded = tuple(decode_words(value) for value in raw_headers(message, key))
        message.decoded_headers[key] = decoded
    return list(decoded)


def header(message: Message, name: str) -> str:
    """The first decoded value of ``name``, or ""."""
    values = header_values(message, name)
    return values[0] if values else ""


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words; raw 8-bit header bytes are read as UTF-8."""
    text = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    text = text.replace("\r", "").replace("\n", "")
    try:
        chunks = decode_header(text)
    except DECODE_ERRORS:
        return text
    out: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
        else:
            out.append(decode_bytes(chunk, charset))
    # decode_header drops the space between an encoded word and plain text only sometimes.
    joined = "".join(out) if any(isinstance(chunk, bytes) for chunk, _ in chunks) else text
    return joined.strip()


def decode_header(header: str) -> list[tuple[str | bytes, str | None]]:
    """:func:`email.header.decode_header` for a string, in linear time.

    The standard library's pops from the front of a list and concatenates bytes
    word by word: a header of many thousand encoded words took seconds per
    megabyte, quadratically more for more. Same steps, same result, same errors.
    """
    if not _ENCODED_WORD.search(header):
        return [(header, None)]
    words: list[tuple[str, str | None, str | None]] = []  # (text, encoding, charset)
    for line in header.splitlines():
        parts = _ENCODED_WORD.split(line)  # unencoded, (charset, encoding, encoded, unencoded)*
        unencoded = parts[0].lstrip()
        if unencoded:
            words.append((unencoded, None, None))
        for at in range(1, len(parts), 4):
            charset, encoding, encoded, unencoded = parts[at : at + 4]
            words.append((encoded, encoding.lower(), charset.lower()))
            if unencoded:
                words.append((unencoded, None, None))
    # Whitespace between two encoded words is dropped (RFC 2047 section 6.2).
    words = [
        word
        for n, word in enumerate(words)
        if not (
            0 < n < len(words) - 1 and words[n - 1][1] and words[n + 1][1] and word[0].isspace()
        )
    ]
    collapsed: list[tuple[str | bytes, str | None]] = []
    run: list[bytes] = []
    run_charset: str | None = None
    for text, encoding, charset in words:
        if encoding is None:
            word = text.encode("raw-unicode-escape")
        elif encoding == "q":
            word = email.quoprimime.header_decode(text).encode("raw-unicode-escape")
        else:  # "b"
            padded = text + "==="[: (4 - len(text) % 4) % 4]  # Postel's law: add missing padding
            try:
                word = email.base64mime.decode(padded)
            except binascii.Error:
                raise HeaderParseError("Base64 decoding error") from None
        if run and charset != run_charset:
            collapsed.append(((b" " if run_charset is None else b"").join(run), run_charset))
            run = []
        run.append(word)
        run_charset = charset
    collapsed.append(((b" " if run_charset is None else b"").join(run), run_charset))
    return collapsed


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode with the declared charset, else UTF-8; never raises."""
    for candidate in (charset, "utf-8"):
        if not candidate:
            continue
        try:
            return data.decode(candidate, "replace")
        except DECODE_ERRORS:
            continue
    return data.decode("latin-1")


# "Anna Approver <anna@example.org>" and "anna@example.org", as most From headers are: no
# quotes, comments, groups, commas or second "@", so getaddresses can only read the address
# written, and it took a tenth of parse_reply to say so. Anything else goes to getaddresses.
_DOT_ATOMS = r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*"
_PLAIN_ADDRESS = rf"{_DOT_ATOMS}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
_PLAIN_MAILBOX = re.compile(
    rf"[ \t]*(?:[A-Za-z][A-Za-z0-9 .'-]{{0,80}}<(?P<named>{_PLAIN_ADDRESS})>"
    rf"|(?P<bare>{_PLAIN_ADDRESS}))[ \t]*"
)


def addresses(values: list[str]) -> list[str]:
    """Lower-cased addr-specs found in address header values."""
    plain = [_PLAIN_MAILBOX.fullmatch(value) for value in values]
    if all(plain):
        return [(m.group("named") or m.group("bare")).lower() for m in plain if m is not None]
    try:
        pairs = email.utils.getaddresses(values)
    except DECODE_ERRORS:
        return []
    return [addr.strip().lower() for _, addr in pairs if "@" in addr]


def message_ids(values: list[str]) -> list[str]:
    """Message ids without angle brackets, in order, without repeats."""
    found: dict[str, None] = {}
    for value in values:
        ids = _MSG_ID.findall(value) or value.split()
        for item in ids:
            found.setdefault(item.strip("<> \t"), None)
    found.pop("", None)
    return list(found)


def sent_on(message: Message) -> datetime.date | None:
    """The day of the Date header, in the sender's own time zone; None if missing or unreadable."""
    values = raw_headers(message, "date")
    if not values:
        return None
    try:
        return email.utils.parsedate_to_datetime(collapse(values[0])).date()
    except (*DECODE_ERRORS, OverflowError):  # "32 Dec", year 99999, garbage
        return None


def collapse(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


# Content-Type is read from the raw header: the default policy's structured parse of it
# took half of parse_reply's time, and we only need the type and a few plain parameters.
_MIME_TYPE = re.compile(r"^\s*([\w.+-]+/[\w.+-]+)\s*(?:;|$)")
_PARAM = re.compile(r';\s*([\w.-]+)\*?\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')


def content_type(part: Message) -> str:
    """The lower-cased type/subtype; text/plain when missing or malformed (RFC 2045)."""
    if isinstance(part, IndexedMessage) and part.mime_type is not None:
        return part.mime_type
    values = raw_headers(part, "content-type")
    match = _MIME_TYPE.match(values[0]) if values else None
    found = match.group(1).lower() if match else "text/plain"
    if isinstance(part, IndexedMessage):
        part.mime_type = found
    return found


def param(part: Message, name: str) -> str:
    """A Content-Type parameter, lower-cased ("" if absent)."""
    values = raw_headers(part, "content-type")
    wanted = name.lower()
    for match in _PARAM.finditer(values[0] if values else ""):
        if match.group(1).lower() == wanted:
            value = match.group(2) if match.group(2) is not None else match.group(3)
            if "''" in value:  # RFC 2231 extended value: charset'language'value
                value = value.split("'", 2)[2]
            return value.strip().lower()
    return ""


def is_attachment(part: Message) -> bool:
    disposition = raw_headers(part, "content-disposition")
    return bool(disposition) and disposition[0].strip().lower().startswith("attachment")


def part_text(part: Message) -> str:
    """The decoded text of a non-multipart part ("" for anything else)."""
    if not isinstance(part, IndexedMessage):
        return _decoded_text(part)
    if part.text is not None:
        return part.text
    text = _decoded_text(part)
    # Text a client shows is read for its words and again for tokens; an attachment only
    # for tokens, and keeping megabytes of it would only raise the peak.
    if content_type(part).startswith("text/") and not is_attachment(part):
        part.text = text
    return text


def _decoded_text(part: Message) -> str:
    try:
        if part.is_multipart():
            return ""
        data = part.get_payload(decode=True)
    except DECODE_ERRORS:
        return ""
    if not isinstance(data, bytes):
        return ""
    charset = param(part, "charset") or None
    return decode_bytes(data, charset)


def children(part: Message) -> list[Message]:
    """Sub-parts of a multipart or message/* part."""
    try:
        payload = part.get_payload()
    except DECODE_ERRORS:
        return []
    if isinstance(payload, list):
        return [child for child in payload if isinstance(child, Message)]
    return []


def walk(message: Message, *, into_messages: bool) -> Iterator[Message]:
    """Every part, depth first; attached messages (message/*) only if ``into_messages``."""
    stack = [message]
    while stack:
        part = stack.pop()
        yield part
        kind = content_type(part)
        if kind.startswith("multipart/") or (into_messages and kind.startswith("message/")):
            stack.extend(reversed(children(part)))
