"""rollout-stuck: a Deployment or StatefulSet whose newest revision does not become available."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

import pandas as pd

from ..findings import Evidence, Finding, Remediation
from ..registry import Rule, detector
from ..state import RUNTIME
from ._common import as_list as _l, as_mapping as _d
from ._common import event_evidence, events_for, frame_rows, object_name, related_findings, related_to

RULE_ID = "rollout-stuck"

# kubectl STATUS values that mean a pod is failing rather than starting.
FAILING_STATUSES = {"CrashLoopBackOff", "Error", "ImagePullBackOff", "ErrImagePull", "InvalidImageName",
                    "ErrImageNeverPull", "CreateContainerConfigError", "CreateContainerError", "RunContainerError",
                    "StartError", "OOMKilled", "ContainerStatusUnknown", "Evicted", "ContainerCannotRun"}
# A pod not ready for this long, with no clearer reason, is stuck rather than starting.
NOT_READY_GRACE = timedelta(minutes=5)
_MAX_POD_EVIDENCE = 5
_RS_IN_MESSAGE = re.compile(r'ReplicaSet "([^"]+)"')
_POD_EVIDENCE_COLUMNS = ["pod", "status", "ready", "restarts"]  # of frames.pods, what pod_status_evidence reads


@detector(Rule(
    id=RULE_ID,
    title="Rollout is not progressing",
    severity="critical",
    detects=(
        "A Deployment whose Progressing condition is False with ProgressDeadlineExceeded, or whose newest "
        "ReplicaSet is not fully updated/available while its pods are failing; a StatefulSet whose update "
        "revision is not rolled out (updatedReplicas, currentRevision vs updateRevision) or whose readyReplicas "
        "stay below replicas while its pods are failing. Names the stuck revision and the state of its pods."),
    why=(
        "A stuck rollout leaves the workload on a mix of revisions, or with no available replicas at all when "
        "the old ones are gone; the Deployment controller only reports it after progressDeadlineSeconds (10 "
        "minutes by default) and never rolls back on its own."),
    example=(
        "status.conditions: type=Progressing status=False reason=ProgressDeadlineExceeded message='ReplicaSet "
        "\"staging-mcp-server-langgraph-598c5bc958\" has timed out progressing.' while its pods are in "
        "CrashLoopBackOff."),
    fix=(
        "Roll back to the previous revision (`kubectl rollout undo deployment/NAME -n NS --to-revision=N`), then "
        "fix the cause shown by the related findings and roll forward; or fix forward directly. For a "
        "StatefulSet with OrderedReady pods, delete the broken pod after the undo: the controller does not "
        "replace it on its own."),
    runbook="rollouts",
    needs=frozenset({RUNTIME}),
))
def detect(state) -> Iterable[Finding]:
    candidates = []
    for deployment in state.of_kind("Deployment"):
        found = _deployment_candidate(state, deployment)
        if found is not None:
            candidates.append(found)
    for statefulset in state.of_kind("StatefulSet"):
        found = _statefulset_candidate(state, statefulset)
        if found is not None:
            candidates.append(found)
    if not candidates:
        return []
    related = related_findings(state)
    return [_finding(state, candidate, related) for candidate in candidates]


# -- pods -----------------------------------------------------------------------------------

def failing_pods(state, pods: pd.DataFrame) -> pd.DataFrame:
    """Pods that are failing rather than starting: a failure status, restarts while not ready, unschedulable,
    or not ready for longer than NOT_READY_GRACE."""
    if pods.empty:
        return pods
    now = state.now
    mask = []
    columns = ("status", "ready_count", "container_count", "phase", "created", "restarts")
    # Columns as lists rather than itertuples, which costs milliseconds per call on Arrow-backed strings.
    for status, ready_count, container_count, phase, created, restarts in zip(*(pods[c].tolist() for c in columns)):
        status = str(status or "")
        not_ready = (ready_count or 0) < (container_count or 0) or phase != "Running"
        created = created if created is not None and not pd.isna(created) else None
        old = created is not None and now - created > NOT_READY_GRACE
        failing = (status in FAILING_STATUSES
                   or (status.startswith("Init:") and not re.fullmatch(r"Init:\d+/\d+", status))
                   or (not_ready and (restarts or 0) > 0)
                   or (not_ready and old and status not in ("Completed", "Succeeded")))
        mask.append(bool(failing))
    return pods[mask]


def pod_status_evidence(state, namespace: str, pod_row) -> Evidence:
    """What is wrong with one pod, pointing at the container status that says so."""
    raw = state.get("Pod", namespace, pod_row.pod) or {}
    status = _d(raw.get("status"))
    path, value = "status.phase", status.get("phase")
    for key in ("initContainerStatuses", "containerStatuses"):
        for index, container in enumerate(_l(status.get(key))):
            container = _d(container)
            done = _d(_d(container.get("state")).get("terminated"))
            if key == "initContainerStatuses" and done and done.get("exitCode") == 0:
                continue  # a finished init container is not what holds the pod back
            waiting = _d(_d(container.get("state")).get("waiting"))
            terminated = _d(_d(container.get("lastState")).get("terminated"))
            if waiting.get("reason"):
                path, value = f"status.{key}[{index}].state.waiting.reason", waiting["reason"]
                break
            if not container.get("ready") and terminated.get("reason"):
                path, value = f"status.{key}[{index}].lastState.terminated.reason", terminated["reason"]
                break
            if not container.get("ready") and path == "status.phase":
                path, value = f"status.{key}[{index}].ready", False
        else:
            continue
        break
    restarts = f", {pod_row.restarts} restarts" if pod_row.restarts else ""
    return Evidence.from_status(f"Pod {pod_row.pod}: {pod_row.status}, {pod_row.ready} ready{restarts}",
                                path=path, value=value, object=object_name("Pod", namespace, pod_row.pod))


def _status_counts(pods: pd.DataFrame) -> str:
    counts = Counter(str(s) for s in pods["status"])
    total = len(pods)
    if len(counts) == 1:
        status = next(iter(counts))
        return f"{'its pod is' if total == 1 else f'its {total} pods are'} {status}"
    parts = ", ".join(f"{n} {status}" for status, n in counts.most_common())
    return f"its {total} pods: {parts}"


# -- Deployments ------------------------------------------------------------------------------

def _deployment_candidate(state, deployment: Mapping) -> dict | None:
    meta, spec, status = _d(deployment.get("metadata")), _d(deployment.get("spec")), _d(deployment.get("status"))
    namespace, name = meta.get("namespace"), meta.get("name")
    if not isinstance(name, str) or spec.get("paused") is True:
        return None
    desired = _int(spec.get("replicas"), 1)
    condition_index, progressing = _condition(status, "Progressing")
    deadline = (progressing is not None and progressing.get("status") == "False"
                and progressing.get("reason") == "ProgressDeadlineExceeded")
    if desired == 0 and not deadline:
        return None
    updated = _int(status.get("updatedReplicas"), 0)
    available = _int(status.get("availableReplicas"), 0)
    total = _int(status.get("replicas"), 0)
    complete_reason = progressing is not None and progressing.get("reason") == "NewReplicaSetAvailable"
    incomplete = updated < desired or available < desired or total > updated
    if not deadline and (complete_reason or not incomplete):
        return None  # rolled out, as most are: the status says so without looking at its ReplicaSets or pods

    owned = state.frames.lookup("replicasets", namespace=namespace, owner=name)
    named = _RS_IN_MESSAGE.search(str((progressing or {}).get("message") or ""))
    newest = None
    owned_names = owned["name"].tolist()
    if named and named.group(1) in owned_names:
        newest = owned.iloc[owned_names.index(named.group(1))]
    elif not owned.empty and owned["revision"].notna().any():
        newest = owned.sort_values("revision", ascending=False, na_position="last").iloc[0]
    workload_pods = state.frames.lookup("pods", namespace=namespace, workload_kind="Deployment", workload=name)
    new_pods = workload_pods[workload_pods["replicaset"] == newest["name"]] if newest is not None else workload_pods.iloc[0:0]
    failing = failing_pods(state, new_pods)
    if not deadline and failing.empty:
        return None

    previous = before_previous = None
    if newest is not None and not pd.isna(newest["revision"]):
        older = owned[owned["revision"] < newest["revision"]].sort_values("revision", ascending=False)
        if not older.empty:
            previous = older.iloc[0]
        if len(older) > 1:
            before_previous = older.iloc[1]
    return {"kind": "Deployment", "namespace": namespace, "name": name, "object": deployment, "desired": desired,
            "updated": updated, "available": available, "ready": _int(status.get("readyReplicas"), 0),
            "deadline": deadline, "progressing": progressing, "condition_index": condition_index,
            "newest": newest, "previous": previous, "older": before_previous, "new_pods": new_pods, "failing": failing,
            "revision_name": (newest["name"] if newest is not None else (named.group(1) if named else None))}


# -- StatefulSets -------------------------------------------------------------------------------

def _statefulset_candidate(state, statefulset: Mapping) -> dict | None:
    meta, spec, status = _d(statefulset.get("metadata")), _d(statefulset.get("spec")), _d(statefulset.get("status"))
    namespace, name = meta.get("namespace"), meta.get("name")
    if not isinstance(name, str):
        return None
    desired = _int(spec.get("replicas"), 1)
    if desired == 0:
        return None
    strategy = _d(spec.get("updateStrategy"))
    partition = _int(_d(strategy.get("rollingUpdate")).get("partition"), 0)
    current_revision, update_revision = status.get("currentRevision"), status.get("updateRevision")
    updated = _int(status.get("updatedReplicas"), 0)
    ready = _int(status.get("readyReplicas"), 0)
    on_delete = strategy.get("type") == "OnDelete"
    update_pending = (not on_delete and isinstance(update_revision, str) and update_revision != current_revision
                      and updated < desired - partition)
    if not update_pending and ready >= desired:
        return None

    workload_pods = state.frames.lookup("pods", namespace=namespace, workload_kind="StatefulSet", workload=name)
    failing = failing_pods(state, workload_pods)
    if failing.empty:
        return None
    revision_of = {row.pod: _d(_d(_d(state.get("Pod", namespace, row.pod)).get("metadata")).get("labels")).get(
        "controller-revision-hash") for row in frame_rows(workload_pods, ["pod"])}
    new_pods = workload_pods[[revision_of.get(p) == update_revision for p in workload_pods["pod"]]] \
        if isinstance(update_revision, str) else workload_pods.iloc[0:0]
    return {"kind": "StatefulSet", "namespace": namespace, "name": name, "object": statefulset, "desired": desired,
            "updated": updated, "available": _int(status.get("availableReplicas"), ready), "ready": ready,
            "deadline": False, "progressing": None, "condition_index": None, "newest": None, "previous": None,
            "new_pods": new_pods if not new_pods.empty else workload_pods, "failing": failing,
            "revision_name": update_revision, "current_revision": current_revision,
            "update_pending": update_pending,
            "ordered": spec.get("podManagementPolicy", "OrderedReady") != "Parallel"}


# -- the finding ---------------------------------------------------------------------------------

def _finding(state, c: dict, related: list[Finding]) -> Finding:
    kind, namespace, name = c["kind"], c["namespace"], c["name"]
    failing, new_pods = c["failing"], c["new_pods"]
    shown = failing if not failing.empty else new_pods
    pod_names = sorted(set(shown["pod"]))
    linked = related_to(related, namespace, kind, name, set(new_pods["pod"]) | set(pod_names))
    evidence: list[Evidence] = []
    target = object_name(kind, namespace, name)

    if c["progressing"] is not None and c["deadline"]:
        progressing = c["progressing"]
        evidence.append(Evidence.from_status(
            f"Progressing={progressing.get('status')} ({progressing.get('reason')}): {progressing.get('message') or ''}".strip(),
            path=f"status.conditions[{c['condition_index']}].reason", value=progressing.get("reason"), object=target))
    if kind == "Deployment":
        evidence.append(Evidence.from_status(
            f"{c['updated']} of {c['desired']} replicas updated, {c['available']} available",
            path="status.updatedReplicas", value=c["updated"], object=target))
        newest = c["newest"]
        if newest is not None:
            evidence.append(Evidence.from_status(
                f"ReplicaSet {newest['name']} (revision {_rev(newest['revision'])}): {int(newest['current'])} pods, "
                f"{int(newest['ready'])} ready", path="status.readyReplicas", value=int(newest["ready"]),
                object=object_name("ReplicaSet", namespace, newest["name"])))
        if c["revision_name"]:
            created = events_for(state, namespace, "ReplicaSet", [c["revision_name"]], ["FailedCreate"])
            for row in frame_rows(created)[::-1][:2]:
                evidence.append(event_evidence(row))
    else:
        evidence.append(Evidence.from_status(
            f"updateRevision {c['revision_name']} vs currentRevision {c['current_revision']}: {c['updated']} of "
            f"{c['desired']} replicas updated, {c['ready']} ready", path="status.updateRevision",
            value=c["revision_name"], object=target))
    for row in frame_rows(shown.sort_values("pod").head(_MAX_POD_EVIDENCE), _POD_EVIDENCE_COLUMNS):
        evidence.append(pod_status_evidence(state, namespace, row))

    summary = _summary(c, shown, linked)
    remediation = _remediation(c, failing, linked)
    return Finding(rule=RULE_ID, severity="critical", namespace=namespace, kind=kind, name=name, summary=summary,
                   evidence=tuple(evidence), remediation=remediation, pods=tuple(pod_names),
                   related=tuple(f.id for f in linked))


def _summary(c: dict, failing: pd.DataFrame, linked: list[Finding]) -> str:
    name = c["name"]
    see = sorted({f.rule for f in linked})
    see_text = f" (see {', '.join(see)})" if see else ""
    pods_text = _status_counts(failing) if not failing.empty else "it has no pods (see its FailedCreate events)"
    if c["kind"] == "Deployment":
        newest = c["newest"]
        rs = (f"ReplicaSet {newest['name']} (revision {_rev(newest['revision'])})" if newest is not None
              else f"ReplicaSet {c['revision_name']}" if c["revision_name"] else "the new ReplicaSet")
        if c["deadline"]:
            why = f"{rs} has timed out progressing"
        elif newest is not None:
            why = (f"{rs} has {int(newest['ready'])}/{int(newest['desired'] or 0)} ready pods "
                   f"({c['updated']}/{c['desired']} replicas updated)")
        else:
            why = f"{c['updated']}/{c['desired']} replicas updated, {c['available']} available"
        return f"{name} rollout stuck: {why}; {pods_text}{see_text}"
    if c.get("update_pending"):
        why = f"update revision {c['revision_name']} rolled out to {c['updated']}/{c['desired']} replicas"
    else:
        why = f"{c['ready']}/{c['desired']} replicas ready"
    return f"{name} rollout stuck: {why}; {pods_text}{see_text}"


def _remediation(c: dict, failing: pd.DataFrame, linked: list[Finding]) -> Remediation:
    kind, namespace, name = c["kind"], c["namespace"], c["name"]
    ns_flag = f" -n {namespace}" if namespace else ""
    causes = "; ".join(f"{f.rule}: {f.summary}" for f in linked[:3])
    cause_text = f" The cause, from the related findings — {causes}." if causes else (
        " Find the cause in the failing pods' events and logs (kubectl describe pod / kubectl logs --previous).")
    if kind == "Deployment":
        previous, older = c["previous"], c.get("older")
        if previous is not None:
            revision = _rev(previous["revision"])
            current, ready = int(previous["current"]), int(previous["ready"])
            if current and not ready:
                # The previous revision is running but failing too: rolling back to it restores nothing.
                text = (f"Rolling back to revision {revision} (ReplicaSet {previous['name']}) would not restore "
                        f"service: its {current} pod{'s are' if current != 1 else ' is'} not ready either. Fix forward")
                if older is not None:
                    older_revision = _rev(older["revision"])
                    text += (f", or roll back to revision {older_revision} (ReplicaSet {older['name']}) if it was the "
                             f"last good one (kubectl rollout history deployment/{name}{ns_flag} "
                             f"--revision={older_revision} shows it).")
                    return Remediation(text=text + cause_text, command=(
                        f"kubectl rollout undo deployment/{name}{ns_flag} --to-revision={older_revision}"))
                return Remediation(text=text + "." + cause_text,
                                   command=f"kubectl rollout status deployment/{name}{ns_flag}")
            state_text = f"{ready}/{current} ready now" if current else "scaled down, its template kept for rollback"
            text = (f"Roll back to revision {revision} (ReplicaSet {previous['name']}, {state_text}) to restore "
                    f"service, then fix the new revision and roll forward; or fix forward directly." + cause_text)
            return Remediation(text=text, command=f"kubectl rollout undo deployment/{name}{ns_flag} --to-revision={revision}")
        text = "There is no earlier revision to roll back to: fix forward." + cause_text
        return Remediation(text=text, command=f"kubectl rollout status deployment/{name}{ns_flag}")
    back_to = f" (back to {c['current_revision']})" if c.get("current_revision") and c.get("update_pending") else ""
    text = f"Roll back{back_to} with kubectl rollout undo, or fix forward." + cause_text
    if c.get("ordered") and not failing.empty:
        stuck = sorted(failing["pod"])[0]
        text += (f" With podManagementPolicy OrderedReady the controller waits for the broken pod forever, even "
                 f"after the undo: delete it (kubectl delete pod {stuck}{ns_flag}) so it is recreated at the "
                 f"restored revision.")
    return Remediation(text=text, command=f"kubectl rollout undo statefulset/{name}{ns_flag}")


# -- small helpers -------------------------------------------------------------------------------

def _condition(status: Mapping, kind: str) -> tuple[int | None, Mapping | None]:
    for index, condition in enumerate(_l(status.get("conditions"))):
        if _d(condition).get("type") == kind:
            return index, _d(condition)
    return None, None


def _rev(value: Any) -> str:
    return str(int(value)) if value is not None and not pd.isna(value) else "?"


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
