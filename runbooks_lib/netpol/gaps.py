"""Misconfigurations found by evaluating policies against the pods that exist.

- ``asymmetric_flows``: one side explicitly allows a flow that the other side
  denies (the staging Keycloak incident: ingress 7800/9000 allowed between the
  Keycloak pods, egress not).
- ``dns_gaps``: egress-isolated pods with no allowed egress to cluster DNS.

Both back the ``netpol-asymmetric`` and ``netpol-dns-blocked`` detectors and can
be called from notebooks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .engine import PolicyEngine
from .evaluate import evaluate_side
from .model import EGRESS, INGRESS, ContainerPort, PodInfo, Policy, PolicyRule

Workload = tuple[str, str, str]  # namespace, kind, name

DNS_NAMESPACE = "kube-system"
DNS_LABELS = {"k8s-app": "kube-dns"}
# Stand-in for cluster DNS when the state has no kube-dns pods: CoreDNS's usual ports.
ASSUMED_DNS_POD = PodInfo(DNS_NAMESPACE, "kube-dns (assumed)", dict(DNS_LABELS),
                          (ContainerPort(53, "UDP", "dns"), ContainerPort(53, "TCP", "dns-tcp")),
                          workload=("Deployment", "coredns"))


@dataclass
class AsymmetricFlow:
    """Pods of ``source`` may not connect to ``destination`` on ``ports`` although one side allows it.

    ``missing`` is the direction whose rule is missing: "egress" when the destination's
    ingress rule admits the flow but the source is egress-isolated; "ingress" for the reverse.
    """

    missing: str
    source: Workload
    destination: Workload
    ports: set[tuple[int, str]] = field(default_factory=set)
    allowing_rules: set[tuple[str, str, int]] = field(default_factory=set)  # (policy, direction, rule index)
    isolating_policies: set[str] = field(default_factory=set)  # the policies isolating the denying side
    source_pods: set[str] = field(default_factory=set)
    destination_pods: set[str] = field(default_factory=set)

    @property
    def same_workload(self) -> bool:
        return self.source == self.destination

    @property
    def needs_rule_on(self) -> Workload:
        """The workload whose pods need the missing rule."""
        return self.source if self.missing == EGRESS else self.destination


def asymmetric_flows(engine: PolicyEngine) -> list[AsymmetricFlow]:
    """Flows between existing pods that one side's rule targets and the other side denies.

    Only rules whose matching peer names pods - a podSelector with at least one
    equality (matchLabels or In) - count as explicit. A broad allow (every pod, whole
    namespaces, "tier Exists", ipBlocks) says nothing about a particular flow, and
    reading it as intent would flag every locked-down namespace.
    """
    index = engine.class_index
    workloads = _ClassWorkloads(index.classes)
    # Gathered per port first, so that one port's class matrix at a time is held: a matrix is
    # quadratic in the number of pod classes (0.37 GB per array at 50k pods), and a rule set
    # names several ports. Matrices the engine already holds are used; others are not kept.
    checks: dict[tuple[int, str], list[tuple[Policy, str, int, np.ndarray, np.ndarray]]] = {}
    for policy in engine.policies:
        selected = np.flatnonzero(index.selected(policy))
        if selected.size == 0:
            continue
        for direction in (INGRESS, EGRESS):
            for rule_index, rule in enumerate(policy.rules(direction)):
                peers = np.flatnonzero(_targeted_peers(index, rule, policy))
                if peers.size == 0:
                    continue
                sources, destinations = (peers, selected) if direction == INGRESS else (selected, peers)
                for port, targets in _candidate_ports(index.classes, rule, destinations).items():
                    checks.setdefault(port, []).append((policy, direction, rule_index, sources, targets))
    flows: dict[tuple[str, int, int], AsymmetricFlow] = {}
    for (port, protocol), port_checks in checks.items():
        matrix = engine.cached_class_matrix(port, protocol) or index.matrix(port, protocol)
        for policy, direction, rule_index, sources, targets in port_checks:
            missing = EGRESS if direction == INGRESS else INGRESS
            # The rule allows these cells on its side; is the other side shut?
            other_ok = matrix.egress_ok if direction == INGRESS else matrix.ingress_ok
            rows, columns = np.nonzero(~other_ok[np.ix_(sources, targets)])
            for pair in workloads.pairs(sources[rows], targets[columns]):
                flow = flows.get((missing, *pair))
                if flow is None:
                    flow = flows[(missing, *pair)] = AsymmetricFlow(
                        missing, workloads.keys[pair[0]], workloads.keys[pair[1]])
                flow.ports.add((port, protocol))
                flow.allowing_rules.add((policy.ref, direction, rule_index))
        del matrix
    for flow in flows.values():
        _describe_sides(engine, workloads, flow)
    return sorted(flows.values(), key=lambda f: (f.needs_rule_on, f.missing, f.source, f.destination))


class _ClassWorkloads:
    """Which workloads each class holds, for turning class pairs into workload pairs in bulk."""

    def __init__(self, classes):
        self.keys: list[Workload] = []
        ids: dict[Workload, int] = {}
        self.of_class: list[list[int]] = []
        self.pods: dict[int, list[PodInfo]] = {}
        for cls in classes:
            members = []
            for pod in cls.pods:
                key = _workload(pod)
                if key not in ids:
                    ids[key] = len(self.keys)
                    self.keys.append(key)
                self.pods.setdefault(ids[key], []).append(pod)
                if ids[key] not in members:
                    members.append(ids[key])
            self.of_class.append(members)
        # Most classes hold one workload: those pairs are mapped with numpy, the rest one by one.
        self.single = np.array([len(m) == 1 for m in self.of_class], dtype=bool)
        self.first = np.array([m[0] for m in self.of_class], dtype=np.int64)

    def pairs(self, source_classes: np.ndarray, destination_classes: np.ndarray) -> set[tuple[int, int]]:
        simple = self.single[source_classes] & self.single[destination_classes]
        count = len(self.keys)
        codes = np.unique(self.first[source_classes[simple]] * count + self.first[destination_classes[simple]])
        found = {(int(code // count), int(code % count)) for code in codes}
        for s, d in zip(source_classes[~simple], destination_classes[~simple]):
            found.update((a, b) for a in self.of_class[s] for b in self.of_class[d])
        return found


def _describe_sides(engine: PolicyEngine, workloads: _ClassWorkloads, flow: AsymmetricFlow) -> None:
    ids = {key: i for i, key in enumerate(workloads.keys)}
    flow.source_pods = {p.name for p in workloads.pods[ids[flow.source]]}
    flow.destination_pods = {p.name for p in workloads.pods[ids[flow.destination]]}
    for pod in workloads.pods[ids[flow.needs_rule_on]]:
        flow.isolating_policies |= {p.ref for p in engine.policies_in(pod.namespace)
                                    if p.isolates(flow.missing) and p.pod_selector.matches(pod.labels)}


def _targeted_peers(index, rule: PolicyRule, policy: Policy) -> np.ndarray:
    vector = np.zeros(len(index.classes), dtype=bool)
    for peer in rule.peers or ():
        if peer.pod_selector is not None and any(r.operator == "In" for r in peer.pod_selector.requirements):
            vector |= index.peer_vector(peer, policy.namespace)
    return vector


def _candidate_ports(classes, rule: PolicyRule, destinations: np.ndarray) -> dict[tuple[int, str], np.ndarray]:
    """The concrete ports the rule allows, per destination class (named ports and ranges
    resolve on the destination's containerPorts; a rule without ports means every declared port)."""
    found: dict[tuple[int, str], list[int]] = {}
    for d in destinations:
        declared = {(p.number, p.protocol) for pod in classes[d].pods for p in pod.ports}
        ports: set[tuple[int, str]] = set()
        for spec in rule.ports or (None,):
            if spec is None:
                ports |= declared
            elif spec.port is None:
                ports |= {p for p in declared if p[1] == spec.protocol}
            elif isinstance(spec.port, str):
                ports |= {(n, proto) for name, n, proto in classes[d].named_ports
                          if name == spec.port and proto == spec.protocol}
            elif spec.end_port is not None:
                in_range = {p for p in declared if p[1] == spec.protocol and spec.port <= p[0] <= spec.end_port}
                ports |= in_range or {(spec.port, spec.protocol)}
            else:
                ports.add((spec.port, spec.protocol))
        for port in ports:
            found.setdefault(port, []).append(int(d))
    return {port: np.asarray(targets) for port, targets in found.items()}


def _workload(pod: PodInfo) -> Workload:
    kind, name = pod.workload
    return (pod.namespace, kind, name or pod.name)


@dataclass
class DnsGap:
    """Egress-isolated pods of ``workload`` that may not reach cluster DNS over ``missing`` protocols."""

    workload: Workload
    missing: list[str]  # "UDP", "TCP"
    isolating_policies: list[str]
    pods: list[str]
    assumed_dns: bool  # no kube-dns pods in the state: checked against ASSUMED_DNS_POD


def dns_targets(engine: PolicyEngine) -> tuple[list[PodInfo], bool]:
    """The cluster DNS pods (kube-system, k8s-app=kube-dns), or the assumed stand-in."""
    found = [p for p in engine.pods if p.namespace == DNS_NAMESPACE
             and all(p.labels.get(k) == v for k, v in DNS_LABELS.items())]
    return (found, False) if found else ([ASSUMED_DNS_POD], True)


def dns_gaps(engine: PolicyEngine) -> list[DnsGap]:
    targets, assumed = dns_targets(engine)
    target_set = set(map(id, targets))
    gaps: dict[Workload, DnsGap] = {}
    for cls in engine.class_index.classes:
        pod = cls.pods[0]  # pods of a class are alike to every policy
        isolating = [p for p in engine.policies_in(pod.namespace)
                     if p.isolates(EGRESS) and p.pod_selector.matches(pod.labels)]
        if not isolating or id(pod) in target_set:
            continue
        missing = [protocol for protocol in ("UDP", "TCP")
                   if not any(evaluate_side(EGRESS, pod, target, 53, protocol, isolating,
                                            engine.labels_of_namespace).allowed for target in targets)]
        if not missing:
            continue
        for member in cls.pods:
            workload = _workload(member)
            gap = gaps.get(workload)
            if gap is None:
                gap = gaps[workload] = DnsGap(workload, [], [], [], assumed)
            gap.missing = sorted(set(gap.missing) | set(missing), key=("UDP", "TCP").index)
            gap.isolating_policies = sorted(set(gap.isolating_policies) | {p.ref for p in isolating})
            gap.pods.append(member.name)
    return sorted(gaps.values(), key=lambda g: g.workload)
