"""resource-pressure: containers at their limits (with metrics), and containers with no requests."""

from __future__ import annotations

import yaml

from builders import NS, container, deployment, pod, pod_metrics, replicaset, running, state_of, terminated_state
from builders_workloads import resources
from runbooks_lib.registry import load_detectors
from runbooks_lib.state import RUNTIME

RULE = "resource-pressure"


def detect(state):
    return list(load_detectors()[RULE].detect(state))


def _keycloak(limits=("1", "512Mi"), requests=("250m", "384Mi"), replicas=2):
    spec = container("keycloak", image="quay.io/keycloak/keycloak:26.0",
                     resources=resources(requests[0], requests[1], limits[0], limits[1]))
    deploy = deployment("keycloak", replicas=replicas, containers=[spec])
    rs = replicaset(deploy, "5847455794", 1, replicas)
    pods = [pod(f"keycloak-5847455794-{s}", owner=rs) for s in ("txkc6", "2wdjr")[:replicas]]
    return deploy, rs, pods


def test_rule_needs_runtime_only():
    rule = load_detectors()[RULE].rule
    assert rule.needs == frozenset({RUNTIME}) and rule.runbook == "resources"


def test_memory_near_the_limit_is_a_warning_with_a_rounded_patch():
    deploy, rs, pods = _keycloak()
    metrics = [pod_metrics(pods[0], {"keycloak": ("7m", "470Mi")}), pod_metrics(pods[1], {"keycloak": ("5m", "300Mi")})]
    [finding] = detect(state_of(deploy, rs, *pods, *metrics))
    assert (finding.rule, finding.severity, finding.kind, finding.name, finding.container, finding.discriminator) == (
        RULE, "warning", "Deployment", "keycloak", "keycloak", "memory")
    assert finding.pods == ("keycloak-5847455794-txkc6",)  # the pod that is close, not the other one
    assert finding.summary == ("keycloak container keycloak is close to being OOMKilled: memory at 91% of its "
                               "512Mi limit (470Mi)")
    metric = next(e for e in finding.evidence if e.source == "metric")
    assert metric.object == f"Pod {NS}/keycloak-5847455794-txkc6" and metric.value == round(470 / 512, 4)
    limit = next(e for e in finding.evidence if e.source == "field")
    assert limit.path == "spec.template.spec.containers[0].resources.limits.memory" and limit.value == "512Mi"
    patch = yaml.safe_load(finding.remediation.patch)
    [patched] = patch["spec"]["template"]["spec"]["containers"]
    # 470Mi / 0.7 = 672Mi -> rounded up to 704Mi (64Mi steps); the request follows the peak (470Mi -> 512Mi)
    assert patched == {"name": "keycloak", "resources": {"limits": {"memory": "704Mi"}, "requests": {"memory": "512Mi"}}}
    assert finding.remediation.patch_type == "strategic-merge"
    assert finding.remediation.command.startswith(f"kubectl patch deployment keycloak -n {NS}")


def test_memory_at_the_limit_is_critical_and_groups_pods():
    deploy, rs, pods = _keycloak()
    metrics = [pod_metrics(pods[0], {"keycloak": ("7m", "505Mi")}), pod_metrics(pods[1], {"keycloak": ("6m", "480Mi")})]
    [finding] = detect(state_of(deploy, rs, *pods, *metrics))
    assert finding.severity == "critical"
    assert finding.pods == ("keycloak-5847455794-2wdjr", "keycloak-5847455794-txkc6")
    assert "about to be OOMKilled" in finding.summary and "2 pods" in finding.summary


def test_cpu_at_the_limit_is_throttling():
    deploy, rs, pods = _keycloak(limits=("500m", "2Gi"), requests=("500m", "1Gi"), replicas=1)
    [finding] = detect(state_of(deploy, rs, *pods, pod_metrics(pods[0], {"keycloak": ("490m", "600Mi")})))
    assert (finding.severity, finding.discriminator) == ("warning", "cpu")
    assert "CPU-throttled" in finding.summary and "98% of its 500m limit" in finding.summary
    patched = yaml.safe_load(finding.remediation.patch)["spec"]["template"]["spec"]["containers"][0]
    assert patched["resources"] == {"limits": {"cpu": "700m"}}  # 490m / 0.7, in 100m steps
    assert "remove the CPU limit" in finding.remediation.text


def test_below_thresholds_or_without_limits_is_quiet():
    deploy, rs, pods = _keycloak(limits=("1", "512Mi"))
    unlimited = container("worker", resources=resources("100m", "128Mi"))
    worker = deployment("worker", containers=[unlimited])
    worker_rs = replicaset(worker, "6b5c4d3e2", 1, 1)
    worker_pod = pod("worker-6b5c4d3e2-aaaaa", owner=worker_rs)
    metrics = [pod_metrics(pods[0], {"keycloak": ("900m", "450Mi")}), pod_metrics(pods[1], {"keycloak": ("10m", "300Mi")}),
               pod_metrics(worker_pod, {"worker": ("3", "4Gi")})]
    assert detect(state_of(deploy, rs, *pods, worker, worker_rs, worker_pod, *metrics)) == []


def test_without_metrics_capability_limits_are_not_judged():
    deploy, rs, pods = _keycloak()
    state = state_of(deploy, rs, *pods, pod_metrics(pods[0], {"keycloak": ("7m", "510Mi")}), capabilities={RUNTIME})
    assert detect(state) == []


def test_container_without_requests_next_to_ones_with_them_is_info():
    deploy, rs, pods = _keycloak()
    bare = deployment("debug-tools", containers=[container("tools")])
    bare_rs = replicaset(bare, "7c8d9e0f1", 1, 1)
    bare_pod = pod("debug-tools-7c8d9e0f1-aaaaa", owner=bare_rs)
    bare_pod["status"]["qosClass"] = "BestEffort"
    [finding] = detect(state_of(deploy, rs, *pods, bare, bare_rs, bare_pod, capabilities={RUNTIME}))
    assert (finding.severity, finding.kind, finding.name, finding.container, finding.discriminator) == (
        "info", "Deployment", "debug-tools", "tools", "no-requests")
    assert finding.summary == ("debug-tools container tools has no resource requests or limits "
                               "(BestEffort: first to be evicted under node pressure)")
    field = next(e for e in finding.evidence if e.path == "spec.template.spec.containers[0].resources")
    assert field.object == f"Deployment {NS}/debug-tools"
    assert finding.remediation.patch is None and "kubectl top pod" in finding.remediation.command


def test_no_requests_with_metrics_proposes_measured_requests_and_oom_makes_it_a_warning():
    deploy, rs, pods = _keycloak()
    bare = deployment("cache", containers=[container("redis")])
    bare_rs = replicaset(bare, "7c8d9e0f1", 1, 1)
    bare_pod = pod("cache-7c8d9e0f1-aaaaa", owner=bare_rs, statuses=[
        running("redis", restarts=2, last_state=terminated_state(137, "OOMKilled"))])
    metrics = [pod_metrics(bare_pod, {"redis": ("12m", "200Mi")}), pod_metrics(pods[0], {"keycloak": ("5m", "300Mi")})]
    [finding] = detect(state_of(deploy, rs, *pods, bare, bare_rs, bare_pod, *metrics))
    assert finding.severity == "warning" and finding.name == "cache"
    patched = yaml.safe_load(finding.remediation.patch)["spec"]["template"]["spec"]["containers"][0]
    assert patched == {"name": "redis", "resources": {"requests": {"cpu": "50m", "memory": "256Mi"},
                                                      "limits": {"memory": "320Mi"}}}


def test_namespace_where_nobody_sets_requests_is_left_alone():
    a = deployment("a", containers=[container("a")])
    b = deployment("b", containers=[container("b")])
    ra, rb = replicaset(a, "1a2b3c4d5", 1, 1), replicaset(b, "5d4c3b2a1", 1, 1)
    assert detect(state_of(a, b, ra, rb, pod("a-1a2b3c4d5-aaaaa", owner=ra), pod("b-5d4c3b2a1-aaaaa", owner=rb))) == []


def test_odd_data_does_not_raise():
    deploy, rs, pods = _keycloak()
    pods[0]["spec"]["containers"] = [dict(pods[0]["spec"]["containers"][0],
                                          resources={"limits": {"memory": "lots"}, "requests": None})]
    odd_metrics = pod_metrics(pods[1], {"keycloak": ("x", "510Mi")})
    odd_metrics["containers"].append(None)
    findings = detect(state_of(deploy, rs, *pods, odd_metrics, pod_metrics(pods[0], {"keycloak": ("1m", "1Gi")})))
    assert [(f.discriminator, f.pods) for f in findings] == [("memory", ("keycloak-5847455794-2wdjr",))]


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
