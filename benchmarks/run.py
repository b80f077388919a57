#!/usr/bin/env python3
"""Benchmark: each stage of runbooks on generated snapshots, against a JSON-parse baseline.

    python benchmarks/run.py [--sizes 1000,10000,50000] [--events-per-pod 10] [--policies-per-1k 100]
                             [--workdir DIR] [--seed 1] [--skip e2e,audit] [--json results.json]

For each size it generates (or reuses) a snapshot with benchmarks/generate.py and prints
one table: wall time, CPU time, the CPU ratio to the baseline and peak memory of

- baseline: every JSON file of the snapshot parsed with orjson, objects kept;
- load: ``runbooks_lib.load``; frames: every ``state.frames`` table;
- each detector, in registry order on one state (as ``run_detectors`` runs them), and
  ``run_detectors`` alone in a fresh process;
- the NetworkPolicy class matrix (``PolicyEngine.from_state(state).class_matrix(port)``);
- ``runbooks findings``, ``runbooks run triage`` (kernel start included) and ``runbooks audit``
  end to end, on the bundled example and on the snapshot.

How it measures: every stage runs in a fresh Python process (``run.py --stage``), so no
stage inherits another's caches or heap. In-process stages time themselves (perf_counter,
process_time) and report the peak RSS reached while the stage ran: Linux's VmHWM, reset
through /proc/self/clear_refs just before the stage (so it is the whole process's peak,
interpreter and prerequisites included, during that stage). End-to-end stages run the
command under a measuring process and report the command's wall time, and the CPU time
and largest peak RSS of it and every process it waited for (the notebook kernel too),
from getrusage(RUSAGE_CHILDREN). Ratios use CPU time: other processes on a shared machine
inflate wall time, not CPU time.

It also checks the findings of ``runbooks findings`` against OUT/expected-findings.json
and prints OK or MISMATCH per size. Not a test: a measurement (docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
EXAMPLE = "staging-incident"
MATRIX_PORT = 8080
TARGETS = {"pipeline_ratio": 2.0, "matrix_seconds": 3.0, "peak_mb": 1024, "triage_example": 3.0,
           "audit_example": 15.0}


# --------------------------------------------------------------------------- measuring, inside a stage process

def _reset_peak() -> None:
    try:  # "5" resets the peak RSS (VmHWM) to the current RSS (Linux >= 4.0)
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # never reset: since process start


class Timer:
    """Wall and CPU time, and peak RSS, of one block of code."""

    def __enter__(self) -> "Timer":
        _reset_peak()
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu
        self.peak = _peak_mb()

    def result(self, **extra) -> dict:
        return {"wall": self.wall, "cpu": self.cpu, "peak_mb": self.peak, **extra}


def stage_baseline(snapshot: Path) -> dict:
    import orjson

    files = sorted(snapshot.rglob("*.json"))
    with Timer() as timer:
        parsed = [orjson.loads(path.read_bytes()) for path in files]
    return timer.result(files=len(files), bytes=sum(path.stat().st_size for path in files), kept=len(parsed))


def _load(snapshot: Path):
    import runbooks_lib
    import runbooks_lib.frames  # noqa: F401 - imports are start-up cost, not the stage's
    import runbooks_lib.sources  # noqa: F401
    from runbooks_lib.registry import load_detectors

    load_detectors()
    return runbooks_lib.load(str(snapshot))


FRAME_NAMES = ("pods", "containers", "probes", "ports", "events", "workloads", "replicasets", "services",
               "service_ports", "endpoints", "nodes", "pod_metrics", "resource_usage", "restart_timeline")


def stage_load(snapshot: Path) -> dict:
    import runbooks_lib.frames  # noqa: F401
    import runbooks_lib.sources  # noqa: F401

    import runbooks_lib

    with Timer() as timer:
        state = runbooks_lib.load(str(snapshot))
    return timer.result(objects=sum(len(items) for items in state.objects.values()))


def stage_frames(snapshot: Path) -> dict:
    state = _load(snapshot)
    with Timer() as timer:
        rows = {name: len(getattr(state.frames, name)) for name in FRAME_NAMES}
    return timer.result(rows=rows)


def stage_detectors(snapshot: Path) -> dict:
    """Each detector in registry order on one state, frames built first (they are the frames stage)."""
    from runbooks_lib.registry import load_detectors

    state = _load(snapshot)
    for name in FRAME_NAMES:
        getattr(state.frames, name)
    each = {}
    for rule, registered in load_detectors().items():
        if registered.rule.needs - state.capabilities:
            continue
        with Timer() as timer:
            try:
                found = len(list(registered.detect(state)))
            except Exception as exc:  # noqa: BLE001 - a failing detector is measured, not fatal
                found = f"{type(exc).__name__}: {exc}"
        each[rule] = timer.result(findings=found)
    return {"detectors": each}


def stage_all_detectors(snapshot: Path) -> dict:
    """run_detectors alone after load, frames built lazily by the detectors that need them."""
    from runbooks_lib.registry import run_detectors

    state = _load(snapshot)
    with Timer() as timer:
        result = run_detectors(state)
    return timer.result(findings=len(result.findings), errors=result.errors)


def stage_pipeline(snapshot: Path) -> dict:
    """load + frames + run_detectors in one process, as `runbooks findings` does after start-up."""
    import runbooks_lib.frames  # noqa: F401
    import runbooks_lib.sources  # noqa: F401

    import runbooks_lib
    from runbooks_lib.registry import load_detectors, run_detectors

    load_detectors()
    with Timer() as timer:
        state = runbooks_lib.load(str(snapshot))
        for name in FRAME_NAMES:
            getattr(state.frames, name)
        result = run_detectors(state)
    return timer.result(findings=len(result.findings))


def stage_matrix(snapshot: Path) -> dict:
    from runbooks_lib.netpol import PolicyEngine

    state = _load(snapshot)
    with Timer() as timer:
        engine = PolicyEngine.from_state(state)
        engine.class_matrix(MATRIX_PORT)
    return timer.result(classes=len(engine.class_index.classes), policies=len(engine.policies),
                        pods=len(engine.pods))


def stage_command(command: list[str]) -> dict:
    """Run a command; its wall time, and CPU and peak RSS of it and every process it waited for."""
    with tempfile.TemporaryDirectory(prefix="runbooks-bench-") as scratch:
        command = [part.replace("{scratch}", scratch) for part in command]
        started = time.perf_counter()
        with open(Path(scratch) / "stdout", "wb") as out, open(Path(scratch) / "stderr", "wb") as err:
            code = subprocess.call(command, stdout=out, stderr=err, cwd=scratch)
        wall = time.perf_counter() - started
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        stdout = (Path(scratch) / "stdout").read_bytes()
        stderr = (Path(scratch) / "stderr").read_text(errors="replace")
    result = {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024,
              "exit": code, "stderr_tail": stderr[-400:]}
    if "findings" in command and "--json" in command:
        try:
            document = json.loads(stdout)
            result["by_rule"] = dict(Counter(f["rule"] for f in document["findings"]))
        except (ValueError, KeyError):
            result["by_rule"] = None
    return result


STAGES = {"baseline": stage_baseline, "load": stage_load, "frames": stage_frames, "detectors": stage_detectors,
          "all-detectors": stage_all_detectors, "pipeline": stage_pipeline, "matrix": stage_matrix}


# --------------------------------------------------------------------------- driving, in the parent process

def run_stage(stage: str, argument: str, timeout: int) -> dict:
    """One stage in a fresh interpreter; its JSON result, or the failure."""
    child = [sys.executable, str(Path(__file__).resolve()), "--stage", stage, "--", argument] if stage != "command" \
        else [sys.executable, str(Path(__file__).resolve()), "--stage", "command", "--", *json.loads(argument)]
    try:
        done = subprocess.run(child, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout}s"}
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def ensure_snapshot(workdir: Path, pods: int, events: int, policies: int, seed: int) -> Path:
    out = workdir / f"snapshot-{pods}p-{events}e-{policies}np-s{seed}"
    meta = out / "generator.json"
    if meta.is_file():
        written = json.loads(meta.read_text())
        if written.get("written") and written["arguments"]["pods"] == pods:
            return out
    print(f"generating {out} ...", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, str(HERE / "generate.py"), "--pods", str(pods), "--events", str(events),
                    "--policies", str(policies), "--seed", str(seed), str(out)], check=True)
    return out


def runbooks_command(*args: str) -> list[str]:
    """The installed ``runbooks`` script, as people run it (``python -m runbooks_lib.cli`` without one)."""
    script = Path(sys.executable).with_name("runbooks")
    return [str(script), *args] if script.is_file() else [sys.executable, "-m", "runbooks_lib.cli", *args]


def measure_size(pods: int, args: argparse.Namespace) -> dict:
    events = pods * args.events_per_pod
    policies = pods * args.policies_per_1k // 1000
    snapshot = ensure_snapshot(args.workdir, pods, events, policies, args.seed)
    skip = set(args.skip)
    results: dict = {"pods": pods, "events": events, "policies": policies, "snapshot": str(snapshot),
                     "expected": json.loads((snapshot / "expected-findings.json").read_text())}

    def stage(key: str, name: str, argument: str) -> None:
        if key in skip:
            return
        print(f"  {pods} pods: {key} ...", file=sys.stderr, flush=True)
        results[key] = run_stage(name, argument, args.timeout)

    for key in ("baseline", "load", "frames", "detectors", "all-detectors", "pipeline", "matrix"):
        stage(key, key, str(snapshot))
    commands = {
        "findings": runbooks_command("findings", str(snapshot), "--json"),
        "triage-example": runbooks_command("run", "triage", "--source", EXAMPLE, "--out", "{scratch}/report"),
        "triage": runbooks_command("run", "triage", "--source", str(snapshot), "--out", "{scratch}/report"),
        "audit-example": runbooks_command("audit", EXAMPLE, "--out", "{scratch}/audit"),
        "audit": runbooks_command("audit", str(snapshot), "--out", "{scratch}/audit"),
    }
    for key, command in commands.items():
        if key in skip or ("e2e" in skip and key != "findings") or (key.endswith("-example") and args.example_once
                                                                     and args.example_done):
            continue
        stage(key, "command", json.dumps(command))
    args.example_done = True
    return results


# --------------------------------------------------------------------------- reporting

def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_table(result: dict) -> None:
    base = result.get("baseline", {})
    base_cpu = base.get("cpu")
    print(f"\n=== {result['pods']} pods, {result['events']} events, {result['policies']} NetworkPolicies "
          f"({result['snapshot']})")
    if "error" in base or not base:
        print(f"baseline: {base.get('error', 'skipped')}")
    else:
        print(f"baseline: orjson parse of {base['files']} JSON files ({base['bytes'] / 1e6:.0f} MB): "
              f"{base['wall']:.2f}s wall, {base['cpu']:.2f}s CPU, peak {base['peak_mb']:.0f} MB")
    print(f"{'stage':44} {'wall s':>8} {'CPU s':>8} {'x base':>7} {'peak MB':>8}  note")

    def row(label: str, data: dict | None, note: str = "") -> None:
        if not data:
            return
        if "error" in data:
            print(f"{label:44} {'error: ' + data['error']}")
            return
        ratio = data["cpu"] / base_cpu if base_cpu else None
        print(f"{label:44} {_fmt(data['wall']):>8} {_fmt(data['cpu']):>8} {_fmt(ratio):>7} "
              f"{_fmt(data['peak_mb'], 0):>8}  {note}")

    row("load", result.get("load"), f"{result.get('load', {}).get('objects', '')} objects")
    row("frames (all tables)", result.get("frames"))
    for rule, data in (result.get("detectors") or {}).get("detectors", {}).items():
        row(f"  detector {rule}", data, f"{data.get('findings')} findings")
    row("all detectors (run_detectors, fresh process)", result.get("all-detectors"),
        f"{result.get('all-detectors', {}).get('findings', '')} findings")
    pipeline = result.get("pipeline")
    if pipeline and "error" not in pipeline and base_cpu:
        verdict = "OK" if pipeline["cpu"] / base_cpu <= TARGETS["pipeline_ratio"] else "over"
        row("load + frames + all detectors", pipeline, f"target <= {TARGETS['pipeline_ratio']}x: {verdict}")
        peak = "OK" if pipeline["peak_mb"] <= TARGETS["peak_mb"] else "over"
        print(f"{'':44} {'':>8} {'':>8} {'':>7} {'':>8}  peak target <= {TARGETS['peak_mb']} MB: {peak}")
    else:
        row("load + frames + all detectors", pipeline)
    matrix = result.get("matrix")
    if matrix and "error" not in matrix:
        verdict = "OK" if matrix["wall"] <= TARGETS["matrix_seconds"] else "over"
        row(f"netpol class matrix, port {MATRIX_PORT}", matrix,
            f"{matrix['classes']} classes, {matrix['policies']} policies; target <= 3s: {verdict}")
    else:
        row(f"netpol class matrix, port {MATRIX_PORT}", matrix)
    labels = {"findings": "runbooks findings --json (e2e)", "triage-example": f"runbooks run triage ({EXAMPLE})",
              "triage": "runbooks run triage (this snapshot)", "audit-example": f"runbooks audit ({EXAMPLE})",
              "audit": "runbooks audit (this snapshot)"}
    for key, label in labels.items():
        data = result.get(key)
        note = ""
        if data and "error" not in data:
            note = f"exit {data['exit']}"
            target = {"triage-example": "triage_example", "audit-example": "audit_example"}.get(key)
            if target:
                note += f"; target <= {TARGETS[target]:.0f}s: {'OK' if data['wall'] <= TARGETS[target] else 'over'}"
        row(label, data, note)
    found = (result.get("findings") or {}).get("by_rule")
    if found is None:
        print("findings check: not run")
        return
    expected = result["expected"]
    wrong = {rule: (count, found.get(rule, 0)) for rule, count in expected.items() if found.get(rule, 0) != count}
    wrong.update({rule: (0, count) for rule, count in found.items() if rule not in expected})
    total = sum(expected.values())
    if wrong:
        print(f"findings check: MISMATCH (rule: expected, found) {wrong}")
    else:
        print(f"findings check: OK ({total} findings, {len(expected)} rules as expected)")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--stage"]:  # inside a stage process
        stage, rest = argv[1], argv[3:]
        result = stage_command(rest) if stage == "command" else STAGES[stage](Path(rest[0]))
        print(json.dumps(result, default=str))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,50000", help="pod counts, comma-separated")
    parser.add_argument("--events-per-pod", type=int, default=10)
    parser.add_argument("--policies-per-1k", type=int, default=100)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "runbooks-bench",
                        help="where snapshots are generated and reused")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip", default="", help="stages to skip, comma-separated: baseline, load, frames, "
                        "detectors, all-detectors, pipeline, matrix, findings, triage, triage-example, audit, "
                        "audit-example, or e2e (every end-to-end stage but findings)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds allowed per stage")
    parser.add_argument("--json", type=Path, help="also write every measurement to this file")
    args = parser.parse_args(argv)
    args.skip = [item for item in args.skip.split(",") if item]
    args.example_once, args.example_done = True, False
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    everything = []
    for size in (int(part) for part in args.sizes.split(",") if part):
        result = measure_size(size, args)
        everything.append(result)
        print_table(result)
        sys.stdout.flush()
    if args.json:
        args.json.write_text(json.dumps(everything, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
