from _common import MAX_FINDINGS, MAX_ROWS, PARAMETERS_HELP
from nbbuild import code, md

NAME = "network-policy"


def cells():
    return [
        md("""
# Network policy: who may talk to whom, and why not?

**You are here because** pods cannot reach each other (timeouts rather than refusals), a
clustered service never forms its cluster (JGroups, etcd, Redis cluster, Cassandra gossip),
or names stop resolving after a NetworkPolicy change. A connection needs **both** the
source's egress and the destination's ingress to allow it. A pod is isolated in a direction
as soon as any policy in its namespace selects it for that direction; from then on only what
some rule allows gets through. A policy that admits peers on ingress while the same peers are
egress-isolated without a matching egress rule lets nothing through: that is the asymmetry
this runbook looks for first.
"""),
        PARAMETERS_HELP,
        code("""
source: str = "staging-incident"  # snapshot dir, file, manifests, kustomization or bundled example
namespace: str = ""  # empty: the namespace of the worst network finding
workload: str = ""  # empty: the workload of the worst network finding
port: str = ""  # empty: the ports of the worst network finding, e.g. 7800
now: str = ""  # RFC 3339; empty: the snapshot's capture time
context: str = ""  # kubeconfig context to read live instead of source; "in-cluster" in a pod
""", parameters=True),
        md("""
## 1. Findings

`netpol-asymmetric`: one side explicitly allows a flow that the other side denies (critical
when a workload cannot reach its own peers). `netpol-dns-blocked`: egress-isolated pods with no
allowed egress to cluster DNS on 53/UDP and 53/TCP.
"""),
        code(f"""
from runbooks_lib import notebook as rb
from runbooks_lib.netpol import PolicyEngine
from runbooks_lib.netpol.plot import plot_reachability

state = rb.open_source(source, "", now, context)
result = rb.detect(state, rules=["netpol-asymmetric", "netpol-dns-blocked"])
engine = PolicyEngine.cached_for(state)
namespace, workload, ports = rb.netpol_focus(state, result.findings, namespace, workload, port)
print(f"looking at namespace {{namespace}}, workload {{workload or '(all)'}}, ports {{ports}}")
rb.findings_table(result.findings, max_rows={MAX_ROWS})
"""),
        md("""
## 2. Which policies select the workload, and in which directions

`isolates_egress` True means every outgoing connection of these pods needs an egress rule;
the same for ingress. A policy with `Egress` in `policyTypes` and no rule for a peer blocks
that peer even if another policy admits it on ingress.
"""),
        code(f"""
policies = engine.policies_selecting(namespace, workload) if workload else engine.policies_in(namespace)
rb.shown_rows(policies, {MAX_ROWS}, "policies", narrow="workload")
"""),
        md("""
## 3. Reachability between the workloads of the namespace

Rows are sources, columns destinations. Green cells are allowed, red denied; cells marked
**!** are asymmetric: one side's policy explicitly allows the flow and the other side denies
it. A red **!** on the diagonal is a workload that cannot reach its own peers.
"""),
        code("""
for each_port in ports:
    allowed, asymmetric = engine.workload_matrix(namespace, each_port)
    rb.show(plot_reachability(allowed, asymmetric, f"{namespace}: TCP {each_port}", workload=workload))
"""),
        md("""
## 4. Why each denied flow is denied

For each denied flow: which side denies it (egress of the source, ingress of the destination,
or both), the policies that isolate that side, and the example pod pair the explanation is
about. Asymmetric rows are the ones to fix first: someone meant to allow them.
"""),
        code(f"rb.netpol_why(engine, namespace, ports, workload, max_rows={MAX_ROWS})"),
        md("""
## 5. The evidence and the patch

Each finding names the rule that allows the flow on one side and the policy that isolates the
other side, and gives the missing rule as a small NetworkPolicy to apply: policies are
additive, so it changes nothing else.
"""),
        code(f"rb.show_findings(result.findings, max_rows={MAX_FINDINGS})"),
        md("""
To check one connection by hand, from the command line:
`runbooks netpol SOURCE --from NS/POD --to NS/POD --port 7800` prints ALLOWED or DENIED and why.

**Next.** Once the peers can talk, a crash-looping member should recover on its next restart:
see [crashloop](crashloop.ipynb). To catch this before deploying, audit the manifests:
[manifests](manifests.ipynb).
"""),
    ]
