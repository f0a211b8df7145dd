"""`ssm3bot doctor`: a set-up checklist, one line per check with the fix for each failure.

The configuration is read with every bad variable reported at once; the checks that do not
depend on a bad variable still run (the bad ones count as unset), so one typo does not hide
the rest of the list. Exit status: 0 nothing failed, 1 a check failed, 2 the configuration
is invalid.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from bot.aws.session import AwsAccess
from bot.doctor import aws, events, local, risks, slack
from bot.doctor.checks import Check, Report
from bot.doctor.render import render_report
from bot.settings.config import ConfigError, Settings

__all__ = ["Check", "Report", "render_report", "run_doctor"]

SLACK_VARIABLES = {"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SSM3_SLACK_API_URL", "SSM3_CHANNEL"}
AWS_VARIABLES = {
    "SSM3_REGIONS",
    "SSM3_ACCOUNTS",
    "SSM3_ROLE_NAME",
    "SSM3_CONCURRENCY",
    "AWS_REGION",
}


def run_doctor(
    settings: Settings,
    problems: list[ConfigError],
    *,
    now: datetime,
    make_access: Callable[[], AwsAccess] | None = None,
    dotenv: Path | None = Path(".env"),
) -> Report:
    """Every check, in the order a new installation meets them: configuration, Slack, AWS."""
    bad = {problem.variable for problem in problems}
    checks: list[Check] = [*local.configuration(problems, dotenv), local.database(settings)]
    if not bad & {"SSM3_SWEEP_SCHEDULE", "SSM3_DIGEST_SCHEDULE", "SSM3_TIMEZONE"}:
        checks.append(local.schedules(settings, now))
    checks.extend(risks.risks(settings, dotenv))
    checks.extend(_unless(bad & SLACK_VARIABLES, "Slack", lambda: slack.slack_checks(settings)))
    access = make_access or (lambda: AwsAccess.from_settings(settings, **aws.ACCESS_OPTIONS))
    checks.extend(_unless(bad & AWS_VARIABLES, "AWS", lambda: aws.aws_checks(settings, access)))
    checks.extend(events.events_checks(settings, access))
    return Report(tuple(checks), config_invalid=bool(problems))


def _unless(bad: set[str], section: str, run: Callable[[], list[Check]]) -> list[Check]:
    if bad:
        names = ", ".join(sorted(bad))
        return [Check(section, "skip", f"{section} checks skipped until {names} is corrected")]
    return run()
