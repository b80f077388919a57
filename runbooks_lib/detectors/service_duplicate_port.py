"""service-duplicate-port: Service ports or container ports that repeat a name (or port/protocol)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ..findings import Evidence, Finding, Remediation
from ..registry import Rule, detector
from ..state import RUNTIME
from ._common import as_list as _l, as_mapping as _d
from ._common import container_path, is_stand_in, location, object_name, pod_spec_path, to_yaml, workload_of

RULE_ID = "service-duplicate-port"
_TEMPLATE_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob")
_MAX_CONTAINER_PORT_NAME = 15  # IANA_SVC_NAME


@detector(Rule(
    id=RULE_ID,
    title="Duplicate port name or port",
    severity="critical",
    detects=(
        "A Service whose `spec.ports` repeat a name, a (port, protocol) pair or a nodePort, and pod specs or "
        "workload templates whose containers repeat a port name: within one container (rejected by the API "
        "server; critical) or across containers (accepted with a warning, named ports then resolve to the first: "
        "warning when a probe or Service uses the name, else info). Checks every object given, so it catches what "
        "a kustomize merge produced before it is applied."),
    why=(
        "The API server rejects the object, so `kubectl apply` (and the CD pipeline) fails and nothing of the "
        "change is deployed; kustomize strategic merges key Service ports on the port number, so an overlay that "
        "changes a port can leave two entries with the same name."),
    example='The Service "redis-session" is invalid: spec.ports[1].name: Duplicate value: "redis"',
    fix=(
        "Rename the second port (or remove the entry when it repeats the first one entirely), and update anything "
        "that refers to the port by name (Ingress backends, ServiceMonitors)."),
    runbook="services",
    needs=frozenset(),
))
def detect(state) -> Iterable[Finding]:
    findings: list[Finding] = []
    for service in state.of_kind("Service"):
        findings.extend(_service_findings(state, service))
    findings.extend(_container_findings(state))
    return findings


# -- Services -----------------------------------------------------------------------------------

def _service_findings(state, service: Mapping) -> list[Finding]:
    meta, spec = _d(service.get("metadata")), _d(service.get("spec"))
    name, namespace = meta.get("name"), meta.get("namespace")
    if not isinstance(name, str):
        return []
    ports = [_d(p) for p in _l(spec.get("ports"))]
    findings = []
    names: dict[str, int] = {}
    pairs: dict[tuple[Any, str], int] = {}
    node_ports: dict[int, int] = {}
    for j, port in enumerate(ports):
        port_name = port.get("name")
        pair = (_scalar(port.get("port")), _scalar(port.get("protocol") or "TCP"))
        name_dup = names.get(port_name) if isinstance(port_name, str) and port_name else None
        pair_dup = pairs.get(pair) if pair[0] is not None else None
        node_port = port.get("nodePort")
        node_dup = node_ports.get(node_port) if isinstance(node_port, int) and node_port else None
        if name_dup is not None and pair_dup == name_dup:
            findings.append(_service_finding(state, namespace, name, ports, name_dup, j, "entry"))
        else:
            if name_dup is not None:
                findings.append(_service_finding(state, namespace, name, ports, name_dup, j, "name"))
            if pair_dup is not None:
                findings.append(_service_finding(state, namespace, name, ports, pair_dup, j, "port"))
        if node_dup is not None:
            findings.append(_service_finding(state, namespace, name, ports, node_dup, j, "nodePort"))
        if isinstance(port_name, str) and port_name:
            names.setdefault(port_name, j)
        if pair[0] is not None:
            pairs.setdefault(pair, j)
        if isinstance(node_port, int) and node_port:
            node_ports.setdefault(node_port, j)
    return findings


def _service_finding(state, namespace: str | None, name: str, ports: list[Mapping], first: int, second: int,
                     what: str) -> Finding:
    a, b = ports[first], ports[second]
    target = object_name("Service", namespace, name)
    ns_flag = f" -n {namespace}" if namespace else ""
    command = f"kubectl patch service {name}{ns_flag} --type json --patch-file fix.yaml"
    protocol = b.get("protocol") or "TCP"
    if what == "nodePort":
        field, value = f"spec.ports[{second}].nodePort", b.get("nodePort")
        api_message = f"{field}: Duplicate value: {value}"
        evidence_paths = [(f"spec.ports[{first}].nodePort", a.get("nodePort")), (field, value)]
        patch = [{"op": "remove", "path": f"/spec/ports/{second}/nodePort"}]
        text = "Give the second port its own nodePort, or drop it and let the API server allocate one (the patch)."
    elif what == "name":
        field, value = f"spec.ports[{second}].name", b.get("name")
        api_message = f'{field}: Duplicate value: "{value}"'
        evidence_paths = [(f"spec.ports[{first}].name", a.get("name")), (field, value)]
        new_name = _unique_name(f"{value}-{b.get('port')}", {_scalar(p.get("name")) for p in ports}, 63)
        patch = [{"op": "replace", "path": f"/spec/ports/{second}/name", "value": new_name}]
        text = (f"Rename the second port, e.g. to \"{new_name}\" (the patch), and update what refers to it by name "
                f"(Ingress backends, ServiceMonitors). With kustomize, fix the overlay patch that adds it: strategic "
                f"merges match Service ports on the port number, not the name.")
    else:
        field = f"spec.ports[{second}]"
        value = {"port": b.get("port"), "protocol": protocol}
        api_message = f"{field}: Duplicate value: {json.dumps(value)}"
        evidence_paths = [(f"spec.ports[{first}]", dict(a)), (field, dict(b))]
        patch = [{"op": "remove", "path": f"/spec/ports/{second}"}]
        if what == "entry":
            api_message = f'spec.ports[{second}].name: Duplicate value: "{b.get("name")}"; {api_message}'
            text = "The second entry repeats the first one: remove it (the patch)."
        else:
            text = ("Two entries expose the same port and protocol: remove one (the patch) or give the second its "
                    "own port.")
    evidence = [Evidence.from_field(f"{path}: {value_!r}", path=path, value=value_, object=target)
                for path, value_ in evidence_paths]
    evidence.insert(0, Evidence("field", f"The API server rejects it: {api_message}", object=target, path=field,
                                value=value))
    where = location(state, "Service", namespace, name, field)
    if where is not None and RUNTIME not in state.capabilities:
        text += f" It comes from {where.file}" + (f" (document at line {where.line})." if where.line else ".")
    first_label = a.get("name") or a.get("port")
    summary = f"{name}: {api_message} (ports[{first}] {first_label} and ports[{second}] repeat it)"
    return Finding(rule=RULE_ID, severity="critical", namespace=namespace, kind="Service", name=name, summary=summary,
                   evidence=tuple(evidence),
                   remediation=Remediation(text=text, patch=to_yaml(patch), patch_type="json", target=target,
                                           command=command),
                   discriminator=f"{field}:{what}", location=where)


# -- containers -----------------------------------------------------------------------------------

def _container_findings(state) -> list[Finding]:
    findings: list[Finding] = []
    checked: set[tuple[str | None, str, str]] = set()
    for kind in _TEMPLATE_KINDS:
        for obj in state.of_kind(kind):
            meta = _d(obj.get("metadata"))
            name, namespace = meta.get("name"), meta.get("namespace")
            if not isinstance(name, str) or _has_owner_in_state(state, obj):
                continue
            checked.add((namespace or "default", kind, name))
            findings.extend(_pod_spec_findings(state, kind, namespace, name, _pod_spec(obj, kind),
                                               object_name(kind, namespace, name), kind, _template_labels(obj, kind)))
    for pod in state.of_kind("Pod"):
        if is_stand_in(pod):
            continue  # made from a template checked above
        meta = _d(pod.get("metadata"))
        namespace = meta.get("namespace")
        kind, name = workload_of(state, pod)
        key = (namespace or "default", kind, name)
        if key in checked:
            continue  # the workload's template speaks for its pods (one finding, not one per replica)
        checked.add(key)
        findings.extend(_pod_spec_findings(state, kind, namespace, name, _d(pod.get("spec")),
                                           object_name("Pod", namespace, meta.get("name")), "Pod",
                                           _d(meta.get("labels"))))
    return findings


def _pod_spec_findings(state, kind: str, namespace: str | None, name: str, spec: Mapping, source: str,
                       path_kind: str, labels: Mapping) -> list[Finding]:
    findings = []
    users = None  # what refers to a port by name; computed only when a duplicate is found
    first_by_name: dict[str, tuple[str, int, int, str]] = {}  # name -> (container, index, port index, path)
    entries = [(False, i, _d(c)) for i, c in enumerate(_l(spec.get("containers")))]
    entries += [(True, i, _d(c)) for i, c in enumerate(_l(spec.get("initContainers")))
                if _d(c).get("restartPolicy") == "Always"]
    for init, c_index, container in entries:
        seen_here: dict[str, int] = {}
        for p_index, port in enumerate(_l(container.get("ports"))):
            port_name = _d(port).get("name")
            if not isinstance(port_name, str) or not port_name:
                continue
            path = _port_path(path_kind, init, c_index, p_index)
            if port_name in seen_here:
                first_path = _port_path(path_kind, init, c_index, seen_here[port_name])
                findings.append(_container_finding(state, kind, namespace, name, container, c_index, init, path_kind,
                                                   source, port_name, first_path, path, p_index, same=True))
            elif port_name in first_by_name:
                first_path = first_by_name[port_name][3]
                if users is None:
                    users = _name_users(state, namespace, spec, labels)
                findings.append(_container_finding(state, kind, namespace, name, container, c_index, init, path_kind,
                                                   source, port_name, first_path, path, p_index, same=False,
                                                   users=users.get(port_name, [])))
            seen_here.setdefault(port_name, p_index)
            first_by_name.setdefault(port_name, (container.get("name"), c_index, p_index, path))
    return findings


def _container_finding(state, kind: str, namespace: str | None, name: str, container: Mapping, c_index: int,
                       init: bool, path_kind: str, source: str, port_name: str, first_path: str, path: str,
                       p_index: int, same: bool, users: list[str] | None = None) -> Finding:
    container_name = container.get("name")
    taken = {_scalar(_d(p).get("name")) for p in _l(container.get("ports"))}
    port_number = _d(_l(container.get("ports"))[p_index]).get("containerPort")
    new_name = _unique_name(_iana(f"{port_name}-{port_number}" if port_number else f"{port_name}-2"), taken,
                            _MAX_CONTAINER_PORT_NAME)
    if same:
        api_message = f'{path}.name: Duplicate value: "{port_name}"'
        severity = "critical"
        consequence = "the API server rejects it"
    else:
        api_message = (f'{path}: duplicate port name "{port_name}" with {first_path}, services and probes that '
                       f"select ports by name will use {first_path}")
        if users:
            severity = "warning"
            consequence = f"{' and '.join(users[:2])} use the name and get the first port"
        else:
            severity = "info"  # accepted by the API server, and nothing refers to the name (e.g. GKE's kube-dns)
            consequence = "accepted with a warning; nothing refers to the name yet"
    in_namespace = state.of_kind("Pod", namespace) if namespace is not None else state.of_kind("Pod")
    pods = tuple(sorted(p["metadata"]["name"] for p in in_namespace
                        if not is_stand_in(p) and _d(p.get("metadata")).get("namespace") == namespace
                        and workload_of(state, p) == (kind, name)))
    json_path = "/" + path.replace(".", "/").replace("[", "/").replace("]", "") + "/name"
    patch = [{"op": "replace", "path": json_path, "value": new_name}]
    target_kind, target_name = source.split(" ", 1)
    target_name = target_name.split("/", 1)[-1]
    ns_flag = f" -n {namespace}" if namespace else ""
    where = location(state, target_kind, namespace, target_name, path)
    text = (f"Rename the second port, e.g. to \"{new_name}\" (the patch; container port names are at most "
            f"15 characters), and update probes and Services that use it by name.")
    if where is not None and RUNTIME not in state.capabilities:
        text += f" It comes from {where.file}" + (f" (document at line {where.line})." if where.line else ".")
    evidence = (
        Evidence("field", f"{'The API server rejects it' if same else 'API server warning'}: {api_message}",
                 object=source, path=f"{path}.name", value=port_name),
        Evidence.from_field(f"{first_path}.name: {port_name!r}", path=f"{first_path}.name", value=port_name, object=source),
        Evidence.from_field(f"{path}.name: {port_name!r}", path=f"{path}.name", value=port_name, object=source),
    )
    summary = f"{name} container {container_name}: {api_message} ({consequence})"
    return Finding(rule=RULE_ID, severity=severity, namespace=namespace, kind=kind, name=name, summary=summary,
                   evidence=evidence, pods=pods, container=container_name,
                   remediation=Remediation(text=text, patch=to_yaml(patch), patch_type="json", target=source,
                                           command=f"kubectl patch {target_kind.lower()} {target_name}{ns_flag} "
                                                   f"--type json --patch-file fix.yaml"),
                   discriminator=f"{path}.name", location=where)


# -- helpers ---------------------------------------------------------------------------------------

def _name_users(state, namespace: str | None, spec: Mapping, labels: Mapping) -> dict[str, list[str]]:
    """Port name -> what refers to it: probes of the pod spec, targetPorts of Services selecting the pods."""
    users: dict[str, list[str]] = {}
    for container in _l(spec.get("containers")) + _l(spec.get("initContainers")):
        container = _d(container)
        for probe_type in ("liveness", "readiness", "startup"):
            probe = _d(container.get(f"{probe_type}Probe"))
            for handler in ("httpGet", "tcpSocket"):
                port = _d(probe.get(handler)).get("port")
                if isinstance(port, str) and not port.isdigit():
                    users.setdefault(port, []).append(f"the {probe_type} probe of {container.get('name')}")
    wanted = namespace or "default"
    # Indexed by namespace, but for default, which also holds the Services that name no namespace.
    for service in state.of_kind("Service", wanted) if wanted != "default" else state.of_kind("Service"):
        meta, svc_spec = _d(service.get("metadata")), _d(service.get("spec"))
        selector = svc_spec.get("selector")
        if (meta.get("namespace") or "default") != (namespace or "default") or not isinstance(selector, Mapping) \
                or not selector or not all(str(labels.get(k)) == str(v) and k in labels for k, v in selector.items()):
            continue
        for port in _l(svc_spec.get("ports")):
            target = _d(port).get("targetPort")
            if isinstance(target, str) and not target.isdigit():
                users.setdefault(target, []).append(f"Service {meta.get('name')}")
    return users


def _template_labels(obj: Mapping, kind: str) -> Mapping:
    template: Any = obj
    for key in pod_spec_path(kind).split(".")[:-1]:  # spec.template.spec -> spec.template
        template = _d(template).get(key)
    return _d(_d(_d(template).get("metadata")).get("labels"))


def _port_path(kind: str, init: bool, c_index: int, p_index: int) -> str:
    if init:
        return f"{pod_spec_path(kind)}.initContainers[{c_index}].ports[{p_index}]"
    return container_path(kind, c_index, f"ports[{p_index}]")


def _pod_spec(obj: Mapping, kind: str) -> Mapping:
    spec: Any = obj
    for key in pod_spec_path(kind).split("."):
        spec = _d(spec).get(key)
    return _d(spec)


def _has_owner_in_state(state, obj: Mapping) -> bool:
    """A ReplicaSet of a Deployment, a Job of a CronJob: the owner's template is the one to fix."""
    meta = _d(obj.get("metadata"))
    for ref in _l(meta.get("ownerReferences")):
        ref = _d(ref)
        if ref.get("kind") in _TEMPLATE_KINDS and isinstance(ref.get("name"), str) and \
                state.get(ref["kind"], meta.get("namespace"), ref["name"]) is not None:
            return True
    return False


def _iana(name: str) -> str:
    return name[:_MAX_CONTAINER_PORT_NAME].strip("-")


def _unique_name(candidate: str, taken: set, limit: int) -> str:
    candidate = candidate[:limit].strip("-")
    if candidate not in taken:
        return candidate
    for n in range(2, 100):
        suffix = f"-{n}"
        alt = candidate[:limit - len(suffix)].strip("-") + suffix
        if alt not in taken:
            return alt
    return candidate


def _scalar(value: Any) -> Any:
    """The value if it can be compared and hashed (str/int), else its repr: raw manifests hold anything."""
    return value if isinstance(value, (str, int)) or value is None else repr(value)
