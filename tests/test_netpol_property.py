"""The class engine and check() against a deliberately plain reference evaluator.

The reference reads the raw dicts directly, pair by pair, straight from the API
documentation's wording, sharing no code with runbooks_lib.netpol. Hypothesis
draws small random clusters: labels, selectors with every operator, named and
numbered ports and ranges, protocols, ipBlocks with except, policyTypes variants
and empty lists.
"""

from __future__ import annotations

import ipaddress

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runbooks_lib.netpol import PolicyEngine

NAMESPACES = ["a", "b"]
LABEL_KEYS = ["app", "tier"]
LABEL_VALUES = ["1", "2", "3"]
NS_LABELS = {"team": ["x", "y"]}
PROTOCOLS = ["TCP", "UDP", "SCTP"]
QUERY_PORTS = [53, 80, 443, 8080]
NAMED_PORTS = [("http", 80, "TCP"), ("http", 8080, "TCP"), ("dns", 53, "UDP"), ("dns", 53, "TCP"),
               ("web", 443, "TCP"), ("sig", 80, "SCTP")]
IP_POOL = ["10.0.0.1", "10.0.1.5", "10.1.0.9", "192.168.0.4", "fd00::1", "fd00::1:2"]
CIDRS = [("10.0.0.0/16", ["10.0.1.0/24"]), ("10.0.0.0/8", []), ("0.0.0.0/0", ["10.0.0.0/16"]),
         ("fd00::/64", []), ("fd00::/112", ["fd00::/126"]), ("10.0.0.1/32", [])]
EXTERNAL_IPS = ["10.0.0.7", "10.0.1.7", "8.8.8.8", "fd00::9"]


# -- the reference ---------------------------------------------------------------------------


def ref_selector_matches(selector: dict, labels: dict) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and not (key in labels and labels[key] in values):
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def ref_policy_types(spec: dict) -> list[str]:
    if spec.get("policyTypes"):
        return spec["policyTypes"]
    return ["Ingress"] + (["Egress"] if spec.get("egress") else [])


def ref_pod_ips(pod: dict) -> list:
    return [ipaddress.ip_address(entry["ip"]) for entry in (pod.get("status") or {}).get("podIPs", [])]


def ref_in_block(ip, block: dict) -> bool:
    cidr = ipaddress.ip_network(block["cidr"])
    if ip.version != cidr.version or ip not in cidr:
        return False
    return not any(ip in ipaddress.ip_network(e) for e in block.get("except") or [] if ip.version == cidr.version)


def ref_peer_matches(peer: dict, policy_ns: str, other, namespaces: dict) -> bool:
    if "ipBlock" in peer:
        ips = [other] if not isinstance(other, dict) else ref_pod_ips(other)
        return any(ref_in_block(ip, peer["ipBlock"]) for ip in ips)
    if not isinstance(other, dict):
        return False
    other_ns = other["metadata"]["namespace"]
    if "namespaceSelector" in peer:
        ns_labels = {**namespaces.get(other_ns, {}), "kubernetes.io/metadata.name": other_ns}
        if not ref_selector_matches(peer["namespaceSelector"], ns_labels):
            return False
    elif other_ns != policy_ns:
        return False
    return "podSelector" not in peer or ref_selector_matches(peer["podSelector"], other["metadata"]["labels"])


def ref_ports_match(ports, port: int, protocol: str, destination) -> bool:
    if not ports:
        return True
    declared = []
    if isinstance(destination, dict):
        declared = [p for c in destination["spec"]["containers"] for p in c.get("ports", [])]
    for entry in ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        if "port" not in entry:
            return True
        value = entry["port"]
        if isinstance(value, str):
            if any(p.get("name") == value and p.get("protocol", "TCP") == protocol and p["containerPort"] == port
                   for p in declared):
                return True
        elif "endPort" in entry:
            if value <= port <= entry["endPort"]:
                return True
        elif value == port:
            return True
    return False


def ref_side_allowed(direction: str, subject, other, port: int, protocol: str, policies, namespaces) -> bool:
    if not isinstance(subject, dict):
        return True  # not a pod: no policy applies
    type_name, peer_key = ("Ingress", "from") if direction == "ingress" else ("Egress", "to")
    ns = subject["metadata"]["namespace"]
    applying = [p for p in policies if p["metadata"]["namespace"] == ns and type_name in ref_policy_types(p["spec"])
                and ref_selector_matches(p["spec"].get("podSelector") or {}, subject["metadata"]["labels"])]
    if not applying:
        return True
    destination = other if direction == "egress" else subject
    for p in applying:
        for rule in p["spec"].get(direction) or []:
            peers = rule.get(peer_key)
            peer_ok = not peers or any(ref_peer_matches(peer, ns, other, namespaces) for peer in peers)
            if peer_ok and ref_ports_match(rule.get("ports"), port, protocol, destination):
                return True
    return False


# -- random clusters -------------------------------------------------------------------------
# Strategies are built once at module level: building them inside each draw is most of the cost.

def choice(*strategies):
    """Pick one strategy uniformly (st.one_of leans to the first: the rare shapes would go untested)."""
    return st.sampled_from(strategies).flatmap(lambda strategy: strategy)


labels_st = st.dictionaries(st.sampled_from(LABEL_KEYS), st.sampled_from(LABEL_VALUES), max_size=2)
namespace_labels_st = st.sampled_from([{}, {"team": "x"}, {"team": "y"}])
operator_st = st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"])
VALUE_LISTS = {name: st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique=True)
               for name, pool in (("pod", LABEL_VALUES), ("team", NS_LABELS["team"]), ("ns", NAMESPACES))}


@st.composite
def expressions(draw, keys):
    key = draw(st.sampled_from(keys))
    op = draw(operator_st)
    if op in ("In", "NotIn"):
        pool = "team" if key == "team" else "ns" if key == "kubernetes.io/metadata.name" else "pod"
        return {"key": key, "operator": op, "values": draw(VALUE_LISTS[pool])}
    return {"key": key, "operator": op}


@st.composite
def selectors(draw, keys=tuple(LABEL_KEYS)):
    selector = {}
    if draw(st.booleans()):
        key = draw(st.sampled_from(keys))
        pool = NS_LABELS["team"] if key == "team" else NAMESPACES if key == "kubernetes.io/metadata.name" else LABEL_VALUES
        selector["matchLabels"] = {key: draw(st.sampled_from(pool))}
    if draw(st.booleans()):
        selector["matchExpressions"] = draw(st.lists(expressions(keys), max_size=2))
    return selector


pod_selector_st = selectors()
namespace_selector_st = selectors(keys=("team", "kubernetes.io/metadata.name"))
ip_block_st = st.sampled_from([{"cidr": cidr, **({"except": excepts} if use else {})}
                               for cidr, excepts in CIDRS for use in ((False, True) if excepts else (False,))])
peer_st = choice(
    st.fixed_dictionaries({"podSelector": pod_selector_st}),
    st.fixed_dictionaries({"namespaceSelector": namespace_selector_st}),
    st.fixed_dictionaries({"podSelector": pod_selector_st, "namespaceSelector": namespace_selector_st}),
    st.fixed_dictionaries({"ipBlock": ip_block_st}),
)
protocol_entry_st = st.fixed_dictionaries({}, optional={"protocol": st.sampled_from(PROTOCOLS)})
named_port_entry_st = st.builds(lambda base, name: {**base, "port": name}, protocol_entry_st,
                                st.sampled_from(["http", "dns", "web", "sig", "nope"]))
port_entry_st = choice(
    st.just({}),
    st.fixed_dictionaries({"protocol": st.sampled_from(PROTOCOLS)}),
    st.builds(lambda base, port: {**base, "port": port}, protocol_entry_st, st.sampled_from(QUERY_PORTS + [81])),
    st.builds(lambda base, start, width: {**base, "port": start, "endPort": start + width},
              protocol_entry_st, st.sampled_from([50, 80, 443]), st.sampled_from([0, 3, 8000])),
    named_port_entry_st,
    named_port_entry_st,  # twice: named ports are the subtle part
)


def optional_list(item, max_size=2):
    # None: absent; []: present and empty; else items (drawn more often: that is where the rules are).
    items = st.lists(item, min_size=1, max_size=max_size)
    return choice(st.none(), st.just([]), items, items)


def rule_st(peer_key):
    return st.builds(lambda peers, ports: {**({peer_key: peers} if peers is not None else {}),
                                           **({"ports": ports} if ports is not None else {})},
                     optional_list(peer_st), optional_list(port_entry_st))


policy_types_st = st.sampled_from([None, [], ["Ingress"], ["Egress"], ["Ingress", "Egress"]])
spec_st = st.builds(
    lambda selector, types, ingress, egress: {
        "podSelector": selector, **({"policyTypes": types} if types is not None else {}),
        **({"ingress": ingress} if ingress is not None else {}), **({"egress": egress} if egress is not None else {})},
    pod_selector_st, policy_types_st, optional_list(rule_st("from")), optional_list(rule_st("to")))
container_ports_st = st.lists(st.sampled_from(NAMED_PORTS), max_size=2, unique_by=lambda p: (p[0], p[2]))
ips_st = st.lists(st.sampled_from(IP_POOL), max_size=2, unique=True)


@st.composite
def clusters(draw):
    pod_list = []
    for index in range(draw(st.sampled_from(range(1, 7)))):
        ports, ips = draw(container_ports_st), draw(ips_st)
        pod = {"metadata": {"namespace": draw(st.sampled_from(NAMESPACES)), "name": f"pod{index}",
                            "labels": draw(labels_st)},
               "spec": {"containers": [{"name": "c", "ports": [{"name": n, "containerPort": p, "protocol": proto}
                                                               for n, p, proto in ports]}]}}
        if ips:
            pod["status"] = {"podIP": ips[0], "podIPs": [{"ip": ip} for ip in ips]}
        pod_list.append(pod)
    policy_list = [{"metadata": {"namespace": draw(st.sampled_from(NAMESPACES)), "name": f"p{index}"},
                    "spec": draw(spec_st)} for index in range(draw(st.sampled_from(range(0, 6))))]
    namespaces = {ns: draw(namespace_labels_st) for ns in NAMESPACES}
    return pod_list, policy_list, namespaces


# -- the properties ----------------------------------------------------------------------------


def ref_name(pod: dict) -> str:
    return f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cluster=clusters(), port=st.sampled_from(QUERY_PORTS), protocol=st.sampled_from(["TCP", "TCP", "UDP", "SCTP"]),
       external=st.sampled_from(EXTERNAL_IPS))
def test_engine_matches_reference(cluster, port, protocol, external) -> None:
    """Class matrix, check(), workload matrix and external-IP checks all agree with the reference."""
    pod_list, policy_list, namespaces = cluster
    engine = PolicyEngine(pod_list, policy_list, namespaces)
    matrix = engine.class_matrix(port, protocol)
    index = engine.class_index
    allowed, egress_ok, ingress_ok = matrix.allowed, matrix.egress_ok, matrix.ingress_ok
    workloads, _asymmetric = engine.workload_matrix(None, port, protocol)
    for src in pod_list:
        for dst in pod_list:
            egress = ref_side_allowed("egress", src, dst, port, protocol, policy_list, namespaces)
            ingress = ref_side_allowed("ingress", dst, src, port, protocol, policy_list, namespaces)
            s = index.class_of_pod[(src["metadata"]["namespace"], src["metadata"]["name"])]
            d = index.class_of_pod[(dst["metadata"]["namespace"], dst["metadata"]["name"])]
            pair = f"{ref_name(src)} -> {ref_name(dst)}"
            assert bool(egress_ok[s, d]) == egress, f"egress {pair}"
            assert bool(ingress_ok[s, d]) == ingress, f"ingress {pair}"
            assert bool(allowed[s, d]) == (egress and ingress), pair
            verdict = engine.check(ref_name(src), ref_name(dst), port, protocol)
            assert (verdict.egress.allowed, verdict.ingress.allowed) == (egress, ingress), verdict.explain()
            # Every pod is its own workload here, so the workload matrix is the pod matrix.
            row, column = (f"{p['metadata']['namespace']}/Pod/{p['metadata']['name']}" for p in (src, dst))
            assert bool(workloads.loc[row, column]) == (egress and ingress), pair
    ip = ipaddress.ip_address(external)
    for pod in pod_list:
        outbound = engine.check(ref_name(pod), external, port, protocol)
        assert outbound.allowed == ref_side_allowed("egress", pod, ip, port, protocol, policy_list, namespaces)
        inbound = engine.check(external, ref_name(pod), port, protocol)
        assert inbound.allowed == ref_side_allowed("ingress", pod, ip, port, protocol, policy_list, namespaces)
