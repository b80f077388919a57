"""oom-killed: last termination OOMKilled, compared with the memory limit and usage."""

from __future__ import annotations

import pytest
import yaml

from builders import NS, container, event, pod, pod_metrics, running, state_of, ts, uid, waiting
from builders_runtime import crashloop_waiting_message, terminated, workload
from runbooks_lib.detectors.oom_killed import RULE, raised_memory
from runbooks_lib.registry import run_detectors
from runbooks_lib.state import RUNTIME


def limited(name="app", limit="512Mi", request=None):
    resources = {"limits": {"memory": limit}} if limit else {}
    if request:
        resources["requests"] = {"memory": request}
    return container(name, resources=resources)


def findings(state):
    result = run_detectors(state, only=["oom-killed"])
    assert result.errors == []
    return result.findings


def test_crash_looping_oom_kill_with_guaranteed_memory():
    deploy, rs = workload("api", replicas=2, containers=[limited(limit="512Mi", request="512Mi")])
    pods = []
    for suffix in ("k8s0a", "k8s0b"):
        name = f"{rs['metadata']['name']}-{suffix}"
        pods.append(pod(name, owner=rs, statuses=[waiting(
            "app", "CrashLoopBackOff", crashloop_waiting_message(name), restarts=6,
            last_state=terminated(137, "OOMKilled", finished_minutes_ago=2))]))
    metrics = pod_metrics(pods[0], {"app": ("250m", "509Mi")})
    backoff = event(pods[0], "BackOff", "Back-off restarting failed container app in pod x", count=20,
                    container_name="app")
    [finding] = findings(state_of(deploy, rs, *pods, metrics, backoff))

    assert (finding.rule, finding.severity, finding.kind, finding.name, finding.container) == (
        "oom-killed", "critical", "Deployment", "api", "app")
    assert finding.pods == tuple(sorted(p["metadata"]["name"] for p in pods))
    assert finding.summary == ("api is OOMKilled: exceeded its 512Mi memory limit (usage now 509Mi, 99% of the "
                               "limit) [2 pods; 12 restarts; CrashLoopBackOff]")
    reason = next(e for e in finding.evidence if e.path == "status.containerStatuses[0].lastState.terminated.reason")
    assert reason.value == "OOMKilled" and "exit code 137" in reason.text
    limit = next(e for e in finding.evidence if e.source == "field" and e.path.endswith("limits.memory"))
    assert (limit.path, limit.value, limit.object) == (
        "spec.template.spec.containers[0].resources.limits.memory", "512Mi", f"Deployment {NS}/api")
    [metric] = [e for e in finding.evidence if e.source == "metric"]
    assert metric.value == 509 * 2**20 and "99% of the limit" in metric.text
    assert any(e.source == "event" and e.reason == "BackOff" and e.count == 20 for e in finding.evidence)

    remediation = finding.remediation
    assert (remediation.patch_type, remediation.target) == ("strategic-merge", f"Deployment {NS}/api")
    assert yaml.safe_load(remediation.patch) == {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "resources": {"limits": {"memory": "768Mi"}, "requests": {"memory": "768Mi"}}}]}}}}
    assert remediation.command == f"kubectl patch deployment api -n {NS} --type strategic --patch-file fix.yaml"
    assert "Guaranteed" in remediation.text


def test_single_oom_kill_of_a_sidecar_is_a_warning_and_raises_only_the_limit():
    deploy, rs = workload("web", containers=[container("web"), limited("cache", limit="1Gi", request="256Mi")])
    p = pod(f"{rs['metadata']['name']}-s1d3c", owner=rs, statuses=[
        running("web"), running("cache", restarts=1, last_state=terminated(137, "OOMKilled", 30))])
    [finding] = findings(state_of(deploy, rs, p))
    assert (finding.severity, finding.container) == ("warning", "cache")
    assert finding.summary == "web (cache) is OOMKilled: exceeded its 1Gi memory limit [1 restart]"
    assert any(e.path == "spec.template.spec.containers[1].resources.limits.memory" for e in finding.evidence)
    assert any(e.path == "status.containerStatuses[1].restartCount" and e.value == 1 for e in finding.evidence)
    patch = yaml.safe_load(finding.remediation.patch)
    assert patch["spec"]["template"]["spec"]["containers"] == [
        {"name": "cache", "resources": {"limits": {"memory": "1536Mi"}}}]


def test_job_pod_terminated_oom_killed():
    job = {"apiVersion": "batch/v1", "kind": "Job",
           "metadata": {"name": "nightly-export", "namespace": NS, "uid": uid("job", NS, "nightly-export"),
                        "creationTimestamp": ts(30)},
           "spec": {"backoffLimit": 0, "template": {"metadata": {"labels": {"job-name": "nightly-export"}},
                                                    "spec": {"restartPolicy": "Never",
                                                             "containers": [limited("export", limit="2Gi")]}}}}
    p = pod("nightly-export-x7k2p", owner=job, phase="Failed",
            statuses=[{"name": "export", "image": "ghcr.io/acme/app:1.0", "ready": False, "restartCount": 0,
                       "state": terminated(137, "OOMKilled", 5), "lastState": {}}])
    [finding] = findings(state_of(job, p))
    assert (finding.kind, finding.name, finding.severity) == ("Job", "nightly-export", "warning")
    reason = next(e for e in finding.evidence if e.source == "status" and e.value == "OOMKilled")
    assert reason.path == "status.containerStatuses[0].state.terminated.reason"
    assert any(e.path == "spec.template.spec.containers[0].resources.limits.memory" for e in finding.evidence)
    patch = yaml.safe_load(finding.remediation.patch)
    assert patch["spec"]["template"]["spec"]["containers"][0]["resources"] == {"limits": {"memory": "3Gi"}}
    assert finding.remediation.command == "kubectl replace --force -f job.yaml"
    assert "cannot be patched in place" in finding.remediation.text


def test_no_limit_with_metrics_sets_request_and_limit_from_usage():
    deploy, rs = workload("api", containers=[container()])
    p = pod(f"{rs['metadata']['name']}-n0l1m", owner=rs, statuses=[
        running("app", restarts=3, last_state=terminated(137, "OOMKilled", 10))])
    [finding] = findings(state_of(deploy, rs, p, pod_metrics(p, {"app": ("100m", "800Mi")})))
    assert finding.severity == "critical"  # three restarts
    assert "no memory limit set" in finding.summary
    assert any(e.text == "no memory limit set" and e.value is None for e in finding.evidence)
    patch = yaml.safe_load(finding.remediation.patch)
    assert patch["spec"]["template"]["spec"]["containers"][0]["resources"] == {
        "limits": {"memory": "1000Mi"}, "requests": {"memory": "1000Mi"}}


def test_no_limit_and_no_metrics_gives_advice_without_a_patch():
    deploy, rs = workload("api", containers=[container()])
    p = pod(f"{rs['metadata']['name']}-n0n0n", owner=rs, statuses=[
        running("app", restarts=1, last_state=terminated(137, "OOMKilled", 10))])
    [finding] = findings(state_of(deploy, rs, p))
    assert finding.remediation.patch is None
    assert finding.remediation.command == f"kubectl top pod -n {NS} --containers"


@pytest.mark.parametrize(("limit", "peak", "expected"), [
    (512 * 2**20, None, "768Mi"),
    (2**30, None, "1536Mi"),
    (3 * 2**30, None, "5Gi"),  # 4.5Gi rounds up to a whole Gi
    (100e6, None, "144Mi"),  # 100M: decimal units round up to whole Mi
    (256 * 2**20, 400 * 2**20, "500Mi"),  # usage above the limit's 1.5x wins
    (None, None, None),
])
def test_raised_memory(limit, peak, expected):
    assert raised_memory(limit, peak) == expected


@pytest.mark.parametrize("statuses", [
    [running("app")],
    [running("app", restarts=2, last_state=terminated(137, "Error", 5))],  # SIGKILL by the liveness probe
    [waiting("app", "CrashLoopBackOff", "back-off", restarts=4, last_state=terminated(1, "Error"))],
])
def test_not_an_oom_kill(statuses):
    deploy, rs = workload("api", containers=[limited()])
    p = pod(f"{rs['metadata']['name']}-0k0k0", owner=rs, statuses=statuses)
    assert findings(state_of(deploy, rs, p)) == []


def test_odd_data_does_not_raise():
    deploy, rs = workload("api", containers=[container("app", resources={"limits": {"memory": 12}})])
    deploy["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": None}
    p = pod(f"{rs['metadata']['name']}-0dd01", owner=rs, statuses=[
        {"name": "app", "restartCount": None, "state": None,
         "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": None}}}])
    [finding] = findings(state_of(deploy, rs, p))
    assert finding.rule == "oom-killed"


def test_rule_catalogue_entry():
    assert (RULE.id, RULE.runbook, RULE.needs) == ("oom-killed", "crashloop", frozenset({RUNTIME}))


# -- odd data anywhere ----------------------------------------------------------------------------

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from builders_runtime import fuzzed_findings  # noqa: E402

_ODD = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**6), st.text(max_size=8),
                 st.lists(st.none(), max_size=2), st.dictionaries(st.text(max_size=3), st.none(), max_size=2))


def test_runtime_incident_has_one_finding_of_this_rule():
    assert len(fuzzed_findings("oom-killed", [])) == 1


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.lists(st.tuples(st.integers(0, 10**6), _ODD), min_size=1, max_size=6))
def test_fuzzed_fields_never_raise(choices):
    found = fuzzed_findings("oom-killed", choices)
    assume(found is not None)
    for finding in found:
        assert finding.rule == "oom-killed" and finding.summary
