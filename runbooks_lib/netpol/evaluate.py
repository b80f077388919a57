"""Evaluating one connection, one side at a time, and saying why.

This is the per-pair path behind ``PolicyEngine.check``: plain Python over the
policies of two namespaces. The class engine (classes.py) computes the same
answers for every pair at once; the property tests hold the two together.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable, Mapping, Sequence

from .model import EGRESS, INGRESS, Peer, PodInfo, Policy, PolicyRule
from .verdict import RuleRef, SideVerdict

NamespaceLabels = Callable[[str], Mapping[str, str]]
_MAX_NEAR_MISSES = 5


@dataclass(frozen=True)
class External:
    """An address outside the cluster's pods: only ipBlock peers can match it."""

    ip: object  # ipaddress.IPv4Address | IPv6Address

    @property
    def ref(self) -> str:
        return str(self.ip)


Endpoint = PodInfo | External


def peer_matches(peer: Peer, policy_namespace: str, endpoint: Endpoint, namespace_labels: NamespaceLabels) -> bool:
    if peer.ip_block is not None:
        ips = (endpoint.ip,) if isinstance(endpoint, External) else endpoint.ips
        return peer.ip_block.matches_any(ips)
    if isinstance(endpoint, External):
        return False  # selectors only ever select pods
    if peer.namespace_selector is None:
        in_namespace = endpoint.namespace == policy_namespace  # a bare podSelector means the policy's namespace
    else:
        in_namespace = peer.namespace_selector.matches(namespace_labels(endpoint.namespace))
    return in_namespace and (peer.pod_selector is None or peer.pod_selector.matches(endpoint.labels))


def selects(policy: Policy, pod: PodInfo) -> bool:
    return policy.namespace == pod.namespace and policy.pod_selector.matches(pod.labels)


def evaluate_side(direction: str, subject: Endpoint, other: Endpoint, port: int, protocol: str,
                  policies: Sequence[Policy], namespace_labels: NamespaceLabels) -> SideVerdict:
    """The egress side of ``subject`` towards ``other``, or its ingress side from ``other``."""
    if isinstance(subject, External):
        text = f"{subject.ref} is not a pod in this state: NetworkPolicy does not govern its {direction}"
        return SideVerdict(direction, subject.ref, isolated=False, applies=False, explanation=text)
    destination = other if direction == EGRESS else subject
    named_ports = destination.named_ports if isinstance(destination, PodInfo) else frozenset()
    selecting = [p for p in policies if selects(p, subject)]
    isolating = [p for p in selecting if p.isolates(direction)]
    if not isolating:
        return SideVerdict(direction, subject.ref, isolated=False,
                           explanation=_not_isolated_text(direction, subject, selecting))
    allowed_by: list[RuleRef] = []
    near_misses: list[str] = []
    for policy in isolating:
        for index, rule in enumerate(policy.rules(direction)):
            peers = _matching_peers(rule, policy.namespace, other, namespace_labels)
            ports = _matching_ports(rule, port, protocol, named_ports)
            if peers and ports:
                allowed_by.extend(RuleRef(policy.ref, direction, index, peer, port_index)
                                  for peer in peers for port_index in ports)
            elif peers or ports:
                near_misses.append(_near_miss(policy, direction, index, rule, bool(peers), other, named_ports))
    names = ", ".join(p.ref for p in isolating)
    isolated_text = f"{subject.ref} is {direction}-isolated by NetworkPolicy {names}"
    if allowed_by:
        text = f"{isolated_text}; allowed by {', '.join(map(str, allowed_by))}"
        near_misses = []
    else:
        towards = f"to {other.ref}" if direction == EGRESS else f"from {other.ref}"
        text = f"{isolated_text}; no {direction} rule allows traffic {towards} on {port}/{protocol}"
        if not any(p.rules(direction) for p in isolating):
            text += f" (the {direction} rule lists are empty: they allow nothing)"
    return SideVerdict(direction, subject.ref, isolated=True, isolating_policies=[p.ref for p in isolating],
                       allowed_by=allowed_by, explanation=text, near_misses=near_misses[:_MAX_NEAR_MISSES])


def _matching_peers(rule: PolicyRule, policy_namespace: str, other: Endpoint,
                    namespace_labels: NamespaceLabels) -> list[int | None]:
    if rule.peers is None:
        return [None]
    return [i for i, peer in enumerate(rule.peers) if peer_matches(peer, policy_namespace, other, namespace_labels)]


def _matching_ports(rule: PolicyRule, port: int, protocol: str, named_ports: frozenset) -> list[int | None]:
    if rule.ports is None:
        return [None]
    return [i for i, spec in enumerate(rule.ports) if spec.matches(port, protocol, named_ports)]


def _not_isolated_text(direction: str, subject: PodInfo, selecting: list[Policy]) -> str:
    policy_type = "Ingress" if direction == INGRESS else "Egress"
    text = (f"{subject.ref} is not {direction}-isolated: no NetworkPolicy in {subject.namespace} selects it "
            f"with {policy_type} in policyTypes, so all {direction} is allowed")
    if selecting:
        text += f" (selected by {', '.join(p.ref for p in selecting)} for {_other(direction)} only)"
    return text


def _other(direction: str) -> str:
    return EGRESS if direction == INGRESS else INGRESS


def _near_miss(policy: Policy, direction: str, index: int, rule: PolicyRule, peer_ok: bool,
               other: Endpoint, named_ports: frozenset) -> str:
    where = f"{policy.ref} {direction}[{index}]"
    if peer_ok:
        ports = []
        for spec in rule.ports or ():
            text = spec.describe()
            if isinstance(spec.port, str):
                declared = [n for name, n, proto in named_ports if name == spec.port and proto == spec.protocol]
                text += f" (= {declared[0]} on the destination)" if declared else " (not declared by the destination)"
            ports.append(text)
        return f"{where} matches {other.ref} but allows only {', '.join(ports)}"
    peers = [peer.describe(policy.namespace) for peer in rule.peers or ()]
    shown = "; ".join(peers[:3]) + ("; ..." if len(peers) > 3 else "")
    field = "from" if direction == INGRESS else "to"
    return f"{where} allows the port but none of its {field} peers matches {other.ref}: {shown}"
