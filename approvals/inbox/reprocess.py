"""Read a refused reply again: its mail moved back into the reply folder, its record
forgotten, under the poll's lock (``approvals replies reprocess``, the console)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from approvals import requests
from approvals.models import InboxRecordRow, ReplyStatus
from approvals.settings import EngineSettings
from approvals.store import exclusive, reading
from mailio.errors import MailboxError
from mailio.inbound.base import Mailbox, RestorableMailbox

MailboxFactory = Callable[[EngineSettings], Mailbox]


@dataclass(frozen=True)
class Reprocessed:
    """What ``reprocess`` did: mails moved back into the reply folder, record forgotten."""

    message_id: str
    moved: int
    forgotten: bool
    request_id: str | None = None  # the request the refused reply named, if any


def reprocess_refused(
    db: Engine, settings: EngineSettings, mailbox_factory: MailboxFactory, message_id: str
) -> Reprocessed:
    """Move a refused reply from the failure folder back into the reply folder, then
    forget its record, so that the next poll reads it afresh.

    Nothing happens when no refused reply has that Message-ID (``forgotten`` False).
    A mail already moved back by hand is fine (``moved`` 0). Runs under the poll's
    lock, so that no poll reads the mail between the move and the forgetting.
    """
    key = message_id.strip().strip("<>")
    inbound = settings.inbound
    with reading(db) as session:
        record = session.exec(
            select(InboxRecordRow).where(
                col(InboxRecordRow.message_key) == key,
                col(InboxRecordRow.status) == ReplyStatus.FAILED,
            )
        ).first()
    if record is None:
        return Reprocessed(key, moved=0, forgotten=False)
    # The lock ApprovalEngine.process_replies takes for this folder.
    with exclusive(db, f"poll {inbound.server} {inbound.folder}") as ours:
        if not ours:
            raise MailboxError(
                f"another instance is polling {inbound.folder} now; try again in a moment"
            )
        mailbox = mailbox_factory(settings)
        try:
            if not isinstance(mailbox, RestorableMailbox):
                raise MailboxError(
                    f"the mailbox of [inbound] server {inbound.server!r} cannot move mail "
                    f"back; move {key} from {inbound.failure_folder} to {inbound.folder} "
                    "yourself and run `approvals reprocess` again"
                )
            moved = mailbox.restore(key, inbound.failure_folder)
        finally:
            mailbox.close()
        forgotten = requests.forget_refused_reply(db, key)
    return Reprocessed(key, moved=moved, forgotten=forgotten, request_id=record.request_id)
