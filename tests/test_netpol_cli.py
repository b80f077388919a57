"""``runbooks netpol``: answers, JSON, and the exit-2 contract for bad input."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runbooks_lib.errors import InputError
from runbooks_lib.netpol import cli

MANIFEST = textwrap.dedent("""\
    apiVersion: v1
    kind: Namespace
    metadata: {name: staging, labels: {env: staging}}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: keycloak, namespace: staging}
    spec:
      replicas: 2
      selector: {matchLabels: {app: keycloak}}
      template:
        metadata: {labels: {app: keycloak}}
        spec:
          containers:
          - name: keycloak
            image: quay.io/keycloak/keycloak:26.0
            ports: [{name: jgroups, containerPort: 7800}, {name: management, containerPort: 9000}]
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: toolbox, namespace: staging, labels: {app: toolbox}}
    spec: {containers: [{name: c, image: busybox}]}
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: keycloak, namespace: staging}
    spec:
      podSelector: {matchLabels: {app: keycloak}}
      policyTypes: [Ingress, Egress]
      ingress:
      - from: [{podSelector: {matchLabels: {app: keycloak}}}]
        ports: [{port: 7800}, {port: 9000}]
      egress:
      - to: [{ipBlock: {cidr: 10.20.0.0/16}}]
        ports: [{port: 6379}]
    """)


@pytest.fixture()
def manifest(tmp_path: Path) -> str:
    path = tmp_path / "cluster.yaml"
    path.write_text(MANIFEST)
    return str(path)


def harness(argv: list[str]) -> int:
    """A tiny main CLI: the subcommand from add_parser, InputError -> stderr + exit 2."""
    parser = argparse.ArgumentParser(prog="runbooks")
    cli.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except InputError as exc:
        print(f"runbooks: {exc}", file=sys.stderr)
        return exc.exit_code


def test_denied_is_an_answer(manifest, capsys) -> None:
    code = harness(["netpol", manifest, "--from", "staging/keycloak", "--to", "staging/Deployment/keycloak",
                    "--port", "7800"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("DENIED: staging/keycloak-template-0 -> staging/keycloak-template-1 on 7800/TCP")
    assert "egress  DENIED" in out and "ingress allowed" in out
    assert "allowed by staging/keycloak ingress[0] from[0] ports[0]" in out


def test_allowed_with_named_port_and_protocol(manifest, capsys) -> None:
    code = harness(["netpol", manifest, "--from", "staging/toolbox", "--to", "staging/keycloak", "--port", "management",
                    "--protocol", "udp"])
    assert code == 2  # management is a TCP port
    assert "not a named port" in capsys.readouterr().err
    code = harness(["netpol", manifest, "--from", "staging/keycloak", "--to", "10.20.0.3", "--port", "6379"])
    assert code == 0 and capsys.readouterr().out.startswith("ALLOWED: staging/keycloak-template-0 -> 10.20.0.3")


def test_json(manifest, capsys) -> None:
    code = harness(["netpol", manifest, "--from", "staging/toolbox", "--to", "staging/keycloak-template-0",
                    "--port", "9000", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["allowed"] is False
    assert data["egress"]["allowed"] is True and data["egress"]["isolated"] is False
    assert data["ingress"]["allowed"] is False and data["ingress"]["isolating_policies"] == ["staging/keycloak"]
    assert data["ingress"]["explanation"]


@pytest.mark.parametrize("argv, message", [
    (["--from", "staging/keycloack", "--to", "staging/toolbox", "--port", "80"], "staging/keycloak"),
    (["--from", "staging/toolbox", "--to", "nowhere/x", "--port", "80"], "no pod or workload 'nowhere/x'"),
    (["--from", "staging/toolbox", "--to", "staging/keycloak", "--port", "70000"], "not in 1-65535"),
    (["--from", "staging/toolbox", "--to", "staging/keycloak", "--port", "a b"], "port number"),
])
def test_bad_input_exits_2_with_one_line(manifest, capsys, argv, message) -> None:
    code = harness(["netpol", manifest, *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1


def test_missing_source_exits_2(capsys, tmp_path) -> None:
    assert harness(["netpol", str(tmp_path / "nope.yaml"), "--from", "a/b", "--to", "a/c", "--port", "1"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_protocol_choices(manifest) -> None:
    with pytest.raises(SystemExit) as exit_:
        harness(["netpol", manifest, "--from", "a/b", "--to", "a/c", "--port", "1", "--protocol", "icmp"])
    assert exit_.value.code == 2


def test_module_entry_point(manifest) -> None:
    result = subprocess.run([sys.executable, "-m", "runbooks_lib.netpol.cli", manifest, "--from", "staging/toolbox",
                             "--to", "staging/ghost", "--port", "80"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("runbooks: error: no pod or workload 'staging/ghost'")
    assert result.stdout == ""


@pytest.mark.skipif(not (Path(__file__).resolve().parents[1] / "runbooks_lib" / "cli.py").is_file(),
                    reason="the main CLI (runbooks_lib/cli.py) is not there yet")
def test_main_cli_netpol(manifest) -> None:
    result = subprocess.run([sys.executable, "-m", "runbooks_lib.cli", "netpol", manifest, "--from", "staging/keycloak",
                             "--to", "staging/keycloak", "--port", "7800", "--json"],
                            capture_output=True, text=True, timeout=120)
    if result.returncode == 2 and "invalid choice: 'netpol'" in result.stderr:
        pytest.skip("the main CLI does not register the netpol subcommand yet")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["allowed"] is False
