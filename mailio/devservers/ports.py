"""Loopback ports for servers that must be told their port before they bind it."""

from __future__ import annotations

import socket
import time

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """A port that was free a moment ago; bind it soon (and retry on a clash)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def read_greeting(host: str, port: int, timeout: float) -> bytes | None:
    """The server's first line, or None when nothing listens there yet."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            return conn.makefile("rb").readline()
    except OSError:
        return None


def wait_for_greeting(host: str, port: int, prefix: bytes, deadline: float) -> bool:
    """Poll until host:port greets with ``prefix``; False once ``deadline`` passes."""
    while time.monotonic() < deadline:
        line = read_greeting(host, port, timeout=max(0.1, deadline - time.monotonic()))
        if line is not None and line.startswith(prefix):
            return True
        time.sleep(0.02)  # nothing to await: the server is another process
    return False
