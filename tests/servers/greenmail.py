"""Fixtures: GreenMail in Docker (testcontainers), the same shape as ``mail_stack``.

Skipped, with Docker's own reason printed, where no Docker engine answers
(as on the development machines). GreenMail has no STARTTLS and, with
``greenmail.auth.disabled``, takes any password and creates users on first use.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from docker.errors import DockerException
from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import HttpWaitStrategy

from mailio.devservers import MailStack

IMAGE = "greenmail/standalone"
SMTP_PORT = 3025
IMAP_PORT = 3143
API_PORT = 8080
PASSWORD = "secret"  # accepted like any other: auth is disabled
OPTIONS = "-Dgreenmail.auth.disabled -Dgreenmail.hostname=0.0.0.0"
STARTUP_TIMEOUT = 120


def greenmail_container() -> DockerContainer:
    """The container, not started; raises DockerException where no engine answers."""
    return (
        DockerContainer(IMAGE)
        .with_env("GREENMAIL_ADDITIONAL_OPTS", OPTIONS)
        .with_exposed_ports(SMTP_PORT, IMAP_PORT, API_PORT)
        .waiting_for(
            HttpWaitStrategy(API_PORT, "/api/service/readiness")
            .for_status_code(200)
            .with_startup_timeout(STARTUP_TIMEOUT)
        )
    )


@pytest.fixture(scope="session")
def greenmail_stack() -> Iterator[MailStack]:
    """MailStack on GreenMail (SMTP 3025, IMAP 3143 mapped to free ports); no AUTH needed."""
    try:
        container = greenmail_container()  # asks the engine for its version
    except DockerException as error:
        pytest.skip(f"GreenMail needs a Docker engine: {error}")
    try:
        container.start()
        yield MailStack(
            name="greenmail",
            host=container.get_container_host_ip(),
            imap_port=int(container.get_exposed_port(IMAP_PORT)),
            smtp_port=int(container.get_exposed_port(SMTP_PORT)),
            password=PASSWORD,
            smtp_requires_auth=False,
            refuses_wrong_password=False,
        )
    finally:
        container.stop()


@pytest.fixture(params=["dovecot", pytest.param("greenmail", marks=pytest.mark.greenmail)])
def any_mail_stack(request: pytest.FixtureRequest) -> MailStack:
    """Each test using this runs twice: on ``mail_stack`` (Dovecot) and ``greenmail_stack``."""
    fixture = "mail_stack" if request.param == "dovecot" else "greenmail_stack"
    stack: MailStack = request.getfixturevalue(fixture)
    return stack
