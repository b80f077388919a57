"""The resource kinds a snapshot holds, and the file names they are stored under.

The first block is exactly what ``kubectl cluster-info dump`` writes per namespace;
the second is this project's extension of that layout (docs/snapshot-format.md).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KindInfo:
    kind: str
    api_version: str
    plural: str  # the file stem: <ns>/<plural>.json
    namespaced: bool = True


_KINDS = [
    # kubectl cluster-info dump
    KindInfo("Event", "v1", "events"),
    KindInfo("Service", "v1", "services"),
    KindInfo("Deployment", "apps/v1", "deployments"),
    KindInfo("ReplicaSet", "apps/v1", "replicasets"),
    KindInfo("DaemonSet", "apps/v1", "daemonsets"),
    KindInfo("ReplicationController", "v1", "replication-controllers"),
    KindInfo("Pod", "v1", "pods"),
    KindInfo("Node", "v1", "nodes", namespaced=False),
    # project extensions
    KindInfo("NetworkPolicy", "networking.k8s.io/v1", "networkpolicies"),
    KindInfo("StatefulSet", "apps/v1", "statefulsets"),
    KindInfo("Job", "batch/v1", "jobs"),
    KindInfo("CronJob", "batch/v1", "cronjobs"),
    KindInfo("Endpoints", "v1", "endpoints"),
    KindInfo("HorizontalPodAutoscaler", "autoscaling/v2", "horizontalpodautoscalers"),
    KindInfo("PersistentVolumeClaim", "v1", "persistentvolumeclaims"),
    KindInfo("PodMetrics", "metrics.k8s.io/v1beta1", "podmetrics"),
    KindInfo("NodeMetrics", "metrics.k8s.io/v1beta1", "nodemetrics", namespaced=False),
    # seen in manifests and single files
    KindInfo("Namespace", "v1", "namespaces", namespaced=False),
    KindInfo("ConfigMap", "v1", "configmaps"),
    KindInfo("ServiceAccount", "v1", "serviceaccounts"),
]

BY_KIND: dict[str, KindInfo] = {info.kind: info for info in _KINDS}
BY_PLURAL: dict[str, KindInfo] = {info.plural: info for info in _KINDS}
# The list kind kubectl writes ("PodList") names the item kind when items lack one.
BY_LIST_KIND: dict[str, KindInfo] = {info.kind + "List": info for info in _KINDS}

NAMESPACED_FILES = [info.plural for info in _KINDS if info.namespaced and info.plural not in ("configmaps", "serviceaccounts")]
CLUSTER_FILES = ["nodes", "nodemetrics", "namespaces"]

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet", "ReplicationController")
