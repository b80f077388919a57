"""Writing a ClusterState as a snapshot (docs/snapshot-format.md), and ``runbooks capture``.

``write_snapshot`` takes any state (live, loaded, redacted) and writes the layout
``kubectl cluster-info dump`` writes plus this project's extensions, so that
``runbooks_lib.load`` reads back the same objects, logs and metadata. ``capture``
is the live source followed by ``write_snapshot`` (or a ``.tar.gz`` of it).
"""

from __future__ import annotations

import json
import re
import shutil
import tarfile
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError
from .kinds import BY_KIND, NAMESPACED_FILES
from .podlogs import render_log_file
from .sources.live import KIND_OF_RESOURCE, LOG_RESOURCE, load_live
from .sources.snapshot import LOG_FILE, PREVIOUS_LOG_FILE, SNAPSHOT_META, load_snapshot, looks_like_snapshot
from .state import METRICS, ClusterState

SNAPSHOT_FORMAT = "runbooks-snapshot"
SNAPSHOT_FORMAT_VERSION = 1
NAMESPACES_FILE = "namespaces"  # extension: a NamespaceList, for namespace labels
TAR_SUFFIXES = (".tar.gz", ".tgz")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")  # object names as path parts


@dataclass
class WrittenSnapshot:
    root: Path
    files: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # kind -> objects the format has no file for

    def describe(self) -> str:
        text = f"{self.files} files"
        if self.skipped:
            kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(self.skipped.items()))
            text += f"; not written (no file in the snapshot format): {kinds}"
        return text


def write_snapshot(state: ClusterState, out_dir: str | Path) -> WrittenSnapshot:
    """Write ``state`` as a snapshot directory; refuses to write into a non-empty directory."""
    root = Path(out_dir)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise InputError(f"{root}: already exists and is not an empty directory; choose a new output")
    try:
        root.mkdir(parents=True, exist_ok=True)
        return _write(state, root)
    except OSError as exc:
        raise InputError(f"{root}: cannot write the snapshot: {exc.strerror or exc}") from None


def _write(state: ClusterState, root: Path) -> WrittenSnapshot:
    written = WrittenSnapshot(root)
    unread = _unread_kinds(state)
    with_metrics = METRICS in state.capabilities

    def write_list(path: Path, kind: str, items: list[dict], namespace: str | None) -> None:
        if kind in unread.get(namespace, set()) | unread.get(None, set()):
            return  # it could not be read: an empty list would claim there were none
        info = BY_KIND[kind]
        document = {"kind": kind + "List", "apiVersion": info.api_version, "metadata": {},
                    "items": [_as_list_item(obj, kind, info.api_version) for obj in _sorted(items)]}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=4, ensure_ascii=False) + "\n", encoding="utf-8")
        written.files += 1

    write_list(root / "nodes.json", "Node", state.of_kind("Node"), None)
    if with_metrics:
        write_list(root / "nodemetrics.json", "NodeMetrics", state.of_kind("NodeMetrics"), None)
    if state.of_kind("Namespace"):
        write_list(root / f"{NAMESPACES_FILE}.json", "Namespace", state.of_kind("Namespace"), None)
    file_kinds = {stem: info.kind for info in BY_KIND.values() if (stem := info.plural) in NAMESPACED_FILES}
    for namespace in _namespaces_to_write(state):
        _check_path_part(namespace, "namespace")
        for stem, kind in file_kinds.items():
            if kind == "PodMetrics" and not with_metrics:
                continue
            write_list(root / namespace / f"{stem}.json", kind, state.of_kind(kind, namespace), namespace)
    written.files += _write_logs(state, root)
    handled = {"Node", "NodeMetrics", "Namespace", *file_kinds.values()}
    written.skipped = {kind: len(items) for kind, items in state.objects.items() if items and kind not in handled}
    (root / SNAPSHOT_META).write_text(json.dumps(snapshot_meta(state), indent=4) + "\n", encoding="utf-8")
    written.files += 1
    return written


def snapshot_meta(state: ClusterState) -> dict:
    """snapshot.json: what the loader reads back into the state's metadata."""
    captured = state.captured_at
    return {
        "format": SNAPSHOT_FORMAT,
        "format_version": SNAPSHOT_FORMAT_VERSION,
        "captured_at": captured.strftime("%Y-%m-%dT%H:%M:%SZ") if captured else None,
        "context": state.context,
        "cluster": state.cluster,
        "server_version": state.server_version,
        "namespaces": list(state.namespaces_read),
        "errors": [error.to_dict() for error in state.errors],
    }


def _write_logs(state: ClusterState, root: Path) -> int:
    files = 0
    for namespace, pod, previous in sorted(state.logs.pods()):
        # LogStore keeps each pod's containers in file order (init containers first, as kubectl writes).
        logs = state.logs._pod_logs(namespace, pod, previous)
        if not logs:
            continue
        _check_path_part(namespace, "namespace")
        _check_path_part(pod, "pod")
        path = root / namespace / pod / (PREVIOUS_LOG_FILE if previous else LOG_FILE)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = render_log_file(namespace, pod, {name: log.text for name, log in logs.items()})
        path.write_text(text, encoding="utf-8", newline="")
        files += 1
    return files


def _namespaces_to_write(state: ClusterState) -> list[str]:
    """Read namespaces (an empty one still gets its files) and every namespace holding objects."""
    names = set(state.namespaces_read)
    for kind, items in state.objects.items():
        info = BY_KIND.get(kind)
        if info and info.namespaced:
            names.update(ns for obj in items if (ns := (obj.get("metadata") or {}).get("namespace")))
    return sorted(names)


def _unread_kinds(state: ClusterState) -> dict[str | None, set[str]]:
    unread: dict[str | None, set[str]] = {}
    for error in state.errors:
        kind = KIND_OF_RESOURCE.get(error.resource)
        if kind and error.resource != LOG_RESOURCE:
            unread.setdefault(error.namespace, set()).add(kind)
    return unread


def _as_list_item(obj: dict, kind: str, api_version: str) -> dict:
    """Items of a typed List carry no kind/apiVersion (as kubectl writes them), unless they differ."""
    item = dict(obj)
    if item.get("kind") == kind:
        item.pop("kind")
        if item.get("apiVersion") == api_version:
            item.pop("apiVersion")
    return item


def _sorted(items: list[dict]) -> list[dict]:
    return sorted(items, key=lambda o: ((o.get("metadata") or {}).get("namespace") or "",
                                        (o.get("metadata") or {}).get("name") or ""))


def _check_path_part(name: str, what: str) -> None:
    if not _SAFE_NAME.match(name or "") or name in (".", ".."):
        raise InputError(f"{what} name {name!r} cannot be a path in a snapshot")


# -- .tar.gz ----------------------------------------------------------------------------------------
def write_snapshot_tar(state: ClusterState, tar_path: str | Path) -> WrittenSnapshot:
    """Write the snapshot as one ``.tar.gz`` whose single top folder is the archive's stem."""
    tar_path = Path(tar_path)
    if tar_path.exists():
        raise InputError(f"{tar_path}: already exists; choose a new output")
    stem = tar_stem(tar_path)
    with tempfile.TemporaryDirectory(prefix="runbooks-capture-") as scratch:
        written = write_snapshot(state, Path(scratch) / stem)
        try:
            with tarfile.open(tar_path, "w:gz") as archive:
                archive.add(written.root, arcname=stem)
        except OSError as exc:
            raise InputError(f"{tar_path}: cannot write: {exc.strerror or exc}") from None
    written.root = tar_path
    return written


def tar_stem(path: Path) -> str:
    name = path.name
    for suffix in TAR_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)] or "snapshot"
    return name


def is_snapshot_tar(path: Path) -> bool:
    return path.is_file() and path.name.endswith(TAR_SUFFIXES)


def load_snapshot_tar(path: str | Path) -> ClusterState:
    """Load a snapshot ``.tar.gz`` (as ``runbooks capture --tar`` writes it).

    It is unpacked into a private temporary folder, removed when the state's logs are
    no longer referenced: logs are read lazily from there. Only plain files and folders
    inside the archive are accepted."""
    path = Path(path)
    scratch = Path(tempfile.mkdtemp(prefix="runbooks-snapshot-"))
    try:
        _extract(path, scratch)
        root = _snapshot_root(scratch, path)
        state = load_snapshot(root)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    state.source = str(path)
    weakref.finalize(state.logs, shutil.rmtree, str(scratch), True)
    return state


def _extract(path: Path, into: Path) -> None:
    try:
        with tarfile.open(path, "r:*") as archive:
            members = archive.getmembers()
            for member in members:
                target = (into / member.name).resolve()
                if not (member.isfile() or member.isdir()) or not target.is_relative_to(into.resolve()):
                    raise InputError(f"{path}: refusing archive member {member.name!r} "
                                     "(only plain files and folders inside the archive)")
            if hasattr(tarfile, "data_filter"):
                archive.extractall(into, members=members, filter="data")
            else:  # pragma: no cover - older Pythons; members were checked above
                archive.extractall(into, members=members)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise InputError(f"{path}: not a readable .tar.gz snapshot: {exc}") from None


def _snapshot_root(scratch: Path, origin: Path) -> Path:
    if (scratch / SNAPSHOT_META).is_file() or looks_like_snapshot(scratch):
        return scratch
    children = [child for child in scratch.iterdir() if child.is_dir()]
    if len(children) == 1 and looks_like_snapshot(children[0]):
        return children[0]
    raise InputError(f"{origin}: the archive holds no snapshot (no snapshot.json, nodes.json or namespace folders)")


# -- capture ----------------------------------------------------------------------------------------------
def capture(out: str | Path, *, tar: bool = False, **live_options) -> tuple[ClusterState, WrittenSnapshot]:
    """Read a live cluster (see ``load_live`` for the options) and write it, redacted, as a snapshot."""
    out = Path(out)
    target = out if not tar or out.name.endswith(TAR_SUFFIXES) else out.with_name(out.name + ".tar.gz")
    if target.exists() and (tar or not target.is_dir() or any(target.iterdir())):
        raise InputError(f"{target}: already exists; choose a new output")  # before minutes of reading
    state = load_live(**live_options)
    from .redact import redact_state_in_place, redaction_enabled

    if redaction_enabled():  # captures go into tickets: no credential leaves the cluster (RUNBOOKS_NO_REDACT=1)
        redact_state_in_place(state)  # the state was just read and is ours: no second copy of a big cluster
    written = write_snapshot_tar(state, target) if tar else write_snapshot(state, target)
    return state, written
