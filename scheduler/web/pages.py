"""The console's pages: each reads through ``engine.operations`` (the queries the command
line uses) and acts through the engine; every action is recorded with the admin's name.

Page functions are plain (not async): they run on Starlette's thread pool, so the store
and the mail servers never block the event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from approvals.cycles import CycleKind, last_cycle
from approvals.errors import ApprovalError, RequestClosed, UnknownRequest
from approvals.models import ReplyStatus, RequestStatus
from approvals.workflow.timers import due_counts
from mailio.errors import MailIOError
from mailio.loading import describe_config
from mailio.probe import ProbeStep
from scheduler.web.auth import CSRF_FIELD, Session

if TYPE_CHECKING:
    from scheduler.web.app import Console

log = logging.getLogger(__name__)

PAGE_SIZE = 50
COUNT_LIMIT = 1000  # the overview counts up to this many, then shows "1000+"


@dataclass(frozen=True)
class Visit:
    """One request to a page that needs a login."""

    request: Request
    console: Console
    session: Session
    form: FormData | None  # POST only, its CSRF token checked

    @property
    def actor(self) -> str:
        return f"admin:{self.session.admin}"

    def render(self, template: str, status_code: int = 200, **values: Any) -> Response:
        return self.console.render(self.request, template, self.session, status_code, **values)

    def field(self, name: str) -> str:
        value = self.form.get(name) if self.form is not None else None
        return value.strip() if isinstance(value, str) else ""


PageFunction = Callable[[Visit], Response]


def admin_page(page: PageFunction) -> Callable[[Request], Awaitable[Response]]:
    """Log in first; a POST without this session's CSRF token is refused, changing nothing."""

    async def endpoint(request: Request) -> Response:
        console: Console = request.app.state.console
        session = console.auth.session(request)
        if session is None:
            target = ""
            if request.method == "GET":
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return _redirect(request, "login", {"next": target})
        form = None
        if request.method == "POST":
            form = await request.form()
            if not console.auth.csrf_ok(session, form.get(CSRF_FIELD)):
                log.warning("refused a console form without a valid CSRF token (%s)", request.url)
                return console.render(
                    request,
                    "error.html",
                    session,
                    403,
                    title="Form refused",
                    message="This form did not carry this session's token (it may be from an "
                    "older session or another site). Nothing was changed: reload the page "
                    "and try again.",
                )
        return await run_in_threadpool(page, Visit(request, console, session, form))

    return endpoint


def _redirect(
    request: Request, name: str, query: dict[str, Any] | None = None, **params: Any
) -> RedirectResponse:
    return RedirectResponse(url(request, name, query, **params), status_code=303)


def url(request: Request, name: str, query: dict[str, Any] | None = None, **params: Any) -> str:
    """The path of route ``name`` with the prefix (no scheme or host: the proxy's are
    not ours to guess), and ``query`` without its empty values."""
    path = request.scope.get("root_path", "") + str(request.app.url_path_for(name, **params))
    kept = {key: value for key, value in (query or {}).items() if value not in (None, "")}
    if kept:
        path += "?" + urlencode(kept)
    return path


def when(moment: datetime | None, empty: str = "–") -> Markup:
    """``<time>`` in UTC; a few lines of script show it in the viewer's zone."""
    if moment is None:
        return Markup(escape(empty))
    return Markup('<time datetime="{}">{} UTC</time>').format(
        moment.isoformat(), moment.strftime("%Y-%m-%d %H:%M")
    )


def _page_number(request: Request) -> int:
    try:
        return max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        return 1


# ---- login ---------------------------------------------------------------------------------


async def login(request: Request) -> Response:
    console: Console = request.app.state.console
    next_path = request.query_params.get("next", "")
    if request.method == "GET":
        return console.render(request, "login.html", None, next=next_path, error=None)
    form = await request.form()
    name = str(form.get("name", "")).strip()
    password = str(form.get("password", ""))
    next_path = str(form.get("next", ""))
    if console.auth.locked(request, name):
        log.warning("console login for %r refused: locked out", name)
        minutes = f"{console.web.lockout_minutes:g}"
        error = f"Too many failed logins. Try again in {minutes} minutes."
        return console.render(request, "login.html", None, 429, next=next_path, error=error)
    session = await run_in_threadpool(console.auth.login, request, name, password)
    if session is None:
        log.warning("console login for %r failed", name)
        error = "Wrong name or password."
        return console.render(request, "login.html", None, 401, next=next_path, error=error)
    log.info("admin %s logged in to the console", name)
    root = request.scope.get("root_path", "")
    # Only a path of this console: never an address elsewhere.
    safe = next_path.startswith(root + "/") and not next_path.startswith("//")
    response = RedirectResponse(next_path if safe else root + "/", status_code=303)
    console.auth.set_cookie(response, request, session)
    return response


def logout(visit: Visit) -> Response:
    visit.console.auth.logout(visit.session)
    log.info("admin %s logged out of the console", visit.session.admin)
    response = _redirect(visit.request, "login")
    visit.console.auth.clear_cookie(response, visit.request)
    return response


# ---- overview ------------------------------------------------------------------------------


def overview(visit: Visit) -> Response:
    operations = visit.console.engine.operations
    try:
        status = operations.status()
        store_error = None
    except ApprovalError as exc:  # the store cannot be read
        status, store_error = None, str(exc)
    pending = decided_today = due = None
    if status is not None:
        due = due_counts(operations.db, operations.clock())
        pending = len(operations.requests(status=RequestStatus.PENDING, limit=COUNT_LIMIT))
        midnight = operations.clock().astimezone(UTC).replace(hour=0, minute=0, second=0)
        decided_today = sum(
            1
            for status_ in (RequestStatus.APPROVED, RequestStatus.REJECTED)
            for summary in operations.requests(status=status_, limit=COUNT_LIMIT)
            if summary.closed_at is not None and summary.closed_at >= midnight
        )
    return visit.render(
        "overview.html",
        status=status,
        store_error=store_error,
        pending=pending,
        decided_today=decided_today,
        due=due,
        count_limit=COUNT_LIMIT,
    )


# ---- requests ------------------------------------------------------------------------------


def request_list(visit: Visit) -> Response:
    query = visit.request.query_params
    operations = visit.console.engine.operations
    external_id = query.get("external_id", "").strip()
    if external_id:
        try:
            found = operations.resolve(external_id)
        except UnknownRequest:
            found = None
        if found is not None:
            return _redirect(visit.request, "request", request_id=found)
    status = query.get("status", "")
    if status not in {s.value for s in RequestStatus}:
        status = ""
    text = query.get("q", "").strip()
    page = _page_number(visit.request)
    rows = operations.requests(
        status=status or None,
        search=text or None,
        limit=PAGE_SIZE + 1,
        offset=(page - 1) * PAGE_SIZE,
    )
    return visit.render(
        "requests.html",
        rows=rows[:PAGE_SIZE],
        more=len(rows) > PAGE_SIZE,
        page=page,
        filters={"status": status, "q": text, "external_id": external_id},
        statuses=[s.value for s in RequestStatus],
        missing_external_id=external_id or None,
    )


def request_detail(visit: Visit) -> Response:
    request_id = visit.request.path_params["request_id"]
    try:
        detail = visit.console.engine.operations.request(request_id)
    except UnknownRequest as exc:
        return visit.render("error.html", 404, title="No such request", message=str(exc))
    return visit.render("request.html", detail=detail, notice=None)


def cancel_request(visit: Visit) -> Response:
    """GET: ask to confirm; POST: cancel, then record who did."""
    request_id = visit.request.path_params["request_id"]
    engine = visit.console.engine
    try:
        request = engine.get(request_id)
    except UnknownRequest as exc:
        return visit.render("error.html", 404, title="No such request", message=str(exc))
    if visit.form is None:
        return visit.render("cancel.html", approval=request)
    try:
        engine.cancel(request_id)
    except RequestClosed as exc:
        return visit.render("error.html", 409, title="Not cancelled", message=str(exc))
    engine.operations.record_admin_action(
        request_id, visit.session.admin, "cancelled in the admin console"
    )
    log.info("admin %s cancelled request %s in the console", visit.session.admin, request_id)
    return _redirect(visit.request, "request", request_id=request_id)


def raw_reply(visit: Visit) -> Response:
    """The raw reply a decision was read from, as a download."""
    request_id = visit.request.path_params["request_id"]
    message_id = visit.request.query_params.get("message_id", "")
    try:
        raw = visit.console.engine.raw_reply(request_id, message_id)
    except UnknownRequest as exc:
        return visit.render("error.html", 404, title="No such reply", message=str(exc))
    if raw is None:
        return visit.render(
            "error.html",
            404,
            title="Raw reply no longer kept",
            message="The raw reply is removed after [store] keep_raw_days; the decision "
            "and its evidence line are still recorded.",
        )
    return _download(raw, f"reply-{request_id}.eml")


def reply_raw(visit: Visit) -> Response:
    """The raw message of a refused or ignored reply, as a download."""
    message_id = visit.request.query_params.get("message_id", "")
    raw = visit.console.engine.operations.reply_raw(message_id)
    if raw is None:
        return visit.render(
            "error.html",
            404,
            title="Raw message not kept",
            message="Only replies that decided nothing keep their raw message, up to 256 KB, "
            "for [store] keep_raw_days; a refused one is also in the failure folder.",
        )
    return _download(raw, "reply.eml")


def _download(raw: bytes, filename: str) -> Response:
    return Response(
        raw,
        media_type="message/rfc822",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# ---- replies -------------------------------------------------------------------------------

REPLY_FILTERS = {
    "refused": (ReplyStatus.FAILED,),
    "ignored": (ReplyStatus.IGNORED,),
    "decided": (ReplyStatus.DECIDED,),
    "delegated": (ReplyStatus.DELEGATED,),
    "all": (None,),
}


def reply_list(visit: Visit, notice: str | None = None, error: str | None = None) -> Response:
    query = visit.request.query_params
    shown = query.get("show", "refused")
    if shown not in REPLY_FILTERS:
        shown = "refused"
    text = query.get("q", "").strip()
    page = _page_number(visit.request)
    (status,) = REPLY_FILTERS[shown]
    rows = visit.console.engine.operations.replies(
        status=status, search=text or None, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
    )
    return visit.render(
        "replies.html",
        rows=rows[:PAGE_SIZE],
        more=len(rows) > PAGE_SIZE,
        page=page,
        filters={"show": shown, "q": text},
        shows=list(REPLY_FILTERS),
        inbound=visit.console.engine.settings.inbound,
        notice=notice,
        error=error,
    )


def reprocess(visit: Visit) -> Response:
    message_id = visit.field("message_id")
    inbound = visit.console.engine.settings.inbound
    try:
        done = visit.console.engine.operations.reprocess(message_id)
    except MailIOError as exc:
        return reply_list(visit, error=str(exc))
    log.info(
        "admin %s reprocessed reply %s in the console: moved %d, forgotten %s",
        visit.session.admin,
        done.message_id,
        done.moved,
        done.forgotten,
    )
    if not done.forgotten:
        return reply_list(visit, error=f"No refused reply has Message-ID {message_id}.")
    if done.request_id is not None:
        visit.console.engine.operations.record_admin_action(
            done.request_id,
            visit.session.admin,
            f"refused reply {done.message_id} reprocessed in the admin console",
        )
    where = (
        f"moved back from {inbound.failure_folder} to {inbound.folder}"
        if done.moved
        else f"not found in {inbound.failure_folder} (moved back already?)"
    )
    return reply_list(visit, notice=f"{done.message_id}: {where}; read again at the next poll.")


# ---- outbox --------------------------------------------------------------------------------

OUTBOX_LIMIT = 200


def outbox(visit: Visit, notice: str | None = None) -> Response:
    engine = visit.console.engine
    return visit.render(
        "outbox.html",
        rows=engine.outbox(limit=OUTBOX_LIMIT),
        counts=engine.operations.outbox_counts(),
        limit=OUTBOX_LIMIT,
        notice=notice,
    )


def retry(visit: Visit) -> Response:
    """Queue one failed notification again (``id``), or all of them."""
    engine = visit.console.engine
    chosen = visit.field("id")
    ids = [int(chosen)] if chosen.isdigit() else None
    queued = engine.operations.retry_notifications(ids, admin=visit.session.admin)
    log.info(
        "admin %s queued failed notifications again in the console: %s",
        visit.session.admin,
        ", ".join(map(str, queued)) or "none",
    )
    notice = (
        f"Queued again: {', '.join(map(str, queued))}; sent at the next dispatch."
        if queued
        else "No failed notification to queue again."
    )
    return outbox(visit, notice=notice)


def notification_message(visit: Visit) -> Response:
    notification_id = visit.request.path_params["notification_id"]
    try:
        raw = visit.console.engine.notification_message(notification_id)
    except UnknownRequest as exc:
        return visit.render("error.html", 404, title="No such notification", message=str(exc))
    return _download(raw, f"notification-{notification_id}.eml")


# ---- servers and settings ------------------------------------------------------------------


def servers(visit: Visit, steps: list[ProbeStep] | None = None, test: str = "") -> Response:
    settings = visit.console.engine.settings
    described = [
        (
            name,
            describe_config(server),
            _roles(name, settings.inbound.server, settings.outbound.server_names),
        )
        for name, server in settings.servers.items()
    ]
    return visit.render("servers.html", servers=described, steps=steps, test=test)


def _roles(name: str, inbound: str, outbound: list[str]) -> str:
    roles = []
    if name in outbound:
        roles.append("sends" if name == outbound[0] else "sends (fallback)")
    if name == inbound:
        roles.append("reply folder")
    return ", ".join(roles) or "not used"


def test_servers(visit: Visit) -> Response:
    round_trip = visit.field("test") == "round_trip"
    log.info(
        "admin %s ran the %s test in the console",
        visit.session.admin,
        "round-trip" if round_trip else "send",
    )
    try:
        steps = visit.console.engine.test_configuration(round_trip=round_trip)
    except (MailIOError, ApprovalError) as exc:
        steps = [ProbeStep("-", "start", False, str(exc))]
    return servers(visit, steps=steps, test="Round-trip test" if round_trip else "Send test")


def settings_page(visit: Visit) -> Response:
    settings = visit.console.engine.settings
    path = settings.config_path
    modified = None
    if path is not None and path.exists():
        modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return visit.render(
        "settings.html",
        described=describe_config(settings),  # secrets, hashes too, masked
        reload=last_cycle(visit.console.engine.operations.db, CycleKind.RELOAD),
        config_path=path,
        modified=modified,
        notices=settings.notices,
    )


routes = [
    Route("/login", login, methods=["GET", "POST"], name="login"),
    Route("/logout", admin_page(logout), methods=["POST"], name="logout"),
    Route("/", admin_page(overview), name="overview"),
    Route("/requests", admin_page(request_list), name="requests"),
    Route("/requests/{request_id}", admin_page(request_detail), name="request"),
    Route(
        "/requests/{request_id}/cancel",
        admin_page(cancel_request),
        methods=["GET", "POST"],
        name="cancel",
    ),
    Route("/requests/{request_id}/raw", admin_page(raw_reply), name="raw_reply"),
    Route("/replies", admin_page(reply_list), name="replies"),
    Route("/replies/raw", admin_page(reply_raw), name="reply_raw"),
    Route("/replies/reprocess", admin_page(reprocess), methods=["POST"], name="reprocess"),
    Route("/outbox", admin_page(outbox), name="outbox"),
    Route("/outbox/retry", admin_page(retry), methods=["POST"], name="retry"),
    Route(
        "/outbox/{notification_id:int}/message",
        admin_page(notification_message),
        name="notification_message",
    ),
    Route("/servers", admin_page(servers), name="servers"),
    Route("/servers/test", admin_page(test_servers), methods=["POST"], name="test_servers"),
    Route("/settings", admin_page(settings_page), name="settings"),
]
