"""The command line at its edges, as a user meets them: --strict when account-regions could not
be read, a bad SSM3_DB_PATH, commands that must not create the database, bad --account and
--region values, hostile text reaching the terminal, and a reader that leaves the pipe early."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.processes import ssm3bot
from tests.support.sim import Sim

CALLER, MEMBER, DENIED = "111111111111", "222222222222", "333333333333"
HOSTILE_ID = "\x1b]0;pwned\x07\x1b[31mRED"


@pytest.fixture
def clean_sim(make_sim: Callable[..., Sim]) -> Sim:
    """Nothing failing anywhere; the third account refuses AssumeRole."""
    return make_sim(seed=5, accounts=(CALLER, MEMBER, DENIED), failing=0, deny_accounts=[DENIED])


# -- sweep --strict ------------------------------------------------------------------------------
def test_strict_fails_when_an_account_region_could_not_be_swept(
    clean_sim: Sim, tmp_path: Path
) -> None:
    """Nothing failing where the sweep could read, but one account could not be read: its
    compliance is unknown, so --strict cannot pass."""
    env = clean_sim.env(SSM3_ACCOUNTS=f"{CALLER},{DENIED}", SSM3_REGIONS="eu-west-1")
    result = ssm3bot(["sweep", "--strict"], env, tmp_path)
    assert result.returncode == 3, result.stderr
    assert result.stderr.splitlines() == [
        "ssm3bot: 1 of 2 account-region(s) could not be swept; their compliance is unknown"
    ]
    assert "NOT SWEPT (1)" in result.stdout
    # Without --strict the same sweep is done (the table says what was not swept).
    assert ssm3bot(["sweep"], env, tmp_path).returncode == 0


def test_strict_passes_when_everything_was_swept_and_compliant(
    clean_sim: Sim, tmp_path: Path
) -> None:
    env = clean_sim.env(SSM3_ACCOUNTS=f"{CALLER},{MEMBER}", SSM3_REGIONS="eu-west-1,us-east-1")
    result = ssm3bot(["sweep", "--strict"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_reaching_no_account_region_exits_1_even_with_strict(
    clean_sim: Sim, tmp_path: Path
) -> None:
    env = clean_sim.env(SSM3_ACCOUNTS=DENIED, SSM3_REGIONS="eu-west-1")
    result = ssm3bot(["sweep", "--strict"], env, tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == ["ssm3bot: the sweep reached no account-region"]


# -- SSM3_DB_PATH --------------------------------------------------------------------------------
SLACK = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s" * 32, "AWS_REGION": "eu-west-1"}
EVERY_COMMAND = [["digest"], ["history", "00000000-0000-4000-8000-000000000000"], ["audit"],
                 ["health"], ["sweep"], ["serve"]]  # fmt: skip


@pytest.mark.parametrize("command", EVERY_COMMAND, ids=lambda c: c[0])
def test_a_folder_as_the_database_is_one_line_naming_the_variable(
    tmp_path: Path, command: list[str]
) -> None:
    result = ssm3bot(command, {**SLACK, "SSM3_DB_PATH": str(tmp_path)}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"ssm3bot: SSM3_DB_PATH: {tmp_path} is a folder; name a file (like {tmp_path}/ssm3.db)"
    ]
    assert result.stdout == ""


@pytest.mark.parametrize("command", EVERY_COMMAND, ids=lambda c: c[0])
def test_a_file_that_is_not_sqlite_is_one_line_naming_the_variable(
    tmp_path: Path, command: list[str]
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("meeting notes, certainly not SQLite\n" * 20)
    result = ssm3bot(command, {**SLACK, "SSM3_DB_PATH": str(notes)}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"ssm3bot: SSM3_DB_PATH: cannot use {notes} as the database: file is not a database"
    ]
    assert notes.read_text().startswith("meeting notes")  # untouched


@pytest.mark.parametrize("command", [["sweep"], ["serve"]])
def test_a_bad_routes_file_stops_serve_and_sweep_with_one_line(
    tmp_path: Path, command: list[str]
) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text("routes:\n  - channel: C0PAYMENTS\n  - channel: C0TEAM0001\n    acount: x\n")
    env = {**SLACK, "SSM3_ROUTES_FILE": str(routes), "SSM3_DB_PATH": str(tmp_path / "r.db")}
    result = ssm3bot(command, env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"ssm3bot: SSM3_ROUTES_FILE: {routes}: route 2: unknown key 'acount' (known: channel, "
        "accounts, regions, documents, mention)"
    ]
    assert not (tmp_path / "r.db").exists(), "nothing started"


@pytest.mark.parametrize("command", [["sweep"], ["serve"]])
def test_a_database_that_cannot_be_created_is_one_line_naming_the_variable(
    tmp_path: Path, command: list[str]
) -> None:
    path = "/proc/no-such-folder/ssm3.db"  # /proc takes no new folders, even from root
    result = ssm3bot(command, {**SLACK, "SSM3_DB_PATH": path}, tmp_path)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"ssm3bot: SSM3_DB_PATH: cannot create {path}: ")


def test_digest_and_history_never_create_the_database(clean_sim: Sim, tmp_path: Path) -> None:
    db = tmp_path / "not" / "yet" / "ssm3.db"
    env = clean_sim.env(SSM3_DB_PATH=str(db))
    digest = ssm3bot(["digest"], env, tmp_path)
    assert digest.returncode == 2
    assert (
        digest.stderr
        == f"ssm3bot: SSM3_DB_PATH: no database at {db} yet; run `ssm3bot sweep` first\n"
    )
    history = ssm3bot(["history", "00000000-0000-4000-8000-000000000000"], env, tmp_path)
    assert history.returncode == 2
    assert "there is no database at" in history.stderr
    assert "run `ssm3bot sweep` first, or pass --account and --region" in history.stderr
    assert not (tmp_path / "not").exists()


def test_history_with_account_and_region_reads_aws_without_a_database(
    clean_sim: Sim, tmp_path: Path
) -> None:
    db = tmp_path / "none" / "ssm3.db"
    scope = clean_sim.fleet.scope(CALLER, "eu-west-1")
    association_id = next(iter(scope.associations))
    result = ssm3bot(
        ["history", association_id, "--account", CALLER, "--region", scope.region],
        clean_sim.env(SSM3_DB_PATH=str(db)),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "RECENT EXECUTIONS" in result.stdout
    assert not db.parent.exists()


# -- history's --account and --region ------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "line"),
    [
        (["--account", "999"], "ssm3bot: --account: '999' is not a 12-digit AWS account ID"),
        (
            ["--account", "1111111111112"],
            "ssm3bot: --account: '1111111111112' is not a 12-digit AWS account ID",
        ),
        (
            ["--region", "Frankfurt"],
            "ssm3bot: --region: 'Frankfurt' is not an AWS region (like eu-west-1)",
        ),
    ],
)
def test_history_checks_account_and_region(
    clean_sim: Sim, tmp_path: Path, options: list[str], line: str
) -> None:
    result = ssm3bot(
        ["history", "00000000-0000-4000-8000-000000000000", *options], clean_sim.env(), tmp_path
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [line]
    assert clean_sim.fleet.call_count() == 0


# -- hostile text --------------------------------------------------------------------------------
def test_escape_sequences_typed_or_echoed_by_aws_never_reach_the_terminal(
    clean_sim: Sim, tmp_path: Path
) -> None:
    # AWS echoes the ID in its error ("Association … does not exist."), the CLI prints that.
    echoed = ssm3bot(
        ["history", HOSTILE_ID, "--account", CALLER, "--region", "eu-west-1"],
        clean_sim.env(),
        tmp_path,
    )
    # Not in the store: the usage line repeats the ID.
    unknown = ssm3bot(["sweep"], clean_sim.env(SSM3_ACCOUNTS=CALLER), tmp_path)
    assert unknown.returncode == 0
    repeated = ssm3bot(["history", HOSTILE_ID], clean_sim.env(), tmp_path)
    # argparse repeats a mistyped command.
    mistyped = ssm3bot([HOSTILE_ID], {}, tmp_path)
    for result in (echoed, repeated, mistyped):
        assert result.returncode in {1, 2}
        assert "pwned" in result.stderr
        for control in ("\x1b", "\x07"):
            assert control not in result.stderr + result.stdout
    assert "does not exist" in echoed.stderr


# -- a reader that leaves early --------------------------------------------------------------------
def _with_closed_stdout(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Run with stdout a pipe whose reader is already gone, as in `ssm3bot … | head -0`."""
    executable = shutil.which("ssm3bot") or str(Path(sys.executable).with_name("ssm3bot"))
    process = subprocess.Popen(
        [executable, *args],
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), **env},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.close()
    _, err = process.communicate(timeout=120)
    return process.returncode, err


def test_a_closed_pipe_ends_quietly_with_the_commands_own_status(
    make_sim: Callable[..., Sim], tmp_path: Path
) -> None:
    """`ssm3bot digest --json | head`: no BrokenPipeError line; the status is the command's own
    (--strict still says 3: failing associations are not acknowledged)."""
    sim = make_sim(seed=4, accounts=(CALLER, MEMBER))
    env = sim.env(SSM3_ACCOUNTS=f"{CALLER},{MEMBER}", SSM3_REGIONS="eu-west-1")
    status, err = _with_closed_stdout(["sweep", "--strict"], env, tmp_path)
    assert status == 3
    assert err.endswith(" failing association(s) not acknowledged\n")
    assert "Broken" not in err
    for command in (["digest", "--json"], ["digest"], ["audit", "--csv"], ["health"]):
        assert _with_closed_stdout(command, env, tmp_path) == (0, ""), command
