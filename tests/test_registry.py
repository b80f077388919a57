"""The detector registry: built-ins, plugins through entry points, and contained failures."""

import sys

import pytest

from builders import container, pod, state_of
from runbooks_lib import registry
from runbooks_lib.registry import INTERNAL_ERROR_RULE, Rule, detector, run_detectors
from runbooks_lib.state import RUNTIME

PLUGIN_DIR = __import__("pathlib").Path(__file__).parent / "plugin_example"


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    """Install tests/plugin_example as a distribution would be: a dist-info with an entry point."""
    registry.load_detectors()  # built-ins loaded before the plugin is installed
    dist = tmp_path / "acme_runbook_rules-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-runbook-rules\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[runbooks_lib.detectors]\nacme = acme_runbook_rules\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    yield
    registry._REGISTRY.pop("acme-latest-tag", None)
    sys.modules.pop("acme_runbook_rules", None)
    registry.reload_plugins()


def test_a_plugin_registers_its_rule_through_the_entry_point_group(installed_plugin):
    assert "acme-latest-tag" not in registry.load_detectors()
    detectors = registry.reload_plugins()
    assert "acme-latest-tag" in detectors
    state = state_of(pod("api-1", containers=[container("api", image="ghcr.io/acme/api:latest")]))
    result = run_detectors(state, only=["acme-latest-tag"])
    assert [(f.rule, f.name, f.container) for f in result.findings] == [("acme-latest-tag", "api-1", "api")]


def test_every_builtin_rule_has_a_complete_catalogue_entry():
    for rule in registry.rules():
        for field in ("title", "detects", "why", "example", "fix", "runbook"):
            assert getattr(rule, field).strip(), f"{rule.id}: empty {field}"
        assert rule.severity in ("critical", "warning", "info"), rule.id


def test_a_failing_detector_becomes_an_internal_error_finding_and_others_still_run():
    broken = Rule(id="test-broken", title="t", severity="warning", detects="d", why="w", example="e", fix="f")

    @detector(broken)
    def explode(state):
        raise KeyError("status")
        yield  # pragma: no cover

    try:
        result = run_detectors(state_of(pod("p")))
        (error,) = [f for f in result.findings if f.rule == INTERNAL_ERROR_RULE]
        assert error.name == "test-broken" and "KeyError" in error.summary
        assert result.errors == ["test-broken: KeyError: 'status'"]
        assert len(result.rules_run) > 1
    finally:
        registry._REGISTRY.pop("test-broken")


def test_rules_needing_runtime_data_are_skipped_on_manifests_with_the_reason():
    needs_runtime = Rule(id="test-runtime", title="t", severity="info", detects="d", why="w", example="e",
                         fix="f", needs=frozenset({RUNTIME}))

    @detector(needs_runtime)
    def never(state):
        raise AssertionError("must not run without runtime data")

    try:
        result = run_detectors(state_of(pod("p"), capabilities=set()), only=["test-runtime"])
        assert result.rules_skipped == {"test-runtime": "needs runtime, which this source does not have"}
        assert result.findings == []
    finally:
        registry._REGISTRY.pop("test-runtime")


def test_a_rule_id_cannot_be_taken_twice():
    rule = Rule(id="test-dup", title="t", severity="info", detects="d", why="w", example="e", fix="f")
    detector(rule)(lambda state: [])

    def other(state):
        return []

    other.__module__ = "someone_else"
    try:
        with pytest.raises(ValueError, match="already registered"):
            detector(rule)(other)
    finally:
        registry._REGISTRY.pop("test-dup")
