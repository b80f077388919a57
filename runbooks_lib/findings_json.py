"""The findings document: ``runbooks findings --json`` and the audit's ``findings.json``.

One builder serves both so they cannot drift apart. The schema is versioned and
documented in docs/findings-schema.md; bump SCHEMA_VERSION on incompatible change.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from .findings import SEVERITIES
from .timeutil import format_time

if TYPE_CHECKING:
    from .registry import DetectionResult
    from .state import ClusterState

SCHEMA = "runbooks-findings"
SCHEMA_VERSION = 1


def findings_document(state: "ClusterState", result: "DetectionResult", **extra) -> dict:
    counts = Counter(finding.severity for finding in result.findings)
    document = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "source": state.source,
        "captured_at": format_time(state.captured_at),
        "now": format_time(state.now),
        "context": state.context,
        "cluster": state.cluster,
        "namespaces": state.namespaces,
        "partial": state.partial or bool(result.errors),
        "errors": [error.to_dict() for error in state.errors],
        "warnings": list(state.warnings),
        "rules_run": list(result.rules_run),
        "rules_skipped": dict(result.rules_skipped),
        "detector_errors": list(result.errors),
        "summary": {severity: counts.get(severity, 0) for severity in SEVERITIES},
        "findings": [finding.to_dict() for finding in result.findings],
    }
    document.update(extra)
    return document
