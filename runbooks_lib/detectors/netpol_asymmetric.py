"""netpol-asymmetric: one side of a flow is allowed by a NetworkPolicy rule, the other side is not."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from ..findings import Evidence, Finding, Remediation, SourceLocation
from ..netpol import PolicyEngine
from ..netpol.gaps import AsymmetricFlow, asymmetric_flows
from ..netpol.model import EGRESS
from ..netpol.remedies import allow_policy, format_ports, peer_for, to_yaml
from ..registry import Rule, detector
from ..state import RUNTIME

if TYPE_CHECKING:
    from ..state import ClusterState

RULE = Rule(
    id="netpol-asymmetric",
    title="NetworkPolicy allows a flow on one side only",
    severity="critical",
    detects=(
        "A flow between pods that one side's NetworkPolicy rule explicitly allows and the other side denies: "
        "an ingress rule admits pods S on port P to pods D, but S is egress-isolated and no egress rule "
        "lets S reach D on P - or the reverse, an egress rule sends S to D on P but D's ingress isolation "
        "has no rule admitting it. Evaluated on the pods that exist (or the stand-ins of manifests); only "
        "rules naming pods by label (matchLabels or In in a podSelector) count as explicit."),
    why=(
        "A connection needs the source's egress AND the destination's ingress. Half a rule looks like a "
        "working allow in review and fails at run time with timeouts. When S and D are one workload - "
        "peer-to-peer clustering such as JGroups (Keycloak, Infinispan), etcd, Redis Cluster or Cassandra "
        "gossip - the members never find each other: the cluster does not form (critical)."),
    example=(
        "spec:\n"
        "  podSelector: {matchLabels: {app: keycloak}}\n"
        "  policyTypes: [Ingress, Egress]\n"
        "  ingress:\n"
        "  - from: [{podSelector: {matchLabels: {app: keycloak}}}]\n"
        "    ports: [{port: 7800}, {port: 9000}]\n"
        "  egress:            # DNS only: keycloak -> keycloak:7800 is denied\n"
        "  - ports: [{port: 53, protocol: UDP}]\n"),
    fix=(
        "Add the missing side: an egress rule for S to D's pods on the same ports (or an ingress rule on D "
        "admitting S). The remediation gives a narrow NetworkPolicy that adds only that allow; the same "
        "rule can instead go into the isolating policy's spec.egress (spec.ingress)."),
    runbook="network-policy",
    needs=frozenset(),
)


@detector(RULE)
def detect(state: "ClusterState") -> Iterator[Finding]:
    engine = PolicyEngine.cached_for(state)
    for namespace, name, problem in engine.invalid_policies:  # reported here once, for both netpol rules
        yield _invalid_policy_finding(state, namespace, name, problem)
    if not engine.policies or not engine.pods:
        return
    for flow in asymmetric_flows(engine):
        yield _finding(state, engine, flow)


def _invalid_policy_finding(state: "ClusterState", namespace: str, name: str, problem: str) -> Finding:
    found = state.location("NetworkPolicy", namespace, name)
    return Finding(
        rule=RULE.id, severity="warning", namespace=namespace, kind="NetworkPolicy", name=name,
        summary=(f"{problem}. The API server would reject this policy; the NetworkPolicy rules did not "
                 f"check any flow of namespace {namespace}"),
        evidence=(Evidence(source="policy", object=f"NetworkPolicy {namespace}/{name}", text=problem),),
        remediation=Remediation(text="Fix the field the message names (kubectl apply --dry-run=server "
                                     "validates the whole policy), then run the audit again."),
        discriminator="invalid", location=SourceLocation(found.file, found.line) if found else None)


def _label(workload: tuple[str, str, str]) -> str:
    namespace, kind, name = workload
    return f"{kind} {namespace}/{name}"


def _finding(state: "ClusterState", engine: PolicyEngine, flow: AsymmetricFlow) -> Finding:
    namespace, kind, name = flow.needs_rule_on
    ports = format_ports(flow.ports)
    isolating = sorted(flow.isolating_policies)
    allowing = sorted(flow.allowing_rules)
    allowing_text = ", ".join(f"{policy} {direction}[{index}]" for policy, direction, index in allowing)
    if flow.missing == EGRESS:
        target = "its own pods" if flow.same_workload else _label(flow.destination)
        summary = (f"{_label(flow.source)} cannot connect to {target} on {ports}: {allowing_text} admits it "
                   f"on ingress, but the source pods are egress-isolated by {', '.join(isolating)} and no egress "
                   f"rule allows it")
        discriminator = "egress:{}/{}/{}".format(*flow.destination)
        pods = flow.source_pods
    else:
        origin = "its own pods" if flow.same_workload else _label(flow.source)
        summary = (f"{_label(flow.destination)} does not admit {origin} on {ports}: {allowing_text} sends it "
                   f"on egress, but the destination pods are ingress-isolated by {', '.join(isolating)} and no "
                   f"ingress rule admits it")
        discriminator = "ingress:{}/{}/{}".format(*flow.source)
        pods = flow.destination_pods
    evidence = [Evidence(source="policy", object=f"NetworkPolicy {policy}", path=f"spec.{direction}[{index}]",
                         text=f"{policy} {direction}[{index}] allows {_label(flow.source)} -> "
                              f"{_label(flow.destination)} on {ports} ({direction} side)")
                for policy, direction, index in allowing]
    evidence += [Evidence(source="policy", object=f"NetworkPolicy {policy}", path=f"spec.{flow.missing}",
                          text=f"{policy} isolates {_label(flow.needs_rule_on)} for {flow.missing}, and no "
                               f"{flow.missing} rule in the namespace allows this flow on {ports}")
                 for policy in isolating]
    return Finding(
        rule=RULE.id, severity="critical" if flow.same_workload else "warning",
        namespace=namespace, kind=kind, name=name, summary=summary, evidence=tuple(evidence),
        remediation=_remediation(engine, flow, isolating), pods=tuple(sorted(pods)),
        discriminator=discriminator, location=_location(state, flow, isolating, allowing))


def _remediation(engine: PolicyEngine, flow: AsymmetricFlow, isolating: list[str]) -> Remediation:
    src_ns, src_kind, src_name = flow.source
    dst_ns, dst_kind, dst_name = flow.destination
    source_selector = engine.workload_selector(*flow.source)
    destination_selector = engine.workload_selector(*flow.destination)
    ports = format_ports(flow.ports)
    if flow.missing == EGRESS:
        namespace, own, peer = src_ns, source_selector, peer_for(destination_selector, dst_ns, src_ns)
        name = f"{src_name}-egress-to-{dst_name}"
        what = f"egress from {_label(flow.source)} to {_label(flow.destination)} on {ports}"
    else:
        namespace, own, peer = dst_ns, destination_selector, peer_for(source_selector, src_ns, dst_ns)
        name = f"{dst_name}-ingress-from-{src_name}"
        what = f"ingress to {_label(flow.destination)} from {_label(flow.source)} on {ports}"
    edit_existing = f"add the rule to spec.{flow.missing} of NetworkPolicy {', '.join(isolating)}"
    if not own or not peer["podSelector"]["matchLabels"]:
        # No labels to select the pods by: a selector of {} would select the whole namespace.
        return Remediation(text=f"Allow {what}: label the pods so a policy can select them, then {edit_existing}.")
    text = (f"Allow {what}: apply this NetworkPolicy (allows add up, so it changes nothing else), "
            f"or {edit_existing}.")
    manifest = allow_policy(name, namespace, own, flow.missing, peer, flow.ports)
    return Remediation(text=text, patch=to_yaml(manifest), patch_type="manifest",
                       target=f"NetworkPolicy {namespace}/{manifest['metadata']['name']}",
                       command="kubectl apply -f fix.yaml")


def _location(state: "ClusterState", flow: AsymmetricFlow, isolating: list[str],
              allowing: list[tuple[str, str, int]]) -> SourceLocation | None:
    """The isolating policy that should carry the rule: preferably the one holding the allowing rule.

    Only for manifests: a snapshot's JSON file is not where anyone edits a policy."""
    if RUNTIME in state.capabilities:
        return None
    allowing_policies = {policy for policy, _direction, _index in allowing}
    preferred = sorted(isolating, key=lambda ref: (ref not in allowing_policies, ref))
    for ref in preferred:
        namespace, _, name = ref.partition("/")
        found = state.location("NetworkPolicy", namespace, name)
        if found:
            return SourceLocation(found.file, found.line, f"spec.{flow.missing}")
    return None
