"""probe-http-error: HTTP probes answered with an error status (404, 503, ...).

The helpers the event-based probe rules share (``Unhealthy`` events parsed and placed on a
workload's container, the probe spec and its description) are in ``_common``.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Iterable

from ..findings import Evidence, Finding, Remediation
from ..registry import Rule, detector
from ..state import RUNTIME, ClusterState
from ..timeutil import ago
from ._common import (RESTARTING_PROBES, affected_pods_phrase, container_patch, describe_probe, event_evidence,
                      event_window, events_evidence, group_events, killed_by_probe, live_pods, nothing_serves, plain,
                      probe_events, probe_field_evidence, probe_spec, readiness_evidence)

RULE_ID = "probe-http-error"


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
        summary = (f"{name} ({container or '?'}): {probe} probe{target} returns {status_text} on {affected_pods_phrase(affected, live)}"
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
    mine = state.frames.lookup("probes", namespace=namespace, container=container, probe=probe)
    mine = mine[mine["pod"].isin(pods)]
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
