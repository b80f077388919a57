"""service-target-port-missing: targetPorts the selected containers do not declare."""

from __future__ import annotations

import copy

import yaml

from builders import NS, container, deployment, pod, replicaset, service, state_of
from builders_workloads import manifest_deployment, manifest_service, manifest_state
from runbooks_lib.registry import load_detectors

RULE = "service-target-port-missing"


def detect(state):
    return list(load_detectors()[RULE].detect(state))


def test_rule_is_static():
    rule = load_detectors()[RULE].rule
    assert rule.needs == frozenset() and rule.runbook == "services"


def test_named_target_port_nobody_declares_is_critical_with_a_patch(tmp_path):
    app = container("app", ports=[("http-api", 8080)])
    state = manifest_state(tmp_path, manifest_deployment("web", replicas=2, containers=[app]),
                           manifest_service("web", ports=[{"name": "http", "port": 80, "targetPort": "http"}]))
    [finding] = detect(state)
    assert (finding.rule, finding.severity, finding.kind, finding.name, finding.namespace) == (
        RULE, "critical", "Service", "web", NS)
    assert finding.summary == ('web port http targets port name "http": no selected container declares it '
                               '(Deployment web); the endpoints get no port for it')
    target = next(e for e in finding.evidence if e.path == "spec.ports[0].targetPort")
    assert target.value == "http" and target.object == f"Service {NS}/web"
    declared = next(e for e in finding.evidence if e.path == "spec.template.spec.containers[0].ports")
    assert declared.object == f"Deployment {NS}/web" and "http-api:8080/TCP" in declared.text
    assert yaml.safe_load(finding.remediation.patch) == [
        {"op": "replace", "path": "/spec/ports/0/targetPort", "value": "http-api"}]
    assert finding.remediation.patch_type == "json"
    assert finding.remediation.command == f"kubectl patch service web -n {NS} --type json --patch-file fix.yaml"
    assert finding.pods == ()  # stand-in pods are not listed
    assert finding.location.file == str(tmp_path / "manifests.yaml")
    assert finding.location.path == "spec.ports[0].targetPort"


def test_case_slip_is_fixed_to_the_declared_name():
    app = container("app", ports=[("http", 8080), ("metrics", 9090)])
    state = state_of(pod("web-1", labels={"app": "web"}, containers=[app]),
                     service("web", selector={"app": "web"},
                             ports=[{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "HTTP"}]))
    [finding] = detect(state)
    assert (finding.kind, finding.name, finding.pods) == ("Service", "web", ("web-1",))
    assert yaml.safe_load(finding.remediation.patch)[0]["value"] == "http"
    declared = next(e for e in finding.evidence if e.object == f"Pod {NS}/web-1")
    assert declared.path == "spec.containers[0].ports"


def test_named_port_with_another_protocol_does_not_count():
    dns = container("coredns", ports=[("dns", 53, "UDP")])
    state = state_of(pod("dns-1", labels={"app": "dns"}, containers=[dns]),
                     service("dns", selector={"app": "dns"},
                             ports=[{"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": "dns"}]))
    [finding] = detect(state)
    assert finding.severity == "critical"
    assert "declared only as UDP, the Service port is TCP" in finding.summary
    assert finding.remediation.patch is None


def test_half_the_pods_lacking_the_name_is_a_warning():
    old = deployment("web", replicas=2, containers=[container("app", ports=[("http", 8080)])])
    rs_old = replicaset(old, "5d4f8b7c9", 1, 1)
    new_template = [container("app", ports=[("web", 8080)])]
    rs_new = copy.deepcopy(replicaset(old, "8c7b6a5d4", 2, 1))
    rs_new["spec"]["template"]["spec"]["containers"] = new_template
    pods = [pod("web-5d4f8b7c9-aaaaa", owner=rs_old), pod("web-8c7b6a5d4-bbbbb", owner=rs_new, containers=new_template)]
    svc = service("web", selector={"app": "web"})
    [finding] = detect(state_of(old, rs_old, rs_new, *pods, svc))
    assert finding.severity == "warning" and finding.pods == ("web-8c7b6a5d4-bbbbb",)
    assert "1 of 2 selected pods lack it" in finding.summary


def test_numeric_target_port_not_declared_is_info_without_a_patch():
    app = container("app", ports=[("http", 8000)])
    state = state_of(pod("web-1", labels={"app": "web"}, containers=[app]),
                     service("web", selector={"app": "web"},
                             ports=[{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]))
    [finding] = detect(state)
    assert finding.severity == "info"
    assert finding.summary == "web port http targets port 8080/TCP, which Pod web-1 does not declare (it declares http:8000/TCP)"
    assert finding.remediation.patch is None


def test_missing_target_port_defaults_to_the_port():
    app = container("app", ports=[("http", 8080)])
    svc = service("web", selector={"app": "web"}, ports=[{"name": "http", "port": 80, "protocol": "TCP"}])
    [finding] = detect(state_of(pod("web-1", labels={"app": "web"}, containers=[app]), svc))
    assert finding.severity == "info" and "targets port 80/TCP" in finding.summary


def test_declared_ports_and_undeclared_containers_are_fine():
    declared = container("app", ports=[("http", 8080)])
    bare = container("legacy")  # declares nothing: a numeric targetPort still works
    sidecar = dict(container("envoy", ports=[("proxy", 15001)]), restartPolicy="Always")
    p = pod("web-1", labels={"app": "web"}, containers=[declared])
    p["spec"]["initContainers"] = [sidecar]
    state = state_of(
        p, pod("legacy-1", labels={"app": "legacy"}, containers=[bare]),
        service("web", selector={"app": "web"}, ports=[
            {"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"},
            {"name": "alt", "port": 8080, "protocol": "TCP", "targetPort": 8080},
            {"name": "proxy", "port": 15001, "protocol": "TCP", "targetPort": "proxy"}]),
        service("legacy", selector={"app": "legacy"}, ports=[{"name": "http", "port": 80, "protocol": "TCP",
                                                              "targetPort": 9000}]),
        service("nobody", selector={"app": "nobody"}))
    assert detect(state) == []


def test_odd_data_does_not_raise():
    p = pod("web-1", labels={"app": "web"}, containers=[{"name": "app", "ports": [None, {"name": 3}]}])
    svc = service("web", selector={"app": "web"}, ports=[None, {"targetPort": True}, {"port": None},
                                                          {"name": "x", "targetPort": "x"}])
    [finding] = detect(state_of(p, svc))
    assert finding.discriminator == "ports[3]:x"


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
