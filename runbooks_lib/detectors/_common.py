"""Helpers shared by detectors: field paths, event evidence, patches, locations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import pandas as pd
import yaml

from ..findings import Evidence, Remediation, SourceLocation

if TYPE_CHECKING:
    from ..state import ClusterState

_POD_SPEC_PATH = {
    "Deployment": "spec.template.spec", "StatefulSet": "spec.template.spec", "DaemonSet": "spec.template.spec",
    "ReplicaSet": "spec.template.spec", "ReplicationController": "spec.template.spec", "Job": "spec.template.spec",
    "CronJob": "spec.jobTemplate.spec.template.spec", "Pod": "spec",
}


def pod_spec_path(kind: str) -> str:
    """Where the pod spec sits inside an object of this kind."""
    return _POD_SPEC_PATH.get(kind, "spec")


def container_path(kind: str, index: int, *rest: str) -> str:
    """``spec.template.spec.containers[1].livenessProbe.httpGet.port`` for a Deployment, and so on."""
    return ".".join([f"{pod_spec_path(kind)}.containers[{index}]", *rest])


def object_name(kind: str, namespace: str | None, name: str) -> str:
    return f"{kind} {namespace + '/' if namespace else ''}{name}"


def to_yaml(data: object) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100)


def pod_template_patch(kind: str, pod_spec_patch: dict) -> dict:
    """Wrap a pod-spec strategic-merge patch for the workload kind."""
    patch: dict = pod_spec_patch
    for key in reversed(pod_spec_path(kind).split(".")):
        patch = {key: patch}
    return patch


def container_patch(kind: str, namespace: str | None, name: str, container: str, body: dict,
                    text: str) -> Remediation:
    """A strategic-merge patch changing one container (containers merge on name)."""
    patch = pod_template_patch(kind, {"containers": [{"name": container, **body}]})
    target = object_name(kind, namespace, name)
    text = note_redacted(text, to_yaml(patch))
    ns_flag = f" -n {namespace}" if namespace else ""
    return Remediation(text=text, patch=to_yaml(patch), patch_type="strategic-merge", target=target,
                       command=f"kubectl patch {kind.lower()} {name}{ns_flag} --type strategic --patch-file fix.yaml")


def note_redacted(text: str, patch: str) -> str:
    """A patch restating a list (args, env) can carry values masked by redaction; applied as is,
    it would overwrite the real ones. Say so."""
    from ..redact import REDACTED

    if REDACTED in patch:
        return (text + f" Some existing values hold credentials shown as {REDACTED}: copy their real values "
                "from your manifest into the patch before applying it.")
    return text


def events_for(state: "ClusterState", namespace: str | None, object_kind: str, names: Iterable[str],
               reasons: Iterable[str] | None = None) -> pd.DataFrame:
    events = state.frames.events
    mask = (events["object_kind"] == object_kind) & events["object_name"].isin(list(names))
    if namespace is not None:
        mask &= events["namespace"] == namespace
    if reasons is not None:
        mask &= events["reason"].isin(list(reasons))
    return events[mask]


def event_evidence(row, text: str | None = None) -> Evidence:
    """Evidence from one row of ``frames.events``."""
    first = row.first_seen if not pd.isna(row.first_seen) else None
    last = row.last_seen if not pd.isna(row.last_seen) else None
    count = int(row.count)
    label = text or f"{row.reason}: {row.message} (x{count})"
    return Evidence.from_event(label, reason=row.reason, message=row.message, count=count,
                               first_seen=first, last_seen=last,
                               object=object_name(row.object_kind, row.namespace, row.object_name))


def location(state: "ClusterState", kind: str, namespace: str | None, name: str,
             path: str | None = None) -> SourceLocation | None:
    """Where a manifest object is declared, when the source knows."""
    found = state.location(kind, namespace, name)
    return SourceLocation(found.file, found.line, path) if found else None


def workload_object(state: "ClusterState", kind: str, namespace: str | None, name: str) -> dict | None:
    return state.get(kind, namespace, name)
