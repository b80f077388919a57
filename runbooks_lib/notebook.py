"""What the runbook notebooks call: loading, kubectl-like tables, findings rendered as HTML.

Notebooks stay thin narratives; everything they show is computed here, where
it is unit-tested. Output is deterministic for a given snapshot (no wall clock,
no random ids) so that nbval can compare it.

Tables stay readable on big clusters: given ``max_rows``, a table function returns
``ShownRows``, which shows at most that many rows, the worst first, and says how many more
there are. A table that fits is shown exactly as the DataFrame itself would be.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from io import BytesIO
from typing import TYPE_CHECKING, Iterable

import pandas as pd

from .errors import InputError
from .findings import SEVERITY_RANK, Finding
from .timeutil import format_time

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .registry import DetectionResult
    from .state import ClusterState

SEVERITY_COLOURS = {"critical": "#c62828", "warning": "#ef6c00", "info": "#1565c0"}


# -- big clusters: show the worst rows, say how many more there are ---------------------------

@dataclass(frozen=True, eq=False)  # DataFrames have no single truth value to compare by
class ShownRows:
    """The rows of a table a notebook shows, out of ``total``; ``chosen`` says which were kept.

    Displays exactly like ``rows`` when nothing was left out, else with a note below it.
    """

    rows: pd.DataFrame
    total: int
    noun: str
    chosen: str
    narrow: str = "namespace"

    @property
    def hidden(self) -> int:
        return self.total - len(self.rows)

    def note(self) -> str:
        if not self.hidden:
            return ""
        return (f"{len(self.rows)} of {self.total:,} {self.noun} shown, {self.chosen}; {self.hidden:,} more not "
                f"shown: filter with the {self.narrow} parameter.")

    def _repr_html_(self) -> str:
        table = self.rows._repr_html_()
        return table if not self.hidden else f"{table}<p><i>{html.escape(self.note())}</i></p>"

    def __repr__(self) -> str:
        return repr(self.rows) if not self.hidden else f"{self.rows!r}\n{self.note()}"


def shown_rows(table: pd.DataFrame, max_rows: int, noun: str, chosen: str = "in table order",
               rank: pd.DataFrame | None = None, narrow: str = "namespace") -> ShownRows:
    """At most ``max_rows`` rows of ``table``: all of them if they fit, else the worst by ``rank``,
    worst first.

    ``rank`` has one row per row of ``table`` (in the same order) and columns where higher is
    worse, compared in column order; ties and missing values keep table order, missing last.
    Without ``rank``, the first rows are kept.
    """
    if len(table) <= max_rows:
        return ShownRows(table, len(table), noun, chosen, narrow)
    if rank is None:
        kept = table.iloc[:max_rows]
    else:
        order = rank.reset_index(drop=True).sort_values(list(rank.columns), ascending=False, kind="stable").index
        kept = table.iloc[order[:max_rows]]
    return ShownRows(kept.reset_index(drop=True), len(table), noun, chosen, narrow)


def _maybe_capped(table: pd.DataFrame, max_rows: int | None, noun: str, chosen: str = "in table order",
                  rank: pd.DataFrame | None = None, narrow: str = "namespace") -> "pd.DataFrame | ShownRows":
    """``table`` itself without ``max_rows`` (for code), else what a notebook shows of it."""
    if max_rows is None:
        return table
    return shown_rows(table, max_rows, noun, chosen, rank, narrow)


def _failing_pods(pods: pd.DataFrame) -> pd.Series:
    """Pods that need attention: anything but running and ready, completed, terminating or a template."""
    healthy = (pods["status"].eq("Running") & pods["ready_count"].eq(pods["container_count"])) | pods["status"].isin(
        ["Completed", "Terminating", "Template"])
    return ~healthy


def open_source(source: str, namespace: str = "", now: str = "", context: str = "") -> "ClusterState":
    """Load the runbook's source, or a live cluster when ``context`` names a kubeconfig context
    ("in-cluster" for the pod's service account); bad input is one clear message, not a traceback."""
    from .redact import redaction_enabled
    from .session_cache import load_once
    from .sources import load, resolve_source

    try:
        if context:  # live: read again every time, the cluster moves on
            live = {"in_cluster": True} if context == "in-cluster" else {"context": context}
            state = load(None, namespace=namespace or None, now=now or None, **live)
        else:
            path, _ = resolve_source(source)
            state = load_once(lambda: load(source, namespace=namespace or None, now=now or None), path,
                              source, namespace, now, redaction_enabled())
    except InputError as exc:
        _display_html(f'<div style="color:#c62828"><b>Cannot load the source.</b> {html.escape(str(exc))}</div>')
        raise SystemExit(2) from None
    for warning in state.warnings:
        print(f"warning: {warning}")
    return state


def describe(state: "ClusterState") -> pd.DataFrame:
    """What the source holds: where it came from, when, and how many of each kind."""
    rows = [("source", state.source), ("captured at", format_time(state.captured_at) or "unknown"),
            ("ages relative to", format_time(state.now)), ("context", state.context or "-"),
            ("cluster", state.cluster or "-"), ("server version", state.server_version or "-"),
            ("namespaces", ", ".join(state.namespaces) or "-"),
            ("runtime data", "yes" if "runtime" in state.capabilities else "no (manifests: pods are templates)")]
    for kind in state.kinds:
        rows.append((f"{kind} objects", str(len(state.of_kind(kind)))))
    logs = state.logs.pods()
    rows.append(("pods with logs", f"{len({(ns, pod) for ns, pod, prev in logs if not prev})} current, "
                 f"{len({(ns, pod) for ns, pod, prev in logs if prev})} previous"))
    if state.errors:
        rows.append(("could not read", "; ".join(f"{e.resource} in {e.namespace or 'cluster'}: {e.code} {e.reason}"
                                                 for e in state.errors)))
    return pd.DataFrame(rows, columns=["", "value"]).set_index("")


def get_pods(state: "ClusterState", namespace: str | None = None, workload: str | None = None,
             max_rows: int | None = None) -> "pd.DataFrame | ShownRows":
    """Like ``kubectl get pods -o wide``, with the owning workload; capped: failing pods first."""
    pods = _filter(state.frames.pods, namespace, workload)
    table = pods[["namespace", "pod", "ready", "status", "restarts_display", "age", "node", "workload"]]
    table = table.rename(columns={"namespace": "NAMESPACE", "pod": "NAME", "ready": "READY", "status": "STATUS",
                                  "restarts_display": "RESTARTS", "age": "AGE", "node": "NODE",
                                  "workload": "WORKLOAD"}).reset_index(drop=True)
    return _maybe_capped(table, max_rows, "pods", "failing pods first, then the most restarts",
                         rank=_pod_rank(pods))


def _pod_rank(pods: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"failing": _failing_pods(pods).to_numpy(), "restarts": pods["restarts"].to_numpy()})


def get_workloads(state: "ClusterState", namespace: str | None = None,
                  max_rows: int | None = None) -> "pd.DataFrame | ShownRows":
    """Like ``kubectl get deploy,sts,ds``: READY, UP-TO-DATE, AVAILABLE, AGE and rollout condition;
    capped: stuck rollouts first, then the most replicas missing."""
    workloads = _filter(state.frames.workloads, namespace)
    table = workloads[["namespace", "kind", "name", "ready", "up_to_date", "available", "age", "revision",
                       "progressing_reason"]]
    table = table.rename(columns={"namespace": "NAMESPACE", "kind": "KIND", "name": "NAME", "ready": "READY",
                                  "up_to_date": "UP-TO-DATE", "available": "AVAILABLE", "age": "AGE",
                                  "revision": "REVISION", "progressing_reason": "PROGRESSING"}).reset_index(drop=True)
    rank = pd.DataFrame({"stuck": workloads["progressing_reason"].eq("ProgressDeadlineExceeded").to_numpy(),
                         "missing": (workloads["desired"] - workloads["ready_count"]).clip(lower=0).to_numpy()})
    return _maybe_capped(table, max_rows, "workloads", "stuck rollouts first, then the most replicas not ready",
                         rank=rank)


def warning_events(state: "ClusterState", namespace: str | None = None,
                   max_rows: int | None = None) -> "pd.DataFrame | ShownRows":
    """Warning events grouped by reason: how many, how often, first and last seen (ages); the most
    frequent first."""
    events = state.frames.warning_events
    if namespace:
        events = events[events["namespace"] == namespace]
    if events.empty:
        empty = pd.DataFrame(columns=["REASON", "EVENTS", "COUNT", "OBJECTS", "FIRST SEEN", "LAST SEEN", "EXAMPLE"])
        return _maybe_capped(empty, max_rows, "reasons")
    from .timeutil import age

    grouped = events.groupby("reason", sort=False).agg(
        events=("reason", "size"), count=("count", "sum"), objects=("object_name", "nunique"),
        first=("first_seen", "min"), last=("last_seen", "max"), example=("message", "last"))
    grouped = grouped.sort_values(["count", "last"], ascending=[False, False]).reset_index()
    table = pd.DataFrame({
        "REASON": grouped["reason"], "EVENTS": grouped["events"], "COUNT": grouped["count"],
        "OBJECTS": grouped["objects"],
        "FIRST SEEN": [f"{age(t, state.now)} ago" for t in grouped["first"]],
        "LAST SEEN": [f"{age(t, state.now)} ago" for t in grouped["last"]],
        "EXAMPLE": [_shorten(m, 110) for m in grouped["example"]]})
    return _maybe_capped(table, max_rows, "reasons", "the most frequent first")


def events_for(state: "ClusterState", namespace: str | None = None, workload: str | None = None,
               reasons: Iterable[str] | None = None, max_rows: int | None = None) -> "pd.DataFrame | ShownRows":
    """Events about the pods of a workload (or all), like ``kubectl get events`` with ages, newest
    last; capped: the newest."""
    from .timeutil import age

    events = state.frames.events
    if namespace:
        events = events[events["namespace"] == namespace]
    if workload:
        pods = set(_filter(state.frames.pods, namespace, workload)["pod"])
        events = events[events["object_name"].isin(pods | {workload})]
    if reasons:
        events = events[events["reason"].isin(list(reasons))]
    total = len(events)
    if max_rows is not None:
        events = events.tail(max_rows)  # the frame is in last-seen order; format only what is shown
    table = pd.DataFrame({
        "LAST SEEN": [f"{age(t, state.now)} ago" for t in events["last_seen"]], "TYPE": events["type"],
        "REASON": events["reason"], "OBJECT": events["object_kind"] + "/" + events["object_name"],
        "CONTAINER": events["container"].fillna(""), "COUNT": events["count"],
        "MESSAGE": [_shorten(m, 140) for m in events["message"]]}).reset_index(drop=True)
    if max_rows is None:
        return table
    return ShownRows(table, total, "events", "the newest", "namespace or workload")


# -- findings ------------------------------------------------------------------------

def detect(state: "ClusterState", rules: Iterable[str] | None = None) -> "DetectionResult":
    """The findings of ``rules`` (default: every rule) on ``state``. In one kernel each rule runs
    once per state: the audit's runbooks share the results instead of detecting again."""
    from .registry import load_detectors, run_detectors
    from .session_cache import detect_once

    return detect_once(state, rules, lambda target, only: run_detectors(target, only=only), list(load_detectors()))


def findings_table(findings: list[Finding], link_runbooks: bool = True, max_rows: int | None = None):
    """One row per finding, each linking to the runbook that covers its rule; with ``max_rows``,
    at most that many, the most severe first."""
    from IPython.display import HTML

    from .registry import rule as rule_of

    if not findings:
        return HTML("<p><b>No findings.</b></p>")
    shown, note = _most_severe(findings, max_rows, "filter with the namespace parameter, or open each rule's runbook")
    rows = []
    for finding in shown:
        entry = rule_of(finding.rule)
        book = entry.runbook if entry else "triage"
        link = f'<a href="{book}.ipynb">{book}</a>' if link_runbooks else book
        rows.append(f"<tr><td>{_badge(finding.severity)}</td><td><code>{finding.rule}</code></td>"
                    f"<td>{html.escape(finding.object)}</td><td>{html.escape(finding.container or '')}</td>"
                    f"<td>{html.escape(finding.summary)}</td><td>{link}</td></tr>")
    head = "<tr><th>severity</th><th>rule</th><th>object</th><th>container</th><th>summary</th><th>runbook</th></tr>"
    return HTML(f'<table class="runbooks-findings">{head}{"".join(rows)}</table>{note}')


def _most_severe(findings: list[Finding], max_rows: int | None, advice: str) -> tuple[list[Finding], str]:
    """The findings to show, most severe first when there are more than ``max_rows``, and a note
    (HTML, empty when all are shown) counting the others by rule."""
    if max_rows is None or len(findings) <= max_rows:
        return findings, ""
    ordered = worst_first(findings)
    shown, hidden = ordered[:max_rows], ordered[max_rows:]
    by_rule = pd.Series([f.rule for f in hidden]).value_counts()
    counts = ", ".join(f"{rule} {count}" for rule, count in sorted(by_rule.items(), key=lambda item: (-item[1], item[0])))
    return shown, (f"<p><i>{len(shown)} of {len(findings):,} findings shown, the most severe first; "
                   f"{len(hidden):,} more not shown ({html.escape(counts)}): {html.escape(advice)}.</i></p>")


def findings_frame(findings: list[Finding]) -> pd.DataFrame:
    return pd.DataFrame([{"severity": f.severity, "rule": f.rule, "object": f.object, "container": f.container,
                          "pods": len(f.pods), "summary": f.summary} for f in findings],
                        columns=["severity", "rule", "object", "container", "pods", "summary"])


def show_findings(findings: list[Finding], rules: Iterable[str] | None = None, base: str | None = None,
                  max_rows: int | None = None) -> None:
    """Each finding with its evidence and the fix, including the patch to apply.

    ``base``: show manifest file locations relative to this folder. ``max_rows``: show at most
    this many findings, the most severe first.
    """
    wanted = set(rules) if rules else None
    selected = [f for f in findings if wanted is None or f.rule in wanted]
    if not selected:
        _display_html("<p><b>No findings</b> for " + (", ".join(sorted(wanted)) if wanted else "this source") + ".</p>")
        return
    shown, note = _most_severe(selected, max_rows, "filter with the namespace or workload parameter")
    _display_html("".join(finding_html(f, base) for f in shown) + note)


def _relative(file: str, base: str | None) -> str:
    from pathlib import Path

    if not base:
        return file
    try:
        return str(Path(file).resolve().relative_to(Path(base).resolve()))
    except ValueError:
        return file


def finding_html(finding: Finding, base: str | None = None) -> str:
    colour = SEVERITY_COLOURS[finding.severity]
    parts = [f'<div style="border-left:4px solid {colour};padding:4px 12px;margin:12px 0">',
             f"<p>{_badge(finding.severity)} <code>{finding.rule}</code> on <b>{html.escape(finding.object)}</b>"
             + (f", container <code>{html.escape(finding.container)}</code>" if finding.container else "") + "</p>",
             f"<p><b>{html.escape(finding.summary)}</b></p>"]
    if finding.pods:
        parts.append(f"<p>Pods: {', '.join(f'<code>{html.escape(p)}</code>' for p in finding.pods)}</p>")
    if finding.location:
        loc = finding.location
        parts.append(f"<p>Declared in <code>{html.escape(_relative(loc.file, base))}{':' + str(loc.line) if loc.line else ''}</code>"
                     + (f" at <code>{html.escape(loc.path)}</code>" if loc.path else "") + "</p>")
    if finding.evidence:
        parts.append("<p>Evidence:</p><ul>")
        for item in finding.evidence:
            parts.append(f"<li>{_evidence_html(item)}</li>")
        parts.append("</ul>")
    if finding.remediation:
        fix = finding.remediation
        parts.append(f"<p><b>Fix:</b> {html.escape(fix.text)}</p>")
        if fix.patch:
            label = f"{fix.patch_type or 'patch'} patch" + (f" for {html.escape(fix.target)}" if fix.target else "")
            parts.append(f"<p>{label}:</p><pre>{html.escape(fix.patch)}</pre>")
        if fix.command:
            parts.append(f"<pre>{html.escape(fix.command)}</pre>")
    parts.append("</div>")
    return "".join(parts)


def _evidence_html(item) -> str:
    where = f" <small>({html.escape(item.object)})</small>" if item.object else ""
    if item.source == "event":
        seen = f", first seen {item.first_seen}, last seen {item.last_seen}" if item.first_seen else ""
        return (f"<b>event</b> {html.escape(item.reason or '')} ×{item.count}{seen}: "
                f"<code>{html.escape(item.message or '')}</code>{where}")
    if item.source == "log":
        which = "previous" if item.previous else "current"
        lines = "\n".join(item.lines or ())
        return (f"<b>log</b> of {which} <code>{html.escape(item.container or '')}</code>, lines "
                f"{item.first_line}–{item.last_line}: {html.escape(item.text)}{where}"
                f"<pre style='max-height:24em;overflow:auto'>{html.escape(lines)}</pre>")
    if item.path:
        value = "" if item.value is None else f" = <code>{html.escape(str(item.value))}</code>"
        return f"<b>{item.source}</b> <code>{html.escape(item.path)}</code>{value}: {html.escape(item.text)}{where}"
    return f"<b>{item.source}</b> {html.escape(item.text)}{where}"


def record_findings(result: "DetectionResult", name: str = "findings") -> None:
    """Glue the findings into the notebook with scrapbook, so ``sb.read_notebook(path).scraps`` returns them."""
    import scrapbook as sb

    sb.glue(name, [finding.to_dict() for finding in result.findings], encoder="json")


# -- display ------------------------------------------------------------------------

def show(fig: "Figure") -> None:
    """Display a figure as PNG (stable text fallback for nbval; PNG for people and HTML export)."""
    from IPython.display import Image, display

    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    display(Image(data=buffer.getvalue(), format="png"))


def markdown(text: str) -> None:
    from IPython.display import Markdown, display

    display(Markdown(text))


def _display_html(markup: str) -> None:
    from IPython.display import HTML, display

    display(HTML(markup))


def _badge(severity: str) -> str:
    colour = SEVERITY_COLOURS.get(severity, "#616161")
    return (f'<span style="background:{colour};color:white;border-radius:3px;padding:1px 6px;'
            f'font-size:85%">{severity}</span>')


def _filter(frame: pd.DataFrame, namespace: str | None = None, workload: str | None = None) -> pd.DataFrame:
    if namespace:
        frame = frame[frame["namespace"] == namespace]
    if workload and "workload" in frame.columns:
        frame = frame[frame["workload"] == workload]
    return frame


def _shorten(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def worst_first(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: -SEVERITY_RANK[f.severity])


# -- per-runbook evidence tables ------------------------------------------------------------

def restarting_containers(state: "ClusterState", namespace: str | None = None,
                          workload: str | None = None, max_rows: int | None = None) -> "pd.DataFrame | ShownRows":
    """Containers that restart or wait to restart, with their last termination (like ``kubectl describe``);
    capped: the most restarts first."""
    from .timeutil import age

    restarting = _restarting(state, namespace, workload)
    total = len(restarting)
    if max_rows is not None and total > max_rows:  # format only what is shown
        restarting = restarting.sort_values("restarts", ascending=False, kind="stable").head(max_rows)
    table = pd.DataFrame({
        "POD": restarting["pod"], "CONTAINER": restarting["container"],
        "STATE": restarting["state"].fillna("") + restarting["reason"].map(lambda r: f" ({r})" if isinstance(r, str) else ""),
        "RESTARTS": restarting["restarts"], "LAST EXIT": restarting["last_exit_code"].astype("Int64"),
        "LAST REASON": restarting["last_reason"],
        "LAST FINISHED": [f"{age(t, state.now)} ago" if t is not None and not pd.isna(t) else "" for t in restarting["last_finished"]],
        "IMAGE": restarting["image"]}).reset_index(drop=True)
    if max_rows is None:
        return table
    return ShownRows(table, total, "containers", "the most restarts first", "namespace or workload")


def _restarting(state: "ClusterState", namespace: str | None, workload: str | None) -> pd.DataFrame:
    containers = _filter(state.frames.containers, namespace, workload)
    return containers[(containers["restarts"] > 0) | containers["reason"].isin(
        ["CrashLoopBackOff", "Error", "OOMKilled", "RunContainerError"])]


def previous_log_tails(state: "ClusterState", namespace: str | None = None, workload: str | None = None,
                       lines: int = 25, max_containers: int = 5) -> str:
    """The end of the previous log of one restarting container per container name (the first in
    ``restarting_containers`` order), for at most ``max_containers`` names."""
    restarting = _restarting(state, namespace, workload).drop_duplicates("container")
    parts = []
    for ns, pod, container in restarting[["namespace", "pod", "container"]].head(max_containers).itertuples(index=False):
        parts.append(f"--- {ns}/{pod} {container} (previous) ---")
        parts.append(previous_log_tail(state, ns, pod, container, lines=lines))
    if len(restarting) > max_containers:
        parts.append(f"({len(restarting) - max_containers:,} more restarting containers not shown: "
                     "filter with the namespace or workload parameter)")
    return "\n".join(parts)


def previous_log_tail(state: "ClusterState", namespace: str, pod: str, container: str, lines: int = 30) -> str:
    """The end of the crashed instance's log, numbered as in the container's whole log."""
    log = state.logs.get(namespace, pod, container, previous=True) or state.logs.get(namespace, pod, container)
    if log is None:
        return f"(no log for {pod}/{container} in this source)"
    text_lines = log.text.splitlines()
    start = max(0, len(text_lines) - lines)
    first = log.first_line_number + start
    return "\n".join(f"{first + i:>5}  {line}" for i, line in enumerate(text_lines[start:]))


def probe_table(state: "ClusterState", namespace: str | None = None, workload: str | None = None,
                max_rows: int | None = None) -> "pd.DataFrame | ShownRows":
    """Declared probes per workload container, with how often each failed (``Unhealthy`` events);
    capped: the most failures first."""
    probes = _filter(state.frames.probes, namespace, workload)
    if probes.empty:
        empty = pd.DataFrame(columns=["WORKLOAD", "CONTAINER", "PROBE", "HANDLER", "TARGET", "TIMEOUT", "PERIOD",
                                      "THRESHOLD", "FAILURES", "PODS FAILING"])
        return _maybe_capped(empty, max_rows, "probes")
    specs = probes.drop_duplicates(["namespace", "workload", "container", "probe"])
    events = state.frames.events
    unhealthy = events[events["reason"] == "Unhealthy"].copy()
    unhealthy["probe"] = unhealthy["message"].str.extract(r"^(Liveness|Readiness|Startup) probe", expand=False).str.lower()
    pods = state.frames.pods[["namespace", "pod", "workload"]]
    unhealthy = unhealthy.merge(pods, left_on=["namespace", "object_name"], right_on=["namespace", "pod"], how="inner")
    failures = unhealthy.groupby(["namespace", "workload", "container", "probe"]).agg(
        failures=("count", "sum"), pods_failing=("pod", "nunique")).to_dict("index")
    rows = []
    for row in specs.itertuples(index=False):
        failed = failures.get((row.namespace, row.workload, row.container, row.probe))
        target = (f"{row.scheme} GET {row.path or '/'} port {row.port}" if row.handler == "httpGet" else
                  f"tcp :{row.port}" if row.handler == "tcpSocket" else f"grpc :{row.port}" if row.handler == "grpc"
                  else f"exec {row.command}" if row.handler == "exec" else "(no handler)")
        rows.append({"WORKLOAD": row.workload, "CONTAINER": row.container, "PROBE": row.probe,
                     "HANDLER": row.handler, "TARGET": target, "TIMEOUT": f"{row.timeout_seconds}s",
                     "PERIOD": f"{row.period_seconds}s", "THRESHOLD": row.failure_threshold,
                     "FAILURES": int(failed["failures"]) if failed is not None else 0,
                     "PODS FAILING": int(failed["pods_failing"]) if failed is not None else 0})
    table = pd.DataFrame(rows)
    return _maybe_capped(table, max_rows, "probes", "the most failures first", rank=table[["FAILURES", "PODS FAILING"]],
                         narrow="namespace or workload")


def services_table(state: "ClusterState", namespace: str | None = None,
                   max_rows: int | None = None) -> "pd.DataFrame | ShownRows":
    """Each Service with its selector, the pods it selects, and ready / not-ready endpoints;
    capped: Services without ready endpoints first, then the most not ready."""
    services = _filter(state.frames.services, namespace)
    endpoints = state.frames.endpoints
    ports = state.frames.service_ports
    # grouped once, not filtered per Service: that is quadratic in the number of Services
    by_service = ["namespace", "service"]
    ready_ips = endpoints[endpoints["ready"]].groupby(by_service)["ip"].nunique().to_dict()
    not_ready_ips = endpoints[~endpoints["ready"]].groupby(by_service)["ip"].nunique().to_dict()
    port_texts: dict[tuple, list[str]] = {}
    for key, name, port, target, protocol in zip(zip(ports["namespace"], ports["service"]), ports["name"],
                                                 ports["port"], ports["target_port"], ports["protocol"]):
        name = name if isinstance(name, str) and name else "-"  # a missing name is NaN, which is truthy
        port_texts.setdefault(key, []).append(f"{name} {port}->{target}/{protocol}")
    keys = list(zip(services["namespace"], services["name"]))
    table = pd.DataFrame({
        "NAMESPACE": services["namespace"].tolist(), "SERVICE": services["name"].tolist(),
        "TYPE": services["type"].tolist(),
        "SELECTOR": [s if isinstance(s, str) else "(none: endpoints managed by hand)" for s in services["selector"]],
        "PORTS": [", ".join(port_texts.get(key, [])) for key in keys],
        "READY ENDPOINTS": [ready_ips.get(key, 0) for key in keys],
        "NOT READY": [not_ready_ips.get(key, 0) for key in keys]},
        columns=["NAMESPACE", "SERVICE", "TYPE", "SELECTOR", "PORTS", "READY ENDPOINTS", "NOT READY"])
    rank = pd.DataFrame({"no_ready": table["READY ENDPOINTS"].eq(0), "not_ready": table["NOT READY"]})
    return _maybe_capped(table, max_rows, "Services", "those without ready endpoints first, then the most not ready",
                         rank=rank)


def replicasets_table(state: "ClusterState", namespace: str | None = None, workload: str | None = None,
                      max_rows: int | None = None) -> "pd.DataFrame | ShownRows":
    """ReplicaSets per Deployment, newest revision first, like ``kubectl get rs``; capped: the most
    pods missing or not ready first."""
    sets = state.frames.replicasets
    if namespace:
        sets = sets[sets["namespace"] == namespace]
    if workload:
        sets = sets[sets["owner"] == workload]
    table = pd.DataFrame({"DEPLOYMENT": sets["owner"], "REPLICASET": sets["name"], "REVISION": sets["revision"],
                          "DESIRED": sets["desired"], "CURRENT": sets["current"], "READY": sets["ready"],
                          "AGE": sets["age"]}).reset_index(drop=True)
    rank = pd.DataFrame({"not_ready": (table[["DESIRED", "CURRENT"]].max(axis=1) - table["READY"]).clip(lower=0)})
    return _maybe_capped(table, max_rows, "ReplicaSets", "the most pods missing or not ready first", rank=rank,
                         narrow="namespace or workload")


def waiting_pods(state: "ClusterState", namespace: str | None = None, workload: str | None = None,
                 max_rows: int | None = None) -> "pd.DataFrame | ShownRows":
    """Pods that have not started: Pending, image pulls failing, container config errors; capped:
    the longest waiting first."""
    stuck = {"ImagePullBackOff", "ErrImagePull", "InvalidImageName", "CreateContainerConfigError",
             "CreateContainerError", "ContainerCreating"}
    pods = _filter(state.frames.pods, namespace, workload)
    waiting = (pods["phase"].eq("Pending") | pods["status"].isin(stuck)).to_numpy()
    table = get_pods(state, namespace, workload)[waiting].reset_index(drop=True)  # same rows, same order as pods
    created = pd.to_datetime(pods["created"][waiting], utc=True)
    rank = pd.DataFrame({"waiting": (pd.Timestamp(state.now) - created).dt.total_seconds()})  # unknown: last
    return _maybe_capped(table, max_rows, "pods", "the longest waiting first", rank=rank, narrow="namespace or workload")


def resource_table(state: "ClusterState", namespace: str | None = None, workload: str | None = None,
                   max_rows: int | None = None) -> "pd.DataFrame | ShownRows":
    """Requests, limits and use per container; use as a share of the limit; capped: the closest to
    a limit first."""
    from .quantity import format_cpu, format_memory

    usage = _filter(state.frames.resource_usage, namespace, workload)
    total = len(usage)
    if max_rows is not None and total > max_rows:  # format only what is shown
        closest = usage[["memory_of_limit", "cpu_of_limit"]].max(axis=1)
        usage = usage.loc[closest.sort_values(ascending=False, kind="stable").index[:max_rows]]

    def share(value) -> str:
        return "" if value is None or pd.isna(value) else f"{value:.0%}"

    table = pd.DataFrame({
        "POD": usage["pod"], "CONTAINER": usage["container"],
        "CPU REQ": [format_cpu(v) if not pd.isna(v) else "-" for v in usage["requests_cpu"]],
        "CPU LIM": [format_cpu(v) if not pd.isna(v) else "-" for v in usage["limits_cpu"]],
        "CPU USED": [format_cpu(v) if not pd.isna(v) else "?" for v in usage["cpu"]],
        "CPU % LIM": [share(v) for v in usage["cpu_of_limit"]],
        "MEM REQ": [format_memory(v) if not pd.isna(v) else "-" for v in usage["requests_memory"]],
        "MEM LIM": [format_memory(v) if not pd.isna(v) else "-" for v in usage["limits_memory"]],
        "MEM USED": [format_memory(v) if not pd.isna(v) else "?" for v in usage["memory"]],
        "MEM % LIM": [share(v) for v in usage["memory_of_limit"]]}).reset_index(drop=True)
    if max_rows is None:
        return table
    return ShownRows(table, total, "containers", "the closest to a limit first", "namespace or workload")


# -- network policy ---------------------------------------------------------------------------

def netpol_focus(state: "ClusterState", findings: list[Finding], namespace: str = "", workload: str = "",
                 port: int | str = "") -> tuple[str | None, str | None, list[int]]:
    """The namespace, workload and ports to look at: the parameters, else the worst network finding."""
    import re

    # a finding about an invalid NetworkPolicy names the policy, not a workload to focus on
    network = [f for f in findings if f.rule.startswith("netpol-") and f.kind != "NetworkPolicy"]
    focus = next((f for f in network if (not namespace or f.namespace == namespace)
                  and (not workload or f.name == workload)), None)
    namespace = namespace or (focus.namespace if focus else None) or next(
        (ns for ns in state.namespaces if state.of_kind("NetworkPolicy", ns)), None)
    workload = workload or (focus.name if focus else None)
    if port not in ("", None):
        ports = [int(port)]
    elif focus is not None:
        ports = sorted({int(p) for p in re.findall(r"\b(\d{1,5})/(?:TCP|UDP|SCTP)\b", focus.summary)}) or [53]
    else:
        ports = []
    return namespace, workload, ports


def netpol_why(engine, namespace: str, ports: list[int], workload: str | None = None,
               max_rows: int | None = None) -> "pd.DataFrame | ShownRows":
    """Each denied workload-to-workload flow on these ports, with the side that denies it and why;
    asymmetric flows first."""
    frames = []
    for port in ports:
        why = engine.why_denied(namespace, port)
        if workload:
            why = why[why["source"].str.endswith("/" + workload) | why["destination"].str.endswith("/" + workload)]
        frames.append(why.assign(port=port))
    if not frames:
        table = pd.DataFrame(columns=["port", "source", "destination", "denied_by", "asymmetric", "explanation"])
    else:
        table = pd.concat(frames, ignore_index=True)
        table = table.sort_values(["asymmetric", "port"], ascending=[False, True], kind="stable")
        table = table[["port", "source", "destination", "denied_by", "asymmetric", "explanation"]].reset_index(drop=True)
    return _maybe_capped(table, max_rows, "denied flows", "asymmetric flows first", narrow="workload or port")


def manifest_inventory(state: "ClusterState", base: str | None = None,
                       max_rows: int | None = None) -> "pd.DataFrame | ShownRows":
    """What the manifests would create, with the file and line that declares each object."""
    from pathlib import Path

    inventory = state.frames.inventory
    total = len(inventory)
    if max_rows is not None:
        inventory = inventory.head(max_rows)  # resolve the paths of the shown rows only
    root = Path(base).resolve() if base else None

    def where(file, line) -> str:
        if not isinstance(file, str):
            return ""
        path = Path(file)
        if root is not None:
            try:
                path = path.resolve().relative_to(root)
            except ValueError:
                pass
        return f"{path}:{int(line)}" if line is not None and not pd.isna(line) else str(path)

    table = pd.DataFrame({"KIND": inventory["kind"], "NAMESPACE": inventory["namespace"].fillna(""),
                          "NAME": inventory["name"],
                          "DECLARED IN": [where(f, l) for f, l in zip(inventory["file"], inventory["line"])]})
    if max_rows is None:
        return table
    return ShownRows(table, total, "objects", "in kind order")


def manifest_root(source: str) -> str | None:
    """The folder manifest locations are shown relative to: the source's own folder."""
    from .sources import resolve_source

    path, _ = resolve_source(source)
    while path.name in ("overlays", "base") or path.parent.name == "overlays":
        path = path.parent
    return str(path if path.is_dir() else path.parent)


def planned_workloads(state: "ClusterState", namespace: str | None = None,
                      max_rows: int | None = None) -> "pd.DataFrame | ShownRows":
    """Workloads as declared: desired replicas and images (nothing is running yet)."""
    workloads = _filter(state.frames.workloads, namespace)
    table = pd.DataFrame({"NAMESPACE": workloads["namespace"], "KIND": workloads["kind"], "NAME": workloads["name"],
                          "REPLICAS": workloads["desired"], "IMAGES": workloads["images"]}).reset_index(drop=True)
    return _maybe_capped(table, max_rows, "workloads", "in kind order")
