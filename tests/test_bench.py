"""The benchmark harness (``python -m bench.run``): it runs end to end on the bundled asyncio
driver (no wrk, no Node, no PostgreSQL needed), and its parsing and verdicts are right."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from starlette.testclient import TestClient

from bench.baseline_app import ACQUIRE_PATH, build_connexion
from bench.driver import Load, Request, lua_string, parse_wrk, percentile_ms, raw_request
from bench.report import Row, targets
from consulting import PROJECT_ROOT


def test_a_short_run_prints_and_writes_both_rows(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            *("--duration", "1", "--warmup", "0", "--driver", "asyncio"),
            *("--only", "starlette-baseline,acquire", "--json", str(out), "--quiet-wait", "0"),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("starlette-baseline") and "acquire" in line for line in lines)
    assert any(line.startswith("serve, SQLite, 1 worker") and "acquire" in line for line in lines)

    document = json.loads(out.read_text(encoding="utf-8"))
    results = {row["name"]: row for row in document["results"]}
    assert list(results) == ["starlette-baseline", "acquire"]
    for row in results.values():
        assert row["rps"] > 0 and row["requests"] > 0, row
        assert row["errors"] == 0, row
        assert 0 < row["p50_ms"] <= row["p99_ms"], row
    assert results["starlette-baseline"]["vs_starlette"] == 1.0
    assert results["acquire"]["vs_starlette"] > 0
    assert document["meta"]["driver"].startswith("asyncio")
    first_target = document["targets"][0]
    assert first_target["check"].startswith("acquire") and first_target["verdict"] in (
        "PASS",
        "MISS",
    )


WRK_OUTPUT = """Running 1s test @ http://127.0.0.1:1/api/user/post/acquire?tag_id=1
  2 threads and 32 connections
BENCH {"requests": 1200, "duration_us": 1000500, "p50_us": 850.0, "p99_us": 4200.5, \
"connect": 0, "read": 1, "write": 0, "status": 3, "timeout": 2}
Requests/sec:   1199.40
"""


def test_wrk_figures_come_from_the_done_hook() -> None:
    load = parse_wrk(WRK_OUTPUT)
    assert load.requests == 1200 and load.errors == 6
    assert load.p50_ms == 0.85 and load.p99_ms == 4.2005
    assert round(load.rps) == 1199


def test_lua_strings_escape_everything_but_printable_ascii() -> None:
    assert lua_string('a "b" \\ c') == '"a \\034b\\034 \\092 c"'
    assert lua_string("需") == '"\\233\\156\\128"'


def test_raw_requests_carry_their_body_length() -> None:
    request = Request("POST", "/x", {"Content-Type": "text/plain"}, "héllo")
    raw = raw_request("127.0.0.1", 8000, request)
    assert raw.startswith(b"POST /x HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n")
    assert b"Content-Length: 6\r\n\r\nh\xc3\xa9llo" in raw


def test_percentiles_are_nearest_rank() -> None:
    ordered = [i / 1000 for i in range(1, 101)]  # 1..100 ms
    assert percentile_ms(ordered, 0.50) == 50.0
    assert percentile_ms(ordered, 0.99) == 99.0
    assert percentile_ms([], 0.5) == 0.0


def _row(name: str, operation: str, rps: float, p50: float = 1, p99: float = 2) -> Row:
    return Row(name, name, operation, Load(int(rps * 10), 10.0, p50, p99, errors=0))


def test_targets_judge_against_the_same_run() -> None:
    rows = {
        row.name: row
        for row in [
            _row("starlette-baseline", "acquire", 10_000),
            _row("prism", "acquire", 4_000),
            _row("acquire", "acquire", 3_000),
            _row("publish", "publish", 500, p50=50, p99=600),
            _row("publish-pg", "publish", 800),
            _row("mock-static-acquire", "acquire", 4_500),
        ]
    }
    verdicts = [t.verdict for t in targets(rows, 32)]
    # acquire: 30% of Starlette, below Prism; publish: p99 12x p50; pg 1.6x; mock and the
    # login flood not measured
    assert verdicts == ["PASS", "MISS", "MISS", "PASS", "n/a", "PASS", "n/a", "n/a"]
    rows["login-idle"] = _row("login-idle", "login", 10, p99=300)
    rows["login-flood"] = _row("login-flood", "login", 8, p99=590)
    assert targets(rows, 32)[-2].verdict == "PASS"
    rows["login-flood"] = _row("login-flood", "login", 3, p99=700)
    assert targets(rows, 32)[-2].verdict == "MISS"
    # the proxy: p50 1 ms over acquire's passes, 3 ms over misses
    rows["proxy-acquire"] = _row("proxy-acquire", "acquire", 2_900, p50=2)
    assert targets(rows, 32)[-1].verdict == "PASS"
    rows["proxy-acquire"] = _row("proxy-acquire", "acquire", 2_000, p50=4)
    assert targets(rows, 32)[-1].verdict == "MISS"


def test_the_connexion_baseline_answers_the_envelope_after_validating_tag_id() -> None:
    envelope = {"code": 0, "msg": "", "content": [{"post_id": 1}]}
    with TestClient(build_connexion(envelope)) as client:
        answered = client.get(ACQUIRE_PATH, params={"tag_id": 1})
        assert answered.status_code == 200
        assert answered.json() == envelope
        # Connexion's own request validation is part of the floor it measures
        assert client.get(ACQUIRE_PATH, params={"tag_id": "one"}).status_code == 400
