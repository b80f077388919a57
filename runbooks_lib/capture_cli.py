"""``runbooks capture``: read a live cluster (GET only) into a snapshot folder or ``.tar.gz``."""

from __future__ import annotations

import argparse
import sys

from .sources.live import (DEFAULT_BUDGET_SECONDS, DEFAULT_LOG_TAIL_LINES, DEFAULT_REQUEST_TIMEOUT,
                           require_live_choice)

EXIT_OK = 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "capture", help="read a live cluster (GET only, never Secrets) into a snapshot",
        description="Read a live cluster through its API, GET requests only, and write the snapshot format "
                    "(docs/snapshot-format.md). Resources that cannot be read are recorded in snapshot.json.")
    parser.add_argument("out", help="output folder (must not exist, or be empty); with --tar, OUT.tar.gz")
    cluster = parser.add_mutually_exclusive_group()
    cluster.add_argument("--context", help="kubeconfig context to read (see `kubectl config get-contexts`)")
    cluster.add_argument("--in-cluster", action="store_true", help="use the pod's service account")
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", action="append",
                       help="namespace to read (repeatable or comma-separated; default: the context's)")
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="read every namespace")
    parser.add_argument("-l", "--selector", help="label selector for pods and workloads, e.g. app=web")
    parser.add_argument("--tar", action="store_true", help="write OUT.tar.gz instead of a folder")
    parser.add_argument("--log-tail-lines", type=_positive_int, default=DEFAULT_LOG_TAIL_LINES,
                        help=f"last lines of each container log (default: {DEFAULT_LOG_TAIL_LINES})")
    parser.add_argument("--budget", type=_positive_float, default=DEFAULT_BUDGET_SECONDS,
                        help=f"seconds allowed for the whole capture (default: {DEFAULT_BUDGET_SECONDS:g})")
    parser.add_argument("--request-timeout", type=_positive_float, default=DEFAULT_REQUEST_TIMEOUT[1],
                        help=f"read timeout per request, seconds (default: {DEFAULT_REQUEST_TIMEOUT[1]:g})")
    parser.set_defaults(handler=run)
    return parser


def run(args) -> int:
    from .capture import capture

    require_live_choice(args.context, args.in_cluster)
    with ProgressReporter() as progress:
        state, written = capture(
            args.out, tar=args.tar, context=args.context, in_cluster=args.in_cluster, kubeconfig=args.kubeconfig,
            namespaces=args.namespace, all_namespaces=args.all_namespaces, selector=args.selector,
            log_tail_lines=args.log_tail_lines, budget_seconds=args.budget,
            request_timeout=(DEFAULT_REQUEST_TIMEOUT[0], args.request_timeout), progress=progress)
    for warning in state.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    objects = sum(len(items) for items in state.objects.values())
    pods_with_logs = len({(ns, pod) for ns, pod, _previous in state.logs.pods()})
    print(f"wrote {written.root}: {objects} objects in {len(state.namespaces_read)} namespaces, "
          f"logs of {pods_with_logs} pods ({written.describe()})")
    if state.partial:
        print(f"partial: {len(state.errors)} resources could not be read (listed in snapshot.json):", file=sys.stderr)
        for error in state.errors:
            where = f" in {error.namespace}" if error.namespace else ""
            code = f"{error.code} " if error.code else ""
            print(f"  {error.resource}{where}: {code}{error.reason}", file=sys.stderr)
    return EXIT_OK


class ProgressReporter:
    """A tqdm bar on a terminal; otherwise plain lines, about one per tenth of the work."""

    def __enter__(self):
        self.bar = None
        self.last_tenth = -1
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=1, unit="req", file=sys.stderr, leave=False, dynamic_ncols=True)
        return self

    def __call__(self, done: int, total: int, message: str) -> None:
        if self.bar is not None:
            self.bar.total = total
            self.bar.update(done - self.bar.n)
            self.bar.set_description_str(message[:40], refresh=False)
            return
        tenth = done * 10 // max(total, 1)
        if tenth != self.last_tenth or not message.startswith("logs "):
            self.last_tenth = tenth
            print(f"capture [{done}/{total}] {message}", file=sys.stderr, flush=True)

    def __exit__(self, *exc_info) -> None:
        if self.bar is not None:
            self.bar.close()


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value

