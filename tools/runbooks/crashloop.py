from _common import MAX_FINDINGS, MAX_ROWS, PARAMETERS_HELP, load_cell, parameters
from nbbuild import code, md

NAME = "crashloop"


def cells():
    return [
        md("""
# Crash loops: why does this container keep restarting?

**You are here because** `kubectl get pods` shows `CrashLoopBackOff`, `Error` or `OOMKilled`,
or the RESTARTS column keeps growing. The kubelet restarts a container that exits, waiting
longer each time (10s, 20s, 40s … up to 5 minutes): that wait is the back-off. The cause is
almost always in the **previous** container's log (`kubectl logs --previous`), in its exit
code, or in a memory limit.
"""),
        PARAMETERS_HELP,
        parameters(),
        md("""
## 1. Findings

`crashloop` names the exception that killed the container, the deepest frame of the
application's own code, and the class of failure (error at import or startup, missing
configuration, a dependency refusing connections or timing out, permission denied, address
in use). `oom-killed` compares the memory limit with what the container used.
"""),
        load_cell(["crashloop", "oom-killed"]),
        md("""
## 2. Which containers restart

Exit code **1** or another small number is the application's own error; **137** is SIGKILL
(out of memory, or killed by a failed liveness probe); **143** is SIGTERM (stopped, e.g. by a
probe failure, and shut down cleanly). `Completed` with exit 0 on a long-running container
usually means it was told to stop: look for `Killing` events in the probes runbook.
"""),
        code(f"rb.restarting_containers(state, namespace, workload, max_rows={MAX_ROWS})"),
        md("""
## 3. Restarts over time

Marks that run up to the capture time (dashed line) are a loop still going on. Restarts that
began at one moment for every pod of a revision point at that rollout; restarts spread out
over time point at load, memory or a flapping dependency.
"""),
        code("rb.show(plots.restarts_over_time(state, namespace or None))"),
        md("""
## 4. The evidence and the fix

Each finding below shows the waiting reason and message, the last termination, the restart
count and the exception extracted from the crashed instance's log, with line numbers, then
what to change. For an error at import (a module-level call that needs something only the
startup hook creates), the fix is in the code: move the call into the startup path.
"""),
        code(f'rb.show_findings(findings, rules=["crashloop", "oom-killed"], max_rows={MAX_FINDINGS})'),
        md("""
## 5. The end of the crashed instance's log

The last lines the previous container wrote, numbered as in its whole log: the same text as
`kubectl logs --previous`. One container of each name, for the first few names.
"""),
        code("print(rb.previous_log_tails(state, namespace, workload, lines=25))"),
        md("""
**Next.** If the container is killed by a probe rather than crashing on its own (exit 143 or
137 with `Killing` events), open [probes](probes.ipynb). If it is `OOMKilled`, open
[resources](resources.ipynb). If a new revision crashes while the old one runs, see
[rollouts](rollouts.ipynb) to roll back.
"""),
    ]
