"""The admin console (scheduler.web) on the memory transports, through Starlette's TestClient."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from approvals import canary, selftest
from approvals.engine import ApprovalEngine
from approvals.models import NotificationRow, NotificationStatus
from approvals.settings import CallbackSettings, WebSettings
from approvals.store import transaction
from mailio.probe import ProbeStep
from scheduler.web import create_app, pages
from scheduler.web.auth import COOKIE, hash_password, verify_password
from tests.engine_setup import SECRET, Clock
from tests.memory_setup import ENGINE_ADDRESS, MemoryScenario, memory_engine_settings

PASSWORD = "correct horse battery staple"
SESSION_KEY = "session-key-0123456789-abcdefghijklmnop"
WEBHOOK = "https://hooks.example.test/notify?token=webhook-secret-42"
PAGES = ["/", "/requests", "/replies", "/outbox", "/servers", "/settings"]


def web_settings(**changes: object) -> WebSettings:
    values: dict[str, object] = {
        "secret_key": SESSION_KEY,
        "admins": {"alice": hash_password(PASSWORD)},
        "lockout_attempts": 3,
    }
    return WebSettings.model_validate({**values, **changes})


@pytest.fixture
def scenario(tmp_path: Path, empty_memory_servers: None) -> Iterator[MemoryScenario]:
    settings = memory_engine_settings(f"sqlite:///{tmp_path / 'approvals.db'}")
    settings = settings.model_copy(
        update={"callback": CallbackSettings.model_validate({"url": WEBHOOK})}
    )
    clock = Clock()
    engine = ApprovalEngine(settings, clock=clock)
    try:
        yield MemoryScenario(engine=engine, address=ENGINE_ADDRESS, clock=clock)
    finally:
        engine.close()


def console(scenario: MemoryScenario, **web: object) -> TestClient:
    return TestClient(create_app(scenario.engine, web_settings(**web)))


def logged_in(client: TestClient, prefix: str = "") -> TestClient:
    response = client.post(
        f"{prefix}/login", data={"name": "alice", "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return client


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF token in the page"
    return found.group(1)


def with_data(scenario: MemoryScenario) -> str:
    """A decided request, a refused reply, a pending request with a failed notification."""
    decided = scenario.ask("bob@example.test", external_id="run-1")
    scenario.reply("bob@example.test", "Approved, ship it")
    scenario.reply("bob@example.test", "Approved", sender="mallory@example.test")
    scenario.engine.process_replies()
    pending = scenario.ask("carol@example.test", external_id="run-2")
    with transaction(scenario.engine.operations.db) as session:
        session.execute(
            update(NotificationRow)
            .where(NotificationRow.request_id == pending.id)  # type: ignore[arg-type]
            .values(status=NotificationStatus.FAILED, last_error="550 mailbox unavailable")
        )
    return decided.id


# ---- passwords and logins -------------------------------------------------------------------


def test_password_hash_verifies_only_its_password() -> None:
    stored = hash_password(PASSWORD)
    assert stored.startswith("scrypt$16384$8$1$")
    assert verify_password(stored, PASSWORD)
    assert not verify_password(stored, PASSWORD + "!")
    assert not verify_password("scrypt$broken", PASSWORD)
    assert hash_password(PASSWORD) != stored  # a new salt each time


def test_pages_need_a_login(scenario: MemoryScenario) -> None:
    client = console(scenario)
    for page in PAGES:
        response = client.get(page, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")


def test_login_sets_a_strict_http_only_cookie_and_logout_ends_it(
    scenario: MemoryScenario,
) -> None:
    client = console(scenario)
    response = client.post("/login", data={"name": "alice", "password": PASSWORD})
    assert response.status_code == 200
    cookie = response.history[0].headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http, no proxy
    old_cookie = client.cookies[COOKIE]
    token = csrf_of(response.text)
    client.post("/logout", data={"csrf": token})
    assert client.get("/", follow_redirects=False).status_code == 303
    client.cookies.set(COOKIE, old_cookie)  # a copy kept from before the logout
    assert client.get("/", follow_redirects=False).status_code == 303


def test_cookie_is_secure_behind_an_https_proxy_on_localhost(scenario: MemoryScenario) -> None:
    client = TestClient(create_app(scenario.engine, web_settings()), client=("127.0.0.1", 50000))
    response = client.post(
        "/login",
        data={"name": "alice", "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
        follow_redirects=False,
    )
    assert "Secure" in response.headers["set-cookie"]
    elsewhere = console(scenario)  # the header from anyone else is not believed
    response = elsewhere.post(
        "/login",
        data={"name": "alice", "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
        follow_redirects=False,
    )
    assert "Secure" not in response.headers["set-cookie"]


def test_wrong_password_is_refused(scenario: MemoryScenario) -> None:
    client = console(scenario)
    response = client.post("/login", data={"name": "alice", "password": "nope"})
    assert response.status_code == 401
    assert "Wrong name or password" in response.text
    assert COOKIE not in client.cookies


def test_lockout_after_failures_per_name_then_it_expires(scenario: MemoryScenario) -> None:
    client = console(scenario)
    for _ in range(3):
        client.post("/login", data={"name": "alice", "password": "nope"})
    response = client.post("/login", data={"name": "alice", "password": PASSWORD})
    assert response.status_code == 429  # even the right password
    assert COOKIE not in client.cookies
    scenario.clock.offset += timedelta(minutes=16)
    logged_in(client)


def test_lockout_per_client_address_across_names(scenario: MemoryScenario) -> None:
    client = console(scenario)
    for name in ("x", "y", "z"):
        client.post("/login", data={"name": name, "password": "nope"})
    assert client.post("/login", data={"name": "alice", "password": PASSWORD}).status_code == 429
    other = TestClient(client.app, client=("10.0.0.9", 1234))
    logged_in(other)


def test_post_without_the_csrf_token_is_refused_and_changes_nothing(
    scenario: MemoryScenario,
) -> None:
    request = scenario.ask("bob@example.test")
    client = logged_in(console(scenario))
    for data in ({}, {"csrf": "forged"}):
        response = client.post(f"/requests/{request.id}/cancel", data=data)
        assert response.status_code == 403
        assert "Nothing was changed" in response.text
    assert scenario.engine.get(request.id).status == "pending"


# ---- pages ---------------------------------------------------------------------------------


def test_every_page_renders_empty(scenario: MemoryScenario) -> None:
    client = logged_in(console(scenario))
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 200, page
    assert "No approval request yet" in client.get("/requests").text
    assert "No refused reply recorded" in client.get("/replies").text
    assert "The outbox is empty" in client.get("/outbox").text
    assert "No poll cycle yet" in client.get("/").text


def test_every_page_renders_with_data(scenario: MemoryScenario) -> None:
    request_id = with_data(scenario)
    client = logged_in(console(scenario))
    overview = client.get("/").text
    assert "Healthy" in overview and "<time datetime=" in overview
    assert "Timers due</dt><dd>none" in overview
    soon = scenario.ask("dave@example.test", due=timedelta(minutes=30))
    scenario.clock.offset += timedelta(hours=1)  # past its deadline, within the session
    assert "1 deadline(s), 0 escalation(s)" in client.get("/").text
    scenario.engine.cancel(soon.id)
    scenario.clock.offset -= timedelta(hours=1)
    requests = client.get("/requests").text
    assert "Deploy 1.4.2 to production" in requests and "run-2" in requests
    assert "run-1" not in client.get("/requests?status=pending").text
    assert client.get("/requests?external_id=run-1").url.path == f"/requests/{request_id}"
    assert "No request has the external id" in client.get("/requests?external_id=zz").text
    detail = client.get(f"/requests/{request_id}").text
    assert "Approved, ship it" in detail  # the evidence line
    assert "address match" in detail
    replies = client.get("/replies").text
    assert "mallory@example.test" in replies and "Reprocess" in replies
    refused_raw = re.search(r'href="(/replies/raw\?message_id=[^"]+)"', replies)
    assert refused_raw  # a refused reply keeps its raw message and shows its new text
    refused = client.get(refused_raw.group(1).replace("&amp;", "&"))
    assert refused.headers["content-type"] == "message/rfc822"
    assert b"mallory@example.test" in refused.content
    decided = client.get("/replies?show=decided").text
    raw_link = re.search(r'href="(/requests/[^"]+/raw\?message_id=[^"]+)"', decided)
    assert raw_link
    raw = client.get(raw_link.group(1).replace("&amp;", "&"))
    assert raw.headers["content-type"] == "message/rfc822"
    assert b"Approved, ship it" in raw.content
    outbox = client.get("/outbox").text
    assert "550 mailbox unavailable" in outbox and "Retry now" in outbox
    assert "[" in client.get("/servers").text
    settings = client.get("/settings").text
    assert "Resolved configuration" in settings


def test_cancel_asks_first_then_records_the_admin(scenario: MemoryScenario) -> None:
    request = scenario.ask("bob@example.test")
    client = logged_in(console(scenario))
    confirm = client.get(f"/requests/{request.id}/cancel")
    assert "Yes, cancel the request" in confirm.text
    assert scenario.engine.get(request.id).status == "pending"  # asking changed nothing
    response = client.post(f"/requests/{request.id}/cancel", data={"csrf": csrf_of(confirm.text)})
    assert response.status_code == 200 and "admin:alice" in response.text
    assert scenario.engine.get(request.id).status == "cancelled"
    actors = [event.actor for event in scenario.engine.history(request.id)]
    assert "admin:alice" in actors


def test_reprocess_and_retry_are_logged_with_the_admin(
    scenario: MemoryScenario, caplog: pytest.LogCaptureFixture
) -> None:
    with_data(scenario)
    client = logged_in(console(scenario))
    caplog.set_level(logging.INFO, logger="scheduler.web")
    page = client.get("/replies")
    message_id = re.search(r'name="message_id" value="([^"]+)"', page.text)
    assert message_id
    done = client.post(
        "/replies/reprocess", data={"csrf": csrf_of(page.text), "message_id": message_id[1]}
    )
    assert "read again at the next poll" in done.text
    assert "admin alice reprocessed reply" in caplog.text
    [reprocessed] = [
        event
        for request in scenario.engine.operations.requests(limit=100)
        for event in scenario.engine.history(request.id)
        if event.kind == "admin" and "reprocessed" in event.detail
    ]
    assert reprocessed.actor == "admin:alice"
    outbox = client.get("/outbox")
    retried = client.post("/outbox/retry", data={"csrf": csrf_of(outbox.text)})
    assert "Queued again" in retried.text
    assert "admin alice queued failed notifications again" in caplog.text
    assert scenario.engine.operations.outbox_counts().failed == 0
    pending = scenario.engine.find(external_id="run-2")
    assert pending is not None
    [requeued] = [e for e in scenario.engine.history(pending.id) if e.kind == "admin"]
    assert requeued.actor == "admin:alice" and "queued again" in requeued.detail


def test_send_and_round_trip_tests_show_each_step(
    scenario: MemoryScenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The memory servers do not route the probe back to the reply folder: fail fast.
    def quick_read_back(settings: Any, mailboxes: Any, probe: Any, server: str) -> ProbeStep:
        quick = canary.Waiting(timeout_seconds=0.1, every_seconds=0.05)
        return canary.read_back(settings, mailboxes, probe, server, quick)

    monkeypatch.setattr(selftest, "read_back", quick_read_back)
    client = logged_in(console(scenario))
    page = client.get("/servers")
    sent = client.post("/servers/test", data={"csrf": csrf_of(page.text), "test": "send"})
    assert "Send test: ok" in sent.text
    trip = client.post("/servers/test", data={"csrf": csrf_of(page.text), "test": "round_trip"})
    assert "Round-trip test: FAILED" in trip.text and "<td>outgoing</td>" in trip.text
    assert "read back" in trip.text and "did not reach INBOX" in trip.text


def test_no_secret_is_rendered(scenario: MemoryScenario) -> None:
    with_data(scenario)
    web = web_settings()
    client = logged_in(TestClient(create_app(scenario.engine, web)))
    secrets = [
        PASSWORD,
        SESSION_KEY,
        SECRET,
        "webhook-secret-42",
        web.admins["alice"].get_secret_value(),
    ]
    cookie = client.cookies[COOKIE]
    for page in PAGES + ["/replies?show=all"]:
        text = client.get(page).text
        for secret in secrets:
            assert secret not in text, (page, secret)
        assert cookie not in text


def test_works_under_a_path_prefix(scenario: MemoryScenario) -> None:
    request_id = with_data(scenario)
    client = TestClient(create_app(scenario.engine, web_settings(root_path="/approvals")))
    first = client.get("/approvals/requests", follow_redirects=False)
    assert first.headers["location"] == "/approvals/login?next=%2Fapprovals%2Frequests"
    response = client.post(
        "/approvals/login",
        data={"name": "alice", "password": PASSWORD, "next": "/approvals/requests"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/approvals/requests"
    assert "Path=/approvals" in response.headers["set-cookie"]
    for page in PAGES + [f"/requests/{request_id}", f"/requests/{request_id}/cancel"]:
        text = client.get("/approvals" + page).text
        links = re.findall(r'(?:href|action)="([^"#]*)"', text)
        assert links, page
        assert all(link.startswith("/approvals/") for link in links), (page, links)
    # A proxy that strips the prefix reaches the same pages, linked with the prefix.
    assert 'href="/approvals/static/console.css"' in client.get("/outbox").text
    assert client.get("/approvals/static/console.css").status_code == 200


def test_login_never_redirects_elsewhere(scenario: MemoryScenario) -> None:
    client = console(scenario)
    for target in ("https://evil.example/", "//evil.example/"):
        response = client.post(
            "/login",
            data={"name": "alice", "password": PASSWORD, "next": target},
            follow_redirects=False,
        )
        assert response.headers["location"] == "/"


def test_request_list_pages(scenario: MemoryScenario, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "PAGE_SIZE", 1)
    scenario.ask("bob@example.test", external_id="run-1")
    scenario.ask("bob@example.test", external_id="run-2")
    client = logged_in(console(scenario))
    first = client.get("/requests?status=pending").text
    assert "run-2" in first and "run-1" not in first
    assert 'href="/requests?status=pending&amp;page=2"' in first
    second = client.get("/requests?status=pending&page=2").text
    assert "run-1" in second and "← Newer" in second
