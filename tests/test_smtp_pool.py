"""SmtpSender keeps its sessions between calls: the outbox's groups and dispatches share them.

Against a local aiosmtpd server that tells its sessions apart and counts QUITs.
"""

from __future__ import annotations

import pytest

from mailio.config import PoolSettings
from mailio.outbound.smtp import SmtpSender
from mailio.outbound.smtp import pool as session_pool
from tests.servers.session_counter import SessionCounter, session_counter  # noqa: F401
from tests.servers.transport_settings import outgoing_message, smtp_settings


def _sender(port: int, **pool: int) -> SmtpSender:
    return SmtpSender(smtp_settings(port, username=None, password=None, pool=PoolSettings(**pool)))


def test_calls_one_after_another_share_the_connections(
    session_counter: tuple[SessionCounter, int],  # noqa: F811
) -> None:
    handler, port = session_counter
    sender = _sender(port, max_connections=2)

    for group in range(5):  # the outbox's groups of one dispatch, or dispatches
        results = sender.send_messages(
            [outgoing_message("a@example.test", f"g{group}m{i}") for i in range(4)]
        )
        assert all(result.ok for result in results)

    assert len(handler.carried) == 20
    assert handler.sessions == 2
    assert handler.quits == 0
    sender.close()
    assert handler.quits == 2


def test_a_kept_connection_still_counts_towards_max_messages_per_connection(
    session_counter: tuple[SessionCounter, int],  # noqa: F811
) -> None:
    handler, port = session_counter
    sender = _sender(port, max_connections=1, max_messages_per_connection=3)

    for i in range(5):
        [result] = sender.send_messages([outgoing_message("a@example.test", f"m{i}")])
        assert result.ok

    assert handler.sessions == 2  # 3 + 2
    sender.close()


def test_a_connection_the_server_dropped_while_idle_costs_no_message(
    session_counter: tuple[SessionCounter, int],  # noqa: F811
) -> None:
    handler, port = session_counter
    sender = _sender(port, max_connections=1)
    [first] = sender.send_messages([outgoing_message("a@example.test", "first")])
    handler.forgotten = set(handler.carried)

    results = sender.send_messages([outgoing_message("a@example.test", f"r{i}") for i in range(2)])

    assert first.ok and all(result.ok for result in results), results
    assert len(handler.carried) == 3
    assert handler.sessions == 2
    sender.close()


def test_a_sender_can_send_again_after_close(
    session_counter: tuple[SessionCounter, int],  # noqa: F811
) -> None:
    handler, port = session_counter
    sender = _sender(port, max_connections=1)
    sender.send_messages([outgoing_message("a@example.test", "before")])
    sender.close()
    sender.close()  # twice is harmless

    [result] = sender.send_messages([outgoing_message("a@example.test", "after")])

    assert result.ok
    assert handler.sessions == 2
    sender.close()


def test_a_sender_nobody_closes_says_quit_when_collected(
    session_counter: tuple[SessionCounter, int],  # noqa: F811
) -> None:
    handler, port = session_counter

    [result] = _sender(port).send_messages([outgoing_message("a@example.test", "once")])

    assert result.ok
    assert handler.quits == 1  # the sender is gone: its connection with it


def test_an_idle_connection_is_closed_after_idle_seconds(
    session_counter: tuple[SessionCounter, int],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler, port = session_counter
    monkeypatch.setattr(session_pool, "IDLE_SECONDS", 0.05)
    sender = _sender(port, max_connections=1)

    [result] = sender.send_messages([outgoing_message("a@example.test", "lonely")])

    assert result.ok
    assert handler.quit_seen.wait(timeout=30), "the idle connection was never closed"
    [again] = sender.send_messages([outgoing_message("a@example.test", "later")])
    assert again.ok and handler.sessions == 2
    sender.close()


def test_calls_from_an_event_loop_are_sent_too(
    session_counter: tuple[SessionCounter, int],  # noqa: F811
) -> None:
    import asyncio

    handler, port = session_counter
    sender = _sender(port, max_connections=1)

    async def caller() -> bool:
        [result] = sender.send_messages([outgoing_message("a@example.test", "async")])
        return result.ok

    assert asyncio.run(caller())
    sender.close()
    assert handler.quits == 1
