"""The store's shape: repositories by concern over one database core, and no SQL outside it.

These read the source (ast), so they say which file breaks a rule rather than how it shows.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.store import Store
from tests.support.imports import imported

BOT = Path(__file__).resolve().parent.parent / "bot"
STORE = BOT / "store"
MAX_LINES = 400

# Modules over MAX_LINES that this change did not own. Each is a known debt with an owner;
# take a module off the list when it is split, never raise MAX_LINES to let one in.
OVERSIZED: set[str] = set()


def modules(root: Path = BOT) -> Iterator[Path]:
    yield from sorted(root.rglob("*.py"))


def name_of(path: Path) -> str:
    parts = path.relative_to(BOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def rel(path: Path) -> str:
    return path.relative_to(BOT).as_posix()


def test_the_store_is_a_package_of_repositories_over_one_core() -> None:
    assert not (BOT / "store.py").exists()
    assert {p.name for p in STORE.glob("*.py")} >= {
        "__init__.py",
        "db.py",
        "sweeps.py",
        "associations.py",
        "acks.py",
        "audit.py",
        "reruns.py",
        "digests.py",
        "ledger.py",
        "cache.py",
    }


@pytest.mark.parametrize("path", list(modules(STORE)), ids=rel)
def test_nothing_in_the_store_knows_aws_or_slack(path: Path) -> None:
    wrong = {
        name
        for name in imported(path)
        if name.split(".")[:2] in (["bot", "aws"], ["bot", "slack"])
        or name.split(".")[0] in ("boto3", "botocore", "slack_sdk", "slack_bolt")
    }
    assert not wrong, f"bot/{rel(path)} imports {sorted(wrong)}"


def test_only_the_store_speaks_sql() -> None:
    """sqlite_utils is the store's; and no module reaches past a Store into its core."""
    offenders = []
    for path in modules():
        if path.is_relative_to(STORE):
            continue
        if any(n.split(".")[0] == "sqlite_utils" for n in imported(path)):
            offenders.append(f"bot/{rel(path)} imports sqlite_utils")
        tree = ast.parse(path.read_text())
        if any(isinstance(n, ast.Attribute) and n.attr == "_db" for n in ast.walk(tree)):
            offenders.append(f"bot/{rel(path)} reaches into a Store's _db")
    assert offenders == []


def test_store_offers_no_raw_sql_escape_hatches(tmp_path: Path) -> None:
    store = Store(tmp_path / "ssm3.db")
    try:
        for hatch in ("transaction", "query", "db", "execute", "rows"):
            assert not hasattr(store, hatch), f"Store.{hatch} is a way around the repositories"
        for repository in (
            "sweeps",
            "associations",
            "acks",
            "audit",
            "reruns",
            "digests",
            "ledger",
            "cache",
        ):
            assert hasattr(store, repository)
    finally:
        store.close()


def test_no_module_is_over_the_line_budget() -> None:
    sizes = {
        rel(path): len(path.read_text().splitlines())
        for path in modules()
        if not path.is_relative_to(BOT / "sim")
    }
    over = {name for name, lines in sizes.items() if lines > MAX_LINES}
    assert over - OVERSIZED == set(), {name: sizes[name] for name in over - OVERSIZED}
    # A module split since keeps its place on the list no longer.
    assert OVERSIZED - over == set(), "take these off OVERSIZED: they fit now"


def test_no_import_cycle_among_bot_modules() -> None:
    """What a module imports when it is imported (lazy imports in functions aside) forms no
    cycle: each package can be loaded, and reasoned about, on its own."""
    names = {name_of(path): path for path in modules()}
    graph = {
        name: {dep for dep in imported(path, top_level_only=True) if dep in names and dep != name}
        for name, path in names.items()
    }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append([*path[path.index(dep) :], dep])
            elif dep not in state:
                visit(dep, [*path, dep])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert sum(map(len, graph.values())) > 100, "the graph is read, not empty"
    assert cycles == []
