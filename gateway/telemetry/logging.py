"""One logging set-up for the ``keylink serve`` process: one JSON object a line on stderr.

Each line has ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, the
``request_id`` of the request being served (when there is one), ``error`` with the
exception's type and traceback when one is logged, and the fields a call passed in
``extra``. A message longer than ``max_message_chars`` is cut, saying how much was left
out, so no log line carries a whole request body. Keylink's own code logs no secret,
SQL parameter or request body (``tests/security/test_log_secrets.py``); this only shapes
what is logged.
"""

from __future__ import annotations

import logging
import traceback
from datetime import UTC, datetime
from typing import Any

import orjson

from gateway.telemetry.state import current_request_id

_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "color_message", "taskName"}
)


def capped(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how many were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters cut)"


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object (see the module docstring)."""

    def __init__(self, max_message_chars: int = 2000) -> None:
        super().__init__()
        self.max_message_chars = max_message_chars

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": capped(record.getMessage(), self.max_message_chars),
        }
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id is not None:
            line["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in line:
                line[key] = (
                    value
                    if isinstance(value, (int, float, bool))
                    else capped(str(value), self.max_message_chars)
                )
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = {
                "type": record.exc_info[0].__name__,
                "traceback": capped(
                    "".join(traceback.format_exception(*record.exc_info)),
                    self.max_message_chars * 4,
                ),
            }
        return orjson.dumps(line, default=str).decode()


def log_config(level: str = "INFO", max_message_chars: int = 2000) -> dict[str, Any]:
    """The ``logging.config.dictConfig`` of a serving process (uvicorn's own loggers
    included): every record as one JSON line on stderr at ``level`` and above."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "gateway.telemetry.logging.JsonFormatter",
                "max_message_chars": max_message_chars,
            }
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            name: {"handlers": [], "level": level, "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
