from _common import MAX_FINDINGS, MAX_ROWS, PARAMETERS_HELP, load_cell, parameters
from nbbuild import code, md

NAME = "resources"


def cells():
    return [
        md("""
# Resources: is this workload short of memory or CPU?

**You are here because** containers are `OOMKilled`, latency climbs under load (CPU
throttling), or pods have no requests and get evicted first. A container that reaches its
**memory limit** is killed; one that reaches its **CPU limit** is throttled, not killed.
Requests are what the scheduler reserves; pods without them are the first to go under
pressure.
"""),
        PARAMETERS_HELP,
        parameters(),
        md("""
## 1. Findings

`resource-pressure` flags memory at or above 90% of the limit and CPU at the limit (with
metrics), or pods without requests and limits in a namespace where others have them;
`oom-killed` flags containers the kernel killed for memory.
"""),
        load_cell(["resource-pressure", "oom-killed"]),
        md("""
## 2. Requests, limits and use

From metrics-server (`metrics.k8s.io`), measured at the capture. `?` means no measurement: the
container was not running when the metrics were taken (a crash-looping container often isn't).
"""),
        code(f"rb.resource_table(state, namespace, workload, max_rows={MAX_ROWS})"),
        md("""
## 3. Memory use against requests and limits

Blue bars are use; the green tick is the request, the red tick the limit. A bar close to the
red tick is one allocation away from an OOM kill.
"""),
        code('rb.show(plots.usage_against_limits(state, "memory", namespace or None))'),
        md("""
## 4. CPU use against requests and limits
"""),
        code('rb.show(plots.usage_against_limits(state, "cpu", namespace or None))'),
        md("""
## 5. The evidence and the fix
"""),
        code(f'rb.show_findings(findings, rules=["resource-pressure", "oom-killed"], max_rows={MAX_FINDINGS})'),
        md("""
**Next.** Containers that crash for other reasons: [crashloop](crashloop.ipynb).
"""),
    ]
