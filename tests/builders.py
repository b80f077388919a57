"""Small builders for Kubernetes objects in the shapes the API server returns.

Unit tests build minimal clusters from these; the bundled examples cover the
full, realistic shapes. Defaults are deliberately plausible (uids, owner
references, timestamps relative to CAPTURED_AT).
"""

from __future__ import annotations

import copy
import hashlib
from datetime import datetime, timedelta, timezone

from runbooks_lib.state import LOGS, METRICS, RUNTIME, ClusterState, LogStore
from runbooks_lib.sources.collect import ObjectCollector
from runbooks_lib.sources.documents import Document
from pathlib import Path

CAPTURED_AT = datetime(2025, 11, 6, 16, 32, 10, tzinfo=timezone.utc)
NS = "shop"


def ts(minutes_ago: float = 0) -> str:
    return (CAPTURED_AT - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def uid(*parts: str) -> str:
    digest = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-a{digest[17:20]}-{digest[20:32]}"


def container(name: str = "app", image: str = "ghcr.io/acme/app:1.0", ports=None, **extra) -> dict:
    spec = {"name": name, "image": image, "imagePullPolicy": "IfNotPresent",
            "resources": {}, "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File"}
    if ports:
        spec["ports"] = [{"name": n, "containerPort": p, "protocol": proto} for n, p, proto in
                         ((x + ("TCP",)) if len(x) == 2 else x for x in ports)]
    spec.update(extra)
    return spec


def running(name: str = "app", ready: bool = True, restarts: int = 0, started_minutes_ago: float = 60,
            last_state: dict | None = None, image: str = "ghcr.io/acme/app:1.0") -> dict:
    return {"name": name, "image": image, "imageID": f"ghcr.io/acme/app@sha256:{'ab' * 32}",
            "containerID": f"containerd://{hashlib.sha256(name.encode()).hexdigest()}",
            "ready": ready, "started": True, "restartCount": restarts,
            "state": {"running": {"startedAt": ts(started_minutes_ago)}}, "lastState": last_state or {}}


def waiting(name: str, reason: str, message: str | None = None, restarts: int = 0,
            last_state: dict | None = None, image: str = "ghcr.io/acme/app:1.0") -> dict:
    state = {"reason": reason}
    if message:
        state["message"] = message
    return {"name": name, "image": image, "imageID": "", "ready": False, "started": False,
            "restartCount": restarts, "state": {"waiting": state}, "lastState": last_state or {}}


def terminated_state(exit_code: int, reason: str, finished_minutes_ago: float = 1, ran_minutes: float = 0.2) -> dict:
    return {"terminated": {"exitCode": exit_code, "reason": reason,
                           "startedAt": ts(finished_minutes_ago + ran_minutes),
                           "finishedAt": ts(finished_minutes_ago),
                           "containerID": f"containerd://{'cd' * 32}"}}


def deployment(name: str, namespace: str = NS, replicas: int = 1, containers=None, labels=None,
               revision: int = 1, status: dict | None = None) -> dict:
    labels = labels or {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "uid": uid("deploy", namespace, name),
                         "generation": revision, "creationTimestamp": ts(24 * 60),
                         "annotations": {"deployment.kubernetes.io/revision": str(revision)}, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": containers or [container()]}},
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                     "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600},
            "status": status if status is not None else {
                "observedGeneration": revision, "replicas": replicas, "updatedReplicas": replicas,
                "readyReplicas": replicas, "availableReplicas": replicas,
                "conditions": [
                    {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                     "message": "Deployment has minimum availability.", "lastUpdateTime": ts(600), "lastTransitionTime": ts(600)},
                    {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                     "message": f'ReplicaSet "{name}-5d4f8b7c9" has successfully progressed.',
                     "lastUpdateTime": ts(600), "lastTransitionTime": ts(1400)}]}}


def replicaset(deploy: dict, template_hash: str, revision: int, replicas: int, ready: int | None = None,
               minutes_ago: float = 60) -> dict:
    meta = deploy["metadata"]
    name = f"{meta['name']}-{template_hash}"
    labels = dict(deploy["spec"]["template"]["metadata"]["labels"], **{"pod-template-hash": template_hash})
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": meta["namespace"], "uid": uid("rs", meta["namespace"], name),
                         "creationTimestamp": ts(minutes_ago), "labels": labels,
                         "annotations": {"deployment.kubernetes.io/revision": str(revision),
                                         "deployment.kubernetes.io/desired-replicas": str(deploy["spec"]["replicas"]),
                                         "deployment.kubernetes.io/max-replicas": str(deploy["spec"]["replicas"] + 1)},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": meta["name"],
                                              "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True}]},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": deploy["spec"]["template"]["spec"]}},
            "status": {"replicas": replicas, "readyReplicas": replicas if ready is None else ready,
                       "availableReplicas": replicas if ready is None else ready, "observedGeneration": 1}}


def pod(name: str, namespace: str = NS, owner: dict | None = None, containers=None, statuses=None,
        phase: str = "Running", labels=None, ip: str = "10.8.1.10", node: str = "node-a",
        minutes_ago: float = 60, conditions=None) -> dict:
    meta = {"name": name, "namespace": namespace, "uid": uid("pod", namespace, name),
            "creationTimestamp": ts(minutes_ago), "labels": labels or {}}
    spec_containers = containers
    if owner is not None:
        meta["labels"] = dict(owner["spec"]["template"]["metadata"]["labels"], **(labels or {}))
        meta["generateName"] = owner["metadata"]["name"] + "-"
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner["kind"], "name": owner["metadata"]["name"],
                                    "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
        spec_containers = spec_containers or copy.deepcopy(owner["spec"]["template"]["spec"]["containers"])
    spec_containers = spec_containers or [container()]
    statuses = statuses if statuses is not None else [running(c["name"]) for c in spec_containers]
    all_ready = all(s.get("ready") for s in statuses)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": spec_containers, "nodeName": node, "restartPolicy": "Always",
                     "serviceAccountName": "default", "dnsPolicy": "ClusterFirst"},
            "status": {"phase": phase, "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": "10.128.0.5",
                       "qosClass": "BestEffort", "startTime": ts(minutes_ago),
                       "conditions": conditions or [
                           {"type": "Ready", "status": "True" if all_ready else "False", "lastTransitionTime": ts(minutes_ago)},
                           {"type": "ContainersReady", "status": "True" if all_ready else "False", "lastTransitionTime": ts(minutes_ago)},
                           {"type": "PodScheduled", "status": "True", "lastTransitionTime": ts(minutes_ago)}],
                       "containerStatuses": statuses}}


def event(obj: dict, reason: str, message: str, type_: str = "Warning", count: int = 1,
          first_minutes_ago: float = 30, last_minutes_ago: float = 1, container_name: str | None = None,
          component: str = "kubelet") -> dict:
    meta = obj["metadata"]
    involved = {"kind": obj["kind"], "namespace": meta.get("namespace"), "name": meta["name"],
                "uid": meta.get("uid"), "apiVersion": obj.get("apiVersion", "v1"), "resourceVersion": "1234"}
    if container_name:
        involved["fieldPath"] = f"spec.containers{{{container_name}}}"
    name = f"{meta['name']}.{hashlib.sha256((reason + message).encode()).hexdigest()[:16]}"
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": meta.get("namespace"), "uid": uid("event", name),
                         "creationTimestamp": ts(first_minutes_ago)},
            "involvedObject": involved, "reason": reason, "message": message, "type": type_,
            "source": {"component": component, "host": "node-a"}, "count": count,
            "firstTimestamp": ts(first_minutes_ago), "lastTimestamp": ts(last_minutes_ago),
            "eventTime": None, "reportingComponent": component, "reportingInstance": "node-a"}


def service(name: str, namespace: str = NS, selector=None, ports=None, type_: str = "ClusterIP") -> dict:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace, "uid": uid("svc", namespace, name),
                         "creationTimestamp": ts(24 * 60)},
            "spec": {"type": type_, "clusterIP": "10.12.3.4", "selector": selector,
                     "ports": ports or [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}]}}


def pod_metrics(pod_obj: dict, usage: dict[str, tuple[str, str]]) -> dict:
    meta = pod_obj["metadata"]
    return {"apiVersion": "metrics.k8s.io/v1beta1", "kind": "PodMetrics",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"], "creationTimestamp": ts(0)},
            "timestamp": ts(0.5), "window": "15s",
            "containers": [{"name": c, "usage": {"cpu": cpu, "memory": mem}} for c, (cpu, mem) in usage.items()]}


def state_of(*objects: dict, logs: dict | None = None, capabilities=None) -> ClusterState:
    """A ClusterState of these objects, captured at CAPTURED_AT.

    ``logs`` maps (namespace, pod, container, previous) to log text.
    """
    collector = ObjectCollector()
    for obj in objects:
        collector.add(Document(obj, Path("<test>"), None))
    store = LogStore()
    for (namespace, pod_name, container_name, previous), text in (logs or {}).items():
        store.add_text(namespace, pod_name, container_name, previous, text)
    state = collector.into(ClusterState(source="<test>", logs=store, captured_at=CAPTURED_AT,
                                        capabilities=frozenset(capabilities if capabilities is not None
                                                               else {RUNTIME, LOGS, METRICS})))
    return state
