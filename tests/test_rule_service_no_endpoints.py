"""service-no-endpoints: selectors that match no pod, or only pods that are not Ready."""

from __future__ import annotations

import yaml

from builders import NS, deployment, pod, replicaset, running, service, state_of, terminated_state
from builders_workloads import endpoints, manifest_deployment, manifest_service, manifest_state
from runbooks_lib import registry
from runbooks_lib.detectors import _common
from runbooks_lib.findings import Finding
from runbooks_lib.registry import RegisteredDetector, Rule, load_detectors

RULE = "service-no-endpoints"


def detect(state):
    return list(load_detectors()[RULE].detect(state))


def _web(ready: bool, replicas: int = 2, labels=None):
    deploy = deployment("web", replicas=replicas, labels=labels)
    rs = replicaset(deploy, "5d4f8b7c9", 1, replicas, ready=replicas if ready else 0)
    pods = []
    for i in range(replicas):
        name = f"web-5d4f8b7c9-{i}abcd"
        if ready:
            pods.append(pod(name, owner=rs, ip=f"10.8.1.{10 + i}"))
        else:
            pods.append(pod(name, owner=rs, ip=f"10.8.1.{10 + i}", statuses=[
                running("app", ready=False, restarts=0)]))
    return deploy, rs, pods


def test_rule_is_static():
    rule = load_detectors()[RULE].rule
    assert rule.needs == frozenset() and rule.runbook == "services" and rule.severity == "critical"


def test_matching_pods_none_ready_is_critical_with_endpoints_evidence():
    deploy, rs, pods = _web(ready=False)
    svc = service("web", selector={"app": "web"})
    state = state_of(deploy, rs, *pods, svc, endpoints(svc, not_ready=pods))
    [finding] = detect(state)
    assert (finding.rule, finding.severity, finding.kind, finding.name, finding.namespace) == (
        RULE, "critical", "Service", "web", NS)
    assert finding.pods == ("web-5d4f8b7c9-0abcd", "web-5d4f8b7c9-1abcd")
    assert finding.summary.startswith("web has no ready endpoints: all 2 pods it selects (Deployment web) are not Ready")
    selector = next(e for e in finding.evidence if e.path == "spec.selector")
    assert selector.value == {"app": "web"}
    ep = next(e for e in finding.evidence if e.object == f"Endpoints {NS}/web")
    assert ep.path == "subsets[0].notReadyAddresses" and "0 ready addresses, 2 not ready" in ep.text
    assert "web-5d4f8b7c9-0abcd" in ep.text
    pod_evidence = next(e for e in finding.evidence if e.object == f"Pod {NS}/web-5d4f8b7c9-0abcd")
    assert pod_evidence.path == "status.conditions[0].status" and pod_evidence.value == "False"
    assert finding.remediation.command == f"kubectl describe pods -n {NS} -l app=web"


def test_none_ready_links_the_findings_on_the_selected_workload(monkeypatch):
    deploy, rs, pods = _web(ready=False)
    svc = service("web", selector={"app": "web"})
    cause = Finding(rule="test-readiness", severity="warning", namespace=NS, kind="Deployment", name="web",
                    summary="readiness probe fails with 503", pods=(pods[0]["metadata"]["name"],), container="app")
    load_detectors()
    monkeypatch.setitem(registry._REGISTRY, "test-readiness", RegisteredDetector(
        Rule(id="test-readiness", title="t", severity="warning", detects="", why="", example="", fix=""),
        lambda state: [cause], __name__))
    monkeypatch.setattr(_common, "RELATED_RULES", ("test-readiness",))
    [finding] = detect(state_of(deploy, rs, *pods, svc))
    assert finding.related == (cause.id,)
    assert "readiness probe fails with 503" in finding.remediation.text


def test_some_ready_pod_is_enough():
    deploy, rs, pods = _web(ready=False)
    pods.append(pod("web-5d4f8b7c9-ok123", owner=rs))
    assert detect(state_of(deploy, rs, *pods, service("web", selector={"app": "web"}))) == []


def test_publish_not_ready_addresses_gets_endpoints_anyway():
    deploy, rs, pods = _web(ready=False)
    svc = service("web-headless", selector={"app": "web"})
    svc["spec"].update(clusterIP="None", publishNotReadyAddresses=True)
    assert detect(state_of(deploy, rs, *pods, svc)) == []


def test_selector_matching_nothing_names_the_closest_workload_and_patches_the_selector():
    labels = {"app.kubernetes.io/name": "redis-session", "app.kubernetes.io/component": "sessions"}
    deploy = deployment("redis-session", labels=labels)
    rs = replicaset(deploy, "7f6d5c4b3", 1, 1)
    other = deployment("web")
    other_rs = replicaset(other, "5d4f8b7c9", 1, 1)
    svc = service("redis-session", selector={"app.kubernetes.io/name": "redis-session",
                                             "app.kubernetes.io/component": "cache"},
                  ports=[{"name": "redis", "port": 6379, "protocol": "TCP", "targetPort": 6379}])
    state = state_of(deploy, rs, pod("redis-session-7f6d5c4b3-aaaaa", owner=rs), other, other_rs,
                     pod("web-5d4f8b7c9-aaaaa", owner=other_rs), svc, endpoints(svc))
    [finding] = detect(state)
    assert finding.severity == "critical" and finding.pods == ()
    assert finding.summary.startswith(
        "redis-session has no endpoints: its selector app.kubernetes.io/name=redis-session,"
        "app.kubernetes.io/component=cache matches no pod in shop")
    assert "closest: Deployment redis-session, which has app.kubernetes.io/component=sessions" in finding.summary
    closest = next(e for e in finding.evidence if e.object == f"Deployment {NS}/redis-session")
    assert closest.path == "spec.template.metadata.labels" and closest.value == labels
    ep = next(e for e in finding.evidence if e.object == f"Endpoints {NS}/redis-session")
    assert ep.text == "Endpoints redis-session has no addresses"
    assert yaml.safe_load(finding.remediation.patch) == {"spec": {"selector": {"app.kubernetes.io/component": "sessions"}}}
    assert finding.remediation.patch_type == "merge"
    assert finding.remediation.command == f"kubectl patch service redis-session -n {NS} --type merge --patch-file fix.yaml"


def test_manifests_check_only_the_label_match(tmp_path):
    # Stand-in pods have no status: a matching Service is fine, a mismatching one is reported.
    state = manifest_state(tmp_path, manifest_deployment("web", replicas=2),
                           manifest_service("web", selector={"app": "web"}),
                           manifest_service("typo", selector={"app": "wbe"}))
    [finding] = detect(state)
    assert (finding.name, finding.severity, finding.discriminator) == ("typo", "critical", "no-match")
    assert finding.location.file == str(tmp_path / "manifests.yaml") and finding.location.path == "spec.selector"


def test_deployment_scaled_to_zero_is_a_warning(tmp_path):
    state = manifest_state(tmp_path, manifest_deployment("batch-api", replicas=0), manifest_deployment("web"),
                           manifest_service("batch-api"))
    [finding] = detect(state)
    assert finding.severity == "warning"
    assert "matches Deployment batch-api, which is scaled to 0" in finding.summary
    assert finding.remediation.command == f"kubectl scale deployment batch-api -n {NS} --replicas=1"


def test_only_finished_pods_match():
    job_pod = pod("migrate-x7k2p", labels={"app": "migrate"}, phase="Succeeded",
                  statuses=[{"name": "app", "ready": False, "restartCount": 0,
                             "state": terminated_state(0, "Completed")}])
    other = pod("web-1", labels={"app": "web"})
    [finding] = detect(state_of(job_pod, other, service("migrate", selector={"app": "migrate"})))
    assert finding.discriminator == "no-match"


def test_services_without_selector_or_external_name_are_skipped():
    manual = service("redis-session", selector=None, ports=[{"name": "redis", "port": 6379, "protocol": "TCP"}])
    external = service("db", selector={"app": "db"}, type_="ExternalName")
    external["spec"]["externalName"] = "db.example.internal"
    assert detect(state_of(manual, external, pod("web-1", labels={"app": "web"}))) == []


def test_namespace_without_pods_or_workloads_is_not_judged():
    assert detect(state_of(service("web", namespace="empty", selector={"app": "web"}),
                           pod("web-1", labels={"app": "web"}))) == []


def test_odd_data_does_not_raise():
    svc = service("odd", selector={"app": 1})
    svc2 = service("odd2", selector="app=web")
    p = pod("odd-pod", labels={"app": "1"})
    p["status"]["conditions"] = None
    p2 = pod("odd-pod-2")
    p2["metadata"]["labels"] = None
    findings = detect(state_of(svc, svc2, p, p2))
    assert [(f.name, f.discriminator) for f in findings] == [("odd", "none-ready")]



# -- the pod index the Service rules share ----------------------------------------------------------

def test_pods_by_namespace_selects_what_a_scan_of_every_pod_selects():
    def labelled(name, namespace=NS, phase="Running", **labels):
        return pod(name, namespace=namespace, phase=phase, labels=labels)

    unnamespaced = labelled("manifest-pod", app="web")
    del unnamespaced["metadata"]["namespace"]  # a manifest's: counts as "default", as kubectl would put it
    pods = [labelled("web-b", app="web", tier="front"), labelled("web-a", app="web", tier="back"),
            labelled("web-done", phase="Succeeded", app="web"), labelled("numbered", app="web", version=2),
            labelled("other-ns", namespace="elsewhere", app="web"), labelled("default-web", namespace="default", app="web"),
            unnamespaced, labelled("no-labels")]
    state = state_of(*pods)
    index = _common.PodsByNamespace(state)

    def scan(namespace, selector):  # what pods_in + matches did: every pod of the cluster, in state order
        return [p["metadata"]["name"] for p in state.of_kind("Pod")
                if (p["metadata"].get("namespace") or "default") == (namespace or "default")
                and _common.matches(selector, _common.labels_of(p)) and not _common.is_terminal(p)]

    cases = [(NS, {"app": "web"}), (NS, {"app": "web", "tier": "back"}), (NS, {"version": "2"}),
             (NS, {"app": "web", "tier": "none"}), (NS, {"absent": "x"}), ("elsewhere", {"app": "web"}),
             ("default", {"app": "web"}), (None, {"app": "web"})]
    for namespace, selector in cases:
        selected = [p["metadata"]["name"] for p in index.selected(namespace, selector)]
        assert selected == scan(namespace, selector), (namespace, selector)
    assert [p["metadata"]["name"] for p in index.selected(NS, {"app": "web"})] == ["web-b", "web-a", "numbered"]
    assert [p["metadata"]["name"] for p in index.selected(None, {"app": "web"})] == ["default-web", "manifest-pod"]
    assert [p["metadata"]["name"] for p in index.in_namespace("elsewhere")] == ["other-ns"]
    assert index.in_namespace("nowhere") == []


# -- odd data anywhere ----------------------------------------------------------------------------

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from builders_workloads import fuzzed_state  # noqa: E402

_ODD = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**6), st.text(max_size=8),
                 st.lists(st.none(), max_size=2), st.dictionaries(st.text(max_size=3), st.none(), max_size=2))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.lists(st.tuples(st.integers(0, 10**6), _ODD), min_size=1, max_size=6))
def test_fuzzed_fields_never_raise(choices):
    state = fuzzed_state(choices)
    assume(state is not None)
    for finding in detect(state):
        assert finding.rule == RULE and finding.summary
