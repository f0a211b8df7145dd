"""The command line's global flags and help."""

from __future__ import annotations

from bot.cli import build_parser


def test_global_flags_work_after_the_subcommand_too() -> None:
    parser = build_parser()
    assert parser.parse_args(["digest", "--debug"]).debug is True
    assert parser.parse_args(["--debug", "digest"]).debug is True
    assert parser.parse_args(["digest"]).debug is False
