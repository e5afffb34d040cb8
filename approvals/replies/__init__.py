"""Reading replies: raw bytes in, a :class:`ParsedReply` out. Pure: no I/O, no database.

The steps, one module each: :mod:`.mailparts` (MIME walking),
:mod:`.kinds` (reply, auto-reply or bounce; Authentication-Results),
:mod:`.quotes` (the new text, cut from quotes, banners and signatures, with
:mod:`.boilerplate` as its data), :mod:`.htmltext` and :mod:`.visibility`
(HTML rendered as a client shows it), :mod:`.verdicts` (approve or reject,
with :mod:`.languages` as its data), :mod:`.delegation` (a delegation instruction,
with the ``delegate`` entries of :mod:`.languages`), :mod:`.absence` (the return date of
an out-of-office reply, with :mod:`.absence_words` as its data) and :mod:`.parsing`,
which puts them together.
"""

from approvals.replies.absence import AbsenceReading, read_away_until
from approvals.replies.delegation import TWO_ADDRESSES, DelegationReading, read_delegation
from approvals.replies.kinds import AuthResult, ReplyKind
from approvals.replies.parsing import (
    BOTH_VERDICT_AND_DELEGATION,
    ParsedReply,
    TokenSighting,
    dmarc_passed,
    parse_reply,
    read_message,
)
from approvals.replies.quotes import extract_new_text
from approvals.replies.verdicts import Verdict

__all__ = [
    "BOTH_VERDICT_AND_DELEGATION",
    "TWO_ADDRESSES",
    "AbsenceReading",
    "AuthResult",
    "DelegationReading",
    "ParsedReply",
    "ReplyKind",
    "TokenSighting",
    "Verdict",
    "dmarc_passed",
    "extract_new_text",
    "parse_reply",
    "read_away_until",
    "read_delegation",
    "read_message",
]
