"""The admin console in a real browser (tests/browser.py): log in, read, cancel, log out,
with the keyboard and on a phone-sized screen. Screenshots go to tmp_path."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import (  # noqa: F401 - the fixtures are found by name
    ADMIN,
    PASSWORD,
    Console,
    browser_fixture,
    console_fixture,
)

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def new_page(browser: Browser, viewport: dict[str, int]) -> Page:
    return browser.new_context(viewport=viewport).new_page()  # type: ignore[arg-type]


def log_in(page: Page, console: Console, password: str = PASSWORD) -> None:
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


def test_the_overview_shows_the_pollers_health(page: Page, tmp_path: Path) -> None:
    expect(page.get_by_role("heading", name="Poller")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Healthy")
    expect(page.locator("main")).to_contain_text("Last poll")
    expect(page.locator("main")).to_contain_text("0 message(s) waiting")
    page.screenshot(path=tmp_path / "overview-desktop.png", full_page=True)


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


def test_cancel_asks_for_confirmation_and_then_cancels(page: Page, console: Console) -> None:
    page.goto(f"{console.url}/requests/{console.pending_id}")
    page.get_by_role("link", name=re.compile("Cancel this request")).click()

    expect(page.get_by_role("heading", name=re.compile("Cancel"))).to_be_visible()
    assert console.engine.get(console.pending_id).status == "pending"  # asked, not done

    page.get_by_role("button", name=re.compile("Yes, cancel")).click()

    expect(page.locator("main")).to_contain_text("cancelled")
    assert console.engine.get(console.pending_id).status == "cancelled"


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
    browser: Browser, console: Console, tmp_path: Path, path: str
) -> None:
    page = new_page(browser, PHONE)
    log_in(page, console)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()

    response = page.goto(f"{console.url}{path}")

    assert response is not None and response.status == 200, f"{path}: {response}"
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    page.screenshot(path=tmp_path / f"phone{path.replace('/', '-') or '-'}.png", full_page=True)
    assert widths[0] <= widths[1], f"{path}: the page is {widths[0]} px wide on a 390 px screen"
    page.context.close()


def test_logout_ends_the_session(page: Page, console: Console) -> None:
    page.get_by_role("button", name=re.compile("Log out")).click()

    expect(page).to_have_url(re.compile(r"/login"))
    page.goto(f"{console.url}/requests")
    expect(page).to_have_url(re.compile(r"/login"))
