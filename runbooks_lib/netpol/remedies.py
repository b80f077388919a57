"""Fixes as NetworkPolicy manifests: a new, narrow policy that adds one allow.

Allows are unioned and a policy for one direction isolates only pods that are
already isolated in that direction, so applying such a policy changes nothing
but the flow it names. That makes it a safer patch than editing an existing
policy's rule list (a strategic merge would replace the whole list).
"""

from __future__ import annotations

import re
from typing import Iterable

import yaml

from ..state import NAMESPACE_NAME_LABEL
from .model import EGRESS


def format_ports(ports: Iterable[tuple[int, str]]) -> str:
    return ", ".join(f"{number}/{protocol}" for number, protocol in sorted(set(ports), key=lambda p: (p[1], p[0])))


def peer_for(selector: dict, peer_namespace: str, policy_namespace: str) -> dict:
    """A peer naming pods by labels; across namespaces, ANDed with the namespace's name label."""
    peer: dict = {"podSelector": {"matchLabels": dict(selector)}}
    if peer_namespace != policy_namespace:
        peer["namespaceSelector"] = {"matchLabels": {NAMESPACE_NAME_LABEL: peer_namespace}}
    return peer


def allow_policy(name: str, namespace: str, pod_selector: dict, direction: str, peer: dict,
                 ports: Iterable[tuple[int, str]]) -> dict:
    """A NetworkPolicy allowing ``direction`` traffic of the selected pods to/from ``peer`` on ``ports``."""
    peer_field = "to" if direction == EGRESS else "from"
    rule = {peer_field: [peer],
            "ports": [{"port": number, "protocol": protocol}
                      for number, protocol in sorted(set(ports), key=lambda p: (p[1], p[0]))]}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": policy_name(name), "namespace": namespace},
            "spec": {"podSelector": {"matchLabels": dict(pod_selector)},
                     "policyTypes": ["Egress" if direction == EGRESS else "Ingress"],
                     direction: [rule]}}


def policy_name(text: str) -> str:
    """A valid object name (DNS subdomain, at most 253 characters) from free text."""
    name = re.sub(r"[^a-z0-9.-]+", "-", text.lower()).strip("-.")
    return name[:253].rstrip("-.") or "allow"


def to_yaml(data: object) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100)

