"""Tests for runbooks_lib.event_messages (kubelet / scheduler Event message parsers)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runbooks_lib.event_messages import (
    CONFIG_ERROR_CATEGORIES,
    IMAGE_PULL_CATEGORIES,
    KILL_CAUSES,
    PROBE_KINDS,
    SCHEDULING_CATEGORIES,
    BackOff,
    ContainerConfigError,
    ImagePullFailure,
    KillEvent,
    ProbeFailure,
    SchedulingFailure,
    SchedulingReason,
    classify_image_pull,
    parse_back_off,
    parse_container_config_error,
    parse_failed_scheduling,
    parse_go_duration,
    parse_killing,
    parse_probe_message,
)

# --------------------------------------------------------------------------- #
# Probe failures
# --------------------------------------------------------------------------- #


def test_http_status_code():
    r = parse_probe_message("Readiness probe failed: HTTP probe failed with statuscode: 404")
    assert r == ProbeFailure(
        probe="readiness",
        kind="http-status",
        status_code=404,
        host=None,
        port=None,
        path=None,
        scheme=None,
        detail="HTTP probe failed with statuscode: 404",
        errored=False,
        handler="http",
    )


def test_http_connection_refused_quoted_url():
    r = parse_probe_message(
        'Liveness probe failed: Get "http://10.8.1.23:9801/liveness": '
        "dial tcp 10.8.1.23:9801: connect: connection refused"
    )
    assert r is not None
    assert (r.probe, r.kind, r.handler) == ("liveness", "connection-refused", "http")
    assert (r.scheme, r.host, r.port, r.path) == ("http", "10.8.1.23", 9801, "/liveness")
    assert r.status_code is None
    assert not r.errored and not r.warning
    assert r.detail.startswith('Get "http://10.8.1.23:9801/liveness"')


def test_http_connection_refused_unquoted_url_old_kubelet():
    r = parse_probe_message(
        "Liveness probe failed: Get http://10.8.1.23:8080/healthz: "
        "dial tcp 10.8.1.23:8080: connect: connection refused"
    )
    assert r is not None
    assert r.kind == "connection-refused"
    assert (r.scheme, r.host, r.port, r.path) == ("http", "10.8.1.23", 8080, "/healthz")


def test_http_unquoted_url_without_path():
    r = parse_probe_message(
        "Readiness probe failed: Get http://10.1.2.3:8080: dial tcp 10.1.2.3:8080: i/o timeout"
    )
    assert r is not None
    assert (r.host, r.port, r.path, r.kind) == ("10.1.2.3", 8080, None, "timeout")


@pytest.mark.parametrize(
    "tail",
    [
        "context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
        "net/http: request canceled (Client.Timeout exceeded while awaiting headers)",
        "net/http: request canceled while waiting for connection "
        "(Client.Timeout exceeded while awaiting headers)",
        "dial tcp 10.8.1.23:8000: i/o timeout",
        "net/http: TLS handshake timeout",
    ],
)
def test_http_timeouts(tail):
    r = parse_probe_message(f'Readiness probe failed: Get "http://10.8.1.23:8000/health/ready": {tail}')
    assert r is not None
    assert r.kind == "timeout"
    assert r.timed_out
    assert r.handler == "http"
    assert (r.host, r.port, r.path) == ("10.8.1.23", 8000, "/health/ready")


def test_https_ipv6_host():
    r = parse_probe_message(
        'Liveness probe failed: Get "https://[fd00::1]:8080/healthz": '
        "dial tcp [fd00::1]:8080: connect: connection refused"
    )
    assert r is not None
    assert (r.scheme, r.host, r.port, r.path) == ("https", "fd00::1", 8080, "/healthz")
    assert r.kind == "connection-refused"


def test_http_other_error_keeps_url_parts():
    r = parse_probe_message(
        'Readiness probe failed: Get "http://10.0.0.7:9090/ready": read tcp '
        "10.0.0.1:51234->10.0.0.7:9090: read: connection reset by peer"
    )
    assert r is not None
    assert (r.kind, r.handler, r.port) == ("other", "http", 9090)


def test_http_hostname_and_query():
    r = parse_probe_message(
        'Readiness probe failed: Get "http://api.internal:8080/health?full=1": '
        "dial tcp: lookup api.internal on 10.96.0.10:53: no such host"
    )
    assert r is not None
    assert (r.host, r.port, r.path) == ("api.internal", 8080, "/health?full=1")
    assert r.kind == "other"


def test_tcp_socket_refused():
    r = parse_probe_message("Startup probe failed: dial tcp 10.8.1.23:5432: connect: connection refused")
    assert r is not None
    assert (r.probe, r.kind, r.handler) == ("startup", "connection-refused", "tcp")
    assert (r.host, r.port, r.scheme, r.path) == ("10.8.1.23", 5432, None, None)


def test_tcp_socket_timeout_and_other():
    t = parse_probe_message("Readiness probe failed: dial tcp 10.60.179.55:5555: i/o timeout")
    assert t is not None and (t.kind, t.handler, t.port) == ("timeout", "tcp", 5555)
    o = parse_probe_message("Liveness probe failed: dial tcp 10.1.1.1:6379: connect: no route to host")
    assert o is not None and (o.kind, o.handler, o.host) == ("tcp", "tcp", "10.1.1.1")


def test_errored_old_format():
    r = parse_probe_message(
        "Readiness probe errored: rpc error: code = NotFound desc = failed to exec in container: "
        "failed to load task: no running task found: task abc not found: not found"
    )
    assert r is not None
    assert r.errored and r.state is None
    assert (r.kind, r.handler, r.rpc_code) == ("exec", "exec", "NotFound")


def test_errored_and_resulted_in_state():
    r = parse_probe_message(
        "Liveness probe errored and resulted in unknown state: rpc error: code = Unknown desc = "
        "command error: cannot register an exec PID: container is stopping, stdout: , stderr: , exit code -1"
    )
    assert r is not None
    assert r.errored and r.state == "unknown"
    assert r.probe == "liveness"
    assert (r.kind, r.rpc_code) == ("exec", "Unknown")
    assert r.detail.startswith("rpc error: code = Unknown")


def test_errored_deadline_exceeded_is_timeout():
    r = parse_probe_message(
        "Readiness probe errored: rpc error: code = DeadlineExceeded desc = context deadline exceeded"
    )
    assert r is not None
    assert (r.kind, r.handler, r.errored) == ("timeout", "exec", True)


def test_errored_port_name_not_resolvable():
    r = parse_probe_message(
        'Startup probe errored and resulted in unknown state: strconv.Atoi: parsing "http": invalid syntax'
    )
    assert r is not None
    assert (r.kind, r.handler, r.errored, r.state) == ("other", None, True, "unknown")


@pytest.mark.parametrize(
    ("message", "command", "seconds"),
    [
        ('Liveness probe failed: command "cat /tmp/healthy" timed out', "cat /tmp/healthy", None),
        (
            'Readiness probe failed: command timed out: "rabbitmq-diagnostics -q ping" timed out after 10s',
            "rabbitmq-diagnostics -q ping",
            10.0,
        ),
        ("Liveness probe failed: command timed out", None, None),
    ],
)
def test_exec_timeouts(message, command, seconds):
    r = parse_probe_message(message)
    assert r is not None
    assert (r.kind, r.handler) == ("timeout", "exec")
    assert r.command == command
    assert r.timeout_seconds == seconds


@pytest.mark.parametrize(
    "output",
    [
        'OCI runtime exec failed: exec failed: container_linux.go:380: starting container process caused: '
        'exec: "/healthcheck": stat /healthcheck: no such file or directory: unknown',
        'OCI runtime exec failed: exec failed: unable to start container process: exec: "curl": '
        "executable file not found in $PATH: unknown",
        "/opt/jboss/bin/readinessProbe.sh: line 34: python: command not found",
        "sh: curl: not found",
        "",
    ],
)
def test_exec_failures(output):
    r = parse_probe_message(f"Readiness probe failed: {output}")
    assert r is not None
    assert (r.kind, r.handler) == ("exec", "exec")
    assert r.detail == output.strip()


def test_exec_curl_output_connection_refused():
    r = parse_probe_message(
        "Liveness probe failed: curl: (7) Failed to connect to localhost port 8080: Connection refused"
    )
    assert r is not None
    assert (r.kind, r.handler) == ("connection-refused", "exec")


def test_exec_arbitrary_output_is_other():
    r = parse_probe_message("Readiness probe failed: calico/node is not ready: BIRD is not ready")
    assert r is not None
    assert (r.kind, r.handler) == ("other", None)


def test_exec_multiline_output():
    r = parse_probe_message("Readiness probe failed: line one\nline two\n")
    assert r is not None
    assert r.detail == "line one\nline two"


def test_grpc_connect_timeout():
    r = parse_probe_message('Liveness probe failed: timeout: failed to connect service ":9000" within 1s')
    assert r is not None
    assert (r.kind, r.handler) == ("timeout", "grpc")
    assert (r.host, r.port) == (None, 9000)
    assert r.timeout_seconds == 1.0


def test_grpc_connect_timeout_with_error_suffix():
    r = parse_probe_message(
        'Liveness probe failed: timeout: failed to connect service "172.168.1.53:8080" within 1s: '
        "context deadline exceeded"
    )
    assert r is not None
    assert (r.kind, r.host, r.port) == ("timeout", "172.168.1.53", 8080)


def test_grpc_not_serving():
    r = parse_probe_message('Readiness probe failed: service unhealthy (responded with "NOT_SERVING")')
    assert r is not None
    assert (r.kind, r.handler, r.grpc_status) == ("grpc", "grpc", "NOT_SERVING")


@pytest.mark.parametrize(
    ("output", "kind"),
    [
        ("timeout: health rpc did not complete within 2s", "timeout"),
        (
            "error: this server does not implement the grpc health protocol "
            "(grpc.health.v1.Health): unknown service grpc.health.v1.Health",
            "grpc",
        ),
        ('error: failed to connect service at "10.1.2.3:9000": connection refused', "connection-refused"),
        ("error: health rpc probe failed: rpc error: code = Unavailable desc = transport closing", "grpc"),
    ],
)
def test_grpc_other_messages(output, kind):
    r = parse_probe_message(f"Startup probe failed: {output}")
    assert r is not None
    assert (r.kind, r.handler) == (kind, "grpc")


def test_probe_warning_redirect():
    r = parse_probe_message("Readiness probe warning: Probe terminated redirects, Response body: <a>")
    assert r is not None
    assert r.warning and not r.errored
    assert (r.kind, r.handler) == ("other", "http")


def test_kubectl_describe_field_path_prefix():
    r = parse_probe_message(
        "spec.containers{wordpress}: Liveness probe failed: HTTP probe failed with statuscode: 500"
    )
    assert r is not None
    assert (r.container, r.status_code, r.kind) == ("wordpress", 500, "http-status")


def test_probe_type_case_insensitive():
    r = parse_probe_message("liveness probe failed: HTTP probe failed with statuscode: 503")
    assert r is not None and r.probe == "liveness"


@pytest.mark.parametrize(
    "message",
    [
        "",
        "Container app failed liveness probe, will be restarted",
        "Back-off restarting failed container app in pod web_default(1)",
        "Successfully pulled image \"nginx\"",
        "Readiness probe failedd: x",
        "Readiness probes failed: x",
        "Some other probe failed: x",
        "the Liveness probe failed: x",
        "Liveness probe succeeded",
    ],
)
def test_probe_negatives(message):
    assert parse_probe_message(message) is None


@pytest.mark.parametrize("value", [None, 3, 1.5, float("nan"), b"Liveness probe failed: x"])
def test_probe_non_string(value):
    assert parse_probe_message(value) is None  # type: ignore[arg-type]


def test_probe_failure_is_frozen():
    r = parse_probe_message("Readiness probe failed: HTTP probe failed with statuscode: 404")
    assert r is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.kind = "other"  # type: ignore[misc]
    hash(r)


# --------------------------------------------------------------------------- #
# Scheduling
# --------------------------------------------------------------------------- #

MODERN = (
    "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
    "2 Insufficient memory. preemption: 0/3 nodes are available: 1 Preemption is not helpful for "
    "scheduling, 2 No preemption victims found for incoming pod."
)


def test_scheduling_modern_with_preemption():
    r = parse_failed_scheduling(MODERN)
    assert r is not None
    assert (r.total_nodes, r.available) == (3, 0)
    assert r.reasons == (
        SchedulingReason(
            1, "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }", "untolerated-taint"
        ),
        SchedulingReason(2, "Insufficient memory", "insufficient-memory"),
    )
    assert r.preemption == (
        "0/3 nodes are available: 1 Preemption is not helpful for scheduling, "
        "2 No preemption victims found for incoming pod"
    )
    assert r.extra is None
    assert r.taints == ("node-role.kubernetes.io/control-plane: ",)
    assert r.count_by_category() == {"untolerated-taint": 1, "insufficient-memory": 2}
    assert r.categories == frozenset({"untolerated-taint", "insufficient-memory"})
    # reasons are plain tuples too
    count, text, category = r.reasons[1]
    assert (count, category) == (2, "insufficient-memory")


def test_scheduling_double_dot_preemption():
    r = parse_failed_scheduling(
        "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: "
        "3 No preemption victims found for incoming pod.."
    )
    assert r is not None
    assert r.reasons == (SchedulingReason(3, "Insufficient cpu", "insufficient-cpu"),)
    assert r.preemption == "0/3 nodes are available: 3 No preemption victims found for incoming pod"


def test_scheduling_old_without_preemption():
    r = parse_failed_scheduling("0/3 nodes are available: 3 Insufficient cpu.")
    assert r == SchedulingFailure(3, 0, (SchedulingReason(3, "Insufficient cpu", "insufficient-cpu"),))


def test_scheduling_old_taint_format():
    r = parse_failed_scheduling(
        "0/3 nodes are available: 1 node(s) had taint {node-role.kubernetes.io/master: }, that the pod "
        "didn't tolerate, 2 node(s) didn't match node selector."
    )
    assert r is not None
    assert [x.category for x in r.reasons] == ["untolerated-taint", "node-affinity"]
    assert r.reasons[0].text == "node(s) had taint {node-role.kubernetes.io/master: }, that the pod didn't tolerate"
    assert r.taints == ("node-role.kubernetes.io/master: ",)


@pytest.mark.parametrize(
    ("reason", "category"),
    [
        ("node(s) had taints that the pod didn't tolerate", "untolerated-taint"),
        ("node(s) had untolerated taint(s)", "untolerated-taint"),
        ("node(s) had taint {dedicated: gpu}, that the pod didn't tolerate", "untolerated-taint"),
        ("node(s) didn't match Pod's node affinity/selector", "node-affinity"),
        ("node(s) didn't match Pod's node affinity", "node-affinity"),
        ("node(s) didn't match node selector", "node-affinity"),
        ("node(s) didn't match pod affinity rules", "pod-affinity"),
        ("node(s) didn't match pod anti-affinity rules", "pod-anti-affinity"),
        ("node(s) didn't satisfy existing pods anti-affinity rules", "pod-anti-affinity"),
        ("node(s) had volume node affinity conflict", "volume-node-affinity"),
        ("node(s) didn't match PersistentVolume's node affinity", "volume-node-affinity"),
        ("node(s) had no available volume zone", "volume-node-affinity"),
        ("node(s) didn't find available persistent volumes to bind", "unbound-pvc"),
        ("node(s) were unschedulable", "node-unschedulable"),
        ("Too many pods", "too-many-pods"),
        ("Insufficient pods", "too-many-pods"),
        ("node(s) didn't have free ports for the requested pod ports", "ports"),
        ("Insufficient cpu", "insufficient-cpu"),
        ("Insufficient memory", "insufficient-memory"),
        ("Insufficient nvidia.com/gpu", "insufficient-resource"),
        ("Insufficient ephemeral-storage", "insufficient-resource"),
        ("node(s) didn't match pod topology spread constraints", "other"),
        ("node(s) exceed max volume count", "other"),
    ],
)
def test_scheduling_reason_categories(reason, category):
    r = parse_failed_scheduling(f"0/4 nodes are available: 4 {reason}.")
    assert r is not None
    assert r.reasons == (SchedulingReason(4, reason, category),)


def test_scheduling_old_affinity_umbrella_follows_specific_reason():
    anti = parse_failed_scheduling(
        "0/2 nodes are available: 2 node(s) didn't match pod affinity/anti-affinity, "
        "2 node(s) didn't match pod anti-affinity rules."
    )
    assert anti is not None
    assert [x.category for x in anti.reasons] == ["pod-anti-affinity", "pod-anti-affinity"]
    aff = parse_failed_scheduling(
        "0/3 nodes are available: 1 node(s) had taints that the pod didn't tolerate, "
        "2 node(s) didn't match pod affinity rules, 2 node(s) didn't match pod affinity/anti-affinity."
    )
    assert aff is not None
    assert [x.category for x in aff.reasons] == ["untolerated-taint", "pod-affinity", "pod-affinity"]


def test_scheduling_uncounted_unbound_pvc():
    r = parse_failed_scheduling(
        "0/5 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: "
        "0/5 nodes are available: 5 Preemption is not helpful for scheduling."
    )
    assert r is not None
    assert r.reasons == (
        SchedulingReason(None, "pod has unbound immediate PersistentVolumeClaims", "unbound-pvc"),
    )
    assert r.count_by_category() == {"unbound-pvc": 0}


def test_scheduling_old_counted_unbound_pvc():
    r = parse_failed_scheduling("0/3 nodes are available: 3 pod has unbound immediate PersistentVolumeClaims.")
    assert r is not None
    assert r.reasons == (SchedulingReason(3, "pod has unbound immediate PersistentVolumeClaims", "unbound-pvc"),)


def test_scheduling_post_filter_leftover_text():
    r = parse_failed_scheduling(
        "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. not found"
    )
    assert r is not None
    assert [x.category for x in r.reasons] == ["unbound-pvc"]
    assert r.extra == "not found"
    assert r.preemption is None


def test_scheduling_pvc_not_found_in_list():
    r = parse_failed_scheduling(
        '0/3 nodes are available: 3 persistentvolumeclaim "data-cassandra-0" not found. '
        "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
    )
    assert r is not None
    assert r.reasons == (
        SchedulingReason(3, 'persistentvolumeclaim "data-cassandra-0" not found', "unbound-pvc"),
    )
    assert r.pvc == "data-cassandra-0"


def test_scheduling_dra_leftover_before_preemption():
    r = parse_failed_scheduling(
        "0/6 nodes are available: 3 node(s) didn't match pod affinity rules, 3 node(s) had "
        "untolerated taint(s). no new claims to deallocate, preemption: 0/6 nodes are available: "
        "6 Preemption is not helpful for scheduling."
    )
    assert r is not None
    assert [x.category for x in r.reasons] == ["pod-affinity", "untolerated-taint"]
    assert r.extra == "no new claims to deallocate"
    assert r.preemption == "0/6 nodes are available: 6 Preemption is not helpful for scheduling"


def test_scheduling_wrapped_by_kubectl_describe():
    r = parse_failed_scheduling(
        "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector,\n"
        "1 node(s) had untolerated taint(s). preemption: 0/2 nodes are available:\n"
        "2 Preemption is not helpful for scheduling."
    )
    assert r is not None
    assert [x.category for x in r.reasons] == ["node-affinity", "untolerated-taint"]


def test_scheduling_many_reasons():
    r = parse_failed_scheduling(
        "0/6 nodes are available: 6 Insufficient cpu, 6 Insufficient ephemeral-storage, "
        "6 Insufficient memory. preemption: 0/6 nodes are available: 6 No preemption victims found "
        "for incoming pod.."
    )
    assert r is not None
    assert r.count_by_category() == {
        "insufficient-cpu": 6,
        "insufficient-resource": 6,
        "insufficient-memory": 6,
    }


def test_scheduling_no_nodes():
    assert parse_failed_scheduling("no nodes available to schedule pods") == SchedulingFailure(0, 0, ())


@pytest.mark.parametrize(
    ("message", "pvc"),
    [
        ('running PreFilter plugin "VolumeBinding": %!w(<nil>)', None),
        ('running PreFilter plugin "VolumeBinding": %!!(MISSING)w(<nil>)', None),
        (
            'running PreFilter plugin "VolumeBinding": error getting PVC "default/mongo-pvc": '
            'could not find v1.PersistentVolumeClaim "default/mongo-pvc"',
            "default/mongo-pvc",
        ),
        (
            'running "VolumeBinding" filter plugin for pod "web-0": pod has unbound immediate '
            "PersistentVolumeClaims",
            None,
        ),
        (
            'error while running "VolumeBinding" filter plugin for pod "web-0": pod has unbound '
            "immediate PersistentVolumeClaims",
            None,
        ),
    ],
)
def test_scheduling_volume_binding_plugin_errors(message, pvc):
    r = parse_failed_scheduling(message)
    assert r is not None
    assert r.plugin == "VolumeBinding"
    assert (r.total_nodes, r.available) == (None, None)
    assert [x.category for x in r.reasons] == ["unbound-pvc"]
    assert r.pvc == pvc


def test_scheduling_other_plugin_error():
    r = parse_failed_scheduling('running PreFilter plugin "NodeResourcesFit": something broke')
    assert r is not None
    assert r.plugin == "NodeResourcesFit"
    assert r.reasons == (SchedulingReason(None, "something broke", "other"),)


def test_scheduling_bare_pvc_not_found():
    r = parse_failed_scheduling('persistentvolumeclaim "data" not found')
    assert r is not None
    assert r.pvc == "data"
    assert [x.category for x in r.reasons] == ["unbound-pvc"]


def test_scheduling_embedded_in_log_line():
    r = parse_failed_scheduling(
        "Unable to schedule ns/p: no fit: 0/5 nodes are available: 2 node(s) didn't match node "
        "selector, 3 Insufficient cpu.; waiting"
    )
    assert r is not None
    assert r.total_nodes == 5
    assert r.count_by_category() == {"node-affinity": 2, "insufficient-cpu": 3}


@pytest.mark.parametrize(
    "message",
    [
        "",
        "   ",
        "pod didn't trigger scale-up: 3 Insufficient cpu",
        "Successfully assigned default/web-0 to node-1",
        "skip schedule deleting pod: default/web-0",
        "Binding rejected: timeout",
        "10/3 nodes",
        "Failed to schedule pod, incompatible with nodepool \"default\"",
    ],
)
def test_scheduling_negatives(message):
    assert parse_failed_scheduling(message) is None


# --------------------------------------------------------------------------- #
# Image pulls
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("reason", "message", "category", "image"),
    [
        (
            "Failed",
            'Failed to pull image "ghcr.io/acme/api:v9": rpc error: code = NotFound desc = failed to pull '
            'and unpack image "ghcr.io/acme/api:v9": failed to resolve reference "ghcr.io/acme/api:v9": '
            "ghcr.io/acme/api:v9: not found",
            "not-found",
            "ghcr.io/acme/api:v9",
        ),
        (
            "Failed",
            'Failed to pull image "nginx:1.99": rpc error: code = Unknown desc = Error response from daemon: '
            "manifest for nginx:1.99 not found: manifest unknown: manifest unknown",
            "not-found",
            "nginx:1.99",
        ),
        (
            "Failed",
            'Failed to pull image "quay.io/acme/x:1": rpc error: code = Unknown desc = reading manifest 1 '
            "in quay.io/acme/x: manifest unknown",
            "not-found",
            "quay.io/acme/x:1",
        ),
        (
            "Failed",
            'Failed to pull image "ghcr.io/acme/private:1.0": failed to pull and unpack image '
            '"ghcr.io/acme/private:1.0": failed to resolve reference "ghcr.io/acme/private:1.0": failed '
            "to authorize: failed to fetch anonymous token: unexpected status: 401 Unauthorized",
            "unauthorized",
            "ghcr.io/acme/private:1.0",
        ),
        (
            "Failed",
            'Failed to pull image "123.dkr.ecr.eu-west-1.amazonaws.com/api:1": rpc error: code = Unknown '
            'desc = failed to pull and unpack image "…": failed to resolve reference "…": unexpected '
            "status from HEAD request to https://123.dkr.ecr.eu-west-1.amazonaws.com/v2/api/manifests/1: "
            "403 Forbidden",
            "unauthorized",
            "123.dkr.ecr.eu-west-1.amazonaws.com/api:1",
        ),
        (
            "Failed",
            'Failed to pull image "fakeimage": failed to pull and unpack image "docker.io/library/fakeimage:latest": '
            'failed to resolve reference "docker.io/library/fakeimage:latest": pull access denied, repository '
            "does not exist or may require authorization: server message: insufficient_scope: authorization failed",
            "unauthorized",
            "fakeimage",
        ),
        (
            "Failed",
            'Failed to pull image "acme/api": rpc error: code = Unknown desc = Error response from daemon: '
            "pull access denied for acme/api, repository does not exist or may require 'docker login': "
            "denied: requested access to the resource is denied",
            "unauthorized",
            "acme/api",
        ),
        (
            "Failed",
            'Failed to pull image "registry.example.com/app:1": rpc error: code = Unknown desc = failed to '
            'pull and unpack image "registry.example.com/app:1": failed to resolve reference '
            '"registry.example.com/app:1": failed to do request: Head "https://registry.example.com/v2/app/'
            'manifests/1": dial tcp 10.0.0.5:443: i/o timeout',
            "timeout",
            "registry.example.com/app:1",
        ),
        (
            "Failed",
            'Failed to pull image "registry.example.com/app:1": rpc error: code = DeadlineExceeded desc = '
            "context deadline exceeded",
            "timeout",
            "registry.example.com/app:1",
        ),
        (
            "Failed",
            'Failed to pull image "nginx:1.23": rpc error: code = Unknown desc = failed to pull and unpack '
            'image "docker.io/library/nginx:1.23": failed to copy: httpReadSeeker: failed open: unexpected '
            "status code https://registry-1.docker.io/v2/library/nginx/manifests/sha256:abc: 429 Too Many "
            "Requests - Server message: toomanyrequests: You have reached your pull rate limit. You may "
            "increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit",
            "rate-limited",
            "nginx:1.23",
        ),
        ("Failed", 'Failed to pull image "nginx": pull QPS exceeded.', "rate-limited", "nginx"),
        (
            "InspectFailed",
            'Failed to apply default image tag "DUMMY_IMAGE:TEST": couldn\'t parse image reference '
            '"DUMMY_IMAGE:TEST": invalid reference format: repository name must be lowercase',
            "invalid-name",
            "DUMMY_IMAGE:TEST",
        ),
        (
            "InspectFailed",
            'Failed to apply default image tag "ghcr.io/${{ github.repository }}:latest": couldn\'t parse '
            'image name "ghcr.io/${{ github.repository }}:latest": invalid reference format',
            "invalid-name",
            "ghcr.io/${{ github.repository }}:latest",
        ),
        ("Failed", "Error: InvalidImageName", "invalid-name", None),
        (
            "Failed",
            'Failed to pull image "nginx:1.25": rpc error: code = NotFound desc = failed to pull and unpack '
            'image "docker.io/library/nginx:1.25": no match for platform in manifest: not found',
            "other",
            "nginx:1.25",
        ),
        (
            "Failed",
            'Failed to pull image "nginx:1.27-alpine": failed to pull and unpack image "…": failed to '
            'resolve reference "…": failed to do request: Head "https://registry-1.docker.io/v2/": tls: '
            "failed to verify certificate: x509: certificate signed by unknown authority",
            "other",
            "nginx:1.27-alpine",
        ),
        ("Failed", "Error: ErrImagePull", "other", None),
        (
            "Failed",
            'Failed to pull image "registry.invalid/aiops/rootcause:v0": failed to pull and unpack image '
            '"registry.invalid/aiops/rootcause:v0": failed to resolve reference "registry.invalid/aiops/rootcause:v0": '
            'failed to do request: Head "https://registry.invalid/v2/aiops/rootcause/manifests/v0": dial tcp: '
            "lookup registry.invalid on 127.0.0.53:53: no such host",
            "other",
            "registry.invalid/aiops/rootcause:v0",
        ),
        (
            "Failed",
            'Failed to pull image "rancher/rancher-agent:v2.8.3": failed to pull and unpack image '
            '"docker.io/rancher/rancher-agent:v2.8.3": failed to extract layer sha256:3a9d: write /var/lib/x: '
            "permission denied: unknown",
            "other",
            "rancher/rancher-agent:v2.8.3",
        ),
        (
            "Failed",
            'Failed to pull image "europe-docker.pkg.dev/p/r/app:1": rpc error: code = Unknown desc = failed '
            'to pull and unpack image "europe-docker.pkg.dev/p/r/app:1": failed to resolve reference '
            '"europe-docker.pkg.dev/p/r/app:1": failed to authorize: failed to fetch oauth token: unexpected '
            'status: 403 Forbidden',
            "unauthorized",
            "europe-docker.pkg.dev/p/r/app:1",
        ),
        (
            "ErrImageNeverPull",
            'Container image "acme/local:dev" is not present with pull policy of Never',
            "other",
            "acme/local:dev",
        ),
    ],
)
def test_image_pull_classification(reason, message, category, image):
    r = classify_image_pull(reason, message)
    assert isinstance(r, ImagePullFailure)
    assert (r.category, r.image) == (category, image)
    assert r.reason == reason


def test_image_pull_detail_and_rpc_code():
    r = classify_image_pull(
        "Failed",
        'Failed to pull image "ghcr.io/acme/api:v9": rpc error: code = NotFound desc = x: not found',
    )
    assert r.detail == "rpc error: code = NotFound desc = x: not found"
    assert r.rpc_code == "NotFound"
    assert not r.backoff


def test_image_pull_crashloop_backoff_is_not_image_backoff():
    r = classify_image_pull("BackOff", "Back-off restarting failed container app in pod web_default(1)")
    assert (r.category, r.image, r.backoff) == ("other", None, False)


def test_image_pull_backoff_event():
    r = classify_image_pull("BackOff", 'Back-off pulling image "ghcr.io/acme/api:v9"')
    assert (r.category, r.image, r.backoff) == ("other", "ghcr.io/acme/api:v9", True)


def test_image_pull_backoff_waiting_message_with_error():
    r = classify_image_pull(
        "ImagePullBackOff",
        'Back-off pulling image "nginx:1.99-does-not-exist": ErrImagePull: rpc error: code = NotFound '
        'desc = failed to pull and unpack image "docker.io/library/nginx:1.99-does-not-exist": failed to '
        'resolve reference "docker.io/library/nginx:1.99-does-not-exist": '
        "docker.io/library/nginx:1.99-does-not-exist: not found",
    )
    assert (r.category, r.image, r.backoff) == ("not-found", "nginx:1.99-does-not-exist", True)
    assert r.detail is not None and r.detail.startswith("rpc error: code = NotFound")


def test_image_pull_waiting_message_without_wrapper():
    r = classify_image_pull(
        "ErrImagePull",
        'rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/nginx:9": '
        'failed to resolve reference "docker.io/library/nginx:9": docker.io/library/nginx:9: not found',
    )
    assert (r.category, r.image) == ("not-found", "docker.io/library/nginx:9")


def test_image_pull_invalid_image_name_waiting_reason():
    r = classify_image_pull("InvalidImageName", 'couldn\'t parse image name "A B": invalid reference format')
    assert (r.category, r.image) == ("invalid-name", "A B")


def test_image_pull_field_path_prefix():
    r = classify_image_pull(
        "Failed",
        'spec.containers{api}: Failed to pull image "ghcr.io/x/y:1": failed to authorize: 401 Unauthorized',
    )
    assert (r.category, r.image) == ("unauthorized", "ghcr.io/x/y:1")


@pytest.mark.parametrize(
    ("reason", "message"),
    [(None, None), ("", ""), ("Pulled", 'Successfully pulled image "nginx" in 1.2s'), (None, "hello")],
)
def test_image_pull_unrecognised_is_other(reason, message):
    r = classify_image_pull(reason, message)
    assert r.category == "other"


# --------------------------------------------------------------------------- #
# Container config errors
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("message", "category", "kind", "name"),
    [
        ('configmap "app-config" not found', "missing-configmap", "ConfigMap", "app-config"),
        ('Error: configmap "app-config" not found', "missing-configmap", "ConfigMap", "app-config"),
        ('configmaps "app-config" not found', "missing-configmap", "ConfigMap", "app-config"),
        ('secret "db-creds" not found', "missing-secret", "Secret", "db-creds"),
        ('Error: secret "db-creds" not found', "missing-secret", "Secret", "db-creds"),
        ('CreateContainerConfigError: secret "does-not-exist" not found', "missing-secret", "Secret", "does-not-exist"),
        (
            'spec.containers{app}: Error: configmap "app-runtime-config" not found',
            "missing-configmap",
            "ConfigMap",
            "app-runtime-config",
        ),
    ],
)
def test_config_missing_objects(message, category, kind, name):
    r = parse_container_config_error(message)
    assert r is not None
    assert (r.category, r.object_kind, r.name, r.key) == (category, kind, name, None)


def test_config_missing_key_configmap():
    r = parse_container_config_error("couldn't find key DATABASE_URL in ConfigMap staging/app-config")
    assert r == ContainerConfigError(
        "missing-key",
        object_kind="ConfigMap",
        name="app-config",
        namespace="staging",
        key="DATABASE_URL",
        detail="couldn't find key DATABASE_URL in ConfigMap staging/app-config",
    )


def test_config_missing_key_secret():
    r = parse_container_config_error("Error: couldn't find key password in Secret staging/db")
    assert r is not None
    assert (r.category, r.object_kind, r.namespace, r.name, r.key) == (
        "missing-key",
        "Secret",
        "staging",
        "db",
        "password",
    )


def test_config_run_as_non_root():
    r = parse_container_config_error(
        'Error: container has runAsNonRoot and image will run as root (pod: "web-0_default(1f2e)", container: app)'
    )
    assert r is not None
    assert (r.category, r.pod, r.container, r.user) == ("run-as-non-root", "web-0_default(1f2e)", "app", None)


def test_config_run_as_non_root_non_numeric_user():
    r = parse_container_config_error(
        "container has runAsNonRoot and image has non-numeric user (nginx), cannot verify user is non-root "
        '(pod: "web-0_default(1f2e)", container: web)'
    )
    assert r is not None
    assert (r.category, r.user, r.container) == ("run-as-non-root", "nginx", "web")


def test_config_run_as_user_breaks_policy():
    r = parse_container_config_error("container's runAsUser breaks non-root policy (pod: \"a_b(c)\", container: d)")
    assert r is not None and r.category == "run-as-non-root"


@pytest.mark.parametrize(
    "message",
    [
        "",
        "failed to sync configmap cache: timed out waiting for the condition",
        'failed to prepare subPath for volumeMount "x" of container "y"',
        'configmap "app-config" is forbidden',
        "hello world",
    ],
)
def test_config_other(message):
    r = parse_container_config_error(message)
    assert r is not None
    assert r.category == "other"
    assert r.name is None


def test_config_non_string():
    assert parse_container_config_error(None) is None  # type: ignore[arg-type]


# --------------------------------------------------------------------------- #
# Back-off and killing
# --------------------------------------------------------------------------- #


def test_back_off_event():
    r = parse_back_off(
        "Back-off restarting failed container app in pod checkout-7d9f8b_shop(3f8a1c2e-9b1d-4c55-8e0a-1b2c3d4e5f60)"
    )
    assert r == BackOff(
        container="app",
        pod="checkout-7d9f8b",
        namespace="shop",
        uid="3f8a1c2e-9b1d-4c55-8e0a-1b2c3d4e5f60",
        backoff_seconds=None,
        form="event",
    )


def test_back_off_event_without_names():
    r = parse_back_off("Back-off restarting failed container")
    assert r == BackOff(None, None, None, None, None, "event")


def test_back_off_event_with_field_path_container():
    r = parse_back_off("spec.containers{app}: Back-off restarting failed container")
    assert r is not None and r.container == "app"


@pytest.mark.parametrize(("duration", "seconds"), [("10s", 10.0), ("1m20s", 80.0), ("5m0s", 300.0), ("2m40s", 160.0)])
def test_back_off_waiting(duration, seconds):
    r = parse_back_off(f"back-off {duration} restarting failed container=app pod=web-0_prod(abc-123)")
    assert r == BackOff("app", "web-0", "prod", "abc-123", seconds, "waiting")


def test_back_off_inside_kubelet_error():
    r = parse_back_off(
        'failed to "StartContainer" for "app" with CrashLoopBackOff: "back-off 40s restarting failed '
        'container=app pod=web-0_prod(abc)"'
    )
    assert r == BackOff("app", "web-0", "prod", "abc", 40.0, "waiting")


@pytest.mark.parametrize(
    "message",
    ["", "Back-off pulling image \"nginx\"", "Started container app", "restarting container", "back-off 5m0s"],
)
def test_back_off_negatives(message):
    assert parse_back_off(message) is None


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "Container app failed liveness probe, will be restarted",
            KillEvent("app", "liveness-probe", True, "Container app failed liveness probe, will be restarted"),
        ),
        (
            "Container app failed startup probe, will be restarted",
            KillEvent("app", "startup-probe", True, "Container app failed startup probe, will be restarted"),
        ),
        (
            "Container app failed liveness probe",
            KillEvent("app", "liveness-probe", False, "Container app failed liveness probe"),
        ),
        ("Stopping container app", KillEvent("app", "stopping", False, "Stopping container app")),
        (
            "Container app definition changed, will be restarted",
            KillEvent("app", "definition-changed", True, "Container app definition changed, will be restarted"),
        ),
        (
            'Container is in "unknown" state, try killing it before restart',
            KillEvent(None, "unknown-state", True, 'Container is in "unknown" state, try killing it before restart'),
        ),
    ],
)
def test_killing(message, expected):
    assert parse_killing(message) == expected


def test_killing_old_dockershim_format():
    r = parse_killing(
        "Killing container with id docker://app:Container failed liveness probe.. "
        "Container will be killed and recreated."
    )
    assert r is not None
    assert (r.container, r.cause, r.will_restart) == ("app", "liveness-probe", True)


def test_killing_field_path_prefix():
    r = parse_killing("spec.containers{wordpress}: Container wordpress failed liveness probe, will be restarted")
    assert r is not None and (r.container, r.cause) == ("wordpress", "liveness-probe")


@pytest.mark.parametrize(
    "message",
    ["", "Started container app", "Created container app", "Liveness probe failed: x", "Container app started"],
)
def test_killing_negatives(message):
    assert parse_killing(message) is None


# --------------------------------------------------------------------------- #
# Go durations
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5m0s", 300.0), ("300ms", 0.3), ("1h0m0s", 3600.0), ("1.5s", 1.5), ("x", None), ("", None), ("5", None)],
)
def test_parse_go_duration(text, seconds):
    assert parse_go_duration(text) == (pytest.approx(seconds) if seconds is not None else None)


# --------------------------------------------------------------------------- #
# Robustness: never raise, stay linear
# --------------------------------------------------------------------------- #

PREFIXES = [
    "",
    "Liveness probe failed: ",
    "Readiness probe errored and resulted in unknown state: ",
    "Startup probe failed: Get \"http://",
    "Liveness probe failed: Get http://",
    "Readiness probe failed: dial tcp ",
    "Liveness probe failed: timeout: failed to connect service \"",
    "0/3 nodes are available: ",
    "0/3 nodes are available: 1 node(s) had taint {",
    'running PreFilter plugin "VolumeBinding": ',
    'Failed to pull image "',
    'Back-off pulling image "',
    "couldn't find key ",
    'configmap "',
    "back-off ",
    "Back-off restarting failed container ",
    "Container ",
    "spec.containers{",
]


def _all_parsers(text: str) -> None:
    probe = parse_probe_message(text)
    assert probe is None or probe.kind in PROBE_KINDS
    sched = parse_failed_scheduling(text)
    assert sched is None or all(r.category in SCHEDULING_CATEGORIES for r in sched.reasons)
    assert classify_image_pull(text, text).category in IMAGE_PULL_CATEGORIES
    assert classify_image_pull("InvalidImageName", text).category == "invalid-name"
    cfg = parse_container_config_error(text)
    assert cfg is not None and cfg.category in CONFIG_ERROR_CATEGORIES
    parse_back_off(text)
    kill = parse_killing(text)
    assert kill is None or kill.cause in KILL_CAUSES
    parse_go_duration(text)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_random_text_never_raises(text):
    _all_parsers(text)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PREFIXES), st.text(alphabet=st.characters(codec="utf-8")), st.text(max_size=20))
def test_random_text_after_known_prefix_never_raises(prefix, body, suffix):
    _all_parsers(prefix + body + suffix)


@settings(max_examples=200)
@given(
    st.lists(
        st.sampled_from(
            [
                "0/3", " nodes are available", ":", " ", ",", ".", "1 ", "Insufficient cpu", "preemption:",
                "node(s)", "{", "}", '"', "\\", "http://", "Get ", "dial tcp ", "[", "]", ":80", "/", "_", "(",
                ")", "=", "container=", "pod=", "back-off ", "5m0s", "\n", "timed out", "rpc error: code = ",
            ]
        ),
        max_size=40,
    )
)
def test_token_soup_never_raises(tokens):
    _all_parsers("".join(tokens))


LARGE = 100_000

PATHOLOGICAL = [
    "1" * LARGE,
    " " * LARGE,
    "," * LARGE,
    "{" * LARGE,
    '"' * LARGE,
    "\\" * LARGE,
    "." * LARGE,
    "a" * LARGE,
    ", 1 " * (LARGE // 4),
    "1/" * (LARGE // 2),
    "0/3 nodes are available: " + "1 Insufficient cpu, " * (LARGE // 20),
    "0/3 nodes are available: " + "1" * LARGE,
    "0/3 nodes are available: 1 node(s) had taint {" + "k" * LARGE,
    "Liveness probe failed: " + "x" * LARGE,
    "Liveness probe failed: Get http://" + "1" * LARGE,
    'Liveness probe failed: Get "http://[' + ":" * LARGE,
    "Liveness probe failed: Get http://h:" + "9" * LARGE + "/p" + "/" * LARGE,
    "Readiness probe failed: dial tcp " + "1" * LARGE,
    "Readiness probe failed: " + "command " * (LARGE // 8),
    "Readiness probe failed: " + 'command "' * (LARGE // 9),
    'Startup probe failed: timeout: failed to connect service "' + "x" * LARGE,
    "Startup probe failed: within " + "1" * LARGE,
    'Failed to pull image "' + "a" * LARGE,
    'Failed to pull image "' + "\\a" * (LARGE // 2),
    'pull image "' * (LARGE // 12),
    "couldn't find key " + "k" * LARGE,
    "couldn't find key k in ConfigMap " + "n" * LARGE,
    'configmap "' + "c" * LARGE,
    "(pod: \"" + "p" * LARGE,
    "back-off " * (LARGE // 9),
    "back-off 5m0s restarting failed container=app pod=" + "p" * LARGE,
    "Back-off restarting failed container app in pod " + "p" * LARGE,
    "Back-off restarting failed container app in pod p_" + "n" * LARGE + "(",
    "Container " + "c" * LARGE,
    "spec.containers{" + "x" * LARGE,
    "0/3 nodes are available: " + "preemption:" * (LARGE // 11),
    "running PreFilter plugin \"" + "P" * LARGE,
]


@pytest.mark.parametrize("text", PATHOLOGICAL, ids=lambda t: f"{t[:24]!r}..{len(t)}")
def test_large_inputs_finish(text):
    # No timing asserts: a catastrophic-backtracking regex would simply never finish.
    _all_parsers(text)
    assert len(text) >= 50_000


def test_large_realistic_message_still_parses():
    body = "x" * LARGE
    r = parse_probe_message(f"Readiness probe failed: {body}")
    assert r is not None and r.detail == body
    big = "0/3 nodes are available: " + ", ".join(["1 Insufficient cpu"] * 5000) + "."
    s = parse_failed_scheduling(big)
    assert s is not None and s.count_by_category() == {"insufficient-cpu": 5000}
