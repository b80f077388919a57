"""The bundled examples are valid Kubernetes objects and tell one consistent story.

Every object of every snapshot and every manifest is validated against the
Kubernetes 1.30 OpenAPI schema (strict: unknown fields fail). metrics.k8s.io has
no schema there, so PodMetrics and NodeMetrics are checked by hand. Then the
cross-references a runbook relies on: owner chains, event subjects, endpoints,
log blocks, and that nothing happened after the capture.

Regenerate the snapshots with ``python examples/_generate.py``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import kubernetes_validate
import pytest
import yaml

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
K8S_VERSION = "1.30.0"
SNAPSHOTS = sorted(path for path in EXAMPLES.glob("*/snapshot") if path.is_dir())
MANIFESTS = EXAMPLES / "staging-incident" / "manifests"
KUSTOMIZATIONS = [MANIFESTS, MANIFESTS / "overlays" / "staging-gke", MANIFESTS / "overlays" / "staging-gke-fixed"]
METRICS_API = "metrics.k8s.io/v1beta1"
KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
LOG_TIMESTAMP = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})")
CPU = re.compile(r"^\d+(n|u|m)?$")
MEMORY = re.compile(r"^\d+(Ki|Mi|Gi)?$")
WINDOW = re.compile(r"^\d+(\.\d+)?s$")
MARKER = re.compile(r"^==== (START|END) logs for container (\S+) of pod ([^/\s]+)/(\S+) ====$")


# --------------------------------------------------------------------------- loading


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Snapshot:
    """A snapshot directory, read the way kubectl wrote it."""

    def __init__(self, root: Path):
        self.root = root
        self.meta = json.loads((root / "snapshot.json").read_text())
        self.captured = parse_time(self.meta["captured_at"])
        self.lists: dict[Path, dict] = {path: json.loads(path.read_text())
                                        for path in sorted(root.rglob("*.json")) if path.name != "snapshot.json"}

    def typed_items(self) -> Iterator[tuple[Path, dict]]:
        """Every list item with the kind and apiVersion its list implies."""
        for path, listing in self.lists.items():
            kind = listing["kind"].removesuffix("List")
            for item in listing["items"]:
                yield path, {"kind": kind, "apiVersion": listing["apiVersion"], **item}

    def objects(self, kind: str) -> list[dict]:
        return [obj for _, obj in self.typed_items() if obj["kind"] == kind]

    def index(self, kind: str) -> dict[tuple[str, str], dict]:
        return {(o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in self.objects(kind)}

    def log_files(self) -> Iterator[tuple[str, str, Path]]:
        for namespace in self.meta["namespaces"]:
            for pod_dir in sorted(p for p in (self.root / namespace).iterdir() if p.is_dir()):
                for name in ("logs.txt", "logs.previous.txt"):
                    yield namespace, pod_dir.name, pod_dir / name


@lru_cache(maxsize=None)
def load(root: Path) -> Snapshot:
    return Snapshot(root)


@pytest.fixture(params=SNAPSHOTS, ids=lambda path: path.parent.name)
def snapshot(request) -> Snapshot:
    return load(request.param)


def without_token_mount(container: dict) -> dict:
    spec = dict(container)
    spec["volumeMounts"] = [m for m in spec.get("volumeMounts", []) if not m["name"].startswith("kube-api-access-")]
    if not spec["volumeMounts"]:
        del spec["volumeMounts"]
    return spec


def validation_errors(objects: list[tuple[str, dict]]) -> list[str]:
    errors = []
    for where, obj in objects:
        try:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            errors.append(f"{where}: {obj.get('kind')}/{obj.get('metadata', {}).get('name')}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            errors.append(f"{where}: {error.message}")
    return errors


def test_there_are_examples():
    assert {path.parent.name for path in SNAPSHOTS} >= {"staging-incident", "healthy"}


# --------------------------------------------------------------------------- snapshot files


def test_snapshot_metadata(snapshot: Snapshot):
    meta = snapshot.meta
    assert meta["format"] == "runbooks-snapshot" and meta["format_version"] == 1
    assert TIMESTAMP.match(meta["captured_at"])
    assert {"context", "cluster", "server_version", "namespaces", "errors"} <= set(meta)
    assert meta["errors"] == []
    assert sorted(p.name for p in snapshot.root.iterdir() if p.is_dir()) == sorted(meta["namespaces"])


def test_lists_look_like_cluster_info_dump(snapshot: Snapshot):
    for path, listing in snapshot.lists.items():
        assert listing["kind"].endswith("List"), path
        for item in listing["items"]:
            assert "kind" not in item and "apiVersion" not in item, f"{path}: items carry no type, as kubectl writes"
        names = [(i["metadata"].get("namespace"), i["metadata"]["name"]) for i in listing["items"]]
        assert names == sorted(names), f"{path}: items in etcd key order"
        assert path.read_text().endswith("}\n")


def test_every_object_matches_the_schema(snapshot: Snapshot):
    objects = [(str(path.relative_to(snapshot.root)), obj) for path, obj in snapshot.typed_items()
               if obj["apiVersion"] != METRICS_API]
    assert objects
    assert validation_errors(objects) == []


def test_metrics_have_the_metrics_server_shape(snapshot: Snapshot):
    pods = snapshot.index("Pod")
    nodes = {node["metadata"]["name"] for node in snapshot.objects("Node")}
    pod_metrics, node_metrics = snapshot.objects("PodMetrics"), snapshot.objects("NodeMetrics")
    assert pod_metrics and node_metrics
    for metric in pod_metrics + node_metrics:
        assert {"name", "creationTimestamp"} <= set(metric["metadata"])
        assert TIMESTAMP.match(metric["timestamp"]) and WINDOW.match(metric["window"])
    for metric in node_metrics:
        assert metric["metadata"]["name"] in nodes
        assert CPU.match(metric["usage"]["cpu"]) and MEMORY.match(metric["usage"]["memory"])
    for metric in pod_metrics:
        key = (metric["metadata"]["namespace"], metric["metadata"]["name"])
        assert key in pods, f"metrics for a pod that does not exist: {key}"
        running = {s["name"] for s in pods[key]["status"]["containerStatuses"] if "running" in s["state"]}
        assert metric["containers"]
        for usage in metric["containers"]:
            assert usage["name"] in running, f"{key}: metrics-server only reports running containers"
            assert CPU.match(usage["usage"]["cpu"]) and MEMORY.match(usage["usage"]["memory"])


# --------------------------------------------------------------------------- consistency


def test_pods_belong_to_replicasets_of_deployments(snapshot: Snapshot):
    replica_sets = {rs["metadata"]["uid"]: rs for rs in snapshot.objects("ReplicaSet")}
    deployments = {d["metadata"]["uid"]: d for d in snapshot.objects("Deployment")}
    for pod in snapshot.objects("Pod"):
        (owner,) = pod["metadata"]["ownerReferences"]
        assert owner["controller"] and owner["blockOwnerDeletion"]
        rs = replica_sets[owner["uid"]]
        assert (owner["kind"], owner["name"]) == ("ReplicaSet", rs["metadata"]["name"])
        assert rs["metadata"]["name"].endswith("-" + pod["metadata"]["labels"]["pod-template-hash"])
        assert pod["metadata"]["name"].startswith(rs["metadata"]["name"] + "-")
        assert pod["metadata"]["labels"] == rs["spec"]["template"]["metadata"]["labels"]
        template = rs["spec"]["template"]["spec"]["containers"]
        assert [without_token_mount(c) for c in pod["spec"]["containers"]] == template
    for rs in replica_sets.values():
        (owner,) = rs["metadata"]["ownerReferences"]
        deployment = deployments[owner["uid"]]
        assert (owner["kind"], owner["name"]) == ("Deployment", deployment["metadata"]["name"])
        assert rs["spec"]["selector"]["matchLabels"]["pod-template-hash"] == rs["metadata"]["name"].rsplit("-", 1)[1]


def test_replica_counts_add_up(snapshot: Snapshot):
    pods_by_rs: dict[str, list[dict]] = {}
    for pod in snapshot.objects("Pod"):
        pods_by_rs.setdefault(pod["metadata"]["ownerReferences"][0]["uid"], []).append(pod)
    for rs in snapshot.objects("ReplicaSet"):
        pods = pods_by_rs.get(rs["metadata"]["uid"], [])
        assert rs["spec"]["replicas"] == rs["status"]["replicas"] == len(pods), rs["metadata"]["name"]
    for deployment in snapshot.objects("Deployment"):
        owned = [rs for rs in snapshot.objects("ReplicaSet")
                 if rs["metadata"]["ownerReferences"][0]["uid"] == deployment["metadata"]["uid"]]
        assert deployment["status"]["replicas"] == sum(rs["status"]["replicas"] for rs in owned)
        revision = deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
        newest = max(owned, key=lambda rs: int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]))
        assert newest["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == revision


def test_events_refer_to_objects_in_the_snapshot(snapshot: Snapshot):
    events = snapshot.objects("Event")
    for event in events:
        ref = event["involvedObject"]
        subject = snapshot.index(ref["kind"]).get((ref["namespace"], ref["name"]))
        assert subject is not None, f"{event['metadata']['name']}: no {ref['kind']} {ref['name']}"
        assert subject["metadata"]["uid"] == ref["uid"]
        assert event["metadata"]["namespace"] == ref["namespace"]
        if "fieldPath" in ref:
            container = re.fullmatch(r"spec\.containers\{(.+)\}", ref["fieldPath"])[1]
            assert container in {c["name"] for c in subject["spec"]["containers"]}


def test_events_come_in_both_api_shapes(snapshot: Snapshot):
    for event in snapshot.objects("Event"):
        if event["eventTime"] is None:  # core/v1, as the kubelet and controllers write it
            assert event["count"] >= 1 and event["firstTimestamp"] <= event["lastTimestamp"]
            assert event["source"]["component"] == event["reportingComponent"]
        else:  # events.k8s.io, as the scheduler writes it
            assert event["firstTimestamp"] is None and event["lastTimestamp"] is None and "count" not in event
            assert event["source"] == {} and event["action"] and event["reportingInstance"]
    if snapshot.objects("Pod") and snapshot.objects("Event"):
        shapes = {event["eventTime"] is None for event in snapshot.objects("Event")}
        assert shapes == {True, False}


def test_endpoints_follow_pod_readiness(snapshot: Snapshot):
    pods = {pod["metadata"]["uid"]: pod for pod in snapshot.objects("Pod")}
    services = snapshot.index("Service")
    for endpoints in snapshot.objects("Endpoints"):
        service = services[(endpoints["metadata"]["namespace"], endpoints["metadata"]["name"])]
        publish_all = service["spec"].get("publishNotReadyAddresses", False)
        for subset in endpoints["subsets"]:
            for ready, key in ((True, "addresses"), (False, "notReadyAddresses")):
                for address in subset.get(key, []):
                    if "targetRef" not in address:
                        assert "selector" not in service["spec"], "only selector-less Services have bare addresses"
                        continue
                    pod = pods[address["targetRef"]["uid"]]
                    assert address["ip"] == pod["status"]["podIP"]
                    assert address["nodeName"] == pod["spec"]["nodeName"]
                    pod_ready = next(c["status"] == "True" for c in pod["status"]["conditions"] if c["type"] == "Ready")
                    assert (pod_ready or publish_all) == ready, address["targetRef"]["name"]


def test_pod_status_agrees_with_its_spec(snapshot: Snapshot):
    nodes = {node["metadata"]["name"]: node for node in snapshot.objects("Node")}
    for pod in snapshot.objects("Pod"):
        node = nodes[pod["spec"]["nodeName"]]
        assert pod["status"]["hostIP"] == node["status"]["addresses"][0]["address"]
        prefix = node["spec"]["podCIDR"].rsplit(".", 1)[0] + "."
        assert pod["status"]["podIP"].startswith(prefix)
        statuses = pod["status"]["containerStatuses"]
        assert [s["name"] for s in statuses] == sorted(c["name"] for c in pod["spec"]["containers"])
        for status in statuses:
            waiting = status["state"].get("waiting")
            if waiting and waiting["reason"] == "CrashLoopBackOff":
                assert f"_{pod['metadata']['namespace']}({pod['metadata']['uid']})" in waiting["message"]
                assert "terminated" in status["lastState"]


def test_log_blocks_name_the_pods_containers(snapshot: Snapshot):
    pods = snapshot.index("Pod")
    assert {(ns, pod) for ns, pod, _ in snapshot.log_files()} == set(pods)
    for namespace, pod_name, path in snapshot.log_files():
        containers = [c["name"] for c in pods[(namespace, pod_name)]["spec"]["containers"]]
        markers = [MARKER.match(line) for line in path.read_text().splitlines() if line.startswith("==== ")]
        assert all(markers), path
        assert [(m[1], m[2]) for m in markers] == [(side, c) for c in containers for side in ("START", "END")], path
        assert all((m[3], m[4]) == (namespace, pod_name) for m in markers), path


def test_nothing_happens_after_the_capture(snapshot: Snapshot):
    def strings(value):
        if isinstance(value, dict):
            for item in value.values():
                yield from strings(item)
        elif isinstance(value, list):
            for item in value:
                yield from strings(item)
        elif isinstance(value, str) and TIMESTAMP.match(value):
            yield value

    for path, listing in snapshot.lists.items():
        for stamp in strings(listing):
            assert parse_time(stamp) <= snapshot.captured, f"{path}: {stamp}"
    for _, _, path in snapshot.log_files():
        for line in path.read_text().splitlines():
            for day, clock in LOG_TIMESTAMP.findall(line):
                stamp = datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=timezone.utc)
                assert stamp <= snapshot.captured, f"{path}: {line}"


# --------------------------------------------------------------------------- manifests


def kustomization(directory: Path) -> dict:
    return yaml.safe_load((directory / "kustomization.yaml").read_text())


def resource_files(directory: Path) -> Iterator[Path]:
    """Files a kustomization lists as resources, recursively; patches are partial objects and are left out."""
    for entry in kustomization(directory).get("resources", []):
        path = (directory / entry).resolve()
        yield from resource_files(path) if path.is_dir() else [path]


def test_manifest_files_match_the_schema():
    files = sorted({path for root in KUSTOMIZATIONS for path in resource_files(root)})
    assert len(files) > 10
    objects = [(str(path.relative_to(MANIFESTS)), doc) for path in files
               for doc in yaml.safe_load_all(path.read_text()) if doc]
    assert validation_errors(objects) == []


@lru_cache(maxsize=None)
def rendered(directory: Path) -> tuple[dict, ...]:
    result = subprocess.run([KUBECTL, "kustomize", str(directory)], check=True, capture_output=True, text=True)
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def find(docs, kind: str, name: str) -> dict:
    return next(doc for doc in docs if doc["kind"] == kind and doc["metadata"]["name"] == name)


@needs_kubectl
@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda path: path.relative_to(EXAMPLES).as_posix())
def test_rendered_manifests_match_the_schema(directory: Path):
    docs = rendered(directory)
    assert {doc["kind"] for doc in docs} >= {"Namespace", "Deployment", "Service", "NetworkPolicy"}
    assert validation_errors([(doc["kind"], doc) for doc in docs]) == []


def proxy_args(docs) -> list[str]:
    deployment = find(docs, "Deployment", "staging-mcp-server-langgraph")
    containers = deployment["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == "cloud-sql-proxy")["args"]


def keycloak_egress_ports(docs) -> set[int]:
    policy = find(docs, "NetworkPolicy", "staging-keycloak")
    return {port["port"] for rule in policy["spec"]["egress"] for peer in rule["to"]
            if peer.get("podSelector", {}).get("matchLabels") == {"app": "keycloak"} for port in rule["ports"]}


def redis_port_names(docs) -> list[str]:
    return [port["name"] for port in find(docs, "Service", "staging-redis-session")["spec"]["ports"]]


@needs_kubectl
def test_the_staging_overlay_has_the_incidents_three_bugs_and_the_fixed_one_not():
    broken, fixed = rendered(MANIFESTS), rendered(KUSTOMIZATIONS[2])
    assert rendered(KUSTOMIZATIONS[1]) == broken
    assert keycloak_egress_ports(broken) == set() and keycloak_egress_ports(fixed) == {7800, 9000}
    assert "--health-check" not in proxy_args(broken)
    assert {"--health-check", "--http-port=9801", "--http-address=0.0.0.0"} <= set(proxy_args(fixed))
    assert redis_port_names(broken) == ["redis", "redis"]
    assert sorted(redis_port_names(fixed)) == ["memorystore-redis", "redis"]


PROBE_DEFAULTS = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}


def with_defaults(container: dict) -> dict:
    """A manifest container as the API server stores it (the defaults it fills in)."""
    spec = {"resources": {}, "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
            "imagePullPolicy": "IfNotPresent", **container}
    if "ports" in spec:
        spec["ports"] = [{"protocol": "TCP", **port} for port in spec["ports"]]
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        if kind in spec:
            probe = {**PROBE_DEFAULTS, **spec[kind]}
            if "httpGet" in probe:
                probe["httpGet"] = {"scheme": "HTTP", **probe["httpGet"]}
            if "grpc" in probe:
                probe["grpc"] = {"service": "", **probe["grpc"]}
            spec[kind] = probe
    return spec


@needs_kubectl
def test_the_snapshot_runs_what_the_manifests_render():
    docs = rendered(MANIFESTS)
    snapshot = load(EXAMPLES / "staging-incident" / "snapshot")
    namespace = find(docs, "Namespace", "staging-mcp-server-langgraph")["metadata"]["name"]
    live = {kind: snapshot.index(kind) for kind in ("Deployment", "Service", "NetworkPolicy", "PersistentVolumeClaim")}
    for doc in docs:
        kind, name = doc["kind"], doc["metadata"]["name"]
        if kind not in live:
            continue
        obj = live[kind][(namespace, name)]
        assert obj["metadata"]["labels"] == doc["metadata"]["labels"], name
        if kind == "Deployment":
            assert obj["spec"]["template"]["spec"]["containers"] == [
                with_defaults(c) for c in doc["spec"]["template"]["spec"]["containers"]], name
            assert obj["spec"]["strategy"]["type"] == doc["spec"].get("strategy", {}).get("type", "RollingUpdate")
            assert obj["spec"]["replicas"] == doc["spec"]["replicas"]
        elif kind == "NetworkPolicy":
            assert obj["spec"] == doc["spec"], name
        elif kind == "Service":
            wanted = [{k: p[k] for k in ("name", "port", "targetPort")} for p in doc["spec"]["ports"]]
            have = [{k: p[k] for k in ("name", "port", "targetPort")} for p in obj["spec"]["ports"]]
            if name == "staging-redis-session":  # the API server rejected the duplicate name: one port stayed
                assert have == [p for p in wanted if p["port"] == 6379]
            else:
                assert have == wanted, name
            assert obj["spec"].get("selector") == doc["spec"].get("selector"), name


def test_the_generator_is_committed_next_to_its_output():
    assert (EXAMPLES / "_generate.py").is_file()
