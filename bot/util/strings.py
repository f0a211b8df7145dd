"""Text shown to people, whatever supplied it: one line clipped to a width, and nothing a
terminal would act on. Pure; the terminal renderers, the log redactor, the CLI's error lines,
`doctor` and the Slack blocks all use these, so every path defends the same way."""

from __future__ import annotations

import re

# C0 and C1 control characters (ESC starts colour, title and hyperlink sequences; CR rewrites
# a line; BEL rings), except tab and newline, which lay text out and which `clip` flattens.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str, replacement: str = "?") -> str:
    """`text` with every control character a terminal would act on replaced."""
    return CONTROL.sub(replacement, text)


def clip(text: str | None, limit: int) -> str:
    """One line (runs of whitespace become one space), at most `limit` characters."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: max(0, limit - 1)] + "…"


def one_line(text: str) -> str:
    """A message for a terminal's single error line: flattened and free of control characters."""
    return " ".join(terminal_safe(text).split())


def account_label(account_id: str, name: str | None, limit: int = 50) -> str:
    """'payments-prod (222222222222)' where Organizations named the account, else the ID."""
    shown = clip(name, limit)
    return f"{shown} ({account_id})" if shown else account_id


def unnamed(document_name: str | None, association_id: str) -> str:
    """What an association without a name is called: its document and a short ID (its first
    8 characters), never a bare UUID."""
    short = association_id[:8]
    return f"{document_name} ({short})" if document_name else short
