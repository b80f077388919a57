"""The live source: GET-only reads, pagination, partial access, retries and budgets.

Unit tests run against ``FakeApiServer``, an in-process stand-in for the API server's
transport (it replaces the ApiClient's urllib3 pool manager, *under* the read-only
guard), built from a bundled example so objects are shaped as a real server returns
them. The end-to-end tests at the bottom run against ``runbooks_lib.serve`` over real
HTTP and are skipped while that module does not exist.
"""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from kubernetes import client as k8s_client

import runbooks_lib
from runbooks_lib.errors import InputError
from runbooks_lib.findings_json import findings_document
from runbooks_lib.registry import run_detectors
from runbooks_lib.sources import live
from runbooks_lib.sources.live import (ApiFailure, ReadOnlyViolation, Target, core_event_from_events_v1,
                                       open_api_client, read_cluster, require_live_choice)
from runbooks_lib.state import LOGS, METRICS, RUNTIME

EXAMPLE = "staging-incident"
APP_NS = "staging-mcp-server-langgraph"
ALL_EXAMPLE_NS = ["default", "kube-system", APP_NS]


# -- a fake API server at the transport level ----------------------------------------------------
class FakeResponse:
    def __init__(self, status: int, body: bytes | str | dict, headers: dict | None = None) -> None:
        self.status = status
        self.data = json.dumps(body).encode() if isinstance(body, dict) else (
            body.encode() if isinstance(body, str) else body)
        self.headers = dict(headers or {})


def status_body(code: int, reason: str, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class FakeApiServer:
    """Serves a ClusterState the way the API server does: typed lists without item kinds,
    limit/continue paging, pod logs with tailLines/limitBytes, and Status errors.

    ``faults`` are callables (path, query, call number for that path) -> FakeResponse | None,
    consulted before the normal answer; ``requests`` records every (method, path, query)."""

    def __init__(self, state, faults=(), metrics: bool = True, events_v1: bool = True) -> None:
        self.state = state
        self.faults = list(faults)
        self.metrics, self.events_v1 = metrics, events_v1
        self.requests: list[tuple[str, str, dict]] = []
        self.calls: dict[str, int] = {}

    # urllib3.PoolManager's interface, as the read-only guard and the REST client call it
    def request(self, method, url, headers=None, **kwargs):
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        self.requests.append((method, parts.path, query))
        self.calls[parts.path] = self.calls.get(parts.path, 0) + 1
        for fault in self.faults:
            answer = fault(parts.path, query, self.calls[parts.path])
            if answer is not None:
                return answer
        return self.answer(parts.path, query)

    def clear(self) -> None:
        pass

    # routing
    def answer(self, path: str, query: dict) -> FakeResponse:
        if path == "/version":
            return FakeResponse(200, {"major": "1", "minor": "30", "gitVersion": self.state.server_version or "v1.30.0"})
        if path == "/apis":
            versions = ["apps/v1", "batch/v1", "networking.k8s.io/v1", "autoscaling/v2"]
            versions += ["events.k8s.io/v1"] * self.events_v1 + ["metrics.k8s.io/v1beta1"] * self.metrics
            groups = [{"name": gv.split("/")[0], "versions": [{"groupVersion": gv, "version": gv.split("/")[1]}]}
                      for gv in versions]
            return FakeResponse(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        match = re.fullmatch(r"/api/v1/namespaces/([^/]+)/pods/([^/]+)/log", path)
        if match:
            return self.log(match[1], match[2], query)
        match = re.fullmatch(r"/api/v1/namespaces/([^/]+)", path)
        if match:
            return FakeResponse(200, namespace_object(match[1])) if match[1] in self.state.namespaces else \
                FakeResponse(404, status_body(404, "NotFound", f'namespaces "{match[1]}" not found'))
        for resource in [*live.NAMESPACED_RESOURCES, *live.CLUSTER_RESOURCES, live.NAMESPACES, live.EVENTS_V1]:
            if resource.group_version == "metrics.k8s.io/v1beta1" and not self.metrics:
                continue
            for namespace in [None, *self.state.namespaces]:
                if resource.path(namespace) == path and (namespace is None or resource.namespaced):
                    return self.list(resource, namespace, query)
        return FakeResponse(404, status_body(404, "NotFound", "the server could not find the requested resource"))

    def items(self, resource, namespace):
        if resource.kind == "Namespace":
            return [namespace_object(ns) for ns in self.state.namespaces]
        items = self.state.of_kind(resource.kind, namespace if resource.namespaced else None)
        if resource.group_version == "events.k8s.io/v1":
            items = [events_v1_from_core(item) for item in items]
        selector = self.selector(resource, self.query_selector)
        return [item for item in items if selector(item)]

    query_selector = None

    @staticmethod
    def selector(resource, text):
        if not text or not resource.selectable:
            return lambda item: True
        wanted = dict(part.split("=", 1) for part in text.split(","))
        return lambda item: all((item["metadata"].get("labels") or {}).get(k) == v for k, v in wanted.items())

    def list(self, resource, namespace, query) -> FakeResponse:
        self.query_selector = query.get("labelSelector")
        items = sorted(self.items(resource, namespace), key=lambda o: (o["metadata"].get("namespace") or "",
                                                                        o["metadata"]["name"]))
        start = int(query.get("continue") or 0)
        limit = int(query.get("limit") or len(items) or 1)
        page = items[start:start + limit]
        meta = {"resourceVersion": "48537791"}
        if start + limit < len(items):
            meta["continue"] = str(start + limit)
        stripped = [{k: v for k, v in item.items() if k not in ("kind", "apiVersion")} for item in page]
        return FakeResponse(200, {"kind": resource.kind + "List", "apiVersion": resource.group_version,
                                  "metadata": meta, "items": stripped})

    def log(self, namespace, pod, query) -> FakeResponse:
        container = query["container"]
        previous = query.get("previous") == "true"
        found = self.state.logs.get(namespace, pod, container, previous)
        if found is None or found.text.startswith(live.LOG_ERROR_PREFIX):
            message = (f'previous terminated container "{container}" in pod "{pod}" not found' if previous
                       else f'container "{container}" in pod "{pod}" is waiting to start: ContainerCreating')
            return FakeResponse(400, status_body(400, "BadRequest", message))
        lines = found.text.split("\n")[-int(query.get("tailLines") or 10**9):]
        body = ("\n".join(lines) + "\n").encode()
        return FakeResponse(200, body[:int(query.get("limitBytes") or len(body))], {"Content-Type": "text/plain"})


def namespace_object(name: str) -> dict:
    return {"kind": "Namespace", "apiVersion": "v1",
            "metadata": {"name": name, "uid": f"uid-ns-{name}", "resourceVersion": "1",
                         "creationTimestamp": "2025-01-01T00:00:00Z",
                         "labels": {"kubernetes.io/metadata.name": name}},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


def events_v1_from_core(event: dict) -> dict:
    """What the API server serves at events.k8s.io/v1 for a core/v1 event (the inverse conversion)."""
    renames = {"involvedObject": "regarding", "message": "note", "source": "deprecatedSource",
               "firstTimestamp": "deprecatedFirstTimestamp", "lastTimestamp": "deprecatedLastTimestamp",
               "count": "deprecatedCount", "reportingComponent": "reportingController"}
    out = {renames.get(k, k): v for k, v in event.items() if k not in ("kind", "apiVersion")}
    return {"kind": "Event", "apiVersion": "events.k8s.io/v1", **out}


def fault_on(pattern: str, status: int, reason: str, times: int | None = None, headers: dict | None = None,
             when=lambda query: True):
    """A fault answering ``status`` to matching requests (the first ``times`` of them, or always)."""
    fired = []

    def fault(path, query, call):
        if re.fullmatch(pattern, path) and when(query) and (times is None or len(fired) < times):
            fired.append(path)
            return FakeResponse(status, status_body(status, reason, f"{reason} on {path}"), headers)
        return None
    return fault


class FakeTime:
    """A monotonic clock that only sleep() moves (plus ``tick`` per read), for budgets and backoff."""

    def __init__(self, tick: float = 0.0) -> None:
        self.now, self.tick, self.sleeps = 0.0, tick, []

    def clock(self) -> float:
        self.now += self.tick
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def fake_client(server: FakeApiServer):
    api_client = k8s_client.ApiClient(k8s_client.Configuration(host="http://fake-apiserver.invalid"))
    api_client.rest_client.pool_manager = server  # the guard wraps this, as it wraps the real pool
    return api_client


TARGET = Target("context fake", "fake", "fake-cluster", "default")


def read_fake(server: FakeApiServer, fake_time: FakeTime | None = None, **options):
    fake_time = fake_time or FakeTime()
    options.setdefault("namespaces", ALL_EXAMPLE_NS)
    return read_cluster(fake_client(server), TARGET, sleep=fake_time.sleep, rand=lambda: 0.5,
                        clock=fake_time.clock, **options)


def sorted_json(items) -> list[str]:
    return sorted(json.dumps(item, sort_keys=True) for item in items)


@pytest.fixture(scope="module")
def example():
    return runbooks_lib.load(EXAMPLE)


@pytest.fixture(scope="module")
def example_read(example):
    server = FakeApiServer(example)
    return server, read_fake(server, page_size=7)


# -- what is read ----------------------------------------------------------------------------------
def test_objects_come_out_exactly_as_the_example_snapshot_holds_them(example, example_read):
    _, state = example_read
    for kind in example.kinds:
        assert sorted_json(state.of_kind(kind)) == sorted_json(example.of_kind(kind)), kind
    assert set(state.kinds) - set(example.kinds) == {"Namespace"}
    assert [o["metadata"]["name"] for o in state.of_kind("Namespace")] == ALL_EXAMPLE_NS
    assert all(o["kind"] == "Pod" and o["apiVersion"] == "v1" for o in state.of_kind("Pod"))


def test_metadata_and_capabilities(example_read):
    _, state = example_read
    assert state.source == "context fake" and state.context == "fake" and state.cluster == "fake-cluster"
    assert state.server_version == "v1.30.5-gke.1014001"
    assert state.namespaces_read == ALL_EXAMPLE_NS
    assert state.captured_at is not None and state.captured_at.tzinfo is not None
    assert state.capabilities == {RUNTIME, LOGS, METRICS}
    assert state.errors == [] and not state.partial


def test_current_logs_for_every_container_and_previous_only_where_restarted(example, example_read):
    _, state = example_read
    for pod in state.of_kind("Pod"):
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        restarted = {s["name"] for s in pod["status"].get("containerStatuses", [])
                     if s.get("restartCount") or (s.get("lastState") or {}).get("terminated")}
        for container in [c["name"] for c in pod["spec"]["containers"]]:
            expected = example.logs.get(ns, name, container)
            got = state.logs.get(ns, name, container)
            assert got is not None and got.text == (expected.text if expected else got.text)
            previous = state.logs.get(ns, name, container, previous=True)
            if container in restarted:
                assert previous.text == example.logs.get(ns, name, container, previous=True).text
            else:
                assert previous is None
    crashed = state.logs.get(APP_NS, "staging-keycloak-5847455794-txkc6", "keycloak", previous=True)
    assert "Failed to start application" in crashed.text


def test_a_missing_previous_log_keeps_the_servers_error_like_kubectl(example):
    # The first container that restarted loses its previous log: a 400, which is normal.
    def no_previous(path, query, call):
        if query.get("previous") == "true" and query.get("container") == "keycloak":
            return FakeResponse(400, status_body(400, "BadRequest",
                                                 'previous terminated container "keycloak" in pod "x" not found'))
        return None
    state = read_fake(FakeApiServer(example, faults=[no_previous]), namespaces=[APP_NS])
    log = state.logs.get(APP_NS, "staging-keycloak-5847455794-txkc6", "keycloak", previous=True)
    assert log.text == 'Request log error: previous terminated container "keycloak" in pod "x" not found'
    assert state.errors == []  # a 400 is not an access problem


def test_only_get_requests_are_sent_during_a_whole_load(example_read):
    server, _ = example_read
    assert len(server.requests) > 50
    assert {method for method, _, _ in server.requests} == {"GET"}
    assert not any("/secrets" in path for _, path, _ in server.requests)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
def test_the_guard_refuses_every_other_method_before_it_is_sent(example, method):
    server = FakeApiServer(example)
    api_client = live.guard_read_only(fake_client(server))
    with pytest.raises(ReadOnlyViolation):
        api_client.rest_client.request(method, "http://fake-apiserver.invalid/api/v1/namespaces/default/pods",
                                       headers={"Content-Type": "application/json"}, body={})
    assert server.requests == []


@pytest.mark.parametrize("path", ["/api/v1/secrets", "/api/v1/namespaces/default/secrets",
                                  "/api/v1/namespaces/default/secrets/db-password", "/k8s/proxy/api/v1/secrets",
                                  "/api/v1/watch/secrets", "/api/v1/namespaces/default/%73ecrets",
                                  "/api/v1/namespaces/default/%2573ecrets", "//api/v1//secrets",
                                  "/api/v1/namespaces/default/pods/../secrets/x", "/api/v1/./secrets"])
def test_the_guard_refuses_secrets_even_for_get(example, path):
    server = FakeApiServer(example)
    api_client = live.guard_read_only(fake_client(server))
    with pytest.raises(ReadOnlyViolation, match="Secrets are never read"):
        api_client.rest_client.pool_manager.request("GET", "http://fake-apiserver.invalid" + path)
    assert server.requests == []


def test_a_namespace_called_secrets_is_still_readable():
    live._check_read_only("GET", "https://k8s/api/v1/namespaces/secrets/pods")
    live._check_read_only("GET", "https://k8s/api/v1/namespaces/secrets")


def test_pagination_follows_continue_tokens(example_read, example):
    server, state = example_read
    pages = [q for _, path, q in server.requests if path == f"/api/v1/namespaces/{APP_NS}/events"]
    assert len(pages) == -(-len(example.of_kind("Event", APP_NS)) // 7)  # 87 events, 7 a page
    assert all(q["limit"] == "7" for q in pages) and "continue" not in pages[0]


def test_an_expired_continue_token_restarts_the_list_without_duplicates(example):
    expired = fault_on(rf"/api/v1/namespaces/{APP_NS}/events", 410, "Expired", times=3,
                       when=lambda query: "continue" in query)
    server = FakeApiServer(example, faults=[expired])
    state = read_fake(server, namespaces=[APP_NS], page_size=20)
    assert sorted_json(state.of_kind("Event")) == sorted_json(example.of_kind("Event", APP_NS))
    assert state.errors == []
    first_pages = [q for _, p, q in server.requests if p.endswith(f"{APP_NS}/events") and "continue" not in q]
    assert len(first_pages) == 4  # three expiries, three clean restarts


def test_a_continue_token_that_keeps_expiring_is_a_resource_error(example):
    expired = fault_on(rf"/api/v1/namespaces/{APP_NS}/events", 410, "Expired", when=lambda q: "continue" in q)
    state = read_fake(FakeApiServer(example, faults=[expired]), namespaces=[APP_NS], page_size=20)
    assert state.of_kind("Event") == []
    assert [(e.resource, e.namespace, e.code, e.reason) for e in state.errors] == [("events", APP_NS, 410, "Expired")]


# -- partial access ------------------------------------------------------------------------------------
def test_a_forbidden_resource_is_recorded_and_the_load_goes_on(example):
    forbidden = fault_on(rf"/apis/networking.k8s.io/v1/namespaces/{APP_NS}/networkpolicies", 403, "Forbidden")
    state = read_fake(FakeApiServer(example, faults=[forbidden]))
    assert [(e.resource, e.namespace, e.code, e.reason) for e in state.errors] == \
        [("networkpolicies", APP_NS, 403, "Forbidden")]
    assert state.of_kind("NetworkPolicy", APP_NS) == []
    assert len(state.of_kind("Pod", APP_NS)) == len(example.of_kind("Pod", APP_NS))
    assert state.partial
    document = findings_document(state, run_detectors(state))
    assert document["partial"] is True and document["errors"][0]["code"] == 403


def test_a_forbidden_namespace_is_recorded_and_the_others_are_read(example):
    forbidden = fault_on(r"/api/v1/namespaces/kube-system(/.*)?|/apis/[^/]+/[^/]+/namespaces/kube-system/.*",
                         403, "Forbidden")
    state = read_fake(FakeApiServer(example, faults=[forbidden]))
    assert {e.namespace for e in state.errors} == {"kube-system"}
    assert {e.code for e in state.errors} == {403}
    assert state.of_kind("Pod", "kube-system") == []
    assert len(state.of_kind("Pod", APP_NS)) == 9
    assert state.namespaces_read == ALL_EXAMPLE_NS


def test_forbidden_core_events_are_read_from_events_k8s_io_in_the_core_shape(example):
    forbidden = fault_on(r"/api/v1/namespaces/[^/]+/events", 403, "Forbidden")
    state = read_fake(FakeApiServer(example, faults=[forbidden]), namespaces=[APP_NS])
    assert state.errors == []
    assert sorted_json(state.of_kind("Event")) == sorted_json(example.of_kind("Event", APP_NS))
    frame = state.frames.events
    expected = example.restricted_to([APP_NS]).frames.events
    assert frame[["reason", "count", "last_seen", "object_name"]].equals(expected[["reason", "count", "last_seen",
                                                                                   "object_name"]])
    assert any("events.k8s.io/v1" in warning for warning in state.warnings)


def test_events_forbidden_in_both_apis_is_one_error_and_runtime_stays(example):
    forbidden = fault_on(r"/apis?(/events.k8s.io/v1)?(/v1)?/namespaces/[^/]+/events", 403, "Forbidden")
    state = read_fake(FakeApiServer(example, faults=[forbidden]), namespaces=[APP_NS])
    assert [(e.resource, e.code) for e in state.errors] == [("events", 403)]
    assert RUNTIME in state.capabilities and state.of_kind("Event") == []


def test_forbidden_nodes_and_a_cluster_without_metrics(example):
    forbidden = fault_on(r"/api/v1/nodes", 403, "Forbidden")
    state = read_fake(FakeApiServer(example, faults=[forbidden], metrics=False), namespaces=[APP_NS])
    assert [(e.resource, e.namespace, e.code) for e in state.errors] == [("nodes", None, 403)]
    assert METRICS not in state.capabilities
    assert state.of_kind("PodMetrics") == [] and state.of_kind("NodeMetrics") == []


def test_a_namespace_that_does_not_exist_is_a_warning_and_an_error(example):
    state = read_fake(FakeApiServer(example), namespaces=[APP_NS, "nope"])
    assert state.namespaces_read == [APP_NS]
    assert [(e.resource, e.namespace, e.code) for e in state.errors] == [("namespaces", "nope", 404)]
    assert any("namespace nope does not exist" in w for w in state.warnings)


def test_forbidden_logs_keep_kubectls_error_text_and_are_one_error_per_namespace(example):
    forbidden = fault_on(r".*/log", 403, "Forbidden")
    state = read_fake(FakeApiServer(example, faults=[forbidden]), namespaces=[APP_NS])
    assert [(e.resource, e.namespace, e.code) for e in state.errors] == [("pods/log", APP_NS, 403)]
    log = state.logs.get(APP_NS, "staging-qdrant-567d6fdb54-8gsr4", "qdrant")
    assert log.text.startswith("Request log error: Forbidden on /api/v1/namespaces/")


def test_all_namespaces_reads_cluster_wide_lists(example):
    server = FakeApiServer(example)
    state = read_fake(server, namespaces=None, all_namespaces=True)
    assert state.namespaces_read == ALL_EXAMPLE_NS
    assert sorted_json(state.of_kind("Pod")) == sorted_json(example.of_kind("Pod"))
    paths = {path for _, path, _ in server.requests}
    assert "/api/v1/pods" in paths and "/api/v1/namespaces" in paths
    assert not any(re.fullmatch(r"/api/v1/namespaces/[^/]+/pods", p) for p in paths)


def test_the_default_namespace_is_the_contexts(example):
    server = FakeApiServer(example)
    state = read_cluster(fake_client(server), Target("context fake", "fake", "c", APP_NS), sleep=lambda s: None)
    assert state.namespaces_read == [APP_NS]
    assert {o["metadata"]["namespace"] for o in state.of_kind("Pod")} == {APP_NS}


def test_a_label_selector_applies_to_pods_and_workloads_only(example):
    server = FakeApiServer(example)
    state = read_fake(server, namespaces=[APP_NS], selector="app=keycloak")
    assert {p["metadata"]["labels"]["app"] for p in state.of_kind("Pod")} == {"keycloak"}
    assert len(state.of_kind("Service")) == len(example.of_kind("Service", APP_NS))
    selected = {path.rsplit("/", 1)[-1] for _, path, q in server.requests if q.get("labelSelector") == "app=keycloak"}
    assert selected == {"pods", "deployments", "replicasets", "daemonsets", "statefulsets", "jobs", "cronjobs",
                        "replicationcontrollers"}


def test_a_selector_the_server_rejects_is_an_input_error(example):
    bad = fault_on(r".*/pods", 400, "BadRequest", when=lambda q: "labelSelector" in q)
    with pytest.raises(InputError, match="label selector 'app=='"):
        read_fake(FakeApiServer(example, faults=[bad]), namespaces=[APP_NS], selector="app==")


# -- faults, retries and budgets -------------------------------------------------------------------------
def test_429_is_retried_after_the_servers_retry_after(example):
    throttled = fault_on(rf"/api/v1/namespaces/{APP_NS}/pods", 429, "TooManyRequests", times=2,
                         headers={"Retry-After": "3"})
    fake_time = FakeTime()
    state = read_fake(FakeApiServer(example, faults=[throttled]), fake_time, namespaces=[APP_NS])
    assert state.errors == [] and len(state.of_kind("Pod")) == 9
    assert fake_time.sleeps == [3.0, 3.0]  # the backoff (0.5 s, 1 s) is shorter than Retry-After


def test_500_is_retried_with_exponential_backoff_then_succeeds(example):
    failing = fault_on(rf"/apis/apps/v1/namespaces/{APP_NS}/deployments", 500, "InternalError", times=3)
    fake_time = FakeTime()
    state = read_fake(FakeApiServer(example, faults=[failing]), fake_time, namespaces=[APP_NS])
    assert state.errors == [] and len(state.of_kind("Deployment")) == 4
    assert fake_time.sleeps == [0.5, 1.0, 2.0]  # rand() = 0.5: jitter factor 1.0


def test_backoff_jitter_stays_within_half_and_one_and_a_half_of_the_base():
    api = live.ApiGetter.__new__(live.ApiGetter)
    for rand, expected in ((0.0, 2.0), (0.999, 5.996)):
        api.rand = lambda value=rand: value
        assert api.backoff(4, None) == pytest.approx(expected)  # base 4 s
    api.rand = lambda: 0.0
    assert api.backoff(20, None) == live.BACKOFF_MAX_SECONDS * 0.5
    assert api.backoff(1, 7.0) == 7.0


def test_a_persisting_503_leaves_a_partial_result_not_a_crash(example):
    failing = fault_on(rf"/apis/batch/v1/namespaces/{APP_NS}/jobs", 503, "ServiceUnavailable")
    fake_time = FakeTime()
    server = FakeApiServer(example, faults=[failing])
    state = read_fake(server, fake_time, namespaces=[APP_NS])
    assert [(e.resource, e.code, e.reason) for e in state.errors] == [("jobs", 503, "ServiceUnavailable")]
    assert server.calls[f"/apis/batch/v1/namespaces/{APP_NS}/jobs"] == live.MAX_ATTEMPTS
    assert len(state.of_kind("Pod")) == 9


def test_a_non_status_error_body_still_gives_a_clear_error(example):
    def html_502(path, query, call):
        return FakeResponse(502, "<html>bad gateway</html>") if path.endswith("/services") else None
    state = read_fake(FakeApiServer(example, faults=[html_502]), namespaces=[APP_NS])
    [error] = state.errors
    assert (error.resource, error.code, error.reason) == ("services", 502, "BadGateway")
    assert "<html>bad gateway</html>" in error.message


def test_the_time_budget_stops_the_load_with_a_partial_result(example):
    fake_time = FakeTime(tick=1.0)  # every clock read is a second later
    state = read_fake(FakeApiServer(example), fake_time, namespaces=[APP_NS], budget_seconds=20)
    reasons = {e.reason for e in state.errors}
    assert reasons == {"BudgetExceeded"}
    assert state.partial and "the 20 s time budget ran out" in state.errors[0].message
    assert len(state.of_kind("Pod")) == 9  # what was read before the deadline is kept


def test_a_retry_that_would_overrun_the_budget_is_not_slept(example):
    throttled = fault_on(r".*/pods", 429, "TooManyRequests", headers={"Retry-After": "120"})
    fake_time = FakeTime()
    state = read_fake(FakeApiServer(example, faults=[throttled]), fake_time, namespaces=[APP_NS], budget_seconds=60)
    assert fake_time.sleeps == []
    [error] = [e for e in state.errors if e.resource == "pods"]
    assert error.code == 429 and "would exceed the 60 s time budget" in error.message


def test_an_unreachable_server_is_one_clear_input_error():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api_client = k8s_client.ApiClient(k8s_client.Configuration(host=f"http://127.0.0.1:{port}"))
    with pytest.raises(InputError, match=f"cannot reach the API server at http://127.0.0.1:{port}"):
        read_cluster(api_client, TARGET, sleep=lambda s: None, request_timeout=(1, 1))


def test_rejected_credentials_are_one_clear_input_error(example):
    unauthorized = fault_on(r"/version", 401, "Unauthorized")
    with pytest.raises(InputError, match=r"rejected the credentials of context fake \(401"):
        read_fake(FakeApiServer(example, faults=[unauthorized]))


def test_retry_after_parsing():
    assert live.parse_retry_after("2") == 2.0
    assert live.parse_retry_after(None) is None and live.parse_retry_after("soon") is None
    assert live.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: now


# -- logs --------------------------------------------------------------------------------------------------
def test_a_log_over_the_byte_cap_is_refetched_so_its_tail_is_kept(example):
    server = FakeApiServer(example)
    state = read_fake(server, namespaces=[APP_NS], log_bytes=2000)
    full = example.logs.get(APP_NS, "staging-keycloak-5847455794-txkc6", "keycloak", previous=True).text
    got = state.logs.get(APP_NS, "staging-keycloak-5847455794-txkc6", "keycloak", previous=True).text
    assert len(got.encode()) < 2000 and full.endswith(got)  # the end, where the crash is
    refetches = [q for _, p, q in server.requests if p.endswith("txkc6/log") and q.get("previous") == "true"]
    assert len(refetches) >= 2 and int(refetches[-1]["tailLines"]) < int(refetches[0]["tailLines"])


def test_log_requests_carry_the_tail_and_byte_caps(example_read):
    server, _ = example_read
    logs = [q for _, p, q in server.requests if p.endswith("/log")]
    assert logs and all(q["tailLines"] == str(live.DEFAULT_LOG_TAIL_LINES) and
                        q["limitBytes"] == str(live.DEFAULT_LOG_BYTES) for q in logs)


# -- events conversion -----------------------------------------------------------------------------------
def test_an_events_v1_event_converts_to_the_core_shape_frames_read():
    event = {"kind": "Event", "apiVersion": "events.k8s.io/v1",
             "metadata": {"name": "web.1", "namespace": "shop", "creationTimestamp": "2025-11-06T16:00:00Z"},
             "eventTime": None, "reportingController": "kubelet", "reportingInstance": "node-1",
             "action": None, "reason": "BackOff", "type": "Warning",
             "regarding": {"kind": "Pod", "namespace": "shop", "name": "web", "fieldPath": "spec.containers{app}"},
             "note": "Back-off restarting failed container app", "deprecatedSource": {"component": "kubelet"},
             "deprecatedFirstTimestamp": "2025-11-06T16:00:00Z", "deprecatedLastTimestamp": "2025-11-06T16:30:00Z",
             "deprecatedCount": 42}
    core = core_event_from_events_v1(event)
    assert core == {"kind": "Event", "apiVersion": "v1", "metadata": event["metadata"], "eventTime": None,
                    "action": None, "reportingComponent": "kubelet", "reportingInstance": "node-1", "reason": "BackOff",
                    "type": "Warning", "involvedObject": event["regarding"], "message": event["note"],
                    "source": {"component": "kubelet"}, "firstTimestamp": "2025-11-06T16:00:00Z",
                    "lastTimestamp": "2025-11-06T16:30:00Z", "count": 42}
    series = core_event_from_events_v1({"metadata": {"name": "s"}, "eventTime": "2025-11-06T16:00:00.000000Z",
                                        "series": {"count": 7, "lastObservedTime": "2025-11-06T16:10:00.000000Z"}})
    assert series["series"]["count"] == 7 and series["eventTime"].startswith("2025-11-06T16:00")


# -- choosing a cluster ---------------------------------------------------------------------------------------
def test_no_cluster_chosen_says_how_to_choose():
    with pytest.raises(InputError) as info:
        require_live_choice(None, False)
    assert "--context NAME" in str(info.value) and "kubectl config get-contexts" in str(info.value)
    assert "--in-cluster" in str(info.value)
    with pytest.raises(InputError, match="not both"):
        require_live_choice("prod", True)
    with pytest.raises(InputError, match="no cluster chosen"):
        live.load_live(namespaces=["default"])


def write_kubeconfig(path: Path, server: str, contexts=("fake",), namespace: str | None = None) -> Path:
    import yaml

    context_entries = [{"name": name, "context": {"cluster": f"{name}-cluster", "user": "reader",
                                                  **({"namespace": namespace} if namespace else {})}}
                       for name in contexts]
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": contexts[0],
        "clusters": [{"name": f"{name}-cluster", "cluster": {"server": server}} for name in contexts],
        "users": [{"name": "reader", "user": {"token": "read-only-token"}}],
        "contexts": context_entries}))
    return path


def test_an_unknown_context_lists_the_known_ones(tmp_path):
    kubeconfig = write_kubeconfig(tmp_path / "config", "http://127.0.0.1:1", contexts=("staging", "prod"))
    with pytest.raises(InputError, match=r"context 'dev' is not in .*known: prod, staging"):
        open_api_client("dev", kubeconfig=str(kubeconfig))


def test_a_missing_kubeconfig_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        open_api_client("fake", kubeconfig=str(tmp_path / "absent"))


def test_a_kubeconfig_without_a_current_context_works_with_an_explicit_one(tmp_path):
    import yaml

    kubeconfig = write_kubeconfig(tmp_path / "config", "http://127.0.0.1:1", contexts=("staging", "prod"))
    config = yaml.safe_load(kubeconfig.read_text())
    del config["current-context"]
    kubeconfig.write_text(yaml.safe_dump(config))
    _, target = open_api_client("prod", kubeconfig=str(kubeconfig))
    assert target.cluster == "prod-cluster"


def test_an_unparsable_kubeconfig_is_one_clear_error(tmp_path):
    (tmp_path / "config").write_text("clusters: [unclosed")
    with pytest.raises(InputError, match="cannot read the kubeconfig"):
        open_api_client("fake", kubeconfig=str(tmp_path / "config"))


def test_in_cluster_outside_a_pod_is_an_input_error(monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(InputError, match="--in-cluster: not running in a pod"):
        open_api_client(in_cluster=True)


def test_a_context_gives_a_guarded_client_with_its_token_and_target(tmp_path, example):
    kubeconfig = write_kubeconfig(tmp_path / "config", "http://fake-apiserver.invalid", namespace=APP_NS)
    api_client, target = open_api_client("fake", kubeconfig=str(kubeconfig))
    assert target == Target("context fake", "fake", "fake-cluster", APP_NS)
    assert isinstance(api_client.rest_client.pool_manager, live.ReadOnlyPoolManager)
    server = FakeApiServer(example)
    api_client.rest_client.pool_manager._inner = server
    getter = live.ApiGetter(api_client, live.Budget(10))
    getter.get("/version")
    assert server.requests == [("GET", "/version", {})]


@pytest.mark.parametrize("namespaces, message", [(["Bad_Name"], "not a valid namespace name"),
                                                 (["../etc"], "not a valid namespace name")])
def test_bad_namespace_names_are_refused_before_any_request(example, namespaces, message):
    server = FakeApiServer(example)
    with pytest.raises(InputError, match=message):
        read_fake(server, namespaces=namespaces)
    assert server.requests == []


def test_namespaces_may_be_comma_separated():
    assert live._check_namespaces(["a,b", "b", " c "]) == ["a", "b", "c"]


def test_api_failure_carries_code_reason_and_message():
    failure = live.failure_from_response(403, json.dumps(status_body(403, "Forbidden", "pods is forbidden")).encode(),
                                         "/api/v1/pods")
    assert (failure.code, failure.reason, failure.message) == (403, "Forbidden", "pods is forbidden")
    assert isinstance(failure, ApiFailure)


def test_a_forbidden_version_is_a_warning_not_a_partial_capture(example):
    state = read_fake(FakeApiServer(example, faults=[fault_on(r"/version", 403, "Forbidden")]), namespaces=[APP_NS])
    assert state.server_version is None and not state.partial
    assert "server version unknown: GET /version answered 403 Forbidden" in state.warnings


# -- end to end: over HTTP against runbooks_lib.serve (needs that module) ---------------------------------
@pytest.fixture
def served(tmp_path):
    """A factory: serve the example with faults; yields (kubeconfig, request log lines "CODE METHOD URI ms")."""
    serve = pytest.importorskip("runbooks_lib.serve")
    from contextlib import contextmanager

    @contextmanager
    def start(faults=(), source=EXAMPLE):
        requests: list[str] = []
        with serve.serve_in_background(source, faults=list(faults), request_log=requests.append) as url:
            yield write_kubeconfig(tmp_path / "kubeconfig", url), requests
    return start


def read_served(kubeconfig: Path, fake_time: FakeTime | None = None, **options):
    """The live source over HTTP, with an injected clock and sleep so backoffs cost no real time."""
    fake_time = fake_time or FakeTime()
    api_client, target = open_api_client("fake", kubeconfig=str(kubeconfig))
    options.setdefault("namespaces", ALL_EXAMPLE_NS)
    try:
        return read_cluster(api_client, target, sleep=fake_time.sleep, rand=lambda: 0.5, clock=fake_time.clock,
                            **options)
    finally:
        api_client.rest_client.pool_manager.clear()


def methods_of(requests: list[str]) -> set[str]:
    return {line.split()[1] for line in requests}


def test_e2e_the_example_is_read_over_http_with_get_requests_only(served, example):
    with served() as (kubeconfig, requests):
        state = live.load_live(context="fake", kubeconfig=str(kubeconfig), namespaces=ALL_EXAMPLE_NS)
    assert len(requests) > 50 and methods_of(requests) == {"GET"}
    assert not any("secrets" in line for line in requests)
    for kind in example.kinds:
        assert sorted_json(state.of_kind(kind)) == sorted_json(example.of_kind(kind)), kind
    assert state.server_version == example.server_version and state.errors == []


def test_e2e_the_guard_stops_other_methods_before_the_server_sees_them(served):
    with served() as (kubeconfig, requests):
        api_client, _ = open_api_client("fake", kubeconfig=str(kubeconfig))
        url = api_client.configuration.host + "/api/v1/namespaces/default/pods"
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            with pytest.raises(ReadOnlyViolation):
                api_client.rest_client.request(method, url, headers={"Content-Type": "application/json"}, body={})
        live.ApiGetter(api_client, live.Budget(10)).get("/version")
    assert [line.split()[:2] for line in requests] == [["200", "GET"]]


def test_e2e_403_on_a_resource_and_on_a_namespace(served):
    from runbooks_lib.serve import Fault

    faults = [Fault("forbidden", path=f"/namespaces/{APP_NS}/networkpolicies$"),
              Fault("forbidden", path="/namespaces/kube-system(/|$)")]
    with served(faults) as (kubeconfig, _):
        state = read_served(kubeconfig)
    errors = {(e.resource, e.namespace, e.code, e.reason) for e in state.errors}
    assert ("networkpolicies", APP_NS, 403, "Forbidden") in errors
    assert {e.namespace for e in state.errors} == {APP_NS, "kube-system"}
    assert all(e.code == 403 for e in state.errors)
    assert state.of_kind("Pod", "kube-system") == [] and len(state.of_kind("Pod", APP_NS)) == 9
    assert "cannot list resource" in next(e.message for e in state.errors if e.resource == "networkpolicies")
    assert state.partial


def test_e2e_an_expired_continue_token_restarts_the_list(served, example):
    from runbooks_lib.serve import Fault

    with served([Fault("expire", path=f"/namespaces/{APP_NS}/events$", times=2)]) as (kubeconfig, requests):
        state = read_served(kubeconfig, namespaces=[APP_NS], page_size=25)
    assert state.errors == []
    assert sorted_json(state.of_kind("Event")) == sorted_json(example.of_kind("Event", APP_NS))
    assert sum(line.startswith("410 GET") for line in requests) == 2


def test_e2e_429_waits_for_retry_after(served):
    from runbooks_lib.serve import Fault

    fake_time = FakeTime()
    with served([Fault("throttle", path=f"/namespaces/{APP_NS}/pods$", times=2, retry_after=4)]) as (kubeconfig, _):
        state = read_served(kubeconfig, fake_time, namespaces=[APP_NS])
    assert state.errors == [] and len(state.of_kind("Pod")) == 9
    assert fake_time.sleeps == [4.0, 4.0]


def test_e2e_500_is_retried_then_succeeds(served):
    from runbooks_lib.serve import Fault

    fake_time = FakeTime()
    with served([Fault("error", path="/deployments$", times=2)]) as (kubeconfig, requests):
        state = read_served(kubeconfig, fake_time, namespaces=[APP_NS])
    assert state.errors == [] and len(state.of_kind("Deployment")) == 4
    assert fake_time.sleeps == [0.5, 1.0]
    assert sum(line.startswith("500 GET") for line in requests) == 2


def test_e2e_a_persisting_500_leaves_a_partial_result(served):
    from runbooks_lib.serve import Fault

    with served([Fault("error", path="/statefulsets$"), Fault("error", code=503, path="/nodes$")]) as (kubeconfig, _):
        state = read_served(kubeconfig, namespaces=[APP_NS])
    assert {(e.resource, e.code, e.reason) for e in state.errors} == {
        ("statefulsets", 500, "InternalError"), ("nodes", 503, "ServiceUnavailable"),
        ("nodes.metrics.k8s.io", 503, "ServiceUnavailable")}
    assert len(state.of_kind("Pod")) == 9 and state.partial


def test_e2e_a_server_slower_than_the_read_timeout_is_a_partial_result(served):
    from runbooks_lib.serve import Fault

    with served([Fault("delay", path="/cronjobs$", seconds=0.6)]) as (kubeconfig, _):
        state = read_served(kubeconfig, namespaces=[APP_NS], request_timeout=(2, 0.2))
    [error] = state.errors
    assert (error.resource, error.code, error.reason) == ("cronjobs", None, "ReadTimeoutError")
    assert len(state.of_kind("Pod")) == 9


def test_e2e_events_through_events_k8s_io_when_core_events_are_forbidden(served, example):
    from runbooks_lib.serve import Fault

    with served([Fault("forbidden", path=r"^/api/v1/namespaces/[^/]+/events$")]) as (kubeconfig, _):
        state = read_served(kubeconfig, namespaces=[APP_NS])
    assert state.errors == []
    columns = ["reason", "type", "count", "first_seen", "last_seen", "object_kind", "object_name", "message"]
    expected = example.restricted_to([APP_NS]).frames.events[columns]
    assert state.frames.events[columns].equals(expected)
