"""ApprovalEngine: the public Python API. Wiring and delegation only.

Synchronous for callers. Each call opens what it needs (database sessions) and
closes it before returning; the reply mailbox and the senders are kept across
calls, until :meth:`ApprovalEngine.close` or a reload that changes them. The work is done elsewhere:
:mod:`approvals.requests` (create, cancel, look up), :mod:`approvals.outbox`
(send), :mod:`approvals.inbox` (read replies, judge, record),
:mod:`approvals.callbacks` (tell the workflow system), :mod:`approvals.selftest`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from approvals import requests
from approvals.callbacks import CallbackDelivery, DecisionCallback
from approvals.cursors import StoredCursors
from approvals.cycles import CycleKind, recorded
from approvals.errors import SchemaOutdated
from approvals.inbox.inboxes import Inboxes
from approvals.mails import missing_mail_templates
from approvals.models import ApprovalRequest, Event, NotificationLog
from approvals.operations import Operations
from approvals.outbox import SenderPool, dispatch_due
from approvals.reports import DispatchReport, ProcessReport
from approvals.selftest import probe_configuration
from approvals.settings import EngineSettings
from approvals.store import SchemaStatus, open_database, schema_state
from approvals.workflow.delegation import delegate, set_absence
from approvals.workflow.history import EventCallback, EventFeed, events_of
from approvals.workflow.timers import TimerReport, expire_due, run_timers
from mailio.compose import Attachment
from mailio.config import RetrySettings
from mailio.errors import ConfigError
from mailio.factory import build_mailbox, build_sender
from mailio.inbound.base import CursorStore, Mailbox
from mailio.inbound.wakeup import Arrival, Wakeup
from mailio.outbound.base import Sender
from mailio.probe import ProbeStep

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ApprovalEngine:
    """Ask for approvals by email and apply the replies.

    ``mailbox_factory`` and ``sender_factory`` replace the configured servers
    (tests and benchmarks use them to wrap a real connection); ``clock``
    replaces the wall clock.
    """

    def __init__(
        self,
        settings: EngineSettings,
        *,
        clock: Clock = _utc_now,
        mailbox_factory: Callable[[EngineSettings], Mailbox] | None = None,
        sender_factory: Callable[[EngineSettings], Sequence[Sender]] | None = None,
    ) -> None:
        _check_templates(settings)
        self._settings = settings
        self._clock = clock
        self._db = open_database(
            settings.store.url, base_dir=settings.base_dir, config_path=settings.config_path
        )
        self._mailbox_factory = mailbox_factory or partial(
            _configured_mailbox, cursors=StoredCursors(self._db, clock)
        )
        self._callbacks = CallbackDelivery(self._db, clock)
        self._events = EventFeed(self._db)
        self._senders = SenderPool(sender_factory or _configured_senders)  # across calls
        self._inboxes = Inboxes(self._db, self._mailbox_factory, clock)  # across poll cycles

    @classmethod
    def from_config(cls, path: str | Path, **options: Any) -> ApprovalEngine:
        return cls(EngineSettings.load(path), **options)

    @property
    def settings(self) -> EngineSettings:
        return self._settings

    @property
    def operations(self) -> Operations:  # operator queries and actions (CLI, console)
        return Operations(self._db, self._settings, self._mailbox_factory, self._clock)

    def reload(self) -> EngineSettings:
        """Re-read the config file (interval, count, servers…); the store URL cannot change."""
        if self._settings.config_path is None:
            return self._settings
        fresh = _reread(self._settings)
        if (fresh.outbound, fresh.servers) != (self._settings.outbound, self._settings.servers):
            self._senders.close()
        self._settings = fresh
        self._inboxes.reconfigure(fresh)
        return fresh

    def close(self) -> None:
        self._senders.close()
        self._inboxes.close()
        self._db.dispose()

    # ---- asking -------------------------------------------------------------------------

    def request_approval(
        self,
        title: str,
        approvers: Iterable[str] | str | None = None,
        details: dict[str, Any] | None = None,
        external_id: str | None = None,
        template: str | None = None,
        attachments: Sequence[Attachment] = (),
        **workflow: Any,
    ) -> ApprovalRequest:
        """Store a request and queue its first stage's notifications, in one transaction.

        Returns at once; ``dispatch_pending`` sends. Asking again with the same
        ``external_id`` returns the first request and queues nothing. ``workflow``:
        ``language``, ``policy`` ("all" | "any" | "quorum:N"), ``stages``, ``due``
        (datetime or timedelta), ``reminders`` ({"after", "every", "max"} or None),
        ``escalate_to`` and ``escalate_after``; see README, "The workflow".
        """
        new = requests.new_request(
            self._settings,
            self._clock(),
            title,
            approvers,
            details=details,
            external_id=external_id,
            template=template,
            attachments=attachments,
            **workflow,
        )
        created = requests.create_request(self._db, self._settings, new, self._clock())
        self._events.publish()
        return created

    def request_approvals(self, specs: Iterable[Mapping[str, Any]]) -> list[ApprovalRequest]:
        """Many ``request_approval`` calls in one transaction, cheaper per request: each
        spec holds one call's keyword arguments (``title``, ``approvers``…). All are
        stored or, when one fails, none. Returns the requests in the specs' order."""
        news = requests.new_requests(self._settings, self._clock(), specs)
        created = requests.create_requests(self._db, self._settings, news, self._clock())
        self._events.publish()
        return created

    @recorded(CycleKind.DISPATCH)
    def dispatch_pending(self, limit: int = 500) -> DispatchReport:
        """Send queued notifications that are due; returns what happened."""
        senders = self._senders.active(self._settings)
        return dispatch_due(self._db, senders, _retry(self._settings), self._clock, limit)

    # ---- reading replies ----------------------------------------------------------------

    def process_replies(self, mailbox: str | None = None) -> ProcessReport:
        """One poll cycle: read at most ``max_messages`` replies of ``mailbox`` (a name in
        ``settings.mailboxes``) and apply them; of each mailbox in turn when None."""
        expire_due(self._db, self._settings, self._clock())
        try:
            return self._inboxes.poll_each(self._settings, mailbox)
        finally:
            self._after_commit()  # the decisions are committed, whatever the mailbox did

    def wait_for_replies(self, mailbox: str, timeout: float, wakeup: Wakeup) -> Arrival:
        """Wait until ``mailbox``'s server announces new mail (IMAP IDLE), ``wakeup`` is
        set or ``timeout`` seconds pass (see approvals.inbox.inboxes)."""
        return self._inboxes.wait(self._settings, mailbox, timeout, wakeup)

    def reprocess(self, message_id: str) -> bool:
        """Forget a refused reply (moved back by hand) so the next poll reads it afresh;
        False: no refused reply has that Message-ID. ``operations.reprocess`` moves it too."""
        return requests.forget_refused_reply(self._db, message_id)

    def _after_commit(self, only: str | None = None) -> None:
        """Tell callbacks and the webhook about final statuses, then on_event callbacks."""
        self._callbacks.deliver(self._settings, only)
        self._events.publish()

    # ---- looking up ---------------------------------------------------------------------

    def on_decision(self, callback: DecisionCallback) -> DecisionCallback:
        """Call ``callback(request)`` once per final status. Usable as a decorator."""
        self._callbacks.add(callback)
        self._after_commit()
        return callback

    def on_event(self, callback: EventCallback) -> EventCallback:
        """Call ``callback(event)`` for every history event committed from now on."""
        self._events.add(callback)
        return callback

    def get(self, request_id: str) -> ApprovalRequest:
        return requests.get_request(self._db, request_id, self._settings.policy.mode)

    def find(self, *, external_id: str) -> ApprovalRequest | None:
        return requests.find_request(self._db, external_id, self._settings.policy.mode)

    def cancel(self, request_id: str) -> ApprovalRequest:
        """Cancel a pending request: queued notifications are not sent, waiting seats told."""
        requests.cancel_request(self._db, self._settings, request_id, self._clock())
        self._after_commit(only=request_id)
        return self.get(request_id)

    # ---- the workflow -------------------------------------------------------------------

    @recorded(CycleKind.TIMERS)
    def run_timers(self) -> TimerReport:
        """Deadlines, escalations and reminders that are due (``serve`` runs it every minute)."""
        report = run_timers(self._db, self._settings, self._clock())
        self._after_commit()
        return report

    def delegate(self, request_id: str, from_approver: str, to_approver: str) -> ApprovalRequest:
        """Hand ``from_approver``'s waiting seat to ``to_approver``, who gets their own token."""
        delegate(self._db, self._settings, request_id, from_approver, to_approver, self._clock())
        self._after_commit()
        return self.get(request_id)

    def set_absence(self, approver: str, delegate: str, start: datetime, end: datetime) -> None:
        """Between ``start`` and ``end``, ``approver``'s new notifications go to ``delegate``."""
        set_absence(self._db, approver, delegate, start, end, self._clock())

    def history(self, request_id: str) -> list[Event]:
        self.get(request_id)  # UnknownRequest for an unknown id, not an empty history
        return events_of(self._db, request_id)

    def raw_reply(self, request_id: str, message_id: str) -> bytes | None:
        """The raw reply a decision was read from (None once [store] keep_raw_days passed)."""
        return requests.raw_reply(self._db, request_id, message_id)

    def test_configuration(self, to: str | None = None, **options: bool) -> list[ProbeStep]:
        """Test each sender and the reply folder; ``round_trip=True``: and that mail comes
        back; ``probe_only=True``: only that (the canary). See approvals.selftest."""
        senders, settings = self._senders.active(self._settings), self._settings
        mailboxes = partial(self._mailbox_factory, settings)
        return probe_configuration(settings, senders, mailboxes, self._clock(), to=to, **options)

    def outbox(self, request_id: str | None = None, limit: int = 100) -> list[NotificationLog]:
        """The outgoing notification log, newest first."""
        return requests.notification_log(self._db, request_id, limit)

    def notification_message(self, notification_id: int) -> bytes:
        """The raw message of one outbox entry (``outbox()[i].id``), as sent."""
        return requests.notification_message(self._db, notification_id)


def _reread(current: EngineSettings) -> EngineSettings:
    """The config file read again; the store URL cannot change without a restart."""
    assert current.config_path is not None
    fresh = EngineSettings.load(current.config_path)
    _check_templates(fresh)
    if fresh.store.url != current.store.url:
        log.warning("[store] url changed in %s: restart to use it", fresh.config_path)
    return fresh


def _retry(settings: EngineSettings) -> RetrySettings:
    """The main sender's retry settings (every sending server has them)."""
    primary = settings.servers[settings.outbound.server]
    return getattr(primary, "retry", None) or RetrySettings()


def check_settings(settings: EngineSettings) -> None:
    """What ``check-config`` verifies beyond the file, changing nothing: the theme is
    complete, the store answers and its schema is the code's (an SQLite file that does
    not exist yet needs an existing folder; no file and no table is created)."""
    _check_templates(settings)
    db = open_database(settings.store.url, base_dir=settings.base_dir, create=False)
    try:
        database = db.url.database if db.dialect.name == "sqlite" else None
        if database and database != ":memory:" and not Path(database).exists():
            if not Path(database).parent.is_dir():
                raise ConfigError(f"[store] url: folder {Path(database).parent} does not exist")
            return
        state = schema_state(db)
        if state.status in (SchemaStatus.BEHIND, SchemaStatus.AHEAD):
            raise SchemaOutdated(state.refusal(settings.config_path))
    finally:
        db.dispose()


def _check_templates(settings: EngineSettings) -> None:
    """Fail at start-up, not in a caller's request_approval, when the theme is incomplete."""
    outbound = settings.outbound
    missing = missing_mail_templates(
        settings.templates_dir, outbound.theme, plain_text_only=outbound.plain_text_only
    )
    if missing:
        where = f"{settings.config_path}, " if settings.config_path else ""
        raise ConfigError(
            f'{where}[outbound] theme = "{outbound.theme}": missing {", ".join(missing)}; '
            "`approvals init --templates` writes a copy of the default theme to edit"
        )


def _configured_mailbox(settings: EngineSettings, cursors: CursorStore) -> Mailbox:
    inbound = settings.inbound
    return build_mailbox(settings.servers[inbound.server], inbound.folder, cursors)


def _configured_senders(settings: EngineSettings) -> list[Sender]:
    # EngineSettings validates that every name is a server that can send.
    return [build_sender(settings.servers[name]) for name in settings.outbound.server_names]
