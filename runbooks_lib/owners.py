"""Which workload owns a pod: Pod -> ReplicaSet -> Deployment, Pod -> Job -> CronJob, and so on.

Findings about pod-level symptoms are reported on the owning workload, so that
three crash-looping replicas are one finding, not three.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .state import ClusterState

# Owners that are themselves owned: we climb through them to the workload a person manages.
_INTERMEDIATE = {"ReplicaSet": "Deployment", "Job": "CronJob"}


def controller_ref(obj: dict) -> dict | None:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    owners = meta.get("ownerReferences")
    refs = [ref for ref in owners if isinstance(ref, dict)] if isinstance(owners, list) else []
    for ref in refs:
        if ref.get("controller"):
            return ref
    return refs[0] if refs else None


class OwnerIndex:
    def __init__(self, state: "ClusterState"):
        self.state = state
        # pod id -> (pod, workload): every pod-level frame asks for each pod's workload
        self._workloads: dict[int, tuple[dict, tuple[str, str]]] = {}

    @cached_property
    def _by_uid(self) -> dict[str, dict]:
        index = {}
        for kind in ("ReplicaSet", "Job", "Deployment", "CronJob", "StatefulSet", "DaemonSet", "ReplicationController"):
            for obj in self.state.of_kind(kind):
                uid = (obj.get("metadata") or {}).get("uid")
                if isinstance(uid, str) and uid:
                    index[uid] = obj
        return index

    def _owner_of(self, obj: dict, namespace: str) -> tuple[str, str, dict | None] | None:
        ref = controller_ref(obj)
        if not ref or not isinstance(ref.get("kind"), str) or not isinstance(ref.get("name"), str):
            return None
        uid = ref.get("uid")
        owner = (self._by_uid.get(uid) if isinstance(uid, str) else None) or self.state.get(ref["kind"], namespace, ref["name"])
        return ref["kind"], ref["name"], owner

    def workload_of(self, pod: dict) -> tuple[str, str]:
        """(kind, name) of the workload a person manages; a bare pod is its own workload."""
        known = self._workloads.get(id(pod))
        if known is not None and known[0] is pod:  # the identity check makes a reused id harmless
            return known[1]
        workload = self._workload_of(pod)
        self._workloads[id(pod)] = (pod, workload)
        return workload

    def _workload_of(self, pod: dict) -> tuple[str, str]:
        meta = pod.get("metadata") if isinstance(pod.get("metadata"), dict) else {}
        namespace = meta.get("namespace") or ""
        owned = self._owner_of(pod, namespace)
        if owned is None:
            return "Pod", str(meta.get("name") or "")
        kind, name, owner = owned
        if kind in _INTERMEDIATE and owner is not None:
            parent = self._owner_of(owner, namespace)
            if parent is not None and parent[0] == _INTERMEDIATE[kind]:
                return parent[0], parent[1]
        return kind, name

    def replicaset_of(self, pod: dict) -> str | None:
        ref = controller_ref(pod)
        return ref.get("name") if ref and ref.get("kind") == "ReplicaSet" else None
