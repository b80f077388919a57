"""The live source end to end: a served snapshot read through --context gives the snapshot's findings."""

import json
import subprocess
import sys

import pytest

from runbooks_lib import load
from runbooks_lib.registry import run_detectors

serve = pytest.importorskip("runbooks_lib.serve")
from runbooks_lib.serve_cli import write_kubeconfig  # noqa: E402


def comparable(findings):
    # Ages in summaries are relative to the capture; the live read's capture time is its own clock,
    # so compare what was found, on what, with which evidence sources, not the wording of ages.
    return sorted((f["rule"], f["severity"], f["kind"], f["name"], f["container"] or "", tuple(f["pods"]))
                  for f in findings)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    kubeconfig = tmp_path_factory.mktemp("kube") / "replay.kubeconfig"
    state = load("staging-incident")
    with serve.serve_in_background(state) as url:
        context = write_kubeconfig(kubeconfig, url, state)
        yield url, str(kubeconfig), context


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "runbooks_lib.cli", *args], capture_output=True, text=True,
                          timeout=600, env=env)


def test_findings_through_context_match_the_snapshot(served):
    _, kubeconfig, context = served
    live = run_cli("findings", "--context", context, "--kubeconfig", kubeconfig, "-A", "--json",
                   "--now", "2025-11-06T16:32:10Z")
    assert live.returncode == 0, live.stderr
    snapshot = json.loads(run_cli("findings", "staging-incident", "--json").stdout)
    document = json.loads(live.stdout)
    assert document["source"].startswith("context ")
    assert comparable(document["findings"]) == comparable(snapshot["findings"])


def test_without_source_or_context_the_error_says_how_to_choose():
    result = run_cli("findings")
    assert result.returncode == 2
    assert "--context NAME" in result.stderr and "--in-cluster" in result.stderr
    assert "Traceback" not in result.stderr


def test_audit_through_context_keeps_the_capture_and_matches_the_snapshot(served, tmp_path):
    from runbooks_lib.audit import AuditOptions, audit

    _, kubeconfig, context = served
    result = audit(AuditOptions(source=None, out=str(tmp_path), runbooks=[], formats=("json",),
                                now="2025-11-06T16:32:10Z",  # time-window rules then agree with the snapshot
                                live={"context": context, "kubeconfig": kubeconfig, "all_namespaces": True}),
                   log=lambda *_: None)
    written = json.loads((tmp_path / "findings.json").read_text())
    snapshot = run_detectors(load("staging-incident")).findings
    assert comparable(written["findings"]) == comparable([f.to_dict() for f in snapshot])
    assert result.exit_code == 1
    # the live read is kept next to the report, so runbooks (and people) see the same data
    assert (tmp_path / "snapshot" / "snapshot.json").is_file()
    assert len(load(str(tmp_path / "snapshot")).of_kind("Pod")) == len(load("staging-incident").of_kind("Pod"))


def test_run_triage_through_context_and_kubeconfig(served, tmp_path):
    _, kubeconfig, context = served
    env = {key: value for key, value in __import__("os").environ.items() if key != "KUBECONFIG"}
    result = run_cli("run", "triage", "--context", context, "--kubeconfig", kubeconfig,
                     "-n", "staging-mcp-server-langgraph", "--out", str(tmp_path / "report"), env=env)
    assert result.returncode == 0, result.stderr
    import nbformat

    notebook = nbformat.read(str(tmp_path / "report" / "triage.ipynb"), as_version=4)
    outputs = json.dumps([cell.get("outputs", []) for cell in notebook.cells])
    assert f"context {context}" in outputs, "the kernel read the cluster through the given kubeconfig"
    assert "CrashLoopBackOff" in outputs


def test_run_with_a_missing_kubeconfig_is_a_clear_error(tmp_path):
    result = run_cli("run", "triage", "--context", "x", "--kubeconfig", str(tmp_path / "nope"),
                     "--out", str(tmp_path / "report"))
    assert result.returncode == 2
    assert f"{tmp_path / 'nope'}: no such kubeconfig file" in result.stderr and "Traceback" not in result.stderr
