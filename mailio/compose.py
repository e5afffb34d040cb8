"""Render a notification from a jinja2 template set into an EmailMessage.

A theme is a folder ``<templates_dir>/<theme>/`` holding ``subject.txt``,
``body.txt`` and (unless the sender is plain-text only) ``body.html``. The
HTML template is autoescaped; a missing variable is an error that names the
template file, so a typo in an admin's template fails loudly at request time
instead of mailing "None" to an approver.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from datetime import UTC, datetime
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


@lru_cache(maxsize=32)
def _environment(theme_dir: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(theme_dir),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render_parts(
    templates_dir: Path, theme: str, context: Mapping[str, Any], *, plain_text_only: bool = False
) -> RenderedParts:
    """Render subject, text and HTML of ``theme``; raises ConfigError naming the file at fault."""
    theme_dir = (templates_dir / theme).resolve()
    if not theme_dir.is_dir():
        raise ConfigError(
            f'template theme "{theme}": folder {theme_dir} does not exist; '
            f"create it with {', '.join(TEMPLATE_FILES)}"
        )
    environment = _environment(theme_dir)

    def render(name: str) -> str:
        try:
            return environment.get_template(name).render(context)
        except jinja2.TemplateNotFound:
            raise ConfigError(f"{theme_dir / name}: template file is missing") from None
        except jinja2.TemplateError as exc:
            line = getattr(exc, "lineno", None)
            where = f", line {line}" if line else ""
            raise ConfigError(f"{theme_dir / name}{where}: {exc.message}") from None

    subject = " ".join(render("subject.txt").split())  # a subject is one line
    html = None if plain_text_only else render("body.html")
    return RenderedParts(subject=subject, text=render("body.txt"), html=html)


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
) -> EmailMessage:
    """Assemble a MIME message: text (+ HTML alternative) (+ attachments)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = parts.subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = f"<{message_id}>"
    if reply_to:
        message["Reply-To"] = reply_to
    for name, value in (headers or {}).items():
        message[name] = value
    try:
        message.set_content(parts.text, charset=charset)
        if parts.html is not None:
            message.add_alternative(parts.html, subtype="html", charset=charset)
    except (LookupError, UnicodeEncodeError) as exc:
        raise ConfigError(f'[outbound] charset: cannot encode the message as "{charset}" ({exc})')
    for attachment in attachments:
        content_type = attachment.content_type or (
            mimetypes.guess_type(attachment.filename)[0] or "application/octet-stream"
        )
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return message
