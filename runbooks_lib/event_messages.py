"""Parsers for Kubernetes Event messages written by the kubelet and the scheduler.

Every public function is a pure function over strings.  None of them raises for
any ``str`` input (non-``str`` input such as ``None`` or a pandas ``NaN`` is
treated as "not recognised").  Unrecognised text gives ``None`` from the
``parse_*`` functions and a result with ``category == "other"`` from
:func:`classify_image_pull` and :func:`parse_container_config_error`.

All regular expressions are precompiled, anchored or led by a literal, and free
of nested quantifiers; keyword classification uses plain substring tests, so the
cost stays linear in the length of the message.

A leading ``spec.containers{NAME}: `` (the involvedObject.fieldPath that newer
``kubectl describe`` prints in front of kubelet messages) is accepted and
stripped by every parser; the container name is kept where a result has a
``container`` field.

Formats covered
===============

Probe failures -- ``reason=Unhealthy`` / ``ProbeWarning`` (:func:`parse_probe_message`)
    ``<Type> probe failed: <output>``
    ``<Type> probe errored: <error>``                       (kubelet <= 1.32)
    ``<Type> probe errored and resulted in <state> state: <error>``  (1.33+)
    ``<Type> probe warning: <output>``                      (ProbeWarning, e.g. redirects)
    where ``<Type>`` is Liveness / Readiness / Startup, and ``<output>`` is one of:

    * HTTP:  ``HTTP probe failed with statuscode: 503``
             ``Get "http://10.8.1.23:9801/liveness": dial tcp 10.8.1.23:9801: connect: connection refused``
             ``Get http://10.8.1.23:8080/healthz: dial tcp ...`` (unquoted URL, Go < 1.14 kubelets)
             ``Get "https://[fd00::1]:8443/ready": context deadline exceeded (Client.Timeout exceeded while awaiting headers)``
             ``Get "...": net/http: request canceled (Client.Timeout exceeded while awaiting headers)``
             ``Get "...": net/http: request canceled while waiting for connection (Client.Timeout ...)``
             ``Get "...": dial tcp 10.8.1.23:8000: i/o timeout``
             ``Probe terminated redirects, Response body: ...``  (warning)
    * TCP:   ``dial tcp 10.8.1.23:5432: connect: connection refused`` / ``...: i/o timeout``
             / ``...: connect: no route to host``
    * gRPC:  ``timeout: failed to connect service "10.8.1.23:9000" within 1s[: context deadline exceeded]``
             ``timeout: health rpc did not complete within 1s``
             ``error: failed to connect service at "…": …``
             ``error: this server does not implement the grpc health protocol (grpc.health.v1.Health): …``
             ``error: health rpc probe failed: …``
             ``service unhealthy (responded with "NOT_SERVING")``
    * exec:  the command's own output (arbitrary text; empty output is common),
             ``command "cat /tmp/healthy" timed out`` (dockershim),
             ``command timed out: "pgrep x" timed out after 5s`` / ``command timed out`` (CRI runtimes),
             ``OCI runtime exec failed: exec failed: ...: executable file not found in $PATH``,
             curl/wget/shell output (``curl: (7) Failed to connect ...``, ``sh: curl: not found``),
             errored variants ``rpc error: code = NotFound desc = failed to exec in container: ...``,
             ``rpc error: code = Unknown desc = command error: cannot register an exec PID: container is stopping ...``,
             ``rpc error: code = DeadlineExceeded desc = context deadline exceeded``.
    * errored, port name not resolvable: ``strconv.Atoi: parsing "http": invalid syntax``.

Scheduling failures -- ``reason=FailedScheduling`` (:func:`parse_failed_scheduling`)
    ``0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient memory. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.``
    (1.24+; some versions end the preemption part with ``..``), the pre-preemption
    form ``0/3 nodes are available: 3 Insufficient cpu.``, uncounted PreFilter
    reasons ``0/5 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: ...``,
    post-filter leftovers ``... PersistentVolumeClaims. not found`` and
    ``... untolerated taint(s). no new claims to deallocate, preemption: ...`` (DRA),
    ``no nodes available to schedule pods``, plugin errors
    ``running PreFilter plugin "VolumeBinding": %!w(<nil>)``,
    ``running PreFilter plugin "VolumeBinding": error getting PVC "ns/x": could not find v1.PersistentVolumeClaim "ns/x"``,
    ``running "VolumeBinding" filter plugin for pod "web-0": pod has unbound immediate PersistentVolumeClaims`` (1.17-1.19)
    and a bare ``persistentvolumeclaim "x" not found``.
    Reason texts across versions: ``had taint {k: v}, that the pod didn't tolerate``,
    ``had taints that the pod didn't tolerate``, ``had untolerated taint {k: v}``,
    ``had untolerated taint(s)``, ``didn't match Pod's node affinity/selector``,
    ``didn't match node selector``, ``didn't match pod affinity rules``,
    ``didn't match pod anti-affinity rules``, ``didn't satisfy existing pods anti-affinity rules``,
    ``didn't match pod affinity/anti-affinity`` (old umbrella reason), ``had volume node
    affinity conflict``, ``didn't match PersistentVolume's node affinity``, ``had no
    available volume zone``, ``didn't find available persistent volumes to bind``,
    ``were unschedulable``, ``Too many pods`` / ``Insufficient pods``,
    ``didn't have free ports for the requested pod ports``, ``Insufficient <resource>``.

Image pulls -- reasons ``Failed`` / ``BackOff`` / ``InspectFailed`` / ``ErrImageNeverPull``
and the container waiting reasons ``ErrImagePull`` / ``ImagePullBackOff`` / ``InvalidImageName``
(:func:`classify_image_pull`)
    ``Failed to pull image "X": rpc error: code = NotFound desc = failed to pull and unpack image "…": … not found``
    ``Failed to pull image "X": failed to pull and unpack image "…": …`` (newer kubelets drop the ``rpc error`` wrapper)
    ``… pull access denied, repository does not exist or may require authorization: server message: insufficient_scope …``
    ``… Error response from daemon: pull access denied for X, repository does not exist or may require 'docker login'`` (dockershim)
    ``… failed to authorize: failed to fetch anonymous token: unexpected status: 401 Unauthorized`` / ``403 Forbidden``
    ``… manifest unknown`` (docker / CRI-O), ``… i/o timeout``, ``… context deadline exceeded``,
    ``… toomanyrequests: You have reached your pull rate limit …``, ``429 Too Many Requests``, ``pull QPS exceeded``,
    ``Failed to apply default image tag "X": couldn't parse image reference|name "X": invalid reference format[: …]``,
    ``Back-off pulling image "X"`` and the 1.30+ waiting message
    ``Back-off pulling image "X": ErrImagePull: <error>``,
    ``Container image "X" is not present with pull policy of Never``,
    ``Error: ErrImagePull`` / ``Error: ImagePullBackOff`` / ``Error: InvalidImageName``.

Container config errors -- ``CreateContainerConfigError`` (:func:`parse_container_config_error`)
    ``[Error: ]configmap "app-config" not found``, ``secret "db-creds" not found``
    (also the API-error plural ``configmaps "x" not found``),
    ``couldn't find key DATABASE_URL in ConfigMap staging/app-config``,
    ``couldn't find key password in Secret staging/db``,
    ``container has runAsNonRoot and image will run as root (pod: "p_ns(uid)", container: c)``,
    ``container has runAsNonRoot and image has non-numeric user (nginx), cannot verify user is non-root (pod: …)``,
    ``container's runAsUser breaks non-root policy (pod: …)``.

Back-off and kill messages (:func:`parse_back_off`, :func:`parse_killing`)
    ``Back-off restarting failed container X in pod P_NS(UID)`` (event, 1.2x+),
    ``Back-off restarting failed container`` (older events without names),
    ``back-off 5m0s restarting failed container=X pod=P_NS(UID)`` (waiting message /
    kubelet error, possibly inside ``failed to "StartContainer" for "X" with CrashLoopBackOff: "…"``),
    ``Container X failed liveness probe, will be restarted``,
    ``Container X failed startup probe, will be restarted`` (no suffix with restartPolicy Never),
    ``Container X definition changed, will be restarted``,
    ``Container is in "unknown" state, try killing it before restart``,
    ``Stopping container X``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "ProbeFailure",
    "SchedulingReason",
    "SchedulingFailure",
    "ImagePullFailure",
    "ContainerConfigError",
    "BackOff",
    "KillEvent",
    "parse_probe_message",
    "parse_failed_scheduling",
    "classify_image_pull",
    "parse_container_config_error",
    "parse_back_off",
    "parse_killing",
    "parse_go_duration",
    "PROBE_KINDS",
    "SCHEDULING_CATEGORIES",
    "IMAGE_PULL_CATEGORIES",
    "CONFIG_ERROR_CATEGORIES",
    "KILL_CAUSES",
]

# --------------------------------------------------------------------------- #
# Shared helpers
# --------------------------------------------------------------------------- #

# `kubectl describe` (1.34+) prefixes kubelet messages with the fieldPath.
_FIELD_PATH_RE = re.compile(
    r"\s*spec\.(?:containers|initContainers|ephemeralContainers)\{([^{}\s]*)\}:[ \t]*"
)
_RPC_CODE_RE = re.compile(r"rpc error: code = (\w+)")
_DURATION_PART_RE = re.compile(r"(\d+(?:\.\d+)?)(ns|us|\u00b5s|\u03bcs|ms|h|m|s)")
_DURATION_FULL_RE = re.compile(r"(?:\d+(?:\.\d+)?(?:ns|us|\u00b5s|\u03bcs|ms|h|m|s))+")
_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "\u00b5s": 1e-6,
    "\u03bcs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def _strip_field_path(message: str) -> tuple[str, str | None]:
    m = _FIELD_PATH_RE.match(message)
    if m:
        return message[m.end():], m.group(1) or None
    return message, None


def parse_go_duration(text: str) -> float | None:
    """Seconds in a Go ``time.Duration`` string (``"5m0s"``, ``"1m20s"``, ``"300ms"``).

    Returns ``None`` unless the whole string is a duration.
    """
    if not isinstance(text, str) or len(text) > 64 or not _DURATION_FULL_RE.fullmatch(text):
        return None
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART_RE.findall(text))


def _rpc_code(text: str) -> str | None:
    m = _RPC_CODE_RE.search(text)
    return m.group(1) if m else None


def _split_host_port(hostport: str) -> tuple[str | None, int | None]:
    """``"10.0.0.1:80"`` / ``"[fd00::1]:80"`` / ``":9000"`` -> (host, port)."""
    host, sep, port_s = hostport.rpartition(":")
    if not sep:
        return (hostport or None), None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    port = int(port_s) if port_s.isdigit() and len(port_s) <= 5 and int(port_s) <= 65535 else None
    return (host or None), port


def _port(text: str | None) -> int | None:
    if text and text.isdigit() and len(text) <= 5:
        value = int(text)
        return value if value <= 65535 else None
    return None


# --------------------------------------------------------------------------- #
# 1. Probe failures
# --------------------------------------------------------------------------- #

PROBE_KINDS = ("http-status", "connection-refused", "timeout", "exec", "grpc", "tcp", "other")


@dataclass(frozen=True)
class ProbeFailure:
    """A parsed ``Unhealthy`` (or ``ProbeWarning``) event message.

    ``kind`` is the failure mode when it is one of ``http-status``,
    ``connection-refused`` or ``timeout`` (whatever the probe handler), and
    otherwise the handler (``exec``, ``grpc``, ``tcp``) when that can be told,
    else ``other``.  ``handler`` is the probe mechanism inferred from the text
    (``http``/``tcp``/``exec``/``grpc``/``None``) independently of ``kind``.
    """

    probe: str  # "liveness" | "readiness" | "startup"
    kind: str
    status_code: int | None
    host: str | None
    port: int | None
    path: str | None
    scheme: str | None
    detail: str  # raw text after "<Type> probe failed: "
    errored: bool  # "probe errored[ and resulted in <state> state]"
    handler: str | None = None
    warning: bool = False  # "<Type> probe warning: ..." (reason ProbeWarning)
    state: str | None = None  # "unknown"/"failure" from "errored and resulted in X state"
    container: str | None = None  # from a "spec.containers{X}: " prefix
    command: str | None = None  # exec command named in a timeout message
    timeout_seconds: float | None = None  # "within 1s" / "timed out after 5s"
    grpc_status: str | None = None  # "NOT_SERVING", ...
    rpc_code: str | None = None  # CRI "rpc error: code = X"

    @property
    def timed_out(self) -> bool:
        return self.kind == "timeout"


_PROBE_HEADER_RE = re.compile(
    r"\s*(liveness|readiness|startup) probe "
    r"(?:(failed)|(errored)(?: and resulted in (\w+) state)?|(warning))"
    r"(?::|(?=\s*$))",
    re.IGNORECASE,
)
_HTTP_URL_RE = re.compile(
    r"(?:GET|Get|HEAD|Head) \"?(https?)://"
    r"(\[[0-9A-Za-z:.%]*\]|[^\s/:\"\[\]?#]*)"
    r"(?::(\d+))?"
    r"((?:[/?#][^\s\"]*)?)\"?:(?:\s|$)",
    re.IGNORECASE,
)
_HTTP_STATUS_RE = re.compile(r"HTTP probe failed with statuscode: (\d+)")
_DIAL_TCP_RE = re.compile(r"dial tcp (\[[0-9A-Za-z:.%]*\]|[^\s:\[\]]+):(\d+)")
_GRPC_ADDR_RE = re.compile(r"failed to connect service (?:at )?\"([^\"]*)\"")
_GRPC_STATUS_RE = re.compile(r"service unhealthy \(responded with \"([^\"]*)\"\)")
_WITHIN_RE = re.compile(r"\bwithin (\d+(?:\.\d+)?(?:ns|us|ms|h|m|s)(?:\d+(?:\.\d+)?(?:ns|us|ms|h|m|s))*)")
_AFTER_RE = re.compile(r"\btimed out after (\d+(?:\.\d+)?(?:ns|us|ms|h|m|s)(?:\d+(?:\.\d+)?(?:ns|us|ms|h|m|s))*)")
_EXEC_CMD_QUOTED_RE = re.compile(r"command (?:timed out: )?\"((?:[^\"\\]|\\.)*)\" timed out")

_GRPC_MARKERS = (
    "failed to connect service",
    "health rpc did not complete",
    "grpc health protocol",
    "health rpc probe failed",
    "service unhealthy (responded with",
)
_EXEC_MARKERS = (
    "oci runtime exec failed",
    "exec failed",
    "failed to exec in container",
    "error executing command in container",
    "executable file not found",
    "command not found",
    "no such file or directory",
    "cannot exec in a",
    "container not running",
    "container is not created or running",
    "cannot register an exec pid",
    "command timed out",
    "command error",
    "curl: (",
    "wget: ",
)
_TIMEOUT_MARKERS = (
    "deadline exceeded",
    "deadlineexceeded",
    "client.timeout exceeded",
    "i/o timeout",
    "timed out",
    "timeout:",
    "tls handshake timeout",
    "operation timed out",
)


def parse_probe_message(message: str) -> ProbeFailure | None:
    """Parse a kubelet prober event message (``Unhealthy`` / ``ProbeWarning``)."""
    if not isinstance(message, str):
        return None
    text, container = _strip_field_path(message)
    head = _PROBE_HEADER_RE.match(text)
    if head is None:
        return None
    probe = head.group(1).lower()
    errored = head.group(3) is not None
    state = head.group(4).lower() if head.group(4) else None
    warning = head.group(5) is not None
    detail = text[head.end():].strip()
    low = detail.lower()

    handler: str | None = None
    scheme = host = path = None
    port: int | None = None
    status_code: int | None = None
    command = None
    grpc_status = None
    timeout_seconds: float | None = None

    url = _HTTP_URL_RE.match(detail)
    status = _HTTP_STATUS_RE.search(detail) if "statuscode" in low else None
    if url is not None:
        handler = "http"
        scheme = url.group(1).lower()
        raw_host = url.group(2)
        host = (raw_host[1:-1] if raw_host.startswith("[") else raw_host) or None
        port = _port(url.group(3))
        path = url.group(4) or None
    elif status is not None or "probe terminated redirects" in low:
        handler = "http"
    elif any(marker in low for marker in _GRPC_MARKERS):
        handler = "grpc"
        addr = _GRPC_ADDR_RE.search(detail)
        if addr is not None:
            host, port = _split_host_port(addr.group(1))
        gs = _GRPC_STATUS_RE.search(detail)
        if gs is not None:
            grpc_status = gs.group(1)
    elif detail.startswith("dial tcp ") or detail.startswith("dial tcp:"):
        handler = "tcp"
    elif (
        not detail
        or (errored and "rpc error:" in low)
        or any(marker in low for marker in _EXEC_MARKERS)
        or low.endswith(": not found")
        or (low.startswith("command ") and "timed out" in low)
    ):
        handler = "exec"

    if host is None and handler in ("http", "tcp"):
        dial = _DIAL_TCP_RE.search(detail)
        if dial is not None:
            host, port = _split_host_port(f"{dial.group(1)}:{dial.group(2)}")

    if status is not None:
        code = int(status.group(1)) if len(status.group(1)) <= 4 else None
        status_code = code

    if handler == "exec" and "timed out" in low:
        cmd = _EXEC_CMD_QUOTED_RE.search(detail)
        if cmd is not None:
            command = cmd.group(1)

    if any(marker in low for marker in _TIMEOUT_MARKERS):
        m = _WITHIN_RE.search(detail) or _AFTER_RE.search(detail)
        if m is not None:
            timeout_seconds = parse_go_duration(m.group(1))

    if "connection refused" in low:
        kind = "connection-refused"
    elif any(marker in low for marker in _TIMEOUT_MARKERS):
        kind = "timeout"
    elif status_code is not None:
        kind = "http-status"
    elif handler in ("exec", "grpc", "tcp"):
        kind = handler
    else:
        kind = "other"

    return ProbeFailure(
        probe=probe,
        kind=kind,
        status_code=status_code,
        host=host,
        port=port,
        path=path,
        scheme=scheme,
        detail=detail,
        errored=errored,
        handler=handler,
        warning=warning,
        state=state,
        container=container,
        command=command,
        timeout_seconds=timeout_seconds,
        grpc_status=grpc_status,
        rpc_code=_rpc_code(detail) if "rpc error" in low else None,
    )


# --------------------------------------------------------------------------- #
# 2. Scheduling failures
# --------------------------------------------------------------------------- #

SCHEDULING_CATEGORIES = (
    "insufficient-cpu",
    "insufficient-memory",
    "insufficient-resource",
    "untolerated-taint",
    "node-affinity",
    "pod-affinity",
    "pod-anti-affinity",
    "unbound-pvc",
    "volume-node-affinity",
    "node-unschedulable",
    "too-many-pods",
    "ports",
    "other",
)


class SchedulingReason(NamedTuple):
    """One ``<count> <reason>`` entry; ``count`` is None for uncounted reasons."""

    count: int | None
    text: str
    category: str


@dataclass(frozen=True)
class SchedulingFailure:
    """A parsed ``FailedScheduling`` message.

    ``total_nodes``/``available`` come from ``A/T nodes are available`` (both
    ``None`` for plugin errors without that header).  ``preemption`` is the text
    after ``preemption:`` (trailing dots removed); ``extra`` holds any other
    post-filter text (``not found``, ``no new claims to deallocate``).
    """

    total_nodes: int | None
    available: int | None
    reasons: tuple[SchedulingReason, ...]
    preemption: str | None = None
    extra: str | None = None
    plugin: str | None = None  # e.g. "VolumeBinding" for plugin errors
    pvc: str | None = None  # PVC named in the message, if any

    @property
    def categories(self) -> frozenset[str]:
        return frozenset(r.category for r in self.reasons)

    def count_by_category(self) -> dict[str, int]:
        """Summed node counts per category (uncounted reasons count as 0)."""
        out: dict[str, int] = {}
        for r in self.reasons:
            out[r.category] = out.get(r.category, 0) + (r.count or 0)
        return out

    @property
    def taints(self) -> tuple[str, ...]:
        """Taints quoted in taint reasons, e.g. ``"node-role.kubernetes.io/control-plane: "``."""
        out = []
        for r in self.reasons:
            if r.category == "untolerated-taint":
                m = _TAINT_RE.search(r.text)
                if m is not None:
                    out.append(m.group(1))
        return tuple(out)


_NODES_AVAILABLE_RE = re.compile(r"(?<!\d)(\d+)/(\d+) nodes are available(?::\s*|\.?\s*$)")
_NO_NODES_RE = re.compile(r"\s*no nodes available to schedule pods", re.IGNORECASE)
_SENTENCE_END_RE = re.compile(r"\.(?:[\s;]+|$)")
_REASON_SPLIT_RE = re.compile(r",\s*(?=\d+ )")
_COUNTED_RE = re.compile(r"(\d+) (.*)", re.DOTALL)
_TAINT_RE = re.compile(r"\{([^{}]*)\}")
_PLUGIN_RE = re.compile(
    r"\s*(?:error while )?running (?:(?:PreFilter|Filter|PostFilter|Reserve|Permit|PreBind|Bind) )?"
    r"plugin \"(\w+)\":\s*"
    r"|\s*(?:error while )?running \"(\w+)\" (?:filter|prefilter|prebind|reserve) plugin"
    r"(?: for pod \"[^\"]*\")?:\s*",
    re.IGNORECASE,
)
_PVC_RE = re.compile(
    r"persistentvolumeclaims? \"([^\"]*)\"|error getting PVC \"([^\"]*)\"", re.IGNORECASE
)
_WS_RE = re.compile(r"\s+")


def _categorize_scheduling(text: str) -> str:
    low = text.lower()
    if low.startswith("insufficient "):
        words = low[len("insufficient "):].split(None, 1)
        resource = words[0].strip(".,;:") if words else ""
        if resource == "cpu":
            return "insufficient-cpu"
        if resource == "memory":
            return "insufficient-memory"
        if resource == "pods":
            return "too-many-pods"
        return "insufficient-resource"
    if "too many pods" in low:
        return "too-many-pods"
    if "untolerated taint" in low or ("taint" in low and "didn't tolerate" in low):
        return "untolerated-taint"
    if "unschedulable" in low:
        return "node-unschedulable"
    if (
        "volume node affinity" in low
        or "persistentvolume's node affinity" in low
        or "volume zone" in low
    ):
        return "volume-node-affinity"
    if "node affinity" in low or "node selector" in low:
        return "node-affinity"
    if "anti-affinity" in low and "affinity/anti-affinity" not in low:
        return "pod-anti-affinity"
    if "pod affinity" in low:
        return "pod-affinity"
    if (
        "persistentvolumeclaim" in low
        or "persistent volumes to bind" in low
        or "unbound pvc" in low
        or "error getting pvc" in low
    ):
        return "unbound-pvc"
    if "free ports" in low:
        return "ports"
    return "other"


def _parse_reasons(text: str) -> list[SchedulingReason]:
    out: list[SchedulingReason] = []
    for chunk in _REASON_SPLIT_RE.split(text):
        chunk = chunk.strip().rstrip(".").strip()
        if not chunk:
            continue
        counted = _COUNTED_RE.fullmatch(chunk)
        if counted is not None and len(counted.group(1)) <= 9:
            count: int | None = int(counted.group(1))
            reason = counted.group(2).strip()
        else:
            count, reason = None, chunk
        out.append(SchedulingReason(count, reason, _categorize_scheduling(reason)))
    # The pre-1.2x umbrella "didn't match pod affinity/anti-affinity" always comes
    # with a specific reason; give it the anti-affinity category when one is present.
    if any("affinity/anti-affinity" in r.text for r in out):
        umbrella = (
            "pod-anti-affinity"
            if any(r.category == "pod-anti-affinity" for r in out)
            else "pod-affinity"
        )
        out = [
            r._replace(category=umbrella) if "affinity/anti-affinity" in r.text else r
            for r in out
        ]
    return out


def _pvc_name(text: str) -> str | None:
    m = _PVC_RE.search(text)
    if m is None:
        return None
    return m.group(1) or m.group(2) or None


def parse_failed_scheduling(message: str) -> SchedulingFailure | None:
    """Parse a scheduler ``FailedScheduling`` event message."""
    if not isinstance(message, str):
        return None
    text = _WS_RE.sub(" ", message).strip()
    if not text:
        return None

    plugin_m = _PLUGIN_RE.match(text)
    if plugin_m is not None:
        plugin = plugin_m.group(1) or plugin_m.group(2)
        rest = text[plugin_m.end():].strip()
        category = _categorize_scheduling(rest) if rest else "other"
        if category == "other" and plugin == "VolumeBinding":
            category = "unbound-pvc"
        reasons = (SchedulingReason(None, rest, category),) if rest else ()
        return SchedulingFailure(None, None, reasons, plugin=plugin, pvc=_pvc_name(rest))

    if _NO_NODES_RE.match(text):
        return SchedulingFailure(0, 0, ())

    header = _NODES_AVAILABLE_RE.search(text)
    if header is None:
        low = text.lower()
        if "persistentvolumeclaim" in low and ("not found" in low or "unbound" in low):
            body = text.rstrip(".")
            return SchedulingFailure(
                None,
                None,
                (SchedulingReason(None, body, "unbound-pvc"),),
                pvc=_pvc_name(body),
            )
        return None
    if len(header.group(1)) > 9 or len(header.group(2)) > 9:
        return None

    available = int(header.group(1))
    total = int(header.group(2))
    body = text[header.end():]

    preemption: str | None = None
    idx = body.find("preemption:")
    if idx >= 0:
        preemption = body[idx + len("preemption:"):].strip().rstrip(".").strip() or None
        body = body[:idx].rstrip(" ,.")

    extra: str | None = None
    end = _SENTENCE_END_RE.search(body)
    if end is not None:
        extra = body[end.end():].strip().strip(".,").strip() or None
        body = body[: end.start()]

    reasons = tuple(_parse_reasons(body))
    return SchedulingFailure(
        total_nodes=total,
        available=available,
        reasons=reasons,
        preemption=preemption,
        extra=extra,
        pvc=_pvc_name(body),
    )


# --------------------------------------------------------------------------- #
# 3. Image pulls
# --------------------------------------------------------------------------- #

IMAGE_PULL_CATEGORIES = (
    "not-found",
    "unauthorized",
    "timeout",
    "invalid-name",
    "rate-limited",
    "other",
)


@dataclass(frozen=True)
class ImagePullFailure:
    """Classification of an image-pull event or container waiting message.

    ``pull access denied, repository does not exist or may require
    authorization`` is classed ``unauthorized``: registries (Docker Hub in
    particular) answer a typo'd repository and a private one the same way.
    """

    category: str
    image: str | None
    reason: str | None = None
    detail: str | None = None  # error text after 'image "X": ' (or whole message)
    rpc_code: str | None = None
    backoff: bool = False  # "Back-off pulling image" / ImagePullBackOff


_IMAGE_RE = re.compile(
    r"(?:pull(?:ing)? image|image tag|parse image (?:reference|name)|Container image|unpack image)"
    r" \"((?:[^\"\\]|\\.)*)\"",
    re.IGNORECASE,
)
_IMAGE_DETAIL_RE = re.compile(
    r"\s*(?:Failed to pull image|Back-off pulling image|Failed to apply default image tag)"
    r" \"(?:[^\"\\]|\\.)*\":\s*(?:(?:ErrImagePull|ImagePullBackOff):\s*)?",
    re.IGNORECASE,
)
_RATE_LIMIT_MARKERS = ("toomanyrequests", "too many requests", "rate limit", "pull qps exceeded")
_INVALID_NAME_MARKERS = (
    "invalid reference format",
    "couldn't parse image",
    "failed to apply default image tag",
    "repository name must be lowercase",
    "invalidimagename",
)
_UNAUTHORIZED_MARKERS = (
    "unauthorized",
    "403 forbidden",
    "pull access denied",
    "authentication required",
    "no basic auth credentials",
    "insufficient_scope",
    "failed to authorize",
    "requested access to the resource is denied",
    "access denied",
    "denied: permission",
)
_NOT_FOUND_MARKERS = (
    "code = notfound",
    "not found",
    "manifest unknown",
    "name unknown",
    "no such image",
)
_IMAGE_TIMEOUT_MARKERS = (
    "i/o timeout",
    "deadline exceeded",
    "deadlineexceeded",
    "client.timeout exceeded",
    "tls handshake timeout",
    "timed out",
    "timeout exceeded",
)


def classify_image_pull(reason: str | None, message: str | None) -> ImagePullFailure:
    """Classify an image pull failure from an event (or waiting state) reason and message."""
    reason_s = reason.strip() if isinstance(reason, str) else None
    msg = message if isinstance(message, str) else ""
    msg, _container = _strip_field_path(msg)
    low = msg.lower()
    low_reason = (reason_s or "").lower()

    image_m = _IMAGE_RE.search(msg)
    image = image_m.group(1) if image_m else None

    detail_m = _IMAGE_DETAIL_RE.match(msg)
    detail = msg[detail_m.end():].strip() if detail_m else msg.strip()

    backoff = "back-off pulling image" in low or low_reason == "imagepullbackoff"

    if low_reason == "invalidimagename":
        category = "invalid-name"
    elif any(m in low for m in _RATE_LIMIT_MARKERS):
        category = "rate-limited"
    elif any(m in low for m in _INVALID_NAME_MARKERS) or (
        "short-name" in low and "did not resolve" in low
    ):
        category = "invalid-name"
    elif any(m in low for m in _UNAUTHORIZED_MARKERS):
        category = "unauthorized"
    elif "no match for platform" in low:
        category = "other"
    elif any(m in low for m in _NOT_FOUND_MARKERS):
        category = "not-found"
    elif any(m in low for m in _IMAGE_TIMEOUT_MARKERS):
        category = "timeout"
    else:
        category = "other"

    return ImagePullFailure(
        category=category,
        image=image,
        reason=reason_s or None,
        detail=detail or None,
        rpc_code=_rpc_code(msg) if "rpc error" in low else None,
        backoff=backoff,
    )


# --------------------------------------------------------------------------- #
# 4. Container config errors
# --------------------------------------------------------------------------- #

CONFIG_ERROR_CATEGORIES = (
    "missing-configmap",
    "missing-secret",
    "missing-key",
    "run-as-non-root",
    "other",
)


@dataclass(frozen=True)
class ContainerConfigError:
    """A parsed ``CreateContainerConfigError`` message."""

    category: str
    object_kind: str | None = None  # "ConfigMap" | "Secret"
    name: str | None = None
    namespace: str | None = None  # only present in "couldn't find key" messages
    key: str | None = None
    user: str | None = None  # "image has non-numeric user (X)"
    pod: str | None = None  # "name_namespace(uid)" from "(pod: ..., container: ...)"
    container: str | None = None
    detail: str = ""


_CONFIG_PREFIX_RE = re.compile(r"\s*(?:Error|CreateContainerConfigError):\s*")
_MISSING_OBJ_RE = re.compile(r"\b(configmaps?|secrets?) \"([^\"]*)\" not found", re.IGNORECASE)
_MISSING_KEY_RE = re.compile(
    r"couldn't find key (\S+) in (ConfigMap|Secret) ([^\s/]+)/([^\s,;)]+)", re.IGNORECASE
)
_NON_NUMERIC_USER_RE = re.compile(r"non-numeric user \(([^()]*)\)")
_POD_CONTAINER_RE = re.compile(r"\(pod: \"([^\"]*)\", container: ([^\s()]+)\)")


def parse_container_config_error(message: str) -> ContainerConfigError | None:
    """Parse a ``CreateContainerConfigError`` message (event or waiting state).

    Returns ``None`` only for non-``str`` input; unrecognised text gives
    ``category="other"``.
    """
    if not isinstance(message, str):
        return None
    text, container = _strip_field_path(message)
    prefix = _CONFIG_PREFIX_RE.match(text)
    if prefix is not None:
        text = text[prefix.end():]
    detail = text.strip()
    low = detail.lower()

    pc = _POD_CONTAINER_RE.search(detail) if "(pod: " in detail else None
    pod = pc.group(1) if pc else None
    if pc:
        container = pc.group(2)

    key_m = _MISSING_KEY_RE.search(detail) if "couldn't find key" in low else None
    if key_m is not None:
        kind = "ConfigMap" if key_m.group(2).lower() == "configmap" else "Secret"
        return ContainerConfigError(
            "missing-key",
            object_kind=kind,
            name=key_m.group(4),
            namespace=key_m.group(3),
            key=key_m.group(1),
            pod=pod,
            container=container,
            detail=detail,
        )

    obj_m = _MISSING_OBJ_RE.search(detail) if "not found" in low else None
    if obj_m is not None:
        is_cm = obj_m.group(1).lower().startswith("configmap")
        return ContainerConfigError(
            "missing-configmap" if is_cm else "missing-secret",
            object_kind="ConfigMap" if is_cm else "Secret",
            name=obj_m.group(2),
            pod=pod,
            container=container,
            detail=detail,
        )

    if "runasnonroot" in low or "non-root" in low:
        user_m = _NON_NUMERIC_USER_RE.search(detail)
        return ContainerConfigError(
            "run-as-non-root",
            user=user_m.group(1) if user_m else None,
            pod=pod,
            container=container,
            detail=detail,
        )

    return ContainerConfigError("other", pod=pod, container=container, detail=detail)


# --------------------------------------------------------------------------- #
# 5. Back-off and kill messages
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class BackOff:
    """A CrashLoopBackOff message.

    ``form`` is ``"event"`` for ``Back-off restarting failed container ...``
    (reason ``BackOff``) and ``"waiting"`` for the container waiting message
    ``back-off 5m0s restarting failed container=X pod=P_NS(UID)``.
    """

    container: str | None
    pod: str | None
    namespace: str | None
    uid: str | None
    backoff_seconds: float | None
    form: str


_POD_REF = r"([^\s_()\"]+)_([^\s_()\"]+)(?:\(([^()\s\"]*)\))?"
_BACKOFF_EVENT_RE = re.compile(
    r"Back-off restarting failed container(?: (\S+) in pod " + _POD_REF + r")?", re.IGNORECASE
)
_BACKOFF_WAITING_RE = re.compile(
    r"back-off (\S+) restarting failed container=(\S+) pod=" + _POD_REF, re.IGNORECASE
)


def parse_back_off(message: str) -> BackOff | None:
    """Parse a kubelet restart back-off message (event or container waiting message)."""
    if not isinstance(message, str):
        return None
    text, field_container = _strip_field_path(message)
    low = text.lower()
    if "restarting failed container" not in low:
        return None
    m = _BACKOFF_WAITING_RE.search(text) if "container=" in low else None
    if m is not None:
        return BackOff(
            container=m.group(2),
            pod=m.group(3),
            namespace=m.group(4),
            uid=m.group(5) or None,
            backoff_seconds=parse_go_duration(m.group(1)),
            form="waiting",
        )
    m = _BACKOFF_EVENT_RE.search(text)
    if m is not None:
        return BackOff(
            container=m.group(1) or field_container,
            pod=m.group(2),
            namespace=m.group(3),
            uid=m.group(4) or None,
            backoff_seconds=None,
            form="event",
        )
    return None


KILL_CAUSES = (
    "liveness-probe",
    "startup-probe",
    "definition-changed",
    "unknown-state",
    "stopping",
    "other",
)


@dataclass(frozen=True)
class KillEvent:
    """A kubelet ``Killing`` event message."""

    container: str | None
    cause: str  # one of KILL_CAUSES
    will_restart: bool
    detail: str = ""


_KILL_PROBE_RE = re.compile(
    r"\s*(?:Init )?Container (\S+) failed (liveness|startup) probe(, will be restarted)?",
    re.IGNORECASE,
)
_KILL_CHANGED_RE = re.compile(
    r"\s*(?:Init )?Container (\S+) definition changed(, will be restarted)?", re.IGNORECASE
)
_KILL_UNKNOWN_RE = re.compile(
    r"\s*Container is in \"(\w+)\" state, try killing it before restart", re.IGNORECASE
)
_KILL_STOPPING_RE = re.compile(r"\s*Stopping container (\S+)", re.IGNORECASE)
_KILL_GENERIC_RE = re.compile(r"\s*(?:Init )?Container (\S+) \S")
# pre-1.2x dockershim: "Killing container with id docker://app:Container failed liveness probe.."
_KILL_DOCKER_ID_RE = re.compile(r"\s*Killing container with id \w+://([^:\s]+):")


def parse_killing(message: str) -> KillEvent | None:
    """Parse a kubelet ``Killing`` event message."""
    if not isinstance(message, str):
        return None
    text, field_container = _strip_field_path(message)
    detail = text.strip()
    low = detail.lower()
    restart = low.endswith("will be restarted") or "will be killed and recreated" in low

    m = _KILL_PROBE_RE.match(detail)
    if m is not None:
        return KillEvent(m.group(1), f"{m.group(2).lower()}-probe", m.group(3) is not None, detail)
    m = _KILL_CHANGED_RE.match(detail)
    if m is not None:
        return KillEvent(m.group(1), "definition-changed", m.group(2) is not None, detail)
    m = _KILL_UNKNOWN_RE.match(detail)
    if m is not None:
        return KillEvent(field_container, "unknown-state", True, detail)
    m = _KILL_STOPPING_RE.match(detail)
    if m is not None:
        return KillEvent(m.group(1), "stopping", False, detail)
    if "failed liveness probe" in low or "failed startup probe" in low:
        cause = "liveness-probe" if "failed liveness probe" in low else "startup-probe"
        old = _KILL_DOCKER_ID_RE.match(detail)
        return KillEvent(old.group(1) if old else field_container, cause, restart, detail)
    m = _KILL_GENERIC_RE.match(detail)
    if m is not None and restart:
        return KillEvent(m.group(1), "other", True, detail)
    return None
