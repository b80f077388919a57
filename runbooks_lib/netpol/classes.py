"""The class engine: every pod-to-pod answer for one port at once, with numpy.

Pods that no policy can tell apart form one class: same namespace (hence the
same namespace labels), same labels, same named ports, and - only when some
policy has ipBlock peers - the same answer to every ipBlock. (Keying on ipBlock
membership rather than raw IPs keeps 10,000 pods with distinct IPs in a few
hundred classes.) Each selector, peer and rule is evaluated once as a boolean
vector over classes; a policy then ORs its allowed peers into the rows (egress)
or columns (ingress) of the classes it selects. Cost is about
policies x selected classes x classes, in numpy, never pods^2 x policies in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from collections.abc import Mapping, Sequence

import numpy as np

from .addresses import IPBlock, PackedAddresses
from .model import EGRESS, INGRESS, Peer, PodInfo, Policy, PolicyRule
from .selectors import LabelTable


@dataclass
class PodClass:
    namespace: str
    labels: Mapping[str, str]
    named_ports: frozenset[tuple[str, int, str]]
    pods: list[PodInfo] = field(default_factory=list)

    def describe(self) -> str:
        workloads = sorted({pod.workload_ref for pod in self.pods})
        return f"{len(self.pods)} pod(s) of {', '.join(workloads[:3])}{' ...' if len(workloads) > 3 else ''}"


@dataclass
class ClassMatrix:
    """Answers for every (source class, destination class) pair, for one port and protocol.

    Matrices are indexed [source, destination]. ``egress_rule_allows`` and
    ``ingress_rule_allows`` say a rule explicitly allows the pair (isolation aside);
    the derived matrices are computed once, on first use.
    """

    port: int
    protocol: str
    classes: list[PodClass]
    egress_isolated: np.ndarray  # [class]
    ingress_isolated: np.ndarray  # [class]
    egress_rule_allows: np.ndarray
    ingress_rule_allows: np.ndarray

    @cached_property
    def egress_ok(self) -> np.ndarray:
        return ~self.egress_isolated[:, None] | self.egress_rule_allows

    @cached_property
    def ingress_ok(self) -> np.ndarray:
        return ~self.ingress_isolated[None, :] | self.ingress_rule_allows

    @cached_property
    def allowed(self) -> np.ndarray:
        return self.egress_ok & self.ingress_ok

    @cached_property
    def asymmetric(self) -> np.ndarray:
        """One side explicitly allows the pair (isolated, and a rule allows it) while the other denies it."""
        egress_explicit = self.egress_isolated[:, None] & self.egress_rule_allows
        ingress_explicit = self.ingress_isolated[None, :] & self.ingress_rule_allows
        return (egress_explicit & ~self.ingress_ok) | (ingress_explicit & ~self.egress_ok)

    @property
    def pod_count(self) -> int:
        return sum(len(c.pods) for c in self.classes)


class ClassIndex:
    """Pods grouped into classes, with label tables ready for vectorised selector matching."""

    def __init__(self, pods: Sequence[PodInfo], policies: Sequence[Policy],
                 namespace_labels: Mapping[str, Mapping[str, str]]):
        self.policies = list(policies)
        self.ip_blocks: list[IPBlock] = sorted(
            {peer.ip_block for p in self.policies for rule in p.ingress + p.egress for peer in rule.peers or ()
             if peer.ip_block is not None}, key=lambda b: b.describe())
        signatures = self._ip_signatures(pods)
        by_key: dict[tuple, PodClass] = {}
        self.class_of_pod: dict[tuple[str, str], int] = {}
        keys = []
        for pod, signature in zip(pods, signatures):
            key = (pod.namespace, frozenset(pod.labels.items()), pod.named_ports, signature)
            cls = by_key.get(key)
            if cls is None:
                cls = by_key[key] = PodClass(pod.namespace, dict(pod.labels), pod.named_ports)
                keys.append(key)
            cls.pods.append(pod)
        self.classes: list[PodClass] = list(by_key.values())
        for index, cls in enumerate(self.classes):
            for pod in cls.pods:
                self.class_of_pod[(pod.namespace, pod.name)] = index
        size = len(self.classes)
        # Which ipBlock each class falls in: the signature part of its key.
        self.block_member = np.zeros((size, len(self.ip_blocks)), dtype=bool)
        for index, key in enumerate(keys):
            if self.ip_blocks:
                self.block_member[index] = np.frombuffer(key[3], dtype=bool)
        namespaces = sorted({c.namespace for c in self.classes} | set(namespace_labels)
                            | {p.namespace for p in self.policies})
        self.namespace_index = {ns: i for i, ns in enumerate(namespaces)}
        self.class_namespace = np.array([self.namespace_index[c.namespace] for c in self.classes], dtype=np.int32)
        self.namespace_table = LabelTable([namespace_labels.get(ns) or {} for ns in namespaces])
        self.label_table = LabelTable([c.labels for c in self.classes])
        self._peer_cache: dict[tuple, np.ndarray] = {}
        self._selected_cache: dict[int, np.ndarray] = {}
        self._named_cache: dict[tuple, np.ndarray] = {}

    def _ip_signatures(self, pods: Sequence[PodInfo]) -> list[bytes]:
        if not self.ip_blocks:
            return [b""] * len(pods)
        packed = PackedAddresses([pod.ips for pod in pods])
        member = np.stack([packed.match(block) for block in self.ip_blocks], axis=1)
        return [row.tobytes() for row in member]

    # -- vectors over classes -------------------------------------------------------------
    def selected(self, policy: Policy) -> np.ndarray:
        cached = self._selected_cache.get(id(policy))
        if cached is None:
            in_namespace = self.class_namespace == self.namespace_index[policy.namespace]
            cached = self._selected_cache[id(policy)] = in_namespace & self.label_table.match(policy.pod_selector)
        return cached

    def peer_vector(self, peer: Peer, policy_namespace: str) -> np.ndarray:
        key = (peer, policy_namespace if peer.namespace_selector is None and peer.ip_block is None else None)
        cached = self._peer_cache.get(key)
        if cached is not None:
            return cached
        if peer.ip_block is not None:
            vector = self.block_member[:, self.ip_blocks.index(peer.ip_block)].copy()
        else:
            if peer.namespace_selector is None:
                vector = self.class_namespace == self.namespace_index[policy_namespace]
            else:
                vector = self.namespace_table.match(peer.namespace_selector)[self.class_namespace]
            if peer.pod_selector is not None:
                vector = vector & self.label_table.match(peer.pod_selector)
        self._peer_cache[key] = vector
        return vector

    def rule_peers(self, rule: PolicyRule, policy_namespace: str) -> np.ndarray:
        if rule.peers is None:
            return np.ones(len(self.classes), dtype=bool)
        vector = np.zeros(len(self.classes), dtype=bool)
        for peer in rule.peers:
            vector |= self.peer_vector(peer, policy_namespace)
        return vector

    def rule_ports(self, rule: PolicyRule, port: int, protocol: str) -> bool | np.ndarray:
        """Whether the rule's ports admit port/protocol: a bool, or a vector over destination
        classes when a named port makes it depend on the destination's containerPorts."""
        if rule.ports is None:
            return True
        vector: np.ndarray | None = None
        for spec in rule.ports:
            if isinstance(spec.port, str):
                if spec.protocol != protocol:
                    continue
                named = self._named_port_vector(spec.port, port, protocol)
                vector = named.copy() if vector is None else vector | named
            elif spec.matches(port, protocol, frozenset()):
                return True
        return vector if vector is not None else False

    def _named_port_vector(self, name: str, port: int, protocol: str) -> np.ndarray:
        key = (name, port, protocol)
        cached = self._named_cache.get(key)
        if cached is None:
            cached = self._named_cache[key] = np.array([key in c.named_ports for c in self.classes], dtype=bool)
        return cached

    # -- the matrix ---------------------------------------------------------------------
    def matrix(self, port: int, protocol: str = "TCP") -> ClassMatrix:
        size = len(self.classes)
        egress_isolated = np.zeros(size, dtype=bool)
        ingress_isolated = np.zeros(size, dtype=bool)
        egress_allows = np.zeros((size, size), dtype=bool)  # [source, destination]
        ingress_allows_t = np.zeros((size, size), dtype=bool)  # [destination, source], transposed at the end
        for policy in self.policies:
            selected = self.selected(policy)
            rows = np.flatnonzero(selected)
            if rows.size == 0:
                continue
            if policy.isolates(EGRESS):
                egress_isolated[rows] = True
                destinations = self._allowed_peers(policy, EGRESS, port, protocol)
                if destinations is not None:
                    egress_allows[rows] |= destinations
            if policy.isolates(INGRESS):
                ingress_isolated[rows] = True
                self._or_ingress(policy, rows, port, protocol, ingress_allows_t)
        return ClassMatrix(port, protocol, self.classes, egress_isolated, ingress_isolated,
                           egress_allows, ingress_allows_t.T)

    def _allowed_peers(self, policy: Policy, direction: str, port: int, protocol: str) -> np.ndarray | None:
        """Egress: destination classes any rule allows (named ports resolve on each destination)."""
        result = None
        for rule in policy.rules(direction):
            ports = self.rule_ports(rule, port, protocol)
            if ports is False:
                continue
            peers = self.rule_peers(rule, policy.namespace)
            allowed = peers if ports is True else peers & ports
            result = allowed.copy() if result is None else result | allowed
        return result

    def _or_ingress(self, policy: Policy, rows: np.ndarray, port: int, protocol: str, into: np.ndarray) -> None:
        """Ingress: for each selected (destination) class, the source classes a rule allows."""
        every_row = None  # sources allowed whatever the destination's named ports
        for rule in policy.rules(INGRESS):
            ports = self.rule_ports(rule, port, protocol)
            if ports is False:
                continue
            peers = self.rule_peers(rule, policy.namespace)
            if ports is True:
                every_row = peers.copy() if every_row is None else every_row | peers
            else:
                named_rows = rows[ports[rows]]  # destinations that declare the named port
                if named_rows.size:
                    into[named_rows] |= peers
        if every_row is not None:
            into[rows] |= every_row
