"""stale-replicasets: old ReplicaSets at zero replicas piling up under a Deployment."""

from __future__ import annotations

import yaml

from builders import NS, deployment, pod, replicaset, state_of
from runbooks_lib.detectors.stale_replicasets import KEEP, STALE_THRESHOLD
from runbooks_lib.registry import load_detectors

RULE = "stale-replicasets"


def detect(state):
    return list(load_detectors()[RULE].detect(state))


def _history(name: str, current: int, stale: int, limit: int | None = 10):
    """A Deployment at revision ``current`` with ``stale`` old ReplicaSets (revisions current-stale .. current-1)."""
    deploy = deployment(name, replicas=2, revision=current)
    if limit is None:
        del deploy["spec"]["revisionHistoryLimit"]
    else:
        deploy["spec"]["revisionHistoryLimit"] = limit
    objects = [deploy]
    for revision in range(current - stale, current):
        objects.append(replicaset(deploy, f"{revision:02d}a7b8c9d", revision, 0, minutes_ago=10000 - revision * 100))
    live = replicaset(deploy, "5d4f8b7c9", current, 2, minutes_ago=60)
    objects += [live, pod(f"{name}-5d4f8b7c9-aaaaa", owner=live), pod(f"{name}-5d4f8b7c9-bbbbb", owner=live)]
    return objects


def test_threshold_is_documented_in_the_rule():
    rule = load_detectors()[RULE].rule
    assert rule.severity == "info" and rule.runbook == "rollouts"
    assert f"more than {STALE_THRESHOLD}" in rule.detects


def test_many_old_replicasets_are_one_info_finding_with_a_patch_and_a_delete_command():
    state = state_of(*_history("web", current=12, stale=8))
    [finding] = detect(state)
    assert (finding.rule, finding.severity, finding.kind, finding.namespace, finding.name) == (
        RULE, "info", "Deployment", NS, "web")
    assert finding.summary == "web keeps 8 old ReplicaSets at 0 replicas (revisions 4–11); revisionHistoryLimit 10"
    listed = [e.object for e in finding.evidence if e.object and e.object.startswith("ReplicaSet")]
    assert listed[0] == f"ReplicaSet {NS}/web-11a7b8c9d" and len(listed) == 8  # newest first
    assert f"ReplicaSet {NS}/web-5d4f8b7c9" not in listed  # the current revision is never stale
    assert "revision 4, 0 replicas" in finding.evidence[-1].text
    assert yaml.safe_load(finding.remediation.patch) == {"spec": {"revisionHistoryLimit": KEEP}}
    assert finding.remediation.patch_type == "merge" and finding.remediation.target == f"Deployment {NS}/web"
    # keep the newest KEEP old ones for rollbacks, delete the rest
    deleted = finding.remediation.command.split()[5:]
    assert finding.remediation.command.startswith(f"kubectl delete replicaset -n {NS} ")
    assert deleted == [f"web-{r:02d}a7b8c9d" for r in range(11 - KEEP, 3, -1)]
    assert "web-11a7b8c9d" not in deleted and "web-5d4f8b7c9" not in deleted


def test_default_history_limit_is_named_as_default():
    [finding] = detect(state_of(*_history("web", current=9, stale=5, limit=None)))
    assert finding.summary.endswith("revisionHistoryLimit 10 by default")
    limit = next(e for e in finding.evidence if e.path == "spec.revisionHistoryLimit")
    assert limit.value is None and "default" in limit.text


def test_at_or_below_threshold_is_quiet():
    assert detect(state_of(*_history("web", current=5, stale=STALE_THRESHOLD))) == []


def test_old_replicasets_still_scaling_down_are_not_stale():
    objects = _history("web", current=6, stale=4)
    objects[1]["spec"]["replicas"] = 1  # mid-rollout: the oldest still has a pod
    objects[1]["status"]["replicas"] = 1
    assert detect(state_of(*objects)) == []


def test_low_limit_already_set_gives_only_the_delete_command():
    [finding] = detect(state_of(*_history("web", current=10, stale=6, limit=2)))
    assert finding.remediation.patch is None
    assert "already 2" in finding.remediation.text
    assert finding.remediation.command.startswith(f"kubectl delete replicaset -n {NS} ")


def test_replicasets_are_counted_per_deployment():
    a = _history("web", current=4, stale=3)
    b = _history("api", current=4, stale=3)
    assert detect(state_of(*a, *b)) == []
    c = _history("worker", current=9, stale=5)
    assert [f.name for f in detect(state_of(*a, *b, *c))] == ["worker"]


def test_odd_data_does_not_raise():
    objects = _history("web", current=8, stale=5)
    objects[1]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "not-a-number"
    objects[2]["spec"] = None
    objects[0]["spec"]["revisionHistoryLimit"] = "3"
    [finding] = detect(state_of(*objects))
    assert finding.name == "web" and "revisionHistoryLimit 10" in finding.summary


# -- odd data anywhere ----------------------------------------------------------------------------

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from builders_workloads import fuzzed_state  # noqa: E402

_ODD = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**6), st.text(max_size=8),
                 st.lists(st.none(), max_size=2), st.dictionaries(st.text(max_size=3), st.none(), max_size=2))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.lists(st.tuples(st.integers(0, 10**6), _ODD), min_size=1, max_size=6))
def test_fuzzed_fields_never_raise(choices):
    state = fuzzed_state(choices)
    assume(state is not None)
    for finding in detect(state):
        assert finding.rule == RULE and finding.summary
