"""The outbox sends a dispatch a group at a time; the groups, and the dispatches after
them, share the SMTP sender's connections instead of opening their own.

Through the configured SMTP sender to a local server that tells its sessions apart.
"""

from __future__ import annotations

from pathlib import Path

from approvals.engine import ApprovalEngine
from approvals.mails import PACKAGED_TEMPLATES
from approvals.outbox import GROUP_SIZE
from approvals.settings import EngineSettings
from tests.engine_setup import SECRET
from tests.memory_setup import ENGINE_ADDRESS, INCOMING
from tests.servers.session_counter import SessionCounter, session_counter  # noqa: F401

CONNECTIONS = 2


def _engine(tmp_path: Path, port: int) -> ApprovalEngine:
    return ApprovalEngine(
        EngineSettings.model_validate(
            {
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
                        "host": "127.0.0.1",
                        "port": port,
                        "security": "none",
                        "local_hostname": "engine.localhost",
                        "pool": {"max_connections": CONNECTIONS},
                    },
                    INCOMING: {"type": "memory", "name": INCOMING},
                },
            }
        )
    )


def test_the_groups_of_a_dispatch_and_the_next_dispatch_share_connections(
    tmp_path: Path,
    session_counter: tuple[SessionCounter, int],  # noqa: F811
) -> None:
    handler, port = session_counter
    engine = _engine(tmp_path, port)
    approvers = [f"a{i}@example.test" for i in range(3 * GROUP_SIZE + 1)]
    engine.request_approvals([{"title": "Deploy", "approvers": [a]} for a in approvers])

    assert engine.dispatch_pending().sent == len(approvers)  # four groups
    engine.request_approval("Deploy again", ["b@example.test"])
    assert engine.dispatch_pending().sent == 1

    assert handler.sessions == CONNECTIONS
    assert handler.quits == 0
    engine.close()  # closing the engine closes its senders
    assert handler.quits == CONNECTIONS
