"""`ssm3bot serve` (without --debug) tells its operator what goes wrong while it runs: our own
warnings reach stderr, redacted and defused; the libraries' chatter below WARNING does not."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from bot.sim.fleet import Fault
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import SIGNING_SECRET
from tests.support.processes import BOT_TOKEN, captured, free_port, serve
from tests.support.sim import Sim

CALLER = "111111111111"


def _wait_for_line(cwd: Path, pattern: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, err = captured(cwd)
        found = re.search(pattern, err)
        if found:
            return found.group(0)
        time.sleep(0.05)
    raise AssertionError(f"no line matching {pattern!r} in:\n{captured(cwd)[1]}")


def test_serve_logs_a_scope_not_swept_redacted_and_without_library_chatter(
    make_sim: Callable[..., Sim], tmp_path: Path
) -> None:
    sim = make_sim(seed=3, accounts=(CALLER,), regions=("eu-west-1", "us-east-1"))
    # AWS's message carries a secret and a terminal escape: both must be neutralised.
    sim.fleet.inject(
        Fault(
            "AccessDeniedException",
            f"denied \x1b]0;pwned\x07 for {BOT_TOKEN}",
            operation="ListAssociations",
            region="us-east-1",
        )
    )
    with FakeSlack(token=BOT_TOKEN) as fake:
        env = sim.env(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SSM3_SLACK_API_URL=fake.api_url,
            SSM3_HTTP_PORT=str(free_port()),
            SSM3_DB_PATH=str(tmp_path / "serve.db"),
            SSM3_REGIONS="eu-west-1,us-east-1",
        )
        # `serve` without --debug, as it runs in production; a fresh store: it sweeps at once.
        process = serve(env, tmp_path, debug=False)
        try:
            line = _wait_for_line(
                tmp_path, r"WARNING bot\.sweeping\.sweep: scope \S+ not swept: .*"
            )
        finally:
            process.terminate()
            process.wait(timeout=20)
    _, err = captured(tmp_path)
    assert line.endswith(
        f"scope {CALLER}/us-east-1 not swept: "
        "ListAssociations: AccessDeniedException: denied ?]0;pwned? for [redacted]"
    )
    assert BOT_TOKEN not in err
    assert "\x1b" not in err
    # The libraries speak only from WARNING (waitress's "Serving on", APScheduler's "Added job"
    # and botocore's request logs are INFO and DEBUG), and nothing at all is DEBUG.
    for library in ("waitress", "apscheduler", "botocore", "urllib3", "slack_sdk", "slack_bolt"):
        assert not re.search(rf" (INFO|DEBUG) {library}", err), err
    assert " DEBUG " not in err
    # Bolt's "`token` will be unused" (our client carries that very token) is noise, not a warning.
    assert "will be unused" not in err
