"""Every mail the engine sends, rendered from the theme's templates in the request's language.

A kind of mail is a template set in the theme (``templates/<theme>/``):

    subject.txt body.txt body.html      approval notification (a theme's own, always)
    reminder/    escalation/    delegation/    closed/      subject, text and HTML
    answer/      receipt/                                   subject and text only
    <language>/...                                          the same tree, translated

The folder of a mail is the first of these that holds any of its files (a
folder is taken whole, never mixed with another), for ``language="de-CH"``
and kind ``reminder`` in theme ``brand``::

    brand/de-CH/reminder  brand/de/reminder  brand/reminder
    default/de-CH/reminder  default/de/reminder  default/reminder

So a language the theme lacks falls back to the theme's English, and a kind
the theme lacks to the ``default`` theme beside it, which is how themes made
before these kinds existed keep working. Where templates_dir has no ``default/``
(no templates folder at all, as for a config written by ``approvals init``), the
default theme is the one shipped in the package, ``PACKAGED_TEMPLATES/default``.
The approval notification does not fall back: a theme is its own approval
notification, and a theme without it is refused at start-up as before.

Mails that ask for a decision (approval, reminder, escalation, delegation)
carry the token in three places: in the Reply-To sub-address
(``approvals+apr-…@example.com``, when a reply_to address is configured and
sub-addressing is on), in the subject as ``[APR-…]`` and in the body's
watermark line ``Approval reference: APR-…`` (the same words in every
language, for support staff). The Message-ID is the caller's, so that a
reply's In-Reply-To/References identify the mail even when a client drops
all three. Notices (closed, answer, receipt) carry no token.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.utils import formataddr, parseaddr
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from approvals.settings import OutboundSettings
from mailio.compose import (
    Attachment,
    RenderedParts,
    compose_message,
    first_template_folder,
    missing_templates,
    render_parts,
)
from mailio.errors import ConfigError

DEFAULT_THEME = "default"
# Package data, so that an installed wheel renders mail wherever its config lives; a
# templates_dir holding its own default/ overrides it whole.
PACKAGED_TEMPLATES = Path(__file__).resolve().parent / "templates"


class MailKind(StrEnum):
    APPROVAL = "approval"  # asks for a decision
    REMINDER = "reminder"  # asks again, threaded under the approval; the same token
    ESCALATION = "escalation"  # asks an escalation approver to decide
    DELEGATION = "delegation"  # asks a delegate to decide on behalf of someone
    CLOSED = "closed"  # the request closed without this approver: no action needed
    ANSWER = "answer"  # why a reply could not be used
    RECEIPT = "receipt"  # a decision was recorded

    @property
    def asks_for_decision(self) -> bool:
        return self in _DECISION_KINDS

    @property
    def text_only(self) -> bool:
        """Answers and receipts are short replies in a thread: text only, as mail clients
        write replies."""
        return self in (MailKind.ANSWER, MailKind.RECEIPT)

    @property
    def folder(self) -> str:
        """The folder in a theme (or a theme's language folder): the approval notification
        is the theme's root files."""
        return "" if self is MailKind.APPROVAL else self.value


_DECISION_KINDS = frozenset(
    {MailKind.APPROVAL, MailKind.REMINDER, MailKind.ESCALATION, MailKind.DELEGATION}
)
DELEGATION_REASONS = ("away", "delegated")
CLOSED_STATUSES = ("approved", "rejected", "expired", "cancelled")
RECEIPT_VERDICTS = ("approve", "reject")

# What each notice's templates are given beyond title, request_id and recipient:
# required keys, and optional ones with their defaults.
_NOTICE_CONTEXT: dict[MailKind, tuple[tuple[str, ...], Mapping[str, Any]]] = {
    MailKind.CLOSED: (("status",), {"reason": ""}),
    MailKind.ANSWER: (("reason",), {"thread_subject": ""}),
    MailKind.RECEIPT: (("approver", "verdict"), {"comment": "", "thread_subject": ""}),
}

# BCP 47, as far as a folder name needs it: "de", "de-CH", "zh-Hant-TW" (also "de_CH").
# Two or three letters first, so that no kind's folder ("reminder") reads as a language.
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")


def language_folders(language: str | None) -> tuple[str, ...]:
    """The language folders to try, most specific first: ``"de-CH"`` gives
    ``("de-CH", "de")``; None or ``""`` gives none (English, the theme's own files).

    Raises ValueError for anything that is not a language tag: it becomes part of a
    path, so "../x" must never reach the file system.
    """
    if not language:
        return ()
    if not _LANGUAGE_TAG.fullmatch(language):
        raise ValueError(f'language "{language}" is not a language tag such as "de" or "de-CH"')
    primary, *rest = re.split(r"[-_]", language)
    subtags = [primary.lower()] + [_canonical_subtag(subtag) for subtag in rest]
    return tuple("-".join(subtags[:end]) for end in range(len(subtags), 0, -1))


def _canonical_subtag(subtag: str) -> str:
    if len(subtag) == 2:  # a region: CH
        return subtag.upper()
    if len(subtag) == 4:  # a script: Hant
        return subtag.title()
    return subtag.lower()


def template_folders(
    kind: MailKind, theme: str, language: str | None, templates_dir: Path
) -> list[str]:
    """Where ``kind`` is looked for, in order (paths under templates_dir; the packaged
    default theme's are absolute)."""
    languages = [*language_folders(language), ""]
    return [
        _join(name, tag, kind.folder)
        for name in _themes(kind, theme, templates_dir)
        for tag in languages
    ]


def default_theme_folder(templates_dir: Path) -> str:
    """``default`` when templates_dir has one, else the packaged default theme (absolute,
    which ``templates_dir / folder`` keeps as it is)."""
    if (templates_dir / DEFAULT_THEME).is_dir():
        return DEFAULT_THEME
    return str(PACKAGED_TEMPLATES / DEFAULT_THEME)


def _themes(kind: MailKind, theme: str, templates_dir: Path) -> list[str]:
    """The theme, then the default theme beside it for every kind but the approval
    notification, which makes a theme what it is."""
    default = default_theme_folder(templates_dir)
    if theme == DEFAULT_THEME:
        return [default]
    if kind is MailKind.APPROVAL:
        return [theme]
    return [theme, default]


def _join(*parts: str) -> str:
    return "/".join(part for part in parts if part)


def render_mail(
    kind: MailKind,
    *,
    templates_dir: Path,
    theme: str,
    language: str | None,
    context: Mapping[str, Any],
    plain_text_only: bool = False,
) -> RenderedParts:
    """Subject, text and HTML (None for answers, receipts and plain-text-only senders) of
    ``kind`` in ``language``; raises ConfigError naming the template file (and line) at
    fault, or every folder looked in when none holds the kind."""
    text_only = plain_text_only or kind.text_only
    folders = template_folders(kind, theme, language, templates_dir)
    folder = first_template_folder(templates_dir, folders, plain_text_only=text_only)
    if folder is None:
        looked_in = ", ".join(str(templates_dir / name) for name in folders)
        raise ConfigError(
            f'template theme "{theme}": no {kind.value} templates in {looked_in}; '
            f"copy them from {PACKAGED_TEMPLATES / DEFAULT_THEME} "
            "(approvals init --templates writes a copy)"
        )
    return render_parts(templates_dir, folder, context, plain_text_only=text_only)


def missing_mail_templates(
    templates_dir: Path, theme: str, *, plain_text_only: bool = False
) -> list[str]:
    """The template files ``theme`` needs and cannot find, as paths (empty when complete).

    For every kind: its English folder (the theme's, or for all kinds but the approval
    notification the default theme's) must be complete, and so must every language
    folder of it that holds any file. A kind found nowhere is named by the theme's paths.
    """
    missing: list[str] = []
    for kind in MailKind:
        text_only = plain_text_only or kind.text_only
        themes = _themes(kind, theme, templates_dir)
        english = [_join(name, kind.folder) for name in themes]
        chosen = first_template_folder(templates_dir, english, plain_text_only=text_only)
        if chosen is None:
            missing += missing_templates(templates_dir, english[0], plain_text_only=text_only)
            continue
        missing += missing_templates(templates_dir, chosen, plain_text_only=text_only)
        for name in themes[: english.index(chosen) + 1]:  # the themes a mail may come from
            for translated in _translations(templates_dir, name, kind):
                if first_template_folder(templates_dir, [translated], plain_text_only=text_only):
                    missing += missing_templates(
                        templates_dir, translated, plain_text_only=text_only
                    )
    return missing


def _translations(templates_dir: Path, theme: str, kind: MailKind) -> list[str]:
    """``<theme>/<language>/<kind>`` for every language folder of ``theme``."""
    theme_dir = templates_dir / theme
    if not theme_dir.is_dir():
        return []
    return [
        _join(theme, entry.name, kind.folder)
        for entry in sorted(theme_dir.iterdir())
        if entry.is_dir() and _LANGUAGE_TAG.fullmatch(entry.name)
    ]


def reference_of(token: str) -> str:
    """The subject/watermark form of a token: ``APR-`` and upper case."""
    return token.upper()


def reply_address(outbound: OutboundSettings, token: str) -> str:
    """Where replies go: ``local+token@domain`` when sub-addressing is on, else the plain one."""
    base = _bare_address(outbound.reply_to or outbound.from_address)
    if not outbound.subaddress_reply_to or not outbound.reply_to:
        return base
    local, at, domain = base.partition("@")
    if not at:
        raise ConfigError(f'[outbound] reply_to: "{base}" is not an email address')
    return f"{local}+{token}@{domain}"


def new_message_id(domain: str) -> str:
    return f"apr.{secrets.token_hex(12)}@{domain}"


def sender_domain(outbound: OutboundSettings) -> str:
    address = _bare_address(outbound.from_address)
    return address.partition("@")[2] or "localhost"


@lru_cache(maxsize=64)  # the configured addresses, parsed for every mail otherwise
def _bare_address(value: str) -> str:
    return parseaddr(value)[1]


def render_request_mail(
    kind: MailKind,
    *,
    outbound: OutboundSettings,
    templates_dir: Path,
    theme: str,
    language: str | None,
    request_id: str,
    title: str,
    details: Mapping[str, Any],
    approver: str,
    approver_name: str,
    token: str,
    expires_at: datetime,
    message_id: str,
    attachments: Sequence[Attachment] = (),
    due_at: datetime | None = None,
    on_behalf_of: str | None = None,
    reminder_number: int | None = None,
    in_reply_to: str | None = None,
    delegation_reason: str | None = None,
) -> bytes:
    """The MIME bytes of a mail asking ``approver`` to decide, ready for the outbox.

    ``on_behalf_of`` names the person whose decision this is (a delegation's delegator),
    ``delegation_reason`` says why it came to the approver: "away" (an absence rule) or
    "delegated". ``in_reply_to`` (a Message-ID without brackets) threads the mail under
    an earlier one: a reminder under its approval notification.
    """
    if not kind.asks_for_decision:
        raise ValueError(f"a {kind.value} mail asks for no decision: use render_notice_mail")
    if kind is MailKind.DELEGATION and not on_behalf_of:
        raise ValueError("a delegation mail names whose decision it is: give on_behalf_of")
    if delegation_reason is not None and delegation_reason not in DELEGATION_REASONS:
        raise ValueError(
            f"delegation_reason: expected one of {', '.join(DELEGATION_REASONS)} or None, "
            f'got "{delegation_reason}"'
        )
    reference = reference_of(token)
    reply_to = reply_address(outbound, token)

    def mailto(verdict: str) -> str:
        # The title too, so the approver's sent mail says what was decided; the reader
        # takes the verdict from before the tag (approvals.replies.verdicts).
        subject = quote(f"{verdict} [{reference}] {' '.join(title.split())[:80]}".rstrip())
        return f"mailto:{reply_to}?subject={subject}&body={verdict}"

    context = {
        "request_id": request_id,
        "title": title,
        "details": dict(details),
        "approver": approver,
        "approver_name": approver_name,
        "reference": reference,
        "reply_address": reply_to,
        "approve_mailto": mailto("APPROVE"),
        "reject_mailto": mailto("REJECT"),
        "expires_at": expires_at,
        "due_at": due_at,
        "on_behalf_of": on_behalf_of,
        "delegation_reason": delegation_reason,
        "reminder_number": reminder_number,
    }
    parts = render_mail(
        kind,
        templates_dir=templates_dir,
        theme=theme,
        language=language,
        context=context,
        plain_text_only=outbound.plain_text_only,
    )
    to = formataddr((approver_name, approver)) if approver_name else approver
    # Ask Exchange not to send us its out-of-office answers; others still may.
    headers = {"X-Auto-Response-Suppress": "OOF, AutoReply", "Auto-Submitted": "auto-generated"}
    return compose_message(
        parts=parts,
        sender=outbound.from_address,
        to=to,
        message_id=message_id,
        reply_to=reply_to,
        charset=outbound.charset,
        headers=headers | _thread_headers(in_reply_to, ()),
        attachments=attachments,
    )


def render_notice_mail(
    kind: MailKind,
    *,
    outbound: OutboundSettings,
    templates_dir: Path,
    theme: str,
    language: str | None,
    to: str,
    title: str,
    request_id: str,
    message_id: str,
    context: Mapping[str, Any],
    in_reply_to: str | None = None,
    reply_to: str | None = None,
    auto_submitted: str = "auto-generated",
    references: Sequence[str] = (),
) -> bytes:
    """The MIME bytes of a notice to ``to``: closed, answer or receipt. No token.

    ``context`` holds what the kind's templates say beyond ``title``, ``request_id`` and
    ``recipient``: for closed ``status`` (approved, rejected, expired, cancelled) and
    optionally ``reason``; for answer ``reason``; for receipt ``approver``, ``verdict``
    (approve, reject) and optionally ``comment``; answers and receipts optionally
    ``thread_subject``, the "Re: …" subject that keeps them in the approver's thread.
    ``in_reply_to`` and ``references`` (Message-IDs without brackets) thread the mail;
    References is ``in_reply_to`` alone when ``references`` is empty.
    """
    if kind not in _NOTICE_CONTEXT:
        raise ValueError(f"a {kind.value} mail asks for a decision: use render_request_mail")
    required, defaults = _NOTICE_CONTEXT[kind]
    lacking = [key for key in required if key not in context]
    if lacking:
        raise ValueError(f"a {kind.value} notice needs {', '.join(lacking)} in its context")
    if kind is MailKind.CLOSED and context["status"] not in CLOSED_STATUSES:
        raise ValueError(
            f"closed notice: status is one of {', '.join(CLOSED_STATUSES)}, "
            f'not "{context["status"]}"'
        )
    if kind is MailKind.RECEIPT and context["verdict"] not in RECEIPT_VERDICTS:
        raise ValueError(
            f'receipt: verdict is one of {", ".join(RECEIPT_VERDICTS)}, not "{context["verdict"]}"'
        )
    full_context = {
        **defaults,
        **context,
        "title": title,
        "request_id": request_id,
        "recipient": to,
    }
    if not full_context.get("thread_subject") and "thread_subject" in defaults:
        full_context["thread_subject"] = f"Re: {title}"
    parts = render_mail(
        kind,
        templates_dir=templates_dir,
        theme=theme,
        language=language,
        context=full_context,
        plain_text_only=outbound.plain_text_only,
    )
    headers = {"X-Auto-Response-Suppress": "OOF, AutoReply", "Auto-Submitted": auto_submitted}
    return compose_message(
        parts=parts,
        sender=outbound.from_address,
        to=to,
        message_id=message_id,
        reply_to=reply_to,
        charset=outbound.charset,
        headers=headers | _thread_headers(in_reply_to, references),
    )


def _thread_headers(in_reply_to: str | None, references: Sequence[str]) -> dict[str, str]:
    if not in_reply_to:
        return {}
    chain = list(references) or [in_reply_to]
    return {
        "In-Reply-To": f"<{in_reply_to}>",
        "References": " ".join(f"<{message_id}>" for message_id in chain),
    }
