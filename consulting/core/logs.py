"""Logging: every record carries the id of the request it belongs to."""

from __future__ import annotations

import itertools
import logging
import os
import secrets
import time
from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="-")


class _RequestIds:
    """Unique request ids without a system call each: a random prefix per process and a
    counter (``uuid4`` reads the kernel's random source for every request). Ids label log
    lines; they are not secrets. A forked child draws a prefix of its own."""

    def __init__(self) -> None:
        self._reseed()
        os.register_at_fork(after_in_child=self._reseed)

    def _reseed(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._counter = itertools.count(1)

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"


new_request_id = _RequestIds()


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class _SecondCachedFormatter(logging.Formatter):
    """The standard formatter, formatting each second's timestamp once, not per record."""

    _cached: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if datefmt:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        if self._cached[0] != second:
            self._cached = (second, time.strftime(self.default_time_format, self.converter(second)))
        return f"{self._cached[1]},{int(record.msecs):03d}"  # as default_msec_format


def configure_logging(level: str) -> None:
    """The service's log lines: one format, the request id on each.

    The record attributes nothing here prints are not collected (the caller's source line,
    thread, process): the knobs Python's logging documents for services that log per request.
    """
    logging._srcfile = None  # no findCaller per record
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        _SecondCachedFormatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
