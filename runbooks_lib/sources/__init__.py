"""Sources produce a ClusterState: snapshots, single files, manifests (and, later, live clusters).

``load`` picks the right one from what the path holds:

- ``example:NAME`` or a bare bundled example name (``staging-incident``);
- a directory with ``kustomization.yaml``: rendered with kubectl/kustomize;
- a directory in ``kubectl cluster-info dump`` layout: a snapshot;
- any other directory: manifest files;
- a single file: a ``kubectl get -o json|yaml`` List or a multi-document YAML
  stream. If it holds runtime data (pod statuses, events) it is treated as a
  snapshot, otherwise as manifests.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ..errors import InputError
from ..resources import EXAMPLE_PREFIX, example_path, is_example_name
from ..state import RUNTIME, ClusterState
from .collect import ObjectCollector
from .documents import flatten, parse_documents
from .manifests import is_kustomization, load_kustomization, load_manifest_dir, load_manifest_files
from .snapshot import load_snapshot, looks_like_snapshot

__all__ = ["load", "resolve_source"]


def resolve_source(source: str | Path) -> tuple[Path, str]:
    """The path a source names, and how to describe it to people (stable across machines)."""
    text = str(source)
    path = Path(text).expanduser()
    if text.startswith(EXAMPLE_PREFIX) or (not path.exists() and is_example_name(text)):
        name = text.removeprefix(EXAMPLE_PREFIX).strip("/")
        return example_path(name), EXAMPLE_PREFIX + name
    if not path.exists():
        raise InputError(f"{text}: no such file or directory (nor a bundled example)")
    return path, text


def load(source: str | Path, namespace: str | list[str] | None = None,
         now: datetime | str | None = None) -> ClusterState:
    """Load any supported source into a ClusterState, optionally restricted to namespaces."""
    path, description = resolve_source(source)
    if path.is_dir():
        if is_kustomization(path):
            state = load_kustomization(path)
        elif looks_like_snapshot(path):
            state = load_snapshot(path)
        else:
            state = load_manifest_dir(path)
    else:
        state = _load_single_file(path)
    state.source = description
    namespaces = [namespace] if isinstance(namespace, str) else namespace
    return state.restricted_to(namespaces).with_now(now)


def _load_single_file(path: Path) -> ClusterState:
    collector = ObjectCollector()
    for doc in parse_documents(path):
        for item in flatten(doc, None, collector.warnings):
            collector.add(item)
    if not collector.objects:
        raise InputError(f"{path}: holds no Kubernetes objects")
    if _has_runtime_data(collector.objects):
        state = collector.into(ClusterState(source=str(path), capabilities=frozenset({RUNTIME})))
        return state
    return load_manifest_files([path], str(path))


def _has_runtime_data(objects: dict[str, list[dict]]) -> bool:
    if objects.get("Event"):
        return True
    return any(isinstance(pod.get("status"), dict) and pod["status"] for pod in objects.get("Pod", []))
