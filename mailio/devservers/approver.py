"""An approver's mail client, for the demo, the tests and the benchmarks.

Reads the approver's own mailbox over IMAP and answers a notification the
way common clients do: top-posted new text, an "On … wrote:" line, the
original quoted with "> ", To = the original's Reply-To, In-Reply-To and
References set, subject "Re: …".
"""

from __future__ import annotations

import email.policy
import smtplib
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid, parsedate_to_datetime

from imapclient import IMAPClient

_parser = BytesParser(policy=email.policy.default)


def read_inbox(
    host: str, port: int, user: str, password: str, folder: str = "INBOX"
) -> list[EmailMessage]:
    """Every message in ``folder`` (none if it does not exist), oldest first, in one batch."""
    with IMAPClient(host, port=port, ssl=False, timeout=10) as client:
        client.login(user, password)
        if not client.folder_exists(folder):
            return []
        client.select_folder(folder, readonly=True)
        uids = sorted(client.search("ALL"))
        if not uids:
            return []
        fetched = client.fetch(uids, [b"BODY.PEEK[]"])
        return [_parser.parsebytes(fetched[uid][b"BODY[]"]) for uid in uids]  # type: ignore[misc]


def quoted_body(original: EmailMessage) -> str:
    part = original.get_body(preferencelist=("plain",))
    text = part.get_content() if part is not None else ""
    return "\n".join(("> " + line).rstrip() for line in text.splitlines())


def compose_reply(
    original: EmailMessage, sender: str, new_text: str, *, quote: bool = True
) -> EmailMessage:
    """A reply to ``original`` from ``sender`` saying ``new_text`` above the quoted original."""
    reply = EmailMessage()
    reply["From"] = sender
    reply["To"] = original.get("Reply-To") or original["From"]
    subject = str(original["Subject"] or "")
    reply["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    reply["Message-ID"] = make_msgid(domain=sender.partition("@")[2] or "localhost")
    reply["In-Reply-To"] = original["Message-ID"]
    reply["References"] = original["Message-ID"]
    body = new_text
    if quote:
        sent = original.get("Date")
        when = format_datetime(parsedate_to_datetime(sent)) if sent else "an earlier date"
        body += f"\n\nOn {when}, {original['From']} wrote:\n{quoted_body(original)}\n"
    reply.set_content(body)
    return reply


def send(host: str, port: int, message: EmailMessage, user: str, password: str) -> None:
    """Submit ``message`` over plain SMTP with AUTH, as a mail client on loopback would."""
    with smtplib.SMTP(host, port, timeout=10) as client:
        client.login(user, password)
        client.send_message(message)
