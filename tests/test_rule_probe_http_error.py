"""probe-http-error: Unhealthy events with an HTTP error status, per workload/container/probe type."""

import yaml

from builders import NS, container, event, state_of
from builders_probes import (app_container, crash_looping, healthy_keycloak, http_probe, incident_objects, killing,
                             not_ready, unhealthy, unhealthy_new_shape, workload)
from runbooks_lib.detectors.probe_http_error import detect
from runbooks_lib.registry import rule

DEPLOY = "staging-mcp-server-langgraph"


def findings_of(*objects):
    return list(detect(state_of(*objects)))


def by_probe(findings):
    return {f.discriminator: f for f in findings}


def test_incident_404s_are_one_finding_per_probe_type_on_the_deployment():
    findings = by_probe(findings_of(*incident_objects()))
    assert set(findings) == {"readiness", "startup"}
    ready = findings["readiness"]
    assert ready.rule == "probe-http-error"
    assert ready.severity == "critical"  # all 3 pods fail: nothing can serve
    assert (ready.kind, ready.namespace, ready.name, ready.container) == ("Deployment", NS, DEPLOY,
                                                                          "mcp-server-langgraph")
    assert ready.pods == tuple(sorted(ready.pods)) and len(ready.pods) == 3
    assert all(p.startswith(f"{DEPLOY}-598c5bc958-") for p in ready.pods)
    assert ready.summary.startswith(f"{DEPLOY} (mcp-server-langgraph): readiness probe HTTP GET /health/ready on "
                                    f"port 8000 returns 404 Not Found on 3/3 pods")
    assert "(123x" in ready.summary  # 3 pods x 41


def test_evidence_names_the_probe_field_the_status_and_the_events():
    ready = by_probe(findings_of(*incident_objects()))["readiness"]
    field = next(e for e in ready.evidence if e.source == "field")
    assert field.path == "spec.template.spec.containers[0].readinessProbe.httpGet.path"
    assert field.value == "/health/ready"
    assert field.object == f"Deployment {NS}/{DEPLOY}"
    status = next(e for e in ready.evidence if e.source == "status")
    assert status.path == "status.containerStatuses[0].ready" and status.value is False
    events = [e for e in ready.evidence if e.source == "event"]
    assert len(events) == 3
    assert {e.message for e in events} == {"Readiness probe failed: HTTP probe failed with statuscode: 404"}
    assert all(e.reason == "Unhealthy" and e.count == 41 and e.first_seen and e.last_seen for e in events)
    assert {e.object for e in events} == {f"Pod {NS}/{p}" for p in ready.pods}


def test_404_remediation_patches_the_probe_path_and_explains_the_sub_app_trap():
    startup = by_probe(findings_of(*incident_objects()))["startup"]
    remedy = startup.remediation
    assert remedy.patch_type == "strategic-merge"
    assert remedy.target == f"Deployment {NS}/{DEPLOY}"
    patch = yaml.safe_load(remedy.patch)
    assert patch == {"spec": {"template": {"spec": {"containers": [
        {"name": "mcp-server-langgraph", "startupProbe": {"httpGet": {"path": "/health/startup"}}}]}}}}
    assert remedy.command.startswith(f"kubectl patch deployment {DEPLOY} -n {NS} --type strategic")
    assert "/health/health/startup" in remedy.text  # the doubled path of a sub-app mounted at /health
    assert "curl" in remedy.text and "kubectl exec" in remedy.text
    assert "app.mount" in remedy.text


def test_5xx_on_some_pods_is_a_warning_pointing_at_dependencies():
    app = app_container(readinessProbe=http_probe("/ready", 8000))
    deploy, rs, pods = workload("checkout", [app], statuses=lambda i: [not_ready(app["name"])] if i == 0 else None)
    objects = [deploy, rs, *pods,
               unhealthy(pods[0], app["name"], "Readiness probe failed: HTTP probe failed with statuscode: 503", 20)]
    (finding,) = findings_of(*objects)
    assert finding.severity == "warning"
    assert finding.pods == (pods[0]["metadata"]["name"],)
    assert "503 Service Unavailable on 1/3 pods" in finding.summary
    assert finding.remediation.patch is None
    assert "dependency" in finding.remediation.text
    assert finding.remediation.command.startswith("kubectl logs -n shop")


def test_several_status_codes_are_listed_in_one_finding():
    app = app_container(livenessProbe=http_probe("/health", 8000))
    deploy, rs, pods = workload("api", [app], replicas=2)
    objects = [deploy, rs, *pods,
               unhealthy(pods[0], app["name"], "Liveness probe failed: HTTP probe failed with statuscode: 404", 5),
               unhealthy(pods[1], app["name"], "Liveness probe failed: HTTP probe failed with statuscode: 500", 9)]
    (finding,) = findings_of(*objects)
    assert finding.discriminator == "liveness"
    assert "404 Not Found and 500 Internal Server Error" in finding.summary
    assert finding.severity == "critical"


def test_events_k8s_io_shape_and_events_without_field_path():
    app = app_container(readinessProbe=http_probe("/health/ready", 8000))
    deploy, rs, pods = workload("api", [app], replicas=2, statuses=lambda i: [not_ready(app["name"])])
    no_field_path = event(pods[1], "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 404",
                          count=4)
    objects = [deploy, rs, *pods,
               unhealthy_new_shape(pods[0], app["name"], "Readiness probe failed: HTTP probe failed with statuscode: 404", 9),
               no_field_path]
    (finding,) = findings_of(*objects)
    assert finding.container == app["name"]  # single-container pod: the container is known
    assert len(finding.pods) == 2 and finding.severity == "critical"
    counts = sorted(e.count for e in finding.evidence if e.source == "event")
    assert counts == [4, 9]


def test_startup_failures_that_resolved_are_not_findings():
    # A few 503s while the app started, then Ready: not a problem.
    assert findings_of(*healthy_keycloak()) == []
    objects = healthy_keycloak()
    pods = [o for o in objects if o["kind"] == "Pod"]
    objects += [unhealthy(p, "keycloak", "Readiness probe failed: HTTP probe failed with statuscode: 503", 2,
                          first_minutes_ago=29.5, last_minutes_ago=29) for p in pods]
    assert findings_of(*objects) == []


def test_failures_after_the_pod_became_ready_are_findings():
    objects = healthy_keycloak()
    pods = [o for o in objects if o["kind"] == "Pod"]
    objects.append(unhealthy(pods[0], "keycloak", "Readiness probe failed: HTTP probe failed with statuscode: 503",
                             7, first_minutes_ago=10, last_minutes_ago=1))
    (finding,) = findings_of(*objects)
    assert finding.name == "staging-keycloak" and finding.severity == "warning"
    assert finding.pods == (pods[0]["metadata"]["name"],)


def test_errors_warnings_other_failures_and_vanished_pods_are_not_http_errors():
    app = app_container(readinessProbe=http_probe("/ready", 8000))
    deploy, rs, pods = workload("api", [app], replicas=1, statuses=lambda i: [not_ready(app["name"])])
    gone = dict(pods[0], metadata=dict(pods[0]["metadata"], name="api-598c5bc958-gone1", uid="x"))
    objects = [deploy, rs, *pods,
               unhealthy(pods[0], app["name"], 'Readiness probe errored: strconv.Atoi: parsing "http": invalid syntax'),
               unhealthy(pods[0], app["name"], "Readiness probe errored and resulted in unknown state: rpc error: "
                                               "code = Unknown desc = container not running"),
               event(pods[0], "ProbeWarning", "Readiness probe warning: Probe terminated redirects, Response body: ",
                     container_name=app["name"]),
               unhealthy(pods[0], app["name"], 'Readiness probe failed: Get "http://10.8.1.23:8000/ready": dial tcp '
                                               '10.8.1.23:8000: connect: connection refused'),
               unhealthy(gone, app["name"], "Readiness probe failed: HTTP probe failed with statuscode: 404")]
    assert findings_of(*objects) == []


def test_odd_data_does_not_raise():
    app = container("app", readinessProbe=None)
    deploy, rs, pods = workload("odd", [app], replicas=1)
    pods[0]["status"] = None
    broken = unhealthy(pods[0], "app", "Readiness probe failed: HTTP probe failed with statuscode: 404")
    broken_none = unhealthy(pods[0], "app", "x")
    broken_none["message"] = None
    findings = findings_of(deploy, rs, *pods, broken, broken_none)
    (finding,) = findings  # no probe spec: still reported, without a patch
    assert finding.remediation.patch is None
    assert finding.summary.startswith("odd (app): readiness probe returns 404 Not Found on 1/1 pods")


def test_rule_is_catalogued_for_the_probes_runbook():
    entry = rule("probe-http-error")
    assert entry.runbook == "probes" and entry.needs == frozenset({"runtime"})
    assert "statuscode" in entry.example


def test_404_on_some_pods_while_no_pod_is_ready_is_critical_and_shows_restarts():
    app = app_container(livenessProbe=http_probe("/health", "http"))
    deploy, rs, pods = workload("api", [app], replicas=3,
                                statuses=lambda i: [not_ready(app["name"], restarts=19) if i < 2
                                                    else crash_looping(app["name"])])
    objects = [deploy, rs, *pods]
    for p in pods[:2]:
        objects += [unhealthy(p, app["name"], "Liveness probe failed: HTTP probe failed with statuscode: 404", 58),
                    killing(p, app["name"], "liveness", 19)]
    (finding,) = findings_of(*objects)
    assert finding.severity == "critical"
    assert "HTTP GET /health on port http (8000) returns 404 Not Found on 2/3 pods" in finding.summary
    assert finding.summary.endswith("the container is restarted for it")
    assert any(e.reason == "Killing" and e.count == 19 for e in finding.evidence)
    assert "http://localhost:8000/health" in finding.remediation.text  # the number, not the port name
    assert "/health/health instead of /health" in finding.remediation.text
