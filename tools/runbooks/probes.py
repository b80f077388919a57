from _common import MAX_FINDINGS, MAX_ROWS, PARAMETERS_HELP, load_cell, parameters
from nbbuild import code, md

NAME = "probes"


def cells():
    return [
        md("""
# Probes: why are these pods running but not ready, or killed while running?

**You are here because** pods show `Running` with READY below the container count (`1/2`),
`Unhealthy` warning events pile up, or containers are restarted with `Killing ... failed
liveness probe`. The kubelet probes each container: a failing **readiness** probe takes the
pod out of its Services; a failing **liveness** or **startup** probe restarts the container.
The event message says which failure it is: an HTTP status code (the app answered, with the
wrong status), `connection refused` (nothing listens on that port), or a timeout.
"""),
        PARAMETERS_HELP,
        parameters(),
        md("""
## 1. Findings

`probe-http-error` (the app answers, but not with 200–399), `probe-connection-refused`
(nothing listens where the probe knocks), `probe-timeout` (the answer comes too late) and
`probe-port-not-served` (a static check of the spec: the probe can never succeed, e.g. a
sidecar whose health server is switched off).
"""),
        load_cell(["probe-http-error", "probe-connection-refused", "probe-timeout", "probe-port-not-served"]),
        md("""
## 2. The probes as declared, and how often each failed

Read each row as "the kubelet sends TARGET every PERIOD, waits TIMEOUT, and gives up after
THRESHOLD failures". A probe with many FAILURES on every pod of a workload is broken by
configuration, not by load.
"""),
        code(f"rb.probe_table(state, namespace, workload, max_rows={MAX_ROWS})"),
        md("""
## 3. Probe failures over time

Each bar runs from the first to the last sighting of one `Unhealthy` event; the dot's size is
how many times it failed. Failures that started with a rollout and never stop are a
configuration error; short bursts are load or a slow dependency.
"""),
        code("rb.show(plots.probe_failures_over_time(state, namespace or None, workload or None))"),
        md("""
## 4. The events

The kubelet's own words, newest last. `HTTP probe failed with statuscode: 404` means the path
is not served: a FastAPI or Starlette sub-app mounted at `/health` whose routes also start
with `/health` serves `/health/health/ready`, not `/health/ready`. `connect: connection
refused` means no process listens on that port at the pod IP.
"""),
        code(f'rb.events_for(state, namespace, workload, reasons=["Unhealthy", "Killing"], max_rows={MAX_ROWS})'),
        md("""
## 5. The evidence and the fix

Each finding shows the probe spec (field path, scheme, path, port), the events with their
counts and first/last sighting, and the patch to apply. For a cloud-sql-proxy v2 sidecar the
health server is off unless `--health-check` is given, it listens on `--http-port` (9090 by
default) and on localhost only unless `--http-address=0.0.0.0`: all three must match the
probe.
"""),
        code('rb.show_findings(findings, rules=["probe-http-error", "probe-connection-refused", "probe-timeout", '
             f'"probe-port-not-served"], max_rows={MAX_FINDINGS})'),
        md("""
**Next.** If the container also crashes on its own, see [crashloop](crashloop.ipynb). If the
pods are ready but a Service still answers nothing, see [services](services.ipynb).
"""),
    ]
