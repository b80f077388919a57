"""The cluster state: what every source (snapshot, manifests, live) produces.

Nothing downstream knows which source a state came from. What it may need to know
is what the state *can* answer, which ``capabilities`` says: a pre-deploy manifest
set has no events, logs or metrics, so rules that need them are skipped.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TypeVar

from .kinds import BY_KIND
from .podlogs import ContainerLog, read_log_file
from .timeutil import parse_time

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"

# What a state can answer. Detectors declare the ones they need.
RUNTIME = "runtime"  # pod statuses and events from a running cluster
LOGS = "logs"
METRICS = "metrics"


@dataclass(frozen=True)
class ResourceError:
    """A resource the source could not read, and why (403, timeout, unreadable file...)."""

    resource: str
    namespace: str | None
    code: int | None
    reason: str
    message: str = ""

    def to_dict(self) -> dict:
        return {"resource": self.resource, "namespace": self.namespace, "code": self.code,
                "reason": self.reason, "message": self.message}


@dataclass(frozen=True)
class Location:
    """Where an object came from, for manifests: file and 1-based line of the document."""

    file: str
    line: int | None = None


class LogStore:
    """Container logs, current and previous, read lazily: big snapshots have big logs."""

    def __init__(self) -> None:
        self._files: dict[tuple[str, str, bool], Path] = {}
        self._parsed: dict[tuple[str, str, bool], dict[str, ContainerLog]] = {}

    def add_file(self, namespace: str, pod: str, previous: bool, path: Path) -> None:
        self._files[(namespace, pod, previous)] = path

    def add_text(self, namespace: str, pod: str, container: str, previous: bool, text: str) -> None:
        entry = self._parsed.setdefault((namespace, pod, previous), {})
        entry[container] = ContainerLog(namespace, pod, container, text, 1, False)

    def _pod_logs(self, namespace: str, pod: str, previous: bool) -> dict[str, ContainerLog]:
        key = (namespace, pod, previous)
        if key not in self._parsed:
            path = self._files.get(key)
            self._parsed[key] = read_log_file(path) if path else {}
        return self._parsed[key]

    def get(self, namespace: str, pod: str, container: str, previous: bool = False) -> ContainerLog | None:
        return self._pod_logs(namespace, pod, previous).get(container)

    def pods(self) -> set[tuple[str, str, bool]]:
        return set(self._files) | set(self._parsed)

    def __bool__(self) -> bool:
        return bool(self._files or self._parsed)


@dataclass
class ClusterState:
    """Kubernetes objects by kind, plus logs and the capture's metadata."""

    objects: dict[str, list[dict]] = field(default_factory=dict)
    logs: LogStore = field(default_factory=LogStore)
    source: str = ""  # how to describe where this came from, e.g. "example:staging-incident"
    captured_at: datetime | None = None
    context: str | None = None
    cluster: str | None = None
    server_version: str | None = None
    namespaces_read: list[str] = field(default_factory=list)
    errors: list[ResourceError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    capabilities: frozenset[str] = frozenset({RUNTIME, LOGS, METRICS})
    locations: dict[tuple[str, str, str], Location] = field(default_factory=dict)
    now_override: datetime | None = None
    _namespace_index: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    # -- objects -------------------------------------------------------------
    def of_kind(self, kind: str, namespace: str | None = None) -> list[dict]:
        items = self.objects.get(kind, [])
        if namespace is None:
            return items
        # An index by namespace, built on first use per kind: a check per Service or per workload
        # that scanned every pod of the cluster each time was quadratic in the cluster's size.
        by_namespace = self._namespace_index.get(kind)
        if by_namespace is None or by_namespace[0] is not items or by_namespace[1] != len(items):
            grouped: dict[object, list[dict]] = {}
            for obj in items:
                grouped.setdefault((obj.get("metadata") or {}).get("namespace"), []).append(obj)
            by_namespace = self._namespace_index[kind] = (items, len(items), grouped)
        return list(by_namespace[2].get(namespace, ()))

    def get(self, kind: str, namespace: str | None, name: str) -> dict | None:
        return self._index.get((kind, namespace or "", name))

    def by_uid(self, uid: str) -> dict | None:
        return self._uid_index.get(uid)

    @cached_property
    def _index(self) -> dict[tuple[str, str, str], dict]:
        index = {}
        for kind, items in self.objects.items():
            for obj in items:
                meta = _meta(obj)  # once per object: there can be 100,000 events
                index[(kind, meta.get("namespace") or "", meta.get("name") or "")] = obj
        return index

    @cached_property
    def _uid_index(self) -> dict[str, dict]:
        return {uid: obj for items in self.objects.values() for obj in items
                if isinstance(uid := _meta(obj).get("uid"), str) and uid}

    @property
    def kinds(self) -> list[str]:
        return sorted(kind for kind, items in self.objects.items() if items)

    @cached_property
    def namespaces(self) -> list[str]:
        """Every namespace the state mentions: read, declared, or holding objects."""
        names = set(self.namespaces_read)
        names.update(_meta(ns).get("name") for ns in self.of_kind("Namespace"))
        for kind, items in self.objects.items():
            info = BY_KIND.get(kind)
            if info is None or info.namespaced:
                names.update(_meta(obj).get("namespace") for obj in items)
        return sorted(name for name in names if name)

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        """Labels of a namespace; the API server always sets kubernetes.io/metadata.name."""
        declared = self.get("Namespace", None, namespace)
        labels = dict(_meta(declared).get("labels") or {}) if declared else {}
        labels.setdefault(NAMESPACE_NAME_LABEL, namespace)
        return labels

    def location(self, kind: str, namespace: str | None, name: str) -> Location | None:
        return self.locations.get((kind, namespace or "", name))

    # -- time ----------------------------------------------------------------
    @property
    def now(self) -> datetime:
        """The reference time for every age: override, capture time, or newest timestamp seen."""
        return self.now_override or self.captured_at or self.newest_timestamp or _EPOCH

    @cached_property
    def newest_timestamp(self) -> datetime | None:
        newest = None
        for items in self.objects.values():
            for obj in items:
                for moment in _timestamps_of(obj):
                    if moment and (newest is None or moment > newest):
                        newest = moment
        return newest

    # -- derived states --------------------------------------------------------
    def with_now(self, now: datetime | str | None) -> "ClusterState":
        moment = parse_time(now) if isinstance(now, str) else now
        if isinstance(now, str) and now and moment is None:
            from .errors import InputError
            raise InputError(f"now: {now!r} is not an RFC 3339 timestamp (e.g. 2025-11-06T16:32:10Z)")
        return replace(self, now_override=moment) if moment else self

    def restricted_to(self, namespaces: Iterable[str] | None) -> "ClusterState":
        """A view holding only the given namespaces (and cluster-scoped objects)."""
        wanted = {ns for ns in (namespaces or []) if ns}
        if not wanted:
            return self
        objects = {}
        for kind, items in self.objects.items():
            info = BY_KIND.get(kind)
            namespaced = info.namespaced if info else True
            if kind == "Namespace":
                objects[kind] = [obj for obj in items if _meta(obj).get("name") in wanted]
            elif namespaced:
                objects[kind] = [obj for obj in items if _meta(obj).get("namespace") in wanted]
            else:
                objects[kind] = list(items)
        return replace(self, objects=objects,
                       namespaces_read=[ns for ns in self.namespaces_read if ns in wanted] or sorted(wanted),
                       errors=[e for e in self.errors if e.namespace in wanted or e.namespace is None])

    @cached_property
    def frames(self):
        """Tidy pandas frames over this state (built lazily, once)."""
        from .frames import Frames

        return Frames(self)

    @property
    def partial(self) -> bool:
        """True when some resource could not be read: findings may be missing."""
        return bool(self.errors)


_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")


def _meta(obj: Mapping | None) -> Mapping:
    # type() first: isinstance against typing's Mapping costs a microsecond, and this runs per object
    if type(obj) is not dict and not isinstance(obj, Mapping):
        return {}
    meta = obj.get("metadata")
    return meta if type(meta) is dict or isinstance(meta, Mapping) else {}


def _timestamps_of(obj: dict) -> Iterable[datetime | None]:
    """The timestamps that say when something last happened to an object."""
    meta = _meta(obj)
    yield parse_time(meta.get("creationTimestamp"))
    if obj.get("kind") == "Event":
        yield parse_time(obj.get("lastTimestamp"))
        yield parse_time(obj.get("eventTime"))
        series = obj.get("series")
        if isinstance(series, Mapping):
            yield parse_time(series.get("lastObservedTime"))
    elif obj.get("kind") in ("PodMetrics", "NodeMetrics"):
        yield parse_time(obj.get("timestamp"))
    status = obj.get("status")
    if isinstance(status, Mapping):
        conditions = status.get("conditions")
        for condition in conditions if isinstance(conditions, list) else []:
            if isinstance(condition, Mapping):
                yield parse_time(condition.get("lastTransitionTime"))
                yield parse_time(condition.get("lastUpdateTime"))


ObjectFilter = Callable[[dict], bool]


T = TypeVar("T")
# What is derived from one state and shared (related findings, parsed probe events, a kernel's
# detection results), by state object.
_PER_STATE: dict[tuple[int, object], tuple[weakref.ref, object]] = {}


def once_per_state(state: ClusterState, key: object, build: Callable[[], T]) -> T:
    """``build()``, computed once per state object and kept while the state lives: what several rules
    derive from the same state (related findings, parsed probe events) is not derived again by each.
    Like ``state.frames``, it reflects the state as it was when first asked."""
    cache_key = (id(state), key)
    cached = _PER_STATE.get(cache_key)
    if cached is not None and cached[0]() is state:  # the identity check makes a reused id harmless
        return cached[1]
    value = build()
    try:
        _PER_STATE[cache_key] = (weakref.ref(state), value)
        weakref.finalize(state, _PER_STATE.pop, cache_key, None)
    except TypeError:  # not weak-referenceable: just don't keep it
        pass
    return value
