"""Where the command line's log lines go and how they look: text or JSON, stderr or a file.

Text is for a terminal and journald; JSON (one object a line: time, level, logger,
message and the record's extra fields) is for a log shipper. APScheduler's line per
run ("Running job…", "…executed successfully") and httpx's line per request stay
quiet unless ``--verbose``: the cycle's own summary says what happened.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from logging.handlers import WatchedFileHandler
from pathlib import Path
from typing import Any, Literal, TextIO

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CHATTY_LOGGERS = ("apscheduler", "httpx")

# What every LogRecord has; anything else on a record came in ``extra=``.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _CurrentStderr(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is when a line is logged (pytest swaps it per test)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure_logging(
    *,
    level: int = logging.INFO,
    log_format: LogFormat = "text",
    log_file: Path | None = None,
    verbose: bool = False,
) -> logging.Handler:
    """Send the root logger's records to ``log_file`` (else stderr) in ``log_format``.

    Calling it again replaces the handler an earlier call installed; handlers others
    installed (pytest's, an application's) are left alone. Returns the handler.
    """
    root = logging.getLogger()
    for old in [handler for handler in root.handlers if getattr(handler, "_approvals", False)]:
        root.removeHandler(old)
        old.close()
    handler: logging.Handler = (
        WatchedFileHandler(log_file, encoding="utf-8") if log_file else _CurrentStderr()
    )  # WatchedFileHandler reopens the file after logrotate moves it
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    handler._approvals = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else level)
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.WARNING)
    return handler
