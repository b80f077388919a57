"""PolicyEngine's public API: references, frames, states from every source, the plot."""

from __future__ import annotations

import textwrap

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from runbooks_lib.errors import InputError  # noqa: E402
from runbooks_lib.netpol import ClassMatrix, PolicyEngine, Verdict  # noqa: E402
from runbooks_lib.netpol.plot import plot_reachability  # noqa: E402
from runbooks_lib.sources import load  # noqa: E402
from test_netpol_spec_cases import labels, pod, policy  # noqa: E402

NS = "shop"


def keycloak_cluster():
    """Two Keycloak replicas that admit each other on ingress but are egress-isolated (issue 1)."""
    pods = [pod(NS, f"kc-{i}", {"app": "keycloak"}, ports=[("jgroups", 7800), ("mgmt", 9000)],
                ips=[f"10.0.0.{i + 1}"], owner="Deployment/keycloak") for i in range(2)]
    pods += [pod(NS, "api-0", {"app": "api"}, ports=[("http", 8080)], ips=["10.0.0.9"], owner="Deployment/api"),
             pod(NS, "debug", {"run": "debug"}, ips=["10.0.0.10"])]
    policies = [policy(NS, "keycloak", podSelector=labels(app="keycloak"), policyTypes=["Ingress", "Egress"],
                       ingress=[{"from": [{"podSelector": labels(app="keycloak")}],
                                 "ports": [{"port": 7800}, {"port": "mgmt"}]},
                                {"from": [{"podSelector": labels(app="api")}], "ports": [{"port": 8080}]}],
                       egress=[{"ports": [{"port": 53, "protocol": "UDP"}]}])]
    return PolicyEngine(pods, policies, {NS: {"env": "staging"}})


def test_check_returns_verdict_with_both_sides() -> None:
    verdict = keycloak_cluster().check(f"{NS}/kc-0", f"{NS}/kc-1", 7800)
    assert isinstance(verdict, Verdict)
    assert not verdict.allowed and verdict.denied_by == ["egress"]
    assert verdict.egress.isolated and verdict.egress.isolating_policies == [f"{NS}/keycloak"]
    assert [str(r) for r in verdict.ingress.allowed_by] == [f"{NS}/keycloak ingress[0] from[0] ports[0]"]
    data = verdict.to_dict()
    assert data["allowed"] is False and data["egress"]["allowed"] is False and data["ingress"]["allowed"] is True


def test_explain_is_multi_line_text() -> None:
    text = keycloak_cluster().explain(f"{NS}/kc-0", f"{NS}/kc-1", 9000)
    lines = text.splitlines()
    assert lines[0] == f"DENIED: {NS}/kc-0 -> {NS}/kc-1 on 9000/TCP"
    assert lines[1].startswith("  egress  DENIED")
    assert "allowed by shop/keycloak ingress[0] from[0] ports[1]" in text  # named port mgmt = 9000


@pytest.mark.parametrize("ref, expected", [
    (f"{NS}/kc-1", f"{NS}/kc-1"),
    (f"{NS}/Deployment/keycloak", f"{NS}/kc-0"),
    (f"{NS}/deployment/keycloak", f"{NS}/kc-0"),
    (f"{NS}/keycloak", f"{NS}/kc-0"),
    ("kc-1", f"{NS}/kc-1"),
    ("10.0.0.9", f"{NS}/api-0"),
])
def test_references(ref, expected) -> None:
    endpoint, _note = keycloak_cluster().resolve(ref)
    assert endpoint.ref == expected


def test_same_workload_on_both_ends_picks_two_pods() -> None:
    verdict = keycloak_cluster().check(f"{NS}/keycloak", f"{NS}/keycloak", 7800)
    assert (verdict.source, verdict.destination) == (f"{NS}/kc-0", f"{NS}/kc-1")
    assert any("of Deployment keycloak (2 pods)" in note for note in verdict.notes)


def test_unknown_reference_lists_close_names() -> None:
    with pytest.raises(InputError) as caught:
        keycloak_cluster().check(f"{NS}/keycloack", f"{NS}/kc-1", 7800)
    message = str(caught.value)
    assert "no pod or workload 'shop/keycloack'" in message and "shop/keycloak" in message
    assert "\n" not in message


def test_named_query_port_resolves_on_destination() -> None:
    engine = keycloak_cluster()
    assert engine.check(f"{NS}/kc-0", f"{NS}/kc-1", "jgroups").port == 7800
    with pytest.raises(InputError, match="not a named port of shop/kc-1"):
        engine.check(f"{NS}/kc-0", f"{NS}/kc-1", "nope")


@pytest.mark.parametrize("port, protocol, message", [(0, "TCP", "not in 1-65535"), (80, "ICMP", "protocol")])
def test_bad_port_or_protocol(port, protocol, message) -> None:
    with pytest.raises(InputError, match=message):
        keycloak_cluster().check(f"{NS}/kc-0", f"{NS}/kc-1", port, protocol)


def test_class_matrix_groups_identical_pods() -> None:
    engine = keycloak_cluster()
    matrix = engine.class_matrix(7800)
    assert isinstance(matrix, ClassMatrix)
    # The two replicas differ only in IP, and no policy has an ipBlock: one class.
    assert len(matrix.classes) == 3 and matrix.pod_count == 4
    kc = engine.class_index.class_of_pod[(NS, "kc-0")]
    assert engine.class_index.class_of_pod[(NS, "kc-1")] == kc
    assert not matrix.allowed[kc, kc] and matrix.asymmetric[kc, kc]
    assert matrix.allowed.dtype == np.bool_ and matrix.allowed.shape == (3, 3)
    assert engine.class_matrix(7800) is matrix  # cached per port


def test_classes_split_by_ipblock_membership_only() -> None:
    pods = [pod(NS, f"p{i}", {"app": "x"}, ips=[f"10.0.{i}.1"]) for i in range(4)]
    policies = [policy(NS, "p", podSelector={}, ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/23"}}]}])]
    engine = PolicyEngine(pods, policies)
    assert len(engine.class_index.classes) == 2  # inside 10.0.0.0/23 or not


def test_workload_matrix_and_asymmetric_flags() -> None:
    allowed, asymmetric = keycloak_cluster().workload_matrix(NS, 7800)
    names = ["Deployment/api", "Deployment/keycloak", "Pod/debug"]
    assert list(allowed.index) == names and list(allowed.columns) == names
    assert allowed.index.name == "source" and allowed.columns.name == "destination"
    assert not allowed.loc["Deployment/keycloak", "Deployment/keycloak"]
    assert asymmetric.loc["Deployment/keycloak", "Deployment/keycloak"]
    assert allowed.loc["Deployment/api", "Pod/debug"]
    assert not asymmetric.loc["Deployment/api", "Deployment/keycloak"]
    everywhere, _ = keycloak_cluster().workload_matrix(None, 7800)
    assert "shop/Deployment/keycloak" in everywhere.index


def test_policies_selecting() -> None:
    frame = keycloak_cluster().policies_selecting(NS, "keycloak")
    assert frame.to_dict("records") == [{
        "policy": "shop/keycloak", "pod_selector": "app=keycloak", "policy_types": "Ingress, Egress",
        "isolates_ingress": True, "isolates_egress": True, "ingress_rules": 2, "egress_rules": 1,
        "pods_selected": 2}]
    assert keycloak_cluster().policies_selecting(NS, "Pod/debug").empty
    with pytest.raises(InputError):
        keycloak_cluster().policies_selecting(NS, "nothing")


def test_why_denied() -> None:
    frame = keycloak_cluster().why_denied(NS, 7800)
    row = frame[(frame.source == "Deployment/keycloak") & (frame.destination == "Deployment/keycloak")].iloc[0]
    assert row.denied_by == "egress" and row.asymmetric
    assert row.egress_isolating == "shop/keycloak"
    assert "no egress rule allows traffic to" in row.explanation
    assert row.example == "shop/kc-0 -> shop/kc-1"
    # api -> keycloak on 7800: api's egress is open; keycloak's ingress does not admit it on 7800.
    row = frame[(frame.source == "Deployment/api") & (frame.destination == "Deployment/keycloak")].iloc[0]
    assert row.denied_by == "ingress" and not row.asymmetric
    assert not ((frame.source == "Pod/debug") & (frame.destination == "Deployment/api")).any()


def test_from_state_on_manifests_with_namespace_labels(tmp_path) -> None:
    path = tmp_path / "all.yaml"
    path.write_text(textwrap.dedent("""\
        apiVersion: v1
        kind: Namespace
        metadata: {name: shop, labels: {team: blue}}
        ---
        apiVersion: v1
        kind: Namespace
        metadata: {name: tools, labels: {team: blue}}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: shop}
        spec:
          replicas: 2
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec: {containers: [{name: web, image: web:1, ports: [{name: http, containerPort: 8080}]}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: probe, namespace: tools, labels: {app: probe}}
        spec: {containers: [{name: c, image: busybox}]}
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: web, namespace: shop}
        spec:
          podSelector: {matchLabels: {app: web}}
          ingress:
          - from: [{namespaceSelector: {matchLabels: {team: blue}}, podSelector: {matchLabels: {app: probe}}}]
            ports: [{port: http}]
        """))
    engine = PolicyEngine.from_state(load(str(path)))
    assert {p.ref for p in engine.pods} == {"shop/web-template-0", "shop/web-template-1", "tools/probe"}
    assert engine.labels_of_namespace("tools") == {"team": "blue", "kubernetes.io/metadata.name": "tools"}
    verdict = engine.check("tools/probe", "shop/web", 8080)
    assert verdict.allowed, verdict.explain()
    assert not engine.check("shop/web", "shop/Deployment/web", 8080).allowed
    assert engine.workload_selector("shop", "Deployment", "web") == {"app": "web"}


def test_finished_pods_are_left_out() -> None:
    done = pod(NS, "job-1", {"app": "job"}, ips=["10.0.0.5"])
    done["status"]["phase"] = "Succeeded"
    from runbooks_lib.state import ClusterState

    engine = PolicyEngine.from_state(ClusterState(objects={"Pod": [done, pod(NS, "a", {"app": "a"})]}))
    assert [p.name for p in engine.pods] == ["a"]


def test_plot_reachability_renders_in_agg_without_pyplot_state() -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    allowed, asymmetric = keycloak_cluster().workload_matrix(NS, 7800)
    figure = plot_reachability(allowed, asymmetric, "shop on 7800/TCP")
    assert isinstance(figure, Figure)
    figure.canvas.draw()  # renders with the Agg canvas Figure() creates
    axes = figure.axes[0]
    assert axes.get_title() == "shop on 7800/TCP"
    assert [t.get_text() for t in axes.get_yticklabels()] == list(allowed.index)
    assert sum(t.get_text() == "!" for t in axes.texts) == int(asymmetric.to_numpy().sum())
    assert plt.get_fignums() == before


def test_plot_reachability_empty_frame() -> None:
    import pandas as pd

    figure = plot_reachability(pd.DataFrame(dtype=bool), None, "nothing")
    figure.canvas.draw()
