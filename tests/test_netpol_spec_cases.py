"""NetworkPolicy semantics, case by case, as the Kubernetes documentation defines them.

Each case: a small cluster, one query, the expected answer and the elements its
explanation must contain. The builders here are shared by the other netpol tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from runbooks_lib.netpol import PolicyEngine

# -- builders -----------------------------------------------------------------------------


def pod(ns: str, name: str, labels: dict | None = None, ports=(), ips=(), owner: str | None = None) -> dict:
    """A Pod dict. ports: (name, number[, protocol]) with name None for an unnamed port."""
    container_ports = []
    for entry in ports:
        name_, number, *protocol = entry
        port = {"containerPort": number, "protocol": protocol[0] if protocol else "TCP"}
        if name_:
            port["name"] = name_
        container_ports.append(port)
    obj = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"namespace": ns, "name": name, "labels": dict(labels or {})},
           "spec": {"containers": [{"name": "app", "image": "app:1", "ports": container_ports}]}}
    if owner:
        obj["metadata"]["annotations"] = {"runbooks.dev/stands-in-for": owner}
    if ips:
        obj["status"] = {"phase": "Running", "podIP": ips[0], "podIPs": [{"ip": ip} for ip in ips]}
    return obj


def policy(ns: str, name: str, **spec) -> dict:
    """A NetworkPolicy dict; keyword names are spec fields (policyTypes, podSelector, ingress, egress)."""
    spec.setdefault("podSelector", {})
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"namespace": ns, "name": name}, "spec": spec}


def labels(**values) -> dict:
    return {"matchLabels": values}


def engine(pods, policies, namespaces: dict | None = None) -> PolicyEngine:
    return PolicyEngine(pods, policies, namespaces or {})


# -- cases --------------------------------------------------------------------------------

A = pod("shop", "a", {"app": "a"}, ips=["10.0.0.1"])
B = pod("shop", "b", {"app": "b"}, ports=[("http", 8080), ("metrics", 9090)], ips=["10.0.0.2"])
C_OTHER = pod("other", "c", {"app": "a"}, ips=["10.0.1.3"])
DENY_ALL_EGRESS = policy("shop", "deny-egress", policyTypes=["Egress"])


@dataclass
class Case:
    id: str
    pods: list
    policies: list
    src: str
    dst: str
    port: int | str
    allowed: bool
    protocol: str = "TCP"
    namespaces: dict = field(default_factory=dict)
    egress: dict = field(default_factory=dict)  # expected SideVerdict fields
    ingress: dict = field(default_factory=dict)
    says: tuple[str, ...] = ()  # substrings of explain()


CASES = [
    # Isolation and policyTypes
    Case("no-policies-allow-all", [A, B], [], "shop/a", "shop/b", 8080, True,
         egress={"isolated": False}, ingress={"isolated": False},
         says=("shop/a is not egress-isolated", "shop/b is not ingress-isolated")),
    Case("policytypes-omitted-ingress-only", [A, B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"from": [{"podSelector": labels(app="a")}]}])],
         "shop/a", "shop/b", 8080, True, egress={"isolated": False},
         ingress={"isolated": True, "isolating_policies": ["shop/p"], "allowed_by": ["shop/p ingress[0] from[0] (any port)"]}),
    Case("policytypes-omitted-with-egress-rules-isolates-egress", [A, B],
         [policy("shop", "p", podSelector=labels(app="a"), egress=[{"ports": [{"port": 53, "protocol": "UDP"}]}])],
         "shop/a", "shop/b", 8080, False,
         egress={"isolated": True, "isolating_policies": ["shop/p"], "allowed_by": []}, ingress={"isolated": False},
         says=("shop/a is egress-isolated by NetworkPolicy shop/p", "no egress rule allows traffic to shop/b on 8080/TCP")),
    Case("policytypes-omitted-empty-egress-list-is-ingress-only", [A, B],
         [policy("shop", "p", podSelector={}, egress=[])],
         "shop/a", "shop/b", 8080, False, egress={"isolated": False},
         ingress={"isolated": True, "allowed_by": []}, says=("the ingress rule lists are empty",)),
    Case("policytypes-empty-list-defaults-like-omitted", [A, B],
         [policy("shop", "p", policyTypes=[], podSelector={}, egress=[{"to": [{"podSelector": labels(app="z")}]}])],
         "shop/a", "shop/b", 8080, False, egress={"isolated": True}, ingress={"isolated": True}),
    Case("egress-only-policy-ignores-its-ingress-rules", [A, B],
         [policy("shop", "p", policyTypes=["Egress"], podSelector=labels(app="b"), ingress=[{"from": [{"podSelector": labels(app="z")}]}])],
         "shop/a", "shop/b", 8080, True, ingress={"isolated": False},
         says=("selected by shop/p for egress only",)),
    Case("isolation-only-by-policies-of-own-namespace", [A, B, C_OTHER],
         [policy("other", "deny-all", policyTypes=["Ingress", "Egress"])],
         "shop/a", "shop/b", 8080, True, egress={"isolated": False}, ingress={"isolated": False}),
    Case("empty-podselector-selects-whole-namespace", [A, B],
         [policy("shop", "deny", policyTypes=["Ingress"])],
         "shop/a", "shop/b", 8080, False, ingress={"isolated": True, "isolating_policies": ["shop/deny"]}),
    Case("podselector-not-matching-does-not-isolate", [A, B],
         [policy("shop", "p", podSelector=labels(app="zzz"), policyTypes=["Ingress", "Egress"])],
         "shop/a", "shop/b", 8080, True),
    # Union; nothing denies
    Case("allows-are-unioned-across-policies", [A, B],
         [policy("shop", "http", podSelector=labels(app="b"), ingress=[{"ports": [{"port": 8080}]}]),
          policy("shop", "metrics", podSelector=labels(app="b"), ingress=[{"ports": [{"port": 9090}]}])],
         "shop/a", "shop/b", 9090, True,
         ingress={"isolating_policies": ["shop/http", "shop/metrics"], "allowed_by": ["shop/metrics ingress[0] (any source) ports[0]"]}),
    Case("deny-all-policy-does-not-cancel-an-allow", [A, B],
         [policy("shop", "deny", podSelector={}, policyTypes=["Ingress"], ingress=[]),
          policy("shop", "allow", podSelector=labels(app="b"), ingress=[{"from": [{"podSelector": labels(app="a")}]}])],
         "shop/a", "shop/b", 8080, True, ingress={"isolating_policies": ["shop/allow", "shop/deny"]}),
    # Selectors
    Case("matchexpressions-in", [A, B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"from": [{"podSelector": {
             "matchExpressions": [{"key": "app", "operator": "In", "values": ["a", "x"]}]}}]}])],
         "shop/a", "shop/b", 8080, True),
    Case("matchexpressions-notin-excludes", [A, B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"from": [{"podSelector": {
             "matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["a"]}]}}]}])],
         "shop/a", "shop/b", 8080, False, says=("none of its from peers matches shop/a",)),
    Case("matchexpressions-notin-matches-pods-without-the-key", [A, B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"from": [{"podSelector": {
             "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]}}]}])],
         "shop/a", "shop/b", 8080, True),
    Case("matchexpressions-exists", [A, B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"from": [{"podSelector": {
             "matchExpressions": [{"key": "app", "operator": "Exists"}]}}]}])],
         "shop/a", "shop/b", 8080, True),
    Case("matchexpressions-doesnotexist", [A, B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"from": [{"podSelector": {
             "matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}}]}])],
         "shop/a", "shop/b", 8080, False),
    Case("matchlabels-and-expressions-are-anded", [A, B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"from": [{"podSelector": {
             "matchLabels": {"app": "a"}, "matchExpressions": [{"key": "tier", "operator": "Exists"}]}}]}])],
         "shop/a", "shop/b", 8080, False),
    Case("bare-podselector-peer-means-policy-namespace", [C_OTHER, B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"from": [{"podSelector": labels(app="a")}]}])],
         "other/c", "shop/b", 8080, False, says=("pods [app=a] in namespace shop",)),
    Case("namespaceselector-alone-selects-all-pods-of-matching-namespaces", [C_OTHER, B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"from": [{"namespaceSelector": labels(team="x")}]}])],
         "other/c", "shop/b", 8080, True, namespaces={"other": {"team": "x"}}),
    Case("namespace-and-pod-selector-in-one-peer-are-anded", [pod("other", "d", {"app": "d"}), B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"from": [
             {"namespaceSelector": labels(team="x"), "podSelector": labels(app="a")}]}])],
         "other/d", "shop/b", 8080, False, namespaces={"other": {"team": "x"}}),
    Case("separate-peers-are-ored", [pod("other", "d", {"app": "d"}), B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"from": [
             {"namespaceSelector": labels(team="x")}, {"podSelector": labels(app="a")}]}])],
         "other/d", "shop/b", 8080, True, namespaces={"other": {"team": "x"}},
         ingress={"allowed_by": ["shop/p ingress[0] from[0] (any port)"]}),
    Case("namespace-name-label-is-always-set", [C_OTHER, B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"from": [
             {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "other"}}}]}])],
         "other/c", "shop/b", 8080, True),
    Case("empty-namespaceselector-selects-every-namespace", [C_OTHER, B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"from": [
             {"namespaceSelector": {}, "podSelector": labels(app="a")}]}])],
         "other/c", "shop/b", 8080, True),
    # ipBlock
    Case("ipblock-matches-pod-ip", [A, B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/24"}}]}])],
         "shop/a", "shop/b", 8080, True),
    Case("ipblock-except-excludes", [A, B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"from": [
             {"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.0.0/30"]}}]}])],
         "shop/a", "shop/b", 8080, False, says=("ipBlock 10.0.0.0/16 except 10.0.0.0/30",)),
    Case("ipblock-ipv6-any-of-the-pod-ips", [pod("shop", "a6", {"app": "a"}, ips=["192.168.9.9", "fd00::5"]), B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"from": [{"ipBlock": {"cidr": "fd00::/64"}}]}])],
         "shop/a6", "shop/b", 8080, True),
    Case("ipblock-never-matches-a-pod-without-ips", [pod("shop", "stand-in", {"app": "a"}), B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}])],
         "shop/stand-in", "shop/b", 8080, False),
    Case("egress-to-external-ip-allowed-by-ipblock", [A],
         [policy("shop", "p", podSelector=labels(app="a"), policyTypes=["Egress"], egress=[
             {"to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}], "ports": [{"port": 6379}]}])],
         "shop/a", "10.20.0.3", 6379, True, ingress={"isolated": False, "applies": False},
         egress={"allowed_by": ["shop/p egress[0] to[0] ports[0]"]}, says=("10.20.0.3 is not a pod",)),
    Case("egress-to-external-ip-in-except-denied", [A],
         [policy("shop", "p", podSelector=labels(app="a"), policyTypes=["Egress"], egress=[
             {"to": [{"ipBlock": {"cidr": "10.20.0.0/16", "except": ["10.20.0.0/24"]}}]}])],
         "shop/a", "10.20.0.3", 6379, False),
    Case("egress-to-external-ip-selectors-never-match", [A],
         [policy("shop", "p", podSelector=labels(app="a"), policyTypes=["Egress"], egress=[
             {"to": [{"namespaceSelector": {}}]}])],
         "shop/a", "10.20.0.3", 6379, False),
    Case("ip-of-a-pod-resolves-to-the-pod", [A, B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[])],
         "shop/a", "10.0.0.2", 8080, False, ingress={"isolated": True, "endpoint": "shop/b"},
         says=("10.0.0.2 is the IP of pod shop/b",)),
    # Empty lists
    Case("ingress-empty-list-allows-nothing", [A, B],
         [policy("shop", "p", podSelector=labels(app="b"), policyTypes=["Ingress"], ingress=[])],
         "shop/a", "shop/b", 8080, False),
    Case("ingress-empty-rule-allows-everything", [A, B],
         [policy("shop", "p", podSelector=labels(app="b"), policyTypes=["Ingress"], ingress=[{}])],
         "shop/a", "shop/b", 8080, True, ingress={"allowed_by": ["shop/p ingress[0] (any source) (any port)"]}),
    Case("egress-empty-rule-allows-everything", [A, B],
         [policy("shop", "p", podSelector=labels(app="a"), policyTypes=["Egress"], egress=[{}])],
         "shop/a", "shop/b", 8080, True),
    Case("rule-without-from-allows-all-peers-on-its-ports", [A, B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"ports": [{"port": 9090}]}])],
         "shop/a", "shop/b", 8080, False, says=("shop/p ingress[0] matches shop/a but allows only 9090/TCP",)),
    Case("empty-from-list-allows-all-peers", [A, B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"from": [], "ports": [{"port": 8080}]}])],
         "shop/a", "shop/b", 8080, True),
    Case("empty-ports-list-allows-all-ports", [A, B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"from": [{"podSelector": {}}], "ports": []}])],
         "shop/a", "shop/b", 31337, True),
    # Ports
    Case("named-port-resolves-on-destination-for-ingress", [A, B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"ports": [{"port": "metrics"}]}])],
         "shop/a", "shop/b", 9090, True),
    Case("named-port-does-not-match-another-number", [A, B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"ports": [{"port": "metrics"}]}])],
         "shop/a", "shop/b", 8080, False, says=("metrics/TCP (= 9090 on the destination)",)),
    Case("named-port-resolves-on-destination-for-egress",
         [pod("shop", "a", {"app": "a"}, ports=[("http", 1111)]), B],
         [policy("shop", "p", podSelector=labels(app="a"), policyTypes=["Egress"], egress=[{"ports": [{"port": "http"}]}])],
         "shop/a", "shop/b", 8080, True),
    Case("named-port-on-source-only-does-not-count-for-egress",
         [pod("shop", "a", {"app": "a"}, ports=[("http", 8080)]), pod("shop", "b", {"app": "b"})],
         [policy("shop", "p", podSelector=labels(app="a"), policyTypes=["Egress"], egress=[{"ports": [{"port": "http"}]}])],
         "shop/a", "shop/b", 8080, False, says=("not declared by the destination",)),
    Case("named-port-needs-matching-protocol",
         [A, pod("shop", "b", {"app": "b"}, ports=[("dns", 53, "UDP")])],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"ports": [{"port": "dns"}]}])],
         "shop/a", "shop/b", 53, False, protocol="UDP"),
    Case("named-port-with-protocol-udp",
         [A, pod("shop", "b", {"app": "b"}, ports=[("dns", 53, "UDP")])],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"ports": [{"port": "dns", "protocol": "UDP"}]}])],
         "shop/a", "shop/b", 53, True, protocol="UDP"),
    Case("endport-is-inclusive", [A, B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"ports": [{"port": 8000, "endPort": 8080}]}])],
         "shop/a", "shop/b", 8080, True, ingress={"allowed_by": ["shop/p ingress[0] (any source) ports[0]"]}),
    Case("endport-upper-bound", [A, B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"ports": [{"port": 8000, "endPort": 8080}]}])],
         "shop/a", "shop/b", 8081, False, says=("8000-8080/TCP",)),
    Case("protocol-defaults-to-tcp", [A, B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"ports": [{"port": 53}]}])],
         "shop/a", "shop/b", 53, False, protocol="UDP"),
    Case("protocol-only-port-entry-allows-every-port-of-it", [A, B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"ports": [{"protocol": "UDP"}]}])],
         "shop/a", "shop/b", 5353, True, protocol="UDP"),
    Case("port-entry-without-protocol-is-tcp-only", [A, B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"ports": [{}]}])],
         "shop/a", "shop/b", 5353, False, protocol="UDP"),
    Case("sctp", [A, B],
         [policy("shop", "p", podSelector=labels(app="b"), ingress=[{"ports": [{"port": 3868, "protocol": "SCTP"}]}])],
         "shop/a", "shop/b", 3868, True, protocol="SCTP"),
    # Both ends
    Case("egress-allowed-ingress-denied", [A, B],
         [policy("shop", "out", podSelector=labels(app="a"), policyTypes=["Egress"], egress=[{"to": [{"podSelector": labels(app="b")}]}]),
          policy("shop", "in", podSelector=labels(app="b"), policyTypes=["Ingress"])],
         "shop/a", "shop/b", 8080, False, egress={"isolated": True}, ingress={"isolated": True, "allowed_by": []},
         says=("egress  allowed", "ingress DENIED")),
    Case("ingress-allowed-egress-denied", [A, B],
         [DENY_ALL_EGRESS, policy("shop", "in", podSelector=labels(app="b"), ingress=[{"from": [{"podSelector": labels(app="a")}]}])],
         "shop/a", "shop/b", 8080, False, says=("egress  DENIED", "ingress allowed")),
    # Same pod, same workload
    Case("pod-to-itself-is-evaluated", [A],
         [policy("shop", "p", podSelector={}, policyTypes=["Ingress", "Egress"], ingress=[{}])],
         "shop/a", "shop/a", 80, False, says=("same pod",)),
    Case("replicas-of-one-workload-are-evaluated",
         [pod("shop", "kc-0", {"app": "kc"}, owner="Deployment/kc"), pod("shop", "kc-1", {"app": "kc"}, owner="Deployment/kc")],
         [policy("shop", "kc", podSelector=labels(app="kc"), policyTypes=["Ingress", "Egress"],
                 ingress=[{"from": [{"podSelector": labels(app="kc")}], "ports": [{"port": 7800}]}])],
         "shop/Deployment/kc", "shop/kc", 7800, False, egress={"endpoint": "shop/kc-0"}, ingress={"endpoint": "shop/kc-1"}),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_spec_case(case: Case) -> None:
    eng = engine(case.pods, case.policies, case.namespaces)
    verdict = eng.check(case.src, case.dst, case.port, case.protocol)
    assert verdict.allowed is case.allowed, verdict.explain()
    for side, expected in (("egress", case.egress), ("ingress", case.ingress)):
        actual = getattr(verdict, side)
        for name, value in expected.items():
            got = getattr(actual, name)
            if name == "allowed_by":
                got = [str(ref) for ref in got]
            if name in ("allowed_by", "isolating_policies"):
                got = sorted(got) if name == "isolating_policies" else got
            assert got == value, f"{side}.{name}: {got!r} != {value!r}\n{verdict.explain()}"
    text = verdict.explain()
    for element in case.says:
        assert element in text, f"{element!r} not in:\n{text}"
    # The class engine agrees with the per-pair answer whenever both ends are pods.
    src, dst = eng.resolve(case.src)[0], eng.resolve(case.dst, avoid=eng.resolve(case.src)[0])[0]
    if hasattr(src, "labels") and hasattr(dst, "labels"):
        matrix = eng.class_matrix(verdict.port, verdict.protocol)
        index = eng.class_index
        cell = (index.class_of_pod[(src.namespace, src.name)], index.class_of_pod[(dst.namespace, dst.name)])
        assert bool(matrix.allowed[cell]) is case.allowed


def test_to_dict_shape() -> None:
    verdict = engine([A, B], [DENY_ALL_EGRESS]).check("shop/a", "shop/b", 8080)
    data = verdict.to_dict()
    assert data["allowed"] is False
    assert set(data) >= {"allowed", "egress", "ingress"}
    assert data["egress"]["isolated"] is True and data["egress"]["allowed"] is False
    assert data["egress"]["isolating_policies"] == ["shop/deny-egress"]
    assert data["ingress"] == {**data["ingress"], "isolated": False, "allowed": True, "allowed_by": []}


def test_rule_ref_fields() -> None:
    pols = [policy("shop", "p", podSelector=labels(app="b"), ingress=[
        {"ports": [{"port": 1}]}, {"from": [{"podSelector": labels(app="x")}, {"podSelector": labels(app="a")}],
                                   "ports": [{"port": 7}, {"port": 8080}]}])]
    ref = engine([A, B], pols).check("shop/a", "shop/b", 8080).ingress.allowed_by[0]
    assert (ref.policy, ref.direction, ref.rule, ref.peer, ref.port) == ("shop/p", "ingress", 1, 1, 1)
    assert ref.path == "spec.ingress[1]"
    assert ref.to_dict()["peer"] == 1


@pytest.mark.parametrize("spec, message", [
    ({"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]}]}, "cannot be combined"),
    ({"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["11.0.0.0/16"]}}]}]}, "is not inside"),
    ({"ingress": [{"from": [{"ipBlock": {"cidr": "nonsense"}}]}]}, "is not a CIDR"),
    ({"ingress": [{"ports": [{"port": "http", "endPort": 90}]}]}, "needs a numeric port"),
    ({"ingress": [{"ports": [{"port": 90, "endPort": 80}]}]}, "must be between"),
    ({"ingress": [{"ports": [{"port": 80, "protocol": "ICMP"}]}]}, "is not one of"),
    ({"podSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}}, "needs values"),
    ({"podSelector": {"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}}, "operator"),
    ({"policyTypes": ["Sideways"]}, "is not Ingress or Egress"),
    ({"egress": [{"to": [{}]}]}, "needs podSelector, namespaceSelector or ipBlock"),
])
def test_invalid_policies_are_input_errors(spec, message) -> None:
    from runbooks_lib.errors import InputError

    with pytest.raises(InputError, match=message) as caught:
        engine([A], [policy("shop", "bad", **spec)])
    assert "NetworkPolicy shop/bad" in str(caught.value)
