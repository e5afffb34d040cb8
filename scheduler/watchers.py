"""Each mailbox's watcher: the thread that reads its replies, cycle after cycle.

``mode = "poll"``: a cycle, then a wait of ``interval_minutes`` (FlexDeploy's way).
``mode = "idle"``: a cycle, then a wait until the server announces new mail (IMAP IDLE)
or ``interval_minutes`` pass (the safety net); a full batch is followed by the next at
once. A connection lost while waiting is logged and the folder read again, after a
backoff when it keeps failing (1 s doubling to 60 s). A server without IDLE is polled.

A watcher reads its mailbox's settings afresh before each wait, so a reload that
changes the mode or the interval takes effect without a restart; :class:`Watchers`
starts and stops watchers as mailboxes are added to or removed from the config.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from approvals.engine import ApprovalEngine
from approvals.errors import ApprovalError
from approvals.reports import ProcessReport
from approvals.settings import MailboxSettings, mailbox_table
from mailio.errors import MailIOError
from mailio.inbound.wakeup import Wakeup

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 60
STOP_SECONDS = 30  # how long stop() waits for a cycle in progress

Cycle = Callable[[str], ProcessReport | None]  # a mailbox's cycle; None: it failed (logged)


def backoff_seconds(failures: int) -> float:
    """1, 2, 4 … 60 seconds before the next try after ``failures`` failures in a row."""
    return float(min(2 ** max(failures - 1, 0), MAX_BACKOFF_SECONDS))


class MailboxWatcher:
    """The thread that runs mailbox ``name``'s cycles and waits between them."""

    def __init__(self, engine: ApprovalEngine, name: str, cycle: Cycle) -> None:
        self.name = name
        self._engine = engine
        self._cycle = cycle
        self._wakeup = Wakeup()
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"approvals-watch-{name}", daemon=True
        )

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> MailboxWatcher:
        self._thread.start()
        return self

    def wake(self) -> None:
        """A cycle now (after the one running, if one is), not at the end of the wait."""
        self._wakeup.set()

    def stop(self, wait: bool = True) -> None:
        """End after the cycle in progress; ``wait``: for it (not when called from the
        watcher itself, nor from a cycle, which holds the lock the watcher may wait on)."""
        self._stopping.set()
        self._wakeup.set()
        if wait and self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(STOP_SECONDS)

    def _run(self) -> None:
        failures = 0
        try:
            while not self._stopping.is_set():
                report = self._cycle(self.name)
                mailbox = self._engine.settings.mailboxes.get(self.name)
                if self._stopping.is_set() or mailbox is None:
                    return
                failures = 0 if report is not None else failures + 1
                if report is not None and report.fetched >= mailbox.max_messages:
                    continue  # a backlog: the next batch at once
                failures = self._wait(mailbox, failures)
        finally:
            self._wakeup.close()

    def _wait(self, mailbox: MailboxSettings, failures: int) -> int:
        """Wait for the next cycle; returns the failures in a row after the wait."""
        interval = mailbox.interval_minutes * 60
        if mailbox.mode == "poll":
            self._wakeup.wait(interval)
            return failures
        if failures:  # the last cycle failed (the server down?): try again soon, not at once
            self._wakeup.wait(backoff_seconds(failures))
            return failures
        try:
            self._engine.wait_for_replies(self.name, interval, self._wakeup)
        except (MailIOError, ApprovalError) as exc:
            log.warning(
                "%s: waiting for new mail in %s failed (%s); reading the folder again",
                mailbox_table(self.name),
                mailbox.folder,
                exc,
                extra={"server": mailbox.server},
            )
        return 0


class Watchers:
    """A watcher per configured mailbox; ``cycle`` runs one mailbox's cycle."""

    def __init__(self, engine: ApprovalEngine, cycle: Cycle) -> None:
        self._engine = engine
        self._cycle = cycle
        self._watchers: dict[str, MailboxWatcher] = {}
        self._lock = threading.Lock()
        self._started = False

    def start(self) -> None:
        self._started = True
        self.reconcile()

    def reconcile(self) -> None:
        """Start a watcher for each mailbox the settings name, stop those they no longer
        name, and wake the others (their mailbox's settings may have changed)."""
        if not self._started:
            return
        names = list(self._engine.settings.mailboxes)
        with self._lock:
            gone = [self._watchers.pop(name) for name in list(self._watchers) if name not in names]
            for name in names:
                if name not in self._watchers:
                    self._watchers[name] = MailboxWatcher(self._engine, name, self._cycle).start()
                else:
                    self._watchers[name].wake()
        for watcher in gone:
            log.info("%s is no longer configured: its watcher stops", mailbox_table(watcher.name))
            watcher.stop(wait=False)  # called from a cycle: it ends after its own

    def wake(self) -> None:
        """A cycle of every mailbox now."""
        with self._lock:
            watchers = list(self._watchers.values())
        for watcher in watchers:
            watcher.wake()

    def stop(self) -> None:
        self._started = False
        with self._lock:
            watchers, self._watchers = list(self._watchers.values()), {}
        for watcher in watchers:
            watcher.stop()

    @property
    def running(self) -> bool:
        with self._lock:
            return any(watcher.running for watcher in self._watchers.values())
