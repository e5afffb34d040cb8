"""``approvals check-config``: the file, the theme and the store, changing nothing."""

from __future__ import annotations

import argparse
from typing import Any

from approvals.engine import check_settings
from approvals.settings import EngineSettings
from mailio.loading import describe_config


def add(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "check-config",
        parents=[common],
        help="validate and print the config",
        epilog="example: approvals check-config --config /etc/approvals/approvals.toml",
    )
    parser.set_defaults(run=_check_config)


def _check_config(args: argparse.Namespace) -> int:
    settings = EngineSettings.load(args.config)
    check_settings(settings)  # the theme and the store, creating nothing
    print(describe_config(settings))
    for notice in settings.notices:
        print(f"notice: {notice}")
    print(f"ok: {args.config} is valid")
    return 0
