"""Errors of the approval domain.

    ApprovalError
    ├── TokenError               a reply's token cannot be trusted
    │   ├── InvalidToken         malformed, or its signature does not match
    │   └── ExpiredToken         well-formed and signed, but past its expiry
    ├── UnknownRequest           no request with that id       (also LookupError)
    ├── RequestClosed            the request already has a final status
    ├── MessageTooLarge          attachments exceed the configured total size
    └── StoreError               the database failed a statement or cannot be used
        ├── SchemaOutdated       its schema revision is behind or ahead of the code's
        └── StoreConflict        a constraint refused a write (often: another writer was first)

Configuration errors are :class:`mailio.errors.ConfigError`, shared with the
mail layer so that one ``except`` catches every bad setting. SQLAlchemy's errors
become :class:`StoreError` at one boundary, approvals.store's ``transaction`` and
``reading``.
"""

from __future__ import annotations


class ApprovalError(Exception):
    """Base class of the domain's own errors."""


class TokenError(ApprovalError):
    """A token was found but cannot be trusted. The token itself is never in the message."""


class InvalidToken(TokenError):
    """The token is malformed or its signature does not verify."""


class ExpiredToken(TokenError):
    """The token verified but its expiry has passed."""


class UnknownRequest(ApprovalError, LookupError):
    """No approval request has that id."""


class RequestClosed(ApprovalError):
    """The request is approved, rejected, expired or cancelled already."""


class MessageTooLarge(ApprovalError, ValueError):
    """The notification's attachments exceed ``outbound.max_attachment_bytes``."""


class StoreError(ApprovalError):
    """The database failed a statement or cannot be used; the message names the store
    (password masked) and the cause, never the statement's parameters."""


class SchemaOutdated(StoreError):
    """The database's schema revision is not the code's: behind it (``approvals db
    upgrade`` brings it up) or ahead of it (written by newer code)."""


class StoreConflict(StoreError):
    """A write was refused by a constraint: normally a unique key a concurrent writer took."""
