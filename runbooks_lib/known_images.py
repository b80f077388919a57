"""Known images: what their command lines must say for their probes to get an answer.

Some widely used sidecars only serve a health endpoint when told to, and some only
on localhost, which the kubelet never reaches (it probes the pod IP). A probe on
such a sidecar fails with ``connection refused`` forever, and a liveness probe
turns that into a restart loop. This module knows those images, reads their flags
from a container spec (``command``, ``args`` and environment) and says what is
missing, with the corrected argument list.

Adding an image
===============

Append a :class:`KnownImage` to :data:`KNOWN_IMAGES`, one entry per image family:

* ``family`` and ``description``: how findings name it;
* ``image_patterns``: regular expressions searched in the image reference (registry
  and repository path, with tag and digest); anchor them on the repository path so
  that mirrors such as ``*.pkg.dev/...`` match as well;
* ``boolean_flags``: the flags that take no value, so that ``--flag value`` is not
  misread when a positional argument follows a boolean flag;
* ``health``: a :class:`HealthServer` saying which flag enables the health
  endpoints, which flags set their port and listen address and their defaults,
  the paths it serves, the environment-variable prefix the program reads its
  flags from (``None`` if it reads none) and the flag naming a config file (whose
  content we cannot see, so a finding says so);
* ``docs``: where the flags are documented, quoted in remediations.

Then add a positive and a negative case to ``tests/test_rule_probe_port_not_served.py``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

# Listen addresses the kubelet cannot reach: it probes the pod IP from the node.
LOCALHOST_ADDRESSES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]", "ip6-localhost"})


@dataclass(frozen=True)
class HealthServer:
    """How an image's health endpoints are switched on and where they listen."""

    enable_flag: str  # boolean flag that turns the health endpoints on
    port_flag: str
    default_port: int
    address_flag: str
    default_address: str
    paths: Mapping[str, str]  # probe type -> the path serving it
    env_prefix: str | None = None  # flags may come from env PREFIX_FLAG_NAME (dashes as underscores)
    config_flag: str | None = None  # a config file may set flags too (we cannot read it)

    def env_name(self, flag: str) -> str | None:
        if not self.env_prefix:
            return None
        return self.env_prefix + flag.lstrip("-").upper().replace("-", "_")


@dataclass(frozen=True)
class KnownImage:
    family: str
    description: str
    image_patterns: tuple[str, ...]
    boolean_flags: frozenset[str] = frozenset()
    health: HealthServer | None = None
    docs: str = ""

    def matches(self, image: Any) -> bool:
        return isinstance(image, str) and any(re.search(p, image) for p in self.image_patterns)


CLOUD_SQL_PROXY_V2 = KnownImage(
    family="cloud-sql-proxy v2",
    description="Cloud SQL Auth Proxy v2",
    # gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.x, {eu,us,asia}.gcr.io/..., and the
    # Artifact Registry mirrors REGION-docker.pkg.dev/cloud-sql-connectors/cloud-sql-proxy/...
    # The v1 proxy lives elsewhere (gcr.io/cloudsql-docker/gce-proxy) and has other flags.
    image_patterns=(
        r"(?:^|/)cloud-sql-connectors/(?:[\w.-]+/)?cloud-sql-proxy(?::(?!1\.)[\w.-]*)?(?:@sha256:[0-9a-f]+)?$",
    ),
    boolean_flags=frozenset({
        "--health-check", "--prometheus", "--debug", "--debug-logs", "--quitquitquit", "--structured-logs",
        "--auto-iam-authn", "--private-ip", "--psc", "--auto-ip", "--lazy-refresh", "--run-connection-test",
        "--gcloud-auth", "--quiet", "--exit-zero-on-sigterm", "--disable-traces", "--disable-metrics",
        "--help", "--version", "-i", "-l", "-g", "-h", "-v",
    }),
    health=HealthServer(
        enable_flag="--health-check", port_flag="--http-port", default_port=9090,
        address_flag="--http-address", default_address="localhost",
        paths={"startup": "/startup", "liveness": "/liveness", "readiness": "/readiness"},
        env_prefix="CSQL_PROXY_", config_flag="--config-file"),
    docs="https://github.com/GoogleCloudPlatform/cloud-sql-proxy#health-checks",
)

KNOWN_IMAGES: tuple[KnownImage, ...] = (CLOUD_SQL_PROXY_V2,)


def find_known_image(image: Any) -> KnownImage | None:
    """The table entry for an image reference, if any."""
    return next((known for known in KNOWN_IMAGES if known.matches(image)), None)


# -- reading flags -----------------------------------------------------------------

@dataclass(frozen=True)
class FlagSetting:
    """Where a flag is set: ``field`` is "command", "args" or "env"; ``index`` is the token's
    index in that list (for ``--flag value`` the flag's own token)."""

    flag: str
    value: str | None
    field: str
    index: int
    separate_value: bool = False  # "--flag value" rather than "--flag=value"


@dataclass
class ParsedFlags:
    settings: dict[str, FlagSetting] = field(default_factory=dict)  # last setting of each flag wins
    shell_wrapped: bool = False  # flags found inside a "sh -c '...'" script: no list we can patch
    env_unknown: set[str] = field(default_factory=set)  # env vars set from valueFrom (value unknown)
    env_from: bool = False  # envFrom present: any variable may be set

    def get(self, flag: str) -> FlagSetting | None:
        return self.settings.get(flag)


def _strings(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def parse_flags(container: Mapping, boolean_flags: Iterable[str] = (), health: HealthServer | None = None) -> ParsedFlags:
    """Flags from ``command`` then ``args`` (pflag rules: ``--flag=value`` and ``--flag value``,
    booleans take no separate value, ``--`` ends flags), then the environment as fallback."""
    booleans = set(boolean_flags)
    parsed = ParsedFlags()
    for field_name in ("command", "args"):
        tokens = _strings(container.get(field_name))
        index = 0
        while index < len(tokens):
            token = tokens[index]
            if token == "--":
                break
            if _is_script(token):
                # A shell script such as sh -c "exec /cloud-sql-proxy --health-check ...".
                try:
                    words = shlex.split(token)
                except ValueError:
                    words = token.split()
                inner = _scan_words(words, booleans)
                if inner:
                    parsed.shell_wrapped = True
                    for flag, value in inner.items():
                        parsed.settings[flag] = FlagSetting(flag, value, field_name, index)
                index += 1
                continue
            if token.startswith("-") and len(token) > 1:
                name, eq, value = token.partition("=")
                if eq:
                    parsed.settings[name] = FlagSetting(name, value, field_name, index)
                elif (name in booleans or index + 1 >= len(tokens) or tokens[index + 1].startswith("-")
                      or _is_script(tokens[index + 1])):
                    parsed.settings[name] = FlagSetting(name, None, field_name, index)
                else:
                    parsed.settings[name] = FlagSetting(name, tokens[index + 1], field_name, index, True)
                    index += 1
            index += 1
    if health is not None and health.env_prefix:
        env = container.get("env")
        for position, item in enumerate(env if isinstance(env, list) else []):
            if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
                continue
            for flag in (health.enable_flag, health.port_flag, health.address_flag):
                if item["name"] == health.env_name(flag) and flag not in parsed.settings:
                    if "value" in item:
                        parsed.settings[flag] = FlagSetting(flag, str(item.get("value") or ""), "env", position)
                    else:
                        parsed.env_unknown.add(flag)
        parsed.env_from = bool(container.get("envFrom"))
    return parsed


def _is_script(token: str) -> bool:
    """A shell script passed as one token (sh -c "exec /proxy --flag ..."), not a flag value."""
    return " " in token.strip() and "--" in token


def _scan_words(words: list[str], booleans: set[str]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    index = 0
    while index < len(words):
        word = words[index]
        if word.startswith("--") and len(word) > 2:
            name, eq, value = word.partition("=")
            if eq:
                found[name] = value
            elif name in booleans or index + 1 >= len(words) or words[index + 1].startswith("-"):
                found[name] = None
            else:
                found[name] = words[index + 1]
                index += 1
        index += 1
    return found


def _truthy(setting: FlagSetting | None) -> bool | None:
    """A boolean flag's value: True for ``--flag`` or ``--flag=true``; None when not set."""
    if setting is None:
        return None
    if setting.value is None:
        return True
    return setting.value.strip().lower() in ("1", "t", "true", "yes", "on")


# -- the health-server check -----------------------------------------------------------

@dataclass(frozen=True)
class HealthProblem:
    code: str  # "health-check-off" | "port-mismatch" | "localhost-only" | "wrong-path"
    text: str
    probes: tuple[str, ...]  # probe types it breaks


@dataclass
class HealthAnalysis:
    image: KnownImage
    enabled: bool
    port: int | None  # where the health server listens (None: not a number we can read)
    address: str
    problems: list[HealthProblem]
    fixed_command: list[str] | None  # the full corrected command, when it changes
    fixed_args: list[str] | None  # the full corrected args, when they change
    probe_changes: dict[str, dict]  # probe type -> strategic-merge body for that probe
    caveats: list[str]  # things we cannot see (config file, env from secrets)
    target_port: int | None  # the port the probes use and the server should listen on

    @property
    def patchable(self) -> bool:
        return bool(self.fixed_args is not None or self.fixed_command is not None or self.probe_changes)


@dataclass(frozen=True)
class HttpProbe:
    """An httpGet probe on the container: type, resolved port number, path."""

    probe: str
    port: int | None
    path: str | None


def analyse_health_server(image: KnownImage, container: Mapping, probes: list[HttpProbe]) -> HealthAnalysis | None:
    """What keeps these httpGet probes on a known image from getting an answer, and the fix.

    ``None`` when the image has no health server in the table or there are no probes.
    """
    health = image.health
    if health is None or not probes:
        return None
    flags = parse_flags(container, image.boolean_flags, health)
    caveats: list[str] = []
    if health.config_flag and flags.get(health.config_flag):
        caveats.append(f"{health.config_flag} is set: the config file may set these flags too, and we cannot read it")
    if flags.env_from and health.env_prefix:
        caveats.append(f"envFrom is set: a ConfigMap or Secret may set {health.env_prefix}* variables we cannot see")

    problems: list[HealthProblem] = []
    probe_types = tuple(p.probe for p in probes)

    enabled_setting = flags.get(health.enable_flag)
    enabled = _truthy(enabled_setting)
    if enabled is None and health.enable_flag in flags.env_unknown:
        enabled = True  # set from a Secret/ConfigMap: give it the benefit of the doubt
    if not enabled:
        how = (f"{health.enable_flag} is set to {enabled_setting.value!r}" if enabled_setting is not None
               else f"{health.enable_flag} is not set")
        problems.append(HealthProblem(
            "health-check-off",
            f"{how}, so the {image.description} serves no health endpoints and every probe on it is refused",
            probe_types))

    # The port the probes use: the most common one, liveness first on a tie.
    ports = [p.port for p in probes if p.port is not None]
    target = max(ports, key=lambda port: (ports.count(port), -ports.index(port))) if ports else None
    port_setting = flags.get(health.port_flag)
    port_text = port_setting.value if port_setting is not None else None
    if port_setting is None and health.port_flag in flags.env_unknown:
        port = target
    elif port_text is not None:
        port = int(port_text) if port_text.strip().isdigit() else None
    else:
        port = health.default_port
    if target is not None and port is not None and port != target:
        where = (f"{health.port_flag}={port_text}" if port_text is not None
                 else f"{health.port_flag} is not set (default {health.default_port})")
        problems.append(HealthProblem(
            "port-mismatch", f"the probes target port {target} but the health server listens on {port}: {where}",
            tuple(p.probe for p in probes if p.port == target)))

    address_setting = flags.get(health.address_flag)
    if address_setting is None and health.address_flag in flags.env_unknown:
        address = "0.0.0.0"
    else:
        address = (address_setting.value or "") if address_setting is not None else health.default_address
    if address.strip().lower() in LOCALHOST_ADDRESSES:
        where = (f"{health.address_flag}={address}" if address_setting is not None
                 else f"{health.address_flag} is not set (default {health.default_address})")
        problems.append(HealthProblem(
            "localhost-only",
            f"the health server listens on {address} only ({where}); the kubelet probes the pod IP, "
            f"so it needs {health.address_flag}=0.0.0.0",
            probe_types))

    probe_changes: dict[str, dict] = {}
    for probe in probes:
        wanted_path = health.paths.get(probe.probe)
        if probe.port is not None and target is not None and probe.port != target:
            problems.append(HealthProblem(
                "port-mismatch", f"the {probe.probe} probe targets port {probe.port}, the other probes {target}",
                (probe.probe,)))
            probe_changes.setdefault(probe.probe, {}).setdefault("httpGet", {})["port"] = target
        served = set(health.paths.values())
        if probe.path is not None and probe.path.split("?", 1)[0] not in served and wanted_path:
            problems.append(HealthProblem(
                "wrong-path",
                f"the {probe.probe} probe requests {probe.path}, which the {image.description} does not serve "
                f"(it serves {', '.join(sorted(served))}); use {wanted_path}",
                (probe.probe,)))
            probe_changes.setdefault(probe.probe, {}).setdefault("httpGet", {})["path"] = wanted_path

    fixed_command = fixed_args = None
    if not flags.shell_wrapped and any(p.code != "wrong-path" for p in problems):
        command = _strings(container.get("command"))
        args = _strings(container.get("args"))
        lists = {"command": command, "args": args}
        changed: set[str] = set()
        additions: list[str] = []
        dropped: dict[str, set[int]] = {"command": set(), "args": set()}
        wanted = {health.enable_flag: None}
        if target is not None:
            wanted[health.port_flag] = str(target)
        if address.strip().lower() in LOCALHOST_ADDRESSES:
            wanted[health.address_flag] = "0.0.0.0"
        for flag, value in wanted.items():
            setting = flags.get(flag)
            if flag == health.enable_flag and enabled:
                continue
            if flag == health.port_flag and port == target:
                continue
            if setting is not None and setting.field in lists:
                tokens = lists[setting.field]
                new = flag if value is None else f"{flag}={value}"
                tokens[setting.index] = new
                if setting.separate_value:
                    dropped[setting.field].add(setting.index + 1)  # removed below, keeping indexes valid
                changed.add(setting.field)
            else:
                additions.append(flag if value is None else f"{flag}={value}")
        for field_name, indexes in dropped.items():
            lists[field_name][:] = [t for i, t in enumerate(lists[field_name]) if i not in indexes]
        if additions:
            args.extend(additions)
            changed.add("args")
        fixed_command = command if "command" in changed else None
        fixed_args = args if "args" in changed else None
    if flags.shell_wrapped:
        caveats.append("the flags are inside a shell script (sh -c), so the fix has to be made in that script")

    return HealthAnalysis(image, bool(enabled), port, address, problems, fixed_command, fixed_args,
                          probe_changes, caveats, target)


def http_probes_of(container: Mapping) -> list[HttpProbe]:
    """The container's httpGet probes with their port resolved against its declared ports."""
    ports = {}
    for item in container.get("ports") if isinstance(container.get("ports"), list) else []:
        if isinstance(item, Mapping) and isinstance(item.get("name"), str) and isinstance(item.get("containerPort"), int):
            ports[item["name"]] = item["containerPort"]
    found = []
    for probe_type in ("startup", "liveness", "readiness"):
        probe = container.get(f"{probe_type}Probe")
        action = probe.get("httpGet") if isinstance(probe, Mapping) else None
        if not isinstance(action, Mapping):
            continue
        raw = action.get("port")
        if isinstance(raw, bool):
            number = None
        elif isinstance(raw, int):
            number = raw
        elif isinstance(raw, str):
            number = int(raw) if raw.isdigit() else ports.get(raw)
        else:
            number = None
        path = action.get("path") if isinstance(action.get("path"), str) else None
        found.append(HttpProbe(probe_type, number, path))
    # liveness first: it decides restarts, and ties on the target port go its way
    order = {"liveness": 0, "startup": 1, "readiness": 2}
    return sorted(found, key=lambda p: order[p.probe])
