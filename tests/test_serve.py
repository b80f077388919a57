"""`runbooks serve`: the snapshot as a read-only Kubernetes API, tested over real HTTP.

The bundled staging-incident example is served on an ephemeral port and asked what
kubectl and API clients ask: discovery, get/list with selectors and pages, Tables,
pod logs, writes (405), Secrets (never), and every injected fault.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from builders import deployment, pod, running, state_of, ts, waiting
from builders_workloads import statefulset
from runbooks_lib.errors import InputError
from runbooks_lib.serve import BackgroundServer, Fault, faults_from_env, is_loopback, serve_in_background
from runbooks_lib.serve_api import Request, SnapshotAPI
from runbooks_lib.serve_cli import KUBECONFIG_MARKER, write_kubeconfig
from runbooks_lib.serve_selectors import SelectorError, parse_label_selector
from runbooks_lib.sources import load
from runbooks_lib.state import RUNTIME, ResourceError

NS = "staging-mcp-server-langgraph"
CRASHING_KEYCLOAK = "staging-keycloak-5847455794-txkc6"
CRASHING_APP = "staging-mcp-server-langgraph-6b8f9d7c45-2lrtd"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
# never through a proxy: these are loopback servers
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Reply:
    def __init__(self, status: int, headers, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


def fetch(base: str, path: str, method: str = "GET", accept: str | None = None, body: bytes | None = None,
          **query) -> Reply:
    url = base + path + ("?" + urllib.parse.urlencode(query) if query else "")
    request = urllib.request.Request(url, method=method, data=body)
    if accept:
        request.add_header("Accept", accept)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with _OPENER.open(request, timeout=10) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.headers, error.read())


def assert_status(reply: Reply, code: int, reason: str, message_part: str = "") -> dict:
    assert reply.status == code, reply.text
    assert reply.headers["Content-Type"].startswith("application/json")
    status = reply.json
    assert status["kind"] == "Status" and status["apiVersion"] == "v1" and status["status"] == "Failure"
    assert status["code"] == code and status["reason"] == reason
    assert message_part in status["message"], status["message"]
    return status


@pytest.fixture(scope="module")
def state():
    return load("staging-incident")


@pytest.fixture(scope="module")
def server(state):
    with BackgroundServer(state) as running_server:
        yield running_server


@pytest.fixture(scope="module")
def url(server) -> str:
    return server.url


def names(reply: Reply) -> list[str]:
    return [item["metadata"]["name"] for item in reply.json["items"]]


# -- discovery ---------------------------------------------------------------------

def test_version_comes_from_the_snapshot(url):
    version = fetch(url, "/version").json
    assert version["gitVersion"] == "v1.30.5-gke.1014001"
    assert (version["major"], version["minor"]) == ("1", "30")


def test_discovery_lists_groups_resources_and_no_secrets(url):
    assert fetch(url, "/api").json["versions"] == ["v1"]
    groups = {g["name"]: g for g in fetch(url, "/apis").json["groups"]}
    assert {"apps", "batch", "networking.k8s.io", "autoscaling", "events.k8s.io", "metrics.k8s.io"} <= set(groups)
    assert groups["autoscaling"]["preferredVersion"] == {"groupVersion": "autoscaling/v2", "version": "v2"}
    core = fetch(url, "/api/v1").json
    assert core["kind"] == "APIResourceList" and core["groupVersion"] == "v1"
    by_name = {r["name"]: r for r in core["resources"]}
    assert by_name["pods"]["kind"] == "Pod" and by_name["pods"]["namespaced"] is True
    assert by_name["pods"]["shortNames"] == ["po"] and by_name["pods"]["verbs"] == ["get", "list"]
    assert by_name["pods/log"]["verbs"] == ["get"]
    assert by_name["namespaces"]["namespaced"] is False
    apps = fetch(url, "/apis/apps/v1").json
    assert apps["groupVersion"] == "apps/v1"
    assert {r["name"] for r in apps["resources"]} >= {"deployments", "replicasets", "statefulsets", "daemonsets"}
    metrics = {r["name"]: r["kind"] for r in fetch(url, "/apis/metrics.k8s.io/v1beta1").json["resources"]}
    assert metrics == {"pods": "PodMetrics", "nodes": "NodeMetrics"}
    for path in ("/api/v1", "/apis", "/apis/apps/v1"):
        assert "secret" not in fetch(url, path).text


def test_aggregated_discovery_request_gets_the_legacy_answer(url):
    # kubectl >= 1.26 asks for APIGroupDiscoveryList first, with plain JSON as a fallback
    reply = fetch(url, "/apis", accept="application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                                       "application/json;q=0.9")
    assert reply.status == 200 and reply.headers["Content-Type"] == "application/json"
    assert reply.json["kind"] == "APIGroupList"


def test_unknown_paths_and_unacceptable_media_types(url):
    assert_status(fetch(url, "/apis/apps/v1beta1"), 404, "NotFound", "could not find the requested resource")
    assert_status(fetch(url, "/openapi/v2"), 404, "NotFound")
    assert_status(fetch(url, "/api/v1/namespaces/default/nodes"), 404, "NotFound")
    assert_status(fetch(url, "/api/v1/pods", accept="application/yaml"), 406, "NotAcceptable")


def test_metrics_group_only_when_the_snapshot_has_metrics():
    api = SnapshotAPI(state_of(pod("web-1"), capabilities={RUNTIME}))
    groups = json.loads(api.handle(Request("GET", "/apis")).body)["groups"]
    assert "metrics.k8s.io" not in {g["name"] for g in groups}
    assert api.handle(Request("GET", "/apis/metrics.k8s.io/v1beta1/pods")).code == 404


# -- get and list ------------------------------------------------------------------------

def test_list_is_a_typed_list_in_key_order_without_item_kinds(url, state):
    reply = fetch(url, "/api/v1/pods")
    pods = reply.json
    assert pods["kind"] == "PodList" and pods["apiVersion"] == "v1"
    newest = max(int(o["metadata"]["resourceVersion"]) for items in state.objects.values() for o in items
                 if str(o["metadata"].get("resourceVersion", "")).isdigit())
    assert pods["metadata"]["resourceVersion"] == str(newest)
    keys = [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in pods["items"]]
    assert keys == sorted(keys) and len(keys) == len(state.of_kind("Pod"))
    assert all("kind" not in p and "apiVersion" not in p for p in pods["items"])
    assert names(fetch(url, "/api/v1/namespaces/kube-system/pods")) == [
        "kube-dns-5b9c8d7f46-r8fxl", "kube-dns-5b9c8d7f46-t6n2k"]
    assert fetch(url, "/api/v1/namespaces/no-such-namespace/pods").json["items"] == []


def test_get_returns_the_object_with_its_kind(url):
    obj = fetch(url, f"/api/v1/namespaces/{NS}/pods/{CRASHING_KEYCLOAK}").json
    assert (obj["kind"], obj["apiVersion"]) == ("Pod", "v1")
    assert obj["status"]["containerStatuses"]
    deploy = fetch(url, f"/apis/apps/v1/namespaces/{NS}/deployments/staging-keycloak").json
    assert (deploy["kind"], deploy["apiVersion"]) == ("Deployment", "apps/v1")
    status = fetch(url, f"/apis/apps/v1/namespaces/{NS}/deployments/staging-keycloak/status").json
    assert status["status"] == deploy["status"]


def test_missing_objects_are_404_with_the_servers_wording(url):
    status = assert_status(fetch(url, f"/api/v1/namespaces/{NS}/pods/nope"), 404, "NotFound")
    assert status["message"] == 'pods "nope" not found'
    assert status["details"] == {"name": "nope", "kind": "pods"}
    status = assert_status(fetch(url, f"/apis/apps/v1/namespaces/{NS}/deployments/nope"), 404, "NotFound")
    assert status["message"] == 'deployments.apps "nope" not found'
    assert status["details"]["group"] == "apps"


def test_namespaces_are_synthesized_with_the_name_label(url):
    namespaces = fetch(url, "/api/v1/namespaces").json
    assert namespaces["kind"] == "NamespaceList"
    assert names(fetch(url, "/api/v1/namespaces")) == ["default", "kube-system", NS]
    kube_system = fetch(url, "/api/v1/namespaces/kube-system").json
    assert kube_system["metadata"]["labels"] == {"kubernetes.io/metadata.name": "kube-system"}
    assert kube_system["status"]["phase"] == "Active" and kube_system["kind"] == "Namespace"
    selected = fetch(url, "/api/v1/namespaces", labelSelector="kubernetes.io/metadata.name=kube-system")
    assert names(selected) == ["kube-system"]


def test_nodes_and_metrics(url):
    nodes = fetch(url, "/api/v1/nodes").json
    assert nodes["kind"] == "NodeList" and len(nodes["items"]) == 3
    pod_metrics = fetch(url, f"/apis/metrics.k8s.io/v1beta1/namespaces/{NS}/pods").json
    assert pod_metrics["kind"] == "PodMetricsList" and pod_metrics["apiVersion"] == "metrics.k8s.io/v1beta1"
    assert CRASHING_KEYCLOAK in [m["metadata"]["name"] for m in pod_metrics["items"]]
    node_metrics = fetch(url, "/apis/metrics.k8s.io/v1beta1/nodes").json
    assert node_metrics["kind"] == "NodeMetricsList" and len(node_metrics["items"]) == 3


def test_events_in_both_api_groups(url):
    core = fetch(url, f"/api/v1/namespaces/{NS}/events", fieldSelector=f"involvedObject.name={CRASHING_KEYCLOAK}")
    reasons = {e["reason"] for e in core.json["items"]}
    assert {"BackOff", "Unhealthy", "Scheduled"} <= reasons
    newer = fetch(url, f"/apis/events.k8s.io/v1/namespaces/{NS}/events",
                  fieldSelector=f"regarding.name={CRASHING_KEYCLOAK},reason=BackOff").json
    assert newer["kind"] == "EventList" and newer["apiVersion"] == "events.k8s.io/v1"
    (backoff,) = newer["items"]
    assert backoff["regarding"]["name"] == CRASHING_KEYCLOAK and "Back-off restarting" in backoff["note"]
    assert backoff["deprecatedCount"] == 60 and "involvedObject" not in backoff


@pytest.mark.parametrize("selector, expected", [
    ("app=keycloak", {"staging-keycloak-5847455794-2wdjr", CRASHING_KEYCLOAK}),
    ("app==qdrant", {"staging-qdrant-567d6fdb54-8gsr4"}),
    ("app!=mcp-server-langgraph,app!=keycloak",
     {"staging-openfga-c58f84668-6dbbc", "staging-openfga-c58f84668-kq7xw", "staging-qdrant-567d6fdb54-8gsr4"}),
    ("app in (qdrant, openfga)",
     {"staging-openfga-c58f84668-6dbbc", "staging-openfga-c58f84668-kq7xw", "staging-qdrant-567d6fdb54-8gsr4"}),
    ("app notin (keycloak,mcp-server-langgraph,openfga)", {"staging-qdrant-567d6fdb54-8gsr4"}),
    ("app.kubernetes.io/component=auth,pod-template-hash", {"staging-keycloak-5847455794-2wdjr", CRASHING_KEYCLOAK}),
    ("!environment", set()),
    ("k8s-app=kube-dns", set()),
])
def test_label_selectors(url, selector, expected):
    assert set(names(fetch(url, f"/api/v1/namespaces/{NS}/pods", labelSelector=selector))) == expected


def test_label_selector_missing_label_matches_not_equal_and_notin(url):
    # kube-dns pods have no "app" label: != and notin select them, = and in do not
    assert len(names(fetch(url, "/api/v1/namespaces/kube-system/pods", labelSelector="app!=keycloak"))) == 2
    assert len(names(fetch(url, "/api/v1/namespaces/kube-system/pods", labelSelector="app notin (x)"))) == 2
    assert names(fetch(url, "/api/v1/namespaces/kube-system/pods", labelSelector="app in (x)")) == []


@pytest.mark.parametrize("selector", ["app in keycloak", "=x", "app=(", "app in (a b)", "a,", "app=a b"])
def test_bad_label_selectors_are_400(url, selector):
    assert_status(fetch(url, "/api/v1/pods", labelSelector=selector), 400, "BadRequest", "unable to parse")


def test_label_selector_parser_keeps_empty_values():
    (req,) = parse_label_selector("tier=")
    assert (req.operator, req.values) == ("=", ("",))
    (req,) = parse_label_selector("tier in (a,)")
    assert req.values == ("a", "")
    with pytest.raises(SelectorError):
        parse_label_selector("tier in (a")


@pytest.mark.parametrize("selector, expected_count", [
    ("status.phase=Running", 9),
    ("status.phase!=Running", 0),
    ("spec.nodeName=gke-staging-gke-default-pool-8d41e0b5-7xw3", 4),
    (f"metadata.name={CRASHING_KEYCLOAK}", 1),
    (f"metadata.namespace={NS},spec.nodeName!=gke-staging-gke-default-pool-8d41e0b5-7xw3", 5),
])
def test_pod_field_selectors(url, selector, expected_count):
    assert len(names(fetch(url, f"/api/v1/namespaces/{NS}/pods", fieldSelector=selector))) == expected_count


def test_event_field_selectors_describe_uses(url, state):
    pod_obj = state.get("Pod", NS, CRASHING_KEYCLOAK)
    selector = (f"involvedObject.name={CRASHING_KEYCLOAK},involvedObject.namespace={NS},"
                f"involvedObject.uid={pod_obj['metadata']['uid']}")
    events = fetch(url, f"/api/v1/namespaces/{NS}/events", fieldSelector=selector).json["items"]
    assert events and all(e["involvedObject"]["uid"] == pod_obj["metadata"]["uid"] for e in events)
    warnings = fetch(url, "/api/v1/events", fieldSelector="type=Warning,involvedObject.kind=Pod,reason=BackOff")
    assert {e["reason"] for e in warnings.json["items"]} == {"BackOff"}
    assert fetch(url, f"/api/v1/namespaces/{NS}/events", fieldSelector="involvedObject.fieldPath=spec.containers{keycloak}"
                 ).json["items"]
    assert_status(fetch(url, "/api/v1/pods", fieldSelector="spec.foo=bar"), 400, "BadRequest",
                  "field label not supported: spec.foo")
    assert_status(fetch(url, "/api/v1/events", fieldSelector="nonsense"), 400, "BadRequest")


# -- pages ------------------------------------------------------------------------

def test_limit_and_continue_walk_the_whole_list(url):
    everything = names(fetch(url, "/api/v1/events"))
    seen, token, remaining = [], None, []
    while True:
        page = fetch(url, "/api/v1/events", limit=20, **({"continue": token} if token else {})).json
        seen += [e["metadata"]["name"] for e in page["items"]]
        token = page["metadata"].get("continue")
        if not token:
            assert "remainingItemCount" not in page["metadata"]
            break
        assert len(page["items"]) == 20
        remaining.append(page["metadata"]["remainingItemCount"])
    assert seen == everything and len(everything) > 40
    assert remaining[0] == len(everything) - 20


def test_continue_with_a_selector_has_no_remaining_count(url):
    page = fetch(url, "/api/v1/events", limit=1, fieldSelector="type=Warning").json
    assert page["metadata"]["continue"] and "remainingItemCount" not in page["metadata"]


def test_bad_and_foreign_continue_tokens_are_400(url):
    assert_status(fetch(url, "/api/v1/pods", limit=1, **{"continue": "garbage!"}), 400, "BadRequest",
                  "continue key is not valid")
    token = fetch(url, "/api/v1/pods", limit=1).json["metadata"]["continue"]
    assert_status(fetch(url, "/api/v1/events", **{"continue": token}), 400, "BadRequest", "different list")


def test_expired_continue_tokens_are_410_gone(state):
    with BackgroundServer(state) as fresh:
        token = fetch(fresh.url, "/api/v1/pods", limit=2).json["metadata"]["continue"]
        assert fetch(fresh.url, "/api/v1/pods", limit=2, **{"continue": token}).status == 200
        fresh.expire_continue_tokens()
        status = assert_status(fetch(fresh.url, "/api/v1/pods", limit=2, **{"continue": token}), 410, "Expired",
                               "too old to display a consistent list result")
        assert status["details"] == {}
        restarted = fetch(fresh.url, "/api/v1/pods", limit=2).json["metadata"]["continue"]
        assert fetch(fresh.url, "/api/v1/pods", **{"continue": restarted}).status == 200


# -- tables ------------------------------------------------------------------------

def test_pod_table_as_kubectl_asks_for_it(url):
    table = fetch(url, f"/api/v1/namespaces/{NS}/pods", accept=TABLE, limit=500).json
    assert (table["kind"], table["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    columns = [(c["name"], c["priority"]) for c in table["columnDefinitions"]]
    assert columns == [("Name", 0), ("Ready", 0), ("Status", 0), ("Restarts", 0), ("Age", 0), ("IP", 1),
                       ("Node", 1), ("Nominated Node", 1), ("Readiness Gates", 1)]
    rows = {row["cells"][0]: row for row in table["rows"]}
    # ages are measured at capture time (16:32:10Z), not now
    assert rows[CRASHING_KEYCLOAK]["cells"][1:5] == ["1/2", "CrashLoopBackOff", "7 (2m33s ago)", "19m"]
    assert rows[CRASHING_KEYCLOAK]["cells"][5:7] == ["10.8.1.19", "gke-staging-gke-default-pool-8d41e0b5-7xw3"]
    embedded = rows[CRASHING_KEYCLOAK]["object"]
    assert embedded["kind"] == "PartialObjectMetadata" and embedded["metadata"]["namespace"] == NS
    assert "spec" not in embedded
    assert table["metadata"]["resourceVersion"]


def test_table_row_objects_follow_include_object(url):
    full = fetch(url, f"/api/v1/namespaces/{NS}/pods/{CRASHING_KEYCLOAK}", accept=TABLE, includeObject="Object").json
    assert full["rows"][0]["object"]["kind"] == "Pod" and full["rows"][0]["object"]["spec"]
    bare = fetch(url, f"/api/v1/namespaces/{NS}/pods", accept=TABLE, includeObject="None").json
    assert all("object" not in row for row in bare["rows"])


def test_event_and_deployment_tables(url):
    events = fetch(url, f"/api/v1/namespaces/{NS}/events", accept=TABLE,
                   fieldSelector=f"involvedObject.name={CRASHING_KEYCLOAK},reason=BackOff").json
    assert [c["name"] for c in events["columnDefinitions"]][:4] == ["Last Seen", "Type", "Reason", "Object"]
    (row,) = events["rows"]
    assert row["cells"][1:4] == ["Warning", "BackOff", f"pod/{CRASHING_KEYCLOAK}"]
    assert row["cells"][8] == 60
    deployments = fetch(url, f"/apis/apps/v1/namespaces/{NS}/deployments", accept=TABLE).json
    cells = {row["cells"][0]: row["cells"] for row in deployments["rows"]}
    assert cells["staging-keycloak"][1:4] == ["1/2", 2, 1]


def test_pod_status_column_rules():
    init = {"name": "migrate", "image": "migrate:1"}
    pod_obj = pod("api-1", statuses=[waiting("app", "PodInitializing")])
    pod_obj["spec"]["initContainers"] = [init]
    pod_obj["status"]["initContainerStatuses"] = [
        {"name": "migrate", "ready": False, "restartCount": 3,
         "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]
    terminating = pod("api-2", statuses=[running("app")])
    terminating["metadata"]["deletionTimestamp"] = "2025-11-06T16:30:00Z"
    api = SnapshotAPI(state_of(pod_obj, terminating))
    table = json.loads(api.handle(Request("GET", "/api/v1/namespaces/shop/pods", accept=TABLE)).body)
    status = {row["cells"][0]: row["cells"][2] for row in table["rows"]}
    assert status == {"api-1": "Init:CrashLoopBackOff", "api-2": "Terminating"}


def workload_objects() -> list[dict]:
    """One object of each workload kind the examples do not hold, shaped as the API server returns them."""
    template = {"metadata": {"labels": {"app": "batch"}},
                "spec": {"containers": [{"name": "run", "image": "ghcr.io/acme/batch:2"}]}}
    meta = {"namespace": "shop", "creationTimestamp": ts(90)}
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "nightly-29371", "uid": "j1", **meta},
           "spec": {"completions": 1, "parallelism": 1, "selector": {"matchLabels": {"job": "nightly"}},
                    "template": template},
           "status": {"succeeded": 1, "startTime": ts(90), "completionTime": ts(85),
                      "conditions": [{"type": "Complete", "status": "True"}]}}
    cronjob = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly", "uid": "c1", **meta},
               "spec": {"schedule": "0 3 * * *", "suspend": True, "jobTemplate": {"spec": {"template": template}}},
               "status": {"lastScheduleTime": ts(90)}}
    daemonset = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "uid": "d1", **meta},
                 "spec": {"selector": {"matchLabels": {"app": "agent"}},
                          "template": {**template, "spec": {**template["spec"], "nodeSelector": {"os": "linux"}}}},
                 "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2,
                            "updatedNumberScheduled": 3, "numberAvailable": 2}}
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": "api", "uid": "h1", **meta},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
                    "minReplicas": 2, "maxReplicas": 10,
                    "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                        "type": "Utilization", "averageUtilization": 80}}}]},
           "status": {"currentReplicas": 4, "currentMetrics": [
               {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 95}}}]}}
    return [job, cronjob, daemonset, hpa, statefulset("db", replicas=3, status={"replicas": 3, "readyReplicas": 2})]


@pytest.mark.parametrize("path, cells", [
    ("/apis/batch/v1/namespaces/shop/jobs", ["nightly-29371", "Complete", "1/1", "5m", "90m", "run",
                                             "ghcr.io/acme/batch:2", "job=nightly"]),
    ("/apis/batch/v1/namespaces/shop/cronjobs", ["nightly", "0 3 * * *", "<none>", "True", 0, "90m", "90m", "run",
                                                 "ghcr.io/acme/batch:2", "<none>"]),
    ("/apis/apps/v1/namespaces/shop/daemonsets", ["agent", 3, 3, 2, 3, 2, "os=linux", "90m", "run",
                                                  "ghcr.io/acme/batch:2", "app=agent"]),
    ("/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers", ["api", "Deployment/api", "cpu: 95%/80%", "2",
                                                                       10, 4, "90m"]),
    ("/apis/apps/v1/namespaces/shop/statefulsets", ["db", "2/3", "24h", "app", "ghcr.io/acme/app:1.0"]),
])
def test_workload_tables(path, cells):
    api = SnapshotAPI(state_of(*workload_objects()))
    table = json.loads(api.handle(Request("GET", path, accept=TABLE)).body)
    (row,) = table["rows"]
    assert row["cells"] == cells and len(table["columnDefinitions"]) == len(cells)


@pytest.mark.parametrize("example", ["staging-incident", "healthy"])
def test_every_served_resource_lists_as_json_and_as_a_table(example):
    api = SnapshotAPI(load(example))
    for resource in api.table.resources:
        prefix = f"/apis/{resource.group}/{resource.version}" if resource.group else f"/api/{resource.version}"
        plain = json.loads(api.handle(Request("GET", f"{prefix}/{resource.plural}")).body)
        assert plain["kind"] == resource.kind + "List", plain
        table = json.loads(api.handle(Request("GET", f"{prefix}/{resource.plural}", accept=TABLE)).body)
        assert table["kind"] == "Table" and len(table["rows"]) == len(plain["items"])
        assert all(len(row["cells"]) == len(table["columnDefinitions"]) for row in table["rows"])


def test_a_malformed_object_falls_back_to_the_plain_list_with_a_warning():
    broken = pod("web-1")
    broken["status"]["conditions"] = ["not an object"]
    api = SnapshotAPI(state_of(broken))
    reply = api.handle(Request("GET", "/api/v1/namespaces/shop/pods", accept=TABLE))
    assert reply.code == 200 and json.loads(reply.body)["kind"] == "PodList"
    assert "could not print pods as a table" in dict(reply.headers)["Warning"]


# -- logs ------------------------------------------------------------------------

def log_path(pod_name: str) -> str:
    return f"/api/v1/namespaces/{NS}/pods/{pod_name}/log"


def test_previous_log_holds_the_crash(url):
    reply = fetch(url, log_path(CRASHING_APP), container="mcp-server-langgraph", previous="true")
    assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/plain")
    assert reply.text.startswith("Traceback (most recent call last):")
    assert reply.text.rstrip().endswith("RuntimeError: Observability not initialized. Call init_observability() first.")


def test_tail_lines_and_limit_bytes(url):
    whole = fetch(url, log_path(CRASHING_APP), container="mcp-server-langgraph", previous="true").text
    tail = fetch(url, log_path(CRASHING_APP), container="mcp-server-langgraph", previous="true", tailLines=2).text
    assert tail == "".join(whole.splitlines(keepends=True)[-2:])
    head = fetch(url, log_path(CRASHING_APP), container="mcp-server-langgraph", previous="true", limitBytes=9).body
    assert head == b"Traceback"
    assert_status(fetch(url, log_path(CRASHING_APP), container="mcp-server-langgraph", tailLines=-1), 400,
                  "BadRequest")


def test_log_container_must_be_named_when_the_pod_has_several(url):
    status = assert_status(fetch(url, log_path(CRASHING_KEYCLOAK)), 400, "BadRequest")
    assert status["message"] == (f"a container name must be specified for pod {CRASHING_KEYCLOAK}, "
                                 "choose one of: [keycloak cloud-sql-proxy]")
    assert_status(fetch(url, log_path(CRASHING_KEYCLOAK), container="nginx"), 400, "BadRequest",
                  f"container nginx is not valid for pod {CRASHING_KEYCLOAK}")
    single = fetch(url, log_path("staging-qdrant-567d6fdb54-8gsr4"))
    assert single.status == 200 and single.text


def test_missing_previous_log_is_the_api_servers_400(url):
    status = assert_status(fetch(url, log_path("staging-openfga-c58f84668-6dbbc"), previous="true"), 400,
                           "BadRequest")
    assert status["message"] == 'previous terminated container "openfga" in pod "staging-openfga-c58f84668-6dbbc" not found'
    api = SnapshotAPI(state_of(pod("web-1")))
    reply = api.handle(Request("GET", "/api/v1/namespaces/shop/pods/web-1/log", {"previous": ["1"]}))
    assert reply.code == 400 and b'previous terminated container \\"app\\" in pod \\"web-1\\" not found' in reply.body


def test_timestamps_cannot_be_invented_so_the_server_warns(url):
    reply = fetch(url, log_path(CRASHING_APP), container="mcp-server-langgraph", timestamps="true")
    assert reply.status == 200
    assert "no log timestamps" in reply.headers["Warning"] and reply.headers["Warning"].startswith("299 - ")


# -- read-only -----------------------------------------------------------------------

@pytest.mark.parametrize("method, path", [
    ("POST", f"/api/v1/namespaces/{NS}/pods"),
    ("PUT", f"/api/v1/namespaces/{NS}/pods/{CRASHING_KEYCLOAK}"),
    ("PATCH", f"/apis/apps/v1/namespaces/{NS}/deployments/staging-keycloak"),
    ("DELETE", f"/api/v1/namespaces/{NS}/pods/{CRASHING_KEYCLOAK}"),
    ("DELETE", f"/api/v1/namespaces/{NS}/pods"),
    ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"),
])
def test_writes_are_405_and_change_nothing(url, method, path):
    assert_status(fetch(url, path, method=method, body=b"{}"), 405, "MethodNotAllowed", "read-only")
    assert fetch(url, f"/api/v1/namespaces/{NS}/pods/{CRASHING_KEYCLOAK}").status == 200


def test_watch_is_405_not_a_stream(url):
    assert_status(fetch(url, "/api/v1/pods", watch="true"), 405, "MethodNotAllowed", "watch is not supported")
    assert_status(fetch(url, f"/api/v1/watch/namespaces/{NS}/pods"), 405, "MethodNotAllowed")


@pytest.mark.parametrize("path", ["/api/v1/secrets", f"/api/v1/namespaces/{NS}/secrets",
                                  f"/api/v1/namespaces/{NS}/secrets/keycloak-db"])
def test_secrets_are_never_served(url, path):
    assert_status(fetch(url, path), 403, "Forbidden", "never serves Secrets")


def test_a_secret_in_the_source_stays_unreachable():
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": "db", "namespace": "shop", "uid": "1"}, "data": {"password": "aHVudGVyMg=="}}
    with serve_in_background(state_of(pod("web-1"), secret)) as base:
        for path in ("/api/v1", "/api/v1/secrets", "/api/v1/namespaces/shop/secrets/db",
                     "/api/v1/namespaces/shop/pods", "/apis"):
            assert b"aHVudGVyMg==" not in fetch(base, path).body


# -- what the snapshot could not read --------------------------------------------------------

def test_recorded_read_errors_are_replayed():
    state = state_of(deployment("api"), deployment("web", namespace="payments"))
    message = ('deployments.apps is forbidden: User "system:serviceaccount:ops:collector" cannot list resource '
               '"deployments" in API group "apps" in the namespace "payments"')
    state.errors.append(ResourceError("deployments.apps", "payments", 403, "Forbidden", message))
    api = SnapshotAPI(state)
    refused = api.handle(Request("GET", "/apis/apps/v1/namespaces/payments/deployments"))
    assert refused.code == 403 and json.loads(refused.body)["message"] == message
    everywhere = api.handle(Request("GET", "/apis/apps/v1/deployments"))
    assert everywhere.code == 200
    assert "could not read deployments.apps in namespace payments" in dict(everywhere.headers)["Warning"]
    assert api.handle(Request("GET", "/apis/apps/v1/namespaces/shop/deployments")).code == 200


# -- injected faults -------------------------------------------------------------------------

def test_forbidden_fault_words_it_like_rbac(state):
    faults = [Fault("forbidden", path=f"/namespaces/{NS}/pods"), Fault("forbidden", path="^/api/v1/nodes$"),
              Fault("forbidden", path="/deployments/")]
    with serve_in_background(state, faults=faults) as base:
        status = assert_status(fetch(base, f"/api/v1/namespaces/{NS}/pods"), 403, "Forbidden")
        assert status["message"] == (f'pods is forbidden: User "system:serviceaccount:runbooks:runbooks" cannot list '
                                     f'resource "pods" in API group "" in the namespace "{NS}"')
        status = assert_status(fetch(base, f"/api/v1/namespaces/{NS}/pods/{CRASHING_APP}/log"), 403, "Forbidden")
        assert f'pods "{CRASHING_APP}" is forbidden' in status["message"]
        assert 'cannot get resource "pods/log"' in status["message"]
        status = assert_status(fetch(base, "/api/v1/nodes"), 403, "Forbidden")
        assert status["message"].endswith('cannot list resource "nodes" in API group "" at the cluster scope')
        status = assert_status(fetch(base, f"/apis/apps/v1/namespaces/{NS}/deployments/staging-qdrant"), 403,
                               "Forbidden")
        assert status["message"].startswith('deployments.apps "staging-qdrant" is forbidden')
        assert status["details"] == {"kind": "deployments", "name": "staging-qdrant", "group": "apps"}
        assert fetch(base, "/api/v1/namespaces/kube-system/pods").status == 200


def test_throttle_fault_is_429_with_retry_after_for_the_first_requests(state):
    with serve_in_background(state, faults=[Fault("throttle", path="/pods$", times=2, retry_after=3)]) as base:
        for _ in range(2):
            reply = fetch(base, "/api/v1/pods")
            status = assert_status(reply, 429, "TooManyRequests")
            assert reply.headers["Retry-After"] == "3" and status["details"] == {"retryAfterSeconds": 3}
        assert fetch(base, "/api/v1/pods").status == 200


@pytest.mark.parametrize("code, reason", [(500, "InternalError"), (503, "ServiceUnavailable")])
def test_error_fault_answers_the_first_n_requests(state, code, reason):
    with serve_in_background(state, faults=[Fault("error", path="/events", code=code, times=1)]) as base:
        assert_status(fetch(base, "/api/v1/events"), code, reason)
        assert fetch(base, "/api/v1/events").status == 200
        assert fetch(base, "/api/v1/pods").status == 200


def test_expire_fault_only_hits_requests_with_a_continue_token(state):
    with serve_in_background(state, faults=[Fault("expire", path="/pods$")]) as base:
        first = fetch(base, "/api/v1/pods", limit=3)
        assert first.status == 200
        reply = fetch(base, "/api/v1/pods", limit=3, **{"continue": first.json["metadata"]["continue"]})
        assert_status(reply, 410, "Expired")


def test_delay_fault_slows_only_matching_paths(state):
    with serve_in_background(state, faults=[Fault("delay", path="/events$", seconds=0.3)]) as base:
        started = time.monotonic()
        assert fetch(base, "/api/v1/pods").status == 200
        fast = time.monotonic() - started
        started = time.monotonic()
        assert fetch(base, "/api/v1/events").status == 200
        slow = time.monotonic() - started
    assert slow >= 0.3 and fast < 0.3


def test_faults_from_the_environment():
    faults = faults_from_env({"RUNBOOKS_SERVE_FAULTS": '[{"kind": "throttle", "path": "/pods", "times": 1}]'})
    assert faults == [Fault("throttle", path="/pods", times=1)]
    assert faults_from_env({}) == []
    for bad in ("{", '{"kind": "throttle"}', '[{"kind": "teapot"}]', '[{"kind": "error", "code": 418}]',
                '[{"kind": "delay", "path": "("}]', '[{"kind": "delay", "colour": "red"}]'):
        with pytest.raises(InputError, match="RUNBOOKS_SERVE_FAULTS"):
            faults_from_env({"RUNBOOKS_SERVE_FAULTS": bad})


# -- the official Python client (what the live source uses) -----------------------------------

def test_kubernetes_python_client_reads_the_snapshot(url, tmp_path):
    kubernetes = pytest.importorskip("kubernetes")
    config_path = tmp_path / "kubeconfig"
    context = write_kubeconfig(config_path, url, load("staging-incident"))
    api_client = kubernetes.config.new_client_from_config(config_file=str(config_path), context=context)
    core = kubernetes.client.CoreV1Api(api_client)
    first = core.list_pod_for_all_namespaces(limit=5)
    second = core.list_pod_for_all_namespaces(limit=50, _continue=first.metadata._continue)
    assert len(first.items) + len(second.items) == 11 and first.metadata.remaining_item_count == 6
    log = core.read_namespaced_pod_log(CRASHING_APP, NS, container="mcp-server-langgraph", previous=True)
    assert "RuntimeError: Observability not initialized" in log
    with pytest.raises(kubernetes.client.ApiException) as refused:
        core.read_namespaced_secret("keycloak-db", NS)
    assert refused.value.status == 403


# -- command line -----------------------------------------------------------------------------

def start_cli(*args: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "runbooks_lib.serve_cli", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
    first = process.stdout.readline()
    return process, first


def test_cli_serves_writes_a_kubeconfig_and_stops_cleanly(tmp_path):
    kubeconfig = tmp_path / "replay.kubeconfig"
    process, first = start_cli("staging-incident", "--kubeconfig", str(kubeconfig))
    try:
        assert first.startswith("serving example:staging-incident (captured 2025-11-06T16:32:10Z) read-only at http://127.0.0.1:")
        base = first.split(" at ")[1].strip()
        assert fetch(base, "/api/v1/namespaces/kube-system").json["metadata"]["name"] == "kube-system"
        text = kubeconfig.read_text()
        assert text.startswith(KUBECONFIG_MARKER)
        assert f"server: {base}" in text and "current-context: gke_acme-staging_us-central1_staging-gke" in text
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0 and "stopped" in err and "Traceback" not in err


def test_cli_injects_faults_from_the_environment():
    process, first = start_cli("staging-incident", env={"RUNBOOKS_SERVE_FAULTS": '[{"kind": "throttle"}]'})
    try:
        base = first.split(" at ")[1].strip()
        assert fetch(base, "/api/v1/pods").status == 429
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=10)
    assert "1 test fault(s) injected" in err


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "runbooks_lib.serve_cli", *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **(env or {})})


def test_cli_refuses_to_overwrite_a_real_kubeconfig(tmp_path):
    precious = tmp_path / "config"
    precious.write_text("apiVersion: v1\nkind: Config\ncurrent-context: prod\n")
    result = run_cli("staging-incident", "--kubeconfig", str(precious))
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "was not written by runbooks serve; refusing to overwrite it" in result.stderr
    assert precious.read_text().endswith("current-context: prod\n")


@pytest.mark.parametrize("args, env, message", [
    (["/nonexistent/snapshot"], {}, "no such file or directory"),
    (["staging-incident", "--port", "70000"], {}, "--port 70000: must be between 0 and 65535"),
    (["staging-incident"], {"RUNBOOKS_SERVE_FAULTS": "[{"}, "RUNBOOKS_SERVE_FAULTS:"),
    (["staging-incident/manifests-fixed"], {}, "holds manifests, not a capture of a running cluster"),
])
def test_cli_bad_input_is_one_line_exit_2(args, env, message):
    result = run_cli(*args, env=env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()] and message in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_warns_before_exposing_the_snapshot_beyond_loopback():
    # 192.0.2.1 (TEST-NET-1) is never assigned locally: the warning prints, then the bind fails cleanly
    result = run_cli("staging-incident", "--host", "192.0.2.1")
    assert result.returncode == 2
    assert "warning: listening on 192.0.2.1: anyone who can reach this port can read the snapshot" in result.stderr
    assert "runbooks: error: cannot listen on 192.0.2.1:0" in result.stderr
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.1")


def test_serve_is_wired_into_the_runbooks_command():
    from runbooks_lib.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    if "serve" not in commands.choices:
        pytest.skip("`runbooks serve` is not wired into cli.py yet (serve_cli.add_parser)")
    args = parser.parse_args(["serve", "staging-incident", "--port", "0"])
    from runbooks_lib import serve_cli

    assert args.handler is serve_cli.run


def test_kubeconfig_can_be_rewritten_by_serve_itself(tmp_path):
    path = tmp_path / "replay"
    state = load("healthy")
    write_kubeconfig(path, "http://127.0.0.1:1", state)
    write_kubeconfig(path, "http://127.0.0.1:2", state)
    assert "http://127.0.0.1:2" in path.read_text() and Path(path).read_text().count("server:") == 1
