"""Label and field selectors, as the API server parses and applies them.

Label selectors: ``a=b``, ``a==b``, ``a!=b``, ``a in (b,c)``, ``a notin (b,c)``,
``a`` (exists) and ``!a`` (does not exist), comma-separated, all must hold.
``!=`` and ``notin`` also match objects without the label, as on a real server.

Field selectors: ``f=v``, ``f==v``, ``f!=v`` over the fields each resource
supports; an unsupported field is the API server's 400 "field label not supported".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Mapping


class SelectorError(ValueError):
    """A selector that does not parse; the message is what the client sees."""


# -- label selectors ------------------------------------------------------------

@dataclass(frozen=True)
class LabelRequirement:
    key: str
    operator: str  # "=", "!=", "in", "notin", "exists", "!exists"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.operator == "exists":
            return present
        if self.operator == "!exists":
            return not present
        if self.operator in ("=", "in"):
            return present and value in self.values
        return not present or value not in self.values  # "!=" and "notin"


_LABEL_TOKEN = re.compile(r"\s*(==|!=|=|\(|\)|,|!|[^\s=!(),]+)")


def _label_tokens(text: str) -> list[str]:
    tokens, pos = [], 0
    while pos < len(text):
        match = _LABEL_TOKEN.match(text, pos)
        if not match:
            if text[pos:].strip():
                raise SelectorError(f"unable to parse requirement: unexpected {text[pos:]!r}")
            break
        tokens.append(match.group(1))
        pos = match.end()
    return tokens


def parse_label_selector(text: str | None) -> list[LabelRequirement]:
    if not text or not text.strip():
        return []
    tokens = _label_tokens(text)
    requirements: list[LabelRequirement] = []
    i = 0

    def take() -> str | None:
        nonlocal i
        token = tokens[i] if i < len(tokens) else None
        i += 1
        return token

    def peek() -> str | None:
        return tokens[i] if i < len(tokens) else None

    while i < len(tokens):
        token = take()
        if token == "!":
            key = _label_key(take(), text)
            requirements.append(LabelRequirement(key, "!exists"))
        else:
            key = _label_key(token, text)
            operator = peek()
            if operator in (None, ","):
                requirements.append(LabelRequirement(key, "exists"))
            elif operator in ("=", "==", "!="):
                take()
                value = peek()
                if value is None or value == ",":
                    value = ""  # "a=" selects an empty value
                else:
                    take()
                    _check_value(value, text)
                requirements.append(LabelRequirement(key, "!=" if operator == "!=" else "=", (value,)))
            elif operator in ("in", "notin"):
                take()
                requirements.append(LabelRequirement(key, operator, _value_set(take, peek, text)))
            else:
                raise SelectorError(f"unable to parse requirement: found {operator!r}, expected: in, notin, =, ==, "
                                    f"!=, ',' or end of string (in {text!r})")
        separator = take()
        if separator not in (None, ","):
            raise SelectorError(f"unable to parse requirement: found {separator!r}, expected: ',' or end of string "
                                f"(in {text!r})")
        if separator == "," and peek() is None:
            raise SelectorError(f"unable to parse requirement: found end of string after ',' (in {text!r})")
    return requirements


def _value_set(take: Callable[[], str | None], peek: Callable[[], str | None], text: str) -> tuple[str, ...]:
    if take() != "(":
        raise SelectorError(f"unable to parse requirement: expected '(' after in/notin (in {text!r})")
    values: list[str] = []
    expecting_value = True
    while True:
        token = take()
        if token is None:
            raise SelectorError(f"unable to parse requirement: found end of string, expected ')' (in {text!r})")
        if token == ")":
            if expecting_value and values:
                values.append("")  # "(a,)" holds an empty value
            return tuple(values)
        if token == ",":
            if expecting_value:
                values.append("")
            expecting_value = True
            continue
        if not expecting_value:
            raise SelectorError(f"unable to parse requirement: found {token!r}, expected ',' or ')' (in {text!r})")
        _check_value(token, text)
        values.append(token)
        expecting_value = False


_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


def _label_key(token: str | None, text: str) -> str:
    if token is None or token in ("=", "==", "!=", "(", ")", ",", "!") or not _KEY.match(token):
        raise SelectorError(f"unable to parse requirement: invalid label key {token!r} (in {text!r})")
    return token


def _check_value(value: str, text: str) -> None:
    if not _VALUE.match(value) or len(value) > 63:
        raise SelectorError(f"unable to parse requirement: invalid label value {value!r}: must be 63 characters or "
                            f"less, alphanumeric, '-', '_' or '.' (in {text!r})")


def labels_match(requirements: list[LabelRequirement], obj: Mapping) -> bool:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    labels = meta.get("labels") if isinstance(meta.get("labels"), Mapping) else {}
    return all(req.matches(labels) for req in requirements)


# -- field selectors ------------------------------------------------------------

@dataclass(frozen=True)
class FieldRequirement:
    field: str
    value: str
    negated: bool

    def matches(self, actual: str) -> bool:
        return (actual == self.value) != self.negated


def parse_field_selector(text: str | None) -> list[FieldRequirement]:
    """Split on unescaped commas; ``\\,``, ``\\=`` and ``\\\\`` escape those characters in values."""
    if not text or not text.strip():
        return []
    requirements = []
    for term in _split_unescaped(text, ","):
        term = term.strip()
        if not term:
            raise SelectorError(f"invalid field selector {text!r}: empty requirement")
        for operator in ("!=", "==", "="):
            position = _find_unescaped(term, operator)
            if position >= 0:
                field, value = term[:position].strip(), term[position + len(operator):]
                requirements.append(FieldRequirement(field, _unescape(value), operator == "!="))
                break
        else:
            raise SelectorError(f"invalid selector: '{term}'; can't understand '{term}'")
    return requirements


def _split_unescaped(text: str, separator: str) -> list[str]:
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _find_unescaped(term: str, operator: str) -> int:
    i = 0
    while i < len(term):
        if term[i] == "\\":
            i += 2
            continue
        if term.startswith(operator, i):
            # "=" must not be the tail of "!=" or "=="
            if operator == "=" and (term[i - 1:i] == "!" or term[i + 1:i + 2] == "="):
                i += 1
                continue
            return i
        i += 1
    return -1


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def _dig(obj: Mapping, dotted: str) -> str:
    value: object = obj
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_META_FIELDS = ("metadata.name", "metadata.namespace")
_EVENT_FIELDS = tuple(f"involvedObject.{f}" for f in
                      ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
                      ) + ("reason", "reportingComponent", "type", "source")

# Fields each kind can be selected on, as the API server registers them (kind -> extra fields).
SELECTABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
            "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"),
    "Event": _EVENT_FIELDS,
    "Node": ("spec.unschedulable",),
    "Namespace": ("status.phase",),
    "ReplicaSet": ("status.replicas",),
    "ReplicationController": ("status.replicas",),
    "Job": ("status.successful",),
}

# events.k8s.io/v1 names the same stored fields differently.
EVENTS_V1_FIELD_ALIASES = {**{f"regarding.{f}": f"involvedObject.{f}" for f in
                              ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")},
                           "reportingController": "reportingComponent", "deprecatedSource": "source"}


def field_value(obj: Mapping, kind: str, field: str) -> str:
    if field == "source" and kind == "Event":
        return _dig(obj, "source.component") or str(obj.get("reportingComponent") or "")
    if field == "status.successful":
        return _dig(obj, "status.succeeded")
    return _dig(obj, field)


def check_fields(requirements: list[FieldRequirement], kind: str, aliases: Mapping[str, str] | None = None
                 ) -> list[FieldRequirement]:
    """The requirements with aliases resolved; SelectorError for a field the kind does not support."""
    allowed = set(_META_FIELDS) | set(SELECTABLE_FIELDS.get(kind, ()))
    resolved = []
    for req in requirements:
        field = (aliases or {}).get(req.field, req.field)
        if field not in allowed:
            raise SelectorError(f"field label not supported: {req.field}")
        resolved.append(FieldRequirement(field, req.value, req.negated))
    return resolved


def fields_match(requirements: list[FieldRequirement], obj: Mapping, kind: str) -> bool:
    return all(req.matches(field_value(obj, kind, req.field)) for req in requirements)
