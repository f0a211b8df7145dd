"""The daily chart as inline SVG (no script, no font files, no network): SSM.3's non-compliant
instances as bars and failing associations as a line, one slot a day of the period; a day
without a sweep stays empty, so a monitoring gap shows as one. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from html import escape

from bot.models.evidence import DayFigures

WIDTH, HEIGHT = 720, 200
LEFT, RIGHT, TOP, BOTTOM = 44, 44, 14, 34
BAR = "#c2410c"
LINE = "#1d4ed8"
GRID = "#d4d4d8"
INK = "#3f3f46"


def axis_top(value: int) -> int:
    """The top of an axis with four steps that are whole, round numbers: 4, 8, 20, 40, 80,
    200… (a count never shows as 2.5)."""
    top = 4
    while top < value:
        top = top * 5 // 2 if str(top).startswith("8") else top * 2
    return top


def daily_chart(days: Sequence[date], figures: Sequence[DayFigures], title: str) -> str:
    """An SVG of `figures` over every day in `days` (the period's, in order)."""
    if not days:
        return ""
    by_day = {f.day: f for f in figures}
    left_top = axis_top(max((f.noncompliant_instances for f in figures), default=0))
    right_top = axis_top(max((f.failing for f in figures), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(days)
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
    ]
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        y = TOP + plot_h * (1 - fraction)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="{GRID}" '
            'stroke-width="0.6"/>'
        )
        parts.append(_label(LEFT - 5, y + 3.5, _tick(left_top * fraction), "end", BAR))
        parts.append(_label(LEFT + plot_w + 5, y + 3.5, _tick(right_top * fraction), "start", LINE))
    points: list[str] = []
    for index, day in enumerate(days):
        x = LEFT + slot * index
        found = by_day.get(day)
        if found is not None:
            height = plot_h * found.noncompliant_instances / left_top
            parts.append(
                f'<rect x="{x + slot * 0.15:.1f}" y="{TOP + plot_h - height:.1f}" '
                f'width="{slot * 0.7:.1f}" height="{height:.1f}" fill="{BAR}" opacity="0.8">'
                f"<title>{day.isoformat()}: {found.noncompliant_instances} non-compliant "
                f"instances, {found.failing} failing associations</title></rect>"
            )
            y = TOP + plot_h * (1 - found.failing / right_top)
            points.append(f"{x + slot / 2:.1f},{y:.1f}")
        else:
            parts.append(_flush(points))
            points = []
        if _labelled(index, day, len(days)):
            parts.append(_label(x + slot / 2, HEIGHT - BOTTOM + 14, f"{day:%d %b}", "middle", INK))
    parts.append(_flush(points))
    parts.append(
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" '
        f'stroke="{INK}" stroke-width="0.8"/>'
    )
    parts.append(_legend(HEIGHT - 6))
    parts.append("</svg>")
    return "".join(p for p in parts if p)


def period_days(first: date, last: date) -> list[date]:
    """Every day from `first` to `last`, inclusive."""
    days = []
    day = first
    while day <= last:
        days.append(day)
        day += timedelta(days=1)
    return days


def _flush(points: list[str]) -> str:
    if not points:
        return ""
    dots = "".join(
        f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="2" fill="{LINE}"/>'
        for p in points
    )
    return (
        f'<polyline points="{" ".join(points)}" fill="none" stroke="{LINE}" stroke-width="1.6" '
        f'stroke-linejoin="round"/>{dots}'
    )


def _labelled(index: int, day: date, total: int) -> bool:
    if total <= 14:
        return True
    if total <= 62:
        return index % 7 == 0
    return day.day == 1


def _tick(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _label(x: float, y: float, text: str, anchor: str, colour: str) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="10" text-anchor="{anchor}" '
        f'fill="{colour}">{escape(text)}</text>'
    )


def _legend(y: float) -> str:
    x = LEFT
    return (
        f'<rect x="{x}" y="{y - 8}" width="10" height="8" fill="{BAR}" opacity="0.8"/>'
        + _label(x + 14, y, "non-compliant instances (left axis)", "start", INK)
        + f'<line x1="{x + 230}" y1="{y - 4}" x2="{x + 246}" y2="{y - 4}" stroke="{LINE}" '
        'stroke-width="1.6"/>'
        + _label(x + 250, y, "failing associations (right axis)", "start", INK)
    )
