"""What a module imports, read from its source (ast): for the layout tests, which say which
file breaks a rule rather than how it shows."""

from __future__ import annotations

import ast
from pathlib import Path


def imported(path: Path, *, top_level_only: bool = False) -> set[str]:
    """Every module `path` imports (absolute names); with top_level_only, only those imported
    when it is (not in functions, not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text())
    nodes: list[ast.AST] = []
    if top_level_only:
        for node in tree.body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            nodes.extend(ast.walk(node))
    else:
        nodes = list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found
