"""runbooks audit: outputs, exit codes, manifests variants, baseline diff, contained runbook failures."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from runbooks_lib.audit import AuditOptions, audit
from runbooks_lib.cli import main

KUBECTL = shutil.which("kubectl") or shutil.which("kustomize")
needs_kustomize = pytest.mark.skipif(not KUBECTL, reason="neither kubectl nor kustomize is on PATH to render the "
                                                         "bundled kustomization")
SEED_RULES = {"service-duplicate-port", "probe-port-not-served", "netpol-asymmetric"}


def quiet(*_):
    pass


def rules_by_object(findings):
    return {(f.rule, f.kind, f.name) for f in findings}


@pytest.fixture(scope="module")
def snapshot_audit(tmp_path_factory):
    out = tmp_path_factory.mktemp("audit-snapshot")
    result = audit(AuditOptions(source="staging-incident", out=str(out)), log=quiet)
    return out, result


def test_snapshot_audit_writes_every_output_and_fails_on_critical(snapshot_audit):
    out, result = snapshot_audit
    assert result.exit_code == 1
    for name in ("findings.json", "findings.sarif", "index.html", "triage.ipynb", "triage.html"):
        assert (out / name).stat().st_size > 0, name
    ran = {run.name: run.status for run in result.runs}
    assert ran["triage"] == "ok"
    # every runbook covering a rule with findings ran, with the same source
    assert {"crashloop", "probes", "rollouts", "services", "network-policy"} <= set(ran)
    assert all(status == "ok" for status in ran.values()), ran
    executed = nbformat.read(str(out / "crashloop.ipynb"), as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert 'source = "staging-incident"' in injected[0].source
    assert "rb.open_source(" not in (out / "crashloop.html").read_text(), "HTML copies hide the code"


def test_findings_json_matches_runbooks_findings_json(snapshot_audit):
    out, _ = snapshot_audit
    written = json.loads((out / "findings.json").read_text())
    printed = subprocess.run([sys.executable, "-m", "runbooks_lib.cli", "findings", "staging-incident", "--json"],
                             capture_output=True, text=True, check=True).stdout
    printed = json.loads(printed)
    audit_only = written.pop("audit")
    assert written == printed
    assert audit_only["fail_on"] == "critical" and audit_only["runbooks_failed"] == []


def test_index_html_summarises_and_links_the_runbooks(snapshot_audit):
    out, result = snapshot_audit
    page = (out / "index.html").read_text()
    assert "Kubernetes health audit" in page
    assert 'href="triage.html"' in page and 'href="crashloop.html"' in page
    assert page.count("data:image/png;base64,") == 2, "the triage plots are embedded"
    for finding in result.detection.findings:
        assert f'id="f-{finding.id}"' in page


@needs_kustomize
def test_broken_manifests_report_the_three_seed_failures(tmp_path):
    result = audit(AuditOptions(source="staging-incident/manifests", out=str(tmp_path), runbooks=[],
                                formats=("json",)), log=quiet)
    assert result.exit_code == 1
    assert {f.rule for f in result.detection.findings} == SEED_RULES
    found = rules_by_object(result.detection.findings)
    assert ("service-duplicate-port", "Service", "staging-redis-session") in found
    assert ("probe-port-not-served", "Deployment", "staging-mcp-server-langgraph") in found
    assert ("netpol-asymmetric", "Deployment", "staging-keycloak") in found
    # rules that need a running cluster are skipped, and the report says why
    document = json.loads((tmp_path / "findings.json").read_text())
    assert "crashloop" in document["rules_skipped"] and "runtime" in document["rules_skipped"]["crashloop"]
    for finding in document["findings"]:
        assert finding["location"]["file"].endswith(".yaml") and finding["location"]["line"] >= 1


@needs_kustomize
def test_fixed_manifests_clear_them_and_the_baseline_shows_them_resolved(tmp_path):
    broken = tmp_path / "broken"
    audit(AuditOptions(source="staging-incident/manifests", out=str(broken), runbooks=[], formats=("json",)),
          log=quiet)
    fixed = tmp_path / "fixed"
    result = audit(AuditOptions(source="staging-incident/manifests-fixed", out=str(fixed), runbooks=[],
                                formats=("json", "html"), baseline=str(broken / "findings.json")), log=quiet)
    assert not SEED_RULES & {f.rule for f in result.detection.findings}
    assert result.exit_code == 0
    assert {item["rule"] for item in result.baseline.resolved} == SEED_RULES
    assert result.baseline.new == []
    page = (fixed / "index.html").read_text()
    assert "What changed since the baseline" in page and "3 resolved" in page


def test_fail_on_never_and_bad_options(tmp_path):
    result = audit(AuditOptions(source="staging-incident", out=str(tmp_path), runbooks=[], formats=("json",),
                                fail_on="never"), log=quiet)
    assert result.exit_code == 0
    assert main(["audit", "staging-incident", "--out", str(tmp_path), "--format", "pdf"]) == 2
    assert main(["audit", "/no/such/dir", "--out", str(tmp_path)]) == 2


BROKEN_RUNBOOK = [
    nbformat.v4.new_markdown_cell("# Broken on purpose\nA test runbook whose second cell raises."),
    nbformat.v4.new_code_cell('source = "staging-incident"', metadata={"tags": ["parameters"]}),
    nbformat.v4.new_code_cell("raise RuntimeError('this runbook is broken on purpose')"),
]
SLOW_RUNBOOK = [
    nbformat.v4.new_markdown_cell("# Slow on purpose"),
    nbformat.v4.new_code_cell('source = "staging-incident"', metadata={"tags": ["parameters"]}),
    nbformat.v4.new_code_cell("import time\ntime.sleep(300)"),
]


def write_notebook(path: Path, cells) -> None:
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, str(path))


def test_a_failing_or_hanging_runbook_is_contained(tmp_path, monkeypatch):
    extra = tmp_path / "team-runbooks"
    extra.mkdir()
    write_notebook(extra / "broken.ipynb", BROKEN_RUNBOOK)
    write_notebook(extra / "slow.ipynb", SLOW_RUNBOOK)
    monkeypatch.setenv("RUNBOOKS_PATH", str(extra))
    out = tmp_path / "out"
    result = audit(AuditOptions(source="staging-incident", out=str(out), runbooks=["broken", "slow", "triage"],
                                formats=("json", "html"), timeout=30), log=quiet)
    runs = {run.name: run for run in result.runs}
    # the cell is named by its execution count, the In [3] prompt people see in the executed notebook
    # (papermill's injected-parameters cell ran as In [2])
    assert runs["broken"].status == "failed" and runs["broken"].cell == 3
    assert "this runbook is broken on purpose" in runs["broken"].error
    assert runs["slow"].status == "timeout"
    assert runs["triage"].status == "ok", "the other runbooks still run"
    assert result.exit_code == 2
    document = json.loads((out / "findings.json").read_text())
    assert document["audit"]["runbooks_failed"] == ["broken", "slow"]
    page = (out / "index.html").read_text()
    assert "2 runbook(s) failed to execute" in page and "this runbook is broken on purpose" in page


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(not CHROMIUM, reason="no headless Chromium installed (Debian package 'chromium')")
def test_index_html_renders_in_headless_chromium(snapshot_audit, tmp_path):
    out, _ = snapshot_audit
    screenshot = tmp_path / "index.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,2000",
                    f"--screenshot={screenshot}", (out / "index.html").as_uri()],
                   capture_output=True, timeout=120, check=False)
    data = screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    image = Image.open(screenshot).convert("RGB")
    assert image.size == (1280, 2000)
    # The page drew something: the red 'critical' card is on screen, and the page is not blank.
    colours = image.getcolors(maxcolors=1 << 20)
    assert len(colours) > 50
    assert any(abs(r - 0xc6) < 8 and abs(g - 0x28) < 8 and abs(b - 0x28) < 8 for _, (r, g, b) in colours)
