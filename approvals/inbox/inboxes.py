"""The engine's reply mailboxes by name (``[inbound]`` and its ``[inbound.NAME]`` tables).

Each is kept from cycle to cycle in its own :class:`MailboxPool`, polled under its own
lock across instances, recorded as its own poll cycles (its health), and, in
``mode = "idle"``, waited on until its server announces new mail.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Engine

from approvals.cycles import CycleKind, run_recorded
from approvals.errors import ApprovalError
from approvals.inbox.claims import StoredClaims
from approvals.inbox.polling import MailboxPool, poll_mailbox, process_report
from approvals.reports import ProcessReport, combined
from approvals.settings import EngineSettings, mailbox_table
from approvals.store import exclusive
from mailio.errors import MailIOError
from mailio.inbound.base import ArbitratedMailbox, Mailbox, WaitingMailbox
from mailio.inbound.wakeup import Arrival, Wakeup

log = logging.getLogger(__name__)


class Inboxes:
    """Poll and wait on the configured mailboxes; ``factory`` builds one from settings
    whose ``inbound`` is that mailbox (:meth:`EngineSettings.for_mailbox`)."""

    def __init__(
        self,
        db: Engine,
        factory: Callable[[EngineSettings], Mailbox],
        clock: Callable[[], datetime],
    ) -> None:
        self._db = db
        self._factory = factory
        self._clock = clock
        self._pools: dict[str, MailboxPool] = {}
        self._pools_lock = threading.Lock()  # watchers of several mailboxes start at once
        self._cannot_wait: set[str] = set()  # told once: its server has no IDLE
        # Several instances can share a store only on PostgreSQL (SQLite: one, by design).
        self._shared = db.dialect.name == "postgresql"
        self._instance = uuid.uuid4().hex  # whose claims are whose

    def poll_each(self, settings: EngineSettings, name: str | None) -> ProcessReport:
        """A poll cycle of mailbox ``name``, or of each in turn (None). A mailbox that
        fails does not stop the others; the first error is raised after them."""
        names = [name] if name is not None else list(settings.mailboxes)
        reports, failure = [], None
        for each in names:
            try:
                reports.append(self.poll(settings, each))
            except (MailIOError, ApprovalError) as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
        return combined(reports)

    def poll(self, settings: EngineSettings, name: str) -> ProcessReport:
        """One poll cycle of mailbox ``name``: at most ``max_messages`` replies applied;
        recorded as that mailbox's cycle."""
        mine = settings.for_mailbox(name)
        inbound = mine.inbound
        folder = f"{inbound.server} {inbound.folder}"

        def cycle() -> ProcessReport:
            with self._pool(name).borrowed(mine) as box:
                if self._shared and isinstance(box, ArbitratedMailbox):
                    # Instances share the folder message by message (approvals.inbox.claims).
                    claims = StoredClaims(self._db, folder, self._instance, self._clock)
                    box.arbiter = claims
                    judgements, problems = poll_mailbox(self._db, mine, box, self._clock())
                    claims.release([judgement.key for judgement in judgements])
                    return process_report(judgements, problems)
                with exclusive(self._db, f"poll {folder}") as ours:
                    if not ours:
                        log.info("another instance is polling %s now; skipping", inbound.folder)
                        return ProcessReport(problems=("another instance was polling this folder",))
                    judgements, problems = poll_mailbox(self._db, mine, box, self._clock())
            return process_report(judgements, problems)

        return run_recorded(self._db, self._clock, CycleKind.POLL, cycle, mailbox=name)

    def wait(self, settings: EngineSettings, name: str, timeout: float, wakeup: Wakeup) -> Arrival:
        """Wait until mailbox ``name``'s server announces new mail, ``wakeup`` is set or
        ``timeout`` seconds pass. A server that cannot announce (no IDLE) is waited on
        as a poll: for the timeout or the wakeup. Errors are the mailbox's (TransportError:
        it is closed, and the next cycle connects again)."""
        mine = settings.for_mailbox(name)
        with self._pool(name).borrowed(mine) as box:
            if isinstance(box, WaitingMailbox) and self._can_wait(name, box, mine):
                return box.wait_for_mail(timeout, wakeup)
        return Arrival.WOKEN if wakeup.wait(timeout) else Arrival.TIMED_OUT

    def _can_wait(self, name: str, box: WaitingMailbox, settings: EngineSettings) -> bool:
        if box.can_wait():
            self._cannot_wait.discard(name)
            return True
        if name not in self._cannot_wait:
            self._cannot_wait.add(name)
            inbound = settings.inbound
            log.warning(
                '%s mode = "idle": [servers.%s] does not offer IMAP IDLE; polling %s every '
                "%g minutes instead",
                mailbox_table(name),
                inbound.server,
                inbound.folder,
                inbound.interval_minutes,
            )
        return False

    def reconfigure(self, settings: EngineSettings) -> None:
        """Close the mailboxes a reload removed or pointed elsewhere."""
        with self._pools_lock:
            pools = dict(self._pools)
        for name, pool in pools.items():
            if name in settings.mailboxes:
                pool.reconfigure(settings.for_mailbox(name))
            elif pool.close_if_idle():
                with self._pools_lock:
                    self._pools.pop(name, None)

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()

    def _pool(self, name: str) -> MailboxPool:
        with self._pools_lock:
            return self._pools.setdefault(name, MailboxPool(self._factory))
