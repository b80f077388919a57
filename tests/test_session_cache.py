"""One load and one detection per source within a kernel, and never a stale state."""

from __future__ import annotations

import os
import shutil

import pytest

from runbooks_lib import notebook as rb
from runbooks_lib import session_cache
from runbooks_lib import registry
from runbooks_lib.registry import Rule, detector, load_detectors, run_detectors
from runbooks_lib.resources import example_path


@pytest.fixture(autouse=True)
def fresh_cache():
    session_cache.clear()
    yield
    session_cache.clear()


def as_dicts(result):
    return [finding.to_dict() for finding in result.findings]


def test_the_same_source_is_loaded_once_and_a_different_view_again():
    first = rb.open_source("staging-incident")
    assert rb.open_source("staging-incident") is first
    other_namespace = rb.open_source("staging-incident", namespace="kube-system")
    assert other_namespace is not first and set(other_namespace.namespaces) <= {"kube-system"}
    assert rb.open_source("staging-incident", now="2025-11-06T18:00:00Z") is not other_namespace


def test_an_edited_file_is_loaded_again(tmp_path):
    snapshot = tmp_path / "snapshot"
    shutil.copytree(example_path("staging-incident"), snapshot)
    first = rb.open_source(str(snapshot))
    assert rb.open_source(str(snapshot)) is first
    pods = next(snapshot.rglob("pods.json"))
    stat = pods.stat()
    os.utime(pods, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert rb.open_source(str(snapshot)) is not first, "a re-captured snapshot is not served from the cache"


def test_redaction_is_part_of_the_key(monkeypatch):
    redacted = rb.open_source("staging-incident")
    monkeypatch.setenv("RUNBOOKS_NO_REDACT", "1")
    assert rb.open_source("staging-incident") is not redacted


def test_detect_gives_what_run_detectors_gives_and_runs_each_rule_once():
    state = rb.open_source("staging-incident")
    expected = run_detectors(state)
    calls: list[list[str]] = []

    def counting(target, only):
        calls.append(list(only))
        return run_detectors(target, only=only)

    known = list(load_detectors())
    probes = [rule for rule in known if rule.startswith("probe-")]
    subset = session_cache.detect_once(state, probes, counting, known)
    assert as_dicts(subset) == as_dicts(run_detectors(state, only=probes))
    everything = session_cache.detect_once(state, None, counting, known)
    assert as_dicts(everything) == as_dicts(expected)
    assert everything.rules_run == expected.rules_run and everything.rules_skipped == expected.rules_skipped
    assert calls == [probes, [rule for rule in known if rule not in probes]], "no rule ran twice"
    again = session_cache.detect_once(state, probes, counting, known)
    assert len(calls) == 2 and as_dicts(again) == as_dicts(subset)


def test_detections_belong_to_one_state():
    state = rb.open_source("staging-incident")
    healthy = rb.open_source("healthy")
    assert as_dicts(rb.detect(state)) == as_dicts(run_detectors(state))
    assert as_dicts(rb.detect(healthy)) == as_dicts(run_detectors(healthy))
    assert as_dicts(rb.detect(healthy)) != as_dicts(rb.detect(state))


def test_a_failing_detector_is_reported_under_its_own_rule():
    broken = Rule(id="test-broken-cached", title="t", severity="warning", detects="d", why="w", example="e",
                  fix="f")

    @detector(broken)
    def explode(state):
        raise KeyError("status")
        yield  # pragma: no cover

    try:
        state = rb.open_source("staging-incident")
        known = list(load_detectors())
        other = next(rule for rule in known if rule != broken.id)
        result = session_cache.detect_once(state, [broken.id, other],
                                           lambda s, only: run_detectors(s, only=only), known)
        assert result.errors == ["test-broken-cached: KeyError: 'status'"]
        assert [f.name for f in result.findings if f.rule == "internal-error"] == [broken.id]
        assert result.rules_run == sorted([broken.id, other])
    finally:
        registry._REGISTRY.pop(broken.id)


def test_rules_may_be_any_iterable_even_a_one_shot_generator():
    state = rb.open_source("staging-incident")
    probes = [rule for rule in load_detectors() if rule.startswith("probe-")]
    assert as_dicts(rb.detect(state, (rule for rule in probes))) == as_dicts(run_detectors(state, only=probes))


def test_once_per_state_builds_once_per_state_object_and_forgets_a_state_that_is_gone():
    import gc

    from runbooks_lib.state import _PER_STATE, ClusterState, once_per_state

    built = []
    first, second = ClusterState(), ClusterState()
    assert once_per_state(first, "key", lambda: built.append(1) or "a") == "a"
    assert once_per_state(first, "key", lambda: built.append(2) or "b") == "a"
    assert once_per_state(second, "key", lambda: built.append(3) or "c") == "c"
    assert built == [1, 3]
    gone = (id(first), "key")
    del first
    gc.collect()
    assert gone not in _PER_STATE
