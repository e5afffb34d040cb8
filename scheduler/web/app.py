"""``create_app``: the console's Starlette application, its routes and its templates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Receive, Scope, Send

from approvals.engine import ApprovalEngine
from approvals.settings import WebSettings
from scheduler.web import pages, probes
from scheduler.web.auth import CSRF_FIELD, Auth, Session
from scheduler.web.pages import url, when

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Console:
    """What every page needs: the engine, the settings, logins, templates."""

    engine: ApprovalEngine
    web: WebSettings
    auth: Auth
    templates: Jinja2Templates

    def render(
        self,
        request: Request,
        template: str,
        session: Session | None,
        status_code: int = 200,
        **values: Any,
    ) -> Response:
        context = {
            "admin": session.admin if session else None,
            "csrf": session.csrf if session else "",
            "csrf_field": CSRF_FIELD,
            **values,
        }
        return self.templates.TemplateResponse(request, template, context, status_code=status_code)


def create_app(engine: ApprovalEngine, web: WebSettings) -> Starlette:
    """The console for ``engine``; ValueError when ``web`` lacks a secret key or admins."""
    auth = Auth(web, engine.operations.clock)
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["url"] = url
    environment.globals["when"] = when
    templates = Jinja2Templates(env=environment)
    routes: list[BaseRoute] = [
        *pages.routes,
        *probes.routes,
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(PathPrefix, prefix=web.root_path)])
    app.state.engine = engine  # probes read it at request time
    app.state.console = Console(engine, web, auth, templates)
    return app


class PathPrefix:
    """Serve under ``[web] root_path`` whether the reverse proxy strips the prefix or
    passes it on: links are made with it either way (``url``)."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self._app = app
        self._prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._prefix and scope["type"] in ("http", "websocket"):
            path: str = scope["path"]
            if not (path == self._prefix or path.startswith(self._prefix + "/")):
                path = self._prefix + path
            scope = {**scope, "root_path": self._prefix, "path": path}
        await self._app(scope, receive, send)
