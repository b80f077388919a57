"""NetworkPolicy (networking.k8s.io/v1) evaluation: may pod A connect to pod B on port P, and why.

    from runbooks_lib.netpol import PolicyEngine
    engine = PolicyEngine.from_state(state)
    verdict = engine.check("staging/keycloak-0", "staging/keycloak-1", 7800)
    verdict.allowed, verdict.egress.explanation, verdict.to_dict()

Semantics and the explanation format: docs/network-policy.md.
"""

from .classes import ClassMatrix, PodClass
from .engine import PolicyEngine
from .evaluate import External
from .model import ContainerPort, PodInfo, Policy, parse_pod, parse_policy
from .verdict import RuleRef, SideVerdict, Verdict

__all__ = ["PolicyEngine", "Verdict", "SideVerdict", "RuleRef", "ClassMatrix", "PodClass", "PodInfo",
           "ContainerPort", "Policy", "External", "parse_pod", "parse_policy"]
