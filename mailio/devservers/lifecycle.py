"""``with server:`` for every local server: start on entry, stop on exit."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Startable:
    """Subclasses implement :meth:`start` and :meth:`stop`; ``with`` calls them."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
