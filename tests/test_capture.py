"""Writing states as snapshots, reading them back, and `runbooks capture`.

The round trips run against ``FakeApiServer`` (tests/test_live_source.py); the
end-to-end ones at the bottom run against ``runbooks_lib.serve`` over HTTP and are
skipped while that module does not exist.
"""

from __future__ import annotations

import argparse
import io
import json
import tarfile
from pathlib import Path

import pytest

import runbooks_lib
from runbooks_lib import capture as capture_module
from runbooks_lib import capture_cli
from runbooks_lib.capture import (load_snapshot_tar, snapshot_meta, write_snapshot, write_snapshot_tar)
from runbooks_lib.errors import InputError
from runbooks_lib.kinds import CLUSTER_FILES
from runbooks_lib.state import METRICS, ResourceError
from test_live_source import (ALL_EXAMPLE_NS, APP_NS, FakeApiServer, fault_on, read_fake, sorted_json)

# The loader reads namespaces.json once "namespaces" is one of its cluster files (proposed to the lead).
LOADER_READS_NAMESPACES = "namespaces" in CLUSTER_FILES


@pytest.fixture(scope="module")
def example():
    return runbooks_lib.load("staging-incident")


@pytest.fixture(scope="module")
def live_state(example):
    return read_fake(FakeApiServer(example), page_size=50)


def assert_same_state(loaded, original) -> None:
    """Same objects per kind (sorted JSON), same logs, same metadata."""
    kinds = set(original.kinds) - (set() if LOADER_READS_NAMESPACES else {"Namespace"})
    assert set(loaded.kinds) == kinds
    for kind in kinds:
        assert sorted_json(loaded.of_kind(kind)) == sorted_json(original.of_kind(kind)), kind
    assert loaded.logs.pods() == original.logs.pods()
    for namespace, pod, previous in original.logs.pods():
        theirs = original.logs._pod_logs(namespace, pod, previous)
        ours = loaded.logs._pod_logs(namespace, pod, previous)
        assert list(ours) == list(theirs)
        assert {c: log.text for c, log in ours.items()} == {c: log.text for c, log in theirs.items()}
    for attribute in ("captured_at", "context", "cluster", "server_version", "namespaces_read", "errors",
                      "capabilities"):
        assert getattr(loaded, attribute) == getattr(original, attribute), attribute


def test_a_live_capture_loads_back_into_exactly_the_same_state(live_state, tmp_path):
    write_snapshot(live_state, tmp_path / "snap")
    assert_same_state(runbooks_lib.load(tmp_path / "snap"), live_state)


def test_the_files_are_in_kubectl_cluster_info_dump_layout(live_state, tmp_path):
    written = write_snapshot(live_state, tmp_path / "snap")
    root = written.root
    pods = json.loads((root / APP_NS / "pods.json").read_text())
    assert pods["kind"] == "PodList" and pods["apiVersion"] == "v1"
    assert pods["items"] and not any("kind" in item or "apiVersion" in item for item in pods["items"])
    assert json.loads((root / "nodemetrics.json").read_text())["apiVersion"] == "metrics.k8s.io/v1beta1"
    assert json.loads((root / APP_NS / "replication-controllers.json").read_text())["kind"] == \
        "ReplicationControllerList"
    assert json.loads((root / "namespaces.json").read_text())["kind"] == "NamespaceList"
    log = (root / APP_NS / "staging-keycloak-5847455794-txkc6" / "logs.previous.txt").read_text()
    assert log.startswith(f"==== START logs for container keycloak of pod {APP_NS}/staging-keycloak-5847455794-txkc6")
    meta = json.loads((root / "snapshot.json").read_text())
    assert meta == snapshot_meta(live_state)
    assert meta["format"] == "runbooks-snapshot" and meta["format_version"] == 1
    assert meta["captured_at"].endswith("Z") and meta["namespaces"] == ALL_EXAMPLE_NS
    assert written.files == len([p for p in root.rglob("*") if p.is_file()])


def test_the_bundled_example_survives_a_write_and_load(example, tmp_path):
    write_snapshot(example, tmp_path / "copy")
    again = runbooks_lib.load(tmp_path / "copy")
    assert_same_state(again, example)


def test_a_partial_capture_keeps_its_errors_and_writes_no_file_for_what_was_not_read(example, tmp_path):
    forbidden = fault_on(rf"/apis/networking.k8s.io/v1/namespaces/{APP_NS}/networkpolicies", 403, "Forbidden")
    state = read_fake(FakeApiServer(example, faults=[forbidden], metrics=False))
    write_snapshot(state, tmp_path / "snap")
    assert not (tmp_path / "snap" / APP_NS / "networkpolicies.json").exists()
    assert (tmp_path / "snap" / "kube-system" / "networkpolicies.json").exists()
    assert not (tmp_path / "snap" / "nodemetrics.json").exists()  # no metrics API: no metrics files
    loaded = runbooks_lib.load(tmp_path / "snap")
    assert_same_state(loaded, state)
    assert loaded.partial and loaded.errors[0] == ResourceError("networkpolicies", APP_NS, 403, "Forbidden",
                                                                state.errors[0].message)
    assert METRICS not in loaded.capabilities


def test_a_state_with_kinds_the_format_has_no_file_for_says_what_it_skipped(tmp_path):
    manifests = runbooks_lib.load("staging-incident/manifests")
    written = write_snapshot(manifests, tmp_path / "snap")
    unsupported = {kind for kind in manifests.kinds if kind in ("ConfigMap", "ServiceAccount")}
    assert unsupported and set(written.skipped) == unsupported
    assert all(kind in written.describe() for kind in unsupported)


def test_writing_into_a_non_empty_folder_is_refused(live_state, tmp_path):
    (tmp_path / "snap").mkdir()
    (tmp_path / "snap" / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="already exists and is not an empty directory"):
        write_snapshot(live_state, tmp_path / "snap")
    assert (tmp_path / "snap" / "keep.txt").read_text() == "mine"


def test_object_names_that_are_not_path_safe_are_refused(live_state, tmp_path):
    from dataclasses import replace

    bad = replace(live_state, namespaces_read=["../escape"])
    with pytest.raises(InputError, match="cannot be a path"):
        write_snapshot(bad, tmp_path / "snap")


# -- tar ------------------------------------------------------------------------------------------
def test_a_tar_capture_loads_back_into_the_same_state(live_state, tmp_path):
    written = write_snapshot_tar(live_state, tmp_path / "snap.tar.gz")
    assert written.root == tmp_path / "snap.tar.gz"
    with tarfile.open(written.root) as archive:
        names = archive.getnames()
    assert "snap/snapshot.json" in names and f"snap/{APP_NS}/pods.json" in names
    loaded = load_snapshot_tar(written.root)
    assert loaded.source == str(written.root)
    assert_same_state(loaded, live_state)


def test_a_tar_with_a_member_outside_the_archive_is_refused(tmp_path):
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as archive:
        data = b"{}"
        member = tarfile.TarInfo("../outside.json")
        member.size = len(data)
        archive.addfile(member, io.BytesIO(data))
    with pytest.raises(InputError, match="refusing archive member '../outside.json'"):
        load_snapshot_tar(evil)
    assert not (tmp_path / "outside.json").exists()


def test_a_file_that_is_not_a_tar_is_one_clear_error(tmp_path):
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"not a tar at all")
    with pytest.raises(InputError, match="not a readable .tar.gz snapshot"):
        load_snapshot_tar(broken)


def test_a_tar_without_a_snapshot_is_one_clear_error(tmp_path):
    empty = tmp_path / "empty.tar.gz"
    with tarfile.open(empty, "w:gz") as archive:
        member = tarfile.TarInfo("readme.txt")
        archive.addfile(member, io.BytesIO(b""))
    with pytest.raises(InputError, match="holds no snapshot"):
        load_snapshot_tar(empty)


# -- runbooks capture ---------------------------------------------------------------------------------
def parse(*argv: str):
    parser = argparse.ArgumentParser(prog="runbooks")
    capture_cli.add_parser(parser.add_subparsers())
    return parser.parse_args(["capture", *argv])


def test_capture_without_a_cluster_choice_says_how_to_choose(tmp_path):
    with pytest.raises(InputError, match=r"--context NAME .*--in-cluster"):
        capture_cli.run(parse(str(tmp_path / "out")))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv", [["--context", "a", "--in-cluster", "out"], ["-n", "a", "-A", "out"],
                                  ["--log-tail-lines", "0", "out"], ["--budget", "soon", "out"]])
def test_contradictory_or_bad_flags_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as info:
        parse(*argv)
    assert info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_capture_refuses_an_existing_output_before_reading_anything(tmp_path, monkeypatch):
    (tmp_path / "out.tar.gz").write_text("old")
    monkeypatch.setattr(capture_module, "load_live", lambda **kw: pytest.fail("read before checking the output"))
    with pytest.raises(InputError, match="already exists"):
        capture_cli.run(parse("--context", "fake", "--tar", str(tmp_path / "out")))


def test_capture_writes_the_snapshot_and_reports_partial_access(example, tmp_path, monkeypatch, capsys):
    forbidden = fault_on(r"/api/v1/nodes", 403, "Forbidden")
    seen = {}

    def fake_load_live(**options):
        seen.update(options)
        return read_fake(FakeApiServer(example, faults=[forbidden]), namespaces=options["namespaces"],
                         progress=options["progress"])
    monkeypatch.setattr(capture_module, "load_live", fake_load_live)
    code = capture_cli.run(parse("--context", "fake", "-n", APP_NS, "-l", "app=keycloak", str(tmp_path / "out")))
    assert code == 0
    assert seen["context"] == "fake" and seen["namespaces"] == [APP_NS] and seen["selector"] == "app=keycloak"
    out, err = capsys.readouterr()
    assert out.startswith(f"wrote {tmp_path / 'out'}: ") and "in 1 namespaces" in out
    assert "partial: 1 resources could not be read" in err and "nodes: 403 Forbidden" in err
    assert "capture [1/" in err  # plain progress lines when stderr is not a terminal
    assert runbooks_lib.load(tmp_path / "out").partial


def test_capture_tar_writes_out_tar_gz(example, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(capture_module, "load_live",
                        lambda **options: read_fake(FakeApiServer(example), namespaces=[APP_NS]))
    assert capture_cli.run(parse("--context", "fake", "--tar", str(tmp_path / "out"))) == 0
    assert (tmp_path / "out.tar.gz").is_file() and not (tmp_path / "out").exists()
    assert len(load_snapshot_tar(tmp_path / "out.tar.gz").of_kind("Pod")) == 9


# -- end to end: capture(serve(example)) over HTTP (needs runbooks_lib.serve) --------------------------------
@pytest.fixture
def served_kubeconfig(tmp_path):
    serve = pytest.importorskip("runbooks_lib.serve")
    from test_live_source import write_kubeconfig

    with serve.serve_in_background("staging-incident") as url:
        yield write_kubeconfig(tmp_path / "kubeconfig", url)


def restarted_containers(pod: dict) -> set[str]:
    statuses = pod["status"].get("initContainerStatuses", []) + pod["status"].get("containerStatuses", [])
    return {s["name"] for s in statuses if s.get("restartCount") or (s.get("lastState") or {}).get("terminated")}


def test_e2e_capture_of_the_served_example_reproduces_it(served_kubeconfig, example, tmp_path, capsys):
    out = tmp_path / "captured"
    assert capture_cli.run(parse("--context", "fake", "--kubeconfig", str(served_kubeconfig), "-A", str(out))) == 0
    assert f"wrote {out}: " in capsys.readouterr().out
    captured = runbooks_lib.load(out)
    # Objects: identical, kind by kind.
    for kind in example.kinds:
        assert sorted_json(captured.of_kind(kind)) == sorted_json(example.of_kind(kind)), kind
    assert captured.namespaces_read == example.namespaces_read and captured.errors == []
    assert (captured.server_version, captured.context) == (example.server_version, "fake")
    # Documented difference 1: the example has no Namespace objects; the server synthesizes them.
    namespaces = json.loads((out / "namespaces.json").read_text())["items"]
    assert [ns["metadata"]["name"] for ns in namespaces] == ALL_EXAMPLE_NS
    assert all("runbooks.dev/synthesized" in ns["metadata"]["annotations"] for ns in namespaces)
    # Logs: every current log is identical. Documented difference 2: previous logs are read only for
    # containers that restarted; the example also stores kubectl's 400 text for the others.
    for pod in example.of_kind("Pod"):
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        for container in [c["name"] for c in pod["spec"]["containers"]]:
            assert captured.logs.get(ns, name, container).text == example.logs.get(ns, name, container).text
            previous = example.logs.get(ns, name, container, previous=True)
            if container in restarted_containers(pod):
                assert captured.logs.get(ns, name, container, previous=True).text == previous.text
            else:
                assert captured.logs.get(ns, name, container, previous=True) is None
                assert previous.text.startswith("Request log error: previous terminated container")
    # And the findings are the same.
    from runbooks_lib.registry import run_detectors

    def keys(state):
        return sorted((f.rule, f.namespace, f.kind, f.name, f.summary) for f in run_detectors(state).findings)
    assert keys(captured.with_now(example.captured_at)) == keys(example)


def test_e2e_capture_tar_loads_back(served_kubeconfig, tmp_path):
    assert capture_cli.run(parse("--context", "fake", "--kubeconfig", str(served_kubeconfig), "-n", APP_NS,
                                 "--tar", str(tmp_path / "cap"))) == 0
    state = load_snapshot_tar(tmp_path / "cap.tar.gz")
    assert state.namespaces_read == [APP_NS] and len(state.of_kind("Pod")) == 9
    assert "Failed to start application" in state.logs.get(
        APP_NS, "staging-keycloak-5847455794-txkc6", "keycloak", previous=True).text


def test_progress_is_a_bar_on_a_terminal_and_plain_lines_otherwise(monkeypatch, capsys):
    with capture_cli.ProgressReporter() as plain:
        for done in range(1, 21):
            plain(done, 20, f"logs ns/pod-{done}")
        plain(21, 21, "nodes: 3")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "capture [1/20] logs ns/pod-1" and lines[-1] == "capture [21/21] nodes: 3"
    assert len(lines) < 15  # log steps are thinned to about one line per tenth

    monkeypatch.setattr(capture_cli.sys.stderr, "isatty", lambda: True, raising=False)
    with capture_cli.ProgressReporter() as bar:
        bar(1, 4, "pods: 9")
        bar(4, 4, "nodes: 3")
        assert bar.bar is not None and bar.bar.n == 4 and bar.bar.total == 4
    assert "capture [" not in capsys.readouterr().err


def state_with_a_credential(live_state):
    import copy
    from dataclasses import replace

    from runbooks_lib.state import LogStore

    pod = copy.deepcopy(live_state.of_kind("Pod", APP_NS)[0])
    pod["spec"]["containers"][0].setdefault("env", []).append({"name": "DB_PASSWORD", "value": "hunter2-secret"})
    logs = LogStore()
    ns, name, container = APP_NS, pod["metadata"]["name"], pod["spec"]["containers"][0]["name"]
    logs.add_text(ns, name, container, False, "connecting to postgres://app:hunter2-secret@db:5432/app")
    return replace(live_state, objects={"Pod": [pod]}, logs=logs, namespaces_read=[APP_NS], errors=[])


@pytest.mark.parametrize("no_redact", ["", "1"])
def test_capture_redacts_credentials_unless_told_not_to(live_state, tmp_path, monkeypatch, no_redact):
    monkeypatch.setenv("RUNBOOKS_NO_REDACT", no_redact)
    monkeypatch.setattr(capture_module, "load_live", lambda **options: state_with_a_credential(live_state))
    capture_module.capture(tmp_path / "out", context="fake")
    text = "".join(path.read_text() for path in (tmp_path / "out").rglob("*") if path.is_file())
    assert ("hunter2-secret" in text) == bool(no_redact)
    assert ("<redacted>" in text) != bool(no_redact)
