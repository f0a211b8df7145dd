"""The README's Slack screens are what the code renders today: docs/screens.py draws them from
the real Block Kit builders on the demo's organisation, and this test fails when the README
holds anything else (run `python docs/screens.py` to refresh them)."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pytest

from bot.slack.blocks.preview import preview

SCRIPT = Path(__file__).resolve().parents[1] / "docs" / "screens.py"


@pytest.fixture(scope="module")
def script() -> dict[str, Any]:
    return runpy.run_path(str(SCRIPT), run_name="screens")


def test_the_readme_screens_are_current(script: dict[str, Any]) -> None:
    readme = script["README"].read_text(encoding="utf-8")
    drawn = script["screens"]()
    assert set(drawn) == {
        "digest",
        "route-digest",
        "home",
        "alert-new",
        "alert-acknowledged",
        "alert-resolved",
        "diagnosis",
        "verdict",
    }
    assert script["rewrite"](readme, drawn) == readme, "run `python docs/screens.py`"
    for name in drawn:
        assert f"<!-- screen:{name} -->" in readme


def test_a_screen_the_script_does_not_draw_is_an_error(script: dict[str, Any]) -> None:
    with pytest.raises(KeyError, match="home-tab"):
        script["rewrite"]("<!-- screen:home-tab -->\n```\nold\n```\n<!-- /screen -->\n", {})


def test_preview_draws_what_slack_shows() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "SSM.3 digest"}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": ":warning: *bold* by <@U0ALICE01> for <!subteam^S0OPS0001> "
                "<!date^1764579600^{date_short_pretty}|2026-12-01 09:00 UTC> &lt;x&gt; `code`",
            },
        },
        {"type": "divider"},
        {
            "type": "actions",
            "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "History"}},
                {"type": "button", "text": {"type": "plain_text", "text": "Re-run"}},
            ],
        },
    ]
    text = preview(blocks, {"U0ALICE01": "alice"})
    lines = text.splitlines()
    assert lines[:2] == ["SSM.3 digest", "════════════"]
    assert lines[2] == "⚠ bold by @alice for @S0OPS0001 2026-12-01 09:00 UTC <x> code"
    assert lines[3].startswith("───")
    assert lines[4] == "[ History ]  [ Re-run ]"


def test_an_empty_screen_is_drawn_and_takes_in_nothing_after_it(script: dict[str, Any]) -> None:
    text = (
        "<!-- screen:home -->\n```\n```\n<!-- /screen -->\nkeep me\n"
        "<!-- screen:digest -->\n```\nold\n```\n<!-- /screen -->\n"
    )
    drawn = script["rewrite"](text, {"home": "H", "digest": "D"})
    assert drawn == (
        "<!-- screen:home -->\n```\nH\n```\n<!-- /screen -->\nkeep me\n"
        "<!-- screen:digest -->\n```\nD\n```\n<!-- /screen -->\n"
    )
