from _common import MAX_FINDINGS, MAX_ROWS, PARAMETERS_HELP, load_cell, parameters
from nbbuild import code, md

NAME = "rollouts"


def cells():
    return [
        md("""
# Rollouts: why is this deployment stuck, and what does it wait for?

**You are here because** `kubectl rollout status` never returns, a Deployment shows
`ProgressDeadlineExceeded`, pods stay `Pending`, images fail to pull, or old ReplicaSets pile
up. A Deployment rolls out a new ReplicaSet revision and scales the old one down only as new
pods become available; when the new pods never get ready, the rollout stops half-way and
both revisions run side by side.
"""),
        PARAMETERS_HELP,
        parameters(),
        md("""
## 1. Findings

`rollout-stuck` names the ReplicaSet that does not progress and links the findings that
explain its pods; `pending-unschedulable` parses the scheduler's reasons;
`image-pull-failure` and `container-config-error` catch pods that never start;
`stale-replicasets` is housekeeping.
"""),
        load_cell(["rollout-stuck", "pending-unschedulable", "image-pull-failure", "container-config-error",
                   "stale-replicasets"]),
        md("""
## 2. Workloads and their revisions

A rollout that progresses has UP-TO-DATE and AVAILABLE rising to the desired count.
`ProgressDeadlineExceeded` means the controller gave up waiting (it does not roll back by
itself).
"""),
        code(f"rb.get_workloads(state, namespace, max_rows={MAX_ROWS})"),
        code(f"rb.replicasets_table(state, namespace, workload, max_rows={MAX_ROWS})"),
        md("""
## 3. Pod status per revision

Is the **new** revision the broken one? If the newest revision's pods crash while the previous
revision's pods run, the change shipped in the new revision is the cause, and rolling back
restores service while you fix forward.
"""),
        code("rb.show(plots.pod_status_by_revision(state, namespace or None, workload or None))"),
        md("""
## 4. Pods that never started

Pending pods (no node fits), pulls that fail, and containers whose configuration references a
missing ConfigMap or Secret.
"""),
        code(f"rb.waiting_pods(state, namespace, workload, max_rows={MAX_ROWS})"),
        md("""
## 5. The evidence and the fix
"""),
        code('rb.show_findings(findings, rules=["rollout-stuck", "pending-unschedulable", "image-pull-failure", '
             f'"container-config-error", "stale-replicasets"], max_rows={MAX_FINDINGS})'),
        md("""
**Next.** The stuck revision's pods crash: [crashloop](crashloop.ipynb). They run but never
get ready: [probes](probes.ipynb).
"""),
    ]
