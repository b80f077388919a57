"""The in-cluster CronJob package, deploy/: scheduled ``runbooks audit --in-cluster -A``.

What must hold: every object is valid Kubernetes 1.30 (strict: unknown fields fail),
as written and as kustomize renders it; the ClusterRole only reads, never Secrets,
and covers what the audit reads; the pod is hardened and its writable paths are
volumes; the report rotation keeps latest/ and compares it with the previous run;
the image holds what ``pip install .`` needs; and the project's own audit finds
nothing above info in the package (it eats its own cooking).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from functools import lru_cache
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from runbooks_lib.audit import FAIL_ON, AuditOptions, audit, compare_with_baseline
from runbooks_lib.kinds import CLUSTER_FILES, NAMESPACED_FILES, BY_PLURAL
from runbooks_lib.quantity import parse_quantity
from runbooks_lib.registry import run_detectors
from runbooks_lib.sources import load
from runbooks_lib.sources.manifests import TEMPLATE_ANNOTATION, load_manifest_dir

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
K8S_VERSION = "1.30.0"
KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH to render the kustomization")

READ_VERBS = {"get", "list", "watch"}
# (apiGroup, resource) the in-cluster audit reads: exactly these, no more.
AUDIT_READS = {
    ("", "pods"), ("", "pods/log"), ("", "events"), ("", "services"), ("", "endpoints"), ("", "namespaces"),
    ("", "nodes"), ("", "replicationcontrollers"), ("", "persistentvolumeclaims"),
    ("events.k8s.io", "events"),
    ("apps", "deployments"), ("apps", "replicasets"), ("apps", "daemonsets"), ("apps", "statefulsets"),
    ("batch", "jobs"), ("batch", "cronjobs"),
    ("networking.k8s.io", "networkpolicies"),
    ("autoscaling", "horizontalpodautoscalers"),
    ("metrics.k8s.io", "pods"), ("metrics.k8s.io", "nodes"),
}
# Snapshot file names that are not the API resource's name.
RESOURCE_OF_FILE = {"replication-controllers": "replicationcontrollers", "podmetrics": "pods", "nodemetrics": "nodes"}


# --------------------------------------------------------------------------- loading


def manifest_files() -> list[Path]:
    return sorted(path for path in DEPLOY.glob("*.yaml") if path.name != "kustomization.yaml")


def kustomization() -> dict:
    return yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())


@lru_cache(maxsize=None)
def _parsed() -> tuple[tuple[str, dict], ...]:
    found = []
    for path in manifest_files():
        for obj in yaml.safe_load_all(path.read_text()):
            if obj is not None:
                found.append((path.name, obj))
    return tuple(found)


def objects() -> list[dict]:
    return [json.loads(json.dumps(obj)) for _, obj in _parsed()]  # a private copy per test


def the(kind: str) -> dict:
    matching = [obj for obj in objects() if obj["kind"] == kind]
    assert len(matching) == 1, f"deploy/ should have exactly one {kind}, has {len(matching)}"
    return matching[0]


@lru_cache(maxsize=None)
def _rendered() -> str:
    result = subprocess.run([KUBECTL, "kustomize", str(DEPLOY)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def rendered_objects() -> list[dict]:
    return [obj for obj in yaml.safe_load_all(_rendered()) if obj is not None]


def pod_spec(cronjob: dict) -> dict:
    return cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def all_containers(spec: dict) -> list[dict]:
    return spec.get("initContainers", []) + spec["containers"]


def audit_container(spec: dict) -> dict:
    return next(c for c in spec["containers"] if c["name"] == "audit")


def argv(container: dict) -> list[str]:
    return container.get("command", []) + container.get("args", [])


def option(args: list[str], name: str) -> str:
    assert name in args, f"{name} missing from {args}"
    return args[args.index(name) + 1]


def schema_errors(items: list[tuple[str, dict]]) -> list[str]:
    errors = []
    for where, obj in items:
        try:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            errors.append(f"{where}: {obj.get('kind')}/{obj['metadata'].get('name')}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            errors.append(f"{where}: {error.message}")
    return errors


def identity(obj: dict) -> tuple[str, str, str]:
    return obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


# --------------------------------------------------------------------------- the package


def test_kustomization_lists_every_manifest():
    assert sorted(kustomization()["resources"]) == [path.name for path in manifest_files()]


def test_every_manifest_matches_the_schema():
    assert objects(), "deploy/ has no manifests"
    assert schema_errors(list(_parsed())) == []


@needs_kubectl
def test_the_rendered_package_matches_the_schema_and_the_files():
    rendered = rendered_objects()
    assert schema_errors([("kubectl kustomize deploy/", obj) for obj in rendered]) == []
    assert sorted(map(identity, rendered)) == sorted(map(identity, objects()))


@needs_kubectl
def test_the_kustomize_image_override_reaches_every_container():
    override = kustomization()["images"][0]
    expected = f"{override['newName']}:{override['newTag']}"
    cronjob = next(obj for obj in rendered_objects() if obj["kind"] == "CronJob")
    assert {c["image"] for c in all_containers(pod_spec(cronjob))} == {expected}


def test_every_container_uses_the_placeholder_image_kustomize_replaces():
    names = {entry["name"] for entry in kustomization()["images"]}
    for container in all_containers(pod_spec(the("CronJob"))):
        repository = container["image"].rsplit(":", 1)[0]
        assert repository in names, f"{container['name']}: {container['image']} is not overridable via images:"


def test_namespaced_objects_live_in_the_packages_namespace():
    namespace = the("Namespace")["metadata"]["name"]
    cluster_scoped = {"Namespace", "ClusterRole", "ClusterRoleBinding"}
    for obj in objects():
        expected = None if obj["kind"] in cluster_scoped else namespace
        assert obj["metadata"].get("namespace") == expected, identity(obj)


def test_the_namespace_enforces_the_restricted_pod_security_standard():
    labels = the("Namespace")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


# --------------------------------------------------------------------------- RBAC


def rbac_pairs(role: dict) -> set[tuple[str, str]]:
    return {(group, resource) for rule in role["rules"] for group in rule["apiGroups"] for resource in rule["resources"]}


def test_the_cluster_role_only_reads():
    role = the("ClusterRole")
    for rule in role["rules"]:
        assert set(rule["verbs"]) <= READ_VERBS, f"write verb in {rule}"
        assert "nonResourceURLs" not in rule, rule
        for field in ("apiGroups", "resources", "verbs", "resourceNames"):
            assert not any("*" in value for value in rule.get(field, [])), f"wildcard in {field}: {rule}"
    assert "aggregationRule" not in role


def test_the_cluster_role_never_reads_secrets():
    resources = {resource for _, resource in rbac_pairs(the("ClusterRole"))}
    assert not any(resource.split("/")[0] == "secrets" for resource in resources), resources


def test_the_cluster_role_covers_exactly_what_the_audit_reads():
    assert rbac_pairs(the("ClusterRole")) == AUDIT_READS


def test_every_kind_a_snapshot_holds_is_readable():
    # Ties the role to the library: a kind added to runbooks_lib.kinds needs a rule here.
    pairs = rbac_pairs(the("ClusterRole"))
    for plural in NAMESPACED_FILES + CLUSTER_FILES:
        info = BY_PLURAL[plural]
        group = info.api_version.rpartition("/")[0]
        resource = RESOURCE_OF_FILE.get(plural, plural)
        assert (group, resource) in pairs, f"{info.kind}: no rule for {group or 'core'}/{resource}"


def test_the_role_matches_what_the_live_source_requests():
    live = pytest.importorskip("runbooks_lib.sources.live")
    requested = {(r.group_version.rpartition("/")[0], r.plural)
                 for r in [*live.NAMESPACED_RESOURCES, *live.CLUSTER_RESOURCES, live.NAMESPACES, live.EVENTS_V1]}
    requested.add(("", live.LOG_RESOURCE))
    assert rbac_pairs(the("ClusterRole")) == requested


def test_logs_are_read_with_get_only():
    rules = [rule for rule in the("ClusterRole")["rules"] if "pods/log" in rule["resources"]]
    assert [rule["verbs"] for rule in rules] == [["get"]]


def test_the_binding_gives_the_role_to_the_audit_pods_service_account():
    binding, role, account = the("ClusterRoleBinding"), the("ClusterRole"), the("ServiceAccount")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": role["metadata"]["name"]}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["metadata"]["name"],
                                    "namespace": account["metadata"]["namespace"]}]
    spec = pod_spec(the("CronJob"))
    assert spec["serviceAccountName"] == account["metadata"]["name"]
    # The account hands out no token by default; the audit pod asks for one.
    assert account["automountServiceAccountToken"] is False
    assert spec["automountServiceAccountToken"] is True


# --------------------------------------------------------------------------- the CronJob


def test_the_cronjob_runs_the_in_cluster_audit():
    args = argv(audit_container(pod_spec(the("CronJob"))))
    assert args[:4] == ["runbooks", "audit", "--in-cluster", "-A"], args
    assert option(args, "--fail-on") in FAIL_ON
    assert int(option(args, "--timeout")) > 0


def test_each_run_writes_latest_and_compares_with_the_previous_findings():
    spec = pod_spec(the("CronJob"))
    audit_args = argv(audit_container(spec))
    reports = next(m["mountPath"] for m in audit_container(spec)["volumeMounts"] if m["name"] == "reports")
    assert option(audit_args, "--out") == f"{reports}/latest"
    assert option(audit_args, "--baseline") == f"{reports}/previous/findings.json"
    rotate = next(c for c in spec["initContainers"] if c["name"] == "rotate-reports")
    assert {"name": "reports", "mountPath": reports} in rotate["volumeMounts"]
    assert {"name": "REPORTS_DIR", "value": reports} in rotate["env"]


def test_the_job_runs_once_and_ends_before_the_next_is_due():
    cronjob = the("CronJob")
    job = cronjob["spec"]["jobTemplate"]["spec"]
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert job["backoffLimit"] == 0  # exit 1 = findings: a retry cannot fix them
    assert job["template"]["spec"]["restartPolicy"] == "Never"
    assert cronjob["spec"]["successfulJobsHistoryLimit"] >= 1 and cronjob["spec"]["failedJobsHistoryLimit"] >= 1
    every = re.fullmatch(r"\*/(\d+) \* \* \* \*", cronjob["spec"]["schedule"])
    assert every, f"expected an every-N-minutes schedule, got {cronjob['spec']['schedule']!r}"
    assert 0 < job["activeDeadlineSeconds"] < int(every.group(1)) * 60


def test_the_pod_is_hardened():
    spec = pod_spec(the("CronJob"))
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["runAsUser"] == 10001
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert not spec.get("hostNetwork") and not spec.get("hostPID") and not spec.get("hostIPC")
    for container in all_containers(spec):
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True, container["name"]
        assert context["allowPrivilegeEscalation"] is False, container["name"]
        assert context["capabilities"] == {"drop": ["ALL"]}, container["name"]
        assert not context.get("privileged"), container["name"]
        assert context.get("runAsUser", pod["runAsUser"]) != 0, container["name"]


def test_every_container_has_requests_within_limits():
    for container in all_containers(pod_spec(the("CronJob"))):
        resources = container["resources"]
        for name in ("cpu", "memory"):
            request = parse_quantity(resources["requests"][name])
            limit = parse_quantity(resources["limits"][name])
            assert request and limit and request <= limit, f"{container['name']} {name}: {request} > {limit}"


def test_what_jupyter_and_matplotlib_write_lands_on_an_empty_dir():
    spec = pod_spec(the("CronJob"))
    scratch = {volume["name"] for volume in spec["volumes"] if "emptyDir" in volume}
    container = audit_container(spec)
    mounts = [m["mountPath"] for m in container["volumeMounts"] if m["name"] in scratch]
    assert "/tmp" in mounts  # tempfile's default: the kernel's IPC sockets go there
    env = {item["name"]: item["value"] for item in container["env"]}
    for name in ("HOME", "JUPYTER_RUNTIME_DIR", "MPLCONFIGDIR"):
        assert any(env[name] == m or env[name].startswith(m.rstrip("/") + "/") for m in mounts), (name, env[name])


def test_every_mount_has_a_volume_and_the_claim_exists():
    spec = pod_spec(the("CronJob"))
    volumes = {volume["name"]: volume for volume in spec["volumes"]}
    for container in all_containers(spec):
        for mount in container.get("volumeMounts", []):
            assert mount["name"] in volumes, f"{container['name']} mounts an undeclared volume {mount['name']}"
    claims = {v["persistentVolumeClaim"]["claimName"] for v in volumes.values() if "persistentVolumeClaim" in v}
    assert claims == {the("PersistentVolumeClaim")["metadata"]["name"]}


# --------------------------------------------------------------------------- report rotation


def rotate_script() -> str:
    rotate = next(c for c in pod_spec(the("CronJob"))["initContainers"] if c["name"] == "rotate-reports")
    assert rotate["command"][:2] == ["/bin/sh", "-c"]
    return rotate["command"][2]


def rotate(reports: Path) -> None:
    result = subprocess.run(["/bin/sh", "-c", rotate_script()], env={"REPORTS_DIR": str(reports), "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(not Path("/bin/sh").exists(), reason="needs a POSIX shell to run the init container's script")
def test_the_rotation_keeps_the_last_finished_run_as_the_baseline(tmp_path: Path):
    reports = tmp_path / "reports"
    reports.mkdir()
    rotate(reports)  # first run: an empty, valid baseline
    assert compare_with_baseline([], str(reports / "previous" / "findings.json")).resolved == []

    (reports / "latest").mkdir()
    (reports / "latest" / "findings.json").write_text('{"findings": [{"id": "abc"}]}')
    rotate(reports)  # a finished run becomes the baseline
    assert not (reports / "latest").exists()
    assert json.loads((reports / "previous" / "findings.json").read_text())["findings"] == [{"id": "abc"}]

    (reports / "latest").mkdir()
    (reports / "latest" / "triage.ipynb").write_text("{}")
    rotate(reports)  # a run that stopped early is set aside, the baseline stays
    assert (reports / "incomplete" / "triage.ipynb").exists()
    assert json.loads((reports / "previous" / "findings.json").read_text())["findings"] == [{"id": "abc"}]


@pytest.mark.skipif(not Path("/bin/sh").exists(), reason="needs a POSIX shell to run the init container's script")
def test_two_scheduled_runs_report_new_then_persisting_findings(tmp_path: Path):
    reports = tmp_path / "reports"
    reports.mkdir()

    def scheduled_run():
        rotate(reports)
        options = AuditOptions(source="staging-incident", out=str(reports / "latest"), formats=("json",),
                               baseline=str(reports / "previous" / "findings.json"), runbooks=[])
        return audit(options, log=lambda line: None)

    first, second = scheduled_run(), scheduled_run()
    assert first.detection.findings, "the example should have findings"
    assert len(first.baseline.new) == len(first.detection.findings) and not first.baseline.persisting
    assert not second.baseline.new and len(second.baseline.persisting) == len(second.detection.findings)
    written = json.loads((reports / "latest" / "findings.json").read_text())
    assert {item["baseline"] for item in written["findings"]} == {"persisting"}


SEED = '{"schema": "runbooks-findings", "schema_version": 1, "findings": []}\n'


def test_a_baseline_inside_the_output_folder_is_read_before_it_is_replaced(tmp_path: Path):
    # docs/deploy.md's remote layout: --out PREFIX/latest --baseline PREFIX/latest/findings.json.
    latest = tmp_path / "latest"
    latest.mkdir()
    (latest / "findings.json").write_text(SEED)  # the one-time seed the docs describe
    options = AuditOptions(source="staging-incident", out=str(latest), baseline=str(latest / "findings.json"),
                           formats=("json",), runbooks=[])
    first = audit(options, log=lambda line: None)
    second = audit(options, log=lambda line: None)
    assert first.detection.findings and len(first.baseline.new) == len(first.detection.findings)
    assert not second.baseline.new and len(second.baseline.persisting) == len(second.detection.findings)


# --------------------------------------------------------------------------- the self-audit


def deploy_state():
    # load() renders the kustomization with kubectl; without it, the same files as plain manifests.
    return load(DEPLOY) if KUBECTL else load_manifest_dir(DEPLOY)


def above_info(findings) -> list[str]:
    return [f"{f.severity} {f.rule} {f.kind}/{f.name}: {f.summary}" for f in findings if f.severity != "info"]


def test_the_self_audit_finds_nothing_above_info():
    state = deploy_state()
    stand_ins = [pod for pod in state.of_kind("Pod") if TEMPLATE_ANNOTATION in pod["metadata"].get("annotations", {})]
    assert len(stand_ins) == 1, "the detectors should see the CronJob's pod"
    assert state.warnings == []
    result = run_detectors(state)
    assert result.errors == []
    assert above_info(result.findings) == []


def test_the_audit_command_passes_on_the_package(tmp_path: Path):
    source = DEPLOY if KUBECTL else _plain_copy(tmp_path / "plain")
    options = AuditOptions(source=str(source), out=str(tmp_path / "out"), fail_on="warning", formats=("json",),
                           runbooks=[])
    result = audit(options, log=lambda line: None)
    assert result.exit_code == 0, above_info(result.detection.findings)
    assert json.loads((tmp_path / "out" / "findings.json").read_text())["summary"] == {"critical": 0, "warning": 0,
                                                                                      "info": 0}


def _plain_copy(folder: Path) -> Path:
    folder.mkdir()
    for path in manifest_files():
        shutil.copy(path, folder / path.name)
    return folder


def test_the_self_audit_would_catch_a_probe_on_a_port_the_container_lacks(tmp_path: Path):
    # The control: the same package with one inconsistency must not pass.
    for path in manifest_files():
        docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
        for doc in docs:
            if doc["kind"] == "CronJob":
                audit_container(pod_spec(doc))["readinessProbe"] = {"httpGet": {"path": "/ready", "port": "http"}}
        (tmp_path / path.name).write_text(yaml.safe_dump_all(docs))
    findings = run_detectors(load_manifest_dir(tmp_path)).findings
    assert any(f.rule == "probe-port-not-served" for f in findings), [f.rule for f in findings]


# --------------------------------------------------------------------------- docs/deploy.md


DOCS = ROOT / "docs" / "deploy.md"


def docs_yaml(kind: str) -> list[dict]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(), re.S)
    return [doc for doc in map(yaml.safe_load, blocks) if doc.get("kind") == kind]


def test_the_documented_reader_pod_is_valid_and_meets_the_namespaces_policy():
    [reader] = docs_yaml("Pod")
    assert schema_errors([("docs/deploy.md", reader)]) == []
    spec = reader["spec"]
    assert reader["metadata"]["namespace"] == the("Namespace")["metadata"]["name"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in spec["containers"]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False and context["capabilities"] == {"drop": ["ALL"]}
        assert all(mount.get("readOnly") for mount in container["volumeMounts"])
    claim = the("PersistentVolumeClaim")["metadata"]["name"]
    assert [v["persistentVolumeClaim"] for v in spec["volumes"]] == [{"claimName": claim, "readOnly": True}]
    assert spec["activeDeadlineSeconds"] > 0  # it must not hold the ReadWriteOnce claim forever


def test_the_documented_seed_is_the_one_the_init_container_writes():
    assert SEED.strip() in DOCS.read_text()
    assert f"printf '{SEED.strip()}\\n'" in rotate_script()


@needs_kubectl
@pytest.mark.parametrize("overlay_index", [0, 1], ids=["image", "s3"])
def test_the_documented_overlays_render_valid_objects(tmp_path: Path, overlay_index: int):
    overlay = docs_yaml("Kustomization")[overlay_index]
    overlay["resources"] = [os.path.relpath(DEPLOY, tmp_path)]
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(overlay))
    result = subprocess.run([KUBECTL, "kustomize", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rendered = [obj for obj in yaml.safe_load_all(result.stdout) if obj]
    assert schema_errors([("overlay", obj) for obj in rendered]) == []
    spec = pod_spec(next(obj for obj in rendered if obj["kind"] == "CronJob"))
    image = overlay["images"][0]
    assert {c["image"] for c in all_containers(spec)} == {f"{image['newName']}:{image['newTag']}"}
    args = argv(audit_container(spec))
    assert args[:4] == ["runbooks", "audit", "--in-cluster", "-A"]
    if overlay.get("patches"):
        assert not spec.get("initContainers")
        assert option(args, "--baseline") == option(args, "--out") + "/findings.json"
        assert option(args, "--out").startswith("s3://")


# --------------------------------------------------------------------------- the image


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    logical, pending = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1] if " " in text else "") for text in logical]


def test_the_image_runs_runbooks_as_the_pods_user():
    instructions = dockerfile_instructions()
    user = [args for name, args in instructions if name == "USER"][-1]
    assert user.split(":")[0] == str(pod_spec(the("CronJob"))["securityContext"]["runAsUser"])
    entrypoint = [args for name, args in instructions if name == "ENTRYPOINT"][-1]
    assert json.loads(entrypoint) == ["runbooks"]


def test_the_image_is_a_slim_python_without_kubectl():
    instructions = dockerfile_instructions()
    base = next(args for name, args in instructions if name == "ARG" and args.startswith("PYTHON_IMAGE="))
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.1[12]-slim(-\w+)?", base), base
    assert all(args.split()[0] == "${PYTHON_IMAGE}" for name, args in instructions if name == "FROM")
    runs = " ".join(args for name, args in instructions if name == "RUN")
    assert "kubectl" not in runs and "kustomize" not in runs


def test_the_image_copies_what_pip_install_needs():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    needed = {"pyproject.toml", project["project"]["readme"], "runbooks_lib",
              *project["tool"]["setuptools"]["package-dir"].values()}
    copied = set()
    for name, args in dockerfile_instructions():
        if name == "COPY" and not args.startswith("--from"):
            copied.update(part.rstrip("/") for part in shlex.split(args)[:-1])
    assert needed <= copied, f"missing from the image: {needed - copied}"
    for path in copied:
        assert (ROOT / path).exists(), path
    # The Dockerfile-specific ignore file must let each of them into the build context.
    allowed = {line[1:].strip().rstrip("/") for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
               if line.startswith("!")}
    assert copied <= allowed, f"excluded from the build context: {copied - allowed}"


def test_an_installed_project_has_the_python3_kernel_without_ipykernel_install():
    # The image relies on this: ipykernel is a dependency, and its wheel ships the kernelspec.
    from jupyter_client.kernelspec import KernelSpecManager

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert any(dep.startswith("ipykernel") for dep in project["project"]["dependencies"])
    spec = KernelSpecManager().get_kernel_spec("python3")
    assert spec.argv[0] in ("python", "python3", sys.executable) and "ipykernel_launcher" in spec.argv
