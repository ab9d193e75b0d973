"""What the app sets up once per process, at start."""

import threading
from typing import Any, NamedTuple

import anyio
import pytest
from anyio import to_thread
from connexion.resolver import Resolver
from connexion.uri_parsing import OpenAPIURIParser
from sqlalchemy import column, select, table
from sqlalchemy.exc import DBAPIError
from starlette.testclient import TestClient

from consulting.core.database import Database, Query
from consulting.core.resources import Resources
from consulting.core.settings import Settings
from consulting.web import tuning
from consulting.web.app import create_app
from consulting.web.tuning import calls, validators
from handlers._common import read_with
from tests.api import Api


class IdRow(NamedTuple):
    id: int


def test_the_thread_pool_is_sized_by_the_setting(app: Any, res: Resources) -> None:
    res.settings.worker_threads = 3
    with TestClient(app) as client:
        assert client.portal is not None
        tokens = client.portal.call(lambda: to_thread.current_default_thread_limiter().total_tokens)
    assert tokens == 3


def _thread_of(_res: Resources, label: str) -> tuple[str, int]:
    return label, threading.get_ident()


@pytest.mark.parametrize(("inline", "on_the_loop"), [(True, True), (False, False)])
def test_hot_reads_run_on_the_loop_only_for_an_embedded_database(
    res: Resources, inline: bool, on_the_loop: bool
) -> None:
    res.db.reads_inline = inline

    async def scenario() -> tuple[int, tuple[str, int]]:
        return threading.get_ident(), await read_with(res, _thread_of, "page")

    loop_thread, (label, service_thread) = anyio.run(scenario)
    assert label == "page"
    assert (service_thread == loop_thread) is on_the_loop


def test_an_embedded_sqlite_reads_inline_and_a_server_database_does_not(
    settings: Settings,
) -> None:
    assert Database("sqlite:///:memory:").reads_inline
    assert not Database("postgresql+psycopg://nobody@127.0.0.1:1/none").reads_inline


def test_validators_are_built_once_per_schema_not_per_request(api: Api) -> None:
    buyer = api.buyer()
    publish = {"user_id": buyer.id, "tag_id": [1], "title": "t", "content": "c", "price": "1.00"}
    params = {"user_id": buyer.id, "page_size": 5}
    api.ok("POST", "/api/user/post/publish", publish, token=buyer.token)
    api.ok("GET", "/api/user/post/check", params=params, token=buyer.token)
    built = (len(validators._form_validator), len(validators._parameter_validator))
    for _ in range(3):
        api.ok("POST", "/api/user/post/publish", publish, token=buyer.token)
        api.ok("GET", "/api/user/post/check", params=params, token=buyer.token)
        # a built validator still refuses what it should
        api.fails(
            40000,
            "GET",
            "/api/user/post/check",
            params={**params, "page_size": 0},
            token=buyer.token,
        )
    assert (len(validators._form_validator), len(validators._parameter_validator)) == built


def test_handlers_are_inspected_when_the_app_is_built_not_per_request(
    res: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connexion inspects a handler's signature on every request; ``App`` does it once per
    operation while the app is built, and the arguments still follow each request."""
    inspected: list[str] = []
    inspect = calls.inspect_function_arguments

    def counting(function: Any) -> Any:
        inspected.append(function.__name__)
        return inspect(function)

    monkeypatch.setattr(calls, "inspect_function_arguments", counting)
    with TestClient(create_app(resources=res)) as client:
        api = Api(client, res)
        assert inspected.count("publish") == inspected.count("check") == 1
        buyer = api.buyer()
        for page_size in (1, 2, 3):
            form = {"user_id": buyer.id, "tag_id": [1], "title": "t", "content": "c", "price": "1"}
            api.ok("POST", "/api/user/post/publish", form, token=buyer.token)
            params = {"user_id": buyer.id, "page_size": page_size}
            listed = api.ok("GET", "/api/user/post/check", params=params, token=buyer.token)
            assert len(listed) == page_size
    assert inspected.count("publish") == inspected.count("check") == 1


def test_a_database_error_in_a_hot_read_is_sqlalchemys_whichever_the_path(
    res: Resources,
) -> None:
    """On SQLite ``read`` calls the driver itself; its errors must still reach the envelope
    handlers as SQLAlchemy's (consulting/web/responses.py), as on a server database."""
    missing = Query(select(column("id")).select_from(table("no_such_table")), IdRow)
    with pytest.raises(DBAPIError):
        res.db.read(missing)


def test_the_query_string_and_the_form_are_parsed_once_per_request(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Validation parses them and the handler gets that result (Connexion would parse both
    again); what reaches the handler still follows each request."""
    parsed: list[str] = []
    resolve_query, resolve_form = OpenAPIURIParser.resolve_query, OpenAPIURIParser.resolve_form

    def counting_query(self: OpenAPIURIParser, params: dict[str, Any]) -> Any:
        parsed.append("query")
        return resolve_query(self, params)

    def counting_form(self: OpenAPIURIParser, form: dict[str, Any]) -> Any:
        parsed.append("form")
        return resolve_form(self, form)

    monkeypatch.setattr(OpenAPIURIParser, "resolve_query", counting_query)
    monkeypatch.setattr(OpenAPIURIParser, "resolve_form", counting_form)
    buyer = api.buyer()
    parsed.clear()
    for title, tags in (("first", [1, 2]), ("second", [3])):
        form = {"user_id": buyer.id, "tag_id": tags, "title": title, "content": "c", "price": "1"}
        api.ok("POST", "/api/user/post/publish", form, token=buyer.token)
    assert parsed.count("form") == 2
    parsed.clear()
    for page_size in (1, 2):
        params = {"user_id": buyer.id, "page_size": page_size}
        listed = api.ok("GET", "/api/user/post/check", params=params, token=buyer.token)
        assert len(listed) == page_size
    assert parsed == ["query", "query"]
    [newest, oldest] = listed
    assert (newest["title"], newest["tag_id"]) == ("second", [3])
    assert (oldest["title"], oldest["tag_id"]) == ("first", [1, 2])


@pytest.mark.parametrize(
    ("parameter", "refused"),
    [
        ({"name": "X-Trace", "in": "header", "schema": {"type": "string"}}, "header parameters"),
        ({"name": "filter", "in": "query", "schema": {"type": "object"}}, "object parameter"),
    ],
)
def test_an_operation_outside_what_app_serves_is_refused_when_the_app_is_built(
    parameter: dict[str, Any], refused: str
) -> None:
    """``App`` hands handlers query and path parameters and forms only; an operation with
    anything else must stop the start, not reach its handler without that value."""

    async def answer(**_kwargs: Any) -> dict[str, Any]:
        return {}

    spec = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/x": {
                "get": {
                    "operationId": "answer",
                    "parameters": [parameter],
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
    }
    app = tuning.App(__name__)
    app.add_api(spec, resolver=Resolver(function_resolver=lambda _operation_id: answer))
    with pytest.raises(ValueError, match=refused), TestClient(app):
        pass


def test_a_gets_parameter_validator_is_built_once_and_still_refuses(
    res: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connexion builds a parameter validator per request; for an operation without a body
    ``App`` builds it with the app. A form's operation still gets Connexion's own path."""
    built: list[str] = []
    init = validators.CompiledParameterValidator.__init__

    def counting(self: Any, parameters: Any, *args: Any, **kwargs: Any) -> None:
        built.append(",".join(sorted(p["name"] for p in parameters)))
        init(self, parameters, *args, **kwargs)

    monkeypatch.setattr(validators.CompiledParameterValidator, "__init__", counting)
    with TestClient(create_app(resources=res)) as client:
        api = Api(client, res)
        buyer = api.buyer()
        check = "cursor,page,page_size,user_id"
        at_start = built.count(check)
        for page_size in (1, 2, 0):
            params = {"user_id": buyer.id, "page_size": page_size}
            if page_size:
                api.ok("GET", "/api/user/post/check", params=params, token=buyer.token)
            else:
                api.fails(40000, "GET", "/api/user/post/check", params=params, token=buyer.token)
        assert at_start == 1 and built.count(check) == 1
        form = {"user_id": buyer.id, "tag_id": [1], "title": "t", "content": "c", "price": "1"}
        before = len(built)
        api.ok("POST", "/api/user/post/publish", form, token=buyer.token)
        assert len(built) == before + 1  # per request, as Connexion does


def test_the_swagger_ui_still_answers_its_paths_and_only_those(client: TestClient) -> None:
    redirect = client.get("/ui", follow_redirects=False)
    assert redirect.status_code in (302, 307) and redirect.headers["location"].endswith("/ui/")
    assert client.get("/ui/swagger-ui.css").status_code == 200
    # A trailing slash is no path of the API (issue 14): 404, never a redirect to the Host.
    assert client.get("/openapi.json/", follow_redirects=False).json()["code"] == 40400
    assert client.get("/uinope").json()["code"] == 40400


def test_remembered_parameter_verdicts_are_the_validators_own() -> None:
    """Verdicts on scalar parameters are remembered per schema; they must stay what the
    validator says, value by value and type by type (True is not the integer 1)."""
    param = {"name": "tag_id", "in": "query", "schema": {"type": "integer", "minimum": 1}}
    check = validators.CompiledParameterValidator.validate_parameter
    for _ in range(2):  # the second round from memory
        assert check("query", 1, param) is None
        assert "is not of type 'integer'" in (check("query", True, param) or "")
        assert "less than the minimum" in (check("query", 0, param) or "")
        assert "is not of type 'integer'" in (check("query", "1", param) or "")
    for n in range(1, 600):  # more values than a schema remembers: still right
        assert check("query", n, param) is None
    assert "less than the minimum" in (check("query", -1, param) or "")
