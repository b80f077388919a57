"""The snapshot source: every file kind of the kubectl cluster-info dump layout and its extensions."""

import gc
import json
from datetime import datetime, timezone

import pytest
import yaml

from builders import deployment, event, pod, replicaset, service, ts
from runbooks_lib import load
from runbooks_lib.errors import InputError
from runbooks_lib.kinds import BY_PLURAL
from runbooks_lib.redact import NO_REDACT_ENV, REDACTED
from runbooks_lib.sources import snapshot as snapshot_source
from runbooks_lib.state import LOGS, METRICS, RUNTIME

NS = "shop"


def typed_list(kind: str, items: list[dict]) -> dict:
    """A List as kubectl cluster-info dump writes it: items without kind/apiVersion."""
    stripped = [{k: v for k, v in item.items() if k not in ("kind", "apiVersion")} for item in items]
    return {"kind": f"{kind}List", "apiVersion": "v1", "metadata": {"resourceVersion": "91734"}, "items": stripped}


@pytest.fixture
def snapshot(tmp_path):
    deploy = deployment("web", replicas=1)
    rs = replicaset(deploy, "5d4f8b7c9", 1, 1)
    web = pod("web-5d4f8b7c9-x2x9k", owner=rs)
    root = tmp_path / "snap"
    ns = root / NS
    (ns / web["metadata"]["name"]).mkdir(parents=True)
    (root / "default").mkdir()
    write = lambda path, data: path.write_text(json.dumps(data, indent=4))
    write(root / "nodes.json", typed_list("Node", [{"metadata": {"name": "node-a", "uid": "n-1",
                                                                   "creationTimestamp": ts(3000)}}]))
    write(root / "nodemetrics.json", {"kind": "NodeMetricsList", "apiVersion": "metrics.k8s.io/v1beta1",
                                      "metadata": {}, "items": [{"metadata": {"name": "node-a"}, "timestamp": ts(0),
                                                                 "window": "20s", "usage": {"cpu": "250m", "memory": "2Gi"}}]})
    write(ns / "deployments.json", typed_list("Deployment", [deploy]))
    write(ns / "replicasets.json", typed_list("ReplicaSet", [rs]))
    write(ns / "pods.json", typed_list("Pod", [web]))
    write(ns / "services.json", typed_list("Service", [service("web", selector={"app": "web"})]))
    classic = event(web, "BackOff", "Back-off restarting failed container app in pod x", count=7,
                    container_name="app")
    new_shape = {"metadata": {"name": "web-5d4f8b7c9-x2x9k.1875a", "namespace": NS, "creationTimestamp": ts(50)},
                 "involvedObject": {"kind": "Pod", "name": web["metadata"]["name"], "namespace": NS,
                                    "uid": web["metadata"]["uid"]},
                 "reason": "Scheduled", "message": "Successfully assigned shop/web to node-a", "type": "Normal",
                 "source": {}, "firstTimestamp": None, "lastTimestamp": None,
                 "eventTime": "2025-11-06T15:42:10.412345Z", "reportingComponent": "default-scheduler",
                 "reportingInstance": "default-scheduler-node-a", "action": "Binding",
                 "series": {"count": 3, "lastObservedTime": "2025-11-06T15:52:10.000000Z"}}
    write(ns / "events.json", typed_list("Event", [classic, new_shape]))
    (ns / "networkpolicies.yaml").write_text(yaml.safe_dump(typed_list("NetworkPolicy", [
        {"metadata": {"name": "deny", "namespace": NS}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}])))
    write(ns / "podmetrics.json", {"kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {},
                                   "items": [{"metadata": {"name": web["metadata"]["name"], "namespace": NS},
                                              "timestamp": ts(0), "window": "15s",
                                              "containers": [{"name": "app", "usage": {"cpu": "1523718n", "memory": "250Mi"}}]}]})
    (ns / web["metadata"]["name"] / "logs.txt").write_text(
        f"==== START logs for container app of pod {NS}/{web['metadata']['name']} ====\nhello\n"
        f"==== END logs for container app of pod {NS}/{web['metadata']['name']} ====\n")
    (ns / web["metadata"]["name"] / "logs.previous.txt").write_text(
        f"==== START logs for container app of pod {NS}/{web['metadata']['name']} ====\nboom\n"
        f"==== END logs for container app of pod {NS}/{web['metadata']['name']} ====\n")
    write(root / "snapshot.json", {"format": "runbooks-snapshot", "format_version": 1,
                                   "captured_at": "2025-11-06T16:32:10Z", "context": "kind-test", "cluster": "test",
                                   "namespaces": ["default", NS],
                                   "errors": [{"resource": "horizontalpodautoscalers", "namespace": NS, "code": 403,
                                               "reason": "Forbidden", "message": "forbidden"}]})
    return root


def test_loads_every_file_kind_and_fills_missing_kind(snapshot):
    state = load(snapshot)
    assert {k: len(v) for k, v in state.objects.items()} == {
        "Node": 1, "NodeMetrics": 1, "Deployment": 1, "ReplicaSet": 1, "Pod": 1, "Service": 1, "Event": 2,
        "NetworkPolicy": 1, "PodMetrics": 1}
    (pod_obj,) = state.of_kind("Pod")
    assert pod_obj["kind"] == "Pod" and pod_obj["apiVersion"] == "v1"
    assert state.of_kind("NetworkPolicy")[0]["apiVersion"] == "networking.k8s.io/v1"
    assert state.capabilities == {RUNTIME, LOGS, METRICS}


def test_reads_snapshot_metadata(snapshot):
    state = load(snapshot)
    assert state.captured_at == datetime(2025, 11, 6, 16, 32, 10, tzinfo=timezone.utc)
    assert state.now == state.captured_at
    assert state.context == "kind-test" and state.cluster == "test"
    assert state.namespaces_read == ["default", NS]
    (error,) = state.errors
    assert (error.resource, error.namespace, error.code) == ("horizontalpodautoscalers", NS, 403)
    assert state.partial


def test_reads_current_and_previous_logs(snapshot):
    state = load(snapshot)
    assert state.logs.get(NS, "web-5d4f8b7c9-x2x9k", "app").text == "hello"
    assert state.logs.get(NS, "web-5d4f8b7c9-x2x9k", "app", previous=True).text == "boom"
    assert state.logs.get(NS, "web-5d4f8b7c9-x2x9k", "sidecar") is None


def test_normalizes_both_event_shapes(snapshot):
    events = load(snapshot).frames.events.set_index("reason")
    assert events.loc["BackOff", "count"] == 7 and events.loc["BackOff", "shape"] == "core/v1"
    assert events.loc["BackOff", "container"] == "app"
    scheduled = events.loc["Scheduled"]
    assert scheduled["shape"] == "events.k8s.io" and scheduled["count"] == 3
    assert scheduled["first_seen"] == datetime(2025, 11, 6, 15, 42, 10, 412345, tzinfo=timezone.utc)
    assert scheduled["last_seen"] == datetime(2025, 11, 6, 15, 52, 10, tzinfo=timezone.utc)
    assert scheduled["component"] == "default-scheduler"


def test_missing_optional_files_are_normal(snapshot):
    for name in ("snapshot.json", "nodemetrics.json", f"{NS}/podmetrics.json", f"{NS}/networkpolicies.yaml"):
        (snapshot / name).unlink()
    state = load(snapshot)
    assert METRICS not in state.capabilities
    # Without captured_at, ages are relative to the newest timestamp in the snapshot.
    assert state.captured_at is None
    assert state.now == datetime(2025, 11, 6, 16, 31, 10, tzinfo=timezone.utc)


def test_now_parameter_overrides_the_capture_time(snapshot):
    state = load(snapshot, now="2025-11-06T17:32:10Z")
    assert state.frames.pods.loc[0, "age"] == "120m"
    with pytest.raises(InputError, match="not an RFC 3339 timestamp"):
        load(snapshot, now="an hour ago")


@pytest.mark.parametrize("name, content, message", [
    ("shop/pods.json", "{\"kind\": \"PodList\", \"items\": [", "shop/pods.json: invalid JSON at line 1"),
    ("shop/pods.json", b"\xff\xfe\x00garbage", "shop/pods.json: not UTF-8"),
    ("snapshot.json", "[]", "snapshot.json: expected a JSON object"),
    ("snapshot.json", "{\"format_version\": 99}", "format_version 99 is not supported"),
    ("shop/networkpolicies.yaml", "items: [unclosed", "shop/networkpolicies.yaml: invalid YAML"),
])
def test_present_but_unreadable_files_name_the_file(snapshot, name, content, message):
    path = snapshot / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        load(snapshot)


def test_items_that_are_not_objects_are_skipped_with_a_warning(snapshot):
    data = json.loads((snapshot / NS / "pods.json").read_text())
    data["items"].append("not a pod")
    (snapshot / NS / "pods.json").write_text(json.dumps(data))
    state = load(snapshot)
    assert len(state.of_kind("Pod")) == 1
    assert any("items[1] is a str" in w for w in state.warnings)


def test_namespace_restriction_keeps_cluster_scoped_objects(snapshot):
    state = load(snapshot, namespace="default")
    assert state.of_kind("Pod") == [] and len(state.of_kind("Node")) == 1


def test_single_file_list_from_kubectl_get(tmp_path, snapshot):
    pods = json.loads((snapshot / NS / "pods.json").read_text())
    pods["kind"], pods["apiVersion"] = "List", "v1"
    pods["items"] = [dict(item, kind="Pod", apiVersion="v1") for item in pods["items"]]
    path = tmp_path / "pods.json"
    path.write_text(json.dumps(pods))
    state = load(path)
    assert len(state.of_kind("Pod")) == 1 and RUNTIME in state.capabilities


def test_multi_document_yaml_stream_of_manifests(tmp_path):
    deploy = deployment("api", replicas=3)
    del deploy["status"]
    path = tmp_path / "app.yaml"
    first = yaml.safe_dump(deploy)
    path.write_text(first + "---\n" + yaml.safe_dump(service("api", selector={"app": "api"})) + "---\n")
    state = load(path)
    assert RUNTIME not in state.capabilities
    pods = state.frames.pods
    # Each replica of the template stands in for a pod.
    assert len(pods) == 3 and set(pods["workload"]) == {"api"} and pods["stand_in"].all()
    # Manifest objects keep the file and line they were declared at.
    location = state.location("Service", "shop", "api")
    assert location.file == str(path) and location.line == first.count("\n") + 2


def test_unknown_source_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="no such file or directory"):
        load(tmp_path / "nope")


def test_every_extension_plural_maps_to_a_kind():
    for plural in ("networkpolicies", "statefulsets", "jobs", "cronjobs", "endpoints", "horizontalpodautoscalers",
                   "persistentvolumeclaims", "podmetrics", "nodemetrics", "replication-controllers"):
        assert plural in BY_PLURAL


# -- redaction as the snapshot is read, and memory ----------------------------------------------------

@pytest.fixture
def redacting(monkeypatch):
    """Redaction on, as by default: an earlier test in the session may have switched it off."""
    monkeypatch.delenv(NO_REDACT_ENV, raising=False)


def test_each_files_objects_are_masked_before_the_next_file_is_parsed(snapshot, monkeypatch, redacting):
    """What keeps the load at one copy of the objects: a file's unmasked strings go before the next is read."""
    data = json.loads((snapshot / NS / "pods.json").read_text())
    container = data["items"][0]["spec"]["containers"][0]
    container["env"] = [{"name": "DB_PASSWORD", "value": "pod-pw-1"}]
    (snapshot / NS / "pods.json").write_text(json.dumps(data))
    steps = []
    parse, mask = snapshot_source.parse_documents, snapshot_source.redact_in_place

    def parsing(path, *args):
        steps.append(("parse", path.name))
        return parse(path, *args)

    def masking(objects):
        steps.append(("mask", [obj["kind"] for obj in objects]))
        mask(objects)

    monkeypatch.setattr(snapshot_source, "parse_documents", parsing)
    monkeypatch.setattr(snapshot_source, "redact_in_place", masking)
    state = load(snapshot)
    assert [step for step, _ in steps] == ["parse", "mask"] * (len(steps) // 2)
    assert ("parse", "pods.json") in steps and ("mask", ["Pod"]) in steps
    assert container_env(state) == [{"name": "DB_PASSWORD", "value": REDACTED}]


def test_without_redaction_nothing_is_masked(snapshot, monkeypatch):
    data = json.loads((snapshot / NS / "pods.json").read_text())
    data["items"][0]["spec"]["containers"][0]["env"] = [{"name": "DB_PASSWORD", "value": "pod-pw-2"}]
    (snapshot / NS / "pods.json").write_text(json.dumps(data))
    monkeypatch.setenv(NO_REDACT_ENV, "1")
    assert container_env(load(snapshot)) == [{"name": "DB_PASSWORD", "value": "pod-pw-2"}]


def container_env(state) -> list[dict]:
    return state.of_kind("Pod")[0]["spec"]["containers"][0]["env"]


def test_equal_strings_of_a_snapshot_are_one_object(snapshot, redacting):
    """Parsers make a new string for every value; a 10,000-pod snapshot repeats most of them."""
    data = json.loads((snapshot / NS / "pods.json").read_text())
    twin = json.loads(json.dumps(data["items"][0]))
    twin["metadata"]["name"] += "-twin"
    data["items"].append(twin)
    (snapshot / NS / "pods.json").write_text(json.dumps(data))
    first, second = load(snapshot).of_kind("Pod")
    assert first["metadata"]["namespace"] is second["metadata"]["namespace"]
    assert first["spec"]["containers"][0]["image"] is second["spec"]["containers"][0]["image"]


def test_repeated_loads_free_each_state():
    """The loader freezes what it parsed in the GC (gc.freeze); a state dropped must still be freed,
    also when it and its frames form a cycle (a kernel running several runbooks)."""
    counts = []
    for _ in range(4):
        state = load("staging-incident")
        state.frames.pods  # noqa: B018 - builds the frames, which refer back to the state
        del state
        counts.append(gc.get_freeze_count())
    # The first loads also freeze what importing pandas left; a leak adds ~2,000 objects per load.
    assert counts[3] - counts[1] < 500, counts


# -- managedFields -------------------------------------------------------------------------------------

MANAGED_FIELDS = [{"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "v1",
                   "time": "2025-11-06T15:00:00Z", "fieldsType": "FieldsV1",
                   "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}, "f:spec": {"f:containers": {}}}}]


def with_managed_fields(path) -> None:
    data = json.loads(path.read_text())
    for item in data["items"]:
        item["metadata"]["managedFields"] = MANAGED_FIELDS
    path.write_text(json.dumps(data))


def test_managed_fields_are_dropped_as_objects_are_read(snapshot, tmp_path, monkeypatch):
    """kubectl cluster-info dump keeps them on every object; nothing reads them."""
    for name in ("pods.json", "deployments.json", "services.json"):
        with_managed_fields(snapshot / NS / name)
    single = tmp_path / "pods.json"
    single.write_text((snapshot / NS / "pods.json").read_text())
    for redacted in (True, False):
        monkeypatch.setenv(NO_REDACT_ENV, "0" if redacted else "1")
        for source in (snapshot, single):
            state = load(source)
            objects = [obj for items in state.objects.values() for obj in items]
            assert objects and not any("managedFields" in obj["metadata"] for obj in objects), (source, redacted)
    assert "managedFields" in json.loads(single.read_text())["items"][0]["metadata"], "the files are left alone"


def test_a_live_read_drops_managed_fields_too():
    from test_live_source import FakeApiServer, read_fake

    served = load("staging-incident")
    for obj in served.of_kind("Pod") + served.of_kind("Deployment"):
        obj["metadata"]["managedFields"] = MANAGED_FIELDS
    state = read_fake(FakeApiServer(served))
    assert state.of_kind("Pod") and state.of_kind("Deployment")
    assert not any("managedFields" in obj["metadata"] for items in state.objects.values() for obj in items)
