"""Reading the reply folder through Microsoft Graph.

Exchange Online cannot run here, so a small in-memory stand-in answers
through httpx.MockTransport with Graph's documented shapes: message lists
with @odata.nextLink paging, $value MIME content, mailFolders lookup by
$filter and creation, move, delete, totalItemCount, and 429 + Retry-After
throttling. The tests check the requests the mailbox makes and what it returns.

Message sizes: Graph v1.0 has no size property on message. The stand-in
answers ``$expand=singleValueExtendedProperties($filter=id eq 'Integer
0x0E08')`` as the extended-properties documentation shows (the id normalised
to "Integer 0xe08", the value a string), and ``$select=internetMessageHeaders``
with the documented list of name/value pairs.
"""

from __future__ import annotations

import json
from email import message_from_bytes
from email.parser import HeaderParser

import httpx
import pytest

from mailio.config import GraphServer
from mailio.errors import MailboxError, TransportError
from mailio.inbound.base import CursorStore
from mailio.inbound.graph import GraphMailbox

TOKEN = "graph-access-token-value"
USER = "https://graph.microsoft.com/v1.0/users/approvals@contoso.com"
SERVER = GraphServer.model_validate(
    {
        "name": "exo",
        "mailbox": "approvals@contoso.com",
        "oauth2": {"tenant": "contoso", "client_id": "app", "client_secret": "x"},
        "retry": {"max_attempts": 3, "backoff_seconds": 2},
    }
)


class FakeGraph:
    """Messages in folders, served as Graph serves them, page size 2."""

    def __init__(self) -> None:
        self.folders: dict[str, dict[str, str]] = {"inbox": {}}  # id -> {message id: mime}
        self.names = {"Approval Replies": "folder-replies"}
        self.folders["folder-replies"] = {}
        self.requests: list[httpx.Request] = []
        self.throttle: list[str] = []  # Retry-After values for the next calls, in order
        self.sizes_listed = True  # False: a message store without PR_MESSAGE_SIZE
        self.seq = 0  # the change log behind delta queries
        self.changes: list[tuple[int, str, str]] = []  # (seq, folder, message id)
        self.expired: set[int] = set()  # delta tokens Graph no longer knows

    def add(self, folder: str, *ids: str, body: str = "APPROVE\r\n") -> None:
        for key in ids:
            self._changed(folder, key)
            self.folders[folder][key] = (
                f"Message-ID: <{key}@contoso.com>\r\nFrom: Alice <alice@contoso.com>\r\n"
                f"Subject: reply {key}\r\n\r\n{body}"
            )

    def _changed(self, folder: str, key: str) -> None:
        self.seq += 1
        self.changes.append((self.seq, folder, key))

    def delta(self, request: httpx.Request, folder: str) -> httpx.Response:
        """messages/delta: a round lists the folder, a delta token answers what changed
        since (``@removed`` for what left it); pages as the Prefer header asks."""
        params = request.url.params
        present = self.folders[folder]
        if "$deltatoken" in params:
            since = int(params["$deltatoken"])
            if since in self.expired:
                return self.reply(410, {"error": {"code": "SyncStateNotFound"}})
            keys = list(dict.fromkeys(k for n, f, k in self.changes if n > since and f == folder))
            items: list[dict[str, object]] = [
                self.listed(k, present[k], params.get("$expand"))
                if k in present
                else {"id": k, "@removed": {"reason": "deleted"}}
                for k in keys
            ]
            at = self.seq
        else:
            start, _, at_text = params.get("$skiptoken", f"0:{self.seq}").partition(":")
            at = int(at_text)
            items = [self.listed(k, present[k], "size") for k in present]
            items = items[int(start) :]
        size = int(request.headers.get("Prefer", "odata.maxpagesize=10").partition("=")[2])
        body: dict[str, object] = {"value": items[:size]}
        base = str(request.url.copy_with(params=None))
        if len(items) > size:
            skipped = int(params.get("$skiptoken", "0:0").partition(":")[0]) + size
            body["@odata.nextLink"] = f"{base}?$skiptoken={skipped}:{at}"
        else:
            body["@odata.deltaLink"] = f"{base}?$deltatoken={at}"
        return self.reply(200, body)

    def listed(self, key: str, mime: str, expand: str | None) -> dict[str, object]:
        item: dict[str, object] = {"id": key, "receivedDateTime": f"2026-12-01T{key}"}
        if expand in ("size", "singleValueExtendedProperties($filter=id eq 'Integer 0x0E08')"):
            size = [{"id": "Integer 0xe08", "value": str(len(mime.encode()))}]
            item["singleValueExtendedProperties"] = size if self.sizes_listed else []
        return item

    def reply(self, status: int, body: object = None, **headers: str) -> httpx.Response:
        return httpx.Response(status, json=body, headers=headers)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        if self.throttle:
            return self.reply(429, {"error": {"code": "TooManyRequests"}}, **{
                "Retry-After": self.throttle.pop(0)
            })  # fmt: skip
        path = request.url.path.removeprefix("/v1.0/users/approvals@contoso.com")
        parts = path.strip("/").split("/")
        method = request.method
        if parts[0] == "mailFolders" and len(parts) == 1:
            if method == "POST":
                name = json.loads(request.content)["displayName"]
                self.names[name] = f"folder-{len(self.names)}"
                self.folders[self.names[name]] = {}
                return self.reply(201, {"id": self.names[name], "displayName": name})
            wanted = request.url.params["$filter"]
            found = [
                {"id": fid}
                for name, fid in self.names.items()
                if wanted == f"displayName eq '{name}'"
            ]
            return self.reply(200, {"value": found})
        if parts[0] == "mailFolders" and len(parts) == 2:
            return self.reply(200, {"totalItemCount": len(self.folders[parts[1]])})
        if parts[0] == "mailFolders" and parts[2:] == ["messages", "delta"]:
            return self.delta(request, parts[1])
        if parts[0] == "mailFolders" and parts[2] == "messages":
            messages = self.folders[parts[1]]
            ids = list(messages)
            wanted_id = request.url.params.get("$filter", "").removeprefix("internetMessageId eq ")
            if wanted_id.startswith("'"):  # Graph's filter on the Message-ID header
                ids = [
                    k for k in ids if f"Message-ID: {wanted_id.strip(chr(39))}\r\n" in messages[k]
                ]
            skip = int(request.url.params.get("$skip", "0"))
            page = ids[skip : skip + 2]
            expand = request.url.params.get("$expand")
            body: dict[str, object] = {
                "value": [self.listed(key, messages[key], expand) for key in page]
            }
            if skip + 2 < len(ids):
                next_url = request.url.copy_merge_params({"$skip": str(skip + 2)})
                body["@odata.nextLink"] = str(next_url)
            return self.reply(200, body)
        if parts[0] == "messages":
            key = parts[1]
            folder = next((f for f, msgs in self.folders.items() if key in msgs), None)
            if folder is None:
                return self.reply(404, {"error": {"code": "ErrorItemNotFound", "message": "gone"}})
            if method == "GET" and parts[2:] == ["$value"]:
                return httpx.Response(200, content=self.folders[folder][key].encode())
            if method == "GET" and request.url.params.get("$select") == "internetMessageHeaders":
                header = HeaderParser().parsestr(self.folders[folder][key], headersonly=True)
                pairs = [{"name": name, "value": value} for name, value in header.items()]
                return self.reply(200, {"id": key, "internetMessageHeaders": pairs})
            if method == "DELETE":
                del self.folders[folder][key]
                self._changed(folder, key)
                return httpx.Response(204)
            if method == "POST" and parts[2:] == ["move"]:
                target = json.loads(request.content)["destinationId"]
                self.folders[target][key] = self.folders[folder].pop(key)
                self._changed(folder, key)
                self._changed(target, key)
                return self.reply(201, {"id": key})
        return self.reply(400, {"error": {"code": "BadRequest", "message": f"unhandled {path}"}})


@pytest.fixture
def graph() -> FakeGraph:
    return FakeGraph()


@pytest.fixture
def sleeps() -> list[float]:
    return []


def mailbox(
    graph: FakeGraph,
    sleeps: list[float],
    folder: str = "INBOX",
    max_message_bytes: int | None = None,
    cursors: CursorStore | None = None,
) -> GraphMailbox:
    return GraphMailbox(
        SERVER,
        folder,
        http_client=httpx.Client(transport=httpx.MockTransport(graph)),
        token_provider=lambda: TOKEN,
        sleep=sleeps.append,
        max_wait_seconds=60,
        max_message_bytes=max_message_bytes,
        cursors=cursors,
    )


def test_fetch_follows_next_links_oldest_first_and_stops_at_the_limit(graph, sleeps):
    graph.add("inbox", "m1", "m2", "m3", "m4", "m5")

    batch = mailbox(graph, sleeps).fetch_batch(3)

    assert [m.key for m in batch] == ["m1", "m2", "m3"]
    assert batch[0].raw == graph.folders["inbox"]["m1"].encode()
    assert batch[0].size == len(batch[0].raw) and batch[0].complete
    lists = [r for r in graph.requests if r.url.path.endswith("/messages")]
    assert len(lists) == 2  # page 3 is never asked for
    first = lists[0]
    assert first.method == "GET"
    assert first.url.path == "/v1.0/users/approvals@contoso.com/mailFolders/inbox/messages"
    assert first.url.params["$select"] == "id,receivedDateTime"
    assert first.url.params["$expand"] == (
        "singleValueExtendedProperties($filter=id eq 'Integer 0x0E08')"
    )
    assert first.url.params["$orderby"] == "receivedDateTime asc"
    assert first.url.params["$top"] == "3"
    assert lists[1].url.params["$skip"] == "2"  # the nextLink, followed as given
    contents = [r for r in graph.requests if r.url.path.endswith("/$value")]
    assert [r.url.path.split("/")[-2] for r in contents] == ["m1", "m2", "m3"]


def test_the_body_of_a_message_over_the_limit_is_never_fetched(graph, sleeps):
    graph.add("inbox", "small")
    graph.add("inbox", "huge", body="Approved\r\n" + "GET /api/v1/items/42 200 12ms\r\n" * 5000)
    graph.add("inbox", "small-2")
    huge_size = len(graph.folders["inbox"]["huge"].encode())

    batch = mailbox(graph, sleeps, max_message_bytes=10_000).fetch_batch(10)

    assert [(m.key, m.complete) for m in batch] == [
        ("small", True),
        ("huge", False),
        ("small-2", True),
    ]
    contents = [r.url.path.split("/")[-2] for r in graph.requests if r.url.path.endswith("/$value")]
    assert contents == ["small", "small-2"]
    [header_request] = [
        r for r in graph.requests if r.url.params.get("$select") == "internetMessageHeaders"
    ]
    assert header_request.url.path.endswith("/messages/huge")
    huge = batch[1]
    assert huge.size == huge_size
    header = message_from_bytes(huge.raw)
    assert header["Message-ID"] == "<huge@contoso.com>" and header["Subject"] == "reply huge"
    assert header["From"] == "Alice <alice@contoso.com>" and b"Approved" not in huge.raw


def test_without_a_listed_size_a_message_over_the_limit_is_cut_to_its_header(graph, sleeps):
    graph.sizes_listed = False
    graph.add("inbox", "huge", body="x" * 20_000)

    [huge] = mailbox(graph, sleeps, max_message_bytes=10_000).fetch_batch(10)

    assert not huge.complete and huge.size == len(graph.folders["inbox"]["huge"].encode())
    assert huge.raw.endswith(b"Subject: reply huge\r\n\r\n")


def test_named_folder_is_resolved_by_display_name_once(graph, sleeps):
    graph.add("folder-replies", "r1")
    box = mailbox(graph, sleeps, folder="Approval Replies")

    assert [m.key for m in box.fetch_batch(10)] == ["r1"]
    assert box.count() == 1

    lookups = [r for r in graph.requests if r.url.path.endswith("/mailFolders")]
    assert len(lookups) == 1
    assert lookups[0].url.params["$filter"] == "displayName eq 'Approval Replies'"


def test_missing_folder_is_a_mailbox_error_naming_it(graph, sleeps):
    with pytest.raises(MailboxError, match='no top-level folder "O\'Brien"'):
        mailbox(graph, sleeps, folder="O'Brien").fetch_batch(5)
    [lookup] = graph.requests
    assert lookup.url.params["$filter"] == "displayName eq 'O''Brien'"


def test_move_creates_the_missing_folder_then_moves_each_message(graph, sleeps):
    graph.add("inbox", "m1", "m2", "m3")
    box = mailbox(graph, sleeps)

    box.move(["m1", "m2"], "Processed")
    box.move(["m3"], "Processed")

    created = [
        r for r in graph.requests if r.method == "POST" and r.url.path.endswith("/mailFolders")
    ]
    assert [json.loads(r.content) for r in created] == [{"displayName": "Processed"}]
    moves = [r for r in graph.requests if r.url.path.endswith("/move")]
    created_id = graph.names["Processed"]
    assert [json.loads(r.content) for r in moves] == [{"destinationId": created_id}] * 3
    assert list(graph.folders[created_id]) == ["m1", "m2", "m3"]
    assert box.count() == 0


def test_restore_moves_the_message_with_that_message_id_back_into_the_folder(graph, sleeps):
    graph.names["Failed"] = "folder-failed"
    graph.folders["folder-failed"] = {}
    graph.add("folder-failed", "m1", "m2")
    box = mailbox(graph, sleeps)

    assert box.restore("<m2@contoso.com>", "Failed") == 1

    assert (list(graph.folders["inbox"]), list(graph.folders["folder-failed"])) == (["m2"], ["m1"])
    [lookup] = [
        r for r in graph.requests if "$filter" in r.url.params and "/messages" in r.url.path
    ]
    assert lookup.url.params["$filter"] == "internetMessageId eq '<m2@contoso.com>'"
    assert box.restore("<absent@contoso.com>", "Failed") == 0


def test_delete_removes_each_message_and_tolerates_one_already_gone(graph, sleeps):
    graph.add("inbox", "m1", "m2")
    box = mailbox(graph, sleeps)

    box.delete(["m1", "gone", "m2"])

    deletes = [r for r in graph.requests if r.method == "DELETE"]
    assert [r.url.path.rsplit("/", 1)[1] for r in deletes] == ["m1", "gone", "m2"]
    assert box.count() == 0


def test_429_waits_for_retry_after_and_then_succeeds(graph, sleeps):
    graph.add("inbox", "m1")
    graph.throttle = ["3"]

    batch = mailbox(graph, sleeps).fetch_batch(5)

    assert [m.key for m in batch] == ["m1"]
    assert sleeps == [3.0]


def test_retry_after_is_bounded_by_max_wait(graph, sleeps):
    graph.throttle = ["86400"]
    assert mailbox(graph, sleeps).count() == 0
    assert sleeps == [60.0]


def test_throttling_that_does_not_stop_becomes_a_mailbox_error(graph, sleeps):
    graph.throttle = ["1", "1", "1", "1"]

    with pytest.raises(MailboxError) as caught:
        mailbox(graph, sleeps).count()

    assert "HTTP 429" in str(caught.value) and "TooManyRequests" in str(caught.value)
    assert sleeps == [1.0, 1.0]  # max_attempts = 3: two waits, then give up
    assert TOKEN not in str(caught.value)


def test_other_failures_raise_mailbox_error_with_graph_error_text(sleeps):
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            403, json={"error": {"code": "ErrorAccessDenied", "message": "Access is denied."}}
        )

    box = GraphMailbox(
        SERVER,
        http_client=httpx.Client(transport=httpx.MockTransport(refuse)),
        token_provider=lambda: TOKEN,
        sleep=sleeps.append,
    )
    with pytest.raises(MailboxError, match="ErrorAccessDenied: Access is denied") as caught:
        box.fetch_batch(5)
    assert TOKEN not in str(caught.value)
    assert sleeps == []  # a refusal is not retried


def test_connection_failure_is_a_transport_error_without_the_token(sleeps):
    def drop(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    box = GraphMailbox(
        SERVER,
        http_client=httpx.Client(transport=httpx.MockTransport(drop)),
        token_provider=lambda: TOKEN,
        sleep=sleeps.append,
    )
    with pytest.raises(TransportError) as caught:
        box.count()
    assert caught.value.__cause__ is None and TOKEN not in str(caught.value)
    box.close()
    box.close()


def test_zero_limit_makes_no_request(graph, sleeps):
    assert mailbox(graph, sleeps).fetch_batch(0) == []
    assert graph.requests == []


def test_from_settings_builds_a_mailbox_without_network(graph, sleeps):
    box = GraphMailbox.from_settings(SERVER, "Approval Replies")
    assert box.folder == "Approval Replies" and "approvals@contoso.com" in repr(box)
    assert "client_secret" not in repr(box)
    box.close()


class DictCursors:
    """A CursorStore in a dict (the engine's is its database: tests/test_cursors.py)."""

    def __init__(self) -> None:
        self.saved: dict[str, str | None] = {}

    def load(self, key: str) -> str | None:
        return self.saved.get(key)

    def save(self, key: str, value: str | None) -> None:
        self.saved[key] = value


def _asked(graph: FakeGraph) -> list[str]:
    """What each request after the first listed: "list", "round", "changes" (delta token)."""
    kinds = []
    for request in graph.requests:
        path, params = request.url.path, request.url.params
        if path.endswith("/messages/delta"):
            kinds.append("changes" if "$deltatoken" in params else "round")
        elif path.endswith("/messages"):
            kinds.append("list")
    return kinds


def test_once_the_backlog_is_read_a_batch_asks_only_for_what_changed(graph, sleeps):
    graph.add("inbox", "m1", "m2")
    box = mailbox(graph, sleeps)
    first = box.fetch_batch(10)
    box.delete([m.key for m in first])
    graph.add("inbox", "m3")

    second = box.fetch_batch(10)
    box.delete([m.key for m in second])
    graph.add("inbox", "m4")
    third = box.fetch_batch(10)

    assert [[m.key for m in batch] for batch in (first, second, third)] == [
        ["m1", "m2"],
        ["m3"],
        ["m4"],
    ]
    assert _asked(graph) == ["list", "round", "changes"]
    [changes] = [r for r in graph.requests if "$deltatoken" in r.url.params]
    assert changes.headers["Prefer"] == "odata.maxpagesize=100"


def test_a_backlog_is_listed_batch_by_batch_before_the_changes_are_asked(graph, sleeps):
    graph.add("inbox", "m1", "m2", "m3")
    box = mailbox(graph, sleeps)

    first = box.fetch_batch(2)
    box.delete([m.key for m in first])
    second = box.fetch_batch(2)

    assert [m.key for m in second] == ["m3"]
    assert _asked(graph) == ["list", "list"]


def test_a_message_left_in_the_folder_is_read_again_and_a_removed_one_is_not(graph, sleeps):
    box = mailbox(graph, sleeps)
    assert box.fetch_batch(10) == []
    graph.add("inbox", "kept", "taken")

    assert [m.key for m in box.fetch_batch(10)] == ["kept", "taken"]
    del graph.folders["inbox"]["taken"]  # another instance took it
    graph._changed("inbox", "taken")

    assert [m.key for m in box.fetch_batch(10)] == ["kept"]


def test_the_delta_link_is_kept_and_a_restarted_mailbox_resumes_from_it(graph, sleeps):
    cursors = DictCursors()
    box = mailbox(graph, sleeps, cursors=cursors)
    box.fetch_batch(10)
    box.fetch_batch(10)  # a round: its delta link is kept
    box.close()
    [link] = cursors.saved.values()
    assert link is not None and "$deltatoken=" in link
    graph.add("inbox", "while-down")

    again = mailbox(graph, sleeps, cursors=cursors)
    first = again.fetch_batch(10)  # the folder, listed: it holds the new message
    graph.requests.clear()
    again.delete([m.key for m in first])
    graph.add("inbox", "after")
    second = again.fetch_batch(10)

    assert [m.key for m in first] == ["while-down"]
    assert [m.key for m in second] == ["after"]
    assert _asked(graph) == ["changes"]  # no new round: the kept link


def test_a_delta_link_graph_no_longer_knows_starts_a_new_round(graph, sleeps):
    cursors, key = DictCursors(), f"graph delta {USER} INBOX"
    cursors.saved[key] = f"{USER}/mailFolders/inbox/messages/delta?$deltatoken=0"
    graph.expired.add(0)
    box = mailbox(graph, sleeps, cursors=cursors)
    box.fetch_batch(10)
    graph.add("inbox", "m1")

    assert [m.key for m in box.fetch_batch(10)] == ["m1"]
    assert _asked(graph) == ["list", "changes", "round"]
    assert "$deltatoken=0" not in (cursors.saved[key] or "")


def test_a_round_of_many_pages_stops_once_the_batch_is_full(graph, sleeps):
    box = mailbox(graph, sleeps)
    box.fetch_batch(5)
    graph.add("inbox", *(f"m{n:03}" for n in range(250)))

    batch = box.fetch_batch(5)

    assert [m.key for m in batch] == ["m000", "m001", "m002", "m003", "m004"]
    assert _asked(graph) == ["list", "round"]  # one page of 100, not three
