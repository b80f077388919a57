"""service-target-port-missing: a Service targetPort that the selected containers do not declare."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..findings import Evidence, Finding, Remediation
from ..registry import Rule, detector
from ._common import (container_path, is_stand_in, location, object_name, pod_spec_path, pods_by_namespace,
                      selected_pods, to_yaml, workload_of)
from ._common import as_list as _l, as_mapping as _d

RULE_ID = "service-target-port-missing"


@detector(Rule(
    id=RULE_ID,
    title="Service targetPort not declared by its pods",
    severity="critical",
    detects=(
        "A Service port whose targetPort is a name that no selected container declares as a containerPort "
        "(with the Service port's protocol), or a number that the selected containers do not declare while "
        "declaring other ports. Static: works on manifests and on live pods."),
    why=(
        "The endpoints controller resolves a named targetPort in each pod; a pod without that port name gets no "
        "endpoint for the Service port, so the Service has no backends although the pods are Ready. A numeric "
        "targetPort to an undeclared port still works, but when the container declares other ports it usually "
        "means the Service points at the wrong port."),
    example=(
        "Service web: ports[0] {port: 80, targetPort: http}; Deployment web: containers[0].ports: "
        "[{name: http-api, containerPort: 8080}] -> the endpoints of port 80 stay empty."),
    fix=(
        "Point targetPort at a port the container declares (its name or number), or declare the named port on "
        "the container that serves it."),
    runbook="services",
    needs=frozenset(),
))
def detect(state) -> Iterable[Finding]:
    by_namespace = pods_by_namespace(state)
    findings = []
    for service in state.of_kind("Service"):
        meta, spec = _d(service.get("metadata")), _d(service.get("spec"))
        name = meta.get("name")
        if not isinstance(name, str) or spec.get("type") == "ExternalName":
            continue
        pods = selected_pods(by_namespace, service)
        if not pods:
            continue  # service-no-endpoints reports it
        for index, port in enumerate(_l(spec.get("ports"))):
            port = _d(port)
            finding = _check_port(state, service, meta.get("namespace"), name, index, port, pods)
            if finding is not None:
                findings.append(finding)
    return findings


def declared_ports(pod: Mapping) -> list[tuple[str, int, Mapping]]:
    """(container name, index, port) for every port of the pod's containers and sidecar init containers."""
    spec = _d(pod.get("spec"))
    out = []
    for index, container in enumerate(_l(spec.get("containers"))):
        for port in _l(_d(container).get("ports")):
            out.append((_d(container).get("name"), index, _d(port)))
    for container in _l(spec.get("initContainers")):
        if _d(container).get("restartPolicy") == "Always":  # sidecars serve traffic too (1.29+)
            for port in _l(_d(container).get("ports")):
                out.append((_d(container).get("name"), None, _d(port)))
    return out


def _check_port(state, service: Mapping, namespace: str | None, name: str, index: int, port: Mapping,
                pods: list[dict]) -> Finding | None:
    target = port.get("targetPort")
    if target is None or target == 0 or target == "":
        target = port.get("port")  # the API server defaults targetPort to port
    protocol = port.get("protocol") or "TCP"
    if isinstance(target, str) and target.isdigit():
        target = int(target)
    if isinstance(target, bool) or not isinstance(target, (str, int)) or target == "":
        return None
    named = isinstance(target, str)

    lacking = []
    for pod in pods:
        ports = declared_ports(pod)
        if named:
            found = any(p.get("name") == target and (p.get("protocol") or "TCP") == protocol for _, _, p in ports)
            if not found:
                lacking.append(pod)
        elif ports and not any(p.get("containerPort") == target and (p.get("protocol") or "TCP") == protocol
                               for _, _, p in ports):
            lacking.append(pod)
    if not lacking:
        return None

    if named:
        severity = "critical" if len(lacking) == len(pods) else "warning"
    else:
        severity = "info"
    label = port.get("name") or str(port.get("port"))
    svc_target = object_name("Service", namespace, name)
    groups = _by_workload(state, lacking)
    workloads = ", ".join(f"{kind} {wname}" for kind, wname in groups)

    evidence = [Evidence.from_field(
        f"ports[{index}] ({label}, {port.get('port')}/{protocol}) targetPort {target!r}",
        path=f"spec.ports[{index}].targetPort", value=target, object=svc_target)]
    candidates: list[Mapping] = []
    for (kind, wname), pod in groups.items():
        obj_kind, obj_name, spec = _spec_to_fix(state, kind, wname, pod)
        for c_index, container in enumerate(_l(spec.get("containers"))):
            container = _d(container)
            ports = [_d(p) for p in _l(container.get("ports"))]
            candidates.extend(ports)
            evidence.append(Evidence.from_field(
                f"{obj_kind} {obj_name} container {container.get('name')} declares "
                + (", ".join(_port_text(p) for p in ports) if ports else "no ports"),
                path=container_path(obj_kind, c_index, "ports"),
                value=[dict(p) for p in ports] or None, object=object_name(obj_kind, namespace, obj_name)))

    if named:
        other_protocol = [p for p in candidates if p.get("name") == target]
        if other_protocol:
            why = f"declared only as {other_protocol[0].get('protocol') or 'TCP'}, the Service port is {protocol}"
        else:
            why = "no selected container declares it"
        consequence = ("the endpoints get no port for it" if severity == "critical"
                       else f"{len(lacking)} of {len(pods)} selected pods lack it and get no endpoint for it")
        summary = f"{name} port {label} targets port name \"{target}\": {why} ({workloads}); {consequence}"
    else:
        one = len(groups) == 1
        summary = (f"{name} port {label} targets port {target}/{protocol}, which {workloads} "
                   f"{'does' if one else 'do'} not declare ({'it declares' if one else 'they declare'} "
                   f"{', '.join(sorted({_port_text(p) for p in candidates}))})")

    remediation = _remediation(namespace, name, index, target, protocol, candidates, named, port)
    pod_names = tuple(sorted(_d(p.get("metadata")).get("name") for p in lacking if not is_stand_in(p)))
    return Finding(rule=RULE_ID, severity=severity, namespace=namespace, kind="Service", name=name, summary=summary,
                   evidence=tuple(evidence), remediation=remediation, pods=pod_names,
                   discriminator=f"ports[{index}]:{label}",
                   location=location(state, "Service", namespace, name, f"spec.ports[{index}].targetPort"))


def _remediation(namespace: str | None, name: str, index: int, target: Any, protocol: str,
                 candidates: list[Mapping], named: bool, port: Mapping) -> Remediation:
    same_protocol = [p for p in candidates if (p.get("protocol") or "TCP") == protocol]
    distinct = {(_scalar(p.get("name")), _scalar(p.get("containerPort"))) for p in same_protocol}
    choice = None
    if named:
        for p in same_protocol:  # a case or spelling slip: HTTP vs http
            if isinstance(p.get("name"), str) and p["name"].lower() == str(target).lower():
                choice = p
        if choice is None and len(distinct) == 1:
            choice = same_protocol[0]
        if choice is None:
            by_number = [p for p in same_protocol if p.get("containerPort") == port.get("port")]
            choice = by_number[0] if len(by_number) == 1 else None
    ns_flag = f" -n {namespace}" if namespace else ""
    if named and choice is not None:
        value = choice.get("name") or choice.get("containerPort")
        patch = [{"op": "replace", "path": f"/spec/ports/{index}/targetPort", "value": value}]
        return Remediation(
            text=(f"Point targetPort at the declared port {_port_text(choice)} (the patch), or declare a "
                  f"containerPort named \"{target}\" on the container that serves it."),
            patch=to_yaml(patch), patch_type="json", target=object_name("Service", namespace, name),
            command=f"kubectl patch service {name}{ns_flag} --type json --patch-file fix.yaml")
    if named:
        return Remediation(
            text=(f"Declare a containerPort named \"{target}\" ({protocol}) on the container that serves this "
                  f"Service, or point targetPort at a port the containers declare."))
    return Remediation(
        text=(f"If the container listens on {target}, declare it (containerPort {target}) so the port is "
              "documented and can be referenced by name; if it listens on one of the declared ports, point "
              "targetPort there."))


def _by_workload(state, pods: list[dict]) -> dict[tuple[str, str], dict]:
    groups: dict[tuple[str, str], dict] = {}
    for pod in sorted(pods, key=lambda p: str(_d(p.get("metadata")).get("name"))):
        groups.setdefault(workload_of(state, pod), pod)
    return dict(sorted(groups.items()))


def _spec_to_fix(state, kind: str, name: str, pod: Mapping) -> tuple[str, str, Mapping]:
    """The pod spec a person edits: the workload's template when we have the workload, else the pod's."""
    if kind != "Pod":
        namespace = _d(pod.get("metadata")).get("namespace")
        workload = state.get(kind, namespace, name) or (state.get(kind, None, name) if namespace == "default" else None)
        if workload is not None:
            spec: Any = workload
            for key in pod_spec_path(kind).split("."):
                spec = _d(spec).get(key)
            return kind, name, _d(spec)
    return "Pod", _d(pod.get("metadata")).get("name"), _d(pod.get("spec"))


def _port_text(port: Mapping) -> str:
    name = f"{port.get('name')}:" if port.get("name") else ""
    return f"{name}{port.get('containerPort')}/{port.get('protocol') or 'TCP'}"


def _scalar(value: Any) -> Any:
    """The value if it can be compared and hashed (str/int), else its repr: raw manifests hold anything."""
    return value if isinstance(value, (str, int)) else repr(value)
