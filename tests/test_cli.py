"""The ``consulting`` command: validate, codes, db upgrade, serve's migration guard, tags."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from typer.testing import CliRunner

from consulting import DEFAULT_DATABASE
from consulting.cli import app, main
from consulting.core.errors import ErrorCode
from consulting.spec import error_table

runner = CliRunner()


@pytest.fixture(autouse=True)
def _restore_environment() -> Iterator[None]:
    """``--database-url`` exports DATABASE_URL for uvicorn's workers; keep it out of other tests."""
    with mock.patch.dict(os.environ):
        yield


def test_validate_accepts_the_contract() -> None:
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 0, result.output
    assert "every operationId resolves" in result.output


def test_validate_names_an_operation_id_that_resolves_to_nothing(tmp_path: Path) -> None:
    from consulting import SPEC_PATH

    broken = tmp_path / "broken.yaml"
    broken.write_text(
        SPEC_PATH.read_text(encoding="utf-8").replace(
            "handlers.posts.publish", "handlers.posts.nothing"
        ),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["validate", "--spec", str(broken)])
    assert result.exit_code == 1 and "handlers.posts.nothing" in result.output


def test_validate_rejects_an_invalid_document(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("openapi: 3.0.3\ninfo: {}\npaths: {}\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", "--spec", str(broken)])
    assert result.exit_code == 1 and "INVALID" in result.output


def test_python_error_codes_are_the_contracts_table() -> None:
    table = error_table()
    assert {code: entry["name"] for code, entry in table.items()} == {
        c.value: c.name for c in ErrorCode
    }
    assert all(entry["status"] == ErrorCode(code).http_status for code, entry in table.items())


def test_codes_prints_the_table() -> None:
    result = runner.invoke(app, ["codes"])
    assert result.exit_code == 0 and "40401\t404\tPOST_NOT_FOUND" in result.output


def test_serve_refuses_an_unmigrated_external_database(monkeypatch: pytest.MonkeyPatch) -> None:
    import consulting.core.migrate

    monkeypatch.setattr(consulting.core.migrate, "pending", lambda engine: True)
    monkeypatch.setenv("CONSULTING_PAYMENT_NOTIFY_KEY", "a-key-of-this-test-of-32-bytes-or-more")
    started: list[object] = []
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: started.append(a))
    result = runner.invoke(
        app, ["serve", "--database-url", "postgresql+psycopg://nobody@127.0.0.1:1/none"]
    )
    assert result.exit_code == 2 and "consulting db upgrade" in result.output
    assert started == []


def test_db_upgrade_then_tags_add_list_rename(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert runner.invoke(app, ["db", "upgrade", "--database-url", url]).exit_code == 0
    added = runner.invoke(
        app, ["tags", "add", "tax-hk", "香港税务", "Hong Kong tax", "--database-url", url]
    )
    assert added.exit_code == 0, added.output
    tag_id = int(added.output.split()[-1])
    renamed = runner.invoke(
        app, ["tags", "rename", str(tag_id), "--name-en", "HK tax", "--database-url", url]
    )
    assert renamed.exit_code == 0
    listed = runner.invoke(app, ["tags", "list", "--database-url", url]).output
    assert f"{tag_id}\t香港税务\tHK tax" in listed and "法律咨询" in listed


# Fast help: the command line imports typer and little else ---------------------------------------


def test_the_command_line_imports_nothing_heavy_until_a_command_runs() -> None:
    """``consulting --help`` must not pay for the app: each command imports what it needs."""
    found = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import consulting.cli"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in found.splitlines()}
    heavy = {"sqlalchemy", "pydantic", "connexion", "starlette", "uvicorn", "rich", "yaml"}
    assert not heavy & imported, sorted(heavy & imported)


def test_help_shows_flags_as_flags_and_every_default() -> None:
    mock_help = runner.invoke(app, ["mock", "--help"]).output
    assert "--static " in mock_help and "<bool>" not in mock_help
    assert "[default: 4010; 1<=x<=65535]" in mock_help
    serve_help = " ".join(runner.invoke(app, ["serve", "--help"]).output.split())
    assert "$CONSULTING_PORT, else 8000" in serve_help
    assert f"$DATABASE_URL, else {DEFAULT_DATABASE}" in serve_help
    assert "``" not in runner.invoke(app, ["--help"]).output


# Configuration mistakes: one line on stderr, what is wrong and what to do, no secret -----------

SECRET = "s3cret-pw"


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        ([], {"DATABASE_URL": f"postgress://u:{SECRET}@db/x"}, "names no database known here"),
        ([], {"DATABASE_URL": "not a url"}, "is not a database URL"),
        (
            [],
            {"DATABASE_URL": f"postgresql+pg8000://u:{SECRET}@db/x"},
            "pip install -e '.[postgres]'",
        ),
        (
            [],
            {"DATABASE_URL": f"postgresql+psycopg://u:{SECRET}@127.0.0.1:1/x"},
            "cannot use the database at postgresql+psycopg://u:***@127.0.0.1:1/x",
        ),
        ([], {"CONSULTING_PORT": "99999"}, "CONSULTING_PORT"),
        (["--port", "99999"], {}, "'--port'"),
        (["--workers", "0"], {}, "'--workers'"),
    ],
    ids=["dialect", "not-a-url", "driver", "unreachable", "port-env", "port", "workers"],
)
def test_a_configuration_mistake_is_one_line(
    args: list[str], env: dict[str, str], says: str, tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "consulting.cli", "serve", *args],
        env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert says in line and SECRET not in line and result.stdout == ""


def test_a_missing_driver_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if .[postgres] were not installed
    monkeypatch.setenv("DATABASE_URL", f"postgresql+psycopg://u:{SECRET}@db/x")
    with pytest.raises(SystemExit) as exit:
        main(["db", "upgrade"])
    assert exit.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "psycopg" in line and "pip install -e '.[postgres]'" in line and SECRET not in line
