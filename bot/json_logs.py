"""One JSON object per log line (``LOG_FORMAT=json``), for log shippers (Loki, ELK, CloudWatch).

Redaction is not done here: ``bot.logs.RedactingFilter`` sits on the same handler and has
already rewritten the record's message and traceback when this formatter runs, so JSON and
text logs hide exactly the same things. Only the stack of ``stack_info=True`` (which the
filter does not see) goes through ``bot.logs.redact`` here.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

from bot.logs import redact

# attributes every LogRecord has; anything else was passed with ``extra=`` and is kept as a field
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:  # no filter ran (a handler without redaction)
            record.exc_text = redact(self.formatException(record.exc_info))
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, (int, float, bool, type(None))) else redact(str(value))
        return json.dumps(entry, ensure_ascii=False)
