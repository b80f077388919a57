"""Every detector survives objects with missing, null or wrongly typed fields (issue 8).

One object of the bundled examples is mutated at a time (a field set to None, a
wrong type, a huge string, an empty list, or removed, at any depth) and every
registered detector's ``detect`` is called directly and consumed: run_detectors
would turn an exception into an internal-error finding and hide it.

The mutated object goes through the loader's own ObjectCollector first, so
detectors only see what a loader can hand them (an object without a kind or a
string metadata.name never reaches them).
"""

from __future__ import annotations

import copy
import os
from dataclasses import replace
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import runbooks_lib
from runbooks_lib.registry import load_detectors
from runbooks_lib.sources.collect import ObjectCollector
from runbooks_lib.sources.documents import Document

from mutation import REMOVE, field_paths, mutate

EXAMPLES = ("staging-incident", "healthy")


class _Huge(str):
    """A long string that prints short in hypothesis' failure report."""

    def __repr__(self) -> str:
        return f"'x' * {len(self)}"


HUGE_STRING = _Huge("x" * 200_000)

# Each example runs every detector on a whole example cluster (~1 s), so few examples per test
# keep this file near 30 s; FUZZ_SCALE=50 explores for real. CI gets the same examples every run.
FUZZ_SETTINGS = settings(max_examples=max(1, int(6 * float(os.environ.get("FUZZ_SCALE", "1")))), deadline=None,
                         derandomize=bool(os.environ.get("CI")),
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

BAD_VALUES = st.one_of(
    st.just(REMOVE), st.none(), st.just([]), st.just({}), st.just(""), st.just(HUGE_STRING),
    st.booleans(), st.integers(min_value=-(2**63), max_value=2**63), st.floats(allow_nan=True),
    st.text(max_size=12), st.lists(st.integers(), max_size=3), st.lists(st.text(max_size=4), max_size=3),
    st.dictionaries(st.text(max_size=6), st.one_of(st.none(), st.integers(), st.text(max_size=6)), max_size=3),
    st.sampled_from(["2025-11-06", "yesterday", "1730900000", "-1", "0x1F", "8080", "http", "NaN", "1e400",
                     "Always", "True", "Warning", "CrashLoopBackOff", "OOMKilled"]),
)


@cache
def example_state(name: str):
    return runbooks_lib.load(name)


def state_with(base, original: dict, mutated: dict):
    """The example's state with one object replaced by its mutated copy, as a loader would keep it."""
    objects = {kind: [obj for obj in items if obj is not original] for kind, items in base.objects.items()}
    collector = ObjectCollector()
    collector.add(Document(mutated, Path("fuzzed.json"), 1))
    for kind, items in collector.objects.items():
        objects.setdefault(kind, []).extend(items)
    return replace(base, objects=objects)


def run_every_detector(state) -> None:
    for rule_id, registered in load_detectors().items():
        try:
            list(registered.detect(state))
        except Exception as exc:  # name the rule in the failure; the traceback follows
            raise AssertionError(f"detector {rule_id} raised {type(exc).__name__}: {exc}") from exc


def draw_mutated_state(data, kinds: tuple[str, ...]):
    """One object of one example, with 1-3 fields mutated; drawn step by step so a failure
    report shows the example, the object and each (path, value) rather than the whole state."""
    base = example_state(data.draw(st.sampled_from(EXAMPLES), label="example"))
    kind = data.draw(st.sampled_from([kind for kind in kinds if base.objects.get(kind)]), label="kind")
    index = data.draw(st.integers(min_value=0, max_value=len(base.objects[kind]) - 1), label="object")
    original = base.objects[kind][index]
    mutated = copy.deepcopy(original)
    for step in range(data.draw(st.integers(min_value=1, max_value=3), label="mutations")):
        paths = field_paths(mutated)
        if not paths:
            break
        path = data.draw(st.sampled_from(paths), label=f"path {step}")
        mutate(mutated, path, data.draw(BAD_VALUES, label=f"value {step}"))
    return state_with(base, original, mutated)


def test_the_examples_run_clean():
    """The baseline the mutations start from: no detector fails on the untouched examples."""
    for name in EXAMPLES:
        run_every_detector(example_state(name))


@FUZZ_SETTINGS
@given(data=st.data())
def test_detectors_survive_a_mutated_pod(data):
    run_every_detector(draw_mutated_state(data, ("Pod",)))


@FUZZ_SETTINGS
@given(data=st.data())
def test_detectors_survive_a_mutated_event(data):
    run_every_detector(draw_mutated_state(data, ("Event",)))


@FUZZ_SETTINGS
@given(data=st.data())
def test_detectors_survive_a_mutated_workload(data):
    run_every_detector(draw_mutated_state(data, ("Deployment", "ReplicaSet")))


@FUZZ_SETTINGS
@given(data=st.data())
def test_detectors_survive_a_mutated_service(data):
    run_every_detector(draw_mutated_state(data, ("Service", "Endpoints")))


@FUZZ_SETTINGS
@given(data=st.data())
def test_detectors_survive_a_mutated_policy_node_or_metric(data):
    run_every_detector(draw_mutated_state(data, ("NetworkPolicy", "PodMetrics", "NodeMetrics", "Node")))


# Shapes real dumps hold that random mutation reaches only by luck. Each is one object's field
# set (the field's parent must exist; a missing last key is added): (kind, path, value).
SHAPES = [
    ("Pod", ("status",), None), ("Pod", ("status",), {}), ("Pod", ("status", "containerStatuses"), None),
    ("Pod", ("status", "containerStatuses"), [None]), ("Pod", ("status", "containerStatuses", 0, "state"), None),
    ("Pod", ("status", "containerStatuses", 0, "lastState"), {"terminated": None}),
    ("Pod", ("status", "containerStatuses", 0, "lastState", "terminated", "exitCode"), "137"),
    ("Pod", ("status", "containerStatuses", 0, "lastState", "terminated", "finishedAt"), "yesterday"),
    ("Pod", ("status", "containerStatuses", 0, "restartCount"), "7"),
    ("Pod", ("status", "containerStatuses", 0, "name"), None),
    ("Pod", ("spec", "containers", 0, "livenessProbe"), {}),
    ("Pod", ("spec", "containers", 0, "readinessProbe"), {"httpGet": {}}),
    ("Pod", ("spec", "containers", 0, "readinessProbe"), {"httpGet": {"port": None, "path": 7}}),
    ("Pod", ("spec", "containers", 0, "livenessProbe"), {"tcpSocket": {"port": "no-such-port"}}),
    ("Pod", ("spec", "containers", 0, "ports"), [{"containerPort": 8080}, {"containerPort": "8080"}, {}]),
    ("Pod", ("spec", "containers", 0, "resources"), {"limits": {"memory": "lots", "cpu": 3}}),
    ("Pod", ("spec", "containers", 0, "env"), [{"name": None}, "FOO=bar"]),
    ("Pod", ("spec", "containers"), None), ("Pod", ("spec", "containers"), [{}]),
    ("Pod", ("spec", "containers", 0, "name"), 3), ("Pod", ("spec", "containers", 0, "image"), None),
    ("Pod", ("metadata", "creationTimestamp"), "2025-11-06"), ("Pod", ("metadata", "creationTimestamp"), 1730900000),
    ("Pod", ("metadata", "labels"), None), ("Pod", ("metadata", "ownerReferences"), [{}]),
    ("ReplicaSet", ("metadata", "ownerReferences", 0, "name"), {"web": "web"}),
    ("ReplicaSet", ("metadata", "annotations", "deployment.kubernetes.io/revision"), 7),
    ("ReplicaSet", ("metadata", "labels"), ["pod-template-hash"]), ("ReplicaSet", ("spec", "replicas"), "3"),
    ("ReplicaSet", ("status",), None),
    ("Deployment", ("spec", "replicas"), "3"), ("Deployment", ("status", "conditions"), True),
    ("Deployment", ("spec", "selector"), None), ("Deployment", ("spec", "template", "spec", "containers"), {}),
    ("Service", ("spec", "ports", 0, "targetPort"), None), ("Service", ("spec", "ports", 0, "targetPort"), {"x": 1}),
    ("Service", ("spec", "selector"), "app=web"), ("Service", ("spec", "ports"), {}),
    ("Service", ("spec", "ports", 0, "name"), None),
    ("Endpoints", ("subsets",), {}), ("Endpoints", ("subsets", 0, "addresses"), None),
    ("Endpoints", ("subsets", 0, "ports", 0, "port"), "8080"),
    ("Event", ("involvedObject",), None), ("Event", ("count",), "31"), ("Event", ("lastTimestamp",), 1730900000),
    ("Event", ("message",), None), ("Event", ("reason",), {"BackOff": 1}), ("Event", ("involvedObject", "name"), 7),
    ("NetworkPolicy", ("spec", "podSelector"), None), ("NetworkPolicy", ("spec", "ingress"), [None]),
    ("PodMetrics", ("containers", 0, "usage", "memory"), "lots"), ("PodMetrics", ("containers",), None),
]


def _set(obj: dict, path: tuple, value) -> bool:
    """Set obj[path] = value when the parent exists; False (and nothing changed) otherwise."""
    parent = obj
    for key in path[:-1]:
        try:
            parent = parent[key]
        except (KeyError, IndexError, TypeError):
            return False
    last = path[-1]
    if not isinstance(parent, dict if isinstance(last, str) else list) or (isinstance(last, int) and last >= len(parent)):
        return False
    parent[last] = copy.deepcopy(value)
    return True


# Each shape goes to a different object of its kind, so three detector runs cover them all.
SHAPE_CHUNKS = [SHAPES[start::3] for start in range(3)]


@pytest.mark.parametrize("shapes", SHAPE_CHUNKS, ids=[f"shapes{i}" for i in range(len(SHAPE_CHUNKS))])
def test_detectors_survive_odd_shapes(shapes):
    base = example_state("staging-incident")
    objects = {kind: [copy.deepcopy(obj) for obj in items] for kind, items in base.objects.items()}
    unchanged = {kind: list(items) for kind, items in objects.items()}
    for kind, path, value in shapes:
        # The first object still unchanged that has the field (crash-looping pods have lastState).
        target = next((obj for obj in unchanged[kind] if _set(obj, path, value)), None)
        assert target is not None, f"no {kind} of the example has {path[:-1]}"
        unchanged[kind].remove(target)
    run_every_detector(replace(base, objects=objects))
