#!/usr/bin/env python3
"""Write a large, realistic snapshot for benchmarks, with the findings it must produce.

    python benchmarks/generate.py --pods 10000 --namespaces 40 --policies 1000 --events 100000 --seed 1 OUT

OUT is a snapshot in the project's format (docs/snapshot-format.md): the layout of
``kubectl cluster-info dump --output-directory`` plus ``snapshot.json``, metrics,
network policies and previous logs. The same arguments give the same bytes.

What is in it:

- application namespaces of Deployments (current ReplicaSet, a few old ones at 0)
  and their pods, mostly healthy, with Services and Endpoints; kube-dns in
  kube-system and Prometheus in monitoring;
- failing workloads, one kind per failure class the detectors know, in known
  numbers: ``OUT/expected-findings.json`` maps every rule to the number of
  findings the snapshot must produce (``benchmarks/run.py`` and
  tests/test_benchmark_smoke.py check it);
- events in both shapes (core/v1 with ``count``; events.k8s.io with
  ``series``), repeats included, most of them from a recent rolling update;
- container logs of realistic sizes (a few of megabytes), tracebacks in the
  previous logs of crashing containers; pod and node metrics;
- NetworkPolicies of the common shapes: default deny, app-to-app allows on
  named ports, namespace selectors, DNS egress, ipBlocks.

``OUT/generator.json`` records the arguments and what was written.
"""

from __future__ import annotations

import argparse
import calendar
import json
import math
import random
import re
import shutil
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

try:
    import orjson
except ImportError:  # the json module writes the same bytes, only slower
    orjson = None

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from runbooks_lib.kinds import BY_PLURAL, NAMESPACED_FILES  # noqa: E402
from runbooks_lib.podlogs import render_log_file  # noqa: E402

CAPTURED = 1762446730.0  # 2025-11-06T16:32:10Z
SERVER_VERSION = "v1.30.5-gke.1014001"
CLUSTER = "bench-gke"
CONTEXT = "gke_acme-bench_us-central1_bench-gke"
SCHEDULER_INSTANCE = "default-scheduler-gke-7c2e5b1d40a9f3e86b21-4d1a-vm"
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # what Kubernetes uses for generated name suffixes
PODS_PER_NODE = 80
RULES = ("container-config-error", "crashloop", "image-pull-failure", "netpol-asymmetric", "netpol-dns-blocked",
         "oom-killed", "pending-unschedulable", "probe-connection-refused", "probe-http-error",
         "probe-port-not-served", "probe-timeout", "resource-pressure", "rollout-stuck", "service-duplicate-port",
         "service-no-endpoints", "service-target-port-missing", "stale-replicasets")
DNS_EGRESS = {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                      "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
              "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}


# --------------------------------------------------------------------------- time and names

def iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(t)))


def iso_micro(t: float) -> str:
    whole = int(t)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{int((t - whole) * 1e6):06d}Z"


def log_stamp(t: float) -> str:
    whole = int(t)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(whole)) + f",{int((t - whole) * 1000):03d}"


def to_json(obj: object) -> bytes:
    """kubectl's JSON: four-space indent, UTF-8 kept."""
    if orjson is None:
        return (json.dumps(obj, indent=4, ensure_ascii=False) + "\n").encode()
    text = orjson.dumps(obj, option=orjson.OPT_INDENT_2)
    return re.sub(rb"(?m)^( +)", lambda m: m.group(1) * 2, text) + b"\n"


# --------------------------------------------------------------------------- application profiles

@dataclass(frozen=True)
class Profile:
    """A kind of application: image, ports, probes, resources and how it logs."""

    role: str
    image: str  # with {app} for the team's own images
    container: str
    ports: tuple[tuple[str, int], ...]
    readiness: tuple[str, str] | None  # (path, port name); path "" means tcpSocket
    liveness: tuple[str, str] | None
    requests: tuple[str, str]  # cpu, memory
    limits: tuple[str, str]
    log_style: str
    sidecar: str | None = None  # name of a SIDECARS entry

    @property
    def has_http(self) -> bool:
        return any(name == "http" for name, _ in self.ports)


PROFILES = (
    Profile("api", "ghcr.io/acme/{app}", "app", (("http", 8000), ("metrics", 9090)), ("/ready", "http"),
            ("/healthz", "http"), ("100m", "256Mi"), ("1", "512Mi"), "python"),
    Profile("web", "ghcr.io/acme/{app}", "web", (("http", 3000),), ("/", "http"), ("/healthz", "http"),
            ("50m", "128Mi"), ("500m", "256Mi"), "node"),
    Profile("svc", "ghcr.io/acme/{app}", "server", (("http", 8080), ("grpc", 9000), ("metrics", 9090)),
            ("/readyz", "http"), ("/livez", "http"), ("200m", "128Mi"), ("1", "256Mi"), "go"),
    Profile("service", "ghcr.io/acme/{app}", "app", (("http", 8080), ("management", 8081)),
            ("/actuator/health/readiness", "management"), ("/actuator/health/liveness", "management"),
            ("250m", "768Mi"), ("2", "1Gi"), "java"),
    Profile("worker", "ghcr.io/acme/{app}", "worker", (("metrics", 9090),), None, ("/metrics", "metrics"),
            ("100m", "256Mi"), ("1", "512Mi"), "python"),
    Profile("cache", "redis:7.2.4", "redis", (("redis", 6379),), ("", "redis"), ("", "redis"),
            ("50m", "64Mi"), ("500m", "256Mi"), "redis", sidecar="redis-exporter"),
)
SIDECARS = {
    "redis-exporter": {"name": "redis-exporter", "image": "oliver006/redis_exporter:v1.58.0",
                       "ports": [{"name": "metrics", "containerPort": 9121, "protocol": "TCP"}],
                       "resources": {"limits": {"cpu": "100m", "memory": "64Mi"},
                                     "requests": {"cpu": "10m", "memory": "16Mi"}}},
    "log-shipper": {"name": "log-shipper", "image": "cr.fluentbit.io/fluent/fluent-bit:3.0.7",
                    "ports": [{"name": "http-metrics", "containerPort": 2020, "protocol": "TCP"}],
                    "resources": {"limits": {"cpu": "100m", "memory": "128Mi"},
                                  "requests": {"cpu": "10m", "memory": "32Mi"}}},
}
DOMAINS = ("orders", "checkout", "billing", "ledger", "catalog", "search", "inventory", "shipping", "payments",
           "accounts", "profile", "auth", "session", "cart", "pricing", "promo", "reviews", "ratings", "media",
           "thumbnail", "notify", "email", "sms", "push", "audit", "reporting", "export", "import", "sync",
           "gateway", "graphql", "webhook", "scheduler", "quota", "feature", "config", "geo", "tax", "fraud",
           "risk", "refund", "invoice", "subscription", "loyalty", "wishlist", "recommend", "analytics",
           "tracking", "events", "stream", "ingest", "indexer", "crawler", "sitemap", "seo", "cms", "assets",
           "upload", "document", "signature", "kyc", "partner", "vendor", "warehouse", "fleet", "routing")
TEAMS = ("storefront", "payments", "platform", "growth", "data", "identity", "logistics", "fulfilment",
         "marketing", "support", "risk", "core")
UNITS = {"m": 1e-3, "": 1.0, "Ki": 1024.0, "Mi": 1024.0**2, "Gi": 1024.0**3}


def quantity(text: str) -> float:
    match = re.fullmatch(r"(\d+)(m|Ki|Mi|Gi|)", text)
    return float(match.group(1)) * UNITS[match.group(2)]


# --------------------------------------------------------------------------- one application's objects

@dataclass
class App:
    """One Deployment and what it needs to be written: its pods and their plans."""

    name: str
    profile: Profile
    replicas: int
    labels: dict
    uid: str
    created: float
    version: str
    template_hash: str
    revision: int
    sidecar: dict | None
    service: bool = True
    healthy: bool = True
    rolled_at: float | None = None  # a rolling update within the last hour (events, ghost pods)
    pods: list[dict] = field(default_factory=list)
    deployment: dict | None = None
    replicaset: dict | None = None


class NamespaceWriter:
    """Builds one namespace's objects, logs and events, then writes them."""

    def __init__(self, gen: "Generator", name: str, seed: int):
        self.gen = gen
        self.name = name
        self.rng = random.Random(f"{seed}/{name}")
        self.items: dict[str, list] = {plural: [] for plural in NAMESPACED_FILES}
        self.logs: dict[str, tuple[dict[str, str], dict[str, str] | None]] = {}
        self.required_events: list[dict] = []
        self.optional_events: list[dict] = []
        self.apps: list[App] = []
        self.used_names: set[str] = set()
        self.serial = 0
        self.expected: dict[str, int] = {}
        self.policy_names: set[str] = set()

    # -- identifiers ---------------------------------------------------------------------
    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def suffix(self, length: int) -> str:
        return "".join(self.rng.choices(NAME_ALPHABET, k=length))

    def resource_version(self) -> str:
        self.serial += 1
        return str(48_100_000 + self.serial * 7 + self.rng.randrange(7))

    def app_name(self, profile: Profile) -> str:
        for _ in range(50):
            name = f"{self.rng.choice(DOMAINS)}-{profile.role}"
            if name not in self.used_names:
                self.used_names.add(name)
                return name
        index = 2
        while f"{name}-{index}" in self.used_names:
            index += 1
        self.used_names.add(f"{name}-{index}")
        return f"{name}-{index}"

    def expect(self, rule: str, count: int = 1) -> None:
        self.expected[rule] = self.expected.get(rule, 0) + count

    # -- deployments -----------------------------------------------------------------------
    def new_app(self, profile: Profile | None = None, replicas: int | None = None, healthy: bool = True,
                service: bool | None = None, revision: int | None = None) -> App:
        rng = self.rng
        profile = profile or rng.choices(PROFILES, weights=(30, 15, 25, 15, 10, 5))[0]
        name = self.app_name(profile)
        replicas = replicas if replicas is not None else rng.choices((1, 2, 3, 4, 5), weights=(15, 35, 30, 10, 10))[0]
        sidecar = SIDECARS[profile.sidecar] if profile.sidecar else (
            SIDECARS["log-shipper"] if profile.role == "api" and rng.random() < 0.25 else None)
        labels = {"app": name, "app.kubernetes.io/name": name, "app.kubernetes.io/part-of": self.name,
                  "team": rng.choice(TEAMS)}
        created = CAPTURED - rng.uniform(2 * 86400, 120 * 86400)
        revision = revision or rng.randint(1, 4)
        app = App(name, profile, replicas, labels, self.uid(), created,
                  f"1.{rng.randint(0, 40)}.{rng.randint(0, 12)}", self.suffix(10), revision, sidecar,
                  service=profile.has_http or profile.role == "cache" if service is None else service,
                  healthy=healthy)
        self.apps.append(app)
        return app

    def container_spec(self, app: App, version: str | None = None) -> list[dict]:
        profile = app.profile
        image = profile.image.format(app=app.name)
        if "{app}" in profile.image:
            image += f":{version or app.version}"
        container = {
            "name": profile.container, "image": image,
            "ports": [{"name": n, "containerPort": p, "protocol": "TCP"} for n, p in profile.ports],
            "env": [{"name": "SERVICE_NAME", "value": app.name}, {"name": "LOG_LEVEL", "value": "info"},
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                                    "fieldPath": "metadata.name"}}}],
            "resources": {"limits": {"cpu": profile.limits[0], "memory": profile.limits[1]},
                          "requests": {"cpu": profile.requests[0], "memory": profile.requests[1]}},
        }
        for key, probe in (("livenessProbe", profile.liveness), ("readinessProbe", profile.readiness)):
            if probe is None:
                continue
            path, port = probe
            action = {"tcpSocket": {"port": port}} if path == "" else {
                "httpGet": {"path": path, "port": port, "scheme": "HTTP"}}
            container[key] = {**action, "timeoutSeconds": 1, "periodSeconds": 10 if key == "readinessProbe" else 20,
                              "successThreshold": 1, "failureThreshold": 3}
        container.update({"terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                          "imagePullPolicy": "IfNotPresent"})
        containers = [container]
        if app.sidecar:
            containers.append({**app.sidecar, "terminationMessagePath": "/dev/termination-log",
                               "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"})
        return containers

    def template(self, app: App, containers: list[dict], template_hash: str | None = None) -> dict:
        labels = dict(app.labels)
        if template_hash:
            labels["pod-template-hash"] = template_hash
        return {"metadata": {"labels": labels, "annotations": {"prometheus.io/scrape": "true"}},
                "spec": {"containers": containers, "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
                         "dnsPolicy": "ClusterFirst", "serviceAccountName": app.name, "serviceAccount": app.name,
                         "securityContext": {}, "schedulerName": "default-scheduler"}}

    def deployment(self, app: App, containers: list[dict], status: dict) -> dict:
        obj = {
            "metadata": {"name": app.name, "namespace": self.name, "uid": app.uid,
                         "resourceVersion": self.resource_version(), "generation": app.revision,
                         "creationTimestamp": iso(app.created), "labels": dict(app.labels),
                         "annotations": {"deployment.kubernetes.io/revision": str(app.revision)}},
            "spec": {"replicas": app.replicas, "selector": {"matchLabels": {"app": app.name}},
                     "template": self.template(app, containers),
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%",
                                                                             "maxSurge": "25%"}},
                     "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600},
            "status": status,
        }
        self.items["deployments"].append(obj)
        app.deployment = obj
        return obj

    def replicaset(self, app: App, template_hash: str, revision: int, containers: list[dict], replicas: int,
                   ready: int, created: float) -> dict:
        name = f"{app.name}-{template_hash}"
        labels = dict(app.labels, **{"pod-template-hash": template_hash})
        status: dict = {"replicas": replicas}
        if replicas:
            status.update({"fullyLabeledReplicas": replicas, "readyReplicas": ready, "availableReplicas": ready})
        status["observedGeneration"] = 2 if replicas == 0 else 1
        obj = {
            "metadata": {"name": name, "namespace": self.name, "uid": self.uid(),
                         "resourceVersion": self.resource_version(), "generation": status["observedGeneration"],
                         "creationTimestamp": iso(created), "labels": labels,
                         "annotations": {"deployment.kubernetes.io/desired-replicas": str(app.replicas),
                                         "deployment.kubernetes.io/max-replicas": str(app.replicas + 1),
                                         "deployment.kubernetes.io/revision": str(revision)},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": app.name,
                                              "uid": app.uid, "controller": True, "blockOwnerDeletion": True}]},
            "spec": {"replicas": replicas,
                     "selector": {"matchLabels": {"app": app.name, "pod-template-hash": template_hash}},
                     "template": self.template(app, containers, template_hash)},
            "status": status,
        }
        self.items["replicasets"].append(obj)
        return obj

    def old_replicasets(self, app: App, count: int) -> None:
        """Earlier revisions, scaled to 0 and kept (revisionHistoryLimit)."""
        for index in range(count):
            revision = app.revision - count + index
            if revision < 1:
                continue
            version = f"1.{max(0, int(app.version.split('.')[1]) - (count - index))}.{index}"
            created = app.created + (app.revision - count + index) * 3600 * 24 * 0.5
            self.replicaset(app, self.suffix(10), revision, self.container_spec(app, version), 0, 0, created)

    @staticmethod
    def complete_status(app: App, ready: int, updated: int | None = None, total: int | None = None,
                        progressing: dict | None = None) -> dict:
        updated = app.replicas if updated is None else updated
        total = app.replicas if total is None else total
        available = {"type": "Available", "status": "True" if ready >= app.replicas - app.replicas // 4 else "False",
                     "lastUpdateTime": iso(CAPTURED - 900), "lastTransitionTime": iso(CAPTURED - 900),
                     "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."}
        if available["status"] == "False":
            available.update(reason="MinimumReplicasUnavailable", message="Deployment does not have minimum availability.")
        progressing = progressing or {
            "type": "Progressing", "status": "True", "lastUpdateTime": iso(app.created + 60),
            "lastTransitionTime": iso(app.created), "reason": "NewReplicaSetAvailable",
            "message": f'ReplicaSet "{app.name}-{app.template_hash}" has successfully progressed.'}
        status = {"observedGeneration": app.revision, "replicas": total, "updatedReplicas": updated,
                  "readyReplicas": ready, "availableReplicas": ready}
        if total - ready:
            status["unavailableReplicas"] = total - ready
        status["conditions"] = [available, progressing]
        return {k: v for k, v in status.items() if v != 0 or k in ("replicas", "observedGeneration")}

    # -- pods ----------------------------------------------------------------------------------
    def pod(self, app: App, rs: dict, containers: list[dict], created: float, statuses: list[dict] | None,
            phase: str = "Running", scheduled: bool = True, unschedulable: str | None = None) -> dict:
        """A pod of ``rs``; ``statuses`` None means all containers running and ready."""
        rs_meta = rs["metadata"]
        template_hash = rs_meta["labels"]["pod-template-hash"]
        name = f"{rs_meta['name']}-{self.suffix(5)}"
        uid = self.uid()
        node, ip = self.gen.place() if scheduled else (None, None)
        token = f"kube-api-access-{self.suffix(5)}"
        mount = {"name": token, "readOnly": True, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
        spec_containers = [dict(c, volumeMounts=[mount]) for c in containers]
        spec = {
            "volumes": [{"name": token, "projected": {"sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1",
                                                                              "fieldPath": "metadata.namespace"}}]}}],
                "defaultMode": 420}}],
            "containers": spec_containers, "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst", "serviceAccountName": app.name, "serviceAccount": app.name,
        }
        if node:
            spec["nodeName"] = node
        spec.update({"securityContext": {}, "schedulerName": "default-scheduler", "tolerations": [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300}], "priority": 0, "enableServiceLinks": True,
            "preemptionPolicy": "PreemptLowerPriority"})
        if statuses is None and scheduled:
            statuses = [self.running(c, created + self.rng.uniform(3, 12)) for c in containers]
        ready = bool(statuses) and all(s["ready"] for s in statuses)
        started = created + 1
        if scheduled:
            not_ready = [s["name"] for s in statuses if not s["ready"]]
            ready_since = iso(max((_parse_iso(s["state"]["running"]["startedAt"]) for s in statuses
                                   if "running" in s["state"]), default=started) + 10)
            ready_condition = {"type": "Ready", "status": "True" if ready else "False", "lastProbeTime": None,
                               "lastTransitionTime": ready_since if ready else iso(self._not_ready_since(statuses, created))}
            if not ready:
                ready_condition.update(reason="ContainersNotReady",
                                       message=f"containers with unready status: [{' '.join(not_ready)}]")
            containers_ready = dict(ready_condition, type="ContainersReady")
            conditions = [
                {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": None,
                 "lastTransitionTime": iso(created + 2)},
                {"type": "Initialized", "status": "True", "lastProbeTime": None, "lastTransitionTime": iso(created)},
                ready_condition, containers_ready,
                {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": iso(created)}]
            host_ip = self.gen.node_ip(node)
            status = {"phase": phase, "conditions": conditions, "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
                      "podIP": ip, "podIPs": [{"ip": ip}], "startTime": iso(created), "containerStatuses": statuses,
                      "qosClass": "Burstable"}
        else:
            status = {"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                 "lastTransitionTime": iso(created), "reason": "Unschedulable", "message": unschedulable}],
                "qosClass": "Burstable"}
        obj = {
            "metadata": {"name": name, "generateName": f"{rs_meta['name']}-", "namespace": self.name, "uid": uid,
                         "resourceVersion": self.resource_version(), "creationTimestamp": iso(created),
                         "labels": dict(app.labels, **{"pod-template-hash": template_hash}),
                         "annotations": {"prometheus.io/scrape": "true"},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs_meta["name"],
                                              "uid": rs_meta["uid"], "controller": True, "blockOwnerDeletion": True}]},
            "spec": spec, "status": status,
        }
        self.items["pods"].append(obj)
        app.pods.append(obj)
        return obj

    @staticmethod
    def _not_ready_since(statuses: list[dict], created: float) -> float:
        moments = [s.get("_not_ready_since") for s in statuses if s.get("_not_ready_since")]
        for s in statuses:
            s.pop("_not_ready_since", None)
        return min(moments) if moments else created + 2

    def _status_base(self, container: dict, restarts: int) -> dict:
        image = container["image"]
        repository = image.rsplit(":", 1)[0]
        if "." not in repository.split("/")[0]:
            repository = "docker.io/" + (repository if "/" in repository else f"library/{repository}")
        return {"name": container["name"], "ready": False, "restartCount": restarts,
                "image": image if "." in image.split("/")[0] else repository + ":" + image.rsplit(":", 1)[1],
                "imageID": f"{repository}@sha256:{self.rng.getrandbits(256):064x}",
                "containerID": f"containerd://{self.rng.getrandbits(256):064x}", "started": False}

    def running(self, container: dict, started: float, ready: bool = True, restarts: int = 0,
                last: dict | None = None, not_ready_since: float | None = None) -> dict:
        status = self._status_base(container, restarts)
        status.update(state={"running": {"startedAt": iso(started)}}, lastState=last or {}, ready=ready, started=True)
        if not ready:
            status["_not_ready_since"] = not_ready_since or started
        return _ordered_status(status)

    def waiting(self, container: dict, reason: str, message: str, restarts: int = 0, last: dict | None = None) -> dict:
        status = self._status_base(container, restarts)
        status.update(state={"waiting": {"reason": reason, "message": message}}, lastState=last or {})
        if not last:  # never started: no container or image id yet
            status["imageID"] = ""
            del status["containerID"]
        return _ordered_status(status)

    def terminated(self, exit_code: int, reason: str, started: float, finished: float) -> dict:
        return {"terminated": {"exitCode": exit_code, "reason": reason, "startedAt": iso(started),
                               "finishedAt": iso(finished),
                               "containerID": f"containerd://{self.rng.getrandbits(256):064x}"}}

    # -- events ----------------------------------------------------------------------------------
    def event(self, obj: dict, reason: str, message: str, first: float, last: float | None = None, count: int = 1,
              warning: bool = False, container: str | None = None, component: str = "kubelet",
              required: bool = False) -> dict:
        """A core/v1 event, as the kubelet and the controllers write it."""
        meta = obj["metadata"]
        kind = "Pod" if "containers" in obj.get("spec", {}) else (
            "ReplicaSet" if "pod-template-hash" in meta.get("labels", {}) else "Deployment")
        involved = {"kind": kind, "namespace": self.name, "name": meta["name"], "uid": meta["uid"],
                    "apiVersion": "v1" if kind == "Pod" else "apps/v1", "resourceVersion": meta["resourceVersion"]}
        if container:
            involved["fieldPath"] = f"spec.containers{{{container}}}"
        node = obj.get("spec", {}).get("nodeName")
        source = {"component": component, "host": node} if component == "kubelet" and node else {"component": component}
        last = first if last is None else last
        event = {"metadata": self._event_meta(meta["name"], first, last), "involvedObject": involved,
                 "reason": reason, "message": message, "source": source, "firstTimestamp": iso(first),
                 "lastTimestamp": iso(last), "count": count, "type": "Warning" if warning else "Normal",
                 "eventTime": None, "reportingComponent": component,
                 "reportingInstance": node if component == "kubelet" and node else ""}
        (self.required_events if required else self.optional_events).append(event)
        return event

    def scheduler_event(self, pod: dict, reason: str, message: str, first: float, last: float | None = None,
                        count: int = 1, required: bool = False) -> dict:
        """An events.k8s.io event (the scheduler's), read through the core/v1 API: eventTime and series."""
        meta = pod["metadata"]
        event = {"metadata": self._event_meta(meta["name"], first, last or first),
                 "involvedObject": {"kind": "Pod", "namespace": self.name, "name": meta["name"], "uid": meta["uid"],
                                    "apiVersion": "v1", "resourceVersion": meta["resourceVersion"]},
                 "reason": reason, "message": message, "source": {}, "firstTimestamp": None, "lastTimestamp": None,
                 "type": "Warning" if reason == "FailedScheduling" else "Normal", "eventTime": iso_micro(first)}
        if count > 1:
            event["series"] = {"count": count, "lastObservedTime": iso_micro(last or first)}
        event.update(action="Scheduling" if reason == "FailedScheduling" else "Binding",
                     reportingComponent="default-scheduler", reportingInstance=SCHEDULER_INSTANCE)
        (self.required_events if required else self.optional_events).append(event)
        return event

    def _event_meta(self, involved: str, first: float, last: float) -> dict:
        self.serial += 1
        return {"name": f"{involved}.{int(first * 1e9) + self.serial:x}", "namespace": self.name, "uid": self.uid(),
                "resourceVersion": self.resource_version(), "creationTimestamp": iso(last)}

    def lifecycle_events(self, pod: dict, created: float, pulled: bool) -> None:
        """Scheduled, Pulling/Pulled, Created, Started: what a pod started within the hour shows."""
        node = pod["spec"].get("nodeName")
        self.scheduler_event(pod, "Scheduled", f"Successfully assigned {self.name}/{pod['metadata']['name']} to {node}",
                             created + 0.03)
        for container in pod["spec"]["containers"]:
            at = created + self.rng.uniform(1, 3)
            image = container["image"]
            if pulled:
                seconds = self.rng.uniform(0.8, 9)
                self.event(pod, "Pulling", f'Pulling image "{image}"', at, container=container["name"])
                self.event(pod, "Pulled", f'Successfully pulled image "{image}" in {seconds:.3f}s ({seconds:.3f}s '
                           f'including waiting). Image size: {self.rng.randint(20, 400) * 1048576 + self.rng.randint(0, 999999)} bytes.',
                           at + seconds, container=container["name"])
                at += seconds
            else:
                self.event(pod, "Pulled", f'Container image "{image}" already present on machine', at,
                           container=container["name"])
            self.event(pod, "Created", f"Created container {container['name']}", at + 0.1, container=container["name"])
            self.event(pod, "Started", f"Started container {container['name']}", at + 0.4, container=container["name"])

    # -- logs --------------------------------------------------------------------------------------
    def app_log(self, app: App, pod: dict, container: str, style: str, lines: int, until: float) -> str:
        rng = self.rng
        out = []
        t = until - lines * rng.uniform(0.5, 30)
        paths = ("/api/v1/items", "/api/v1/orders", "/healthz", "/ready", "/metrics", "/api/v1/users/me", "/")
        for _ in range(lines):
            t += rng.expovariate(1 / 15)
            path = rng.choice(paths)
            status = rng.choices((200, 200, 200, 201, 204, 404, 500), weights=(60, 10, 10, 5, 5, 3, 1))[0]
            ms = rng.uniform(0.4, 180)
            if style == "python":
                out.append(f'{log_stamp(t)} INFO uvicorn.access: 10.{rng.randint(64, 90)}.{rng.randint(0, 255)}.'
                           f'{rng.randint(2, 250)}:{rng.randint(30000, 60000)} - "GET {path} HTTP/1.1" {status}')
            elif style == "java":
                out.append(f"{log_stamp(t).replace(',', '.')}  INFO 1 --- [nio-8080-exec-{rng.randint(1, 10)}] "
                           f"c.a.{app.name.split('-')[0]}.web.RequestLogger : GET {path} -> {status} in {ms:.0f}ms")
            elif style == "go":
                out.append(f'{{"level":"info","ts":"{iso_micro(t)}","caller":"server/http.go:{rng.randint(80, 140)}",'
                           f'"msg":"request","method":"GET","path":"{path}","status":{status},"duration_ms":{ms:.2f}}}')
            elif style == "node":
                out.append(f'{{"level":30,"time":{int(t * 1000)},"pid":1,"hostname":"{pod["metadata"]["name"]}",'
                           f'"req":{{"method":"GET","url":"{path}"}},"res":{{"statusCode":{status}}},'
                           f'"responseTime":{ms:.0f},"msg":"request completed"}}')
            else:
                out.append(f"1:M {time.strftime('%d %b %Y %H:%M:%S', time.gmtime(int(t)))}.{rng.randint(0, 999):03d} "
                           f"* {rng.randint(1, 100)} changes in 300 seconds. Saving...")
        return "\n".join(out)

    def write_logs(self, pod: dict, current: dict[str, str], previous: dict[str, str] | None = None) -> None:
        self.logs[pod["metadata"]["name"]] = (current, previous)

    def healthy_logs(self, app: App, pod: dict) -> None:
        lines = min(2000, int(self.rng.lognormvariate(3.4, 1.0)))
        if self.gen.take_big_log():
            lines = self.rng.randint(9000, 30000)  # a chatty pod: megabytes of access log
        texts = {app.profile.container: self.app_log(app, pod, app.profile.container, app.profile.log_style, lines,
                                                     CAPTURED - 2)}
        for container in pod["spec"]["containers"][1:]:
            texts[container["name"]] = "\n".join(
                f"[{time.strftime('%Y/%m/%d %H:%M:%S', time.gmtime(int(CAPTURED - 60 * i)))}] [ info] "
                f"[{container['name']}] flushed {self.rng.randint(1, 400)} records" for i in range(20, 0, -1))
        self.write_logs(pod, texts)

    # -- the rest of the namespace ------------------------------------------------------------------
    def service(self, app: App, ports: list[dict] | None = None, selector: dict | None = None) -> dict:
        if ports is None:
            ports = [{"name": name, "protocol": "TCP", "port": 80 if name == "http" else number, "targetPort": name}
                     for name, number in app.profile.ports if name in ("http", "grpc", "metrics", "redis")]
            if app.sidecar and app.sidecar["name"] == "redis-exporter":
                ports.append({"name": "metrics", "protocol": "TCP", "port": 9121, "targetPort": "metrics"})
        cluster_ip = self.gen.cluster_ip()
        obj = {"metadata": {"name": app.name, "namespace": self.name, "uid": self.uid(),
                            "resourceVersion": self.resource_version(), "creationTimestamp": iso(app.created),
                            "labels": {key: value for key, value in app.labels.items() if key in ("app", "k8s-app", "team")}},
               "spec": {"ports": ports, "selector": selector or {"app": app.name}, "clusterIP": cluster_ip,
                        "clusterIPs": [cluster_ip], "type": "ClusterIP", "sessionAffinity": "None",
                        "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster"},
               "status": {"loadBalancer": {}}}
        self.items["services"].append(obj)
        selected = obj["spec"]["selector"]
        self.endpoints(obj, [pod for pod in app.pods
                             if all(pod["metadata"]["labels"].get(k) == v for k, v in selected.items())])
        return obj

    def endpoints(self, service: dict, pods: list[dict]) -> None:
        """What the endpoints controller writes: ready and not-ready addresses, named ports resolved."""
        ready, not_ready, ports = [], [], {}
        for pod in pods:
            if "podIP" not in pod["status"]:
                continue
            declared = {p["name"]: p["containerPort"] for c in pod["spec"]["containers"] for p in c.get("ports", [])}
            resolved = []
            for port in service["spec"]["ports"]:
                target = port["targetPort"]
                number = target if isinstance(target, int) else declared.get(target)
                if number is None:
                    break  # a named port the pod lacks: the controller skips the pod
                resolved.append((port["name"], number))
            else:
                ports.update(resolved)
                address = {"ip": pod["status"]["podIP"], "nodeName": pod["spec"]["nodeName"],
                           "targetRef": {"kind": "Pod", "namespace": self.name, "name": pod["metadata"]["name"],
                                         "uid": pod["metadata"]["uid"]}}
                (ready if pod["status"]["conditions"][2]["status"] == "True" else not_ready).append(address)
        meta = service["metadata"]
        obj = {"metadata": {"name": meta["name"], "namespace": self.name, "uid": self.uid(),
                            "resourceVersion": self.resource_version(), "creationTimestamp": meta["creationTimestamp"],
                            "labels": dict(meta["labels"])}}
        if ready or not_ready:
            subset: dict = {}
            if ready:
                subset["addresses"] = ready
            if not_ready:
                subset["notReadyAddresses"] = not_ready
            subset["ports"] = [{"name": name, "port": number, "protocol": "TCP"} for name, number in ports.items()]
            obj["subsets"] = [subset]
        self.items["endpoints"].append(obj)

    def metrics(self, pod: dict, memory_share: tuple[float, float] = (0.2, 0.7), hot: str | None = None) -> None:
        """metrics.k8s.io usage of a running pod; ``hot`` names the container to put at 91-97% of its memory limit."""
        containers = []
        for container in pod["spec"]["containers"]:
            status = next(s for s in pod["status"].get("containerStatuses", []) if s["name"] == container["name"])
            if "running" not in status["state"]:
                continue
            limits = container["resources"]["limits"]
            share = self.rng.uniform(0.91, 0.97) if container["name"] == hot else self.rng.uniform(*memory_share)
            memory = int(quantity(limits["memory"]) * share / 1024)
            cpu = int(quantity(limits["cpu"]) * self.rng.uniform(0.005, 0.4) * 1e9)
            containers.append({"name": container["name"], "usage": {"cpu": f"{cpu}n", "memory": f"{memory}Ki"}})
        if not containers:
            return
        meta = pod["metadata"]
        self.items["podmetrics"].append({
            "metadata": {"name": meta["name"], "namespace": self.name, "creationTimestamp": iso(CAPTURED),
                         "labels": dict(meta["labels"])},
            "timestamp": iso(CAPTURED - self.rng.randint(5, 25)), "window": f"{self.rng.uniform(14.5, 15.5):.3f}s",
            "containers": containers})

    def policy(self, name: str, spec: dict, labels: dict | None = None) -> None:
        self.policy_names.add(name)
        self.items["networkpolicies"].append({
            "metadata": {"name": name, "namespace": self.name, "uid": self.uid(),
                         "resourceVersion": self.resource_version(), "generation": 1,
                         "creationTimestamp": iso(CAPTURED - self.rng.uniform(86400, 60 * 86400)),
                         "labels": labels or {"app.kubernetes.io/part-of": self.name}},
            "spec": spec})

    # -- writing ----------------------------------------------------------------------------------
    def write(self, root: Path, event_budget: int) -> int:
        directory = root / self.name
        directory.mkdir(parents=True)
        optional = self.optional_events[:max(0, event_budget - len(self.required_events))]
        # The API server lists objects by key, i.e. by name.
        self.items["events"] = sorted(self.required_events + optional, key=lambda e: e["metadata"]["name"])
        for plural in NAMESPACED_FILES:
            info = BY_PLURAL[plural]
            document = {"kind": f"{info.kind}List", "apiVersion": info.api_version,
                        "metadata": {} if plural == "podmetrics" else {"resourceVersion": str(48_540_000)},
                        "items": self.items[plural]}
            (directory / f"{plural}.json").write_bytes(to_json(document))
        for pod_name, (current, previous) in sorted(self.logs.items()):
            pod_dir = directory / pod_name
            pod_dir.mkdir()
            (pod_dir / "logs.txt").write_text(render_log_file(self.name, pod_name, current), encoding="utf-8")
            if previous:
                (pod_dir / "logs.previous.txt").write_text(render_log_file(self.name, pod_name, previous),
                                                            encoding="utf-8")
        return len(self.items["events"])


def _ordered_status(status: dict) -> dict:
    order = ("name", "state", "lastState", "ready", "restartCount", "image", "imageID", "containerID", "started",
             "_not_ready_since")
    return {key: status[key] for key in order if key in status}


# --------------------------------------------------------------------------- healthy applications

def healthy_app(ns: NamespaceWriter, replicas: int, rolled: bool) -> App:
    """A Deployment that works: complete rollout, every pod ready, a Service with endpoints."""
    app = ns.new_app(replicas=replicas)
    rng = ns.rng
    containers = ns.container_spec(app)
    if rolled:  # a rolling update within the hour: new pods and their events, the old pods gone
        app.rolled_at = CAPTURED - rng.uniform(300, 3300)
    ns.old_replicasets(app, min(app.revision - 1, 3))
    rs_created = app.rolled_at or CAPTURED - rng.uniform(3600, 40 * 86400)
    rs = app.replicaset = ns.replicaset(app, app.template_hash, app.revision, containers, app.replicas,
                                        app.replicas, rs_created)
    for index in range(app.replicas):
        created = rs_created + (index * rng.uniform(5, 40) if app.rolled_at else rng.uniform(0, 3000))
        pod = ns.pod(app, rs, containers, created, None)
        ns.metrics(pod)
        ns.healthy_logs(app, pod)
        if app.rolled_at:
            ns.lifecycle_events(pod, created, pulled=index == 0)
            ns.event(rs, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}", created,
                     component="replicaset-controller")
            if rng.random() < 0.4:
                slow_start(ns, pod)
    ns.deployment(app, containers, ns.complete_status(app, app.replicas))
    if app.service:
        ns.service(app)
    if app.rolled_at:
        rollout_churn(ns, app, app.rolled_at)
    return app


def slow_start(ns: NamespaceWriter, pod: dict) -> None:
    """The readiness probe was refused a few times before the app listened; the pod is Ready since."""
    container = pod["spec"]["containers"][0]
    probe = container.get("readinessProbe", {}).get("httpGet")
    if not probe:
        return
    ip = pod["status"]["podIP"]
    port = next(p["containerPort"] for p in container["ports"] if p["name"] == probe["port"])
    started = _parse_iso(pod["status"]["containerStatuses"][0]["state"]["running"]["startedAt"])
    count = ns.rng.randint(2, 4)
    first, last = started + 1, started + 1 + 10 * (count - 1)
    ns.event(pod, "Unhealthy", f'Readiness probe failed: Get "http://{ip}:{port}{probe["path"]}": dial tcp '
             f'{ip}:{port}: connect: connection refused', first, last, count=count, warning=True,
             container=container["name"])
    for condition in pod["status"]["conditions"][2:4]:  # Ready, ContainersReady
        condition["lastTransitionTime"] = iso(last + 10)


def rollout_churn(ns: NamespaceWriter, app: App, at: float) -> None:
    """The events a finished rolling update leaves behind: old pods killed, ReplicaSets scaled."""
    old = f"{app.name}-{ns.suffix(10)}"
    old_rs = _ghost_replicaset(ns, old)
    for step in range(app.replicas):
        moment = at + step * ns.rng.uniform(5, 40)
        ns.event(app.deployment, "ScalingReplicaSet", f"Scaled up replica set {app.replicaset['metadata']['name']} "
                 f"to {step + 1} from {step}", moment, component="deployment-controller")
        ns.event(app.deployment, "ScalingReplicaSet", f"Scaled down replica set {old} to {app.replicas - step - 1} "
                 f"from {app.replicas - step}", moment + 20, component="deployment-controller")
        ghost = _ghost_pod(ns, old)
        ns.event(old_rs, "SuccessfulDelete", f"Deleted pod: {ghost['metadata']['name']}", moment + 20,
                 component="replicaset-controller")
        for container in app.deployment["spec"]["template"]["spec"]["containers"]:
            ns.event(ghost, "Killing", f"Stopping container {container['name']}", moment + 21,
                     container=container["name"])


def replaced_pod(ns: NamespaceWriter, app: App, at: float) -> None:
    """A pod of the current ReplicaSet that was evicted and replaced within the hour (it is gone now)."""
    ghost = _ghost_pod(ns, app.replicaset["metadata"]["name"])
    ns.event(app.replicaset, "SuccessfulCreate", f"Created pod: {ghost['metadata']['name']}", at,
             component="replicaset-controller")
    ns.lifecycle_events(ghost, at, pulled=False)
    ns.event(ghost, "Killing", f"Stopping container {ghost['spec']['containers'][0]['name']}", at + 900,
             container=ghost["spec"]["containers"][0]["name"])


def _ghost_pod(ns: NamespaceWriter, replicaset: str) -> dict:
    node = ns.gen.nodes[ns.rng.randrange(ns.gen.node_count)]
    return {"metadata": {"name": f"{replicaset}-{ns.suffix(5)}", "uid": ns.uid(),
                         "resourceVersion": ns.resource_version(), "labels": {}},
            "spec": {"containers": [{"name": "app", "image": "ghcr.io/acme/app"}], "nodeName": node}}


def _ghost_replicaset(ns: NamespaceWriter, name: str) -> dict:
    return {"metadata": {"name": name, "uid": ns.uid(), "resourceVersion": ns.resource_version(),
                         "labels": {"pod-template-hash": name.rsplit("-", 1)[1]}}, "spec": {}}


def _parse_iso(text: str) -> float:
    return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")))


# --------------------------------------------------------------------------- failing workloads

PYTHON_CRASHES = (
    ("config.py", 31, "__init__", 'self.database_url = os.environ["DATABASE_URL"]', "KeyError: 'DATABASE_URL'"),
    ("telemetry.py", 187, "<module>", 'logger.info("Rate limiting enabled")',
     "RuntimeError: Observability not initialized. Call init_observability() first."),
    ("db.py", 54, "connect", "return psycopg.connect(self.dsn, connect_timeout=5)",
     'psycopg.OperationalError: connection failed: connection to server at "10.90.0.12", port 5432 failed: '
     "Connection refused"),
)


def python_traceback(package: str, crash: tuple) -> list[str]:
    file, line, function, code, error = crash
    return ["Traceback (most recent call last):",
            '  File "/usr/local/bin/uvicorn", line 8, in <module>', "    sys.exit(main())",
            '  File "/usr/local/lib/python3.11/site-packages/uvicorn/main.py", line 410, in main',
            "    run(app, **kwargs)",
            '  File "/usr/local/lib/python3.11/site-packages/uvicorn/importer.py", line 19, in import_from_string',
            "    module = importlib.import_module(module_str)",
            f'  File "/app/src/{package}/main.py", line 12, in <module>', f"    from {package} import {file[:-3]}",
            f'  File "/app/src/{package}/{file}", line {line}, in {function}', f"    {code}", error]


def crashloop(ns: NamespaceWriter, big_log: bool) -> None:
    """Crashes at start with a traceback: CrashLoopBackOff on every pod (rolled out long ago)."""
    rng = ns.rng
    app = ns.new_app(PROFILES[0], replicas=rng.randint(2, 3), healthy=False, service=False)
    containers = ns.container_spec(app)
    ns.old_replicasets(app, 1)
    rs = ns.replicaset(app, app.template_hash, app.revision, containers, app.replicas, 0, CAPTURED - 86400 * 2)
    crash = rng.choice(PYTHON_CRASHES)
    package = app.name.replace("-", "_")
    for _ in range(app.replicas):
        created = CAPTURED - rng.uniform(1800, 7200)
        restarts = rng.randint(6, 14)
        finished = CAPTURED - rng.uniform(20, 200)
        main = containers[0]
        status = ns.waiting(main, "CrashLoopBackOff", "back-off 5m0s restarting failed container={} pod={}",
                            restarts, ns.terminated(1, "Error", finished - rng.uniform(2, 5), finished))
        statuses = [status] + [ns.running(c, created + 5) for c in containers[1:]]
        pod = ns.pod(app, rs, containers, created, statuses)
        name = pod["metadata"]["name"]
        status["state"]["waiting"]["message"] = (f"back-off 5m0s restarting failed container={main['name']} "
                                                 f"pod={name}_{ns.name}({pod['metadata']['uid']})")
        lines = ["INFO:     Started server process [1]", "INFO:     Waiting for application startup."]
        if big_log:  # megabytes of chatter before the crash: only the tail is kept
            big_log = False
            lines = ns.app_log(app, pod, main["name"], "python", 25000, finished - 10).split("\n") + lines
        text = "\n".join(lines + python_traceback(package, crash))
        ns.write_logs(pod, {main["name"]: text}, {main["name"]: text})
        ns.event(pod, "BackOff", f"Back-off restarting failed container {main['name']} in pod "
                 f"{name}_{ns.name}({pod['metadata']['uid']})", created + 60, CAPTURED - rng.uniform(5, 60),
                 count=restarts * 9, warning=True, container=main["name"], required=True)
        ns.event(pod, "Pulled", f'Container image "{main["image"]}" already present on machine', created + 2,
                 finished - 4, count=restarts + 1, container=main["name"])
    ns.deployment(app, containers, ns.complete_status(app, 0))
    ns.expect("crashloop")


def oom_killed(ns: NamespaceWriter) -> None:
    """Killed for its memory limit a few times, running again now."""
    rng = ns.rng
    app = ns.new_app(PROFILES[3], replicas=2, healthy=False, service=False)
    containers = ns.container_spec(app)
    rs = ns.replicaset(app, app.template_hash, app.revision, containers, 2, 2, CAPTURED - 86400)
    for _ in range(2):
        created = CAPTURED - rng.uniform(7200, 20000)
        finished = CAPTURED - rng.uniform(600, 1800)
        last = ns.terminated(137, "OOMKilled", finished - rng.uniform(600, 1500), finished)
        statuses = [ns.running(containers[0], finished + 1, restarts=rng.randint(2, 4), last=last)]
        pod = ns.pod(app, rs, containers, created, statuses)
        ns.metrics(pod, (0.5, 0.8))
        ns.healthy_logs(app, pod)
    ns.deployment(app, containers, ns.complete_status(app, 2))
    ns.expect("oom-killed")


def stuck_rollout(ns: NamespaceWriter, reason: str) -> None:
    """A new revision whose pod cannot start (image pull or config error); the old pods keep serving."""
    rng = ns.rng
    app = ns.new_app(PROFILES[2], replicas=3, healthy=False, service=True)
    started = CAPTURED - rng.uniform(900, 3000)
    old_containers = ns.container_spec(app, f"1.{rng.randint(0, 9)}.0")
    old_rs = ns.replicaset(app, ns.suffix(10), app.revision, old_containers, 3, 3, CAPTURED - 86400 * 5)
    app.revision += 1
    new_version = "2.0.0-rc1" if reason == "image" else app.version
    containers = ns.container_spec(app, new_version)
    if reason == "config":
        containers[0]["envFrom"] = [{"configMapRef": {"name": f"{app.name}-settings"}}]
    new_rs = ns.replicaset(app, app.template_hash, app.revision, containers, 1, 0, started)
    for _ in range(3):
        pod = ns.pod(app, old_rs, old_containers, CAPTURED - rng.uniform(86400, 86400 * 4), None)
        ns.metrics(pod)
        ns.healthy_logs(app, pod)
    main = containers[0]
    if reason == "image":
        status = ns.waiting(main, "ImagePullBackOff", f'Back-off pulling image "{main["image"]}"')
    else:
        status = ns.waiting(main, "CreateContainerConfigError", f'configmap "{app.name}-settings" not found')
    pod = ns.pod(app, new_rs, containers, started + 1, [status], phase="Pending")
    name = pod["metadata"]["name"]
    ns.write_logs(pod, {main["name"]: f'Error from server (BadRequest): container "{main["name"]}" in pod "{name}" '
                        f'is waiting to start: {"trying and failing to pull image" if reason == "image" else "CreateContainerConfigError"}'})
    if reason == "image":
        pull_error = (f'Failed to pull image "{main["image"]}": rpc error: code = NotFound desc = failed to pull and '
                      f'unpack image "{main["image"]}": failed to resolve reference "{main["image"]}": '
                      f'{main["image"]}: not found')
        ns.event(pod, "Pulling", f'Pulling image "{main["image"]}"', started + 2, CAPTURED - 200, count=8,
                 container=main["name"])
        ns.event(pod, "Failed", pull_error, started + 3, CAPTURED - 199, count=8, warning=True,
                 container=main["name"], required=True)
        ns.event(pod, "Failed", "Error: ErrImagePull", started + 3, CAPTURED - 199, count=8, warning=True,
                 container=main["name"], required=True)
        ns.event(pod, "BackOff", f'Back-off pulling image "{main["image"]}"', started + 20, CAPTURED - 10,
                 count=rng.randint(60, 120), warning=True, container=main["name"], required=True)
        ns.expect("image-pull-failure")
        progressing = {"type": "Progressing", "status": "False", "lastUpdateTime": iso(started + 600),
                       "lastTransitionTime": iso(started + 600), "reason": "ProgressDeadlineExceeded",
                       "message": f'ReplicaSet "{new_rs["metadata"]["name"]}" has timed out progressing.'}
    else:
        ns.event(pod, "Failed", f'Error: configmap "{app.name}-settings" not found', started + 3, CAPTURED - 30,
                 count=rng.randint(20, 60), warning=True, container=main["name"], required=True)
        ns.expect("container-config-error")
        progressing = {"type": "Progressing", "status": "True", "lastUpdateTime": iso(started + 1),
                       "lastTransitionTime": iso(started + 1), "reason": "ReplicaSetUpdated",
                       "message": f'ReplicaSet "{new_rs["metadata"]["name"]}" is progressing.'}
    ns.deployment(app, containers, ns.complete_status(app, 3, updated=1, total=4, progressing=progressing))
    ns.service(app)
    ns.expect("rollout-stuck")


def pending(ns: NamespaceWriter) -> None:
    """Scaled up beyond what the nodes can hold: the new pods stay Pending, unschedulable."""
    rng = ns.rng
    app = ns.new_app(PROFILES[3], replicas=4, healthy=False, service=True)
    containers = ns.container_spec(app)
    containers[0]["resources"]["requests"]["memory"] = "14Gi"
    containers[0]["resources"]["limits"]["memory"] = "14Gi"
    rs = ns.replicaset(app, app.template_hash, app.revision, containers, 4, 2, CAPTURED - 86400 * 3)
    for _ in range(2):
        pod = ns.pod(app, rs, containers, CAPTURED - rng.uniform(86400, 86400 * 3), None)
        ns.metrics(pod, (0.01, 0.05))
        ns.healthy_logs(app, pod)
    nodes = ns.gen.node_count
    message = (f"0/{nodes} nodes are available: {nodes} Insufficient memory. preemption: 0/{nodes} nodes are "
               f"available: {nodes} No preemption victims found for incoming pod.")
    for _ in range(2):
        created = CAPTURED - rng.uniform(600, 1800)
        pod = ns.pod(app, rs, containers, created, [], phase="Pending", scheduled=False, unschedulable=message)
        ns.scheduler_event(pod, "FailedScheduling", message, created + 0.01, CAPTURED - rng.uniform(10, 120),
                           count=rng.randint(5, 30), required=True)
    ns.deployment(app, containers, ns.complete_status(app, 2))
    ns.service(app)
    ns.expect("pending-unschedulable")


def probe_failure(ns: NamespaceWriter, kind: str) -> None:
    """One pod of three fails its readiness probe (an HTTP error, a refusal or a timeout); the others serve."""
    rng = ns.rng
    app = ns.new_app(PROFILES[2], replicas=3, healthy=False, service=True)
    containers = ns.container_spec(app)
    rs = ns.replicaset(app, app.template_hash, app.revision, containers, 3, 2, CAPTURED - 86400 * 2)
    first = CAPTURED - rng.uniform(300, 900)
    for index in range(3):
        created = CAPTURED - rng.uniform(86400, 86400 * 2)
        statuses = None
        if index == 0:
            statuses = [ns.running(containers[0], created + 5, ready=False, not_ready_since=first)]
        pod = ns.pod(app, rs, containers, created, statuses)
        ns.metrics(pod)
        ns.healthy_logs(app, pod)
        if index == 0:
            ip = pod["status"]["podIP"]
            detail = {"http": "HTTP probe failed with statuscode: 503",
                      "refused": f'Get "http://{ip}:8080/readyz": dial tcp {ip}:8080: connect: connection refused',
                      "timeout": f'Get "http://{ip}:8080/readyz": context deadline exceeded (Client.Timeout '
                                 f'exceeded while awaiting headers)'}[kind]
            ns.event(pod, "Unhealthy", f"Readiness probe failed: {detail}", first, CAPTURED - rng.uniform(2, 9),
                     count=rng.randint(30, 90), warning=True, container=containers[0]["name"], required=True)
    ns.deployment(app, containers, ns.complete_status(app, 2))
    ns.service(app)
    ns.expect({"http": "probe-http-error", "refused": "probe-connection-refused", "timeout": "probe-timeout"}[kind])


def simple_app(ns: NamespaceWriter, profile: Profile, replicas: int, edit=None, hot: str | None = None,
               old: int = 0, revision: int | None = None) -> App:
    """A running Deployment whose spec ``edit`` changes: the static and metric failure classes."""
    rng = ns.rng
    app = ns.new_app(profile, replicas=replicas, healthy=False, service=False, revision=revision)
    containers = ns.container_spec(app)
    if edit:
        edit(containers)
    ns.old_replicasets(app, old)
    rs = ns.replicaset(app, app.template_hash, app.revision, containers, replicas, replicas, CAPTURED - 86400 * 4)
    for _ in range(replicas):
        pod = ns.pod(app, rs, containers, CAPTURED - rng.uniform(86400, 86400 * 4), None)
        ns.metrics(pod, hot=hot)
        ns.healthy_logs(app, pod)
    ns.deployment(app, containers, ns.complete_status(app, replicas))
    return app


def port_not_served(ns: NamespaceWriter) -> None:
    def edit(containers):  # the port was renamed "http" -> "web" everywhere but in the liveness probe
        containers[0]["livenessProbe"] = {"tcpSocket": {"port": "admin"}, "timeoutSeconds": 1, "periodSeconds": 20,
                                          "successThreshold": 1, "failureThreshold": 3}
    simple_app(ns, PROFILES[1], 2, edit)
    ns.expect("probe-port-not-served")


def resource_pressure(ns: NamespaceWriter) -> None:
    simple_app(ns, PROFILES[0], 2, hot="app")
    ns.expect("resource-pressure")


def duplicate_port(ns: NamespaceWriter) -> None:
    def edit(containers):  # an exporter sidecar reuses the port name "metrics"
        containers.append({"name": "stats-exporter", "image": "prom/statsd-exporter:v0.26.1",
                           "ports": [{"name": "metrics", "containerPort": 9102, "protocol": "TCP"}],
                           "resources": {"limits": {"cpu": "100m", "memory": "64Mi"},
                                         "requests": {"cpu": "10m", "memory": "32Mi"}},
                           "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                           "imagePullPolicy": "IfNotPresent"})
    simple_app(ns, PROFILES[0], 2, edit)
    ns.expect("service-duplicate-port")


def no_endpoints(ns: NamespaceWriter) -> None:
    app = simple_app(ns, PROFILES[2], 2)
    ns.service(app, selector={"app": app.name + "-server"})  # a selector that matches nothing
    ns.expect("service-no-endpoints")


def target_port_missing(ns: NamespaceWriter) -> None:
    app = simple_app(ns, PROFILES[1], 2)
    ns.service(app, ports=[{"name": "http", "protocol": "TCP", "port": 80, "targetPort": "web"}])
    ns.expect("service-target-port-missing")


def stale_replicasets(ns: NamespaceWriter) -> None:
    simple_app(ns, PROFILES[0], 2, old=10, revision=ns.rng.randint(11, 30))
    ns.expect("stale-replicasets")


def netpol_asymmetric(ns: NamespaceWriter) -> None:
    """The staging incident: peers admitted on ingress 7800, egress-isolated with DNS only."""
    def edit(containers):
        containers[0]["ports"].append({"name": "jgroups", "containerPort": 7800, "protocol": "TCP"})
    app = simple_app(ns, PROFILES[3], 2, edit)
    ns.policy(app.name, {"podSelector": {"matchLabels": {"app": app.name}},
                         "ingress": [{"ports": [{"protocol": "TCP", "port": 7800}],
                                      "from": [{"podSelector": {"matchLabels": {"app": app.name}}}]},
                                     {"ports": [{"protocol": "TCP", "port": "http"}],
                                      "from": [{"namespaceSelector": {"matchLabels": {
                                          "kubernetes.io/metadata.name": "ingress-nginx"}}}]}],
                         "egress": [DNS_EGRESS], "policyTypes": ["Ingress", "Egress"]})
    ns.expect("netpol-asymmetric")


def netpol_dns_blocked(ns: NamespaceWriter) -> None:
    """Egress to the database's private range only: DNS is denied with everything else."""
    app = simple_app(ns, PROFILES[0], 2)
    ns.policy(f"{app.name}-egress", {"podSelector": {"matchLabels": {"app": app.name}},
                                     "egress": [{"ports": [{"protocol": "TCP", "port": 5432}],
                                                 "to": [{"ipBlock": {"cidr": "10.90.0.0/16"}}]}],
                                     "policyTypes": ["Egress"]})
    ns.expect("netpol-dns-blocked")


# (builder, pods it uses, policies it writes)
SCENARIOS = (
    (lambda ns, first: crashloop(ns, first), 3, 0),
    (lambda ns, first: oom_killed(ns), 2, 0),
    (lambda ns, first: stuck_rollout(ns, "image"), 4, 0),
    (lambda ns, first: stuck_rollout(ns, "config"), 4, 0),
    (lambda ns, first: pending(ns), 4, 0),
    (lambda ns, first: probe_failure(ns, "http"), 3, 0),
    (lambda ns, first: probe_failure(ns, "refused"), 3, 0),
    (lambda ns, first: probe_failure(ns, "timeout"), 3, 0),
    (lambda ns, first: port_not_served(ns), 2, 0),
    (lambda ns, first: resource_pressure(ns), 2, 0),
    (lambda ns, first: duplicate_port(ns), 2, 0),
    (lambda ns, first: no_endpoints(ns), 2, 0),
    (lambda ns, first: target_port_missing(ns), 2, 0),
    (lambda ns, first: stale_replicasets(ns), 2, 0),
    (lambda ns, first: netpol_asymmetric(ns), 2, 1),
    (lambda ns, first: netpol_dns_blocked(ns), 2, 1),
)
SCENARIO_PODS = sum(pods for _, pods, _ in SCENARIOS)


# --------------------------------------------------------------------------- policies of healthy apps

def healthy_policies(ns: NamespaceWriter, budget: int) -> None:
    """Default deny, monitoring scrapes, app-to-app allows: consistent on both sides, so no findings."""
    rng = ns.rng
    written = 0

    def add(name: str, spec: dict) -> bool:
        nonlocal written
        if written >= budget or name in ns.policy_names:
            return False
        ns.policy(name, spec)
        written += 1
        return True

    add("default-deny-ingress", {"podSelector": {}, "policyTypes": ["Ingress"]})
    add("allow-from-monitoring", {"podSelector": {}, "ingress": [
        {"ports": [{"protocol": "TCP", "port": "metrics"}],
         "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]}],
        "policyTypes": ["Ingress"]})
    healthy = [app for app in ns.apps if app.healthy]
    servers = [app for app in healthy if app.profile.has_http]
    egress_clients = {app.name for app in healthy if rng.random() < 0.3}
    open_clients = [app for app in healthy if app.name not in egress_clients]
    for server in servers:
        if written >= budget:
            return
        client = next((a for a in healthy if a.name in egress_clients and a is not server and rng.random() < 0.5), None)
        if client is not None and budget - written >= 2:  # both sides of one flow, or neither
            add(f"{server.name}-allow-from-{client.name}", {
                "podSelector": {"matchLabels": {"app": server.name}},
                "ingress": [{"ports": [{"protocol": "TCP", "port": "http"}],
                             "from": [{"podSelector": {"matchLabels": {"app": client.name}}}]}],
                "policyTypes": ["Ingress"]})
            add(f"{client.name}-egress-to-{server.name}", {
                "podSelector": {"matchLabels": {"app": client.name}},
                "egress": [DNS_EGRESS, {"ports": [{"protocol": "TCP", "port": "http"}],
                                        "to": [{"podSelector": {"matchLabels": {"app": server.name}}}]}],
                "policyTypes": ["Egress"]})
            continue
        callers = [a.name for a in rng.sample(open_clients, min(len(open_clients), rng.randint(1, 3)))
                   if a is not server]
        if not callers:
            continue
        peer = ({"podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": sorted(callers)}]}}
                if len(callers) > 1 and rng.random() < 0.5 else None)
        add(f"{server.name}-allow-ingress", {
            "podSelector": {"matchLabels": {"app": server.name}},
            "ingress": [{"ports": [{"protocol": "TCP", "port": "http"}],
                         "from": [peer] if peer else [{"podSelector": {"matchLabels": {"app": c}}} for c in callers]}],
            "policyTypes": ["Ingress"]})
    round_ = 0
    while written < budget and healthy and round_ < 1000:  # more policies than app-to-app flows: load balancers
        for app in healthy:
            if written >= budget:
                break
            add(f"{app.name}-allow-lb-{round_}" if round_ else f"{app.name}-allow-lb", {
                "podSelector": {"matchLabels": {"app": app.name}},
                "ingress": [{"from": [{"ipBlock": {"cidr": "35.191.0.0/16"}}, {"ipBlock": {"cidr": "130.211.0.0/22"}},
                                      {"ipBlock": {"cidr": f"10.{100 + round_ % 100}.0.0/16",
                                                   "except": [f"10.{100 + round_ % 100}.1.0/24"]}}]}],
                "policyTypes": ["Ingress"]})
        round_ += 1


# --------------------------------------------------------------------------- the whole cluster

class Generator:
    def __init__(self, pods: int, namespaces: int, policies: int, events: int, seed: int, scenario_sets: int | None):
        self.pods, self.namespace_count, self.policies, self.events, self.seed = pods, namespaces, policies, events, seed
        self.node_count = max(3, math.ceil(pods / PODS_PER_NODE))
        self.nodes = [f"gke-{CLUSTER}-default-pool-{random.Random(f'{seed}/node/{i}').getrandbits(32):08x}-"
                      f"{''.join(random.Random(f'{seed}/node-suffix/{i}').choices(NAME_ALPHABET, k=4))}"
                      for i in range(self.node_count)]
        self.node_index = {name: i for i, name in enumerate(self.nodes)}
        self.pods_on_node = [0] * self.node_count
        self.placed = 0
        self.service_serial = 0
        self.big_logs_left = max(1, pods // 1500)
        self.big_log_every = max(50, pods // self.big_logs_left)
        self.healthy_pods_seen = 0
        self.sets = scenario_sets if scenario_sets is not None else max(1, round(pods / 400))

    def place(self) -> tuple[str, str]:
        """The next node (round robin) and a pod IP from its range."""
        index = self.placed % self.node_count
        self.placed += 1
        self.pods_on_node[index] += 1
        host = self.pods_on_node[index]
        return self.nodes[index], f"10.{64 + index // 256}.{index % 256}.{(host % 250) + 2}"

    def node_ip(self, node: str) -> str:
        index = self.node_index[node]
        return f"10.128.{index // 250}.{index % 250 + 2}"

    def cluster_ip(self) -> str:
        self.service_serial += 1
        return f"10.12.{self.service_serial // 250}.{self.service_serial % 250 + 2}"

    def take_big_log(self) -> bool:
        self.healthy_pods_seen += 1
        if self.big_logs_left and self.healthy_pods_seen % self.big_log_every == self.big_log_every // 2:
            self.big_logs_left -= 1
            return True
        return False

    def run(self, out: Path) -> dict:
        system_pods = 3  # kube-dns x2, prometheus
        netpol_sets = 1 if self.policies >= 4 else 0
        sets = self.sets
        scenario_pods = sets * SCENARIO_PODS - (0 if netpol_sets else sets * 4)
        if self.pods < system_pods + scenario_pods + self.namespace_count:
            raise SystemExit(f"--pods {self.pods} is too small for {sets} set(s) of failing workloads and "
                             f"{self.namespace_count} namespaces: need at least "
                             f"{system_pods + scenario_pods + self.namespace_count}")
        if out.exists() and any(out.iterdir()):
            if not (out / "generator.json").is_file():
                raise SystemExit(f"{out} exists and was not written by this generator: not overwriting it")
            shutil.rmtree(out)  # an earlier output of ours
        out.mkdir(parents=True, exist_ok=True)
        (out / "generator.json").write_text('{"written": null}\n')  # marks the folder as ours, even half-written
        names = [f"{TEAMS[i % len(TEAMS)]}-{i // len(TEAMS) + 1}" if i >= len(TEAMS) else TEAMS[i]
                 for i in range(self.namespace_count)]
        pod_budget = _split(self.pods - system_pods, len(names))
        scenario_policies = sets * 2 if netpol_sets else 0
        policy_budget = _split(max(0, self.policies - scenario_policies), len(names), weights=pod_budget)
        event_budget = _split(self.events, len(names), weights=pod_budget)
        expected = {rule: 0 for rule in RULES}
        totals = {"pods": 0, "events": 0, "networkpolicies": 0, "deployments": 0, "services": 0}
        for writer in self.system_namespaces():
            self.finish(writer, out, 0, totals, expected)
        # Failing workloads go round-robin over the namespaces, so each class shows up in several of them.
        assignments: list[list[int]] = [[] for _ in names]
        serial = 0
        for _ in range(sets):
            for index, (_, _, policies) in enumerate(SCENARIOS):
                if policies and not netpol_sets:
                    continue
                assignments[serial % len(names)].append(index)
                serial += 1
        big_crash_log = True  # the first crash-looping pod logs megabytes before its traceback
        for ns_index, name in enumerate(names):
            writer = NamespaceWriter(self, name, self.seed)
            for scenario in assignments[ns_index]:
                SCENARIOS[scenario][0](writer, big_crash_log and scenario == 0)
                big_crash_log = big_crash_log and scenario != 0
            budget = pod_budget[ns_index] - len(writer.items["pods"])
            target = event_budget[ns_index] - len(writer.required_events)
            while budget > 0:  # healthy apps; roll them out within the hour until the events budget is met
                replicas = min(budget, writer.rng.choices((1, 2, 3, 4, 5), weights=(15, 35, 30, 10, 10))[0])
                healthy_app(writer, replicas, rolled=len(writer.optional_events) < target)
                budget -= replicas
            healthy = [app for app in writer.apps if app.healthy]
            for _ in range(100):  # still short: pods evicted and replaced within the hour
                if len(writer.optional_events) >= target or not healthy:
                    break
                for app in healthy:
                    replaced_pod(writer, app, CAPTURED - writer.rng.uniform(1200, 3500))
            healthy_policies(writer, policy_budget[ns_index])
            self.finish(writer, out, event_budget[ns_index], totals, expected)
        self.write_cluster_files(out, ["kube-system", "monitoring"] + names)
        totals["nodes"] = self.node_count
        return {"expected": expected, "totals": totals}

    def finish(self, writer: NamespaceWriter, out: Path, event_budget: int, totals: dict, expected: dict) -> None:
        totals["events"] += writer.write(out, event_budget)
        for plural in ("pods", "networkpolicies", "deployments", "services"):
            totals[plural] += len(writer.items[plural])
        for rule, count in writer.expected.items():
            expected[rule] += count

    def system_namespaces(self) -> list[NamespaceWriter]:
        dns = NamespaceWriter(self, "kube-system", self.seed)
        coredns = Profile("dns", "registry.k8s.io/coredns/coredns:v1.11.1", "coredns",
                          (("dns", 53), ("dns-tcp", 53), ("metrics", 9153)), ("/ready", "readiness"),
                          ("/health", "liveness"), ("100m", "70Mi"), ("1", "170Mi"), "go")
        app = App("kube-dns", coredns, 2, {"k8s-app": "kube-dns"}, dns.uid(), CAPTURED - 90 * 86400, "1.11.1",
                  dns.suffix(10), 1, None, healthy=False)
        containers = dns.container_spec(app)
        containers[0]["ports"] = [{"name": "dns", "containerPort": 53, "protocol": "UDP"},
                                  {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                                  {"name": "metrics", "containerPort": 9153, "protocol": "TCP"},
                                  {"name": "liveness", "containerPort": 8080, "protocol": "TCP"},
                                  {"name": "readiness", "containerPort": 8181, "protocol": "TCP"}]
        containers[0]["args"] = ["-conf", "/etc/coredns/Corefile"]
        rs = dns.replicaset(app, app.template_hash, 1, containers, 2, 2, app.created)
        for _ in range(2):
            pod = dns.pod(app, rs, containers, app.created + dns.rng.uniform(10, 100), None)
            dns.metrics(pod)
            dns.write_logs(pod, {"coredns": ".:53\n[INFO] plugin/reload: Running configuration SHA512 = 9f3f2a\n"
                                            "CoreDNS-1.11.1\nlinux/amd64, go1.20.7, ae2bbc2"})
        dns.deployment(app, containers, dns.complete_status(app, 2))
        dns.service(app, ports=[{"name": "dns", "protocol": "UDP", "port": 53, "targetPort": 53},
                                {"name": "dns-tcp", "protocol": "TCP", "port": 53, "targetPort": 53}],
                    selector={"k8s-app": "kube-dns"})
        monitoring = NamespaceWriter(self, "monitoring", self.seed)
        prometheus = Profile("server", "quay.io/prometheus/prometheus:v2.53.1", "prometheus", (("http", 9090),),
                             ("/-/ready", "http"), ("/-/healthy", "http"), ("500m", "2Gi"), ("2", "4Gi"), "go")
        app = monitoring.new_app(prometheus, replicas=1)
        app.name = app.labels["app"] = app.labels["app.kubernetes.io/name"] = "prometheus"
        app.healthy = False  # not a policy peer
        containers = monitoring.container_spec(app)
        rs = monitoring.replicaset(app, app.template_hash, app.revision, containers, 1, 1, app.created)
        pod = monitoring.pod(app, rs, containers, CAPTURED - 5 * 86400, None)
        monitoring.metrics(pod)
        monitoring.healthy_logs(app, pod)
        monitoring.deployment(app, containers, monitoring.complete_status(app, 1))
        monitoring.service(app)
        return [dns, monitoring]

    def write_cluster_files(self, out: Path, namespaces: list[str]) -> None:
        nodes, usage = [], []
        rng = random.Random(f"{self.seed}/nodes")
        for index, name in enumerate(self.nodes):
            created = CAPTURED - rng.uniform(5, 30) * 86400
            zone = f"us-central1-{'abc'[index % 3]}"
            labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/instance-type": "e2-standard-8",
                      "beta.kubernetes.io/os": "linux", "cloud.google.com/gke-nodepool": "default-pool",
                      "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                      "node.kubernetes.io/instance-type": "e2-standard-8", "topology.kubernetes.io/region": "us-central1",
                      "topology.kubernetes.io/zone": zone}
            conditions = [{"type": kind, "status": status, "lastHeartbeatTime": iso(CAPTURED - rng.uniform(10, 280)),
                           "lastTransitionTime": iso(created + 30), "reason": reason, "message": message}
                          for kind, status, reason, message in (
                              ("MemoryPressure", "False", "KubeletHasSufficientMemory",
                               "kubelet has sufficient memory available"),
                              ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                              ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                              ("Ready", "True", "KubeletReady", "kubelet is posting ready status"))]
            cidr = f"10.{64 + index // 256}.{index % 256}.0/24"
            nodes.append({
                "metadata": {"name": name, "uid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                             "resourceVersion": str(48_500_000 + index), "creationTimestamp": iso(created),
                             "labels": labels, "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
                "spec": {"podCIDR": cidr, "podCIDRs": [cidr],
                         "providerID": f"gce://acme-bench/{zone}/{name}"},
                "status": {"capacity": {"cpu": "8", "memory": "32880784Ki", "pods": "110"},
                           "allocatable": {"cpu": "7910m", "memory": "29094512Ki", "pods": "110"},
                           "conditions": conditions,
                           "addresses": [{"type": "InternalIP", "address": self.node_ip(name)},
                                         {"type": "Hostname", "address": name}],
                           "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                           "nodeInfo": {"machineID": f"{rng.getrandbits(128):032x}",
                                        "systemUUID": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                                        "bootID": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                                        "kernelVersion": "6.1.100+", "osImage": "Container-Optimized OS from Google",
                                        "containerRuntimeVersion": "containerd://1.7.22",
                                        "kubeletVersion": SERVER_VERSION, "kubeProxyVersion": SERVER_VERSION,
                                        "operatingSystem": "linux", "architecture": "amd64"}}})
            usage.append({"metadata": {"name": name, "creationTimestamp": iso(CAPTURED), "labels": labels},
                          "timestamp": iso(CAPTURED - rng.randint(5, 25)), "window": "20.047s",
                          "usage": {"cpu": f"{rng.randint(300, 4000) * 1000000}n",
                                    "memory": f"{rng.randint(4000000, 20000000)}Ki"}})
        (out / "nodes.json").write_bytes(to_json({"kind": "NodeList", "apiVersion": "v1",
                                                  "metadata": {"resourceVersion": "48540000"}, "items": nodes}))
        (out / "nodemetrics.json").write_bytes(to_json({"kind": "NodeMetricsList",
                                                        "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {},
                                                        "items": usage}))
        meta = {"format": "runbooks-snapshot", "format_version": 1, "captured_at": iso(CAPTURED), "context": CONTEXT,
                "cluster": CLUSTER, "server_version": SERVER_VERSION, "namespaces": sorted(namespaces), "errors": []}
        (out / "snapshot.json").write_bytes(to_json(meta))


def _split(total: int, parts: int, weights: list[int] | None = None) -> list[int]:
    """``total`` in ``parts`` integer shares proportional to ``weights`` (largest remainder)."""
    weights = weights or [1] * parts
    whole = sum(weights) or 1
    raw = [total * w / whole for w in weights]
    shares = [int(r) for r in raw]
    for index in sorted(range(parts), key=lambda i: (shares[i] - raw[i], i))[:total - sum(shares)]:
        shares[index] += 1
    return shares


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--namespaces", type=int, default=None, help="application namespaces (default: pods/250)")
    parser.add_argument("--policies", type=int, default=None, help="NetworkPolicies (default: 100 per 1k pods)")
    parser.add_argument("--events", type=int, default=None, help="events (default: 10 per pod)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--failure-sets", type=int, default=None,
                        help="sets of failing workloads, one of each class per set (default: pods/400)")
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    namespaces = args.namespaces or max(2, args.pods // 250)
    policies = args.policies if args.policies is not None else args.pods // 10
    events = args.events if args.events is not None else args.pods * 10
    started = time.perf_counter()
    generator = Generator(args.pods, namespaces, policies, events, args.seed, args.failure_sets)
    result = generator.run(args.out)
    (args.out / "expected-findings.json").write_text(json.dumps(result["expected"], indent=2) + "\n")
    (args.out / "generator.json").write_text(json.dumps(
        {"arguments": {"pods": args.pods, "namespaces": namespaces, "policies": policies, "events": events,
                       "seed": args.seed, "failure_sets": generator.sets},
         "written": result["totals"]}, indent=2) + "\n")
    totals = result["totals"]
    print(f"wrote {args.out}: {totals['pods']} pods, {totals['events']} events, {totals['networkpolicies']} policies, "
          f"{totals['nodes']} nodes, {sum(result['expected'].values())} expected findings "
          f"in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
