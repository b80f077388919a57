"""benchmarks/generate.py at a small size: deterministic, well-formed, and its findings are the ones it promises.

The benchmark (benchmarks/run.py) checks the findings count of big snapshots; this keeps
the generator honest where it is cheap to check. Correctness only: nothing here is timed.
"""

from __future__ import annotations

import filecmp
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import kubernetes_validate
import pytest

from runbooks_lib import load
from runbooks_lib.registry import load_detectors, run_detectors

GENERATE = Path(__file__).resolve().parents[1] / "benchmarks" / "generate.py"
PODS = 200
K8S_VERSION = "1.30.0"


def generate(out: Path, seed: int, pods: int = PODS) -> Path:
    subprocess.run([sys.executable, str(GENERATE), "--pods", str(pods), "--namespaces", "2", "--policies", "24",
                    "--events", str(pods * 8), "--seed", str(seed), str(out)], check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("bench") / "snapshot", seed=7)


def all_files(root: Path) -> list[Path]:
    return sorted(path.relative_to(root) for path in root.rglob("*") if path.is_file())


def test_same_seed_same_bytes_other_seed_other_cluster(snapshot, tmp_path):
    again = generate(tmp_path / "again", seed=7)
    files = all_files(snapshot)
    assert files == all_files(again)
    _, mismatch, errors = filecmp.cmpfiles(snapshot, again, [str(f) for f in files], shallow=False)
    assert (mismatch, errors) == ([], [])

    other = generate(tmp_path / "other", seed=8)
    pods = json.loads((snapshot / "storefront" / "pods.json").read_text())["items"]
    other_pods = json.loads((other / "storefront" / "pods.json").read_text())["items"]
    assert {p["metadata"]["name"] for p in pods}.isdisjoint(p["metadata"]["name"] for p in other_pods)


def test_it_writes_what_it_was_asked_for(snapshot):
    written = json.loads((snapshot / "generator.json").read_text())["written"]
    state = load(str(snapshot))
    assert written["pods"] == len(state.of_kind("Pod")) == PODS
    assert written["events"] == len(state.of_kind("Event")) == PODS * 8
    assert written["networkpolicies"] == len(state.of_kind("NetworkPolicy")) == 24
    shapes = Counter("events.k8s.io" if e.get("eventTime") else "core/v1" for e in state.of_kind("Event"))
    assert shapes["events.k8s.io"] and shapes["core/v1"]
    assert any((e.get("count") or 0) > 1 for e in state.of_kind("Event"))  # core/v1 repeats
    assert any(e.get("series") for e in state.of_kind("Event"))  # events.k8s.io repeats
    big = [path for path in snapshot.rglob("logs*.txt") if path.stat().st_size > 1024 * 1024]
    assert big, "some container logs are megabytes long"


def test_it_loads_without_a_warning_and_matches_the_schema(snapshot):
    state = load(str(snapshot))
    assert (state.warnings, state.errors) == ([], [])
    errors = []
    for path in sorted(snapshot.rglob("*.json")):
        document = json.loads(path.read_text())
        if not isinstance(document.get("items"), list) or document["apiVersion"].startswith("metrics.k8s.io"):
            continue  # metrics.k8s.io has no schema in the Kubernetes OpenAPI document
        kind = document["kind"].removesuffix("List")
        # Each list's first items, and every pod that is not simply running: the failing shapes.
        unusual = [obj for obj in document["items"] if kind == "Pod" and obj["status"].get("phase") != "Running"
                   or any(not s.get("ready") for s in obj.get("status", {}).get("containerStatuses", []))]
        for obj in document["items"][:2] + unusual:
            try:
                kubernetes_validate.validate({**obj, "kind": kind, "apiVersion": document["apiVersion"]},
                                             K8S_VERSION, strict=True)
            except kubernetes_validate.ValidationError as error:
                errors.append(f"{path.relative_to(snapshot)}: {obj['metadata']['name']}: {error.message}")
    assert errors == []


def test_findings_per_rule_are_the_expected_ones(snapshot):
    expected = json.loads((snapshot / "expected-findings.json").read_text())
    assert set(expected) == set(load_detectors())  # every failure class the detectors know
    assert all(count >= 1 for count in expected.values())
    result = run_detectors(load(str(snapshot)))
    assert result.errors == []
    assert dict(Counter(f.rule for f in result.findings)) == expected


def test_it_refuses_to_overwrite_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    done = subprocess.run([sys.executable, str(GENERATE), "--pods", "100", str(tmp_path)], capture_output=True,
                          text=True)
    assert done.returncode != 0 and "not overwriting" in done.stderr
    assert (tmp_path / "precious.txt").read_text() == "keep me"
