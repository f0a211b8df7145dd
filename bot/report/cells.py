"""How the report's HTML shows a value: times in SSM3_TIMEZONE, accounts with their names,
associations with their names, spans in words, and tables of already-escaped cells. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from bot.models import Scope
from bot.report.model import Report
from bot.util.clock import humanize

NONE = "\u2013"  # an en dash: no value


class Render:
    """How values are shown: times in SSM3_TIMEZONE, accounts with their names."""

    def __init__(
        self,
        zone: ZoneInfo,
        names: Mapping[str, str],
        associations: Mapping[tuple[str, str, str], tuple[str | None, str]] | None = None,
    ) -> None:
        self.zone = zone
        self.names = names
        self.associations = associations or {}  # (account, region, id) -> (name, document)

    def association(self, account_id: str, region: str, association_id: str) -> str:
        """Its name (or document) where a streak told it, its ID, its account and region."""
        name, document = self.associations.get((account_id, region, association_id), (None, ""))
        title = (
            association(name, document, association_id)
            if (name or document)
            else (f"<span class='id'>{escape(association_id)}</span>")
        )
        return f"{title}<br>{self.account(account_id)} / {escape(region)}"

    def moment(self, at: datetime | None) -> str:
        return NONE if at is None else f"{at.astimezone(self.zone):%Y-%m-%d %H:%M}"

    def account(self, account_id: str | None, name: str | None = None) -> str:
        if account_id is None:
            return "<span class='muted'>every account-region</span>"
        name = name or self.names.get(account_id)
        shown = escape(account_id)
        return f"{escape(name)} <span class='id'>{shown}</span>" if name else shown

    def scope(self, report: Report) -> str:
        d = report.deployment
        accounts = (
            "the organisation's active accounts"
            if d.organisation
            else ", ".join(d.accounts) or "the bot's own account"
        )
        regions = ", ".join(d.regions) or "the session's region"
        return (
            f"accounts: {accounts}; regions: {regions}; {d.scopes_seen} account-regions swept "
            f"in the period; sweeps on {d.sweep_schedule}"
        )


def table(head: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    """A table from already-escaped cells; `numeric` columns align right."""
    cells = [
        "".join(
            f"<th class='n'>{h}</th>" if i in numeric else f"<th>{h}</th>"
            for i, h in enumerate(head)
        )
    ]
    body = [
        "<tr>"
        + "".join(
            f"<td class='n'>{c}</td>" if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    ]
    if not body:
        return ""
    return f"<table><thead><tr>{cells[0]}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def none(text: str) -> str:
    return f"<p class='none'>{escape(text)}</p>"


def span(seconds: int | None) -> str:
    if seconds is None:
        return NONE
    words = humanize(timedelta(seconds=seconds))
    return "under a minute" if words == "just now" else words


def association(name: str | None, document: str, association_id: str) -> str:
    """Its name over its document, or its document alone, and its ID."""
    title = (
        f"{escape(name)}<br><span class='muted'>{escape(document)}</span>"
        if name
        else escape(document)
    )
    return f"{title}<br><span class='id'>{escape(association_id)}</span>"


def scopes(scopes: Sequence[Scope], render: Render) -> str:
    return ", ".join(f"{render.account(s.account_id)} / {escape(s.region)}" for s in scopes)
