"""Which of the bot's modules one Re-run click passes through, and how many SSM clients it opens.

An operator clicks Re-run on a failing association of a swept two-account simulator; the app
runs in this process behind the fake Slack Web API. Every Python function call on every thread
is profiled from the signed request until the click's answer has been posted; the modules of
`bot.*` whose functions ran are printed, with the SSM clients opened (AwsAccess.ssm calls).

    .venv/bin/python bench/rerun_trace.py
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

try:  # the layout since the rooms (bot/sweeping/, bot/settings/…)
    from bot.sweeping.sweep import run_sweep
except ImportError:  # the layout before them, to measure the same click there
    from bot.sweep import run_sweep  # type: ignore[no-redef]
from bot.sim.fleet import generate_fleet
from bot.sim.server import SimServer
from bot.slack import blocks as kit
from bot.store import Store
from tests.fakes.fixtures import OPERATOR, slack_settings
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import SlackHarness

try:
    from tests.support.sim import Sim
except ImportError:  # before the rooms, Sim lived in the conftest
    from tests.conftest import Sim  # type: ignore[no-redef]


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch, FakeSlack() as fake:
        server = SimServer(generate_fleet(seed=11, accounts=2)).start()
        sim = Sim(server.fleet, server)
        settings = slack_settings(fake, str(Path(scratch) / "trace.db"))
        store = Store(settings.db_path)
        access = sim.access()
        run_sweep(settings=settings, access=access, store=store, trigger="bench")
        harness = SlackHarness(settings=settings, store=store, access=access, fake=fake).start()
        item = store.associations.tracked(failing_only=True)[0]
        [post] = harness.services.scheduled().post_digests_now()  # clicked in the digest
        assert post.ts is not None
        modules: Counter[str] = Counter()
        clients = Counter[str]()
        before_aws: list[str] = []  # modules in the order they first ran, up to the AWS call
        reached: list[bool] = []
        calls_before = [0]  # bot function calls from the request to StartAssociationsOnce

        def profile(frame: FrameType, event: str, arg: Any) -> None:
            if event != "call":
                return
            name = str(frame.f_globals.get("__name__", ""))
            if name.startswith("bot.") and not name.startswith("bot.sim"):
                modules[name] += 1
                if frame.f_code.co_name == "ssm" and name == "bot.aws.session":
                    clients["ssm"] += 1
                if frame.f_code.co_name == "start_once" and name == "bot.aws.actions":
                    reached.append(True)
                if not reached:
                    calls_before[0] += 1
                    if name not in before_aws:
                        before_aws.append(name)

        threading.setprofile(profile)
        sys.setprofile(profile)
        try:
            reply = harness.click(
                kit.ACTION_RERUN, kit.key_value(item.key), user=OPERATOR, message_ts=post.ts
            )
            deadline = time.monotonic() + 30  # until the answer is in the digest's thread
            while time.monotonic() < deadline and not fake.thread(settings.channel, post.ts):
                time.sleep(0.01)
        finally:
            sys.setprofile(None)
            threading.setprofile(None)  # type: ignore[arg-type]
        assert reply.status == 200
        harness.stop()
        store.close()
        server.stop()
    report(modules, clients["ssm"], before_aws, calls_before[0])


def report(modules: Counter[str], ssm: int, before_aws: list[str], calls: int) -> None:
    print(f"bot modules that ran code for one Re-run click: {len(modules)}")
    print(f"SSM clients opened: {ssm}")
    print(f"bot function calls from the signed request to StartAssociationsOnce: {calls}")
    print(f"modules from the signed request to StartAssociationsOnce ({len(before_aws)}):")
    for name in before_aws:
        print(f"  {name}")
    print("every module (after the call: the digest and alert edits, the answer):")
    for name in sorted(modules):
        print(f"  {name}")


if __name__ == "__main__":
    main()
