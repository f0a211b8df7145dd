"""`pytest --clock-shift=DAYS`: the whole suite with the clock moved DAYS ahead (or back, when
negative), so a test that depends on the date it runs fails today instead of on some later day.

The shift is applied in process with time-machine (LD_PRELOAD faketime breaks subprocess pipes
here), and reaches every subprocess a test starts through `subprocess_env()`: the child imports
tests/support/clockshift/sitecustomize.py, which travels by the same number of days.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

VARIABLE = "SSM3_TEST_CLOCK_SHIFT_DAYS"
SITE = Path(__file__).with_name("clockshift")


def start(days: int) -> None:
    """Move this process's clock `days` days, ticking on from there; the children follow."""
    import time_machine

    time_machine.travel(datetime.now(UTC) + timedelta(days=days), tick=True).start()
    os.environ[VARIABLE] = str(days)


def subprocess_env() -> dict[str, str]:
    """The variables a child process needs to share the shift (nothing when there is none)."""
    days = os.environ.get(VARIABLE)
    if not days:
        return {}
    return {VARIABLE: days, "PYTHONPATH": str(SITE)}
