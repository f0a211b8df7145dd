"""The screens in the README, rendered from the code so they cannot go stale.

A fixed moment, the demo's simulated organisation (`bot/cli/demo.py`) swept twice over loopback with
unmodified boto3, a route for the payments team, then the real Block Kit builders, drawn as text
(`bot/slack/blocks/preview.py`). Run `python docs/screens.py` to rewrite the README's screens;
`--check` exits 1 when the README differs (tests/test_readme_screens.py runs that).
"""

from __future__ import annotations

import logging
import random
import re
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app.diagnoses import Diagnoses  # noqa: E402
from bot.app.digests import DigestComposer  # noqa: E402
from bot.aws.evidence import AwsEvidence  # noqa: E402
from bot.aws.session import AwsAccess  # noqa: E402
from bot.cli.demo import DEMO_ACCOUNTS, DEMO_OPERATOR, DEMO_REGIONS, demo_access, demo_fleet  # noqa: E402
from bot.cli.demo_diagnoses import LAB_ACCOUNT  # noqa: E402
from bot.core.diagnosis import Diagnosis  # noqa: E402
from bot.core.health import assess, sweep_period  # noqa: E402
from bot.core.routing import Route  # noqa: E402
from bot.models import AlertState, AssociationRef  # noqa: E402
from bot.settings.config import Settings  # noqa: E402
from bot.sim.fleet import Fleet, failure_for  # noqa: E402
from bot.sim.server import SimServer  # noqa: E402
from bot.sim.showcase import add_showcase  # noqa: E402
from bot.slack.blocks import VerdictWords, diagnosis_message, digest_message, verdict_message  # noqa: E402
from bot.slack.blocks.alert import alert_update  # noqa: E402
from bot.slack.blocks.home import home_view  # noqa: E402
from bot.slack.blocks.preview import preview  # noqa: E402
from bot.store import Store  # noqa: E402
from bot.sweeping.sweep import run_sweep  # noqa: E402

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MAIN, PAYMENTS = "C0SECURITY", "C0PAYMENTS"
PAYOPS = "S0PAYOPS01"
NAMES = {DEMO_OPERATOR: "dana (ops)", PAYOPS: "payments-oncall"}
README = ROOT / "README.md"


def screens() -> dict[str, str]:
    """Each screen's name -> its text."""
    logging.disable(logging.WARNING)  # the denied account's "not swept" lines: on screen already
    try:
        return _screens()
    finally:
        logging.disable(logging.NOTSET)


def _screens() -> dict[str, str]:
    with tempfile.TemporaryDirectory(prefix="ssm3-screens-") as scratch:
        fleet = demo_fleet(now=NOW - timedelta(hours=2))
        settings = Settings(
            accounts_from_org=True,
            regions=DEMO_REGIONS,
            db_path=str(Path(scratch) / "screens.db"),
            concurrency=1,
            channel=MAIN,
            routes=(
                Route(channel=PAYMENTS, accounts=frozenset({DEMO_ACCOUNTS[1]}), mention=PAYOPS),
            ),
        )
        store = Store(settings.db_path)
        with SimServer(fleet) as server:
            access = demo_access(fleet, server.endpoint_url)

            def at(moment: datetime) -> Callable[[], datetime]:
                return lambda: moment

            run_sweep(
                settings=settings, access=access, store=store, now=at(NOW - timedelta(hours=1))
            )
            _between_sweeps(fleet, store)
            scope = fleet.scope(DEMO_ACCOUNTS[1], DEMO_REGIONS[0])
            victim = next(
                a for a in scope.associations.values() if a.status == "Success" and a.instance_ids
            )
            rng = random.Random(7)
            fleet.run_association(
                victim.association_id,
                failures={
                    i: failure_for("permissions", victim.document, rng)
                    for i in victim.instance_ids[:2]
                },
                at=NOW - timedelta(minutes=30),
            )
            run_sweep(settings=settings, access=access, store=store, now=at(NOW))
            diagnosis = _diagnosis(fleet, access, settings, scratch)
        book = DigestComposer(
            store=store, channels=settings.channels, escalate_after=settings.escalate_after
        )
        found = {
            "diagnosis": diagnosis,
            "verdict": _verdict(),
            "digest": _digest(book, MAIN),
            "route-digest": _digest(book, PAYMENTS),
            "home": _home(store, settings),
        }
        [new] = store.associations.find(victim.association_id, now=NOW)
        since = new.failing_since or NOW
        states = [AlertState(new.key, since, new, None, None)]
        found["alert-new"] = _alert(states, [PAYOPS])
        ack = store.acks.acknowledge(
            new.key,
            by=DEMO_OPERATOR,
            reason="IAM fix in review (SEC-311)",
            until=NOW + timedelta(days=2),
            now=NOW + timedelta(minutes=5),
        )
        acked = new.__class__(**{**new.__dict__, "ack": ack})
        found["alert-acknowledged"] = _alert(
            [AlertState(new.key, since, acked, None, None)], [PAYOPS]
        )
        resolved = AlertState(new.key, since, acked, NOW + timedelta(hours=3), None)
        found["alert-resolved"] = _alert([resolved], [PAYOPS])
        store.close()
    return found


def _between_sweeps(fleet: Fleet, store: Store) -> None:
    """An hour in the fleet's life: one failure acknowledged, one association deleted with
    its NON_COMPLIANT items left behind (orphans SSM.3 still fails)."""
    failing = [
        t
        for t in store.associations.tracked(failing_only=True, now=NOW)
        if t.association.failure_kind == "execution"
    ]
    store.acks.acknowledge(
        failing[0].key,
        by=DEMO_OPERATOR,
        reason="Patch window moved to Saturday; tracked in OPS-1234",
        until=NOW + timedelta(days=7),
        now=NOW - timedelta(minutes=50),
    )
    fleet.delete_association(failing[1].key.association_id, keep_compliance=True)


def _digest(book: DigestComposer, channel: str) -> str:
    message = digest_message(book.compose(channel, NOW), shown=4)
    return preview(message.blocks_json(), NAMES)


def _home(store: Store, settings: Settings) -> str:
    view = DigestComposer(store=store).whole(NOW)
    digest = view.digest
    health = assess(
        last_sweep=digest.last_sweep,
        period=sweep_period(settings.sweep_schedule, settings.timezone, NOW),
        now=NOW,
    )
    mine = frozenset({DEMO_ACCOUNTS[1]})
    view = home_view(view, health=health, first=lambda t: t.key.account_id in mine, shown=4)
    return preview(view["blocks"], NAMES)


def _diagnosis(fleet: Fleet, access: AwsAccess, settings: Settings, scratch: str) -> str:
    """The Diagnose button's answer for a bad parameter (the demo's diagnosis lab, swept into a
    store of its own so the digests above stay the organisation's), with its Fix button, read
    from the simulator as the button reads AWS."""
    fleet.add_account(LAB_ACCOUNT, "diagnosis-lab")
    shown = add_showcase(fleet, LAB_ACCOUNT, DEMO_REGIONS[0])
    lab = Store(Path(scratch) / "lab.db")
    only_lab = settings.with_changes(
        accounts=(LAB_ACCOUNT,), accounts_from_org=False, regions=DEMO_REGIONS[:1]
    )
    run_sweep(settings=only_lab, access=access, store=lab, now=lambda: NOW)
    found = Diagnoses(
        store=lab, evidence=AwsEvidence(access, clock=lambda: NOW), clock=lambda: NOW
    ).diagnose(AssociationRef(shown.associations["bad_parameter"]))
    lab.close()
    assert isinstance(found, Diagnosis), found
    return preview(diagnosis_message(7, found, fixes=True).blocks_json(), NAMES)


def _verdict() -> str:
    """What the watch says in the thread once the fixed association's run finished."""
    words = VerdictWords(
        name="patch-scan-web",
        outcome="compliant",
        action="fix",
        run_status="Success",
        run_started=True,
        watched=3,
        still_failing=(),
        failures=(),
        error=None,
        watch_for="2h",
    )
    return preview(verdict_message(words).blocks_json(), NAMES)


def _alert(states: list[AlertState], mentions: list[str]) -> str:
    return preview(alert_update(states, now=NOW, mentions=mentions).blocks_json(), NAMES)


# A screen's body never runs past its own end marker (an empty one would otherwise take in
# the README up to the next screen's end).
_SCREEN = re.compile(
    r"(<!-- screen:(?P<name>[a-z-]+) -->\n```\n)(?P<body>(?:(?!<!-- /screen -->).)*?)"
    r"\n?```\n<!-- /screen -->",
    re.S,
)
_END = "\n```\n<!-- /screen -->"


def rewrite(text: str, found: dict[str, str]) -> str:
    def put(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in found:
            raise KeyError(f"README names a screen docs/screens.py does not draw: {name}")
        return match.group(1) + found[name] + _END

    return _SCREEN.sub(put, text)


def main(argv: list[str]) -> int:
    current = README.read_text(encoding="utf-8")
    wanted = rewrite(current, screens())
    if "--check" in argv:
        if wanted != current:
            print("README.md's screens are stale: run `python docs/screens.py`", file=sys.stderr)
            return 1
        return 0
    README.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
