"""netpol-dns-blocked: egress-isolated pods that may not reach cluster DNS on port 53."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from ..findings import Evidence, Finding, Remediation, SourceLocation
from ..netpol import PolicyEngine
from ..netpol.gaps import DNS_LABELS, DNS_NAMESPACE, DnsGap, dns_gaps
from ..netpol.model import EGRESS
from ..netpol.remedies import allow_policy, peer_for, to_yaml
from ..registry import Rule, detector
from ..state import RUNTIME

if TYPE_CHECKING:
    from ..state import ClusterState

RULE = Rule(
    id="netpol-dns-blocked",
    title="Egress-isolated pods cannot reach cluster DNS",
    severity="critical",
    detects=(
        "Pods selected by a NetworkPolicy with Egress in policyTypes, where no egress rule allows port 53 "
        "to cluster DNS over UDP, TCP or both. DNS is the kube-dns/CoreDNS pods (k8s-app=kube-dns in "
        "kube-system) when the state has them; otherwise a pod with those labels and ports (53/UDP dns, "
        "53/TCP dns-tcp) and no IP is assumed, so ipBlock rules never count as reaching it."),
    why=(
        "Egress isolation is all-or-nothing: once a policy selects the pod for Egress, DNS is denied too "
        "unless a rule allows it. Without 53/UDP nothing resolves - every Service name fails, which looks "
        "like an outage of everything the pod calls (critical). Without 53/TCP only large answers fail, "
        "intermittently (warning)."),
    example=(
        "spec:\n"
        "  podSelector: {matchLabels: {app: api}}\n"
        "  policyTypes: [Egress]\n"
        "  egress:            # the database only: lookups of postgres.shop.svc fail\n"
        "  - to: [{podSelector: {matchLabels: {app: postgres}}}]\n"
        "    ports: [{port: 5432}]\n"),
    fix=(
        "Allow egress to kube-dns on 53/UDP and 53/TCP: a rule with to: namespaceSelector "
        "kubernetes.io/metadata.name=kube-system AND podSelector k8s-app=kube-dns, ports 53/UDP and 53/TCP."),
    runbook="network-policy",
    needs=frozenset(),
)


@detector(RULE)
def detect(state: "ClusterState") -> Iterator[Finding]:
    engine = PolicyEngine.cached_for(state)
    if not engine.policies or not engine.pods:
        return
    for gap in dns_gaps(engine):
        yield _finding(state, engine, gap)


def _finding(state: "ClusterState", engine: PolicyEngine, gap: DnsGap) -> Finding:
    namespace, kind, name = gap.workload
    missing = " and ".join(f"53/{protocol}" for protocol in gap.missing)
    consequence = ("nothing resolves" if "UDP" in gap.missing
                   else "lookups with large answers (TCP fallback) fail")
    assumed = "; assumed: the state has no kube-dns pods" if gap.assumed_dns else ""
    dns = f"kube-dns ({DNS_NAMESPACE}, k8s-app={DNS_LABELS['k8s-app']}{assumed})"
    summary = (f"{kind} {namespace}/{name} is egress-isolated by {', '.join(gap.isolating_policies)} and no "
               f"egress rule allows DNS to {dns} on {missing}: {consequence}")
    evidence = [Evidence(source="policy", object=f"NetworkPolicy {policy}", path="spec.policyTypes",
                         text=f"{policy} selects {kind} {name} with Egress in policyTypes")
                for policy in gap.isolating_policies]
    evidence.append(Evidence(source="policy", text=f"no egress rule of these policies allows {missing} to {dns}",
                             object=f"{kind} {namespace}/{name}"))
    return Finding(
        rule=RULE.id, severity="critical" if "UDP" in gap.missing else "warning",
        namespace=namespace, kind=kind, name=name, summary=summary, evidence=tuple(evidence),
        remediation=_remediation(engine, gap), pods=tuple(sorted(gap.pods)),
        discriminator="dns", location=_location(state, gap))


def _remediation(engine: PolicyEngine, gap: DnsGap) -> Remediation:
    namespace, kind, name = gap.workload
    selector = engine.workload_selector(namespace, kind, name)
    edit_existing = f"add the rule to spec.egress of NetworkPolicy {', '.join(gap.isolating_policies)}"
    if not selector:
        return Remediation(text=f"Allow egress from {kind} {namespace}/{name} to kube-dns on 53/UDP and 53/TCP: "
                                f"label the pods so a policy can select them, then {edit_existing}.")
    peer = peer_for(DNS_LABELS, DNS_NAMESPACE, namespace)
    manifest = allow_policy(f"{name}-allow-dns", namespace, selector, EGRESS, peer, [(53, "UDP"), (53, "TCP")])
    return Remediation(
        text=(f"Allow egress from {kind} {namespace}/{name} to kube-dns on 53/UDP and 53/TCP: apply this "
              f"NetworkPolicy (allows add up, so it changes nothing else), or {edit_existing}."),
        patch=to_yaml(manifest), patch_type="manifest",
        target=f"NetworkPolicy {namespace}/{manifest['metadata']['name']}", command="kubectl apply -f fix.yaml")


def _location(state: "ClusterState", gap: DnsGap) -> SourceLocation | None:
    if RUNTIME in state.capabilities:  # manifests only: a snapshot's JSON is not where policies are edited
        return None
    for ref in gap.isolating_policies:
        namespace, _, name = ref.partition("/")
        found = state.location("NetworkPolicy", namespace, name)
        if found:
            return SourceLocation(found.file, found.line, "spec.egress")
    return None
