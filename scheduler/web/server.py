"""The console's and the metrics' HTTP servers: uvicorn, in the main thread (``approvals
web``) or on a thread beside the scheduler (``approvals serve``)."""

from __future__ import annotations

import threading

import uvicorn
from starlette.applications import Starlette

from approvals.engine import ApprovalEngine
from approvals.settings import WebSettings
from mailio.errors import ConfigError
from scheduler.web import probes


def console_server(engine: ApprovalEngine, web: WebSettings) -> uvicorn.Server:
    """A uvicorn server for the console on ``engine``, bound to ``[web] bind``/``port``.

    ConfigError naming ``[web] secret_key`` or ``admins`` when the console cannot run.
    """
    try:
        web.require_runnable()
    except ValueError as exc:
        raise ConfigError(f"{_config_name(engine)}: {exc}") from exc
    from scheduler.web.app import create_app  # the console's pages; loaded only when served

    config = uvicorn.Config(
        create_app(engine, web),
        host=web.bind,
        port=web.port,
        # Not root_path=: uvicorn would prefix every path with it, so a proxy that passes
        # the prefix on would reach /approvals/approvals/…; the app's PathPrefix takes
        # [web] root_path both ways (stripped or passed on).
        log_config=None,  # our handlers and format (scheduler.logs), not uvicorn's
        server_header=False,
    )
    return uvicorn.Server(config)


class ConsoleThread:
    """The console served on a thread beside the scheduler (``approvals serve``)."""

    def __init__(self, server: uvicorn.Server) -> None:
        self._server = server
        # uvicorn installs no signal handlers off the main thread: the caller stops it.
        self._thread = threading.Thread(target=server.run, name="approvals-web", daemon=True)

    def start(self) -> ConsoleThread:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        """Ask uvicorn to finish the requests in flight and stop; wait for it."""
        self._server.should_exit = True
        self._thread.join(timeout)


def metrics_server(engine: ApprovalEngine, listen: str) -> uvicorn.Server:
    """/metrics, /healthz and /readyz alone, on ``[metrics] listen`` (no console)."""
    host, _, port = listen.rpartition(":")
    app = Starlette(routes=probes.routes)
    app.state.engine = engine
    config = uvicorn.Config(
        app, host=host.strip("[]"), port=int(port), log_config=None, server_header=False
    )
    return uvicorn.Server(config)


def _config_name(engine: ApprovalEngine) -> str:
    path = engine.settings.config_path
    return str(path) if path is not None else "the settings"
