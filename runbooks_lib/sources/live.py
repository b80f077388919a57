"""The live source: read a running cluster through its API, GET only, into a ClusterState.

What comes out is exactly what a snapshot of the same cluster loads into: the raw
JSON objects as the API server returns them (items get ``kind``/``apiVersion``),
current and previous container logs, and the capture's metadata. See docs/live.md.

Three promises, enforced here rather than hoped for:

- read-only: every request goes through ``ReadOnlyPoolManager``, which refuses any
  method but GET and any path to Secrets;
- partial access is normal: a 403 (or any persisting fault) on one resource or
  namespace becomes a ``ResourceError`` and the capture goes on;
- bounded: per-request connect/read timeouts, retries with backoff for 429/5xx,
  and a time budget for the whole load.
"""

from __future__ import annotations

import json
import os
import random
import posixpath
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import unquote, urlencode, urlsplit

import urllib3
import yaml

from .. import __version__
from ..errors import InputError
from ..podlogs import LOG_TAIL_BYTES, iter_container_logs, render_log_file
from ..state import LOGS, METRICS, RUNTIME, ClusterState, ResourceError

DEFAULT_LOG_TAIL_LINES = 5000
DEFAULT_LOG_BYTES = LOG_TAIL_BYTES  # the snapshot loader keeps no more than this per container anyway
DEFAULT_BUDGET_SECONDS = 300.0
DEFAULT_REQUEST_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds
PAGE_SIZE = 500
MAX_ATTEMPTS = 5  # per request, for 429/5xx and connection faults
MAX_LIST_RESTARTS = 3  # per list, when a continue token expires
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 10.0
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
IN_CLUSTER_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
LOG_ERROR_PREFIX = "Request log error: "  # what kubectl cluster-info dump writes when a log cannot be read

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_SECRET_PATH = re.compile(r"/api/v1/(watch/)?(namespaces/[^/]+/)?secrets(/|$)")

Progress = Callable[[int, int, str], None]  # (steps done, steps known so far, what was just done)


# -- what is read ----------------------------------------------------------------
@dataclass(frozen=True)
class Resource:
    kind: str
    group_version: str  # "v1", "apps/v1", ...
    plural: str  # the API's resource name
    namespaced: bool = True
    selectable: bool = False  # the label selector applies to it (pods and workloads)

    @property
    def name(self) -> str:
        """How errors name it: the RBAC resource, with the group where it would be ambiguous."""
        if self.group_version.startswith("metrics.k8s.io/"):
            return f"{self.plural}.metrics.k8s.io"
        return self.plural

    def path(self, namespace: str | None) -> str:
        base = "/api/v1" if self.group_version == "v1" else f"/apis/{self.group_version}"
        if self.namespaced and namespace:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"


# Exactly the snapshot format's kinds (runbooks_lib/kinds.py), and never Secrets.
# Pods come first: their logs are read after all lists.
NAMESPACED_RESOURCES = [
    Resource("Pod", "v1", "pods", selectable=True),
    Resource("Event", "v1", "events"),
    Resource("Service", "v1", "services"),
    Resource("Endpoints", "v1", "endpoints"),
    Resource("ReplicationController", "v1", "replicationcontrollers", selectable=True),
    Resource("PersistentVolumeClaim", "v1", "persistentvolumeclaims"),
    Resource("Deployment", "apps/v1", "deployments", selectable=True),
    Resource("ReplicaSet", "apps/v1", "replicasets", selectable=True),
    Resource("DaemonSet", "apps/v1", "daemonsets", selectable=True),
    Resource("StatefulSet", "apps/v1", "statefulsets", selectable=True),
    Resource("Job", "batch/v1", "jobs", selectable=True),
    Resource("CronJob", "batch/v1", "cronjobs", selectable=True),
    Resource("NetworkPolicy", "networking.k8s.io/v1", "networkpolicies"),
    Resource("HorizontalPodAutoscaler", "autoscaling/v2", "horizontalpodautoscalers"),
    Resource("PodMetrics", "metrics.k8s.io/v1beta1", "pods", selectable=True),
]
CLUSTER_RESOURCES = [
    Resource("Node", "v1", "nodes", namespaced=False),
    Resource("NodeMetrics", "metrics.k8s.io/v1beta1", "nodes", namespaced=False),
]
NAMESPACES = Resource("Namespace", "v1", "namespaces", namespaced=False)
EVENTS_V1 = Resource("Event", "events.k8s.io/v1", "events")  # where core/v1 events are forbidden
LOG_RESOURCE = "pods/log"
METRICS_GROUP_VERSION = "metrics.k8s.io/v1beta1"

# ResourceError.resource -> the kind it stands for (the snapshot writer skips those files).
KIND_OF_RESOURCE: dict[str, str] = {r.name: r.kind for r in [*NAMESPACED_RESOURCES, *CLUSTER_RESOURCES, NAMESPACES]}


# -- read-only guard -------------------------------------------------------------
class ReadOnlyViolation(RuntimeError):
    """A request that is not a GET, or one for Secrets: a bug, never sent."""


class ReadOnlyPoolManager:
    """Wraps the ApiClient's urllib3 pool manager, under its REST client: every request the
    client sends passes here, so nothing but GET (and nothing about Secrets) can leave."""

    def __init__(self, inner) -> None:
        self._inner = inner

    def request(self, method: str, url: str, *args, **kwargs):
        _check_read_only(method, url)
        return self._inner.request(method, url, *args, **kwargs)

    def urlopen(self, method: str, url: str, *args, **kwargs):
        _check_read_only(method, url)
        return self._inner.urlopen(method, url, *args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._inner, name)


def _check_read_only(method: str, url: str) -> None:
    if str(method).upper() != "GET":
        raise ReadOnlyViolation(f"refused {method} {url}: the live source only sends GET requests")
    if _SECRET_PATH.search(_normalised_path(url)):
        raise ReadOnlyViolation(f"refused GET {url}: Secrets are never read")


def _normalised_path(url: str) -> str:
    """The path as a server may read it: percent-escapes decoded (twice-encoded too), repeated
    slashes and dot segments collapsed, so /api/v1//%73ecrets cannot slip past the check."""
    path = urlsplit(url).path
    for _ in range(3):
        decoded = unquote(path)
        if decoded == path:
            break
        path = decoded
    return posixpath.normpath("/" + path.lstrip("/"))


def guard_read_only(api_client):
    """Put the read-only guard under an ApiClient's REST client (idempotent); returns the client."""
    rest = api_client.rest_client
    if not isinstance(rest.pool_manager, ReadOnlyPoolManager):
        rest.pool_manager = ReadOnlyPoolManager(rest.pool_manager)
    return api_client


# -- HTTP with retries, timeouts and a budget --------------------------------------
class ApiFailure(Exception):
    """A request that did not succeed: HTTP status (None for connection faults), reason, message."""

    def __init__(self, code: int | None, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


@dataclass
class Reply:
    status: int
    body: bytes


class Budget:
    """The time left for the whole load. ``clock`` is monotonic (injectable for tests)."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self.clock = seconds, clock
        self.deadline = clock() + seconds

    def remaining(self) -> float:
        return self.deadline - self.clock()


class ApiGetter:
    """GETs against one API server through the guarded pool manager, with retries."""

    def __init__(self, api_client, budget: Budget, request_timeout=DEFAULT_REQUEST_TIMEOUT,
                 sleep: Callable[[float], None] = time.sleep, rand: Callable[[], float] = random.random,
                 max_attempts: int = MAX_ATTEMPTS) -> None:
        guard_read_only(api_client)
        self.configuration = api_client.configuration
        self.pool = api_client.rest_client.pool_manager
        self.host = self.configuration.host.rstrip("/")
        self.budget, self.sleep, self.rand, self.max_attempts = budget, sleep, rand, max_attempts
        self.connect_timeout, self.read_timeout = _timeout_pair(request_timeout)
        if max_attempts < 1:
            raise ValueError("max_attempts must be 1 or more")

    def get(self, path: str, query: dict | None = None, accept: str = "application/json") -> Reply:
        url = self.host + path + ("?" + urlencode(query) if query else "")
        failure: ApiFailure
        for attempt in range(1, self.max_attempts + 1):
            remaining = self.budget.remaining()
            if remaining <= 0:
                raise ApiFailure(None, "BudgetExceeded", f"not read: the {self.budget.seconds:g} s time budget ran out")
            timeout = urllib3.Timeout(connect=min(self.connect_timeout, remaining),
                                      read=min(self.read_timeout, remaining))
            retry_after = None
            try:
                response = self.pool.request("GET", url, headers=self._headers(accept), timeout=timeout,
                                             retries=False, redirect=False, preload_content=True)
            except (urllib3.exceptions.HTTPError, OSError) as exc:  # refused, timed out, reset
                failure = ApiFailure(None, type(exc).__name__, f"GET {path}: {exc}")
            else:
                if 200 <= response.status < 300:
                    return Reply(response.status, response.data or b"")
                failure = failure_from_response(response.status, response.data or b"", path)
                if response.status not in RETRYABLE_STATUS:
                    raise failure
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if attempt == self.max_attempts:
                break
            delay = self.backoff(attempt, retry_after)
            if delay >= self.budget.remaining():
                failure.message += f" (gave up: retrying would exceed the {self.budget.seconds:g} s time budget)"
                break
            self.sleep(delay)
        raise failure

    def get_json(self, path: str, query: dict | None = None) -> dict:
        reply = self.get(path, query)
        try:
            body = json.loads(reply.body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ApiFailure(reply.status, "InvalidResponse", f"GET {path}: not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise ApiFailure(reply.status, "InvalidResponse", f"GET {path}: expected a JSON object")
        return body

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with jitter (0.5x-1.5x), never shorter than the server's Retry-After."""
        base = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
        delay = base * (0.5 + self.rand())
        return max(delay, retry_after or 0.0)

    def _headers(self, accept: str) -> dict[str, str]:
        headers = {"Accept": accept, "User-Agent": f"runbooks/{__version__} (read-only)"}
        # auth_settings() refreshes expiring tokens (exec plugins, in-cluster token files).
        for setting in self.configuration.auth_settings().values():
            if setting.get("in") == "header" and setting.get("value"):
                headers[setting["key"]] = setting["value"]
        return headers


def failure_from_response(status: int, body: bytes, path: str) -> ApiFailure:
    """An ApiFailure from a Status body when there is one (its reason and message), else the HTTP status."""
    text = body.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict) and data.get("kind") == "Status":
        return ApiFailure(status, str(data.get("reason") or _status_reason(status)), str(data.get("message") or text))
    return ApiFailure(status, _status_reason(status), f"GET {path}: {status} {text.strip()[:300]}".rstrip())


def _status_reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase.replace(" ", "")
    except ValueError:
        return f"HTTP{status}"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (the API server sends seconds; HTTP dates are accepted too)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (moment - datetime.now(timezone.utc)).total_seconds())


def _timeout_pair(request_timeout) -> tuple[float, float]:
    if isinstance(request_timeout, (int, float)):
        return float(request_timeout), float(request_timeout)
    connect, read = request_timeout
    return float(connect), float(read)


# -- choosing and opening a cluster ------------------------------------------------------
@dataclass(frozen=True)
class Target:
    source: str  # "context NAME" or "in-cluster"
    context: str | None
    cluster: str | None
    default_namespace: str


def require_live_choice(context: str | None, in_cluster: bool) -> None:
    """Refuse to guess which cluster to read: the caller names one, or says --in-cluster."""
    if context and in_cluster:
        raise InputError("choose one cluster: --context NAME or --in-cluster, not both")
    if not context and not in_cluster:
        raise InputError("no cluster chosen: pass --context NAME (see `kubectl config get-contexts`) or "
                         "--in-cluster; runbooks never reads the current context by itself")


def open_api_client(context: str | None = None, in_cluster: bool = False, kubeconfig: str | None = None):
    """An ApiClient (official client: kubeconfig, exec plugins, TLS) guarded read-only, and its Target."""
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config

    require_live_choice(context, in_cluster)
    if in_cluster:
        configuration = k8s_client.Configuration()
        try:
            k8s_config.load_incluster_config(client_configuration=configuration)
        except _config_errors() as exc:
            raise InputError(f"--in-cluster: not running in a pod with a service account "
                             f"({_first_line(exc)})") from None
        namespace = _read_text(IN_CLUSTER_NAMESPACE_FILE) or "default"
        api_client = k8s_client.ApiClient(configuration)
        return guard_read_only(api_client), Target("in-cluster", None, None, namespace)
    config_file = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
    contexts = _kubeconfig_contexts(config_file)
    if context not in contexts:
        known = ", ".join(sorted(contexts)) or "none"
        raise InputError(f"context {context!r} is not in {config_file} (known: {known}; "
                         "see `kubectl config get-contexts`)")
    try:
        # persist_config=False: refreshed tokens are never written back into the user's kubeconfig.
        api_client = k8s_config.new_client_from_config(config_file=config_file, context=context,
                                                       persist_config=False)
    except _config_errors() as exc:
        raise InputError(f"context {context!r}: cannot build a client: {_first_line(exc)}") from None
    chosen = contexts[context]
    target = Target(f"context {context}", context, chosen.get("cluster"), chosen.get("namespace") or "default")
    return guard_read_only(api_client), target


def _kubeconfig_contexts(config_file: str) -> dict[str, dict]:
    """Context name -> its cluster/user/namespace, from one or more (merged) kubeconfig files.

    Read with the client's own merger, which, unlike list_kube_config_contexts, does not
    need a current-context: we never use it anyway."""
    from kubernetes.config.kube_config import KubeConfigMerger

    try:
        merged = KubeConfigMerger(config_file).config
        entries = merged.value.get("contexts") if merged is not None else None
    except _config_errors() as exc:
        raise InputError(f"cannot read the kubeconfig {config_file}: {_first_line(exc)}") from None
    if merged is None:
        raise InputError(f"cannot read the kubeconfig {config_file}: no such file or no configuration in it")
    contexts = {}
    for entry in entries or []:
        entry = getattr(entry, "value", entry)  # the merger wraps each entry in a ConfigNode
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            contexts[entry["name"]] = entry.get("context") if isinstance(entry.get("context"), dict) else {}
    return contexts


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _config_errors() -> tuple[type[BaseException], ...]:
    """What a bad kubeconfig raises inside the client: its own errors, YAML, missing keys, wrong types, files.
    (Imported late: the kubernetes package is slow to import and most commands never need it.)"""
    from kubernetes.config.config_exception import ConfigException

    return (ConfigException, OSError, yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


# -- the load ------------------------------------------------------------------------------
def load_live(*, context: str | None = None, in_cluster: bool = False, kubeconfig: str | None = None,
              namespaces: list[str] | None = None, all_namespaces: bool = False, selector: str | None = None,
              log_tail_lines: int = DEFAULT_LOG_TAIL_LINES, log_bytes: int = DEFAULT_LOG_BYTES,
              budget_seconds: float = DEFAULT_BUDGET_SECONDS, request_timeout=DEFAULT_REQUEST_TIMEOUT,
              progress: Progress | None = None) -> ClusterState:
    """Read a live cluster, GET only, into a ClusterState shaped exactly like a snapshot's."""
    api_client, target = open_api_client(context, in_cluster, kubeconfig)
    try:
        return read_cluster(api_client, target, namespaces=namespaces, all_namespaces=all_namespaces,
                            selector=selector, log_tail_lines=log_tail_lines, log_bytes=log_bytes,
                            budget_seconds=budget_seconds, request_timeout=request_timeout, progress=progress)
    finally:
        api_client.rest_client.pool_manager.clear()


def read_cluster(api_client, target: Target, *, namespaces: list[str] | None = None, all_namespaces: bool = False,
                 selector: str | None = None, log_tail_lines: int = DEFAULT_LOG_TAIL_LINES,
                 log_bytes: int = DEFAULT_LOG_BYTES, budget_seconds: float = DEFAULT_BUDGET_SECONDS,
                 request_timeout=DEFAULT_REQUEST_TIMEOUT, progress: Progress | None = None,
                 sleep: Callable[[float], None] = time.sleep, rand: Callable[[], float] = random.random,
                 clock: Callable[[], float] = time.monotonic, page_size: int = PAGE_SIZE) -> ClusterState:
    """The load itself, over an already opened ApiClient (tests inject sleep, rand and clock)."""
    wanted = _check_namespaces(namespaces)
    if all_namespaces and wanted:
        raise InputError("choose either namespaces (-n) or all namespaces (-A), not both")
    if log_tail_lines < 1 or log_bytes < 1:
        raise InputError("log_tail_lines and log_bytes must be positive")
    api = ApiGetter(api_client, Budget(budget_seconds, clock), request_timeout, sleep, rand)
    reader = _Reader(api, target, selector, log_tail_lines, log_bytes, page_size, progress)
    return reader.read(None if all_namespaces else (wanted or [target.default_namespace]))


def _check_namespaces(namespaces: Iterable[str] | None) -> list[str]:
    names: list[str] = []
    for entry in namespaces or []:
        for name in str(entry).split(","):
            name = name.strip()
            if not name:
                continue
            if not _DNS_LABEL.match(name):
                raise InputError(f"namespace {name!r} is not a valid namespace name (a DNS label)")
            if name not in names:
                names.append(name)
    return names


class _Reader:
    def __init__(self, api: ApiGetter, target: Target, selector: str | None, log_tail_lines: int,
                 log_bytes: int, page_size: int, progress: Progress | None) -> None:
        self.api, self.target, self.selector = api, target, selector
        self.log_tail_lines, self.log_bytes, self.page_size = log_tail_lines, log_bytes, page_size
        self.progress = progress
        self.state = ClusterState(source=target.source, context=target.context, cluster=target.cluster)
        self.served: set[str] | None = None  # group/versions from discovery; None = unknown
        self.done = 0
        self.total = 0
        self.list_restarts = 0

    # -- orchestration ---------------------------------------------------------------
    def read(self, namespaces: list[str] | None) -> ClusterState:
        state = self.state
        self._read_version()
        self._discover()
        namespaced = [r for r in NAMESPACED_RESOURCES if self._is_served(r)]
        cluster = [r for r in CLUSTER_RESOURCES if self._is_served(r)]
        if namespaces is None:  # all namespaces: one cluster-wide list per resource
            state.namespaces_read = self._list_all_namespaces()
            scopes: list[str | None] = [None]
        else:
            state.namespaces_read = self._get_namespaces(namespaces)
            scopes = list(state.namespaces_read)
        self.total = 1 + len(namespaced) * len(scopes) + len(cluster)
        self._step("namespaces")
        metrics_read = False
        for resource in namespaced:
            for scope in scopes:
                ok = self._read_list(resource, scope)
                metrics_read |= ok and resource.kind == "PodMetrics"
        for resource in cluster:
            ok = self._read_list(resource, None)
            metrics_read |= ok and resource.kind == "NodeMetrics"
        if namespaces is None and not state.namespaces_read:  # the namespace list was forbidden
            state.namespaces_read = sorted({ns for items in state.objects.values() for obj in items
                                            if (ns := _meta(obj).get("namespace"))})
        self._read_logs()
        # The wall clock, legitimately (besides Retry-After dates): a live capture's time is now.
        # Taken after the reads so no object looks newer than its capture.
        state.captured_at = datetime.now(timezone.utc).replace(microsecond=0)
        state.capabilities = frozenset({RUNTIME} | ({LOGS} if state.logs else set())
                                       | ({METRICS} if metrics_read else set()))
        return state

    def _step(self, message: str) -> None:
        self.done += 1
        if self.progress:
            self.progress(self.done, max(self.total, self.done), message)

    def _error(self, resource: str, namespace: str | None, failure: ApiFailure) -> None:
        """Record a resource that could not be read; one entry per resource, namespace and cause."""
        error = ResourceError(resource, namespace, failure.code, failure.reason, failure.message)
        if not any((e.resource, e.namespace, e.code, e.reason) == (resource, namespace, failure.code, failure.reason)
                   for e in self.state.errors):
            self.state.errors.append(error)

    # -- metadata and discovery ----------------------------------------------------------
    def _read_version(self) -> None:
        try:
            version = self.api.get_json("/version")
        except ApiFailure as failure:
            if failure.code is None and failure.reason != "BudgetExceeded":
                raise InputError(f"cannot reach the API server at {self.api.host}: {failure.message}") from None
            if failure.code == 401:
                raise InputError(f"the API server at {self.api.host} rejected the credentials of "
                                 f"{self.target.source} (401 Unauthorized)") from None
            # Not cluster data: the capture is not partial for lacking it.
            self.state.warnings.append(f"server version unknown: GET /version answered {failure.code} "
                                       f"{failure.reason}")
            return
        self.state.server_version = version.get("gitVersion") if isinstance(version.get("gitVersion"), str) else None

    def _discover(self) -> None:
        """Which API groups the server serves (GET /apis): metrics and events.k8s.io are optional."""
        try:
            groups = self.api.get_json("/apis")
        except ApiFailure as failure:
            self.state.warnings.append(f"API discovery failed ({failure.code} {failure.reason}); "
                                       "assuming the built-in groups and no metrics API")
            return
        served = {"v1"}
        for group in groups.get("groups") or []:
            for version in (group or {}).get("versions") or []:
                if isinstance(version, dict) and version.get("groupVersion"):
                    served.add(version["groupVersion"])
        self.served = served

    def _is_served(self, resource: Resource) -> bool:
        if self.served is None:  # discovery failed: built-ins yes, optional APIs no
            return resource.group_version not in (METRICS_GROUP_VERSION, EVENTS_V1.group_version)
        if resource.group_version in self.served:
            return True
        if resource.group_version != METRICS_GROUP_VERSION:
            self.state.warnings.append(f"{resource.group_version} is not served by this cluster: "
                                       f"{resource.plural} not read")
        return False

    # -- namespaces ---------------------------------------------------------------------------
    def _list_all_namespaces(self) -> list[str]:
        try:
            items = self._list(NAMESPACES.path(None), {})
        except ApiFailure as failure:
            self._error(NAMESPACES.name, None, failure)
            return []
        self._add(NAMESPACES, items)
        return sorted(_name(item) for item in items if _name(item))

    def _get_namespaces(self, names: list[str]) -> list[str]:
        readable = []
        for name in names:
            try:
                namespace = self.api.get_json(f"{NAMESPACES.path(None)}/{name}")
            except ApiFailure as failure:
                if failure.code == 404:
                    self.state.warnings.append(f"namespace {name} does not exist: not read")
                    self._error(NAMESPACES.name, name, failure)
                    continue
                # Namespace-scoped users often may not GET their namespace: read it anyway.
                self._error(NAMESPACES.name, name, failure)
            else:
                self._add(NAMESPACES, [namespace])
            readable.append(name)
        return readable

    # -- lists --------------------------------------------------------------------------------------
    def _read_list(self, resource: Resource, namespace: str | None) -> bool:
        where = f" in {namespace}" if namespace else ""
        query = {"labelSelector": self.selector} if self.selector and resource.selectable else {}
        try:
            items = self._list(resource.path(namespace), query)
        except ApiFailure as failure:
            if failure.code == 400 and query:
                raise InputError(f"label selector {self.selector!r} rejected by the API server: "
                                 f"{failure.message}") from None
            if resource.kind == "Event" and failure.code == 403 and self._events_v1_fallback(namespace):
                self._step(f"events{where} (events.k8s.io/v1)")
                return True
            self._error(resource.name, namespace, failure)
            code = f"{failure.code} " if failure.code else ""
            self._step(f"{resource.name}{where}: {code}{failure.reason}")
            return False
        self._add(resource, items)
        self._step(f"{resource.name}{where}: {len(items)}")
        return True

    def _events_v1_fallback(self, namespace: str | None) -> bool:
        """Core events are forbidden: read events.k8s.io/v1 (if served) and convert to the core shape."""
        if self.served is None or EVENTS_V1.group_version not in self.served:
            return False
        try:
            items = self._list(EVENTS_V1.path(namespace), {})
        except ApiFailure:
            return False
        self.state.objects.setdefault("Event", []).extend(core_event_from_events_v1(item) for item in items)
        self.state.warnings.append(f"events{' in ' + namespace if namespace else ''}: core/v1 forbidden, "
                                   "read from events.k8s.io/v1")
        return True

    def _list(self, path: str, query: dict) -> list[dict]:
        """Every item of a list, page by page; an expired continue token restarts it cleanly."""
        for _restart in range(MAX_LIST_RESTARTS + 1):
            items: list[dict] = []
            token = None
            while True:
                page_query = dict(query, limit=self.page_size)
                if token:
                    page_query["continue"] = token
                try:
                    page = self.api.get_json(path, page_query)
                except ApiFailure as failure:
                    if failure.code == 410 and token:
                        self.list_restarts += 1
                        break  # the partial items are discarded: a restarted list is consistent again
                    raise
                items.extend(item for item in page.get("items") or [] if isinstance(item, dict))
                token = (page.get("metadata") or {}).get("continue")
                if not token:
                    return items
        raise ApiFailure(410, "Expired", f"GET {path}: the list's continue token expired "
                                         f"{MAX_LIST_RESTARTS + 1} times in a row")

    def _add(self, resource: Resource, items: list[dict]) -> None:
        bucket = self.state.objects.setdefault(resource.kind, [])
        for item in items:
            obj = dict(item)
            obj.setdefault("kind", resource.kind)  # list items come without them
            obj.setdefault("apiVersion", resource.group_version)
            if isinstance(obj.get("metadata"), dict):
                obj["metadata"].pop("managedFields", None)  # as the file sources do: nothing reads them
            bucket.append(obj)

    # -- logs -----------------------------------------------------------------------------------------
    def _read_logs(self) -> None:
        pods = [pod for pod in self.state.of_kind("Pod") if _name(pod) and _meta(pod).get("namespace")]
        self.total += len(pods)
        for pod in pods:
            namespace, name = _meta(pod)["namespace"], _name(pod)
            containers = _container_names(pod)
            restarted = _restarted_containers(pod)
            current = {c: self._log_text(namespace, name, c, False) for c in containers}
            previous = {c: self._log_text(namespace, name, c, True) for c in containers if c in restarted}
            for is_previous, texts in ((False, current), (True, previous)):
                if texts:
                    self._store_logs(namespace, name, is_previous, texts)
            self._step(f"logs {namespace}/{name}")

    def _log_text(self, namespace: str, pod: str, container: str, previous: bool) -> str:
        """One container's log tail, or kubectl's error line when it cannot be read.

        limitBytes cuts the *end* of a log; crash evidence is at the end, so when a log
        hits the byte cap it is fetched again with fewer tail lines until it fits."""
        path = f"/api/v1/namespaces/{namespace}/pods/{pod}/log"
        tail = self.log_tail_lines
        for _attempt in range(4):
            query = {"container": container, "tailLines": tail, "limitBytes": self.log_bytes}
            if previous:
                query["previous"] = "true"
            try:
                body = self.api.get(path, query, accept="text/plain, application/json").body
            except ApiFailure as failure:
                # 400 (waiting, no previous instance) and 404 (pod gone) are normal: text only.
                if failure.code not in (400, 404):
                    self._error(LOG_RESOURCE, namespace, failure)
                return LOG_ERROR_PREFIX + failure.message
            if len(body) < self.log_bytes or tail <= 1:
                return body.decode("utf-8", errors="replace")
            tail = max(1, int(body.count(b"\n") * 0.9))
        return body.decode("utf-8", errors="replace")

    def _store_logs(self, namespace: str, pod: str, previous: bool, texts: dict[str, str]) -> None:
        # Through the dump format and back: the stored text is exactly what a snapshot of it loads.
        rendered = render_log_file(namespace, pod, texts)
        for log in iter_container_logs(rendered.splitlines(keepends=True)):
            self.state.logs.add_text(namespace, pod, log.container, previous, log.text)


def core_event_from_events_v1(event: dict) -> dict:
    """An events.k8s.io/v1 Event in the core/v1 shape, as the API server serves the same event at /api/v1."""
    renames = {"regarding": "involvedObject", "note": "message", "deprecatedSource": "source",
               "deprecatedFirstTimestamp": "firstTimestamp", "deprecatedLastTimestamp": "lastTimestamp",
               "deprecatedCount": "count", "reportingController": "reportingComponent"}
    core: dict = {"kind": "Event", "apiVersion": "v1"}
    for key, value in event.items():  # nulls stay: the server sends firstTimestamp: null too
        if key not in ("kind", "apiVersion"):
            core[renames.get(key, key)] = value
    return core


def _container_names(pod: dict) -> list[str]:
    """Init containers then containers, as kubectl cluster-info dump reads them."""
    spec = pod.get("spec") if isinstance(pod.get("spec"), dict) else {}
    names = []
    for key in ("initContainers", "containers"):
        for container in spec.get(key) or []:
            if isinstance(container, dict) and isinstance(container.get("name"), str):
                names.append(container["name"])
    return names


def _restarted_containers(pod: dict) -> set[str]:
    """Containers with a previous instance: restarted, or a terminated last state."""
    status = pod.get("status") if isinstance(pod.get("status"), dict) else {}
    names = set()
    for key in ("initContainerStatuses", "containerStatuses"):
        for entry in status.get(key) or []:
            if not isinstance(entry, dict):
                continue
            last = entry.get("lastState") if isinstance(entry.get("lastState"), dict) else {}
            if (entry.get("restartCount") or 0) > 0 or last.get("terminated"):
                names.add(entry.get("name"))
    return names


def _meta(obj: dict) -> dict:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _name(obj: dict) -> str | None:
    name = _meta(obj).get("name")
    return name if isinstance(name, str) and name else None
