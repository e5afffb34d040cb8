"""Graph mail folders by display name: looked up once, created when a move needs one."""

from __future__ import annotations

from mailio.errors import MailboxError
from mailio.inbound.graph.api import GraphApi
from mailio.inbound.graph.messages import odata_quote


class GraphFolders:
    """The ids of a mailbox's top-level folders; "INBOX" is Graph's well-known inbox."""

    def __init__(self, api: GraphApi) -> None:
        self._api = api
        self._ids: dict[str, str] = {}

    def folder_id(self, name: str, *, create: bool) -> str:
        """The folder's id; with ``create``, a missing folder is created first."""
        if name.upper() == "INBOX":
            return "inbox"
        if name in self._ids:
            return self._ids[name]
        api = self._api
        found = self._find(name)
        if found is None and create:
            response = api.call("POST", f"{api.user_url}/mailFolders", json={"displayName": name})
            if response.status_code == 409:  # another worker created it meanwhile
                found = self._find(name)
            else:
                api.check(response, f"create folder {name!r}")
                found = str(response.json()["id"])
        if found is None:
            raise MailboxError(
                f"Microsoft Graph ({api.name}): no top-level folder {name!r} in "
                f"{api.user_url}; create it or fix the folder name in the configuration"
            )
        self._ids[name] = found
        return found

    def _find(self, name: str) -> str | None:
        data = self._api.call_json(
            "GET",
            f"{self._api.user_url}/mailFolders",
            f"look up folder {name!r}",
            params={"$filter": f"displayName eq {odata_quote(name)}", "$select": "id"},
        )
        values = data.get("value", [])
        return str(values[0]["id"]) if values else None
