"""The Finding model: what a detector reports, with its evidence and a fix.

Serialized by ``to_dict`` into the ``findings`` list of ``runbooks findings --json``
and ``findings.json`` (schema: docs/findings-schema.md). Field names are part of
the interface.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from .timeutil import format_time

Severity = Literal["critical", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("critical", "warning", "info")
SEVERITY_RANK = {"critical": 3, "warning": 2, "info": 1}


@dataclass(frozen=True)
class Evidence:
    """One piece of evidence, naming where it came from.

    ``source`` is one of: ``event`` (reason, message, count, first/last seen),
    ``log`` (container, previous, line numbers and the lines), ``field`` (a field
    path in an object and its value), ``status`` (a status field of a live object),
    ``metric`` (a measured value), ``policy`` (a NetworkPolicy rule).
    """

    source: str
    text: str
    object: str | None = None  # "Pod ns/name" the evidence was read from
    path: str | None = None  # field path, e.g. spec.template.spec.containers[1].livenessProbe.httpGet.port
    value: Any = None
    reason: str | None = None
    message: str | None = None
    count: int | None = None
    first_seen: str | None = None
    last_seen: str | None = None
    container: str | None = None
    previous: bool | None = None
    first_line: int | None = None
    last_line: int | None = None
    lines: tuple[str, ...] | None = None

    @classmethod
    def from_event(cls, text: str, *, reason: str, message: str, count: int,
                   first_seen: datetime | None, last_seen: datetime | None, object: str | None = None) -> "Evidence":
        return cls("event", text, object=object, reason=reason, message=message, count=count,
                   first_seen=format_time(first_seen), last_seen=format_time(last_seen))

    @classmethod
    def from_log(cls, text: str, *, container: str, previous: bool, first_line: int, last_line: int,
                 lines: list[str] | tuple[str, ...], object: str | None = None) -> "Evidence":
        return cls("log", text, object=object, container=container, previous=previous,
                   first_line=first_line, last_line=last_line, lines=tuple(lines))

    @classmethod
    def from_field(cls, text: str, *, path: str, value: Any, object: str | None = None) -> "Evidence":
        return cls("field", text, object=object, path=path, value=value)

    @classmethod
    def from_status(cls, text: str, *, path: str, value: Any, object: str | None = None) -> "Evidence":
        return cls("status", text, object=object, path=path, value=value)

    def to_dict(self) -> dict:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        if data["lines"] is not None:
            data["lines"] = list(data["lines"])
        return {key: value for key, value in data.items() if value is not None}


@dataclass(frozen=True)
class Remediation:
    """What to do, and where one exists, the patch that does it."""

    text: str
    patch: str | None = None  # YAML
    patch_type: str | None = None  # "strategic-merge" | "json" | "merge" | "manifest"
    target: str | None = None  # "Deployment ns/name" the patch applies to
    command: str | None = None  # e.g. the kubectl patch command line

    def to_dict(self) -> dict:
        return {key: value for key, value in {
            "text": self.text, "patch": self.patch, "patch_type": self.patch_type,
            "target": self.target, "command": self.command}.items() if value is not None}


@dataclass(frozen=True)
class SourceLocation:
    """Where the object is declared, for findings on manifests."""

    file: str
    line: int | None = None
    path: str | None = None  # field path inside the object

    def to_dict(self) -> dict:
        return {key: value for key, value in {"file": self.file, "line": self.line, "path": self.path}.items()
                if value is not None}


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    namespace: str | None
    kind: str
    name: str
    summary: str
    evidence: tuple[Evidence, ...] = ()
    remediation: Remediation | None = None
    pods: tuple[str, ...] = ()
    container: str | None = None
    # Distinguishes findings of one rule on one object (a port, a probe type, a peer).
    discriminator: str | None = None
    related: tuple[str, ...] = ()  # ids of findings that explain this one
    location: SourceLocation | None = None

    @property
    def object(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"

    @property
    def id(self) -> str:
        """Stable across runs for the same problem, so a baseline can match findings."""
        key = "|".join([self.rule, self.namespace or "", self.kind, self.name, self.container or "",
                        self.discriminator or ""])
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "rule": self.rule,
            "severity": self.severity,
            "namespace": self.namespace,
            "kind": self.kind,
            "name": self.name,
            "pods": list(self.pods),
            "container": self.container,
            "summary": self.summary,
            "evidence": [item.to_dict() for item in self.evidence],
            "remediation": self.remediation.to_dict() if self.remediation else None,
            "related": list(self.related),
            "location": self.location.to_dict() if self.location else None,
        }


def sort_key(finding: Finding) -> tuple:
    return (-SEVERITY_RANK[finding.severity], finding.rule, finding.namespace or "", finding.kind,
            finding.name, finding.container or "", finding.discriminator or "")


def at_or_above(findings: list[Finding], threshold: str) -> list[Finding]:
    if threshold == "never":
        return []
    return [f for f in findings if SEVERITY_RANK[f.severity] >= SEVERITY_RANK[threshold]]
