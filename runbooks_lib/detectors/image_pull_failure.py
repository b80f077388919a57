"""image-pull-failure: ErrImagePull, ImagePullBackOff or InvalidImageName."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import pandas as pd

from ..event_messages import classify_image_pull
from ..findings import Evidence, Finding, Remediation
from ..registry import Rule, detector
from ..state import RUNTIME
from ._common import (container_count, container_patch, event_evidence, events_for, frame_rows, object_name,
                      pod_template_patch, pods_phrase, spec_container, status_path, to_yaml, workload_groups)
from ._common import as_list as _l, as_mapping as _d, nonempty_str as _str

if TYPE_CHECKING:
    from ..state import ClusterState

RULE = Rule(
    id="image-pull-failure",
    title="Image cannot be pulled",
    severity="critical",
    detects=(
        "A container waiting in ErrImagePull, ImagePullBackOff or InvalidImageName, with the kubelet's Failed / "
        "BackOff / InspectFailed events. The pull error is classified: image not found, unauthorized, registry "
        "timeout, invalid name, rate-limited."
    ),
    why=(
        "A container whose image cannot be pulled never starts: new pods of a rollout stay Pending, the rollout "
        "stalls until its progress deadline, and a scale-up or node replacement takes old pods down with nothing "
        "to replace them."
    ),
    example=(
        "Warning  Failed  kubelet  Failed to pull image \"ghcr.io/acme/api:v2.3.1\": rpc error: code = NotFound "
        "desc = failed to pull and unpack image \"ghcr.io/acme/api:v2.3.1\": failed to resolve reference "
        "\"ghcr.io/acme/api:v2.3.1\": ghcr.io/acme/api:v2.3.1: not found"
    ),
    fix=(
        "Not found: fix the tag or push the image (or roll back). Unauthorized: add imagePullSecrets (or the "
        "service account's) with credentials for the registry. Timeout: make the registry reachable from the "
        "nodes (egress, NAT, proxy, DNS). Invalid name: fix the image reference. Rate-limited: authenticate "
        "pulls or use a mirror."
    ),
    runbook="rollouts",
    needs=frozenset({RUNTIME}),
)

PULL_WAITING_REASONS = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull")
PULL_EVENT_REASONS = ("Failed", "BackOff", "InspectFailed", "ErrImageNeverPull")
_PULL_MARKERS = ("pull", "image")

CATEGORY_PHRASES = {
    "not-found": "image not found",
    "unauthorized": "registry denied access",
    "timeout": "registry timed out",
    "invalid-name": "invalid image reference",
    "rate-limited": "registry rate limit reached",
    "other": "image cannot be pulled",
}
_SPECIFICITY = {"invalid-name": 5, "rate-limited": 4, "not-found": 3, "unauthorized": 3, "timeout": 2, "other": 0}


def registry_of(image: str | None) -> str:
    """The registry host of an image reference (docker.io when the reference names none)."""
    if not image:
        return "docker.io"
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def _pull_events(state: "ClusterState", namespace: str, pods: list[str], container: str) -> pd.DataFrame:
    events = events_for(state, namespace, "Pod", pods, reasons=PULL_EVENT_REASONS)
    if events.empty:
        return events
    message = events["message"].fillna("").str.lower()
    pull = message.str.contains("pull", regex=False) | message.str.contains("image", regex=False)
    pull &= ~message.str.contains("restarting failed container", regex=False)
    mine = events["container"].isna() | (events["container"] == container)
    return events[pull & mine]


@detector(RULE)
def detect(state: "ClusterState") -> Iterable[Finding]:
    containers = state.frames.containers
    if containers.empty:
        return []
    waiting = (containers["state"] == "waiting") & containers["reason"].isin(PULL_WAITING_REASONS)
    # Containers with no status yet but pull-failure events still count; running ones have recovered.
    unknown = containers["state"].isna() & _has_pull_events(state, containers)
    candidates = containers[waiting | unknown]
    findings = []
    for (namespace, kind, workload, container), group in workload_groups(candidates):
        finding = _finding(state, namespace, kind, workload, container, group)
        if finding is not None:
            findings.extend(finding)
    return findings


def _has_pull_events(state: "ClusterState", containers: pd.DataFrame) -> pd.Series:
    """Containers whose pod has an event of a pull-failure reason: without one, a container with no
    status is no candidate, and its workload's events need not be looked up (_finding decides)."""
    events = state.frames.events
    pulls = events[events["reason"].isin(PULL_EVENT_REASONS) & events["object_kind"].isin(["Pod"])]
    pulled = {(namespace, pod) for namespace, pod in zip(pulls["namespace"].tolist(), pulls["object_name"].tolist())
              if isinstance(namespace, str) and isinstance(pod, str)}  # odd data holds anything; names are strings
    # The namespace as workload_groups hands it to events_for
    namespaces = containers["namespace"].fillna("").astype(str).tolist()
    keys = zip(namespaces, containers["pod"].tolist())
    return pd.Series([key in pulled for key in keys], index=containers.index, dtype=bool)


def _finding(state, namespace, kind, workload, container, group) -> list[Finding]:
    events = _pull_events(state, namespace, sorted(group["pod"].astype(str)), container)
    with_events = {pod for pod in events["object_name"].tolist() if isinstance(pod, str)}
    rows = [row for row in frame_rows(group) if row.state == "waiting" or row.pod in with_events]
    if not rows:
        return []
    # One finding per image: a Deployment mid-rollout can have a good and a bad one.
    by_image: dict[str, list] = {}
    for row in rows:
        by_image.setdefault(str(row.image or ""), []).append(row)
    return [_image_finding(state, namespace, kind, workload, container, image, image_rows, events)
            for image, image_rows in sorted(by_image.items())]


def _image_finding(state, namespace, kind, workload, container, image, rows, events) -> Finding:
    pods = tuple(sorted(str(row.pod) for row in rows))
    events = events[events["object_name"].isin(pods)]
    # Classify every message we have; keep the most specific verdict.
    verdicts = []
    for row in rows:
        if row.state == "waiting":
            verdicts.append((classify_image_pull(row.reason, _str(row.message) or ""), None))
    newest_first = events.sort_values("last_seen", ascending=False, kind="stable")
    event_verdicts = [(classify_image_pull(event.reason, event.message), event)
                      for event in frame_rows(newest_first)]
    specificity = lambda item: _SPECIFICITY.get(item[0].category, 0)  # noqa: E731
    best, _ = max(verdicts + event_verdicts, key=specificity) if verdicts or event_verdicts else (None, None)
    # The event that says it best leads the event evidence (a waiting message may have said it first).
    best_event = max(event_verdicts, key=specificity)[1] if event_verdicts else None
    category = best.category if best else "other"
    image = image or (best.image if best else "") or ""
    representative = next((row for row in rows if row.state == "waiting"), rows[0])
    pod = str(representative.pod)
    init = bool(representative.init)
    spec = spec_container(state, kind, namespace, workload, container, init, pod)

    who = workload if container_count(state, namespace, kind, workload) <= 1 else f"{workload} ({container})"
    reasons = sorted({str(row.reason) for row in rows if row.state == "waiting" and _str(row.reason)})
    detail = _short_detail(best.detail if best else None, category)
    summary = (f"{who} cannot pull {image or 'its image'}: {CATEGORY_PHRASES[category]}"
               + (f" ({detail})" if detail else "")
               + f" [{pods_phrase(len(pods))}" + (f" in {'/'.join(reasons)}" if reasons else "") + "]")

    evidence: list[Evidence] = []
    pod_object = object_name("Pod", namespace, pod)
    if representative.state == "waiting":
        message = _str(representative.message)
        evidence.append(Evidence.from_status(
            f"waiting: {representative.reason}" + (f" ({message})" if message else ""),
            path=status_path(state, namespace, pod, container, init, "state", "waiting", "reason"),
            value=representative.reason, object=pod_object))
    if spec is not None:
        evidence.append(Evidence.from_field(f"image {spec.spec.get('image')}", path=spec.path("image"),
                                            value=spec.spec.get("image"), object=spec.object))
    chosen = []
    if best_event is not None:
        chosen.append(best_event)
    for event in frame_rows(events.sort_values(["count", "last_seen"], ascending=False, kind="stable")):
        if len(chosen) >= 3:
            break
        if all(event.name != other.name or event.namespace != other.namespace for other in chosen) and \
                all(event.reason != other.reason for other in chosen):
            chosen.append(event)
    evidence.extend(event_evidence(event) for event in chosen)
    if category in ("unauthorized", "rate-limited") and spec is not None:
        secrets = [(_d(s).get("name")) for s in _l(spec.pod_spec.get("imagePullSecrets"))]
        secrets = [s for s in secrets if s]
        evidence.append(Evidence.from_field(
            f"imagePullSecrets: {', '.join(secrets)}" if secrets else "no imagePullSecrets in the pod spec",
            path=spec.pod_path("imagePullSecrets"), value=secrets or None, object=spec.object))

    remediation = _remediation(state, category, namespace, kind, workload, container, image, spec, pod)
    return Finding(rule=RULE.id, severity="critical", namespace=namespace or None, kind=kind, name=workload,
                   summary=summary, evidence=tuple(evidence), remediation=remediation, pods=pods,
                   container=container, discriminator=image or None)


def _short_detail(detail: str | None, category: str, limit: int = 90) -> str | None:
    """The innermost errors of containerd's ``a: b: c: i/o timeout`` chain, at most ``limit`` characters."""
    if not detail or category == "not-found":  # "…: not found" adds nothing to "image not found"
        return None
    text = " ".join(detail.split())
    if len(text) > limit:
        tail = text[-limit:]
        cut = tail.find(": ")
        text = tail[cut + 2:] if 0 <= cut < len(tail) - 2 else "…" + tail
    return text or None


def _previous_image(state: "ClusterState", namespace: str, workload: str, container: str, bad: str) -> str | None:
    """The image of this container in the newest other revision of the Deployment."""
    replicasets = state.frames.replicasets
    if replicasets.empty:
        return None
    owned = state.frames.lookup("replicasets", namespace=namespace, owner=workload)
    for row in frame_rows(owned):  # newest revision first
        rs = state.get("ReplicaSet", namespace, row.name)
        spec = spec_container(state, "ReplicaSet", namespace, str(row.name), container) if rs else None
        image = _str(spec.spec.get("image")) if spec else None
        if image and image != bad and (row.ready or 0) > 0:
            return image
    return None


def _remediation(state, category, namespace, kind, name, container, image, spec, pod) -> Remediation:
    registry = registry_of(image)
    ns_flag = f" -n {namespace}" if namespace else ""
    describe = f"kubectl describe pod {pod}{ns_flag}"
    if category == "not-found":
        previous = _previous_image(state, namespace, name, container, image) if kind == "Deployment" else None
        text = (f"The registry has no image {image}: fix the tag (or digest) in the {kind}, or push the image "
                f"to {registry}.")
        if previous:
            text += f" The patch rolls the container back to {previous}, the image of the last ready revision."
            return container_patch(kind, namespace, name, container, {"image": previous}, text)
        return Remediation(text=text + f" Check the tags that exist in {registry}.",
                           command=f"kubectl set image {kind.lower()}/{name} {container}=<image:tag>{ns_flag}")
    if category == "unauthorized":
        text = (f"{registry} refused the pull. Either the repository name is wrong (registries answer a typo and a "
                f"private repository the same way), or the pod has no credentials for it: create a "
                f"docker-registry secret and reference it in imagePullSecrets (or in the service account's "
                f"imagePullSecrets). The patch adds a secret named regcred; create it first with: "
                f"kubectl create secret docker-registry regcred{ns_flag} --docker-server={registry} "
                f"--docker-username=<user> --docker-password=<token>")
        patch = pod_template_patch(kind, {"imagePullSecrets": [{"name": "regcred"}]})
        return Remediation(text=text, patch=to_yaml(patch), patch_type="strategic-merge",
                           target=object_name(kind, namespace, name),
                           command=(f"kubectl patch {kind.lower()} {name}{ns_flag} --type strategic "
                                    "--patch-file fix.yaml"))
    if category == "timeout":
        return Remediation(
            text=(f"The nodes cannot reach {registry} in time: check node egress to it (firewall, NAT gateway, "
                  f"proxy settings of the container runtime, DNS), the registry's status, and for private "
                  f"clusters a mirror or private endpoint. Nothing in the {kind} needs changing."),
            command=describe)
    if category == "invalid-name":
        return Remediation(
            text=(f"{image!r} is not a valid image reference (lowercase repository, no spaces or unexpanded "
                  f"template variables, one tag): fix the image field of container {container}."),
            command=f"kubectl set image {kind.lower()}/{name} {container}=<image:tag>{ns_flag}")
    if category == "rate-limited":
        return Remediation(
            text=(f"{registry} is rate-limiting anonymous (or this account's) pulls: pull with authenticated "
                  f"credentials (imagePullSecrets), mirror the image to your own registry, or use a pull-through "
                  f"cache; use imagePullPolicy IfNotPresent with pinned tags to pull less."),
            command=describe)
    return Remediation(text=f"The image {image} cannot be pulled; the kubelet's events say why.", command=describe)
