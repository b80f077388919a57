"""stale-replicasets: old ReplicaSets of a Deployment piling up at zero replicas."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from ..findings import Evidence, Finding, Remediation
from ..registry import Rule, detector
from ..state import RUNTIME
from ._common import as_mapping as _d, frame_rows, location, object_name, to_yaml

RULE_ID = "stale-replicasets"

# Report a Deployment when it keeps more than this many old, scaled-to-zero ReplicaSets;
# the fix keeps this many (enough to roll back a few revisions).
STALE_THRESHOLD = 3
KEEP = 3
DEFAULT_REVISION_HISTORY_LIMIT = 10


@detector(Rule(
    id=RULE_ID,
    title="Old ReplicaSets pile up",
    severity="info",
    detects=(
        f"A Deployment with more than {STALE_THRESHOLD} old ReplicaSets at 0 replicas (not its current "
        "revision). Kubernetes keeps `spec.revisionHistoryLimit` of them (10 by default) for rollbacks."),
    why=(
        "During an incident `kubectl get rs` lists every old revision, which buries the one that matters; each "
        "keeps a full copy of the pod template in etcd. Frequent rollouts with the default limit, or a limit "
        "raised by hand, make them pile up (the seed incident cleaned up 14)."),
    example=(
        "kubectl get rs: web-6b7f9c5d48 0 0 0 12d, web-7c9d4b8f6 0 0 0 9d, web-58f7b6d9c4 0 0 0 6d, "
        "web-5d4f8b7c9 0 0 0 2d, web-84c6f7b9d5 3 3 3 20h"),
    fix=(
        f"Lower `spec.revisionHistoryLimit` (e.g. to {KEEP}): the Deployment controller then deletes the oldest "
        "ReplicaSets itself. Or delete the old ReplicaSets (not the current one) with kubectl delete rs."),
    runbook="rollouts",
    needs=frozenset({RUNTIME}),
))
def detect(state) -> Iterable[Finding]:
    replicasets = state.frames.replicasets
    if replicasets.empty:
        return []
    # Stale ReplicaSets run no pod: most Deployments have too few of those to report, counted here
    # at once rather than by frame work per Deployment.
    idle = replicasets[replicasets["current"] == 0]
    idle_per_owner = Counter(zip(idle["namespace"].tolist(), idle["owner"].tolist()))
    findings = []
    for deployment in state.of_kind("Deployment"):
        meta, spec = _d(deployment.get("metadata")), _d(deployment.get("spec"))
        namespace, name = meta.get("namespace"), meta.get("name")
        if not isinstance(name, str) or idle_per_owner[(namespace, name)] <= STALE_THRESHOLD:
            continue
        owned = state.frames.lookup("replicasets", namespace=namespace, owner=name)
        current = _revision(deployment)
        revisions = owned["revision"].dropna()
        if current is None and not revisions.empty:
            current = int(revisions.max())
        stale = []
        for row in frame_rows(owned):
            rs = state.get("ReplicaSet", namespace, row.name) or {}
            desired = _d(rs.get("spec")).get("replicas")
            running = row.current
            if desired != 0 or running:
                continue
            if row.revision is not None and not _isnan(row.revision) and current is not None and int(row.revision) == current:
                continue
            stale.append(row)
        if len(stale) <= STALE_THRESHOLD:
            continue
        stale.sort(key=lambda r: (-(int(r.revision) if not _isnan(r.revision) else -1), r.name))  # newest first
        findings.append(_finding(state, deployment, namespace, name, spec, stale))
    return findings


def _finding(state, deployment: Mapping, namespace: str, name: str, spec: Mapping, stale: list) -> Finding:
    limit_value = spec.get("revisionHistoryLimit")
    limit = limit_value if isinstance(limit_value, int) and not isinstance(limit_value, bool) else DEFAULT_REVISION_HISTORY_LIMIT
    target = object_name("Deployment", namespace, name)
    revisions = [int(r.revision) for r in stale if not _isnan(r.revision)]
    span = f" (revisions {min(revisions)}–{max(revisions)})" if revisions else ""
    limit_text = f"revisionHistoryLimit {limit}" + ("" if isinstance(limit_value, int) else " by default")
    summary = f"{name} keeps {len(stale)} old ReplicaSets at 0 replicas{span}; {limit_text}"

    evidence = [Evidence.from_field(
        f"revisionHistoryLimit is {limit}" + ("" if isinstance(limit_value, int) else " (not set: the default)"),
        path="spec.revisionHistoryLimit", value=limit_value if isinstance(limit_value, int) else None, object=target)]
    for row in stale:
        revision = int(row.revision) if not _isnan(row.revision) else None
        evidence.append(Evidence.from_field(
            f"ReplicaSet {row.name}: revision {revision if revision is not None else '?'}, 0 replicas, age {row.age}",
            path="spec.replicas", value=0, object=object_name("ReplicaSet", namespace, row.name)))

    to_delete = [row.name for row in stale[KEEP:]]
    ns_flag = f" -n {namespace}" if namespace else ""
    command = f"kubectl delete replicaset{ns_flag} {' '.join(to_delete)}" if to_delete else None
    if limit > KEEP:
        text = (f"Set spec.revisionHistoryLimit to {KEEP}: the Deployment controller then deletes all but the "
                f"{KEEP} newest old ReplicaSets itself (apply with kubectl patch deployment {name}{ns_flag} "
                f"--type merge --patch-file fix.yaml, and make the same change in the manifest). Or delete the "
                f"oldest ones now with the command, keeping the {KEEP} newest for rollbacks.")
        remediation = Remediation(text=text, patch=to_yaml({"spec": {"revisionHistoryLimit": KEEP}}), patch_type="merge",
                                  target=target, command=command)
    else:
        text = (f"revisionHistoryLimit is already {limit}, yet {len(stale)} old ReplicaSets remain (adopted or "
                f"left over from an earlier limit): delete the oldest ones, keeping the {KEEP} newest for rollbacks.")
        remediation = Remediation(text=text, target=target, command=command)
    return Finding(rule=RULE_ID, severity="info", namespace=namespace, kind="Deployment", name=name, summary=summary,
                   evidence=tuple(evidence), remediation=remediation,
                   location=location(state, "Deployment", namespace, name, "spec.revisionHistoryLimit"))


def _revision(obj: Mapping) -> int | None:
    value = _d(_d(obj.get("metadata")).get("annotations")).get("deployment.kubernetes.io/revision")
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _isnan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)
