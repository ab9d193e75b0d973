"""``GET /__proxy/``: the report as a small HTML page, refreshed every few seconds.

Violations grouped by operation (the operation broken most recently first), each check with
its count and its newest example (what the contract says, what came back, the curl); then the
tally of every operation seen: requests and their statuses. Everything shown is escaped.
"""

from __future__ import annotations

from html import escape

from contract_tests.proxy.report import Report, Violation

REFRESH_SECONDS = 5

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;
vertical-align:top}th{background:#f4f4f4}.bad{color:#a40000}.ok{color:#1a6b1a}
code,pre{font:12px ui-monospace,monospace}pre{white-space:pre-wrap;word-break:break-all;margin:0}
"""


def render(report: Report) -> str:
    state = (
        f'<p class="bad">{report.violation_count} violation(s) in {report.requests} request(s)</p>'
        if report.violated
        else f'<p class="ok">No violation in {report.requests} request(s).</p>'
    )
    mode = "refused and answered by the proxy (--errors)" if report.refuse_invalid else "forwarded"
    parts = [
        "<!doctype html><html><head><meta charset=utf-8>",
        f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">',
        "<title>consulting proxy</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>consulting proxy</h1>",
        f"<p>upstream <code>{escape(report.upstream)}</code>, contract "
        f"<code>{escape(report.spec)}</code>, since {escape(report.started)}; "
        f"requests that break the contract are {mode}. "
        '<a href="/__proxy/report">JSON</a></p>',
        state,
        _violations(report),
        _tally(report),
        "</body></html>",
    ]
    return "\n".join(parts)


def _violations(report: Report) -> str:
    broken = [t for t in report.operations() if t.violations]
    if not broken:
        return ""
    newest: dict[tuple[str, str], Violation] = {}
    for violation in report.recent:  # newest first: the first one of each pair is kept
        newest.setdefault((violation.operation, violation.check), violation)
    rows = []
    for tally in broken:
        for check, count in tally.checks.most_common():
            example = newest.get((tally.operation, check))
            detail = (
                f"<pre>{escape(example.contract)}</pre><pre>got {escape(example.got)}</pre>"
                f"<pre>{escape(example.curl)}</pre><small>last {escape(example.seen)}"
                + (" · refused" if example.refused else "")
                + "</small>"
                if example
                else ""
            )
            rows.append(
                f"<tr><td><code>{escape(tally.operation)}</code></td>"
                f"<td><code>{escape(check)}</code></td><td>{count}</td><td>{detail}</td></tr>"
            )
    return (
        "<h2>Violations by operation, newest first</h2><table>"
        "<tr><th>operation</th><th>check</th><th>count</th><th>newest</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _tally(report: Report) -> str:
    rows = "".join(
        f"<tr><td><code>{escape(t.operation)}</code></td><td>{t.requests}</td>"
        f"<td>{escape(', '.join(f'{s}: {n}' for s, n in sorted(t.statuses.items())))}</td>"
        f'<td class="{"bad" if t.violations else "ok"}">{t.violations}</td></tr>'
        for t in report.operations()
    )
    return (
        "<h2>Requests seen</h2><table>"
        "<tr><th>operation</th><th>requests</th><th>statuses</th><th>violations</th></tr>"
        + (rows or '<tr><td colspan="4">none yet</td></tr>')
        + "</table>"
    )
