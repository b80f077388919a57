"""PolicyEngine: the public entry point for NetworkPolicy questions.

    engine = PolicyEngine.from_state(state)
    verdict = engine.check("staging/keycloak-0", "staging/keycloak-1", 7800)
    print(engine.explain("staging/keycloak-0", "staging/keycloak-1", 7800))
    allowed, asymmetric = engine.workload_matrix("staging", 7800)

``check`` evaluates one pair with full reasons; ``class_matrix`` and the frames
evaluate every pair at once on pod classes (classes.py).
"""

from __future__ import annotations

import difflib
import weakref
from functools import cached_property
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import InputError
from ..state import NAMESPACE_NAME_LABEL
from .addresses import parse_ip
from .classes import ClassIndex, ClassMatrix
from .evaluate import Endpoint, External, evaluate_side
from .model import EGRESS, INGRESS, PROTOCOLS, PodInfo, Policy, parse_pod, parse_policy
from .verdict import Verdict

if TYPE_CHECKING:
    from ..state import ClusterState

# Labels that differ per pod or per rollout: never part of a workload's stable selector.
_PER_POD_LABELS = {"pod-template-hash", "controller-revision-hash", "statefulset.kubernetes.io/pod-name",
                   "apps.kubernetes.io/pod-index", "batch.kubernetes.io/controller-uid", "controller-uid",
                   "batch.kubernetes.io/job-completion-index", "pod-template-generation"}


_LAST: "tuple[weakref.ref, PolicyEngine] | None" = None


class PolicyEngine:
    """Pods, NetworkPolicies and namespace labels; answers reachability questions."""

    def __init__(self, pods: Iterable[PodInfo | Mapping], policies: Iterable[Policy | Mapping],
                 namespace_labels: Mapping[str, Mapping[str, str]] | None = None,
                 state: "ClusterState | None" = None):
        self.pods: list[PodInfo] = [p if isinstance(p, PodInfo) else parse_pod(p) for p in pods]
        self.policies: list[Policy] = [p if isinstance(p, Policy) else parse_policy(p) for p in policies]
        self.state = state
        namespaces = ({p.namespace for p in self.pods} | {p.namespace for p in self.policies}
                      | set(namespace_labels or {}))
        self.namespace_labels: dict[str, dict[str, str]] = {}
        for ns in namespaces:
            labels = dict((namespace_labels or {}).get(ns) or {})
            labels.setdefault(NAMESPACE_NAME_LABEL, ns)  # the API server always sets it
            self.namespace_labels[ns] = labels
        self._by_ref = {(p.namespace, p.name): p for p in self.pods}
        self._policies_in: dict[str, list[Policy]] = {}
        for policy in self.policies:
            self._policies_in.setdefault(policy.namespace, []).append(policy)
        self._matrices: dict[tuple[int, str], ClassMatrix] = {}
        # (namespace, name, what is wrong) of the policies from_state(skip_invalid=True) left out
        self.invalid_policies: list[tuple[str, str, str]] = []

    @classmethod
    def from_state(cls, state: "ClusterState", skip_invalid: bool = False) -> "PolicyEngine":
        """Pods (real, or manifest stand-ins), NetworkPolicies and namespace labels of a state.

        An invalid policy is an InputError, or with ``skip_invalid`` is left out together with
        every other policy of its namespace (listed in ``invalid_policies``): the namespace's
        remaining policies alone would deny flows the invalid one may allow, and so report
        problems that are not there.
        """
        from ..owners import OwnerIndex

        owners = OwnerIndex(state)
        pods = [parse_pod(pod, _workload_of(owners, pod)) for pod in state.of_kind("Pod") if _is_live(pod)]
        policies, invalid, unreadable_namespaces = [], [], set()
        for obj in state.of_kind("NetworkPolicy"):
            try:
                policies.append(parse_policy(obj))
            except InputError as exc:
                if not skip_invalid:
                    raise
                meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
                namespace = str(meta.get("namespace") or "default")  # as parse_policy names it
                invalid.append((namespace, str(meta.get("name") or "?"), str(exc)))
                unreadable_namespaces.add(namespace)
        policies = [policy for policy in policies if policy.namespace not in unreadable_namespaces]
        declared = {(ns.get("metadata") or {}).get("name") for ns in state.of_kind("Namespace")
                    if isinstance(ns, Mapping)}
        namespaces = {n for n in declared if isinstance(n, str)} | {p.namespace for p in pods} | {
            p.namespace for p in policies}
        engine = cls(pods, policies, {ns: state.namespace_labels(ns) for ns in namespaces}, state=state)
        engine.invalid_policies = invalid
        return engine

    @classmethod
    def cached_for(cls, state: "ClusterState") -> "PolicyEngine":
        """``from_state``, reused while the same state object is asked again (detectors share it).

        Invalid policies are skipped (see ``invalid_policies``): a detector or a notebook reports
        what it can instead of failing on one policy the API server would have rejected."""
        global _LAST
        if _LAST is not None and _LAST[0]() is state:
            return _LAST[1]
        engine = cls.from_state(state, skip_invalid=True)
        _LAST = (weakref.ref(state), engine)
        return engine

    def labels_of_namespace(self, namespace: str) -> dict[str, str]:
        return self.namespace_labels.get(namespace) or {NAMESPACE_NAME_LABEL: namespace}

    def policies_in(self, namespace: str) -> list[Policy]:
        return self._policies_in.get(namespace, [])

    # -- one connection ------------------------------------------------------------------
    def check(self, source: str | PodInfo, destination: str | PodInfo, port: int | str,
              protocol: str = "TCP") -> Verdict:
        """May ``source`` open a new connection to ``destination`` on port/protocol, and why.

        References: "ns/pod", "ns/Kind/workload", "ns/workload" (when no pod has that name),
        or an IP address (a pod's IP resolves to the pod; any other IP is outside the cluster).
        ``port`` may be a number or a port name declared by the destination pod.
        """
        protocol = _protocol(protocol)
        src, src_note = self.resolve(source) if not isinstance(source, PodInfo) else (source, None)
        dst, dst_note = (self.resolve(destination, avoid=src) if not isinstance(destination, PodInfo)
                         else (destination, None))
        number = self._port_number(port, protocol, dst)
        notes = [n for n in (src_note, dst_note) if n]
        if isinstance(src, PodInfo) and isinstance(dst, PodInfo) and src is dst:
            notes.append("source and destination are the same pod: the Kubernetes docs say a pod cannot block "
                         "access to itself, and CNIs differ on hairpin traffic; the policies are evaluated "
                         "as for any pair")
        egress = evaluate_side(EGRESS, src, dst, number, protocol, self._policies_for(src), self.labels_of_namespace)
        ingress = evaluate_side(INGRESS, dst, src, number, protocol, self._policies_for(dst), self.labels_of_namespace)
        return Verdict(src.ref, dst.ref, number, protocol, egress, ingress, tuple(notes))

    def explain(self, source: str | PodInfo, destination: str | PodInfo, port: int | str,
                protocol: str = "TCP") -> str:
        """``check`` as several lines of text for people."""
        return self.check(source, destination, port, protocol).explain()

    def _policies_for(self, endpoint: Endpoint) -> list[Policy]:
        return self.policies_in(endpoint.namespace) if isinstance(endpoint, PodInfo) else []

    def _port_number(self, port: int | str, protocol: str, destination: Endpoint) -> int:
        if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
            number = int(port)
            if not 1 <= number <= 65535:
                raise InputError(f"port {number} is not in 1-65535")
            return number
        if isinstance(destination, PodInfo):
            resolved = destination.resolve_named_port(str(port), protocol)
            if resolved is not None:
                return resolved
            declared = ", ".join(sorted(f"{p.name}={p.number}/{p.protocol}" for p in destination.ports if p.name))
            raise InputError(f"port {port!r}/{protocol} is not a named port of {destination.ref}"
                             f" (declares: {declared or 'no named ports'})")
        raise InputError(f"port {port!r}: a named port needs a destination pod; give a number")

    # -- references ----------------------------------------------------------------------
    def resolve(self, ref: str, avoid: Endpoint | None = None) -> tuple[Endpoint, str | None]:
        """A pod (or external IP) for a reference, and a note saying how it was resolved."""
        text = str(ref).strip()
        ip = parse_ip(text)
        if ip is not None:
            owner = next((pod for pod in self.pods if ip in pod.ips), None)
            if owner is not None:
                return owner, f"{text} is the IP of pod {owner.ref}"
            return External(ip), None
        parts = text.split("/")
        if len(parts) == 2 and (pod := self._by_ref.get((parts[0], parts[1]))):
            return pod, None
        if len(parts) == 1:
            named = [p for p in self.pods if p.name == text]
            if len(named) == 1:
                return named[0], None
        candidates = self._workload_pods(parts)
        if candidates:
            workloads = sorted({p.workload_ref for p in candidates})
            if len(workloads) > 1:
                raise InputError(f"{text} is ambiguous: it names {', '.join(workloads)}; say which")
            ordered = sorted(candidates, key=lambda p: p.name)
            chosen = next((p for p in ordered if p is not avoid), ordered[0])
            kind, name = chosen.workload
            note = f"{text}: pod {chosen.ref} of {kind} {name} ({len(ordered)} pod{'s' if len(ordered) != 1 else ''})"
            return chosen, note
        raise InputError(self._not_found(text))

    def _workload_pods(self, parts: list[str]) -> list[PodInfo]:
        if len(parts) == 3:
            ns, kind, name = parts
            return [p for p in self.pods if p.namespace == ns and p.workload[0].lower() == kind.lower()
                    and p.workload[1] == name]
        if len(parts) == 2:
            ns, name = parts
            return [p for p in self.pods if p.namespace == ns and p.workload[1] == name and p.workload[0] != "Pod"]
        if len(parts) == 1:
            return [p for p in self.pods if p.workload[1] == parts[0] and p.workload[0] != "Pod"]
        return []

    def _not_found(self, text: str) -> str:
        names = sorted({p.ref for p in self.pods} | {p.workload_ref for p in self.pods}
                       | {f"{p.namespace}/{p.workload[1]}" for p in self.pods})
        close = difflib.get_close_matches(text, names, n=5, cutoff=0.5)
        if not close:
            namespace = text.split("/")[0]
            close = [n for n in names if n.startswith(namespace + "/")][:5]
        hint = f"; close names: {', '.join(close)}" if close else f"; {len(self.pods)} pods in this state"
        return f"no pod or workload {text!r} in this state{hint}"

    # -- every pair at once --------------------------------------------------------------
    @cached_property
    def class_index(self) -> ClassIndex:
        return ClassIndex(self.pods, self.policies, self.namespace_labels)

    def class_matrix(self, port: int, protocol: str = "TCP") -> ClassMatrix:
        """Answers for every pair of pod classes on one port (cached per port/protocol)."""
        key = (int(port), _protocol(protocol))
        if key not in self._matrices:
            self._matrices[key] = self.class_index.matrix(*key)
        return self._matrices[key]

    def cached_class_matrix(self, port: int, protocol: str = "TCP") -> ClassMatrix | None:
        """The matrix of one port if ``class_matrix`` built it already, else None (nothing built)."""
        return self._matrices.get((int(port), _protocol(protocol)))

    def workloads(self, namespace: str | None = None) -> dict[str, list[PodInfo]]:
        """Pods by workload label ("Kind/name", or "ns/Kind/name" across namespaces)."""
        groups: dict[str, list[PodInfo]] = {}
        for pod in sorted(self.pods, key=lambda p: (p.namespace, p.workload, p.name)):
            if namespace is None or pod.namespace == namespace:
                groups.setdefault(self._workload_label(pod, namespace), []).append(pod)
        return groups

    @staticmethod
    def _workload_label(pod: PodInfo, namespace: str | None) -> str:
        kind, name = pod.workload
        label = f"{kind}/{name or pod.name}"
        return label if namespace is not None else f"{pod.namespace}/{label}"

    def workload_matrix(self, namespace: str | None, port: int, protocol: str = "TCP"
                        ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(allowed, asymmetric): source workload rows x destination workload columns.

        A cell is allowed when every pod of the source may connect to every pod of the
        destination (pairs of one pod with itself included), asymmetric when for some
        pair one side explicitly allows what the other side denies.
        """
        matrix = self.class_matrix(port, protocol)
        groups = self.workloads(namespace)
        labels = list(groups)
        if not labels:
            empty = pd.DataFrame(dtype=bool)
            return empty, empty.copy()
        group_classes = self._group_classes(groups)
        denied = _pairs_any(group_classes, ~matrix.allowed)
        asymmetric = _pairs_any(group_classes, matrix.asymmetric)
        index = pd.Index(labels, name="source")
        columns = pd.Index(labels, name="destination")
        return (pd.DataFrame(~denied, index=index, columns=columns),
                pd.DataFrame(asymmetric, index=index, columns=columns))

    def _group_classes(self, groups: Mapping[str, list[PodInfo]]) -> list[list[int]]:
        class_of = self.class_index.class_of_pod
        return [sorted({class_of[(p.namespace, p.name)] for p in pods}) for pods in groups.values()]

    def policies_selecting(self, namespace: str, workload: str) -> pd.DataFrame:
        """Policies of the namespace that select any pod of the workload ("name" or "Kind/name")."""
        pods = self._workload_pods([namespace, *workload.split("/")]) or [
            p for p in self.pods if p.namespace == namespace and p.name == workload]
        if not pods:
            raise InputError(self._not_found(f"{namespace}/{workload}"))
        rows = []
        for policy in self.policies_in(namespace):
            selected = [p for p in pods if policy.pod_selector.matches(p.labels)]
            if not selected:
                continue
            types = ", ".join(t.capitalize() for t in sorted(policy.policy_types, reverse=True))
            rows.append({"policy": policy.ref, "pod_selector": policy.pod_selector.describe(),
                         "policy_types": types + (" (defaulted)" if policy.types_defaulted else ""),
                         "isolates_ingress": policy.isolates(INGRESS), "isolates_egress": policy.isolates(EGRESS),
                         "ingress_rules": len(policy.rules(INGRESS)), "egress_rules": len(policy.rules(EGRESS)),
                         "pods_selected": len(selected)})
        columns = ["policy", "pod_selector", "policy_types", "isolates_ingress", "isolates_egress",
                   "ingress_rules", "egress_rules", "pods_selected"]
        return pd.DataFrame(rows, columns=columns)

    def why_denied(self, namespace: str | None, port: int, protocol: str = "TCP") -> pd.DataFrame:
        """One row per denied workload -> workload flow: which side(s) deny it, and why."""
        matrix = self.class_matrix(port, protocol)
        groups = self.workloads(namespace)
        labels, pods_of = list(groups), list(groups.values())
        group_classes = self._group_classes(groups) if groups else []
        allowed = matrix.allowed
        denied = _pairs_any(group_classes, ~allowed) if groups else np.zeros((0, 0), dtype=bool)
        asymmetric = _pairs_any(group_classes, matrix.asymmetric) if groups else denied
        class_of = self.class_index.class_of_pod
        rows = []
        for s, d in np.argwhere(denied):
            # Explain one denied pod pair of the two workloads (pods of another class may differ).
            source_classes, destination_classes = group_classes[s], group_classes[d]
            i, j = np.argwhere(~allowed[np.ix_(source_classes, destination_classes)])[0]
            src = next(p for p in pods_of[s] if class_of[(p.namespace, p.name)] == source_classes[i])
            candidates = [p for p in pods_of[d] if class_of[(p.namespace, p.name)] == destination_classes[j]]
            dst = next((p for p in candidates if p is not src), candidates[0])
            verdict = self.check(src, dst, port, protocol)
            rows.append({
                "source": labels[s], "destination": labels[d], "denied_by": "+".join(verdict.denied_by),
                "egress_isolating": ", ".join(verdict.egress.isolating_policies),
                "ingress_isolating": ", ".join(verdict.ingress.isolating_policies),
                "asymmetric": bool(asymmetric[s, d]), "example": f"{src.ref} -> {dst.ref}",
                "explanation": " | ".join(side.explanation for side in (verdict.egress, verdict.ingress)
                                          if not side.allowed),
            })
        columns = ["source", "destination", "denied_by", "egress_isolating", "ingress_isolating",
                   "asymmetric", "example", "explanation"]
        return pd.DataFrame(rows, columns=columns)

    # -- helpers for reports and remediations --------------------------------------------------
    def workload_selector(self, namespace: str, kind: str, name: str) -> dict:
        """matchLabels that select a workload's pods: its spec.selector, else its pods' stable labels."""
        if self.state is not None and kind != "Pod":
            obj = self.state.get(kind, namespace, name)
            spec = (obj or {}).get("spec") or {}
            if kind == "CronJob":
                spec = ((spec.get("jobTemplate") or {}).get("spec") or {})
            selector = spec.get("selector") if isinstance(spec.get("selector"), Mapping) else None
            if selector and selector.get("matchLabels") and not selector.get("matchExpressions"):
                return {str(k): str(v) for k, v in selector["matchLabels"].items()}
        pods = [p for p in self.pods if p.namespace == namespace and p.workload == (kind, name)]
        if not pods:
            return {}
        common = set(pods[0].labels.items())
        for pod in pods[1:]:
            common &= set(pod.labels.items())
        return {k: v for k, v in sorted(common) if k not in _PER_POD_LABELS}


def _pairs_any(group_classes: list[list[int]], cells: np.ndarray) -> np.ndarray:
    """[group, group]: whether any class pair of the two groups has the cell set.

    Classes are laid out group after group, then OR-reduced over each group's run of
    rows and columns: O(classes^2), whatever the number of groups.
    """
    order = [c for classes in group_classes for c in classes]
    starts = np.cumsum([0] + [len(classes) for classes in group_classes[:-1]])
    block = cells[np.ix_(order, order)]
    return np.logical_or.reduceat(np.logical_or.reduceat(block, starts, axis=0), starts, axis=1)


def _protocol(protocol: str) -> str:
    value = str(protocol or "TCP").upper()
    if value not in PROTOCOLS:
        raise InputError(f"protocol {protocol!r} is not one of {', '.join(PROTOCOLS)}")
    return value


def _workload_of(owners, pod: Mapping) -> tuple[str, str] | None:
    """The owning workload; a malformed owner reference must not stop policy analysis."""
    try:
        return owners.workload_of(pod)
    except (TypeError, AttributeError, KeyError):
        return None  # parse_pod falls back to the stand-in annotation or the pod itself


def _is_live(pod: Mapping) -> bool:
    """Finished pods hold no IP and take no connections."""
    phase = ((pod.get("status") or {}).get("phase") if isinstance(pod.get("status"), Mapping) else None)
    return phase not in ("Succeeded", "Failed")
