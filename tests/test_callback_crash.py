"""An engine killed with SIGKILL while it posts outcomes to the webhook: another delivers
every outcome once the callback lease lapses, and only the outcome in flight twice.

Real processes: the deliverer runs in a subprocess over a SQLite file and posts to a
webhook served by an HTTP server in this process, which outlives the kill.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from approvals.callbacks import GROUP_SIZE, LEASE_SECONDS
from approvals.engine import ApprovalEngine
from approvals.mails import PACKAGED_TEMPLATES
from approvals.settings import EngineSettings
from tests.engine_setup import REPO, SECRET, Clock
from tests.memory_setup import ENGINE_ADDRESS, INCOMING, OUTGOING

OUTCOMES = 60
KILL_AFTER = 15  # outcomes posted

DELIVER = """
import json, sys
from approvals.engine import ApprovalEngine
from approvals.settings import EngineSettings
engine = ApprovalEngine(EngineSettings.model_validate(json.loads(sys.argv[1])))
engine.run_timers()  # delivers the final statuses after its (empty) timer work
"""


class SlowWebhook:
    """Answers each POST after ``delay`` seconds, recording it first, so that a kill lands
    mid-delivery; ``wait_for(count)`` blocks until that many were recorded."""

    def __init__(self, delay: float = 0.02) -> None:
        self.posts: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                time.sleep(delay)  # the workflow system's own latency
                with outer._changed:
                    outer.posts.append(body)
                    outer._changed.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/outcomes"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def wait_for(self, count: int, timeout: float = 30.0) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: len(self.posts) >= count, timeout)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[SlowWebhook]:
    server = SlowWebhook()
    yield server
    server.close()


def _settings(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    """The engine's settings as a dict: secrets survive JSON to the subprocess."""
    return {
        "store": {"url": f"sqlite:///{tmp_path / 'approvals.db'}"},
        "tokens": {"secret": SECRET},
        "outbound": {
            "server": OUTGOING,
            "from": f"Approvals <{ENGINE_ADDRESS}>",
            "reply_to": ENGINE_ADDRESS,
            "templates_dir": str(PACKAGED_TEMPLATES),
        },
        "inbound": {"server": INCOMING},
        "servers": {
            OUTGOING: {"type": "memory", "name": OUTGOING},
            INCOMING: {"type": "memory", "name": INCOMING},
        },
        **extra,
    }


def test_a_killed_deliverer_leaves_every_outcome_to_the_next_within_the_lease(
    tmp_path: Path, webhook: SlowWebhook
) -> None:
    clock = Clock()
    # The engine that closes the requests has no webhook: the outcomes wait for one.
    closer = ApprovalEngine(EngineSettings.model_validate(_settings(tmp_path)), clock=clock)
    closed = closer.request_approvals(
        [{"title": f"Deploy {i}", "approvers": ["a@example.test"]} for i in range(OUTCOMES)]
    )
    for request in closed:
        closer.cancel(request.id)
    closer.close()
    with_webhook = _settings(tmp_path, callback={"url": webhook.url})

    deliverer = subprocess.Popen(
        [sys.executable, "-c", DELIVER, json.dumps(with_webhook)], cwd=REPO
    )
    try:
        assert webhook.wait_for(KILL_AFTER), "the deliverer posted too little before the kill"
        deliverer.send_signal(signal.SIGKILL)
    finally:
        deliverer.wait()
    killed_at = len(webhook.posts)
    assert killed_at < OUTCOMES, "the deliverer finished before it was killed"

    successor = ApprovalEngine(EngineSettings.model_validate(with_webhook), clock=clock)
    successor.run_timers()  # within the lease: all but the dead one's claim
    waiting = {r.id for r in closed} - {post["id"] for post in webhook.posts}
    assert len(waiting) <= GROUP_SIZE, (killed_at, len(waiting))

    clock.offset = timedelta(seconds=LEASE_SECONDS + 1)
    successor.run_timers()
    outcome_events = Counter(
        request.id
        for request in closed
        for event in successor.history(request.id)
        if event.kind == "outcome"
    )
    successor.close()

    posted = Counter(post["id"] for post in webhook.posts)
    assert set(posted) == {request.id for request in closed}  # every outcome, at least once
    assert {post["status"] for post in webhook.posts} == {"cancelled"}
    assert sum(posted.values()) - OUTCOMES <= 1, (killed_at, posted.most_common(3))
    assert outcome_events == Counter({request.id: 1 for request in closed})  # marked once each
