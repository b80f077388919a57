"""`runbooks serve SNAPSHOT`: the command line of the read-only API server (serve.py).

Wired into the main parser with ``serve_cli.add_parser(subparsers)``; the parser's
``handler`` is ``run``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import yaml

from .errors import InputError
from .state import RUNTIME, ClusterState

KUBECONFIG_MARKER = "# Written by `runbooks serve`"
DEFAULT_CONTEXT = "runbooks-serve"
READ_ONLY_USER = "runbooks-serve-read-only"

_EPILOG = """\
examples:
  runbooks serve staging-incident --port 8080
  kubectl --server http://127.0.0.1:8080 get pods -A
  runbooks serve SNAPSHOT_DIR --kubeconfig /tmp/replay.kubeconfig
  KUBECONFIG=/tmp/replay.kubeconfig kubectl describe pod NAME -n NAMESPACE

Only GET is served: get, list, pod logs, discovery. Writes answer 405, watch answers
405, Secrets are never served. Ages in `kubectl get` are measured at the snapshot's
capture time; see docs/serve.md for what is served and its limits.
"""


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "serve", help="serve a snapshot as a read-only Kubernetes API, for kubectl and API clients",
        description="Serve a snapshot as a read-only Kubernetes API, so a post-incident review can use "
                    "kubectl get/describe/logs/events and API clients against the captured cluster.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    configure(parser)
    return parser


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SNAPSHOT", help="snapshot directory, file or bundled example name")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: 0, any free port)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1; anything else exposes the snapshot "
                             "without authentication)")
    parser.add_argument("--kubeconfig", metavar="PATH",
                        help="also write a kubeconfig for the server here, with a context named after the "
                             "snapshot's (refuses to overwrite a kubeconfig it did not write)")
    parser.add_argument("--now", help="reference time for ages in tables (RFC 3339); default: capture time")
    parser.add_argument("-v", "--verbose", action="store_true", help="print one line per request on stderr")
    parser.set_defaults(handler=run, run=run)


def run(args: argparse.Namespace) -> int:
    from .serve import bind, bound_url, faults_from_env, is_loopback, make_app, serve_forever
    from .sources import load

    if not 0 <= args.port <= 65535:
        raise InputError(f"--port {args.port}: must be between 0 and 65535")
    faults = faults_from_env()
    state = load(args.source, now=args.now)
    if RUNTIME not in state.capabilities:
        # pods standing in for templates would look like a cluster that never ran
        raise InputError(f"{state.source}: holds manifests, not a capture of a running cluster; nothing to replay "
                         f"(serve a snapshot: kubectl cluster-info dump --output-directory DIR)")
    for warning in state.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not is_loopback(args.host):
        print(f"warning: listening on {args.host}: anyone who can reach this port can read the snapshot "
              f"(pod specs, environment values, logs); there is no authentication", file=sys.stderr)
    if faults:
        print(f"warning: {len(faults)} test fault(s) injected from RUNBOOKS_SERVE_FAULTS", file=sys.stderr)
    try:
        sockets = bind(args.host, args.port)
    except OSError as exc:
        raise InputError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    url = client_url(bound_url(sockets, args.host))
    context = None
    if args.kubeconfig:
        context = write_kubeconfig(Path(args.kubeconfig), url, state)
    for line in banner(state, url, args.kubeconfig, context):
        print(line, flush=True)
    request_log = (lambda line: print(line, file=sys.stderr, flush=True)) if args.verbose else None
    app = make_app(state, faults, request_log)
    try:
        asyncio.run(serve_forever(app, sockets))
    except KeyboardInterrupt:
        pass
    print("stopped", file=sys.stderr)
    return 0


def client_url(url: str) -> str:
    """The URL a local client should use: a wildcard bind address is reached through loopback."""
    for wildcard in ("//0.0.0.0:", "//[::]:"):
        if wildcard in url:
            return url.replace(wildcard, "//127.0.0.1:" if "0.0.0.0" in wildcard else "//[::1]:")
    return url


def banner(state: ClusterState, url: str, kubeconfig: str | None, context: str | None) -> list[str]:
    captured = f"captured {state.captured_at:%Y-%m-%dT%H:%M:%SZ}" if state.captured_at else "capture time unknown"
    lines = [f"serving {state.source} ({captured}) read-only at {url}",
             f"  kubectl --server {url} get pods -A"]
    if kubeconfig:
        lines += [f"  kubectl --kubeconfig {kubeconfig} get pods -A",
                  f"  export KUBECONFIG={kubeconfig}   # context {context}"]
    lines.append("press Ctrl-C to stop")
    return lines


def kubeconfig_document(url: str, context: str, cluster: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"server": url}}],
        "users": [{"name": READ_ONLY_USER, "user": {}}],
        "contexts": [{"name": context, "context": {"cluster": cluster, "user": READ_ONLY_USER}}],
        "current-context": context,
        "preferences": {},
    }


def write_kubeconfig(path: Path, url: str, state: ClusterState) -> str:
    """Write a kubeconfig pointing at ``url``; the context is named after the snapshot's. Returns its name."""
    if path.exists():
        try:
            ours = path.read_text(encoding="utf-8", errors="replace").startswith(KUBECONFIG_MARKER)
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
        if not ours and (path.is_dir() or path.stat().st_size):
            raise InputError(f"{path}: exists and was not written by runbooks serve; refusing to overwrite it "
                             f"(choose another --kubeconfig path)")
    context = state.context or DEFAULT_CONTEXT
    cluster = state.cluster or context
    text = (f"{KUBECONFIG_MARKER} for {state.source}: a read-only replay, safe to delete.\n"
            + yaml.safe_dump(kubeconfig_document(url, context, cluster), sort_keys=False))
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot write kubeconfig: {exc.strerror or exc}") from None
    return context


def main(argv: list[str] | None = None) -> int:
    """``python -m runbooks_lib.serve_cli SNAPSHOT ...``: ``runbooks serve``, same errors and exit codes."""
    from .cli import main as runbooks_main

    return runbooks_main(["serve", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
