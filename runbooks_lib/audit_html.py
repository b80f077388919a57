"""The audit's index.html: a self-contained page for people (inline CSS, plots embedded)."""

from __future__ import annotations

import base64
import html
from collections import Counter
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING

from .findings import SEVERITIES, Finding
from .notebook import SEVERITY_COLOURS, finding_html
from .registry import rule as rule_of
from .state import RUNTIME
from .timeutil import format_time

if TYPE_CHECKING:
    from .audit import BaselineDiff, RunbookRun
    from .registry import DetectionResult
    from .state import ClusterState

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#212121;background:#fafafa}
main{max-width:1100px;margin:0 auto;padding:24px 32px 64px;background:white;min-height:100vh}
h1{font-size:1.7em;margin:0 0 4px} h2{margin-top:2em;border-bottom:1px solid #e0e0e0;padding-bottom:4px}
.meta{color:#616161;margin:0 0 16px} .meta code{color:#424242}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.card{flex:1;min-width:140px;border-radius:6px;padding:12px 16px;color:white}
.card b{font-size:2em;display:block}
.banner{padding:10px 14px;border-radius:4px;margin:12px 0}
.banner.bad{background:#ffebee;border:1px solid #c62828} .banner.ok{background:#e8f5e9;border:1px solid #2e7d32}
.banner.warn{background:#fff8e1;border:1px solid #f9a825}
table{border-collapse:collapse;width:100%;margin:8px 0} th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eee;vertical-align:top}
th{background:#f5f5f5} pre{background:#f5f5f5;padding:8px;overflow-x:auto;font-size:12px}
img{max-width:100%} .new{color:#c62828;font-weight:600} .resolved{color:#2e7d32;font-weight:600}
.status-ok{color:#2e7d32;font-weight:600} .status-failed,.status-timeout,.status-kernel-died{color:#c62828;font-weight:600}
"""


def index_html(state: "ClusterState", detection: "DetectionResult", runs: list["RunbookRun"],
               baseline: "BaselineDiff | None", document: dict) -> str:
    findings = detection.findings
    parts = [f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>Health audit: "
             f"{html.escape(state.source)}</title><style>{_CSS}</style></head><body><main>",
             "<h1>Kubernetes health audit</h1>", _meta(state, document)]
    parts.append(_status_banner(state, detection, runs))
    if baseline is not None:
        parts.append(_changes(findings, baseline))
    parts.append(_summary(findings))
    parts.append(_rules_table(findings, {run.name: run for run in runs}))
    parts.append(_runbooks(runs))
    if RUNTIME in state.capabilities:
        parts.append(_plots(state))
    parts.append("<h2 id=findings>Findings</h2>")
    for severity in SEVERITIES:
        selected = [f for f in findings if f.severity == severity]
        if selected:
            parts.append(f"<h3>{severity.capitalize()} ({len(selected)})</h3>")
            for finding in selected:
                marker = ""
                if baseline is not None:
                    status = baseline.status_of(finding)
                    marker = f' <span class="{status}">[{status}]</span>' if status == "new" else " [persisting]"
                parts.append(f'<section id="f-{finding.id}">{marker}{finding_html(finding)}</section>')
    if not findings:
        parts.append("<p>No findings.</p>")
    if detection.rules_skipped:
        parts.append("<h2>Rules not run</h2><table><tr><th>rule</th><th>why</th></tr>")
        parts += [f"<tr><td><code>{rule}</code></td><td>{html.escape(why)}</td></tr>"
                  for rule, why in sorted(detection.rules_skipped.items())]
        parts.append("</table>")
    parts.append("</main></body></html>\n")
    return "".join(parts)


def _meta(state: "ClusterState", document: dict) -> str:
    items = [f"source <code>{html.escape(state.source)}</code>"]
    if state.captured_at:
        items.append(f"captured {format_time(state.captured_at)}")
    if state.context:
        items.append(f"context <code>{html.escape(state.context)}</code>")
    items.append(f"{len(document['rules_run'])} rules run")
    return f'<p class=meta>{" · ".join(items)}</p>'


def _status_banner(state, detection, runs) -> str:
    notes = []
    failed = [run for run in runs if run.status not in ("ok", "skipped")]
    if failed:
        notes.append(f'<div class="banner bad"><b>{len(failed)} runbook(s) failed to execute:</b> '
                     + ", ".join(f'<a href="#runbook-{r.name}">{r.name}</a>' for r in failed) + "</div>")
    if state.partial or detection.errors:
        missing = "; ".join(f"{e.resource} in {e.namespace or 'the cluster'} ({e.code} {e.reason})" for e in state.errors)
        errors = "; ".join(detection.errors)
        notes.append(f'<div class="banner warn"><b>Partial result.</b> {html.escape(missing or errors)}. '
                     "Findings that depend on what could not be read may be missing.</div>")
    return "".join(notes)


def _changes(findings: list[Finding], baseline: "BaselineDiff") -> str:
    new = [f for f in findings if f.id in baseline.new]
    parts = ["<h2>What changed since the baseline</h2>",
             f"<p><span class=new>{len(new)} new</span> · {len(baseline.persisting)} persisting · "
             f"<span class=resolved>{len(baseline.resolved)} resolved</span></p>"]
    if new:
        parts.append("<p>New:</p><ul>" + "".join(
            f'<li><a href="#f-{f.id}">{f.severity}: <code>{f.rule}</code> {html.escape(f.object)}</a> — '
            f"{html.escape(f.summary)}</li>" for f in new) + "</ul>")
    if baseline.resolved:
        parts.append("<p>Resolved:</p><ul>" + "".join(
            f"<li>{html.escape(str(item.get('severity')))}: <code>{html.escape(str(item.get('rule')))}</code> "
            f"{html.escape(str(item.get('kind')))} {html.escape(str(item.get('namespace') or ''))}/"
            f"{html.escape(str(item.get('name')))} — {html.escape(str(item.get('summary')))}</li>"
            for item in baseline.resolved) + "</ul>")
    return "".join(parts)


def _summary(findings: list[Finding]) -> str:
    counts = Counter(f.severity for f in findings)
    cards = "".join(f'<div class=card style="background:{SEVERITY_COLOURS[s]}"><b>{counts.get(s, 0)}</b>{s}</div>'
                    for s in SEVERITIES)
    return f"<div class=cards>{cards}</div>"


def _rules_table(findings: list[Finding], runs: dict) -> str:
    if not findings:
        return ""
    by_rule = Counter((f.rule, f.severity) for f in findings)
    rows = []
    for (rule_id, severity), count in sorted(by_rule.items(), key=lambda kv: (-_rank(kv[0][1]), kv[0][0])):
        entry = rule_of(rule_id)
        book = entry.runbook if entry else "triage"
        title = entry.title if entry else ""
        run = runs.get(book)
        target = Path(run.html).name if run and run.html else Path(run.notebook).name if run and run.notebook else None
        link = f"<a href='{target}'>{book}</a>" if target else book
        rows.append(f"<tr><td><code>{rule_id}</code></td><td>{severity}</td><td>{count}</td>"
                    f"<td>{html.escape(title)}</td><td>{link}</td></tr>")
    return ("<h2>By rule</h2><table><tr><th>rule</th><th>severity</th><th>findings</th><th>what</th>"
            f"<th>runbook</th></tr>{''.join(rows)}</table>")


def _runbooks(runs: list["RunbookRun"]) -> str:
    rows = []
    for run in runs:
        links = []
        if run.html:
            links.append(f'<a href="{Path(run.html).name}">report</a>')
        if run.notebook and run.status != "skipped":
            links.append(f'<a href="{Path(run.notebook).name}">notebook</a>')
        detail = ""
        if run.error:
            where = f"cell {run.cell}: " if run.cell is not None else ""
            detail = f"{where}<code>{html.escape(run.error[:500])}</code>"
            if run.cell_source:
                detail += f"<pre>{html.escape(run.cell_source[:800])}</pre>"
        rows.append(f'<tr id="runbook-{run.name}"><td>{run.name}</td><td class="status-{run.status}">{run.status}</td>'
                    f"<td>{' · '.join(links)}</td><td>{run.seconds or ''}</td><td>{detail}</td></tr>")
    return ("<h2>Runbooks</h2><table><tr><th>runbook</th><th>status</th><th>output</th><th>seconds</th>"
            f"<th>detail</th></tr>{''.join(rows)}</table>")


def _plots(state: "ClusterState") -> str:
    from . import plots

    images = []
    for title, fig in (("Pod status per workload", plots.pod_status_by_workload(state)),
                       ("Restarts over time", plots.restarts_over_time(state))):
        buffer = BytesIO()
        fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
        data = base64.b64encode(buffer.getvalue()).decode()
        images.append(f'<figure><img alt="{title}" src="data:image/png;base64,{data}"></figure>')
    return "<h2>Triage plots</h2>" + "".join(images)


def _rank(severity: str) -> int:
    return {"critical": 3, "warning": 2, "info": 1}.get(severity, 0)
