"""pending-unschedulable: FailedScheduling events and Unschedulable conditions, per workload."""

from __future__ import annotations

import yaml

from builders import NS, container, deployment, event, pod, replicaset, running, state_of, ts
from builders_workloads import node, pending_pod, pvc, resources, statefulset, sts_pod
from runbooks_lib.registry import load_detectors
from runbooks_lib.state import RUNTIME

RULE = "pending-unschedulable"

# 1.24+ with preemption; some 1.2x versions end with "..".
MSG_MEMORY = ("0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
              "2 Insufficient memory. preemption: 0/3 nodes are available: 1 Preemption is not helpful for "
              "scheduling, 2 No preemption victims found for incoming pod.")
MSG_CPU_OLD = "0/3 nodes are available: 3 Insufficient cpu."  # before preemption text (<= 1.21)
MSG_TAINT_OLD = ("0/4 nodes are available: 1 node(s) had taint {node-role.kubernetes.io/master: }, that the pod "
                 "didn't tolerate, 3 node(s) had taint {dedicated: gpu}, that the pod didn't tolerate.")
MSG_PVC = ("0/5 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/5 nodes are "
           "available: 5 Preemption is not helpful for scheduling..")
MSG_SELECTOR = ("0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 "
                "nodes are available: 3 Preemption is not helpful for scheduling.")


def detect(state):
    return list(load_detectors()[RULE].detect(state))


def _web(replicas=2, containers=None):
    deploy = deployment("web", replicas=replicas, containers=containers,
                        status={"replicas": replicas, "unavailableReplicas": replicas, "observedGeneration": 1})
    rs = replicaset(deploy, "5d4f8b7c9", 1, replicas, ready=0)
    return deploy, rs


def _scheduler_event(obj, message, **kwargs):
    return event(obj, "FailedScheduling", message, component="default-scheduler", **kwargs)


def test_rule_is_catalogued_for_runtime_states():
    rule = load_detectors()[RULE].rule
    assert rule.runbook == "rollouts"
    assert rule.needs == frozenset({RUNTIME})
    assert "0/3 nodes are available" in rule.example


def test_insufficient_memory_on_every_pod_is_critical_on_the_deployment():
    deploy, rs = _web(containers=[container(resources=resources("500m", "6Gi"))])
    a = pending_pod("web-5d4f8b7c9-x2k4q", owner=rs, message=MSG_MEMORY)
    b = pending_pod("web-5d4f8b7c9-a7mzp", owner=rs, message=MSG_MEMORY)
    state = state_of(deploy, rs, a, b, _scheduler_event(a, MSG_MEMORY, count=12), _scheduler_event(b, MSG_MEMORY, count=11),
                     node("n1"), node("n2"))
    [finding] = detect(state)
    assert (finding.rule, finding.severity, finding.kind, finding.name, finding.namespace) == (
        RULE, "critical", "Deployment", "web", NS)
    assert finding.pods == ("web-5d4f8b7c9-a7mzp", "web-5d4f8b7c9-x2k4q")
    assert "0/3 nodes available" in finding.summary and "2 Insufficient memory" in finding.summary
    assert "2 pods Pending" in finding.summary
    events = [e for e in finding.evidence if e.source == "event"]
    assert events and events[0].reason == "FailedScheduling" and events[0].message == MSG_MEMORY
    assert events[0].count in (11, 12)
    # the same message on two pods is shown once, not once per pod
    assert len({e.message for e in events}) == len(events)
    request = next(e for e in finding.evidence if e.path == "spec.template.spec.containers[0].resources.requests.memory")
    assert request.value == "6Gi"
    assert "memory" in finding.remediation.text.lower()
    # the control-plane taint is not what to fix: no toleration patch is proposed
    assert finding.remediation.patch is None
    assert finding.remediation.text.startswith("Not enough unrequested memory on 2 node(s)")
    assert "toleration" not in finding.remediation.text


def test_some_pods_running_makes_it_a_warning():
    deploy, rs = _web(replicas=3)
    ok = pod("web-5d4f8b7c9-ok111", owner=rs)
    pending = pending_pod("web-5d4f8b7c9-pnd22", owner=rs, message=MSG_CPU_OLD)
    [finding] = detect(state_of(deploy, rs, ok, pending, _scheduler_event(pending, MSG_CPU_OLD)))
    assert finding.severity == "warning"
    assert finding.pods == ("web-5d4f8b7c9-pnd22",)
    assert "3 Insufficient cpu" in finding.summary and "1 running" in finding.summary


def test_request_larger_than_any_node_says_no_node_can_fit():
    deploy, rs = _web(replicas=1, containers=[container(resources=resources("6", "1Gi"))])
    p = pending_pod("web-5d4f8b7c9-big01", owner=rs, message=MSG_CPU_OLD)
    [finding] = detect(state_of(deploy, rs, p, _scheduler_event(p, MSG_CPU_OLD), node("n1", cpu="3920m")))
    assert "no node can ever fit it" in finding.summary
    assert "6 cpu" in finding.summary and "3920m" in finding.summary
    assert "bigger nodes" in finding.remediation.text


def test_old_taint_message_gives_a_toleration_patch_keeping_existing_ones():
    spec_container = container()
    deploy, rs = _web(replicas=1, containers=[spec_container])
    deploy["spec"]["template"]["spec"]["tolerations"] = [
        {"key": "cloud.google.com/gke-preemptible", "operator": "Exists", "effect": "NoSchedule"}]
    p = pending_pod("web-5d4f8b7c9-gpu01", owner=rs, message=MSG_TAINT_OLD)
    nodes = [node(f"gpu-{i}", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]) for i in range(3)]
    [finding] = detect(state_of(deploy, rs, p, _scheduler_event(p, MSG_TAINT_OLD), *nodes))
    patch = yaml.safe_load(finding.remediation.patch)
    tolerations = patch["spec"]["template"]["spec"]["tolerations"]
    assert {"key": "cloud.google.com/gke-preemptible", "operator": "Exists", "effect": "NoSchedule"} in tolerations
    assert {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"} in tolerations
    assert not any("master" in t["key"] for t in tolerations)
    assert finding.remediation.patch_type == "strategic-merge"
    assert finding.remediation.target == f"Deployment {NS}/web"
    assert finding.remediation.command.startswith(f"kubectl patch deployment web -n {NS}")


def test_unbound_pvc_on_a_statefulset_names_the_claim():
    sts = statefulset("qdrant", replicas=1, status={"replicas": 1, "readyReplicas": 0})
    sts["spec"]["template"]["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "qdrant-data"}}]
    p = pending_pod("qdrant-0", owner=sts, message=MSG_PVC)
    p["spec"]["volumes"] = sts["spec"]["template"]["spec"]["volumes"]
    [finding] = detect(state_of(sts, p, _scheduler_event(p, MSG_PVC, count=40), pvc("qdrant-data", phase="Pending")))
    assert (finding.kind, finding.name, finding.pods, finding.severity) == ("StatefulSet", "qdrant", ("qdrant-0",), "critical")
    assert "unbound immediate PersistentVolumeClaims" in finding.summary
    claim = next(e for e in finding.evidence if e.object == f"PersistentVolumeClaim {NS}/qdrant-data")
    assert claim.value == "Pending" and claim.path == "status.phase"
    assert finding.remediation.command == f"kubectl describe pvc qdrant-data -n {NS}"


def test_statefulset_claim_template_is_found_on_the_pod():
    sts = statefulset("db", replicas=1, status={"replicas": 1, "readyReplicas": 0})
    sts["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]
    p = sts_pod(sts, 0, "db-6c9f7d8b5", phase="Pending", statuses=[])
    p["spec"].pop("nodeName")
    p["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}}]
    message = ('running PreFilter plugin "VolumeBinding": error getting PVC "shop/data-db-0": could not find '
               'v1.PersistentVolumeClaim "shop/data-db-0"')
    [finding] = detect(state_of(sts, p, _scheduler_event(p, message), pvc("other-claim")))
    missing = next(e for e in finding.evidence if e.object == f"PersistentVolumeClaim {NS}/data-db-0")
    assert missing.text == f"PersistentVolumeClaim data-db-0 does not exist in {NS}"
    assert finding.remediation.command == f"kubectl describe pvc data-db-0 -n {NS}"
    # a snapshot that did not collect PVCs cannot say the claim is missing
    [finding] = detect(state_of(sts, p, _scheduler_event(p, message)))
    assert not any(e.object == f"PersistentVolumeClaim {NS}/data-db-0" for e in finding.evidence)


def test_node_selector_mismatch_shows_the_selector():
    deploy, rs = _web(replicas=1)
    deploy["spec"]["template"]["spec"]["nodeSelector"] = {"cloud.google.com/gke-nodepool": "highmem"}
    p = pending_pod("web-5d4f8b7c9-sel01", owner=rs, message=MSG_SELECTOR)
    [finding] = detect(state_of(deploy, rs, p, _scheduler_event(p, MSG_SELECTOR)))
    selector = next(e for e in finding.evidence if e.path == "spec.template.spec.nodeSelector")
    assert selector.value == {"cloud.google.com/gke-nodepool": "highmem"}
    assert finding.remediation.command == "kubectl get nodes -L cloud.google.com/gke-nodepool"


def test_condition_alone_is_enough_when_events_expired():
    deploy, rs = _web(replicas=1)
    p = pending_pod("web-5d4f8b7c9-old01", owner=rs, message=MSG_MEMORY, minutes_ago=300)
    [finding] = detect(state_of(deploy, rs, p))
    [status] = [e for e in finding.evidence if e.source == "status"]
    assert status.path == "status.conditions[0].message" and status.value == MSG_MEMORY
    assert status.object == f"Pod {NS}/web-5d4f8b7c9-old01"
    assert "2 Insufficient memory" in finding.summary


def test_events_k8s_io_shape_and_bare_pod():
    p = pending_pod("debug-shell", message=None)
    ev = {"apiVersion": "events.k8s.io/v1", "kind": "Event",
          "metadata": {"name": "debug-shell.1801c4d2", "namespace": NS, "creationTimestamp": ts(10)},
          "eventTime": "2025-11-06T16:22:10.123456Z", "reason": "FailedScheduling", "type": "Warning",
          "note": MSG_CPU_OLD, "action": "Scheduling", "reportingController": "default-scheduler",
          "reportingInstance": "default-scheduler-gke-1",
          "regarding": {"kind": "Pod", "namespace": NS, "name": "debug-shell", "uid": p["metadata"]["uid"]},
          "series": {"count": 7, "lastObservedTime": "2025-11-06T16:31:10.000000Z"}}
    [finding] = detect(state_of(p, ev))
    assert (finding.kind, finding.name, finding.pods) == ("Pod", "debug-shell", ("debug-shell",))
    [evidence] = [e for e in finding.evidence if e.source == "event"]
    assert evidence.count == 7 and evidence.last_seen == "2025-11-06T16:31:10Z"


def test_scheduled_or_running_pods_are_not_reported():
    deploy, rs = _web(replicas=2)
    # scheduled now, still Pending while pulling its image: the old FailedScheduling is history
    pulling = pending_pod("web-5d4f8b7c9-pull1", owner=rs, message=MSG_MEMORY)
    pulling["spec"]["nodeName"] = "n1"
    pulling["status"]["conditions"] = [{"type": "PodScheduled", "status": "True"}]
    running_pod = pod("web-5d4f8b7c9-run01", owner=rs, statuses=[running()])
    state = state_of(deploy, rs, pulling, running_pod, _scheduler_event(pulling, MSG_MEMORY),
                     _scheduler_event(running_pod, MSG_MEMORY))
    assert detect(state) == []


def test_pending_without_scheduler_complaint_is_not_reported():
    deploy, rs = _web(replicas=1)
    p = pending_pod("web-5d4f8b7c9-new01", owner=rs, minutes_ago=0.1)
    p["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]
    assert detect(state_of(deploy, rs, p)) == []


def test_event_of_an_earlier_pod_with_the_same_name_is_ignored():
    sts = statefulset("db", replicas=1, status={"replicas": 1, "readyReplicas": 0})
    p = sts_pod(sts, 0, "db-6c9f7d8b5", phase="Pending", statuses=[])
    p["spec"].pop("nodeName")
    stale = _scheduler_event(p, MSG_MEMORY)
    stale["involvedObject"]["uid"] = "0c0ffee0-0000-4000-a000-000000000000"
    assert detect(state_of(sts, p, stale)) == []


def test_odd_data_does_not_raise():
    p = pending_pod("weird", message=MSG_MEMORY)
    p["status"]["conditions"] = "not-a-list"
    q = pending_pod("weird-2")
    q["status"] = None
    ev = _scheduler_event(p, MSG_MEMORY)
    ev["message"] = None
    findings = detect(state_of(p, q, ev))
    assert [f.name for f in findings] == ["weird"]
    assert findings[0].summary == "weird cannot be scheduled: the scheduler found no node (1 pod Pending)"


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
    for finding in detect(state):
        assert finding.rule == RULE and finding.summary
