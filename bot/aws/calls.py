"""Counted AWS calls, shared by the readers of one scope so a sweep reports what it cost."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class CallCounter:
    """Every AWS call one scope's read made, in all and by operation."""

    calls: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)

    def add(self, operation: str) -> None:
        self.calls += 1
        self.by_operation[operation] = self.by_operation.get(operation, 0) + 1

    def pages(self, operation: str, call: Callable[..., Any], **params: Any) -> Iterator[Any]:
        """Each page of one paginated call, counted; the caller may stop early."""
        token: str | None = None
        while True:
            self.add(operation)
            page = call(**params, **({"NextToken": token} if token else {}))
            yield page
            token = page.get("NextToken")
            if not token:
                return


def same_second(stored: datetime | None, listed: datetime | None) -> bool:
    """The store keeps timestamps to the second; AWS sends milliseconds."""
    if stored is None or listed is None:
        return stored is listed
    return stored.replace(microsecond=0) == listed.replace(microsecond=0)
