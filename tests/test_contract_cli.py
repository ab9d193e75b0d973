"""``consulting contract --base-url``: the contract checks against a server reached over HTTP.

Two servers on 127.0.0.1: a deliberately wrong one (a few lines of Starlette that break the
envelope in the ways real backends do), which the command must fail and name each violation of;
and ``consulting serve`` itself, which it must pass, writing a JUnit file that CI can read.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from subprocess import CompletedProcess

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from consulting.spec import operations
from tests.mockserver import free_port, running, serving
from tests.settings import TEST_NOTIFY_KEY, environment

HOST = "127.0.0.1"


def run_contract(base_url: str, *args: str, timeout: float = 120) -> CompletedProcess[str]:
    """``consulting contract`` in a fresh process, as a backend team would run it."""
    command = [sys.executable, "-m", "consulting.cli", "contract", "--base-url", base_url, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


# ---------------------------------------------------------------------------- a wrong server
def envelope(code: int, content: list[object] | None = None, msg: str = "") -> dict[str, object]:
    return {"code": code, "msg": msg, "content": content if content is not None else []}


async def register(_request: Request) -> Response:
    return JSONResponse(envelope(0, [1]))


async def login(_request: Request) -> Response:
    return JSONResponse(envelope(0, [1]), headers={"X-Session-Token": "a-token"})


async def tag_list(_request: Request) -> Response:
    """Success in the status, failure in the body: 200 with code 1."""
    return JSONResponse(envelope(1, msg="tags are fine"))


async def sms_send(_request: Request) -> Response:
    """A framework's default error format instead of the envelope."""
    problem = {"type": "about:blank", "title": "Bad Request", "status": 400, "detail": "nope"}
    return JSONResponse(problem, status_code=400, media_type="application/problem+json")


async def user_signin(_request: Request) -> Response:
    """A business code that the table does not have."""
    return JSONResponse(envelope(40077, msg="验证码错误 / made-up code"), status_code=400)


async def order_list(_request: Request) -> Response:
    """An envelope without its `content`."""
    return JSONResponse({"code": 0, "msg": ""})


async def anything_else(_request: Request) -> Response:
    return JSONResponse(envelope(40000, msg="请求参数不合法 / invalid request"), status_code=400)


WRONG_ROUTES = [
    Route("/api/user/register", register, methods=["POST"]),
    Route("/api/consultant/register", register, methods=["POST"]),
    Route("/api/user/login", login, methods=["POST"]),
    Route("/api/consultant/login", login, methods=["POST"]),
    Route("/api/tag/list", tag_list, methods=["GET"]),
    Route("/api/sms/send", sms_send, methods=["POST"]),
    Route("/api/user/signin", user_signin, methods=["POST"]),
    Route("/api/consultant/order/list", order_list, methods=["GET"]),
    Route("/{path:path}", anything_else, methods=["GET", "POST", "DELETE"]),
]


@pytest.fixture
def wrong_server() -> Iterator[str]:
    """The wrong app, served by uvicorn in a background thread of this process."""
    with serving(Starlette(routes=WRONG_ROUTES), HOST) as base:
        yield base


def test_contract_fails_a_wrong_server_and_names_each_violation(
    wrong_server: str, tmp_path: Path
) -> None:
    junit = tmp_path / "wrong.xml"
    result = run_contract(wrong_server, "--max-examples", "5", "--junit-xml", str(junit))
    output = result.stdout + result.stderr

    assert result.returncode == 1, output
    assert "FAILED: the server violates the contract" in output
    # problem+json instead of the envelope
    assert "Not the envelope (HTTP 400, Content-Type application/problem+json)" in output
    # 200 with code 1
    assert "code 1 with HTTP 200: a 2xx answer must carry code 0" in output
    # a code that is not in the table
    assert "Undeclared error code 40077 (HTTP 400)" in output
    # an envelope without content
    assert "missing `content`" in output
    # valid requests refused (it answers 400 to everything it does not know)
    assert "[valid_data_accepted] Schema-valid request rejected" in output
    # each named under its operation, with a curl reproducer
    for label in (
        "POST /api/sms/send",
        "GET /api/tag/list",
        "POST /api/user/signin",
        "GET /api/consultant/order/list",
    ):
        assert f"\n{label}: " in output, label
    assert "reproduce:\n    curl -X" in output
    # its tag list is empty, so the posts that accept and pay/init need could not be published
    assert "warning: The posts meant for accept and pay/init could not all be published" in output
    assert "(GET /api/tag/list listed no tags)" in output

    suite = ET.parse(junit).getroot().find("testsuite")  # noqa: S314 (our own file)
    assert suite is not None
    cases = suite.iter("testcase")
    failed = {case.get("name") for case in cases if case.find("failure") is not None}
    assert {"POST /api/sms/send", "GET /api/tag/list", "POST /api/user/signin"} <= failed


def test_contract_says_when_it_cannot_start() -> None:
    result = run_contract(f"http://{HOST}:{free_port()}", "--max-examples", "1", timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "ERROR setup: ConnectionError" in result.stdout
    assert "The run could not start" in result.stdout


# ---------------------------------------------------------------------------- our own server
@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """``consulting serve`` on a fresh SQLite file and a free port; stopped afterwards."""
    # The test settings (cheap hashing, the fixed SMS code); every limit but registrations per
    # address (all the tester's accounts come from 127.0.0.1) stays at its default.
    env = environment(f"sqlite:///{tmp_path / 'served.db'}", log_level="WARNING")
    with running(["serve", "--host", HOST], env=env) as base_url:
        yield base_url


def test_contract_passes_consulting_serve_and_writes_junit(served: str, tmp_path: Path) -> None:
    junit, summary = tmp_path / "contract.xml", tmp_path / "contract.md"
    result = run_contract(
        served,
        *("--max-examples", "10", "--junit-xml", str(junit), "--summary-md", str(summary)),
        *("--notify-key", TEST_NOTIFY_KEY),  # the key the served instance verifies with
    )
    output = result.stdout + result.stderr

    assert result.returncode == 0, output
    assert "OK: the server honours the contract" in output
    # Every operation answered 2xx at least once: no coverage gap is warned of.
    assert [line for line in output.splitlines() if "warning:" in line] == [], output

    markdown = summary.read_text(encoding="utf-8")
    assert markdown.startswith("## Contract run: OK")
    assert "| `POST /api/consultant/order/finish` |" in markdown
    assert "### Coverage gaps" not in markdown and "### Violations" not in markdown

    root = ET.parse(junit).getroot()  # noqa: S314 (our own file)
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    assert suite is not None
    cases = list(suite.iter("testcase"))
    # one testcase per operation of the spec, and one for the probes outside it
    assert len(cases) == len(operations()) + 1
    assert suite.get("failures") == "0" and suite.get("errors") == "0"
    assert not [case for case in cases if case.find("failure") is not None]
    assert not [case for case in cases if case.find("error") is not None]
