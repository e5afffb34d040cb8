"""What happens to a reply's mail once its record is committed: delete, move or keep."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Disposition:
    """Stored as text in ``inbox_record.disposition``: "delete", "move:<folder>" or "keep"."""

    action: Literal["delete", "move", "keep"]
    folder: str = ""

    def __post_init__(self) -> None:
        if (self.action == "move") != bool(self.folder.strip()):
            raise ValueError(f"disposition {self.action!r}: a folder goes with move, and only")

    @classmethod
    def parse(cls, text: str) -> Disposition:
        if text in ("delete", "keep"):
            return cls(text)  # type: ignore[arg-type]
        folder = text.removeprefix("move:")
        if folder != text and folder.strip():
            return move_to(folder)
        raise ValueError(f'disposition {text!r}: expected "delete" or "move:<Folder>"')

    def __str__(self) -> str:
        return f"move:{self.folder}" if self.action == "move" else self.action


DELETE = Disposition("delete")
# Leave the mail where it is, to be read again next cycle (another instance changed
# the request meanwhile); never recorded.
KEEP = Disposition("keep")


def move_to(folder: str) -> Disposition:
    return Disposition("move", folder)
