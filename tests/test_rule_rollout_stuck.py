"""rollout-stuck: Deployments and StatefulSets whose newest revision does not become available."""

from __future__ import annotations

from unittest import mock

import pytest

from builders import (NS, deployment, event, pod, replicaset, running, state_of, terminated_state, ts,
                      waiting)
from builders_workloads import statefulset, sts_pod
from runbooks_lib import registry
from runbooks_lib.detectors import _common
from runbooks_lib.findings import Finding
from runbooks_lib.registry import RegisteredDetector, Rule, load_detectors

RULE = "rollout-stuck"


def detect(state):
    return list(load_detectors()[RULE].detect(state))


def _timed_out(name: str, rs_name: str) -> dict:
    return {"observedGeneration": 12, "replicas": 6, "updatedReplicas": 3, "readyReplicas": 3,
            "availableReplicas": 3, "unavailableReplicas": 3,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                 "message": "Deployment has minimum availability.", "lastUpdateTime": ts(300),
                 "lastTransitionTime": ts(300)},
                {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                 "message": f'ReplicaSet "{rs_name}" has timed out progressing.',
                 "lastUpdateTime": ts(20), "lastTransitionTime": ts(20)}]}


def _crashing(name: str, owner: dict, restarts: int = 7) -> dict:
    message = f"back-off 5m0s restarting failed container=app pod={name}_{NS}(uid)"
    return pod(name, owner=owner, minutes_ago=35, statuses=[
        waiting("app", "CrashLoopBackOff", message, restarts=restarts, last_state=terminated_state(1, "Error"))])


def _stuck_deployment():
    deploy = deployment("web", replicas=3, revision=12, status=_timed_out("web", "web-598c5bc958"))
    old = replicaset(deploy, "7d9f8c6b5", 11, 3, minutes_ago=3000)
    new = replicaset(deploy, "598c5bc958", 12, 3, ready=0, minutes_ago=35)
    older = replicaset(deploy, "6f8d7c5b4", 10, 0, minutes_ago=6000)
    old_pods = [pod(f"web-7d9f8c6b5-{s}", owner=old, minutes_ago=3000) for s in ("aaaaa", "bbbbb", "ccccc")]
    new_pods = [_crashing(f"web-598c5bc958-{s}", new, restarts=r) for s, r in (("x1x1x", 7), ("y2y2y", 7), ("z3z3z", 6))]
    return deploy, old, new, older, old_pods, new_pods


def test_rule_catalogue_entry():
    rule = load_detectors()[RULE].rule
    assert rule.severity == "critical" and rule.runbook == "rollouts" and rule.needs == frozenset({"runtime"})


def test_progress_deadline_exceeded_names_the_new_replicaset_and_the_rollback_revision():
    deploy, old, new, older, old_pods, new_pods = _stuck_deployment()
    state = state_of(deploy, old, new, older, *old_pods, *new_pods)
    [finding] = detect(state)
    assert (finding.rule, finding.severity, finding.kind, finding.namespace, finding.name) == (
        RULE, "critical", "Deployment", NS, "web")
    assert finding.summary.startswith(
        "web rollout stuck: ReplicaSet web-598c5bc958 (revision 12) has timed out progressing; "
        "its 3 pods are CrashLoopBackOff")
    assert finding.pods == ("web-598c5bc958-x1x1x", "web-598c5bc958-y2y2y", "web-598c5bc958-z3z3z")
    condition = next(e for e in finding.evidence if e.path == "status.conditions[1].reason")
    assert condition.value == "ProgressDeadlineExceeded" and "has timed out progressing" in condition.text
    rs_evidence = next(e for e in finding.evidence if e.object == f"ReplicaSet {NS}/web-598c5bc958")
    assert rs_evidence.value == 0 and "revision 12" in rs_evidence.text
    pod_evidence = next(e for e in finding.evidence if e.object == f"Pod {NS}/web-598c5bc958-x1x1x")
    assert pod_evidence.path == "status.containerStatuses[0].state.waiting.reason"
    assert pod_evidence.value == "CrashLoopBackOff" and "7 restarts" in pod_evidence.text
    assert finding.remediation.command == f"kubectl rollout undo deployment/web -n {NS} --to-revision=11"
    assert "revision 11 (ReplicaSet web-7d9f8c6b5, 3/3 ready now)" in finding.remediation.text


def test_previous_revision_failing_too_is_not_offered_as_the_rollback():
    # As in the seed incident: revision 11's pods are up but never ready (liveness/readiness 404).
    deploy, old, new, older, old_pods, new_pods = _stuck_deployment()
    old["status"].update(readyReplicas=0, availableReplicas=0)
    unready = [pod(p["metadata"]["name"], owner=old, minutes_ago=3000,
                   statuses=[running("app", ready=False, restarts=29)]) for p in old_pods]
    [finding] = detect(state_of(deploy, old, new, older, *unready, *new_pods))
    assert "Rolling back to revision 11 (ReplicaSet web-7d9f8c6b5) would not restore service" in finding.remediation.text
    assert "revision 10 (ReplicaSet web-6f8d7c5b4) if it was the last good one" in finding.remediation.text
    assert finding.remediation.command == f"kubectl rollout undo deployment/web -n {NS} --to-revision=10"


def test_scaled_down_previous_revision_is_described_as_such():
    deploy, old, new, older, old_pods, new_pods = _stuck_deployment()
    old["spec"]["replicas"] = 0
    old["status"].update(replicas=0, readyReplicas=0, availableReplicas=0)
    [finding] = detect(state_of(deploy, old, new, older, *new_pods))
    assert "(ReplicaSet web-7d9f8c6b5, scaled down" in finding.remediation.text
    assert finding.remediation.command.endswith("--to-revision=11")


def test_related_findings_come_from_the_registry(monkeypatch):
    deploy, old, new, older, old_pods, new_pods = _stuck_deployment()
    state = state_of(deploy, old, new, older, *old_pods, *new_pods)

    def cause(state):
        return [Finding(rule="test-cause", severity="critical", namespace=NS, kind="Deployment", name="web",
                        summary="web crash-loops", pods=("web-598c5bc958-x1x1x",), container="app"),
                # same workload but only about old pods: not about the stuck revision
                Finding(rule="test-cause", severity="warning", namespace=NS, kind="Deployment", name="web",
                        summary="old pods", pods=("web-7d9f8c6b5-aaaaa",), container="app", discriminator="old"),
                Finding(rule="test-cause", severity="critical", namespace=NS, kind="Deployment", name="other",
                        summary="another workload", container="app")]

    def broken(state):
        raise RuntimeError("boom")

    load_detectors()
    rule = Rule(id="test-cause", title="t", severity="critical", detects="", why="", example="", fix="")
    monkeypatch.setitem(registry._REGISTRY, "test-cause", RegisteredDetector(rule, cause, __name__))
    monkeypatch.setitem(registry._REGISTRY, "test-broken", RegisteredDetector(
        Rule(id="test-broken", title="t", severity="critical", detects="", why="", example="", fix=""), broken, __name__))
    monkeypatch.setattr(_common, "RELATED_RULES", ("test-cause", "test-broken", "not-installed"))
    [finding] = detect(state)
    expected = cause(state)[0]
    assert finding.related == (expected.id,)
    assert finding.summary.endswith("(see test-cause)")
    assert "web crash-loops" in finding.remediation.text


def test_links_the_real_crashloop_finding_when_installed():
    if "crashloop" not in load_detectors():
        pytest.skip("crashloop rule not installed")
    deploy, old, new, older, old_pods, new_pods = _stuck_deployment()
    events = [event(p, "BackOff", f"Back-off restarting failed container app in pod {p['metadata']['name']}_{NS}(uid)",
                    count=30, container_name="app") for p in new_pods]
    state = state_of(deploy, old, new, older, *old_pods, *new_pods, *events)
    crash_ids = {f.id for f in load_detectors()["crashloop"].detect(state) if f.name == "web"}
    [finding] = detect(state)
    assert crash_ids and crash_ids <= set(finding.related)


def test_incomplete_rollout_with_failing_new_pods_before_the_deadline():
    deploy = deployment("api", replicas=2, revision=3, status={
        "replicas": 3, "updatedReplicas": 1, "readyReplicas": 2, "availableReplicas": 2,
        "conditions": [{"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                        "message": 'ReplicaSet "api-8b7c6d5f4" is progressing.'}]})
    old = replicaset(deploy, "5c6d7e8f9", 2, 2, minutes_ago=600)
    new = replicaset(deploy, "8b7c6d5f4", 3, 1, ready=0, minutes_ago=4)
    pulling = pod("api-8b7c6d5f4-q9w8e", owner=new, minutes_ago=4, statuses=[
        waiting("app", "ImagePullBackOff", 'Back-off pulling image "ghcr.io/acme/app:1.1"')])
    state = state_of(deploy, old, new, pulling, *[pod(f"api-5c6d7e8f9-{s}", owner=old) for s in ("aaaaa", "bbbbb")])
    [finding] = detect(state)
    assert finding.summary.startswith("api rollout stuck: ReplicaSet api-8b7c6d5f4 (revision 3) has 0/1 ready pods "
                                      "(1/2 replicas updated); its pod is ImagePullBackOff")
    assert finding.pods == ("api-8b7c6d5f4-q9w8e",)
    assert finding.remediation.command == f"kubectl rollout undo deployment/api -n {NS} --to-revision=2"


def test_rollout_in_progress_with_healthy_new_pods_is_not_stuck():
    deploy = deployment("api", replicas=2, revision=3, status={
        "replicas": 3, "updatedReplicas": 1, "readyReplicas": 2, "availableReplicas": 2,
        "conditions": [{"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"}]})
    old = replicaset(deploy, "5c6d7e8f9", 2, 2)
    new = replicaset(deploy, "8b7c6d5f4", 3, 1, ready=0, minutes_ago=1)
    starting = pod("api-8b7c6d5f4-q9w8e", owner=new, minutes_ago=1, statuses=[running("app", ready=False, started_minutes_ago=0.5)])
    assert detect(state_of(deploy, old, new, starting)) == []


def test_completed_rollout_with_one_crashing_pod_is_left_to_crashloop():
    deploy = deployment("web", replicas=2, revision=4, status={
        "replicas": 2, "updatedReplicas": 2, "readyReplicas": 1, "availableReplicas": 1,
        "conditions": [{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]})
    rs = replicaset(deploy, "5d4f8b7c9", 4, 2, ready=1)
    assert detect(state_of(deploy, rs, pod("web-5d4f8b7c9-ok000", owner=rs), _crashing("web-5d4f8b7c9-bad00", rs))) == []


def test_paused_deployment_is_not_reported():
    deploy, old, new, older, old_pods, new_pods = _stuck_deployment()
    deploy["spec"]["paused"] = True
    deploy["status"]["conditions"][1].update(status="Unknown", reason="DeploymentPaused")
    assert detect(state_of(deploy, old, new, older, *old_pods, *new_pods)) == []


def test_first_revision_has_nothing_to_roll_back_to():
    deploy = deployment("new-svc", replicas=1, revision=1, status=_timed_out("new-svc", "new-svc-6b5d4c3f2"))
    rs = replicaset(deploy, "6b5d4c3f2", 1, 1, ready=0, minutes_ago=30)
    [finding] = detect(state_of(deploy, rs, _crashing("new-svc-6b5d4c3f2-abcde", rs)))
    assert "no earlier revision" in finding.remediation.text
    assert "undo" not in finding.remediation.command


def test_statefulset_update_stuck_on_a_broken_pod():
    sts = statefulset("db", replicas=3, current_revision="db-6c9f7d8b5", update_revision="db-84b9c7d6f", status={
        "observedGeneration": 3, "replicas": 3, "readyReplicas": 2, "currentReplicas": 2, "updatedReplicas": 1,
        "currentRevision": "db-6c9f7d8b5", "updateRevision": "db-84b9c7d6f"})
    pods = [sts_pod(sts, 0, "db-6c9f7d8b5"), sts_pod(sts, 1, "db-6c9f7d8b5")]
    broken = sts_pod(sts, 2, "db-84b9c7d6f", minutes_ago=30, statuses=[
        waiting("app", "CrashLoopBackOff", "back-off 2m40s restarting failed container=app pod=db-2_shop(uid)",
                restarts=5, last_state=terminated_state(1, "Error"))])
    [finding] = detect(state_of(sts, *pods, broken))
    assert (finding.kind, finding.name, finding.severity, finding.pods) == ("StatefulSet", "db", "critical", ("db-2",))
    assert "update revision db-84b9c7d6f rolled out to 1/3 replicas" in finding.summary
    revision = next(e for e in finding.evidence if e.path == "status.updateRevision")
    assert revision.value == "db-84b9c7d6f"
    assert finding.remediation.command == f"kubectl rollout undo statefulset/db -n {NS}"
    assert f"kubectl delete pod db-2 -n {NS}" in finding.remediation.text
    assert "db-6c9f7d8b5" in finding.remediation.text


def test_healthy_statefulset_and_partitioned_update_are_not_reported():
    sts = statefulset("db", replicas=3)
    partitioned = statefulset("cache", replicas=3, current_revision="cache-1", update_revision="cache-2", status={
        "replicas": 3, "readyReplicas": 3, "currentReplicas": 2, "updatedReplicas": 1,
        "currentRevision": "cache-1", "updateRevision": "cache-2"})
    partitioned["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = 2
    pods = [sts_pod(sts, i, "db-6c9f7d8b5") for i in range(3)] + [sts_pod(partitioned, i, "cache-1") for i in range(3)]
    assert detect(state_of(sts, partitioned, *pods)) == []


def test_healthy_deployment_is_not_reported():
    deploy = deployment("web", replicas=2)
    rs = replicaset(deploy, "5d4f8b7c9", 1, 2)
    assert detect(state_of(deploy, rs, pod("web-5d4f8b7c9-aaaaa", owner=rs), pod("web-5d4f8b7c9-bbbbb", owner=rs))) == []


def test_odd_data_does_not_raise():
    deploy = deployment("odd", replicas="3", status={"conditions": None, "replicas": "x"})
    deploy2 = deployment("odd2", status={"conditions": [None, "x", {"type": "Progressing", "status": "False",
                                                                      "reason": "ProgressDeadlineExceeded"}]})
    sts = statefulset("odd3", status={"updateRevision": 5, "readyReplicas": None})
    findings = detect(state_of(deploy, deploy2, sts))
    assert [f.name for f in findings] == ["odd2"]
    assert findings[0].summary.startswith("odd2 rollout stuck")


# -- odd data anywhere ----------------------------------------------------------------------------

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from builders_workloads import fuzzed_state  # noqa: E402

_ODD = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**6), st.text(max_size=8),
                 st.lists(st.none(), max_size=2), st.dictionaries(st.text(max_size=3), st.none(), max_size=2))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.lists(st.tuples(st.integers(0, 10**6), _ODD), min_size=1, max_size=6))
def test_fuzzed_fields_never_raise(choices):
    state = fuzzed_state(choices)
    assume(state is not None)
    # Other teams' related rules are fuzzed in their own tests; keep this one to our code (and fast).
    with mock.patch.object(_common, "RELATED_RULES", ("pending-unschedulable",)):
        findings = detect(state)
    for finding in findings:
        assert finding.rule == RULE and finding.summary
