"""`make demo` shows one diagnosis of each kind, found by reading the simulator."""

from __future__ import annotations

import io

from bot.cli.demo import run_demo
from bot.sim.showcase import SHOWCASE_CAUSES


def test_the_demo_diagnoses_one_association_failing_for_each_cause() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert run_demo(db_path=None, out=out, err=err) == 0
    text = out.getvalue()
    assert "FAILING (" in text  # the organisation's digest comes first, as before
    diagnoses = text.split("DIAGNOSES - ")[1]
    for cause in SHOWCASE_CAUSES:
        assert f" {cause}: " in diagnoses, cause
    assert "may not `s3:GetObject`" in diagnoses
    assert "fix (update_parameter): Set Operation to one of Scan, Install" in diagnoses
    assert "Diagnosed 10 associations with" in err.getvalue()
