"""The reachability matrix on big namespaces: at most ``max_rows`` workloads, the asked-for one and
those in asymmetric, then denied flows first, and a title that says how many more there are; small
namespaces are drawn as before."""

from __future__ import annotations

from io import BytesIO

import matplotlib
import pandas as pd

matplotlib.use("Agg")

from runbooks_lib.netpol import PolicyEngine  # noqa: E402
from runbooks_lib.netpol.plot import plot_reachability  # noqa: E402
from runbooks_lib.plots import MAX_ROWS  # noqa: E402
from test_netpol_engine import NS, keycloak_cluster  # noqa: E402
from test_netpol_spec_cases import labels, policy, pod  # noqa: E402

CAPPED_NOTE = "those with the most asymmetric, then denied flows"


def drawn(figure) -> tuple[list[str], list[str], str]:
    """(rows top down, columns left to right, title) as drawn."""
    figure.canvas.draw()
    axes = figure.axes[0]
    return ([t.get_text() for t in axes.get_yticklabels()], [t.get_text() for t in axes.get_xticklabels()],
            axes.get_title())


def marked_cells(figure) -> list[tuple[int, int]]:
    """(row, column) of each cell marked "!" as asymmetric."""
    return sorted((round(t.get_position()[1]), round(t.get_position()[0])) for t in figure.axes[0].texts
                  if t.get_text() == "!")


def png(figure) -> bytes:
    buffer = BytesIO()
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return buffer.getvalue()


def matrices(count: int, denied: list[tuple[int, int]] = (), asymmetric: list[tuple[int, int]] = ()
             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(allowed, asymmetric) between ``count`` workloads "Deployment/w-NN": everything allowed but
    the ``denied`` (source, destination) pairs; ``asymmetric`` pairs are denied too."""
    names = [f"Deployment/w-{index:02d}" for index in range(count)]
    allowed = pd.DataFrame(True, index=pd.Index(names, name="source"), columns=pd.Index(names, name="destination"))
    flags = pd.DataFrame(False, index=allowed.index, columns=allowed.columns)
    for source, destination in [*denied, *asymmetric]:
        allowed.iloc[source, destination] = False
    for source, destination in asymmetric:
        flags.iloc[source, destination] = True
    return allowed, flags


# w-39 -> w-38 is asymmetric; w-37 cannot reach itself; w-36 -> w-10 is denied; the rest is allowed.
BIG = {"count": 40, "asymmetric": [(39, 38)], "denied": [(37, 37), (36, 10)]}


# -- small namespaces: drawn as before ------------------------------------------------------------

def test_small_namespace_is_drawn_in_matrix_order_without_a_note():
    allowed, asymmetric = keycloak_cluster().workload_matrix(NS, 7800)
    rows, columns, title = drawn(plot_reachability(allowed, asymmetric, "shop: TCP 7800"))
    assert rows == columns == list(allowed.index)
    assert title == "shop: TCP 7800"


def test_a_namespace_of_exactly_max_rows_workloads_is_not_capped():
    allowed, asymmetric = matrices(MAX_ROWS, asymmetric=[(MAX_ROWS - 1, 0)])
    rows, columns, title = drawn(plot_reachability(allowed, asymmetric, "shop: TCP 7800"))
    assert rows == columns == list(allowed.index)  # not reordered: the asymmetric w-29 stays last
    assert title == "shop: TCP 7800"


def test_on_a_small_namespace_the_workload_asked_for_changes_nothing():
    allowed, asymmetric = keycloak_cluster().workload_matrix(NS, 7800)
    assert list(allowed.index)[-1] == "Pod/debug"  # last in matrix order, and in no asymmetric flow
    as_before = plot_reachability(allowed, asymmetric, "shop: TCP 7800")
    asked_for = plot_reachability(allowed, asymmetric, "shop: TCP 7800", workload="debug")
    assert drawn(asked_for)[0] == list(allowed.index)
    assert png(asked_for) == png(as_before)


# -- big namespaces: capped ----------------------------------------------------------------------

def test_big_namespace_keeps_workloads_in_asymmetric_then_denied_flows():
    allowed, asymmetric = matrices(**BIG)
    figure = plot_reachability(allowed, asymmetric, "shop: TCP 7800", max_rows=4)
    rows, columns, title = drawn(figure)
    # asymmetric first (ties by name), then denied to itself (counts as source and destination),
    # then one denied flow (w-10 before w-36 by name)
    assert rows == columns == ["Deployment/w-38", "Deployment/w-39", "Deployment/w-37", "Deployment/w-10"]
    assert title == ("shop: TCP 7800\n4 of 40 workloads: " + CAPPED_NOTE + "; 36 more not shown "
                     "(set workload to keep one in view)")
    assert marked_cells(figure) == [(1, 0)]  # w-39 -> w-38, still in its place
    cells = figure.axes[0].images[0].get_array()
    assert cells.tolist() == allowed.loc[rows, columns].astype(int).to_numpy().tolist()


def test_the_workload_asked_for_is_kept_first_by_name_or_label():
    allowed, asymmetric = matrices(**BIG)
    for workload in ("w-20", "Deployment/w-20"):
        rows, _, title = drawn(plot_reachability(allowed, asymmetric, workload=workload, max_rows=4))
        assert rows == ["Deployment/w-20", "Deployment/w-38", "Deployment/w-39", "Deployment/w-37"]
        assert "4 of 40 workloads" in title and "36 more not shown" in title


def test_without_asymmetric_flags_denied_flows_rank_first():
    allowed, _ = matrices(**BIG)
    rows, _, title = drawn(plot_reachability(allowed, None, max_rows=3))
    assert rows == ["Deployment/w-37", "Deployment/w-10", "Deployment/w-36"]
    assert "3 of 40 workloads" in title


def big_cluster(filler: int) -> PolicyEngine:
    """Keycloak replicas that admit each other on ingress but are egress-isolated, and ``filler``
    single-pod Deployments "svc-NN" that no policy selects."""
    keycloak = [pod(NS, f"kc-{i}", {"app": "keycloak"}, ports=[("jgroups", 7800)], ips=[f"10.0.0.{i + 1}"],
                    owner="Deployment/keycloak") for i in range(2)]
    others = [pod(NS, f"svc-{i:02d}-0", {"app": f"svc-{i:02d}"}, ips=[f"10.0.1.{i + 1}"],
                  owner=f"Deployment/svc-{i:02d}") for i in range(filler)]
    asymmetric_on_itself = policy(NS, "keycloak", podSelector=labels(app="keycloak"), policyTypes=["Ingress", "Egress"],
                                  ingress=[{"from": [{"podSelector": labels(app="keycloak")}],
                                            "ports": [{"port": 7800}]}])
    return PolicyEngine(keycloak + others, [asymmetric_on_itself], {NS: {}})


def test_default_cap_on_an_engine_matrix_keeps_thirty_and_the_finding_workload():
    allowed, asymmetric = big_cluster(filler=MAX_ROWS + 10).workload_matrix(NS, 7800)
    assert len(allowed) == MAX_ROWS + 11
    figure = plot_reachability(allowed, asymmetric, "shop: TCP 7800", workload="svc-33")
    rows, columns, title = drawn(figure)
    assert len(rows) == len(columns) == MAX_ROWS
    assert rows[:2] == ["Deployment/svc-33", "Deployment/keycloak"]
    assert "30 of 41 workloads: " + CAPPED_NOTE + "; 11 more not shown" in title
    assert marked_cells(figure) == [(1, 1)]  # keycloak cannot reach its own peers
    uncapped = plot_reachability(allowed, asymmetric, max_rows=len(allowed))
    assert figure.get_size_inches()[1] < uncapped.get_size_inches()[1]
