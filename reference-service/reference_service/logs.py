"""JSON logs, one event per line (the ``awslogs`` driver makes every line a CloudWatch Logs event).

A database failure is logged as ONE line that carries the driver's own words, e.g. ::

    {"timestamp": "...", "level": "ERROR", "logger": "reference_service.db", "message": "database connection failed:
     (psycopg.OperationalError) connection failed: connection to server at \\"10.0.1.5\\", port 5432 failed: ..."}

That is what the service stack's metric filter counts (``?"connection to server at" ?"psycopg.OperationalError"
...``, ``ava_olo_constructs.log_filter_pattern``): the filter matches phrases inside the event, and JSON escaping
(quotes, line breaks) keeps the phrases intact. A multi-line traceback would be counted once per line; here it is
one escaped field of the same event, so one failure is one count.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

#: Attributes every LogRecord has; anything else was passed with ``extra=`` and is logged as a field.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event = {
            "timestamp": datetime.fromtimestamp(record.created, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.name == "gunicorn.access" and isinstance(record.args, dict):
            atoms = record.args  # gunicorn's access-log atoms: m method, U path, s status, D microseconds
            event.update(method=atoms.get("m"), path=atoms.get("U"), status=_int(atoms.get("s")), duration_us=_int(atoms.get("D")))
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                event[key] = value
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, default=str, ensure_ascii=False)


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def configure(level: int = logging.INFO) -> None:
    """Send the root logger's records to stdout as JSON lines (idempotent)."""
    root = logging.getLogger()
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    root.setLevel(level)
