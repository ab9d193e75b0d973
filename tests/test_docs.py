"""docs/architecture.md matches the tree: every file it names exists, and the walk of one publish
request names every file of ours that such a request really runs through."""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from starlette.testclient import TestClient

from consulting import PROJECT_ROOT
from consulting.core.resources import Resources
from consulting.spec import state_machines
from consulting.web.app import create_app
from tests.api import Api

ARCHITECTURE = PROJECT_ROOT / "docs" / "architecture.md"
NAMED = re.compile(
    r"`((?:consulting|handlers|services|models|contract_tests|tests|openapi)/[\w/.]+)"
)


def _named(text: str) -> set[str]:
    return {match.split(":")[0] for match in NAMED.findall(text)}


def _publish_walk() -> str:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    start = text.index("## One request, from the spec to the database: publish")
    return text[start : text.index("\n## ", start + 1)]


def test_every_file_the_architecture_names_exists() -> None:
    named = _named(ARCHITECTURE.read_text(encoding="utf-8"))
    assert len(named) > 20
    missing = sorted(path for path in named if not (PROJECT_ROOT / path).exists())
    assert missing == []


def test_the_walk_of_a_publish_names_every_file_it_runs_through(res: Resources) -> None:
    ran: set[str] = set()
    recording = threading.Event()
    ours = ("consulting", "handlers", "services", "models")

    def profile(frame: FrameType, _event: str, _arg: Any) -> None:
        if recording.is_set():
            path = Path(frame.f_code.co_filename)
            if path.is_relative_to(PROJECT_ROOT) and path.parts[len(PROJECT_ROOT.parts)] in ours:
                ran.add(path.relative_to(PROJECT_ROOT).as_posix())

    threading.setprofile(profile)
    sys.setprofile(profile)
    try:
        with TestClient(create_app(resources=res)) as client:
            api = Api(client, res)
            buyer = api.buyer()
            recording.set()
            api.publish(buyer)
            recording.clear()
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]

    assert "services/posts.py" in ran and "handlers/posts.py" in ran
    unnamed = sorted(path for path in ran if path not in _named(_publish_walk()))
    assert unnamed == [], "files a publish runs through that the walk does not name"


DECISIONS = PROJECT_ROOT / "docs" / "decisions.md"


def _documented_machine(text: str, name: str) -> list[tuple[str, ...]]:
    """The rows of the table under ``### name`` in docs/decisions.md."""
    start = text.index(f"\n### {name}\n")
    rows = []
    for line in text[start:].splitlines()[2:]:
        if line.startswith("### ") or line.startswith("## "):
            break
        if line.startswith("| ") and not line.startswith("| from") and "---" not in line:
            rows.append(tuple(cell.strip() for cell in line.strip("|").split("|")))
    return rows


def test_the_decisions_show_the_state_machines_the_services_use() -> None:
    text = DECISIONS.read_text(encoding="utf-8")
    for name, machine in state_machines().items():
        expected = [
            (t["from"], t["event"], t["by"], ", ".join(t.get("when", [])), t["to"])
            for t in machine["transitions"]
        ]
        assert _documented_machine(text, name) == expected, name
        born = f"Born `{machine['initial']}`"
        assert born in text[text.index(f"\n### {name}\n") :].split("\n### ")[1], name
