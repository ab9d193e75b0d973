"""What the README promises a new user, held to the code: every operation named in "Using the
API", the versions of its TypeScript example equal to the ones .ci/run checks, the font for
Swagger UI's Chinese, and nothing generated into the repository unignored."""

from __future__ import annotations

import re

from consulting import PROJECT_ROOT
from consulting.spec import operations

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 3)
    return " ".join(README[start:end].split())  # lines joined: wrapping is not meaning


def test_using_the_api_names_every_operation() -> None:
    story = section("Using the API")
    missing = [
        f"{method} {path}" for method, path, _ in operations() if f"{method} {path}" not in story
    ]
    assert missing == []


def test_using_the_api_says_where_the_ids_come_from_and_what_is_optional() -> None:
    story = section("Using the API")
    assert "`GET /api/user/post/check?user_id=<login's id>`" in story
    assert "`content` is `[<account id>]`" in story
    assert "Optional, a verified phone" in story and "CONSULTING_REQUIRE_VERIFIED_PHONE" in story
    assert "With a **consultant** session" in story and "the price cannot change" in story


def test_the_typescript_example_pins_what_ci_checks() -> None:
    ci = (PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for package in ("openapi-fetch", "openapi-typescript"):
        [readme_version] = set(re.findall(rf"{package}@([0-9.]+)", README))
        assert f"{package}@{readme_version}" in ci
    [_example] = re.findall(r"```ts\n(.*?)```", README, flags=re.S)


def test_the_typescript_command_writes_outside_the_repository_or_ignored() -> None:
    [command] = [line for line in README.splitlines() if line.startswith("npx openapi-typescript")]
    output = command.split(" -o ", 1)[1]
    ignored = (PROJECT_ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "http://localhost:4010/openapi.json" in command  # run in the frontend project
    assert f"/{output.split('/', 2)[0]}/{output.split('/', 2)[1]}/" in ignored


def test_the_readme_names_the_font_for_chinese_on_linux() -> None:
    assert "apt-get install fonts-wqy-microhei" in section("The two commands")
