"""The runbooks command line: exit codes, one-line errors, and the papermill runner."""

import json
import subprocess
import sys

import nbformat
import pytest

from runbooks_lib.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "runbooks_lib.cli", *args], capture_output=True, text=True,
                          timeout=600)


def test_list_shows_runbooks_and_their_parameters(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "triage" in out
    assert "-p source (str) = \"staging-incident\"" in out
    assert "-p namespace (str)" in out and "-p now (str)" in out


@pytest.mark.parametrize("args, message", [
    (["findings", "/nonexistent/snapshot"], "/nonexistent/snapshot: no such file or directory"),
    (["run", "no-such-runbook"], "unknown runbook 'no-such-runbook'"),
    (["run", "triage", "-p", "colour", "red"], "runbook triage has no parameter 'colour'"),
    (["run", "triage", "--source", "/nonexistent"], "/nonexistent: no such file or directory"),
    (["findings", "staging-incident", "--now", "soon"], "now: 'soon' is not an RFC 3339 timestamp"),
])
def test_bad_input_is_one_line_and_exit_code_2(args, message):
    result = run_cli(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("runbooks: error: ") and message in lines[0]


def test_invalid_snapshot_file_names_the_file(tmp_path):
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "pods.json").write_text('{"kind": "PodList", "items": [')
    result = run_cli("findings", str(tmp_path))
    assert result.returncode == 2
    assert "shop/pods.json: invalid JSON" in result.stderr
    assert "Traceback" not in result.stderr


def test_findings_json_is_the_findings_document():
    result = run_cli("findings", "staging-incident", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["schema"] == "runbooks-findings" and document["schema_version"] == 1
    assert document["source"] == "example:staging-incident"
    assert document["captured_at"] == "2025-11-06T16:32:10Z"
    assert document["findings"], "the staging incident has findings"
    for finding in document["findings"]:
        assert set(finding) >= {"rule", "severity", "namespace", "kind", "name", "pods", "container", "summary",
                                "evidence", "remediation"}


def test_findings_does_not_import_papermill_or_start_a_kernel():
    code = ("import sys; from runbooks_lib.cli import main; main(['findings', 'staging-incident']); "
            "print('papermill' in sys.modules, 'jupyter_client' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "False False"


def test_the_command_line_starts_without_pandas_or_numpy():
    # `runbooks run` starts its kernel before anything slow; building the parser (every sub-command's,
    # netpol's and capture's included) must not pull in the data stack the kernel needs, not this process.
    code = ("import sys; from runbooks_lib.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('pandas', 'numpy', 'matplotlib', 'papermill') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "[]", result.stderr


def test_run_triage_writes_executed_notebook_and_html_without_inputs(tmp_path):
    result = run_cli("run", "triage", "--out", str(tmp_path / "report"))
    assert result.returncode == 0, result.stderr
    notebook = nbformat.read(str(tmp_path / "report" / "triage.ipynb"), as_version=4)
    outputs = json.dumps([cell.get("outputs", []) for cell in notebook.cells])
    assert "CrashLoopBackOff" in outputs and "staging-mcp-server-langgraph" in outputs
    html = (tmp_path / "report" / "triage.html").read_text()
    assert "CrashLoopBackOff" in html
    assert "rb.open_source(" not in html, "the HTML copy hides the code cells"


def test_open_prepares_a_parameterized_copy_without_executing(tmp_path):
    result = run_cli("open", "triage", "--source", "healthy", "--workdir", str(tmp_path), "--no-launch")
    assert result.returncode == 0, result.stderr
    notebook = nbformat.read(str(tmp_path / "triage.ipynb"), as_version=4)
    injected = [cell for cell in notebook.cells if "injected-parameters" in cell.metadata.get("tags", [])]
    assert injected and 'source = "healthy"' in injected[0].source
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")


def test_plain_papermill_works_on_the_notebook(tmp_path):
    from runbooks_lib.resources import notebooks_dir

    output = tmp_path / "out.ipynb"
    result = subprocess.run([sys.executable, "-m", "papermill", str(notebooks_dir() / "triage.ipynb"), str(output),
                             "-p", "source", "healthy", "--no-progress-bar"], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    assert "payments" in output.read_text()
