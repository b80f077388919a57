"""pending-unschedulable: pods the scheduler cannot place on any node."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from ..event_messages import SchedulingFailure, parse_failed_scheduling
from ..findings import Evidence, Finding, Remediation
from ..quantity import format_memory, parse_quantity
from ..registry import Rule, detector
from ..state import RUNTIME
from ._common import as_list as _l, as_mapping as _d
from ._common import (container_path, event_evidence, frame_rows, object_name, pod_spec_path, pod_template_patch,
                      to_yaml)

RULE_ID = "pending-unschedulable"

# Taints every cluster puts on its control plane: pods are not meant to go there, so
# "untolerated taint" on those nodes is never the thing to fix while other reasons exist.
_CONTROL_PLANE_TAINTS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")
_MAX_EVENT_EVIDENCE = 3

_FIXES = {
    "insufficient-cpu": "Not enough unrequested CPU on {nodes}: lower the pods' CPU requests to what they use, "
                        "or add nodes (or let the cluster autoscaler add them).",
    "insufficient-memory": "Not enough unrequested memory on {nodes}: lower the pods' memory requests to what "
                           "they use, or add nodes (or let the cluster autoscaler add them).",
    "insufficient-resource": "A requested extended resource (GPU, ephemeral-storage, hugepages...) is not "
                             "available on {nodes}: add nodes that have it or lower the request.",
    "too-many-pods": "{nodes} already run their maximum number of pods: add nodes or spread the load.",
    "untolerated-taint": "{nodes} carry taints the pod does not tolerate: if the pod is meant to run there, add a "
                         "matching toleration; otherwise remove the taint, or look at the other reasons.",
    "node-affinity": "{nodes} do not match the pod's nodeSelector / node affinity: fix the selector, or label "
                     "the nodes it should run on.",
    "pod-affinity": "{nodes} do not satisfy the pod's required pod affinity: check that the pods it must run "
                    "next to exist and are scheduled.",
    "pod-anti-affinity": "{nodes} are excluded by required pod anti-affinity: with more replicas than eligible "
                         "nodes, make the anti-affinity preferred, lower replicas, or add nodes.",
    "unbound-pvc": "A PersistentVolumeClaim of the pod is not bound: check that it exists, that its "
                   "StorageClass exists and can provision, and the PVC's events.",
    "volume-node-affinity": "{nodes} cannot reach the pod's volume (zone / volume node affinity): schedule the "
                            "pod in the volume's zone or move the volume.",
    "node-unschedulable": "{nodes} are cordoned (unschedulable): uncordon them when maintenance is done, or add "
                          "nodes.",
    "ports": "{nodes} have the requested hostPort already in use: drop hostPort or run fewer replicas per node.",
    "other": "The scheduler gave another reason; read the event message.",
}
# The order in which reasons are worth acting on, most actionable first.
_PRIORITY = ["unbound-pvc", "insufficient-memory", "insufficient-cpu", "insufficient-resource", "node-affinity",
             "pod-anti-affinity", "pod-affinity", "volume-node-affinity", "node-unschedulable", "too-many-pods",
             "ports", "untolerated-taint", "other"]


@detector(Rule(
    id=RULE_ID,
    title="Pods cannot be scheduled",
    severity="critical",
    detects=(
        "Pods that stay Pending because the scheduler finds no node for them: `FailedScheduling` events "
        "(or the PodScheduled=False / Unschedulable condition when the events have expired). The "
        "`0/N nodes are available: ...` message is split into its reasons (insufficient cpu/memory, "
        "untolerated taints, node affinity, pod anti-affinity, unbound PersistentVolumeClaims...)."),
    why=(
        "A Pending pod never starts, so a new Deployment never becomes available and a rollout cannot "
        "proceed; the scheduler's message says exactly which constraint rules out which nodes, but it is "
        "easy to fix the wrong one (the control-plane taint is listed in nearly every message)."),
    example=(
        "Warning  FailedScheduling  default-scheduler  0/3 nodes are available: 1 node(s) had untolerated "
        "taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient memory. preemption: 0/3 nodes are "
        "available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod."),
    fix=(
        "Act on the reason covering the most nodes: lower requests or add nodes for Insufficient cpu/memory; "
        "add a toleration for a taint the pod should accept; fix nodeSelector/affinity; make anti-affinity "
        "preferred when replicas outnumber nodes; bind the PersistentVolumeClaim."),
    runbook="rollouts",
    needs=frozenset({RUNTIME}),
))
def detect(state) -> Iterable[Finding]:
    pods = state.frames.pods
    if pods.empty:
        return []
    events = state.frames.events
    scheduling = events[(events["reason"] == "FailedScheduling") & (events["object_kind"] == "Pod")]
    nodes = state.frames.nodes

    groups: dict[tuple[str, str, str], list[dict]] = {}
    for row in frame_rows(pods[pods["phase"].isin(["Pending"])]):
        raw = state.get("Pod", row.namespace, row.pod) or {}
        spec = _d(raw.get("spec"))
        if spec.get("nodeName"):
            continue  # bound to a node: Pending for another reason (pulling images, init containers)
        pod_events = scheduling[(scheduling["namespace"] == row.namespace) & (scheduling["object_name"] == row.pod)]
        if row.uid:
            pod_events = pod_events[pod_events["object_uid"].isna() | (pod_events["object_uid"] == row.uid)
                                    | (pod_events["object_uid"] == "")]
        condition_index, condition = _unschedulable_condition(raw)
        if pod_events.empty and condition is None:
            continue
        groups.setdefault((row.namespace, row.workload_kind, row.workload), []).append({
            "pod": row.pod, "raw": raw, "events": pod_events,
            "condition": condition, "condition_index": condition_index})

    findings = []
    for (namespace, kind, name), members in sorted(groups.items(), key=lambda item: tuple(map(str, item[0]))):
        findings.append(_finding(state, namespace, kind, name, members, pods, nodes))
    return findings


def _finding(state, namespace: str, kind: str, name: str, members: list[dict], pods: pd.DataFrame,
             nodes: pd.DataFrame) -> Finding:
    pod_names = sorted(member["pod"] for member in members)
    workload_pods = state.frames.lookup("pods", namespace=namespace, workload_kind=kind, workload=name)
    running = int((workload_pods["phase"] == "Running").sum())
    severity = "warning" if running else "critical"

    # The scheduler's messages: newest event per pod, else the pod condition.
    messages: list[str] = []  # newest first
    all_events = pd.concat([m["events"] for m in members if not m["events"].empty]) if any(
        not m["events"].empty for m in members) else None
    evidence: list[Evidence] = []
    if all_events is not None:
        newest_per_message = (all_events.sort_values("last_seen", kind="stable", na_position="first")
                              .drop_duplicates("message", keep="last"))
        for row in frame_rows(newest_per_message)[::-1]:
            messages.append(row.message)
            if len([e for e in evidence if e.source == "event"]) < _MAX_EVENT_EVIDENCE:
                evidence.append(event_evidence(row))
    for member in members:
        condition = member["condition"]
        if (condition is not None and member["events"].empty and isinstance(condition.get("message"), str)
                and condition["message"] and condition["message"] not in messages):
            messages.append(condition["message"])
            evidence.append(Evidence.from_status(
                f"Pod {member['pod']}: PodScheduled=False (Unschedulable): {condition['message']}",
                path=f"status.conditions[{member['condition_index']}].message", value=condition["message"],
                object=object_name("Pod", namespace, member["pod"])))

    parsed: list[SchedulingFailure] = [p for message in messages if (p := parse_failed_scheduling(message))]
    headline = parsed[0] if parsed else None
    categories = {category for failure in parsed for category in failure.categories}

    workload = state.get(kind, namespace, name) if kind != "Pod" else None
    template_spec = _pod_spec_of(workload, kind) if workload else _d(members[0]["raw"].get("spec"))
    obj_kind = kind if workload else "Pod"
    obj_name = name if workload else members[0]["pod"]

    fit_note = None
    if categories & {"insufficient-cpu", "insufficient-memory"}:
        requests_evidence, totals = _request_evidence(template_spec, obj_kind, namespace, obj_name)
        evidence.extend(requests_evidence)
        fit_note = _never_fits(totals, nodes)
        if fit_note:
            evidence.append(Evidence("field", fit_note, object=object_name(obj_kind, namespace, obj_name)))
    if "node-affinity" in categories:
        selector = template_spec.get("nodeSelector")
        if isinstance(selector, Mapping) and selector:
            evidence.append(Evidence.from_field(
                f"nodeSelector: {_labels(selector)}", path=f"{pod_spec_path(obj_kind)}.nodeSelector",
                value=dict(selector), object=object_name(obj_kind, namespace, obj_name)))
    pvc_names = _claims([_d(m["raw"].get("spec")) for m in members] + [template_spec], headline)
    if "unbound-pvc" in categories:
        collected = bool(state.of_kind("PersistentVolumeClaim"))  # snapshots without the file know nothing
        for claim in pvc_names:
            pvc = state.get("PersistentVolumeClaim", namespace, claim)
            if pvc is not None:
                phase = _d(pvc.get("status")).get("phase")
                evidence.append(Evidence.from_status(
                    f"PersistentVolumeClaim {claim} is {phase or 'without a phase'}", path="status.phase",
                    value=phase, object=object_name("PersistentVolumeClaim", namespace, claim)))
            elif collected:
                evidence.append(Evidence("status", f"PersistentVolumeClaim {claim} does not exist in {namespace}",
                                         object=object_name("PersistentVolumeClaim", namespace, claim)))

    summary = _summary(name, headline, messages, pod_names, running, fit_note)
    remediation = _remediation(state, kind, namespace, obj_kind, obj_name, template_spec, headline, categories,
                               pvc_names, fit_note)
    return Finding(rule=RULE_ID, severity=severity, namespace=namespace, kind=kind, name=name, summary=summary,
                   evidence=tuple(evidence), remediation=remediation, pods=tuple(pod_names))


# -- parsing helpers ------------------------------------------------------------------

def _unschedulable_condition(pod: Mapping) -> tuple[int | None, Mapping | None]:
    for index, condition in enumerate(_l(_d(pod.get("status")).get("conditions"))):
        condition = _d(condition)
        if (condition.get("type") == "PodScheduled" and condition.get("status") == "False"
                and condition.get("reason") == "Unschedulable"):
            return index, condition
    return None, None


def _is_control_plane_taint(text: str) -> bool:
    return any(taint in text for taint in _CONTROL_PLANE_TAINTS)


def _actionable(failure: SchedulingFailure | None) -> list[tuple[str, int]]:
    """(category, nodes) most actionable first; control-plane taints only when nothing else blocks."""
    if failure is None:
        return []
    counts: dict[str, int] = {}
    for reason in failure.reasons:
        if reason.category == "untolerated-taint" and _is_control_plane_taint(reason.text) and len(failure.reasons) > 1:
            continue
        counts[reason.category] = counts.get(reason.category, 0) + (reason.count or 0)
    return sorted(counts.items(), key=lambda item: (-item[1], _PRIORITY.index(item[0])
                                                    if item[0] in _PRIORITY else len(_PRIORITY)))


def _reasons_text(failure: SchedulingFailure) -> str:
    parts = [f"{r.count} {r.text}" if r.count is not None else r.text for r in failure.reasons]
    return ", ".join(parts)


def _summary(name: str, headline: SchedulingFailure | None, messages: list[str], pod_names: list[str], running: int,
             fit_note: str | None) -> str:
    pending = f"{len(pod_names)} pod{'s' if len(pod_names) != 1 else ''} Pending"
    state_text = f"{pending}, {running} running" if running else pending
    if headline is not None and headline.total_nodes is not None and headline.reasons:
        why = f"{headline.available}/{headline.total_nodes} nodes available ({_reasons_text(headline)})"
    elif headline is not None and headline.total_nodes == 0:
        why = "no nodes available to schedule pods"
    elif headline is not None and headline.reasons:
        why = _reasons_text(headline)
    else:
        texts = [str(message).strip() for message in messages if str(message or "").strip()]
        why = texts[0] if texts else "the scheduler found no node"
        why = why if len(why) <= 160 else why[:157] + "..."
    extra = f"; {fit_note}" if fit_note else ""
    return f"{name} cannot be scheduled: {why}{extra} ({state_text})"


# -- evidence from the pod spec -------------------------------------------------------------

def _pod_spec_of(workload: Mapping, kind: str) -> Mapping:
    spec: Any = workload
    for key in pod_spec_path(kind).split("."):
        spec = _d(spec).get(key)
    return _d(spec)


def _request_evidence(pod_spec: Mapping, kind: str, namespace: str, name: str) -> tuple[list[Evidence], dict]:
    evidence = []
    totals = {"cpu": 0.0, "memory": 0.0}
    for index, container in enumerate(_l(pod_spec.get("containers"))):
        container = _d(container)
        requests = _d(_d(container.get("resources")).get("requests"))
        for resource in ("cpu", "memory"):
            value = requests.get(resource)
            amount = parse_quantity(value)
            if amount is None:
                continue
            totals[resource] += amount
            evidence.append(Evidence.from_field(
                f"container {container.get('name')} requests {resource} {value}",
                path=container_path(kind, index, "resources", "requests", resource), value=value,
                object=object_name(kind, namespace, name)))
    return evidence, totals


def _never_fits(totals: dict, nodes: pd.DataFrame) -> str | None:
    """Say so when the pod requests more than the largest node can ever offer."""
    if nodes.empty:
        return None
    for resource, column, fmt in (("cpu", "cpu_allocatable", format_cpu), ("memory", "memory_allocatable", format_memory)):
        largest = nodes[column].dropna().max() if not nodes[column].dropna().empty else None
        if largest is not None and totals.get(resource) and totals[resource] > largest:
            return (f"the pod requests {fmt(totals[resource])} {resource}, more than the largest node's "
                    f"allocatable {fmt(largest)}: no node can ever fit it")
    return None


def format_cpu(cores: float) -> str:
    """Cores as Kubernetes writes them: ``6`` for whole cores, ``3920m`` otherwise."""
    millis = round(cores * 1000)
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def _claims(pod_specs: list[Mapping], headline: SchedulingFailure | None) -> list[str]:
    """Claims named by the message, then those the pending pods mount (StatefulSet claims are per pod)."""
    names = []
    if headline is not None and headline.pvc:
        names.append(headline.pvc.split("/")[-1])
    for pod_spec in pod_specs:
        for volume in _l(pod_spec.get("volumes")):
            claim = _d(_d(volume).get("persistentVolumeClaim")).get("claimName")
            if isinstance(claim, str) and claim and claim not in names:
                names.append(claim)
    return names


# -- remediation --------------------------------------------------------------------------

def _remediation(state, kind: str, namespace: str, obj_kind: str, obj_name: str, pod_spec: Mapping,
                 headline: SchedulingFailure | None, categories: set[str], pvc_names: list[str],
                 fit_note: str | None) -> Remediation:
    ranked = _actionable(headline)
    if not ranked:
        ranked = [(c, 0) for c in sorted(categories, key=lambda c: _PRIORITY.index(c) if c in _PRIORITY else 99)]
    lines = []
    for category, count in ranked:
        nodes = f"{count} node(s)" if count else "the nodes"
        lines.append(_FIXES.get(category, _FIXES["other"]).format(nodes=nodes))
    if fit_note:
        lines = [f"Lower the requests or move the workload to a node pool with bigger nodes: {fit_note}, so "
                 "adding nodes of the same size does not help."] + [
            line for line, (category, _) in zip(lines, ranked) if not category.startswith("insufficient")]
    if not lines:
        lines.append("Read the FailedScheduling message and relax the constraint it names.")
    text = " ".join(lines)
    ns_flag = f" -n {namespace}" if namespace else ""
    primary = ranked[0][0] if ranked else None

    if primary == "untolerated-taint":
        tolerations = _tolerations_for(state, headline, pod_spec)
        if tolerations is not None:
            patch = pod_template_patch(obj_kind, {"tolerations": tolerations})
            return Remediation(
                text=text + " The patch keeps the existing tolerations (the list is replaced, not merged).",
                patch=to_yaml(patch), patch_type="strategic-merge", target=object_name(obj_kind, namespace, obj_name),
                command=f"kubectl patch {obj_kind.lower()} {obj_name}{ns_flag} --type strategic --patch-file fix.yaml")
    if primary in ("insufficient-cpu", "insufficient-memory", "insufficient-resource", "too-many-pods"):
        return Remediation(text=text, command="kubectl describe nodes | grep -A 8 'Allocated resources'")
    if primary == "node-affinity":
        selector = pod_spec.get("nodeSelector")
        keys = ",".join(sorted(_d(selector))) if isinstance(selector, Mapping) and selector else ""
        return Remediation(text=text, command=f"kubectl get nodes -L {keys}" if keys else "kubectl get nodes --show-labels")
    if primary == "unbound-pvc" and pvc_names:
        return Remediation(text=text, command=f"kubectl describe pvc {pvc_names[0]}{ns_flag}")
    if primary == "node-unschedulable":
        return Remediation(text=text, command="kubectl get nodes  # then: kubectl uncordon <node>")
    return Remediation(text=text, command=f"kubectl describe {obj_kind.lower()} {obj_name}{ns_flag}")


def _tolerations_for(state, headline: SchedulingFailure | None, pod_spec: Mapping) -> list[dict] | None:
    """The pod's tolerations plus one per taint the message names (effect looked up on the nodes)."""
    if headline is None:
        return None
    wanted = [t for t in headline.taints if not _is_control_plane_taint(t)]
    if not wanted:
        return None
    existing = [dict(_d(t)) for t in _l(pod_spec.get("tolerations")) if isinstance(t, Mapping)]
    node_taints = [_d(t) for n in state.of_kind("Node") for t in _l(_d(n.get("spec")).get("taints"))]
    added = []
    for text in wanted:
        key, _, value = text.partition(":")
        key, value = key.strip(), value.strip()
        if not key:
            continue
        effects = sorted({t["effect"] for t in node_taints if t.get("key") == key
                          and (t.get("value") or "") == value and isinstance(t.get("effect"), str) and t["effect"]})
        for effect in effects or [None]:
            toleration: dict = {"key": key, "operator": "Equal" if value else "Exists"}
            if value:
                toleration["value"] = value
            if effect:
                toleration["effect"] = effect
            if toleration not in existing and toleration not in added:
                added.append(toleration)
    return existing + added if added else None


def _labels(selector: Mapping) -> str:
    return ",".join(f"{k}={v}" for k, v in selector.items())
