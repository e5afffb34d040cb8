"""approvals web: the admin console, and the password hashes its ``[web] admins`` hold.

    approvals web                  serve the console on [web] bind:port until Ctrl-C
    approvals web hash-password    a password hash for [web] admins

The console is also served inside ``approvals serve`` when ``[web] enabled = true``
(scheduler.web.server builds it for both). ``[web]`` is read at start: a change
takes effect at the next restart.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from typing import Any

from approvals.engine import ApprovalEngine
from scheduler.web.server import console_server

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
