"""oom-killed: the container's last termination was OOMKilled (exit 137)."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Iterable

import pandas as pd

from ..findings import Evidence, Finding, Remediation
from ..quantity import format_memory
from ..registry import Rule, detector
from ..state import RUNTIME
from ..timeutil import format_time
from ._common import (container_count, container_patch, event_evidence, events_for, frame_rows, object_name,
                      pods_phrase, spec_container, status_path, top_event, workload_groups)
from ._common import as_mapping as _d, int_or_none as _int_or_none, nonempty_str as _str, number_or_none as _num
from ._common import time_or_none as _time

if TYPE_CHECKING:
    from ..state import ClusterState

RULE = Rule(
    id="oom-killed",
    title="Container killed for exceeding its memory limit",
    severity="critical",
    detects=(
        "A container whose last termination (or current state) is OOMKilled, exit code 137: the kernel killed it "
        "for using more memory than its limit (or, without a limit, because the node ran out). The finding "
        "compares the limit with the measured usage when metrics exist."
    ),
    why=(
        "An OOM kill is a crash with no log line saying why: the process just disappears, the pod restarts and, "
        "if the working set always outgrows the limit, crash-loops. Raising the limit (or fixing the leak) is "
        "the only fix; restarting does nothing."
    ),
    example=(
        "lastState:\n  terminated:\n    reason: OOMKilled\n    exitCode: 137\n"
        "resources:\n  limits:\n    memory: 512Mi        # usage at capture: 509Mi (99%)"
    ),
    fix=(
        "Raise resources.limits.memory (about 1.5x, and the request with it when they were equal), or find what "
        "grows: a leak, an unbounded cache, a JVM/Node heap sized above the container limit."
    ),
    runbook="crashloop",
    needs=frozenset({RUNTIME}),
)

MI = 2**20
GI = 2**30
GROWTH = 1.5


def raised_memory(limit: float | None, peak: float | None = None) -> str | None:
    """limit x 1.5 (at least peak usage x 1.25), rounded up to a whole Mi below 4Gi, else a whole Gi."""
    candidates = [value * factor for value, factor in ((limit, GROWTH), (peak, 1.25)) if value]
    if not candidates:
        return None
    target = max(candidates)
    if target < 4 * GI:
        mebibytes = math.ceil(target / MI - 1e-9)
        return f"{mebibytes // 1024}Gi" if mebibytes % 1024 == 0 else f"{mebibytes}Mi"
    return f"{math.ceil(target / GI - 1e-9)}Gi"


def _is_oom(containers: pd.DataFrame) -> pd.Series:
    """Containers (rows of frames.containers) whose last or current termination is OOMKilled."""
    return containers["last_reason"].isin(["OOMKilled"]) | (
        containers["state"].isin(["terminated"]) & containers["reason"].isin(["OOMKilled"]))


@detector(RULE)
def detect(state: "ClusterState") -> Iterable[Finding]:
    containers = state.frames.containers
    if containers.empty:
        return []
    oom = containers[_is_oom(containers)]
    return [_finding(state, *key, group) for key, group in workload_groups(oom)]


def _finding(state: "ClusterState", namespace: str, workload_kind: str, workload: str, container: str,
             group: pd.DataFrame) -> Finding:
    rows = frame_rows(group)
    pods = tuple(sorted(str(row.pod) for row in rows))
    restarts = sum(int(row.restarts or 0) for row in rows)
    looping = any(row.state == "waiting" and _str(row.reason) == "CrashLoopBackOff" for row in rows)
    down_now = sum(1 for row in rows if row.state == "terminated")
    repeated = looping or len(rows) >= 2 or restarts + down_now >= 3
    severity = "critical" if repeated else "warning"

    representative = next((row for row in rows if row.state == "waiting"), rows[0])
    pod = str(representative.pod)
    init = bool(representative.init)
    spec = spec_container(state, workload_kind, namespace, workload, container, init, pod)
    resources = _d(spec.spec.get("resources")) if spec else {}
    limit_text = _str(_d(resources.get("limits")).get("memory"))
    request_text = _str(_d(resources.get("requests")).get("memory"))
    limit = _num(representative.limits_memory)
    request = _num(representative.requests_memory)
    usage = _usage(state, namespace, container, pods)
    peak = max((value for _, value in usage), default=None)

    who = workload if container_count(state, namespace, workload_kind, workload) <= 1 else f"{workload} ({container})"
    if limit:
        what = f"exceeded its {limit_text or format_memory(limit)} memory limit"
        if peak is not None:
            what += f" (usage now {format_memory(peak)}, {peak / limit:.0%} of the limit)"
    else:
        what = "killed by the kernel with no memory limit set (the node ran out of memory)"
        if peak is not None:
            what += f"; usage now {format_memory(peak)}"
    extra = [pods_phrase(len(rows))] if len(rows) > 1 else []
    if restarts:
        extra.append(f"{restarts} restart{'s' if restarts != 1 else ''}")
    if looping:
        extra.append("CrashLoopBackOff")
    summary = f"{who} is OOMKilled: {what}" + (f" [{'; '.join(extra)}]" if extra else "")

    evidence = _evidence(state, namespace, container, representative, spec, limit_text, request_text, limit,
                         usage, pods)
    remediation = _remediation(workload_kind, namespace, workload, container, limit, request, limit_text,
                               request_text, peak)
    return Finding(rule=RULE.id, severity=severity, namespace=namespace or None, kind=workload_kind,
                   name=workload, summary=summary, evidence=tuple(evidence), remediation=remediation,
                   pods=pods, container=container)


def _usage(state: "ClusterState", namespace: str, container: str, pods: tuple[str, ...]) -> list[tuple[str, float]]:
    usage = state.frames.resource_usage
    if usage.empty:
        return []
    mine = state.frames.lookup_isin("resource_usage", "pod", pods, namespace=namespace, container=container)
    return [(str(row.pod), float(row.memory)) for row in frame_rows(mine, ["pod", "memory"])
            if _num(row.memory) is not None]


def _evidence(state, namespace, container, row, spec, limit_text, request_text, limit, usage, pods) -> list[Evidence]:
    pod = str(row.pod)
    init = bool(row.init)
    pod_object = object_name("Pod", namespace, pod)
    evidence = []
    if _str(row.last_reason) == "OOMKilled":
        which, code, finished = "lastState", _int_or_none(row.last_exit_code), _time(row.last_finished)
    else:
        which, code, finished = "state", _int_or_none(row.exit_code), None
    evidence.append(Evidence.from_status(
        f"{'last ' if which == 'lastState' else ''}terminated: OOMKilled "
        f"(exit code {code if code is not None else '?'})"
        + (f", finished {format_time(finished)}" if finished else ""),
        path=status_path(state, namespace, pod, container, init, which, "terminated", "reason"), value="OOMKilled",
        object=pod_object))
    if row.state == "waiting" and _str(row.reason):
        evidence.append(Evidence.from_status(
            f"waiting: {row.reason}" + (f" ({row.message})" if _str(row.message) else ""),
            path=status_path(state, namespace, pod, container, init, "state", "waiting", "reason"),
            value=row.reason, object=pod_object))
    restarts = int(row.restarts or 0)
    evidence.append(Evidence.from_status(
        f"restarted {restarts} time{'s' if restarts != 1 else ''}",
        path=status_path(state, namespace, pod, container, init, "restartCount"), value=restarts, object=pod_object))
    if spec is not None:
        evidence.append(Evidence.from_field(
            f"memory limit {limit_text}" if limit_text else "no memory limit set",
            path=spec.path("resources", "limits", "memory"), value=limit_text, object=spec.object))
        if request_text:
            evidence.append(Evidence.from_field(f"memory request {request_text}",
                                                path=spec.path("resources", "requests", "memory"),
                                                value=request_text, object=spec.object))
    for pod_name, value in sorted(usage, key=lambda item: -item[1])[:3]:
        share = f", {value / limit:.0%} of the limit" if limit else ""
        evidence.append(Evidence(source="metric", text=f"memory usage {format_memory(value)}{share} (metrics.k8s.io)",
                                 object=object_name("Pod", namespace, pod_name), container=container,
                                 value=int(value)))
    events = events_for(state, namespace, "Pod", pods, reasons=["BackOff", "OOMKilling"])
    if not events.empty:
        events = events[events["container"].isna() | (events["container"] == container)]
        if not events.empty:
            evidence.append(event_evidence(top_event(events)))
    return evidence


def _remediation(kind, namespace, name, container, limit, request, limit_text, request_text, peak) -> Remediation:
    new_limit = raised_memory(limit, peak)
    if new_limit is None:
        return Remediation(
            text=("The container has no memory limit and no usage was measured: set resources.requests.memory "
                  "and resources.limits.memory from the memory it needs (kubectl top pod --containers), so the "
                  "scheduler reserves it, and look for node memory pressure (kubectl describe node)."),
            command=f"kubectl top pod -n {namespace} --containers")
    resources: dict = {"limits": {"memory": new_limit}}
    if limit is None:
        resources["requests"] = {"memory": new_limit}
        text = (f"Set a memory request and limit of {new_limit} (1.25x the measured {format_memory(peak)}), so the "
                "scheduler reserves the memory the container uses; check the node for memory pressure.")
    else:
        text = (f"Raise the memory limit from {limit_text or format_memory(limit)} to {new_limit}"
                + (f" (measured usage {format_memory(peak)})" if peak is not None else "") + ".")
        if request is not None and abs(request - limit) < 1:
            resources["requests"] = {"memory": new_limit}
            text += " The request equals the limit (Guaranteed QoS), so it is raised with it."
        text += (" If the memory keeps growing to any limit, look for a leak or a heap sized above the limit "
                 "(JVM -Xmx / MaxRAMPercentage, Node --max-old-space-size).")
    remediation = container_patch(kind, namespace, name, container, {"resources": resources}, text)
    if kind in ("Pod", "Job"):  # pod templates of Jobs, and pods' resources (before 1.33), are immutable
        ns_flag = f" -n {namespace}" if namespace else ""
        text += (f" A {kind}'s pod spec cannot be patched in place: apply the change to its manifest and "
                 f"recreate it (kubectl get {kind.lower()} {name}{ns_flag} -o yaml > {kind.lower()}.yaml, edit, "
                 f"then the command).")
        remediation = replace(remediation, text=text, command=f"kubectl replace --force -f {kind.lower()}.yaml")
    return remediation
