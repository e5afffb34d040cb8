"""Replies in, decisions out: exactly once per message, never from the wrong sender.

- :mod:`.view`: what the store knows about a batch, as plain values;
- :mod:`.preload`: loads that view (requests locked) in a few queries;
- :mod:`.judge`: the rules, pure: a parsed reply and the view in, a judgement out;
- :mod:`.answers`: the short mails back to approvers (answers, receipts), pure;
- :mod:`.recorder`: writes judgements, one commit per batch: its writes held (:mod:`.held`)
  and sent as one statement each; on a conflict, again with one savepoint per message;
- :mod:`.polling`: one cycle against a mailbox: fetch, record, then move or delete.
"""

from approvals.inbox.judge import Decided, Judgement, judge
from approvals.inbox.preload import message_key
from approvals.inbox.recorder import handle_batch
from approvals.inbox.view import BatchView, KnownNotification, SeenMessage

__all__ = [
    "BatchView",
    "Decided",
    "Judgement",
    "KnownNotification",
    "SeenMessage",
    "handle_batch",
    "judge",
    "message_key",
]
