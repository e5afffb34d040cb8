"""Removing messages from the selected folder, with and without UIDPLUS."""

from __future__ import annotations

import logging

from imapclient import IMAPClient

log = logging.getLogger("mailio.inbound.imap.mailbox")  # the mailbox's log, as before

_DELETED = b"\\Deleted"


def finish_interrupted_deletes(client: IMAPClient, name: str, folder: str) -> None:
    """Expunge what a delete flagged \\Deleted but did not expunge (a crash or a cut
    connection in between); otherwise it would stay in the folder, never read again."""
    stuck = client.search(["DELETED"])
    if not stuck:
        return
    log.info(
        "%s: expunging %d message(s) left flagged \\Deleted in folder %r",
        name,
        len(stuck),
        folder,
    )
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(stuck)
    else:
        # Plain EXPUNGE removes every \Deleted message: only the engine deletes in its
        # reply folder, so they are all ours.
        client.expunge()


def expunge(client: IMAPClient, uids: list[int], name: str, folder: str) -> None:
    """Remove ``uids`` from the selected folder (named ``folder``, for the log)."""
    client.add_flags(uids, [_DELETED], silent=True)
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(uids)
        return
    # Plain EXPUNGE removes every \Deleted message; do it only when that is ours alone.
    others = set(client.search(["DELETED"])) - set(uids)
    if others:
        log.warning(
            "%s has no UIDPLUS and folder %r holds %d other message(s) flagged \\Deleted; "
            "left %d processed message(s) flagged \\Deleted instead of expunging them",
            name,
            folder,
            len(others),
            len(uids),
        )
        return
    client.expunge()
