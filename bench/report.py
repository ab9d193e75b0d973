"""The table, the targets judged from it, and the JSON file: one place that knows the layout.

Ratios are computed only against baselines measured in the same run, on the same machine and
with the same load generator: absolute requests/s move with the machine, ratios much less.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.driver import Load

BASELINE = "starlette-baseline"
PRISM = "prism"


@dataclass(frozen=True)
class Row:
    """One operation measured against one server."""

    name: str  # what --only selects
    target: str  # the server, as the table shows it
    operation: str
    load: Load
    busy_before: float | None = None  # share of the CPUs others used just before the run
    runs_rps: tuple[float, ...] = ()  # every measured run's req/s (--repeat); load is the median


@dataclass(frozen=True)
class Target:
    """One figure the issue asks for, its threshold and whether this run meets it."""

    check: str
    measured: str
    wanted: str
    verdict: str  # PASS, MISS, or n/a when a row it needs was not measured


def ratio(rows: dict[str, Row], name: str, against: str) -> float | None:
    """``name``'s requests/s over ``against``'s, when both ran (Prism: acquire rows only)."""
    row, base = rows.get(name), rows.get(against)
    if row is None or base is None or base.load.rps <= 0:
        return None
    if against == PRISM and row.operation != base.operation:
        return None
    return row.load.rps / base.load.rps


def _at_least(rows: dict[str, Row], name: str, against: str, factor: float) -> Target:
    label = f"{name} req/s >= {factor:g} x {against}"
    value = ratio(rows, name, against)
    if value is None:
        return Target(label, "not measured", f">= {factor:g}", "n/a")
    measured = f"{rows[name].load.rps:,.0f} / {rows[against].load.rps:,.0f} = {value:.2f}"
    return Target(label, measured, f">= {factor:g}", "PASS" if value >= factor else "MISS")


def _steady_publish(rows: dict[str, Row], connections: int) -> Target:
    label = f"publish (SQLite, {connections} clients): 0 errors, p99 < 10 x p50"
    row = rows.get("publish")
    if row is None:
        return Target(label, "not measured", "0 errors, < 10", "n/a")
    load = row.load
    spread = load.p99_ms / load.p50_ms if load.p50_ms > 0 else float("inf")
    measured = f"{load.errors} errors, p99/p50 = {load.p99_ms:.1f}/{load.p50_ms:.1f} = {spread:.1f}"
    met = load.errors == 0 and spread < 10
    return Target(label, measured, "0 errors, < 10", "PASS" if met else "MISS")


def _login_under_flood(rows: dict[str, Row]) -> Target:
    """Issue 14: a registration flood must not starve the logins."""
    label = "login p99 during a 24-client registration flood <= 2 x idle p99"
    flood, idle = rows.get("login-flood"), rows.get("login-idle")
    if flood is None or idle is None or idle.load.p99_ms <= 0:
        return Target(label, "not measured", "<= 2", "n/a")
    value = flood.load.p99_ms / idle.load.p99_ms
    measured = f"{flood.load.p99_ms:.0f} / {idle.load.p99_ms:.0f} ms = {value:.2f}"
    met = value <= 2 and flood.load.errors == 0
    return Target(label, measured, "<= 2", "PASS" if met else "MISS")


PROXY_P50_MS = 2.0


def _proxy_overhead(rows: dict[str, Row], connections: int) -> Target:
    """Issue 17: the validation proxy adds at most 2 ms to acquire's p50 (one worker each)."""
    label = f"proxy-acquire p50 - acquire p50 ({connections} clients) <= {PROXY_P50_MS:g} ms"
    proxied, direct = rows.get("proxy-acquire"), rows.get("acquire")
    if proxied is None or direct is None or direct.load.rps <= 0:
        return Target(label, "not measured", f"<= {PROXY_P50_MS:g} ms", "n/a")
    added = proxied.load.p50_ms - direct.load.p50_ms
    cost = 1 - proxied.load.rps / direct.load.rps
    measured = (
        f"{proxied.load.p50_ms:.1f} - {direct.load.p50_ms:.1f} = {added:+.1f} ms; "
        f"req/s {proxied.load.rps:,.0f} vs {direct.load.rps:,.0f} ({cost:.0%} fewer)"
    )
    met = added <= PROXY_P50_MS and proxied.load.errors == 0
    return Target(label, measured, f"<= {PROXY_P50_MS:g} ms", "PASS" if met else "MISS")


def targets(rows: dict[str, Row], connections: int) -> list[Target]:
    """The issues' targets, in their order."""
    return [
        _at_least(rows, "acquire", BASELINE, 0.25),
        _at_least(rows, "acquire", PRISM, 1.0),
        _steady_publish(rows, connections),
        _at_least(rows, "publish-pg", "publish", 1.5),
        _at_least(rows, "mock-acquire", PRISM, 1.0),
        _at_least(rows, "mock-static-acquire", PRISM, 1.0),
        _login_under_flood(rows),
        _proxy_overhead(rows, connections),
    ]


# Printing ----------------------------------------------------------------------------------

COLUMNS = ("target", "operation", "req/s", "p50 ms", "p99 ms", "errors", "vs Starlette", "vs Prism")


def _rate(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:,.0f}"


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def table_lines(rows: list[Row]) -> list[str]:
    by_name = {row.name: row for row in rows}
    cells = [
        (
            row.target,
            row.operation,
            _rate(row.load.rps),
            _ms(row.load.p50_ms),
            _ms(row.load.p99_ms),
            f"{row.load.errors:,}",
            _times(ratio(by_name, row.name, BASELINE)),
            _times(ratio(by_name, row.name, PRISM)),
        )
        for row in rows
    ]
    return _aligned([COLUMNS, *cells], left=2)


def target_lines(found: list[Target]) -> list[str]:
    cells: list[tuple[str, ...]] = [("target", "measured", "wanted", "verdict")]
    cells += [(t.check, t.measured, t.wanted, t.verdict) for t in found]
    return _aligned(cells, left=4)


def _aligned(cells: list[tuple[str, ...]], left: int) -> list[str]:
    """Columns padded to their widest cell; the first ``left`` columns flush left."""
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = []
    for row in cells:
        parts = [
            cell.ljust(width) if i < left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines


# JSON --------------------------------------------------------------------------------------


def as_json(
    meta: dict[str, Any], rows: list[Row], found: list[Target], notes: list[str]
) -> dict[str, Any]:
    by_name = {row.name: row for row in rows}
    return {
        "meta": meta,
        "results": [
            {
                "name": row.name,
                "target": row.target,
                "operation": row.operation,
                "requests": row.load.requests,
                "seconds": round(row.load.seconds, 3),
                "rps": round(row.load.rps, 1),
                "p50_ms": round(row.load.p50_ms, 3),
                "p99_ms": round(row.load.p99_ms, 3),
                "errors": row.load.errors,
                "vs_starlette": _rounded(ratio(by_name, row.name, BASELINE)),
                "vs_prism": _rounded(ratio(by_name, row.name, PRISM)),
                "cpu_busy_before": _rounded(row.busy_before),
                "runs_rps": [round(rps, 1) for rps in row.runs_rps],
            }
            for row in rows
        ],
        "targets": [t.__dict__ for t in found],
        "notes": notes,
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
