"""Shared fixtures: the real local mail servers and the test-only servers (tests/servers/),
the memory transports (tests/memory_setup.py) and the workflow system's webhook."""

from collections.abc import Iterator

import pytest

from mailio.devservers import DovecotServer
from mailio.inbound import memory as memory_folders
from mailio.outbound import memory as memory_outboxes
from tests.servers.dovecot_stack import (  # noqa: F401 - fixtures are found by name
    dovecot_server,
    dovecot_without_idle,
    mail_stack,
    oauth_dovecot,
    own_dovecot,
    session_relay,
    smtp_relay_factory,
)
from tests.servers.greenmail import any_mail_stack, greenmail_stack  # noqa: F401
from tests.servers.misbehaving import (  # noqa: F401
    full_backlog_port,
    http_connect_proxy,
    never_greeting_server,
    silent_imap_server,
    silent_smtp_server,
    socks5_proxy,
)
from tests.servers.tls_stack import (  # noqa: F401
    client_cert_relay,
    implicit_tls_relay,
    no_starttls_relay,
    recorded_no_starttls_smtp,
    starttls_relay,
    stripped_imap,
    stripped_smtp,
    tls_ca,
    tls_dovecot,
    wrong_host_dovecot,
    wrong_host_relay,
    wrong_host_starttls_relay,
)
from tests.workflow_system import workflow  # noqa: F401


@pytest.fixture
def empty_memory_servers() -> Iterator[None]:
    """The memory outboxes and folders (``type = "memory"``) live for the process: a test
    that uses them starts and ends with them empty (tests.memory_setup builds engines)."""
    memory_outboxes.reset()
    memory_folders.reset()
    yield
    memory_outboxes.reset()
    memory_folders.reset()


# Fixtures that start or need a real mail server (Dovecot, or GreenMail in Docker).
_MAIL_SERVER_FIXTURES = frozenset(
    {
        "dovecot_server", "oauth_dovecot", "own_dovecot", "dovecot_without_idle",
        "tls_dovecot", "wrong_host_dovecot", "mail_stack",
        "any_mail_stack", "greenmail_stack", "session_relay", "smtp_relay_factory",
        "starttls_relay", "implicit_tls_relay", "no_starttls_relay", "wrong_host_relay",
        "wrong_host_starttls_relay", "stripped_smtp", "stripped_imap",
        "recorded_no_starttls_smtp", "client_cert_relay",
    }
)  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs a real mail server `mailserver`, from the fixtures it
    uses: `python -m pytest -m "not mailserver"` runs the rest on a machine without one."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)  # fixtures chosen by name in a parameter
        if callspec is not None:
            used |= {value for value in callspec.params.values() if isinstance(value, str)}
        if _MAIL_SERVER_FIXTURES & used:
            item.add_marker(pytest.mark.mailserver)


@pytest.fixture(autouse=True)
def _dovecot_only_when_marked(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keeps the marker honest on a machine that has Dovecot: a test that is not marked
    `mailserver` but starts one anyway fails here, instead of where there is none."""
    if request.node.get_closest_marker("mailserver") is not None:
        return

    def refuse(self: DovecotServer) -> None:
        raise AssertionError(
            f"{request.node.nodeid} starts Dovecot but is not marked mailserver: add the "
            "fixture that starts it to _MAIL_SERVER_FIXTURES in tests/conftest.py, or mark it"
        )

    monkeypatch.setattr(DovecotServer, "start", refuse)
