"""No credential leaves the cluster through a runbook output.

The staging-incident snapshot is copied and seeded with fake credentials of every
family docs/security.md lists, in every place the loader reads: current and previous
logs, event messages, container env values and args, pod and workload annotations
(the last-applied-configuration included). Then ``runbooks findings --json``,
``runbooks audit`` (every runbook covering a finding, as notebooks and HTML, plus
findings.json/SARIF/index.html) and ``runbooks run crashloop`` run on it, and no
output file may hold any of the planted values. All values are fake (FAKE in each)
and drawn from [A-Za-z0-9._-], which no JSON or HTML escaping changes, so a plain
bytes search finds them wherever they are written.
"""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import string
import subprocess
import sys
from pathlib import Path

import pytest

import runbooks_lib
from runbooks_lib.resources import example_path
from runbooks_lib.cli import main
from runbooks_lib.redact import LAST_APPLIED, NO_REDACT_ENV, REDACTED, redact_state

EXAMPLE = example_path("staging-incident")  # works installed (package data) and in a checkout
SEED = 20251106
ALNUM = string.ascii_letters + string.digits
PLACES = ("logs", "previous-logs", "events", "env", "args", "annotations", "last-applied")
# What each place gets (plant() below); every other family is in the texts of every place.
ONLY_IN = {"named-env-value": {"env", "last-applied"}, "flag-value": {"args"}}
IN_ARGS = {"google-oauth", "flag-value", "url-password", "github", "aws-key-id", "aws-secret"}


def fake_corpus(rnd: random.Random) -> dict[str, str]:
    """One fake credential per family, syntactically valid for the pattern that must catch it."""
    def chars(n: int, alphabet: str = ALNUM) -> str:
        return "".join(rnd.choice(alphabet) for _ in range(n))

    def b64url(payload: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")

    jwt_body = b64url({"sub": "FAKE-" + chars(12), "aud": "mcp"})
    return {
        "aws-key-id": "AKIAFAKE" + chars(12, string.ascii_uppercase + string.digits),
        "aws-secret": "FAKE" + chars(36),
        "gcp-api-key": "AIzaFAKE" + chars(31),
        "google-oauth": "ya29.FAKE" + chars(40),
        "jwt": f"{b64url({'alg': 'HS256', 'typ': 'JWT'})}.{jwt_body}.FAKE{chars(39)}",
        "bearer": "FAKEbearer" + chars(10) + "7",
        "github": "ghp_FAKE" + chars(32),
        "github-pat": "github_pat_FAKE" + chars(40),
        "slack": "xoxb-FAKE-" + chars(24),
        "stripe": "sk_live_FAKE" + chars(24),
        "azure-account-key": "FAKE" + chars(84),
        "sas-sig": "FAKEsig" + chars(36),
        "pem-line": "FAKE" + chars(60),
        "url-password": "FAKEurlpw" + chars(12),
        "kv-password": "FAKEkvpw" + chars(12),
        "sa-private-key-id": "fake" + chars(36, "0123456789abcdef"),
        "named-env-value": "FAKEenv" + chars(16),
        "flag-value": "FAKEflag" + chars(16),
        "basic-credentials": basic_credentials(rnd),
    }


def basic_credentials(rnd: random.Random) -> str:
    """base64 of user:password, drawn until it needs no + / or = (so no escaping can hide it)."""
    while True:
        user_password = "svc:FAKE" + "".join(rnd.choice(ALNUM) for _ in range(10))
        encoded = base64.b64encode(user_password.encode()).decode()
        if encoded.isalnum():
            return encoded


def log_lines(secret: dict[str, str]) -> list[str]:
    """How these credentials show up in real logs: access logs, DSN errors, tracebacks, dumps."""
    # Each family also stands where only its own pattern can catch it (a bare JWT, a bare key id).
    return [
        f'INFO:     10.8.0.1:41234 - "GET /mcp/sse HTTP/1.1" 401 Unauthorized (session {secret["jwt"]})',
        f"DEBUG:    headers=[(b'host', b'mcp'), (b'authorization', b'Bearer {secret['bearer']}')]",
        f"retrying with Bearer {secret['bearer']}",
        f"GET /api/repos Authorization: token {secret['bearer']}",
        f"proxy: upstream sent WWW-Authenticate, retrying with Basic {secret['basic-credentials']}",
        f"aws: rotating {secret['aws-key-id']} {secret['aws-secret']}",
        f"Caused by: java.sql.SQLException: jdbc:oracle:thin:scott/{secret['url-password']}@db:1521/ORCL",
        f"[mysql] 2025/11/06 connector.go:95: dsn=app:{secret['kv-password']}@tcp(10.3.0.7:3306)/orders",
        f"+ exec /app/server --db-password {secret['kv-password']} --listen :8080",
        f'error: invalid object: {{"name":"DB_PASSWORD","value":"{secret["kv-password"]}"}}',
        f'2025/11/06 16:31:58 sql: failed to ping "postgres://openfga:{secret["url-password"]}@127.0.0.1:5432/'
        f'openfga?sslmode=disable": connection refused',
        f"loaded settings: DB_PASSWORD={secret['kv-password']} AWS_ACCESS_KEY_ID={secret['aws-key-id']} "
        f"AWS_SECRET_ACCESS_KEY={secret['aws-secret']}",
        f"google: key={secret['gcp-api-key']} token {secret['google-oauth']}",
        f"integrations: {secret['github']} {secret['github-pat']} {secret['slack']} {secret['stripe']}",
        f"DefaultEndpointsProtocol=https;AccountName=acmelogs;AccountKey={secret['azure-account-key']};"
        f"EndpointSuffix=core.windows.net",
        f"GET https://acmelogs.blob.core.windows.net/c/x?sv=2022-11-02&sig={secret['sas-sig']}&se=2025-12-01 403",
        f'{{"type": "service_account", "private_key_id": "{secret["sa-private-key-id"]}", "client_email": '
        f'"mcp@acme-staging.iam.gserviceaccount.com"}}',
        f"[default]\naws_access_key_id = {secret['aws-key-id']}\naws_secret_access_key = {secret['aws-secret']}",
    ]


def pem_lines(secret: dict[str, str]) -> list[str]:
    return ["-----BEGIN RSA PRIVATE KEY-----", secret["pem-line"], secret["pem-line"][::-1],
            "-----END RSA PRIVATE KEY-----"]


def one_line(secret: dict[str, str]) -> str:
    """The same credentials on one line, for event messages, annotations and env values."""
    return " | ".join(line.replace("\n", " ") for line in log_lines(secret)) + (
        f" | -----BEGIN PRIVATE KEY----- {secret['pem-line']} -----END PRIVATE KEY-----")


def service_account_json(secret: dict[str, str]) -> str:
    pem = f"-----BEGIN PRIVATE KEY-----\n{secret['pem-line']}\n{secret['pem-line'][::-1]}\n-----END PRIVATE KEY-----\n"
    return json.dumps({"type": "service_account", "project_id": "acme-staging",
                       "private_key_id": secret["sa-private-key-id"], "private_key": pem,
                       "client_email": "mcp@acme-staging.iam.gserviceaccount.com"})


# -- planting ------------------------------------------------------------------------------------

def plant(root: Path, corpus: dict[str, dict[str, str]]) -> None:
    for log in sorted(root.glob("*/*/logs*.txt")):
        secret = corpus["previous-logs" if log.name == "logs.previous.txt" else "logs"]
        plant_in_log(log, log_lines(secret) + pem_lines(secret))
    for path in sorted(root.glob("*/*.json")):
        document = json.loads(path.read_text())
        for item in document.get("items") or []:
            if path.name == "events.json" and item.get("type") == "Warning":
                item["message"] += " (client: " + one_line(corpus["events"]) + ")"
            for spec in pod_specs(item):
                for container in spec.get("containers") or []:
                    plant_in_container(container, corpus)
            if pod_specs(item):
                annotations = item["metadata"].setdefault("annotations", {})
                annotations["acme.io/notes"] = one_line(corpus["annotations"])
                annotations[LAST_APPLIED] = last_applied(item, corpus["last-applied"])
        path.write_text(json.dumps(document, indent=2))


def plant_in_log(path: Path, lines: list[str]) -> None:
    """At the end of every container's log: what the runbooks show (tails, last exceptions)."""
    out = []
    for line in path.read_text().splitlines():
        if line.startswith("==== END logs for container "):
            out.extend(lines)
        out.append(line)
    path.write_text("\n".join(out) + "\n")


def pod_specs(item: dict) -> list[dict]:
    spec = item.get("spec") or {}
    if "containers" in spec:
        return [spec]
    template = (spec.get("template") or {}).get("spec")
    return [template] if isinstance(template, dict) and "containers" in template else []


def plant_in_container(container: dict, corpus: dict[str, dict[str, str]]) -> None:
    env, args = corpus["env"], corpus["args"]
    container.setdefault("env", []).extend([
        {"name": "API_TOKEN", "value": env["named-env-value"]},
        {"name": "SA_JSON", "value": service_account_json(env)},
        {"name": "DATABASE_URL", "value": f"postgres://app:{env['url-password']}@127.0.0.1:5432/app"},
        {"name": "EXTRA_CONFIG", "value": one_line(env)},
    ])
    if "cloud-sql-proxy" in container.get("image", ""):
        # real cloud-sql-proxy v2 flags: the probe finding's evidence and patch carry the args
        container["args"] = list(container.get("args") or []) + [f"--token={args['google-oauth']}"]
    else:
        container["args"] = list(container.get("args") or []) + [
            "--client-secret", args["flag-value"], f"--db-url=postgres://app:{args['url-password']}@db/app",
            f"--github-token={args['github']}", f"--aws-key={args['aws-key-id']}:{args['aws-secret']}"]


def last_applied(item: dict, secret: dict[str, str]) -> str:
    """What kubectl apply stores: the manifest as applied, with literal env values."""
    manifest = {"apiVersion": item.get("apiVersion", "v1"), "kind": item.get("kind", "Pod"),
                "metadata": {"name": item["metadata"]["name"], "namespace": item["metadata"].get("namespace")},
                "spec": {"containers": [{"name": "app", "image": "ghcr.io/acme/app:1.2.3", "env": [
                    {"name": "DB_PASSWORD", "value": secret["named-env-value"]},
                    {"name": "SA_JSON", "value": service_account_json(secret)},
                    {"name": "NOTES", "value": one_line(secret)}]}]}}
    return json.dumps(manifest, separators=(",", ":")) + "\n"


# -- the planted snapshot and the outputs made from it -------------------------------------------

@pytest.fixture(scope="module")
def corpus() -> dict[str, dict[str, str]]:
    rnd = random.Random(SEED)
    return {place: fake_corpus(rnd) for place in PLACES}


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory, corpus) -> Path:
    root = tmp_path_factory.mktemp("planted") / "snapshot"
    shutil.copytree(EXAMPLE, root)
    plant(root, corpus)
    return root


def cli_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != NO_REDACT_ENV}
    env.update(extra)
    return env


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "runbooks_lib.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=cli_env())


@pytest.fixture(scope="module")
def outputs(snapshot: Path, tmp_path_factory) -> Path:
    """Every output of the three commands, in one folder. They run side by side: the audit alone
    executes six runbooks (most of this module's time), and waits on kernels more than on the CPU."""
    out = tmp_path_factory.mktemp("outputs")
    commands = {
        "findings": start("findings", str(snapshot), "--json"),
        "audit": start("audit", str(snapshot), "--out", str(out / "audit")),
        "run": start("run", "crashloop", "--source", str(snapshot), "--out", str(out / "run")),
    }
    for name, process in commands.items():
        stdout, stderr = process.communicate(timeout=900)
        (out / f"{name}-stdout.txt").write_text(stdout)
        (out / f"{name}-stderr.txt").write_text(stderr)
        # audit exits 1 on critical findings, as it does on the unplanted example
        assert process.returncode in ((0, 1) if name == "audit" else (0,)), f"{name}: {stderr}"
    return out


def leaks(folder: Path, corpus: dict[str, dict[str, str]]) -> list[str]:
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        for place, secrets in corpus.items():
            for family, value in secrets.items():
                if value.encode() in data:
                    found.append(f"{path.relative_to(folder)}: {family} planted in {place}")
    return found


# -- the guarantees -----------------------------------------------------------------------------

def test_the_loader_sees_every_planted_value_until_it_redacts_them(snapshot, corpus, monkeypatch):
    """The planting reached the loader (so the output checks below can fail), and load() masks it all."""
    monkeypatch.setenv(NO_REDACT_ENV, "1")
    raw = runbooks_lib.load(str(snapshot))
    monkeypatch.delenv(NO_REDACT_ENV)
    redacted = runbooks_lib.load(str(snapshot))

    def everything(state) -> str:
        logs = [log.text for ns, pod, previous in sorted(state.logs.pods())
                for log in state.logs._pod_logs(ns, pod, previous).values()]
        return json.dumps(state.objects) + "\n".join(logs)

    raw_text, redacted_text = everything(raw), everything(redacted)
    for place, secrets in corpus.items():
        for family, value in secrets.items():
            if place in ONLY_IN.get(family, PLACES) and (place != "args" or family in IN_ARGS):
                assert value in raw_text, f"{family} was not planted in {place}"
            assert value not in redacted_text, f"{family} planted in {place} survived load()"
    assert REDACTED in redacted_text


def test_no_planted_credential_in_any_output(outputs, corpus):
    files = [p for p in outputs.rglob("*") if p.is_file()]
    names = {p.relative_to(outputs).as_posix() for p in files}
    assert {"findings-stdout.txt", "audit/findings.json", "audit/findings.sarif", "audit/index.html",
            "audit/triage.ipynb", "audit/triage.html", "audit/crashloop.ipynb", "audit/crashloop.html",
            "run/crashloop.ipynb", "run/crashloop.html"} <= names, sorted(names)
    assert leaks(outputs, corpus) == []


def test_outputs_show_the_masked_evidence(outputs):
    """The planted places are on display (masked), so the absence above means something."""
    findings = json.loads((outputs / "findings-stdout.txt").read_text())
    args_evidence = [e["text"] for f in findings["findings"] for e in f["evidence"]
                     if e["text"].startswith("args:") and "--token=" in e["text"]]
    assert args_evidence and all("--token=" + REDACTED in text for text in args_evidence)
    crashloop = (outputs / "run" / "crashloop.html").read_text()
    assert "&lt;redacted&gt;" in crashloop, "the previous-log tail shows the planted lines, masked"
    assert "&lt;redacted&gt;" in (outputs / "audit" / "probes.html").read_text(), "probe events, masked"


def test_no_redact_lets_them_through(snapshot, corpus, monkeypatch, capsys):
    """The opt-out works, and proves the bytes search finds a leak when there is one."""
    # main() sets it. monkeypatch restores only what it recorded, and delenv of an unset variable
    # records nothing: setenv does, so the variable is gone again for the tests that follow.
    monkeypatch.setenv(NO_REDACT_ENV, "0")
    assert main(["findings", str(snapshot), "--json", "--no-redact"]) == 0
    captured = capsys.readouterr()
    assert "--no-redact" in captured.err
    assert corpus["args"]["google-oauth"] in captured.out


def test_a_capture_written_from_a_redacted_state_holds_none(snapshot, corpus, tmp_path, monkeypatch):
    capture = pytest.importorskip("runbooks_lib.capture")
    monkeypatch.setenv(NO_REDACT_ENV, "1")
    raw = runbooks_lib.load(str(snapshot))
    capture.write_snapshot(redact_state(raw), tmp_path / "redacted")
    assert leaks(tmp_path / "redacted", corpus) == []
    capture.write_snapshot(raw, tmp_path / "raw")
    assert leaks(tmp_path / "raw", corpus), "written as is, the planted values are there"
