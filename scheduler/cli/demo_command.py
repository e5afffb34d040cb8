"""``approvals demo``: the whole loop against local mail servers."""

from __future__ import annotations

import argparse
from typing import Any


def add(commands: Any, common: argparse.ArgumentParser) -> None:
    demo = commands.add_parser(
        "demo",
        help="the whole loop against local mail servers",
        epilog="example: approvals demo --keep",
    )
    demo.add_argument("--keep", action="store_true", help="keep the demo folder afterwards")
    demo.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    demo.set_defaults(run=_demo)


def _demo(args: argparse.Namespace) -> int:
    from scheduler.demo import run_demo

    return run_demo(keep=args.keep)
