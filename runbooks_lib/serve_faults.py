"""Injected faults, so clients of `runbooks serve` can be tested on the API's bad days.

Test-only. Each fault is scoped by a regular expression searched in the URL path
and optionally limited to the first ``times`` requests it matches:

- ``forbidden``: 403 with the RBAC message a real API server writes;
- ``throttle``: 429 TooManyRequests with a ``Retry-After`` header;
- ``error``: 500 InternalError (or ``code: 503`` ServiceUnavailable);
- ``expire``: 410 Expired for list requests that carry a ``continue`` token;
- ``delay``: wait ``seconds`` before answering (combines with the others).

In Python: ``make_app(state, faults=[Fault("throttle", path="/pods$", times=2)])``.
For a ``runbooks serve`` process: the environment variable ``RUNBOOKS_SERVE_FAULTS``
holding a JSON list of the same fields, e.g.
``[{"kind": "forbidden", "path": "/namespaces/payments/"}]``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields

from .errors import InputError
from .serve_api import APIError, Route, expired_error

FAULTS_ENV = "RUNBOOKS_SERVE_FAULTS"
FAULT_KINDS = ("forbidden", "throttle", "error", "expire", "delay")
DEFAULT_USER = "system:serviceaccount:runbooks:runbooks"


@dataclass(frozen=True)
class Fault:
    kind: str
    path: str = ""  # regex searched in the URL path; "" matches every path
    times: int | None = None  # answer only the first N matching requests; None: all of them
    code: int = 500  # for "error": 500 or 503
    retry_after: int = 1  # for "throttle": seconds, in Retry-After and the Status details
    seconds: float = 0.0  # for "delay"
    user: str = DEFAULT_USER  # for "forbidden": who is refused, in the message
    pattern: re.Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind {self.kind!r} is not one of {', '.join(FAULT_KINDS)}")
        if self.kind == "error" and self.code not in (500, 503):
            raise ValueError(f"an error fault answers 500 or 503, not {self.code}")
        if self.times is not None and self.times < 0:
            raise ValueError("times must be 0 or more")
        try:
            object.__setattr__(self, "pattern", re.compile(self.path))
        except re.error as exc:
            raise ValueError(f"fault path {self.path!r} is not a regular expression: {exc}") from None

    @classmethod
    def from_dict(cls, data: object) -> "Fault":
        if not isinstance(data, dict):
            raise ValueError(f"a fault is a JSON object, not {type(data).__name__}")
        known = {f.name for f in fields(cls) if f.init}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
        return cls(**data)


def faults_from_json(text: str, origin: str = FAULTS_ENV) -> list[Fault]:
    """Parse a JSON list of faults; InputError (one line) when it is not one."""
    try:
        data = json.loads(text)
        if not isinstance(data, list):
            raise ValueError(f"expected a JSON list of faults, found {type(data).__name__}")
        return [Fault.from_dict(item) for item in data]
    except (ValueError, TypeError) as exc:
        raise InputError(f"{origin}: {exc}") from None


class FaultPlan:
    """The faults of one server, counting how many requests each has answered."""

    def __init__(self, faults: list[Fault] | None = None):
        self.faults = list(faults or [])
        self.hits = [0] * len(self.faults)

    def _take(self, index: int) -> bool:
        fault = self.faults[index]
        if fault.times is not None and self.hits[index] >= fault.times:
            return False
        self.hits[index] += 1
        return True

    def delay(self, path: str) -> float:
        return sum(f.seconds for i, f in enumerate(self.faults)
                   if f.kind == "delay" and f.pattern.search(path) and self._take(i))

    def error_for(self, route: Route, has_continue: bool) -> APIError | None:
        """The first fault that answers this request instead of the API, if any."""
        for i, fault in enumerate(self.faults):
            if fault.kind == "delay" or not fault.pattern.search(route.path):
                continue
            if fault.kind == "expire" and not has_continue:
                continue
            if self._take(i):
                return _fault_error(fault, route)
        return None


def _fault_error(fault: Fault, route: Route) -> APIError:
    if fault.kind == "forbidden":
        return forbidden(route, fault.user)
    if fault.kind == "throttle":
        return APIError(429, "TooManyRequests", "Too many requests, please try again later.",
                        {"retryAfterSeconds": fault.retry_after}, [("Retry-After", str(fault.retry_after))])
    if fault.kind == "expire":
        return expired_error()
    if fault.code == 503:
        return APIError(503, "ServiceUnavailable", "the server is currently unable to handle the request "
                                                   "(injected by runbooks serve)", {"retryAfterSeconds": 1},
                        [("Retry-After", "1")])
    message = "Internal error occurred: injected by runbooks serve"
    return APIError(500, "InternalError", message, {"causes": [{"message": message}]})


def forbidden(route: Route, user: str = DEFAULT_USER) -> APIError:
    """403 worded the way the API server's RBAC authorizer words it."""
    resource = route.resource
    if resource is None:
        return APIError(403, "Forbidden", f'forbidden: User "{user}" cannot {route.verb} path "{route.path}"')
    subject = resource.qualified_name + (f' "{route.name}"' if route.name else "")
    what = resource.plural + (f"/{route.subresource}" if route.subresource else "")
    scope = f'in the namespace "{route.namespace}"' if route.namespace else "at the cluster scope"
    message = (f'{subject} is forbidden: User "{user}" cannot {route.verb} resource "{what}" '
               f'in API group "{resource.group}" {scope}')
    details = {"kind": resource.plural}
    if route.name:
        details["name"] = route.name
    if resource.group:
        details["group"] = resource.group
    return APIError(403, "Forbidden", message, details)
