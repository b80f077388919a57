"""probe-port-not-served: static checks of probes against named ports and known sidecars' flags."""

import pytest
import yaml

from builders import NS, container, pod, replicaset, state_of
from builders_probes import (PROXY_ARGS, app_container, http_probe, incident_objects, manifest_deployment,
                             manifest_state, proxy_container, workload)
from runbooks_lib.detectors.probe_port_not_served import detect
from runbooks_lib.known_images import CLOUD_SQL_PROXY_V2, find_known_image, parse_flags
from runbooks_lib.registry import rule, run_detectors

DEPLOY = "staging-mcp-server-langgraph"


def findings_of(*objects):
    return list(detect(state_of(*objects)))


def one_proxy(**kwargs):
    proxy = proxy_container(**kwargs)
    deploy, rs, pods = workload("api", [app_container(), proxy], replicas=2)
    return [deploy, rs, *pods]


def patched_container(finding):
    patch = yaml.safe_load(finding.remediation.patch)
    (item,) = patch["spec"]["template"]["spec"]["containers"]
    return item


def test_incident_proxy_without_health_check_on_the_snapshot():
    (finding,) = findings_of(*incident_objects())
    assert finding.rule == "probe-port-not-served"
    assert finding.severity == "critical"  # liveness: restart loop
    assert (finding.kind, finding.namespace, finding.name, finding.container) == (
        "Deployment", NS, DEPLOY, "cloud-sql-proxy")
    assert finding.discriminator == "health-server"
    assert len(finding.pods) == 3  # deduplicated across the pods
    assert finding.summary == (
        f"{DEPLOY} (cloud-sql-proxy): cloud-sql-proxy v2 sidecar's liveness and readiness probes on port 9801 can "
        f"never succeed (restart loop): --health-check is not set; --http-port is 9090 (default), not 9801; it "
        f"listens on localhost only")
    paths = {e.path: e.value for e in finding.evidence if e.value is not None}
    assert paths["spec.template.spec.containers[1].livenessProbe.httpGet.port"] == 9801
    assert paths["spec.template.spec.containers[1].readinessProbe.httpGet.port"] == 9801
    assert paths["spec.template.spec.containers[1].args"] == PROXY_ARGS


def test_patch_carries_the_full_corrected_args_list():
    (finding,) = findings_of(*incident_objects())
    item = patched_container(finding)
    assert item == {"name": "cloud-sql-proxy",
                    "args": PROXY_ARGS + ["--health-check", "--http-port=9801", "--http-address=0.0.0.0"]}
    assert finding.remediation.patch_type == "strategic-merge"
    assert finding.remediation.target == f"Deployment {NS}/{DEPLOY}"
    assert "replaces a container's args list whole" in finding.remediation.text
    if finding.location is not None:  # only where the source knows the declaring file
        assert finding.location.path == "spec.template.spec.containers[1].livenessProbe.httpGet.port"


def test_works_on_pre_deploy_manifests_with_a_location(tmp_path):
    proxy = {"name": "cloud-sql-proxy", "image": "us-central1-docker.pkg.dev/cloud-sql-connectors/cloud-sql-proxy/"
                                                 "cloud-sql-proxy:2.14.1-alpine",
             "args": ["--port=5432", "my-project:us-central1:db"],
             "readinessProbe": {"httpGet": {"path": "/readiness", "port": 9801}}}
    app = {"name": "app", "image": "ghcr.io/acme/app:1", "ports": [{"name": "web", "containerPort": 8000}]}
    state = manifest_state(tmp_path, manifest_deployment("api", [app, proxy], replicas=2))
    assert state.capabilities == frozenset()
    result = run_detectors(state, only=["probe-port-not-served"])
    assert result.rules_run == ["probe-port-not-served"]
    (finding,) = result.findings
    assert finding.severity == "warning"  # readiness only: no restart loop
    assert (finding.namespace, finding.name) == ("staging", "api")
    assert finding.pods == ("api-template-0", "api-template-1")
    assert finding.location.file.endswith("deployment.yaml") and finding.location.line == 1
    assert finding.location.path == "spec.template.spec.containers[1].readinessProbe.httpGet.port"


def test_manifest_without_namespace_still_finds_the_workload_location(tmp_path):
    proxy = proxy_container(readiness_port=None)
    state = manifest_state(tmp_path, manifest_deployment("api", [proxy], replicas=1, namespace=None))
    (finding,) = detect(state)
    assert finding.location is not None and finding.location.file.endswith("deployment.yaml")


def test_correct_flags_in_every_form_are_not_flagged():
    good = [
        PROXY_ARGS + ["--health-check", "--http-port=9801", "--http-address=0.0.0.0"],
        PROXY_ARGS + ["--health-check", "--http-port", "9801", "--http-address", "0.0.0.0"],
        ["--health-check=true", "--http-address=0.0.0.0", "--http-port=9801", "my-project:us-central1:db"],
    ]
    for args in good:
        assert findings_of(*one_proxy(args=args)) == [], args
    # flags in command, no args
    command = ["/cloud-sql-proxy", "--health-check", "--http-port=9801", "--http-address=0.0.0.0", "p:r:i"]
    assert findings_of(*one_proxy(args=[], command=command)) == []
    # flags from the environment (CSQL_PROXY_*)
    env = [{"name": "CSQL_PROXY_HEALTH_CHECK", "value": "true"}, {"name": "CSQL_PROXY_HTTP_PORT", "value": "9801"},
           {"name": "CSQL_PROXY_HTTP_ADDRESS", "value": "0.0.0.0"}]
    assert findings_of(*one_proxy(env=env)) == []
    # the default port needs no --http-port
    assert findings_of(*one_proxy(args=["--health-check", "--http-address=0.0.0.0", "p:r:i"],
                                  liveness_port=9090, readiness_port=9090)) == []


def test_boolean_flag_before_an_instance_name_does_not_swallow_it():
    flags = parse_flags({"args": ["--health-check", "p:r:i", "--http-port", "9801"]},
                        CLOUD_SQL_PROXY_V2.boolean_flags, CLOUD_SQL_PROXY_V2.health)
    assert flags.get("--health-check").value is None
    assert flags.get("--http-port").value == "9801" and flags.get("--http-port").separate_value


def test_wrong_values_are_replaced_in_place_in_both_forms():
    args = ["--health-check=false", "--http-port", "9090", "--http-address=127.0.0.1", "p:r:i"]
    (finding,) = findings_of(*one_proxy(args=args))
    assert "--health-check is not set" in finding.summary
    assert patched_container(finding)["args"] == ["--health-check", "--http-port=9801", "--http-address=0.0.0.0",
                                                  "p:r:i"]


def test_localhost_only_is_the_single_problem():
    args = ["--health-check", "--http-port=9801", "--http-address=127.0.0.1", "p:r:i"]
    (finding,) = findings_of(*one_proxy(args=args))
    assert finding.summary.endswith("can never succeed (restart loop): it listens on 127.0.0.1 only")
    assert patched_container(finding)["args"] == ["--health-check", "--http-port=9801", "--http-address=0.0.0.0",
                                                  "p:r:i"]


def test_flags_in_command_are_fixed_in_command():
    command = ["/cloud-sql-proxy", "--http-port=9090", "p:r:i"]
    (finding,) = findings_of(*one_proxy(args=[], command=command))
    item = patched_container(finding)
    assert item["command"] == ["/cloud-sql-proxy", "--http-port=9801", "p:r:i"]
    assert item["args"] == ["--health-check", "--http-address=0.0.0.0"]


def test_probe_on_a_path_the_proxy_does_not_serve():
    args = ["--health-check", "--http-port=9801", "--http-address=0.0.0.0", "p:r:i"]
    objects = one_proxy(args=args, readiness_port=None)
    for obj in objects:
        spec = obj.get("spec", {}).get("template", obj.get("spec", {})).get("spec", obj.get("spec", {}))
        for c in spec.get("containers", []):
            if c["name"] == "cloud-sql-proxy":
                c["livenessProbe"]["httpGet"]["path"] = "/healthz"
    (finding,) = findings_of(*objects)
    item = patched_container(finding)
    assert item == {"name": "cloud-sql-proxy", "livenessProbe": {"httpGet": {"path": "/liveness"}}}


def test_shell_wrapped_flags_get_text_not_a_patch():
    command = ["/bin/sh", "-c", "exec /cloud-sql-proxy --port=5432 p:r:i"]
    (finding,) = findings_of(*one_proxy(args=[], command=command))
    assert finding.remediation.patch is None
    assert "shell script" in finding.remediation.text


def test_env_from_adds_a_caveat():
    (finding,) = findings_of(*one_proxy(envFrom=[{"configMapRef": {"name": "proxy-config"}}]))
    assert any("envFrom" in e.text for e in finding.evidence)


def test_native_sidecar_init_container_is_patched_as_an_init_container():
    proxy = proxy_container(readiness_port=None, restartPolicy="Always")
    deploy, rs, pods = workload("api", [app_container()], replicas=1)
    for obj in (deploy, rs):
        obj["spec"]["template"]["spec"]["initContainers"] = [proxy]
    pods[0]["spec"]["initContainers"] = [proxy]
    (finding,) = findings_of(deploy, rs, *pods)
    assert any(e.path == "spec.template.spec.initContainers[0].livenessProbe.httpGet.port" for e in finding.evidence)
    patch = yaml.safe_load(finding.remediation.patch)
    assert patch["spec"]["template"]["spec"]["initContainers"][0]["name"] == "cloud-sql-proxy"


@pytest.mark.parametrize("image, known", [
    ("gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.1", True),
    ("eu.gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.8.0-alpine", True),
    ("us-central1-docker.pkg.dev/cloud-sql-connectors/cloud-sql-proxy/cloud-sql-proxy:2.14.1", True),
    ("gcr.io/cloud-sql-connectors/cloud-sql-proxy@sha256:" + "ab" * 32, True),
    ("gcr.io/cloudsql-docker/gce-proxy:1.33.2", False),
    ("gcr.io/cloud-sql-connectors/cloud-sql-proxy-operator:1.5.0", False),
    (None, False),
])
def test_known_image_matching(image, known):
    assert (find_known_image(image) is CLOUD_SQL_PROXY_V2) is known


def test_unknown_images_with_probes_are_not_flagged():
    other = proxy_container(image="gcr.io/cloudsql-docker/gce-proxy:1.33.2")
    deploy, rs, pods = workload("api", [other], replicas=1)
    assert findings_of(deploy, rs, *pods) == []


def test_named_port_not_declared_on_readiness_is_critical_with_a_patch_to_the_only_port():
    app = app_container(readinessProbe=http_probe("/ready", "http-api"))  # declares "http" only
    deploy, rs, pods = workload("web", [app], replicas=2)
    (finding,) = findings_of(deploy, rs, *pods)
    assert finding.severity == "critical" and finding.discriminator == "port http-api"
    assert finding.summary.startswith(f"web ({app['name']}): readiness probe targets port 'http-api', which the "
                                      f"container does not declare")
    assert "never become Ready" in finding.summary
    port_field = next(e for e in finding.evidence if e.path.endswith("readinessProbe.httpGet.port"))
    assert port_field.path == "spec.template.spec.containers[0].readinessProbe.httpGet.port"
    assert port_field.value == "http-api"
    assert patched_container(finding) == {"name": app["name"], "readinessProbe": {"httpGet": {"port": "http"}}}
    assert 'strconv.Atoi: parsing "http-api"' in finding.remediation.text


def test_named_port_on_liveness_only_is_a_warning_and_points_at_the_declaring_container():
    app = container("app", ports=[("web", 8000), ("admin", 9000)], livenessProbe=http_probe("/live", "metrics"))
    exporter = container("exporter", image="prom/statsd-exporter:v0.26.0", ports=[("metrics", 9102)])
    deploy, rs, pods = workload("web", [app, exporter], replicas=1)
    (finding,) = findings_of(deploy, rs, *pods)
    assert finding.severity == "warning"
    assert "never runs" in finding.summary
    elsewhere = next(e for e in finding.evidence if "declared by container exporter" in e.text)
    assert elsewhere.path == "spec.template.spec.containers[1].ports[0].containerPort" and elsewhere.value == 9102


def test_declared_named_ports_and_numbers_are_fine():
    app = app_container(readinessProbe=http_probe("/ready", "http"), livenessProbe=http_probe("/live", 8000),
                        startupProbe=http_probe("/start", "8000"))
    deploy, rs, pods = workload("web", [app], replicas=1)
    assert findings_of(deploy, rs, *pods) == []


def test_workload_without_pods_is_checked_from_its_template():
    proxy = proxy_container(readiness_port=None)
    deploy, rs, _ = workload("api", [proxy], replicas=0)
    (finding,) = findings_of(deploy, rs)
    assert finding.pods == () and finding.name == "api"


def test_odd_data_does_not_raise():
    weird = container("proxy", image="gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.1",
                      livenessProbe={"httpGet": None}, readinessProbe={"httpGet": {"port": True}}, args="--oops",
                      env=[None, {"name": 3}])
    weird["ports"] = "nope"
    deploy, rs, pods = workload("odd", [weird, None, "x"], replicas=1, statuses=lambda i: [])
    pods[0]["status"]["containerStatuses"] = [None, "x"]
    (finding,) = findings_of(deploy, rs, *pods)  # the readiness probe (port unreadable) is still on the proxy
    assert finding.severity == "warning"
    assert patched_container(finding)["args"] == ["--health-check", "--http-address=0.0.0.0"]


def test_rule_is_static():
    entry = rule("probe-port-not-served")
    assert entry.needs == frozenset() and entry.runbook == "probes"


def test_two_revisions_with_the_problem_are_one_finding_patched_from_the_current_template():
    new = proxy_container(args=["--port=5432", "p:r:new"], readiness_port=None)
    old = proxy_container(args=["--port=5432", "p:r:old"], readiness_port=None)
    deploy, rs_new, new_pods = workload("api", [new], replicas=1, template_hash="6b8f9d7c45")
    rs_old = replicaset(deploy, "7c9d54f6b8", 1, 1)
    old_pod = pod("api-7c9d54f6b8-h4wzn", owner=rs_old, containers=[old], ip="10.8.1.40")
    (finding,) = findings_of(deploy, rs_new, rs_old, old_pod, *new_pods)  # old pod listed first
    assert finding.pods == tuple(sorted(["api-7c9d54f6b8-h4wzn", new_pods[0]["metadata"]["name"]]))
    assert patched_container(finding)["args"][:2] == ["--port=5432", "p:r:new"]
