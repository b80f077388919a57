"""Tidy frames: kubectl-style columns, workload resolution, usage joins, odd data."""

import pandas as pd
import pytest

from builders import (container, deployment, event, pod, pod_metrics, replicaset, running, state_of,
                      terminated_state, waiting)
from runbooks_lib.frames import kubectl_pod_status


def crashing_pod():
    deploy = deployment("web", replicas=2, containers=[container("app", ports=[("http", 8080)]),
                                                        container("proxy", image="envoyproxy/envoy:v1.31.0")])
    rs = replicaset(deploy, "5d4f8b7c9", 3, 2)
    crashing = pod("web-5d4f8b7c9-abcde", owner=rs, statuses=[
        waiting("app", "CrashLoopBackOff", "back-off 5m0s restarting failed container=app", restarts=7,
                last_state=terminated_state(1, "Error", finished_minutes_ago=2)),
        running("proxy", ready=True)])
    return deploy, rs, crashing


def test_pod_row_reads_like_kubectl_get_pods():
    deploy, rs, crashing = crashing_pod()
    row = state_of(deploy, rs, crashing).frames.pods.iloc[0]
    assert row["ready"] == "1/2"
    assert row["status"] == "CrashLoopBackOff"
    assert row["restarts_display"] == "7 (2m ago)"
    assert row["age"] == "60m"
    assert (row["workload_kind"], row["workload"], row["replicaset"], row["revision"]) == ("Deployment", "web", rs["metadata"]["name"], 3)


@pytest.mark.parametrize("statuses, phase, expected", [
    ([running("app", ready=False)], "Running", "Running"),  # running but not ready stays Running (READY tells)
    ([{"name": "app", "ready": False, "restartCount": 0,
       "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}], "Succeeded", "Completed"),
    ([{"name": "app", "ready": False, "restartCount": 0, "state": {"terminated": {"exitCode": 137}}}], "Failed",
     "ExitCode:137"),
    ([{"name": "app", "ready": False, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "signal": 9}}}],
     "Failed", "Signal:9"),
    ([waiting("app", "ImagePullBackOff", 'Back-off pulling image "x"')], "Pending", "ImagePullBackOff"),
    ([], "Pending", "Pending"),
])
def test_status_column_follows_kubectls_printer(statuses, phase, expected):
    assert kubectl_pod_status(pod("p", statuses=statuses, phase=phase))["status"] == expected


def test_status_of_init_containers_and_terminating_pods():
    obj = pod("p", statuses=[waiting("app", "PodInitializing")], phase="Pending")
    obj["spec"]["initContainers"] = [container("migrate")]
    obj["status"]["initContainerStatuses"] = [waiting("migrate", "CrashLoopBackOff", restarts=3)]
    assert kubectl_pod_status(obj)["status"] == "Init:CrashLoopBackOff"
    assert kubectl_pod_status(obj)["restarts"] == 3
    obj = pod("p")
    obj["metadata"]["deletionTimestamp"] = "2025-11-06T16:30:00Z"
    assert kubectl_pod_status(obj)["status"] == "Terminating"


def test_pod_with_no_status_or_null_fields_does_not_break_frames():
    bare = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bare", "namespace": "shop"},
            "spec": {"containers": [None, {"name": "app", "ports": None, "livenessProbe": {}}]}, "status": None}
    state = state_of(bare)
    assert state.frames.pods.iloc[0]["status"] == "Unknown"
    assert state.frames.pods.iloc[0]["workload_kind"] == "Pod"
    assert list(state.frames.containers["container"]) == ["app"]
    assert state.frames.probes.iloc[0]["handler"] is None


def test_containers_frame_carries_last_termination_and_resources():
    deploy, rs, crashing = crashing_pod()
    crashing["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "250m", "memory": "256Mi"},
                                                      "limits": {"memory": "512Mi"}}
    app = state_of(deploy, rs, crashing).frames.containers.set_index("container").loc["app"]
    assert (app["state"], app["reason"], app["restarts"]) == ("waiting", "CrashLoopBackOff", 7)
    assert (app["last_state"], app["last_reason"], app["last_exit_code"]) == ("terminated", "Error", 1)
    assert app["requests_cpu"] == 0.25 and app["limits_memory"] == 512 * 2**20
    assert pd.isna(app["limits_cpu"])


def test_probes_resolve_named_ports_and_record_the_field_path():
    probe = {"httpGet": {"path": "/health/ready", "port": "http"}, "timeoutSeconds": 3}
    obj = pod("p", containers=[container("app", ports=[("http", 8000)], readinessProbe=probe)])
    row = state_of(obj).frames.probes.iloc[0]
    assert (row["probe"], row["handler"], row["path"], row["port"], row["port_number"]) == ("readiness", "httpGet", "/health/ready", "http", 8000)
    assert (row["scheme"], row["timeout_seconds"], row["period_seconds"], row["failure_threshold"]) == ("HTTP", 3, 10, 3)
    assert row["field_path"] == "spec.containers[0].readinessProbe"


def test_resource_usage_joins_metrics_with_limits():
    obj = pod("p", containers=[container("app", resources={"limits": {"memory": "512Mi", "cpu": "1"}})])
    state = state_of(obj, pod_metrics(obj, {"app": ("500m", "480Mi")}))
    row = state.frames.resource_usage.iloc[0]
    assert row["memory_of_limit"] == pytest.approx(480 / 512)
    assert row["cpu_of_limit"] == pytest.approx(0.5)


def test_workloads_frame_reads_like_kubectl_get_deploy():
    stuck = deployment("api", replicas=3, status={
        "replicas": 4, "updatedReplicas": 2, "readyReplicas": 1, "availableReplicas": 1,
        "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]})
    row = state_of(stuck).frames.workloads.iloc[0]
    assert (row["ready"], row["up_to_date"], row["available"], row["age"]) == ("1/3", 2, 1, "24h")
    assert (row["progressing"], row["progressing_reason"]) == ("False", "ProgressDeadlineExceeded")


def test_restart_timeline_merges_terminations_and_events():
    deploy, rs, crashing = crashing_pod()
    backoff = event(crashing, "BackOff", "Back-off restarting failed container app", count=9,
                    first_minutes_ago=40, last_minutes_ago=1, container_name="app")
    timeline = state_of(deploy, rs, crashing, backoff).frames.restart_timeline
    assert list(timeline["source"]) == ["event BackOff", "lastState", "event BackOff"]
    assert set(timeline["workload"]) == {"web"}
    assert timeline["time"].is_monotonic_increasing


def test_warnings_by_reason_sums_counts():
    deploy, rs, crashing = crashing_pod()
    events = [event(crashing, "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 404",
                    count=30, container_name="app"),
              event(crashing, "Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 404",
                    count=10, container_name="app"),
              event(crashing, "Pulled", "Container image already present on machine", type_="Normal")]
    grouped = state_of(deploy, rs, crashing, *events).frames.warnings_by_reason().set_index("reason")
    assert grouped.loc["Unhealthy", "count"] == 40 and grouped.loc["Unhealthy", "events"] == 2
    assert "Pulled" not in grouped.index
