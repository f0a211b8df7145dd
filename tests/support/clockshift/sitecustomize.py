"""Imported by every Python process a test starts under `pytest --clock-shift` (PYTHONPATH
points here only then): travel by the same number of days as the test process."""

import os
from datetime import UTC, datetime, timedelta

_days = os.environ.get("SSM3_TEST_CLOCK_SHIFT_DAYS")
if _days:
    import time_machine

    time_machine.travel(datetime.now(UTC) + timedelta(days=int(_days)), tick=True).start()
