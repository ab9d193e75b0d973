"""The log lines' request ids and timestamps (consulting/logs.py)."""

import logging
import os

import pytest

from consulting.core.logs import _SecondCachedFormatter, new_request_id


def test_request_ids_are_unique_and_shaped_like_uuid_hex() -> None:
    ids = [new_request_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(len(rid) == 32 and int(rid, 16) >= 0 for rid in ids)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_forked_worker_draws_ids_of_its_own() -> None:
    parent = new_request_id()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child process
        os.write(write, new_request_id().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    from_child = os.read(read, 64).decode()
    os.close(read)
    assert from_child[:16] != parent[:16]
    assert new_request_id()[:16] == parent[:16]


@pytest.mark.parametrize("created", [0.0, 5.0069, 1_764_403_200.999, 1_764_403_201.0])
def test_timestamps_read_as_the_standard_formatters(created: float) -> None:
    fmt = "%(asctime)s %(message)s"
    standard, cached = logging.Formatter(fmt), _SecondCachedFormatter(fmt)
    for _ in range(2):  # the second time from the cache
        record = logging.LogRecord("n", logging.INFO, "p", 1, "m", None, None)
        record.created, record.msecs = created, (created - int(created)) * 1000
        assert cached.format(record) == standard.format(record)
