"""The answer to "may A open a connection to B on port P?", with the reasons, per side."""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import EGRESS, INGRESS

_PEER_FIELD = {INGRESS: "from", EGRESS: "to"}


@dataclass(frozen=True)
class RuleRef:
    """One rule (and the peer and port entries in it) that allows a connection.

    ``peer`` is None when the rule has no from/to (every peer); ``port`` is None
    when it has no ports (every port).
    """

    policy: str  # "namespace/name"
    direction: str  # "ingress" | "egress"
    rule: int
    peer: int | None = None
    port: int | None = None

    @property
    def path(self) -> str:
        """Field path inside the NetworkPolicy, e.g. spec.ingress[0].from[1]."""
        return f"spec.{self.direction}[{self.rule}]"

    def __str__(self) -> str:
        if self.peer is not None:
            peer = f" {_PEER_FIELD[self.direction]}[{self.peer}]"
        else:
            peer = f" (any {'source' if self.direction == INGRESS else 'destination'})"
        port = f" ports[{self.port}]" if self.port is not None else " (any port)"
        return f"{self.policy} {self.direction}[{self.rule}]{peer}{port}"

    def to_dict(self) -> dict:
        return {"policy": self.policy, "direction": self.direction, "rule": self.rule,
                "peer": self.peer, "port": self.port, "path": self.path}


@dataclass(frozen=True)
class SideVerdict:
    """One side of a connection: the source's egress or the destination's ingress."""

    direction: str
    endpoint: str  # the pod this side belongs to ("ns/pod"), or an IP
    isolated: bool
    isolating_policies: list[str] = field(default_factory=list)
    allowed_by: list[RuleRef] = field(default_factory=list)
    explanation: str = ""
    applies: bool = True  # False for an IP outside the cluster: NetworkPolicy does not govern it
    near_misses: list[str] = field(default_factory=list)  # rules that almost allow it, and why not

    @property
    def allowed(self) -> bool:
        return not self.isolated or bool(self.allowed_by)

    def to_dict(self) -> dict:
        return {"allowed": self.allowed, "direction": self.direction, "endpoint": self.endpoint,
                "applies": self.applies, "isolated": self.isolated,
                "isolating_policies": list(self.isolating_policies),
                "allowed_by": [ref.to_dict() for ref in self.allowed_by],
                "near_misses": list(self.near_misses), "explanation": self.explanation}


@dataclass(frozen=True)
class Verdict:
    source: str
    destination: str
    port: int
    protocol: str
    egress: SideVerdict
    ingress: SideVerdict
    notes: tuple[str, ...] = ()  # how the references were resolved, caveats

    @property
    def allowed(self) -> bool:
        """A connection needs the source's egress AND the destination's ingress."""
        return self.egress.allowed and self.ingress.allowed

    @property
    def denied_by(self) -> list[str]:
        return [side.direction for side in (self.egress, self.ingress) if not side.allowed]

    def to_dict(self) -> dict:
        return {"allowed": self.allowed, "source": self.source, "destination": self.destination,
                "port": self.port, "protocol": self.protocol,
                "egress": self.egress.to_dict(), "ingress": self.ingress.to_dict(), "notes": list(self.notes)}

    def explain(self) -> str:
        """Several lines: the answer, then each side with its reasons."""
        lines = [f"{'ALLOWED' if self.allowed else 'DENIED'}: {self.source} -> {self.destination} "
                 f"on {self.port}/{self.protocol}"]
        for side in (self.egress, self.ingress):
            lines.append(f"  {side.direction:<7} {'allowed' if side.allowed else 'DENIED':<7} {side.explanation}")
            lines.extend(f"          near miss: {miss}" for miss in side.near_misses)
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)
