"""probe-timeout: probes that time out, compared with their timeoutSeconds."""

from __future__ import annotations

from typing import Iterable

from ..findings import Evidence, Finding
from ..registry import Rule, detector
from ..state import RUNTIME, ClusterState
from ..timeutil import ago
from ._common import (RESTARTING_PROBES, affected_pods_phrase, container_patch, container_path, crashes_on_its_own,
                      describe_probe, event_evidence, event_window, events_evidence, group_events, killed_by_probe,
                      live_pods, nothing_serves, object_name, probe_events, probe_field_evidence, probe_spec,
                      readiness_evidence, workload_container)
from ._common import as_mapping as _mapping

RULE_ID = "probe-timeout"
DEFAULT_TIMEOUT = 1


def _stage(failure) -> str:
    """Where the time went: "connect" (no TCP connection), "exec" (a command), or "response"."""
    low = failure.detail.lower()
    if failure.handler == "exec":
        return "exec"
    if "dial tcp" in low or "failed to connect service" in low or "while waiting for connection" in low:
        return "connect"
    return "response"


_STAGE_TEXT = {
    "connect": ("the TCP connection itself was not accepted in time: packets to the pod are dropped (a "
                "NetworkPolicy or firewall) or the process is too busy to accept connections"),
    "response": "the connection was made but the endpoint did not answer in time: the app (or what its health "
                "check calls) is slow or blocked",
    "exec": "the probe command did not finish in time (kubelets since 1.20 enforce timeoutSeconds on exec "
            "probes; before, it was ignored, so old probes may have always been this slow)",
}


@detector(Rule(
    id=RULE_ID,
    title="Probe times out",
    severity="warning",
    detects=("Probes that time out (`context deadline exceeded`, `Client.Timeout exceeded`, `i/o timeout`, "
             "`command timed out`), per workload, container and probe type, compared with the probe's "
             "timeoutSeconds (1s when not set)."),
    why=("The default timeoutSeconds is 1s: a health endpoint that takes longer under load, GC pauses or a slow "
         "dependency turns into a failed probe. Readiness timeouts drop pods out of their Service; liveness "
         "timeouts restart containers that were merely slow, which adds load and spreads the problem."),
    example=("Readiness probe failed: Get \"http://10.8.1.23:8000/health/ready\": context deadline exceeded "
             "(Client.Timeout exceeded while awaiting headers)\nreadinessProbe: {httpGet: {path: /health/ready, "
             "port: 8000}}  # timeoutSeconds not set: 1s"),
    fix=("Find out why the endpoint is slow (a health check should answer in milliseconds and not call slow "
         "dependencies); as a stopgap raise timeoutSeconds, and failureThreshold so one slow answer does not "
         "count. An `i/o timeout` on connect points at the network (NetworkPolicy) rather than the app."),
    runbook="probes",
    needs=frozenset({RUNTIME}),
))
def detect(state: ClusterState) -> Iterable[Finding]:
    failures = [item for item in probe_events(state, ["timeout"])
                if not crashes_on_its_own(state, item.namespace, item.pod, item.container)]
    for (namespace, kind, name, container, probe), items in group_events(failures, lambda i: (i.failure.probe,)).items():
        affected = sorted({i.pod for i in items})
        live = live_pods(state, namespace, kind, name)
        spec = probe_spec(state, namespace, affected, container, probe)
        index, declared = workload_container(state, kind, namespace, name, container,
                                             int(spec["index"]) if spec is not None else None)
        declared_probe = _mapping(declared.get(f"{probe}Probe"))
        raw_timeout = declared_probe.get("timeoutSeconds")
        timeout = int((spec["timeout_seconds"] if spec is not None else None) or (
            raw_timeout if isinstance(raw_timeout, int) else DEFAULT_TIMEOUT))
        failure_threshold = int(spec["failure_threshold"]) if spec is not None else 3
        timeout_text = (f"timeoutSeconds is {timeout}s, the default" if timeout == DEFAULT_TIMEOUT
                        else f"timeoutSeconds is {timeout}s")
        stages = sorted({_stage(i.failure) for i in items})
        count, first, last = event_window(items)
        killings = killed_by_probe(state, namespace, affected, container, [probe]) if probe in RESTARTING_PROBES else []
        restarted = bool(killings) or (probe in RESTARTING_PROBES and _restarted(state, namespace, affected, container))
        severity = "critical" if restarted or nothing_serves(state, namespace, kind, name, affected) else "warning"
        target = f" {describe_probe(spec)}" if spec is not None else ""
        summary = (f"{name} ({container or '?'}): {probe} probe{target} times out on {affected_pods_phrase(affected, live)} "
                   f"({count}x, last {ago(last, state.now)}); {timeout_text}"
                   + ("; the container is restarted for it" if restarted else ""))
        evidence: list[Evidence] = []
        field = probe_field_evidence(state, kind, namespace, name, container, probe, spec)
        if field is not None:
            evidence.append(field)
        if index is not None:
            evidence.append(Evidence.from_field(
                timeout_text + ("" if isinstance(raw_timeout, int) or not declared else " (not set in the spec)"),
                path=container_path(kind, index, f"{probe}Probe", "timeoutSeconds"), value=timeout,
                object=object_name(kind, namespace, name)))
        for stage in stages:
            mine = [i for i in items if _stage(i.failure) == stage]
            evidence.append(Evidence("event", f"{stage} timeout: {_STAGE_TEXT[stage]}", reason="Unhealthy",
                                     message=mine[0].row.message, count=sum(int(i.row.count) for i in mine)))
        status = readiness_evidence(state, namespace, affected, container, probe)
        if status is not None:
            evidence.append(status)
        evidence.extend(event_evidence(row) for row in killings[:3])
        evidence.extend(events_evidence(items))
        new_timeout = max(5, timeout * 2)
        new_threshold = max(failure_threshold, 5)
        body: dict = {"timeoutSeconds": new_timeout}
        if new_threshold > failure_threshold:
            body["failureThreshold"] = new_threshold
        text = (f"The {probe} probe did not get an answer within {timeout}s: "
                + "; ".join(_STAGE_TEXT[s] for s in stages) + ". "
                f"Check why the endpoint is slow before raising the limit: time it from inside the pod "
                f"(`kubectl exec -n {namespace} {affected[0]} -c {container} -- ...`), look at the app's latency "
                f"and at whatever its health check calls; a health endpoint should answer in milliseconds. "
                f"As a stopgap the patch raises timeoutSeconds to {new_timeout}s"
                + (f" and failureThreshold to {new_threshold}" if "failureThreshold" in body else "")
                + (". For a liveness probe, keep dependency checks out of it: restarting a slow container adds "
                   "load instead of removing it." if probe == "liveness" else "."))
        remediation = (container_patch(kind, namespace, name, container, {f"{probe}Probe": body}, text)
                       if container else None)
        yield Finding(
            rule=RULE_ID, severity=severity, namespace=namespace, kind=kind, name=name, summary=summary,
            evidence=tuple(evidence), remediation=remediation, pods=tuple(affected), container=container,
            discriminator=probe)


def _restarted(state: ClusterState, namespace: str, pods: list[str], container: str | None) -> bool:
    mine = state.frames.lookup("containers", namespace=namespace, container=container)
    mine = mine[mine["pod"].isin(pods)]
    return bool((mine["restarts"] > 0).any()) if not mine.empty else False
