"""``runbooks audit``: the headless health audit, for scheduled runs and CI gates.

One pass: load the source, run every detector, compare with a baseline, execute
the triage runbook and every runbook that covers a rule with findings, and write
``findings.json``, ``findings.sarif`` and ``index.html``. A runbook that fails is
reported (with its failing cell) and the others still run.

Remote output folders (s3://, gs://, abs://) go through papermill's IO handlers,
so they work when the matching papermill extra is installed.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError
from .findings import SEVERITY_RANK, Finding, at_or_above
from .findings_json import findings_document
from .registry import DetectionResult, rule as rule_of, rules as all_rules, run_detectors
from .state import RUNTIME, ClusterState

FORMATS = ("html", "json", "sarif")
FAIL_ON = ("critical", "warning", "info", "never")
EXIT_OK, EXIT_FAILING_FINDINGS, EXIT_UNUSABLE = 0, 1, 2


@dataclass
class RunbookRun:
    name: str
    notebook: str
    html: str | None = None
    status: str = "pending"  # ok | failed | timeout | kernel-died | skipped
    error: str | None = None
    cell: int | None = None  # execution count of the failing cell
    cell_source: str | None = None
    seconds: float | None = None

    def to_dict(self) -> dict:
        return {key: value for key, value in self.__dict__.items() if value is not None}


@dataclass
class BaselineDiff:
    new: list[str] = field(default_factory=list)
    persisting: list[str] = field(default_factory=list)
    resolved: list[dict] = field(default_factory=list)  # the old findings, as they were

    def status_of(self, finding: Finding) -> str:
        return "new" if finding.id in self.new else "persisting"

    def to_dict(self) -> dict:
        return {"new": len(self.new), "persisting": len(self.persisting), "resolved": len(self.resolved),
                "resolved_findings": self.resolved}


@dataclass
class AuditOptions:
    source: str | None
    out: str
    live: dict = field(default_factory=dict)  # context / in_cluster / kubeconfig / all_namespaces / selector
    namespaces: list[str] | None = None
    fail_on: str = "critical"
    baseline: str | None = None
    formats: tuple[str, ...] = FORMATS
    timeout: int | None = 600
    now: str | None = None
    runbooks: list[str] | None = None  # override the chosen runbooks (tests)


@dataclass
class AuditResult:
    state: ClusterState
    detection: DetectionResult
    runs: list[RunbookRun]
    baseline: BaselineDiff | None
    exit_code: int
    written: list[str]


def audit(options: AuditOptions, log=print) -> AuditResult:
    if options.fail_on not in FAIL_ON:
        raise InputError(f"--fail-on must be one of {', '.join(FAIL_ON)}, not {options.fail_on!r}")
    unknown = [f for f in options.formats if f not in FORMATS]
    if unknown:
        raise InputError(f"--format: unknown format {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    from .sources import load

    out = options.out.rstrip("/")
    if _is_local(out):
        Path(out).mkdir(parents=True, exist_ok=True)
    state = load(options.source, namespace=options.namespaces, now=options.now, **options.live)
    if options.source is None:
        # A live cluster is read once; every runbook then runs on that same capture, so they agree.
        options.source = _keep_capture(state, out)
    for warning in state.warnings:
        log(f"warning: {warning}")
    detection = run_detectors(state)
    baseline = compare_with_baseline(detection.findings, options.baseline) if options.baseline else None
    runs = run_runbooks(options, state, detection, out, log)
    written: list[str] = []
    document = findings_document(state, detection, **_audit_fields(options, runs, baseline))
    if baseline:
        for item in document["findings"]:
            item["baseline"] = "new" if item["id"] in baseline.new else "persisting"
    if "json" in options.formats:
        written.append(_write_text(f"{out}/findings.json", json.dumps(document, indent=2, default=str) + "\n"))
    if "sarif" in options.formats:
        from . import __version__
        from .sarif import sarif_document

        base = _local_base(options.source)
        sarif = sarif_document(detection.findings, all_rules(), source=state.source, base_dir=base,
                               tool_version=__version__)
        written.append(_write_text(f"{out}/findings.sarif", json.dumps(sarif, indent=2, default=str) + "\n"))
    if "html" in options.formats:
        from .audit_html import index_html

        written.append(_write_text(f"{out}/index.html", index_html(state, detection, runs, baseline, document)))
    failing = at_or_above(detection.findings, options.fail_on)
    if any(run.status != "ok" for run in runs if run.status != "skipped"):
        exit_code = EXIT_UNUSABLE
    elif failing:
        exit_code = EXIT_FAILING_FINDINGS
    else:
        exit_code = EXIT_OK
    return AuditResult(state, detection, runs, baseline, exit_code, written)


def chosen_runbooks(state: ClusterState, detection: DetectionResult) -> list[str]:
    """triage always; manifests for pre-deploy sources; and each runbook that covers a rule with findings."""
    names = ["triage"]
    if RUNTIME not in state.capabilities:
        names.append("manifests")
    for finding in sorted(detection.findings, key=lambda f: -SEVERITY_RANK[f.severity]):
        entry = rule_of(finding.rule)
        if entry and entry.runbook not in names:
            names.append(entry.runbook)
    return names


def run_runbooks(options: AuditOptions, state: ClusterState, detection: DetectionResult, out: str,
                 log) -> list[RunbookRun]:
    from .runner import SharedKernel

    names = options.runbooks if options.runbooks is not None else chosen_runbooks(state, detection)
    runs: list[RunbookRun] = []
    if not names:
        return runs
    progress = _progress(names)
    kernel = SharedKernel()
    try:
        for name in names:
            runs.append(_run_one(name, options, out, kernel, progress, log))
    finally:
        kernel.close()
        if progress is not None:
            progress.close()
    return runs


def _run_one(name: str, options: AuditOptions, out: str, kernel, progress, log) -> RunbookRun:
    from .runner import runbook

    try:
        book = runbook(name)
    except InputError as exc:
        return RunbookRun(name, "", status="skipped", error=str(exc))
    run = RunbookRun(name, f"{out}/{name}.ipynb")
    params = _parameters_for(book, options)
    started = time.monotonic()
    if progress is None:
        log(f"audit: running {name} ...")
    _execute_contained(book, run, params, options.timeout, kernel)
    if run.status != "ok":
        kernel.restart()  # a timed-out cell may still run; the next runbook needs a clean kernel
    run.seconds = round(time.monotonic() - started, 1)
    if progress is not None:
        progress.set_postfix_str(f"{name}: {run.status}")
        progress.update(1)
    else:
        log(f"audit: {name} {run.status} in {run.seconds}s" + (f": {run.error}" if run.error else ""))
    return run


def _execute_contained(book, run: RunbookRun, params: dict, timeout: int | None, kernel=None) -> None:
    """Execute one runbook; any failure is recorded on ``run``, never raised."""
    from papermill.exceptions import PapermillExecutionError

    from .runner import execute

    try:
        result = execute(book, run.notebook, params, progress=False, timeout=timeout,
                         kernel=kernel)
        run.html, run.status = result.html, "ok"
    except PapermillExecutionError as exc:
        run.status = "timeout" if "CellTimeoutError" in exc.ename or "timed out" in str(exc.evalue) else "failed"
        run.cell, run.error = exc.exec_count, f"{exc.ename}: {exc.evalue}"
        run.cell_source = (exc.source or "")[:2000]
        run.html = _export_failed(run.notebook)
    except Exception as exc:  # kernel death, timeouts raised outside a cell, IO errors
        name = type(exc).__name__
        run.status = "kernel-died" if "DeadKernel" in name else "timeout" if "Timeout" in name else "failed"
        run.error = f"{name}: {exc}".strip()
        run.html = _export_failed(run.notebook)


def _export_failed(notebook: str) -> str | None:
    """A failed run still leaves its notebook: export it so the report can link to where it stopped."""
    if not _is_local(notebook) or not Path(notebook).exists():
        return None
    from .runner import export_html

    target = str(Path(notebook).with_suffix(".html"))
    try:
        export_html(Path(notebook), Path(target))
    except Exception:
        return None
    return target


def _parameters_for(book, options: AuditOptions) -> dict:
    from .runner import parameters

    known = {p.name for p in parameters(book)}
    values = {"source": options.source}
    if options.namespaces and len(options.namespaces) == 1:
        values["namespace"] = options.namespaces[0]
    if options.now:
        values["now"] = options.now
    return {key: value for key, value in values.items() if key in known}


def compare_with_baseline(findings: list[Finding], baseline_path: str) -> BaselineDiff:
    try:
        old = json.loads(_read_text(baseline_path))
    except Exception as exc:  # missing local file, remote handler errors, invalid JSON: all unusable input
        raise InputError(f"{baseline_path}: cannot read the baseline findings: {exc}") from None
    if not isinstance(old, dict) or not isinstance(old.get("findings"), list):
        raise InputError(f"{baseline_path}: not a findings document (no 'findings' list)")
    old_by_id = {item.get("id"): item for item in old["findings"] if isinstance(item, dict)}
    current = {finding.id for finding in findings}
    diff = BaselineDiff()
    for finding in findings:
        (diff.persisting if finding.id in old_by_id else diff.new).append(finding.id)
    diff.resolved = [item for key, item in old_by_id.items() if key not in current]
    return diff


def _audit_fields(options: AuditOptions, runs: list[RunbookRun], baseline: BaselineDiff | None) -> dict:
    return {"audit": {"fail_on": options.fail_on, "runbooks": [run.to_dict() for run in runs],
                      "runbooks_failed": [run.name for run in runs if run.status not in ("ok", "skipped")],
                      "baseline": baseline.to_dict() if baseline else None}}


def _progress(names: list[str]):
    if not sys.stderr.isatty():
        return None
    from tqdm.auto import tqdm

    return tqdm(total=len(names), desc="runbooks", unit="runbook", file=sys.stderr)


def _keep_capture(state: ClusterState, out: str) -> str:
    """Write the live read as a snapshot next to the report; runbooks then read it back."""
    import tempfile

    from .capture import write_snapshot

    target = Path(out) / "snapshot" if _is_local(out) else Path(tempfile.mkdtemp(prefix="runbooks-audit-")) / "snapshot"
    write_snapshot(state, target)
    return str(target)


def _write_text(path: str, text: str) -> str:
    if _is_local(path):
        Path(path).write_text(text, encoding="utf-8")
    else:
        from papermill.iorw import papermill_io

        papermill_io.write(text, path, extensions=None)  # .sarif and .html are fine too
    return path


def _read_text(path: str) -> str:
    if _is_local(path):
        return Path(path).read_text(encoding="utf-8")
    from papermill.iorw import papermill_io

    return papermill_io.read(path)


def _local_base(source: str) -> Path | None:
    path = Path(source)
    if path.exists():
        return (path if path.is_dir() else path.parent).resolve()
    return None


def _is_local(path: str) -> bool:
    return "://" not in path
