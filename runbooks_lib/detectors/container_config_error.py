"""container-config-error: CreateContainerConfigError or CreateContainerError.

Most often a ConfigMap, Secret or key the container's environment references is
missing; the finding names it and the field that references it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from ..event_messages import ContainerConfigError, parse_container_config_error
from ..findings import Evidence, Finding, Remediation
from ..registry import Rule, detector
from ..state import RUNTIME
from ._common import (SpecContainer, container_count, event_evidence, events_for, frame_rows, object_name, pods_phrase,
                      spec_container, status_path, to_yaml, top_event, workload_groups)
from ._common import as_list as _l, as_mapping as _d, nonempty_str as _str

if TYPE_CHECKING:
    from ..state import ClusterState

RULE = Rule(
    id="container-config-error",
    title="Container cannot be created from its configuration",
    severity="critical",
    detects=(
        "A container waiting in CreateContainerConfigError or CreateContainerError: typically a ConfigMap, "
        "Secret or key that env[].valueFrom or envFrom references does not exist. The finding names the missing "
        "object or key and the field path that references it."
    ),
    why=(
        "The kubelet cannot build the container, so it never starts: no log, no crash, just pods stuck "
        "'CreateContainerConfigError' and a rollout that never progresses. It usually means a ConfigMap or "
        "Secret was not applied (or was applied to another namespace, or under another name) before the "
        "workload."
    ),
    example=(
        "Warning  Failed  kubelet  Error: couldn't find key DATABASE_URL in ConfigMap staging/app-config\n"
        "env:\n- name: DATABASE_URL\n  valueFrom:\n    configMapKeyRef: {name: app-config, key: DATABASE_URL}"
    ),
    fix=(
        "Create the missing ConfigMap/Secret (or add the key) in the pod's namespace, or fix the name/key in "
        "the reference; mark the reference optional only if the application works without it. For runAsNonRoot "
        "errors, set a numeric runAsUser or build the image with a non-root numeric USER."
    ),
    runbook="rollouts",
    needs=frozenset({RUNTIME}),
)

CONFIG_WAITING_REASONS = ("CreateContainerConfigError", "CreateContainerError")


@dataclass(frozen=True)
class Reference:
    """Where the container spec references a ConfigMap or Secret."""

    path: str  # field path inside the object
    object: str  # "Deployment ns/name" (or "Pod ns/name")
    text: str  # e.g. "env DATABASE_URL (configMapKeyRef app-config/DATABASE_URL)"
    key: str | None
    optional: bool


def references(spec: SpecContainer, kind: str, name: str, key: str | None = None) -> list[Reference]:
    """Fields of this container (and its pod's volumes) that reference ConfigMap/Secret ``name``.

    With ``key``, only references to that key (env valueFrom, volume items).
    """
    ref_key = "configMapKeyRef" if kind == "ConfigMap" else "secretKeyRef"
    from_key = "configMapRef" if kind == "ConfigMap" else "secretRef"
    found: list[Reference] = []
    for index, env in enumerate(_l(spec.spec.get("env"))):
        ref = _d(_d(_d(env).get("valueFrom")).get(ref_key))
        if ref.get("name") == name and (key is None or ref.get("key") == key):
            found.append(Reference(spec.path(f"env[{index}]", "valueFrom", ref_key), spec.object,
                                   f"env {_d(env).get('name')} ({ref_key} {name}/{ref.get('key')})",
                                   _str(ref.get("key")), bool(ref.get("optional"))))
    if key is None:
        for index, source in enumerate(_l(spec.spec.get("envFrom"))):
            ref = _d(_d(source).get(from_key))
            if ref.get("name") == name:
                found.append(Reference(spec.path(f"envFrom[{index}]", from_key), spec.object,
                                       f"envFrom[{index}] ({from_key} {name})", None, bool(ref.get("optional"))))
    mounted = {_d(m).get("name") for m in _l(spec.spec.get("volumeMounts"))}
    for index, volume in enumerate(_l(spec.pod_spec.get("volumes"))):
        volume = _d(volume)
        if volume.get("name") not in mounted:
            continue
        sources = []
        if kind == "ConfigMap" and _d(volume.get("configMap")).get("name") == name:
            sources.append((f"volumes[{index}].configMap", _d(volume.get("configMap"))))
        if kind == "Secret" and _d(volume.get("secret")).get("secretName") == name:
            sources.append((f"volumes[{index}].secret", _d(volume.get("secret"))))
        for s_index, source in enumerate(_l(_d(volume.get("projected")).get("sources"))):
            inner = _d(_d(source).get("configMap" if kind == "ConfigMap" else "secret"))
            if inner.get("name") == name:
                field = "configMap" if kind == "ConfigMap" else "secret"
                sources.append((f"volumes[{index}].projected.sources[{s_index}].{field}", inner))
        for path, source in sources:
            items = [_d(item).get("key") for item in _l(source.get("items"))]
            if key is not None and key not in items:
                continue
            found.append(Reference(spec.pod_path(path), spec.object,
                                   f"volume {volume.get('name')} ({path.rsplit('.', 1)[-1]} {name})", key,
                                   bool(source.get("optional"))))
    return found


def _referenced_keys(spec: SpecContainer, kind: str, name: str) -> list[str]:
    """Keys of ``name`` the container reads through env valueFrom (required ones)."""
    keys = []
    for ref in references(spec, kind, name):
        if ref.key and not ref.optional and ref.key not in keys:
            keys.append(ref.key)
    return keys


def _object_keys(obj: dict | None) -> list[str] | None:
    if not isinstance(obj, dict):
        return None
    keys = set(_d(obj.get("data"))) | set(_d(obj.get("binaryData"))) | set(_d(obj.get("stringData")))
    return sorted(str(k) for k in keys)


def _kind_was_read(state: "ClusterState", kind: str, namespace: str) -> bool:
    """True when the state holds objects of this kind in the namespace, so an absent one is really absent."""
    return bool(state.of_kind(kind, namespace))


@detector(RULE)
def detect(state: "ClusterState") -> Iterable[Finding]:
    containers = state.frames.containers
    if containers.empty:
        return []
    rows = containers[(containers["state"] == "waiting") & containers["reason"].isin(CONFIG_WAITING_REASONS)]
    findings: list[Finding] = []
    for (namespace, kind, workload, container), group in workload_groups(rows):
        events = events_for(state, namespace, "Pod", sorted(group["pod"].astype(str)), reasons=["Failed"])
        if not events.empty:
            events = events[(events["container"].isna() | (events["container"] == container))
                            & events["message"].fillna("").str.startswith("Error: ")]
        # Group pods by the error they show: one finding per missing object or key.
        by_error: dict[str, tuple[ContainerConfigError, list]] = {}
        for row in frame_rows(group):
            message = _str(row.message)
            if message is None:  # the waiting message can be empty; the kubelet's event has it
                pod_events = events[events["object_name"] == row.pod] if not events.empty else events
                message = str(pod_events.iloc[-1].message) if not pod_events.empty else ""
            parsed = parse_container_config_error(message) or ContainerConfigError("other", detail=message)
            discriminator = _discriminator(parsed, row.reason)
            by_error.setdefault(discriminator, (parsed, []))[1].append(row)
        for discriminator, (parsed, error_rows) in sorted(by_error.items()):
            findings.append(_finding(state, namespace, kind, workload, container, parsed, discriminator,
                                     error_rows, events))
    return findings


def _discriminator(parsed: ContainerConfigError, reason: str) -> str:
    if parsed.category == "missing-key":
        return f"missing-key:{parsed.object_kind}/{parsed.name}/{parsed.key}"
    if parsed.category in ("missing-configmap", "missing-secret"):
        return f"{parsed.category}:{parsed.name}"
    if parsed.category == "run-as-non-root":
        return "run-as-non-root"
    return f"other:{reason}"


def _finding(state, namespace, kind, workload, container, parsed: ContainerConfigError, discriminator, rows,
             events) -> Finding:
    pods = tuple(sorted(str(row.pod) for row in rows))
    representative = rows[0]
    pod = str(representative.pod)
    init = bool(representative.init)
    spec = spec_container(state, kind, namespace, workload, container, init, pod)
    pod_spec = spec_container(state, "Pod", namespace, pod, container, init)
    refs: list[Reference] = []
    if parsed.object_kind and parsed.name:
        for candidate in (spec, pod_spec):  # the template first; the pod's spec if the template changed since
            if candidate is not None and not refs:
                refs = references(candidate, parsed.object_kind, parsed.name, parsed.key)
    reasons = sorted({str(row.reason) for row in rows})
    who = workload if container_count(state, namespace, kind, workload) <= 1 else f"{workload} ({container})"
    obj = state.get(parsed.object_kind, namespace, parsed.name) if parsed.object_kind and parsed.name else None

    if parsed.category == "missing-key":
        what = f"key {parsed.key} is missing from {parsed.object_kind} {parsed.namespace or namespace}/{parsed.name}"
    elif parsed.category in ("missing-configmap", "missing-secret"):
        what = f"{parsed.object_kind} {parsed.name!r} not found in namespace {namespace}"
    elif parsed.category == "run-as-non-root":
        what = ("runAsNonRoot is set but the image runs as non-numeric user " + repr(parsed.user)
                if parsed.user else "runAsNonRoot is set but the image would run as root")
    else:
        what = _one_line(parsed.detail or "the runtime could not create the container")
    if refs:
        what += f" (referenced by {refs[0].text.split(' (', 1)[0]})"
    summary = f"{who} cannot start: {what} [{pods_phrase(len(pods))} in {'/'.join(reasons)}]"

    pod_object = object_name("Pod", namespace, pod)
    evidence: list[Evidence] = [Evidence.from_status(
        f"waiting: {representative.reason}" + (f" ({representative.message})" if _str(representative.message) else ""),
        path=status_path(state, namespace, pod, container, init, "state", "waiting", "reason"),
        value=representative.reason, object=pod_object)]
    for ref in refs:
        evidence.append(Evidence.from_field(f"{ref.text} references the missing "
                                            f"{'key' if parsed.key else parsed.object_kind}",
                                            path=ref.path, value=ref.key or parsed.name, object=ref.object))
    if parsed.object_kind and parsed.name:
        keys = _object_keys(obj)
        if keys is not None and parsed.key:
            close = difflib.get_close_matches(parsed.key, keys, n=1)
            evidence.append(Evidence.from_field(
                f"{parsed.object_kind} {namespace}/{parsed.name} has keys: {', '.join(keys) or '(none)'}"
                + (f" — did you mean {close[0]}?" if close else ""),
                path="data", value=keys, object=object_name(parsed.object_kind, namespace, parsed.name)))
        elif obj is None and _kind_was_read(state, parsed.object_kind, namespace):
            names = [str(_d(o.get("metadata")).get("name")) for o in state.of_kind(parsed.object_kind, namespace)]
            close = difflib.get_close_matches(parsed.name, names, n=1)
            evidence.append(Evidence(
                source="field", text=f"no {parsed.object_kind} named {parsed.name} in namespace {namespace}"
                + (f" — did you mean {close[0]}?" if close else ""),
                object=object_name(parsed.object_kind, namespace, parsed.name)))
    matching = events
    if not events.empty:
        matching = events[events["object_name"].isin(pods)]
        if parsed.name:
            named = matching[matching["message"].str.contains(parsed.name, regex=False, na=False)]
            matching = named if not named.empty else matching
    if not matching.empty:
        evidence.append(event_evidence(top_event(matching)))

    remediation = _remediation(state, namespace, kind, workload, container, parsed, refs, spec or pod_spec, obj, pod)
    return Finding(rule=RULE.id, severity="critical", namespace=namespace or None, kind=kind, name=workload,
                   summary=summary, evidence=tuple(evidence), remediation=remediation, pods=pods,
                   container=container, discriminator=discriminator)


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _remediation(state, namespace, kind, workload, container, parsed: ContainerConfigError, refs, spec,
                 obj, pod) -> Remediation:
    ns_flag = f" -n {namespace}" if namespace else ""
    where = f" ({refs[0].path} in {refs[0].object})" if refs else ""
    optional = (" If the application can run without it, mark the reference optional: true instead."
                if refs else "")
    if parsed.category in ("missing-configmap", "missing-secret"):
        keys = _referenced_keys(spec, parsed.object_kind, parsed.name) if spec else []
        is_cm = parsed.object_kind == "ConfigMap"
        manifest = {"apiVersion": "v1", "kind": parsed.object_kind,
                    "metadata": {"name": parsed.name, "namespace": namespace}}
        if not is_cm:
            manifest["type"] = "Opaque"
        manifest["data" if is_cm else "stringData"] = {key: "<value>" for key in keys} or {"<key>": "<value>"}
        text = (f"Create {parsed.object_kind} {namespace}/{parsed.name}" +
                (f" with the keys the container reads ({', '.join(keys)})" if keys else "") +
                f" — it may not have been applied, or was applied to another namespace — or fix the name in the "
                f"reference{where} if it is a typo. The manifest has placeholder values to fill in.{optional}")
        return Remediation(text=text, patch=to_yaml(manifest), patch_type="manifest",
                           target=object_name(parsed.object_kind, namespace, parsed.name),
                           command="kubectl apply -f fix.yaml")
    if parsed.category == "missing-key":
        target_ns = parsed.namespace or namespace
        keys = [parsed.key]
        existing = _object_keys(obj)
        if spec is not None and existing is not None:  # add every key the container reads that is missing
            keys += [k for k in _referenced_keys(spec, parsed.object_kind, parsed.name)
                     if k not in existing and k not in keys]
        field = "data" if parsed.object_kind == "ConfigMap" else "stringData"
        close = difflib.get_close_matches(parsed.key, existing or [], n=1)
        text = (f"Add key {parsed.key} to {parsed.object_kind} {target_ns}/{parsed.name}"
                + (f" (and {', '.join(keys[1:])}, also read by the container)" if len(keys) > 1 else "")
                + f", or fix the key name in the reference{where}"
                + (f" — the object has {close[0]}, which looks like a typo of it" if close else "")
                + f". The patch has placeholder values to fill in.{optional}")
        return Remediation(text=text, patch=to_yaml({field: {key: "<value>" for key in keys}}), patch_type="merge",
                           target=object_name(parsed.object_kind, target_ns, parsed.name),
                           command=(f"kubectl patch {parsed.object_kind.lower()} {parsed.name} -n {target_ns} "
                                    f"--type merge --patch-file fix.yaml"))
    if parsed.category == "run-as-non-root":
        if parsed.user:
            text = (f"The image's USER is {parsed.user!r}, a name the kubelet cannot check against runAsNonRoot: set "
                    f"securityContext.runAsUser of container {container} to that user's numeric UID (id -u "
                    f"{parsed.user} inside the image), or build the image with a numeric USER.")
        else:
            text = (f"runAsNonRoot is set but the image runs as root: set securityContext.runAsUser of container "
                    f"{container} to a non-zero UID the image works with, or build the image with a numeric "
                    f"non-root USER.")
        return Remediation(text=text, command=f"kubectl get {kind.lower()} {workload}{ns_flag} -o yaml")
    detail = (parsed.detail or "").lower()
    if "is reserved for" in detail or "already in use" in detail:
        text = ("The runtime still holds a container of the same name (often after a slow or failed create); "
                "the kubelet retries. If it persists, delete the pod so it is recreated, and check the node's "
                "container runtime.")
    elif "subpath" in detail or "volume-subpaths" in detail:
        text = ("A volumeMount's subPath cannot be prepared: check the subPath exists in the volume, and that the "
                "volume itself mounted.")
    elif "executable file not found" in detail or "no such file or directory" in detail:
        text = ("The container's command or a mounted path does not exist in the image: check command/args and "
                "volumeMounts.")
    else:
        text = ("The container runtime could not create the container; the waiting message and the kubelet's "
                "events say why.")
    return Remediation(text=text, command=f"kubectl describe pod {pod}{ns_flag}")
