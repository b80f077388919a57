"""``runbooks netpol``: may one pod connect to another on a port, and why.

    runbooks netpol SOURCE --from NS/POD --to NS/POD --port PORT [--protocol TCP|UDP|SCTP] [--json]

Exit 0 with an answer either way (ALLOWED or DENIED); bad input or an unknown pod
raises InputError, which the main CLI turns into one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import InputError
from .protocols import PROTOCOLS

_EPILOG = """\
references: NS/POD, a workload as NS/NAME or NS/Deployment/NAME (for manifests, whose pods are
stand-ins), or an IP address (--to 10.20.0.3 checks egress to an address outside the cluster).
--port takes a number or a port name declared by the destination pod."""


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "netpol", help="may one pod connect to another on a port, and why (NetworkPolicy)",
        description="Evaluate NetworkPolicies for one connection: the source's egress and the "
                    "destination's ingress, each with the policies that isolate it and the rule that allows it.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    configure(parser)
    return parser


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SOURCE",
                        help="snapshot directory, manifest file/directory, kustomization or bundled example")
    parser.add_argument("--from", dest="from_ref", required=True, metavar="NS/POD", help="the connecting pod")
    parser.add_argument("--to", dest="to_ref", required=True, metavar="NS/POD", help="the pod (or IP) connected to")
    parser.add_argument("--port", required=True, metavar="PORT", help="destination port number or name")
    parser.add_argument("--protocol", default="TCP", type=str.upper, choices=PROTOCOLS,
                        help="TCP (default), UDP or SCTP")
    parser.add_argument("--json", action="store_true",
                        help='print {"allowed": bool, "egress": {...}, "ingress": {...}}')
    parser.set_defaults(handler=run, run=run)  # the main CLI dispatches on handler


def run(args: argparse.Namespace) -> int:
    from ..sources import load
    from .engine import PolicyEngine

    port = _port(args.port)
    engine = PolicyEngine.from_state(load(args.source))
    verdict = engine.check(args.from_ref, args.to_ref, port, args.protocol)
    if args.json:
        print(json.dumps(verdict.to_dict(), indent=2))
    else:
        print(verdict.explain())
    return 0


def _port(text: str) -> int | str:
    value = str(text).strip()
    if value.isdigit():
        number = int(value)
        if not 1 <= number <= 65535:
            raise InputError(f"--port {value}: not in 1-65535")
        return number
    if not value or not value.replace("-", "").isalnum():
        raise InputError(f"--port {value!r}: give a port number (1-65535) or a container port name")
    return value


def main(argv: list[str] | None = None) -> int:
    """Standalone entry (``python -m runbooks_lib.netpol.cli``): ``runbooks netpol``, same errors and exit codes."""
    from ..cli import main as runbooks_main

    return runbooks_main(["netpol", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
