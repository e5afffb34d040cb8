"""Email approval workflow engine: ask by email, read the replies, tell the workflow system.

``from approvals import ApprovalEngine``. Names are imported on first use, so
that the pure modules (``approvals.replies``, ``approvals.tokens``) load
without the database and mail layers.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "ApprovalEngine": "approvals.engine",
    "ApprovalError": "approvals.errors",
    "ExpiredToken": "approvals.errors",
    "InvalidToken": "approvals.errors",
    "MessageTooLarge": "approvals.errors",
    "RequestClosed": "approvals.errors",
    "SchemaOutdated": "approvals.errors",
    "StoreConflict": "approvals.errors",
    "StoreError": "approvals.errors",
    "TokenError": "approvals.errors",
    "UnknownRequest": "approvals.errors",
    "ApprovalRequest": "approvals.models",
    "Decision": "approvals.models",
    "NotificationLog": "approvals.models",
    "RequestStatus": "approvals.models",
    "DispatchReport": "approvals.reports",
    "ProcessReport": "approvals.reports",
    "EngineSettings": "approvals.settings",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'approvals' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
