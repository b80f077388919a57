"""Plain-text rendering for the terminal: the findings table."""

from __future__ import annotations

import shutil
import sys
import textwrap

from .findings import Finding

_KIND_SHORT = {"Deployment": "deploy", "StatefulSet": "sts", "DaemonSet": "ds", "CronJob": "cronjob", "Job": "job",
               "Pod": "pod", "Service": "svc", "NetworkPolicy": "netpol", "ReplicaSet": "rs"}


def short_object(finding: Finding) -> str:
    """kubectl's short form: deploy/staging-keycloak."""
    return f"{_KIND_SHORT.get(finding.kind, finding.kind.lower())}/{finding.name}"


def findings_table(findings: list[Finding], width: int | None = None) -> str:
    """Aligned columns; the summary wraps to the terminal, and is left whole when piped."""
    if not findings:
        return "No findings."
    rows = [("SEVERITY", "RULE", "NAMESPACE", "OBJECT", "CONTAINER", "SUMMARY")]
    rows += [(f.severity.upper(), f.rule, f.namespace or "-", short_object(f), f.container or "-", f.summary)
             for f in findings]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    if width is None and sys.stdout.isatty():
        width = shutil.get_terminal_size((120, 24)).columns
    lines = []
    for row in rows:
        head = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:5]))
        wrapped = textwrap.wrap(row[5], max(40, width - len(head) - 2)) if width else [row[5]]
        lines.append(f"{head}  {wrapped[0] if wrapped else ''}")
        lines.extend(" " * (len(head) + 2) + more for more in wrapped[1:])
    return "\n".join(lines)


def severity_line(findings: list[Finding]) -> str:
    counts = {s: sum(1 for f in findings if f.severity == s) for s in ("critical", "warning", "info")}
    return ", ".join(f"{n} {s}" for s, n in counts.items())
