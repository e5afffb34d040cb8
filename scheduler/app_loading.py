"""``approvals serve --app package.module:engine``: serve the caller's own engine.

``on_decision`` callbacks run in the process that polls; with ``--app`` that is a
process which imported the workflow system's module, callbacks registered.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from typing import cast

from approvals.engine import ApprovalEngine
from mailio.errors import ConfigError


def load_app(reference: str) -> ApprovalEngine:
    """The ApprovalEngine named ``module:attribute`` (``attribute`` may be dotted, or a
    function without arguments that returns one). The working directory is importable,
    as with ``python -m``."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ConfigError(
            f"--app {reference}: expected module:attribute, e.g. deploy.approvals:engine"
        )
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        found: object = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not f"{module_name}.".startswith(f"{exc.name}."):
            raise  # the module itself imports something missing: its own traceback says what
        raise ConfigError(f"--app {reference}: no module named {exc.name} on sys.path") from exc
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise ConfigError(f"--app {reference}: {module_name} has no attribute {attribute}")
        found = getattr(found, part)
    if not isinstance(found, ApprovalEngine) and callable(found):
        found = cast(Callable[[], object], found)()
    if not isinstance(found, ApprovalEngine):
        raise ConfigError(
            f"--app {reference}: expected an ApprovalEngine, got {type(found).__name__}"
        )
    return found
