"""A tiny OAuth2 token-introspection endpoint (RFC 7662) for Dovecot's oauth2 passdb.

Dovecot POSTs ``token=<bearer>``; we answer ``{"active": true, "username": user}``
only for the exact token registered for that user, so Dovecot accepts XOAUTH2 /
OAUTHBEARER for that user with that token and nothing else.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import MappingProxyType
from urllib.parse import parse_qs

from mailio.devservers.ports import LOOPBACK

INTROSPECTION_PATH = "/introspect"


class TokenIntrospectionServer:
    """Serves INTROSPECTION_PATH on a free loopback port in a daemon thread."""

    def __init__(self, tokens: Mapping[str, str]) -> None:
        # token -> user; a token belongs to exactly one user
        self._users_by_token = MappingProxyType({token: user for user, token in tokens.items()})
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("TokenIntrospectionServer is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}{INTROSPECTION_PATH}"

    def start(self) -> None:
        users_by_token = self._users_by_token

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - name fixed by http.server
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode("ascii", "replace"))
                token = (form.get("token") or [""])[0]
                user = users_by_token.get(token)
                reply = {"active": True, "username": user} if user else {"active": False}
                body = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass  # the request line would carry nothing useful; the body is a secret

        self._httpd = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="token-introspection", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None
