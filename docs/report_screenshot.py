"""The evidence report's first page in the README, printed by headless Chromium.

Lives the test suite's simulated month (`tests/support/evidence.py`: November 2026 against the
simulator, with failures, acknowledgements, a re-run, an account-region not swept for a day and
half a day when nothing was), builds its report as `ssm3bot report` would, prints the HTML to PDF
on A4 and on Letter with Chromium, and rasterises the A4 first page to `docs/report-first-page.png`.
It says how many pages each paper took, so a layout that breaks on one of them shows.

Needs Debian's `chromium` and `poppler-utils` (pdftoppm); `pngquant` keeps the PNG small when
present. CI cannot install them, so this is a script, not a test:

    apt-get install -y chromium poppler-utils pngquant
    .venv/bin/python docs/report_screenshot.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.report import build_report, render  # noqa: E402
from tests.support.evidence import NOVEMBER, live_a_month  # noqa: E402

PNG = ROOT / "docs" / "report-first-page.png"
PAPERS = ("A4", "letter")
# No network, no first-run work, a profile of its own: nothing but the file is read.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-pdf-header-footer",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="keep the HTML and PDFs in this folder")
    parser.add_argument("--out", type=Path, default=PNG, help=f"the PNG (default {PNG})")
    args = parser.parse_args()
    logging.disable(logging.ERROR)  # the month's unswept day logs a line every sweep
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None or shutil.which("pdftoppm") is None:
        print(
            "needs chromium and pdftoppm: apt-get install -y chromium poppler-utils",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="ssm3-report-") as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        html = _report_html(work)
        for paper in PAPERS:
            pdf = _print(chromium, html, paper, work)
            print(f"{paper}: {_pages(pdf)} pages ({pdf})")
            if paper == "A4":
                _first_page_png(pdf, args.out)
        print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB)")
    return 0


def _report_html(work: Path) -> Path:
    month, server = live_a_month(work)
    try:
        names = {account.account_id: account.name for account in month.fleet.accounts.values()}
        month.store.account_names.remember(names, now=month.runner.clock())
        report = build_report(month.store, month.settings, NOVEMBER, month.runner.clock())
        text, _ = render(report, "html")
    finally:
        month.store.close()
        server.stop()
    path = work / "report.html"
    path.write_text(text, encoding="utf-8")
    return path


def _print(chromium: str, html: Path, paper: str, work: Path) -> Path:
    """Print `html` to PDF on `paper` (an @page size added to a copy, as a print dialog would)."""
    copy = work / f"report-{paper}.html"
    copy.write_text(
        html.read_text(encoding="utf-8").replace(
            "<style>", f"<style>@page {{ size: {paper}; }}", 1
        ),
        encoding="utf-8",
    )
    pdf = work / f"report-{paper}.pdf"
    with tempfile.TemporaryDirectory(prefix="ssm3-chromium-") as profile:
        _run(
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--print-to-pdf={pdf}",
            copy.as_uri(),
        )
    return pdf


def _pages(pdf: Path) -> int:
    line = next(x for x in _run("pdfinfo", str(pdf)).splitlines() if x.startswith("Pages:"))
    return int(line.split()[1])


def _first_page_png(pdf: Path, out: Path) -> None:
    stem = out.with_suffix("")
    _run("pdftoppm", "-png", "-r", "100", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(stem))
    if shutil.which("pngquant"):
        _run("pngquant", "--force", "--quality=60-85", "--output", str(out), str(out))


def _run(program: str, *args: str) -> str:
    """Run an installed program (found on PATH) with fixed arguments; its output."""
    path = shutil.which(program) or program
    done = subprocess.run([path, *args], check=True, capture_output=True, text=True, timeout=120)  # noqa: S603
    return done.stdout


if __name__ == "__main__":
    raise SystemExit(main())
