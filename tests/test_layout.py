"""The layout the redesign promises, checked from the source: every rule has one home and the
layers depend one way (core <- app <- surfaces; aws and the store never on each other or on
Slack), and no test module leaning on another (tests/test_store_layout.py checks the store's
shape, the line budget and import cycles)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top_level_imports(path: Path) -> set[str]:
    """Modules imported when `path` is imported: module level, not under TYPE_CHECKING and
    not inside functions (lazy imports keep the CLI fast and are not load-time edges)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for child in [node] if not isinstance(node, ast.If | ast.Try) else ast.walk(node):
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                found.add(child.module)
                found.update(f"{child.module}.{alias.name}" for alias in child.names)
    return found


def bot_modules() -> dict[str, set[str]]:
    modules = {module_name(p): top_level_imports(p) for p in BOT.rglob("*.py")}
    return {name: {i for i in imports if i in modules} for name, imports in modules.items()}


def under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        (
            "bot.core",
            ("bot.store", "bot.aws", "bot.slack", "bot.app", "boto3", "slack_sdk", "sqlite3"),
        ),
        ("bot.app", ("bot.slack",)),
        ("bot.aws", ("bot.store", "bot.slack", "bot.app")),
        ("bot.store", ("bot.aws", "bot.slack", "bot.app")),
    ],
)
def test_layers_depend_one_way(package: str, forbidden: tuple[str, ...]) -> None:
    offenders = []
    for path in BOT.rglob("*.py"):
        name = module_name(path)
        if not under(name, package):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):  # lazy imports count here: a layer must not reach up at all
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [
                f"{name} imports {n}" for n in names if any(under(n, f) for f in forbidden)
            ]
    assert offenders == []


def test_no_test_module_imports_another() -> None:
    """Shared test code lives in tests/support/ and tests/fakes/; a test module is never a library."""
    offenders = [
        f"{path.name} imports {module}"
        for path in (ROOT / "tests").glob("test_*.py")
        for module in top_level_imports(path)
        if module.startswith("tests.test_")
    ]
    assert offenders == []
