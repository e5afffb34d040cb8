"""What an installed package brings along: `approvals init`, `--version`, and the default
theme as package data, used wherever a config has no templates folder of its own.

Building the wheel, installing it in a fresh virtual environment and running
`approvals demo` from an empty folder is CI's job (.ci/run), not the suite's.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest

from approvals.engine import ApprovalEngine
from approvals.mails import (
    PACKAGED_TEMPLATES,
    MailKind,
    default_theme_folder,
    missing_mail_templates,
    render_mail,
)
from mailio.inbound import memory as folders
from mailio.outbound import memory as outboxes
from scheduler.cli import main as cli
from scheduler.cli.init_command import config_template
from tests.engine_setup import REPO
from tests.memory_setup import received_by, write_memory_config

APPROVER = "alice@example.test"


@pytest.fixture
def empty_memory() -> Iterator[None]:
    outboxes.reset()
    folders.reset()
    yield
    outboxes.reset()
    folders.reset()


def test_the_checkout_config_is_the_packaged_one() -> None:
    assert (REPO / "config" / "approvals.toml").read_text(encoding="utf-8") == config_template()


def test_init_writes_the_commented_config_which_check_config_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("APPROVALS_SECRET", "a-secret-of-more-than-16-characters")
    monkeypatch.setenv("SMTP_PASSWORD", "smtp-password")
    monkeypatch.setenv("IMAP_PASSWORD", "imap-password")
    folder = tmp_path / "etc" / "approvals"

    assert cli(["init", str(folder)]) == 0
    assert (folder / "approvals.toml").read_text(encoding="utf-8") == config_template()
    assert not (folder / "templates").exists()
    assert cli(["check-config", "--config", str(folder / "approvals.toml")]) == 0

    assert f"ok: {folder / 'approvals.toml'} is valid" in capsys.readouterr().out


def test_init_writes_into_the_current_folder_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    assert cli(["init"]) == 0

    assert (tmp_path / "approvals.toml").read_text(encoding="utf-8") == config_template()


def test_init_overwrites_nothing_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "approvals.toml").write_text("# mine\n")

    assert cli(["init", str(tmp_path), "--templates"]) == 1
    assert (tmp_path / "approvals.toml").read_text() == "# mine\n"
    assert not (tmp_path / "templates").exists()  # a refusal writes nothing
    assert "pass --force" in capsys.readouterr().err

    assert cli(["init", str(tmp_path), "--force"]) == 0
    assert (tmp_path / "approvals.toml").read_text(encoding="utf-8") == config_template()


def test_init_refuses_to_overwrite_an_edited_theme(tmp_path: Path) -> None:
    assert cli(["init", str(tmp_path / "a"), "--templates"]) == 0
    (tmp_path / "a" / "approvals.toml").unlink()

    assert cli(["init", str(tmp_path / "a"), "--templates"]) == 1
    assert not (tmp_path / "a" / "approvals.toml").exists()


def test_init_templates_copies_the_theme_which_then_replaces_the_packaged_one(
    tmp_path: Path,
) -> None:
    assert cli(["init", str(tmp_path), "--templates"]) == 0
    templates = tmp_path / "templates"
    assert missing_mail_templates(templates, "default") == []
    (templates / "default" / "closed" / "subject.txt").write_text("ACME closed: {{ title }}")

    parts = render_mail(
        MailKind.CLOSED,
        templates_dir=templates,
        theme="default",
        language=None,
        context={"title": "Deploy", "status": "approved", "reason": ""},
    )

    assert default_theme_folder(templates) == "default"
    assert parts.subject == "ACME closed: Deploy"


def test_a_config_without_a_templates_folder_mails_from_the_packaged_theme(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, empty_memory: None
) -> None:
    config = write_memory_config(monkeypatch, tmp_path)
    text = config.read_text()
    without = text.replace(f'templates_dir = "{PACKAGED_TEMPLATES}"\n', "")
    assert without != text
    config.write_text(without)
    assert not (tmp_path / "templates").exists()

    engine = ApprovalEngine.from_config(config)
    try:
        engine.request_approval("Deploy 1.4.2", [APPROVER], language="de")
        engine.dispatch_pending()
    finally:
        engine.close()

    assert default_theme_folder(tmp_path / "templates") == str(PACKAGED_TEMPLATES / "default")
    (notification,) = received_by(APPROVER)
    assert notification["Subject"].startswith("Genehmigung angefragt: Deploy 1.4.2 [APR-")


def test_a_theme_of_its_own_borrows_the_kinds_it_lacks_from_the_packaged_theme(
    tmp_path: Path,
) -> None:
    shutil.copytree(PACKAGED_TEMPLATES / "default", tmp_path / "brand")
    shutil.rmtree(tmp_path / "brand" / "closed")
    shutil.rmtree(tmp_path / "brand" / "de")

    assert missing_mail_templates(tmp_path, "brand") == []
    parts = render_mail(
        MailKind.CLOSED,
        templates_dir=tmp_path,
        theme="brand",
        language="de",
        context={"title": "Deploy", "status": "expired", "reason": ""},
    )
    assert parts.subject == "Keine Aktion erforderlich: Deploy"  # the packaged German one


def test_version_is_the_installed_distributions(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli(["--version"])

    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"approvals {version('email-approvals')}"
