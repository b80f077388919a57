"""probe-connection-refused: probes refused because nothing listens on the port.

Joined with the container spec: is the port declared, and, for known images
(``runbooks_lib.known_images``), do the command-line flags switch on the server
that should listen there? When probe-port-not-served explains the refusal from the
spec, this finding links to it and carries the same patch.
"""

from __future__ import annotations

from typing import Iterable

from ..findings import Evidence, Finding, Remediation
from ..registry import Rule, detector
from ..state import RUNTIME, ClusterState
from ..timeutil import ago
from ._common import (RESTARTING_PROBES, affected_pods_phrase, container_patch, container_path, crashes_on_its_own,
                      event_window, events_evidence, frame_rows, group_events, live_pods, nothing_serves, object_name,
                      probe_events, probe_field_evidence, probe_spec, readiness_evidence)
from .probe_port_not_served import HEALTH_SERVER, explained_findings

RULE_ID = "probe-connection-refused"
_ORDER = ("liveness", "startup", "readiness")


def _port_of(state: ClusterState, item) -> int | None:
    if item.failure.port is not None:
        return item.failure.port
    spec = probe_spec(state, item.namespace, [item.pod], item.container, item.failure.probe)
    if spec is not None and spec["port_number"] is not None and spec["port_number"] == spec["port_number"]:
        return int(spec["port_number"])
    return None


@detector(Rule(
    id=RULE_ID,
    title="Probe connection refused",
    severity="critical",
    detects=("Probes failing with `connect: connection refused`: nothing listens on the probed port. Joined "
             "with the container spec: whether the port is declared, and for known images (cloud-sql-proxy v2) "
             "whether the flags that start the health server are there."),
    why=("A refused liveness or startup probe restarts the container in a loop; a refused readiness probe keeps "
         "the pod out of its Service. Unlike a slow or failing endpoint, a refusal means the server that should "
         "answer is not running, listens on another port, or listens on localhost only."),
    example=("Liveness probe failed: Get \"http://10.8.1.23:9801/liveness\": dial tcp 10.8.1.23:9801: connect: "
             "connection refused\n# the cloud-sql-proxy sidecar runs without --health-check"),
    fix=("Make the container listen on the probed port on all interfaces, or point the probe at the port it "
         "listens on. For cloud-sql-proxy v2 add --health-check, --http-port=<probe port> and "
         "--http-address=0.0.0.0. If the refusals only happen while the app starts, add a startupProbe."),
    runbook="probes",
    needs=frozenset({RUNTIME}),
))
def detect(state: ClusterState) -> Iterable[Finding]:
    failures = [item for item in probe_events(state, ["connection-refused"])
                if not crashes_on_its_own(state, item.namespace, item.pod, item.container)]
    if not failures:
        return
    explained = {(f.namespace, f.kind, f.name, f.container): (f, reasons) for f, reasons in explained_findings(state)
                 if f.discriminator == HEALTH_SERVER}
    groups = group_events(failures, lambda item: (_port_of(state, item),))
    for (namespace, kind, name, container, port), items in groups.items():
        affected = sorted({i.pod for i in items})
        live = live_pods(state, namespace, kind, name)
        probes = sorted({i.failure.probe for i in items}, key=_ORDER.index)
        count, first, last = event_window(items)
        restarts = [p for p in probes if p in RESTARTING_PROBES]
        severity = "critical" if restarts or nothing_serves(state, namespace, kind, name, affected) else "warning"
        specs = {p: probe_spec(state, namespace, affected, container, p) for p in probes}
        declared = _declared_ports(state, namespace, affected, container)
        static, static_reasons = explained.get((namespace, kind, name, container), (None, []))
        port_text = f"port {port}" if port is not None else "its port"
        reason = _reason(static_reasons, port, declared)
        summary = (f"{name} ({container or '?'}): {' and '.join(probes)} probe{'s' if len(probes) > 1 else ''} on "
                   f"{port_text} refused on {affected_pods_phrase(affected, live)} ({count}x, last {ago(last, state.now)}) - "
                   f"{reason}")
        evidence: list[Evidence] = []
        for probe in probes:
            item = probe_field_evidence(state, kind, namespace, name, container, probe, specs[probe])
            if item:
                evidence.append(item)
        evidence.append(_ports_evidence(kind, namespace, name, container, port, declared))
        for probe in probes:
            item = readiness_evidence(state, namespace, affected, container, probe)
            if item:
                evidence.append(item)
                break
        if static is not None:
            evidence.extend(e for e in static.evidence if e.path and (e.path.endswith(".args") or e.path.endswith(".command"))
                            and e.source == "field" and e.value is not None)
            evidence.append(Evidence("field", f"explained by {static.rule}: {static.summary}"))
        evidence.extend(events_evidence(items))
        yield Finding(
            rule=RULE_ID, severity=severity, namespace=namespace, kind=kind, name=name, summary=summary,
            evidence=tuple(evidence),
            remediation=_remediation(static, kind, namespace, name, container, port, specs, declared, affected),
            pods=tuple(affected), container=container,
            discriminator=f"port {port}" if port is not None else ",".join(probes),
            related=(static.id,) if static is not None else ())


def _declared_ports(state: ClusterState, namespace: str, pods: list[str], container: str | None) -> list[tuple]:
    mine = state.frames.lookup("ports", namespace=namespace, container=container)
    mine = mine[mine["pod"].isin(pods)]
    declared = frame_rows(mine, ["name", "port", "protocol", "index"])
    return sorted({(row.name, int(row.port), row.protocol, int(row.index)) for row in declared
                   if row.port == row.port and row.port is not None},
                  key=lambda p: (p[1], str(p[0])))


def _reason(static_reasons: list[str], port: int | None, declared: list[tuple]) -> str:
    if static_reasons:
        return "nothing listens there: " + "; ".join(static_reasons)
    numbers = {p[1] for p in declared}
    if port is not None and numbers and port not in numbers:
        return (f"nothing listens there; the container declares port{'s' if len(numbers) > 1 else ''} "
                f"{', '.join(str(n) for n in sorted(numbers))}, not {port}")
    if port is not None and not numbers:
        return "nothing listens there, and the container declares no ports"
    return "nothing listens there (or only on localhost)"


def _ports_evidence(kind: str, namespace: str, name: str, container: str | None, port: int | None,
                    declared: list[tuple]) -> Evidence:
    listing = ", ".join(f"{n or '(unnamed)'} {p}/{proto}" for n, p, proto, _ in declared) or "none"
    index = declared[0][3] if declared else None
    is_declared = port is not None and any(p[1] == port for p in declared)
    text = (f"container {container} declares ports: {listing}; port {port} is "
            f"{'declared' if is_declared else 'not declared'}")
    path = container_path(kind, index, "ports") if index is not None else None
    return Evidence("field", text, object=object_name(kind, namespace, name), path=path,
                    value=[{"name": n, "containerPort": p, "protocol": proto} for n, p, proto, _ in declared] or None)


def _remediation(static: Finding | None, kind: str, namespace: str, name: str, container: str | None,
                 port: int | None, specs: dict, declared: list[tuple], pods: list[str]) -> Remediation:
    if static is not None and static.remediation is not None:
        return static.remediation
    ns_flag = f" -n {namespace}" if namespace else ""
    c_flag = f" -c {container}" if container else ""
    pod = pods[0] if pods else "<pod>"
    check = (f"`kubectl exec{ns_flag} {pod}{c_flag} -- ss -ltn` (or `netstat -ltn`, or `cat /proc/net/tcp` in "
             f"minimal images) shows what listens, and on which address")
    base = (f"Nothing accepts connections on port {port} at the pod IP. Either the server is not started (a "
            f"missing flag or config), listens on another port, or listens on 127.0.0.1 only, which the kubelet "
            f"(probing the pod IP) never reaches: {check}. If the refusals only happen while the app starts, "
            f"give it a startupProbe (or a larger initialDelaySeconds) so liveness does not kill it before it "
            f"listens.")
    tcp = [p for p in declared if p[2] == "TCP"]
    if container and port is not None and len(tcp) == 1 and tcp[0][1] != port:
        target = tcp[0][1]
        body = {}
        for probe, spec in specs.items():
            if spec is not None and spec["handler"] in ("httpGet", "tcpSocket", "grpc"):
                body[f"{probe}Probe"] = {spec["handler"]: {"port": target}}
        if body:
            return container_patch(kind, namespace, name, container, body,
                                   base + f" The container declares one port, {target}; if the app listens there, "
                                          f"the patch points the probes at it.")
    return Remediation(text=base, target=object_name(kind, namespace, name),
                       command=f"kubectl exec{ns_flag} {pod}{c_flag} -- ss -ltn")
