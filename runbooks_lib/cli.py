"""The ``runbooks`` command line.

Every command turns bad input into one clear line on stderr and exit code 2;
a Python traceback never reaches the user (set RUNBOOKS_DEBUG=1 to see one).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import __version__
from .errors import InputError
from .resources import DEFAULT_EXAMPLE

EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT = 0, 1, 2


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        _apply_redaction_option(args)
        return args.handler(args)
    except InputError as exc:
        print(f"runbooks: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("runbooks: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # the promise: no tracebacks for users
        if os.environ.get("RUNBOOKS_DEBUG"):
            raise
        print(f"runbooks: internal error: {type(exc).__name__}: {exc} (set RUNBOOKS_DEBUG=1 for details)",
              file=sys.stderr)
        return EXIT_BAD_INPUT


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="runbooks", description="Jupyter runbooks for Kubernetes on-call.")
    parser.add_argument("--version", action="version", version=f"runbooks {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    listing = commands.add_parser("list", help="show the runbooks and their parameters")
    listing.set_defaults(handler=cmd_list)

    run = commands.add_parser("run", help="execute a runbook headlessly (papermill) and write .ipynb + .html")
    run.add_argument("name", help="runbook name, e.g. triage")
    _add_notebook_options(run)
    run.add_argument("--out", default="report", help="output folder (default: report/)")
    run.add_argument("--timeout", type=int, default=None, help="seconds allowed per cell")
    run.set_defaults(handler=cmd_run)

    opener = commands.add_parser("open", help="prepare a parameterized copy and open it in JupyterLab")
    opener.add_argument("name")
    _add_notebook_options(opener)
    opener.add_argument("--workdir", default="runbooks-work", help="folder for the prepared copy")
    opener.add_argument("--no-launch", action="store_true", help="prepare the copy but do not start JupyterLab")
    opener.set_defaults(handler=cmd_open)

    findings = commands.add_parser("findings", help="print the findings for a source (no kernel needed)")
    findings.add_argument("source", nargs="?", help="snapshot dir, file, manifests, kustomization or example name "
                                                   "(or --context / --in-cluster for a live cluster)")
    findings.add_argument("-n", "--namespace", action="append", help="only this namespace (repeatable)")
    _add_live_options(findings)
    findings.add_argument("--now", help="reference time for ages (RFC 3339); default: capture time")
    findings.add_argument("--json", action="store_true", help="print the findings document as JSON")
    _add_redaction_option(findings)
    findings.set_defaults(handler=cmd_findings)

    audit = commands.add_parser("audit", help="headless health audit: findings.json, findings.sarif, index.html, "
                                              "executed runbooks; exit 1 on failing findings")
    audit.add_argument("source", nargs="?", help="snapshot, file, manifests folder, kustomization or example name "
                                                "(or --context / --in-cluster for a live cluster)")
    audit.add_argument("--out", required=True, help="output folder (local, or s3:// gs:// abs:// through papermill)")
    audit.add_argument("-n", "--namespace", action="append", help="only this namespace (repeatable)")
    _add_live_options(audit)
    audit.add_argument("--fail-on", default="critical", choices=["critical", "warning", "info", "never"],
                       help="exit 1 when a finding is at or above this severity (default: critical)")
    audit.add_argument("--baseline", help="an earlier run's findings.json: mark findings new, persisting, resolved")
    audit.add_argument("--format", default="html,json,sarif", help="comma-separated: html,json,sarif")
    audit.add_argument("--timeout", type=int, default=600, help="seconds allowed per runbook cell (default: 600)")
    audit.add_argument("--now", help="reference time for ages (RFC 3339)")
    _add_redaction_option(audit)
    audit.set_defaults(handler=cmd_audit)

    rules = commands.add_parser("rules", help="show the rule catalogue")
    rules.add_argument("--markdown", action="store_true", help="print docs/rules.md")
    rules.set_defaults(handler=cmd_rules)

    examples = commands.add_parser("examples", help="list the bundled examples")
    examples.set_defaults(handler=cmd_examples)

    try:
        from .netpol import cli as netpol_cli
    except ImportError:  # the engine is optional at this layer
        netpol_cli = None
    if netpol_cli is not None:
        netpol_cli.add_parser(commands)
    from . import capture_cli, serve_cli

    serve_cli.add_parser(commands)
    _add_redaction_option(capture_cli.add_parser(commands))
    return parser


NO_REDACT_ENV = "RUNBOOKS_NO_REDACT"  # read by runbooks_lib.sources.load, inherited by notebook kernels


def _add_live_options(parser: argparse.ArgumentParser) -> None:
    live = parser.add_mutually_exclusive_group()
    live.add_argument("--context", help="read this kubeconfig context live (GET only, never Secrets)")
    live.add_argument("--in-cluster", action="store_true", help="read the cluster this pod runs in, live")
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    parser.add_argument("-A", "--all-namespaces", action="store_true", help="live: read every namespace")
    parser.add_argument("-l", "--selector", help="live: label selector for pods and workloads")


def _live_kwargs(args) -> dict:
    return {"context": getattr(args, "context", None), "in_cluster": getattr(args, "in_cluster", False),
            "kubeconfig": getattr(args, "kubeconfig", None), "all_namespaces": getattr(args, "all_namespaces", False),
            "selector": getattr(args, "selector", None)}


def _add_redaction_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-redact", action="store_true",
                        help="do not mask credentials found in logs, events, env and annotations (unsafe)")


def _apply_redaction_option(args) -> None:
    if getattr(args, "no_redact", False):
        os.environ[NO_REDACT_ENV] = "1"
        print("runbooks: warning: --no-redact: credentials in the source will appear in the output as they are",
              file=sys.stderr)


def _add_notebook_options(parser: argparse.ArgumentParser) -> None:
    _add_redaction_option(parser)
    parser.add_argument("--context", help="run against this kubeconfig context, live (sets the context parameter)")
    parser.add_argument("--kubeconfig", help="kubeconfig file for --context (default: $KUBECONFIG or ~/.kube/config)")
    parser.add_argument("--source", help=f"snapshot, manifests or example (default: {DEFAULT_EXAMPLE})")
    parser.add_argument("-n", "--namespace", help="only this namespace")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="set a notebook parameter (repeatable)")


def _notebook_parameters(book, args) -> dict:
    from .runner import coerce_parameters

    raw = list(args.parameter)
    if args.source:
        raw.append(("source", args.source))
    if getattr(args, "context", None):
        raw.append(("context", args.context))
    if args.namespace:
        raw.append(("namespace", args.namespace))
    return coerce_parameters(book, raw)


def _prepare_notebook_inputs(args) -> None:
    """Before a kernel or JupyterLab starts: a bad source or kubeconfig fails here, with one line;
    the kubeconfig is handed on as $KUBECONFIG, since they inherit this process's environment."""
    if args.source:
        from .sources import resolve_source

        resolve_source(args.source)
    if args.kubeconfig:
        file = Path(args.kubeconfig).expanduser()
        if not file.is_file():
            raise InputError(f"{args.kubeconfig}: no such kubeconfig file")
        os.environ["KUBECONFIG"] = str(file.resolve())


def cmd_list(args) -> int:
    from .runner import parameters, runbooks

    for book in runbooks():
        print(f"{book.name:<16} {book.title}")
        if book.summary:
            print(f"{'':<16} {book.summary}")
        for param in parameters(book):
            default = f" = {param.default}" if param.default else ""
            note = f"  # {param.help}" if param.help else ""
            print(f"{'':<18}-p {param.name} ({param.type}){default}{note}")
    return EXIT_OK


def cmd_run(args) -> int:
    from .runner import SharedKernel, runbook

    book = runbook(args.name)
    _prepare_notebook_inputs(args)
    # Started before anything slow (papermill's import, the parameters): it boots and imports
    # the runbook's libraries on one core while this process loads papermill on the other.
    with SharedKernel() as kernel:
        params = _notebook_parameters(book, args)
        output = f"{args.out.rstrip('/')}/{book.name}.ipynb"
        result = _execute_contained(book, output, params, args.timeout, kernel)
    print(f"wrote {result.notebook}" + (f" and {result.html}" if result.html else ""))
    return EXIT_OK


def _execute_contained(book, output, params, timeout, kernel):
    from papermill.exceptions import PapermillExecutionError

    from .runner import execute

    try:
        return execute(book, output, params, timeout=timeout, kernel=kernel)
    except PapermillExecutionError as exc:
        raise InputError(f"runbook {book.name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue} "
                         f"(the executed notebook is at {output})") from None


def cmd_open(args) -> int:
    from .runner import open_in_jupyterlab, prepare, runbook

    book = runbook(args.name)
    _prepare_notebook_inputs(args)
    params = _notebook_parameters(book, args)
    prepared = prepare(book, Path(args.workdir) / f"{book.name}.ipynb", params)
    print(f"prepared {prepared}")
    if args.no_launch:
        return EXIT_OK
    return open_in_jupyterlab(prepared)


def cmd_findings(args) -> int:
    from .findings_json import findings_document
    from .registry import run_detectors
    from .sources import load
    from .textreport import findings_table, severity_line

    state = load(args.source, namespace=args.namespace, now=args.now, **_live_kwargs(args))
    result = run_detectors(state)
    for warning in state.warnings:  # stderr in both modes: --json output stays pure JSON
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        json.dump(findings_document(state, result), sys.stdout, indent=2, default=str)
        print()
        return EXIT_OK
    print(f"{state.source}: {len(result.findings)} findings ({severity_line(result.findings)})")
    if result.rules_skipped:
        print(f"skipped rules: {', '.join(sorted(result.rules_skipped))} (this source has no runtime data)")
    print(findings_table(result.findings))
    return EXIT_OK


def cmd_audit(args) -> int:
    from .audit import AuditOptions, audit
    from .textreport import severity_line

    options = AuditOptions(source=args.source, live=_live_kwargs(args), out=args.out, namespaces=args.namespace,
                           fail_on=args.fail_on,
                           baseline=args.baseline, formats=tuple(f.strip() for f in args.format.split(",") if f.strip()),
                           timeout=args.timeout, now=args.now)
    result = audit(options, log=lambda line: print(line, file=sys.stderr))
    findings = result.detection.findings
    print(f"{result.state.source}: {len(findings)} findings ({severity_line(findings)})")
    for run in result.runs:
        if run.status not in ("ok", "skipped"):
            where = f" in cell {run.cell}" if run.cell is not None else ""
            print(f"runbook {run.name} {run.status}{where}: {run.error}", file=sys.stderr)
    if result.baseline:
        diff = result.baseline
        print(f"since the baseline: {len(diff.new)} new, {len(diff.persisting)} persisting, {len(diff.resolved)} resolved")
    for path in result.written:
        print(f"wrote {path}")
    return result.exit_code


def cmd_rules(args) -> int:
    from .catalogue import catalogue_markdown, catalogue_table

    print(catalogue_markdown() if args.markdown else catalogue_table(), end="")
    return EXIT_OK


def cmd_examples(args) -> int:
    from .resources import example_names, example_path

    for name in example_names():
        print(f"{name:<40} {example_path(name)}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
