"""Every log record of the test session, scanned for credentials.

A handler on the root logger (and on uvicorn's loggers, which do not propagate) keeps
the text of every record — message, arguments and traceback — while the suite runs. After
each test, the records it produced are scanned for anything shaped like a credential (an
API key with its secret, a JWT, an ``Authorization``/``X-API-Key`` header value, a
``password=…`` pair) and for the exact secrets tests registered with :func:`remember`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

SHAPES: dict[str, re.Pattern[str]] = {
    "API key": re.compile(r"kl_[0-9a-z]{1,32}_[A-Za-z0-9_-]{20,}"),
    "JWT": re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),
    "credential header": re.compile(
        r"(?i)(authorization|x-api-key)['\"]?\s*[:=]\s*['\"]?(bearer |basic |apikey )?"
        r"[A-Za-z0-9._~+/=-]{12,}"
    ),
    "password": re.compile(
        r"(?i)\b(password|passwd|secret)['\"]?\s*[:=]\s*['\"]?(?![*<$\[{(])[^\s'\",})]{3,}"
    ),
}
"""Shapes no log line may contain."""

_remembered: set[str] = set()
_lock = threading.Lock()


def remember(secret: str) -> None:
    """Register ``secret`` (a key, token or password a test made) as never to be logged."""
    if len(secret) >= 8:
        with _lock:
            _remembered.add(secret)


def leaks(lines: Iterable[str]) -> list[str]:
    """Descriptions of every credential found in ``lines`` (empty: none)."""
    with _lock:
        known = list(_remembered)
    found = []
    for line in lines:
        for name, shape in SHAPES.items():
            match = shape.search(line)
            if match:
                found.append(f"{name} in log line: {line[:300]!r}")
        found.extend(f"a registered secret in log line: {line[:300]!r}" for s in known if s in line)
    return found


class RecordKeeper(logging.Handler):
    """Keeps the full text of every record it is given, from any thread."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the formatted record (its traceback included)."""
        try:
            text = self.format(record)
        except Exception:  # a record that cannot be formatted still has its raw parts
            text = f"{record.msg!r} {record.args!r}"
        with _lock:
            self.lines.append(text)

    def since(self, index: int) -> list[str]:
        """The lines kept since position ``index``."""
        with _lock:
            return self.lines[index:]


UNPROPAGATED = ("uvicorn", "uvicorn.error", "uvicorn.access")
"""Loggers that do not hand their records to the root logger."""
