"""What `ssm3bot COMMAND --help` says beyond the options: what it does, its exit codes and an
example. Kept apart from the parser so cli.py stays about wiring."""

from __future__ import annotations

from typing import NamedTuple


class Help(NamedTuple):
    description: str
    exits: str
    example: str


HELP: dict[str, Help] = {
    "sweep": Help(
        "Sweep every configured account-region now (SSM.3's view: Association compliance,\n"
        "reconciled with the runs), store the result and print the failing associations.",
        "0 done; 1 no account-region could be swept; 2 bad usage or configuration;\n"
        "3 with --strict: an unacknowledged failure, an orphan, or an account-region not swept",
        "ssm3bot sweep --json > sweep.json",
    ),
    "digest": Help(
        "The digest from stored state: what fails SSM.3, what is acknowledged, what could not\n"
        "be swept. Makes no AWS call.",
        "0 done; 2 no database yet, or bad configuration",
        "ssm3bot digest --json | jq .summary",
    ),
    "history": Help(
        "An association's recent executions, its failed or timed-out instances with their error,\n"
        "stderr and a likely cause, and what SSM.3 sees on its NON_COMPLIANT instances.",
        "0 done; 1 AWS could not be read; 2 unknown association or bad usage",
        "ssm3bot history 8c1f2d3e-1111-4222-8333-444455556666 --json",
    ),
    "diagnose": Help(
        "Why an association fails SSM.3, per instance: reads what AWS knows (its parameters\n"
        "against its document, each node's agent and ping, the failed steps' stderr, alarms,\n"
        "change calendars, missing patches) and names one cause each, with the evidence and\n"
        "the fix. Changes nothing.",
        "0 diagnosed (whatever the cause); 1 AWS could not be read; 2 unknown association or bad\nusage",
        "ssm3bot diagnose 8c1f2d3e-1111-4222-8333-444455556666 --json",
    ),
    "audit": Help(
        "The audit log: every state change and refusal, who, when, where, as evidence.",
        "0 done; 2 no database yet, or a bad --since",
        "ssm3bot audit --since 2026-11-01 --csv > audit.csv",
    ),
    "report": Help(
        "The evidence report for a period (default: the last full calendar month): sweep\n"
        "coverage and gaps, SSM.3 each day, every failure streak and its time to resolve,\n"
        "acknowledgements, re-runs and fixes, Security Hub's agreement. Makes no AWS call.",
        "0 done; 2 no database yet, a bad --since/--until, or a period over 400 days",
        "ssm3bot report --since 2026-10-01 --until 2026-11-01 --out october.html",
    ),
    "ack": Help(
        "Acknowledge a failing association, as Slack's Acknowledge does: audited, with the OS\n"
        "user as actor; it ends on expiry, on `unack`, or when the failure ends.",
        "0 acknowledged; 2 refused (unknown ID, not failing) or bad usage",
        'ssm3bot ack 8c1f2d3e-1111-4222-8333-444455556666 --for 2w --reason "OPS-42: patch window"',
    ),
    "unack": Help(
        "End an association's acknowledgement: it is back among the failing (audited).",
        "0 reopened; 2 refused (unknown ID, not acknowledged) or bad usage",
        "ssm3bot unack 8c1f2d3e-1111-4222-8333-444455556666",
    ),
    "health": Help(
        "Whether the last sweep is recent enough (two sweep periods), for Docker's HEALTHCHECK.",
        "0 healthy; 1 stale, or no sweep yet",
        "ssm3bot health --json",
    ),
    "doctor": Help(
        "Check the set-up: configuration, the database, Slack, AWS (identity, accounts, roles,\n"
        "every read in each account-region, SSM.3 in Security Hub, AWS Config), one line each\n"
        "with the fix for each failure.",
        "0 nothing failed; 1 a check failed; 2 the configuration is invalid",
        "ssm3bot doctor --json",
    ),
    "serve": Help(
        "The Slack app and the scheduler in one process: Socket Mode with SLACK_APP_TOKEN,\n"
        "else HTTP on SSM3_HTTP_PORT (/slack/events, /healthz, /metrics).",
        "0 stopped by a signal; 2 bad configuration",
        "SLACK_APP_TOKEN=xapp-… ssm3bot serve",
    ),
    "demo": Help(
        "Sweep a simulated organisation on loopback (no AWS account, no Slack) and print the\n"
        "digest.",
        "0 done",
        "ssm3bot demo --db /tmp/demo.db",
    ),
}


def epilog(name: str) -> str:
    entry = HELP[name]
    return f"exit status:\n  {entry.exits.replace(chr(10), chr(10) + '  ')}\n\nexample:\n  {entry.example}"
