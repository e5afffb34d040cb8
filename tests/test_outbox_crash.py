"""A dispatcher killed with SIGKILL mid-dispatch: the next one takes over once the lease
lapses, and only the group in flight is sent twice.

Real processes: the dispatcher runs in a subprocess over a SQLite file and sends
through the pooled SMTP sender to a recording sink in this process.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from approvals.engine import ApprovalEngine
from approvals.mails import PACKAGED_TEMPLATES
from approvals.models import NotificationStatus
from approvals.outbox import GROUP_SIZE, LEASE_SECONDS
from approvals.settings import EngineSettings
from tests.engine_setup import REPO, SECRET, Clock
from tests.memory_setup import ENGINE_ADDRESS, INCOMING
from tests.servers.recording_sink import RecordingSink

NOTIFICATIONS = 200
KILL_AFTER = 90  # accepted messages
CONNECTIONS = 4

DISPATCH = """
import json, sys
from approvals.engine import ApprovalEngine
from approvals.mails import PACKAGED_TEMPLATES
from approvals.settings import EngineSettings
engine = ApprovalEngine(EngineSettings.model_validate(json.loads(sys.argv[1])))
engine.dispatch_pending(limit=1000)
"""


def _settings(tmp_path: Path, sink: RecordingSink) -> dict[str, Any]:
    """The engine's settings as a dict: secrets survive JSON to the subprocess."""
    return {
        "store": {"url": f"sqlite:///{tmp_path / 'approvals.db'}"},
        "tokens": {"secret": SECRET},
        "outbound": {
            "server": "sink",
            "from": f"Approvals <{ENGINE_ADDRESS}>",
            "reply_to": ENGINE_ADDRESS,
            "templates_dir": str(PACKAGED_TEMPLATES),
        },
        "inbound": {"server": INCOMING},
        "servers": {
            "sink": {
                "type": "smtp",
                "name": "sink",
                "host": sink.host,
                "port": sink.port,
                "security": "none",
                "local_hostname": "engine.localhost",
                "pool": {"max_connections": CONNECTIONS},
            },
            INCOMING: {"type": "memory", "name": INCOMING},
        },
    }


def test_a_killed_dispatcher_resends_at_most_the_group_in_flight(tmp_path: Path) -> None:
    with RecordingSink() as sink:
        settings = _settings(tmp_path, sink)
        clock = Clock()
        engine = ApprovalEngine(EngineSettings.model_validate(settings), clock=clock)
        approvers = [f"a{i}@example.test" for i in range(NOTIFICATIONS)]
        for approver in approvers:
            engine.request_approval("Deploy", [approver])

        dispatcher = subprocess.Popen(
            [sys.executable, "-c", DISPATCH, json.dumps(settings)],
            cwd=REPO,
        )
        try:
            assert sink.wait_for(KILL_AFTER), "the dispatcher sent too little before the kill"
            dispatcher.send_signal(signal.SIGKILL)
        finally:
            dispatcher.wait()
        killed_at = len(sink.accepted)
        assert killed_at < NOTIFICATIONS, "the dispatcher finished before it was killed"

        # Within the lease the rows stay claimed: a second dispatcher finds nothing due.
        assert engine.dispatch_pending().sent == 0
        clock.offset = timedelta(seconds=LEASE_SECONDS + 1)
        while engine.dispatch_pending().sent:
            pass
        statuses = Counter(entry.status for entry in engine.outbox(limit=NOTIFICATIONS))
        engine.close()

    assert statuses == Counter({NotificationStatus.SENT: NOTIFICATIONS})  # none left in sending
    delivered = Counter(rcpt for rcpts in sink.accepted for rcpt in rcpts)
    assert set(delivered) == set(approvers)  # every notification accepted at least once
    duplicates = sum(delivered.values()) - NOTIFICATIONS
    assert duplicates <= GROUP_SIZE, (killed_at, duplicates)
