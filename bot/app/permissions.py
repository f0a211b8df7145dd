"""Who may change state, as the use cases ask it: a Decision per action. Each surface brings
its own answer (Slack: SSM3_OPERATORS with user groups; the CLI: whoever can run it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""  # for refusals: what the person reads, and what the audit log keeps


class Permissions(Protocol):
    def may_rerun(self, actor: str) -> Decision: ...
    def may_acknowledge(self, actor: str) -> Decision: ...
    def may_sweep(self, actor: str) -> Decision: ...


class LocalOperator:
    """The person at the terminal: whoever can run `ssm3bot` with the bot's database and AWS
    credentials can already change both, so the CLI grants what it is asked (and audits it)."""

    def may_rerun(self, actor: str) -> Decision:
        return Decision(True)

    def may_acknowledge(self, actor: str) -> Decision:
        return Decision(True)

    def may_sweep(self, actor: str) -> Decision:
        return Decision(True)
