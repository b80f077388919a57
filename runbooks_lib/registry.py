"""The detector registry: one detector per failure class, under a stable rule id.

Built-in detectors live in ``runbooks_lib.detectors``, one module each, and
register themselves with ``@detector(Rule(...))``. Other packages add theirs
through the ``runbooks_lib.detectors`` entry point group: each entry point names
a module (imported, so its ``@detector`` calls run) or a ``(Rule, function)`` pair.
"""

from __future__ import annotations

import functools
import importlib
from contextvars import ContextVar
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Callable, Iterable

from .findings import Finding, sort_key

if TYPE_CHECKING:
    from .state import ClusterState

ENTRY_POINT_GROUP = "runbooks_lib.detectors"
INTERNAL_ERROR_RULE = "internal-error"


@dataclass(frozen=True)
class Rule:
    """A catalogue entry: what the rule detects, why it matters, an example and the fix."""

    id: str
    title: str
    severity: str  # the usual severity; a detector may raise or lower it per finding
    detects: str
    why: str
    example: str
    fix: str
    runbook: str = "triage"  # the notebook that walks through this failure class
    needs: frozenset[str] = field(default_factory=frozenset)  # state capabilities: runtime, logs, metrics


DetectFunction = Callable[["ClusterState"], Iterable[Finding]]


@dataclass(frozen=True)
class RegisteredDetector:
    rule: Rule
    detect: DetectFunction
    origin: str  # module that registered it


_REGISTRY: dict[str, RegisteredDetector] = {}
_loaded = False
# Within one run_detectors call: the state, and each detector's findings on it. Some rules cite the
# findings of others (rollout-stuck runs eleven of them); they get these instead of running them twice.
_RUN: ContextVar[tuple[object, dict] | None] = ContextVar("runbooks_detector_run", default=None)


def detector(rule: Rule) -> Callable[[DetectFunction], DetectFunction]:
    """Register a detect function under ``rule.id``."""

    def register(function: DetectFunction) -> DetectFunction:
        existing = _REGISTRY.get(rule.id)
        if existing and getattr(existing.detect, "__wrapped__", existing.detect) is not function \
                and existing.origin != function.__module__:
            raise ValueError(f"rule id {rule.id!r} is already registered by {existing.origin}")
        _REGISTRY[rule.id] = RegisteredDetector(rule, _shared_within_run(function), function.__module__)
        return function

    return register


def _shared_within_run(function: DetectFunction) -> DetectFunction:
    """The detect function, answering from the current run's results when it already ran on that state."""

    @functools.wraps(function)
    def detect(state: "ClusterState") -> Iterable[Finding]:
        run = _RUN.get()
        if run is None or run[0] is not state:
            return function(state)
        results = run[1]
        if function not in results:
            results[function] = list(function(state))
        return list(results[function])

    return detect


def load_detectors() -> dict[str, RegisteredDetector]:
    """All detectors: built-in ones and those of installed plugins (loaded once)."""
    global _loaded
    if not _loaded:
        importlib.import_module("runbooks_lib.detectors")
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            loaded = entry.load()
            if isinstance(loaded, tuple) and len(loaded) == 2 and isinstance(loaded[0], Rule):
                detector(loaded[0])(loaded[1])
        _loaded = True
    return dict(sorted(_REGISTRY.items()))


def reload_plugins() -> dict[str, RegisteredDetector]:
    """Look for entry points again, e.g. after installing a plugin in the same process."""
    global _loaded
    _loaded = False
    return load_detectors()


def rules() -> list[Rule]:
    return [registered.rule for registered in load_detectors().values()]


def rule(rule_id: str) -> Rule | None:
    registered = load_detectors().get(rule_id)
    return registered.rule if registered else None


@dataclass
class DetectionResult:
    findings: list[Finding]
    rules_run: list[str]
    rules_skipped: dict[str, str]  # rule id -> why it did not run
    errors: list[str]  # detectors that failed, as "rule: message"


def run_detectors(state: "ClusterState", only: Iterable[str] | None = None) -> DetectionResult:
    """Run every registered detector whose needs the state meets.

    A detector that raises does not stop the others: its failure becomes an
    ``internal-error`` finding naming the detector and the message.
    """
    token = _RUN.set((state, {}))
    try:
        return _run_detectors(state, only)
    finally:
        _RUN.reset(token)


def _run_detectors(state: "ClusterState", only: Iterable[str] | None) -> DetectionResult:
    wanted = set(only) if only else None
    findings: list[Finding] = []
    run: list[str] = []
    skipped: dict[str, str] = {}
    errors: list[str] = []
    for rule_id, registered in load_detectors().items():
        if wanted is not None and rule_id not in wanted:
            continue
        missing = sorted(registered.rule.needs - state.capabilities)
        if missing:
            skipped[rule_id] = f"needs {', '.join(missing)}, which this source does not have"
            continue
        run.append(rule_id)
        try:
            findings.extend(registered.detect(state))
        except Exception as exc:  # contain any detector failure; see module docstring
            message = f"{type(exc).__name__}: {exc}"
            errors.append(f"{rule_id}: {message}")
            findings.append(Finding(
                rule=INTERNAL_ERROR_RULE, severity="warning", namespace=None, kind="Detector", name=rule_id,
                summary=f"detector {rule_id} failed on this data: {message}",
                discriminator=rule_id))
    findings.sort(key=sort_key)
    return DetectionResult(findings, run, skipped, errors)
