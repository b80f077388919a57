#!/usr/bin/env python3
"""Write the bundled example snapshots.

    python examples/_generate.py

Writes ``examples/staging-incident/snapshot`` (the seed incident at its worst
moment, before any fix) and ``examples/healthy/snapshot`` in the layout of
``kubectl cluster-info dump --output-directory`` plus this project's extensions
(see docs/snapshot-format.md). The hand-written kustomization under
``examples/staging-incident/manifests`` is what the staging pods were rendered
from; tests/test_examples_schema.py checks that the two agree.

The output is byte-identical from run to run: every uid, hash, IP and timing
jitter comes from a random generator seeded with the name of the thing it is for.
Container histories are simulated (kubelet restart back-off, probe schedules) and
the pod status, events, logs and restart counts are all derived from the same
simulation, so they agree with each other.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

EXAMPLES = Path(__file__).resolve().parent

# Characters Kubernetes uses for generated name suffixes and pod-template-hash values
# (k8s.io/apimachinery/pkg/util/rand: no vowels, no 0/1/3, so no words and no look-alikes).
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

BACKOFF_EVENT_INTERVAL = (10.0, 16.0)  # the kubelet re-syncs a backed-off pod about this often

SERVER_VERSION = "v1.30.5-gke.1014001"
CONTEXT = "gke_acme-staging_us-central1_staging-gke"
CLUSTER = "staging-gke"
PROJECT = "acme-staging"
SCHEDULER_INSTANCE = "default-scheduler-gke-4b7d0e1c93a2f5d68e10-5c3f-vm"

CLOUD_SQL_PROXY_IMAGE = "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.1"
PAUSE_IMAGE = "gke.gcr.io/pause:3.8@sha256:880e63f94b145e46f1b1082bb71b85e21f16b99b180b9996407d61240ceb9830"


# --------------------------------------------------------------------------- determinism


def digest(*parts: object) -> str:
    return hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()


def rng_for(*parts: object) -> random.Random:
    return random.Random(digest("rng", *parts))


def stable_uid(*parts: object) -> str:
    return str(uuid.UUID(hex=digest("uid", *parts)[:32], version=4))


def name_suffix(length: int, *parts: object) -> str:
    rng = rng_for("suffix", *parts)
    return "".join(rng.choice(NAME_ALPHABET) for _ in range(length))


def container_id(*parts: object) -> str:
    return "containerd://" + digest("container", *parts)


def image_id(image: str) -> str:
    """What containerd reports as imageID: the repository with the manifest digest."""
    repository = image.rsplit(":", 1)[0] if "@" not in image else image.split("@")[0]
    return f"{normalized_image(repository)}@sha256:{digest('image', image)}"


def normalized_image(image: str) -> str:
    """containerd reports Docker Hub images with their full name."""
    first = image.split("/")[0]
    if "." in first or ":" in first or first == "localhost":
        return image
    return f"docker.io/{image}" if "/" in image else f"docker.io/library/{image}"


# --------------------------------------------------------------------------- time


def at(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=timezone.utc)


def iso(t: float) -> str:
    """metav1.Time: whole seconds."""
    return _utc(int(t)).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_micro(t: float) -> str:
    """metav1.MicroTime."""
    return _utc(t).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_milli(t: float) -> str:
    return _utc(t).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def go_duration(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


def resource_version(t: float, salt: object = "") -> str:
    """etcd revisions grow with time; a few per second on a small cluster."""
    base = 48_100_000 + int((t - at("2025-11-05T00:00:00Z")) * 3)
    return str(base + int(digest("rv", salt)[:2], 16) % 3)


# --------------------------------------------------------------------------- JSON in Go's field order


def go_order(obj: dict, fields: Iterable[str]) -> dict:
    """Reorder a struct-like dict to Go's field order (what kubectl prints)."""
    fields = list(fields)
    unknown = set(obj) - set(fields)
    assert not unknown, f"unknown fields {unknown}"
    return {key: obj[key] for key in fields if key in obj}


def sorted_map(mapping: dict) -> dict:
    """Go marshals maps (labels, annotations, resource lists) sorted by key."""
    return {key: mapping[key] for key in sorted(mapping)}


CONTAINER_FIELDS = ("name", "image", "command", "args", "workingDir", "ports", "envFrom", "env", "resources",
                    "volumeMounts", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle",
                    "terminationMessagePath", "terminationMessagePolicy", "imagePullPolicy", "securityContext")
PROBE_FIELDS = ("exec", "httpGet", "tcpSocket", "grpc", "initialDelaySeconds", "timeoutSeconds", "periodSeconds",
                "successThreshold", "failureThreshold")
POD_SPEC_FIELDS = ("volumes", "containers", "restartPolicy", "terminationGracePeriodSeconds", "dnsPolicy",
                   "nodeSelector", "serviceAccountName", "serviceAccount", "nodeName", "securityContext",
                   "affinity", "schedulerName", "tolerations", "priorityClassName", "priority", "enableServiceLinks",
                   "preemptionPolicy")


def to_json(obj: object) -> str:
    """kubectl's JSON: four-space indent, UTF-8 kept, HTML characters escaped as Go does."""
    text = json.dumps(obj, indent=4, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") + "\n"


# --------------------------------------------------------------------------- nodes


@dataclass(frozen=True)
class Node:
    name: str
    zone: str
    internal_ip: str
    external_ip: str
    pod_cidr: str
    instance_id: str
    created: float

    @property
    def gateway_ip(self) -> str:
        """Where kubelet probes come from with GKE Dataplane V2: the node's end of the pod range."""
        return self.pod_cidr.rsplit(".", 1)[0] + ".1"

    def pod_ip(self, host: int) -> str:
        return self.pod_cidr.rsplit(".", 1)[0] + f".{host}"


STAGING_NODES = (
    Node("gke-staging-gke-default-pool-3f9c2a71-k2lq", "us-central1-a", "10.128.0.21", "34.172.18.45",
         "10.8.0.0/24", "7409983519237645321", at("2025-10-29T07:41:12Z")),
    Node("gke-staging-gke-default-pool-8d41e0b5-7xw3", "us-central1-b", "10.128.0.22", "35.224.91.130",
         "10.8.1.0/24", "2861047759315528804", at("2025-10-29T07:43:55Z")),
    Node("gke-staging-gke-default-pool-c6a7f2d9-pz4m", "us-central1-c", "10.128.0.23", "34.69.203.17",
         "10.8.2.0/24", "5932288416091137460", at("2025-10-29T07:46:31Z")),
)
NODE_A, NODE_B, NODE_C = STAGING_NODES


def node_labels(node: Node) -> dict:
    return sorted_map({
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/instance-type": "e2-standard-4",
        "beta.kubernetes.io/os": "linux",
        "cloud.google.com/gke-boot-disk": "pd-balanced",
        "cloud.google.com/gke-container-runtime": "containerd",
        "cloud.google.com/gke-cpu-scaling-level": "4",
        "cloud.google.com/gke-logging-variant": "DEFAULT",
        "cloud.google.com/gke-max-pods-per-node": "110",
        "cloud.google.com/gke-memory-gb-scaling-level": "16",
        "cloud.google.com/gke-nodepool": "default-pool",
        "cloud.google.com/gke-os-distribution": "cos",
        "cloud.google.com/gke-provisioning": "standard",
        "cloud.google.com/gke-stack-type": "IPV4",
        "cloud.google.com/machine-family": "e2",
        "cloud.google.com/private-node": "false",
        "failure-domain.beta.kubernetes.io/region": "us-central1",
        "failure-domain.beta.kubernetes.io/zone": node.zone,
        "iam.gke.io/gke-metadata-server-enabled": "true",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": node.name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": "e2-standard-4",
        "node.kubernetes.io/masq-agent-ds-ready": "true",
        "topology.gke.io/zone": node.zone,
        "topology.kubernetes.io/region": "us-central1",
        "topology.kubernetes.io/zone": node.zone,
    })


def node_annotations(node: Node) -> dict:
    applied = ",".join(f"{k}={v}" for k, v in node_labels(node).items()
                       if k.startswith("cloud.google.com/") or k.startswith("iam.gke.io/"))
    csi_id = json.dumps({"pd.csi.storage.gke.io": f"projects/{PROJECT}/zones/{node.zone}/instances/{node.name}"},
                        separators=(",", ":"))
    return sorted_map({
        "container.googleapis.com/instance_id": node.instance_id,
        "csi.volume.kubernetes.io/nodeid": csi_id,
        "node.alpha.kubernetes.io/ttl": "0",
        "node.gke.io/last-applied-node-labels": applied,
        "node.gke.io/last-applied-node-taints": "",
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
    })


# GKE's node-problem-detector conditions come first, then the kubelet's own.
NODE_CONDITIONS = (
    ("FrequentUnregisterNetDevice", "False", "NoFrequentUnregisterNetDevice", "node is functioning properly", "npd"),
    ("FrequentKubeletRestart", "False", "NoFrequentKubeletRestart", "kubelet is functioning properly", "npd"),
    ("FrequentDockerRestart", "False", "NoFrequentDockerRestart", "docker is functioning properly", "npd"),
    ("FrequentContainerdRestart", "False", "NoFrequentContainerdRestart", "containerd is functioning properly", "npd"),
    ("KernelDeadlock", "False", "KernelHasNoDeadlock", "kernel has no deadlock", "npd"),
    ("ReadonlyFilesystem", "False", "FilesystemIsNotReadOnly", "Filesystem is not read-only", "npd"),
    ("CorruptDockerOverlay2", "False", "NoCorruptDockerOverlay2", "docker overlay2 is functioning properly", "npd"),
    ("NetworkUnavailable", "False", "CiliumIsUp", "Cilium is running on this node", "cni"),
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available", "kubelet"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure", "kubelet"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available", "kubelet"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status", "kubelet"),
)


def node_condition(node: Node, captured: float, row: tuple) -> dict:
    kind, status, reason, message, owner = row
    rng = rng_for("heartbeat", node.name, kind, captured)
    transition = node.created + {"npd": 41, "cni": 12, "kubelet": 3}[owner] + (9 if kind == "Ready" else 0)
    # npd re-posts every 5 minutes, the kubelet its conditions at least every 5 minutes as well
    heartbeat = transition if owner == "cni" else captured - rng.uniform(20, 290)
    return {"type": kind, "status": status, "lastHeartbeatTime": iso(heartbeat),
            "lastTransitionTime": iso(transition), "reason": reason, "message": message}


def node_object(node: Node, captured: float, images: Iterable[tuple[str, int]]) -> dict:
    rng = rng_for("node", node.name)
    image_list = [{"names": [image_id(name), normalized_image(name)], "sizeBytes": size}
                  for name, size in sorted(set(images), key=lambda item: (-item[1], item[0]))]
    image_list.append({"names": [PAUSE_IMAGE, "gke.gcr.io/pause:3.8"], "sizeBytes": 268082})
    return {
        "metadata": {
            "name": node.name,
            "uid": stable_uid("node", node.name),
            "resourceVersion": resource_version(captured - rng.uniform(2, 9), node.name),
            "creationTimestamp": iso(node.created),
            "labels": node_labels(node),
            "annotations": node_annotations(node),
        },
        "spec": {
            "podCIDR": node.pod_cidr,
            "podCIDRs": [node.pod_cidr],
            "providerID": f"gce://{PROJECT}/{node.zone}/{node.name}",
        },
        "status": {
            "capacity": sorted_map({"cpu": "4", "ephemeral-storage": "98831908Ki", "hugepages-1Gi": "0",
                                    "hugepages-2Mi": "0", "memory": "16393916Ki", "pods": "110"}),
            "allocatable": sorted_map({"cpu": "3920m", "ephemeral-storage": "47060071478", "hugepages-1Gi": "0",
                                       "hugepages-2Mi": "0", "memory": "13292732Ki", "pods": "110"}),
            "conditions": [node_condition(node, captured, row) for row in NODE_CONDITIONS],
            "addresses": [{"type": "InternalIP", "address": node.internal_ip},
                          {"type": "ExternalIP", "address": node.external_ip},
                          {"type": "Hostname", "address": node.name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": digest("machine", node.name)[:32],
                "systemUUID": stable_uid("system", node.name),
                "bootID": stable_uid("boot", node.name),
                "kernelVersion": "6.1.100+",
                "osImage": "Container-Optimized OS from Google",
                "containerRuntimeVersion": "containerd://1.7.22",
                "kubeletVersion": SERVER_VERSION,
                "kubeProxyVersion": SERVER_VERSION,
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
            "images": image_list,
        },
    }


# --------------------------------------------------------------------------- container histories


@dataclass(frozen=True)
class FailingProbe:
    """A probe that fails every time it runs, with the kubelet's event message."""

    kind: str  # Readiness, Liveness, Startup
    message: str
    initial_delay: float
    period: float
    access_path: str | None = None  # logged by the app as a 404 (the probe reached it)


@dataclass(frozen=True)
class Behaviour:
    """How one container behaves each time the kubelet starts it."""

    run_seconds: float | None = None  # None: keeps running
    exit_code: int = 0
    liveness_kill: bool = False  # ended by the kubelet after failed liveness probes
    ready_when_running: bool = True
    failing_probes: tuple[FailingProbe, ...] = ()
    image_pulled: bool = False  # the first start had to pull the image onto the node
    pull_seconds: float = 0.0
    image_size: int = 0


def killed_after(liveness: FailingProbe, failure_threshold: int, shutdown_seconds: float) -> float:
    """How long a container lives when every liveness probe fails."""
    return liveness.initial_delay + (failure_threshold - 1) * liveness.period + shutdown_seconds


@dataclass
class Run:
    index: int
    started: float
    finished: float | None  # None: running at capture time
    exit_code: int | None
    container_id: str

    @property
    def reason(self) -> str:
        return "Completed" if self.exit_code == 0 else "Error"


@dataclass
class History:
    runs: list[Run]
    backoffs: list[tuple[float, float]]  # waits before a restart, the last one clipped at capture
    waiting_backoff: int | None  # seconds of the back-off the container is waiting in at capture

    @property
    def restarts(self) -> int:
        return len(self.runs) - 1

    @property
    def current(self) -> Run:
        """The instance `kubectl logs` shows: the running one, or the one that just ended."""
        return self.runs[-1]

    @property
    def previous(self) -> Run | None:
        """The instance `kubectl logs --previous` shows (lastState.terminated)."""
        if self.waiting_backoff is not None:
            return self.runs[-1]
        return self.runs[-2] if len(self.runs) > 1 else None


class KubeletBackoff:
    """flowcontrol.Backoff as the kubelet uses it for restarts: 10s doubling to 5m, no jitter."""

    initial, maximum = 10, 300

    def __init__(self) -> None:
        self.delay: int | None = None
        self.updated = 0.0

    def _expired(self, exited: float) -> bool:
        return exited - self.updated > 2 * self.maximum

    def holds(self, exited: float | None, now: float) -> bool:
        """IsInBackOffSince: was the last exit too recent to restart now?"""
        if exited is None or self.delay is None or self._expired(exited):
            return False
        return now - exited < self.delay

    def next(self, exited: float, now: float) -> None:
        if self.delay is None or self._expired(exited):
            self.delay = self.initial
        else:
            self.delay = min(self.delay * 2, self.maximum)
        self.updated = now


def simulate(first_start: float, behaviour: Behaviour, captured: float, *key: object) -> History:
    """Start, stop and restart a container the way the kubelet does until capture time.

    The kubelet checks back-off against the most recent *exited* instance. A container
    that exits by itself is that instance, so it waits 10s, 20s, ... 5m. A container
    killed for failing liveness is restarted in the same sync, checked against the exit
    before it: one that lives longer than the current back-off never waits at all.
    """
    rng = rng_for("simulate", *key)
    backoff = KubeletBackoff()
    runs: list[Run] = []
    backoffs: list[tuple[float, float]] = []
    start = first_start
    while True:
        index = len(runs)
        cid = container_id(*key, index)
        end = None if behaviour.run_seconds is None else start + behaviour.run_seconds + rng.uniform(0.0, 1.2)
        if end is None or end > captured:
            runs.append(Run(index, start, None, None, cid))
            return History(runs, backoffs, None)
        previous_exit = runs[-1].finished if runs else None
        runs.append(Run(index, start, end, behaviour.exit_code, cid))
        checked = previous_exit if behaviour.liveness_kill else end
        sync = end + rng.uniform(0.05, 0.4)
        if backoff.holds(checked, sync):
            resume = end + backoff.delay + rng.uniform(0.6, 2.2)  # CrashLoopBackOff until the delay has passed
            if resume > captured:
                backoffs.append((end, captured))
                return History(runs, backoffs, backoff.delay)
            backoffs.append((end, resume))
            backoff.next(end, resume)
        else:
            resume = sync + rng.uniform(0.2, 0.6)
            if checked is not None:
                backoff.next(checked, sync)
        start = resume


def probe_times(run: Run, probe: FailingProbe, captured: float) -> list[float]:
    end = run.finished if run.finished is not None else captured
    times, t = [], run.started + probe.initial_delay
    while t < end:
        times.append(t)
        t += probe.period
    return times


# --------------------------------------------------------------------------- pod specs, as the API server stores them


def env(name: str, value: str) -> dict:
    return {"name": name, "value": value}


def secret_env(name: str, secret: str, key: str) -> dict:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def http_probe(path: str, port: int | str, *, initial: int = 0, period: int = 10, timeout: int = 1,
               failure: int = 3) -> dict:
    probe = {"httpGet": {"path": path, "port": port, "scheme": "HTTP"}, "initialDelaySeconds": initial,
             "timeoutSeconds": timeout, "periodSeconds": period, "successThreshold": 1, "failureThreshold": failure}
    if not initial:
        del probe["initialDelaySeconds"]  # omitempty
    return go_order(probe, PROBE_FIELDS)


def grpc_probe(port: int, *, period: int = 10) -> dict:
    return {"grpc": {"port": port, "service": ""}, "timeoutSeconds": 1, "periodSeconds": period,
            "successThreshold": 1, "failureThreshold": 3}


def resources(cpu_request: str, memory_request: str, cpu_limit: str, memory_limit: str) -> dict:
    return {"limits": {"cpu": cpu_limit, "memory": memory_limit},
            "requests": {"cpu": cpu_request, "memory": memory_request}}


def container(name: str, image: str, **fields) -> dict:
    """A container spec with the fields the API server fills in."""
    spec = {"name": name, "image": image, **fields}
    spec["ports"] = [{"name": port_name, "containerPort": port, "protocol": "TCP"}
                     for port_name, port in fields.get("ports", ())]
    if not spec["ports"]:
        del spec["ports"]
    spec.setdefault("resources", {})
    spec.setdefault("terminationMessagePath", "/dev/termination-log")
    spec.setdefault("terminationMessagePolicy", "File")
    spec.setdefault("imagePullPolicy", "IfNotPresent")
    return go_order(spec, CONTAINER_FIELDS)


def pod_template(labels: dict, containers: list[dict], **spec_fields) -> dict:
    spec = {"containers": containers, "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst", "securityContext": {}, "schedulerName": "default-scheduler",
            **spec_fields}
    if "serviceAccountName" in spec:
        spec["serviceAccount"] = spec["serviceAccountName"]  # the deprecated alias is still filled in
    return {"metadata": {"creationTimestamp": None, "labels": sorted_map(labels)},
            "spec": go_order(spec, POD_SPEC_FIELDS)}


def kube_api_access_volume(name: str) -> dict:
    return {"name": name, "projected": {"sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace",
                                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
    ], "defaultMode": 420}}


DEFAULT_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
]


def pod_spec_from_template(template_spec: dict, pod_name: str, node: Node) -> dict:
    """What admission and scheduling add to a template: token volume, node, tolerations, priority."""
    access = f"kube-api-access-{name_suffix(5, 'kube-api-access', pod_name)}"
    mount = {"name": access, "readOnly": True, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
    containers = []
    for spec in template_spec["containers"]:
        spec = dict(spec)
        spec["volumeMounts"] = [*spec.get("volumeMounts", []), mount]
        containers.append(go_order(spec, CONTAINER_FIELDS))
    spec = dict(template_spec)
    spec["volumes"] = [*template_spec.get("volumes", []), kube_api_access_volume(access)]
    spec["containers"] = containers
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec["nodeName"] = node.name
    spec["tolerations"] = [*template_spec.get("tolerations", []), *DEFAULT_TOLERATIONS]
    spec.setdefault("priority", 0)
    spec["enableServiceLinks"] = True
    spec["preemptionPolicy"] = "PreemptLowerPriority"
    return go_order(spec, POD_SPEC_FIELDS)


def qos_class(containers: list[dict]) -> str:
    def amounts(c, kind):
        return c.get("resources", {}).get(kind, {})
    if all(not amounts(c, "requests") and not amounts(c, "limits") for c in containers):
        return "BestEffort"
    guaranteed = all(amounts(c, "limits").get(r) and amounts(c, "requests").get(r, amounts(c, "limits")[r])
                     == amounts(c, "limits")[r] for c in containers for r in ("cpu", "memory"))
    return "Guaranteed" if guaranteed else "Burstable"


# --------------------------------------------------------------------------- workload plans


LogRenderer = Callable[["LogContext", Run], list[str]]


@dataclass
class ContainerPlan:
    behaviour: Behaviour = field(default_factory=Behaviour)
    logs: LogRenderer | None = None
    ready_after: float = 1.0  # seconds from start until the readiness probe first passes


@dataclass
class PodPlan:
    suffix: str
    node: Node
    ip_host: int
    created: float
    containers: dict[str, ContainerPlan] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)  # whatever the log renderers need (peer addresses...)


@dataclass
class ReplicaSetPlan:
    revision: int
    hash: str
    created: float
    template: dict  # pod template, without pod-template-hash
    replicas: int
    generation: int
    pods: list[PodPlan] = field(default_factory=list)


@dataclass
class DeploymentPlan:
    name: str
    labels: dict
    selector: dict
    replicas: int
    strategy: dict
    created: float
    generation: int
    replica_sets: list[ReplicaSetPlan]
    conditions: list[dict]
    events: list["EventPlan"] = field(default_factory=list)  # controller events, newest history only
    progress_deadline: int = 600


@dataclass(frozen=True)
class EventPlan:
    """A controller event (one occurrence each)."""

    time: float
    component: str
    reason: str
    message: str
    target: str  # "deployment" or the revision number of a ReplicaSet


@dataclass
class LogContext:
    namespace: str
    pod: str
    pod_ip: str
    node: Node
    captured: float
    extra: dict

    def rng(self, *parts: object) -> random.Random:
        return rng_for("log", self.namespace, self.pod, *parts)


def deployment_condition(kind: str, status: str, reason: str, message: str, updated: float,
                         transitioned: float | None = None) -> dict:
    return {"type": kind, "status": status, "lastUpdateTime": iso(updated),
            "lastTransitionTime": iso(transitioned if transitioned is not None else updated),
            "reason": reason, "message": message}


# --------------------------------------------------------------------------- pods


@dataclass
class BuiltPod:
    obj: dict
    histories: dict[str, History]
    ready: bool
    plan: PodPlan
    container_specs: list[dict]


CONTAINER_START_DELAY = 1.6  # sandbox and network set up before the first container starts


def container_starts(plan: PodPlan, specs: list[dict]) -> dict[str, float]:
    """The kubelet pulls, creates and starts containers one after the other."""
    starts, t = {}, plan.created + CONTAINER_START_DELAY
    for spec in specs:
        behaviour = plan.containers[spec["name"]].behaviour
        t += behaviour.pull_seconds + 0.25
        starts[spec["name"]] = t
    return starts


def simulate_pod(namespace: str, name: str, plan: PodPlan, specs: list[dict], captured: float) -> dict[str, History]:
    starts = container_starts(plan, specs)
    return {spec["name"]: simulate(starts[spec["name"]], plan.containers[spec["name"]].behaviour, captured,
                                   namespace, name, spec["name"])
            for spec in specs}


def is_ready(plan: ContainerPlan, history: History, captured: float) -> bool:
    run = history.current
    return (history.waiting_backoff is None and plan.behaviour.ready_when_running
            and run.started + plan.ready_after <= captured)


def terminated(run: Run) -> dict:
    return {"terminated": {"exitCode": run.exit_code, "reason": run.reason, "startedAt": iso(run.started),
                           "finishedAt": iso(run.finished), "containerID": run.container_id}}


def container_status(namespace: str, pod_name: str, pod_uid: str, spec: dict, plan: ContainerPlan,
                     history: History, captured: float) -> dict:
    name = spec["name"]
    run = history.current
    if history.waiting_backoff is not None:
        message = (f"back-off {go_duration(history.waiting_backoff)} restarting failed container={name} "
                   f"pod={pod_name}_{namespace}({pod_uid})")
        state = {"waiting": {"reason": "CrashLoopBackOff", "message": message}}
        last_state = terminated(run)
    else:
        state = {"running": {"startedAt": iso(run.started)}}
        last_state = terminated(history.previous) if history.previous else {}
    waiting = history.waiting_backoff is not None
    return {
        "name": name,
        "state": state,
        "lastState": last_state,
        "ready": is_ready(plan, history, captured),
        "restartCount": history.restarts,
        "image": normalized_image(spec["image"]),
        "imageID": image_id(spec["image"]),
        "containerID": run.container_id,
        "started": not waiting,
    }


def pod_conditions(plan: PodPlan, specs: list[dict], histories: dict[str, History], captured: float) -> list[dict]:
    unready = sorted(spec["name"] for spec in specs
                     if not is_ready(plan.containers[spec["name"]], histories[spec["name"]], captured))
    started = plan.created + 0.05
    sandbox_ready = plan.created + 1.2

    def condition(kind, status, when, reason=None, message=None):
        row = {"type": kind, "status": status, "lastProbeTime": None, "lastTransitionTime": iso(when)}
        if reason:
            row.update(reason=reason, message=message)
        return row

    if unready:
        message = f"containers with unready status: [{' '.join(unready)}]"
        readiness = [condition("Ready", "False", started, "ContainersNotReady", message),
                     condition("ContainersReady", "False", started, "ContainersNotReady", message)]
    else:
        ready_at = max(histories[s["name"]].current.started + plan.containers[s["name"]].ready_after for s in specs)
        readiness = [condition("Ready", "True", ready_at), condition("ContainersReady", "True", ready_at)]
    return [condition("PodReadyToStartContainers", "True", sandbox_ready),
            condition("Initialized", "True", started),
            *readiness,
            condition("PodScheduled", "True", plan.created)]


def last_change(plan: PodPlan, histories: dict[str, History]) -> float:
    times = [plan.created + 2]
    for history in histories.values():
        times.append(history.current.started)
        times.extend(run.finished for run in history.runs if run.finished is not None)
    return max(times)


def build_pod(namespace: str, deployment: DeploymentPlan, rs: ReplicaSetPlan, plan: PodPlan,
              captured: float) -> BuiltPod:
    rs_name = f"{deployment.name}-{rs.hash}"
    name = f"{rs_name}-{plan.suffix}"
    uid = stable_uid(namespace, "Pod", name)
    spec = pod_spec_from_template(rs.template["spec"], name, plan.node)
    specs = spec["containers"]
    histories = simulate_pod(namespace, name, plan, specs, captured)
    statuses = [container_status(namespace, name, uid, c, plan.containers[c["name"]], histories[c["name"]], captured)
                for c in specs]
    pod_ip = plan.node.pod_ip(plan.ip_host)
    status = {
        "phase": "Running",
        "conditions": pod_conditions(plan, specs, histories, captured),
        "hostIP": plan.node.internal_ip,
        "hostIPs": [{"ip": plan.node.internal_ip}],
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": iso(plan.created + 0.05),
        "containerStatuses": sorted(statuses, key=lambda s: s["name"]),  # the kubelet sorts them by name
        "qosClass": qos_class(specs),
    }
    obj = {
        "metadata": {
            "name": name,
            "generateName": f"{rs_name}-",
            "namespace": namespace,
            "uid": uid,
            "resourceVersion": resource_version(last_change(plan, histories), name),
            "creationTimestamp": iso(plan.created),
            "labels": sorted_map({**rs.template["metadata"]["labels"], "pod-template-hash": rs.hash}),
            **{key: value for key, value in rs.template["metadata"].items() if key == "annotations"},
            "ownerReferences": [owner_reference("apps/v1", "ReplicaSet", rs_name,
                                                stable_uid(namespace, "ReplicaSet", rs_name))],
        },
        "spec": spec,
        "status": status,
    }
    ready = all(s["ready"] for s in statuses)
    return BuiltPod(obj, histories, ready, plan, specs)


def owner_reference(api_version: str, kind: str, name: str, uid: str) -> dict:
    return {"apiVersion": api_version, "kind": kind, "name": name, "uid": uid, "controller": True,
            "blockOwnerDeletion": True}


# --------------------------------------------------------------------------- ReplicaSets and Deployments


def resolve_surge(value: int | str, replicas: int) -> int:
    """maxSurge as a count: percentages round up."""
    if isinstance(value, str):
        return -(-replicas * int(value.rstrip("%")) // 100)
    return value


def replica_set_object(namespace: str, deployment: DeploymentPlan, rs: ReplicaSetPlan, pods: list[BuiltPod]) -> dict:
    name = f"{deployment.name}-{rs.hash}"
    max_surge = resolve_surge(deployment.strategy.get("rollingUpdate", {}).get("maxSurge", 0), deployment.replicas)
    annotations = {"deployment.kubernetes.io/desired-replicas": str(deployment.replicas),
                   "deployment.kubernetes.io/max-replicas": str(deployment.replicas + max_surge),
                   "deployment.kubernetes.io/revision": str(rs.revision)}
    template = {"metadata": {**rs.template["metadata"],
                             "labels": sorted_map({**rs.template["metadata"]["labels"], "pod-template-hash": rs.hash})},
                "spec": rs.template["spec"]}
    status = {"replicas": len(pods)}
    ready = sum(pod.ready for pod in pods)
    if pods:
        status["fullyLabeledReplicas"] = len(pods)
    if ready:
        status.update(readyReplicas=ready, availableReplicas=ready)
    status["observedGeneration"] = rs.generation
    changed = max([rs.created] + [pod.plan.created for pod in pods])
    return {
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": stable_uid(namespace, "ReplicaSet", name),
            "resourceVersion": resource_version(changed + 3, name),
            "generation": rs.generation,
            "creationTimestamp": iso(rs.created),
            "labels": sorted_map({**rs.template["metadata"]["labels"], "pod-template-hash": rs.hash}),
            "annotations": sorted_map(annotations),
            "ownerReferences": [owner_reference("apps/v1", "Deployment", deployment.name,
                                                stable_uid(namespace, "Deployment", deployment.name))],
        },
        "spec": {"replicas": rs.replicas,
                 "selector": {"matchLabels": sorted_map({**deployment.selector, "pod-template-hash": rs.hash})},
                 "template": template},
        "status": status,
    }


def deployment_object(namespace: str, deployment: DeploymentPlan, pods: list[BuiltPod]) -> dict:
    newest = max(deployment.replica_sets, key=lambda rs: rs.revision)
    total = sum(rs.replicas for rs in deployment.replica_sets)
    ready = sum(pod.ready for pod in pods)
    status = {"observedGeneration": deployment.generation,
              "replicas": len(pods),
              "updatedReplicas": len(newest.pods)}
    if ready:  # zero counts are omitted, as the API server does
        status.update(readyReplicas=ready, availableReplicas=ready)
    if total - ready:
        status["unavailableReplicas"] = total - ready
    status["conditions"] = deployment.conditions
    changed = max(at(condition["lastUpdateTime"]) for condition in deployment.conditions)
    spec = {"replicas": deployment.replicas,
            "selector": {"matchLabels": sorted_map(deployment.selector)},
            "template": newest.template,
            "strategy": deployment.strategy,
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": deployment.progress_deadline}
    return {
        "metadata": {
            "name": deployment.name,
            "namespace": namespace,
            "uid": stable_uid(namespace, "Deployment", deployment.name),
            "resourceVersion": resource_version(changed + 1, deployment.name),
            "generation": deployment.generation,
            "creationTimestamp": iso(deployment.created),
            "labels": sorted_map(deployment.labels),
            "annotations": {"deployment.kubernetes.io/revision": str(newest.revision)},
        },
        "spec": spec,
        "status": status,
    }


def rolling_update(max_surge: int | str, max_unavailable: int | str) -> dict:
    return {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": max_unavailable, "maxSurge": max_surge}}


RECREATE = {"type": "Recreate"}


# --------------------------------------------------------------------------- Services, Endpoints, policies, claims


def service_port(name: str, port: int, target: int | str, protocol: str = "TCP") -> dict:
    return {"name": name, "protocol": protocol, "port": port, "targetPort": target}


def service_object(namespace: str, name: str, labels: dict, ports: list[dict], cluster_ip: str, created: float,
                   selector: dict | None = None, annotations: dict | None = None,
                   publish_not_ready: bool = False) -> dict:
    spec = {"ports": ports}
    if selector:
        spec["selector"] = sorted_map(selector)
    spec.update(clusterIP=cluster_ip, clusterIPs=[cluster_ip], type="ClusterIP", sessionAffinity="None")
    if publish_not_ready:
        spec["publishNotReadyAddresses"] = True
    spec.update(ipFamilies=["IPv4"], ipFamilyPolicy="SingleStack", internalTrafficPolicy="Cluster")
    metadata = {"name": name, "namespace": namespace, "uid": stable_uid(namespace, "Service", name),
                "resourceVersion": resource_version(created + 1, name), "creationTimestamp": iso(created),
                "labels": sorted_map(labels)}
    if annotations:
        metadata["annotations"] = sorted_map(annotations)
    return {"metadata": metadata, "spec": spec, "status": {"loadBalancer": {}}}


# GKE puts this on Services of VPC-native clusters for container-native load balancing.
NEG_ANNOTATION = {"cloud.google.com/neg": '{"ingress":true}'}


def endpoint_address(pod: BuiltPod) -> dict:
    meta = pod.obj["metadata"]
    return {"ip": pod.obj["status"]["podIP"], "nodeName": pod.obj["spec"]["nodeName"],
            "targetRef": {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"]}}


def endpoints_object(service: dict, pods: list[BuiltPod], ports: list[dict], publish_not_ready: bool = False) -> dict:
    """What the endpoints controller writes for a Service with a selector."""
    meta = service["metadata"]
    ready = [p for p in pods if p.ready or publish_not_ready]
    not_ready = [p for p in pods if not (p.ready or publish_not_ready)]
    subset = {}
    if ready:
        subset["addresses"] = sorted((endpoint_address(p) for p in ready), key=lambda a: a["ip"])
    if not_ready:
        subset["notReadyAddresses"] = sorted((endpoint_address(p) for p in not_ready), key=lambda a: a["ip"])
    subset["ports"] = ports
    labels = dict(meta.get("labels", {}))
    if service["spec"]["clusterIP"] == "None":
        labels["service.kubernetes.io/headless"] = ""
    changed = max([at(meta["creationTimestamp"]) + 1] + [last_change(p.plan, p.histories) for p in pods])
    metadata = {"name": meta["name"], "namespace": meta["namespace"],
                "uid": stable_uid(meta["namespace"], "Endpoints", meta["name"]),
                "resourceVersion": resource_version(changed, "ep/" + meta["name"]),
                "creationTimestamp": meta["creationTimestamp"], "labels": sorted_map(labels)}
    if pods:
        metadata["annotations"] = {"endpoints.kubernetes.io/last-change-trigger-time": iso(changed)}
    return {"metadata": metadata, "subsets": [subset] if pods else []}


def endpoint_port(name: str, port: int, protocol: str = "TCP") -> dict:
    return {"name": name, "port": port, "protocol": protocol}


def network_policy_object(namespace: str, name: str, labels: dict, spec: dict, created: float) -> dict:
    metadata = {"name": name, "namespace": namespace, "uid": stable_uid(namespace, "NetworkPolicy", name),
                "resourceVersion": resource_version(created, name), "generation": 1,
                "creationTimestamp": iso(created)}
    if labels:
        metadata["labels"] = sorted_map(labels)
    return {"metadata": metadata, "spec": spec}


def pod_peer(**labels: str) -> dict:
    return {"podSelector": {"matchLabels": sorted_map(labels)}}


def ip_peer(cidr: str, *excepted: str) -> dict:
    block = {"cidr": cidr}
    if excepted:
        block["except"] = list(excepted)
    return {"ipBlock": block}


KUBE_DNS_PEER = {"podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                 "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}
GFE_PEERS = [ip_peer("35.191.0.0/16"), ip_peer("130.211.0.0/22")]
METADATA_PEERS = [ip_peer("169.254.169.254/32"), ip_peer("169.254.169.252/32")]
INTERNET_PEER = ip_peer("0.0.0.0/0", "10.0.0.0/8")


def tcp(*ports: int) -> list[dict]:
    return [{"protocol": "TCP", "port": port} for port in ports]


DNS_PORTS = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
DNS_EGRESS = {"ports": DNS_PORTS, "to": [KUBE_DNS_PEER]}
METADATA_EGRESS = {"ports": tcp(80, 988), "to": METADATA_PEERS}


def ingress(ports: list[dict], *peers: dict) -> dict:
    return {"ports": ports, "from": list(peers)}


def egress(ports: list[dict], *peers: dict) -> dict:
    return {"ports": ports, "to": list(peers)}


def policy_spec(pod_labels: dict, ingress_rules: list[dict] | None, egress_rules: list[dict] | None) -> dict:
    spec = {"podSelector": {"matchLabels": sorted_map(pod_labels)} if pod_labels else {}}
    if ingress_rules:
        spec["ingress"] = ingress_rules
    if egress_rules:
        spec["egress"] = egress_rules
    spec["policyTypes"] = [kind for kind, rules in (("Ingress", ingress_rules), ("Egress", egress_rules))
                           if rules is not None]
    return spec


def pvc_object(namespace: str, name: str, labels: dict, size: str, node: Node, created: float) -> dict:
    volume = f"pvc-{stable_uid(namespace, 'PersistentVolumeClaim', name)}"
    return {
        "metadata": {
            "name": name, "namespace": namespace, "uid": volume[4:],
            "resourceVersion": resource_version(created + 9, name), "creationTimestamp": iso(created),
            "labels": sorted_map(labels),
            "annotations": sorted_map({
                "pv.kubernetes.io/bind-completed": "yes",
                "pv.kubernetes.io/bound-by-controller": "yes",
                "volume.beta.kubernetes.io/storage-provisioner": "pd.csi.storage.gke.io",
                "volume.kubernetes.io/selected-node": node.name,
                "volume.kubernetes.io/storage-provisioner": "pd.csi.storage.gke.io",
            }),
            "finalizers": ["kubernetes.io/pvc-protection"],
        },
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}},
                 "volumeName": volume, "storageClassName": "standard-rwo", "volumeMode": "Filesystem"},
        "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": size}},
    }


# --------------------------------------------------------------------------- events

EVENT_TTL = 3600  # the API server forgets an event an hour after its last update


def involved(obj: dict, api_version: str, kind: str, field_path: str | None = None,
             resource_version: str | None = None) -> dict:
    meta = obj["metadata"]
    ref = {"kind": kind, "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"],
           "apiVersion": api_version, "resourceVersion": resource_version or meta["resourceVersion"]}
    if field_path:
        ref["fieldPath"] = field_path
    return ref


def event_name(ref: dict, first: float) -> str:
    return f"{ref['name']}.{int(round(first * 1e9)):x}"  # what client-go's recorder names them


def classic_event(ref: dict, event_type: str, reason: str, message: str, times: list[float], component: str,
                  host: str | None = None) -> dict:
    """core/v1 shape written by the kubelet and kube-controller-manager."""
    first, last = min(times), max(times)
    name = event_name(ref, first)
    source = {"component": component, "host": host} if host else {"component": component}
    return {
        "metadata": {"name": name, "namespace": ref["namespace"], "uid": stable_uid("event", name),
                     "resourceVersion": resource_version(last, name), "creationTimestamp": iso(first)},
        "involvedObject": ref,
        "reason": reason,
        "message": message,
        "source": source,
        "firstTimestamp": iso(first),
        "lastTimestamp": iso(last),
        "count": len(times),
        "type": event_type,
        "eventTime": None,
        "reportingComponent": component,
        "reportingInstance": host or "",
    }


def scheduled_event(pod: dict, when: float) -> dict:
    """events.k8s.io shape written by the scheduler, as the core/v1 API shows it."""
    ref = involved(pod, "v1", "Pod", resource_version=resource_version(when - 0.02, pod["metadata"]["name"]))
    name = event_name(ref, when)
    meta = pod["metadata"]
    return {
        "metadata": {"name": name, "namespace": meta["namespace"], "uid": stable_uid("event", name),
                     "resourceVersion": resource_version(when, name), "creationTimestamp": iso(when)},
        "involvedObject": ref,
        "reason": "Scheduled",
        "message": f"Successfully assigned {meta['namespace']}/{meta['name']} to {pod['spec']['nodeName']}",
        "source": {},
        "firstTimestamp": None,
        "lastTimestamp": None,
        "type": "Normal",
        "eventTime": iso_micro(when),
        "action": "Binding",
        "reportingComponent": "default-scheduler",
        "reportingInstance": SCHEDULER_INSTANCE,
    }


def go_seconds(seconds: float) -> str:
    """time.Duration.String() of a duration truncated to milliseconds."""
    text = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return f"{text}s"


def backoff_event_times(history: History, *key: object) -> list[float]:
    rng = rng_for("backoff-events", *key)
    times = []
    for waited_from, waited_to in history.backoffs:
        t = waited_from + rng.uniform(0.3, 1.5)
        while t < waited_to:
            times.append(t)
            t += rng.uniform(*BACKOFF_EVENT_INTERVAL)
    return times


def kubelet_event_rows(pod: BuiltPod, spec: dict, captured: float) -> list[tuple[str, str, str, list[float]]]:
    """(type, reason, message, times) for everything the kubelet reported about one container."""
    name, image = spec["name"], spec["image"]
    plan = pod.plan.containers[name]
    behaviour, history = plan.behaviour, pod.histories[name]
    runs = history.runs
    rows = []
    if behaviour.image_pulled:
        pulled = runs[0].started - 0.15
        rows.append(("Normal", "Pulling", f'Pulling image "{image}"', [pulled - behaviour.pull_seconds]))
        took = go_seconds(behaviour.pull_seconds)
        rows.append(("Normal", "Pulled", f'Successfully pulled image "{image}" in {took} ({took} including waiting). '
                                         f"Image size: {behaviour.image_size} bytes.", [pulled]))
    present = runs[1:] if behaviour.image_pulled else runs
    if present:
        rows.append(("Normal", "Pulled", f'Container image "{image}" already present on machine',
                     [run.started - 0.15 for run in present]))
    rows.append(("Normal", "Created", f"Created container {name}", [run.started - 0.08 for run in runs]))
    rows.append(("Normal", "Started", f"Started container {name}", [run.started for run in runs]))
    for probe in behaviour.failing_probes:
        times = [t for run in runs for t in probe_times(run, probe, captured)]
        if times:
            rows.append(("Warning", "Unhealthy", probe.message, times))
    if behaviour.liveness_kill:
        liveness = next(p for p in behaviour.failing_probes if p.kind == "Liveness")
        kills = [probe_times(run, liveness, captured)[-1] + 0.01 for run in runs if run.finished is not None]
        if kills:
            rows.append(("Normal", "Killing", f"Container {name} failed liveness probe, will be restarted", kills))
    meta = pod.obj["metadata"]
    backoffs = backoff_event_times(history, meta["name"], name)
    if backoffs:
        rows.append(("Warning", "BackOff", f"Back-off restarting failed container {name} in pod "
                                           f"{meta['name']}_{meta['namespace']}({meta['uid']})", backoffs))
    return rows


def pod_events(pod: BuiltPod, captured: float) -> list[dict]:
    obj = pod.obj
    node = obj["spec"]["nodeName"]
    created = pod.plan.created
    events = [scheduled_event(obj, created + 0.03)]
    pod_rv = resource_version(created + 0.05, obj["metadata"]["name"])
    for spec in pod.container_specs:
        ref = involved(obj, "v1", "Pod", f"spec.containers{{{spec['name']}}}", pod_rv)
        for event_type, reason, message, times in kubelet_event_rows(pod, spec, captured):
            events.append(classic_event(ref, event_type, reason, message, times, "kubelet", node))
    return events


def controller_events(deployment_obj: dict, replica_sets: dict[int, dict], pods_by_rs: dict[int, list[BuiltPod]],
                      plans: Iterable[EventPlan]) -> list[dict]:
    events = []
    for plan in plans:
        target = deployment_obj if plan.target == "deployment" else replica_sets[int(plan.target)]
        kind = "Deployment" if plan.target == "deployment" else "ReplicaSet"
        ref = involved(target, "apps/v1", kind, resource_version=resource_version(plan.time - 0.5, plan.message))
        events.append(classic_event(ref, "Normal", plan.reason, plan.message, [plan.time], plan.component))
    for revision, pods in pods_by_rs.items():
        rs = replica_sets[revision]
        for pod in pods:
            when = pod.plan.created - 0.01
            ref = involved(rs, "apps/v1", "ReplicaSet", resource_version=resource_version(when - 0.3, pod.plan.suffix))
            events.append(classic_event(ref, "Normal", "SuccessfulCreate",
                                        f"Created pod: {pod.obj['metadata']['name']}", [when], "replicaset-controller"))
    return events


def recent(events: list[dict], captured: float) -> list[dict]:
    def last_seen(event):
        return at(event["lastTimestamp"]) if event["lastTimestamp"] else at(event["eventTime"][:19] + "Z")
    return [e for e in events if captured - last_seen(e) <= EVENT_TTL]


# --------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class Usage:
    cpu_millis: float
    memory_mib: float


def cpu_quantity(millis: float) -> str:
    return f"{int(millis * 1_000_000)}n"


def memory_quantity(mib: float) -> str:
    return f"{int(mib * 1024)}Ki"


def metrics_window(rng: random.Random) -> str:
    return go_seconds(rng.uniform(14.9, 15.2))


def pod_metrics(pod: BuiltPod, usage: dict[str, Usage], captured: float) -> dict | None:
    """metrics-server only reports containers that are running."""
    meta = pod.obj["metadata"]
    rng = rng_for("metrics", meta["name"])
    running = [s["name"] for s in pod.container_specs if pod.histories[s["name"]].waiting_backoff is None]
    if not running:
        return None
    containers = []
    for name in running:
        jitter = rng.uniform(0.97, 1.03)
        containers.append({"name": name, "usage": {"cpu": cpu_quantity(usage[name].cpu_millis * jitter),
                                                   "memory": memory_quantity(usage[name].memory_mib * jitter)}})
    return {"metadata": {"name": meta["name"], "namespace": meta["namespace"], "creationTimestamp": iso(captured),
                         "labels": meta["labels"]},
            "timestamp": iso(captured - rng.uniform(4, 14)), "window": metrics_window(rng), "containers": containers}


def node_metrics(node: Node, usage: Usage, captured: float) -> dict:
    rng = rng_for("node-metrics", node.name)
    return {"metadata": {"name": node.name, "creationTimestamp": iso(captured), "labels": node_labels(node)},
            "timestamp": iso(captured - rng.uniform(4, 14)), "window": metrics_window(rng),
            "usage": {"cpu": cpu_quantity(usage.cpu_millis), "memory": memory_quantity(usage.memory_mib)}}


# --------------------------------------------------------------------------- logs: shared formats


def compact_json(record: dict) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def log_error_text(message: str) -> str:
    """What `kubectl cluster-info dump` writes inside a block when the log request fails."""
    return f"Request log error: {message}"


def with_microseconds(t: float) -> float:
    """Log formats with microseconds should not all end in 000 (same instant, same digits)."""
    return t + rng_for("us", round(t, 3)).randint(0, 999) / 1e6


def klog_line(t: float, file_line: str, message: str, level: str = "I") -> str:
    stamp = _utc(with_microseconds(t)).strftime("%m%d %H:%M:%S.%f")
    return f"{level}{stamp}       1 {file_line}] {message}"


def proxy_logs(instance: str) -> LogRenderer:
    """Cloud SQL Auth Proxy 2.14 with --structured-logs (zap, LogEntry field names)."""
    def render(ctx: LogContext, run: Run) -> list[str]:
        def line(t, severity, message):
            return compact_json({"severity": severity, "timestamp": iso_milli(t), "message": message})
        t = run.started
        lines = [line(t + 0.031, "INFO", "Authorizing with Application Default Credentials"),
                 line(t + 0.204, "INFO", f"[{instance}] Listening on 127.0.0.1:5432"),
                 line(t + 0.205, "INFO", "The proxy has started successfully and is ready for new connections!")]
        if run.finished is not None:
            lines.append(line(run.finished - 0.004, "ERROR", "SIGTERM signal received. Shutting down..."))
        return lines
    return render


# --------------------------------------------------------------------------- logs: mcp-server-langgraph


def app_json(t: float, logger: str, message: str, level: str = "INFO", **extra) -> str:
    return json.dumps({"timestamp": iso_milli(t), "level": level, "logger": logger, "message": message, **extra})


def uvicorn_probe_logs(ctx: LogContext, run: Run, probes: Iterable[FailingProbe]) -> list[tuple[float, str]]:
    rng = ctx.rng("probe-ports", run.index)
    lines = []
    for probe in probes:
        if probe.access_path:
            for t in probe_times(run, probe, ctx.captured):
                port = rng.randint(32768, 60999)
                lines.append((t + 0.002, f'INFO:     {ctx.node.gateway_ip}:{port} - "GET {probe.access_path} '
                                         f'HTTP/1.1" 404 Not Found'))
    return lines


def mcp_server_logs(probes: tuple[FailingProbe, ...]) -> LogRenderer:
    """Revision 11: starts, answers every probe with 404, shuts down cleanly when killed."""
    def render(ctx: LogContext, run: Run) -> list[str]:
        t = run.started
        timed = [
            (t + 3.912, "INFO:     Started server process [1]"),
            (t + 3.913, "INFO:     Waiting for application startup."),
            (t + 4.376, app_json(t + 4.376, "mcp_server_langgraph.observability.telemetry", "Observability initialized",
                                 service="mcp-server-langgraph", environment="staging",
                                 otlp_endpoint="http://otel-collector.observability.svc:4317")),
            (t + 4.512, app_json(t + 4.512, "mcp_server_langgraph.mcp.server_streamable",
                                 "MCP streamable HTTP server ready", transport="streamable-http", port=8000)),
            (t + 4.513, "INFO:     Application startup complete."),
            (t + 4.514, "INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)"),
            *uvicorn_probe_logs(ctx, run, probes),
        ]
        if run.finished is not None:
            end = run.finished
            timed += [(end - 0.61, "INFO:     Shutting down"),
                      (end - 0.50, "INFO:     Waiting for application shutdown."),
                      (end - 0.31, app_json(end - 0.31, "mcp_server_langgraph.observability.telemetry",
                                            "Observability shut down")),
                      (end - 0.30, "INFO:     Application shutdown complete."),
                      (end - 0.29, "INFO:     Finished server process [1]")]
        return [text for _, text in sorted(timed, key=lambda item: item[0])]
    return render


SITE = "/app/.venv/lib/python3.12/site-packages"
STDLIB = "/usr/local/lib/python3.12"


def frame(path: str, line: int, function: str, source: str | None = None, caret: str | None = None) -> list[str]:
    """One traceback entry as Python 3.12 prints it, carets under the failing sub-expression."""
    lines = [f'  File "{path}", line {line}, in {function}']
    if source is not None:
        lines.append(f"    {source}")
        if caret and caret != source:
            start = source.index(caret)
            lines.append("    " + " " * start + "^" * len(caret))
    return lines


def import_traceback() -> list[str]:
    """Revision 12: the module logs at import time, before the lifespan set observability up."""
    telemetry = f"{SITE}/mcp_server_langgraph/observability/telemetry.py"
    return [
        "Traceback (most recent call last):",
        *frame(telemetry, 418, "get_logger", 'return _providers["logger"]'),
        '           ~~~~~~~~~~^^^^^^^^^^',
        "KeyError: 'logger'",
        "",
        "The above exception was the direct cause of the following exception:",
        "",
        "Traceback (most recent call last):",
        *frame("/app/.venv/bin/uvicorn", 8, "<module>", "sys.exit(main())", "main()"),
        *frame(f"{SITE}/click/core.py", 1157, "__call__", "return self.main(*args, **kwargs)",
               "self.main(*args, **kwargs)"),
        *frame(f"{SITE}/click/core.py", 1078, "main", "rv = self.invoke(ctx)", "self.invoke(ctx)"),
        *frame(f"{SITE}/click/core.py", 1434, "invoke", "return ctx.invoke(self.callback, **ctx.params)",
               "ctx.invoke(self.callback, **ctx.params)"),
        *frame(f"{SITE}/click/core.py", 783, "invoke", "return __callback(*args, **kwargs)",
               "__callback(*args, **kwargs)"),
        *frame(f"{SITE}/uvicorn/main.py", 412, "main", "run("),
        *frame(f"{SITE}/uvicorn/main.py", 579, "run", "server.run()"),
        *frame(f"{SITE}/uvicorn/server.py", 66, "run", "return asyncio.run(self.serve(sockets=sockets))",
               "asyncio.run(self.serve(sockets=sockets))"),
        *frame(f"{STDLIB}/asyncio/runners.py", 194, "run", "return runner.run(main)", "runner.run(main)"),
        *frame(f"{STDLIB}/asyncio/runners.py", 118, "run", "return self._loop.run_until_complete(task)",
               "self._loop.run_until_complete(task)"),
        *frame("uvloop/loop.pyx", 1518, "uvloop.loop.Loop.run_until_complete"),
        *frame(f"{SITE}/uvicorn/server.py", 70, "serve", "await self._serve(sockets)"),
        *frame(f"{SITE}/uvicorn/server.py", 77, "_serve", "config.load()"),
        *frame(f"{SITE}/uvicorn/config.py", 435, "load", "self.loaded_app = import_from_string(self.app)",
               "import_from_string(self.app)"),
        *frame(f"{SITE}/uvicorn/importer.py", 19, "import_from_string",
               "module = importlib.import_module(module_str)", "importlib.import_module(module_str)"),
        *frame(f"{STDLIB}/importlib/__init__.py", 90, "import_module",
               "return _bootstrap._gcd_import(name[level:], package, level)",
               "_bootstrap._gcd_import(name[level:], package, level)"),
        *frame("<frozen importlib._bootstrap>", 1387, "_gcd_import"),
        *frame("<frozen importlib._bootstrap>", 1360, "_find_and_load"),
        *frame("<frozen importlib._bootstrap>", 1331, "_find_and_load_unlocked"),
        *frame("<frozen importlib._bootstrap>", 935, "_load_unlocked"),
        *frame("<frozen importlib._bootstrap_external>", 995, "exec_module"),
        *frame("<frozen importlib._bootstrap>", 488, "_call_with_frames_removed"),
        *frame(f"{SITE}/mcp_server_langgraph/mcp/server_streamable.py", 187, "<module>", "logger.info("),
        *frame(telemetry, 633, "info", "get_logger().info(msg, *args, **kwargs)", "get_logger()"),
        *frame(telemetry, 420, "get_logger", "raise RuntimeError("),
        "RuntimeError: Observability not initialized. Call init_observability() first.",
    ]


def mcp_crash_logs(ctx: LogContext, run: Run) -> list[str]:
    return import_traceback()


# --------------------------------------------------------------------------- logs: Keycloak

KEYCLOAK_FEATURES = ("[agroal, cdi, hibernate-orm, jdbc-postgresql, keycloak, narayana-jta, opentelemetry, "
                     "reactive-routes, rest, rest-jackson, smallrye-context-propagation, smallrye-health, vertx]")


def keycloak_line(t: float, level: str, category: str, message: str, thread: str = "main") -> str:
    stamp = _utc(t).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
    return f"{stamp} {level:<5} [{category}] ({thread}) {message}"


def jgroups_name(ctx: LogContext, run: Run) -> str:
    return f"{ctx.pod}-{ctx.rng('jgroups', run.index).randint(10000, 65535)}"


def keycloak_boot(ctx: LogContext, run: Run) -> tuple[list[str], float]:
    """From the container start to the JGroups channel coming up."""
    rng = ctx.rng("boot", run.index)
    t = run.started
    augmentation = rng.randint(9200, 11800)
    t_aug = t + augmentation / 1000 + 0.6
    cm = "org.keycloak.quarkus.runtime.storage.infinispan.CacheManagerFactory"
    lines = [
        "Updating the configuration and installing your custom providers, if any. Please wait.",
        keycloak_line(t_aug, "INFO", "io.quarkus.deployment.QuarkusAugmentor",
                      f"Quarkus augmentation completed in {augmentation}ms"),
        keycloak_line(t_aug + 4.012, "INFO", cm, "Starting Infinispan embedded cache manager"),
        keycloak_line(t_aug + 4.101, "INFO", cm, "Persistent user sessions enabled and no memory limit found in "
                                                 "configuration. Setting max entries for sessions to 10000 entries."),
        keycloak_line(t_aug + 4.102, "INFO", cm, "Persistent user sessions enabled and no memory limit found in "
                                                 "configuration. Setting max entries for clientSessions to 10000 "
                                                 "entries."),
        keycloak_line(t_aug + 4.496, "INFO", "org.infinispan.CONTAINER",
                      "ISPN000556: Starting user marshaller "
                      "'org.infinispan.commons.marshall.ImmutableProtoStreamMarshaller'"),
        keycloak_line(t_aug + 5.219, "INFO", "org.infinispan.CLUSTER",
                      "ISPN000078: Starting JGroups channel `ISPN` with stack `kubernetes`"),
    ]
    return lines, t_aug + 5.3


def jgroups_timeout_warning(t: float, node_name: str, peer_ip: str, bundler: int) -> str:
    return keycloak_line(t, "WARN", "org.jgroups.protocols.TCP",
                         f"JGRP000034: {node_name}: failure sending message to {peer_ip}:7800: "
                         f"java.net.SocketTimeoutException: connect timed out",
                         thread=f"TQ-Bundler-{bundler},{node_name}")


KEYCLOAK_STARTUP_TRACE = """\
java.lang.RuntimeException: Failed to start quarkus
\tat io.quarkus.runner.ApplicationImpl.doStart(Unknown Source)
\tat io.quarkus.runtime.Application.start(Application.java:101)
\tat io.quarkus.runtime.ApplicationLifecycleManager.run(ApplicationLifecycleManager.java:119)
\tat io.quarkus.runtime.Quarkus.run(Quarkus.java:71)
\tat org.keycloak.quarkus.runtime.KeycloakMain.start(KeycloakMain.java:166)
\tat org.keycloak.quarkus.runtime.cli.command.AbstractStartCommand.run(AbstractStartCommand.java:46)
\tat picocli.CommandLine.executeUserObject(CommandLine.java:2030)
\tat picocli.CommandLine.access$1500(CommandLine.java:148)
\tat picocli.CommandLine$RunLast.executeUserObjectOfLastSubcommandWithSameParent(CommandLine.java:2465)
\tat picocli.CommandLine$RunLast.handle(CommandLine.java:2457)
\tat picocli.CommandLine$RunLast.handle(CommandLine.java:2419)
\tat picocli.CommandLine$AbstractParseResultHandler.execute(CommandLine.java:2277)
\tat picocli.CommandLine$RunLast.execute(CommandLine.java:2421)
\tat picocli.CommandLine.execute(CommandLine.java:2174)
\tat org.keycloak.quarkus.runtime.cli.Picocli.parseAndRun(Picocli.java:126)
\tat org.keycloak.quarkus.runtime.KeycloakMain.main(KeycloakMain.java:123)
\tat org.keycloak.quarkus.runtime.KeycloakMain.main(KeycloakMain.java:77)
\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)
\tat java.base/java.lang.reflect.Method.invoke(Method.java:580)
\tat io.quarkus.bootstrap.runner.QuarkusEntryPoint.doRun(QuarkusEntryPoint.java:62)
\tat io.quarkus.bootstrap.runner.QuarkusEntryPoint.main(QuarkusEntryPoint.java:33)
Caused by: org.infinispan.manager.EmbeddedCacheManagerStartupException: org.infinispan.commons.CacheException: \
Unable to invoke method public void org.infinispan.remoting.transport.jgroups.JGroupsTransport.start() on object \
of type JGroupsTransport
\tat org.infinispan.manager.DefaultCacheManager.internalStart(DefaultCacheManager.java:781)
\tat org.infinispan.manager.DefaultCacheManager.start(DefaultCacheManager.java:746)
\tat org.infinispan.manager.DefaultCacheManager.<init>(DefaultCacheManager.java:412)
\tat org.keycloak.quarkus.runtime.storage.infinispan.CacheManagerFactory.startEmbeddedCacheManager(\
CacheManagerFactory.java:208)
\tat org.keycloak.quarkus.runtime.storage.infinispan.CacheManagerFactory.lambda$new$1(CacheManagerFactory.java:112)
\tat java.base/java.util.concurrent.CompletableFuture$AsyncSupply.run(CompletableFuture.java:1768)
\tat java.base/java.lang.Thread.run(Thread.java:1583)
Caused by: org.infinispan.commons.CacheException: Unable to invoke method public void \
org.infinispan.remoting.transport.jgroups.JGroupsTransport.start() on object of type JGroupsTransport
\tat org.infinispan.commons.util.SecurityActions.lambda$invokeAccessibly$0(SecurityActions.java:79)
\tat org.infinispan.commons.util.SecurityActions.doPrivileged(SecurityActions.java:71)
\tat org.infinispan.commons.util.SecurityActions.invokeAccessibly(SecurityActions.java:76)
\tat org.infinispan.commons.util.ReflectionUtil.invokeMethod(ReflectionUtil.java:181)
\tat org.infinispan.factories.impl.BasicComponentRegistryImpl.startWrapper(BasicComponentRegistryImpl.java:586)
\tat org.infinispan.factories.impl.BasicComponentRegistryImpl.access$700(BasicComponentRegistryImpl.java:30)
\tat org.infinispan.factories.impl.BasicComponentRegistryImpl$ComponentWrapper.running(\
BasicComponentRegistryImpl.java:807)
\tat org.infinispan.factories.GlobalComponentRegistry.preStart(GlobalComponentRegistry.java:310)
\tat org.infinispan.factories.AbstractComponentRegistry.internalStart(AbstractComponentRegistry.java:218)
\tat org.infinispan.factories.AbstractComponentRegistry.start(AbstractComponentRegistry.java:205)
\tat org.infinispan.manager.DefaultCacheManager.internalStart(DefaultCacheManager.java:776)
\t... 6 more
Caused by: org.infinispan.commons.CacheException: java.lang.Exception: connecting to channel "ISPN" failed
\tat org.infinispan.remoting.transport.jgroups.JGroupsTransport.startJGroupsChannelIfNeeded(\
JGroupsTransport.java:707)
\tat org.infinispan.remoting.transport.jgroups.JGroupsTransport.start(JGroupsTransport.java:533)
\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)
\tat java.base/java.lang.reflect.Method.invoke(Method.java:580)
\tat org.infinispan.commons.util.SecurityActions.lambda$invokeAccessibly$0(SecurityActions.java:77)
\t... 16 more
Caused by: java.lang.Exception: connecting to channel "ISPN" failed
\tat org.jgroups.JChannel._connect(JChannel.java:570)
\tat org.jgroups.JChannel.connect(JChannel.java:294)
\tat org.jgroups.JChannel.connect(JChannel.java:279)
\tat org.infinispan.remoting.transport.jgroups.JGroupsTransport.startJGroupsChannelIfNeeded(\
JGroupsTransport.java:705)
\t... 20 more
Caused by: java.net.SocketTimeoutException: connect timed out
\tat java.base/sun.nio.ch.NioSocketImpl.timedFinishConnect(NioSocketImpl.java:546)
\tat java.base/sun.nio.ch.NioSocketImpl.connect(NioSocketImpl.java:592)
\tat java.base/java.net.SocksSocketImpl.connect(SocksSocketImpl.java:327)
\tat java.base/java.net.Socket.connect(Socket.java:751)
\tat org.jgroups.util.Util.connect(Util.java:4296)
\tat org.jgroups.blocks.cs.TcpConnection.connect(TcpConnection.java:113)
\tat org.jgroups.blocks.cs.TcpServer.createConnection(TcpServer.java:184)
\tat org.jgroups.blocks.cs.BaseServer.getConnection(BaseServer.java:361)
\tat org.jgroups.blocks.cs.BaseServer.send(BaseServer.java:248)
\tat org.jgroups.protocols.TCP.send(TCP.java:96)
\tat org.jgroups.protocols.BasicTCP.sendUnicast(BasicTCP.java:113)
\tat org.jgroups.protocols.TP.sendToSingleMember(TP.java:1753)
\tat org.jgroups.protocols.TP.doSend(TP.java:1741)
\tat org.jgroups.protocols.pbcast.GMS$GmsImpl.sendJoinMessage(GMS.java:1375)
\tat org.jgroups.protocols.pbcast.ClientGmsImpl.joinInternal(ClientGmsImpl.java:116)
\tat org.jgroups.protocols.pbcast.ClientGmsImpl.join(ClientGmsImpl.java:41)
\tat org.jgroups.protocols.pbcast.GMS.down(GMS.java:1072)
\tat org.jgroups.stack.ProtocolStack.down(ProtocolStack.java:923)
\tat org.jgroups.JChannel.down(JChannel.java:627)
\tat org.jgroups.JChannel._connect(JChannel.java:564)
\t... 23 more"""


def keycloak_crash_logs(ctx: LogContext, run: Run) -> list[str]:
    """A second Keycloak that cannot reach its peer on 7800: egress to it is not allowed."""
    node_name = jgroups_name(ctx, run)
    peer = ctx.extra["keycloak_peer_ip"]
    lines, t = keycloak_boot(ctx, run)
    rng = ctx.rng("bundler", run.index)
    warn_at = t + 2.05
    while warn_at < run.finished - 3.0:
        lines.append(jgroups_timeout_warning(warn_at, node_name, peer, rng.randint(1, 9)))
        warn_at += 2.0 + rng.uniform(0.01, 0.08)  # sock_conn_timeout, then the next join attempt
    failed = run.finished - 0.9
    handler = "org.keycloak.quarkus.runtime.cli.ExecutionExceptionHandler"
    lines.append(keycloak_line(failed, "ERROR", "io.quarkus.runtime.Application",
                               "Failed to start application: " + KEYCLOAK_STARTUP_TRACE.split("\n", 1)[0]))
    lines.extend(KEYCLOAK_STARTUP_TRACE.split("\n")[1:])
    lines += [
        keycloak_line(failed + 0.141, "ERROR", handler, "ERROR: Failed to start server in (production) mode"),
        keycloak_line(failed + 0.142, "ERROR", handler, "ERROR: Failed to start quarkus"),
        keycloak_line(failed + 0.142, "ERROR", handler, "ERROR: Unable to invoke method public void "
                      "org.infinispan.remoting.transport.jgroups.JGroupsTransport.start() on object of type "
                      "JGroupsTransport"),
        keycloak_line(failed + 0.143, "ERROR", handler, 'ERROR: connecting to channel "ISPN" failed'),
        keycloak_line(failed + 0.143, "ERROR", handler, "ERROR: connect timed out"),
        keycloak_line(failed + 0.144, "ERROR", handler, "For more details run the same command passing the "
                      "'--verbose' option. Also you can use '--help' command to get the full list of options."),
    ]
    return lines


def keycloak_survivor_logs(ctx: LogContext, run: Run) -> list[str]:
    """The first Keycloak: found no reachable peer, formed a cluster of one, keeps dialling the other pod."""
    node_name = jgroups_name(ctx, run)
    lines, t = keycloak_boot(ctx, run)
    lines += [
        keycloak_line(t + 2.061, "INFO", "org.jgroups.protocols.pbcast.GMS",
                      f"{node_name}: no members discovered after 2004 ms: creating cluster as coordinator"),
        keycloak_line(t + 2.083, "INFO", "org.infinispan.CLUSTER",
                      f"ISPN000094: Received new cluster view for channel ISPN: [{node_name}|0] (1) [{node_name}]"),
        keycloak_line(t + 2.131, "INFO", "org.infinispan.CLUSTER",
                      f"ISPN000079: Channel `ISPN` local address is `{node_name}`, physical addresses are "
                      f"`[{ctx.pod_ip}:7800]`"),
        keycloak_line(t + 6.420, "INFO",
                      "org.keycloak.connections.infinispan.DefaultInfinispanConnectionProviderFactory",
                      f"Node name: {node_name}, Site name: null"),
        keycloak_line(t + 7.905, "INFO", "org.keycloak.broker.provider.AbstractIdentityProviderMapper",
                      "Registering class org.keycloak.broker.provider.mappersync.ConfigSyncEventListener"),
        keycloak_line(t + 9.133, "INFO", "io.quarkus",
                      "Keycloak 26.0.7 on JVM (powered by Quarkus 3.15.1) started in 20.914s. Listening on: "
                      "http://0.0.0.0:8080. Management interface listening on http://0.0.0.0:9000."),
        keycloak_line(t + 9.134, "INFO", "io.quarkus", "Profile prod activated."),
        keycloak_line(t + 9.134, "INFO", "io.quarkus", f"Installed features: {KEYCLOAK_FEATURES}"),
    ]
    # MERGE3 keeps looking for the other member; JGroups suppresses repeats for a minute.
    rng = ctx.rng("merge", run.index)
    warn_at = ctx.extra["peer_since"] + rng.uniform(20, 40)
    while warn_at < ctx.captured:
        lines.append(jgroups_timeout_warning(warn_at, node_name, ctx.extra["keycloak_peer_ip"], rng.randint(1, 9)))
        warn_at += 60 + rng.uniform(0.5, 4.0)
    return lines


# --------------------------------------------------------------------------- logs: OpenFGA, Qdrant, kube-dns


def openfga_logs(ctx: LogContext, run: Run) -> list[str]:
    def line(t, message, **extra):
        return compact_json({"level": "info", "timestamp": iso_milli(t), "msg": message, **extra})
    t = run.started
    return [
        line(t + 0.018, "🚀 starting openfga service...", version="v1.8.1", date="2024-12-05T15:52:29Z",
             commit="5e4ad5ca3b5c49a17bcd8fd3be7b8ad8bcc5cbe1", **{"go-version": "go1.23.4"}),
        line(t + 0.121, "using 'postgres' storage engine"),
        line(t + 0.405, "📈 starting prometheus metrics server on '0.0.0.0:2112'"),
        line(t + 0.411, "🚀 starting gRPC server on '0.0.0.0:8081'..."),
        line(t + 0.414, "🚀 starting HTTP server on '0.0.0.0:8080'..."),
    ]


QDRANT_BANNER = r"""           _                 _
  __ _  __| |_ __ __ _ _ __ | |_
 / _` |/ _` | '__/ _` | '_ \| __|
| (_| | (_| | | | (_| | | | | |_
 \__, |\__,_|_|  \__,_|_| |_|\__|
    |_|
""".split("\n")


def qdrant_line(t: float, target: str, message: str) -> str:
    return f"{_utc(with_microseconds(t)).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}  INFO {target}: {message}"


def qdrant_logs(ctx: LogContext, run: Run) -> list[str]:
    t = run.started
    lines = [*QDRANT_BANNER,
             "Version: 1.12.4, build: 5fc16a4f",
             "Access web UI at http://localhost:6333/dashboard",
             "",
             qdrant_line(t + 0.104, "storage::content_manager::consensus::persistent",
                         "Loading raft state from ./storage/raft_state.json"),
             qdrant_line(t + 0.131, "storage::content_manager::toc", "Loading collection: mcp_conversations"),
             qdrant_line(t + 0.702, "storage::content_manager::toc", "Loading collection: mcp_documents"),
             qdrant_line(t + 1.244, "collection::shards::local_shard", "Recovering shard ./storage/collections/"
                                                                      "mcp_documents/0: 0/1 (0%)"),
             qdrant_line(t + 1.509, "collection::shards::local_shard",
                         "Recovered collection mcp_documents: 1/1 (100%)"),
             qdrant_line(t + 1.512, "qdrant", "Distributed mode disabled"),
             qdrant_line(t + 1.512, "qdrant", "Telemetry reporting disabled"),
             qdrant_line(t + 1.518, "qdrant::actix", "TLS disabled for REST API"),
             qdrant_line(t + 1.518, "qdrant::actix", "Qdrant HTTP listening on 6333"),
             qdrant_line(t + 1.519, "actix_server::builder", "Starting 1 workers"),
             qdrant_line(t + 1.519, "actix_server::server", "Actix runtime found; starting in Actix runtime"),
             qdrant_line(t + 1.521, "qdrant::tonic", "Qdrant gRPC listening on 6334"),
             qdrant_line(t + 1.521, "qdrant::tonic", "TLS disabled for gRPC API")]
    rng = ctx.rng("access")
    requests = [(t + 2.4 + k * 10, "/readyz") for k in range(int((ctx.captured - t - 2.4) // 10) + 1)]
    requests += [(t + 11.1 + k * 20, "/livez") for k in range(int((ctx.captured - t - 11.1) // 20) + 1)]
    for when, path in sorted(requests):
        if when < ctx.captured:
            took = rng.uniform(0.000041, 0.000160)
            lines.append(qdrant_line(when, "actix_web::middleware::logger",
                                     f'{ctx.node.gateway_ip} "GET {path} HTTP/1.1" 200 20 "-" "kube-probe/1.30" '
                                     f"{took:.6f}"))
    return lines


def kubedns_logs(ctx: LogContext, run: Run) -> list[str]:
    t = run.started
    return [
        klog_line(t + 0.011, "flags.go:62", 'FLAG: --config-dir="/kube-dns-config"'),
        klog_line(t + 0.011, "flags.go:62", 'FLAG: --dns-port="10053"'),
        klog_line(t + 0.011, "flags.go:62", 'FLAG: --domain="cluster.local."'),
        klog_line(t + 0.104, "dns.go:49", "version: 1.23.0-gke.9"),
        klog_line(t + 0.109, "server.go:71", "Using configuration read from directory: /kube-dns-config with "
                                             "period 10s"),
        klog_line(t + 0.109, "server.go:119", "FLAG: --alsologtostderr=\"false\""),
        klog_line(t + 0.121, "server.go:191", "Skydns metrics enabled (/metrics:10055)"),
        klog_line(t + 0.122, "dns.go:202", "Starting endpointsController"),
        klog_line(t + 0.122, "dns.go:205", "Starting serviceController"),
        klog_line(t + 0.123, "logs.go:41", "skydns: ready for queries on cluster.local. for tcp://0.0.0.0:10053 "
                                           "[rcache 0]"),
        klog_line(t + 0.123, "logs.go:41", "skydns: ready for queries on cluster.local. for udp://0.0.0.0:10053 "
                                           "[rcache 0]"),
        klog_line(t + 0.624, "dns.go:227", "Initialized services and endpoints from apiserver"),
        klog_line(t + 0.624, "server.go:150", "Setting up Healthz Handler (/readiness)"),
        klog_line(t + 0.624, "server.go:155", "Setting up cache handler (/cache)"),
        klog_line(t + 0.625, "server.go:136", "Status HTTP port 8081"),
    ]


DNSMASQ_ARGS = ("-k --cache-size=1000 --no-negcache --dns-forward-max=1500 --log-facility=- "
                "--server=/cluster.local/127.0.0.1#10053 --server=/in-addr.arpa/127.0.0.1#10053 "
                "--server=/ip6.arpa/127.0.0.1#10053")


def dnsmasq_logs(ctx: LogContext, run: Run) -> list[str]:
    t = run.started
    args = DNSMASQ_ARGS.split()
    return [
        klog_line(t + 0.013, "main.go:78", f"opts: {{{{/usr/sbin/dnsmasq [{' '.join(args)}] true}} "
                                           f"/etc/k8s/dns/dnsmasq-nanny 10000000000}}"),
        klog_line(t + 0.014, "nanny.go:124", f"Starting dnsmasq [{' '.join(args)}]"),
        klog_line(t + 0.072, "nanny.go:149", "dnsmasq[14]: started, version 2.90 cachesize 1000"),
        klog_line(t + 0.072, "nanny.go:149", "dnsmasq[14]: compile time options: IPv6 GNU-getopt no-DBus no-UBus "
                                             "no-i18n no-IDN DHCP DHCPv6 no-Lua TFTP no-conntrack ipset no-nftset "
                                             "auth no-cryptohash no-DNSSEC loop-detect inotify dumpfile"),
        klog_line(t + 0.073, "nanny.go:149", "dnsmasq[14]: using nameserver 127.0.0.1#10053 for domain ip6.arpa"),
        klog_line(t + 0.073, "nanny.go:149", "dnsmasq[14]: using nameserver 127.0.0.1#10053 for domain in-addr.arpa"),
        klog_line(t + 0.073, "nanny.go:149", "dnsmasq[14]: using nameserver 127.0.0.1#10053 for domain cluster.local"),
        klog_line(t + 0.074, "nanny.go:149", "dnsmasq[14]: reading /etc/resolv.conf"),
        klog_line(t + 0.074, "nanny.go:149", "dnsmasq[14]: using nameserver 169.254.169.254#53"),
        klog_line(t + 0.075, "nanny.go:149", "dnsmasq[14]: read /etc/hosts - 7 names"),
    ]


def dns_sidecar_logs(ctx: LogContext, run: Run) -> list[str]:
    t = run.started
    probe = "kubernetes.default.svc.cluster.local."
    return [
        klog_line(t + 0.009, "main.go:51", "Version v1.23.0-gke.9"),
        klog_line(t + 0.009, "server.go:46", "Starting server (options {DnsMasqPort:53 DnsMasqAddr:127.0.0.1 "
                                             "DnsMasqPollIntervalMs:5000 Probes:[{Label:kubedns "
                                             f"Server:127.0.0.1:10053 Name:{probe} Interval:5s Type:33}} "
                                             f"{{Label:dnsmasq Server:127.0.0.1:53 Name:{probe} Interval:5s "
                                             "Type:33}] PrometheusAddr:0.0.0.0 PrometheusPort:10054 "
                                             "PrometheusPath:/metrics PrometheusNamespace:kubedns})"),
        klog_line(t + 0.010, "dnsprobe.go:75", f"Starting dnsProbe {{Label:kubedns Server:127.0.0.1:10053 "
                                               f"Name:{probe} Interval:5s Type:33}}"),
        klog_line(t + 0.010, "dnsprobe.go:75", f"Starting dnsProbe {{Label:dnsmasq Server:127.0.0.1:53 "
                                               f"Name:{probe} Interval:5s Type:33}}"),
        klog_line(t + 0.511, "dnsprobe.go:92", "Error getting response from 127.0.0.1:53 for "
                                               f"{probe}: dial udp 127.0.0.1:53: connect: connection refused", "W"),
    ]


# --------------------------------------------------------------------------- assembling a namespace


@dataclass
class NamespaceDump:
    name: str
    lists: dict[str, list[dict]] = field(default_factory=dict)  # file stem -> items
    logs: dict[str, tuple[str, str]] = field(default_factory=dict)  # pod -> (logs.txt, logs.previous.txt)
    pods: list[BuiltPod] = field(default_factory=list)


@dataclass
class Workloads:
    """Deployments of one namespace, built: objects plus the pods and events they imply."""

    deployments: list[dict] = field(default_factory=list)
    replica_sets: list[dict] = field(default_factory=list)
    pods: list[BuiltPod] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    pods_by_app: dict[str, list[BuiltPod]] = field(default_factory=dict)


def build_workloads(namespace: str, plans: list[DeploymentPlan], captured: float) -> Workloads:
    built = Workloads()
    for plan in plans:
        pods_by_rs = {rs.revision: [build_pod(namespace, plan, rs, pod, captured) for pod in rs.pods]
                      for rs in plan.replica_sets}
        pods = [pod for revision in sorted(pods_by_rs) for pod in pods_by_rs[revision]]
        replica_sets = {rs.revision: replica_set_object(namespace, plan, rs, pods_by_rs[rs.revision])
                        for rs in plan.replica_sets}
        deployment = deployment_object(namespace, plan, pods)
        built.deployments.append(deployment)
        built.replica_sets.extend(replica_sets.values())
        built.pods.extend(pods)
        built.pods_by_app[plan.name] = pods
        built.events.extend(controller_events(deployment, replica_sets, pods_by_rs, plan.events))
        for pod in pods:
            built.events.extend(pod_events(pod, captured))
    return built


def log_block(namespace: str, pod: str, container_name: str, lines: list[str]) -> str:
    body = "".join(line + "\n" for line in lines)
    return (f"==== START logs for container {container_name} of pod {namespace}/{pod} ====\n{body}"
            f"==== END logs for container {container_name} of pod {namespace}/{pod} ====\n")


def pod_log_files(namespace: str, pod: BuiltPod, captured: float) -> tuple[str, str]:
    meta = pod.obj["metadata"]
    ctx = LogContext(namespace, meta["name"], pod.obj["status"]["podIP"], pod.plan.node, captured, pod.plan.extra)
    current, previous = [], []
    for spec in pod.container_specs:
        name = spec["name"]
        render = pod.plan.containers[name].logs or (lambda _ctx, _run: [])
        history = pod.histories[name]
        # While a container waits in back-off, both requests are served from the instance that just exited.
        current.append(log_block(namespace, meta["name"], name, render(ctx, history.current)))
        if history.previous is None:
            missing = f'previous terminated container "{name}" in pod "{meta["name"]}" not found'
            previous.append(log_block(namespace, meta["name"], name, [log_error_text(missing)]))
        else:
            previous.append(log_block(namespace, meta["name"], name, render(ctx, history.previous)))
    return "".join(current), "".join(previous)


def namespace_dump(name: str, captured: float, workloads: Workloads | None = None, *, services=(), endpoints=(),
                   policies=(), claims=(), usage: dict[str, dict[str, Usage]] | None = None) -> NamespaceDump:
    workloads = workloads or Workloads()
    dump = NamespaceDump(name, pods=workloads.pods)
    by_name = lambda objs: sorted(objs, key=lambda o: o["metadata"]["name"])  # noqa: E731 - etcd key order
    metrics = [pod_metrics(pod, usage[pod.obj["metadata"]["name"]], captured)
               for pod in workloads.pods if usage and pod.obj["metadata"]["name"] in usage]
    dump.lists = {
        "events": by_name(recent(workloads.events, captured)),
        "replication-controllers": [],
        "services": by_name(services),
        "daemonsets": [],
        "deployments": by_name(workloads.deployments),
        "replicasets": by_name(workloads.replica_sets),
        "pods": by_name(pod.obj for pod in workloads.pods),
        "networkpolicies": by_name(policies),
        "statefulsets": [],
        "endpoints": by_name(endpoints),
        "horizontalpodautoscalers": [],
        "persistentvolumeclaims": by_name(claims),
        "jobs": [],
        "cronjobs": [],
        "podmetrics": by_name(m for m in metrics if m),
    }
    names = [e["metadata"]["name"] for e in dump.lists["events"]]
    assert len(names) == len(set(names)), "event names must be unique"
    for pod in workloads.pods:
        dump.logs[pod.obj["metadata"]["name"]] = pod_log_files(name, pod, captured)
    return dump


# --------------------------------------------------------------------------- kube-system and default (both examples)

KUBE_DNS_VERSION = "1.23.0-gke.9"
KUBE_DNS_LABELS = {"k8s-app": "kube-dns"}
CLUSTER_CREATED = at("2025-09-12T10:02:51Z")


def kube_dns_template() -> dict:
    config = {"name": "kube-dns-config", "mountPath": "/kube-dns-config"}
    kubedns = container(
        "kubedns", f"gke.gcr.io/k8s-dns-kube-dns:{KUBE_DNS_VERSION}",
        args=["--domain=cluster.local.", "--dns-port=10053", "--config-dir=/kube-dns-config", "--v=2"],
        ports=[("dns-local", 10053), ("dns-tcp-local", 10053), ("metrics", 10055)],
        env=[env("PROMETHEUS_PORT", "10055")],
        resources={"limits": {"memory": "210Mi"}, "requests": {"cpu": "100m", "memory": "70Mi"}},
        volumeMounts=[config],
        livenessProbe=http_probe("/healthcheck/kubedns", 10054, initial=60, timeout=5, failure=5),
        readinessProbe=http_probe("/readiness", 8081, initial=3, timeout=5),
        securityContext={"runAsUser": 1001, "runAsGroup": 1001, "readOnlyRootFilesystem": True,
                         "allowPrivilegeEscalation": False})
    kubedns["ports"][0]["protocol"] = "UDP"
    dnsmasq = container(
        "dnsmasq", f"gke.gcr.io/k8s-dns-dnsmasq-nanny:{KUBE_DNS_VERSION}",
        args=["-v=2", "-logtostderr", "-configDir=/etc/k8s/dns/dnsmasq-nanny", "-restartDnsmasq=true", "--",
              *DNSMASQ_ARGS.split()],
        ports=[("dns", 53), ("dns-tcp", 53)],
        resources={"requests": {"cpu": "150m", "memory": "20Mi"}},
        volumeMounts=[{"name": "kube-dns-config", "mountPath": "/etc/k8s/dns/dnsmasq-nanny"}],
        livenessProbe=http_probe("/healthcheck/dnsmasq", 10054, initial=60, timeout=5, failure=5),
        securityContext={"capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["all"]},
                         "allowPrivilegeEscalation": False})
    dnsmasq["ports"][0]["protocol"] = "UDP"
    sidecar = container(
        "sidecar", f"gke.gcr.io/k8s-dns-sidecar:{KUBE_DNS_VERSION}",
        args=["--v=2", "--logtostderr",
              "--probe=kubedns,127.0.0.1:10053,kubernetes.default.svc.cluster.local,5,SRV",
              "--probe=dnsmasq,127.0.0.1:53,kubernetes.default.svc.cluster.local,5,SRV"],
        ports=[("metrics", 10054)],
        resources={"requests": {"cpu": "10m", "memory": "20Mi"}},
        livenessProbe=http_probe("/metrics", 10054, initial=60, timeout=5, failure=5),
        securityContext={"runAsUser": 1001, "runAsGroup": 1001, "readOnlyRootFilesystem": True,
                         "allowPrivilegeEscalation": False})
    template = pod_template(
        KUBE_DNS_LABELS, [kubedns, dnsmasq, sidecar],
        volumes=[{"name": "kube-dns-config", "configMap": {"name": "kube-dns", "defaultMode": 420, "optional": True}}],
        dnsPolicy="Default", nodeSelector={"kubernetes.io/os": "linux"}, serviceAccountName="kube-dns",
        securityContext={"supplementalGroups": [65534], "fsGroup": 65534,
                         "seccompProfile": {"type": "RuntimeDefault"}},
        affinity={"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
            "weight": 100, "podAffinityTerm": {
                "labelSelector": {"matchExpressions": [{"key": "k8s-app", "operator": "In", "values": ["kube-dns"]}]},
                "topologyKey": "kubernetes.io/hostname"}}]}},
        tolerations=[{"key": "CriticalAddonsOnly", "operator": "Exists"},
                     {"key": "components.gke.io/gke-managed-components", "operator": "Exists"}],
        priorityClassName="system-cluster-critical", priority=2000000000)
    template["metadata"]["annotations"] = sorted_map({"components.gke.io/component-name": "kubedns",
                                                      "prometheus.io/port": "10054", "prometheus.io/scrape": "true"})
    return template


def kube_dns_deployment() -> DeploymentPlan:
    def pod(suffix, node, host, created):
        containers = {"kubedns": ContainerPlan(logs=kubedns_logs, ready_after=3.4),
                      "dnsmasq": ContainerPlan(logs=dnsmasq_logs), "sidecar": ContainerPlan(logs=dns_sidecar_logs)}
        return PodPlan(suffix, node, host, created, containers)
    template = kube_dns_template()
    current = ReplicaSetPlan(9, "5b9c8d7f46", at("2025-10-29T07:42:31Z"), template, 2, 2, [
        pod("r8fxl", NODE_A, 3, at("2025-10-29T07:44:02Z")),
        pod("t6n2k", NODE_C, 2, at("2025-10-29T07:47:19Z")),
    ])
    previous = ReplicaSetPlan(8, "6f8d9b7c5", at("2025-10-01T04:18:44Z"), template, 0, 4)
    return DeploymentPlan(
        name="kube-dns", selector=KUBE_DNS_LABELS, replicas=2, strategy=rolling_update("10%", 0),
        labels={"addonmanager.kubernetes.io/mode": "Reconcile", "k8s-app": "kube-dns",
                "kubernetes.io/cluster-service": "true"},
        created=CLUSTER_CREATED + 31, generation=11, replica_sets=[previous, current],
        conditions=[
            deployment_condition("Available", "True", "MinimumReplicasAvailable",
                                 "Deployment has minimum availability.", at("2025-10-29T07:47:23Z")),
            deployment_condition("Progressing", "True", "NewReplicaSetAvailable",
                                 'ReplicaSet "kube-dns-5b9c8d7f46" has successfully progressed.',
                                 at("2025-10-29T07:47:23Z"), CLUSTER_CREATED + 31),
        ])


def kube_system(captured: float) -> NamespaceDump:
    namespace = "kube-system"
    workloads = build_workloads(namespace, [kube_dns_deployment()], captured)
    workloads.events = []  # nothing happened there in the last hour
    service = service_object(
        namespace, "kube-dns", {"addonmanager.kubernetes.io/mode": "Reconcile", "k8s-app": "kube-dns",
                                "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "KubeDNS"},
        [service_port("dns", 53, 53, "UDP"), service_port("dns-tcp", 53, 53)], "10.12.0.10", CLUSTER_CREATED + 30,
        selector=KUBE_DNS_LABELS)
    endpoints = endpoints_object(service, workloads.pods_by_app["kube-dns"],
                                 [endpoint_port("dns-tcp", 53), endpoint_port("dns", 53, "UDP")])
    usage = {pod.obj["metadata"]["name"]: {"kubedns": Usage(2.3, 17.6), "dnsmasq": Usage(1.2, 8.9),
                                           "sidecar": Usage(1.1, 14.2)} for pod in workloads.pods}
    return namespace_dump(namespace, captured, workloads, services=[service], endpoints=[endpoints], usage=usage)


def default_namespace(captured: float) -> NamespaceDump:
    namespace = "default"
    service = service_object(namespace, "kubernetes", {"component": "apiserver", "provider": "kubernetes"},
                             [service_port("https", 443, 443)], "10.12.0.1", CLUSTER_CREATED)
    endpoints = {
        "metadata": {"name": "kubernetes", "namespace": namespace,
                     "uid": stable_uid(namespace, "Endpoints", "kubernetes"),
                     "resourceVersion": resource_version(at("2025-10-29T07:38:02Z"), "kubernetes"),
                     "creationTimestamp": iso(CLUSTER_CREATED),
                     "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": [{"addresses": [{"ip": "34.41.132.87"}], "ports": [endpoint_port("https", 443)]}],
    }
    return namespace_dump(namespace, captured, services=[service], endpoints=[endpoints])


# --------------------------------------------------------------------------- staging-incident

STAGING = "staging-mcp-server-langgraph"
STAGING_CAPTURED = at("2025-11-06T16:32:10Z")
STAGING_CREATED = at("2025-11-05T20:11:48Z")  # namespace, Services, policies: the first deploy
MCP_REPO = "us-central1-docker.pkg.dev/acme-staging/mcp/mcp-server-langgraph"
MCP_DB = "acme-staging:us-central1:mcp-staging-pg"
KEYCLOAK_DB = "acme-staging:us-central1:keycloak-staging-pg"


def staging_labels(app: str, component: str) -> dict:
    return {"app": app, "app.kubernetes.io/component": component, "app.kubernetes.io/name": app,
            "environment": "staging"}


def selector_of(app: str) -> dict:
    return {"app": app, "app.kubernetes.io/name": app}


def proxy_container(instance: str, *, liveness: dict | None) -> dict:
    """The Cloud SQL Auth Proxy sidecar as the staging overlay adds it: no --health-check."""
    fields = dict(args=["--structured-logs", "--port=5432", instance],
                  resources=resources("50m", "64Mi", "200m", "256Mi"),
                  securityContext={"runAsNonRoot": True, "allowPrivilegeEscalation": False})
    if liveness:
        fields.update(ports=[("proxy-health", 9801)], livenessProbe=liveness)
    return container("cloud-sql-proxy", CLOUD_SQL_PROXY_IMAGE, **fields)


PROXY_LIVENESS = http_probe("/liveness", 9801, initial=60, period=60, timeout=30, failure=5)


def mcp_template(tag: str, *, startup_probe: bool) -> dict:
    probes = dict(livenessProbe=http_probe("/health", "http", initial=30, period=15, timeout=5),
                  readinessProbe=http_probe("/health/ready", "http", initial=10, period=10, timeout=5))
    if startup_probe:  # added in revision 12
        probes["startupProbe"] = http_probe("/health/startup", "http", initial=5, period=5, failure=30)
    app = container(
        "mcp-server-langgraph", f"{MCP_REPO}:{tag}",
        command=["uvicorn", "mcp_server_langgraph.mcp.server_streamable:app", "--host=0.0.0.0", "--port=8000"],
        ports=[("http", 8000)],
        env=[env("ENVIRONMENT", "staging"), env("KEYCLOAK_SERVER_URL", "http://staging-keycloak:8080"),
             env("KEYCLOAK_REALM", "mcp"), env("OPENFGA_API_URL", "http://staging-openfga:8080"),
             env("QDRANT_URL", "http://staging-qdrant:6333"),
             env("REDIS_URL", "redis://staging-redis-session:6379/0"), env("POSTGRES_HOST", "127.0.0.1"),
             env("POSTGRES_PORT", "5432"), secret_env("POSTGRES_PASSWORD", "mcp-server-langgraph-db", "password"),
             env("LOG_LEVEL", "INFO"), env("LOG_FORMAT", "json"), env("OTEL_SERVICE_NAME", "mcp-server-langgraph")],
        resources=resources("250m", "512Mi", "1", "1Gi"),
        volumeMounts=[{"name": "tmp", "mountPath": "/tmp"}],
        securityContext={"capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": True,
                         "allowPrivilegeEscalation": False},
        **probes)
    return pod_template(staging_labels("mcp-server-langgraph", "server"),
                        [app, proxy_container(MCP_DB, liveness=PROXY_LIVENESS)],
                        volumes=[{"name": "tmp", "emptyDir": {}}],
                        serviceAccountName="staging-mcp-server-langgraph",
                        securityContext={"runAsUser": 1000, "runAsNonRoot": True, "fsGroup": 1000})


def keycloak_template(version: str) -> dict:
    keycloak = container(
        "keycloak", f"quay.io/keycloak/keycloak:{version}",
        args=["start"],
        ports=[("http", 8080), ("jgroups", 7800), ("management", 9000)],
        env=[env("KC_HOSTNAME", "https://auth.staging.acme-ai.dev"),
             env("JAVA_OPTS_APPEND", "-Djgroups.dns.query=staging-keycloak-headless."
                                     "staging-mcp-server-langgraph.svc.cluster.local"),
             env("KC_DB", "postgres"), env("KC_DB_URL", "jdbc:postgresql://127.0.0.1:5432/keycloak"),
             secret_env("KC_DB_USERNAME", "keycloak-db", "username"),
             secret_env("KC_DB_PASSWORD", "keycloak-db", "password"),
             env("KC_HTTP_ENABLED", "true"), env("KC_PROXY_HEADERS", "xforwarded"), env("KC_HEALTH_ENABLED", "true"),
             env("KC_METRICS_ENABLED", "true"), env("KC_CACHE", "ispn"), env("KC_CACHE_STACK", "kubernetes")],
        resources=resources("500m", "1Gi", "2", "2Gi"),
        livenessProbe=http_probe("/health/live", "management", period=15, timeout=5),
        readinessProbe=http_probe("/health/ready", "management", period=10, timeout=5),
        startupProbe=http_probe("/health/started", "management", initial=10, period=10, failure=30))
    return pod_template(staging_labels("keycloak", "auth"), [keycloak, proxy_container(KEYCLOAK_DB, liveness=None)],
                        serviceAccountName="staging-keycloak")


def openfga_template(version: str) -> dict:
    openfga = container(
        "openfga", f"openfga/openfga:{version}",
        args=["run"],
        ports=[("http", 8080), ("grpc", 8081)],
        env=[env("OPENFGA_DATASTORE_ENGINE", "postgres"),
             secret_env("OPENFGA_DATASTORE_URI", "openfga-datastore", "uri"),
             env("OPENFGA_PLAYGROUND_ENABLED", "false"), env("OPENFGA_LOG_FORMAT", "json")],
        resources=resources("100m", "128Mi", "500m", "512Mi"),
        livenessProbe=grpc_probe(8081, period=20),
        readinessProbe=http_probe("/healthz", "http"),
        securityContext={"runAsUser": 1000, "runAsNonRoot": True, "readOnlyRootFilesystem": True,
                         "allowPrivilegeEscalation": False})
    return pod_template(staging_labels("openfga", "authz"), [openfga])


def qdrant_template(version: str) -> dict:
    qdrant = container(
        "qdrant", f"qdrant/qdrant:{version}",
        ports=[("http", 6333), ("grpc", 6334)],
        env=[env("QDRANT__TELEMETRY_DISABLED", "true")],
        resources=resources("100m", "256Mi", "1", "1Gi"),
        volumeMounts=[{"name": "storage", "mountPath": "/qdrant/storage"}],
        livenessProbe=http_probe("/livez", "http", period=20),
        readinessProbe=http_probe("/readyz", "http"))
    return pod_template(staging_labels("qdrant", "vector-store"), [qdrant],
                        volumes=[{"name": "storage", "persistentVolumeClaim": {"claimName": "staging-qdrant-storage"}}])


def history_of_revisions(app: str, count: int, first: float, last: float) -> list[tuple[int, str, float, str]]:
    """(revision, pod-template-hash, created, image tag) for the stale revisions of a Deployment."""
    rng = rng_for("revisions", app)
    span = (last - first) / max(count - 1, 1)
    rows = []
    for revision in range(1, count + 1):
        created = first + (revision - 1) * span + (rng.uniform(-0.3, 0.3) * span if 1 < revision < count else 0)
        length = 10 if rng.random() < 0.8 else 9
        rows.append((revision, name_suffix(length, "rs", app, revision), created, "sha-" + digest(app, revision)[:7]))
    return rows


# -- the mcp-server-langgraph rollouts ---------------------------------------------------------------------

MCP = "staging-mcp-server-langgraph"
MCP_CREATED = at("2025-11-05T20:12:03Z")
MCP_REV11 = ("7c9d54f6b8", "sha-5d2b9e4", at("2025-11-06T15:37:32Z"))
MCP_REV12 = ("6b8f9d7c45", "sha-7b41d2e", at("2025-11-06T16:05:41Z"))
APP_SHUTDOWN = 0.9  # uvicorn's graceful shutdown after SIGTERM


def not_found(kind: str, path: str, initial: int, period: int) -> FailingProbe:
    return FailingProbe(kind, f"{kind} probe failed: HTTP probe failed with statuscode: 404", initial, period, path)


def refused(kind: str, ip: str, port: int, path: str, initial: int, period: int) -> FailingProbe:
    url = f"http://{ip}:{port}{path}"
    return FailingProbe(kind, f'{kind} probe failed: Get "{url}": dial tcp {ip}:{port}: connect: connection refused',
                        initial, period)


def proxy_plan(ip: str, instance: str) -> ContainerPlan:
    """Probed on 9801, where nothing listens without --health-check: killed every five minutes."""
    liveness = refused("Liveness", ip, 9801, "/liveness", 60, 60)
    return ContainerPlan(Behaviour(run_seconds=killed_after(liveness, 5, 0.05), exit_code=143, liveness_kill=True,
                                   failing_probes=(liveness,)), proxy_logs(instance), ready_after=0.3)


def mcp_rev11_pod(suffix: str, node: Node, host: int, created: float) -> PodPlan:
    """Serves, but its health routes are mounted twice: every probe gets 404, liveness restarts it."""
    ip = node.pod_ip(host)
    readiness = not_found("Readiness", "/health/ready", 10, 10)
    liveness = not_found("Liveness", "/health", 30, 15)
    app = Behaviour(run_seconds=killed_after(liveness, 3, APP_SHUTDOWN), exit_code=0, liveness_kill=True,
                    ready_when_running=False, failing_probes=(readiness, liveness), image_pulled=True,
                    pull_seconds=7.412 + host / 100, image_size=412_873_216)
    return PodPlan(suffix, node, host, created, {
        "mcp-server-langgraph": ContainerPlan(app, mcp_server_logs((readiness, liveness))),
        "cloud-sql-proxy": proxy_plan(ip, MCP_DB)})


def mcp_rev12_pod(suffix: str, node: Node, host: int, created: float) -> PodPlan:
    """Crashes while importing its module, before it listens: exit 1, CrashLoopBackOff."""
    ip = node.pod_ip(host)
    startup = refused("Startup", ip, 8000, "/health/startup", 5, 5)
    app = Behaviour(run_seconds=8.4, exit_code=1, ready_when_running=False, failing_probes=(startup,),
                    image_pulled=True, pull_seconds=6.873 + host / 100, image_size=413_025_792)
    return PodPlan(suffix, node, host, created, {
        "mcp-server-langgraph": ContainerPlan(app, mcp_crash_logs),
        "cloud-sql-proxy": proxy_plan(ip, MCP_DB)})


def mcp_deployment() -> DeploymentPlan:
    hash11, tag11, created11 = MCP_REV11
    hash12, tag12, created12 = MCP_REV12
    stale = history_of_revisions("mcp-server-langgraph", 10, MCP_CREATED, at("2025-11-06T14:52:18Z"))
    replica_sets = [ReplicaSetPlan(rev, rs_hash, created, mcp_template(tag, startup_probe=False), 0,
                                   4 if rev == 1 else 6)
                    for rev, rs_hash, created, tag in stale]
    rev10_pods = [f"{MCP}-{stale[-1][1]}-{name_suffix(5, 'mcp-rev10', i)}" for i in range(3)]
    replica_sets.append(ReplicaSetPlan(11, hash11, created11, mcp_template(tag11, startup_probe=False), 2, 2, [
        mcp_rev11_pod("x7k2p", NODE_A, 17, created11 + 0.21),
        mcp_rev11_pod("h4wzn", NODE_B, 15, created11 + 0.93),
    ]))
    replica_sets.append(ReplicaSetPlan(12, hash12, created12, mcp_template(tag12, startup_probe=True), 2, 2, [
        mcp_rev12_pod("m9vq5", NODE_B, 21, created12 + 0.74),
        mcp_rev12_pod("2lrtd", NODE_C, 13, created12 + 0.75),
    ]))
    rs10, rs11, rs12 = (f"{MCP}-{h}" for h in (stale[-1][1], hash11, hash12))
    scaling = "deployment-controller"
    return DeploymentPlan(
        name=MCP, labels=staging_labels("mcp-server-langgraph", "server"), selector=selector_of("mcp-server-langgraph"),
        replicas=3, strategy=rolling_update(1, 1), created=MCP_CREATED, generation=12, replica_sets=replica_sets,
        conditions=[
            # Revision 10's pods lost readiness with their proxies; none has been available since.
            deployment_condition("Available", "False", "MinimumReplicasUnavailable",
                                 "Deployment does not have minimum availability.", at("2025-11-06T15:51:07Z")),
            deployment_condition("Progressing", "False", "ProgressDeadlineExceeded",
                                 f'ReplicaSet "{rs12}" has timed out progressing.', created12 + 602.3),
        ],
        events=[
            EventPlan(created11 + 0.12, scaling, "ScalingReplicaSet", f"Scaled up replica set {rs11} to 1",
                      "deployment"),
            EventPlan(created11 + 0.58, scaling, "ScalingReplicaSet", f"Scaled down replica set {rs10} to 2 from 3",
                      "deployment"),
            EventPlan(created11 + 0.61, "replicaset-controller", "SuccessfulDelete", f"Deleted pod: {rev10_pods[0]}",
                      "10"),
            EventPlan(created11 + 0.87, scaling, "ScalingReplicaSet", f"Scaled up replica set {rs11} to 2 from 1",
                      "deployment"),
            # With every pod unavailable, the controller may drop revision 10's two but not revision 11's.
            EventPlan(created12 + 0.31, scaling, "ScalingReplicaSet", f"Scaled down replica set {rs10} to 0 from 2",
                      "deployment"),
            EventPlan(created12 + 0.35, "replicaset-controller", "SuccessfulDelete", f"Deleted pod: {rev10_pods[1]}",
                      "10"),
            EventPlan(created12 + 0.36, "replicaset-controller", "SuccessfulDelete", f"Deleted pod: {rev10_pods[2]}",
                      "10"),
            EventPlan(created12 + 0.69, scaling, "ScalingReplicaSet", f"Scaled up replica set {rs12} to 2 from 0",
                      "deployment"),
        ])


# -- Keycloak, OpenFGA, Qdrant ---------------------------------------------------------------------------------

KEYCLOAK = "staging-keycloak"
KEYCLOAK_HASH = "5847455794"
KEYCLOAK_ROLLOUT = at("2025-11-06T15:11:58Z")  # revision 3: clustering on, the new NetworkPolicy with it
KEYCLOAK_SURVIVOR = ("2wdjr", NODE_A, 14, KEYCLOAK_ROLLOUT + 0.4)
KEYCLOAK_CRASHING = ("txkc6", NODE_B, 19, at("2025-11-06T16:12:41Z"))  # replaced by hand after the first one looped


def keycloak_deployment() -> DeploymentPlan:
    survivor_suffix, survivor_node, survivor_host, survivor_created = KEYCLOAK_SURVIVOR
    crashing_suffix, crashing_node, crashing_host, crashing_created = KEYCLOAK_CRASHING
    survivor_ip, crashing_ip = survivor_node.pod_ip(survivor_host), crashing_node.pod_ip(crashing_host)
    proxy = ContainerPlan(logs=proxy_logs(KEYCLOAK_DB), ready_after=0.3)
    startup = refused("Startup", crashing_ip, 9000, "/health/started", 10, 10)
    crashing = ContainerPlan(Behaviour(run_seconds=48.6, exit_code=1, ready_when_running=False,
                                       failing_probes=(startup,)), keycloak_crash_logs)
    pods = [
        PodPlan(survivor_suffix, survivor_node, survivor_host, survivor_created,
                {"keycloak": ContainerPlan(logs=keycloak_survivor_logs, ready_after=31.2), "cloud-sql-proxy": proxy},
                extra={"keycloak_peer_ip": crashing_ip, "peer_since": crashing_created}),
        PodPlan(crashing_suffix, crashing_node, crashing_host, crashing_created,
                {"keycloak": crashing, "cloud-sql-proxy": proxy},
                extra={"keycloak_peer_ip": survivor_ip}),
    ]
    replica_sets = [
        ReplicaSetPlan(1, "6d4f8b9c57", at("2025-11-05T20:12:05Z"), keycloak_template("26.0.5"), 0, 2),
        ReplicaSetPlan(2, "7b5d9c6f84", at("2025-11-06T09:47:26Z"), keycloak_template("26.0.6"), 0, 2),
        ReplicaSetPlan(3, KEYCLOAK_HASH, KEYCLOAK_ROLLOUT, keycloak_template("26.0.7"), 2, 1, pods),
    ]
    rs = f"{KEYCLOAK}-{KEYCLOAK_HASH}"
    return DeploymentPlan(
        name=KEYCLOAK, labels=staging_labels("keycloak", "auth"), selector=selector_of("keycloak"), replicas=2,
        strategy=RECREATE, created=at("2025-11-05T20:12:05Z"), generation=3, replica_sets=replica_sets,
        conditions=[
            deployment_condition("Available", "False", "MinimumReplicasUnavailable",
                                 "Deployment does not have minimum availability.", KEYCLOAK_ROLLOUT - 0.6),
            deployment_condition("Progressing", "False", "ProgressDeadlineExceeded",
                                 f'ReplicaSet "{rs}" has timed out progressing.', survivor_created + 31.2 + 601.4),
        ])


def healthy_pod(suffix: str, node: Node, host: int, created: float, containers: dict[str, LogRenderer],
                ready_after: float = 3.0, pulled: dict[str, tuple[float, int]] | None = None) -> PodPlan:
    plans = {}
    for name, logs in containers.items():
        pull_seconds, size = (pulled or {}).get(name, (0.0, 0))
        plans[name] = ContainerPlan(Behaviour(image_pulled=bool(pull_seconds), pull_seconds=pull_seconds,
                                              image_size=size), logs, ready_after)
    return PodPlan(suffix, node, host, created, plans)


def openfga_deployment() -> DeploymentPlan:
    name, rs_hash, rollout = "staging-openfga", "c58f84668", at("2025-11-06T14:29:51Z")
    pods = [healthy_pod("6dbbc", NODE_A, 11, rollout + 0.5, {"openfga": openfga_logs}),
            healthy_pod("kq7xw", NODE_C, 8, rollout + 9.8, {"openfga": openfga_logs})]
    return DeploymentPlan(
        name=name, labels=staging_labels("openfga", "authz"), selector=selector_of("openfga"), replicas=2,
        strategy=rolling_update("25%", "25%"), created=at("2025-11-05T20:12:04Z"), generation=2,
        replica_sets=[ReplicaSetPlan(1, "79dc6b5f8d", at("2025-11-05T20:12:04Z"), openfga_template("v1.8.0"), 0, 3),
                      ReplicaSetPlan(2, rs_hash, rollout, openfga_template("v1.8.1"), 2, 2, pods)],
        conditions=[
            deployment_condition("Available", "True", "MinimumReplicasAvailable",
                                 "Deployment has minimum availability.", at("2025-11-05T20:12:31Z")),
            deployment_condition("Progressing", "True", "NewReplicaSetAvailable",
                                 f'ReplicaSet "{name}-{rs_hash}" has successfully progressed.', rollout + 14.2,
                                 at("2025-11-05T20:12:04Z")),
        ])


QDRANT_ROLLOUT = at("2025-11-06T15:44:18Z")


def qdrant_deployment() -> DeploymentPlan:
    name, rs_hash, old_hash = "staging-qdrant", "567d6fdb54", "8459c7bd6f"
    pod = healthy_pod("8gsr4", NODE_B, 16, QDRANT_ROLLOUT + 3.2, {"qdrant": qdrant_logs}, ready_after=2.6,
                      pulled={"qdrant": (9.118, 71_460_864)})
    old_pod = f"{name}-{old_hash}-{name_suffix(5, 'qdrant-rev1')}"
    return DeploymentPlan(
        name=name, labels=staging_labels("qdrant", "vector-store"), selector=selector_of("qdrant"), replicas=1,
        strategy=RECREATE, created=at("2025-11-05T20:12:05Z"), generation=2,
        replica_sets=[ReplicaSetPlan(1, old_hash, at("2025-11-05T20:12:05Z"), qdrant_template("v1.12.1"), 0, 2),
                      ReplicaSetPlan(2, rs_hash, QDRANT_ROLLOUT + 3.1, qdrant_template("v1.12.4"), 1, 1, [pod])],
        conditions=[
            deployment_condition("Available", "True", "MinimumReplicasAvailable",
                                 "Deployment has minimum availability.", QDRANT_ROLLOUT + 3.2 + 1.6 + 9.118 + 2.9),
            deployment_condition("Progressing", "True", "NewReplicaSetAvailable",
                                 f'ReplicaSet "{name}-{rs_hash}" has successfully progressed.',
                                 QDRANT_ROLLOUT + 3.2 + 1.6 + 9.118 + 2.9, at("2025-11-05T20:12:05Z")),
        ],
        events=[
            EventPlan(QDRANT_ROLLOUT, "deployment-controller", "ScalingReplicaSet",
                      f"Scaled down replica set {name}-{old_hash} to 0 from 1", "deployment"),
            EventPlan(QDRANT_ROLLOUT + 0.04, "replicaset-controller", "SuccessfulDelete", f"Deleted pod: {old_pod}",
                      "1"),
            EventPlan(QDRANT_ROLLOUT + 3.1, "deployment-controller", "ScalingReplicaSet",
                      f"Scaled up replica set {name}-{rs_hash} to 1", "deployment"),
        ])


def staging_services(workloads: Workloads) -> tuple[list[dict], list[dict]]:
    created = STAGING_CREATED + 1
    pods = workloads.pods_by_app
    neg = NEG_ANNOTATION
    mcp = service_object(STAGING, MCP, selector_of("mcp-server-langgraph") | {"environment": "staging"},
                         [service_port("http", 80, "http")], "10.12.2.87", created,
                         selector={"app": "mcp-server-langgraph"}, annotations=neg)
    keycloak = service_object(STAGING, KEYCLOAK, selector_of("keycloak") | {"environment": "staging"},
                              [service_port("http", 8080, "http")], "10.12.7.214", created,
                              selector={"app": "keycloak"}, annotations=neg)
    headless = service_object(STAGING, "staging-keycloak-headless",
                              selector_of("keycloak") | {"environment": "staging"},
                              [service_port("jgroups", 7800, "jgroups")], "None", created,
                              selector={"app": "keycloak"}, publish_not_ready=True)
    openfga = service_object(STAGING, "staging-openfga", selector_of("openfga") | {"environment": "staging"},
                             [service_port("http", 8080, "http"), service_port("grpc", 8081, "grpc")], "10.12.9.40",
                             created, selector={"app": "openfga"}, annotations=neg)
    qdrant = service_object(STAGING, "staging-qdrant", selector_of("qdrant") | {"environment": "staging"},
                            [service_port("http", 6333, "http"), service_port("grpc", 6334, "grpc")], "10.12.5.163",
                            created, selector={"app": "qdrant"}, annotations=neg)
    # The overlay's second port named "redis" was rejected on apply: the live Service kept one port.
    redis = service_object(STAGING, "staging-redis-session",
                           {"app.kubernetes.io/name": "redis-session", "environment": "staging"},
                           [service_port("redis", 6379, 6379)], "10.12.11.29", created, annotations=neg)
    endpoints = [
        endpoints_object(mcp, pods[MCP], [endpoint_port("http", 8000)]),
        endpoints_object(keycloak, pods[KEYCLOAK], [endpoint_port("http", 8080)]),
        endpoints_object(headless, pods[KEYCLOAK], [endpoint_port("jgroups", 7800)],
                         publish_not_ready=True),
        endpoints_object(openfga, pods["staging-openfga"], [endpoint_port("http", 8080), endpoint_port("grpc", 8081)]),
        endpoints_object(qdrant, pods["staging-qdrant"], [endpoint_port("http", 6333), endpoint_port("grpc", 6334)]),
        manual_endpoints(redis, "10.20.0.3", [endpoint_port("redis", 6379)]),
    ]
    return [mcp, keycloak, headless, openfga, qdrant, redis], endpoints


def manual_endpoints(service: dict, ip: str, ports: list[dict]) -> dict:
    meta = service["metadata"]
    return {"metadata": {"name": meta["name"], "namespace": meta["namespace"],
                         "uid": stable_uid(meta["namespace"], "Endpoints", meta["name"]),
                         "resourceVersion": resource_version(at(meta["creationTimestamp"]) + 1, "ep/" + meta["name"]),
                         "creationTimestamp": meta["creationTimestamp"], "labels": meta["labels"]},
            "subsets": [{"addresses": [{"ip": ip}], "ports": ports}]}


def staging_policies() -> list[dict]:
    mcp, keycloak = {"app": "mcp-server-langgraph"}, {"app": "keycloak"}
    created = STAGING_CREATED + 2
    mcp_spec = policy_spec(
        mcp,
        [ingress(tcp(8000), {"podSelector": {}}, *GFE_PEERS)],
        [DNS_EGRESS,
         egress(tcp(8080), pod_peer(app="keycloak")),
         egress(tcp(8080, 8081), pod_peer(app="openfga")),
         egress(tcp(6333, 6334), pod_peer(app="qdrant")),
         egress(tcp(6379, 6378), ip_peer("10.20.0.3/32")),
         METADATA_EGRESS,
         egress(tcp(443, 3307), INTERNET_PEER)])
    # Ingress between Keycloak peers is allowed, egress to them is not: JGroups cannot connect.
    keycloak_spec = policy_spec(
        keycloak,
        [ingress(tcp(7800, 9000), pod_peer(app="keycloak")),
         ingress(tcp(8080), pod_peer(app="mcp-server-langgraph"), *GFE_PEERS)],
        [DNS_EGRESS, METADATA_EGRESS, egress(tcp(443, 3307), INTERNET_PEER)])
    env_label = {"environment": "staging"}
    return [
        network_policy_object(STAGING, "staging-default-deny-ingress", env_label, policy_spec({}, [], None), created),
        network_policy_object(STAGING, MCP, mcp | env_label, mcp_spec, created),
        network_policy_object(STAGING, "staging-openfga", {"app": "openfga"} | env_label,
                              policy_spec({"app": "openfga"}, [ingress(tcp(8080, 8081), pod_peer(**mcp))], None),
                              created),
        network_policy_object(STAGING, "staging-qdrant", {"app": "qdrant"} | env_label,
                              policy_spec({"app": "qdrant"}, [ingress(tcp(6333, 6334), pod_peer(**mcp))], None),
                              created),
        network_policy_object(STAGING, KEYCLOAK, keycloak | env_label, keycloak_spec, KEYCLOAK_ROLLOUT - 3.2),
    ]


STAGING_USAGE = {
    # pod suffix -> container -> usage; in line with the incident report's resource figures
    "2wdjr": {"keycloak": Usage(6.4, 512.3), "cloud-sql-proxy": Usage(1.1, 27.6)},
    "txkc6": {"cloud-sql-proxy": Usage(0.9, 26.1)},
    "x7k2p": {"mcp-server-langgraph": Usage(12.4, 463.2), "cloud-sql-proxy": Usage(1.0, 9.4)},
    "h4wzn": {"mcp-server-langgraph": Usage(9.8, 247.5), "cloud-sql-proxy": Usage(1.0, 10.8)},
    "m9vq5": {"cloud-sql-proxy": Usage(0.8, 10.6)},
    "2lrtd": {"cloud-sql-proxy": Usage(0.9, 9.7)},
    "6dbbc": {"openfga": Usage(2.1, 21.8)},
    "kq7xw": {"openfga": Usage(1.8, 14.3)},
    "8gsr4": {"qdrant": Usage(1.2, 22.1)},
}


def staging_namespace() -> NamespaceDump:
    plans = [mcp_deployment(), keycloak_deployment(), openfga_deployment(), qdrant_deployment()]
    workloads = build_workloads(STAGING, plans, STAGING_CAPTURED)
    services, endpoints = staging_services(workloads)
    claim = pvc_object(STAGING, "staging-qdrant-storage", {"app": "qdrant", "environment": "staging"}, "10Gi", NODE_B,
                       STAGING_CREATED + 3)
    usage = {pod.obj["metadata"]["name"]: STAGING_USAGE[pod.plan.suffix] for pod in workloads.pods}
    return namespace_dump(STAGING, STAGING_CAPTURED, workloads, services=services, endpoints=endpoints,
                          policies=staging_policies(), claims=[claim], usage=usage)


# --------------------------------------------------------------------------- writing a snapshot


@dataclass
class Snapshot:
    captured: float
    namespaces: list[NamespaceDump]
    node_usage: dict[str, Usage]

    @property
    def pods(self) -> list[BuiltPod]:
        return [pod for ns in self.namespaces for pod in ns.pods]


METRICS_API = "metrics.k8s.io/v1beta1"
LIST_KINDS = {
    "events": ("EventList", "v1"), "replication-controllers": ("ReplicationControllerList", "v1"),
    "services": ("ServiceList", "v1"), "daemonsets": ("DaemonSetList", "apps/v1"),
    "deployments": ("DeploymentList", "apps/v1"), "replicasets": ("ReplicaSetList", "apps/v1"),
    "pods": ("PodList", "v1"), "networkpolicies": ("NetworkPolicyList", "networking.k8s.io/v1"),
    "statefulsets": ("StatefulSetList", "apps/v1"), "endpoints": ("EndpointsList", "v1"),
    "horizontalpodautoscalers": ("HorizontalPodAutoscalerList", "autoscaling/v2"),
    "persistentvolumeclaims": ("PersistentVolumeClaimList", "v1"), "jobs": ("JobList", "batch/v1"),
    "cronjobs": ("CronJobList", "batch/v1"), "podmetrics": ("PodMetricsList", METRICS_API),
}


def typed_list(kind: str, api_version: str, items: list[dict], captured: float, stem: str) -> dict:
    metadata = {} if api_version == METRICS_API else {"resourceVersion": resource_version(captured, stem)}
    return {"kind": kind, "apiVersion": api_version, "metadata": metadata, "items": items}


def node_images(snapshot: Snapshot) -> dict[str, list[tuple[str, int]]]:
    images: dict[str, list[tuple[str, int]]] = {}
    for pod in snapshot.pods:
        for spec in pod.container_specs:
            pulled = pod.plan.containers[spec["name"]].behaviour.image_size
            size = pulled or 10_000_000 + int(digest(spec["image"])[:7], 16)
            images.setdefault(pod.obj["spec"]["nodeName"], []).append((spec["image"], size))
    return images


def write_snapshot(root: Path, snapshot: Snapshot, nodes: tuple[Node, ...]) -> None:
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    captured = snapshot.captured
    meta = {"format": "runbooks-snapshot", "format_version": 1, "captured_at": iso(captured), "context": CONTEXT,
            "cluster": CLUSTER, "server_version": SERVER_VERSION,
            "namespaces": sorted(ns.name for ns in snapshot.namespaces), "errors": []}
    (root / "snapshot.json").write_text(to_json(meta))
    images = node_images(snapshot)
    node_items = [node_object(node, captured, images.get(node.name, [])) for node in nodes]
    (root / "nodes.json").write_text(to_json(typed_list("NodeList", "v1", node_items, captured, "nodes")))
    node_metric_items = [node_metrics(node, snapshot.node_usage[node.name], captured) for node in nodes]
    (root / "nodemetrics.json").write_text(to_json(typed_list("NodeMetricsList", METRICS_API, node_metric_items,
                                                              captured, "nodemetrics")))
    for ns in snapshot.namespaces:
        directory = root / ns.name
        directory.mkdir()
        for stem, items in ns.lists.items():
            kind, api_version = LIST_KINDS[stem]
            (directory / f"{stem}.json").write_text(to_json(typed_list(kind, api_version, items, captured, stem)))
        for pod, (current, previous) in sorted(ns.logs.items()):
            (directory / pod).mkdir()
            (directory / pod / "logs.txt").write_text(current)
            (directory / pod / "logs.previous.txt").write_text(previous)


def staging_snapshot() -> Snapshot:
    namespaces = [default_namespace(STAGING_CAPTURED), kube_system(STAGING_CAPTURED), staging_namespace()]
    usage = {NODE_A.name: Usage(412.6, 4196.3), NODE_B.name: Usage(236.9, 3507.8), NODE_C.name: Usage(118.4, 2411.5)}
    return Snapshot(STAGING_CAPTURED, namespaces, usage)


# --------------------------------------------------------------------------- healthy

PAYMENTS = "payments"
HEALTHY_CAPTURED = at("2025-11-06T09:00:00Z")
PAYMENTS_CREATED = at("2025-10-14T13:05:22Z")
PAYMENTS_REPO = "us-central1-docker.pkg.dev/acme-staging/payments"


def payments_labels(app: str) -> dict:
    return {"app": app, "app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "payments"}


def payments_api_template(version: str) -> dict:
    api = container(
        "payments-api", f"{PAYMENTS_REPO}/payments-api:{version}",
        ports=[("http", 8080)],
        env=[env("LEDGER_ADDR", "ledger-worker:9090"), env("LOG_LEVEL", "info"),
             secret_env("STRIPE_API_KEY", "payments-api", "stripe-api-key")],
        resources=resources("200m", "256Mi", "1", "512Mi"),
        livenessProbe=http_probe("/livez", "http", period=10),
        readinessProbe=http_probe("/readyz", "http", period=5),
        securityContext={"capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True, "readOnlyRootFilesystem": True,
                         "allowPrivilegeEscalation": False})
    return pod_template(payments_labels("payments-api"), [api], serviceAccountName="payments-api")


def ledger_worker_template(version: str) -> dict:
    worker = container(
        "ledger-worker", f"{PAYMENTS_REPO}/ledger-worker:{version}",
        ports=[("grpc", 9090)],
        env=[env("LOG_LEVEL", "info"), secret_env("LEDGER_DB_URL", "ledger-worker", "database-url")],
        resources=resources("100m", "128Mi", "500m", "256Mi"),
        livenessProbe=grpc_probe(9090, period=10),
        readinessProbe=grpc_probe(9090, period=5),
        securityContext={"capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True, "readOnlyRootFilesystem": True,
                         "allowPrivilegeEscalation": False})
    return pod_template(payments_labels("ledger-worker"), [worker], serviceAccountName="ledger-worker")


def slog_line(t: float, message: str, level: str = "INFO", **attrs) -> str:
    return compact_json({"time": iso_milli(t), "level": level, "msg": message, **attrs})


def payments_api_logs(ctx: LogContext, run: Run) -> list[str]:
    t = run.started
    lines = [slog_line(t + 0.004, "starting payments-api", version="v2.18.3", commit="a4c19e7"),
             slog_line(t + 0.061, "ledger client connected", target="ledger-worker:9090"),
             slog_line(t + 0.063, "http server listening", addr=":8080")]
    rng = ctx.rng("requests")
    when = t + rng.uniform(20, 40)
    while when < ctx.captured:
        method, path, status = rng.choice((("POST", "/v1/payments", 201), ("GET", "/v1/payments/{id}", 200),
                                           ("POST", "/v1/refunds", 201)))
        lines.append(slog_line(when, "request", method=method, route=path, status=status,
                               duration_ms=round(rng.uniform(8, 90), 1)))
        when += rng.uniform(25, 75)
    return lines


def ledger_worker_logs(ctx: LogContext, run: Run) -> list[str]:
    t = run.started
    lines = [slog_line(t + 0.006, "starting ledger-worker", version="v1.9.0", commit="3f08b2d"),
             slog_line(t + 0.212, "database pool ready", max_conns=10),
             slog_line(t + 0.215, "grpc server listening", addr=":9090")]
    rng = ctx.rng("batches")
    when = t + 600
    while when < ctx.captured:
        lines.append(slog_line(when, "ledger batch committed", entries=rng.randint(4, 60),
                               duration_ms=round(rng.uniform(12, 140), 1)))
        when += 600 + rng.uniform(-2, 2)
    return lines


PAYMENTS_API_ROLLOUT = at("2025-11-06T08:41:12Z")


def payments_api_deployment() -> DeploymentPlan:
    name, new, old = "payments-api", "7d4b9c8f6d", "5c6f7b8d94"
    t0 = PAYMENTS_API_ROLLOUT
    logs = {"payments-api": payments_api_logs}
    pods = [healthy_pod("8k2mz", NODE_A, 23, t0 + 0.3, logs, 1.8, {"payments-api": (3.417, 24_117_248)}),
            healthy_pod("v7qxt", NODE_B, 27, t0 + 8.9, logs, 1.8, {"payments-api": (2.906, 24_117_248)}),
            healthy_pod("f4wjc", NODE_C, 31, t0 + 17.6, logs, 1.8, {"payments-api": (3.185, 24_117_248)})]
    old_pods = [f"{name}-{old}-{name_suffix(5, 'payments-api-rev3', i)}" for i in range(3)]
    events = [EventPlan(t0 + 0.1, "deployment-controller", "ScalingReplicaSet",
                        f"Scaled up replica set {name}-{new} to 1", "deployment")]
    for step, (scaled_down, scaled_up) in enumerate(((2, 2), (1, 3), (0, None))):
        when = t0 + 8.6 * (step + 1)
        events.append(EventPlan(when, "deployment-controller", "ScalingReplicaSet",
                                f"Scaled down replica set {name}-{old} to {scaled_down} from {scaled_down + 1}",
                                "deployment"))
        events.append(EventPlan(when + 0.04, "replicaset-controller", "SuccessfulDelete",
                                f"Deleted pod: {old_pods[step]}", "3"))
        if scaled_up:
            events.append(EventPlan(when + 0.2, "deployment-controller", "ScalingReplicaSet",
                                    f"Scaled up replica set {name}-{new} to {scaled_up} from {scaled_up - 1}",
                                    "deployment"))
    done = t0 + 8.6 * 3
    return DeploymentPlan(
        name=name, labels=payments_labels(name), selector={"app": name}, replicas=3,
        strategy=rolling_update("25%", "25%"), created=PAYMENTS_CREATED + 40, generation=4,
        replica_sets=[ReplicaSetPlan(3, old, at("2025-11-04T15:02:47Z"), payments_api_template("v2.18.2"), 0, 5),
                      ReplicaSetPlan(4, new, t0, payments_api_template("v2.18.3"), 3, 3, pods)],
        conditions=[
            deployment_condition("Available", "True", "MinimumReplicasAvailable",
                                 "Deployment has minimum availability.", PAYMENTS_CREATED + 52),
            deployment_condition("Progressing", "True", "NewReplicaSetAvailable",
                                 f'ReplicaSet "{name}-{new}" has successfully progressed.', done,
                                 PAYMENTS_CREATED + 40),
        ],
        events=events)


def ledger_worker_deployment() -> DeploymentPlan:
    name, new, old = "ledger-worker", "6f5d8c7b9b", "84c9f6d7b5"
    rollout = at("2025-11-05T16:20:44Z")
    pods = [healthy_pod("c2r9n", NODE_B, 12, rollout + 0.4, {"ledger-worker": ledger_worker_logs}, 2.2),
            healthy_pod("jx5pl", NODE_C, 9, rollout + 6.1, {"ledger-worker": ledger_worker_logs}, 2.2)]
    return DeploymentPlan(
        name=name, labels=payments_labels(name), selector={"app": name}, replicas=2,
        strategy=rolling_update("25%", "25%"), created=PAYMENTS_CREATED + 41, generation=2,
        replica_sets=[ReplicaSetPlan(1, old, PAYMENTS_CREATED + 41, ledger_worker_template("v1.8.4"), 0, 4),
                      ReplicaSetPlan(2, new, rollout, ledger_worker_template("v1.9.0"), 2, 2, pods)],
        conditions=[
            deployment_condition("Available", "True", "MinimumReplicasAvailable",
                                 "Deployment has minimum availability.", PAYMENTS_CREATED + 49),
            deployment_condition("Progressing", "True", "NewReplicaSetAvailable",
                                 f'ReplicaSet "{name}-{new}" has successfully progressed.', rollout + 11.4,
                                 PAYMENTS_CREATED + 41),
        ])


def payments_policies() -> list[dict]:
    api, worker = {"app": "payments-api"}, {"app": "ledger-worker"}
    created = PAYMENTS_CREATED + 2
    return [
        network_policy_object(PAYMENTS, "default-deny-ingress", {}, policy_spec({}, [], None), created),
        network_policy_object(PAYMENTS, "payments-api", api, policy_spec(
            api,
            [ingress(tcp(8080), {"podSelector": {}}, *GFE_PEERS)],
            [DNS_EGRESS, egress(tcp(9090), pod_peer(**worker)), METADATA_EGRESS,
             egress(tcp(443), INTERNET_PEER)]), created),
        network_policy_object(PAYMENTS, "ledger-worker", worker, policy_spec(
            worker,
            [ingress(tcp(9090), pod_peer(**api))],
            [DNS_EGRESS, METADATA_EGRESS, egress(tcp(443, 3307), INTERNET_PEER)]), created),
    ]


def payments_namespace() -> NamespaceDump:
    plans = [payments_api_deployment(), ledger_worker_deployment()]
    workloads = build_workloads(PAYMENTS, plans, HEALTHY_CAPTURED)
    created = PAYMENTS_CREATED + 1
    api = service_object(PAYMENTS, "payments-api", payments_labels("payments-api"), [service_port("http", 80, "http")],
                         "10.12.3.118", created, selector={"app": "payments-api"}, annotations=NEG_ANNOTATION)
    worker = service_object(PAYMENTS, "ledger-worker", payments_labels("ledger-worker"),
                            [service_port("grpc", 9090, "grpc")], "10.12.6.52", created,
                            selector={"app": "ledger-worker"}, annotations=NEG_ANNOTATION)
    endpoints = [endpoints_object(api, workloads.pods_by_app["payments-api"], [endpoint_port("http", 8080)]),
                 endpoints_object(worker, workloads.pods_by_app["ledger-worker"], [endpoint_port("grpc", 9090)])]
    usage = {}
    for pod in workloads.pods:
        rng = rng_for("payments-usage", pod.plan.suffix)
        usage[pod.obj["metadata"]["name"]] = {
            name: Usage(rng.uniform(3, 18), rng.uniform(38, 110)) for name in pod.plan.containers}
    return namespace_dump(PAYMENTS, HEALTHY_CAPTURED, workloads, services=[api, worker], endpoints=endpoints,
                          policies=payments_policies(), usage=usage)


def healthy_snapshot() -> Snapshot:
    namespaces = [default_namespace(HEALTHY_CAPTURED), kube_system(HEALTHY_CAPTURED), payments_namespace()]
    usage = {NODE_A.name: Usage(187.3, 2716.4), NODE_B.name: Usage(164.8, 2954.1), NODE_C.name: Usage(121.5, 2260.9)}
    return Snapshot(HEALTHY_CAPTURED, namespaces, usage)


def main() -> None:
    write_snapshot(EXAMPLES / "staging-incident" / "snapshot", staging_snapshot(), STAGING_NODES)
    write_snapshot(EXAMPLES / "healthy" / "snapshot", healthy_snapshot(), STAGING_NODES)


if __name__ == "__main__":
    main()
