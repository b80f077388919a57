"""container-config-error: missing ConfigMap / Secret / key, named with the field that references it."""

from __future__ import annotations

import pytest
import yaml

from builders import NS, container, deployment, event, pod, replicaset, running, state_of, ts, uid, waiting
from runbooks_lib.detectors.container_config_error import RULE
from runbooks_lib.registry import run_detectors
from runbooks_lib.state import RUNTIME


def configmap(name, data, namespace=NS):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "uid": uid("cm", namespace, name),
                         "creationTimestamp": ts(600)}, "data": data}


APP = container("app", env=[
    {"name": "LOG_LEVEL", "value": "info"},
    {"name": "DATABASE_URL", "valueFrom": {"configMapKeyRef": {"name": "app-config", "key": "DATABASE_URL"}}},
    {"name": "REDIS_URL", "valueFrom": {"configMapKeyRef": {"name": "app-config", "key": "REDIS_URL"}}},
    {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db-creds", "key": "password"}}},
], envFrom=[{"configMapRef": {"name": "feature-flags"}}])


def stuck(message, name="api", containers=None, suffix="c0nf1", reason="CreateContainerConfigError", replicas=1):
    deploy = deployment(name, replicas=replicas, containers=containers or [APP])
    rs = replicaset(deploy, "58d7c9f6b4", 1, replicas, ready=0)
    p = pod(f"{rs['metadata']['name']}-{suffix}", owner=rs, phase="Pending",
            statuses=[waiting("app", reason, message)])
    return deploy, rs, p


def findings(state):
    result = run_detectors(state, only=["container-config-error"])
    assert result.errors == []
    return result.findings


def test_missing_configmap_key_names_the_env_var_and_suggests_the_typo():
    message = "couldn't find key DATABASE_URL in ConfigMap shop/app-config"
    deploy, rs, p = stuck(message)
    cm = configmap("app-config", {"DATABASE_URI": "postgres://db:5432/app"})
    failed = event(p, "Failed", f"Error: {message}", count=14, container_name="app")
    [finding] = findings(state_of(deploy, rs, p, cm, failed))

    assert (finding.rule, finding.severity, finding.kind, finding.name, finding.container, finding.pods) == (
        "container-config-error", "critical", "Deployment", "api", "app", (p["metadata"]["name"],))
    assert finding.discriminator == "missing-key:ConfigMap/app-config/DATABASE_URL"
    assert finding.summary == ("api cannot start: key DATABASE_URL is missing from ConfigMap shop/app-config "
                               "(referenced by env DATABASE_URL) "
                               "[1 pod in CreateContainerConfigError]")
    ref = next(e for e in finding.evidence if e.source == "field" and e.path and "env[" in e.path)
    assert (ref.path, ref.value, ref.object) == (
        "spec.template.spec.containers[0].env[1].valueFrom.configMapKeyRef", "DATABASE_URL", f"Deployment {NS}/api")
    keys = next(e for e in finding.evidence if e.path == "data")
    assert keys.value == ["DATABASE_URI"] and "did you mean DATABASE_URI?" in keys.text
    [ev] = [e for e in finding.evidence if e.source == "event"]
    assert (ev.reason, ev.count, ev.message) == ("Failed", 14, f"Error: {message}")

    remediation = finding.remediation
    assert (remediation.patch_type, remediation.target) == ("merge", f"ConfigMap {NS}/app-config")
    # REDIS_URL is read too and also missing: the patch adds both.
    assert yaml.safe_load(remediation.patch) == {"data": {"DATABASE_URL": "<value>", "REDIS_URL": "<value>"}}
    assert remediation.command == f"kubectl patch configmap app-config -n {NS} --type merge --patch-file fix.yaml"
    assert "DATABASE_URI, which looks like a typo" in remediation.text


def test_missing_configmap_via_env_from():
    deploy, rs, p = stuck('configmap "feature-flags" not found')
    [finding] = findings(state_of(deploy, rs, p, configmap("app-config", {"DATABASE_URL": "x", "REDIS_URL": "y"})))
    assert finding.discriminator == "missing-configmap:feature-flags"
    assert "ConfigMap 'feature-flags' not found in namespace shop" in finding.summary
    ref = next(e for e in finding.evidence if e.source == "field" and e.path)
    assert ref.path == "spec.template.spec.containers[0].envFrom[0].configMapRef"
    absent = next(e for e in finding.evidence if e.object == f"ConfigMap {NS}/feature-flags")
    assert absent.text == "no ConfigMap named feature-flags in namespace shop"
    manifest = yaml.safe_load(finding.remediation.patch)
    assert finding.remediation.patch_type == "manifest"
    assert manifest["kind"] == "ConfigMap" and manifest["metadata"] == {"name": "feature-flags", "namespace": NS}
    assert finding.remediation.command == "kubectl apply -f fix.yaml"


def test_missing_secret_from_the_event_when_the_waiting_message_is_empty():
    # Older kubelets leave the waiting message empty; the Failed event has the text.
    deploy, rs, p = stuck(None)
    failed = event(p, "Failed", 'Error: secret "db-creds" not found', count=3, container_name="app")
    [finding] = findings(state_of(deploy, rs, p, failed))
    assert finding.discriminator == "missing-secret:db-creds"
    ref = next(e for e in finding.evidence if e.source == "field")
    assert ref.path == "spec.template.spec.containers[0].env[3].valueFrom.secretKeyRef"
    manifest = yaml.safe_load(finding.remediation.patch)
    assert manifest == {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db-creds", "namespace": NS},
                        "type": "Opaque", "stringData": {"password": "<value>"}}
    assert finding.remediation.target == f"Secret {NS}/db-creds"


def test_secret_referenced_by_env_and_by_a_volume_of_a_sidecar():
    tls = container("proxy", volumeMounts=[{"name": "tls", "mountPath": "/etc/tls"}],
                    env=[{"name": "TLS_KEY", "valueFrom": {"secretKeyRef": {"name": "gateway-tls", "key": "tls.key"}}}])
    deploy = deployment("gateway", containers=[container("app"), tls])
    deploy["spec"]["template"]["spec"]["volumes"] = [
        {"name": "cache", "emptyDir": {}},
        {"name": "tls", "projected": {"sources": [{"secret": {"name": "gateway-tls", "optional": True}}]}}]
    rs = replicaset(deploy, "58d7c9f6b4", 1, 1, ready=0)
    p = pod(f"{rs['metadata']['name']}-v0l00", owner=rs, phase="Pending", statuses=[
        running("app"), waiting("proxy", "CreateContainerConfigError", 'secret "gateway-tls" not found')])
    [finding] = findings(state_of(deploy, rs, p))
    assert finding.container == "proxy"
    assert finding.summary.startswith("gateway (proxy) cannot start: Secret 'gateway-tls' not found")
    assert [e.path for e in finding.evidence if e.source == "field"] == [
        "spec.template.spec.containers[1].env[0].valueFrom.secretKeyRef",
        "spec.template.spec.volumes[1].projected.sources[0].secret"]
    status = next(e for e in finding.evidence if e.source == "status")
    assert status.path == "status.containerStatuses[1].state.waiting.reason"
    assert yaml.safe_load(finding.remediation.patch)["stringData"] == {"tls.key": "<value>"}


def test_pods_with_different_missing_objects_are_separate_findings():
    deploy, rs, p1 = stuck('configmap "feature-flags" not found', suffix="aaaaa", replicas=2)
    p2 = pod(f"{rs['metadata']['name']}-bbbbb", owner=rs, phase="Pending", statuses=[
        waiting("app", "CreateContainerConfigError", "couldn't find key password in Secret shop/db-creds")])
    found = findings(state_of(deploy, rs, p1, p2))
    assert [(f.discriminator, f.pods) for f in found] == [
        ("missing-configmap:feature-flags", (p1["metadata"]["name"],)),
        ("missing-key:Secret/db-creds/password", (p2["metadata"]["name"],))]
    assert len({f.id for f in found}) == 2
    secret = found[1]
    assert yaml.safe_load(secret.remediation.patch) == {"stringData": {"password": "<value>"}}
    assert secret.remediation.command == f"kubectl patch secret db-creds -n {NS} --type merge --patch-file fix.yaml"


def test_run_as_non_root_with_a_named_user():
    message = ('container has runAsNonRoot and image has non-numeric user (nginx), cannot verify user is non-root '
               '(pod: "web-6d8f7c5b9-x2k8p_shop(0b1c)", container: app)')
    deploy, rs, p = stuck(message, name="web", containers=[container("app")])
    [finding] = findings(state_of(deploy, rs, p))
    assert finding.discriminator == "run-as-non-root"
    assert "non-numeric user 'nginx'" in finding.summary
    assert "numeric UID" in finding.remediation.text and finding.remediation.patch is None


def test_create_container_error():
    message = ('failed to generate container "0f3e" spec: failed to generate spec: failed to stat '
               '"/var/lib/kubelet/pods/1f2e/volume-subpaths/config/app/0": no such file or directory')
    deploy, rs, p = stuck(message, reason="CreateContainerError", containers=[container("app")])
    [finding] = findings(state_of(deploy, rs, p))
    assert finding.discriminator == "other:CreateContainerError"
    assert finding.summary.startswith("api cannot start: failed to generate container")
    assert finding.summary.endswith("[1 pod in CreateContainerError]")
    assert "subPath" in finding.remediation.text
    assert finding.remediation.command == f"kubectl describe pod {p['metadata']['name']} -n {NS}"


@pytest.mark.parametrize("statuses", [
    [running("app")],
    [waiting("app", "ContainerCreating")],
    [waiting("app", "ImagePullBackOff", 'Back-off pulling image "x"')],
])
def test_no_config_error(statuses):
    deploy = deployment("api", containers=[APP])
    rs = replicaset(deploy, "58d7c9f6b4", 1, 1)
    p = pod(f"{rs['metadata']['name']}-0k0k0", owner=rs, statuses=statuses)
    old = event(p, "Failed", 'Error: configmap "feature-flags" not found', last_minutes_ago=40, container_name="app")
    assert findings(state_of(deploy, rs, p, old)) == []


def test_odd_data_does_not_raise():
    broken = container("app", env=[None, {"name": "X", "valueFrom": None}, {"valueFrom": {"configMapKeyRef": "x"}}],
                       envFrom="nope", volumeMounts=[None])
    deploy, rs, p = stuck('configmap "x" not found', containers=[broken])
    deploy["spec"]["template"]["spec"]["volumes"] = [None, {"name": None, "configMap": None}]
    [finding] = findings(state_of(deploy, rs, p, configmap("x", None)))
    assert finding.rule == "container-config-error"


def test_rule_catalogue_entry():
    assert (RULE.id, RULE.runbook, RULE.needs) == ("container-config-error", "rollouts", frozenset({RUNTIME}))


# -- odd data anywhere ----------------------------------------------------------------------------

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from builders_runtime import fuzzed_findings  # noqa: E402

_ODD = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**6), st.text(max_size=8),
                 st.lists(st.none(), max_size=2), st.dictionaries(st.text(max_size=3), st.none(), max_size=2))


def test_runtime_incident_has_one_finding_of_this_rule():
    assert len(fuzzed_findings("container-config-error", [])) == 1


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.lists(st.tuples(st.integers(0, 10**6), _ODD), min_size=1, max_size=6))
def test_fuzzed_fields_never_raise(choices):
    found = fuzzed_findings("container-config-error", choices)
    assume(found is not None)
    for finding in found:
        assert finding.rule == "container-config-error" and finding.summary
