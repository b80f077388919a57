"""image-pull-failure: ErrImagePull / ImagePullBackOff / InvalidImageName, classified from the kubelet's text."""

from __future__ import annotations

import pytest
import yaml

from builders import NS, container, deployment, event, pod, replicaset, running, state_of, waiting
from runbooks_lib.detectors.image_pull_failure import RULE, registry_of
from runbooks_lib.registry import run_detectors
from runbooks_lib.state import RUNTIME

GOOD = "ghcr.io/acme/api:v2.3.0"
BAD = "ghcr.io/acme/api:v2.3.1"

NOT_FOUND = (f'Failed to pull image "{BAD}": rpc error: code = NotFound desc = failed to pull and unpack image '
             f'"{BAD}": failed to resolve reference "{BAD}": {BAD}: not found')
# kubelet 1.30+: the waiting message carries the pull error.
BACKOFF_WAITING_130 = (f'Back-off pulling image "{BAD}": ErrImagePull: rpc error: code = NotFound desc = failed to '
                       f'pull and unpack image "{BAD}": failed to resolve reference "{BAD}": {BAD}: not found')
UNAUTHORIZED_CONTAINERD = (
    'Failed to pull image "registry.internal.acme.io/team/api:1.4": rpc error: code = Unknown desc = failed to pull '
    'and unpack image "registry.internal.acme.io/team/api:1.4": failed to resolve reference '
    '"registry.internal.acme.io/team/api:1.4": failed to authorize: failed to fetch anonymous token: unexpected '
    'status: 401 Unauthorized')
UNAUTHORIZED_DOCKERSHIM = (
    'Failed to pull image "acme/private-api:1.4": rpc error: code = Unknown desc = Error response from daemon: pull '
    "access denied for acme/private-api, repository does not exist or may require 'docker login': denied: requested "
    "access to the resource is denied")
TIMEOUT = ('Failed to pull image "registry.example.com/app:1": rpc error: code = Unknown desc = failed to pull and '
           'unpack image "registry.example.com/app:1": failed to resolve reference "registry.example.com/app:1": '
           'failed to do request: Head "https://registry.example.com/v2/app/manifests/1": dial tcp 10.0.0.5:443: '
           'i/o timeout')
RATE_LIMITED = ('Failed to pull image "nginx:1.23": rpc error: code = Unknown desc = failed to pull and unpack image '
                '"docker.io/library/nginx:1.23": failed to copy: httpReadSeeker: failed open: unexpected status code '
                'https://registry-1.docker.io/v2/library/nginx/manifests/sha256:abc: 429 Too Many Requests - Server '
                'message: toomanyrequests: You have reached your pull rate limit.')
INVALID = ('Failed to apply default image tag "ghcr.io/${{ github.repository }}:latest": couldn\'t parse image name '
           '"ghcr.io/${{ github.repository }}:latest": invalid reference format')


def rollout(image=BAD, replicas=2):
    """A Deployment at revision 2 (bad image) whose revision 1 (good image) is still serving."""
    deploy = deployment("api", replicas=replicas, containers=[container("api", image=image)], revision=2)
    old_deploy = deployment("api", replicas=replicas, containers=[container("api", image=GOOD)], revision=1)
    old = replicaset(old_deploy, "5d4f8b7c9", 1, replicas, minutes_ago=600)
    old["metadata"]["ownerReferences"][0]["uid"] = deploy["metadata"]["uid"]
    new = replicaset(deploy, "7c6d5e4f3", 2, 1, ready=0, minutes_ago=20)
    return deploy, old, new


def pulling_pod(rs, suffix, reason="ImagePullBackOff", message=None, image=BAD, name="api"):
    return pod(f"{rs['metadata']['name']}-{suffix}", owner=rs, phase="Pending",
               statuses=[waiting(name, reason, message if message is not None else f'Back-off pulling image "{image}"',
                                 image=image)])


def findings(state):
    result = run_detectors(state, only=["image-pull-failure"])
    assert result.errors == []
    return result.findings


def test_tag_not_found_rolls_back_to_the_last_ready_image():
    deploy, old, new = rollout()
    p1, p2 = pulling_pod(new, "b2x9z"), pulling_pod(new, "a1q7w", reason="ErrImagePull", message=NOT_FOUND)
    serving = pod(f"{old['metadata']['name']}-o1d00", owner=old, statuses=[running("api", image=GOOD)])
    events = [event(p1, "Failed", NOT_FOUND, count=4, container_name="api"),
              event(p1, "Failed", "Error: ErrImagePull", count=4, container_name="api"),
              event(p1, "BackOff", f'Back-off pulling image "{BAD}"', type_="Normal", count=31, container_name="api"),
              event(p1, "BackOff", "Back-off restarting failed container api in pod x", count=2, container_name="api")]
    [finding] = findings(state_of(deploy, old, new, p1, p2, serving, *events))

    assert (finding.rule, finding.severity, finding.kind, finding.name, finding.container) == (
        "image-pull-failure", "critical", "Deployment", "api", "api")
    assert finding.pods == (p2["metadata"]["name"], p1["metadata"]["name"])  # sorted
    assert finding.discriminator == BAD
    assert finding.summary == f"api cannot pull {BAD}: image not found [2 pods in ErrImagePull/ImagePullBackOff]"
    image_field = next(e for e in finding.evidence if e.source == "field")
    assert (image_field.path, image_field.value) == ("spec.template.spec.containers[0].image", BAD)
    pull_events = [e for e in finding.evidence if e.source == "event"]
    assert pull_events[0].message == NOT_FOUND and pull_events[0].count == 4
    assert all("restarting failed container" not in e.message for e in pull_events)
    assert any(e.message == f'Back-off pulling image "{BAD}"' and e.count == 31 for e in pull_events)

    remediation = finding.remediation
    assert GOOD in remediation.text
    assert yaml.safe_load(remediation.patch) == {"spec": {"template": {"spec": {"containers": [
        {"name": "api", "image": GOOD}]}}}}
    assert remediation.command == f"kubectl patch deployment api -n {NS} --type strategic --patch-file fix.yaml"


def test_kubelet_130_waiting_message_alone_is_enough():
    deploy, old, new = rollout()
    p = pulling_pod(new, "w4it0", message=BACKOFF_WAITING_130)
    [finding] = findings(state_of(deploy, new, p))  # no events, no old ReplicaSet
    assert "image not found" in finding.summary
    status = next(e for e in finding.evidence if e.source == "status")
    assert status.path == "status.containerStatuses[0].state.waiting.reason" and status.value == "ImagePullBackOff"
    assert finding.remediation.patch is None
    assert finding.remediation.command == f"kubectl set image deployment/api api=<image:tag> -n {NS}"


@pytest.mark.parametrize(("message", "image", "phrase", "registry"), [
    (UNAUTHORIZED_CONTAINERD, "registry.internal.acme.io/team/api:1.4", "registry denied access",
     "registry.internal.acme.io"),
    (UNAUTHORIZED_DOCKERSHIM, "acme/private-api:1.4", "registry denied access", "docker.io"),
])
def test_unauthorized_adds_image_pull_secrets(message, image, phrase, registry):
    deploy = deployment("api", containers=[container("api", image=image)])
    rs = replicaset(deploy, "7c6d5e4f3", 1, 1, ready=0)
    p = pulling_pod(rs, "auth0", reason="ErrImagePull", message="", image=image)
    [finding] = findings(state_of(deploy, rs, p, event(p, "Failed", message, count=3, container_name="api")))
    assert phrase in finding.summary
    secrets = next(e for e in finding.evidence if e.path == "spec.template.spec.imagePullSecrets")
    assert secrets.text == "no imagePullSecrets in the pod spec"
    assert yaml.safe_load(finding.remediation.patch) == {
        "spec": {"template": {"spec": {"imagePullSecrets": [{"name": "regcred"}]}}}}
    assert f"--docker-server={registry}" in finding.remediation.text


def test_registry_timeout_needs_no_patch():
    deploy = deployment("api", containers=[container("api", image="registry.example.com/app:1")])
    rs = replicaset(deploy, "7c6d5e4f3", 1, 1, ready=0)
    p = pulling_pod(rs, "t1me0", image="registry.example.com/app:1")
    [finding] = findings(state_of(deploy, rs, p, event(p, "Failed", TIMEOUT, container_name="api")))
    assert finding.summary == ("api cannot pull registry.example.com/app:1: registry timed out "
                               "(dial tcp 10.0.0.5:443: i/o timeout) [1 pod in ImagePullBackOff]")
    assert finding.remediation.patch is None
    assert "registry.example.com" in finding.remediation.text and "egress" in finding.remediation.text


def test_invalid_image_name():
    image = "ghcr.io/${{ github.repository }}:latest"
    deploy = deployment("api", containers=[container("api", image=image)])
    rs = replicaset(deploy, "7c6d5e4f3", 1, 1, ready=0)
    p = pulling_pod(rs, "1nv4l", reason="InvalidImageName", message=INVALID, image=image)
    inspect = event(p, "InspectFailed", INVALID, count=12, container_name="api")
    [finding] = findings(state_of(deploy, rs, p, inspect))
    assert "invalid image reference" in finding.summary and "InvalidImageName" in finding.summary
    assert any(e.reason == "InspectFailed" and e.count == 12 for e in finding.evidence)
    assert "not a valid image reference" in finding.remediation.text


def test_rate_limited_docker_hub():
    deploy = deployment("web", containers=[container("nginx", image="nginx:1.23")])
    rs = replicaset(deploy, "7c6d5e4f3", 1, 1, ready=0)
    p = pulling_pod(rs, "r4t3l", image="nginx:1.23", name="nginx")
    [finding] = findings(state_of(deploy, rs, p, event(p, "Failed", RATE_LIMITED, container_name="nginx")))
    assert "registry rate limit reached" in finding.summary
    assert "docker.io" in finding.remediation.text and "mirror" in finding.remediation.text
    assert any(e.path == "spec.template.spec.imagePullSecrets" for e in finding.evidence)


def test_events_k8s_io_shaped_event_is_read():
    deploy, old, new = rollout()
    p = pulling_pod(new, "n3w5h", message="")
    meta = p["metadata"]
    new_event = {"apiVersion": "events.k8s.io/v1", "kind": "Event",
                 "metadata": {"name": f"{meta['name']}.1801", "namespace": NS,
                              "creationTimestamp": "2025-11-06T16:20:00Z"},
                 "eventTime": "2025-11-06T16:20:00.000000Z", "reason": "Failed", "note": NOT_FOUND, "type": "Warning",
                 "regarding": {"kind": "Pod", "namespace": NS, "name": meta["name"], "uid": meta["uid"],
                               "fieldPath": "spec.containers{api}"},
                 "series": {"count": 6, "lastObservedTime": "2025-11-06T16:31:00.000000Z"},
                 "reportingController": "kubelet", "reportingInstance": "node-a", "action": "Pulling"}
    [finding] = findings(state_of(deploy, new, p, new_event))
    assert "image not found" in finding.summary
    assert any(e.source == "event" and e.count == 6 for e in finding.evidence)


@pytest.mark.parametrize("statuses", [
    [running("api", image=BAD)],  # pulled in the end: old Failed events no longer matter
    [waiting("api", "ContainerCreating")],
    [waiting("api", "CrashLoopBackOff", "back-off 10s restarting failed container=api pod=x_shop(u)")],
])
def test_no_pull_failure(statuses):
    deploy, old, new = rollout()
    p = pod(f"{new['metadata']['name']}-0k0k0", owner=new, statuses=statuses)
    stale = event(p, "Failed", NOT_FOUND, count=2, last_minutes_ago=50, container_name="api")
    assert findings(state_of(deploy, new, p, stale)) == []


def test_odd_data_does_not_raise():
    deploy, old, new = rollout()
    p = pod(f"{new['metadata']['name']}-0dd02", owner=new, statuses=[
        {"name": "api", "image": None, "state": {"waiting": {"reason": "ErrImagePull", "message": 42}}}])
    junk = event(p, "Failed", "x", container_name="api")
    junk["message"] = None
    [finding] = findings(state_of(deploy, new, p, junk))
    assert finding.rule == "image-pull-failure"


def test_registry_of():
    assert registry_of("nginx:1.23") == "docker.io"
    assert registry_of("acme/api:1") == "docker.io"
    assert registry_of("ghcr.io/acme/api:1") == "ghcr.io"
    assert registry_of("localhost:5000/api") == "localhost:5000"


def test_rule_catalogue_entry():
    assert (RULE.id, RULE.runbook, RULE.needs) == ("image-pull-failure", "rollouts", frozenset({RUNTIME}))


# -- odd data anywhere ----------------------------------------------------------------------------

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from builders_runtime import fuzzed_findings  # noqa: E402

_ODD = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**6), st.text(max_size=8),
                 st.lists(st.none(), max_size=2), st.dictionaries(st.text(max_size=3), st.none(), max_size=2))


def test_runtime_incident_has_one_finding_of_this_rule():
    assert len(fuzzed_findings("image-pull-failure", [])) == 1


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.lists(st.tuples(st.integers(0, 10**6), _ODD), min_size=1, max_size=6))
def test_fuzzed_fields_never_raise(choices):
    found = fuzzed_findings("image-pull-failure", choices)
    assume(found is not None)
    for finding in found:
        assert finding.rule == "image-pull-failure" and finding.summary
