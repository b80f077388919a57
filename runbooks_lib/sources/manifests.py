"""The manifests source: pre-deploy YAML (files, directories, kustomizations).

No cluster has run these objects yet, so each workload's pod template stands in
for its pods, one per replica. Static rules then run unchanged; rules that need a
running cluster see that the state lacks the ``runtime`` capability and are skipped.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path

from ..errors import InputError
from ..state import ClusterState, Location
from .collect import ObjectCollector
from .documents import flatten, parse_documents

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
TEMPLATE_ANNOTATION = "runbooks.dev/stands-in-for"  # marks a pod made from a workload's template
_MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def is_kustomization(path: Path) -> bool:
    return path.is_dir() and any((path / name).is_file() for name in KUSTOMIZATION_FILES)


def load_manifest_files(paths: list[Path], source: str) -> ClusterState:
    collector = ObjectCollector()
    for path in paths:
        for doc in parse_documents(path):
            for item in flatten(doc, None, collector.warnings):
                collector.add(item)
    return _finish(collector, source)


def load_manifest_dir(root: Path) -> ClusterState:
    files = sorted(p for p in root.rglob("*") if p.suffix in _MANIFEST_SUFFIXES and p.is_file()
                   and p.name not in KUSTOMIZATION_FILES and not any(part.startswith(".") for part in p.relative_to(root).parts))
    if not files:
        raise InputError(f"{root}: no YAML or JSON manifests found")
    return load_manifest_files(files, str(root))


def load_kustomization(root: Path) -> ClusterState:
    rendered = render_kustomization(root)
    collector = ObjectCollector()
    for doc in parse_documents(root / "kustomize-output.yaml", rendered):
        for item in flatten(doc, None, collector.warnings):
            collector.add(item)
    state = _finish(collector, str(root))
    # Map each rendered object back to the file that declares it, where we can tell.
    state.locations = _map_to_declaring_files(root, state)
    return state


def render_kustomization(root: Path) -> str:
    kubectl, kustomize = shutil.which("kubectl"), shutil.which("kustomize")
    if kubectl:
        command = [kubectl, "kustomize", str(root)]
    elif kustomize:
        command = [kustomize, "build", str(root)]
    else:
        raise InputError(f"{root}: is a kustomization, but neither kubectl nor kustomize is on PATH to render it")
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InputError(f"{root}: {' '.join(command[:2])} failed: {exc}") from None
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise InputError(f"{root}: {Path(command[0]).name} could not render the kustomization: {detail[-1] if detail else 'no output'}")
    return result.stdout


def _finish(collector: ObjectCollector, source: str) -> ClusterState:
    state = collector.into(ClusterState(source=source, capabilities=frozenset()))
    pods = list(_stand_in_pods(state))
    if pods:
        state.objects.setdefault("Pod", []).extend(pods)
    return state


def _stand_in_pods(state: ClusterState):
    """One pod per replica from each workload's template, owned by the workload."""
    for kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "ReplicationController"):
        for workload in state.of_kind(kind):
            spec = workload.get("spec") if isinstance(workload.get("spec"), dict) else {}
            if kind == "CronJob":
                spec = ((spec.get("jobTemplate") or {}).get("spec") or {})
            template = spec.get("template")
            if not isinstance(template, dict):
                continue
            meta = workload["metadata"]
            replicas = _replica_count(kind, spec)
            for index in range(replicas):
                yield _pod_from_template(kind, meta, template, index)


def _replica_count(kind: str, spec: dict) -> int:
    if kind in ("DaemonSet",):
        return 1
    if kind in ("Job", "CronJob"):
        value = spec.get("parallelism", 1)
    else:
        value = spec.get("replicas", 1)
    return value if isinstance(value, int) and value >= 0 else 1


def _pod_from_template(kind: str, workload_meta: dict, template: dict, index: int) -> dict:
    template_meta = template.get("metadata") if isinstance(template.get("metadata"), dict) else {}
    name = f"{workload_meta['name']}-{index}" if kind == "StatefulSet" else f"{workload_meta['name']}-template-{index}"
    metadata = {
        "name": name,
        "namespace": workload_meta.get("namespace"),  # as declared: kubectl apply picks it later
        "labels": dict(template_meta.get("labels") or {}),
        "annotations": {TEMPLATE_ANNOTATION: f"{kind}/{workload_meta['name']}"},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": kind, "name": workload_meta["name"],
                             "uid": workload_meta.get("uid") or "", "controller": True}],
    }
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata,
            "spec": copy.deepcopy(template.get("spec") or {})}


def _map_to_declaring_files(root: Path, state: ClusterState) -> dict[tuple[str, str, str], Location]:
    """For kustomize output: find the resource file that declares each object.

    kustomize prefixes names and sets namespaces, so we match on kind plus the
    rendered name ending with the declared name; the longest declared name wins.
    """
    declared: list[tuple[str, str, Location]] = []
    for path in _resource_files(root.resolve(), set()):
        try:
            docs = list(parse_documents(path))
        except InputError:
            continue
        for doc in docs:
            for item in flatten(doc):
                obj = item.obj
                name = (obj.get("metadata") or {}).get("name") if isinstance(obj.get("metadata"), dict) else None
                if isinstance(name, str) and obj.get("kind"):
                    declared.append((obj["kind"], name, Location(str(path), doc.line)))
    locations: dict[tuple[str, str, str], Location] = {}
    for key in state.locations:
        kind, _namespace, name = key
        candidates = [(len(base), loc) for k, base, loc in declared if k == kind and name.endswith(base)]
        if candidates:
            locations[key] = max(candidates, key=lambda c: c[0])[1]
    return locations


def _resource_files(directory: Path, seen: set[Path]) -> list[Path]:
    """The resource files a kustomization includes, following its bases depth-first."""
    if directory in seen:
        return []
    seen.add(directory)
    kustomization = next((directory / n for n in KUSTOMIZATION_FILES if (directory / n).is_file()), None)
    if kustomization is None:
        return []
    try:
        spec = next(parse_documents(kustomization)).obj
    except (InputError, StopIteration):
        return []
    files: list[Path] = []
    entries = [e for key in ("resources", "bases", "components") for e in (spec.get(key) or []) if isinstance(e, str)]
    for entry in entries:
        if "://" in entry or entry.startswith("github.com/"):
            continue  # remote bases cannot be mapped to a local file
        target = (directory / entry).resolve()
        if target.is_dir():
            files.extend(_resource_files(target, seen))
        elif target.is_file():
            files.append(target)
    return files
