"""``approvals init [DIR]``: a commented approvals.toml to start from, and the theme to edit.

The config is the one shipped in the package (``config/approvals.toml`` in a checkout);
``--templates`` adds a copy of the packaged default theme as ``DIR/templates/default``,
which the config's default templates_dir (``templates/`` beside it) then uses instead.
Nothing is overwritten without ``--force``, and a refusal writes nothing.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

from approvals.mails import DEFAULT_THEME, PACKAGED_TEMPLATES

CONFIG_NAME = "approvals.toml"


def add(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "init",
        parents=[common],
        help="write a commented approvals.toml (and the default theme) to start from",
        epilog="example: approvals init /etc/approvals --templates",
    )
    parser.add_argument(
        "directory",
        nargs="?",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="where to write approvals.toml (default: the current folder; created if missing)",
    )
    parser.add_argument(
        "--templates",
        action="store_true",
        help=f"also copy the default theme to DIR/templates/{DEFAULT_THEME} to customise it",
    )
    parser.add_argument("--force", action="store_true", help="overwrite what is already there")
    parser.set_defaults(run=_init)


def _init(args: argparse.Namespace) -> int:
    directory: Path = args.directory
    config = directory / CONFIG_NAME
    theme = directory / "templates" / DEFAULT_THEME
    targets = [config, theme] if args.templates else [config]
    existing = [target for target in targets if target.exists()]
    if existing and not args.force:
        names = " and ".join(str(target) for target in existing)
        print(f"error: {names} already exists; pass --force to overwrite", file=sys.stderr)
        return 1
    directory.mkdir(parents=True, exist_ok=True)
    config.write_text(config_template(), encoding="utf-8")
    print(f"wrote {config}")
    if args.templates:
        shutil.copytree(PACKAGED_TEMPLATES / DEFAULT_THEME, theme, dirs_exist_ok=True)
        print(f"wrote {theme}/ (edit it; [outbound] theme and templates_dir choose the theme)")
    print(
        "next: set APPROVALS_SECRET, SMTP_PASSWORD and IMAP_PASSWORD in the environment, "
        f"edit the servers, then run: approvals check-config --config {config}"
    )
    return 0


def config_template() -> str:
    """The commented config ``init`` writes: package data, so a wheel has it too."""
    return files("approvals").joinpath(CONFIG_NAME).read_text(encoding="utf-8")
