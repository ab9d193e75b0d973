"""The same rows at 1,000 posts and at a million, on SQLite and PostgreSQL, in one run.

    python -m bench.scale [--posts 1000000] [--small 1000] [--duration 10] [--repeat 1]
                          [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/consulting_scale]
                          [--only sqlite,postgres] [--json bench/scale.json]

For each database and each size: a fresh database, two accounts (argon2 at the production
costs) and the posts under one tag, bulk-written straight into the tables (bench.seed.bulk_posts:
seconds, not the hours a million publishes would take); then ``consulting serve`` with one
worker, and these rows, each measured as ``bench.run`` measures (a probe, a quiet wait, warm-up,
the median of --repeat runs):

  acquire-first   the consultant's first page of the tag (20 posts)
  acquire-deep    a page near the oldest posts, reached by a cursor (as a reader who walked there)
  check           the buyer's first page of their own posts (they wrote them all)
  publish         a new post (under another tag), 32 clients
  login           the consultant's login (argon2 verify each time)

The targets (issue 19): at the large size acquire-deep >= 0.5 x acquire-first; acquire-first and
publish at the large size >= 0.7 x the same row at the small one.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import seed
from bench.driver import Plan, Request, choose
from bench.run import (
    DEFAULT_POSTGRES,
    Run,
    acquire_request,
    check_request,
    login_request,
    progress,
    publish_request,
)
from bench.servers import SERVER_DATABASE_ENV, Fleet, free_port, serve_argv
from consulting.core.actors import Role
from consulting.core.migrate import upgrade
from consulting.core.resources import Resources
from consulting.core.settings import Settings
from services.paging import cursor_after
from services.posts import POSTS

ROWS = ("acquire-first", "acquire-deep", "check", "publish", "login")


@dataclass(frozen=True)
class Seeded:
    buyer: seed.Account
    consultant: seed.Account
    oldest_post: int
    seconds: float


def seed_database(url: str, posts: int) -> Seeded:
    """Accounts and ``posts`` posts under seed.ACQUIRE_TAG in a migrated, empty database."""
    settings = Settings(database_url=url)
    res = Resources.from_settings(settings)
    try:
        if settings.is_sqlite:
            upgrade(res.db.engine)
        buyer = seed.register(res, Role.BUYER, "bench-buyer")
        consultant = seed.register(res, Role.CONSULTANT, "bench-consultant")
        started = time.monotonic()
        seed.bulk_posts(res.db, posts, buyer.id, seed.ACQUIRE_TAG)
        seconds = time.monotonic() - started
        with res.db.unit_of_work() as session:
            oldest = session.execute(sa.select(sa.func.min(POSTS.c.id))).scalar_one()
    finally:
        res.db.dispose()
    seed.settle(url)
    return Seeded(buyer, consultant, oldest, seconds)


def measure_size(run: Run, database: str, url: str, posts: int) -> dict[str, float]:
    progress(f"{database}: seeding {posts:,} posts")
    data = seed_database(url, posts)
    progress(f"{database}: {posts:,} posts written in {data.seconds:.1f} s")
    port = free_port()
    env = {} if url.startswith("sqlite") else SERVER_DATABASE_ENV
    name = f"serve-{database}-{posts}"
    with run.fleet.serving(name, serve_argv(port, url), port, "/api/tag/list", env=env) as server:
        consultant = seed.login(server.base_url, data.consultant)
        buyer = seed.login(server.base_url, data.buyer)
        # 1,000 posts above the oldest: a reader who paged almost to the end.
        deep = acquire_request(consultant)
        deep = Request(
            deep.method, f"{deep.path}&cursor={cursor_after(data.oldest_post + 1000)}", deep.headers
        )
        requests = {
            "acquire-first": acquire_request(consultant),
            "acquire-deep": deep,
            "check": check_request(buyer, data.buyer.id),
            "publish": publish_request(buyer, data.buyer.id),
            "login": login_request(data.consultant),
        }
        target = f"serve, {database}, 1 worker, {posts:,} posts"
        found: dict[str, float] = {}
        for name, request in requests.items():
            run.measure(name, target, name, server, request)
            found[name] = run.rows[-1].load.rps
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--quiet-wait", type=float, default=10.0)
    parser.add_argument("--driver", default="auto")
    parser.add_argument("--only", default="sqlite,postgres")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES.replace("_bench", "_scale"))
    parser.add_argument("--json", default="bench/scale.json")
    args = parser.parse_args(argv)
    driver = choose(args.driver)
    plan = Plan(args.duration, args.warmup, args.connections)
    results: dict[str, dict[int, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="consulting-scale-") as tmp, Fleet(Path(tmp)) as fleet:
        run = Run(args, plan, driver, fleet, Path(tmp), list(ROWS))
        for database in args.only.split(","):
            results[database] = {}
            for posts in (args.small, args.posts):
                if database == "postgres":
                    try:
                        seed.recreate_postgres(args.postgres_url)
                    except RuntimeError as error:
                        run.note(f"postgres skipped: {error}")
                        break
                    url = args.postgres_url
                else:
                    url = f"sqlite:///{Path(tmp) / f'scale-{posts}.db'}"
                results[database][posts] = measure_size(run, database, url, posts)
    lines, verdicts = table(results, args.small, args.posts)
    print("\n".join(lines))
    for text in run.notes:
        print(f"note: {text}")
    Path(args.json).write_text(
        json.dumps({"req_per_s": results, "targets": verdicts, "notes": run.notes}, indent=2)
        + "\n",
        encoding="utf-8",
    )
    progress(f"results written to {args.json}")
    return 0 if all(v["pass"] for v in verdicts) else 1


def table(
    results: dict[str, dict[int, dict[str, float]]], small: int, large: int
) -> tuple[list[str], list[dict[str, Any]]]:
    lines = [
        f"| database | row | {small:,} posts req/s | {large:,} posts req/s | large / small |",
        "|---|---|---|---|---|",
    ]
    verdicts: list[dict[str, Any]] = []
    for database, sizes in results.items():
        if large not in sizes:
            continue
        for row in ROWS:
            a, b = sizes[small][row], sizes[large][row]
            lines.append(f"| {database} | {row} | {a:,.0f} | {b:,.0f} | {b / a:.2f} |")
        wanted = [
            (
                "acquire-deep / acquire-first at the large size",
                sizes[large]["acquire-deep"],
                sizes[large]["acquire-first"],
                0.5,
            ),
            (
                "acquire-first, large / small",
                sizes[large]["acquire-first"],
                sizes[small]["acquire-first"],
                0.7,
            ),
            ("publish, large / small", sizes[large]["publish"], sizes[small]["publish"], 0.7),
        ]
        for name, top, bottom, least in wanted:
            ratio = top / bottom if bottom else 0.0
            verdicts.append(
                {
                    "database": database,
                    "target": name,
                    "ratio": round(ratio, 2),
                    "wanted": least,
                    "pass": ratio >= least,
                }
            )
    lines += ["", "| database | target | ratio | wanted | verdict |", "|---|---|---|---|---|"]
    lines += [
        f"| {v['database']} | {v['target']} | {v['ratio']:.2f} | >= {v['wanted']} | "
        + ("PASS |" if v["pass"] else "FAIL |")
        for v in verdicts
    ]
    return lines, verdicts


if __name__ == "__main__":
    sys.exit(main())
