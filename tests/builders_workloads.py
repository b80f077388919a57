"""More builders, for rollout, scheduling, service and resource tests.

They complement tests/builders.py with the shapes those tests need: StatefulSets,
Pending pods, Nodes with taints, Endpoints, PVCs, resources, and manifest states
(loaded through the real manifests source so that stand-in pods and locations
are the ones users get).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from runbooks_lib.sources.manifests import load_manifest_files

from builders import NS, container, pod, ts, uid


def resources(cpu_request: str | None = None, memory_request: str | None = None,
              cpu_limit: str | None = None, memory_limit: str | None = None) -> dict:
    requests = {k: v for k, v in (("cpu", cpu_request), ("memory", memory_request)) if v}
    limits = {k: v for k, v in (("cpu", cpu_limit), ("memory", memory_limit)) if v}
    out: dict = {}
    if requests:
        out["requests"] = requests
    if limits:
        out["limits"] = limits
    return out


def statefulset(name: str, namespace: str = NS, replicas: int = 3, containers=None, labels=None,
                status: dict | None = None, current_revision: str | None = None,
                update_revision: str | None = None) -> dict:
    labels = labels or {"app": name}
    current_revision = current_revision or f"{name}-6c9f7d8b5"
    update_revision = update_revision or current_revision
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": name, "namespace": namespace, "uid": uid("sts", namespace, name),
                         "generation": 2, "creationTimestamp": ts(24 * 60), "labels": labels},
            "spec": {"replicas": replicas, "serviceName": name, "selector": {"matchLabels": labels},
                     "podManagementPolicy": "OrderedReady",
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": containers or [container()]}}},
            "status": status if status is not None else {
                "observedGeneration": 2, "replicas": replicas, "readyReplicas": replicas,
                "currentReplicas": replicas, "updatedReplicas": replicas, "availableReplicas": replicas,
                "currentRevision": current_revision, "updateRevision": update_revision,
                "collisionCount": 0}}


def sts_pod(sts: dict, ordinal: int, revision: str, **kwargs) -> dict:
    """A StatefulSet pod: stable name, controller-revision-hash label."""
    name = f"{sts['metadata']['name']}-{ordinal}"
    labels = {"controller-revision-hash": revision,
              "statefulset.kubernetes.io/pod-name": name, "apps.kubernetes.io/pod-index": str(ordinal)}
    return pod(name, namespace=sts["metadata"]["namespace"], owner=sts, labels=labels, **kwargs)


def pending_pod(name: str, namespace: str = NS, owner: dict | None = None, message: str | None = None,
                minutes_ago: float = 20, containers=None, labels=None) -> dict:
    """A pod the scheduler could not place: Pending, no node, PodScheduled=False Unschedulable."""
    obj = pod(name, namespace=namespace, owner=owner, containers=containers, labels=labels,
              phase="Pending", statuses=[], minutes_ago=minutes_ago)
    obj["spec"].pop("nodeName", None)
    status = obj["status"]
    for key in ("podIP", "podIPs", "hostIP", "startTime"):
        status.pop(key, None)
    status["containerStatuses"] = None
    condition = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                 "lastProbeTime": None, "lastTransitionTime": ts(minutes_ago)}
    if message:
        condition["message"] = message
    status["conditions"] = [condition]
    status["qosClass"] = "Burstable"
    return obj


def node(name: str, taints=None, cpu: str = "3920m", memory: str = "12879308Ki", labels=None,
         unschedulable: bool = False) -> dict:
    spec: dict = {"podCIDR": "10.8.0.0/24", "providerID": f"gce://staging/us-central1-a/{name}"}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "uid": uid("node", name), "creationTimestamp": ts(30 * 24 * 60),
                         "labels": labels or {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}},
            "spec": spec,
            "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": "110"},
                       "capacity": {"cpu": "4", "memory": "16393232Ki", "pods": "110"},
                       "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                       "lastTransitionTime": ts(30 * 24 * 60)}],
                       "nodeInfo": {"kubeletVersion": "v1.31.6-gke.1020000"}}}


def endpoints(svc: dict, ready=(), not_ready=(), ports=None) -> dict:
    """The Endpoints object of a Service; ``ready``/``not_ready`` are pod objects."""
    meta = svc["metadata"]

    def address(p: dict) -> dict:
        return {"ip": p["status"].get("podIP") or "10.8.1.99", "nodeName": p["spec"].get("nodeName"),
                "targetRef": {"kind": "Pod", "namespace": p["metadata"]["namespace"],
                              "name": p["metadata"]["name"], "uid": p["metadata"]["uid"]}}

    subsets = []
    if ready or not_ready:
        subset: dict = {"ports": ports or [{"name": sp.get("name"), "port": 8080, "protocol": "TCP"}
                                          for sp in svc["spec"]["ports"]]}
        if ready:
            subset["addresses"] = [address(p) for p in ready]
        if not_ready:
            subset["notReadyAddresses"] = [address(p) for p in not_ready]
        subsets.append(subset)
    obj = {"apiVersion": "v1", "kind": "Endpoints",
           "metadata": {"name": meta["name"], "namespace": meta["namespace"], "uid": uid("ep", meta["name"]),
                        "creationTimestamp": ts(24 * 60)}}
    if subsets:
        obj["subsets"] = subsets
    return obj


def pvc(name: str, namespace: str = NS, phase: str = "Pending", storage_class: str = "standard-rwo") -> dict:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": namespace, "uid": uid("pvc", namespace, name),
                         "creationTimestamp": ts(30)},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
                     "resources": {"requests": {"storage": "10Gi"}}, "volumeMode": "Filesystem"},
            "status": {"phase": phase}}


def manifest_state(tmp_path: Path, *objects: dict, file_name: str = "manifests.yaml"):
    """A state loaded the way ``runbooks_lib.load`` loads a manifest file: stand-in pods, locations,
    no runtime capability."""
    path = tmp_path / file_name
    path.write_text(yaml.safe_dump_all(list(objects), sort_keys=False), encoding="utf-8")
    return load_manifest_files([path], str(path))


def manifest_service(name: str, namespace: str = NS, selector=None, ports=None) -> dict:
    """A Service as written in a manifest: no clusterIP, uid or status."""
    spec: dict = {"selector": selector if selector is not None else {"app": name},
                  "ports": ports or [{"name": "http", "port": 80, "targetPort": "http"}]}
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
            "spec": spec}


def manifest_deployment(name: str, namespace: str = NS, replicas: int = 1, containers=None,
                        labels=None) -> dict:
    labels = labels or {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": containers or [container()]}}}}


# -- odd data ------------------------------------------------------------------------------------

def paths_of(value, prefix=()):
    """Every path (tuple of keys/indexes) inside a JSON-like value."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths_of(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths_of(item, prefix + (index,))


def corrupt(objects: list[dict], choices: list[tuple[int, object]]) -> list[dict]:
    """Copies of ``objects`` with the field at each chosen path index replaced: what real dumps do with
    nulls, strings for numbers and so on."""
    import copy

    out = copy.deepcopy(objects)
    for pick, replacement in choices:
        obj = out[pick % len(out)]
        # Identity is kept: kind, name and namespace (the sources reject objects without them), and the uids
        # and owner references that ClusterState and OwnerIndex index on (they raise on odd values there).
        paths = [p for p in paths_of(obj)
                 if p and p not in (("kind",), ("metadata",), ("metadata", "name"), ("metadata", "namespace"))
                 and p[-1] != "uid" and "ownerReferences" not in p]
        if not paths:
            continue
        path = paths[(pick // len(out)) % len(paths)]
        parent = obj
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = replacement
    return out


def incident_objects() -> list[dict]:
    """A small namespace where every rollout/service/resource rule has something to say."""
    from builders import deployment, event, pod_metrics, replicaset, service, terminated_state, waiting

    web = deployment("web", replicas=2, revision=7, containers=[container(
        "app", ports=[("http", 8080), ("http", 8081)],
        resources=resources("100m", "256Mi", "200m", "512Mi"))])
    web["status"] = {"replicas": 3, "updatedReplicas": 1, "availableReplicas": 2, "readyReplicas": 2,
                     "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                                     "message": 'ReplicaSet "web-84c6f7b9d5" has timed out progressing.'}]}
    old = replicaset(web, "5d4f8b7c9", 6, 2)
    new = replicaset(web, "84c6f7b9d5", 7, 1, ready=0, minutes_ago=30)
    stale = [replicaset(web, f"{r}a7b8c9d", r, 0, minutes_ago=5000 - r) for r in range(1, 6)]
    old_pods = [pod(f"web-5d4f8b7c9-{s}", owner=old) for s in ("aaaaa", "bbbbb")]
    crashing = pod("web-84c6f7b9d5-ccccc", owner=new, minutes_ago=30, statuses=[
        waiting("app", "CrashLoopBackOff", "back-off 5m0s restarting failed container=app pod=web-84c6f7b9d5-ccccc_shop(u)",
                restarts=6, last_state=terminated_state(137, "OOMKilled"))])
    pending = pending_pod("web-84c6f7b9d5-ddddd", owner=new, message=(
        "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient memory."))
    db = statefulset("db", replicas=2, current_revision="db-1", update_revision="db-2", status={
        "replicas": 2, "readyReplicas": 1, "updatedReplicas": 0, "currentRevision": "db-1", "updateRevision": "db-2"})
    db_pods = [sts_pod(db, 0, "db-1"), sts_pod(db, 1, "db-2", statuses=[waiting("app", "ImagePullBackOff")])]
    svc = service("web", selector={"app": "web"}, ports=[
        {"name": "http", "port": 80, "protocol": "TCP", "targetPort": "web"},
        {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 9999}])
    lost = service("lost", selector={"app": "lsot"})
    return [web, old, new, *stale, *old_pods, crashing, pending, db, *db_pods, svc, lost,
            endpoints(svc, ready=old_pods), node("n1", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]),
            event(pending, "FailedScheduling", pending["status"]["conditions"][0]["message"], component="default-scheduler"),
            event(crashing, "BackOff", "Back-off restarting failed container app in pod web-84c6f7b9d5-ccccc_shop(u)",
                  container_name="app"),
            pod_metrics(old_pods[0], {"app": ("199m", "500Mi")}), pod_metrics(old_pods[1], {"app": ("1m", "20Mi")})]


def fuzzed_state(choices: list[tuple[int, object]]):
    """The incident objects with odd fields, as a state whose shared indexes and frames build; None when the
    shared code (state, owners, frames) itself fails on the data, which is not what detector tests test."""
    from builders import state_of

    state = state_of(*corrupt(incident_objects(), choices))
    try:
        state.get("Pod", None, "")
        state.by_uid("")
        frames = state.frames
        for name in ("pods", "containers", "probes", "ports", "events", "workloads", "replicasets", "services",
                     "nodes", "pod_metrics", "resource_usage"):
            getattr(frames, name)
    except Exception:  # noqa: BLE001 - reported to the owners of the shared code, not ours to test here
        return None
    return state
