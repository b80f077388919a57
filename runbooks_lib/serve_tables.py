"""Server-side printing: the ``meta.k8s.io/v1`` Table that ``kubectl get`` asks for.

kubectl has no client-side printers for built-in kinds any more: given a plain list it
prints only NAME and AGE. The columns here follow the API server's printers (same
names, order and priorities; priority 1 columns show with ``-o wide``), and every
age is measured against the snapshot's capture time, not the wall clock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Mapping

from .timeutil import age, human_duration, parse_time

NONE = "<none>"
Row = list


def _col(name: str, type_: str = "string", priority: int = 0, fmt: str = "", description: str = "") -> dict:
    return {"name": name, "type": type_, "format": fmt, "description": description or name, "priority": priority}


_NAME = _col("Name", fmt="name", description="Name of the object, unique within its namespace.")
_AGE = _col("Age", description="Time since the object was created, measured at the snapshot's capture time.")
_CONTAINERS = _col("Containers", priority=1, description="Names of each container in the template.")
_IMAGES = _col("Images", priority=1, description="Images referenced by each container in the template.")
_SELECTOR = _col("Selector", priority=1, description="Label selector for the pods.")


# -- small formatting helpers -----------------------------------------------------

def _get(obj: object, *path: str, default=None):
    for key in path:
        obj = obj.get(key) if isinstance(obj, Mapping) else None
    return default if obj is None else obj


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _created(obj: Mapping, now: datetime) -> str:
    return age(parse_time(_get(obj, "metadata", "creationTimestamp")), now)


def _containers(template_spec: object) -> tuple[str, str]:
    containers = [c for c in _get(template_spec, "containers", default=[]) if isinstance(c, Mapping)]
    return ",".join(str(c.get("name", "")) for c in containers), ",".join(str(c.get("image", "")) for c in containers)


def format_labels(labels: object) -> str:
    if not isinstance(labels, Mapping) or not labels:
        return NONE
    return ",".join(f"{key}={labels[key]}" for key in sorted(labels))


def format_label_selector(selector: object, empty: str = NONE) -> str:
    """A LabelSelector the way the API server writes it: ``app=web,tier in (a,b)``."""
    if not isinstance(selector, Mapping):
        return empty
    parts = []
    for key, value in (selector.get("matchLabels") or {}).items():
        parts.append((key, f"{key}={value}"))
    for expr in selector.get("matchExpressions") or []:
        key, operator = expr.get("key", ""), expr.get("operator", "")
        values = ",".join(sorted(expr.get("values") or []))
        text = {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": key,
                "DoesNotExist": f"!{key}"}.get(operator, f"{key} {operator} ({values})")
        parts.append((key, text))
    if not parts:
        return empty
    return ",".join(text for _, text in sorted(parts))


# -- pods ------------------------------------------------------------------------

_POD_COLUMNS = [
    _NAME,
    _col("Ready", description="The aggregate readiness state of this pod for accepting traffic."),
    _col("Status", description="The aggregate status of the containers in this pod."),
    _col("Restarts", description="Container restarts, and how long before capture the last one was."),
    _AGE,
    _col("IP", priority=1, description="The pod's IP address."),
    _col("Node", priority=1, description="The node the pod is scheduled on."),
    _col("Nominated Node", priority=1, description="The node the scheduler nominated for preemption."),
    _col("Readiness Gates", priority=1, description="Readiness gates that are true, of all declared."),
]


def _pod_row(pod: Mapping, now: datetime) -> Row:
    spec, status = _get(pod, "spec", default={}), _get(pod, "status", default={})
    phase = str(status.get("phase") or "")
    reason = str(status.get("reason") or phase)
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    init_specs = {c.get("name"): c for c in spec.get("initContainers") or [] if isinstance(c, Mapping)}
    sidecars = {name for name, c in init_specs.items() if c.get("restartPolicy") == "Always"}
    total = len(spec.get("containers") or []) + len(sidecars)
    ready = restarts = sidecar_restarts = 0
    last_restart = last_sidecar_restart = None

    def later(current, state):
        finished = parse_time(_get(state, "lastState", "terminated", "finishedAt"))
        return finished if finished and (current is None or finished > current) else current

    initializing = False
    init_statuses = status.get("initContainerStatuses") or []
    for index, cs in enumerate(init_statuses):
        restarts += _int(cs.get("restartCount"))
        last_restart = later(last_restart, cs)
        sidecar = cs.get("name") in sidecars
        if sidecar:
            sidecar_restarts += _int(cs.get("restartCount"))
            last_sidecar_restart = later(last_sidecar_restart, cs)
        terminated, waiting = _get(cs, "state", "terminated"), _get(cs, "state", "waiting")
        if terminated and _int(terminated.get("exitCode")) == 0:
            continue
        if sidecar and cs.get("started"):
            ready += 1 if cs.get("ready") else 0
            continue
        if terminated:
            reason = "Init:" + (terminated.get("reason") or (f"Signal:{terminated['signal']}" if terminated.get("signal")
                                                             else f"ExitCode:{_int(terminated.get('exitCode'))}"))
        elif waiting and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{index}/{len(init_specs)}"
        initializing = True
        break

    initialized = any(c.get("type") == "Initialized" and c.get("status") == "True"
                      for c in status.get("conditions") or [])
    if not initializing or initialized:
        restarts, last_restart = sidecar_restarts, last_sidecar_restart
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += _int(cs.get("restartCount"))
            last_restart = later(last_restart, cs)
            waiting, terminated = _get(cs, "state", "waiting"), _get(cs, "state", "terminated")
            if waiting and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated and terminated.get("reason"):
                reason = terminated["reason"]
            elif terminated:
                reason = (f"Signal:{terminated['signal']}" if terminated.get("signal")
                          else f"ExitCode:{_int(terminated.get('exitCode'))}")
            elif cs.get("ready") and _get(cs, "state", "running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            pod_ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                            for c in status.get("conditions") or [])
            reason = "Running" if pod_ready else "NotReady"

    if _get(pod, "metadata", "deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"

    restarts_text = str(restarts)
    if restarts and last_restart:
        restarts_text = f"{restarts} ({human_duration(now - last_restart)} ago)"
    pod_ips = status.get("podIPs") or []
    pod_ip = (pod_ips[0].get("ip") if pod_ips and isinstance(pod_ips[0], Mapping) else None) or status.get("podIP")
    gates = spec.get("readinessGates") or []
    gates_text = NONE
    if gates:
        conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        gates_text = f"{sum(1 for g in gates if conditions.get(g.get('conditionType')) == 'True')}/{len(gates)}"
    return [_get(pod, "metadata", "name", default=""), f"{ready}/{total}", reason, restarts_text, _created(pod, now),
            pod_ip or NONE, spec.get("nodeName") or NONE, status.get("nominatedNodeName") or NONE, gates_text]


# -- events ----------------------------------------------------------------------

_EVENT_COLUMNS = [
    _col("Last Seen", description="When the event last happened, before capture."),
    _col("Type", description="Normal or Warning."),
    _col("Reason", description="Why the event happened, in CamelCase."),
    _col("Object", description="The object the event is about."),
    _col("Subobject", priority=1, description="The part of the object, e.g. a container."),
    _col("Source", priority=1, description="The component that reported the event."),
    _col("Message", description="What happened, for humans."),
    _col("First Seen", priority=1, description="When the event first happened, before capture."),
    _col("Count", priority=1, description="How many times it happened."),
    _col("Name", priority=1, fmt="name", description="Name of the event object."),
]


def _event_row(event: Mapping, now: datetime) -> Row:
    first = age(parse_time(event.get("firstTimestamp")) or parse_time(event.get("eventTime")), now)
    last = age(parse_time(event.get("lastTimestamp")), now) if event.get("lastTimestamp") else first
    count = _int(event.get("count"))
    series = event.get("series")
    if isinstance(series, Mapping):
        last = age(parse_time(series.get("lastObservedTime")), now)
        count = _int(series.get("count"))
    elif count == 0:
        count = 1  # singleton events of the newer API carry no count
    involved = event.get("involvedObject") or {}
    kind = str(involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = event.get("source") or {}
    component = source.get("component") or event.get("reportingComponent") or ""
    instance = source.get("host") or event.get("reportingInstance") or ""
    return [last, event.get("type") or "", event.get("reason") or "", target, involved.get("fieldPath") or "",
            f"{component}, {instance}" if instance else component, str(event.get("message") or "").strip(),
            first, count, _get(event, "metadata", "name", default="")]


# -- workloads -------------------------------------------------------------------

_DEPLOYMENT_COLUMNS = [_NAME, _col("Ready", description="Ready pods of desired."),
                       _col("Up-to-date", description="Pods running the current template."),
                       _col("Available", description="Pods available to serve."), _AGE, _CONTAINERS, _IMAGES,
                       _SELECTOR]


def _deployment_row(obj: Mapping, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(_get(spec, "template", "spec"))
    return [_get(obj, "metadata", "name"), f"{_int(status.get('readyReplicas'))}/{_int(spec.get('replicas'))}",
            _int(status.get("updatedReplicas")), _int(status.get("availableReplicas")), _created(obj, now),
            names, images, format_label_selector(spec.get("selector"), empty="")]


_REPLICASET_COLUMNS = [_NAME, _col("Desired", "integer"), _col("Current", "integer"), _col("Ready", "integer"), _AGE,
                       _CONTAINERS, _IMAGES, _SELECTOR]


def _replicaset_row(obj: Mapping, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(_get(spec, "template", "spec"))
    selector = spec.get("selector")
    # a ReplicationController's selector is a plain map, a ReplicaSet's a LabelSelector
    selector_text = format_labels(selector) if obj.get("kind") == "ReplicationController" or (
        isinstance(selector, Mapping) and "matchLabels" not in selector and "matchExpressions" not in selector
    ) else format_label_selector(selector)
    return [_get(obj, "metadata", "name"), _int(spec.get("replicas")), _int(status.get("replicas")),
            _int(status.get("readyReplicas")), _created(obj, now), names, images, selector_text]


_STATEFULSET_COLUMNS = [_NAME, _col("Ready", description="Ready pods of desired."), _AGE, _CONTAINERS, _IMAGES]


def _statefulset_row(obj: Mapping, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(_get(spec, "template", "spec"))
    return [_get(obj, "metadata", "name"), f"{_int(status.get('readyReplicas'))}/{_int(spec.get('replicas'))}",
            _created(obj, now), names, images]


_DAEMONSET_COLUMNS = [_NAME, _col("Desired", "integer"), _col("Current", "integer"), _col("Ready", "integer"),
                      _col("Up-to-date", "integer"), _col("Available", "integer"), _col("Node Selector"), _AGE,
                      _CONTAINERS, _IMAGES, _SELECTOR]


def _daemonset_row(obj: Mapping, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(_get(spec, "template", "spec"))
    return [_get(obj, "metadata", "name"), _int(status.get("desiredNumberScheduled")),
            _int(status.get("currentNumberScheduled")), _int(status.get("numberReady")),
            _int(status.get("updatedNumberScheduled")), _int(status.get("numberAvailable")),
            format_labels(_get(spec, "template", "spec", "nodeSelector")), _created(obj, now), names, images,
            format_label_selector(spec.get("selector"))]


_JOB_COLUMNS = [_NAME, _col("Status"), _col("Completions"), _col("Duration"), _AGE, _CONTAINERS, _IMAGES, _SELECTOR]


def _job_row(obj: Mapping, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    succeeded = _int(status.get("succeeded"))
    if isinstance(spec.get("completions"), int):
        completions = f"{succeeded}/{spec['completions']}"
    elif _int(spec.get("parallelism")) > 1:
        completions = f"{succeeded}/1 of {spec['parallelism']}"
    else:
        completions = f"{succeeded}/1"
    started, finished = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    duration = human_duration((finished or now) - started) if started else ""
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    if conditions.get("Complete") == "True":
        state = "Complete"
    elif conditions.get("Failed") == "True":
        state = "Failed"
    elif _get(obj, "metadata", "deletionTimestamp"):
        state = "Terminating"
    elif conditions.get("Suspended") == "True":
        state = "Suspended"
    elif conditions.get("FailureTarget") == "True":
        state = "FailureTarget"
    else:
        state = "Running"
    names, images = _containers(_get(spec, "template", "spec"))
    return [_get(obj, "metadata", "name"), state, completions, duration, _created(obj, now), names, images,
            format_label_selector(spec.get("selector"))]


_CRONJOB_COLUMNS = [_NAME, _col("Schedule"), _col("Timezone"), _col("Suspend", "boolean"), _col("Active", "integer"),
                    _col("Last Schedule"), _AGE, _CONTAINERS, _IMAGES, _SELECTOR]


def _cronjob_row(obj: Mapping, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    last = parse_time(status.get("lastScheduleTime"))
    suspend = spec.get("suspend")
    job_spec = _get(spec, "jobTemplate", "spec", default={})
    names, images = _containers(_get(job_spec, "template", "spec"))
    return [_get(obj, "metadata", "name"), spec.get("schedule") or "", spec.get("timeZone") or NONE,
            "<unset>" if suspend is None else ("True" if suspend else "False"), len(status.get("active") or []),
            age(last, now) if last else NONE, _created(obj, now), names, images,
            format_label_selector(job_spec.get("selector"))]


# -- networking and the rest -------------------------------------------------------

_SERVICE_COLUMNS = [_NAME, _col("Type"), _col("Cluster-IP"), _col("External-IP"), _col("Port(s)"), _AGE,
                    _col("Selector", priority=1)]


def _service_row(obj: Mapping, now: datetime) -> Row:
    spec = obj.get("spec") or {}
    kind = spec.get("type") or "ClusterIP"
    cluster_ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    external = ",".join(spec.get("externalIPs") or [])
    if kind == "LoadBalancer":
        ingress = _get(obj, "status", "loadBalancer", "ingress", default=[])
        balancers = [i.get("ip") or i.get("hostname") for i in ingress if i.get("ip") or i.get("hostname")]
        external = ",".join(balancers + (spec.get("externalIPs") or [])) or "<pending>"
    elif kind == "ExternalName":
        external = spec.get("externalName") or ""
    ports = []
    for port in spec.get("ports") or []:
        protocol = port.get("protocol") or "TCP"
        node_port = f":{port['nodePort']}" if port.get("nodePort") else ""
        ports.append(f"{port.get('port')}{node_port}/{protocol}")
    return [_get(obj, "metadata", "name"), kind, cluster_ips[0] if cluster_ips else NONE, external or NONE,
            ",".join(ports) or NONE, _created(obj, now), format_labels(spec.get("selector"))]


_ENDPOINTS_COLUMNS = [_NAME, _col("Endpoints"), _AGE]


def _endpoints_row(obj: Mapping, now: datetime) -> Row:
    shown, total, limit = [], 0, 3
    for subset in obj.get("subsets") or []:
        addresses = [a.get("ip", "") for a in subset.get("addresses") or []]
        ports = [p.get("port") for p in subset.get("ports") or []] or [None]
        for port in ports:
            total += len(addresses)
            for ip in addresses:
                if len(shown) < limit:
                    shown.append(ip if port is None else (f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"))
    text = ",".join(shown) or NONE
    if total > limit:
        text += f" + {total - limit} more..."
    return [_get(obj, "metadata", "name"), text, _created(obj, now)]


_NODE_COLUMNS = [_NAME, _col("Status"), _col("Roles"), _AGE, _col("Version"), _col("Internal-IP", priority=1),
                 _col("External-IP", priority=1), _col("OS-Image", priority=1), _col("Kernel-Version", priority=1),
                 _col("Container-Runtime", priority=1)]


def _node_row(obj: Mapping, now: datetime) -> Row:
    status = obj.get("status") or {}
    ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    states = ["Ready" if ready[0].get("status") == "True" else "NotReady"] if ready else ["Unknown"]
    if _get(obj, "spec", "unschedulable"):
        states.append("SchedulingDisabled")
    roles = set()
    for key, value in (_get(obj, "metadata", "labels", default={}) or {}).items():
        if key.startswith("node-role.kubernetes.io/") and key.split("/", 1)[1]:
            roles.add(key.split("/", 1)[1])
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    addresses = status.get("addresses") or []

    def address(kind: str) -> str:
        return next((a.get("address") for a in addresses if a.get("type") == kind), None) or NONE

    info = status.get("nodeInfo") or {}
    return [_get(obj, "metadata", "name"), ",".join(states), ",".join(sorted(roles)) or NONE, _created(obj, now),
            info.get("kubeletVersion") or "", address("InternalIP"), address("ExternalIP"),
            info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion") or "<unknown>"]


_NAMESPACE_COLUMNS = [_NAME, _col("Status"), _AGE]


def _namespace_row(obj: Mapping, now: datetime) -> Row:
    return [_get(obj, "metadata", "name"), _get(obj, "status", "phase", default=""), _created(obj, now)]


_NETWORKPOLICY_COLUMNS = [_NAME, _col("Pod-Selector"), _AGE]


def _networkpolicy_row(obj: Mapping, now: datetime) -> Row:
    return [_get(obj, "metadata", "name"), format_label_selector(_get(obj, "spec", "podSelector")),
            _created(obj, now)]


_HPA_COLUMNS = [_NAME, _col("Reference"), _col("Targets"), _col("MinPods"), _col("MaxPods"), _col("Replicas"), _AGE]


def _hpa_targets(spec: Mapping, status: Mapping) -> str:
    specs, current = spec.get("metrics") or [], status.get("currentMetrics") or []
    if not specs:
        return NONE
    texts = []
    for index, metric in enumerate(specs):
        now_value = current[index] if index < len(current) else {}
        if metric.get("type") == "Resource":
            resource = metric.get("resource") or {}
            target = resource.get("target") or {}
            seen = _get(now_value, "resource", "current", default={})
            if "averageUtilization" in target:
                used = f"{seen['averageUtilization']}%" if "averageUtilization" in seen else "<unknown>"
                texts.append(f"{resource.get('name')}: {used}/{target['averageUtilization']}%")
            else:
                texts.append(f"{resource.get('name')}: {seen.get('averageValue', '<unknown>')}/"
                             f"{target.get('averageValue', '<auto>')}")
        else:
            texts.append("<unknown>")  # pods/object/external metrics: not rendered here
    shown = ", ".join(texts[:2])
    return shown + (f" + {len(texts) - 2} more..." if len(texts) > 2 else "")


def _hpa_row(obj: Mapping, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    minimum = spec.get("minReplicas")
    return [_get(obj, "metadata", "name"), f"{ref.get('kind', '')}/{ref.get('name', '')}", _hpa_targets(spec, status),
            str(minimum) if isinstance(minimum, int) else "<unset>", _int(spec.get("maxReplicas")),
            _int(status.get("currentReplicas")), _created(obj, now)]


_PVC_COLUMNS = [_NAME, _col("Status"), _col("Volume"), _col("Capacity"), _col("Access Modes"), _col("StorageClass"),
                _col("VolumeAttributesClass"), _AGE, _col("VolumeMode", priority=1)]
_ACCESS_MODES = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}


def _pvc_row(obj: Mapping, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    phase = "Terminating" if _get(obj, "metadata", "deletionTimestamp") else status.get("phase") or ""
    capacity = modes = ""
    if spec.get("volumeName"):
        capacity = _get(status, "capacity", "storage", default="")
        modes = ",".join(_ACCESS_MODES.get(m, m) for m in status.get("accessModes") or [])
    storage_class = spec.get("storageClassName") or _get(
        obj, "metadata", "annotations", "volume.beta.kubernetes.io/storage-class", default="")
    return [_get(obj, "metadata", "name"), phase, spec.get("volumeName") or "", capacity, modes, storage_class,
            spec.get("volumeAttributesClassName") or "<unset>", _created(obj, now),
            spec.get("volumeMode") or "<unset>"]


def _count_row(field_names: tuple[str, ...]) -> Callable[[Mapping, datetime], Row]:
    def row(obj: Mapping, now: datetime) -> Row:
        count = sum(len(obj.get(name) or {}) for name in field_names)
        return [_get(obj, "metadata", "name"), count, _created(obj, now)]
    return row


_DEFAULT_COLUMNS = [_NAME, _AGE]


def _default_row(obj: Mapping, now: datetime) -> Row:
    return [_get(obj, "metadata", "name"), _created(obj, now)]


PRINTERS: dict[str, tuple[list[dict], Callable[[Mapping, datetime], Row]]] = {
    "Pod": (_POD_COLUMNS, _pod_row),
    "Event": (_EVENT_COLUMNS, _event_row),
    "Deployment": (_DEPLOYMENT_COLUMNS, _deployment_row),
    "ReplicaSet": (_REPLICASET_COLUMNS, _replicaset_row),
    "ReplicationController": (_REPLICASET_COLUMNS, _replicaset_row),
    "StatefulSet": (_STATEFULSET_COLUMNS, _statefulset_row),
    "DaemonSet": (_DAEMONSET_COLUMNS, _daemonset_row),
    "Job": (_JOB_COLUMNS, _job_row),
    "CronJob": (_CRONJOB_COLUMNS, _cronjob_row),
    "Service": (_SERVICE_COLUMNS, _service_row),
    "Endpoints": (_ENDPOINTS_COLUMNS, _endpoints_row),
    "Node": (_NODE_COLUMNS, _node_row),
    "Namespace": (_NAMESPACE_COLUMNS, _namespace_row),
    "NetworkPolicy": (_NETWORKPOLICY_COLUMNS, _networkpolicy_row),
    "HorizontalPodAutoscaler": (_HPA_COLUMNS, _hpa_row),
    "PersistentVolumeClaim": (_PVC_COLUMNS, _pvc_row),
    "ConfigMap": ([_NAME, _col("Data", "integer"), _AGE], _count_row(("data", "binaryData"))),
    "ServiceAccount": ([_NAME, _col("Secrets", "integer"), _AGE], _count_row(("secrets",))),
}


def render_table(kind: str, objects: list[Mapping], now: datetime, row_object: Callable[[Mapping], dict | None],
                 list_meta: dict, api_version: str = "meta.k8s.io/v1") -> dict:
    """A Table of ``objects`` (all of one stored kind); ``row_object`` gives each row's embedded object."""
    columns, make_row = PRINTERS.get(kind, (_DEFAULT_COLUMNS, _default_row))
    rows = []
    for obj in objects:
        row: dict = {"cells": make_row(obj, now)}
        embedded = row_object(obj)
        if embedded is not None:
            row["object"] = embedded
        rows.append(row)
    return {"kind": "Table", "apiVersion": api_version, "metadata": list_meta, "columnDefinitions": columns,
            "rows": rows}
