"""Helpers shared by the detectors: values out of raw objects and frames, field paths, patches, event
evidence, and what several rules use (pod-runtime containers, probe events, related findings, Service
selection). A helper used by more than one rule lives here, so that a rule's module holds that rule only.
"""

from __future__ import annotations

import functools
from collections import defaultdict, namedtuple
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

from ..event_messages import ProbeFailure, parse_killing, parse_probe_message
from ..findings import Evidence, Finding, Remediation, SourceLocation, sort_key
from ..frames import STAND_IN_ANNOTATION
from ..state import once_per_state
from ..timeutil import parse_time

if TYPE_CHECKING:
    from ..state import ClusterState

RESTARTING_PROBES = ("liveness", "startup")  # failing these kills the container
EVIDENCE_EVENTS = 5  # event evidence items per probe finding; the rest are summed up in one line
# Rules whose findings explain why a workload's pods do not become available (rollout-stuck and
# service-no-endpoints cite them).
RELATED_RULES = ("crashloop", "oom-killed", "image-pull-failure", "container-config-error", "probe-http-error",
                 "probe-connection-refused", "probe-timeout", "probe-port-not-served", "pending-unschedulable",
                 "netpol-asymmetric", "netpol-dns-blocked")


# -- values out of raw objects and frames ----------------------------------------------------------

def as_mapping(value: Any) -> Mapping:
    """The value if it is a mapping, else an empty one: real dumps have nulls anywhere."""
    if type(value) is dict:  # the common case first: isinstance against an ABC is slow, and this runs per field
        return value
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def nonempty_str(value: Any) -> str | None:
    """A non-empty string, or None (frames hold NaN/None for missing text)."""
    return value if isinstance(value, str) and value else None


def number_or_none(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if pd.isna(number) else number


def int_or_none(value: Any) -> int | None:
    number = number_or_none(value)
    return int(number) if number is not None else None


def time_or_none(value: Any) -> datetime | None:
    return None if value is None or pd.isna(value) else value


def frame_rows(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> list:
    """``list(frame[columns].itertuples(index=False))``, all columns by default: the same named tuples of
    the same values, built from column lists. itertuples costs a millisecond or more per call on
    Arrow-backed columns however few the rows, and detectors call it per finding."""
    names = tuple(frame.columns if columns is None else columns)
    return list(map(_row_type(names)._make, zip(*(frame[name].tolist() for name in names))))


@functools.lru_cache(maxsize=None)
def _row_type(names: tuple[str, ...]) -> type:
    return namedtuple("Pandas", names, rename=True)  # as itertuples names it


_d, _l = as_mapping, as_list  # short names for the many lookups below


# -- derived once per state ------------------------------------------------------------------------

# -- paths, names, patches, events -----------------------------------------------------------------

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
    """Events about these objects (of any namespace when ``namespace`` is None), in frames.events order."""
    # Indexed: a scan of every event (100,000 in a big cluster) per finding cost more than the rest of it.
    where = {"object_kind": object_kind} if namespace is None else {"namespace": namespace, "object_kind": object_kind}
    events = state.frames.lookup_isin("events", "object_name", names, **where)
    return events[events["reason"].isin(list(reasons))] if reasons is not None else events


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


# -- pod-runtime rules (crashloop, oom-killed, image-pull-failure, container-config-error) ---------

def status_path(state: "ClusterState", namespace: str, pod: str, container: str, init: bool, *rest: str) -> str:
    """``status.containerStatuses[1].lastState.terminated.exitCode`` for this container of this pod.

    The index is the container's position in the pod's status list, which need not be its spec index.
    """
    key = "initContainerStatuses" if init else "containerStatuses"
    statuses = _l(_d(_d(state.get("Pod", namespace, pod)).get("status")).get(key))
    index = next((i for i, s in enumerate(statuses) if _d(s).get("name") == container), 0)
    return ".".join([f"status.{key}[{index}]", *rest])


@dataclass(frozen=True)
class SpecContainer:
    """A container's spec as declared in the object a person edits (workload template, or the pod)."""

    kind: str
    namespace: str | None
    name: str
    index: int
    init: bool
    spec: Mapping
    pod_spec: Mapping
    pod_spec_path: str

    @property
    def object(self) -> str:
        return object_name(self.kind, self.namespace, self.name)

    def path(self, *rest: str) -> str:
        """Field path inside ``object``: ``spec.template.spec.containers[1].env[3].valueFrom``."""
        key = "initContainers" if self.init else "containers"
        return ".".join([f"{self.pod_spec_path}.{key}[{self.index}]", *rest])

    def pod_path(self, *rest: str) -> str:
        return ".".join([self.pod_spec_path, *rest])


def _pod_spec_of(obj: Mapping, kind: str) -> Mapping:
    node: Any = obj
    for key in pod_spec_path(kind).split("."):
        node = _d(node).get(key)
    return _d(node)


def _find_container(pod_spec: Mapping, container: str, init: bool | None) -> tuple[int, bool, Mapping] | None:
    order = [init] if init is not None else [False, True]
    for is_init in order:
        for index, spec in enumerate(_l(pod_spec.get("initContainers" if is_init else "containers"))):
            if _d(spec).get("name") == container:
                return index, bool(is_init), _d(spec)
    return None


def spec_container(state: "ClusterState", kind: str, namespace: str | None, name: str, container: str,
                   init: bool | None = None, pod: str | None = None) -> SpecContainer | None:
    """The container in the workload's pod template; failing that, in the pod itself."""
    candidates = [(kind, name)]
    if pod and (kind, name) != ("Pod", pod):
        candidates.append(("Pod", pod))
    for obj_kind, obj_name in candidates:
        obj = state.get(obj_kind, namespace, obj_name)
        if not isinstance(obj, Mapping):
            continue
        pod_spec = _pod_spec_of(obj, obj_kind)
        found = _find_container(pod_spec, container, init)
        if found:
            index, is_init, spec = found
            return SpecContainer(obj_kind, namespace, obj_name, index, is_init, spec, pod_spec,
                                 pod_spec_path(obj_kind))
    return None


def workload_groups(rows: pd.DataFrame) -> Iterator[tuple[tuple[str, str, str, str], pd.DataFrame]]:
    """Rows of ``frames.containers`` grouped by (namespace, workload kind, workload, container)."""
    if rows.empty:
        return
    keys = ["namespace", "workload_kind", "workload", "container"]
    rows = rows.assign(**{key: rows[key].fillna("") for key in keys})
    for key, group in rows.groupby(keys, sort=True, dropna=False):
        yield tuple(str(part) for part in key), group.sort_values("pod", kind="stable")


def pods_phrase(count: int, total: int | None = None) -> str:
    noun = "pod" if count == 1 else "pods"
    if total and total > count:
        return f"{count} of {total} pods"
    return f"{count} {noun}"


def container_count(state: "ClusterState", namespace: str, workload_kind: str, workload: str) -> int:
    """How many app containers the workload's pods run (to decide whether a summary names the container)."""
    obj = state.get(workload_kind, namespace, workload)
    return len(_l(_pod_spec_of(obj, workload_kind).get("containers"))) if isinstance(obj, Mapping) else 1


def top_event(events: pd.DataFrame):
    """The most repeated (then most recent) event of a frames.events slice, as an itertuples row
    (``event_evidence`` reads ``row.count``, which a Series would shadow with its method)."""
    if events.empty:
        return None
    ordered = events.sort_values(["count", "last_seen"], ascending=False, kind="stable", na_position="last")
    return frame_rows(ordered)[0]


# -- probe rules (probe-http-error, probe-connection-refused, probe-timeout) -----------------------

@dataclass(frozen=True)
class ProbeEvent:
    """One ``Unhealthy`` event (a row of ``frames.events``) parsed and placed on its workload."""

    row: Any
    failure: ProbeFailure
    namespace: str
    pod: str
    container: str | None
    workload_kind: str
    workload: str


def plain(value: Any) -> Any:
    """numpy scalars from frames as Python values (for YAML patches and JSON evidence); NaN as None."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def probe_events(state: "ClusterState", kinds: Iterable[str]) -> list[ProbeEvent]:
    """Probe failures of these kinds (``ProbeFailure.kind``) on pods the state still has.

    Errored probes (``probe errored[ and resulted in ... state]``) are left out: the
    kubelet discards their result, so they neither fail readiness nor restart anything.
    So are warnings (``ProbeWarning``). Failures that have since resolved (see
    :func:`_resolved`) are dropped, so a few refusals while an app starts are not findings.
    """
    wanted = set(kinds)
    # Parsed and placed once per state: each probe rule reads them all, and there can be thousands.
    placed = once_per_state(state, "probe-failures", lambda: _probe_failures(state))
    return _unresolved(state, [item for item in placed if item.failure.kind in wanted])


def _probe_failures(state: "ClusterState") -> list[ProbeEvent]:
    """Every probe failure (not errored, not a warning) of an Unhealthy event, placed on its pod's workload."""
    events = state.frames.events
    if events.empty:
        return []
    unhealthy = events[(events["reason"] == "Unhealthy") & (events["object_kind"] == "Pod")]
    if unhealthy.empty:
        return []
    pods = state.frames.pods
    owners = dict(zip(zip(pods["namespace"].tolist(), pods["pod"].tolist()),
                      zip(pods["workload_kind"].tolist(), pods["workload"].tolist())))
    found: list[ProbeEvent] = []
    for row in frame_rows(unhealthy):
        failure = parse_probe_message(row.message)
        if failure is None or failure.errored or failure.warning:
            continue
        owner = owners.get((row.namespace, row.object_name))
        if owner is None or not owner[1]:
            continue  # the pod is gone: nothing to place it on, and nothing left to fix there
        container = (row.container if isinstance(row.container, str) else None) or failure.container
        if container is None:
            container = _guess_container(state, row.namespace, row.object_name, failure)
        found.append(ProbeEvent(row, failure, row.namespace, row.object_name, container, owner[0], owner[1]))
    return found


def _guess_container(state: "ClusterState", namespace: str, pod: str, failure: ProbeFailure) -> str | None:
    """For events without a fieldPath: the only container, or the only one whose probe matches."""
    pod_obj = state.get("Pod", namespace, pod)
    containers = [c for c in _l(_d(_d(pod_obj).get("spec")).get("containers")) if isinstance(c, Mapping)]
    if len(containers) == 1:
        name = containers[0].get("name")
        return name if isinstance(name, str) else None
    mine = state.frames.lookup("probes", namespace=namespace, pod=pod, probe=failure.probe)
    if failure.port is not None:
        by_port = mine[mine["port_number"] == failure.port]
        if len(by_port) == 1:
            return by_port.iloc[0]["container"]
    if len(mine) == 1:
        return mine.iloc[0]["container"]
    return None


def _unresolved(state: "ClusterState", found: list[ProbeEvent]) -> list[ProbeEvent]:
    groups: dict[tuple, list[ProbeEvent]] = defaultdict(list)
    for item in found:
        groups[(item.namespace, item.pod, item.container, item.failure.probe)].append(item)
    kept: list[ProbeEvent] = []
    for (namespace, pod, container, probe), items in groups.items():
        last = max((t for t in (time_or_none(i.row.last_seen) for i in items) if t is not None), default=None)
        if not _resolved(state, namespace, pod, container, probe, last):
            kept.extend(items)
    return kept


def _resolved(state: "ClusterState", namespace: str, pod: str, container: str | None, probe: str,
              last_failure: datetime | None) -> bool:
    """True when the pod became Ready after the last failure and, for a liveness probe, the
    container never restarted: failures while an app starts, long since over."""
    if container is None or last_failure is None:
        return False
    status = _d(_d(state.get("Pod", namespace, pod)).get("status"))
    current = next((_d(s) for s in _l(status.get("containerStatuses"))
                    if _d(s).get("name") == container), None)
    if not current or current.get("ready") is not True:
        return False
    ready = next((_d(c) for c in _l(status.get("conditions")) if _d(c).get("type") == "Ready"), {})
    since = parse_time(ready.get("lastTransitionTime"))
    if ready.get("status") != "True" or since is None or since < last_failure:
        return False
    if probe == "liveness" and (current.get("restartCount") or 0) != 0:
        return False
    return True


def group_events(events: Iterable[ProbeEvent], key) -> dict[tuple, list[ProbeEvent]]:
    groups: dict[tuple, list[ProbeEvent]] = defaultdict(list)
    for item in events:
        groups[(item.namespace, item.workload_kind, item.workload, item.container, *key(item))].append(item)
    return dict(sorted(groups.items(), key=lambda kv: tuple(str(part) for part in kv[0])))


def live_pods(state: "ClusterState", namespace: str, kind: str, name: str) -> list[str]:
    """Pods of a workload that are not finished (Succeeded/Failed), sorted."""
    mine = state.frames.lookup("pods", namespace=namespace, workload_kind=kind, workload=name)
    mine = mine[~mine["phase"].isin(["Succeeded", "Failed"])]
    return sorted(str(p) for p in mine["pod"])


def probe_spec(state: "ClusterState", namespace: str, pods: Iterable[str], container: str | None, probe: str):
    """The probe's row in ``frames.probes`` for the first of these pods that declares it."""
    if container is None:
        return None
    mine = state.frames.lookup("probes", namespace=namespace, container=container, probe=probe)
    first_row_of: dict[object, int] = {}
    for position, pod in enumerate(mine["pod"].tolist()):
        first_row_of.setdefault(pod, position)
    for pod in sorted(pods):
        if pod in first_row_of:
            return mine.iloc[first_row_of[pod]]
    return None


def workload_container(state: "ClusterState", kind: str, namespace: str, name: str, container: str | None,
                       fallback_index: int | None = None) -> tuple[int | None, Mapping]:
    """(index, spec) of a container in the workload's pod template (the object a patch targets)."""
    obj = find_object(state, kind, namespace, name)
    spec = _d(_d(obj).get("spec"))
    if kind == "CronJob":
        spec = _d(_d(spec.get("jobTemplate")).get("spec"))
    pod_spec = spec if kind == "Pod" else _d(_d(spec.get("template")).get("spec"))
    for index, item in enumerate(_l(pod_spec.get("containers"))):
        if isinstance(item, Mapping) and item.get("name") == container:
            return index, item
    return fallback_index, {}


def find_object(state: "ClusterState", kind: str, namespace: str | None, name: str) -> dict | None:
    """An object by kind/namespace/name; manifests without a namespace are stored under ""
    while their stand-in pods say "default", so fall back to no namespace."""
    return state.get(kind, namespace, name) or state.get(kind, None, name)


def event_window(events: Iterable[ProbeEvent]) -> tuple[int, datetime | None, datetime | None]:
    items = list(events)
    count = sum(int(i.row.count) for i in items)
    firsts = [t for t in (time_or_none(i.row.first_seen) for i in items) if t is not None]
    lasts = [t for t in (time_or_none(i.row.last_seen) for i in items) if t is not None]
    return count, min(firsts, default=None), max(lasts, default=None)


def events_evidence(events: Iterable[ProbeEvent], limit: int = EVIDENCE_EVENTS) -> list[Evidence]:
    """Event evidence, newest first, at most ``limit`` items plus one line for the rest."""
    def newest_first(item: ProbeEvent) -> tuple:
        moment = time_or_none(item.row.last_seen)
        return (-(moment.timestamp() if moment else 0.0), item.pod, str(item.row.message))

    items = sorted(events, key=newest_first)
    evidence = [event_evidence(i.row, f"{i.pod}: {i.row.reason}: {i.row.message} (x{int(i.row.count)})")
                for i in items[:limit]]
    rest = items[limit:]
    if rest:
        count = sum(int(i.row.count) for i in rest)
        evidence.append(Evidence("event", f"... and {len(rest)} more Unhealthy events ({count} occurrences) on "
                                 f"{len({i.pod for i in rest})} pods", reason="Unhealthy", count=count))
    return evidence


def describe_probe(spec) -> str:
    """``HTTP GET /health/ready on port 8000`` from a ``frames.probes`` row."""
    if spec is None:
        return "probe (spec not found)"
    handler = spec["handler"]
    port = spec["port"]
    number = plain(spec["port_number"])
    if isinstance(port, str) and not port.isdigit() and number is not None:
        port = f"{port} ({int(number)})"
    if handler == "httpGet":
        return f"{spec['scheme'] or 'HTTP'} GET {spec['path'] or '/'} on port {port}"
    if handler == "tcpSocket":
        return f"TCP connect to port {port}"
    if handler == "grpc":
        return f"gRPC health check on port {port}"
    if handler == "exec":
        return f"exec {spec['command']!r}"
    return "probe"


def probe_field_evidence(state: "ClusterState", kind: str, namespace: str, name: str, container: str | None,
                         probe: str, spec, *rest: str) -> Evidence | None:
    """The probe as declared, with its path in the workload (``...containers[1].livenessProbe...``)."""
    if spec is None:
        return None
    index, declared = workload_container(state, kind, namespace, name, container, int(spec["index"]))
    handler = spec["handler"]
    field = rest or ((handler, "path") if handler == "httpGet" else (handler, "port") if handler in ("tcpSocket", "grpc")
                     else (handler, "command") if handler == "exec" else ())
    path = container_path(kind, index if index is not None else int(spec["index"]), f"{probe}Probe", *field)
    value: Any = declared.get(f"{probe}Probe")  # as written in the workload, when it still has the container
    for key in field:
        value = value.get(key) if isinstance(value, Mapping) else None
    if value is None:
        value = plain({"path": spec["path"], "port": spec["port"], "command": spec["command"],
                       "timeoutSeconds": spec["timeout_seconds"]}.get(field[-1] if field else "", None))
    text = (f"{probe}Probe: {describe_probe(spec)} (timeoutSeconds {spec['timeout_seconds']}, periodSeconds "
            f"{spec['period_seconds']}, failureThreshold {spec['failure_threshold']})")
    return Evidence.from_field(text, path=path, value=value, object=object_name(kind, namespace, name))


def readiness_evidence(state: "ClusterState", namespace: str, pods: list[str], container: str | None,
                       probe: str) -> Evidence | None:
    """What the failures do right now: the container's ready flag or restart count, first pod."""
    if container is None:
        return None
    for pod in pods:
        status = _d(_d(state.get("Pod", namespace, pod)).get("status"))
        for index, item in enumerate(_l(status.get("containerStatuses"))):
            item = _d(item)
            if item.get("name") != container:
                continue
            if probe in RESTARTING_PROBES:
                restarts = item.get("restartCount")
                if isinstance(restarts, int) and restarts > 0:
                    return Evidence.from_status(
                        f"container {container} has restarted {restarts} times",
                        path=f"status.containerStatuses[{index}].restartCount", value=restarts,
                        object=object_name("Pod", namespace, pod))
            elif item.get("ready") is False:
                return Evidence.from_status(
                    f"container {container} is not ready", path=f"status.containerStatuses[{index}].ready",
                    value=False, object=object_name("Pod", namespace, pod))
    return None


def killed_by_probe(state: "ClusterState", namespace: str, pods: Iterable[str], container: str | None,
                    probes: Iterable[str]) -> list:
    """``Killing`` events saying the container failed one of these probes and will be restarted."""
    wanted = {f"{p}-probe" for p in probes}
    events = state.frames.events
    if events.empty or namespace is None:  # events_for would read None as any namespace; here it matches none
        return []
    killings = events_for(state, namespace, "Pod", pods, ["Killing"])
    found = []
    for row in frame_rows(killings):
        killed = parse_killing(row.message)
        if killed is None or killed.cause not in wanted:
            continue
        if container is not None and (killed.container or row.container) not in (None, container):
            continue
        found.append(row)
    return found


def affected_pods_phrase(affected: list[str], live: list[str]) -> str:
    return f"{len(affected)}/{len(live)} pods" if live else f"{len(affected)} pods"


def all_pods_affected(affected: Iterable[str], live: list[str]) -> bool:
    return bool(live) and set(live) <= set(affected)


def nothing_serves(state: "ClusterState", namespace: str, kind: str, name: str, affected: Iterable[str]) -> bool:
    """The probe fails on every pod of the workload, or no pod of it is Ready at all: the
    workload is down and this failure is (one of) the reasons."""
    live = live_pods(state, namespace, kind, name)
    if all_pods_affected(affected, live):
        return True
    # live_pods() read these names from the namespace's rows of frames.pods: they are its pods already.
    return bool(live) and not any(_pod_ready(state.get("Pod", namespace, pod)) for pod in live)


def _pod_ready(pod: Any) -> bool:
    status = _d(_d(pod).get("status"))
    return any(_d(c).get("type") == "Ready" and _d(c).get("status") == "True"
               for c in _l(status.get("conditions")))


def crashes_on_its_own(state: "ClusterState", namespace: str, pod: str, container: str | None) -> bool:
    """The container exits by itself with an error (not killed by a probe): a probe that cannot
    connect to it is a symptom of that crash, which the crashloop rule reports."""
    if container is None:
        return False
    mine = state.frames.lookup("containers", namespace=namespace, pod=pod, container=container)
    if mine.empty:
        return False
    row = mine.iloc[0]
    code = plain(row["last_exit_code"])
    if not row["restarts"] or code is None or code in (0, 137, 143):
        return False
    return not killed_by_probe(state, namespace, [pod], container, RESTARTING_PROBES)


# -- related findings (rollout-stuck, service-no-endpoints) ----------------------------------------

def related_findings(state, rule_ids: Iterable[str] | None = None) -> list[Finding]:
    """Findings of other rules on the same state, run through the registry.

    A rule that is not installed, whose needs the state does not meet, or that fails
    is skipped: related findings are a cross-reference, never a reason to fail.
    """
    wanted = tuple(RELATED_RULES if rule_ids is None else rule_ids)
    try:
        from ..registry import load_detectors
        registry = load_detectors()
    except Exception:  # noqa: BLE001 - a broken plugin must not break this rule
        return []
    return list(once_per_state(state, ("related", wanted), lambda: _related_findings(state, registry, wanted)))


def _related_findings(state, registry: dict, wanted: tuple[str, ...]) -> tuple[Finding, ...]:
    found: list[Finding] = []
    for rule_id in wanted:
        registered = registry.get(rule_id)
        if registered is None or registered.rule.needs - state.capabilities:
            continue
        try:
            found.extend(registered.detect(state))
        except Exception:  # noqa: BLE001 - reported by run_detectors as internal-error already
            continue
    found.sort(key=sort_key)
    return tuple(found)


def related_to(related: list[Finding], namespace: str | None, kind: str, name: str,
               pods: Iterable[str] | None = None) -> list[Finding]:
    """The findings on one workload; when ``pods`` is given, those about some of these pods (or no pod)."""
    wanted = set(pods) if pods is not None else None
    out = []
    for finding in related:
        if finding.namespace != namespace or finding.kind != kind or finding.name != name:
            continue
        if wanted is not None and finding.pods and not (set(finding.pods) & wanted):
            continue
        if finding.id not in {f.id for f in out}:
            out.append(finding)
    return out


# -- Service rules (service-no-endpoints, service-target-port-missing, service-duplicate-port) -----

def selector_of(service: Mapping) -> dict[str, str] | None:
    """The Service's selector, or None when it has none (Endpoints managed by hand)."""
    selector = _d(service.get("spec")).get("selector")
    if not isinstance(selector, Mapping) or not selector:
        return None
    return {str(k): str(v) for k, v in selector.items()}


def matches(selector: Mapping[str, str], labels: Mapping) -> bool:
    return all(str(labels.get(key)) == value and key in labels for key, value in selector.items())


class PodsByNamespace:
    """The pods of each namespace, in the state's order, for the checks run per Service.

    Built once per check: scanning every pod of the cluster for each Service, and every pod of
    the namespace for each selector, was quadratic in the cluster's size. A pod without a
    namespace (a manifest's) lands in ``default``, as kubectl would put it.
    """

    def __init__(self, state: "ClusterState"):
        self._pods: dict[object, list[dict]] = {}
        for pod in state.of_kind("Pod"):
            self._pods.setdefault(_d(pod.get("metadata")).get("namespace") or "default", []).append(pod)
        self._by_label: dict[object, dict[tuple[object, str], list[dict]]] = {}

    def in_namespace(self, namespace: str | None) -> list[dict]:
        """Every pod of the namespace (a shared list: do not change it)."""
        return self._pods.get(namespace or "default", [])

    def selected(self, namespace: str | None, selector: Mapping[str, str]) -> list[dict]:
        """The live (or stand-in) pods of the namespace the selector matches; finished pods never get endpoints."""
        by_label = self._by_label.get(namespace or "default")
        if by_label is None:
            by_label = self._by_label[namespace or "default"] = _pods_by_label(self.in_namespace(namespace))
        # Every match carries each of the selector's labels, so the smallest of their buckets holds them all,
        # in state order; matches() still decides.
        candidates = min((by_label.get((key, value), []) for key, value in selector.items()), key=len)
        return [p for p in candidates if matches(selector, labels_of(p)) and not is_terminal(p)]


def pods_by_namespace(state: "ClusterState") -> PodsByNamespace:
    """The state's PodsByNamespace, built once: the Service rules share it."""
    return once_per_state(state, PodsByNamespace, lambda: PodsByNamespace(state))


def _pods_by_label(pods: list[dict]) -> dict[tuple[object, str], list[dict]]:
    """Pods under each (label, value as a selector compares it) they carry, in their order."""
    by_label: dict[tuple[object, str], list[dict]] = {}
    for pod in pods:
        for key, value in labels_of(pod).items():
            by_label.setdefault((key, str(value)), []).append(pod)
    return by_label


def selected_pods(pods: PodsByNamespace, service: Mapping) -> list[dict]:
    """The live (or stand-in) pods a Service selects; finished pods never get endpoints."""
    selector = selector_of(service)
    if selector is None:
        return []
    return pods.selected(_d(service.get("metadata")).get("namespace"), selector)


def is_stand_in(pod: Mapping) -> bool:
    return STAND_IN_ANNOTATION in _d(_d(pod.get("metadata")).get("annotations"))


def workload_of(state, pod: Mapping) -> tuple[str, str]:
    return state.frames.owners.workload_of(pod)


def labels_of(pod: Mapping) -> Mapping:
    return _d(_d(pod.get("metadata")).get("labels"))


def is_terminal(pod: Mapping) -> bool:
    """Succeeded or Failed: finished pods never get endpoints."""
    return _d(pod.get("status")).get("phase") in ("Succeeded", "Failed")
