"""service-duplicate-port: repeated Service port names/ports and repeated container port names."""

from __future__ import annotations

import yaml

from builders import NS, container, deployment, pod, replicaset, service, state_of
from builders_workloads import manifest_deployment, manifest_service, manifest_state
from runbooks_lib.registry import load_detectors

RULE = "service-duplicate-port"


def detect(state):
    return list(load_detectors()[RULE].detect(state))


def _redis_session(ports):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "staging-redis-session", "namespace": NS,
                         "labels": {"app.kubernetes.io/name": "redis-session"}},
            "spec": {"ports": ports}}


def test_rule_is_static_and_critical():
    rule = load_detectors()[RULE].rule
    assert rule.needs == frozenset() and rule.severity == "critical" and rule.runbook == "services"
    assert 'spec.ports[1].name: Duplicate value: "redis"' in rule.example


def test_kustomize_merge_leaving_two_redis_ports(tmp_path):
    # What the staging overlay rendered: the patch's 6378 entry merged next to the base's 6379 entry.
    svc = _redis_session([{"name": "redis", "port": 6378, "targetPort": 6378},
                          {"name": "redis", "port": 6379, "targetPort": 6379}])
    state = manifest_state(tmp_path, svc)
    [finding] = detect(state)
    assert (finding.rule, finding.severity, finding.kind, finding.namespace, finding.name) == (
        RULE, "critical", "Service", NS, "staging-redis-session")
    assert 'spec.ports[1].name: Duplicate value: "redis"' in finding.summary
    paths = {e.path: e.value for e in finding.evidence if e.source == "field"}
    assert paths["spec.ports[0].name"] == "redis" and paths["spec.ports[1].name"] == "redis"
    assert yaml.safe_load(finding.remediation.patch) == [
        {"op": "replace", "path": "/spec/ports/1/name", "value": "redis-6379"}]
    assert finding.remediation.patch_type == "json"
    assert finding.remediation.target == f"Service {NS}/staging-redis-session"
    assert finding.remediation.command == f"kubectl patch service staging-redis-session -n {NS} --type json --patch-file fix.yaml"
    assert finding.location.file == str(tmp_path / "manifests.yaml")
    assert finding.location.line == 1 and finding.location.path == "spec.ports[1].name"


def test_same_port_and_protocol_under_two_names():
    svc = manifest_service("web", ports=[{"name": "http", "port": 80, "targetPort": 8080},
                                         {"name": "web", "port": 80, "targetPort": 8081}])
    [finding] = detect(state_of(svc, capabilities=set()))
    assert 'spec.ports[1]: Duplicate value: {"port": 80, "protocol": "TCP"}' in finding.summary
    assert yaml.safe_load(finding.remediation.patch) == [{"op": "remove", "path": "/spec/ports/1"}]
    assert {e.path for e in finding.evidence} >= {"spec.ports[0]", "spec.ports[1]"}


def test_a_repeated_entry_is_one_finding():
    entry = {"name": "http", "port": 80, "targetPort": "http"}
    [finding] = detect(state_of(manifest_service("web", ports=[entry, dict(entry)]), capabilities=set()))
    assert "repeats the first one" in finding.remediation.text
    assert yaml.safe_load(finding.remediation.patch) == [{"op": "remove", "path": "/spec/ports/1"}]


def test_same_port_on_tcp_and_udp_is_fine():
    dns = manifest_service("dns", ports=[{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                                         {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}])
    unnamed = manifest_service("single", ports=[{"port": 80, "targetPort": 8080}])
    assert detect(state_of(dns, unnamed, capabilities=set())) == []


def test_duplicate_name_in_one_container_is_reported_once_on_the_workload(tmp_path):
    app = container("app", ports=[("http", 8080), ("metrics", 9090), ("http", 8081)])
    state = manifest_state(tmp_path, manifest_deployment("web", replicas=3, containers=[app]))
    [finding] = detect(state)  # three stand-in pods, one finding
    assert (finding.kind, finding.name, finding.container, finding.severity) == ("Deployment", "web", "app", "critical")
    assert 'spec.template.spec.containers[0].ports[2].name: Duplicate value: "http"' in finding.summary
    assert finding.pods == ()  # stand-ins are not pods anyone can look at
    assert yaml.safe_load(finding.remediation.patch) == [
        {"op": "replace", "path": "/spec/template/spec/containers/0/ports/2/name", "value": "http-8081"}]
    assert finding.remediation.command == f"kubectl patch deployment web -n {NS} --type json --patch-file fix.yaml"
    assert {e.path for e in finding.evidence} >= {"spec.template.spec.containers[0].ports[0].name",
                                                 "spec.template.spec.containers[0].ports[2].name"}
    assert finding.location.path == "spec.template.spec.containers[0].ports[2]"


def _two_metrics_ports():
    app = container("app", ports=[("metrics", 9090)])
    sidecar = container("cloud-sql-proxy", image="gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.1",
                        ports=[("metrics", 9801)])
    deploy = deployment("web", replicas=2, containers=[app, sidecar])
    rs = replicaset(deploy, "5d4f8b7c9", 1, 2)
    pods = [pod(f"web-5d4f8b7c9-{s}", owner=rs) for s in ("bbbbb", "aaaaa")]
    return deploy, rs, pods


def test_duplicate_name_across_containers_is_the_api_servers_warning_info_when_unused():
    deploy, rs, pods = _two_metrics_ports()
    [finding] = detect(state_of(deploy, rs, *pods))
    assert (finding.severity, finding.container) == ("info", "cloud-sql-proxy")
    assert ('spec.template.spec.containers[1].ports[0]: duplicate port name "metrics" with '
            'spec.template.spec.containers[0].ports[0], services and probes that select ports by name will use '
            'spec.template.spec.containers[0].ports[0]') in finding.summary
    assert finding.pods == ("web-5d4f8b7c9-aaaaa", "web-5d4f8b7c9-bbbbb")


def test_duplicate_name_across_containers_used_by_a_service_or_probe_is_a_warning():
    deploy, rs, pods = _two_metrics_ports()
    svc = service("web-metrics", selector={"app": "web"},
                  ports=[{"name": "metrics", "port": 9090, "protocol": "TCP", "targetPort": "metrics"}])
    [finding] = detect(state_of(deploy, rs, *pods, svc))
    assert finding.severity == "warning" and "Service web-metrics use the name" in finding.summary
    deploy, rs, pods = _two_metrics_ports()
    deploy["spec"]["template"]["spec"]["containers"][1] = dict(
        deploy["spec"]["template"]["spec"]["containers"][1], livenessProbe={"httpGet": {"path": "/", "port": "metrics"}})
    [finding] = detect(state_of(deploy, rs, *pods))
    assert finding.severity == "warning" and "liveness probe of cloud-sql-proxy" in finding.summary


def test_bare_pod_is_reported_on_itself():
    p = pod("debug", containers=[container("app", ports=[("http", 80), ("http", 8080)])])
    [finding] = detect(state_of(p))
    assert (finding.kind, finding.name) == ("Pod", "debug")
    assert 'spec.containers[0].ports[1].name: Duplicate value: "http"' in finding.summary
    assert yaml.safe_load(finding.remediation.patch)[0]["path"] == "/spec/containers/0/ports/1/name"


def test_distinct_names_are_fine(tmp_path):
    app = container("app", ports=[("http", 8080), ("metrics", 9090)])
    proxy = container("proxy", ports=[("proxy-http", 15001)])
    state = manifest_state(tmp_path, manifest_deployment("web", containers=[app, proxy]), manifest_service("web"))
    assert detect(state) == []


def test_odd_data_does_not_raise():
    svc = manifest_service("odd", ports=[None, "x", {"name": 5, "port": "80"}, {"name": 5, "port": "80"}])
    p = pod("odd-pod", containers=[{"name": "app", "ports": [None, {"name": None}, "x"]}])
    p2 = pod("odd-pod-2")
    p2["spec"]["containers"] = None
    findings = detect(state_of(svc, p, p2))
    assert [f.discriminator for f in findings] == ["spec.ports[3]:port"]


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
