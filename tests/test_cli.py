"""The ``consulting`` command: validate, codes, db upgrade, serve's migration guard, tags."""

import os
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from typer.testing import CliRunner

from consulting.cli import app
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
