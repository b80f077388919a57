"""Tidy frames: the one place that flattens Kubernetes JSON into pandas.

``Frames(state)`` builds each frame on first use and keeps it. Columns are
documented on each property. Ages are relative to ``state.now`` (the capture
time), never the wall clock. The kubectl-style columns (READY ``1/2``, STATUS
``CrashLoopBackOff``, RESTARTS ``7 (2m ago)``, AGE ``20h``) follow kubectl's own
printer rules so that the tables read like ``kubectl get``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pandas as pd

from .owners import OwnerIndex
from .quantity import parse_quantity
from .timeutil import age, parse_time

if TYPE_CHECKING:
    from .state import ClusterState

PROBE_TYPES = ("startup", "liveness", "readiness")
STAND_IN_ANNOTATION = "runbooks.dev/stands-in-for"
_FIELD_PATH_CONTAINER = re.compile(r"spec\.(?:initContainers|containers|ephemeralContainers)\{([^}]+)\}")


def _d(value: Any) -> Mapping:
    """The value if it is a mapping, else an empty one: real dumps have nulls anywhere."""
    if type(value) is dict:  # the common case, without typing.Mapping's slow isinstance (runs per field)
        return value
    return value if isinstance(value, Mapping) else {}


def _l(value: Any) -> list:
    return value if isinstance(value, list) else []


def _s(value: Any) -> str | None:
    """A string field, or None when the dump holds something else there."""
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _frame(rows: list[dict], columns: list[str], booleans: tuple[str, ...] = ()) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    for column in booleans:  # an empty frame's columns are object dtype, and frame[~frame.init] then fails
        frame[column] = frame[column].astype(bool)
    return frame


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NA or value is pd.NaT


def _row_positions(frame: pd.DataFrame, columns: tuple[str, ...]) -> dict[tuple, list[int]]:
    """Row positions by their values in ``columns``; rows with a missing value match nothing, as with ==,
    and so do rows with an unhashable one (odd data: a list where a name belongs equals no name)."""
    values = [frame[column].tolist() for column in columns]
    # Per column, not per row: a generator per row of a 100,000-event frame cost a third of a second.
    present = [[type(value) is str or not _missing(value) for value in column] for column in values]
    positions: dict[tuple, list[int]] = {}
    for position, (key, flags) in enumerate(zip(zip(*values), zip(*present))):
        if all(flags):
            try:
                positions.setdefault(key, []).append(position)
            except TypeError:
                continue
    return positions


def _columns_frame(data: dict[str, list], columns: list[str]) -> pd.DataFrame:
    """A frame from one list per column: half the cost of a dict per row, same dtypes."""
    if not data[columns[0]]:
        return _frame([], columns)  # no rows: the same empty frame as ever
    return pd.DataFrame(data, columns=columns)


class Frames:
    """Lazily built DataFrames over one ClusterState."""

    def __init__(self, state: "ClusterState"):
        self.state = state
        self.owners = OwnerIndex(state)
        self._lookups: dict[tuple[str, tuple[str, ...]], dict[tuple, list[int]]] = {}

    @property
    def now(self) -> datetime:
        return self.state.now

    def lookup(self, table: str, **equal: Any) -> pd.DataFrame:
        """The rows of a frame whose columns equal these values, in the frame's order.

        The same rows as ``frame[(frame["namespace"] == ns) & (frame["workload"] == name)]``, but
        from an index built once per set of columns: a check run per workload stays linear in
        the cluster's size instead of scanning every row each time (quadratic)."""
        frame = getattr(self, table)
        positions = self._positions(table, tuple(equal), tuple(equal.values()))
        return frame.iloc[positions] if positions else frame.iloc[0:0]

    def lookup_isin(self, table: str, column: str, values: Iterable[Any], **equal: Any) -> pd.DataFrame:
        """The rows of ``lookup(table, **equal)`` whose ``column`` is one of ``values``, in the frame's order.

        The same rows as ``frame[... & frame[column].isin(values)]`` (a missing value among ``values``
        matches nothing, though), without slicing out every row that matches ``equal`` first: the
        events of a few pods, not those of their whole namespace."""
        frame = getattr(self, table)
        columns, fixed = (*equal, column), tuple(equal.values())
        positions = sorted({position for value in values
                            for position in self._positions(table, columns, (*fixed, value)) or ()})
        return frame.iloc[positions]

    def _positions(self, table: str, columns: tuple[str, ...], wanted: tuple) -> list[int] | None:
        """Positions of the rows whose ``columns`` equal ``wanted``, from an index built once per columns."""
        index = self._lookups.get((table, columns))
        if index is None:
            index = self._lookups[(table, columns)] = _row_positions(getattr(self, table), columns)
        try:
            return None if any(_missing(value) for value in wanted) else index.get(wanted)
        except TypeError:  # an unhashable value asked for: no row holds it (see _row_positions)
            return None

    # -- pods ------------------------------------------------------------------
    POD_COLUMNS = ["namespace", "pod", "uid", "workload_kind", "workload", "replicaset", "revision", "ready",
                   "status", "restarts", "restarts_display", "age", "phase", "ready_count", "container_count",
                   "last_restart", "created", "node", "ip", "qos", "stand_in"]

    @cached_property
    def pods(self) -> pd.DataFrame:
        """One row per pod, with kubectl's NAME READY STATUS RESTARTS AGE and the owning workload."""
        revisions = self._replicaset_revisions
        rows = []
        for pod in self.state.of_kind("Pod"):
            meta, spec, status = _d(pod.get("metadata")), _d(pod.get("spec")), _d(pod.get("status"))
            kind, workload = self.owners.workload_of(pod)
            replicaset = self.owners.replicaset_of(pod)
            printed = kubectl_pod_status(pod)
            created = parse_time(meta.get("creationTimestamp"))
            last_restart = printed["last_restart"]
            restarts = printed["restarts"]
            rows.append({
                "namespace": meta.get("namespace"), "pod": meta.get("name"), "uid": meta.get("uid"),
                "workload_kind": kind, "workload": workload, "replicaset": replicaset,
                "revision": revisions.get((meta.get("namespace"), replicaset)),
                "ready": f"{printed['ready']}/{printed['total']}", "status": printed["status"],
                "restarts": restarts,
                "restarts_display": f"{restarts} ({age(last_restart, self.now)} ago)" if last_restart else str(restarts),
                "age": age(created, self.now), "phase": status.get("phase"),
                "ready_count": printed["ready"], "container_count": printed["total"],
                "last_restart": last_restart, "created": created, "node": spec.get("nodeName"),
                "ip": status.get("podIP"), "qos": status.get("qosClass"),
                "stand_in": STAND_IN_ANNOTATION in _d(meta.get("annotations")),
            })
        return _frame(rows, self.POD_COLUMNS, booleans=("stand_in",))

    @cached_property
    def _replicaset_revisions(self) -> dict[tuple[str, str], int | None]:
        return {(_d(rs.get("metadata")).get("namespace"), _d(rs.get("metadata")).get("name")): _revision(rs)
                for rs in self.state.of_kind("ReplicaSet")}

    # -- containers --------------------------------------------------------------
    CONTAINER_COLUMNS = ["namespace", "pod", "workload_kind", "workload", "container", "index", "init", "image",
                         "state", "reason", "message", "ready", "started", "restarts", "started_at", "exit_code",
                         "last_state", "last_reason", "last_exit_code", "last_started", "last_finished",
                         "last_message", "requests_cpu", "requests_memory", "limits_cpu", "limits_memory",
                         "command", "args"]

    @cached_property
    def containers(self) -> pd.DataFrame:
        """One row per container (init containers too): spec, current state and last termination."""
        rows = []
        for pod in self.state.of_kind("Pod"):
            meta, spec, status = _d(pod.get("metadata")), _d(pod.get("spec")), _d(pod.get("status"))
            kind, workload = self.owners.workload_of(pod)
            statuses = {_s(_d(s).get("name")): _d(s) for s in
                        _l(status.get("containerStatuses")) + _l(status.get("initContainerStatuses"))}
            for init, key in ((False, "containers"), (True, "initContainers")):
                for index, container in enumerate(_l(spec.get(key))):
                    if not isinstance(container, Mapping):
                        continue  # keep the others' indexes true to the spec
                    name = _s(container.get("name"))
                    current = statuses.get(name, {}) if name else {}
                    state_name, state = _container_state(current.get("state"))
                    last_name, last = _container_state(current.get("lastState"))
                    resources = _d(container.get("resources"))
                    requests, limits = _d(resources.get("requests")), _d(resources.get("limits"))
                    rows.append({
                        "namespace": meta.get("namespace"), "pod": meta.get("name"),
                        "workload_kind": kind, "workload": workload, "container": name, "index": index,
                        "init": init, "image": container.get("image"),
                        "state": state_name, "reason": state.get("reason"), "message": state.get("message"),
                        "ready": bool(current.get("ready")), "started": current.get("started"),
                        "restarts": _int(current.get("restartCount")) or 0,
                        "started_at": parse_time(state.get("startedAt")),
                        "exit_code": _int(state.get("exitCode")),
                        "last_state": last_name, "last_reason": last.get("reason"),
                        "last_exit_code": _int(last.get("exitCode")),
                        "last_started": parse_time(last.get("startedAt")),
                        "last_finished": parse_time(last.get("finishedAt")),
                        "last_message": last.get("message"),
                        "requests_cpu": parse_quantity(requests.get("cpu")),
                        "requests_memory": parse_quantity(requests.get("memory")),
                        "limits_cpu": parse_quantity(limits.get("cpu")),
                        "limits_memory": parse_quantity(limits.get("memory")),
                        "command": _strings(container.get("command")), "args": _strings(container.get("args")),
                    })
        return _frame(rows, self.CONTAINER_COLUMNS, booleans=("init", "ready"))

    # -- probes and ports ----------------------------------------------------------
    PROBE_COLUMNS = ["namespace", "pod", "workload_kind", "workload", "container", "index", "probe", "handler",
                     "scheme", "host", "path", "port", "port_number", "command", "initial_delay_seconds",
                     "period_seconds", "timeout_seconds", "success_threshold", "failure_threshold", "field_path"]

    @cached_property
    def probes(self) -> pd.DataFrame:
        """One row per declared probe; ``port`` as written (number or name), ``port_number`` resolved."""
        rows = []
        for pod, kind, workload, index, container in self._containers_of_pods():
            ports = {_d(p).get("name"): _int(_d(p).get("containerPort")) for p in _l(container.get("ports"))}
            for probe_type in PROBE_TYPES:
                probe = container.get(f"{probe_type}Probe")
                if not isinstance(probe, Mapping):
                    continue
                handler, action = _probe_handler(probe)
                port = action.get("port") if action else None
                port_number = port if isinstance(port, int) else ports.get(port) if isinstance(port, str) else None
                if probe_type and isinstance(port, str) and port.isdigit():
                    port_number = int(port)
                rows.append({
                    "namespace": _d(pod.get("metadata")).get("namespace"), "pod": _d(pod.get("metadata")).get("name"),
                    "workload_kind": kind, "workload": workload, "container": container.get("name"), "index": index,
                    "probe": probe_type, "handler": handler,
                    "scheme": (action.get("scheme") or "HTTP") if handler == "httpGet" else None,
                    "host": action.get("host") if action else None,
                    "path": action.get("path") if handler == "httpGet" else None,
                    "port": None if port is None else str(port), "port_number": port_number,
                    "command": _strings(action.get("command")) if handler == "exec" else None,
                    "initial_delay_seconds": _int(probe.get("initialDelaySeconds")) or 0,
                    "period_seconds": _int(probe.get("periodSeconds")) or 10,
                    "timeout_seconds": _int(probe.get("timeoutSeconds")) or 1,
                    "success_threshold": _int(probe.get("successThreshold")) or 1,
                    "failure_threshold": _int(probe.get("failureThreshold")) or 3,
                    "field_path": f"spec.containers[{index}].{probe_type}Probe",
                })
        return _frame(rows, self.PROBE_COLUMNS)

    PORT_COLUMNS = ["namespace", "pod", "workload_kind", "workload", "container", "index", "name", "port", "protocol"]

    @cached_property
    def ports(self) -> pd.DataFrame:
        """One row per declared containerPort."""
        rows = []
        for pod, kind, workload, index, container in self._containers_of_pods():
            for port in _l(container.get("ports")):
                port = _d(port)
                rows.append({
                    "namespace": _d(pod.get("metadata")).get("namespace"), "pod": _d(pod.get("metadata")).get("name"),
                    "workload_kind": kind, "workload": workload, "container": container.get("name"), "index": index,
                    "name": port.get("name"), "port": _int(port.get("containerPort")),
                    "protocol": port.get("protocol") or "TCP",
                })
        return _frame(rows, self.PORT_COLUMNS)

    def _containers_of_pods(self) -> Iterable[tuple[dict, str, str, int, Mapping]]:
        for pod in self.state.of_kind("Pod"):
            kind, workload = self.owners.workload_of(pod)
            for index, container in enumerate(_l(_d(pod.get("spec")).get("containers"))):
                if isinstance(container, Mapping):
                    yield pod, kind, workload, index, container

    # -- events ------------------------------------------------------------------
    EVENT_COLUMNS = ["namespace", "last_seen", "type", "reason", "object_kind", "object_name", "container",
                     "message", "count", "first_seen", "age", "object_uid", "field_path", "component", "shape", "name"]

    @cached_property
    def events(self) -> pd.DataFrame:
        """Events in both shapes (core/v1 with count and first/lastTimestamp; events.k8s.io with
        eventTime and series), normalized to count, first_seen, last_seen, sorted by last_seen."""
        # Built column by column: a busy cluster keeps 100,000 events, and a dict per row costs twice as much.
        columns: dict[str, list] = {name: [] for name in self.EVENT_COLUMNS}
        (namespaces, lasts, types, reasons, kinds, names, containers, messages, counts, firsts, ages, uids,
         field_paths, components, shapes, event_names) = (columns[name].append for name in self.EVENT_COLUMNS)
        now, age_of = self.now, {}
        for event in self.state.of_kind("Event"):
            meta, involved = _d(event.get("metadata")), _d(event.get("involvedObject") or event.get("regarding"))
            series = _d(event.get("series"))
            event_time = parse_time(event.get("eventTime"))
            first = parse_time(event.get("firstTimestamp")) or event_time or parse_time(meta.get("creationTimestamp"))
            last = (parse_time(event.get("lastTimestamp")) or parse_time(series.get("lastObservedTime"))
                    or event_time or first)
            field_path = _s(involved.get("fieldPath"))
            container = _FIELD_PATH_CONTAINER.search(field_path or "")
            if last not in age_of:
                age_of[last] = age(last, now)
            namespaces(meta.get("namespace") or involved.get("namespace"))
            lasts(last)
            types(event.get("type") or "Normal")
            reasons(event.get("reason"))
            kinds(involved.get("kind"))
            names(involved.get("name"))
            containers(container.group(1) if container else None)
            messages((_s(event.get("message")) or _s(event.get("note")) or "").strip())
            counts(_int(event.get("count")) or _int(series.get("count")) or 1)
            firsts(first)
            ages(age_of[last])
            uids(involved.get("uid"))
            field_paths(field_path)
            components(_d(event.get("source")).get("component") or event.get("reportingController")
                       or event.get("reportingComponent"))
            shapes("events.k8s.io" if event_time and not event.get("lastTimestamp") else "core/v1")
            event_names(meta.get("name"))
        frame = _columns_frame(columns, self.EVENT_COLUMNS)
        return frame.sort_values(["last_seen", "name"], kind="stable", na_position="first").reset_index(drop=True)

    @property
    def warning_events(self) -> pd.DataFrame:
        return self.events[self.events["type"] == "Warning"].reset_index(drop=True)

    def warnings_by_reason(self) -> pd.DataFrame:
        """Warning events grouped by reason and object kind: total count, objects, first and last seen."""
        warnings = self.warning_events
        if warnings.empty:
            return pd.DataFrame(columns=["reason", "events", "count", "objects", "first_seen", "last_seen", "example"])
        grouped = warnings.groupby("reason", sort=False).agg(
            events=("reason", "size"), count=("count", "sum"), objects=("object_name", "nunique"),
            first_seen=("first_seen", "min"), last_seen=("last_seen", "max"), example=("message", "last"))
        return grouped.sort_values(["count", "last_seen"], ascending=False).reset_index()

    # -- workloads ------------------------------------------------------------------
    WORKLOAD_COLUMNS = ["namespace", "kind", "name", "ready", "up_to_date", "available", "age", "desired",
                        "ready_count", "revision", "progressing", "progressing_reason", "available_condition",
                        "images", "created"]

    @cached_property
    def workloads(self) -> pd.DataFrame:
        """Deployments, StatefulSets, DaemonSets, Jobs and CronJobs like ``kubectl get deploy``."""
        rows = []
        for kind in ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"):
            for obj in self.state.of_kind(kind):
                meta, spec, status = _d(obj.get("metadata")), _d(obj.get("spec")), _d(obj.get("status"))
                desired = _desired(kind, spec, status)
                ready = _int(status.get("readyReplicas")) or _int(status.get("numberReady")) or _int(status.get("succeeded")) or 0
                conditions = {_s(_d(c).get("type")): _d(c) for c in _l(status.get("conditions"))}
                progressing, available_condition = conditions.get("Progressing", {}), conditions.get("Available", {})
                template = _d(_d(spec.get("jobTemplate")).get("spec")).get("template") if kind == "CronJob" else spec.get("template")
                created = parse_time(meta.get("creationTimestamp"))
                rows.append({
                    "namespace": meta.get("namespace"), "kind": kind, "name": meta.get("name"),
                    "ready": f"{ready}/{desired}", "up_to_date": _int(status.get("updatedReplicas")) or _int(status.get("updatedNumberScheduled")) or 0,
                    "available": _int(status.get("availableReplicas")) or _int(status.get("numberAvailable")) or 0,
                    "age": age(created, self.now), "desired": desired, "ready_count": ready,
                    "revision": _revision(obj), "progressing": progressing.get("status"),
                    "progressing_reason": progressing.get("reason"), "available_condition": available_condition.get("status"),
                    "images": ", ".join(str(_d(c).get("image")) for c in _l(_d(_d(template).get("spec")).get("containers"))),
                    "created": created,
                })
        return _frame(rows, self.WORKLOAD_COLUMNS)

    REPLICASET_COLUMNS = ["namespace", "name", "owner", "revision", "desired", "current", "ready", "age",
                          "template_hash", "created"]

    @cached_property
    def replicasets(self) -> pd.DataFrame:
        """ReplicaSets with their Deployment and revision, newest revision first."""
        rows = []
        for rs in self.state.of_kind("ReplicaSet"):
            meta, spec, status = _d(rs.get("metadata")), _d(rs.get("spec")), _d(rs.get("status"))
            owner = next((_s(_d(ref).get("name")) for ref in _l(meta.get("ownerReferences"))
                          if _d(ref).get("kind") == "Deployment"), None)
            created = parse_time(meta.get("creationTimestamp"))
            rows.append({
                "namespace": meta.get("namespace"), "name": meta.get("name"), "owner": owner,
                "revision": _revision(rs), "desired": _int(spec.get("replicas")) if "replicas" in spec else 1,
                "current": _int(status.get("replicas")) or 0, "ready": _int(status.get("readyReplicas")) or 0,
                "age": age(created, self.now), "template_hash": _d(meta.get("labels")).get("pod-template-hash"),
                "created": created,
            })
        frame = _frame(rows, self.REPLICASET_COLUMNS)
        return frame.sort_values(["namespace", "owner", "revision"], ascending=[True, True, False],
                                 na_position="last").reset_index(drop=True)

    # -- services ---------------------------------------------------------------------
    SERVICE_COLUMNS = ["namespace", "name", "type", "cluster_ip", "ports", "selector", "age"]

    @cached_property
    def services(self) -> pd.DataFrame:
        rows = []
        for svc in self.state.of_kind("Service"):
            meta, spec = _d(svc.get("metadata")), _d(svc.get("spec"))
            ports = ",".join(f"{_d(p).get('port')}/{_d(p).get('protocol') or 'TCP'}" for p in _l(spec.get("ports")))
            selector = ",".join(f"{k}={v}" for k, v in _d(spec.get("selector")).items())
            rows.append({"namespace": meta.get("namespace"), "name": meta.get("name"),
                         "type": spec.get("type") or "ClusterIP", "cluster_ip": spec.get("clusterIP"),
                         "ports": ports, "selector": selector or None,
                         "age": age(parse_time(meta.get("creationTimestamp")), self.now)})
        return _frame(rows, self.SERVICE_COLUMNS)

    SERVICE_PORT_COLUMNS = ["namespace", "service", "index", "name", "port", "protocol", "target_port", "node_port"]

    @cached_property
    def service_ports(self) -> pd.DataFrame:
        """One row per Service port; ``target_port`` as written (number or name), defaulting to ``port``."""
        rows = []
        for svc in self.state.of_kind("Service"):
            meta, spec = _d(svc.get("metadata")), _d(svc.get("spec"))
            for index, port in enumerate(_l(spec.get("ports"))):
                port = _d(port)
                target = port.get("targetPort", port.get("port"))
                rows.append({"namespace": meta.get("namespace"), "service": meta.get("name"), "index": index,
                             "name": port.get("name"), "port": _int(port.get("port")),
                             "protocol": port.get("protocol") or "TCP",
                             "target_port": None if target is None else str(target),
                             "node_port": _int(port.get("nodePort"))})
        return _frame(rows, self.SERVICE_PORT_COLUMNS)

    ENDPOINT_COLUMNS = ["namespace", "service", "ip", "ready", "pod", "node", "ports"]

    @cached_property
    def endpoints(self) -> pd.DataFrame:
        """One row per address of each Endpoints object, ready or not, with the pod it points at."""
        rows = []
        for endpoints in self.state.of_kind("Endpoints"):
            meta = _d(endpoints.get("metadata"))
            for subset in _l(endpoints.get("subsets")):
                subset = _d(subset)
                ports = ",".join(f"{_d(p).get('name') or ''}:{_d(p).get('port')}/{_d(p).get('protocol') or 'TCP'}"
                                 for p in _l(subset.get("ports")))
                for ready, key in ((True, "addresses"), (False, "notReadyAddresses")):
                    for address in _l(subset.get(key)):
                        address = _d(address)
                        target = _d(address.get("targetRef"))
                        rows.append({"namespace": meta.get("namespace"), "service": meta.get("name"),
                                     "ip": address.get("ip"), "ready": ready,
                                     "pod": target.get("name") if target.get("kind") == "Pod" else None,
                                     "node": address.get("nodeName"), "ports": ports})
        return _frame(rows, self.ENDPOINT_COLUMNS, booleans=("ready",))

    INVENTORY_COLUMNS = ["kind", "namespace", "name", "file", "line"]

    @cached_property
    def inventory(self) -> pd.DataFrame:
        """Every object the source declares (stand-in pods excluded), with where it is declared."""
        rows = []
        for kind in sorted(self.state.objects):
            for obj in self.state.of_kind(kind):
                meta = _d(obj.get("metadata"))
                if kind == "Pod" and STAND_IN_ANNOTATION in _d(meta.get("annotations")):
                    continue
                where = self.state.location(kind, meta.get("namespace"), meta.get("name") or "")
                rows.append({"kind": kind, "namespace": meta.get("namespace"), "name": meta.get("name"),
                             "file": where.file if where else None, "line": where.line if where else None})
        return _frame(rows, self.INVENTORY_COLUMNS)

    # -- nodes and metrics ---------------------------------------------------------------
    NODE_COLUMNS = ["node", "status", "roles", "age", "version", "internal_ip", "cpu_allocatable",
                    "memory_allocatable", "cpu_used", "memory_used"]

    @cached_property
    def nodes(self) -> pd.DataFrame:
        usage = {_d(m.get("metadata")).get("name"): _d(m.get("usage")) for m in self.state.of_kind("NodeMetrics")}
        rows = []
        for node in self.state.of_kind("Node"):
            meta, status = _d(node.get("metadata")), _d(node.get("status"))
            ready = next((_d(c).get("status") for c in _l(status.get("conditions")) if _d(c).get("type") == "Ready"), None)
            unschedulable = _d(node.get("spec")).get("unschedulable")
            roles = sorted(key.split("/", 1)[1] for key in _d(meta.get("labels"))
                           if key.startswith("node-role.kubernetes.io/"))
            allocatable = _d(status.get("allocatable"))
            used = usage.get(meta.get("name"), {})
            rows.append({
                "node": meta.get("name"),
                "status": ("Ready" if ready == "True" else "NotReady") + (",SchedulingDisabled" if unschedulable else ""),
                "roles": ",".join(roles) or "<none>", "age": age(parse_time(meta.get("creationTimestamp")), self.now),
                "version": _d(status.get("nodeInfo")).get("kubeletVersion"),
                "internal_ip": next((_d(a).get("address") for a in _l(status.get("addresses"))
                                     if _d(a).get("type") == "InternalIP"), None),
                "cpu_allocatable": parse_quantity(allocatable.get("cpu")),
                "memory_allocatable": parse_quantity(allocatable.get("memory")),
                "cpu_used": parse_quantity(used.get("cpu")), "memory_used": parse_quantity(used.get("memory")),
            })
        return _frame(rows, self.NODE_COLUMNS)

    POD_METRIC_COLUMNS = ["namespace", "pod", "container", "cpu", "memory", "timestamp", "window"]

    @cached_property
    def pod_metrics(self) -> pd.DataFrame:
        """metrics.k8s.io usage per container: cpu in cores, memory in bytes."""
        rows = []
        for metrics in self.state.of_kind("PodMetrics"):
            meta = _d(metrics.get("metadata"))
            for container in _l(metrics.get("containers")):
                usage = _d(_d(container).get("usage"))
                rows.append({"namespace": meta.get("namespace"), "pod": meta.get("name"),
                             "container": _s(_d(container).get("name")), "cpu": parse_quantity(usage.get("cpu")),
                             "memory": parse_quantity(usage.get("memory")),
                             "timestamp": parse_time(metrics.get("timestamp")), "window": metrics.get("window")})
        return _frame(rows, self.POD_METRIC_COLUMNS)

    @cached_property
    def resource_usage(self) -> pd.DataFrame:
        """Containers with requests, limits and measured usage side by side (usage NaN without metrics)."""
        containers = self.containers[~self.containers["init"]][
            ["namespace", "pod", "workload_kind", "workload", "container", "requests_cpu", "limits_cpu",
             "requests_memory", "limits_memory"]]
        usage = self.pod_metrics[["namespace", "pod", "container", "cpu", "memory"]]
        merged = containers.merge(usage, on=["namespace", "pod", "container"], how="left")
        merged["memory_of_limit"] = merged["memory"] / merged["limits_memory"]
        merged["cpu_of_limit"] = merged["cpu"] / merged["limits_cpu"]
        return merged

    # -- restarts over time -----------------------------------------------------------------
    RESTART_COLUMNS = ["namespace", "pod", "workload", "container", "time", "source", "detail"]

    @cached_property
    def restart_timeline(self) -> pd.DataFrame:
        """Known moments of container restarts: last terminations from container states, and
        BackOff/Killing events (each event's first and last sighting)."""
        rows = []
        containers = self.containers
        ended = containers[containers["last_finished"].notna()]  # not itertuples over every container: slow
        for namespace, pod, workload, container, finished, reason, code in zip(*(ended[name].tolist() for name in (
                "namespace", "pod", "workload", "container", "last_finished", "last_reason", "last_exit_code"))):
            rows.append({"namespace": namespace, "pod": pod, "workload": workload, "container": container,
                         "time": finished, "source": "lastState", "detail": f"{reason} (exit {code})"})
        pods = self.pods.set_index(["namespace", "pod"])["workload"].to_dict() if not self.pods.empty else {}
        events = self.events
        restarts = events[events["reason"].isin(["BackOff", "Killing"]) & (events["object_kind"] == "Pod")]
        for row in restarts.itertuples(index=False):
            workload = pods.get((row.namespace, row.object_name))
            for moment in {row.first_seen, row.last_seen}:
                rows.append({"namespace": row.namespace, "pod": row.object_name, "workload": workload,
                             "container": row.container, "time": moment, "source": f"event {row.reason}",
                             "detail": row.message})
        frame = _frame(rows, self.RESTART_COLUMNS)
        return frame.sort_values("time", kind="stable").reset_index(drop=True)


# -- kubectl's pod printer ---------------------------------------------------------------

def kubectl_pod_status(pod: Mapping) -> dict:
    """READY counts, STATUS and RESTARTS as ``kubectl get pods`` computes them."""
    meta, spec, status = _d(pod.get("metadata")), _d(pod.get("spec")), _d(pod.get("status"))
    total = len(_l(spec.get("containers")))
    ready = restarts = 0
    last_restart: datetime | None = None
    reason = status.get("reason") or status.get("phase") or ("Template" if STAND_IN_ANNOTATION in _d(meta.get("annotations")) else "Unknown")

    def note_restart(container_status: Mapping) -> None:
        nonlocal restarts, last_restart
        restarts += _int(container_status.get("restartCount")) or 0
        finished = parse_time(_d(_d(container_status.get("lastState")).get("terminated")).get("finishedAt"))
        if finished and (last_restart is None or finished > last_restart):
            last_restart = finished

    sidecars = {_d(c).get("name") for c in _l(spec.get("initContainers")) if _d(c).get("restartPolicy") == "Always"}
    total += len(sidecars)
    init_statuses = [_d(s) for s in _l(status.get("initContainerStatuses"))]
    init_total = len(_l(spec.get("initContainers")))
    initializing = False
    for index, container in enumerate(init_statuses):
        note_restart(container)
        state = _d(container.get("state"))
        terminated, waiting = _d(state.get("terminated")), _d(state.get("waiting"))
        if container.get("name") in sidecars and container.get("started"):
            ready += 1 if container.get("ready") else 0
            continue
        if terminated and _int(terminated.get("exitCode")) == 0:
            continue
        if terminated:
            reason = "Init:" + (terminated.get("reason") or (f"Signal:{terminated.get('signal')}" if terminated.get("signal")
                                                              else f"ExitCode:{terminated.get('exitCode')}"))
        elif waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{index}/{init_total}"
        initializing = True
        break
    conditions = {_s(_d(c).get("type")): _d(c).get("status") for c in _l(status.get("conditions"))}
    if not initializing or conditions.get("Initialized") == "True":
        has_running = False
        for container in reversed([_d(s) for s in _l(status.get("containerStatuses"))]):
            note_restart(container)
            state = _d(container.get("state"))
            waiting, terminated = _d(state.get("waiting")), _d(state.get("terminated"))
            if waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated.get("reason"):
                reason = terminated["reason"]
            elif terminated:
                reason = f"Signal:{terminated.get('signal')}" if terminated.get("signal") else f"ExitCode:{terminated.get('exitCode')}"
            elif container.get("ready") and "running" in state:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if conditions.get("Ready") == "True" else "NotReady"
    if meta.get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    return {"ready": ready, "total": total, "status": reason, "restarts": restarts, "last_restart": last_restart}


def _container_state(state: Any) -> tuple[str | None, Mapping]:
    for name in ("waiting", "running", "terminated"):
        value = _d(state).get(name)
        if isinstance(value, Mapping):
            return name, value
    return None, {}


def _probe_handler(probe: Mapping) -> tuple[str | None, Mapping]:
    for handler in ("httpGet", "tcpSocket", "grpc", "exec"):
        if isinstance(probe.get(handler), Mapping):
            return handler, probe[handler]
    return None, {}


def _revision(obj: Mapping) -> int | None:
    value = _d(_d(obj.get("metadata")).get("annotations")).get("deployment.kubernetes.io/revision")
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _desired(kind: str, spec: Mapping, status: Mapping) -> int:
    if kind == "DaemonSet":
        return _int(status.get("desiredNumberScheduled")) or 0
    if kind == "Job":
        return _int(spec.get("completions")) or 1
    if kind == "CronJob":
        return len(_l(status.get("active")))
    replicas = spec.get("replicas", 1)
    return replicas if isinstance(replicas, int) else 1


def _strings(value: Any) -> str | None:
    items = [str(v) for v in _l(value)]
    return " ".join(items) if items else None
