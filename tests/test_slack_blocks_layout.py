"""The Block Kit package: one module a surface, a budget that takes its surface's limit, and
renderers that depend only on the pure core and slack_sdk."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from slack_sdk.models.blocks import DividerBlock, SectionBlock

from bot.slack import blocks as kit
from bot.slack.blocks.base import MESSAGE_BLOCKS, TEXT_BUDGET, VIEW_BLOCKS, Budget, md

PACKAGE = Path(kit.__file__).parent
ALLOWED = (
    "bot.models",
    "bot.core.digest",
    "bot.core.causes",
    "bot.util.strings",
    "bot.util.clock",
    "bot.core.",
    "bot.slack.",
)


@pytest.mark.parametrize("limit", [MESSAGE_BLOCKS, VIEW_BLOCKS])
def test_budget_takes_its_surface_limit(limit: int) -> None:
    budget = Budget(max_blocks=limit)
    budget.add([DividerBlock()] * (limit - 1))
    assert budget.fits([DividerBlock()])
    assert not budget.fits([DividerBlock()], reserve_blocks=1)
    budget.add([DividerBlock()])
    assert not budget.fits([DividerBlock()])
    assert len(budget.used) == limit


def test_budget_counts_text_against_its_char_limit() -> None:
    budget = Budget(max_blocks=MESSAGE_BLOCKS, max_chars=100)
    assert budget.max_chars == 100
    assert Budget(max_blocks=VIEW_BLOCKS).max_chars == TEXT_BUDGET
    assert budget.fits([SectionBlock(text=md("x" * 100))])
    assert not budget.fits([SectionBlock(text=md("x" * 101))])
    assert not budget.fits([SectionBlock(text=md("x" * 60))], reserve_chars=41)


def test_every_public_name_is_re_exported() -> None:
    for name in kit.__all__:
        assert hasattr(kit, name), name
    assert len(set(kit.__all__)) == len(kit.__all__)


def runtime_imports(path: Path) -> list[str]:
    """Modules a file imports outside `if TYPE_CHECKING:`."""
    found: list[str] = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If):
            continue  # `if TYPE_CHECKING:` (types only)
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return found


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_blocks_depend_only_on_the_core_and_slack_sdk(path: Path) -> None:
    for module in runtime_imports(path):
        if module.startswith("bot"):
            assert module.startswith(ALLOWED), f"{path.name} imports {module}"
    assert len(path.read_text().splitlines()) <= 400
