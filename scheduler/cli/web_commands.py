"""approvals web: the admin console, and the password hashes its ``[web] admins`` hold.

    approvals web                  serve the console on [web] bind:port until Ctrl-C
    approvals web hash-password    a password hash for [web] admins

The console is also served inside ``approvals serve`` when ``[web] enabled = true``
(:func:`console_server` builds it for both). ``[web]`` is read at start: a change
takes effect at the next restart.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
import threading
from typing import Any

import uvicorn

from approvals.engine import ApprovalEngine
from approvals.settings import WebSettings
from mailio.errors import ConfigError

log = logging.getLogger(__name__)


def add(commands: Any, common: argparse.ArgumentParser) -> None:
    web = commands.add_parser(
        "web",
        parents=[common],
        help="the admin console: serve it, or hash a password for [web] admins",
        description=(
            "Serve the admin console on [web] bind and port until Ctrl-C or SIGTERM "
            "([web] secret_key and admins are required). /metrics, /healthz and /readyz "
            "need no login: keep them on the internal network."
        ),
        epilog="example: approvals web --config /etc/approvals/approvals.toml",
    )
    web.set_defaults(run=_serve_console)
    actions = web.add_subparsers(dest="web_command", metavar="{hash-password}")
    hashing = actions.add_parser(
        "hash-password",
        help="read a password (twice, not shown) and print its hash for [web] admins",
        description="Prints scrypt$n$r$p$salt$hash: put it in [web] admins as "
        'name = "scrypt$…". The password is read from the terminal without echo.',
        epilog='example: approvals web hash-password   (then: [web.admins] alice = "scrypt$…")',
    )
    hashing.add_argument(
        "--stdin",
        action="store_true",
        help="read one line from standard input instead (for scripts; asked once)",
    )
    hashing.set_defaults(run=_hash_password)


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


def _serve_console(args: argparse.Namespace) -> int:
    engine = ApprovalEngine.from_config(args.config)
    try:
        web = engine.settings.web
        server = console_server(engine, web)
        log.info("console on http://%s:%d%s/", web.bind, web.port, web.root_path)
        server.run()  # in the main thread uvicorn stops cleanly on Ctrl-C and SIGTERM
    finally:
        engine.close()
    return 0


def _hash_password(args: argparse.Namespace) -> int:
    from scheduler.web.auth import hash_password

    if args.stdin:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("the two passwords differ; nothing printed", file=sys.stderr)
            return 1
    if not password:
        print("an empty password cannot log in; nothing printed", file=sys.stderr)
        return 1
    print(hash_password(password))
    return 0


def _config_name(engine: ApprovalEngine) -> str:
    path = engine.settings.config_path
    return str(path) if path is not None else "the settings"
