"""Plots on big clusters: at most ``max_rows`` rows, the worst ones at the top, and a title that
says how many more there are; small clusters are drawn as before, without a note."""

from matplotlib.backends.backend_agg import FigureCanvasAgg

from builders import (container, deployment, event, pod, pod_metrics, replicaset, running, state_of,
                      terminated_state, waiting)
from builders_workloads import resources
from runbooks_lib import plots


def rows_top_down(fig) -> list[str]:
    FigureCanvasAgg(fig).draw()  # categorical tick labels exist once drawn
    return [label.get_text() for label in fig.axes[0].get_yticklabels()][::-1]


def title(fig) -> str:
    return fig.axes[0].get_title()


def crash_looping(restarts: int) -> dict:
    return waiting("app", "CrashLoopBackOff", "back-off 5m0s restarting failed container=app", restarts=restarts,
                   last_state=terminated_state(1, "Error", finished_minutes_ago=restarts))


def workload(name: str, statuses: list[dict], revision: int = 1, template_hash: str = "5d4f8b7c9",
             deploy: dict | None = None) -> list[dict]:
    """A Deployment (or a new revision of ``deploy``), its ReplicaSet, and one pod per status."""
    deploy = deploy or deployment(name, replicas=len(statuses), revision=revision)
    rs = replicaset(deploy, template_hash, revision, len(statuses))
    pods = [pod(f"{name}-{template_hash}-{index}x{revision}", owner=rs, statuses=[status])
            for index, status in enumerate(statuses)]
    return [deploy, rs, *pods]


def healthy(*names: str) -> list[dict]:
    return [obj for name in names for obj in workload(name, [running("app")])]


# -- pod status per workload ------------------------------------------------------------------------

def test_small_cluster_shows_every_workload_alphabetically_and_no_note():
    state = state_of(*healthy("cart", "api"), *workload("web", [crash_looping(3)]))
    fig = plots.pod_status_by_workload(state)
    assert rows_top_down(fig) == ["api  (shop)", "cart  (shop)", "web  (shop)"]
    assert title(fig) == "Pod status per workload"


def test_big_cluster_keeps_the_workloads_with_most_failing_pods_worst_at_the_top():
    objects = [*healthy("a-ok", "b-ok", "c-ok", "d-ok"),
               *workload("two-failing", [crash_looping(1), running("app", ready=False), running("app")]),
               *workload("one-failing-many-restarts", [crash_looping(9), running("app")]),
               *workload("one-failing", [crash_looping(1)])]
    fig = plots.pod_status_by_workload(state_of(*objects), max_rows=4)
    assert rows_top_down(fig) == ["two-failing  (shop)", "one-failing-many-restarts  (shop)",
                                  "one-failing  (shop)", "a-ok  (shop)"]
    assert "4 of 7 workloads: those with the most failing pods; 3 more not shown" in title(fig)


def test_default_cap_is_thirty_workloads_and_the_figure_stays_a_screenful():
    names = [f"svc-{index:02d}" for index in range(plots.MAX_ROWS + 5)]
    fig = plots.pod_status_by_workload(state_of(*healthy(*names)))
    assert len(rows_top_down(fig)) == plots.MAX_ROWS
    assert "30 of 35 workloads" in title(fig) and "5 more not shown" in title(fig)
    assert fig.get_size_inches()[1] < 0.55 * plots.MAX_ROWS + 2


def test_the_note_counts_only_the_namespace_asked_for():
    objects = [*healthy("a", "b", "c")]
    elsewhere = [obj for name in ("x", "y") for obj in workload(name, [running("app")])]
    for obj in elsewhere:
        obj["metadata"]["namespace"] = "other"
    fig = plots.pod_status_by_workload(state_of(*objects, *elsewhere), namespace="shop", max_rows=2)
    assert "2 of 3 workloads" in title(fig)


# -- pod status per revision ------------------------------------------------------------------------

def test_revisions_of_one_deployment_stay_together_when_capped():
    web = deployment("web", replicas=2, revision=2)
    objects = [*workload("web", [running("app")], revision=1, template_hash="6b7f9c8d4", deploy=web),
               *workload("web", [crash_looping(4)], revision=2, template_hash="5d4f8b7c9", deploy=web)[1:],
               *healthy("api", "cart", "db")]
    fig = plots.pod_status_by_revision(state_of(*objects), max_rows=2)
    assert sorted(rows_top_down(fig)) == ["web rev 1", "web rev 2"]
    assert "2 of 5 revisions" in title(fig) and "3 more not shown" in title(fig)


def test_few_revisions_are_all_shown():
    fig = plots.pod_status_by_revision(state_of(*healthy("api", "cart")))
    assert rows_top_down(fig) == ["api rev 1", "cart rev 1"]
    assert title(fig) == "Pod status per ReplicaSet revision"


# -- restarts over time ------------------------------------------------------------------------------

def restarting(restarts_by_workload: dict[str, int]) -> list[dict]:
    return [obj for name, restarts in restarts_by_workload.items()
            for obj in workload(name, [running("app", restarts=restarts, last_state=terminated_state(1, "Error"))])]


def test_restart_lanes_keep_the_containers_with_most_restarts():
    objects = restarting({"rarely": 1, "often": 9, "sometimes": 5})
    fig = plots.restarts_over_time(state_of(*objects), max_rows=2)
    assert rows_top_down(fig) == ["often-5d4f8b7c9-0x1 / app", "sometimes-5d4f8b7c9-0x1 / app"]
    assert "2 of 3 containers: those with the most restarts; 1 more not shown" in title(fig)


def test_few_restart_lanes_are_all_shown_alphabetically():
    fig = plots.restarts_over_time(state_of(*restarting({"rarely": 1, "often": 9})))
    assert rows_top_down(fig) == ["rarely-5d4f8b7c9-0x1 / app", "often-5d4f8b7c9-0x1 / app"]
    assert title(fig) == "Container restarts over time"


# -- usage against limits ----------------------------------------------------------------------------

def test_usage_keeps_the_containers_closest_to_their_limit():
    objects, used = [], {"low": "100Mi", "high": "950Mi", "middle": "500Mi"}
    for name, memory in used.items():
        spec = container("app", resources=resources(memory_request="512Mi", memory_limit="1Gi"))
        deploy = deployment(name, containers=[spec])
        objects += workload(name, [running("app")], deploy=deploy)
        objects.append(pod_metrics(objects[-1], {"app": ("10m", memory)}))
    fig = plots.usage_against_limits(state_of(*objects), "memory", max_rows=2)
    assert rows_top_down(fig) == ["high-5d4f8b7c9-0x1 / app", "middle-5d4f8b7c9-0x1 / app"]
    assert "2 of 3 containers: those with the highest use for their limit; 1 more not shown" in title(fig)
    assert rows_top_down(plots.usage_against_limits(state_of(*objects), "memory")) == [
        "middle-5d4f8b7c9-0x1 / app", "high-5d4f8b7c9-0x1 / app", "low-5d4f8b7c9-0x1 / app"]  # frame order, bottom up


# -- probe failures over time ------------------------------------------------------------------------

def test_probe_lanes_keep_the_probes_that_failed_most():
    objects = []
    for name, failures in {"flaky": 3, "broken": 40, "slow": 12}.items():
        parts = workload(name, [running("app", ready=False)])
        objects += parts
        objects.append(event(parts[-1], "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503",
                             count=failures, container_name="app"))
    fig = plots.probe_failures_over_time(state_of(*objects), max_rows=2)
    assert rows_top_down(fig) == ["broken / app / readiness", "slow / app / readiness"]
    assert "2 of 3 container probes: those with the most failures; 1 more not shown" in title(fig)
    assert title(plots.probe_failures_over_time(state_of(*objects))) == "Probe failures over time"
