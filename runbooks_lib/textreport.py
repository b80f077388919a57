"""Plain-text rendering for the terminal: findings tables and details."""

from __future__ import annotations

import shutil
import textwrap

from .findings import Finding


def findings_table(findings: list[Finding], width: int | None = None) -> str:
    if not findings:
        return "No findings."
    width = width or shutil.get_terminal_size((120, 24)).columns
    rows = [("SEVERITY", "RULE", "OBJECT", "CONTAINER", "SUMMARY")]
    rows += [(f.severity.upper(), f.rule, f.object, f.container or "-", f.summary) for f in findings]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    summary_width = max(30, width - sum(widths) - 8)
    lines = []
    for row in rows:
        head = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4]))
        wrapped = textwrap.wrap(row[4], summary_width) or [""]
        lines.append(f"{head}  {wrapped[0]}")
        lines.extend(" " * (len(head) + 2) + more for more in wrapped[1:])
    return "\n".join(lines)


def severity_line(findings: list[Finding]) -> str:
    counts = {s: sum(1 for f in findings if f.severity == s) for s in ("critical", "warning", "info")}
    return ", ".join(f"{n} {s}" for s, n in counts.items())
