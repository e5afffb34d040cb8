"""The admin console in a real browser (tests/browser.py): log in, read, cancel, reprocess,
test the servers (against the real mail stack), log out, with the keyboard and on a
phone-sized screen; forms without their CSRF token and pages without a login are refused.
Screenshots of every page go to ``$APPROVALS_TEST_ARTIFACTS`` (else tmp_path)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from mailio.inbound import memory as folders
from scheduler.web.auth import CSRF_FIELD
from tests.browser import (  # noqa: F401 - the fixtures are found by name
    ADMIN,
    APPROVER,
    PASSWORD,
    SECOND_APPROVER,
    UNCLEAR_REPLY,
    Console,
    LiveConsole,
    artifacts_fixture,
    browser_fixture,
    console_fixture,
    live_console_fixture,
)
from tests.memory_setup import INCOMING

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def new_page(browser: Browser, viewport: dict[str, int]) -> Page:
    return browser.new_context(viewport=viewport).new_page()  # type: ignore[arg-type]


def log_in(page: Page, console: Console | LiveConsole, password: str = PASSWORD) -> None:
    page.goto(f"{console.url}/login")
    page.get_by_label("Name").fill(ADMIN)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


@pytest.fixture
def page(browser: Browser, console: Console) -> Iterator[Page]:
    page = new_page(browser, DESKTOP)
    log_in(page, console)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    yield page
    page.context.close()


def test_a_wrong_password_is_refused_with_a_message_then_the_right_one_logs_in(
    browser: Browser, console: Console
) -> None:
    page = new_page(browser, DESKTOP)
    page.goto(f"{console.url}/requests")
    expect(page).to_have_url(re.compile(r"/login"))  # pages need a login

    log_in(page, console, password="not the password")
    expect(page.get_by_role("alert")).to_contain_text("Wrong name or password")

    log_in(page, console)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    page.context.close()


def test_the_overview_shows_the_pollers_health(page: Page) -> None:
    expect(page.get_by_role("heading", name="Poller")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Healthy")
    expect(page.locator("main")).to_contain_text("Last poll")
    expect(page.locator("main")).to_contain_text("0 message(s) waiting")


def test_the_requests_list_filters_by_status(page: Page, console: Console) -> None:
    page.goto(f"{console.url}/requests")
    main = page.locator("main")
    for title in ("Deploy 1.4.2", "Rotate the signing keys", "Drop the old replica"):
        expect(main).to_contain_text(title)

    page.get_by_label("Status").select_option("cancelled")
    page.get_by_role("button", name="Filter").click()

    expect(page).to_have_url(re.compile(r"status=cancelled"))
    expect(main).to_contain_text("Drop the old replica")
    expect(main).not_to_contain_text("Deploy 1.4.2")
    expect(main).not_to_contain_text("Rotate the signing keys")


def test_a_requests_detail_shows_its_decisions_and_history(page: Page, console: Console) -> None:
    page.goto(f"{console.url}/requests")
    page.get_by_role("link", name="Rotate the signing keys").click()

    expect(page.get_by_role("heading", name="Rotate the signing keys")).to_be_visible()
    main = page.locator("main")
    expect(page.get_by_role("heading", name="Decisions")).to_be_visible()
    expect(main).to_contain_text("Approved, go ahead")  # the line the verdict was read from
    expect(main).to_contain_text("bob@example.test")
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    expect(page.locator("ol.history")).to_contain_text("requested")
    expect(page.locator("ol.history")).to_contain_text("decision")


def test_a_request_made_through_the_api_is_listed_and_cancelled_after_confirmation(
    page: Page, console: Console
) -> None:
    made = console.engine.request_approval("Grant Dana access to billing", [APPROVER])

    page.goto(f"{console.url}/requests")
    row = page.get_by_role("row").filter(has_text="Grant Dana access to billing")
    expect(row).to_contain_text("pending")
    row.get_by_role("link", name="Grant Dana access to billing").click()
    page.get_by_role("link", name=re.compile("Cancel this request")).click()

    expect(page.get_by_role("heading", name=re.compile("Cancel"))).to_be_visible()
    assert console.engine.get(made.id).status == "pending"  # asked, not done

    page.get_by_role("button", name=re.compile("Yes, cancel")).click()

    expect(page).to_have_url(re.compile(rf"/requests/{made.id}$"))
    expect(page.locator("main")).to_contain_text("cancelled")
    history = page.locator("ol.history")
    expect(history).to_contain_text(re.compile(f"{ADMIN}.*cancelled in the admin console"))
    assert console.engine.get(made.id).status == "cancelled"
    page.goto(f"{console.url}/requests?status=cancelled")
    expect(page.locator("main")).to_contain_text("Grant Dana access to billing")


def test_a_refused_reply_shows_its_reason_and_reprocess_puts_it_back(
    page: Page, console: Console
) -> None:
    page.get_by_role("navigation").get_by_role("link", name="Replies").click()

    row = page.get_by_role("row").filter(has_text=SECOND_APPROVER)
    expect(row).to_contain_text("refused")
    expect(row).to_contain_text("no clear verdict")
    expect(row).to_contain_text(UNCLEAR_REPLY)  # the line the reason quotes
    assert folders.messages(INCOMING, "INBOX") == []  # it waits in "Failed"

    row.get_by_role("button", name="Reprocess").click()

    notice = page.get_by_role("status")
    expect(notice).to_contain_text(console.unclear_message_id)
    expect(notice).to_contain_text("moved back from Failed to INBOX")
    [back] = folders.messages(INCOMING, "INBOX")
    assert UNCLEAR_REPLY.encode() in back


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    page: Page, console: Console
) -> None:
    page.goto(f"{console.url}/requests/{console.pending_id}/cancel")
    page.locator(f'main input[name="{CSRF_FIELD}"]').evaluate("input => input.remove()")

    page.get_by_role("button", name=re.compile("Yes, cancel")).click()

    expect(page.get_by_role("heading", name="Form refused")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Nothing was changed")
    assert console.engine.get(console.pending_id).status == "pending"

    # Another site's form: the session cookie comes along, a token it cannot know does not.
    forged = page.request.post(
        f"{console.url}/requests/{console.pending_id}/cancel",
        form={CSRF_FIELD: "forged"},
        max_redirects=0,
    )
    assert forged.status == 403
    assert console.engine.get(console.pending_id).status == "pending"
    events = console.engine.operations.request(console.pending_id).events
    assert not [e for e in events if e.actor and ADMIN in e.actor]


@pytest.mark.parametrize(
    "path",
    ["/", "/requests", "/requests/{pending}", "/replies", "/outbox", "/servers", "/settings"],
)
def test_every_page_sends_a_visitor_without_a_login_to_log_in(
    browser: Browser, console: Console, path: str
) -> None:
    page = new_page(browser, DESKTOP)
    wanted = path.format(pending=console.pending_id)

    page.goto(f"{console.url}{wanted}")

    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    assert page.locator('input[name="next"]').input_value() == wanted
    expect(page.locator("main")).not_to_contain_text("Deploy 1.4.2")
    page.context.close()


DESKTOP_PAGES = {
    "overview": "/",
    "requests": "/requests",
    "request": "/requests/{decided}",
    "cancel": "/requests/{pending}/cancel",
    "replies": "/replies?show=all",
    "outbox": "/outbox",
    "servers": "/servers",
    "settings": "/settings",
}


def test_every_page_is_saved_as_a_desktop_screenshot(
    page: Page, console: Console, artifacts: Path
) -> None:
    for name, path in DESKTOP_PAGES.items():
        wanted = path.format(decided=console.decided_id, pending=console.pending_id)
        response = page.goto(f"{console.url}{wanted}")
        assert response is not None and response.status == 200, f"{wanted}: {response}"
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        page.screenshot(path=artifacts / f"desktop-{name}.png", full_page=True)
    page.get_by_role("button", name=re.compile("Log out")).click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    page.screenshot(path=artifacts / "desktop-login.png", full_page=True)


def test_send_test_reports_each_step_against_the_live_mail_server(
    browser: Browser, live_console: LiveConsole, artifacts: Path
) -> None:
    page = new_page(browser, DESKTOP)
    log_in(page, live_console)
    page.get_by_role("navigation").get_by_role("link", name="Servers").click()

    page.get_by_role("button", name="Send test").click()

    result = page.get_by_role("region", name="Test result")
    expect(result.get_by_role("heading")).to_have_text("Send test: ok")
    rows = result.locator("tbody tr")
    expected = [
        ("smtp", "connect"),
        ("smtp", "secure"),
        ("smtp", "authenticate"),
        ("smtp", "send"),
        ("imap", "connect"),
        ("imap", "secure"),
        ("imap", "authenticate"),
        ("imap", "open folder"),
    ]
    expect(rows).to_have_count(len(expected))
    for index, (server, step) in enumerate(expected):
        cells = rows.nth(index).locator("td")
        expect(cells).to_have_text([server, step, "ok", re.compile(".")])
    expect(rows.nth(3)).to_contain_text(f"test message sent to {live_console.address}")
    expect(rows.nth(7)).to_contain_text('"INBOX" holds')
    page.screenshot(path=artifacts / "desktop-servers-send-test.png", full_page=True)
    page.context.close()


def test_tab_reaches_the_skip_link_and_the_navigation_with_a_visible_focus(page: Page) -> None:
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()  # shown when focused, though hidden otherwise
    assert focus_is_visible(page)

    page.keyboard.press("Tab")
    navigation = page.get_by_role("navigation")
    expect(navigation.get_by_role("link", name="Overview")).to_be_focused()
    assert focus_is_visible(page)
    page.keyboard.press("Tab")
    expect(navigation.get_by_role("link", name="Requests")).to_be_focused()

    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Requests")).to_be_visible()


def focus_is_visible(page: Page) -> bool:
    """The focused element draws an outline or a box shadow (the :focus-visible style)."""
    style = page.evaluate(
        """() => {
            const s = getComputedStyle(document.activeElement);
            return {outline: s.outlineStyle, width: s.outlineWidth, shadow: s.boxShadow};
        }"""
    )
    outlined = style["outline"] != "none" and style["width"] not in ("0px", "")
    return outlined or style["shadow"] != "none"


@pytest.mark.parametrize("path", ["/", "/requests", "/replies", "/outbox", "/servers", "/settings"])
def test_a_phone_sized_screen_has_no_horizontal_page_scroll(
    browser: Browser, console: Console, artifacts: Path, path: str
) -> None:
    page = new_page(browser, PHONE)
    log_in(page, console)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()

    response = page.goto(f"{console.url}{path}")

    assert response is not None and response.status == 200, f"{path}: {response}"
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    name = path.strip("/") or "overview"
    page.screenshot(path=artifacts / f"phone-{name}.png", full_page=True)
    assert widths[0] <= widths[1], f"{path}: the page is {widths[0]} px wide on a 390 px screen"
    page.context.close()


def test_logout_ends_the_session(page: Page, console: Console) -> None:
    page.get_by_role("button", name=re.compile("Log out")).click()

    expect(page).to_have_url(re.compile(r"/login"))
    page.goto(f"{console.url}/requests")
    expect(page).to_have_url(re.compile(r"/login"))
