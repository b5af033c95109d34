"""Logging set-up: JSON lines (one object per record) or plain text, chosen by LOG_FORMAT,
written to stderr in batches."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import traceback
import weakref
from typing import Any

# Attributes every LogRecord has; anything else was passed in `extra=` and belongs in the line.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# One encoder for every line (json.dumps with `default` would build one per call).
_ENCODER = json.JSONEncoder(default=str, check_circular=False)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the `extra` fields, traceback."""

    _second = -1
    _second_text = ""

    def _time(self, created: float) -> str:
        """ISO 8601 in UTC to the millisecond (`2026-11-29T09:10:25.281+00:00`); the text up
        to the second is kept, as under load most lines share it with the one before."""
        # Rounded to the microsecond as datetime.fromtimestamp rounds it.
        second, microsecond = divmod(int(created) * 1_000_000 + round(created % 1 * 1e6), 1_000_000)
        if second != self._second:
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._second_text}.{microsecond // 1000:03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self._time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return _ENCODER.encode(line)


class BatchedStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """stderr, formatted and written a batch at a time: every `flush_seconds` by a thread of its
    own, when BATCH_RECORDS have gathered, and at once for a warning or worse (and at exit, by
    logging.shutdown).

    StreamHandler formats, writes and flushes each record as it is logged. Under load that costs
    a request far more than the microseconds a benchmark of it alone shows (bench/RESULTS.md);
    done for a batch at a time, off the request, it costs little. Neither of the standard
    library's handlers does this: MemoryHandler has no time limit and hands records to its
    target one write at a time, and QueueListener wakes its thread for every record. Each batch
    is one write of whole lines, so other writers to stderr never split one of ours.

    Like QueueHandler's, a record is formatted after it was logged: its arguments must not
    change meanwhile (the request log's are strings and numbers).
    """

    BATCH_RECORDS = 1000

    def __init__(self, flush_seconds: float = 0.1) -> None:
        super().__init__()
        self._records: list[logging.LogRecord] = []
        self._closed = threading.Event()
        self._flush_seconds = flush_seconds
        self._start_flushing()
        # A process forked from this one (gunicorn --preload, multiprocessing's fork) inherits
        # neither the thread nor the right to the pending records, which this process writes.
        after_fork = weakref.WeakMethod(self._after_fork)
        os.register_at_fork(after_in_child=lambda: (method := after_fork()) and method())

    def _start_flushing(self) -> None:
        threading.Thread(target=self._flush_regularly, name="log-flush", daemon=True).start()

    def _after_fork(self) -> None:
        self._records.clear()
        if not self._closed.is_set():
            self._start_flushing()

    def emit(self, record: logging.LogRecord) -> None:  # called with self.lock held
        self._records.append(record)
        if len(self._records) >= self.BATCH_RECORDS or record.levelno >= logging.WARNING:
            self.flush()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            if not self._records:
                return
            lines = []
            for record in self._records:
                try:
                    lines.append(self.format(record) + self.terminator)
                except Exception:
                    self.handleError(record)
            self._records.clear()
            try:
                self.stream.write("".join(lines))
                self.stream.flush()
            except Exception:  # a closed or full stderr must not fail a request
                if logging.raiseExceptions:  # what Handler.handleError does with a failed write
                    traceback.print_exc()

    def close(self) -> None:
        self._closed.set()
        self.flush()
        super().close()

    def _flush_regularly(self) -> None:
        while not self._closed.wait(self._flush_seconds):
            self.flush()


def configure_logging(log_format: str, level: str = "info") -> None:
    """Give the root logger one stderr handler in the chosen format, and the level (idempotent)."""
    root = logging.getLogger()
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    for handler in root.handlers:
        if isinstance(handler, BatchedStderr):
            handler.setFormatter(formatter)
            break
    else:
        handler = BatchedStderr()
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level.upper())
    # Alembic announces its plugins and its dialect at INFO each time start-up checks the
    # migrations (db/revision.py): its own machinery, not events of this service.
    logging.getLogger("alembic").setLevel(logging.DEBUG if level == "debug" else logging.WARNING)
