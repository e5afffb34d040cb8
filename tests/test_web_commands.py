"""approvals web: the console served by uvicorn, and hash-password for [web] admins."""

from __future__ import annotations

import getpass
import io
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from approvals.engine import ApprovalEngine
from approvals.settings import WebSettings
from scheduler.cli import main
from tests.browser import SECRET_KEY, free_port, serving
from tests.memory_setup import memory_engine_settings, write_memory_config


def hashed(password: str) -> str:
    from scheduler.web.auth import hash_password

    return hash_password(password)


def test_hash_password_reads_one_line_from_stdin_and_prints_a_hash_that_verifies(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from scheduler.web.auth import verify_password

    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret phrase\nignored\n"))

    assert main(["web", "hash-password", "--stdin"]) == 0

    printed = capsys.readouterr().out.strip()
    assert printed.startswith("scrypt$") and "s3cret" not in printed
    assert verify_password(printed, "s3cret phrase")
    assert (
        WebSettings(admins={"alice": SecretStr(printed)}).admins["alice"].get_secret_value()
        == printed
    )


def test_hash_password_asks_twice_without_echo_and_refuses_a_mismatch(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter(["first", "second"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))

    assert main(["web", "hash-password"]) == 1

    captured = capsys.readouterr()
    assert captured.out == "" and "differ" in captured.err


def test_hash_password_refuses_an_empty_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))

    assert main(["web", "hash-password", "--stdin"]) == 1
    assert capsys.readouterr().out == ""


def test_web_without_a_secret_key_is_a_config_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_memory_config(monkeypatch, tmp_path, extra="[web]\nport = 8421\n")

    assert main(["web", "--config", str(config)]) == 2

    assert "[web] secret_key is required" in capsys.readouterr().err


def test_enabled_console_without_admins_is_refused_when_the_config_loads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_memory_config(
        monkeypatch, tmp_path, extra=f'[web]\nenabled = true\nsecret_key = "{SECRET_KEY}"\n'
    )

    assert main(["check-config", "--config", str(config)]) == 2

    assert "[web] admins is required" in capsys.readouterr().err


def test_the_console_serves_on_the_configured_port_and_stops(tmp_path: Path) -> None:
    web = WebSettings(
        port=free_port(),
        secret_key=SecretStr(SECRET_KEY),
        admins={"alice": SecretStr(hashed("pw"))},
    )
    engine = ApprovalEngine(memory_engine_settings(f"sqlite:///{tmp_path / 'a.db'}"))
    try:
        with serving(engine, web) as url:
            assert httpx.get(f"{url}/healthz").text == "ok\n"
            assert httpx.get(f"{url}/requests").status_code in (302, 303, 307)  # login first
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/healthz")
    finally:
        engine.close()


def test_behind_a_proxy_the_console_answers_under_root_path(tmp_path: Path) -> None:
    web = WebSettings(
        port=free_port(),
        root_path="/approvals",
        secret_key=SECRET_KEY,  # type: ignore[arg-type]
        admins={"alice": SecretStr(hashed("pw"))},
    )
    engine = ApprovalEngine(memory_engine_settings(f"sqlite:///{tmp_path / 'a.db'}"))
    try:
        with serving(engine, web) as url:
            assert url.endswith(f":{web.port}/approvals")
            assert httpx.get(f"{url}/healthz").status_code == 200  # the prefix passed on
            stripped = url.removesuffix("/approvals")
            assert httpx.get(f"{stripped}/healthz").status_code == 200  # the prefix stripped
    finally:
        engine.close()


def test_serve_with_the_console_enabled_serves_it_and_stops_on_sigterm(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    port = free_port()
    config = write_memory_config(
        monkeypatch,
        tmp_path,
        extra=f'[web]\nenabled = true\nport = {port}\nsecret_key = "{SECRET_KEY}"\n'
        f'[web.admins]\nalice = "{hashed("pw")}"\n',
    )
    serve = subprocess.Popen(
        [sys.executable, "-m", "scheduler.cli", "serve", "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:  # a subprocess offers no event: ask until it answers
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
                break
            except httpx.ConnectError:
                assert serve.poll() is None and time.monotonic() < deadline, "no console"
                time.sleep(0.1)
        serve.send_signal(signal.SIGTERM)
        _, log = serve.communicate(timeout=20)
    finally:
        if serve.poll() is None:
            serve.kill()
    assert serve.returncode == 0, log
    assert "stopping" in log and "Finished server process" in log
