"""Render a mail from a jinja2 template set into an EmailMessage.

A template set is a folder under ``<templates_dir>`` (a theme such as
``default``, or a folder inside one such as ``default/de/reminder``) holding
``subject.txt``, ``body.txt`` and (unless the mail is plain text only)
``body.html``. The HTML template is autoescaped; a missing variable is an
error that names the template file, so a typo in an admin's template fails
loudly at request time instead of mailing "None" to an approver. Which folder
serves which mail (kinds, languages, fallbacks) is the caller's business:
:func:`first_template_folder` only picks the first of the folders it is given.
"""

from __future__ import annotations

import mimetypes
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.policy import compat32
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from mailio.errors import ConfigError

TEMPLATE_FILES = ("subject.txt", "body.txt", "body.html")
# What str.splitlines() breaks an ASCII header value at: such a value is folded by the library.
_LINE_BREAKS = re.compile(r"[\n\r\x0b\x0c\x1c-\x1e]")
# A bare dot-atom address (no display name, no quoting, no domain literal).
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    content_type: str | None = None  # guessed from the file name when None


@dataclass(frozen=True)
class RenderedParts:
    subject: str
    text: str
    html: str | None


# One environment per template folder (themes x languages x kinds of mail), found
# once: resolving the path costs a system call per component, more than rendering.
# jinja2 still compares each template's modification time before using it, so an
# edited template is read again; a folder is cached only once it exists.
@lru_cache(maxsize=256)
def _template_folder(templates_dir: Path, folder: str) -> tuple[Path, jinja2.Environment]:
    folder_dir = (templates_dir / folder).resolve()
    if not folder_dir.is_dir():
        raise NotADirectoryError(folder_dir)
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder_dir),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return folder_dir, environment


def template_files(*, plain_text_only: bool = False) -> tuple[str, ...]:
    """The files a template set holds: subject and text, and HTML unless plain text only."""
    return TEMPLATE_FILES[:2] if plain_text_only else TEMPLATE_FILES


def first_template_folder(
    templates_dir: Path, folders: Sequence[str], *, plain_text_only: bool = False
) -> str | None:
    """The first of ``folders`` (paths under ``templates_dir``) holding any template file.

    A folder is chosen whole: one holding only some of the files is chosen all the
    same, and its missing files are errors, so that a mail is never put together
    from two folders (a German subject over an English body).
    """
    names = template_files(plain_text_only=plain_text_only)
    for folder in folders:
        folder_dir = templates_dir / folder
        if any((folder_dir / name).is_file() for name in names):
            return folder
    return None


def missing_templates(
    templates_dir: Path, folder: str, *, plain_text_only: bool = False
) -> list[str]:
    """The template files ``folder`` (a theme, or a folder inside one) lacks, as paths
    (empty when it is complete)."""
    folder_dir = templates_dir / folder
    return [
        str(folder_dir / name)
        for name in template_files(plain_text_only=plain_text_only)
        if not (folder_dir / name).is_file()
    ]


def render_parts(
    templates_dir: Path, folder: str, context: Mapping[str, Any], *, plain_text_only: bool = False
) -> RenderedParts:
    """Render subject, text and HTML of ``folder`` (a theme, or a folder inside one);
    raises ConfigError naming the file (and line) at fault."""
    try:
        folder_dir, environment = _template_folder(templates_dir, folder)
    except NotADirectoryError:
        raise ConfigError(
            f'template theme "{folder}": folder {(templates_dir / folder).resolve()} does not '
            f"exist; create it with {', '.join(template_files(plain_text_only=plain_text_only))}"
        ) from None

    def render(name: str) -> str:
        try:
            return environment.get_template(name).render(context)
        except jinja2.TemplateNotFound as exc:
            if exc.name != name:  # an {% include %} of a file that is not there
                raise ConfigError(
                    f"{folder_dir / name}: includes {exc.name}, which is missing"
                ) from None
            raise ConfigError(f"{folder_dir / name}: template file is missing") from None
        except jinja2.TemplateError as exc:
            line = _template_line(exc, folder_dir / name)
            where = f", line {line}" if line else ""
            raise ConfigError(f"{folder_dir / name}{where}: {exc.message}") from None

    subject = " ".join(render("subject.txt").split())  # a subject is one line
    html = None if plain_text_only else render("body.html")
    return RenderedParts(subject=subject, text=render("body.txt"), html=html)


def _template_line(exc: jinja2.TemplateError, path: Path) -> int | None:
    """The line of ``path`` at fault: a syntax error carries it; an error while rendering
    (an undefined variable) is found in the traceback, where jinja2 puts the template's
    own file and line in place of the compiled code's."""
    line: int | None = getattr(exc, "lineno", None)
    if line:
        return line
    traceback, filename = exc.__traceback__, str(path)
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == filename:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def compose_message(
    *,
    parts: RenderedParts,
    sender: str,
    to: str,
    message_id: str,
    reply_to: str | None = None,
    charset: str = "utf-8",
    headers: Mapping[str, str] | None = None,
    attachments: Sequence[Attachment] = (),
) -> bytes:
    """The MIME bytes of a mail: text (+ HTML alternative) (+ attachments), with LF
    line ends as ``Message.as_bytes()`` writes them (senders send CRLF).

    Written directly, byte for byte what the ``compat32`` MIME classes and generator
    write for the same mail (tests/test_compose.py compares the two): the generator
    refolds every header through ``email.header.Header`` and the classes re-parse
    their own parameters, which cost more than rendering the templates. Only the
    attachments, rare and costly anyway, go through the library.
    """
    try:
        body_charset = _body_charset(charset)
        body = _text_part("plain", parts.text, body_charset)
        if parts.html is not None:
            html = _text_part("html", parts.html, body_charset)
            body = _multipart("alternative", [body, html])
    except (LookupError, UnicodeEncodeError) as exc:
        raise ConfigError(
            f'[outbound] charset: cannot encode the message as "{charset}" ({exc})'
        ) from None
    if attachments:
        body = _multipart("mixed", [body, *(_attachment_part(a) for a in attachments)])
    top = [
        ("From", _address_header(sender, charset)),
        ("To", _address_header(to, charset)),
        ("Subject", _text_header("Subject", parts.subject, charset)),
        ("Date", format_datetime(datetime.now(UTC))),
        ("Message-ID", f"<{message_id}>"),
    ]
    if reply_to:
        top.append(("Reply-To", _address_header(reply_to, charset)))
    top += [(name, _text_header(name, value, charset)) for name, value in (headers or {}).items()]
    head, _, rest = body.partition(b"\n\n")
    return head + b"\n" + _header_block(top) + b"\n" + rest


def build_message(
    *,
    parts: RenderedParts,
    sender: str,
    to: str,
    message_id: str,
    reply_to: str | None = None,
    charset: str = "utf-8",
    headers: Mapping[str, str] | None = None,
    attachments: Sequence[Attachment] = (),
) -> Message:
    """:func:`compose_message` as a (``compat32``) Message, for callers that hand a
    message object to a sender (the canary)."""
    raw = compose_message(
        parts=parts,
        sender=sender,
        to=to,
        message_id=message_id,
        reply_to=reply_to,
        charset=charset,
        headers=headers,
        attachments=attachments,
    )
    return message_from_bytes(raw, policy=compat32)


def _text_part(subtype: str, text: str, charset: Charset) -> bytes:
    """A text part as ``MIMEText(text, subtype, charset)`` writes it: its three headers
    (the library moves Content-Type after MIME-Version when the charset it sends is
    not the one it was given: euc-jp is sent as iso-2022-jp), then the encoded text."""
    output = charset.get_output_charset() or str(charset)
    content_type = ("Content-Type", f'text/{subtype}; charset="{_quote(output)}"')
    version = ("MIME-Version", "1.0")
    first = [content_type, version] if str(charset) == output else [version, content_type]
    encoding = ("Content-Transfer-Encoding", str(charset.get_body_encoding()))
    return _header_block([*first, encoding]) + b"\n" + _encoded_text(text, charset).encode("ascii")


def _encoded_text(text: str, charset: Charset) -> str:
    """The payload ``Message.set_payload(text, charset)`` stores, step for step."""
    if not text:
        return ""
    encoded = text.encode(charset.output_charset or str(charset))
    payload = encoded.decode("ascii", "surrogateescape")
    if str(charset) != charset.get_output_charset():
        payload = charset.body_encode(payload)  # the library encodes such charsets twice
    return str(charset.body_encode(payload.encode("ascii", "surrogateescape")))


def _multipart(subtype: str, parts: Sequence[bytes]) -> bytes:
    """A multipart body as the generator writes it, its parts' bytes given."""
    boundary = _boundary()
    # Longer than 78 characters: the library folds the line after the semicolon.
    head = f'Content-Type: multipart/{subtype};\n boundary="{boundary}"\nMIME-Version: 1.0\n'
    dash = f"--{boundary}".encode("ascii")
    return b"".join(
        [head.encode("ascii"), b"\n", dash, b"\n", (b"\n" + dash + b"\n").join(parts)]
        + [b"\n", dash, b"--\n"]
    )


def _attachment_part(attachment: Attachment) -> bytes:
    content_type = attachment.content_type or (
        mimetypes.guess_type(attachment.filename)[0] or "application/octet-stream"
    )
    maintype, _, subtype = content_type.partition("/")
    part = MIMEApplication(attachment.content, _subtype=subtype)
    part.replace_header("Content-Type", f"{maintype}/{subtype}")
    part.add_header("Content-Disposition", "attachment", filename=attachment.filename)
    return part.as_bytes()


def _header_block(fields: Sequence[tuple[str, str]]) -> bytes:
    """Header lines as ``compat32`` folds them; a line that fits and holds nothing to
    fold is written as it is, which is what the library's folding makes of it."""
    lines = []
    for name, value in fields:
        if len(name) + len(value) <= 76 and value.isascii() and not _LINE_BREAKS.search(value):
            lines.append(f"{name}: {value}\n".encode("ascii"))
        else:
            lines.append(compat32.fold_binary(name, value))
    return b"".join(lines)


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _body_charset(name: str) -> Charset:
    """The charset with a transfer encoding that keeps lines short: charsets sent as
    7bit/8bit (us-ascii…) would pass a long template line unwrapped, and SMTP refuses
    lines over 998 characters."""
    charset = Charset(name)
    if charset.body_encoding is None:
        charset.body_encoding = QP
    return charset


def _boundary() -> str:
    # Random and long enough never to occur in a part; choosing it here spares the
    # generator a regular-expression compile per message to check its own choice.
    return "=_apr_" + secrets.token_hex(16)


def _text_header(name: str, value: str, charset: str) -> str:
    # The header's name counts towards the first line: without it a long encoded value
    # is folded onto a line of its own, which readers decode with a leading space.
    return value if value.isascii() else Header(value, "utf-8", header_name=name).encode()


def _address_header(value: str, charset: str) -> str:
    if _PLAIN_ADDRESS.fullmatch(value):
        return value  # what parseaddr and formataddr make of it, at a fraction of the cost
    return _named_address(value)


@lru_cache(maxsize=256)  # the From address is the same on every mail
def _named_address(value: str) -> str:
    name, address = parseaddr(value)
    if not address:
        raise ConfigError(f'"{value}" is not an email address')
    return formataddr((name, address), charset="utf-8")
