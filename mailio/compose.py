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
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from mailio.errors import ConfigError

TEMPLATE_FILES = ("subject.txt", "body.txt", "body.html")


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


# One environment per template folder: themes x languages x kinds of mail.
@lru_cache(maxsize=256)
def _environment(folder_dir: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder_dir),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


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
    folder_dir = (templates_dir / folder).resolve()
    if not folder_dir.is_dir():
        raise ConfigError(
            f'template theme "{folder}": folder {folder_dir} does not exist; '
            f"create it with {', '.join(template_files(plain_text_only=plain_text_only))}"
        )
    environment = _environment(folder_dir)

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
    """Assemble a MIME message: text (+ HTML alternative) (+ attachments).

    Built with the ``compat32`` MIME classes: composing with the modern policy
    parses every header through the header registry, which made rendering a
    notification several times slower for the same bytes on the wire.
    """
    try:
        body_charset = _body_charset(charset)
        body: Message = MIMEText(parts.text, "plain", body_charset)  # type: ignore[arg-type]
        if parts.html is not None:
            alternative = MIMEMultipart("alternative", boundary=_boundary())
            alternative.attach(body)
            alternative.attach(MIMEText(parts.html, "html", body_charset))  # type: ignore[arg-type]
            body = alternative
    except (LookupError, UnicodeEncodeError) as exc:
        raise ConfigError(
            f'[outbound] charset: cannot encode the message as "{charset}" ({exc})'
        ) from None
    message = body
    if attachments:
        message = MIMEMultipart("mixed", boundary=_boundary())
        message.attach(body)
        for attachment in attachments:
            content_type = attachment.content_type or (
                mimetypes.guess_type(attachment.filename)[0] or "application/octet-stream"
            )
            maintype, _, subtype = content_type.partition("/")
            part = MIMEApplication(attachment.content, _subtype=subtype)
            part.replace_header("Content-Type", f"{maintype}/{subtype}")
            part.add_header("Content-Disposition", "attachment", filename=attachment.filename)
            message.attach(part)
    message["From"] = _address_header(sender, charset)
    message["To"] = _address_header(to, charset)
    message["Subject"] = _text_header("Subject", parts.subject, charset)
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = f"<{message_id}>"
    if reply_to:
        message["Reply-To"] = _address_header(reply_to, charset)
    for name, value in (headers or {}).items():
        message[name] = _text_header(name, value, charset)
    return message


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
    name, address = parseaddr(value)
    if not address:
        raise ConfigError(f'"{value}" is not an email address')
    return formataddr((name, address), charset="utf-8")
