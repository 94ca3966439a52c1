"""Human-readable rendering of a scan report with rich (for `lockgate models scan`)."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from lockgate.registry.scan.model import ScanReport, Severity

SEVERITY_STYLES = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def _summary(report: ScanReport) -> Text:
    verdict = ("BLOCKED", "bold red") if report.blocking else ("OK", "bold green")
    summary = Text.assemble(
        (verdict[0], verdict[1]),
        f"  {report.path}: {report.files_scanned} file(s), {len(report.findings)} finding(s)",
    )
    formats = sorted(set(report.formats.values()))
    if formats:
        summary.append(f"  [{', '.join(formats)}]", style="dim")
    return summary


def format_report(report: ScanReport) -> RenderableType:
    """A summary line plus a table of findings, most severe first."""
    if not report.findings:
        return _summary(report)
    table = Table(show_lines=False, expand=False)
    for column in ("severity", "blocking", "rule", "location", "message"):
        table.add_column(column, overflow="fold")
    for item in sorted(report.findings, key=lambda f: -f.severity.rank):
        table.add_row(
            Text(item.severity.value, style=SEVERITY_STYLES[item.severity]),
            "yes" if item.blocking else "no",
            item.rule,
            item.location,
            item.message,
        )
    return Group(_summary(report), table)
