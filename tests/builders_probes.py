"""Builders for probe tests: probe specs, Unhealthy events, and the seed incident's workload.

The seed incident (``staging-mcp-server-langgraph``): an app container whose probes
ask for /health/ready, /health and /health/startup while its FastAPI health sub-app
serves /health/health/...; and a cloud-sql-proxy v2 sidecar probed on 9801 but
started without --health-check, --http-port or --http-address.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml

from runbooks_lib.sources.manifests import load_manifest_files

from builders import NS, container, deployment, event, pod, replicaset, running, ts, uid, waiting

PROXY_IMAGE = "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.1"
PROXY_ARGS = ["--structured-logs", "--port=5432", "--private-ip", "my-project:us-central1:staging-db"]
APP_IMAGE = "us-central1-docker.pkg.dev/my-project/images/mcp-server-langgraph:2.8.0"


def http_probe(path: str, port, scheme: str = "HTTP", **extra) -> dict:
    """A probe as the API server returns it (defaults filled in)."""
    probe = {"httpGet": {"path": path, "port": port, "scheme": scheme}, "timeoutSeconds": 1, "periodSeconds": 10,
             "successThreshold": 1, "failureThreshold": 3}
    probe.update(extra)
    return probe


def tcp_probe(port, **extra) -> dict:
    probe = {"tcpSocket": {"port": port}, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1,
             "failureThreshold": 3}
    probe.update(extra)
    return probe


def exec_probe(command: list[str], **extra) -> dict:
    probe = {"exec": {"command": command}, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1,
             "failureThreshold": 3}
    probe.update(extra)
    return probe


def app_container(name: str = "mcp-server-langgraph", port: int = 8000, **probes) -> dict:
    return container(name, image=APP_IMAGE, ports=[("http", port)], **probes)


def proxy_container(args=None, command=None, liveness_port=9801, readiness_port=9801, name="cloud-sql-proxy",
                    image=PROXY_IMAGE, **extra) -> dict:
    spec = container(name, image=image, ports=[("postgres", 5432)], **extra)
    spec["args"] = list(PROXY_ARGS if args is None else args)
    if command is not None:
        spec["command"] = command
    if liveness_port is not None:
        spec["livenessProbe"] = http_probe("/liveness", liveness_port, initialDelaySeconds=10)
    if readiness_port is not None:
        spec["readinessProbe"] = http_probe("/readiness", readiness_port)
    return spec


def workload(name: str, containers: list[dict], replicas: int = 3, statuses=None, namespace: str = NS,
             template_hash: str = "598c5bc958", ready: int | None = None, conditions=None):
    """A Deployment, its ReplicaSet and ``replicas`` pods; ``statuses(i)`` gives pod i's container statuses."""
    deploy = deployment(name, namespace=namespace, replicas=replicas, containers=containers)
    rs = replicaset(deploy, template_hash, 1, replicas, ready=ready)
    pods = []
    for i in range(replicas):
        pod_statuses = statuses(i) if statuses else None
        pods.append(pod(f"{name}-{template_hash}-{'abcdefghij'[i]}x{i}z{i}", namespace=namespace, owner=rs,
                        statuses=pod_statuses, ip=f"10.8.1.{23 + i}", minutes_ago=30, conditions=conditions))
    return deploy, rs, pods


def pod_ip(pod_obj: dict) -> str:
    return pod_obj["status"]["podIP"]


def unhealthy(pod_obj: dict, container_name: str | None, message: str, count: int = 12, first_minutes_ago: float = 25,
              last_minutes_ago: float = 0.5) -> dict:
    return event(pod_obj, "Unhealthy", message, count=count, first_minutes_ago=first_minutes_ago,
                 last_minutes_ago=last_minutes_ago, container_name=container_name)


def unhealthy_new_shape(pod_obj: dict, container_name: str, message: str, count: int = 9) -> dict:
    """The events.k8s.io/v1 shape: note, regarding, series, eventTime (no count/timestamps)."""
    meta = pod_obj["metadata"]
    name = f"{meta['name']}.{hashlib.sha256(message.encode()).hexdigest()[:14]}"
    return {"apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": name, "namespace": meta["namespace"], "uid": uid("ev2", name),
                         "creationTimestamp": ts(20)},
            "eventTime": ts(20).replace("Z", ".000000Z"), "reportingController": "kubelet",
            "reportingInstance": "node-a", "action": "Probe", "reason": "Unhealthy", "type": "Warning",
            "regarding": {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"],
                          "apiVersion": "v1", "fieldPath": f"spec.containers{{{container_name}}}"},
            "note": message, "series": {"count": count, "lastObservedTime": ts(1).replace("Z", ".000000Z")}}


def killing(pod_obj: dict, container_name: str, probe: str = "liveness", count: int = 4) -> dict:
    return event(pod_obj, "Killing", f"Container {container_name} failed {probe} probe, will be restarted",
                 type_="Normal", count=count, container_name=container_name)


def not_ready(name: str, restarts: int = 0) -> dict:
    return running(name, ready=False, restarts=restarts)


def crash_looping(name: str, restarts: int = 6) -> dict:
    return waiting(name, "CrashLoopBackOff", f"back-off 2m40s restarting failed container={name}", restarts=restarts)


def incident_objects(replicas: int = 3) -> list[dict]:
    """The seed incident's mcp-server Deployment: 404s on the app, refusals on the proxy sidecar."""
    app = app_container(readinessProbe=http_probe("/health/ready", 8000),
                        livenessProbe=http_probe("/health", 8000, initialDelaySeconds=30),
                        startupProbe=http_probe("/health/startup", 8000, failureThreshold=30))
    proxy = proxy_container()
    deploy, rs, pods = workload(
        "staging-mcp-server-langgraph", [app, proxy], replicas=replicas, ready=0,
        statuses=lambda i: [not_ready("mcp-server-langgraph"), crash_looping("cloud-sql-proxy")])
    objects = [deploy, rs, *pods]
    for p in pods:
        ip = pod_ip(p)
        objects += [
            unhealthy(p, "mcp-server-langgraph", "Startup probe failed: HTTP probe failed with statuscode: 404", 30),
            unhealthy(p, "mcp-server-langgraph", "Readiness probe failed: HTTP probe failed with statuscode: 404", 41),
            unhealthy(p, "cloud-sql-proxy", f'Liveness probe failed: Get "http://{ip}:9801/liveness": dial tcp '
                                             f'{ip}:9801: connect: connection refused', 18),
            unhealthy(p, "cloud-sql-proxy", f'Readiness probe failed: Get "http://{ip}:9801/readiness": dial tcp '
                                             f'{ip}:9801: connect: connection refused', 35),
            killing(p, "cloud-sql-proxy", "liveness", 6),
        ]
    return objects


def healthy_keycloak(replicas: int = 2) -> list[dict]:
    """A healthy workload whose readiness failed a few times while it started, long ago."""
    kc = container("keycloak", image="quay.io/keycloak/keycloak:26.0", ports=[("http", 8080), ("management", 9000)],
                   readinessProbe=http_probe("/health/ready", "management"),
                   livenessProbe=http_probe("/health/live", "management"))
    # created 30 minutes ago, Ready since 28: the refusals came while Keycloak started, before that
    conditions = [{"type": "Ready", "status": "True", "lastTransitionTime": ts(28)},
                  {"type": "ContainersReady", "status": "True", "lastTransitionTime": ts(28)},
                  {"type": "PodScheduled", "status": "True", "lastTransitionTime": ts(30)}]
    deploy, rs, pods = workload("staging-keycloak", [kc], replicas=replicas, template_hash="5847455794",
                                conditions=conditions)
    objects = [deploy, rs, *pods]
    for p in pods:
        objects.append(unhealthy(p, "keycloak", f'Readiness probe failed: Get "http://{pod_ip(p)}:9000/health/ready": '
                                                f'dial tcp {pod_ip(p)}:9000: connect: connection refused', 3,
                                 first_minutes_ago=29.5, last_minutes_ago=29))
    return objects


def manifest_state(tmp_path: Path, *objects: dict, filename: str = "deployment.yaml"):
    """Objects written to a YAML file and loaded through the real manifests source."""
    path = tmp_path / filename
    path.write_text(yaml.safe_dump_all(list(objects), sort_keys=False))
    return load_manifest_files([path], str(tmp_path))


def manifest_deployment(name: str, containers: list[dict], replicas: int = 2, namespace: str | None = "staging") -> dict:
    """A Deployment as written in a repository: no status, no uid, defaults not filled in."""
    meta = {"name": name, "labels": {"app": name}}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": containers}}}}
