"""One poll cycle against a mailbox: fetch a batch, record it, then move or delete the mail.

The engine's mailbox is kept from cycle to cycle in a :class:`MailboxPool`: an IMAP
mailbox keeps its session and reads only what is new in the folder.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from approvals.disposition import KEEP, Disposition
from approvals.inbox.judge import Judgement
from approvals.inbox.recorder import handle_batch
from approvals.models import ReplyStatus, RequestRow
from approvals.reports import ProcessReport, ReplyReport
from approvals.settings import EngineSettings
from approvals.store import reading
from mailio.errors import MailboxError
from mailio.inbound.base import FetchedMessage, Mailbox, SizeLimitedMailbox, header_block

log = logging.getLogger(__name__)


class MailboxPool:
    """The engine's reply mailbox, built on first use and kept across poll cycles (its
    session and what it knows of the folder with it) until closed: on engine close, or
    when the [inbound] settings or their server change (a reload)."""

    def __init__(self, factory: Callable[[EngineSettings], Mailbox]) -> None:
        self._factory = factory
        self._mailbox: Mailbox | None = None
        self._built_for: object = None  # the settings it was built from
        self._busy = threading.Lock()

    @contextmanager
    def borrowed(self, settings: EngineSettings) -> Iterator[Mailbox]:
        """The kept mailbox for one cycle; a cycle that fails closes it (the next builds
        a new one). While another thread borrows it, a throwaway mailbox instead."""
        if not self._busy.acquire(blocking=False):
            with _closing(self._factory(settings)) as throwaway:
                yield throwaway
            return
        try:
            self._replace_if_changed(settings)
            if self._mailbox is None:
                self._mailbox = self._factory(settings)
                self._built_for = _mailbox_settings(settings)
            try:
                yield self._mailbox
            except BaseException:
                self.close()
                raise
        finally:
            self._busy.release()

    def reconfigure(self, settings: EngineSettings) -> None:
        """Close the kept mailbox when ``settings`` read another folder or server. While
        another thread borrows it (waiting for mail), that thread's next borrow does."""
        if not self._busy.acquire(blocking=False):
            return
        try:
            self._replace_if_changed(settings)
        finally:
            self._busy.release()

    def close_if_idle(self) -> bool:
        """Close the kept mailbox unless another thread borrows it; True when closed."""
        if not self._busy.acquire(blocking=False):
            return False
        try:
            self.close()
            return True
        finally:
            self._busy.release()

    def _replace_if_changed(self, settings: EngineSettings) -> None:
        if self._mailbox is not None and self._built_for != _mailbox_settings(settings):
            self.close()

    def close(self) -> None:
        mailbox, self._mailbox = self._mailbox, None
        if mailbox is not None:
            mailbox.close()


def _mailbox_settings(settings: EngineSettings) -> object:
    return settings.inbound, settings.servers.get(settings.inbound.server)


@contextmanager
def _closing(mailbox: Mailbox) -> Iterator[Mailbox]:
    try:
        yield mailbox
    finally:
        mailbox.close()


def poll_mailbox(
    db: Engine, settings: EngineSettings, mailbox: Mailbox, now: datetime
) -> tuple[list[Judgement], list[str]]:
    """Read at most ``max_messages`` replies and apply them; (judgements, mailbox problems).

    The caller closes the mailbox (:class:`MailboxPool` keeps it for the next cycle).
    """
    inbound = settings.inbound
    if isinstance(mailbox, SizeLimitedMailbox):
        mailbox.max_message_bytes = inbound.max_message_bytes  # it then skips the bodies over it
    batch = mailbox.fetch_batch(inbound.max_messages)
    judgements = record_fetched(db, settings, batch, now)
    log_judgements(db, judgements)
    return judgements, dispose(mailbox, batch, judgements)


def log_judgements(db: Engine, judgements: Sequence[Judgement]) -> None:
    """One line per reply; decisions and handovers name the request an admin knows:
    ``decided: request 4f2a… (external_id=run-8812, "Deploy 4.2"): approve by alice@…``."""
    named = {
        judgement.request_id
        for judgement in judgements
        if judgement.request_id and judgement.status in (ReplyStatus.DECIDED, ReplyStatus.DELEGATED)
    }
    names = _request_names(db, named) if named else {}
    for judgement in judgements:
        request = names.get(judgement.request_id or "")
        fields = {"reply": judgement.key, "status": judgement.status.value}
        if judgement.request_id:
            fields["request_id"] = judgement.request_id
        if request is None:
            level = logging.WARNING if judgement.status is ReplyStatus.FAILED else logging.INFO
            log.log(
                level,
                "reply %s: %s (%s)",
                judgement.key,
                judgement.status,
                judgement.reason,
                extra=fields,
            )
        elif judgement.decided is not None:
            decided = judgement.decided
            outcome = f"; request {decided.closes}" if decided.closes else ""
            log.info(
                "decided: %s: %s by %s%s",
                request,
                decided.verdict,
                decided.notification.approver,
                outcome,
                extra=fields,
            )
        elif judgement.handover is not None:
            handover = judgement.handover
            log.info(
                "delegated: %s: %s handed their seat to %s",
                request,
                handover.notification.approver,
                handover.to,
                extra=fields,
            )
        else:
            log.info("%s: %s (%s)", judgement.status, request, judgement.reason, extra=fields)


def _request_names(db: Engine, request_ids: set[str]) -> dict[str, str]:
    """``request <id> (external_id=…, "title")`` for each id: one query per batch."""
    with reading(db) as session:
        rows = session.exec(
            select(RequestRow.id, RequestRow.external_id, RequestRow.title).where(
                col(RequestRow.id).in_(request_ids)
            )
        ).all()
    return {
        request_id: f"request {request_id} ("
        + (f"external_id={external_id}, " if external_id else "")
        + f"{json.dumps(title, ensure_ascii=False)})"
        for request_id, external_id, title in rows
    }


def record_fetched(
    db: Engine, settings: EngineSettings, batch: Sequence[FetchedMessage], now: datetime
) -> list[Judgement]:
    """Judgements in ``batch`` order; a message over the size limit is never parsed in full.

    A mailbox that does not know the limit (no ``max_message_bytes``) fetched such a
    message whole; it is cut to its header here all the same.
    """
    max_bytes = settings.inbound.max_message_bytes
    unread = {
        index: message.size
        for index, message in enumerate(batch)
        if not message.complete or message.size > max_bytes
    }
    raws = [
        header_block(message.raw) if index in unread else message.raw
        for index, message in enumerate(batch)
    ]
    return handle_batch(db, settings, raws, now, unread=unread)


def dispose(
    mailbox: Mailbox, batch: Sequence[FetchedMessage], judgements: Sequence[Judgement]
) -> list[str]:
    """After every decision is committed: move or delete, one call per destination.

    A destination that fails (a failure folder that cannot be created) does not
    stop the others; its mail stays in the reply folder, is seen again next
    cycle as already handled, and the problem is reported and logged.
    """
    problems = []
    keys_by_disposition: dict[Disposition, list[str]] = {}
    for message, judgement in zip(batch, judgements, strict=True):
        keys_by_disposition.setdefault(judgement.disposition, []).append(message.key)
    keys_by_disposition.pop(KEEP, None)  # a conflict with another instance: read it again
    for disposition, keys in sorted(
        keys_by_disposition.items(), key=lambda item: item[0].action == "delete"
    ):
        try:
            if disposition.action == "delete":
                mailbox.delete(keys)
            else:
                mailbox.move(keys, disposition.folder)
        except MailboxError as exc:
            action = (
                "deleted" if disposition.action == "delete" else f"moved to {disposition.folder}"
            )
            problems.append(f"{len(keys)} processed message(s) could not be {action}: {exc}")
            log.error("%s", problems[-1])
    return problems


def process_report(judgements: Sequence[Judgement], problems: Sequence[str]) -> ProcessReport:
    counts = Counter(judgement.status for judgement in judgements)
    return ProcessReport(
        fetched=len(judgements),
        decided=counts[ReplyStatus.DECIDED],
        ignored=counts[ReplyStatus.IGNORED],
        failed=counts[ReplyStatus.FAILED],
        delegated=counts[ReplyStatus.DELEGATED],
        probes=counts[ReplyStatus.PROBE],
        messages=tuple(
            ReplyReport(j.key, j.status.value, j.reason, j.request_id) for j in judgements
        ),
        problems=tuple(problems),
    )
