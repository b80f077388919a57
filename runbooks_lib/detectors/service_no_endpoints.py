"""service-no-endpoints: a Service whose selector matches no pod, or no ready pod."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..findings import Evidence, Finding, Remediation
from ..frames import kubectl_pod_status
from ..registry import Rule, detector
from ..state import RUNTIME
from ._common import (is_stand_in, is_terminal, labels_of, location, matches, object_name,
                      pod_spec_path, pods_by_namespace, related_findings, related_to, selector_of, to_yaml, workload_of)
from ._common import as_list as _l, as_mapping as _d

RULE_ID = "service-no-endpoints"
_MAX_POD_EVIDENCE = 5
_TEMPLATE_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob")


@detector(Rule(
    id=RULE_ID,
    title="Service has no endpoints",
    severity="critical",
    detects=(
        "A Service with a selector that matches no pod in its namespace, or whose matching pods are all not "
        "Ready (unless the Service sets publishNotReadyAddresses). Services without a selector (manually "
        "managed Endpoints, ExternalName) are skipped. On manifests only the label match is checked."),
    why=(
        "A Service without ready endpoints refuses or drops every connection (`connection refused`, 503 from the "
        "ingress, `no healthy upstream`), although each pod may look fine on its own; a label typo or a "
        "kustomize commonLabels/namePrefix change is enough."),
    example=(
        "Service redis-session selects app=redis-session, but the pods are labelled app=staging-redis-session; "
        "`kubectl get endpoints redis-session` shows <none>."),
    fix=(
        "Make the selector and the pod template labels agree (prefer changing the Service: a Deployment's "
        "selector is immutable); if pods match but none is Ready, fix what keeps them unready (see the related "
        "probe or crash findings)."),
    runbook="services",
    needs=frozenset(),
))
def detect(state) -> Iterable[Finding]:
    runtime = RUNTIME in state.capabilities
    by_namespace = pods_by_namespace(state)
    findings = []
    for service in state.of_kind("Service"):
        meta, spec = _d(service.get("metadata")), _d(service.get("spec"))
        name = meta.get("name")
        selector = selector_of(service)
        if not isinstance(name, str) or selector is None or spec.get("type") == "ExternalName":
            continue
        namespace = meta.get("namespace")
        matched = by_namespace.selected(namespace, selector)
        if not matched:
            finding = _no_match(state, service, namespace, name, selector, by_namespace.in_namespace(namespace))
        elif runtime and spec.get("publishNotReadyAddresses") is not True:
            finding = _none_ready(state, service, namespace, name, selector, matched)
        else:
            finding = None
        if finding is not None:
            findings.append(finding)
    return findings


# -- no pod matches ------------------------------------------------------------------------------

def _no_match(state, service: Mapping, namespace: str | None, name: str, selector: dict, pods: list[dict]) -> Finding | None:
    templates = list(_templates_in(state, namespace))
    if not pods and not templates:
        return None  # nothing in this namespace to compare with (a partial view)
    target = object_name("Service", namespace, name)
    evidence = [Evidence.from_field(f"selector {_fmt(selector)}", path="spec.selector", value=dict(selector),
                                    object=target)]
    evidence.extend(_endpoints_evidence(state, namespace, name))

    # A workload whose template matches but that runs no pod: scaled to zero, or failing to create pods.
    for kind, workload_name, labels, replicas in templates:
        if matches(selector, labels):
            evidence.append(Evidence.from_field(
                f"{kind} {workload_name} has matching pod labels but {replicas} replicas",
                path="spec.replicas", value=replicas, object=object_name(kind, namespace, workload_name)))
            if replicas == 0:
                summary = f"{name} has no endpoints: its selector {_fmt(selector)} matches {kind} {workload_name}, which is scaled to 0"
                remediation = Remediation(
                    text=f"Scale {kind} {workload_name} up if the Service should answer; otherwise nothing to do.",
                    command=f"kubectl scale {kind.lower()} {workload_name}{_ns(namespace)} --replicas=1")
                severity = "warning"
            else:
                summary = (f"{name} has no endpoints: its selector {_fmt(selector)} matches {kind} {workload_name} "
                           f"({replicas} replicas), but none of its pods exists")
                remediation = Remediation(
                    text=f"{kind} {workload_name} creates no pods: read its events (FailedCreate: quota, admission "
                         f"webhooks, PodSecurity).",
                    command=f"kubectl describe {kind.lower()} {workload_name}{_ns(namespace)}")
                severity = "critical"
            return Finding(rule=RULE_ID, severity=severity, namespace=namespace, kind="Service", name=name,
                           summary=summary, evidence=tuple(evidence), remediation=remediation,
                           discriminator="no-match", location=location(state, "Service", namespace, name, "spec.selector"))

    closest = _closest(state, selector, pods, templates)
    remediation_text = ("Make the Service's selector match the pod template labels of the workload it should "
                        "serve (change the Service: a Deployment's selector is immutable), or fix the labels.")
    patch = None
    summary = f"{name} has no endpoints: its selector {_fmt(selector)} matches no pod in {namespace or 'default'}"
    if closest is not None:
        kind, workload_name, labels, differing, unique = closest
        wants = ", ".join(f"{k}={selector[k]}" for k in differing)
        has = ", ".join(f"{k}={labels[k]}" if k in labels else f"no {k} label" for k in differing)
        path = f"{pod_spec_path(kind).rsplit('.spec', 1)[0]}.metadata.labels" if kind != "Pod" else "metadata.labels"
        evidence.append(Evidence.from_field(
            f"closest: {kind} {workload_name} has pod labels {_fmt(labels)} (selector wants {wants}, pods have {has})",
            path=path, value=dict(labels), object=object_name(kind, namespace, workload_name)))
        summary += f" (closest: {kind} {workload_name}, which has {has})"
        if unique and all(k in labels for k in differing):
            patch = {"spec": {"selector": {k: labels[k] for k in differing}}}
            remediation_text = (f"If {name} should serve {kind} {workload_name}, change its selector to "
                                f"{', '.join(f'{k}={labels[k]}' for k in differing)} (the patch); otherwise fix the "
                                f"labels of the workload it should serve.")
    if patch is not None:
        remediation = Remediation(text=remediation_text, patch=to_yaml(patch), patch_type="merge", target=target,
                                  command=f"kubectl patch service {name}{_ns(namespace)} --type merge --patch-file fix.yaml")
    else:
        remediation = Remediation(text=remediation_text,
                                  command=f"kubectl get pods{_ns(namespace)} --show-labels")
    return Finding(rule=RULE_ID, severity="critical", namespace=namespace, kind="Service", name=name, summary=summary,
                   evidence=tuple(evidence), remediation=remediation, discriminator="no-match",
                   location=location(state, "Service", namespace, name, "spec.selector"))


def _templates_in(state, namespace: str | None):
    wanted = namespace or "default"
    for kind in _TEMPLATE_KINDS:
        # Indexed by namespace, but for default, which also holds the objects that name no namespace.
        for obj in state.of_kind(kind, wanted) if wanted != "default" else state.of_kind(kind):
            meta = _d(obj.get("metadata"))
            if (meta.get("namespace") or "default") != wanted or not isinstance(meta.get("name"), str):
                continue
            if kind == "ReplicaSet" and any(_d(r).get("kind") == "Deployment" for r in _l(meta.get("ownerReferences"))):
                continue  # its Deployment speaks for it
            spec = _d(obj.get("spec"))
            template = _d(_d(_d(spec.get("jobTemplate")).get("spec")).get("template")) if kind == "CronJob" else _d(spec.get("template"))
            labels = _d(_d(template.get("metadata")).get("labels"))
            replicas = spec.get("replicas", 1) if kind not in ("DaemonSet", "Job", "CronJob") else 1
            yield kind, meta["name"], dict(labels), replicas if isinstance(replicas, int) else 1


def _closest(state, selector: dict, pods: list[dict], templates: list) -> tuple | None:
    """The workload whose pod labels share the most of the selector: (kind, name, labels, differing keys, unique)."""
    candidates: dict[tuple[str, str], dict] = {}
    for kind, name, labels, _replicas in templates:  # the template a person edits, before its pods' labels
        candidates.setdefault((kind, name), labels)
    for pod in pods:
        if is_terminal(pod):
            continue
        kind, name = workload_of(state, pod)
        candidates.setdefault((kind, name), dict(labels_of(pod)))
    scored = []
    for (kind, name), labels in candidates.items():
        same = sum(1 for k, v in selector.items() if str(labels.get(k)) == v and k in labels)
        present = sum(1 for k in selector if k in labels)
        similar = sum(1 for k, v in selector.items() if k in labels and (v in str(labels[k]) or str(labels[k]) in v))
        if present == 0:
            continue
        scored.append(((same, similar, present), kind, name, labels))
    if not scored:
        return None
    scored.sort(key=lambda item: (item[0], item[1], item[2]), reverse=True)
    best_score, kind, name, labels = scored[0]
    same, similar, _present = best_score
    if same == 0 and similar == 0:
        return None
    unique = len(scored) == 1 or scored[1][0] < best_score
    differing = [k for k, v in selector.items() if not (k in labels and str(labels[k]) == v)]
    # Only propose a selector change when the rest of the selector already agrees, or the values look alike.
    confident = unique and (same >= len(selector) - 1 and len(selector) > 1 or similar == len(selector))
    return kind, name, labels, differing, confident


# -- pods match, none is ready -------------------------------------------------------------------

def _none_ready(state, service: Mapping, namespace: str | None, name: str, selector: dict,
                matched: list[dict]) -> Finding | None:
    if any(_ready(p) for p in matched):
        return None
    live = [p for p in matched if not is_stand_in(p)]
    if not live:
        return None
    target = object_name("Service", namespace, name)
    evidence = [Evidence.from_field(f"selector {_fmt(selector)}", path="spec.selector", value=dict(selector),
                                    object=target)]
    evidence.extend(_endpoints_evidence(state, namespace, name))
    pod_names = sorted(_d(p.get("metadata")).get("name") for p in live)
    for pod in sorted(live, key=lambda p: _d(p.get("metadata")).get("name"))[:_MAX_POD_EVIDENCE]:
        evidence.append(_readiness_evidence(namespace, pod))
    workloads = sorted({workload_of(state, p) for p in live})
    owners = ", ".join(f"{k} {n}" for k, n in workloads)

    related = related_findings(state)
    linked = [f for kind, wname in workloads for f in related_to(related, namespace, kind, wname, pod_names)]
    see = sorted({f.rule for f in linked})
    summary = (f"{name} has no ready endpoints: all {len(live)} pods it selects ({owners}) are not Ready"
               + (f" (see {', '.join(see)})" if see else ""))
    causes = "; ".join(f"{f.rule}: {f.summary}" for f in linked[:3])
    text = ("Traffic to the Service fails until a selected pod is Ready: fix what keeps the pods unready"
            + (f" — {causes}." if causes else " (readiness probe failures, crashes: kubectl describe pod)."))
    remediation = Remediation(text=text, command=f"kubectl describe pods{_ns(namespace)} -l {_fmt(selector)}")
    return Finding(rule=RULE_ID, severity="critical", namespace=namespace, kind="Service", name=name, summary=summary,
                   evidence=tuple(evidence), remediation=remediation, pods=tuple(pod_names),
                   discriminator="none-ready", related=tuple(dict.fromkeys(f.id for f in linked)),
                   location=location(state, "Service", namespace, name, "spec.selector"))


def _ready(pod: Mapping) -> bool:
    if _d(pod.get("metadata")).get("deletionTimestamp"):
        return False
    for condition in _l(_d(pod.get("status")).get("conditions")):
        condition = _d(condition)
        if condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return False


def _readiness_evidence(namespace: str | None, pod: Mapping) -> Evidence:
    name = _d(pod.get("metadata")).get("name")
    printed = kubectl_pod_status(pod)
    text = f"Pod {name}: {printed['status']}, {printed['ready']}/{printed['total']} ready"
    for index, condition in enumerate(_l(_d(pod.get("status")).get("conditions"))):
        condition = _d(condition)
        if condition.get("type") == "Ready":
            reason = f" ({condition.get('reason')})" if condition.get("reason") else ""
            return Evidence.from_status(text + reason, path=f"status.conditions[{index}].status",
                                        value=condition.get("status"), object=object_name("Pod", namespace, name))
    return Evidence.from_status(text, path="status.phase", value=_d(pod.get("status")).get("phase"),
                                object=object_name("Pod", namespace, name))


def _endpoints_evidence(state, namespace: str | None, name: str) -> list[Evidence]:
    endpoints = state.get("Endpoints", namespace, name)
    if endpoints is None:
        return []
    target = object_name("Endpoints", namespace, name)
    subsets = [_d(s) for s in _l(endpoints.get("subsets"))]
    if not subsets:
        return [Evidence.from_status(f"Endpoints {name} has no addresses", path="subsets", value=None, object=target)]
    ready = [a for s in subsets for a in _l(s.get("addresses"))]
    not_ready = [a for s in subsets for a in _l(s.get("notReadyAddresses"))]
    names = [str(_d(_d(a).get("targetRef")).get("name") or _d(a).get("ip")) for a in not_ready]
    shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    path = "subsets[0].notReadyAddresses" if not_ready else "subsets[0].addresses"
    return [Evidence.from_status(
        f"Endpoints {name}: {len(ready)} ready addresses, {len(not_ready)} not ready" + (f" ({shown})" if names else ""),
        path=path, value=len(not_ready) if not_ready else len(ready), object=target)]


# -- small helpers -------------------------------------------------------------------------------

def _fmt(labels: Mapping) -> str:
    return ",".join(f"{k}={v}" for k, v in labels.items())


def _ns(namespace: str | None) -> str:
    return f" -n {namespace}" if namespace else ""
