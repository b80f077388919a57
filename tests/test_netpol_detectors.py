"""netpol-asymmetric and netpol-dns-blocked on small in-memory clusters and the bundled example."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from runbooks_lib.netpol import PolicyEngine
from runbooks_lib.registry import rule, run_detectors
from runbooks_lib.resources import examples_dir
from runbooks_lib.state import RUNTIME, ClusterState, Location
from test_netpol_spec_cases import labels, pod, policy

NS = "shop"
DNS_EGRESS = {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                      "podSelector": labels(**{"k8s-app": "kube-dns"})}],
              "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}


def deployment(name: str, ns: str = NS, replicas: int = 1, ports=()) -> list[dict]:
    """A Deployment and its pods (owned through a ReplicaSet, as the API server would)."""
    lbl = {"app": name}
    uid = f"uid-{ns}-{name}"
    objs = [{"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": name, "namespace": ns, "uid": uid},
             "spec": {"replicas": replicas, "selector": {"matchLabels": lbl},
                      "template": {"metadata": {"labels": lbl}, "spec": {"containers": [{"name": "c"}]}}}},
            {"apiVersion": "apps/v1", "kind": "ReplicaSet",
             "metadata": {"name": f"{name}-abc", "namespace": ns, "uid": f"{uid}-rs",
                          "ownerReferences": [{"kind": "Deployment", "name": name, "uid": uid, "controller": True}]}}]
    for i in range(replicas):
        p = pod(ns, f"{name}-abc-{i}", {**lbl, "pod-template-hash": "abc"}, ports=ports, ips=[f"10.1.{len(name)}.{i + 1}"])
        p["metadata"]["ownerReferences"] = [{"kind": "ReplicaSet", "name": f"{name}-abc", "uid": f"{uid}-rs", "controller": True}]
        objs.append(p)
    return objs


def state_of(*groups, runtime: bool = True) -> ClusterState:
    objects: dict[str, list[dict]] = {}
    for group in groups:
        for obj in group if isinstance(group, list) else [group]:
            objects.setdefault(obj["kind"], []).append(obj)
    return ClusterState(objects=objects, capabilities=frozenset({RUNTIME}) if runtime else frozenset())


def findings(state: ClusterState, rule_id: str):
    result = run_detectors(state, only=[rule_id])
    assert not result.errors, result.errors
    return result.findings


KEYCLOAK_POLICY = policy(NS, "keycloak", podSelector=labels(app="keycloak"), policyTypes=["Ingress", "Egress"],
                         ingress=[{"from": [{"podSelector": labels(app="keycloak")}],
                                   "ports": [{"port": 7800}, {"port": "management"}]}],
                         egress=[DNS_EGRESS])
KEYCLOAK = deployment("keycloak", replicas=2, ports=[("jgroups", 7800), ("management", 9000), ("http", 8080)])


# -- netpol-asymmetric ---------------------------------------------------------------------------


def test_rules_are_catalogued() -> None:
    for rule_id in ("netpol-asymmetric", "netpol-dns-blocked"):
        entry = rule(rule_id)
        assert entry is not None and entry.runbook == "network-policy" and entry.needs == frozenset()
        assert entry.detects and entry.why and entry.example and entry.fix
        yaml.safe_load(entry.example)  # the example is valid YAML


def test_asymmetric_same_workload_is_critical() -> None:
    [finding] = findings(state_of(KEYCLOAK, KEYCLOAK_POLICY), "netpol-asymmetric")
    assert (finding.severity, finding.namespace, finding.kind, finding.name) == ("critical", NS, "Deployment", "keycloak")
    assert "7800/TCP, 9000/TCP" in finding.summary and "its own pods" in finding.summary
    assert finding.discriminator == "egress:shop/Deployment/keycloak"
    assert finding.pods == ("keycloak-abc-0", "keycloak-abc-1")
    allowing, isolating = finding.evidence
    assert (allowing.source, allowing.object, allowing.path) == ("policy", "NetworkPolicy shop/keycloak", "spec.ingress[0]")
    assert (isolating.object, isolating.path) == ("NetworkPolicy shop/keycloak", "spec.egress")
    assert finding.location is None  # a snapshot: no file to point at
    fix = finding.remediation
    assert fix.patch_type == "manifest" and fix.target == "NetworkPolicy shop/keycloak-egress-to-keycloak"
    manifest = yaml.safe_load(fix.patch)
    assert manifest["spec"]["podSelector"] == {"matchLabels": {"app": "keycloak"}}
    assert manifest["spec"]["policyTypes"] == ["Egress"]
    assert manifest["spec"]["egress"] == [{"to": [{"podSelector": {"matchLabels": {"app": "keycloak"}}}],
                                           "ports": [{"port": 7800, "protocol": "TCP"}, {"port": 9000, "protocol": "TCP"}]}]


def test_remediation_closes_the_gap() -> None:
    [finding] = findings(state_of(KEYCLOAK, KEYCLOAK_POLICY), "netpol-asymmetric")
    fixed = state_of(KEYCLOAK, KEYCLOAK_POLICY, yaml.safe_load(finding.remediation.patch))
    assert findings(fixed, "netpol-asymmetric") == []
    engine = PolicyEngine.from_state(fixed)
    assert engine.check("shop/keycloak-abc-0", "shop/keycloak-abc-1", 9000).allowed


def test_no_finding_when_egress_matches() -> None:
    fixed = policy(NS, "keycloak", podSelector=labels(app="keycloak"), policyTypes=["Ingress", "Egress"],
                   ingress=KEYCLOAK_POLICY["spec"]["ingress"],
                   egress=[DNS_EGRESS, {"to": [{"podSelector": labels(app="keycloak")}], "ports": [{"port": 7800}, {"port": 9000}]}])
    assert findings(state_of(KEYCLOAK, fixed), "netpol-asymmetric") == []


def test_no_finding_when_source_is_not_egress_isolated() -> None:
    ingress_only = policy(NS, "keycloak", podSelector=labels(app="keycloak"), ingress=KEYCLOAK_POLICY["spec"]["ingress"])
    assert findings(state_of(KEYCLOAK, ingress_only), "netpol-asymmetric") == []


def test_asymmetric_between_workloads_is_a_warning_on_the_source() -> None:
    api = deployment("api", ports=[("http", 8080)])
    db = deployment("db", ports=[("pg", 5432)])
    policies = [policy(NS, "db", podSelector=labels(app="db"), ingress=[{"from": [{"podSelector": labels(app="api")}], "ports": [{"port": "pg"}]}]),
                policy(NS, "api-egress", podSelector=labels(app="api"), policyTypes=["Egress"], egress=[DNS_EGRESS])]
    [finding] = findings(state_of(api, db, *policies), "netpol-asymmetric")
    assert (finding.severity, finding.kind, finding.name) == ("warning", "Deployment", "api")
    assert finding.discriminator == "egress:shop/Deployment/db"
    assert "5432/TCP" in finding.summary and "Deployment shop/db" in finding.summary
    assert [e.object for e in finding.evidence] == ["NetworkPolicy shop/db", "NetworkPolicy shop/api-egress"]


def test_reverse_egress_allowed_ingress_denied_reports_on_destination() -> None:
    api = deployment("api")
    db = deployment("db", ports=[("pg", 5432)])
    policies = [policy(NS, "api", podSelector=labels(app="api"), policyTypes=["Egress"],
                       egress=[DNS_EGRESS, {"to": [{"podSelector": labels(app="db")}], "ports": [{"port": 5432}]}]),
                policy(NS, "deny-ingress", policyTypes=["Ingress"])]
    [finding] = findings(state_of(api, db, *policies), "netpol-asymmetric")
    assert (finding.kind, finding.name, finding.severity) == ("Deployment", "db", "warning")
    assert finding.discriminator == "ingress:shop/Deployment/api"
    manifest = yaml.safe_load(finding.remediation.patch)
    assert manifest["metadata"] == {"name": "db-ingress-from-api", "namespace": NS}
    assert manifest["spec"]["ingress"][0]["from"] == [{"podSelector": {"matchLabels": {"app": "api"}}}]


def test_cross_namespace_remediation_names_the_namespace() -> None:
    web = deployment("web", ns="front")
    db = deployment("db", ports=[("pg", 5432)])
    policies = [policy(NS, "db", podSelector=labels(app="db"), ingress=[{"from": [
                    {"namespaceSelector": {}, "podSelector": labels(app="web")}]}]),
                policy("front", "deny-egress", policyTypes=["Egress"], egress=[DNS_EGRESS])]
    [finding] = findings(state_of(web, db, *policies), "netpol-asymmetric")
    assert (finding.namespace, finding.name) == ("front", "web")
    peer = yaml.safe_load(finding.remediation.patch)["spec"]["egress"][0]["to"][0]
    assert peer == {"podSelector": {"matchLabels": {"app": "db"}},
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": NS}}}
    # 5432 from the declared containerPorts: the ingress rule has no ports.
    assert "5432/TCP" in finding.summary


def test_broad_allows_are_not_read_as_intent() -> None:
    api = deployment("api")
    db = deployment("db", ports=[("pg", 5432)])
    for peer in ({"namespaceSelector": {}}, {"podSelector": {}},
                 {"podSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]}}):
        policies = [policy(NS, "db", podSelector=labels(app="db"), ingress=[{"from": [peer]}]),
                    policy(NS, "deny-egress", policyTypes=["Egress"])]
        assert findings(state_of(api, db, *policies), "netpol-asymmetric") == [], peer


def test_manifest_findings_carry_the_policy_location() -> None:
    state = state_of(KEYCLOAK, KEYCLOAK_POLICY, runtime=False)
    state.locations[("NetworkPolicy", NS, "keycloak")] = Location("deploy/netpol.yaml", 12)
    [finding] = findings(state, "netpol-asymmetric")
    assert finding.location.to_dict() == {"file": "deploy/netpol.yaml", "line": 12, "path": "spec.egress"}


# -- netpol-dns-blocked ---------------------------------------------------------------------------


def kube_dns() -> list[dict]:
    objs = deployment("kube-dns", ns="kube-system", replicas=2, ports=[("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")])
    for obj in objs:
        if obj["kind"] == "Pod":
            obj["metadata"]["labels"]["k8s-app"] = "kube-dns"
    return objs


@pytest.mark.parametrize("with_dns_pods", [True, False])
def test_dns_blocked_when_egress_isolated_without_dns_rule(with_dns_pods) -> None:
    api = deployment("api", replicas=2)
    deny = policy(NS, "deny-egress", policyTypes=["Egress"], egress=[{"to": [{"podSelector": labels(app="db")}]}])
    groups = [api, deny] + ([kube_dns()] if with_dns_pods else [])
    [finding] = findings(state_of(*groups), "netpol-dns-blocked")
    assert (finding.severity, finding.kind, finding.name, finding.namespace) == ("critical", "Deployment", "api", NS)
    assert "53/UDP and 53/TCP" in finding.summary and "nothing resolves" in finding.summary
    assert ("assumed" in finding.summary) is not with_dns_pods
    assert finding.pods == ("api-abc-0", "api-abc-1")
    assert finding.evidence[0].object == "NetworkPolicy shop/deny-egress"
    manifest = yaml.safe_load(finding.remediation.patch)
    assert manifest["spec"]["egress"] == [DNS_EGRESS | {"ports": [{"port": 53, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]}]
    fixed = state_of(*groups, manifest)
    assert findings(fixed, "netpol-dns-blocked") == []


def test_dns_tcp_only_missing_is_a_warning() -> None:
    api = deployment("api")
    udp_only = policy(NS, "api", podSelector=labels(app="api"), policyTypes=["Egress"],
                      egress=[{"to": DNS_EGRESS["to"], "ports": [{"port": 53, "protocol": "UDP"}]}])
    [finding] = findings(state_of(api, udp_only, kube_dns()), "netpol-dns-blocked")
    assert finding.severity == "warning" and "53/TCP" in finding.summary and "53/UDP" not in finding.summary


@pytest.mark.parametrize("egress", [
    [DNS_EGRESS],
    [{"to": [{"namespaceSelector": {}}]}],  # everything in the cluster
    [{"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}],  # port 53 anywhere
    [{}],
])
def test_dns_allowed_no_finding(egress) -> None:
    api = deployment("api")
    allowed = policy(NS, "api", podSelector=labels(app="api"), policyTypes=["Egress"], egress=egress)
    assert findings(state_of(api, allowed), "netpol-dns-blocked") == []


def test_dns_not_egress_isolated_no_finding() -> None:
    api = deployment("api")
    ingress_only = policy(NS, "deny-ingress", policyTypes=["Ingress"])
    assert findings(state_of(api, ingress_only, kube_dns()), "netpol-dns-blocked") == []


def test_dns_rule_to_the_wrong_namespace_is_blocked() -> None:
    api = deployment("api")
    wrong = policy(NS, "api", podSelector=labels(app="api"), policyTypes=["Egress"],
                   egress=[{"to": [{"podSelector": labels(**{"k8s-app": "kube-dns"})}],  # bare podSelector: shop only
                            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}])
    [finding] = findings(state_of(api, wrong, kube_dns()), "netpol-dns-blocked")
    assert finding.severity == "critical"


# -- the bundled example ------------------------------------------------------------------------

EXAMPLE = examples_dir() / "staging-incident"
needs_snapshot = pytest.mark.skipif(not (EXAMPLE / "snapshot").is_dir(),
                                    reason="examples/staging-incident/snapshot is not there yet")
needs_manifests = pytest.mark.skipif(not (EXAMPLE / "manifests").is_dir(),
                                     reason="examples/staging-incident/manifests is not there yet")


def _keycloak_asymmetry(findings_list):
    return [f for f in findings_list if f.rule == "netpol-asymmetric" and f.name == "staging-keycloak"]


@needs_snapshot
def test_staging_incident_snapshot() -> None:
    from runbooks_lib.sources import load

    result = run_detectors(load("staging-incident"))
    [finding] = _keycloak_asymmetry(result.findings)
    assert finding.severity == "critical" and finding.kind == "Deployment"
    assert "7800/TCP" in finding.summary and "9000/TCP" in finding.summary
    assert not [f for f in result.findings if f.rule == "netpol-dns-blocked"]


@needs_manifests
def test_staging_incident_manifests() -> None:
    import shutil

    from runbooks_lib.sources import load

    if not (shutil.which("kubectl") or shutil.which("kustomize")):
        pytest.skip("neither kubectl nor kustomize on PATH to render the kustomization")
    result = run_detectors(load("staging-incident/manifests"))
    [finding] = _keycloak_asymmetry(result.findings)
    assert finding.severity == "critical"
    assert "7800/TCP" in finding.summary and "9000/TCP" in finding.summary
    assert finding.location is not None and finding.location.file.endswith(".yaml")
    assert finding.location.path == "spec.egress"
    assert not [f for f in result.findings if f.rule == "netpol-dns-blocked"]


# -- malformed pods never break the detectors ----------------------------------------------------

_JUNK = st.sampled_from([None, True, 5, "x", [], {}, [None], [{"ip": 7}], {"a": None}])
_POD_PATHS = [("metadata",), ("metadata", "labels"), ("metadata", "namespace"), ("metadata", "ownerReferences"),
              ("metadata", "annotations"), ("spec",), ("spec", "containers"), ("spec", "initContainers"),
              ("status",), ("status", "podIPs"), ("status", "podIP"), ("status", "phase")]


@settings(max_examples=60, deadline=None)
@given(path=st.sampled_from(_POD_PATHS), junk=_JUNK, which=st.integers(0, 1))
def test_malformed_pod_fields_never_raise(path, junk, which) -> None:
    import copy

    # An unhashable namespace breaks ClusterState's own index before any detector runs.
    assume(not (path == ("metadata", "namespace") and isinstance(junk, (list, dict))))
    objs = copy.deepcopy(KEYCLOAK)
    target = [o for o in objs if o["kind"] == "Pod"][which]
    holder = target
    for key in path[:-1]:
        holder = holder.setdefault(key, {})
    holder[path[-1]] = junk
    result = run_detectors(state_of(objs, KEYCLOAK_POLICY), only=["netpol-asymmetric", "netpol-dns-blocked"])
    assert not result.errors, result.errors


def test_asymmetric_flows_hold_one_port_matrix_at_a_time_and_reuse_the_engines() -> None:
    # A class matrix is quadratic in pod classes (0.37 GB per array at 50k pods): the detector
    # must not leave one per port in the engine, and must not rebuild one the engine has.
    from runbooks_lib import load
    from runbooks_lib.netpol.gaps import asymmetric_flows

    engine = PolicyEngine.from_state(load("staging-incident"))
    flows = asymmetric_flows(engine)
    assert flows and engine.cached_class_matrix(7800) is None, "nothing kept in the engine"
    kept = engine.class_matrix(7800)
    built = []
    real_matrix = engine.class_index.matrix
    engine.class_index.matrix = lambda *key: built.append(key) or real_matrix(*key)
    try:
        again = asymmetric_flows(engine)
    finally:
        engine.class_index.matrix = real_matrix
    assert (7800, "TCP") not in built and engine.cached_class_matrix(7800) is kept
    assert [(f.source, f.destination, sorted(f.ports)) for f in again] == \
        [(f.source, f.destination, sorted(f.ports)) for f in flows]
