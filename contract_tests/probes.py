"""What fuzzing leaves to luck, sent deterministically once per run: probes and boundary cases.

**Probes** ask for what the spec does not have: unknown paths, each documented path with a
trailing slash, and methods a path does not take. The contract answers them with the envelope:
HTTP 404 with code 40400, and HTTP 405 with code 40500.

**Boundary cases** take every constrained field of every operation (pattern, minLength and
maxLength, minimum and maximum, enum, array sizes, required fields, unknown fields) and send the
operation's known-good request (the spec's example, with the run's own ids) with that one
field changed: values just inside the constraint must not be refused as malformed (HTTP 400
with a common 400 code, 40000), values just outside must be refused with HTTP 400 and a 400 code
the operation lists. Schemathesis's negative generation stays on top of them; these are sent
whatever ``--max-examples`` says.

Every answer is also judged by :class:`~contract_tests.verdicts.Judge` like any other.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft4Validator

from consulting.spec import inline
from contract_tests.contract import FORM
from contract_tests.verdicts import (
    Exchange,
    Judge,
    Operation,
    Verdict,
    coerce,
    parse_body,
    schema_kind,
)
from contract_tests.wire import Form, Wire

OUTSIDE = "(outside the spec)"  # the report's row for probes of paths and methods
BOUNDARY_ACCEPTED = "boundary_outside_accepted"
BOUNDARY_REFUSED = "boundary_inside_refused"
UNKNOWN_PATHS = ("/api/contract-probe-no-such-path", "/contract-probe-no-such-path")
PROBE_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
MAX_CASES_PER_FIELD = 8
INCONCLUSIVE_STATUSES = frozenset({429, 503})  # a limit or an outage, not a verdict on input


@dataclass(frozen=True)
class Sent:
    """One request of this module's, its answer, and what the contract says about it."""

    label: str  # the report row: an operation's label, or OUTSIDE
    exchange: Exchange
    verdicts: list[Verdict]


Headers = Callable[[Operation], dict[str, str] | None]


def probes(judge: Judge, wire: Wire) -> Iterator[Sent]:
    """Unknown paths, trailing slashes and wrong methods, judged as the contract answers them."""
    requests: list[tuple[str, str]] = []
    for path in UNKNOWN_PATHS:
        requests += [("GET", path), ("POST", path)]
    paths: dict[str, list[str]] = {}
    for operation in judge.operations():
        paths.setdefault(operation.path, []).append(operation.method)
    for path, methods in paths.items():
        concrete = path.replace("{", "").replace("}", "")
        requests.append((methods[0], concrete + "/"))
        wrong = [m for m in PROBE_METHODS if m not in methods]
        requests += [(method, concrete) for method in wrong[:2]]
    for method, path in requests:
        exchange = wire.send(method, path)
        yield Sent(OUTSIDE, exchange, judge.response(exchange))


# -- boundary cases ------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    field: str
    value: Any  # the value to send (None: leave the field out)
    inside: bool
    why: str  # the constraint, as the message says it


def _valid(schema: Mapping[str, Any], value: Any) -> bool:
    return Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER).is_valid(value)


INSIDE_POOL = ("0", "99999999.99", "0.01", "1", "9999999999", "a", "abc", "A1")
OUTSIDE_POOL = ("-5", "1.999", "1e3", "-1", " 1", "1.", "abc", "", "0x1", "１")


def field_cases(name: str, schema: Mapping[str, Any], example: Any, required: bool) -> list[Case]:
    """The boundary cases of one field (its JSON schema), around its known-good ``example``."""
    cases: list[Case] = []
    kind = schema_kind(schema)

    def add(value: Any, inside: bool, why: str) -> None:
        sent = [_wire(v) for v in value] if isinstance(value, list) else [_wire(value)]
        typed = coerce(sent, schema) if sent else []
        if _valid(schema, typed) != inside:
            return  # not the side of the boundary it was meant for
        if any(case.value == value for case in cases):
            return
        cases.append(Case(name, value, inside, why))

    if required:
        cases.append(Case(name, None, False, "required"))
    enum = _constraint(schema, "enum")
    if enum:
        for value in enum:
            add(value, True, "enum")
        add(
            max(enum) + 1 if all(isinstance(v, int) for v in enum) else "not-in-enum", False, "enum"
        )
    if kind in ("integer", "number"):
        low, high = _constraint(schema, "minimum"), _constraint(schema, "maximum")
        if low is not None:
            add(low, True, f"minimum {low}")
            add(low - 1, False, f"minimum {low}")
        if high is not None:
            add(high, True, f"maximum {high}")
            add(high + 1, False, f"maximum {high}")
        if kind == "integer":
            add("1.5", False, "an integer")
            add("abc", False, "an integer")
    if kind == "string":
        low, high = _constraint(schema, "minLength"), _constraint(schema, "maxLength")
        seed = str(example) if example not in (None, "") else "a"
        for length, inside, why in (
            (low, True, f"minLength {low}"),
            ((low or 0) - 1, False, f"minLength {low}"),
            (high, True, f"maxLength {high}"),
            ((high or 0) + 1, False, f"maxLength {high}"),
        ):
            if length is None or length < 0 or (why.startswith("min") and low is None):
                continue
            if why.startswith("max") and high is None:
                continue
            for filler in (seed, "a", "1", "中"):
                value = (filler * (length // max(len(filler), 1) + 1))[:length]
                if _valid(schema, value) == inside:
                    add(value, inside, why)
                    break
        pattern = _constraint(schema, "pattern")
        if pattern:
            add(example, True, f"pattern {pattern}")
            for value in INSIDE_POOL:
                if len([c for c in cases if c.inside and c.why.startswith("pattern")]) >= 4:
                    break
                add(value, True, f"pattern {pattern}")
            text = str(example) if example is not None else "a"
            for value in (*OUTSIDE_POOL, f"-{text}", f"{text}x", f" {text}", f"{text}.999"):
                if len([c for c in cases if not c.inside and c.why.startswith("pattern")]) >= 5:
                    break
                add(value, False, f"pattern {pattern}")
    if kind == "array":
        low, high = _constraint(schema, "minItems"), _constraint(schema, "maxItems")
        items = schema.get("items") or {}
        item_example = example[0] if isinstance(example, list) and example else 1
        distinct = [item_example, *[n for n in range(1, 50) if n != item_example]]
        if high is not None:
            add(distinct[:high], True, f"maxItems {high}")
            add(distinct[: high + 1], False, f"maxItems {high}")
        if low:
            add(distinct[:low], True, f"minItems {low}")
        for case in field_cases(name, items, item_example, False):
            if case.value is not None and not case.why.startswith("pattern"):
                add([case.value], case.inside, f"items: {case.why}")
    return cases[: MAX_CASES_PER_FIELD + (1 if required else 0)]


def _wire(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _constraint(schema: Mapping[str, Any], key: str) -> Any:
    if key in schema:
        return schema[key]
    for part in schema.get("allOf") or []:
        if isinstance(part, Mapping):
            found = _constraint(part, key)
            if found is not None:
                return found
    return None


@dataclass(frozen=True)
class KnownGood:
    """An operation's known-good request: the spec's examples, with the run's ids."""

    operation: Operation
    query: dict[str, Any]
    form: dict[str, Any] | None
    query_schemas: dict[str, tuple[dict[str, Any], bool]]
    body_schema: dict[str, Any] | None


def known_good(judge: Judge, operation: Operation, identity: Mapping[str, Any]) -> KnownGood:
    """The spec's example request for ``operation``; ``identity`` overrides fields such as
    ``user_id`` (``body.user_id``/``query.user_id`` keys, as Schemathesis's parameters)."""
    document = judge.document
    raw = document["paths"][operation.path][operation.method.lower()]
    rules = judge.rules(operation)
    query: dict[str, Any] = {}
    for parameter in raw.get("parameters", []):
        parameter = inline(document, parameter)
        if parameter.get("in") != "query" or not parameter.get("required"):
            continue
        value = parameter.get("example", parameter.get("schema", {}).get("example"))
        query[parameter["name"]] = value
    form = None
    body = inline(document, raw.get("requestBody") or {})
    media = (body.get("content") or {}).get(FORM)
    if media is not None:
        example = media.get("example")
        if example is None and media.get("examples"):
            example = next(iter(media["examples"].values())).get("value")
        form = dict(example or {})
    for key, value in identity.items():
        place, _, name = key.partition(".")
        if place == "query" and name in query:
            query[name] = value
        if place == "body" and form is not None and name in form:
            form[name] = value
    return KnownGood(operation, query, form, rules.query_schemas, rules.body_schema)


def boundary_cases(
    judge: Judge,
    wire: Wire,
    identity: Mapping[str, Any],
    headers: Headers,
    skip: Callable[[Operation], bool] = lambda _: False,
) -> Iterator[Sent]:
    """Every constrained field of every operation, just inside and just outside."""
    for operation in judge.operations():
        if skip(operation):
            continue
        good = known_good(judge, operation, identity)
        rules = judge.rules(operation)
        common_400 = {
            code
            for code in judge._contract.common_codes
            if (entry := judge._contract.error_table.get(code)) and entry.status == 400
        }
        listed_400 = {
            code
            for code in rules.codes
            if (entry := judge._contract.error_table.get(code)) and entry.status == 400
        }
        fields: list[tuple[str, str, dict[str, Any], Any, bool]] = []
        for name, (schema, required) in good.query_schemas.items():
            fields.append(("query", name, schema, good.query.get(name), required))
        if good.form is not None and good.body_schema is not None:
            required_fields = set(good.body_schema.get("required") or [])
            for name, schema in (good.body_schema.get("properties") or {}).items():
                fields.append(("body", name, schema, good.form.get(name), name in required_fields))
        extra: list[tuple[str, Case]] = []
        if (
            good.form is not None
            and good.body_schema is not None
            and good.body_schema.get("additionalProperties") is False
        ):
            extra.append(("body", Case("contract_probe_unknown", "1", False, "no unknown fields")))
        cases = [
            (place, case)
            for place, name, schema, example, required in fields
            for case in field_cases(name, schema, example, required)
        ] + extra
        for place, case in cases:
            query, form = dict(good.query), None if good.form is None else dict(good.form)
            target = query if place == "query" else form
            assert target is not None
            if case.value is None:
                target.pop(case.field, None)
            else:
                if case.inside and case.field not in target:
                    # An optional field the example leaves out may be one of "exactly one of"
                    # (order cancel: post_id or order_id): it goes in alone.
                    optional = set(target) - _required(good, place)
                    for name in optional:
                        target.pop(name)
                target[case.field] = case.value
            exchange = wire.send(
                operation.method,
                operation.path,
                query=query or None,
                form=_form(form),
                headers=headers(operation),
            )
            verdicts = judge.response(exchange)
            verdicts += _boundary_verdict(operation, place, case, exchange, common_400, listed_400)
            yield Sent(f"{operation.method} {operation.path}", exchange, verdicts)


def _required(good: KnownGood, place: str) -> set[str]:
    if place == "query":
        return {name for name, (_, required) in good.query_schemas.items() if required}
    return set((good.body_schema or {}).get("required") or [])


def _form(form: dict[str, Any] | None) -> Form | None:
    return form


def _boundary_verdict(
    operation: Operation,
    place: str,
    case: Case,
    exchange: Exchange,
    common_400: set[int],
    listed_400: set[int],
) -> list[Verdict]:
    if exchange.status in INCONCLUSIVE_STATUSES:
        return []
    body = parse_body(exchange.response_body)
    code = body.get("code") if isinstance(body, dict) else None
    shown = "left out" if case.value is None else f"= {json.dumps(case.value, ensure_ascii=False)}"
    what = f"{place} {case.field} {shown}"
    answer = f"HTTP {exchange.status}" + (f" with code {code}" if code is not None else "")
    label = f"{operation.method} {operation.path}"
    if case.inside:
        if exchange.status == 400 and code in common_400:
            return [
                Verdict(
                    BOUNDARY_REFUSED,
                    f"{label}: {what} is valid ({case.why}) but was refused as malformed: {answer}",
                )
            ]
        return []
    if exchange.status != 400 or code not in listed_400:
        return [
            Verdict(
                BOUNDARY_ACCEPTED,
                f"{label}: {what} breaks the contract ({case.why}); the contract refuses it with "
                f"HTTP 400 and a listed 400 code ({', '.join(map(str, sorted(listed_400)))}); "
                f"got {answer}",
            )
        ]
    return []
