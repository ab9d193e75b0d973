"""The spec's links say what they pass: Swagger UI shows a link's ``parameters`` (as
``Parameters {}`` when it passes a body) and its description, never its ``requestBody``, so
each description ends with what the link passes, in words, kept equal to the link here."""

from __future__ import annotations

import re
from typing import Any

from consulting.spec import load_spec, operations


def _source(expression: Any) -> str:
    """``$response.body#/content/0/tag_id`` -> "`content[0].tag_id` of this response"."""
    if isinstance(expression, list):
        return "[" + ", ".join(_source(item) for item in expression) + "]"
    found = re.fullmatch(r"\$(request|response)\.(body#/|query\.)(.+)", expression)
    assert found, f"an expression this test cannot word: {expression!r}"
    side, _, path = found.groups()
    parts = path.split("/")
    name = parts[0] + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in parts[1:])
    return f"`{name}` of this response" if side == "response" else f"this request's `{name}`"


def passes(link: dict[str, Any]) -> str:
    """What a link passes, in the words its description ends with."""
    given = [
        f"{where} `{field}` = {_source(expression)}"
        for where, values in (("query", link.get("parameters")), ("body", link.get("requestBody")))
        for field, expression in (values or {}).items()
    ]
    return "Passes " + ", ".join(given) if given else "Passes nothing (the session is the login's)"


def links() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (op["operationId"], name, link)
        for _, _, op in operations()
        for response in op["responses"].values()
        for name, link in (response.get("links") or {}).items()
    ]


def test_every_link_says_what_it_passes() -> None:
    assert links()
    for operation_id, name, link in links():
        assert link["description"].endswith(passes(link)), (operation_id, name)


def test_login_links_say_where_the_user_id_comes_from() -> None:
    login = load_spec()["paths"]["/api/user/login"]["post"]["responses"]["200"]["links"]
    assert login["Publish"]["requestBody"] == {"user_id": "$response.body#/content/0"}
    assert login["Check"]["parameters"] == {"user_id": "$response.body#/content/0"}
