"""NetworkPolicy (networking.k8s.io/v1) evaluation: may pod A connect to pod B on port P, and why.

    from runbooks_lib.netpol import PolicyEngine
    engine = PolicyEngine.from_state(state)
    verdict = engine.check("staging/keycloak-0", "staging/keycloak-1", 7800)
    verdict.allowed, verdict.egress.explanation, verdict.to_dict()

Semantics and the explanation format: docs/network-policy.md.
"""

from importlib import import_module

# Exported lazily (PEP 562): the engine needs pandas, and the `runbooks` command builds the
# netpol sub-command's parser on every start, for `runbooks run` too, which never evaluates policies.
_EXPORTS = {"ClassMatrix": "classes", "PodClass": "classes", "PolicyEngine": "engine", "External": "evaluate",
            "ContainerPort": "model", "PodInfo": "model", "Policy": "model", "parse_pod": "model",
            "parse_policy": "model", "RuleRef": "verdict", "SideVerdict": "verdict", "Verdict": "verdict"}

__all__ = ["PolicyEngine", "Verdict", "SideVerdict", "RuleRef", "ClassMatrix", "PodClass", "PodInfo",
           "ContainerPort", "Policy", "External", "parse_pod", "parse_policy"]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
