"""Structured logs: one JSON object per line on stderr, for journald and the fleet view.

Fields passed with ``extra={...}`` become keys of the object. Personal data
never goes into a log: log ids, numbers, states and sizes, not names.
"""

from __future__ import annotations

import json
import logging
import sys
import time

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def setup_logging(level: str = "INFO", stream=None, name: str = "kiosk") -> None:
    """JSON lines on ``stream`` (stderr) for the logger ``name`` and the ones below it.

    The kiosk's programs log under ``kiosk``; the service gives ``""``, the
    process's root logger, so that its own lines, uvicorn's and its
    libraries' warnings are all one JSON format.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger(name or None)
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    if name:
        root.propagate = False
