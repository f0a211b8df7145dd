"""The layout the redesign promises, checked from the source: every module in a package whose
name says what it holds, the layers depending one way only (lazy imports and type-only imports
count: an arrow is an arrow), and no test module leaning on another or on tests.conftest
(tests/test_store_layout.py checks the store's shape, the line budget and import cycles).

The layers, bottom up (README, Architecture): util -> models -> core -> settings -> store and
aws (never each other) -> app, ops, render -> report, wiring -> sweeping -> scheduling -> realtime -> slack,
doctor -> cli. A package may import its own modules and those of the packages it is allowed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.imports import imported

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"

# What each package of bot/ may import besides itself (bot packages, then outside libraries
# it must not touch).
BELOW: dict[str, set[str]] = {
    "util": set(),
    "models": {"util"},
    "core": {"util", "models"},
    "settings": {"util", "models", "core"},
    "store": {"util", "models", "core"},
    "aws": {"util", "models", "core", "settings"},
    "app": {"util", "models", "core", "settings", "store"},
    "ops": {"util", "models", "core", "settings", "store"},
    "render": {"util", "models", "core", "settings", "aws"},
}
BELOW["report"] = {*BELOW["app"], "app", "render"}  # the evidence report: figures and forms
BELOW["wiring"] = {*BELOW["app"], "app", "aws"}
BELOW["sweeping"] = {*BELOW["wiring"], "wiring"}
BELOW["doctor"] = {*BELOW["sweeping"], "sweeping", "render"}
BELOW["scheduling"] = {*BELOW["sweeping"], "sweeping", "ops", "report"}
BELOW["realtime"] = {*BELOW["scheduling"], "scheduling"}
BELOW["slack"] = {*BELOW["realtime"], "realtime", "render"}
BELOW["sim"] = {"util", "models", "core"}  # the showcase fails for each of core's causes
BELOW["cli"] = {*BELOW["slack"], "slack", "doctor", "sim"}
OUTSIDE_FORBIDDEN = {
    "core": {"boto3", "botocore", "slack_sdk", "slack_bolt", "sqlite3", "sqlite_utils"},
    "app": {"boto3", "botocore", "slack_sdk", "slack_bolt", "sqlite3", "sqlite_utils"},
    "store": {"boto3", "botocore", "slack_sdk", "slack_bolt"},
    "aws": {"slack_sdk", "slack_bolt", "sqlite3", "sqlite_utils"},
    "slack": {"boto3", "botocore"},
}
# Modules that may sit at the top of bot/: the entry points.
TOP_LEVEL = {"__init__.py", "__main__.py"}


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def upward_arrows(root: Path) -> list[str]:
    """Every import in `root`/bot/ that goes up or across the layers, or to a library its
    package must not touch; an unknown package is an offence too."""
    offenders: list[str] = []
    for path in sorted((root / "bot").rglob("*.py")):
        name = module_name(path, root)
        if path.parent == root / "bot":
            continue  # the entry points may import anything
        own = name.split(".")[1]
        allowed = BELOW.get(own)
        if allowed is None:
            offenders.append(f"{name}: bot/{own}/ is in no layer (add it to BELOW)")
            continue
        for target in sorted(imported(path)):
            parts = target.split(".")
            if parts[0] == "bot" and len(parts) > 1:
                if parts[1] in {own, "__version__"} or parts[1] in allowed:
                    continue
                offenders.append(f"{name} imports {target}")
            elif parts[0] in OUTSIDE_FORBIDDEN.get(own, set()):
                offenders.append(f"{name} imports {target}")
    return sorted(set(offenders))


def test_layers_depend_one_way_lazy_imports_included() -> None:
    assert upward_arrows(ROOT) == []


def test_the_layer_check_catches_a_lazy_upward_import(tmp_path: Path) -> None:
    """A planted import inside a function, from the rules up to Slack, and one across the
    adapters, are both found: lazy imports are arrows too."""
    (tmp_path / "bot" / "core").mkdir(parents=True)
    (tmp_path / "bot" / "store").mkdir()
    (tmp_path / "bot" / "__init__.py").write_text("")
    (tmp_path / "bot" / "core" / "__init__.py").write_text("")
    (tmp_path / "bot" / "core" / "rules.py").write_text(
        "from bot.models import Scope\n\n\ndef later() -> None:\n"
        "    from bot.slack.delivery import Delivery  # planted\n"
    )
    (tmp_path / "bot" / "store" / "reads.py").write_text(
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from bot.aws.session import AwsAccess\n"
    )
    assert upward_arrows(tmp_path) == [
        "bot.core.rules imports bot.slack.delivery",
        "bot.core.rules imports bot.slack.delivery.Delivery",
        "bot.store.reads imports bot.aws.session",
        "bot.store.reads imports bot.aws.session.AwsAccess",
    ]


def test_no_module_is_loose_at_the_top_of_bot() -> None:
    """Every module lives in a package that says what it holds; only the entry points sit at
    the top (bot/__init__.py: the version; bot/__main__.py: `python -m bot`)."""
    loose = {path.name for path in BOT.glob("*.py")} - TOP_LEVEL
    assert loose == set()
    packages = {path.name for path in BOT.iterdir() if (path / "__init__.py").exists()}
    assert packages == set(BELOW), "every package of bot/ has its place in the layers"


@pytest.mark.parametrize("package", sorted(BELOW))
def test_every_package_says_what_it_holds(package: str) -> None:
    init = ast.parse((BOT / package / "__init__.py").read_text())
    assert ast.get_docstring(init), f"bot/{package}/__init__.py: a docstring naming what it holds"


def test_no_test_module_imports_another_or_the_conftest() -> None:
    """Shared test code lives in tests/support/ and tests/fakes/; a test module is never a
    library, and neither is conftest.py (its fixtures reach tests by name, not by import)."""
    offenders = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        for module in imported(path)
        if module.startswith(("tests.test_", "tests.conftest"))
    ]
    assert offenders == []


def test_tests_build_runners_through_one_helper() -> None:
    """A Runner is built by tests/support/runners.make_runner only, so a new collaborator of
    the Runner is added in one place, not in every test that schedules."""
    builds = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        if path.name != "runners.py"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name | ast.Attribute)
        and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr) == "Runner"
    ]
    assert builds == []


# bot/app/ modules that are no use case: records, ports and words the use cases share.
NOT_USE_CASES = {
    "__init__",
    "events",
    "outcomes",
    "permissions",
    "publisher",
    "sync_report",
    "terms",
}


@pytest.mark.parametrize(
    "use_case", sorted({p.stem for p in (BOT / "app").glob("*.py")} - NOT_USE_CASES)
)
def test_every_use_case_has_its_unit_tests(use_case: str) -> None:
    """Each use case is tested on its own, on an in-memory store with the fakes of
    tests/support/ports.py (tests/test_app_<use case>.py)."""
    assert (ROOT / "tests" / f"test_app_{use_case}.py").is_file()
