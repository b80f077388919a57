"""A ClusterState answered as a read-only Kubernetes API, without any HTTP server.

``SnapshotAPI.handle(Request) -> Response`` holds every rule (routing, discovery,
get, list with selectors and pages, Tables, pod logs, errors as Status objects);
serve.py only carries requests and responses between it and tornado, so the API
can be tested without sockets.

What it mirrors from a real API server:
- list items carry no kind/apiVersion (the List does), a GET object carries both;
- errors are ``Status`` objects with the server's reasons and messages;
- lists are in key order (namespace, then name) and paginate with opaque
  ``continue`` tokens; ``remainingItemCount`` only when no selector filters;
- resources the snapshot could not read (snapshot.json ``errors``) answer with
  the recorded error, so a partial capture stays visibly partial.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Mapping

from .serve_resources import METRICS_GROUP, REFUSED_PLURALS, Resource, ResourceTable, version_info
from .serve_selectors import (EVENTS_V1_FIELD_ALIASES, SelectorError, check_fields, fields_match, labels_match,
                              parse_field_selector, parse_label_selector)
from .serve_tables import render_table
from .state import NAMESPACE_NAME_LABEL, ClusterState, ResourceError

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
SYNTHESIZED_ANNOTATION = "runbooks.dev/synthesized"
_READ_ONLY_HINT = "runbooks serve replays a snapshot read-only"
_EXPIRED_MESSAGE = ("The provided continue parameter is too old to display a consistent list result. "
                    "You can start a new list without the continue parameter.")


@dataclass
class Request:
    method: str
    path: str
    query: Mapping[str, list[str]] = field(default_factory=dict)
    accept: str = ""
    host: str = "127.0.0.1"

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None


@dataclass
class Response:
    code: int
    body: bytes
    content_type: str = JSON
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def json(cls, body: object, code: int = 200, warnings: list[str] | None = None) -> "Response":
        data = json.dumps(body, separators=(",", ":"), default=str).encode()
        return cls(code, data, JSON, [("Warning", warning_header(w)) for w in warnings or []])


def warning_header(text: str) -> str:
    """An RFC 7234 warning, the form the API server uses and kubectl prints as 'Warning: ...'."""
    return '299 - "' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def status_body(code: int, reason: str, message: str, details: dict | None = None) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "details": details or {}, "code": code}


class APIError(Exception):
    """An error answer: becomes a Status body with this code."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None,
                 headers: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details = details or {}
        self.headers = headers or []

    def response(self) -> Response:
        response = Response.json(status_body(self.code, self.reason, self.message, self.details), self.code)
        response.headers.extend(self.headers)
        return response


def not_found_path() -> APIError:
    return APIError(404, "NotFound", "the server could not find the requested resource")


def bad_request(message: str) -> APIError:
    return APIError(400, "BadRequest", message)


@dataclass(frozen=True)
class Route:
    """What a request asks for, in API terms (used for answers and for injected 403 messages)."""

    verb: str  # get, list, watch, create, update, patch, delete, deletecollection
    path: str
    resource: Resource | None = None  # None: a non-resource path (/version, /api, ...)
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None
    group: str = ""
    version: str = ""


_WRITE_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
_TRUE = {"1", "t", "T", "true", "TRUE", "True"}
_FALSE = {"0", "f", "F", "false", "FALSE", "False"}


class SnapshotAPI:
    def __init__(self, state: ClusterState):
        self.state = state
        self.table = ResourceTable(state)
        self.resource_version = _newest_resource_version(state)
        self.continue_generation = 0  # bumped by expire_continue_tokens()
        self._namespaces = _namespace_objects(state)
        self._sorted: dict[str, list[dict]] = {}

    # -- entry point ----------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        try:
            route = self.route(request)
            return self._answer(route, request)
        except APIError as error:
            return error.response()

    def expire_continue_tokens(self) -> None:
        """Every continue token issued so far now answers 410 Expired (for tests of that path)."""
        self.continue_generation += 1

    # -- routing --------------------------------------------------------------------
    def route(self, request: Request) -> Route:
        """Parse the URL into a Route; APIError 404 for paths this server does not have.

        A write is a Route whatever its path, so that it is refused as a write (405).
        """
        try:
            return self._route(request)
        except APIError:
            method = request.method.upper()
            if method in ("GET", "HEAD"):
                raise
            return Route(_WRITE_VERBS.get(method, method.lower()), request.path)

    def _route(self, request: Request) -> Route:
        method = request.method.upper()
        path = request.path
        parts = [p for p in path.split("/") if p]
        verb = "get" if method in ("GET", "HEAD") else _WRITE_VERBS.get(method, method.lower())
        if not parts or parts[0] not in ("api", "apis") or parts == ["apis"] or parts == ["api"]:
            return Route(verb, path)
        if parts[0] == "api":
            if len(parts) < 2:
                return Route(verb, path)
            group, version, rest = "", parts[1], parts[2:]
        else:
            if len(parts) == 2:
                return Route(verb, path, group=parts[1])
            group, version, rest = parts[1], parts[2], parts[3:]
        if not rest:
            return Route(verb, path, group=group, version=version)
        if rest[0] == "watch":
            return Route("watch", path, group=group, version=version)
        namespace = None
        if rest[0] == "namespaces" and len(rest) == 3 and not group and rest[2] == "status":
            # /api/v1/namespaces/NAME/status is the namespace's own subresource, not a list of "status"
            return self._object_route(verb, path, self.table.find("", version, "namespaces"), None, rest[1], "status")
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        plural = rest[0]
        if plural in REFUSED_PLURALS and not group:
            raise APIError(403, "Forbidden", f"{plural} is forbidden: runbooks serve never serves Secrets",
                           {"kind": plural})
        resource = self.table.find(group, version, plural)
        if resource is None or (namespace is not None and not resource.namespaced):
            raise not_found_path()
        if len(rest) == 1:
            if method in ("GET", "HEAD"):
                verb = "watch" if _is_true(request.param("watch")) else "list"
            elif method == "DELETE":
                verb = "deletecollection"
            return Route(verb, path, resource, namespace, group=group, version=version)
        if resource.namespaced and namespace is None:
            raise not_found_path()  # /api/v1/pods/NAME does not exist
        subresource = rest[2] if len(rest) == 3 else None
        if len(rest) > 3:
            raise not_found_path()
        return self._object_route(verb, path, resource, namespace, rest[1], subresource)

    def _object_route(self, verb: str, path: str, resource: Resource | None, namespace: str | None, name: str,
                      subresource: str | None) -> Route:
        if resource is None or (subresource and subresource not in resource.subresources):
            raise not_found_path()
        return Route(verb, path, resource, namespace, name, subresource, resource.group, resource.version)

    # -- answers --------------------------------------------------------------------
    def _answer(self, route: Route, request: Request) -> Response:
        if route.verb not in ("get", "list", "watch"):
            what = route.resource.qualified_name if route.resource else route.path
            raise APIError(405, "MethodNotAllowed",
                           f"{route.verb} is not allowed on {what}: {_READ_ONLY_HINT} ({self.state.source})",
                           {"kind": route.resource.plural} if route.resource else {})
        if route.verb == "watch" or _is_true(request.param("watch")):
            raise APIError(405, "MethodNotAllowed",
                           f"watch is not supported: {_READ_ONLY_HINT}, nothing will ever change; list instead",
                           {"kind": route.resource.plural} if route.resource else {})
        if route.resource is None:
            return self._non_resource(route, request)
        if route.verb == "list":
            return self._list(route, request)
        if route.subresource == "log":
            return self._log(route, request)
        return self._get(route, request)

    def _non_resource(self, route: Route, request: Request) -> Response:
        parts = [p for p in route.path.split("/") if p]
        if parts in (["healthz"], ["livez"], ["readyz"]):
            return Response(200, b"ok", TEXT)
        body = None
        if parts == ["version"]:
            body = version_info(self.state.server_version)
        elif parts == ["api"]:
            body = self.table.api_versions(request.host)
        elif parts == ["apis"]:
            body = self.table.api_group_list()
        elif len(parts) == 2 and parts[0] == "apis":
            body = self.table.api_group(parts[1])
        elif route.version:
            body = self.table.api_resource_list(route.group, route.version)
        if body is None:
            raise not_found_path()  # /openapi/v2, /openapi/v3 included: kubectl explain is not served
        _negotiate(request.accept)
        return Response.json(body)

    def _list(self, route: Route, request: Request) -> Response:
        resource = route.resource
        warnings = self._replay_recorded_errors(resource, route.namespace)
        mode, table_version = _negotiate(request.accept, tables=True)
        try:
            labels = parse_label_selector(request.param("labelSelector"))
            aliases = EVENTS_V1_FIELD_ALIASES if resource.group == "events.k8s.io" else None
            fields = check_fields(parse_field_selector(request.param("fieldSelector")), resource.state_kind, aliases)
        except SelectorError as exc:
            raise bad_request(str(exc)) from None
        matched = [obj for obj in self._sorted_objects(resource)
                   if (route.namespace is None or _namespace_of(obj) == route.namespace)
                   and labels_match(labels, obj) and fields_match(fields, obj, resource.state_kind)]
        page, next_key, remaining = self._page(matched, route, request)
        list_meta: dict = {"resourceVersion": self.resource_version}
        if next_key is not None:
            list_meta["continue"] = self._continue_token(route, next_key)
            if not labels and not fields:
                list_meta["remainingItemCount"] = remaining
        if mode == "table":
            table = self._table(resource, page, request, list_meta, table_version, warnings)
            if table:
                return Response.json(table, warnings=warnings)
        body = {"kind": resource.kind + "List", "apiVersion": resource.group_version, "metadata": list_meta,
                "items": [self._present(resource, obj, in_list=True) for obj in page]}
        return Response.json(body, warnings=warnings)

    def _get(self, route: Route, request: Request) -> Response:
        resource = route.resource
        warnings = self._replay_recorded_errors(resource, route.namespace, route.name)
        mode, table_version = _negotiate(request.accept, tables=True)
        obj = self._find(resource, route.namespace, route.name)
        if mode == "table":
            list_meta = {"resourceVersion": _meta(obj).get("resourceVersion", self.resource_version)}
            table = self._table(resource, [obj], request, list_meta, table_version, warnings)
            if table:
                return Response.json(table, warnings=warnings)
        return Response.json(self._present(resource, obj), warnings=warnings)

    def _table(self, resource: Resource, objects: list[dict], request: Request, list_meta: dict,
               table_version: str, warnings: list[str]) -> dict | None:
        """The Table, or None (with a warning) when an object is too malformed to print."""
        include = request.param("includeObject") or "Metadata"
        try:
            return render_table(resource.state_kind, objects, self.state.now,
                                lambda obj: self._row_object(resource, obj, include), list_meta, table_version)
        except (AttributeError, TypeError, KeyError, ValueError) as exc:
            # kubectl prints a plain list itself (NAME and AGE): less, but still an answer
            warnings.append(f"could not print {resource.qualified_name} as a table ({type(exc).__name__}: {exc}); "
                            f"served the plain list")
            return None

    def _find(self, resource: Resource, namespace: str | None, name: str) -> dict:
        if resource.kind == "Namespace":
            obj = next((ns for ns in self._namespaces if _meta(ns).get("name") == name), None)
        else:
            obj = self.state.get(resource.state_kind, namespace if resource.namespaced else None, name)
        if obj is None:
            details = {"name": name, "kind": resource.plural}
            if resource.group:
                details["group"] = resource.group
            raise APIError(404, "NotFound", f'{resource.qualified_name} "{name}" not found', details)
        return obj

    # -- pod logs ---------------------------------------------------------------------
    def _log(self, route: Route, request: Request) -> Response:
        pods = route.resource
        warnings = self._replay_recorded_errors(pods, route.namespace, route.name)
        pod = self._find(pods, route.namespace, route.name)
        spec = pod.get("spec") or {}
        regular = [c.get("name") for c in spec.get("containers") or []]
        init = [c.get("name") for c in spec.get("initContainers") or []]
        ephemeral = [c.get("name") for c in spec.get("ephemeralContainers") or []]
        container = request.param("container")
        if not container:
            if len(regular) != 1:
                choices = f"a container name must be specified for pod {route.name}, choose one of: [{' '.join(regular)}]"
                if init:
                    choices += f" or one of the init containers: [{' '.join(init)}]"
                raise bad_request(choices)
            container = regular[0]
        elif container not in regular + init + ephemeral:
            raise bad_request(f"container {container} is not valid for pod {route.name}")
        previous = _bool_param(request, "previous")
        log = self.state.logs.get(route.namespace, route.name, container, previous=previous)
        if log is None:
            if previous:
                raise bad_request(f'previous terminated container "{container}" in pod "{route.name}" not found')
            raise APIError(404, "NotFound", f'the snapshot holds no log for container "{container}" in pod '
                                            f'"{route.name}"', {"name": route.name, "kind": "pods"})
        recorded_error = _recorded_log_error(log.text)
        if recorded_error:
            # kubectl cluster-info dump wrote the API's refusal instead of a log: answer it again
            raise bad_request(recorded_error)
        text = log.text + "\n" if log.text else ""
        tail = _int_param(request, "tailLines")
        if tail is not None:
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-tail:]) if tail else ""
        data = text.encode()
        limit = _int_param(request, "limitBytes", minimum=1)
        if limit is not None:
            data = data[:limit]
        if log.truncated:
            warnings.append(f"the snapshot kept only the last part of this log; lines before line "
                            f"{log.first_line_number} were dropped")
        if _bool_param(request, "timestamps"):
            warnings.append("the snapshot holds no log timestamps; lines are served as captured")
        if request.param("sinceSeconds") or request.param("sinceTime"):
            warnings.append("the snapshot holds no log timestamps; sinceSeconds/sinceTime were not applied")
        return Response(200, data, TEXT, [("Warning", warning_header(w)) for w in warnings])

    # -- lists: order, pages, continue tokens ---------------------------------------
    def _sorted_objects(self, resource: Resource) -> list[dict]:
        kind = resource.state_kind
        if kind not in self._sorted:
            items = self._namespaces if kind == "Namespace" else self.state.of_kind(kind)
            self._sorted[kind] = sorted(items, key=_key)
        return self._sorted[kind]

    def _page(self, matched: list[dict], route: Route, request: Request) -> tuple[list[dict], tuple | None, int]:
        token = request.param("continue")
        if token:
            start_after = self._decode_token(token, route)
            matched = [obj for obj in matched if _key(obj) > start_after]
        limit = _int_param(request, "limit")
        if not limit or limit >= len(matched):
            return matched, None, 0
        page = matched[:limit]
        return page, _key(page[-1]), len(matched) - limit

    def _continue_token(self, route: Route, after: tuple) -> str:
        payload = {"v": 1, "rv": self.resource_version, "gen": self.continue_generation,
                   "list": _list_identity(route), "after": list(after)}
        return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")

    def _decode_token(self, token: str, route: Route) -> tuple:
        try:
            padded = token + "=" * (-len(token) % 4)
            payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
            after = tuple(str(part) for part in payload["after"])
            same_list = payload["list"] == _list_identity(route)
            generation = int(payload["gen"])
        except (ValueError, KeyError, TypeError):
            raise bad_request("continue key is not valid: not a token this server issued") from None
        if not same_list:
            raise bad_request("continue key is not valid: it was issued for a different list")
        if generation != self.continue_generation:
            raise expired_error()
        return after

    # -- presenting objects ------------------------------------------------------------
    def _present(self, resource: Resource, obj: dict, in_list: bool = False) -> dict:
        if resource.group == "events.k8s.io":
            out = _as_events_v1(obj)
        else:
            out = dict(obj)
            out["kind"], out["apiVersion"] = resource.kind, resource.group_version
        if in_list:
            # the API server leaves kind and apiVersion off the items of a typed List
            out.pop("kind", None)
            out.pop("apiVersion", None)
        return out

    def _row_object(self, resource: Resource, obj: dict, include: str) -> dict | None:
        if include == "None":
            return None
        if include == "Object":
            return self._present(resource, obj)
        return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": _meta(obj)}

    # -- the snapshot's own read errors ----------------------------------------------
    def _replay_recorded_errors(self, resource: Resource, namespace: str | None,
                                name: str | None = None) -> list[str]:
        """Raise the recorded error for this resource and namespace; warn about namespaces it left out."""
        warnings = []
        for error in self.state.errors:
            if not _error_applies(error.resource, resource):
                continue
            if error.namespace is None or error.namespace == namespace:
                raise _recorded_api_error(error, resource, name)
            if namespace is None:
                warnings.append(f"the snapshot could not read {error.resource} in namespace {error.namespace}: "
                                f"{error.code or ''} {error.reason}".replace("  ", " ").strip())
        return warnings


def expired_error() -> APIError:
    return APIError(410, "Expired", _EXPIRED_MESSAGE)


def _recorded_api_error(error: ResourceError, resource: Resource, name: str | None) -> APIError:
    code = error.code if isinstance(error.code, int) and 400 <= error.code <= 599 else 503
    reason = error.reason if re.fullmatch(r"[A-Z][A-Za-z]+", error.reason or "") else _REASONS.get(code, "Unknown")
    message = error.message or f"{resource.qualified_name} could not be read when the snapshot was taken: {error.reason}"
    details = {"kind": resource.plural}
    if name:
        details["name"] = name
    if resource.group:
        details["group"] = resource.group
    return APIError(code, reason, message, details)


_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
            409: "Conflict", 410: "Expired", 429: "TooManyRequests", 500: "InternalError",
            503: "ServiceUnavailable", 504: "Timeout"}


def _error_applies(recorded: str, resource: Resource) -> bool:
    """Does a recorded error's resource ("pods", "deployments.apps", "podmetrics") name this resource?"""
    name, _, group = recorded.partition(".")
    if group:
        return name == resource.plural and group == resource.group
    if resource.group == METRICS_GROUP:
        return name == resource.kind.lower()  # the snapshot's file stems: podmetrics, nodemetrics
    return name == resource.plural


def _recorded_log_error(text: str) -> str | None:
    stripped = text.strip()
    if "\n" in stripped:
        return None
    for prefix in ("Request log error: ", "Create log request error: "):
        if stripped.startswith(prefix):
            return stripped[len(prefix):]
    return None


# -- helpers ---------------------------------------------------------------------------

def _meta(obj: Mapping) -> dict:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _namespace_of(obj: Mapping) -> str:
    return _meta(obj).get("namespace") or ""


def _key(obj: Mapping) -> tuple[str, str]:
    meta = _meta(obj)
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def _list_identity(route: Route) -> str:
    resource = route.resource
    return f"{resource.group_version}/{resource.plural}@{route.namespace or ''}"


def _newest_resource_version(state: ClusterState) -> str:
    """The store's resourceVersion: the newest any object carries (etcd revisions only grow)."""
    newest = 0
    for items in state.objects.values():
        for obj in items:
            value = str(_meta(obj).get("resourceVersion") or "")
            if value.isdigit():
                newest = max(newest, int(value))
    return str(newest or 1)


def _namespace_objects(state: ClusterState) -> list[dict]:
    """Namespace objects for every namespace the snapshot knows: declared ones, else synthesized."""
    objects = []
    for name in state.namespaces:
        declared = state.get("Namespace", None, name)
        if declared:
            obj = dict(declared)
            obj["metadata"] = dict(_meta(declared), labels=state.namespace_labels(name))
            obj.setdefault("status", {"phase": "Active"})
        else:
            obj = {"kind": "Namespace", "apiVersion": "v1",
                   "metadata": {"name": name, "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"runbooks-serve:ns:{name}")),
                                "labels": {NAMESPACE_NAME_LABEL: name},
                                # not captured: said openly, since its creation time and uid are made up
                                "annotations": {SYNTHESIZED_ANNOTATION: "namespace not captured; object synthesized"}},
                   "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
        objects.append(obj)
    return objects


def _as_events_v1(event: Mapping) -> dict:
    """A core/v1 Event in its events.k8s.io/v1 shape (the same stored object, renamed fields)."""
    renamed = {"involvedObject": "regarding", "message": "note", "reportingComponent": "reportingController",
               "source": "deprecatedSource", "firstTimestamp": "deprecatedFirstTimestamp",
               "lastTimestamp": "deprecatedLastTimestamp", "count": "deprecatedCount"}
    out: dict = {"kind": "Event", "apiVersion": "events.k8s.io/v1"}
    for key, value in event.items():
        if key in ("kind", "apiVersion"):
            continue
        if value in (None, {}, ""):
            continue
        out[renamed.get(key, key)] = value
    out.setdefault("eventTime", event.get("eventTime"))
    return out


def _negotiate(accept: str, tables: bool = False) -> tuple[str, str]:
    """("table", apiVersion) or ("json", "") from an Accept header; 406 when neither is acceptable."""
    if not accept.strip():
        return "json", ""
    for part in accept.split(","):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        params = dict(p.partition("=")[::2] for p in pieces[1:] if "=" in p)
        params = {k.strip(): v.strip() for k, v in params.items()}
        if params.get("as"):
            if (tables and params["as"] == "Table" and params.get("g") == "meta.k8s.io"
                    and params.get("v") in ("v1", "v1beta1") and media in ("application/json", "*/*")):
                return "table", f"meta.k8s.io/{params['v']}"
            continue  # other transformations (aggregated discovery, PartialObjectMetadata): not offered
        if media in ("application/json", "application/*", "*/*"):
            return "json", ""
    offered = "application/json" + (", application/json;as=Table;v=v1;g=meta.k8s.io" if tables else "")
    raise APIError(406, "NotAcceptable", f"only the following media types are accepted: {offered}")


def _is_true(value: str | None) -> bool:
    return value in _TRUE


def _bool_param(request: Request, name: str) -> bool:
    value = request.param(name)
    if value is None or value == "":
        return False
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise bad_request(f"{name}: invalid boolean {value!r}")


def _int_param(request: Request, name: str, minimum: int = 0) -> int | None:
    value = request.param(name)
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        raise bad_request(f"{name}: invalid integer {value!r}") from None
    if number < minimum:
        raise bad_request(f"{name}: must be greater than or equal to {minimum}, got {number}")
    return number
