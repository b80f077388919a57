from _common import MAX_FINDINGS, MAX_ROWS, PARAMETERS_HELP
from nbbuild import code, md

NAME = "manifests"


def cells():
    return [
        md("""
# Manifests: review what you are about to deploy

**You are here before a deploy**, or because an apply failed. This runbook reads plain
manifests, a folder of them, or a kustomization (rendered with `kubectl kustomize` or
`kustomize build`) and runs the static rules — the ones that need no running cluster — on
what would be created: duplicate port names the API server will reject, probes that can never
succeed, Services whose selectors or target ports match nothing, and network policies that
allow a flow on one side only. Each workload's pod template stands in for its pods, one per
replica. It is the same check `runbooks audit` runs in CI to gate a deploy.
"""),
        PARAMETERS_HELP,
        code("""
source: str = "staging-incident/manifests"  # manifests file or folder, kustomization, or bundled example
namespace: str = ""  # empty: all namespaces
workload: str = ""  # empty: every workload
port: str = ""  # for the policy matrix; empty: the ports of the worst network finding
now: str = ""  # unused for manifests (they have no capture time); kept for a uniform interface
context: str = ""  # kubeconfig context to read live instead of source; "in-cluster" in a pod
""", parameters=True),
        md("""
## 1. What the manifests would deploy

Every object, with the file and line that declares it. For a kustomization, objects are traced
back to the resource file that declares them (patches change them but do not declare them).
"""),
        code(f"""
from runbooks_lib import notebook as rb
from runbooks_lib.netpol import PolicyEngine
from runbooks_lib.netpol.plot import plot_reachability

state = rb.open_source(source, namespace, now, context)
root = rb.manifest_root(source)
rb.manifest_inventory(state, root, max_rows={MAX_ROWS})
"""),
        md("""
## 2. Workloads and Services

Desired replicas and images as declared, and the Services with their selectors and ports.
"""),
        code(f"rb.planned_workloads(state, namespace, max_rows={MAX_ROWS})"),
        code(f"""
services = rb.services_table(state, namespace)[["NAMESPACE", "SERVICE", "TYPE", "SELECTOR", "PORTS"]]
rb.shown_rows(services, {MAX_ROWS}, "Services")
"""),
        md("""
## 3. Static findings

Rules that need events, logs or metrics are skipped on manifests (listed below). Each finding
says where the object is declared and how to fix it.
"""),
        code(f"""
result = rb.detect(state)
findings = [f for f in result.findings if not workload or f.name == workload]
print("skipped (need a running cluster):", ", ".join(sorted(result.rules_skipped)))
rb.findings_table(findings, max_rows={MAX_ROWS})
"""),
        code(f"rb.show_findings(findings, base=root, max_rows={MAX_FINDINGS})"),
        md("""
## 4. The policy matrix

What the NetworkPolicies would allow once deployed, between the workloads of the namespace,
on the ports of the worst network finding (or `port`). Cells marked **!** are asymmetric: one
side allows the flow and the other denies it.
"""),
        code("""
engine = PolicyEngine.cached_for(state)
focus_namespace, focus_workload, ports = rb.netpol_focus(state, result.findings, namespace, workload, port)
for each_port in ports:
    allowed, asymmetric = engine.workload_matrix(focus_namespace, each_port)
    rb.show(plot_reachability(allowed, asymmetric, f"{focus_namespace}: TCP {each_port}", workload=focus_workload))
"""),
        md("""
**Gate a pipeline on it.** `runbooks audit deployments/overlays/staging --out audit/ --fail-on
critical` exits 1 when a finding is critical, and writes `findings.sarif` for code-scanning
annotations. The fixed variant of this example, `staging-incident/manifests-fixed`, passes.
"""),
    ]
