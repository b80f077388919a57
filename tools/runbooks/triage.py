from _common import MAX_ROWS
from nbbuild import code, md

NAME = "triage"


def cells():
    return [
        md("""
# Triage: what is broken, and where to look next

**Start here** when you are paged and don't yet know which failure class you are facing:
pods not ready, a rollout that never finishes, restarts, probes failing, a service that
answers nothing. This runbook reads a cluster snapshot (or a live cluster, or pre-deploy
manifests), shows the state the way `kubectl get` would, plots pod status and restarts,
groups the warning events, and runs every detector. Each finding links to the runbook
that walks through its failure class.

Run it from the command line with `runbooks run triage --source SNAPSHOT`, or step
through it in JupyterLab with `runbooks open triage --source SNAPSHOT`.
"""),
        md("""
**Parameters.** `source` is a snapshot directory, a `kubectl get -o json|yaml` file, a
manifests folder or kustomization, or a bundled example name. `namespace` restricts the
view to one namespace (empty: all). `now` overrides the reference time for ages
(empty: the snapshot's capture time, so every age below is *as of the capture*). `context`
reads a live cluster instead of `source` (a kubeconfig context, or `in-cluster`), read-only.
On a big cluster each table and plot below shows the worst first and says how many more there
are: set `namespace` to see the rest of one namespace.
"""),
        code("""
source: str = "staging-incident"  # snapshot dir, file, manifests, kustomization or bundled example
namespace: str = ""  # empty: all namespaces
now: str = ""  # RFC 3339; empty: the snapshot's capture time
context: str = ""  # kubeconfig context to read live instead of source; "in-cluster" in a pod
""", parameters=True),
        code("""
from runbooks_lib import notebook as rb, plots

state = rb.open_source(source, namespace, now, context)
rb.describe(state)
"""),
        md("""
## 1. Workloads

Compare **READY** with the desired count and look at **PROGRESSING**:
`ProgressDeadlineExceeded` means a rollout is stuck and its new pods never became
available. A workload at `0/N` is an outage.
"""),
        code(f"rb.get_workloads(state, max_rows={MAX_ROWS})"),
        md("""
## 2. Pods

Like `kubectl get pods`. **STATUS** other than `Running`, a **READY** count below the
container count, or **RESTARTS** that grow are the pods to open. The restart column
says how long ago the last restart happened, relative to the capture.
"""),
        code(f"rb.get_pods(state, max_rows={MAX_ROWS})"),
        md("""
## 3. Pod status per workload

Red is crash-looping, amber is running but not ready (probes failing), green is healthy.
A workload whose bar has no green has no pod serving traffic. On a big cluster the plot keeps
the workloads with the most failing pods, worst at the top.
"""),
        code("rb.show(plots.pod_status_by_workload(state))"),
        md("""
## 4. Restarts over time

Each mark is a moment a container was seen restarting: its last termination, and the
first and last sighting of `BackOff` and `Killing` events. Marks that keep coming up to
the capture time (dashed line) mean the restarts are ongoing. `Killing` marks are
liveness or startup probe kills; `BackOff` marks are crashes.
"""),
        code("rb.show(plots.restarts_over_time(state))"),
        md("""
## 5. Warning events by reason

The cluster's own account of what went wrong, grouped. `BackOff` points to crash loops,
`Unhealthy` to probes, `FailedScheduling` to capacity or constraints, `Failed` with
`ErrImagePull` to images.
"""),
        code(f"rb.warning_events(state, max_rows={MAX_ROWS})"),
        md("""
## 6. Findings

Every detector runs over the same state. Each finding names the workload, the pods, the
evidence and the fix; the last column links to the runbook for its failure class. The
findings are also recorded in this notebook (scrapbook scrap `findings`) for tools that
read executed runbooks.
"""),
        code(f"""
result = rb.detect(state)
rb.record_findings(result)
rb.findings_table(result.findings, max_rows={MAX_ROWS})
"""),
        md("""
## 7. Where next

| symptom | runbook |
|---|---|
| containers restarting, `CrashLoopBackOff`, `OOMKilled` | [crashloop](crashloop.ipynb) |
| `Unhealthy` events, pods running but not ready | [probes](probes.ipynb) |
| a Service answers nothing, endpoints empty, port errors | [services](services.ipynb) |
| rollout stuck, pods `Pending`, image pulls failing, old ReplicaSets piling up | [rollouts](rollouts.ipynb) |
| memory near limits, CPU throttling, missing requests | [resources](resources.ipynb) |
| pods cannot reach each other, DNS fails, clustering never forms | [network-policy](network-policy.ipynb) |
| reviewing manifests before they are deployed | [manifests](manifests.ipynb) |
"""),
    ]
