"""probe-timeout: probe timeouts compared with timeoutSeconds, with a patch raising it."""

import yaml

from builders import container, state_of
from builders_probes import (app_container, exec_probe, http_probe, killing, not_ready, pod_ip, tcp_probe, unhealthy,
                             workload)
from runbooks_lib.detectors.probe_timeout import detect


def findings_of(*objects):
    return list(detect(state_of(*objects)))


def http_timeout(ip, probe="Readiness", path="/health/ready"):
    return (f'{probe} probe failed: Get "http://{ip}:8000{path}": context deadline exceeded '
            f"(Client.Timeout exceeded while awaiting headers)")


def test_readiness_timeout_with_default_timeout_is_a_warning_with_a_patch():
    app = app_container(readinessProbe=http_probe("/health/ready", 8000))
    deploy, rs, pods = workload("api", [app], statuses=lambda i: [not_ready(app["name"])] if i < 2 else None)
    objects = [deploy, rs, *pods] + [unhealthy(p, app["name"], http_timeout(pod_ip(p)), 14) for p in pods[:2]]
    (finding,) = findings_of(*objects)
    assert finding.rule == "probe-timeout" and finding.severity == "warning"
    assert (finding.kind, finding.name, finding.container, finding.discriminator) == (
        "Deployment", "api", app["name"], "readiness")
    assert len(finding.pods) == 2
    assert "times out on 2/3 pods" in finding.summary
    assert "timeoutSeconds is 1s, the default" in finding.summary
    timeout = next(e for e in finding.evidence if e.path and e.path.endswith("timeoutSeconds"))
    assert timeout.path == "spec.template.spec.containers[0].readinessProbe.timeoutSeconds" and timeout.value == 1
    assert any(e.text.startswith("response timeout") for e in finding.evidence)
    patch = yaml.safe_load(finding.remediation.patch)
    assert patch["spec"]["template"]["spec"]["containers"] == [
        {"name": app["name"], "readinessProbe": {"timeoutSeconds": 5, "failureThreshold": 5}}]
    assert "why the endpoint is slow" in finding.remediation.text


def test_readiness_timeouts_on_every_pod_are_critical():
    app = app_container(readinessProbe=http_probe("/health/ready", 8000))
    deploy, rs, pods = workload("api", [app], replicas=2, statuses=lambda i: [not_ready(app["name"])])
    objects = [deploy, rs, *pods] + [unhealthy(p, app["name"], http_timeout(pod_ip(p)), 14) for p in pods]
    (finding,) = findings_of(*objects)
    assert finding.severity == "critical"  # no pod is Ready: nothing serves
    assert finding.summary.startswith(f"api ({app['name']}): readiness probe HTTP GET /health/ready on port 8000 "
                                      f"times out on 2/2 pods (28x")


def test_older_request_canceled_variant_and_an_explicit_timeout():
    app = app_container(livenessProbe=http_probe("/health", 8000, timeoutSeconds=3, failureThreshold=6))
    deploy, rs, pods = workload("api", [app], replicas=2)
    message = (f'Liveness probe failed: Get http://{pod_ip(pods[0])}:8000/health: net/http: request canceled '
               f"(Client.Timeout exceeded while awaiting headers)")
    (finding,) = findings_of(deploy, rs, *pods, unhealthy(pods[0], app["name"], message, 2))
    assert "timeoutSeconds is 3s" in finding.summary and "default" not in finding.summary
    assert finding.severity == "warning"  # no restarts: liveness has not reached its threshold
    patch = yaml.safe_load(finding.remediation.patch)
    assert patch["spec"]["template"]["spec"]["containers"][0]["livenessProbe"] == {"timeoutSeconds": 6}


def test_liveness_timeouts_that_restart_the_container_are_critical():
    app = app_container(livenessProbe=http_probe("/health", 8000))
    deploy, rs, pods = workload("api", [app], replicas=1)
    objects = [deploy, rs, *pods, unhealthy(pods[0], app["name"], http_timeout(pod_ip(pods[0]), "Liveness", "/health")),
               killing(pods[0], app["name"], "liveness", 3)]
    (finding,) = findings_of(*objects)
    assert finding.severity == "critical"
    assert "the container is restarted for it" in finding.summary
    killed = [e for e in finding.evidence if e.reason == "Killing"]
    assert killed and killed[0].message == f"Container {app['name']} failed liveness probe, will be restarted"


def test_tcp_connect_timeout_points_at_the_network():
    db = container("postgres", image="postgres:16", ports=[("pg", 5432)], readinessProbe=tcp_probe(5432))
    deploy, rs, pods = workload("db", [db], replicas=2, statuses=lambda i: [not_ready("postgres")] if i == 0 else None)
    message = f"Readiness probe failed: dial tcp {pod_ip(pods[0])}:5432: i/o timeout"
    (finding,) = findings_of(deploy, rs, *pods, unhealthy(pods[0], "postgres", message))
    assert finding.severity == "warning"
    assert "TCP connect to port 5432" in finding.summary
    stage = next(e for e in finding.evidence if e.text.startswith("connect timeout"))
    assert "NetworkPolicy" in stage.text
    assert "NetworkPolicy" in finding.remediation.text


def test_exec_command_timeout():
    db = container("postgres", image="postgres:16",
                   livenessProbe=exec_probe(["pg_isready", "-U", "postgres"], timeoutSeconds=1))
    deploy, rs, pods = workload("db", [db], replicas=1)
    message = 'Liveness probe failed: command timed out: "pg_isready -U postgres" timed out after 1s'
    (finding,) = findings_of(deploy, rs, *pods, unhealthy(pods[0], "postgres", message))
    assert any(e.text.startswith("exec timeout") and "1.20" in e.text for e in finding.evidence)
    field = next(e for e in finding.evidence if e.path and e.path.endswith("exec.command"))
    assert field.path == "spec.template.spec.containers[0].livenessProbe.exec.command"


def test_errored_probes_and_other_failures_are_not_timeouts():
    app = app_container(livenessProbe=http_probe("/health", 8000), readinessProbe=http_probe("/ready", 8000))
    deploy, rs, pods = workload("api", [app], replicas=1)
    ip = pod_ip(pods[0])
    objects = [deploy, rs, *pods,
               unhealthy(pods[0], app["name"], "Liveness probe errored: rpc error: code = DeadlineExceeded desc = "
                                               "context deadline exceeded"),
               unhealthy(pods[0], app["name"], "Readiness probe errored and resulted in unknown state: rpc error: "
                                               "code = DeadlineExceeded desc = context deadline exceeded"),
               unhealthy(pods[0], app["name"], "Readiness probe failed: HTTP probe failed with statuscode: 503"),
               unhealthy(pods[0], app["name"], f'Liveness probe failed: Get "http://{ip}:8000/health": dial tcp '
                                               f'{ip}:8000: connect: connection refused')]
    assert findings_of(*objects) == []


def test_no_events_no_findings():
    app = app_container(readinessProbe=http_probe("/ready", 8000))
    deploy, rs, pods = workload("api", [app], replicas=2)
    assert findings_of(deploy, rs, *pods) == []
