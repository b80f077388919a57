"""Golden tests: the exact findings of the bundled examples.

The staging-incident example reproduces the seed incident; each of its failures
must be named with evidence and a fix. A change here is a change in what on-call
engineers are told: review it as such.
"""

import json

import pytest

from runbooks_lib import load
from runbooks_lib.registry import run_detectors

MCP = "staging-mcp-server-langgraph"
PODS_REV11 = ("staging-mcp-server-langgraph-7c9d54f6b8-h4wzn", "staging-mcp-server-langgraph-7c9d54f6b8-x7k2p")
PODS_REV12 = ("staging-mcp-server-langgraph-6b8f9d7c45-2lrtd", "staging-mcp-server-langgraph-6b8f9d7c45-m9vq5")

EXPECTED_STAGING = [
    ("crashloop", "critical", "Deployment", "staging-keycloak", "keycloak", ("staging-keycloak-5847455794-txkc6",)),
    ("crashloop", "critical", "Deployment", MCP, "mcp-server-langgraph", PODS_REV12),
    ("netpol-asymmetric", "critical", "Deployment", "staging-keycloak", None,
     ("staging-keycloak-5847455794-2wdjr", "staging-keycloak-5847455794-txkc6")),
    ("probe-connection-refused", "critical", "Deployment", MCP, "cloud-sql-proxy", PODS_REV12 + PODS_REV11),
    ("probe-http-error", "critical", "Deployment", MCP, "mcp-server-langgraph", PODS_REV11),
    ("probe-http-error", "critical", "Deployment", MCP, "mcp-server-langgraph", PODS_REV11),
    ("probe-port-not-served", "critical", "Deployment", MCP, "cloud-sql-proxy", PODS_REV12 + PODS_REV11),
    ("rollout-stuck", "critical", "Deployment", "staging-keycloak", None, ("staging-keycloak-5847455794-txkc6",)),
    ("rollout-stuck", "critical", "Deployment", MCP, None, PODS_REV12),
    ("service-no-endpoints", "critical", "Service", MCP, None, PODS_REV12 + PODS_REV11),
    ("crashloop", "warning", "Deployment", MCP, "cloud-sql-proxy", PODS_REV12 + PODS_REV11),
    ("service-duplicate-port", "info", "Deployment", "kube-dns", "sidecar",
     ("kube-dns-5b9c8d7f46-r8fxl", "kube-dns-5b9c8d7f46-t6n2k")),
    ("stale-replicasets", "info", "Deployment", MCP, None, ()),
]


@pytest.fixture(scope="module")
def staging():
    return run_detectors(load("staging-incident")).findings


def by_rule(findings, rule, **where):
    return [f for f in findings if f.rule == rule and all(getattr(f, k) == v for k, v in where.items())]


def test_staging_incident_findings_are_exactly_these(staging):
    assert [(f.rule, f.severity, f.kind, f.name, f.container, f.pods) for f in staging] == EXPECTED_STAGING
    assert len({f.id for f in staging}) == len(staging), "finding ids are unique"
    for finding in staging:
        assert finding.evidence, f"{finding.rule} on {finding.name} has no evidence"
        assert finding.remediation and finding.remediation.text, f"{finding.rule} on {finding.name} has no fix"


def test_crashloop_names_the_observability_error_and_the_module_level_frame(staging):
    (finding,) = by_rule(staging, "crashloop", container="mcp-server-langgraph")
    assert "RuntimeError: Observability not initialized" in finding.summary
    assert "raised at import" in finding.summary and "server_streamable.py:187" in finding.summary
    logs = [e for e in finding.evidence if e.source == "log"]
    assert logs and logs[0].previous is True
    text = "\n".join(logs[0].lines)
    assert "Traceback (most recent call last):" in text and text.rstrip().endswith(
        "RuntimeError: Observability not initialized. Call init_observability() first.")


def test_probe_http_error_reports_404_on_the_health_paths(staging):
    findings = by_rule(staging, "probe-http-error")
    summaries = " ".join(f.summary for f in findings)
    assert "/health/ready" in summaries and "GET /health " in summaries and "404" in summaries
    assert "/health/health/ready" in " ".join(f.remediation.text for f in findings), \
        "the fix explains the double-mounted sub-app"


def test_cloud_sql_proxy_is_named_for_9801_and_for_its_missing_flags(staging):
    (refused,) = by_rule(staging, "probe-connection-refused")
    assert "9801" in refused.summary and refused.container == "cloud-sql-proxy"
    (static,) = by_rule(staging, "probe-port-not-served")
    assert "--health-check is not set" in static.summary
    patch = static.remediation.patch
    for flag in ("--health-check", "--http-port=9801", "--http-address=0.0.0.0", "acme-staging:us-central1:mcp-staging-pg"):
        assert flag in patch, flag


def test_keycloak_peers_are_blocked_on_7800_and_9000(staging):
    (finding,) = by_rule(staging, "netpol-asymmetric")
    assert finding.severity == "critical"
    assert "7800/TCP" in finding.summary and "9000/TCP" in finding.summary
    assert "port: 7800" in finding.remediation.patch and "port: 9000" in finding.remediation.patch


def test_the_healthy_example_reports_nothing_above_info():
    findings = run_detectors(load("healthy")).findings
    assert [f.severity for f in findings if f.severity != "info"] == []
    # the one info finding is real: GKE's kube-dns declares two container ports named "metrics"
    assert [(f.rule, f.name) for f in findings] == [("service-duplicate-port", "kube-dns")]


def test_findings_serialise_to_json(staging):
    for finding in staging:
        json.dumps(finding.to_dict())
