"""crashloop: CrashLoopBackOff / restarting containers, with the exception from the previous log."""

from __future__ import annotations

from pathlib import Path

import pytest

from builders import NS, container, event, pod, running, state_of, waiting
from builders_runtime import (GO_CONN_REFUSED, JAVA_SOCKET_TIMEOUT, NO_EXCEPTION, PY_ADDRESS_IN_USE,
                              PY_IMPORT_TIME, PY_IMPORT_TIME_FIRST, PY_IMPORT_TIME_INSTALLED,
                              PY_IMPORT_TIME_INSTALLED_FIRST, PY_IMPORT_TIME_INSTALLED_LAST,
                              PY_IMPORT_TIME_LAST, PY_MISSING_ENV,
                              backoff_event_message, crashloop_waiting_message, terminated, workload)
from runbooks_lib.detectors import crashloop
from runbooks_lib.podlogs import render_log_file
from runbooks_lib.registry import run_detectors
from runbooks_lib.state import LOGS, RUNTIME


def crash_pod(rs, suffix, name="app", restarts=7, exit_code=1, reason="Error", others=(), message=None,
              finished_minutes_ago=1):
    pod_name = f"{rs['metadata']['name']}-{suffix}"
    statuses = [running(other) for other in others] + [
        waiting(name, "CrashLoopBackOff", crashloop_waiting_message(pod_name, name), restarts=restarts,
                last_state=terminated(exit_code, reason, finished_minutes_ago, message=message))]
    return pod(pod_name, owner=rs, statuses=statuses)


def findings(state):
    result = run_detectors(state, only=["crashloop"])
    assert result.errors == []
    return result.findings


def by_source(finding, source):
    return [item for item in finding.evidence if item.source == source]


def test_seed_incident_import_time_runtime_error():
    deploy, rs = workload("staging-mcp-server-langgraph", replicas=3,
                          containers=[container("cloud-sql-proxy"), container("mcp-server")])
    pods = [crash_pod(rs, suffix, "mcp-server", others=["cloud-sql-proxy"]) for suffix in ("x2x8k", "7mnr6", "ln4bf")]
    logs = {}
    for p in pods:
        logs[(NS, p["metadata"]["name"], "mcp-server", True)] = PY_IMPORT_TIME
        logs[(NS, p["metadata"]["name"], "mcp-server", False)] = "INFO:     Started server process [1]"
    backoff = event(pods[0], "BackOff", backoff_event_message(pods[0]["metadata"]["name"], "mcp-server"),
                    count=42, container_name="mcp-server")
    [finding] = findings(state_of(deploy, rs, *pods, backoff, logs=logs))

    assert (finding.rule, finding.severity, finding.kind, finding.name, finding.container) == (
        "crashloop", "critical", "Deployment", "staging-mcp-server-langgraph", "mcp-server")
    assert finding.pods == tuple(sorted(p["metadata"]["name"] for p in pods))
    assert finding.summary.startswith(
        "staging-mcp-server-langgraph (mcp-server) crash-loops: RuntimeError: Observability not initialized")
    assert "(raised at import, server_streamable.py:187)" in finding.summary
    assert "3 pods; 21 restarts" in finding.summary

    [log] = by_source(finding, "log")
    assert log.previous is True and log.container == "mcp-server"
    assert (log.first_line, log.last_line) == (PY_IMPORT_TIME_FIRST, PY_IMPORT_TIME_LAST)
    assert log.lines[0] == "Traceback (most recent call last):"
    assert log.lines[-1].startswith("RuntimeError: Observability not initialized")
    assert "module-level call at /app/src/mcp_server_langgraph/mcp/server_streamable.py:187" in log.text
    assert "telemetry.py:1210" in log.text  # the deepest application frame

    statuses = {item.path: item for item in by_source(finding, "status")}
    # mcp-server is the second entry of containerStatuses: the path says so.
    assert statuses["status.containerStatuses[1].state.waiting.reason"].value == "CrashLoopBackOff"
    assert statuses["status.containerStatuses[1].lastState.terminated.exitCode"].value == 1
    assert statuses["status.containerStatuses[1].restartCount"].value == 7
    [backoff_evidence] = by_source(finding, "event")
    assert (backoff_evidence.reason, backoff_evidence.count) == ("BackOff", 42)

    remediation = finding.remediation
    assert "move the module-level call into the startup hook" in remediation.text
    assert "logging.getLogger(__name__)" in remediation.text
    first_pod = finding.pods[0]
    assert remediation.command == f"kubectl logs -n {NS} {first_pod} -c mcp-server --previous"


def test_application_installed_in_site_packages_is_recognised_by_its_name():
    deploy, rs = workload("staging-mcp-server-langgraph", containers=[container("mcp-server-langgraph")])
    p = crash_pod(rs, "2lrtd", "mcp-server-langgraph")
    logs = {(NS, p["metadata"]["name"], "mcp-server-langgraph", True): PY_IMPORT_TIME_INSTALLED}
    [finding] = findings(state_of(deploy, rs, p, logs=logs))
    assert finding.summary == (
        "staging-mcp-server-langgraph crash-loops: RuntimeError: Observability not initialized. Call "
        "init_observability() first. (raised at import, server_streamable.py:187) [7 restarts]")
    [log] = by_source(finding, "log")
    assert (log.first_line, log.last_line) == (PY_IMPORT_TIME_INSTALLED_FIRST, PY_IMPORT_TIME_INSTALLED_LAST)
    assert list(log.lines) == PY_IMPORT_TIME_INSTALLED.split("\n")[log.first_line - 1:log.last_line]
    assert "site-packages/mcp_server_langgraph/observability/telemetry.py:420 in get_logger" in log.text
    assert "chain: KeyError <- RuntimeError" in log.text
    assert "move the module-level call into the startup hook" in finding.remediation.text


def test_a_third_party_package_is_not_taken_for_the_application():
    deploy, rs = workload("gateway", containers=[container("gateway")])
    p = crash_pod(rs, "3rdpt", "gateway")
    logs = {(NS, p["metadata"]["name"], "gateway", True): PY_IMPORT_TIME_INSTALLED}
    [finding] = findings(state_of(deploy, rs, p, logs=logs))
    assert "raised at import" not in finding.summary and "(at " not in finding.summary


def test_line_numbers_count_lines_dropped_from_a_long_log(tmp_path: Path):
    deploy, rs = workload("api")
    p = crash_pod(rs, "abcde")
    pod_name = p["metadata"]["name"]
    filler = [f"2025-11-06 16:00:00 INFO heartbeat ok seq={i:06d} status=green" for i in range(30000)]
    text = "\n".join(filler + PY_IMPORT_TIME.split("\n"))
    log_file = tmp_path / "logs.txt"
    log_file.write_text(render_log_file(NS, pod_name, {"app": text}))
    state = state_of(deploy, rs, p)
    state.logs.add_file(NS, pod_name, True, log_file)
    assert state.logs.get(NS, pod_name, "app", previous=True).truncated  # the head was dropped

    [finding] = findings(state)
    [log] = by_source(finding, "log")
    assert (log.first_line, log.last_line) == (30000 + PY_IMPORT_TIME_FIRST, 30000 + PY_IMPORT_TIME_LAST)
    assert text.split("\n")[log.first_line - 1] == "Traceback (most recent call last):"
    assert text.split("\n")[log.last_line - 1].startswith("RuntimeError:")


def test_pods_with_different_exceptions_report_the_most_common():
    deploy, rs = workload("keycloak", replicas=3, containers=[container("keycloak")])
    pods = [crash_pod(rs, suffix, "keycloak") for suffix in ("aaaaa", "bbbbb", "ccccc")]
    logs = {(NS, pods[0]["metadata"]["name"], "keycloak", True): GO_CONN_REFUSED,
            (NS, pods[1]["metadata"]["name"], "keycloak", True): JAVA_SOCKET_TIMEOUT,
            (NS, pods[2]["metadata"]["name"], "keycloak", True): JAVA_SOCKET_TIMEOUT}
    [finding] = findings(state_of(deploy, rs, *pods, logs=logs))
    assert "java.net.SocketTimeoutException: connect timed out" in finding.summary
    assert "(at CacheManagerFactory.java:98)" in finding.summary
    assert "2 of 3 crashing pods show this" in finding.summary
    [log, other] = by_source(finding, "log")
    assert log.object == f"Pod {NS}/{pods[1]['metadata']['name']}"  # first pod showing the majority exception
    assert "Caused by: java.net.SocketTimeoutException: connect timed out" in log.lines
    assert (log.first_line, log.last_line) == (3, 10)
    assert other.text.startswith(f"1 pod ({pods[0]['metadata']['name']}) died of a different exception: panic: dial tcp")
    assert (other.first_line, other.last_line, other.object) == (2, 8, f"Pod {NS}/{pods[0]['metadata']['name']}")
    assert "NetworkPolicy" in finding.remediation.text and "egress" in finding.remediation.text


def test_missing_config_in_a_script_is_not_called_an_import():
    deploy, rs = workload("worker")
    p = crash_pod(rs, "w0rk1")
    [finding] = findings(state_of(deploy, rs, p, logs={(NS, p["metadata"]["name"], "app", True): PY_MISSING_ENV}))
    assert finding.summary == "worker crash-loops: KeyError: 'DATABASE_URL' (at settings.py:12) [7 restarts]"
    assert "missing configuration" in finding.remediation.text
    assert "raised during import" not in by_source(finding, "log")[0].text


def test_address_in_use_remediation():
    deploy, rs = workload("web")
    p = crash_pod(rs, "q1w2e")
    [finding] = findings(state_of(deploy, rs, p, logs={(NS, p["metadata"]["name"], "app", True): PY_ADDRESS_IN_USE}))
    assert "OSError: [Errno 98] Address already in use (at server.py:88)" in finding.summary
    assert "already in use" in finding.remediation.text and "share a network namespace" in finding.remediation.text


def test_falls_back_to_the_current_log_when_there_is_no_previous_one():
    deploy, rs = workload("api")
    p = crash_pod(rs, "zzzzz")
    [finding] = findings(state_of(deploy, rs, p, logs={(NS, p["metadata"]["name"], "app", False): GO_CONN_REFUSED}))
    [log] = by_source(finding, "log")
    assert log.previous is False and (log.first_line, log.last_line) == (2, 8)
    assert "panic: dial tcp 10.12.0.7:5432: connect: connection refused (at main.go:57)" in finding.summary
    assert "refused the connection" in finding.remediation.text


def test_exception_from_the_termination_message_when_no_log_was_captured():
    deploy, rs = workload("api")
    p = crash_pod(rs, "nolog", message=PY_MISSING_ENV)
    [finding] = findings(state_of(deploy, rs, p, capabilities={RUNTIME}))
    assert "KeyError: 'DATABASE_URL'" in finding.summary
    paths = [item.path for item in finding.evidence]
    assert "status.containerStatuses[0].lastState.terminated.message" in paths


def test_no_exception_in_the_log_shows_its_tail_and_the_exit_code():
    deploy, rs = workload("api")
    p = crash_pod(rs, "tail1", exit_code=2)
    [finding] = findings(state_of(deploy, rs, p, logs={(NS, p["metadata"]["name"], "app", True): NO_EXCEPTION}))
    assert "exits with code 2 (Error); no exception in the log" in finding.summary
    [log] = by_source(finding, "log")
    assert log.lines == tuple(NO_EXCEPTION.split("\n")) and (log.first_line, log.last_line) == (1, 3)


def test_command_that_cannot_start():
    deploy, rs = workload("api")
    pod_name = f"{rs['metadata']['name']}-st4rt"
    message = ('failed to create containerd task: failed to create shim task: OCI runtime create failed: runc '
               'create failed: unable to start container process: exec: "/app/start.sh": stat /app/start.sh: '
               'no such file or directory: unknown')
    start_error = terminated(128, "StartError", message=message)
    p = pod(pod_name, owner=rs, statuses=[waiting("app", "CrashLoopBackOff", crashloop_waiting_message(pod_name),
                                                  restarts=4, last_state=start_error)])
    [finding] = findings(state_of(deploy, rs, p))
    assert "command failed to start" in finding.summary and "/app/start.sh" in finding.summary
    assert "command/args" in finding.remediation.text
    exit_code = next(item for item in finding.evidence if item.path.endswith("lastState.terminated.exitCode"))
    assert exit_code.value == 128 and "StartError" in exit_code.text


def test_restarts_caused_by_the_liveness_probe_are_named():
    deploy, rs = workload("proxy", containers=[container("cloud-sql-proxy")])
    p = crash_pod(rs, "l1v3n", "cloud-sql-proxy", exit_code=137, reason="Error")
    kill = event(p, "Killing", "Container cloud-sql-proxy failed liveness probe, will be restarted",
                 type_="Normal", count=9, container_name="cloud-sql-proxy")
    [finding] = findings(state_of(deploy, rs, p, kill))
    assert finding.summary.startswith("proxy crash-loops: killed by its failing liveness probe")
    assert "liveness probe" in finding.remediation.text
    assert any(item.reason == "Killing" and item.count == 9 for item in finding.evidence)


def test_flapping_container_that_is_running_again_is_a_warning():
    deploy, rs = workload("api")
    p = pod(f"{rs['metadata']['name']}-fl4p1", owner=rs, statuses=[
        running("app", restarts=4, last_state=terminated(1, "Error", finished_minutes_ago=10))])
    [finding] = findings(state_of(deploy, rs, p))
    assert finding.severity == "warning"
    assert finding.summary == "api keeps restarting: exits with code 1 (Error); no log captured [4 restarts]"


def test_older_kubelet_back_off_event_and_init_container():
    deploy, rs = workload("api")
    pod_name = f"{rs['metadata']['name']}-1n1t0"
    p = pod(pod_name, owner=rs, phase="Pending", statuses=[waiting("app", "PodInitializing")])
    p["spec"]["initContainers"] = [container("migrate")]
    p["status"]["initContainerStatuses"] = [
        waiting("migrate", "CrashLoopBackOff", crashloop_waiting_message(pod_name, "migrate"), restarts=3,
                last_state=terminated(1, "Error"))]
    old_event = event(p, "BackOff", "Back-off restarting failed container", count=12, container_name="migrate")
    [finding] = findings(state_of(deploy, rs, p, old_event))
    assert finding.container == "migrate"
    assert any(item.path == "status.initContainerStatuses[0].state.waiting.reason" for item in finding.evidence)
    assert any(item.source == "event" and item.count == 12 for item in finding.evidence)


def test_bare_pod_is_its_own_workload():
    p = pod("debug-shell", statuses=[waiting("app", "CrashLoopBackOff", crashloop_waiting_message("debug-shell"),
                                             restarts=2, last_state=terminated(1, "Error"))])
    [finding] = findings(state_of(p))
    assert (finding.kind, finding.name, finding.pods) == ("Pod", "debug-shell", ("debug-shell",))


@pytest.mark.parametrize("statuses", [
    [running("app")],  # healthy
    [running("app", restarts=1, last_state=terminated(1, "Error", finished_minutes_ago=180))],  # one old restart
    [running("app", restarts=5, last_state=terminated(0, "Completed", finished_minutes_ago=5))],  # clean exits
    [waiting("app", "CrashLoopBackOff", "back-off 5m0s", restarts=5,
             last_state=terminated(137, "OOMKilled"))],  # oom-killed reports it
    [waiting("app", "ContainerCreating")],
    [waiting("app", "ImagePullBackOff", 'Back-off pulling image "ghcr.io/acme/app:9"')],
])
def test_not_a_crash_loop(statuses):
    deploy, rs = workload("api")
    p = pod(f"{rs['metadata']['name']}-n0n3x", owner=rs, statuses=statuses)
    assert findings(state_of(deploy, rs, p)) == []


def test_odd_data_does_not_raise():
    deploy, rs = workload("api")
    p = pod(f"{rs['metadata']['name']}-0dd00", owner=rs, statuses=[
        {"name": "app", "restartCount": "7", "state": {"waiting": {"reason": "CrashLoopBackOff", "message": None}},
         "lastState": {"terminated": {"exitCode": "1", "finishedAt": "yesterday"}}},
        None, "garbage"])
    p["spec"]["containers"].append(None)
    state = state_of(deploy, rs, p, logs={(NS, p["metadata"]["name"], "app", True): "\x00\x01 binary \udcff"})
    [finding] = findings(state)
    assert finding.rule == "crashloop" and finding.severity == "critical"


def test_rule_catalogue_entry():
    rule = crashloop.RULE
    assert (rule.id, rule.runbook, rule.needs) == ("crashloop", "crashloop", frozenset({RUNTIME}))
    assert LOGS not in rule.needs  # works without logs, from statuses alone


def test_init_container_is_named_in_the_summary_and_exit_code_explained():
    deploy, rs = workload("api")
    pod_name = f"{rs['metadata']['name']}-1n1t1"
    p = pod(pod_name, owner=rs, phase="Pending", statuses=[waiting("app", "PodInitializing")])
    p["spec"]["initContainers"] = [container("migrate")]
    p["status"]["initContainerStatuses"] = [
        waiting("migrate", "CrashLoopBackOff", crashloop_waiting_message(pod_name, "migrate"), restarts=3,
                last_state=terminated(139, "Error"))]
    [finding] = findings(state_of(deploy, rs, p))
    assert finding.summary == ("api (init container migrate) crash-loops: exits with code 139 "
                               "(Error, SIGSEGV: segmentation fault); no log captured [3 restarts]")
    assert "with code 139 (SIGSEGV: segmentation fault)" in finding.remediation.text


# -- odd data anywhere ----------------------------------------------------------------------------

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from builders_runtime import fuzzed_findings  # noqa: E402

_ODD = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**6), st.text(max_size=8),
                 st.lists(st.none(), max_size=2), st.dictionaries(st.text(max_size=3), st.none(), max_size=2))


def test_runtime_incident_has_one_finding_of_this_rule():
    assert len(fuzzed_findings("crashloop", [])) == 1


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.lists(st.tuples(st.integers(0, 10**6), _ODD), min_size=1, max_size=6))
def test_fuzzed_fields_never_raise(choices):
    found = fuzzed_findings("crashloop", choices)
    assume(found is not None)
    for finding in found:
        assert finding.rule == "crashloop" and finding.summary
