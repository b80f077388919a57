"""Gathering loose documents into a ClusterState, shared by the file-based sources."""

from __future__ import annotations

from ..state import ClusterState, Location
from .documents import Document, describe


class ObjectCollector:
    """Accepts objects one by one: skips malformed ones and duplicates with a warning.

    It drops ``metadata.managedFields``: server-side apply's field ownership, on every object of
    a real ``kubectl cluster-info dump`` and a large part of its size, which nothing here reads."""

    def __init__(self, track_locations: bool = True) -> None:
        self.objects: dict[str, list[dict]] = {}
        self.locations: dict[tuple[str, str, str], Location] = {}
        self.warnings: list[str] = []
        self._seen: set[tuple[str, str, str]] = set()
        self._track_locations = track_locations  # snapshots have no file worth pointing at: skip the cost

    def add(self, doc: Document) -> bool:
        """Whether the object was kept."""
        obj = doc.obj
        kind = obj.get("kind")
        meta = obj.get("metadata")
        if not isinstance(kind, str) or not kind:
            self.warnings.append(f"{doc.file}: skipped an object without a kind")
            return False
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
            self.warnings.append(f"{doc.file}: skipped a {kind} without metadata.name")
            return False
        if meta.get("namespace") is not None and not isinstance(meta.get("namespace"), str):
            self.warnings.append(f"{doc.file}: skipped {kind} {meta['name']}: metadata.namespace is not a string")
            return False
        namespace = meta.get("namespace")  # object_key, inlined: this runs once per object
        key = (kind, namespace if type(namespace) is str else str(namespace or ""), meta["name"])
        if key in self._seen:
            if kind != "Event":  # events legitimately repeat names only across namespaces; warn once anyway
                self.warnings.append(f"{doc.file}: duplicate {describe(obj)}; kept the first")
            return False
        self._seen.add(key)
        meta.pop("managedFields", None)
        self.objects.setdefault(kind, []).append(obj)
        if self._track_locations:
            self.locations[key] = Location(str(doc.file), doc.line)
        return True

    def into(self, state: ClusterState) -> ClusterState:
        state.objects = self.objects
        state.locations = self.locations
        state.warnings.extend(self.warnings)
        return state
