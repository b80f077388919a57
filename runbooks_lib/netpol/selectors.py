"""Label selectors (metav1.LabelSelector): matching one label set, or many at once.

A selector is parsed once into a hashable ``Selector`` so that identical selectors
across policies share one evaluation in the class engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Mapping, Sequence

import numpy as np

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # In, NotIn, Exists, DoesNotExist
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == "Exists":
            return present
        if self.operator == "DoesNotExist":
            return not present
        if self.operator == "In":
            return present and labels[self.key] in self.values
        return not present or labels[self.key] not in self.values  # NotIn matches pods without the key

    def describe(self) -> str:
        if self.operator in ("Exists", "DoesNotExist"):
            return f"{self.key} {self.operator}"
        return f"{self.key} {self.operator} ({', '.join(sorted(self.values))})"


@dataclass(frozen=True)
class Selector:
    """matchLabels and matchExpressions, ANDed. No requirements selects everything."""

    requirements: tuple[Requirement, ...] = ()

    @property
    def selects_all(self) -> bool:
        return not self.requirements

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(req.matches(labels) for req in self.requirements)

    def describe(self) -> str:
        if not self.requirements:
            return "{} (all)"
        return ", ".join(req.describe() if req.operator != "In" or len(req.values) != 1
                         else f"{req.key}={next(iter(req.values))}" for req in self.requirements)

    def to_dict(self) -> dict:
        """Back to the API shape, for patches."""
        match_labels = {r.key: next(iter(r.values)) for r in self.requirements
                        if r.operator == "In" and len(r.values) == 1}
        expressions = [{"key": r.key, "operator": r.operator, **({"values": sorted(r.values)} if r.values else {})}
                       for r in self.requirements if not (r.operator == "In" and len(r.values) == 1)]
        data: dict = {}
        if match_labels:
            data["matchLabels"] = match_labels
        if expressions:
            data["matchExpressions"] = expressions
        return data


class SelectorError(ValueError):
    """A selector the API server would reject; the message says which part."""


def parse_selector(raw: object, where: str) -> Selector:
    """Parse a LabelSelector; ``None`` (absent) is the caller's business, ``{}`` selects all."""
    if raw is None:
        return Selector()
    if not isinstance(raw, Mapping):
        raise SelectorError(f"{where}: expected a label selector object, found {type(raw).__name__}")
    requirements: list[Requirement] = []
    match_labels = raw.get("matchLabels") or {}
    if not isinstance(match_labels, Mapping):
        raise SelectorError(f"{where}.matchLabels: expected a map of label to value")
    for key, value in match_labels.items():
        requirements.append(Requirement(str(key), "In", frozenset({_label_value(value)})))
    expressions = raw.get("matchExpressions") or []
    if not isinstance(expressions, Sequence) or isinstance(expressions, str):
        raise SelectorError(f"{where}.matchExpressions: expected a list")
    for index, expr in enumerate(expressions):
        path = f"{where}.matchExpressions[{index}]"
        if not isinstance(expr, Mapping) or not isinstance(expr.get("key"), str):
            raise SelectorError(f"{path}: needs a key")
        operator = expr.get("operator")
        if operator not in OPERATORS:
            raise SelectorError(f"{path}: operator {operator!r} is not one of {', '.join(OPERATORS)}")
        values = expr.get("values") or []
        if operator in ("In", "NotIn") and not values:
            raise SelectorError(f"{path}: operator {operator} needs values")
        if operator in ("Exists", "DoesNotExist") and values:
            raise SelectorError(f"{path}: operator {operator} takes no values")
        requirements.append(Requirement(expr["key"], operator, frozenset(_label_value(v) for v in values)))
    # Sorted so that equal selectors written in another order share a cache entry.
    return Selector(tuple(sorted(set(requirements), key=lambda r: (r.key, r.operator, sorted(r.values)))))


def _label_value(value: object) -> str:
    # YAML turns `version: 1` or `enabled: true` into numbers and booleans; the API has strings.
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


class LabelTable:
    """Label sets of many rows (pod classes or namespaces) encoded for vectorised matching.

    Each label key becomes an int column: -1 where absent, else an id of the value.
    """

    def __init__(self, label_sets: Sequence[Mapping[str, str]]):
        self.size = len(label_sets)
        self._columns: dict[str, np.ndarray] = {}
        self._value_ids: dict[str, dict[str, int]] = {}
        for row, labels in enumerate(label_sets):
            for key, value in labels.items():
                column = self._columns.get(key)
                if column is None:
                    column = self._columns[key] = np.full(self.size, -1, dtype=np.int32)
                    self._value_ids[key] = {}
                ids = self._value_ids[key]
                column[row] = ids.setdefault(value, len(ids))
        self._cache: dict[Selector, np.ndarray] = {}

    def match(self, selector: Selector) -> np.ndarray:
        """Boolean vector: which rows the selector matches (cached per selector)."""
        cached = self._cache.get(selector)
        if cached is not None:
            return cached
        result = np.ones(self.size, dtype=bool)
        for req in selector.requirements:
            result &= self._match_requirement(req)
        result.flags.writeable = False
        self._cache[selector] = result
        return result

    def _match_requirement(self, req: Requirement) -> np.ndarray:
        column = self._columns.get(req.key)
        if column is None:  # no row has the key
            present = np.zeros(self.size, dtype=bool)
            return ~present if req.operator in ("DoesNotExist", "NotIn") else present
        if req.operator == "Exists":
            return column >= 0
        if req.operator == "DoesNotExist":
            return column < 0
        ids = [self._value_ids[req.key][v] for v in req.values if v in self._value_ids[req.key]]
        in_values = np.isin(column, ids) if ids else np.zeros(self.size, dtype=bool)
        return in_values if req.operator == "In" else ~in_values
