"""The workflow system's webhook, as a local HTTP endpoint: records what the engine POSTs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class WorkflowSystem:
    """A local HTTP endpoint standing in for the workflow system's webhook.

    ``fail_next``: answer that many POSTs with 503 instead of recording them.
    """

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.fail_next = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if outer.fail_next:
                    outer.fail_next -= 1
                    self.send_response(503)
                else:
                    outer.posts.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/approvals"
        # shutdown() waits for the loop to look up: a short interval keeps teardown quick
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def workflow() -> Iterator[WorkflowSystem]:
    system = WorkflowSystem()
    yield system
    system.close()
