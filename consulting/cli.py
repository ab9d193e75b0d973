"""consulting: serve the API, run the mock, migrate the database, check the contract, manage tags.

Only typer is imported here: each command imports what it needs when it runs, so that
``--help`` and the light commands start fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from consulting import DEFAULT_DATABASE, SPEC_PATH

if TYPE_CHECKING:
    from types import ModuleType

    from consulting.core.resources import Resources
    from consulting.core.settings import Settings

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # plain help: flags as flags, and no rich to import
    pretty_exceptions_enable=False,
    help=__doc__.split("\n\n", 1)[0],
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema migrations.")
tags_app = typer.Typer(no_args_is_help=True, help="The tag catalogue.")
app.add_typer(db_app, name="db")
app.add_typer(tags_app, name="tags")

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL: sqlite:///PATH, postgresql+psycopg://… or mysql+pymysql://…",
        show_default=f"$DATABASE_URL, else {DEFAULT_DATABASE}",
    ),
]
Port = Annotated[int, typer.Option(min=1, max=65535, help="Port to bind.")]


def _settings(database_url: str | None = None) -> Settings:
    from consulting.core.settings import load_settings

    if database_url:
        # Exported, so that uvicorn's worker processes build the same settings.
        os.environ["DATABASE_URL"] = database_url
    return load_settings()


def _migrate_or_refuse(settings: Settings, migrate: bool) -> None:
    """SQLite (or --migrate) is brought up to date; another database must be already."""
    from consulting.core.database import create_db_engine, reaching
    from consulting.core.migrate import pending, upgrade

    engine = create_db_engine(settings.database_url)
    try:
        with reaching(settings.database_url):
            if settings.is_sqlite or migrate:
                upgrade(engine)
            elif pending(engine):
                typer.echo(
                    "The database schema is not up to date. Run `consulting db upgrade` "
                    "(or start with --migrate) before serving.",
                    err=True,
                )
                raise typer.Exit(code=2)
    finally:
        engine.dispose()


def _notify_key_or_refuse(settings: Settings, host: str) -> None:
    """The payment notify key `serve` verifies with: never one anyone can read (README.md,
    Production deployment); on the embedded default, one made for this database."""
    from consulting.core import notify_key

    try:
        key, made_in = notify_key.for_serve(settings, host)
    except notify_key.NotifyKeyRefused as refused:
        typer.echo(f"{refused} See README.md, Production deployment.", err=True)
        raise typer.Exit(code=2) from None
    if made_in is not None:
        typer.echo(
            f"payment notify key: {notify_key.ENVIRONMENT} is not set; using the key made for "
            f"this embedded database in {made_in}",
            err=True,
        )
    os.environ[notify_key.ENVIRONMENT] = key  # for uvicorn's workers, as DATABASE_URL


@app.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(help="Interface to bind.", show_default="$CONSULTING_HOST, else 127.0.0.1"),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            min=1, max=65535, help="Port to bind.", show_default="$CONSULTING_PORT, else 8000"
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, help="uvicorn worker processes.", show_default="$CONSULTING_WORKERS, else 1"
        ),
    ] = None,
    database_url: DatabaseUrl = None,
    migrate: Annotated[
        bool,
        typer.Option("--migrate", help="Apply pending migrations to an external database first."),
    ] = False,
) -> None:
    """Run the API with uvicorn; SQLite migrates on start, other databases need --migrate."""
    import uvicorn

    settings = _settings(database_url)
    host = host or settings.host
    # The database first: a mistake in DATABASE_URL is named as such, not as a missing key.
    _migrate_or_refuse(settings, migrate)
    _notify_key_or_refuse(settings, host)
    uvicorn.run(
        "consulting.web.app:create_app_from_env",
        factory=True,
        host=host,
        port=port or settings.port,
        workers=workers or settings.workers,
        log_level=settings.log_level.lower(),
        access_log=False,
        proxy_headers=True,
        server_header=False,
        # The limits of README.md, "Production deployment": idle keep-alive connections
        # close, connections past the limit get 503, h11 buffers a bounded incomplete head.
        timeout_keep_alive=settings.keep_alive_timeout_seconds,
        limit_concurrency=settings.max_concurrency,
        h11_max_incomplete_event_size=settings.max_header_bytes,
    )


@app.command()
def mock(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Port = 4010,
    scenario: Annotated[
        str, typer.Option(help="empty | demo | buyer-with-paid-post | consultant-with-orders")
    ] = "demo",
    delay: Annotated[
        int, typer.Option(min=0, max=60_000, help="Latency added to every response, in ms.")
    ] = 0,
    static: Annotated[
        bool, typer.Option("--static", help="Documented examples only, no database.")
    ] = False,
) -> None:
    """Run the mock for frontend teams: seeded and stateful (or --static), throw-away data."""
    from consulting.mock.app import MockOptions
    from consulting.mock.scenarios import SCENARIOS
    from consulting.mock.server import run_mock

    if scenario not in SCENARIOS:
        typer.echo(f"unknown scenario {scenario!r}; choose from {', '.join(SCENARIOS)}", err=True)
        raise typer.Exit(code=2)
    options = MockOptions(scenario=scenario, delay_ms=delay, static=static)
    run_mock(options, host, port, typer.echo)


@db_app.command("upgrade")
def db_upgrade(
    database_url: DatabaseUrl = None,
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply migrations up to REVISION."""
    from consulting.core.database import create_db_engine, reaching
    from consulting.core.migrate import upgrade

    url = _settings(database_url).database_url
    engine = create_db_engine(url)
    with reaching(url):
        upgrade(engine, revision)
    engine.dispose()
    typer.echo(f"database at {revision}")


@db_app.command("prune")
def db_prune(database_url: DatabaseUrl = None) -> None:
    """Remove expired sessions, spent SMS codes and ended rate-limit counters, in batches."""
    from consulting.core.database import Database, reaching
    from services.housekeeping import prune

    settings = _settings(database_url)
    db = Database(settings.database_url, settings.sqlite_busy_timeout_ms)
    with reaching(settings.database_url):
        pruned = prune(db, settings)
    db.dispose()
    typer.echo(
        f"pruned {pruned.sessions} sessions, {pruned.sms_codes} SMS codes, "
        f"{pruned.rate_counters} rate counters"
    )


@app.command()
def validate(
    spec: Annotated[str, typer.Option(help="The OpenAPI document.")] = str(SPEC_PATH),
) -> None:
    """Validate the contract (openapi-spec-validator) and check every operationId resolves."""
    from pathlib import Path

    from consulting.spec import unresolved_operation_ids, validate_document

    path = Path(spec)
    try:
        validate_document(path)
    except Exception as exc:
        typer.echo(f"INVALID: {exc}", err=True)
        raise typer.Exit(code=1) from None
    missing = unresolved_operation_ids(path)
    if missing:
        typer.echo("operationIds that resolve to no function: " + ", ".join(missing), err=True)
        raise typer.Exit(code=1)
    typer.echo(f"{path}: valid OpenAPI, every operationId resolves")


@app.command()
def contract(
    base_url: Annotated[
        str, typer.Option("--base-url", help="The server to check, e.g. http://127.0.0.1:8000")
    ],
    junit_xml: Annotated[
        str | None, typer.Option("--junit-xml", help="Also write a JUnit XML report here.")
    ] = None,
    max_examples: Annotated[int, typer.Option(help="Generated cases per operation.")] = 50,
    workers: Annotated[int, typer.Option(help="Concurrent workers.")] = 1,
    spec: Annotated[str, typer.Option(help="The OpenAPI document.")] = str(SPEC_PATH),
    seed: Annotated[
        int | None, typer.Option(help="Generation seed (default: fixed, so runs repeat).")
    ] = None,
    summary_md: Annotated[
        str | None,
        typer.Option("--summary-md", help="Also write a Markdown summary here (a CI job summary)."),
    ] = None,
    require_coverage: Annotated[
        bool,
        typer.Option(
            "--require-coverage", help="Fail when an operation never answered 2xx (a coverage gap)."
        ),
    ] = False,
    sms_code: Annotated[
        str | None,
        typer.Option(help="The SMS code your test instance sends, for signin (default: 123456)."),
    ] = None,
    notify_key: Annotated[
        str | None,
        typer.Option(
            help="Your payment notify HMAC key, so pay/notify and refund can succeed "
            "(default: $CONTRACT_NOTIFY_KEY; without it they are coverage gaps)."
        ),
    ] = None,
) -> None:
    """Fuzz any running server against the contract; exit non-zero on any violation."""
    from contract_tests.runner import DEFAULT_SEED, Extras, run

    extras = Extras(
        sms_code=sms_code, notify_key=notify_key or os.environ.get("CONTRACT_NOTIFY_KEY")
    )
    raise typer.Exit(
        code=run(
            base_url=base_url,
            junit_xml=junit_xml,
            max_examples=max_examples,
            workers=workers,
            spec=spec,
            seed=DEFAULT_SEED if seed is None else seed,
            summary_md=summary_md,
            require_coverage=require_coverage,
            extras=extras,
        )
    )


@app.command()
def proxy(
    upstream: Annotated[
        str,
        typer.Option("--upstream", help="The server to forward to, e.g. http://127.0.0.1:8000"),
    ],
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Port = 4020,
    errors: Annotated[
        bool,
        typer.Option(
            "--errors",
            help="Answer a request that breaks the contract with its error envelope; "
            "do not forward it.",
        ),
    ] = False,
    report: Annotated[
        str | None,
        typer.Option("--report", help="Write the report (JSON) to this file on shutdown."),
    ] = None,
    spec: Annotated[str, typer.Option(help="The OpenAPI document.")] = str(SPEC_PATH),
) -> None:
    """Validation proxy: forward to --upstream, check every exchange against the contract;
    exit 1 if anything broke it."""
    from pathlib import Path

    from contract_tests.proxy.server import ProxyOptions, ProxyRefused, run_proxy

    options = ProxyOptions(
        upstream=upstream,
        host=host,
        port=port,
        refuse_invalid=errors,
        report_file=Path(report) if report else None,
        spec=Path(spec),
    )
    try:
        code = run_proxy(options, typer.echo)
    except ProxyRefused as refused:
        typer.echo(f"consulting proxy: {refused}", err=True)
        raise typer.Exit(code=2) from None
    raise typer.Exit(code=code)


@app.command()
def codes() -> None:
    """Print the error-code table (x-error-codes)."""
    from consulting.spec import error_table

    for code, entry in sorted(error_table().items()):
        typer.echo(f"{code}\t{entry['status']}\t{entry['name']}\t{entry['zh']}\t{entry['en']}")


@tags_app.command("list")
def tags_list(database_url: DatabaseUrl = None) -> None:
    """List the tags."""
    with _tag_service(database_url) as (tags, res):
        for tag in tags.list_all(res):
            typer.echo(f"{tag['tag_id']}\t{tag['name']}\t{tag['name_en']}")


@tags_app.command("add")
def tags_add(
    slug: str,
    name: str,
    name_en: Annotated[str, typer.Argument(help="English name.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Add a tag: SLUG, Chinese NAME, English NAME_EN."""
    with _tag_service(database_url) as (tags, res):
        typer.echo(f"added tag {tags.add(res, slug, name, name_en)}")


@tags_app.command("rename")
def tags_rename(
    tag_id: int,
    name: Annotated[str | None, typer.Option(help="New Chinese name.")] = None,
    name_en: Annotated[str | None, typer.Option(help="New English name.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Rename tag TAG_ID."""
    with _tag_service(database_url) as (tags, res):
        tags.rename(res, tag_id, name, name_en)
    typer.echo(f"renamed tag {tag_id}")


@contextmanager
def _tag_service(database_url: str | None) -> Iterator[tuple[ModuleType, Resources]]:
    from consulting.core.database import reaching
    from consulting.core.resources import Resources
    from services import tags

    res = Resources.from_settings(_settings(database_url))
    try:
        with reaching(res.settings.database_url):
            yield tags, res
    finally:
        res.db.dispose()


def _refusal(exc: Exception) -> tuple[str, int] | None:
    """What a refusal the user can act on says, and the exit code: a setting that cannot work
    (2), a business error (1); None for anything else."""
    from consulting.core.errors import ApiError
    from consulting.core.settings import ConfigurationError

    if isinstance(exc, ConfigurationError):
        return str(exc), 2
    if isinstance(exc, ApiError):
        return exc.msg, 1
    return None


def main(args: Any = None) -> None:
    """The console script: every mistake the user can fix is one line on stderr, no traceback."""
    argv = sys.argv[1:] if args is None else list(args)
    try:
        code = app(argv or ["--help"], standalone_mode=False)
    except typer.TyperException as exc:  # click's usage errors: `--port 99999`, a missing option
        typer.echo(f"consulting: {exc.format_message()} (see --help)", err=True)
        sys.exit(2)
    except typer.Abort:
        typer.echo("Aborted!", err=True)
        sys.exit(1)
    except Exception as exc:
        refusal = _refusal(exc)
        if refusal is None:
            raise
        typer.echo(f"consulting: {refusal[0]}", err=True)
        sys.exit(refusal[1])
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
