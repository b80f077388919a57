"""NetworkPolicies and pods, parsed into the small frozen shapes the engine evaluates.

Parsing applies the API server's defaults, so the engine never sees a raw dict:
policyTypes omitted (or empty) means Ingress, plus Egress when spec.egress is a
non-empty list; a port's protocol defaults to TCP; an absent or empty ``from``/``to``
means every peer, an absent or empty ``ports`` every port.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Mapping, Sequence  # not typing: its isinstance checks are ~5x slower

from ..errors import InputError
from .addresses import IPBlock, parse_ip, parse_network
from .protocols import PROTOCOLS
from .selectors import Selector, SelectorError, parse_selector

INGRESS, EGRESS = "ingress", "egress"
DIRECTIONS = (INGRESS, EGRESS)
_POLICY_TYPE = {INGRESS: "Ingress", EGRESS: "Egress"}
_PEER_FIELD = {INGRESS: "from", EGRESS: "to"}


@dataclass(frozen=True)
class ContainerPort:
    number: int
    protocol: str = "TCP"
    name: str | None = None


@dataclass(frozen=True, eq=False)
class PodInfo:
    """What policy evaluation needs of a pod; ``workload`` is (kind, name) for grouping and reports."""

    namespace: str
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[ContainerPort, ...] = ()
    ips: tuple = ()  # ipaddress objects
    workload: tuple[str, str] = ("Pod", "")
    stand_in: bool = False  # made from a workload template (manifests): no IPs

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def workload_ref(self) -> str:
        kind, name = self.workload
        return f"{self.namespace}/{kind}/{name or self.name}"

    @property
    def named_ports(self) -> frozenset[tuple[str, int, str]]:
        return frozenset((p.name, p.number, p.protocol) for p in self.ports if p.name)

    def resolve_named_port(self, name: str, protocol: str) -> int | None:
        for port in self.ports:
            if port.name == name and port.protocol == protocol:
                return port.number
        return None


@dataclass(frozen=True)
class PortSpec:
    """One entry of a rule's ``ports``: a number, a range (port..endPort) or a named port."""

    protocol: str = "TCP"
    port: int | str | None = None  # None: every port of the protocol
    end_port: int | None = None

    def matches(self, port: int, protocol: str, destination_named_ports: frozenset) -> bool:
        if protocol != self.protocol:
            return False
        if self.port is None:
            return True
        if isinstance(self.port, str):  # named ports resolve on the destination pod
            return (self.port, port, protocol) in destination_named_ports
        if self.end_port is not None:
            return self.port <= port <= self.end_port
        return port == self.port

    def describe(self) -> str:
        if self.port is None:
            return f"all {self.protocol} ports"
        if self.end_port is not None:
            return f"{self.port}-{self.end_port}/{self.protocol}"
        return f"{self.port}/{self.protocol}"

    def to_dict(self) -> dict:
        data: dict = {}
        if self.port is not None:
            data["port"] = self.port
        if self.end_port is not None:
            data["endPort"] = self.end_port
        data["protocol"] = self.protocol
        return data


@dataclass(frozen=True)
class Peer:
    """One ``from``/``to`` entry. podSelector and namespaceSelector together are ANDed."""

    pod_selector: Selector | None = None
    namespace_selector: Selector | None = None
    ip_block: IPBlock | None = None

    def describe(self, policy_namespace: str) -> str:
        if self.ip_block is not None:
            return f"ipBlock {self.ip_block.describe()}"
        pods = f"pods [{self.pod_selector.describe()}]" if self.pod_selector is not None else "all pods"
        if self.namespace_selector is None:
            return f"{pods} in namespace {policy_namespace}"
        return f"{pods} in namespaces [{self.namespace_selector.describe()}]"


@dataclass(frozen=True)
class PolicyRule:
    peers: tuple[Peer, ...] | None = None  # None: every peer (from/to absent or empty)
    ports: tuple[PortSpec, ...] | None = None  # None: every port (ports absent or empty)

    def describe_ports(self) -> str:
        return "all ports" if self.ports is None else ", ".join(p.describe() for p in self.ports)


@dataclass(frozen=True)
class Policy:
    namespace: str
    name: str
    pod_selector: Selector
    policy_types: frozenset[str]  # {"ingress", "egress"} after defaulting
    ingress: tuple[PolicyRule, ...] = ()
    egress: tuple[PolicyRule, ...] = ()
    types_defaulted: bool = False  # policyTypes was omitted: reported in explanations

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    def isolates(self, direction: str) -> bool:
        return direction in self.policy_types

    def rules(self, direction: str) -> tuple[PolicyRule, ...]:
        """The rules that take effect: none for a direction missing from policyTypes."""
        if direction not in self.policy_types:
            return ()
        return self.ingress if direction == INGRESS else self.egress

    def has_ip_blocks(self) -> bool:
        return any(peer.ip_block is not None for rule in self.ingress + self.egress for peer in rule.peers or ())


# -- parsing -------------------------------------------------------------------------------


def parse_policy(obj: Mapping) -> Policy:
    """A NetworkPolicy dict, defaulted as the API server would; InputError for invalid specs."""
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    namespace, name = str(meta.get("namespace") or "default"), str(meta.get("name") or "?")
    where = f"NetworkPolicy {namespace}/{name}"
    spec = obj.get("spec") if isinstance(obj.get("spec"), Mapping) else {}
    try:
        pod_selector = parse_selector(spec.get("podSelector") or {}, "spec.podSelector")
        ingress = _parse_rules(spec.get("ingress"), INGRESS)
        egress = _parse_rules(spec.get("egress"), EGRESS)
        types, defaulted = _policy_types(spec.get("policyTypes"), egress)
    except (SelectorError, ValueError) as exc:
        raise InputError(f"{where}: {exc}") from None
    return Policy(namespace, name, pod_selector, types, ingress, egress, defaulted)


def _policy_types(raw: object, egress: tuple) -> tuple[frozenset[str], bool]:
    if not raw:  # omitted or []: the API server defaults it
        return frozenset({INGRESS} | ({EGRESS} if egress else set())), True
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise ValueError("spec.policyTypes: expected a list of Ingress and/or Egress")
    types = set()
    for index, value in enumerate(raw):
        if value not in ("Ingress", "Egress"):
            raise ValueError(f"spec.policyTypes[{index}]: {value!r} is not Ingress or Egress")
        types.add(INGRESS if value == "Ingress" else EGRESS)
    return frozenset(types), False


def _parse_rules(raw: object, direction: str) -> tuple[PolicyRule, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise ValueError(f"spec.{direction}: expected a list of rules")
    rules = []
    for index, rule in enumerate(raw):
        where = f"spec.{direction}[{index}]"
        rule = rule if rule is not None else {}
        if not isinstance(rule, Mapping):
            raise ValueError(f"{where}: expected a rule object")
        peers_field = _PEER_FIELD[direction]
        raw_peers, raw_ports = rule.get(peers_field), rule.get("ports")
        peers = tuple(_parse_peer(p, f"{where}.{peers_field}[{i}]")
                      for i, p in enumerate(_as_list(raw_peers, f"{where}.{peers_field}")))
        ports = tuple(_parse_port(p, f"{where}.ports[{i}]")
                      for i, p in enumerate(_as_list(raw_ports, f"{where}.ports")))
        rules.append(PolicyRule(peers or None, ports or None))
    return tuple(rules)


def _as_list(raw: object, where: str) -> list:
    if raw is None:
        return []
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise ValueError(f"{where}: expected a list")
    return list(raw)


def _parse_peer(raw: object, where: str) -> Peer:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected a peer object")
    has_pod, has_ns, has_ip = ("podSelector" in raw and raw["podSelector"] is not None,
                               "namespaceSelector" in raw and raw["namespaceSelector"] is not None,
                               raw.get("ipBlock") is not None)
    if has_ip and (has_pod or has_ns):
        raise ValueError(f"{where}: ipBlock cannot be combined with podSelector or namespaceSelector")
    if not (has_pod or has_ns or has_ip):
        raise ValueError(f"{where}: a peer needs podSelector, namespaceSelector or ipBlock")
    if has_ip:
        return Peer(ip_block=_parse_ip_block(raw["ipBlock"], f"{where}.ipBlock"))
    pods = parse_selector(raw["podSelector"], f"{where}.podSelector") if has_pod else None
    namespaces = parse_selector(raw["namespaceSelector"], f"{where}.namespaceSelector") if has_ns else None
    return Peer(pod_selector=pods, namespace_selector=namespaces)


def _parse_ip_block(raw: object, where: str) -> IPBlock:
    if not isinstance(raw, Mapping) or not raw.get("cidr"):
        raise ValueError(f"{where}: needs a cidr")
    cidr = parse_network(raw["cidr"], f"{where}.cidr")
    excepts = []
    for index, text in enumerate(_as_list(raw.get("except"), f"{where}.except")):
        excluded = parse_network(text, f"{where}.except[{index}]")
        if excluded.version != cidr.version or not excluded.subnet_of(cidr):
            raise ValueError(f"{where}.except[{index}]: {excluded} is not inside {cidr}")
        excepts.append(excluded)
    return IPBlock(cidr, tuple(excepts))


def _parse_port(raw: object, where: str) -> PortSpec:
    raw = raw if raw is not None else {}
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected a port object")
    protocol = raw.get("protocol") or "TCP"
    if protocol not in PROTOCOLS:
        raise ValueError(f"{where}.protocol: {protocol!r} is not one of {', '.join(PROTOCOLS)}")
    port, end_port = raw.get("port"), raw.get("endPort")
    if isinstance(port, str) and port.isdigit():
        port = int(port)  # a quoted number; the API would want an int, we read the intent
    if isinstance(port, bool) or (port is not None and not isinstance(port, (int, str))):
        raise ValueError(f"{where}.port: expected a number or a port name")
    if isinstance(port, int) and not 1 <= port <= 65535:
        raise ValueError(f"{where}.port: {port} is not in 1-65535")
    if end_port is not None:
        if not isinstance(end_port, int) or isinstance(end_port, bool):
            raise ValueError(f"{where}.endPort: expected a number")
        if not isinstance(port, int):
            raise ValueError(f"{where}.endPort: needs a numeric port")
        if not port <= end_port <= 65535:
            raise ValueError(f"{where}.endPort: {end_port} must be between port ({port}) and 65535")
    return PortSpec(protocol, port, end_port)


def parse_pod(obj: Mapping, workload: tuple[str, str] | None = None) -> PodInfo:
    """A Pod dict; ``workload`` defaults to the stand-in annotation or the pod itself."""
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    spec = obj.get("spec") if isinstance(obj.get("spec"), Mapping) else {}
    status = obj.get("status") if isinstance(obj.get("status"), Mapping) else {}
    name = str(meta.get("name") or "")
    annotations = meta.get("annotations") if isinstance(meta.get("annotations"), Mapping) else {}
    stands_in = annotations.get("runbooks.dev/stands-in-for")
    if workload is None:
        kind, _, owner = str(stands_in or "").partition("/")
        workload = (kind, owner) if stands_in and owner else ("Pod", name)
    labels = meta.get("labels") if isinstance(meta.get("labels"), Mapping) else {}
    return PodInfo(
        namespace=str(meta.get("namespace") or "default"), name=name,
        labels={str(k): _label_text(v) for k, v in labels.items()},
        ports=tuple(_container_ports(spec)), ips=tuple(_pod_ips(status)),
        workload=workload, stand_in=bool(stands_in))


def _label_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _container_ports(spec: Mapping):
    containers = _list(spec.get("containers"))
    # Restartable init containers (sidecars) run alongside and may serve named ports.
    containers += [c for c in _list(spec.get("initContainers"))
                   if isinstance(c, Mapping) and c.get("restartPolicy") == "Always"]
    for container in containers:
        if not isinstance(container, Mapping):
            continue
        for port in _list(container.get("ports")):
            if isinstance(port, Mapping) and isinstance(port.get("containerPort"), int):
                yield ContainerPort(port["containerPort"], str(port.get("protocol") or "TCP"),
                                    str(port["name"]) if port.get("name") else None)


def _list(value: object) -> list:
    return list(value) if isinstance(value, list) else []


def _pod_ips(status: Mapping):
    texts = [entry.get("ip") for entry in _list(status.get("podIPs")) if isinstance(entry, Mapping)]
    if not texts and status.get("podIP"):
        texts = [status["podIP"]]
    seen = set()
    for text in texts:
        ip = parse_ip(text)
        if ip is not None and ip not in seen:
            seen.add(ip)
            yield ip
