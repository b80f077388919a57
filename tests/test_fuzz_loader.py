"""The loader never crashes on bad input (issue 8): it returns a state, possibly with
warnings naming the file, or raises InputError naming the file. Nothing else.

Three kinds of input: random JSON/YAML documents written where a snapshot keeps its
typed Lists (and as single files), mutated copies of the bundled example's files
(fields dropped, replaced or retyped at any depth, files truncated, non-UTF-8 bytes
injected), and whatever the loader returns must build every tidy frame.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import runbooks_lib
from runbooks_lib.errors import InputError
from runbooks_lib.frames import Frames
from runbooks_lib.kinds import BY_KIND, CLUSTER_FILES, NAMESPACED_FILES
from runbooks_lib.podlogs import LOG_TAIL_BYTES, read_log_file
from runbooks_lib.registry import load_detectors
from runbooks_lib.resources import example_path
from runbooks_lib.state import ClusterState

from mutation import REMOVE, field_paths, mutate

# CI gets the same examples every run; locally each run explores new ones (FUZZ_SCALE=50: many more).
DERANDOMIZE = bool(os.environ.get("CI"))


def examples(count: int) -> int:
    return max(1, int(count * float(os.environ.get("FUZZ_SCALE", "1"))))


SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]

FRAME_NAMES = sorted(name for name, value in vars(Frames).items()
                     if not name.startswith("_") and isinstance(value, (property, functools.cached_property)))
FRAME_METHODS = ["warnings_by_reason"]

# -- documents ---------------------------------------------------------------------------------

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20),
                    st.sampled_from(["2025-11-06", "yesterday", "1730900000", "2025-11-06T16:32:10Z", "8080",
                                     "http", "Warning", "Running", "CrashLoopBackOff", "app=web"]))
JSON_VALUES = st.recursive(SCALARS, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)), max_leaves=20)

KIND_NAMES = st.one_of(st.sampled_from(sorted(BY_KIND) + ["FooList", "List", "PodList", "Foo", ""]), JSON_VALUES)
API_VERSIONS = st.one_of(st.sampled_from(["v1", "v0", "apps/v1", "apps/v0", "metrics.k8s.io/v1beta1", "nope/v9"]),
                         JSON_VALUES)
# Keys real objects have, so random documents get past the first checks and into spec/status.
FIELD_KEYS = st.sampled_from(["containers", "containerStatuses", "initContainers", "ports", "name", "image",
                              "state", "lastState", "terminated", "waiting", "reason", "exitCode", "restartCount",
                              "livenessProbe", "readinessProbe", "httpGet", "tcpSocket", "port", "targetPort",
                              "selector", "matchLabels", "replicas", "conditions", "type", "status", "involvedObject",
                              "kind", "count", "message", "lastTimestamp", "subsets", "addresses", "ownerReferences",
                              "podSelector", "ingress", "egress", "policyTypes", "usage", "cpu", "memory",
                              "resources", "limits", "requests", "phase", "uid", "labels", "annotations"])
SHAPED_VALUES = st.recursive(SCALARS, lambda children: st.one_of(
    st.lists(children, max_size=3), st.dictionaries(FIELD_KEYS, children, max_size=5)), max_leaves=25)
METADATA = st.one_of(JSON_VALUES, st.fixed_dictionaries(
    {"name": st.one_of(st.sampled_from(["web-1", "web-1", "api"]), JSON_VALUES)},
    optional={"namespace": st.one_of(st.just("shop"), JSON_VALUES), "uid": st.one_of(st.just("u-1"), JSON_VALUES),
              "labels": SHAPED_VALUES, "ownerReferences": SHAPED_VALUES,
              "creationTimestamp": SCALARS}))
OBJECTS = st.fixed_dictionaries({}, optional={
    "kind": KIND_NAMES, "apiVersion": API_VERSIONS, "metadata": METADATA,
    "spec": SHAPED_VALUES, "status": SHAPED_VALUES, "involvedObject": SHAPED_VALUES,
    "subsets": SHAPED_VALUES, "containers": SHAPED_VALUES, "reason": SCALARS, "message": SCALARS,
    "lastTimestamp": SCALARS, "count": SCALARS, "type": SCALARS})
DOCUMENTS = st.one_of(
    JSON_VALUES, OBJECTS,
    st.fixed_dictionaries({"kind": KIND_NAMES, "apiVersion": API_VERSIONS,
                           "items": st.one_of(st.lists(st.one_of(OBJECTS, JSON_VALUES), max_size=5), JSON_VALUES)}))


def check_load(path: Path, blamed: Path) -> "ClusterState | None":
    """load(path) gives a state whose frames build, or an InputError naming ``blamed``."""
    try:
        state = runbooks_lib.load(path)
    except InputError as exc:
        assert str(blamed) in str(exc), f"the error does not name {blamed}: {exc}"
        assert "\n" not in str(exc).strip(), f"the error is not one line: {exc!r}"
        return None
    for warning in state.warnings:
        assert str(path) in warning, f"a warning does not name the file: {warning}"
    build_every_frame(state)
    return state


def build_every_frame(state) -> None:
    for name in FRAME_NAMES:
        getattr(state.frames, name)
    for name in FRAME_METHODS:
        getattr(state.frames, name)()


def run_every_detector(state) -> None:
    for rule_id, registered in load_detectors().items():
        try:
            list(registered.detect(state))
        except Exception as exc:
            raise AssertionError(f"detector {rule_id} raised {type(exc).__name__}: {exc}") from exc


def test_frame_list_is_complete():
    assert {"pods", "containers", "probes", "ports", "events", "services", "endpoints", "nodes"} <= set(FRAME_NAMES)


@settings(max_examples=examples(25), deadline=None, derandomize=DERANDOMIZE, suppress_health_check=SLOW_OK)
@given(documents=st.lists(DOCUMENTS, min_size=1, max_size=3),
       files=st.lists(st.sampled_from(NAMESPACED_FILES + CLUSTER_FILES), min_size=1, max_size=3),
       as_yaml=st.booleans())
def test_random_documents_in_a_snapshot(documents, files, as_yaml):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "snapshot"
        for document, stem in zip(documents, files):
            folder = root if stem in CLUSTER_FILES else root / "shop"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{stem}.{'yaml' if as_yaml else 'json'}"
            path.write_text(yaml.safe_dump(document) if as_yaml else json.dumps(document), encoding="utf-8")
        state = check_load(root, root)
        if state is not None:
            run_every_detector(state)


@settings(max_examples=examples(30), deadline=None, derandomize=DERANDOMIZE, suppress_health_check=SLOW_OK)
@given(documents=st.lists(DOCUMENTS, min_size=1, max_size=3), suffix=st.sampled_from([".json", ".yaml", ".txt"]))
def test_random_documents_as_a_single_file(documents, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"objects{suffix}"
        if suffix == ".json":
            text = json.dumps(documents[0])
        else:
            text = yaml.safe_dump_all(documents)
        path.write_text(text, encoding="utf-8")
        state = check_load(path, path)
        if state is not None:
            run_every_detector(state)


@settings(max_examples=examples(40), deadline=None, derandomize=DERANDOMIZE, suppress_health_check=SLOW_OK)
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".json", ".yaml", ".yml", ".txt"]))
def test_random_bytes_as_a_single_file(data, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"objects{suffix}"
        path.write_bytes(data)
        check_load(path, path)


# -- mutated copies of the bundled examples ----------------------------------------------------

BAD_VALUES = st.one_of(st.just(REMOVE), SCALARS, st.just([]), st.just({}), st.just([None]), st.just("x" * 100_000),
                       JSON_VALUES)


@st.composite
def json_mutations(draw, text: str) -> bytes:
    """The file's JSON with 1-3 fields dropped, replaced or retyped at random depths."""
    document = json.loads(text)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = field_paths(document)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        mutate(document, path, draw(BAD_VALUES))
    return json.dumps(document, indent=1).encode()


@st.composite
def byte_mutations(draw, data: bytes) -> bytes:
    """The file cut short, with bytes that are not UTF-8 spliced in, emptied, or replaced."""
    how = draw(st.sampled_from(["truncate", "inject", "empty", "garbage", "nul"]))
    at = draw(st.integers(min_value=0, max_value=max(len(data) - 1, 0)))
    if how == "truncate":
        return data[:at]
    if how == "inject":
        return data[:at] + draw(st.sampled_from([b"\xff\xfe", b"\xc3", b"\x80\x80\x80", b"\xed\xa0\x80"])) + data[at:]
    if how == "nul":
        return data[:at] + b"\x00" * draw(st.integers(1, 64)) + data[at:]
    if how == "garbage":
        return draw(st.binary(max_size=200))
    return b""


@pytest.fixture(scope="module")
def example_copies(tmp_path_factory):
    """Working copies of both bundled snapshots; each example restores the file it broke."""
    copies = {}
    for name in ("staging-incident", "healthy"):
        target = tmp_path_factory.mktemp(name) / "snapshot"
        shutil.copytree(example_path(name), target)
        copies[name] = target
    return copies


def _example_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


@settings(max_examples=examples(16), deadline=None, derandomize=DERANDOMIZE, suppress_health_check=SLOW_OK)
@given(data=st.data())
def test_mutated_example_files(example_copies, data):
    root = example_copies[data.draw(st.sampled_from(sorted(example_copies)), label="example")]
    files = _example_files(root)
    path = data.draw(st.sampled_from(files), label="file")
    original = path.read_bytes()
    if path.suffix == ".json" and data.draw(st.booleans(), label="mutate fields"):
        broken = data.draw(json_mutations(original.decode("utf-8")), label="content")
    else:
        broken = data.draw(byte_mutations(original), label="content")
    try:
        path.write_bytes(broken)
        state = check_load(root, path)
        if state is not None and path.name.startswith("logs"):
            run_every_detector(state)  # logs are read lazily, by the detectors
    finally:
        path.write_bytes(original)


def test_the_example_copies_load_clean(example_copies):
    """The baseline the mutations start from: the unmodified copies load without warnings."""
    for root in example_copies.values():
        state = runbooks_lib.load(root)
        assert state.warnings == [] and state.objects["Pod"]
        build_every_frame(state)


# -- hostile documents ------------------------------------------------------------------------

_POD_JSON = '{"kind": "PodList", "apiVersion": "v1", "items": [{"metadata": {"name": "web-1", "namespace": "shop"}%s}]}'
HOSTILE = {
    "nested-100k-deep.json": "[" * 100_000 + "]" * 100_000,
    "integer-of-5000-digits.json": _POD_JSON % (', "status": {"containerStatuses": [{"restartCount": %s}]}' % ("9" * 5000)),
    "nan-and-infinity.json": _POD_JSON % ', "spec": {"containers": [{"name": "web", "ports": [{"containerPort": NaN}]}], '
                                          '"terminationGracePeriodSeconds": Infinity}',
    "duplicate-keys.json": '{"kind": "Pod", "kind": "Service", "metadata": {"name": "web"}}',
    "nested-5k-deep.yaml": "kind: Pod\nmetadata:\n" + "".join("  " * depth + "a:\n" for depth in range(1, 5000)),
    "flow-100k-deep.yaml": "kind: Pod\nspec: " + "[" * 100_000 + "]" * 100_000 + "\n",
    "recursive-alias.yaml": "kind: Pod\napiVersion: v1\nmetadata: {name: web-1, namespace: shop}\n"
                            "spec: &spec {containers: [{name: web, image: web, env: *spec}]}\nstatus: {phase: Running}\n",
    "recursive-list.yaml": "kind: Pod\napiVersion: v1\nmetadata: {name: web-1, namespace: shop}\n"
                           "spec: {containers: &c [*c]}\nstatus: {phase: Running}\n",
    "python-tag.yaml": "!!python/object/apply:os.system ['true']\n",
    "only-comments.yaml": "# nothing here\n---\n# nor here\n",
    "bom-and-crlf.json": "\ufeff" + _POD_JSON.replace(", ", ",\r\n") % "",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_documents_as_a_single_file(name, tmp_path):
    path = tmp_path / name
    path.write_text(HOSTILE[name], encoding="utf-8")
    state = check_load(path, path)
    if state is not None:
        run_every_detector(state)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_documents_in_a_snapshot(name, tmp_path):
    path = tmp_path / "snapshot" / "shop" / ("pods" + Path(name).suffix)
    path.parent.mkdir(parents=True)
    path.write_text(HOSTILE[name], encoding="utf-8")
    state = check_load(tmp_path / "snapshot", path)
    if state is not None:
        run_every_detector(state)


def test_a_64_mb_pods_file_loads(tmp_path):
    """Huge is not broken: a pods.json padded to 64 MB (a big cluster's is that size) loads."""
    path = tmp_path / "snapshot" / "shop" / "pods.json"
    path.parent.mkdir(parents=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(_POD_JSON[:-2] % "")
        handle.write(" " * (64 * 1024 * 1024))
        handle.write("]}")
    state = check_load(tmp_path / "snapshot", path)
    assert [pod["metadata"]["name"] for pod in state.of_kind("Pod")] == ["web-1"]


# -- logs: huge, binary, one endless line --------------------------------------------------------

# Runs in a fresh interpreter so that the peak RSS it reports is this work's alone.
_MEASURE = """
import resource, sys
from pathlib import Path
import runbooks_lib.podlogs as podlogs

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def generated(total_mb, line_chars):
    line = ("x" * (line_chars - 1)) + "\\n"
    yield "==== START logs for container app of pod shop/web-1 ====\\n"
    for _ in range(total_mb * 1024 * 1024 // line_chars):
        yield line
    yield "the last line\\n"
    yield "==== END logs for container app of pod shop/web-1 ====\\n"

before = peak_mb()
if sys.argv[1] == "stream":
    logs = {log.container: log for log in podlogs.iter_container_logs(generated(int(sys.argv[2]), 4096))}
else:
    logs = podlogs.read_log_file(Path(sys.argv[2]))
log = logs["app"]
assert log.text.endswith("the last line"), log.text[-200:]
print(peak_mb() - before, len(log.text), log.truncated)
"""
LOG_MEMORY_BUDGET_MB = 64  # the tail is 1 MiB of text per container; the rest is slack for the allocator


def _rss_growth_mb(*args: str) -> tuple[float, int, bool]:
    result = subprocess.run([sys.executable, "-c", _MEASURE, *args], capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    growth, length, truncated = result.stdout.split()
    return float(growth), int(length), truncated == "True"


def test_a_generated_500_mb_log_stream_keeps_memory_bounded():
    growth, length, truncated = _rss_growth_mb("stream", "500")
    assert truncated and length <= LOG_TAIL_BYTES
    assert growth < LOG_MEMORY_BUDGET_MB, f"peak RSS grew {growth:.0f} MB reading a 500 MB log stream"


def test_a_sparse_300_mb_log_of_nul_bytes_without_newlines_keeps_memory_bounded(tmp_path):
    """A hole in a sparse file reads as NUL bytes: one 300 MB line, and next to no disk used."""
    path = tmp_path / "logs.txt"
    with open(path, "wb") as handle:
        handle.write(b"==== START logs for container app of pod shop/web-1 ====\n")
        handle.seek(300 * 1024 * 1024)
        handle.write(b"\nthe last line\n==== END logs for container app of pod shop/web-1 ====\n")
    growth, length, _ = _rss_growth_mb("file", str(path))
    assert length <= LOG_TAIL_BYTES
    assert growth < LOG_MEMORY_BUDGET_MB, f"peak RSS grew {growth:.0f} MB reading a sparse 300 MB log"


def test_a_real_200_mb_log_file_keeps_memory_bounded(tmp_path):
    if shutil.disk_usage(tmp_path).free < 2 * 1024**3:
        pytest.skip("less than 2 GB free on the temporary disk")
    path = tmp_path / "logs.txt"
    block = "".join(f"2025-11-06T16:32:10Z INFO request {i} took 12ms {'.' * 200}\n" for i in range(4096)).encode()
    with open(path, "wb") as handle:
        handle.write(b"==== START logs for container app of pod shop/web-1 ====\n")
        for index in range(200 * 1024 * 1024 // len(block)):
            handle.write(block)
            if index % 97 == 0:
                handle.write(b"binary \x00\xff\xfe\x80 junk and a long line " + b"z" * 100_000 + b"\n")
        handle.write(b"the last line\n==== END logs for container app of pod shop/web-1 ====\n")
    assert path.stat().st_size > 190 * 1024 * 1024
    growth, length, truncated = _rss_growth_mb("file", str(path))
    assert truncated and length <= LOG_TAIL_BYTES
    assert growth < LOG_MEMORY_BUDGET_MB, f"peak RSS grew {growth:.0f} MB reading a 200 MB log file"


def test_a_long_binary_line_is_cut_and_the_lines_after_it_are_kept(tmp_path):
    path = tmp_path / "logs.txt"
    path.write_bytes(b"==== START logs for container app of pod shop/web-1 ====\r\n"
                     b"first\r\n" + b"\x00\xff" * 3_000_000 + b"\nthird\rfourth\n"
                     b"==== END logs for container app of pod shop/web-1 ====\n")
    log = read_log_file(path)["app"]
    lines = log.text.split("\n")
    assert [lines[0], lines[2], lines[3]] == ["first", "third", "fourth"]
    assert lines[1].endswith("[line cut]") and len(lines[1]) < 20_000
    assert log.first_line_number == 1 and not log.truncated
