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
from ..redact import redact_state_in_place, redaction_enabled
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


def load(source: str | Path | None = None, namespace: str | list[str] | None = None,
         now: datetime | str | None = None, *, context: str | None = None, in_cluster: bool = False,
         kubeconfig: str | None = None, all_namespaces: bool = False, selector: str | None = None,
         progress=None) -> ClusterState:
    """Load any supported source into a ClusterState, optionally restricted to namespaces.

    With ``context`` or ``in_cluster`` (and no source) it reads a live cluster, GET only.
    """
    namespaces = [namespace] if isinstance(namespace, str) else namespace
    redact = redaction_enabled()  # nothing downstream (frames, findings, notebooks) sees a credential
    if context or in_cluster or source is None:
        if source is not None:
            raise InputError("give either a source (snapshot, manifests, example) or --context/--in-cluster, not both")
        from .live import load_live, require_live_choice

        require_live_choice(context, in_cluster)  # no silent guessing of a cluster
        state = load_live(context=context, in_cluster=in_cluster, kubeconfig=kubeconfig, namespaces=namespaces,
                          all_namespaces=all_namespaces, selector=selector, progress=progress)
        return _finish(state, None, now, redact)
    path, description = resolve_source(source)
    objects_redacted = False
    if path.is_file() and path.name.endswith((".tar.gz", ".tgz")):
        from ..capture import load_snapshot_tar

        state = load_snapshot_tar(path)
    elif path.is_dir():
        if is_kustomization(path):
            state = load_kustomization(path)
        elif looks_like_snapshot(path):
            state = load_snapshot(path, redact=redact)
            objects_redacted = redact
        else:
            state = load_manifest_dir(path)
    else:
        state = _load_single_file(path)
    state.source = description
    return _finish(state, namespaces, now, redact, objects_redacted)


def _finish(state: ClusterState, namespaces: list[str] | None, now, redact: bool,
            objects_redacted: bool = False) -> ClusterState:
    state = state.restricted_to(namespaces).with_now(now)
    if redact:  # the state is ours alone: masked in place, no second copy of its objects
        redact_state_in_place(state, objects=not objects_redacted)
    return state


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
