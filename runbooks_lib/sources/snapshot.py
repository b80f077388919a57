"""The snapshot source: a directory in ``kubectl cluster-info dump --output-directory`` layout.

See docs/snapshot-format.md. A missing optional file is normal; a present file
that cannot be read is an InputError naming it.
"""

from __future__ import annotations

import gc
import json
import os
from dataclasses import replace
from pathlib import Path

from ..errors import InputError
from ..kinds import CLUSTER_FILES, NAMESPACED_FILES
from ..redact import redact_in_place
from ..state import LOGS, METRICS, RUNTIME, ClusterState, ResourceError
from ..timeutil import parse_time
from .collect import ObjectCollector
from .documents import flatten, kind_for_file, parse_documents

SNAPSHOT_META = "snapshot.json"
SUPPORTED_FORMAT_VERSIONS = (1,)
LOG_FILE = "logs.txt"
PREVIOUS_LOG_FILE = "logs.previous.txt"
_SUFFIXES = (".json", ".yaml", ".yml")


def looks_like_snapshot(root: Path) -> bool:
    if (root / SNAPSHOT_META).is_file() or _find(root, "nodes"):
        return True
    return any(_is_namespace_dir(child) for child in _subdirs(root))


def load_snapshot(root: Path, redact: bool = False) -> ClusterState:
    """The snapshot at ``root``. With ``redact``, each file's objects are masked as soon as it is
    parsed (``redact.redact_in_place``), so what it held unmasked, and every copy of a repeated
    string, is freed before the next file is read: the load peaks at about one copy of the objects.
    """
    # A snapshot is millions of dicts and lists that live as long as the state. The cyclic collector
    # would walk them again and again while they are parsed (doubling the parse time on 10k pods) and
    # on every full collection after. So it is paused while loading, and the parsed objects then go to
    # its permanent generation (gc.freeze): they form no reference cycles, so reference counting still
    # frees them when the state goes. Two things keep that true: garbage cycles made before (an earlier
    # state and its frames, in a kernel that runs several runbooks) are collected first, not frozen;
    # and the ClusterState returned is a fresh, unfrozen copy, since it and its frames form a cycle.
    gc.collect()
    collecting = gc.isenabled()
    gc.disable()
    try:
        state = _load_snapshot(root, redact)
        gc.freeze()
    finally:
        if collecting:
            gc.enable()
    return replace(state)


def _load_snapshot(root: Path, redact: bool) -> ClusterState:
    state = ClusterState(source=str(root))
    _read_meta(root, state)
    collector = ObjectCollector(track_locations=False)
    metrics_seen = False
    for stem in CLUSTER_FILES:
        path = _find(root, stem)
        if path:
            metrics_seen |= stem == "nodemetrics"
            _collect_file(path, collector, redact)
    for ns_dir in _subdirs(root):
        if not _is_namespace_dir(ns_dir):
            continue
        if ns_dir.name not in state.namespaces_read:
            state.namespaces_read.append(ns_dir.name)
        for stem in NAMESPACED_FILES:
            path = _find(ns_dir, stem)
            if path:
                metrics_seen |= stem == "podmetrics"
                _collect_file(path, collector, redact)
        for pod_dir in _subdirs(ns_dir):
            for previous, name in ((False, LOG_FILE), (True, PREVIOUS_LOG_FILE)):
                log_path = pod_dir / name
                if log_path.is_file():
                    state.logs.add_file(ns_dir.name, pod_dir.name, previous, log_path)
    collector.into(state)
    state.locations = {}  # a live object has no source file worth pointing at; manifests do
    state.capabilities = frozenset({RUNTIME} | ({LOGS} if state.logs else set()) | ({METRICS} if metrics_seen else set()))
    return state


def _read_meta(root: Path, state: ClusterState) -> None:
    path = root / SNAPSHOT_META
    if not path.is_file():
        return
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: unreadable snapshot metadata: {exc}") from None
    if not isinstance(meta, dict):
        raise InputError(f"{path}: expected a JSON object, found {type(meta).__name__}")
    version = meta.get("format_version", 1)
    if version not in SUPPORTED_FORMAT_VERSIONS:
        raise InputError(f"{path}: snapshot format_version {version!r} is not supported "
                         f"(this runbooks_lib reads {', '.join(map(str, SUPPORTED_FORMAT_VERSIONS))})")
    captured = meta.get("captured_at")
    state.captured_at = parse_time(captured)
    if captured and state.captured_at is None:
        raise InputError(f"{path}: captured_at {captured!r} is not an RFC 3339 timestamp")
    state.context = _str_or_none(meta.get("context"))
    state.cluster = _str_or_none(meta.get("cluster"))
    state.server_version = _str_or_none(meta.get("server_version"))
    state.namespaces_read = [ns for ns in meta.get("namespaces") or [] if isinstance(ns, str)]
    for entry in meta.get("errors") or []:
        if isinstance(entry, dict):
            state.errors.append(ResourceError(
                resource=str(entry.get("resource") or "?"), namespace=_str_or_none(entry.get("namespace")),
                code=entry.get("code") if isinstance(entry.get("code"), int) else None,
                reason=str(entry.get("reason") or ""), message=str(entry.get("message") or "")))


def _collect_file(path: Path, collector: ObjectCollector, redact: bool) -> None:
    kind = kind_for_file(path)
    for doc in parse_documents(path):
        kept = [item.obj for item in flatten(doc, kind, collector.warnings) if collector.add(item)]
        if redact:
            redact_in_place(kept)


def _find(directory: Path, stem: str) -> Path | None:
    for suffix in _SUFFIXES:
        path = directory / (stem + suffix)
        if path.is_file():
            return path
    return None


def _is_namespace_dir(directory: Path) -> bool:
    return any(_find(directory, stem) for stem in NAMESPACED_FILES)


def _subdirs(directory: Path) -> list[Path]:
    try:  # scandir knows directories without a stat per entry: a namespace can hold 10,000 pod folders
        with os.scandir(directory) as entries:
            names = sorted(entry.name for entry in entries if not entry.name.startswith(".") and _is_dir(entry))
        return [directory / name for name in names]
    except OSError as exc:
        raise InputError(f"{directory}: cannot list directory: {exc.strerror or exc}") from None


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:  # a symlink loop (ELOOP): not a folder to read, and not a reason to refuse the snapshot
        return False


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
