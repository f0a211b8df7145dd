"""What a doctor check says: a status, a line of text, and for failures what to do about it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Status = Literal["pass", "warn", "fail", "skip"]

WHERE = "{where}"  # replaced by the accounts or account-regions a grouped finding applies to
SHOWN_SUBJECTS = 4


@dataclass(frozen=True)
class Check:
    """One checklist line. `fix` says what to do; every failure has one."""

    section: str
    status: Status
    text: str
    fix: str | None = None


@dataclass(frozen=True)
class Finding:
    """A result about one account or account-region, before identical ones are grouped.

    `text` holds WHERE where the subjects go: "ssm:ListAssociations denied in {where}".
    """

    status: Status
    text: str
    fix: str | None = None


@dataclass(frozen=True)
class Report:
    checks: tuple[Check, ...]
    config_invalid: bool = False

    def count(self, status: Status) -> int:
        return sum(1 for check in self.checks if check.status == status)

    @property
    def exit_code(self) -> int:
        """0 nothing failed; 2 the configuration is invalid; 1 any other check failed."""
        if self.config_invalid:
            return 2
        return 1 if self.count("fail") else 0


def subjects(names: Sequence[str], unit: str) -> str:
    """'222222222222/eu-west-1', or 'a, b and c', or '9 account-regions (a, b, c, d and 5 more)'."""
    if len(names) == 1:
        return names[0]
    if len(names) <= SHOWN_SUBJECTS:
        return ", ".join(names[:-1]) + " and " + names[-1]
    shown = ", ".join(names[:SHOWN_SUBJECTS])
    return f"{len(names)} {unit} ({shown} and {len(names) - SHOWN_SUBJECTS} more)"


def grouped(section: str, found: Iterable[tuple[str, Finding]], unit: str) -> list[Check]:
    """One Check per distinct finding, naming every subject it applies to, in first-seen order
    (failures first, then warnings, then passes)."""
    by_finding: dict[Finding, list[str]] = {}
    for subject, finding in found:
        by_finding.setdefault(finding, []).append(subject)
    order: dict[Status, int] = {"fail": 0, "warn": 1, "pass": 2, "skip": 3}
    checks = [
        Check(section, f.status, f.text.replace(WHERE, subjects(names, unit)), f.fix)
        for f, names in by_finding.items()
    ]
    return sorted(checks, key=lambda check: order[check.status])
