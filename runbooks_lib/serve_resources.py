"""The API resources `runbooks serve` answers for, and the discovery documents that list them.

Discovery is the legacy (unaggregated) form: ``/api``, ``/apis``, ``/api/v1``,
``/apis/<group>/<version>``. kubectl and client-go ask for aggregated discovery
first but fall back to this when the answer is plain ``application/json``.

Every resource is read-only: verbs are only ``get`` and ``list``. Secrets are not
in this table on purpose; nothing here can ever serve one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .state import METRICS, ClusterState

READ_VERBS = ["get", "list"]


@dataclass(frozen=True)
class Resource:
    kind: str  # the kind on the wire
    group: str  # "" for the core group
    version: str
    plural: str  # the resource name in URLs
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    stored_as: str = ""  # the kind its objects have in ClusterState, when it differs from ``kind``
    singular: str | None = None  # None: the lower-cased kind
    subresources: tuple[str, ...] = ()

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def state_kind(self) -> str:
        return self.stored_as or self.kind

    @property
    def qualified_name(self) -> str:
        """How the API server names the resource in messages: ``pods``, ``deployments.apps``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def discovery_entry(self) -> list[dict]:
        entry = {"name": self.plural, "singularName": self.kind.lower() if self.singular is None else self.singular,
                 "namespaced": self.namespaced, "kind": self.kind, "verbs": list(READ_VERBS)}
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        entries = [entry]
        for sub in self.subresources:
            entries.append({"name": f"{self.plural}/{sub}", "singularName": "", "namespaced": self.namespaced,
                            "kind": "Status" if sub == "log" else self.kind, "verbs": ["get"]})
        return entries


_ALL = ("all",)

RESOURCES: list[Resource] = [
    Resource("Pod", "", "v1", "pods", True, ("po",), _ALL, subresources=("log", "status")),
    Resource("Event", "", "v1", "events", True, ("ev",)),
    Resource("Service", "", "v1", "services", True, ("svc",), _ALL),
    Resource("Endpoints", "", "v1", "endpoints", True, ("ep",), singular="endpoints"),
    Resource("ReplicationController", "", "v1", "replicationcontrollers", True, ("rc",), _ALL),
    Resource("PersistentVolumeClaim", "", "v1", "persistentvolumeclaims", True, ("pvc",)),
    Resource("ConfigMap", "", "v1", "configmaps", True, ("cm",)),
    Resource("ServiceAccount", "", "v1", "serviceaccounts", True, ("sa",)),
    Resource("Node", "", "v1", "nodes", False, ("no",), subresources=("status",)),
    Resource("Namespace", "", "v1", "namespaces", False, ("ns",), subresources=("status",)),
    Resource("Deployment", "apps", "v1", "deployments", True, ("deploy",), _ALL, subresources=("status",)),
    Resource("ReplicaSet", "apps", "v1", "replicasets", True, ("rs",), _ALL, subresources=("status",)),
    Resource("StatefulSet", "apps", "v1", "statefulsets", True, ("sts",), _ALL, subresources=("status",)),
    Resource("DaemonSet", "apps", "v1", "daemonsets", True, ("ds",), _ALL, subresources=("status",)),
    Resource("Job", "batch", "v1", "jobs", True, (), _ALL, subresources=("status",)),
    Resource("CronJob", "batch", "v1", "cronjobs", True, ("cj",), _ALL, subresources=("status",)),
    Resource("NetworkPolicy", "networking.k8s.io", "v1", "networkpolicies", True, ("netpol",)),
    Resource("HorizontalPodAutoscaler", "autoscaling", "v2", "horizontalpodautoscalers", True, ("hpa",), _ALL),
    Resource("Event", "events.k8s.io", "v1", "events", True, ("ev",)),
    # metrics-server names these "pods" and "nodes", with no singular name
    Resource("PodMetrics", "metrics.k8s.io", "v1beta1", "pods", True, singular=""),
    Resource("NodeMetrics", "metrics.k8s.io", "v1beta1", "nodes", False, singular=""),
]

METRICS_GROUP = "metrics.k8s.io"
# Never served, whatever the snapshot holds: a replay server must not become a way to read credentials.
REFUSED_PLURALS = {"secrets"}


class ResourceTable:
    """The resources one served state offers: metrics only when the snapshot has them."""

    def __init__(self, state: ClusterState):
        with_metrics = METRICS in state.capabilities
        self.resources = [r for r in RESOURCES if with_metrics or r.group != METRICS_GROUP]
        self._by_path = {(r.group, r.version, r.plural): r for r in self.resources}

    def find(self, group: str, version: str, plural: str) -> Resource | None:
        return self._by_path.get((group, version, plural))

    def group_versions(self) -> list[tuple[str, str]]:
        """(group, version) pairs in the order discovery lists them: core first, then by first appearance."""
        seen: list[tuple[str, str]] = []
        for r in self.resources:
            if (r.group, r.version) not in seen:
                seen.append((r.group, r.version))
        return seen

    def has_group_version(self, group: str, version: str) -> bool:
        return (group, version) in self.group_versions()

    def of_group_version(self, group: str, version: str) -> list[Resource]:
        return [r for r in self.resources if r.group == group and r.version == version]

    # -- discovery documents ----------------------------------------------------
    def api_versions(self, server_address: str) -> dict:
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}

    def api_group(self, group: str) -> dict | None:
        versions = [{"groupVersion": f"{group}/{v}", "version": v} for g, v in self.group_versions() if g == group]
        if not group or not versions:
            return None
        return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": versions,
                "preferredVersion": versions[0]}

    def api_group_list(self) -> dict:
        groups = [self.api_group(g) for g, _ in self.group_versions() if g]
        unique = {group["name"]: group for group in groups if group}
        for group in unique.values():
            del group["kind"], group["apiVersion"]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": list(unique.values())}

    def api_resource_list(self, group: str, version: str) -> dict | None:
        if not self.has_group_version(group, version):
            return None
        resources = [entry for r in self.of_group_version(group, version) for entry in r.discovery_entry()]
        body = {"kind": "APIResourceList", "groupVersion": f"{group}/{version}" if group else version,
                "resources": resources}
        if group:
            body["apiVersion"] = "v1"
        return body


def version_info(server_version: str | None) -> dict:
    """The /version document, from the snapshot's recorded server version."""
    git_version = server_version or "v0.0.0-unknown"
    match = re.match(r"v?(\d+)\.(\d+)", git_version)
    major, minor = (match.group(1), match.group(2)) if match else ("", "")
    return {"major": major, "minor": minor, "gitVersion": git_version, "gitCommit": "", "gitTreeState": "",
            "buildDate": "", "goVersion": "", "compiler": "", "platform": "",
            # not a real API server: say so where a curious human will look
            "runbooksServe": "read-only replay of a snapshot"}
