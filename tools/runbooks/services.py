from _common import MAX_FINDINGS, MAX_ROWS, PARAMETERS_HELP, load_cell, parameters
from nbbuild import code, md

NAME = "services"


def cells():
    return [
        md("""
# Services: why does this Service answer nothing?

**You are here because** clients get connection refused or timeouts on a Service name,
`kubectl get endpoints` is empty, or an apply failed with `Duplicate value` on a port. A
Service sends traffic only to **ready** pods that its selector matches, on the container port
its `targetPort` names; a manifest whose ports repeat a name is rejected by the API server.
"""),
        PARAMETERS_HELP,
        parameters(),
        md("""
## 1. Findings

`service-no-endpoints` (the selector matches no pods, or none of them is ready),
`service-target-port-missing` (the targetPort is not declared by the selected containers) and
`service-duplicate-port` (two ports share a name or a port number; the API server rejects it,
so this shows up in manifests before a deploy).
"""),
        load_cell(["service-no-endpoints", "service-target-port-missing", "service-duplicate-port"]),
        md("""
## 2. Services, selectors and endpoints

READY ENDPOINTS is what clients can reach. A Service with only NOT READY endpoints has pods,
but their readiness probes fail: the [probes](probes.ipynb) runbook says why. A Service with
no selector has endpoints managed by hand (here, the managed Redis instance).
"""),
        code(f"rb.services_table(state, namespace, max_rows={MAX_ROWS})"),
        md("""
## 3. The evidence and the fix
"""),
        code('rb.show_findings(findings, rules=["service-no-endpoints", "service-target-port-missing", '
             f'"service-duplicate-port"], max_rows={MAX_FINDINGS})'),
        md("""
**Next.** Not-ready endpoints: [probes](probes.ipynb). Pods that exist but cannot reach each
other or the Service: [network-policy](network-policy.ipynb). To check manifests before they
are applied: [manifests](manifests.ipynb).
"""),
    ]
