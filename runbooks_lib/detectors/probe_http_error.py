"""probe-http-error: HTTP probes answered with an error status (404, 503, ...).

This module also holds the helpers the other event-based probe rules share
(probe-connection-refused, probe-timeout): reading ``Unhealthy`` events into
parsed probe failures on a workload's container, dropping the ones that have
since resolved, and describing the probe spec.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import Any, Iterable, Mapping

import pandas as pd

from ..event_messages import ProbeFailure, parse_killing, parse_probe_message
from ..findings import Evidence, Finding, Remediation
from ..registry import Rule, detector
from ..state import RUNTIME, ClusterState
from ..timeutil import ago, parse_time
from ._common import container_patch, container_path, event_evidence, object_name

RULE_ID = "probe-http-error"
RESTARTING_PROBES = ("liveness", "startup")  # failing these kills the container
EVIDENCE_EVENTS = 5  # event evidence items per finding; the rest are summed up in one line


# -- shared by the probe rules -------------------------------------------------------------

@dataclass(frozen=True)
class ProbeEvent:
    """One ``Unhealthy`` event (a row of ``frames.events``) parsed and placed on its workload."""

    row: Any
    failure: ProbeFailure
    namespace: str
    pod: str
    container: str | None
    workload_kind: str
    workload: str


def plain(value: Any) -> Any:
    """numpy scalars from frames as Python values (for YAML patches and JSON evidence); NaN as None."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def _time(value: Any) -> datetime | None:
    return None if value is None or pd.isna(value) else value


def _mapping(value: Any) -> Mapping:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def probe_events(state: ClusterState, kinds: Iterable[str]) -> list[ProbeEvent]:
    """Probe failures of these kinds (``ProbeFailure.kind``) on pods the state still has.

    Errored probes (``probe errored[ and resulted in ... state]``) are left out: the
    kubelet discards their result, so they neither fail readiness nor restart anything.
    So are warnings (``ProbeWarning``). Failures that have since resolved (see
    :func:`_resolved`) are dropped, so a few refusals while an app starts are not findings.
    """
    wanted = set(kinds)
    events = state.frames.events
    if events.empty:
        return []
    unhealthy = events[(events["reason"] == "Unhealthy") & (events["object_kind"] == "Pod")]
    if unhealthy.empty:
        return []
    pods = state.frames.pods
    owners = {(row.namespace, row.pod): (row.workload_kind, row.workload) for row in pods.itertuples(index=False)}
    found: list[ProbeEvent] = []
    for row in unhealthy.itertuples(index=False):
        failure = parse_probe_message(row.message)
        if failure is None or failure.errored or failure.warning or failure.kind not in wanted:
            continue
        owner = owners.get((row.namespace, row.object_name))
        if owner is None or not owner[1]:
            continue  # the pod is gone: nothing to place it on, and nothing left to fix there
        container = (row.container if isinstance(row.container, str) else None) or failure.container
        if container is None:
            container = _guess_container(state, row.namespace, row.object_name, failure)
        found.append(ProbeEvent(row, failure, row.namespace, row.object_name, container, owner[0], owner[1]))
    return _unresolved(state, found)


def _guess_container(state: ClusterState, namespace: str, pod: str, failure: ProbeFailure) -> str | None:
    """For events without a fieldPath: the only container, or the only one whose probe matches."""
    pod_obj = state.get("Pod", namespace, pod)
    containers = [c for c in _list(_mapping(_mapping(pod_obj).get("spec")).get("containers")) if isinstance(c, Mapping)]
    if len(containers) == 1:
        name = containers[0].get("name")
        return name if isinstance(name, str) else None
    probes = state.frames.probes
    mine = probes[(probes["namespace"] == namespace) & (probes["pod"] == pod) & (probes["probe"] == failure.probe)]
    if failure.port is not None:
        by_port = mine[mine["port_number"] == failure.port]
        if len(by_port) == 1:
            return by_port.iloc[0]["container"]
    if len(mine) == 1:
        return mine.iloc[0]["container"]
    return None


def _unresolved(state: ClusterState, found: list[ProbeEvent]) -> list[ProbeEvent]:
    groups: dict[tuple, list[ProbeEvent]] = defaultdict(list)
    for item in found:
        groups[(item.namespace, item.pod, item.container, item.failure.probe)].append(item)
    kept: list[ProbeEvent] = []
    for (namespace, pod, container, probe), items in groups.items():
        last = max((t for t in (_time(i.row.last_seen) for i in items) if t is not None), default=None)
        if not _resolved(state, namespace, pod, container, probe, last):
            kept.extend(items)
    return kept


def _resolved(state: ClusterState, namespace: str, pod: str, container: str | None, probe: str,
              last_failure: datetime | None) -> bool:
    """True when the pod became Ready after the last failure and, for a liveness probe, the
    container never restarted: failures while an app starts, long since over."""
    if container is None or last_failure is None:
        return False
    status = _mapping(_mapping(state.get("Pod", namespace, pod)).get("status"))
    current = next((_mapping(s) for s in _list(status.get("containerStatuses"))
                    if _mapping(s).get("name") == container), None)
    if not current or current.get("ready") is not True:
        return False
    ready = next((_mapping(c) for c in _list(status.get("conditions")) if _mapping(c).get("type") == "Ready"), {})
    since = parse_time(ready.get("lastTransitionTime"))
    if ready.get("status") != "True" or since is None or since < last_failure:
        return False
    if probe == "liveness" and (current.get("restartCount") or 0) != 0:
        return False
    return True


def group_events(events: Iterable[ProbeEvent], key) -> dict[tuple, list[ProbeEvent]]:
    groups: dict[tuple, list[ProbeEvent]] = defaultdict(list)
    for item in events:
        groups[(item.namespace, item.workload_kind, item.workload, item.container, *key(item))].append(item)
    return dict(sorted(groups.items(), key=lambda kv: tuple(str(part) for part in kv[0])))


def live_pods(state: ClusterState, namespace: str, kind: str, name: str) -> list[str]:
    """Pods of a workload that are not finished (Succeeded/Failed), sorted."""
    pods = state.frames.pods
    mine = pods[(pods["namespace"] == namespace) & (pods["workload_kind"] == kind) & (pods["workload"] == name)
                & ~pods["phase"].isin(["Succeeded", "Failed"])]
    return sorted(str(p) for p in mine["pod"])


def probe_spec(state: ClusterState, namespace: str, pods: Iterable[str], container: str | None, probe: str):
    """The probe's row in ``frames.probes`` for the first of these pods that declares it."""
    if container is None:
        return None
    probes = state.frames.probes
    mine = probes[(probes["namespace"] == namespace) & (probes["container"] == container) & (probes["probe"] == probe)]
    for pod in sorted(pods):
        rows = mine[mine["pod"] == pod]
        if not rows.empty:
            return rows.iloc[0]
    return None


def workload_container(state: ClusterState, kind: str, namespace: str, name: str, container: str | None,
                       fallback_index: int | None = None) -> tuple[int | None, Mapping]:
    """(index, spec) of a container in the workload's pod template (the object a patch targets)."""
    obj = find_object(state, kind, namespace, name)
    spec = _mapping(_mapping(obj).get("spec"))
    if kind == "CronJob":
        spec = _mapping(_mapping(spec.get("jobTemplate")).get("spec"))
    pod_spec = spec if kind == "Pod" else _mapping(_mapping(spec.get("template")).get("spec"))
    for index, item in enumerate(_list(pod_spec.get("containers"))):
        if isinstance(item, Mapping) and item.get("name") == container:
            return index, item
    return fallback_index, {}


def find_object(state: ClusterState, kind: str, namespace: str | None, name: str) -> dict | None:
    """An object by kind/namespace/name; manifests without a namespace are stored under ""
    while their stand-in pods say "default", so fall back to no namespace."""
    return state.get(kind, namespace, name) or state.get(kind, None, name)


def event_window(events: Iterable[ProbeEvent]) -> tuple[int, datetime | None, datetime | None]:
    items = list(events)
    count = sum(int(i.row.count) for i in items)
    firsts = [t for t in (_time(i.row.first_seen) for i in items) if t is not None]
    lasts = [t for t in (_time(i.row.last_seen) for i in items) if t is not None]
    return count, min(firsts, default=None), max(lasts, default=None)


def events_evidence(events: Iterable[ProbeEvent], limit: int = EVIDENCE_EVENTS) -> list[Evidence]:
    """Event evidence, newest first, at most ``limit`` items plus one line for the rest."""
    def newest_first(item: ProbeEvent) -> tuple:
        moment = _time(item.row.last_seen)
        return (-(moment.timestamp() if moment else 0.0), item.pod, str(item.row.message))

    items = sorted(events, key=newest_first)
    evidence = [event_evidence(i.row, f"{i.pod}: {i.row.reason}: {i.row.message} (x{int(i.row.count)})")
                for i in items[:limit]]
    rest = items[limit:]
    if rest:
        count = sum(int(i.row.count) for i in rest)
        evidence.append(Evidence("event", f"... and {len(rest)} more Unhealthy events ({count} occurrences) on "
                                 f"{len({i.pod for i in rest})} pods", reason="Unhealthy", count=count))
    return evidence


def describe_probe(spec) -> str:
    """``HTTP GET /health/ready on port 8000`` from a ``frames.probes`` row."""
    if spec is None:
        return "probe (spec not found)"
    handler = spec["handler"]
    port = spec["port"]
    number = plain(spec["port_number"])
    if isinstance(port, str) and not port.isdigit() and number is not None:
        port = f"{port} ({int(number)})"
    if handler == "httpGet":
        return f"{spec['scheme'] or 'HTTP'} GET {spec['path'] or '/'} on port {port}"
    if handler == "tcpSocket":
        return f"TCP connect to port {port}"
    if handler == "grpc":
        return f"gRPC health check on port {port}"
    if handler == "exec":
        return f"exec {spec['command']!r}"
    return "probe"


def probe_field_evidence(state: ClusterState, kind: str, namespace: str, name: str, container: str | None,
                         probe: str, spec, *rest: str) -> Evidence | None:
    """The probe as declared, with its path in the workload (``...containers[1].livenessProbe...``)."""
    if spec is None:
        return None
    index, declared = workload_container(state, kind, namespace, name, container, int(spec["index"]))
    handler = spec["handler"]
    field = rest or ((handler, "path") if handler == "httpGet" else (handler, "port") if handler in ("tcpSocket", "grpc")
                     else (handler, "command") if handler == "exec" else ())
    path = container_path(kind, index if index is not None else int(spec["index"]), f"{probe}Probe", *field)
    value: Any = declared.get(f"{probe}Probe")  # as written in the workload, when it still has the container
    for key in field:
        value = value.get(key) if isinstance(value, Mapping) else None
    if value is None:
        value = plain({"path": spec["path"], "port": spec["port"], "command": spec["command"],
                       "timeoutSeconds": spec["timeout_seconds"]}.get(field[-1] if field else "", None))
    text = (f"{probe}Probe: {describe_probe(spec)} (timeoutSeconds {spec['timeout_seconds']}, periodSeconds "
            f"{spec['period_seconds']}, failureThreshold {spec['failure_threshold']})")
    return Evidence.from_field(text, path=path, value=value, object=object_name(kind, namespace, name))


def readiness_evidence(state: ClusterState, namespace: str, pods: list[str], container: str | None,
                       probe: str) -> Evidence | None:
    """What the failures do right now: the container's ready flag or restart count, first pod."""
    if container is None:
        return None
    for pod in pods:
        status = _mapping(_mapping(state.get("Pod", namespace, pod)).get("status"))
        for index, item in enumerate(_list(status.get("containerStatuses"))):
            item = _mapping(item)
            if item.get("name") != container:
                continue
            if probe in RESTARTING_PROBES:
                restarts = item.get("restartCount")
                if isinstance(restarts, int) and restarts > 0:
                    return Evidence.from_status(
                        f"container {container} has restarted {restarts} times",
                        path=f"status.containerStatuses[{index}].restartCount", value=restarts,
                        object=object_name("Pod", namespace, pod))
            elif item.get("ready") is False:
                return Evidence.from_status(
                    f"container {container} is not ready", path=f"status.containerStatuses[{index}].ready",
                    value=False, object=object_name("Pod", namespace, pod))
    return None


def killed_by_probe(state: ClusterState, namespace: str, pods: Iterable[str], container: str | None,
                    probes: Iterable[str]) -> list:
    """``Killing`` events saying the container failed one of these probes and will be restarted."""
    wanted = {f"{p}-probe" for p in probes}
    events = state.frames.events
    if events.empty:
        return []
    rows = events[(events["reason"] == "Killing") & (events["object_kind"] == "Pod")
                  & (events["namespace"] == namespace) & events["object_name"].isin(list(pods))]
    found = []
    for row in rows.itertuples(index=False):
        killed = parse_killing(row.message)
        if killed is None or killed.cause not in wanted:
            continue
        if container is not None and (killed.container or row.container) not in (None, container):
            continue
        found.append(row)
    return found


def pods_phrase(affected: list[str], live: list[str]) -> str:
    return f"{len(affected)}/{len(live)} pods" if live else f"{len(affected)} pods"


def all_pods_affected(affected: Iterable[str], live: list[str]) -> bool:
    return bool(live) and set(live) <= set(affected)


def nothing_serves(state: ClusterState, namespace: str, kind: str, name: str, affected: Iterable[str]) -> bool:
    """The probe fails on every pod of the workload, or no pod of it is Ready at all: the
    workload is down and this failure is (one of) the reasons."""
    live = live_pods(state, namespace, kind, name)
    if all_pods_affected(affected, live):
        return True
    pods = state.frames.pods
    mine = pods[(pods["namespace"] == namespace) & pods["pod"].isin(live)]
    return bool(live) and not mine.empty and not any(
        _pod_ready(state.get("Pod", namespace, pod)) for pod in mine["pod"])


def _pod_ready(pod: Any) -> bool:
    status = _mapping(_mapping(pod).get("status"))
    return any(_mapping(c).get("type") == "Ready" and _mapping(c).get("status") == "True"
               for c in _list(status.get("conditions")))


def crashes_on_its_own(state: ClusterState, namespace: str, pod: str, container: str | None) -> bool:
    """The container exits by itself with an error (not killed by a probe): a probe that cannot
    connect to it is a symptom of that crash, which the crashloop rule reports."""
    if container is None:
        return False
    containers = state.frames.containers
    mine = containers[(containers["namespace"] == namespace) & (containers["pod"] == pod)
                      & (containers["container"] == container)]
    if mine.empty:
        return False
    row = mine.iloc[0]
    code = plain(row["last_exit_code"])
    if not row["restarts"] or code is None or code in (0, 137, 143):
        return False
    return not killed_by_probe(state, namespace, [pod], container, RESTARTING_PROBES)


# -- the rule -------------------------------------------------------------------------------

_STATUS_EXPLANATION = {
    401: "the health endpoint requires authentication, and the kubelet sends no credentials",
    403: "the health endpoint refuses unauthenticated requests, and the kubelet sends no credentials",
}


def _status_name(code: int | None) -> str:
    if code is None:
        return "an error status"
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


def _not_served(path: str | None) -> str:
    segments = [part for part in (path or "").split("?", 1)[0].split("/") if part]
    prefix = f"/{segments[0]}" if segments else "/health"
    asked = path if segments else "/health/ready"
    return ("the app answers, but not at this path: the path is not served. A classic cause is a sub-app "
            f"mounted at {prefix} whose own routes also start with {prefix}, so it serves {prefix}{asked} instead "
            f"of {asked} (FastAPI/Starlette app.mount)")


def _explanation(code: int | None, path: str | None = None) -> str:
    if code == 404:
        return _not_served(path)
    if code in _STATUS_EXPLANATION:
        return _STATUS_EXPLANATION[code]
    if code is not None and code >= 500:
        return ("the app answers but reports itself unhealthy: its health check failed, often because a "
                "dependency it checks (database, cache, another service) is down or unreachable")
    return "the app rejects the probe's request"


@detector(Rule(
    id=RULE_ID,
    title="HTTP probe gets an error status",
    severity="critical",
    detects=("Liveness, readiness or startup probes that reach the container but get an HTTP error status "
             "(`HTTP probe failed with statuscode: N`), per workload, container and probe type, with the "
             "probe's scheme, path and port from the spec."),
    why=("A readiness probe that never succeeds keeps every pod out of its Service, and a failing liveness or "
         "startup probe restarts the container over and over. A 404 is a configuration error (the probe asks "
         "for a path the app does not serve), not an outage: no amount of waiting fixes it. A 5xx means the "
         "app or something it depends on is unhealthy."),
    example=("Readiness probe failed: HTTP probe failed with statuscode: 404\n"
             "readinessProbe: {httpGet: {path: /health/ready, port: 8000}}  # the app serves /health/health/ready"),
    fix=("For 404: point the probe at the path the app serves (check with curl inside the pod), or fix the "
         "app's routes: a FastAPI sub-app mounted at /health must declare /ready, not /health/ready. For 5xx: "
         "find which dependency the health check reports as down; keep dependency checks out of liveness."),
    runbook="probes",
    needs=frozenset({RUNTIME}),
))
def detect(state: ClusterState) -> Iterable[Finding]:
    failures = probe_events(state, ["http-status"])
    for (namespace, kind, name, container, probe), items in group_events(failures, lambda i: (i.failure.probe,)).items():
        affected = sorted({i.pod for i in items})
        live = live_pods(state, namespace, kind, name)
        spec = probe_spec(state, namespace, affected, container, probe)
        codes = sorted({i.failure.status_code for i in items if i.failure.status_code is not None})
        main_code = max(codes, key=lambda c: sum(int(i.row.count) for i in items if i.failure.status_code == c),
                        default=None)
        count, first, last = event_window(items)
        killings = killed_by_probe(state, namespace, affected, container, [probe]) if probe in RESTARTING_PROBES else []
        severity = "critical" if nothing_serves(state, namespace, kind, name, affected) else "warning"
        target = f" {describe_probe(spec)}" if spec is not None else ""
        status_text = " and ".join(_status_name(c) for c in codes) or "an error status"
        summary = (f"{name} ({container or '?'}): {probe} probe{target} returns {status_text} on {pods_phrase(affected, live)}"
                   f" ({count}x, last {ago(last, state.now)})"
                   + (" - the path is not served" if codes == [404] else "")
                   + ("; the container is restarted for it" if killings else ""))
        evidence = [e for e in (probe_field_evidence(state, kind, namespace, name, container, probe, spec),
                                readiness_evidence(state, namespace, affected, container, probe)) if e]
        paths = _distinct_paths(state, namespace, affected, container, probe)
        if len(paths) > 1:
            evidence.append(Evidence("field", f"the affected pods run different {probe} probe paths: "
                                     f"{', '.join(paths)} (pods of different revisions)"))
        evidence.extend(events_evidence(items))
        evidence.extend(event_evidence(row, f"{row.object_name}: {row.reason}: {row.message} (x{int(row.count)})")
                        for row in killings[:3])
        yield Finding(
            rule=RULE_ID, severity=severity, namespace=namespace, kind=kind, name=name, summary=summary,
            evidence=tuple(evidence), remediation=_remediation(kind, namespace, name, container, probe, spec,
                                                               main_code, affected, codes),
            pods=tuple(affected), container=container, discriminator=probe)


def _distinct_paths(state: ClusterState, namespace: str, pods: list[str], container: str | None, probe: str) -> list[str]:
    probes = state.frames.probes
    mine = probes[(probes["namespace"] == namespace) & probes["pod"].isin(pods) & (probes["container"] == container)
                  & (probes["probe"] == probe)]
    return sorted({str(p) for p in mine["path"] if isinstance(p, str)})


def _remediation(kind: str, namespace: str, name: str, container: str | None, probe: str, spec,
                 code: int | None, pods: list[str], codes: list[int]) -> Remediation:
    path = spec["path"] if spec is not None and isinstance(spec["path"], str) else None
    why = f"{_status_name(code)}: {_explanation(code, path)}."
    port = spec["port"] if spec is not None else None
    if spec is not None and plain(spec["port_number"]) is not None:
        port = int(plain(spec["port_number"]))  # curl and port-forward want the number
    scheme = (spec["scheme"] or "HTTP").lower() if spec is not None else "http"
    pod = pods[0] if pods else "<pod>"
    ns_flag = f" -n {namespace}" if namespace else ""
    c_flag = f" -c {container}" if container else ""
    if code == 404 and container and path is not None:
        text = (f"{why} Replace {path} in the patch with the path the app actually serves for this check. To find "
                f"it, ask the app from inside the pod: `kubectl exec{ns_flag} {pod}{c_flag} -- curl -sk -o /dev/null "
                f"-w '%{{http_code}}\\n' {scheme}://localhost:{port}{path}` (or `kubectl port-forward{ns_flag} "
                f"pod/{pod} {port}` and curl it locally; a FastAPI app lists its routes at /openapi.json). If the "
                f"app mounts a health sub-app at a prefix, declare the sub-app's routes relative to the mount "
                f"(/ready, not /health/ready) and keep the probe path as it is; patching the probe to the doubled "
                f"path only hides the routing bug.")
        return container_patch(kind, namespace, name, container, {f"{probe}Probe": {"httpGet": {"path": path}}}, text)
    if code is not None and code >= 500:
        text = (f"{why} Check what the endpoint reports (`kubectl exec{ns_flag} {pod}{c_flag} -- curl -sk "
                f"{scheme}://localhost:{port}{path or '/'}`) and the container's logs, then fix the failing "
                f"dependency. Keep dependency checks out of liveness probes: when a shared dependency is down "
                f"they restart every replica at once and make the outage worse.")
        return Remediation(text=text, command=f"kubectl logs{ns_flag} {pod}{c_flag} --tail=100")
    if code in (401, 403):
        text = f"{why} Exempt {path or 'the probe path'} from authentication in the app, or probe an unauthenticated endpoint."
        return Remediation(text=text)
    return Remediation(text=f"{why} Check the request the app expects at {path or 'this path'} "
                            f"(method, Host header, scheme) against the probe's spec.")
