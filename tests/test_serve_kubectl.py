"""The real kubectl against `runbooks serve`: what a post-incident review types.

kubectl runs with KUBECONFIG and HOME pointing into a temporary directory, so a
developer's real kubeconfig and discovery cache are never read or written.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from runbooks_lib.serve import BackgroundServer
from runbooks_lib.serve_cli import write_kubeconfig
from runbooks_lib.sources import load

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")

NS = "staging-mcp-server-langgraph"
CRASHING_KEYCLOAK = "staging-keycloak-5847455794-txkc6"
CRASHING_APP = "staging-mcp-server-langgraph-6b8f9d7c45-2lrtd"
CONTEXT = "gke_acme-staging_us-central1_staging-gke"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    home = tmp_path_factory.mktemp("kubectl-home")
    state = load("staging-incident")
    with BackgroundServer(state) as server:
        kubeconfig = home / "replay.kubeconfig"
        write_kubeconfig(kubeconfig, server.url, state)
        empty = home / "empty.kubeconfig"
        empty.write_text("")
        env = {key: value for key, value in os.environ.items() if not key.upper().endswith("_PROXY")}
        env.update(HOME=str(home), KUBECONFIG=str(empty))
        yield server.url, kubeconfig, env


def kubectl(served, *args: str, kubeconfig: bool = True) -> subprocess.CompletedProcess:
    url, config, env = served
    target = ["--kubeconfig", str(config)] if kubeconfig else ["--server", url]
    return subprocess.run([KUBECTL, *target, "--request-timeout=20s", *args], capture_output=True, text=True,
                          env=env, timeout=60)


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def line_of(output: str, name: str) -> list[str]:
    return next(line.split() for line in output.splitlines() if name in line.split())


def test_get_pods_all_namespaces_with_server_flag(served):
    out = ok(kubectl(served, "get", "pods", "-A", kubeconfig=False))
    assert out.splitlines()[0].split() == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    # ages are the snapshot's: 19 minutes old at capture, restarted 2m33s before it
    assert line_of(out, CRASHING_KEYCLOAK) == [NS, CRASHING_KEYCLOAK, "1/2", "CrashLoopBackOff", "7", "(2m33s",
                                               "ago)", "19m"]
    assert "kube-dns-5b9c8d7f46-r8fxl" in out and len(out.splitlines()) == 12


def test_get_pods_wide_shows_ip_and_node(served):
    out = ok(kubectl(served, "get", "pods", "-n", NS, "-o", "wide"))
    assert out.splitlines()[0].split()[5:7] == ["IP", "NODE"]
    row = line_of(out, CRASHING_KEYCLOAK)
    assert row[-4:-2] == ["10.8.1.19", "gke-staging-gke-default-pool-8d41e0b5-7xw3"]


def test_describe_pod_shows_its_events(served):
    out = ok(kubectl(served, "describe", "pod", CRASHING_KEYCLOAK, "-n", NS))
    assert f"Name:             {CRASHING_KEYCLOAK}" in out
    assert "CrashLoopBackOff" in out
    events = out.split("\nEvents:\n", 1)[1]
    assert "Back-off restarting failed container keycloak" in events
    assert 'Startup probe failed: Get "http://10.8.1.19:9000/health/started"' in events


def test_logs_previous_shows_the_traceback(served):
    out = ok(kubectl(served, "logs", "--previous", CRASHING_APP, "-c", "mcp-server-langgraph", "-n", NS))
    assert out.startswith("Traceback (most recent call last):")
    assert "RuntimeError: Observability not initialized. Call init_observability() first." in out


def test_logs_previous_of_a_container_that_never_restarted(served):
    result = kubectl(served, "logs", "--previous", "staging-openfga-c58f84668-6dbbc", "-n", NS)
    assert result.returncode == 1
    assert ('Error from server (BadRequest): previous terminated container "openfga" in pod '
            '"staging-openfga-c58f84668-6dbbc" not found') in result.stderr


def test_get_events_by_involved_object(served):
    out = ok(kubectl(served, "get", "events", "-n", NS, "--field-selector",
                     f"involvedObject.name={CRASHING_KEYCLOAK},type=Warning"))
    lines = out.splitlines()
    assert lines[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert len(lines) == 3 and all(f"pod/{CRASHING_KEYCLOAK}" in line for line in lines[1:])
    assert {line.split()[2] for line in lines[1:]} == {"Unhealthy", "BackOff"}


def test_top_pods_reads_the_captured_metrics(served):
    out = ok(kubectl(served, "top", "pods", "-n", NS))
    assert out.splitlines()[0].split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert line_of(out, "staging-keycloak-5847455794-2wdjr")[1:] == ["8m", "537Mi"]


def test_kubeconfig_context_is_the_snapshots(served):
    assert ok(kubectl(served, "config", "current-context")).strip() == CONTEXT
    out = ok(kubectl(served, "get", "deployments", "-n", NS))
    assert line_of(out, "staging-keycloak")[1:4] == ["1/2", "2", "1"]


def test_writes_and_secrets_are_refused(served):
    deleted = kubectl(served, "delete", "pod", CRASHING_KEYCLOAK, "-n", NS)
    assert deleted.returncode == 1 and "MethodNotAllowed" in deleted.stderr and "read-only" in deleted.stderr
    secrets = kubectl(served, "get", "secrets", "-n", NS)
    assert secrets.returncode == 1 and 'the server doesn\'t have a resource type "secrets"' in secrets.stderr
