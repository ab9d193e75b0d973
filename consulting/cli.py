"""``consulting``: serve the API, migrate its database, check its contract, manage tags."""

from __future__ import annotations

import os
import sys
from types import ModuleType
from typing import Annotated

import typer

from consulting import SPEC_PATH
from consulting.core.resources import Resources
from consulting.core.settings import Settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
db_app = typer.Typer(no_args_is_help=True, help="Database schema migrations.")
tags_app = typer.Typer(no_args_is_help=True, help="The tag catalogue.")
app.add_typer(db_app, name="db")
app.add_typer(tags_app, name="tags")

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL (default: $DATABASE_URL or ./var/consulting.db).",
    ),
]


def _settings(database_url: str | None = None) -> Settings:
    if database_url:
        # Exported, so that uvicorn's worker processes build the same settings.
        os.environ["DATABASE_URL"] = database_url
    return Settings()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind.")] = None,
    workers: Annotated[int | None, typer.Option(help="uvicorn worker processes.")] = None,
    database_url: DatabaseUrl = None,
    migrate: Annotated[
        bool,
        typer.Option("--migrate", help="Apply pending migrations to an external database first."),
    ] = False,
) -> None:
    """Run the API with uvicorn; SQLite migrates on start, other databases need --migrate."""
    import uvicorn

    from consulting.core.database import create_db_engine
    from consulting.core.migrate import pending, upgrade

    settings = _settings(database_url)
    engine = create_db_engine(settings.database_url)
    try:
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
    uvicorn.run(
        "consulting.web.app:create_app_from_env",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        log_level=settings.log_level.lower(),
        access_log=False,
        proxy_headers=True,
    )


@app.command()
def mock(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 4010,
    scenario: Annotated[
        str, typer.Option(help="empty | demo | buyer-with-paid-post | consultant-with-orders")
    ] = "demo",
    delay: Annotated[int, typer.Option(help="Latency added to every response, in ms.")] = 0,
    static: Annotated[
        bool, typer.Option("--static", help="Documented examples only, no database.")
    ] = False,
) -> None:
    """Run the mock for frontend teams: seeded and stateful (or --static), throw-away data."""
    import uvicorn

    from consulting.core.logs import configure_logging
    from consulting.mock.app import MockOptions, banner, create_mock_app
    from consulting.mock.scenarios import SCENARIOS

    if scenario not in SCENARIOS:
        typer.echo(f"unknown scenario {scenario!r}; choose from {', '.join(SCENARIOS)}", err=True)
        raise typer.Exit(code=2)
    options = MockOptions(scenario=scenario, delay_ms=delay, static=static)
    configure_logging("INFO")
    app = create_mock_app(options)
    typer.echo(banner(options, host, port))
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


@db_app.command("upgrade")
def db_upgrade(
    database_url: DatabaseUrl = None,
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply migrations up to REVISION."""
    from consulting.core.database import create_db_engine
    from consulting.core.migrate import upgrade

    engine = create_db_engine(_settings(database_url).database_url)
    upgrade(engine, revision)
    engine.dispose()
    typer.echo(f"database at {revision}")


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
) -> None:
    """Fuzz any running server against the contract; exit non-zero on any violation."""
    from contract_tests.runner import DEFAULT_SEED, run

    raise typer.Exit(
        code=run(
            base_url=base_url,
            junit_xml=junit_xml,
            max_examples=max_examples,
            workers=workers,
            spec=spec,
            seed=DEFAULT_SEED if seed is None else seed,
        )
    )


@app.command()
def codes() -> None:
    """Print the error-code table (x-error-codes)."""
    from consulting.spec import error_table

    for code, entry in sorted(error_table().items()):
        typer.echo(f"{code}\t{entry['status']}\t{entry['name']}\t{entry['zh']}\t{entry['en']}")


@tags_app.command("list")
def tags_list(database_url: DatabaseUrl = None) -> None:
    """List the tags."""
    tags, res = _tag_service(database_url)
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
    tags, res = _tag_service(database_url)
    typer.echo(f"added tag {tags.add(res, slug, name, name_en)}")


@tags_app.command("rename")
def tags_rename(
    tag_id: int,
    name: Annotated[str | None, typer.Option(help="New Chinese name.")] = None,
    name_en: Annotated[str | None, typer.Option(help="New English name.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Rename tag TAG_ID."""
    tags, res = _tag_service(database_url)
    tags.rename(res, tag_id, name, name_en)
    typer.echo(f"renamed tag {tag_id}")


def _tag_service(database_url: str | None) -> tuple[ModuleType, Resources]:
    from services import tags

    return tags, Resources.from_settings(_settings(database_url))


def main() -> None:
    from consulting.core.errors import ApiError

    try:
        app()
    except ApiError as exc:
        typer.echo(exc.msg, err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
