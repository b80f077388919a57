"""resource-pressure: containers at their memory or CPU limit, or running with no requests at all."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

from ..findings import Evidence, Finding, Remediation
from ..quantity import format_memory
from ..registry import Rule, detector
from ..state import METRICS, RUNTIME
from ._common import as_list as _l, as_mapping as _d, container_patch, container_path, frame_rows, object_name

RULE_ID = "resource-pressure"

MEMORY_WARNING = 0.90  # of the limit
MEMORY_CRITICAL = 0.98
CPU_WARNING = 0.95  # at the limit: CFS throttling
TARGET_UTILISATION = 0.70  # a proposed limit puts today's peak at about this share
_MIB = 2**20


@detector(Rule(
    id=RULE_ID,
    title="Container at its resource limit",
    severity="warning",
    detects=(
        f"With metrics (metrics.k8s.io): a container using ≥ {MEMORY_WARNING:.0%} of its memory limit (critical at "
        f"≥ {MEMORY_CRITICAL:.0%}), or ≥ {CPU_WARNING:.0%} of its CPU limit (it is being throttled). With or without "
        "metrics: containers with no requests and no limits in a namespace where other workloads set them."),
    why=(
        "A container at its memory limit is about to be OOMKilled (exit 137) and restarted; one at its CPU limit is "
        "throttled, so latency grows and probes time out. Containers without requests are scheduled as if they "
        "needed nothing and are the first evicted under node pressure."),
    example=(
        "kubectl top pod: staging-keycloak-5847455794-2wdjr keycloak 7m 502Mi with limits.memory 512Mi (98%)."),
    fix=(
        "Raise the limit (and the request) to the observed peak plus headroom, or find the leak/hot loop; for CPU, "
        "raise or remove the CPU limit. Give every container requests that match its measured use."),
    runbook="resources",
    needs=frozenset({RUNTIME}),
))
def detect(state) -> Iterable[Finding]:
    findings: list[Finding] = []
    containers = state.frames.containers
    if containers.empty:
        return findings
    usage = state.frames.resource_usage
    has_metrics = METRICS in state.capabilities and not state.frames.pod_metrics.empty
    if has_metrics:
        findings.extend(_limit_findings(state, usage))
    findings.extend(_no_request_findings(state, usage if has_metrics else None))
    return findings


# -- at the limit ----------------------------------------------------------------------------------

def _limit_findings(state, usage: pd.DataFrame) -> list[Finding]:
    findings = []
    indexes = _container_indexes(state)
    for resource, ratio_column, threshold in (("memory", "memory_of_limit", MEMORY_WARNING),
                                              ("cpu", "cpu_of_limit", CPU_WARNING)):
        limit_column = f"limits_{resource}"
        hot = usage[(usage[limit_column] > 0) & usage[ratio_column].notna() & (usage[ratio_column] >= threshold)]
        for (namespace, kind, workload, container), rows in hot.groupby(
                ["namespace", "workload_kind", "workload", "container"], sort=True, dropna=False):
            findings.append(_limit_finding(state, resource, namespace, kind, workload, container, rows, indexes))
    return findings


def _limit_finding(state, resource: str, namespace: str, kind: str, workload: str, container: str,
                   rows: pd.DataFrame, indexes: dict) -> Finding:
    ratio_column = f"{resource}_of_limit"
    rows = rows.sort_values([ratio_column, "pod"], ascending=[False, True])
    peak_ratio = float(rows[ratio_column].max())
    peak_use = float(rows[resource].max())
    limit = float(rows[f"limits_{resource}"].max())
    request = rows[f"requests_{resource}"].dropna()
    request = float(request.max()) if not request.empty else None
    fmt = format_memory if resource == "memory" else format_cpu
    if resource == "memory":
        severity = "critical" if peak_ratio >= MEMORY_CRITICAL else "warning"
        effect = "about to be OOMKilled" if severity == "critical" else "close to being OOMKilled"
    else:
        severity = "warning"
        effect = "CPU-throttled"

    obj_kind, obj_name = kind, workload  # the workload (a bare pod is its own)
    index = indexes.get((namespace, rows.iloc[0]["pod"], container))
    raw_limit = _raw_resource(state, namespace, rows.iloc[0]["pod"], container, "limits", resource)
    evidence = []
    for row in frame_rows(rows):
        use, of = getattr(row, resource), getattr(row, ratio_column)
        evidence.append(Evidence("metric", f"Pod {row.pod} container {container}: {resource} {fmt(use)} of "
                                           f"{fmt(getattr(row, f'limits_{resource}'))} limit ({_percent(of)})",
                                 object=object_name("Pod", namespace, row.pod), container=container,
                                 value=round(float(of), 4)))
    if index is not None:
        evidence.append(Evidence.from_field(
            f"limits.{resource} is {raw_limit}", path=container_path(obj_kind, index, "resources", "limits", resource),
            value=raw_limit, object=object_name(obj_kind, namespace, obj_name)))

    new_limit = _proposed(resource, peak_use, limit)
    body: dict = {"resources": {"limits": {resource: _quantity(resource, new_limit)}}}
    request_note = ""
    if request is not None and request < peak_use:
        new_request = _round_up(resource, peak_use)
        body["resources"]["requests"] = {resource: _quantity(resource, min(new_request, new_limit))}
        request_note = f" and the request from {fmt(request)} to {_quantity(resource, min(new_request, new_limit))}"
    if resource == "memory":
        text = (f"Raise the memory limit from {fmt(limit)} to {_quantity(resource, new_limit)}{request_note} "
                f"(peak use {fmt(peak_use)} stays near {TARGET_UTILISATION:.0%}); if use keeps growing, look for a leak "
                f"instead.")
    else:
        text = (f"Raise the CPU limit from {fmt(limit)} to {_quantity(resource, new_limit)}{request_note}, or remove "
                f"the CPU limit and keep the request: at the limit the container is throttled every CFS period.")
    remediation = container_patch(obj_kind, namespace, obj_name, container, body, text)
    pods = tuple(sorted(rows["pod"]))
    summary = (f"{workload} container {container} is {effect}: {resource} at {_percent(peak_ratio)} of its "
               f"{fmt(limit)} limit ({fmt(peak_use)}"
               + (f", {len(pods)} pods" if len(pods) > 1 else "") + ")")
    return Finding(rule=RULE_ID, severity=severity, namespace=namespace, kind=kind, name=workload, summary=summary,
                   evidence=tuple(evidence), remediation=remediation, pods=pods, container=container,
                   discriminator=resource)


# -- no requests, no limits ---------------------------------------------------------------------------

def _no_request_findings(state, usage: pd.DataFrame | None) -> list[Finding]:
    containers = state.frames.containers
    regular = containers[~containers["init"]]
    if regular.empty:
        return []
    columns = ["requests_cpu", "requests_memory", "limits_cpu", "limits_memory"]
    empty = regular[columns].isna().all(axis=1)
    findings = []
    indexes = _container_indexes(state)
    pods = state.frames.pods
    for (namespace, kind, workload, container), rows in regular[empty].groupby(
            ["namespace", "workload_kind", "workload", "container"], sort=True, dropna=False):
        others = regular[(regular["namespace"] == namespace) & ~empty
                         & ~((regular["workload_kind"] == kind) & (regular["workload"] == workload))]
        if others.empty:
            continue  # nobody in the namespace sets them: a namespace-wide policy question, not this workload's
        pod_names = tuple(sorted(set(rows["pod"])))
        workload_pods = pods[(pods["namespace"] == namespace) & pods["pod"].isin(pod_names)]
        best_effort = bool((workload_pods["qos"] == "BestEffort").any())
        evicted = bool((pods[(pods["namespace"] == namespace) & (pods["workload_kind"] == kind)
                             & (pods["workload"] == workload)]["status"] == "Evicted").any())
        oom = bool((rows["last_reason"] == "OOMKilled").any())
        severity = "warning" if evicted or oom else "info"
        obj_kind, obj_name = kind, workload  # the workload (a bare pod is its own)
        index = indexes.get((namespace, rows.iloc[0]["pod"], container))
        evidence = []
        if index is not None:
            evidence.append(Evidence.from_field(
                f"container {container} sets no requests and no limits",
                path=container_path(obj_kind, index, "resources"), value={},
                object=object_name(obj_kind, namespace, obj_name)))
        setters = sorted({f"{r.workload_kind} {r.workload}" for r in frame_rows(others, ["workload_kind", "workload"])})
        evidence.append(Evidence("field", f"other workloads in {namespace} set them: {', '.join(setters[:5])}"
                                          + (", ..." if len(setters) > 5 else "")))
        if best_effort:
            evidence.append(Evidence.from_status(f"Pod {pod_names[0]} is BestEffort", path="status.qosClass",
                                                 value="BestEffort", object=object_name("Pod", namespace, pod_names[0])))
        if evicted:
            evidence.append(Evidence("status", f"pods of {workload} were Evicted"))
        if oom:
            evidence.append(Evidence("status", f"container {container} was OOMKilled"))
        why = ("BestEffort: first to be evicted under node pressure" if best_effort
               else "scheduled as if it needed nothing")
        summary = f"{workload} container {container} has no resource requests or limits ({why})"
        remediation = _requests_remediation(state, usage, namespace, obj_kind, obj_name, container, pod_names)
        findings.append(Finding(rule=RULE_ID, severity=severity, namespace=namespace, kind=kind, name=workload,
                                summary=summary, evidence=tuple(evidence), remediation=remediation, pods=pod_names,
                                container=container, discriminator="no-requests"))
    return findings


def _requests_remediation(state, usage: pd.DataFrame | None, namespace: str, kind: str, name: str,
                          container: str, pods: tuple[str, ...]) -> Remediation:
    ns_flag = f" -n {namespace}" if namespace else ""
    if usage is not None:
        measured = usage[(usage["namespace"] == namespace) & usage["pod"].isin(pods) & (usage["container"] == container)]
        cpu, memory = measured["cpu"].max(), measured["memory"].max()
        if not pd.isna(cpu) and not pd.isna(memory):
            requests = {"cpu": _quantity("cpu", _round_up("cpu", max(cpu, 0.01))),
                        "memory": _quantity("memory", _round_up("memory", memory))}
            limit = _quantity("memory", _proposed("memory", memory, 0))
            body = {"resources": {"requests": requests, "limits": {"memory": limit}}}
            text = (f"Set requests from the measured use ({format_cpu(cpu)} CPU, {format_memory(memory)} memory, "
                    f"rounded up) and a memory limit with headroom ({limit}); check them against a busy period.")
            return container_patch(kind, namespace, name, container, body, text)
    return Remediation(
        text=("Measure the container's use under load (kubectl top, your metrics), then set requests to it and a "
              "memory limit with headroom; a LimitRange can give the namespace defaults."),
        command=f"kubectl top pod{ns_flag} --containers {' '.join(pods[:3])}")


# -- helpers ----------------------------------------------------------------------------------------

def _container_indexes(state) -> dict[tuple[str, str, str], int]:
    containers = state.frames.containers
    regular = containers[~containers["init"]]
    keys = zip(regular["namespace"].tolist(), regular["pod"].tolist(), regular["container"].tolist())
    return {key: int(index) for key, index in zip(keys, regular["index"].tolist())}


def _raw_resource(state, namespace: str, pod: str, container: str, section: str, resource: str) -> Any:
    raw = state.get("Pod", namespace, pod) or {}
    for c in _l(_d(raw.get("spec")).get("containers")):
        if _d(c).get("name") == container:
            return _d(_d(_d(c).get("resources")).get(section)).get(resource)
    return None


def _percent(ratio: float) -> str:
    """Rounded down, so 97.7% of the limit never reads as the 98% critical threshold."""
    return f"{math.floor(ratio * 100)}%"


def _proposed(resource: str, peak: float, current_limit: float) -> float:
    """A limit that puts the peak near TARGET_UTILISATION, at least 25% above the current one, rounded up."""
    return _round_up(resource, max(peak / TARGET_UTILISATION, current_limit * 1.25))


def _round_up(resource: str, value: float) -> float:
    if resource == "memory":
        mib = round(value / _MIB, 6)  # 470Mi / 0.7 must not become 671.4285714286001
        step = 64 if mib <= 1024 else 256 if mib <= 8192 else 1024
        return math.ceil(mib / step) * step * _MIB
    millis = round(value * 1000, 6)  # 0.49 / 0.7 is 0.7000000000000001
    step = 50 if millis <= 500 else 100 if millis <= 2000 else 250 if millis <= 4000 else 500
    return math.ceil(millis / step) * step / 1000


def _quantity(resource: str, value: float) -> str:
    if resource == "memory":
        mib = int(round(value / _MIB))
        return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"
    return format_cpu(value)


def format_cpu(cores: float | None) -> str:
    if cores is None or pd.isna(cores):
        return ""
    millis = round(cores * 1000)
    return str(millis // 1000) if millis % 1000 == 0 and millis else f"{millis}m"
