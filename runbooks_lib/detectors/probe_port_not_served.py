"""probe-port-not-served: probes that cannot get an answer, read from the spec alone.

Static: works on pre-deploy manifests (whose pods are stand-ins built from the
workload templates) as well as on snapshots. Two cases:

* a probe names a port (``port: http``) that its container does not declare: the
  kubelet cannot resolve it and the probe *errors* on every attempt
  (``strconv.Atoi: parsing "http": invalid syntax``). Errored results are
  discarded, so a readiness or startup probe never succeeds (the pod never becomes
  Ready) and a liveness probe never runs;
* a probe targets a known sidecar (``runbooks_lib.known_images``) whose health
  server is off, on another port, or on localhost only: every probe is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from collections.abc import Iterable, Iterator, Mapping

from ..findings import Evidence, Finding, Remediation
from ..known_images import HealthAnalysis, analyse_health_server, find_known_image, http_probes_of
from ..registry import Rule, detector
from ..state import ClusterState
from ._common import as_list as _l, as_mapping as _d
from ._common import container_patch, location, object_name, once_per_state, pod_spec_path, pod_template_patch, to_yaml

RULE_ID = "probe-port-not-served"
PROBE_TYPES = ("startup", "liveness", "readiness")
RESTARTING_PROBES = ("liveness", "startup")
HEALTH_SERVER = "health-server"
_WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")


@dataclass
class _Site:
    """One container of one workload, as declared (in the template or in its pods)."""

    namespace: str
    kind: str
    name: str
    container: Mapping
    index: int
    init: bool  # a native sidecar: an init container with restartPolicy Always
    current: bool = True  # the spec is the workload's current template (what a patch changes)
    pods: set[str] = field(default_factory=set)

    @property
    def container_name(self) -> str:
        return str(self.container.get("name"))

    def path(self, *rest: str) -> str:
        key = "initContainers" if self.init else "containers"
        return ".".join([f"{pod_spec_path(self.kind)}.{key}[{self.index}]", *rest])


def _containers(pod_spec: Mapping) -> Iterator[tuple[int, bool, Mapping]]:
    for index, item in enumerate(_l(pod_spec.get("containers"))):
        if isinstance(item, Mapping) and isinstance(item.get("name"), str):
            yield index, False, item
    for index, item in enumerate(_l(pod_spec.get("initContainers"))):
        if isinstance(item, Mapping) and isinstance(item.get("name"), str) and item.get("restartPolicy") == "Always":
            yield index, True, item


def _template_spec(kind: str, obj: Mapping) -> Mapping:
    spec = _d(obj.get("spec"))
    if kind == "CronJob":
        spec = _d(_d(spec.get("jobTemplate")).get("spec"))
    return _d(_d(spec.get("template")).get("spec"))


def _sites(state: ClusterState) -> list[_Site]:
    """Each workload container once, with the pods whose spec has it; the spec comes from the
    pods (what runs), or the template for workloads with no pods."""
    sites: dict[tuple, _Site] = {}
    owners = state.frames.owners
    seen_workloads: set[tuple[str, str, str]] = set()
    templates: dict[tuple[str, str, str], tuple[Mapping, dict]] = {}  # the workload's, fingerprinted once for its pods
    for pod in state.of_kind("Pod"):
        meta = _d(pod.get("metadata"))
        namespace, pod_name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
        kind, name = owners.workload_of(pod)
        if not name:
            continue
        seen_workloads.add((namespace, kind, name))
        if (namespace, kind, name) not in templates:
            template = _template_spec(kind, _d(_find(state, kind, namespace, name))) if kind != "Pod" else {}
            templates[(namespace, kind, name)] = (template, {
                (bool(init), c.get("name")): (i, _fingerprint(c)) for i, init, c in _containers(template)})
        template, in_template = templates[(namespace, kind, name)]
        for index, init, container in _containers(_d(pod.get("spec"))):
            fingerprint = _fingerprint(container)
            key = (namespace, kind, name, init, container.get("name"), fingerprint)
            site = sites.get(key)
            if site is None:
                template_index, template_fingerprint = in_template.get((init, container.get("name")), (index, None))
                site = sites[key] = _Site(namespace, kind, name, container, template_index, init,
                                          current=not template or template_fingerprint == fingerprint)
            site.pods.add(pod_name)
    for kind in _WORKLOAD_KINDS:
        for obj in state.of_kind(kind):
            meta = _d(obj.get("metadata"))
            namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
            if not name or (namespace, kind, name) in seen_workloads or (
                    not namespace and any(w[1:] == (kind, name) for w in seen_workloads)):
                continue
            for index, init, container in _containers(_template_spec(kind, obj)):
                key = (namespace, kind, name, init, container.get("name"), _fingerprint(container))
                sites.setdefault(key, _Site(namespace, kind, name, container, index, init))
    # Sites from the current template first: when revisions share a problem, their finding's patch wins.
    return sorted(sites.values(), key=lambda site: not site.current)


def _fingerprint(container: Mapping) -> str:
    """What this rule reads from a container; pods of one revision share it."""
    parts = [repr(container.get(k)) for k in ("image", "command", "args", "env", "envFrom", "ports",
                                                 "startupProbe", "livenessProbe", "readinessProbe")]
    return "|".join(parts)


def _find(state: ClusterState, kind: str, namespace: str | None, name: str) -> dict | None:
    return state.get(kind, namespace, name) or state.get(kind, None, name)


def _location(state: ClusterState, kind: str, namespace: str, name: str, path: str | None):
    return location(state, kind, namespace, name, path) or location(state, kind, None, name, path)


# -- named ports ---------------------------------------------------------------------------

def _named_port_findings(state: ClusterState, site: _Site) -> Iterator[Finding]:
    container = site.container
    declared = {_d(p).get("name"): _d(p).get("containerPort") for p in _l(container.get("ports"))
                if isinstance(_d(p).get("name"), str)}
    by_port: dict[str, list[tuple[str, str]]] = {}
    for probe in PROBE_TYPES:
        spec = _d(container.get(f"{probe}Probe"))
        for handler in ("httpGet", "tcpSocket"):
            port = _d(spec.get(handler)).get("port")
            if isinstance(port, str) and port and not port.isdigit() and port not in declared:
                by_port.setdefault(port, []).append((probe, handler))
    for port, probes in sorted(by_port.items()):
        yield _named_port_finding(state, site, port, probes, declared)


def _named_port_finding(state: ClusterState, site: _Site, port: str, probes: list[tuple[str, str]],
                        declared: Mapping) -> Finding:
    kind, namespace, name, cname = site.kind, site.namespace, site.name, site.container_name
    types = [p for p, _ in probes]
    severity = "critical" if any(p in ("readiness", "startup") for p in types) else "warning"
    elsewhere = _declared_elsewhere(state, site, port)
    if severity == "critical":
        effect = "the probe errors on every attempt, so the pods never become Ready"
    else:
        effect = "the liveness probe errors on every attempt and never runs, so a hung container is never restarted"
    summary = (f"{name} ({cname}): {' and '.join(types)} probe{'s' if len(types) > 1 else ''} target{'' if len(types) > 1 else 's'} "
               f"port {port!r}, which the container does not declare - {effect}")
    evidence = [Evidence.from_field(f"{probe}Probe.{handler}.port is {port!r}", path=site.path(f"{probe}Probe", handler, "port"),
                                    value=port, object=object_name(kind, namespace, name))
                for probe, handler in probes]
    evidence.append(Evidence.from_field(
        f"container {cname} declares " + (", ".join(f"{n} ({p})" for n, p in declared.items()) or "no named ports"),
        path=site.path("ports"), value=[dict(_d(p)) for p in _l(site.container.get("ports"))] or None,
        object=object_name(kind, namespace, name)))
    if elsewhere:
        evidence.append(Evidence.from_field(
            f"port {port!r} is declared by container {elsewhere[0]} ({elsewhere[1]}); a probe resolves names "
            f"against its own container's ports only", path=elsewhere[2], value=elsewhere[1],
            object=object_name(kind, namespace, name)))
    text = (f"The kubelet resolves a probe's named port against the probed container's own ports; {port!r} is "
            f"not one of them, so the probe errors with `strconv.Atoi: parsing \"{port}\": invalid syntax`. ")
    remediation: Remediation
    if len(declared) == 1:
        only = next(iter(declared))
        body = {f"{probe}Probe": {handler: {"port": only}} for probe, handler in probes}
        remediation = _patch(site, body, text + f"The container declares one port, {only!r}; the patch points the "
                                                f"probes at it. If the health endpoint listens elsewhere, declare that "
                                                f"port instead.")
    elif elsewhere:
        body = {f"{probe}Probe": {handler: {"port": elsewhere[1]}} for probe, handler in probes}
        remediation = _patch(site, body, text + f"Container {elsewhere[0]} declares it as {elsewhere[1]}; if this "
                                                f"probe is meant to check that server, the patch uses the number "
                                                f"(containers share the pod's network), but a probe belongs on the "
                                                f"container it checks: consider moving it to {elsewhere[0]}.")
    else:
        remediation = Remediation(
            text=text + f"Declare the port on container {cname} (ports: - name: {port}, containerPort: <the port "
                        f"the health endpoint listens on>) or use the port number in the probe.",
            target=object_name(kind, namespace, name))
    return Finding(
        rule=RULE_ID, severity=severity, namespace=namespace or None, kind=kind, name=name, summary=summary,
        evidence=tuple(evidence), remediation=remediation, pods=tuple(sorted(site.pods)), container=cname,
        discriminator=f"port {port}",
        location=_location(state, kind, namespace, name, site.path(f"{probes[0][0]}Probe", probes[0][1], "port")))


def _declared_elsewhere(state: ClusterState, site: _Site, port: str) -> tuple[str, int, str] | None:
    obj = _find(state, site.kind, site.namespace, site.name) if site.kind != "Pod" else None
    pod_spec = _template_spec(site.kind, _d(obj)) if obj else {}
    if not pod_spec and site.pods:
        pod_spec = _d(_d(state.get("Pod", site.namespace, sorted(site.pods)[0])).get("spec"))
    for index, init, other in _containers(pod_spec):
        if other.get("name") == site.container_name:
            continue
        for position, item in enumerate(_l(other.get("ports"))):
            if _d(item).get("name") == port and isinstance(_d(item).get("containerPort"), int):
                key = "initContainers" if init else "containers"
                return (str(other.get("name")), _d(item)["containerPort"],
                        f"{pod_spec_path(site.kind)}.{key}[{index}].ports[{position}].containerPort")
    return None


# -- known sidecars --------------------------------------------------------------------------

def short_problems(analysis: HealthAnalysis) -> list[str]:
    """One short phrase per problem, for summaries."""
    health = analysis.image.health
    short: list[str] = []
    for problem in analysis.problems:
        if problem.code == "health-check-off":
            short.append(f"{health.enable_flag} is not set")
        elif problem.code == "port-mismatch" and not any(item.startswith(health.port_flag) for item in short):
            default = " (default)" if analysis.port == health.default_port else ""
            short.append(f"{health.port_flag} is {analysis.port}{default}, not {analysis.target_port}")
        elif problem.code == "localhost-only":
            short.append(f"it listens on {analysis.address} only")
        elif problem.code == "wrong-path":
            short.append(problem.text.split(",")[0].replace("the ", "", 1))
    return short


def health_server_finding(state: ClusterState, site: _Site) -> tuple[Finding, HealthAnalysis] | None:
    image = find_known_image(site.container.get("image"))
    if image is None or image.health is None:
        return None
    probes = http_probes_of(site.container)
    analysis = analyse_health_server(image, site.container, probes)
    if analysis is None or not analysis.problems:
        return None
    kind, namespace, name, cname = site.kind, site.namespace, site.name, site.container_name
    broken = {p for problem in analysis.problems for p in problem.probes}
    severity = "critical" if broken & set(RESTARTING_PROBES) else "warning"
    short = short_problems(analysis)
    port_text = f" on port {analysis.target_port}" if analysis.target_port is not None else ""
    restart = " (restart loop)" if severity == "critical" else ""
    ordered = sorted(broken, key=PROBE_TYPES.index)
    summary = (f"{name} ({cname}): {image.family} sidecar's {' and '.join(ordered)} "
               f"probe{'s' if len(ordered) > 1 else ''}{port_text} can never succeed{restart}: {'; '.join(short)}")
    obj = object_name(kind, namespace, name)
    evidence = []
    for probe in probes:
        evidence.append(Evidence.from_field(
            f"{probe.probe}Probe: HTTP GET {probe.path or '/'} on port {probe.port}",
            path=site.path(f"{probe.probe}Probe", "httpGet", "port"), value=probe.port, object=obj))
    args = [str(a) for a in _l(site.container.get("args"))]
    command = [str(a) for a in _l(site.container.get("command"))]
    evidence.append(Evidence.from_field(f"args: {' '.join(args) if args else '(none)'}", path=site.path("args"),
                                        value=args or None, object=obj))
    if command:
        evidence.append(Evidence.from_field(f"command: {' '.join(command)}", path=site.path("command"),
                                            value=command, object=obj))
    for problem in analysis.problems:
        evidence.append(Evidence("field", problem.text, object=obj, path=site.path("args")))
    for caveat in analysis.caveats:
        evidence.append(Evidence("field", f"caveat: {caveat}", object=obj))
    finding = Finding(
        rule=RULE_ID, severity=severity, namespace=namespace or None, kind=kind, name=name, summary=summary,
        evidence=tuple(evidence), remediation=_health_remediation(site, analysis), pods=tuple(sorted(site.pods)),
        container=cname, discriminator=HEALTH_SERVER,
        location=_location(state, kind, namespace, name,
                           site.path(f"{probes[0].probe}Probe", "httpGet", "port") if probes else site.path("args")))
    return finding, analysis


def _health_remediation(site: _Site, analysis: HealthAnalysis) -> Remediation:
    health = analysis.image.health
    wanted = [health.enable_flag]
    if analysis.target_port is not None:
        wanted.append(f"{health.port_flag}={analysis.target_port}")
    wanted.append(f"{health.address_flag}=0.0.0.0")
    text = (f"Start the {analysis.image.description} with {' '.join(wanted)}: {health.enable_flag} turns the "
            f"health endpoints ({', '.join(sorted(set(health.paths.values())))}) on, {health.port_flag} must equal "
            f"the probes' port (default {health.default_port}), and {health.address_flag} must not be "
            f"{health.default_address} (the default), because the kubelet probes the pod IP.")
    body: dict = {}
    if analysis.fixed_command is not None:
        body["command"] = analysis.fixed_command
    if analysis.fixed_args is not None:
        body["args"] = analysis.fixed_args
        text += (" A strategic-merge patch replaces a container's args list whole, so the patch carries the full "
                 "corrected list, existing arguments included.")
    for probe, change in analysis.probe_changes.items():
        body[f"{probe}Probe"] = change
    if analysis.caveats:
        text += " Note: " + "; ".join(analysis.caveats) + "."
    if analysis.image.docs:
        text += f" See {analysis.image.docs}."
    if not body:
        return Remediation(text=text, target=object_name(site.kind, site.namespace, site.name))
    return _patch(site, body, text)


def _patch(site: _Site, body: dict, text: str) -> Remediation:
    if not site.init:
        return container_patch(site.kind, site.namespace or None, site.name, site.container_name, body, text)
    patch = pod_template_patch(site.kind, {"initContainers": [{"name": site.container_name, **body}]})
    ns_flag = f" -n {site.namespace}" if site.namespace else ""
    return Remediation(text=text, patch=to_yaml(patch), patch_type="strategic-merge",
                       target=object_name(site.kind, site.namespace or None, site.name),
                       command=f"kubectl patch {site.kind.lower()} {site.name}{ns_flag} --type strategic "
                               f"--patch-file fix.yaml")


def static_findings(state: ClusterState) -> list[Finding]:
    return [finding for finding, _ in explained_findings(state)]


def explained_findings(state: ClusterState) -> list[tuple[Finding, list[str]]]:
    """The findings, each with its short problem phrases (empty for named ports).

    Worked out once per state: probe-connection-refused asks for them too."""
    return list(once_per_state(state, RULE_ID, lambda: _explained_findings(state)))


def _explained_findings(state: ClusterState) -> list[tuple[Finding, list[str]]]:
    findings: dict[str, tuple[Finding, list[str]]] = {}
    for site in _sites(state):
        found = health_server_finding(state, site)
        candidates = [(f, []) for f in _named_port_findings(state, site)]
        if found is not None:
            candidates.append((found[0], short_problems(found[1])))
        for finding, reasons in candidates:
            kept = findings.get(finding.id)
            # Two revisions of one workload with the same problem: one finding, all their pods.
            findings[finding.id] = (finding, reasons) if kept is None else (replace(
                kept[0], pods=tuple(sorted(set(kept[0].pods) | set(finding.pods)))), kept[1])
    return list(findings.values())


@detector(Rule(
    id=RULE_ID,
    title="Probe targets a port nothing serves",
    severity="critical",
    detects=("Probes that cannot get an answer, read from the spec alone: a probe on a named port its container "
             "does not declare, or a probe on a known sidecar (cloud-sql-proxy v2) whose health server is off, "
             "on another port, or listening on localhost only. Works on pre-deploy manifests."),
    why=("Such a probe fails on every attempt from the first deploy: a liveness or startup probe restarts the "
         "container in a loop, a readiness probe keeps the pod out of its Service forever. Nothing in the app's "
         "logs points at it; the fix is a flag or a port name in the manifest."),
    example=("- name: cloud-sql-proxy\n"
             "  image: gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.1\n"
             "  args: [\"--structured-logs\", \"--port=5432\", \"my-project:us-central1:db\"]  # no --health-check\n"
             "  livenessProbe: {httpGet: {path: /liveness, port: 9801}}\n"
             "# Liveness probe failed: Get \"http://10.8.1.23:9801/liveness\": dial tcp 10.8.1.23:9801: "
             "connect: connection refused"),
    fix=("For cloud-sql-proxy v2 add --health-check, --http-port=<the probe port> and --http-address=0.0.0.0 to "
         "its args (the patch carries the full corrected args list). For a named port, declare it on the probed "
         "container or use the port number."),
    runbook="probes",
    needs=frozenset(),
))
def detect(state: ClusterState) -> Iterable[Finding]:
    return static_findings(state)
