"""The checklist as text: one line per check under its section, then a summary line.
Plain ASCII when the terminal cannot show the marks (stdout not UTF-8)."""

from __future__ import annotations

from typing import Any

from bot.doctor.checks import Report, Status
from bot.util.strings import one_line

MARKS: dict[Status, str] = {"pass": "✔", "warn": "!", "fail": "✘", "skip": "-"}
ASCII_MARKS: dict[Status, str] = {
    "pass": "[ok]",
    "warn": "[warn]",
    "fail": "[FAIL]",
    "skip": "[skip]",
}
# Typography the checks use, spelt in ASCII (escapes keep the source itself unambiguous).
_ASCII = {
    "\u2014": "-",
    "\u2013": "-",
    "\u2026": "...",
    "\u00d7": "x",
    "\u2192": "->",
    "\u2019": "'",
}


def render_report(report: Report, *, ascii_only: bool = False) -> str:
    marks = ASCII_MARKS if ascii_only else MARKS
    lines: list[str] = []
    section = None
    for check in report.checks:
        if check.section != section:
            section = check.section
            lines.append(("\n" if lines else "") + section)
        # AWS's and Slack's error text reaches these lines: one line each, nothing a terminal acts on.
        line = f"  {marks[check.status]} {one_line(check.text)}"
        if check.fix:
            line += f": {one_line(check.fix)}"
        lines.append(line)
    lines.append("")
    lines.append(summary(report))
    text = "\n".join(lines) + "\n"
    return to_ascii(text) if ascii_only else text


def summary(report: Report) -> str:
    failed, warned, passed = report.count("fail"), report.count("warn"), report.count("pass")
    counts = f"{passed} passed, {warned} warning{'s' if warned != 1 else ''}"
    if report.config_invalid:
        return f"{failed} failed, {counts}. Fix the configuration first, then run ssm3bot doctor again."
    if failed:
        return f"{failed} failed, {counts}. Fix the failed lines, then run ssm3bot doctor again."
    return f"Nothing failed: {counts}."


def to_ascii(text: str) -> str:
    for wide, narrow in _ASCII.items():
        text = text.replace(wide, narrow)
    return text.encode("ascii", "replace").decode("ascii")


def doctor_json(report: Report) -> dict[str, Any]:
    return {
        "exit_code": report.exit_code,
        "passed": report.count("pass"),
        "warnings": report.count("warn"),
        "failed": report.count("fail"),
        "checks": [
            {"section": c.section, "status": c.status, "text": c.text, "fix": c.fix}
            for c in report.checks
        ],
    }
