"""probe-connection-refused: refused probes, joined with declared ports and known-image flags."""

import yaml

from builders import NS, container, state_of, terminated_state, waiting
from builders_probes import (PROXY_ARGS, app_container, crash_looping, healthy_keycloak, http_probe, incident_objects,
                             killing, not_ready, pod_ip, proxy_container, tcp_probe, unhealthy, workload)
from runbooks_lib.detectors import probe_connection_refused, probe_port_not_served

DEPLOY = "staging-mcp-server-langgraph"


def findings_of(*objects):
    return list(probe_connection_refused.detect(state_of(*objects)))


def refused(ip, port, path, probe="Liveness", quoted=True):
    url = f"http://{ip}:{port}{path}"
    url = f'"{url}"' if quoted else url
    return f"{probe} probe failed: Get {url}: dial tcp {ip}:{port}: connect: connection refused"


def test_incident_proxy_refusals_are_one_finding_per_port_linked_to_the_missing_flags():
    state = state_of(*incident_objects())
    (finding,) = probe_connection_refused.detect(state)
    assert finding.rule == "probe-connection-refused"
    assert finding.severity == "critical"  # liveness: the sidecar restarts in a loop
    assert (finding.kind, finding.name, finding.container) == ("Deployment", DEPLOY, "cloud-sql-proxy")
    assert finding.discriminator == "port 9801"
    assert len(finding.pods) == 3 and finding.pods == tuple(sorted(finding.pods))
    assert finding.summary.startswith(f"{DEPLOY} (cloud-sql-proxy): liveness and readiness probes on port 9801 "
                                      f"refused on 3/3 pods")
    assert "--health-check is not set" in finding.summary
    assert "--http-port is 9090 (default), not 9801" in finding.summary
    static = {f.discriminator: f for f in probe_port_not_served.detect(state)}["health-server"]
    assert finding.related == (static.id,)
    assert finding.remediation == static.remediation  # one fix for both findings


def test_evidence_joins_the_probe_spec_declared_ports_and_args():
    (finding,) = findings_of(*incident_objects())
    by_path = {e.path: e for e in finding.evidence if e.path}
    assert by_path["spec.template.spec.containers[1].livenessProbe.httpGet.path"].value == "/liveness"
    ports = by_path["spec.template.spec.containers[1].ports"]
    assert "port 9801 is not declared" in ports.text
    assert ports.value == [{"name": "postgres", "containerPort": 5432, "protocol": "TCP"}]
    assert by_path["spec.template.spec.containers[1].args"].value == PROXY_ARGS
    restarts = by_path["status.containerStatuses[1].restartCount"]
    assert restarts.value == 6
    events = [e for e in finding.evidence if e.source == "event" and e.message]
    assert any("10.8.1.23:9801: connect: connection refused" in e.message and e.count == 18 for e in events)


def test_the_patch_carries_the_full_corrected_args():
    (finding,) = findings_of(*incident_objects())
    patch = yaml.safe_load(finding.remediation.patch)
    (proxy,) = patch["spec"]["template"]["spec"]["containers"]
    assert proxy["name"] == "cloud-sql-proxy"
    assert proxy["args"] == PROXY_ARGS + ["--health-check", "--http-port=9801", "--http-address=0.0.0.0"]


def test_old_unquoted_url_form_is_recognised():
    proxy = proxy_container(readiness_port=None)
    deploy, rs, pods = workload("api", [proxy], replicas=2, statuses=lambda i: [crash_looping("cloud-sql-proxy")])
    objects = [deploy, rs, *pods] + [unhealthy(p, "cloud-sql-proxy", refused(pod_ip(p), 9801, "/liveness", quoted=False))
                                     for p in pods]
    (finding,) = findings_of(*objects)
    assert finding.discriminator == "port 9801" and finding.severity == "critical"
    assert len(finding.pods) == 2


def test_readiness_refused_on_some_pods_on_an_undeclared_port_is_a_warning_with_a_probe_patch():
    app = app_container(readinessProbe=http_probe("/ready", 8080))  # the app declares and listens on 8000
    deploy, rs, pods = workload("web", [app], statuses=lambda i: [not_ready(app["name"])] if i == 0 else None)
    objects = [deploy, rs, *pods, unhealthy(pods[0], app["name"], refused(pod_ip(pods[0]), 8080, "/ready", "Readiness"))]
    (finding,) = findings_of(*objects)
    assert finding.severity == "warning"
    assert finding.related == ()
    assert "the container declares port 8000, not 8080" in finding.summary
    patch = yaml.safe_load(finding.remediation.patch)
    assert patch["spec"]["template"]["spec"]["containers"] == [
        {"name": app["name"], "readinessProbe": {"httpGet": {"port": 8000}}}]
    assert "127.0.0.1" in finding.remediation.text and "ss -ltn" in finding.remediation.text


def test_readiness_refused_on_all_pods_is_critical():
    app = app_container(readinessProbe=http_probe("/ready", 8000))
    deploy, rs, pods = workload("web", [app], replicas=2, statuses=lambda i: [not_ready(app["name"])])
    objects = [deploy, rs, *pods] + [unhealthy(p, app["name"], refused(pod_ip(p), 8000, "/ready", "Readiness"))
                                     for p in pods]
    (finding,) = findings_of(*objects)
    assert finding.severity == "critical"
    assert finding.remediation.patch is None  # the port is declared: nothing to repoint
    assert finding.remediation.command == f"kubectl exec -n {NS} {finding.pods[0]} -c {app['name']} -- ss -ltn"


def test_tcp_socket_startup_probe_refusal_restarts_so_is_critical():
    db = container("postgres", image="postgres:16", ports=[("pg", 5432)], startupProbe=tcp_probe(5432))
    deploy, rs, pods = workload("db", [db], replicas=1, statuses=lambda i: [crash_looping("postgres", 3)])
    ip = pod_ip(pods[0])
    objects = [deploy, rs, *pods,
               unhealthy(pods[0], "postgres", f"Startup probe failed: dial tcp {ip}:5432: connect: connection refused")]
    (finding,) = findings_of(*objects)
    assert finding.severity == "critical" and finding.discriminator == "port 5432"
    field = next(e for e in finding.evidence if e.path and "startupProbe" in e.path)
    assert field.path == "spec.template.spec.containers[0].startupProbe.tcpSocket.port"


def test_refusals_during_startup_that_resolved_are_not_findings():
    assert findings_of(*healthy_keycloak()) == []


def test_errored_404_and_timeouts_are_not_refusals():
    proxy = proxy_container()
    deploy, rs, pods = workload("api", [proxy], replicas=1)
    ip = pod_ip(pods[0])
    objects = [deploy, rs, *pods,
               unhealthy(pods[0], "cloud-sql-proxy", "Liveness probe failed: HTTP probe failed with statuscode: 404"),
               unhealthy(pods[0], "cloud-sql-proxy", f"Readiness probe failed: dial tcp {ip}:9801: i/o timeout"),
               unhealthy(pods[0], "cloud-sql-proxy", 'Liveness probe errored: strconv.Atoi: parsing "health": '
                                                     "invalid syntax")]
    assert findings_of(*objects) == []


def keycloak_crashing(with_probe_kill: bool):
    kc = container("keycloak", image="quay.io/keycloak/keycloak:26.0.7", ports=[("management", 9000)],
                   startupProbe=http_probe("/health/started", "management", failureThreshold=30))
    crashed = waiting("keycloak", "CrashLoopBackOff", "back-off 5m0s restarting failed container=keycloak", restarts=7,
                      last_state=terminated_state(1 if not with_probe_kill else 143, "Error"))
    deploy, rs, pods = workload("staging-keycloak", [kc], replicas=2,
                                statuses=lambda i: [crashed] if i == 0 else None)
    ip = pod_ip(pods[0])
    objects = [deploy, rs, *pods,
               unhealthy(pods[0], "keycloak", f'Startup probe failed: Get "http://{ip}:9000/health/started": dial tcp '
                                              f'{ip}:9000: connect: connection refused', 32)]
    if with_probe_kill:
        objects.append(killing(pods[0], "keycloak", "startup", 7))
    return objects


def test_refusals_of_a_container_that_crashes_on_its_own_are_left_to_the_crashloop_rule():
    # Keycloak exits 1 (JGroups cannot form its cluster) before its management port opens.
    assert findings_of(*keycloak_crashing(with_probe_kill=False)) == []


def test_refusals_that_get_the_container_killed_are_findings():
    (finding,) = findings_of(*keycloak_crashing(with_probe_kill=True))
    assert finding.severity == "critical" and finding.discriminator == "port 9000"
    assert finding.summary.startswith("staging-keycloak (keycloak): startup probe on port 9000 refused on 1/2 pods")


def test_readiness_refused_on_some_pods_while_no_pod_is_ready_is_critical():
    app = app_container(readinessProbe=http_probe("/ready", 8000))
    deploy, rs, pods = workload("web", [app], replicas=2, statuses=lambda i: [not_ready(app["name"])])
    objects = [deploy, rs, *pods, unhealthy(pods[0], app["name"], refused(pod_ip(pods[0]), 8000, "/ready", "Readiness"))]
    (finding,) = findings_of(*objects)
    assert finding.severity == "critical"  # nothing serves: neither pod is Ready
    assert "refused on 1/2 pods" in finding.summary
