"""Notebook tables on big clusters: ``max_rows`` keeps the worst rows first and says how many more
there are; a table that fits is displayed exactly like the DataFrame, and without ``max_rows``
the functions return the whole DataFrame as before."""

import pandas as pd

from builders import (container, deployment, event, pod, pod_metrics, replicaset, running, service, state_of,
                      terminated_state, waiting)
from builders_workloads import endpoints, pending_pod, resources
from runbooks_lib import notebook as rb
from runbooks_lib.findings import Finding


def html_of(shown) -> str:
    return shown._repr_html_()


def workload(name: str, statuses: list[dict], minutes_ago: float = 60, containers=None) -> list[dict]:
    deploy = deployment(name, replicas=len(statuses), containers=containers)
    rs = replicaset(deploy, "5d4f8b7c9", 1, len(statuses))
    return [deploy, rs, *(pod(f"{name}-5d4f8b7c9-{index}x", owner=rs, statuses=[status], minutes_ago=minutes_ago)
                          for index, status in enumerate(statuses))]


def crash_looping(restarts: int) -> dict:
    return waiting("app", "CrashLoopBackOff", "back-off 5m0s restarting failed container=app", restarts=restarts,
                   last_state=terminated_state(1, "Error", finished_minutes_ago=2))


# -- shown_rows ------------------------------------------------------------------------------------

TABLE = pd.DataFrame({"NAME": ["a", "b", "c", "d", "e"], "RESTARTS": [1, 7, 0, 7, 3]})


def test_a_table_that_fits_displays_exactly_like_the_dataframe():
    shown = rb.shown_rows(TABLE, 5, "pods", "the most restarts first", rank=TABLE[["RESTARTS"]])
    assert shown.hidden == 0 and shown.note() == ""
    assert html_of(shown) == TABLE._repr_html_()
    assert repr(shown) == repr(TABLE)


def test_a_big_table_keeps_the_worst_rows_first_and_says_how_many_more():
    shown = rb.shown_rows(TABLE, 3, "pods", "the most restarts first", rank=TABLE[["RESTARTS"]])
    assert shown.rows["NAME"].tolist() == ["b", "d", "e"]  # the tie between b and d keeps table order
    assert shown.total == 5 and shown.hidden == 2
    note = "3 of 5 pods shown, the most restarts first; 2 more not shown: filter with the namespace parameter."
    assert shown.note() == note
    assert html_of(shown).endswith(f"<p><i>{note}</i></p>")
    assert repr(shown).endswith("\n" + note)


def test_without_a_rank_the_first_rows_are_kept_and_unknown_ranks_go_last():
    assert rb.shown_rows(TABLE, 2, "rows").rows["NAME"].tolist() == ["a", "b"]
    rank = pd.DataFrame({"share": [None, 0.5, None, 0.9, 0.1]})
    assert rb.shown_rows(TABLE, 4, "rows", rank=rank).rows["NAME"].tolist() == ["d", "b", "e", "a"]


# -- the runbook tables ------------------------------------------------------------------------------

def cluster() -> "rb.ClusterState":
    return state_of(*workload("api", [running("app"), running("app", ready=False, restarts=2)]),
                    *workload("web", [crash_looping(9)]),
                    *workload("db", [running("app"), running("app", restarts=4)]))


def test_pods_capped_failing_first_then_most_restarts():
    state = cluster()
    full = rb.get_pods(state)
    assert isinstance(full, pd.DataFrame) and len(full) == 5
    shown = rb.get_pods(state, max_rows=3)
    assert shown.rows["NAME"].tolist() == ["web-5d4f8b7c9-0x", "api-5d4f8b7c9-1x", "db-5d4f8b7c9-1x"]
    assert "3 of 5 pods shown" in shown.note() and "2 more not shown" in shown.note()


def test_pods_that_fit_look_the_same_with_or_without_a_cap():
    state = cluster()
    assert html_of(rb.get_pods(state, max_rows=50)) == rb.get_pods(state)._repr_html_()


def test_workloads_capped_with_the_most_replicas_not_ready_first():
    ready = {"readyReplicas": 3, "replicas": 3}
    objects = [deployment("full", replicas=3, status=ready), deployment("half", replicas=4, status={"readyReplicas": 2}),
               deployment("down", replicas=3, status={"readyReplicas": 0})]
    shown = rb.get_workloads(state_of(*objects), max_rows=2)
    assert shown.rows["NAME"].tolist() == ["down", "half"]
    assert shown.hidden == 1


def test_restarting_containers_capped_most_restarts_first():
    shown = rb.restarting_containers(cluster(), max_rows=2)
    assert shown.rows["RESTARTS"].tolist() == [9, 4]
    assert "2 of 3 containers shown, the most restarts first; 1 more" in shown.note()
    assert len(rb.restarting_containers(cluster())) == 3


def test_events_capped_keep_the_newest_newest_last():
    parts = workload("api", [running("app", ready=False)])
    objects = [*parts] + [event(parts[-1], "Unhealthy", f"Readiness probe failed: attempt {minutes}",
                                first_minutes_ago=minutes + 5, last_minutes_ago=minutes, container_name="app")
                          for minutes in (30, 2, 10, 20)]
    shown = rb.events_for(state_of(*objects), reasons=["Unhealthy"], max_rows=2)
    assert shown.rows["LAST SEEN"].tolist() == ["10m ago", "2m ago"]
    assert "2 of 4 events shown, the newest; 2 more" in shown.note()


def test_services_count_endpoints_and_capped_show_those_without_ready_endpoints_first():
    api_pods = workload("api", [running("app"), running("app", ready=False)])[2:]
    served = service("served", selector={"app": "api"})
    broken = service("broken", selector={"app": "gone"},
                     ports=[{"port": 80, "protocol": "TCP", "targetPort": 8080},
                            {"name": "metrics", "port": 9090, "protocol": "TCP", "targetPort": "metrics"}])
    state = state_of(served, broken, *api_pods, endpoints(served, ready=api_pods[:1], not_ready=api_pods[1:]),
                     endpoints(broken))
    full = rb.services_table(state)
    assert full.set_index("SERVICE")[["READY ENDPOINTS", "NOT READY"]].to_dict("index") == {
        "served": {"READY ENDPOINTS": 1, "NOT READY": 1}, "broken": {"READY ENDPOINTS": 0, "NOT READY": 0}}
    assert full.set_index("SERVICE").loc["broken", "PORTS"] == "- 80->8080/TCP, metrics 9090->metrics/TCP"
    shown = rb.services_table(state, max_rows=1)
    assert shown.rows["SERVICE"].tolist() == ["broken"]


def test_waiting_pods_capped_longest_waiting_first():
    deploy = deployment("api", replicas=3)
    rs = replicaset(deploy, "5d4f8b7c9", 1, 3)
    objects = [deploy, rs] + [pending_pod(f"api-5d4f8b7c9-{minutes}m", owner=rs, minutes_ago=minutes)
                              for minutes in (5, 50, 20)]
    shown = rb.waiting_pods(state_of(*objects), max_rows=2)
    assert shown.rows["NAME"].tolist() == ["api-5d4f8b7c9-50m", "api-5d4f8b7c9-20m"]


def test_resource_table_capped_closest_to_a_limit_first():
    spec = [container("app", resources=resources(memory_request="256Mi", memory_limit="1Gi"))]
    objects = []
    for name, memory in {"low": "100Mi", "high": "1000Mi", "middle": "500Mi"}.items():
        parts = workload(name, [running("app")], containers=spec)
        objects += [*parts, pod_metrics(parts[-1], {"app": ("10m", memory)})]
    shown = rb.resource_table(state_of(*objects), max_rows=2)
    assert shown.rows["POD"].tolist() == ["high-5d4f8b7c9-0x", "middle-5d4f8b7c9-0x"]
    assert shown.rows["MEM % LIM"].tolist() == ["98%", "49%"]


def test_replicasets_capped_most_pods_not_ready_first():
    deploy = deployment("api", replicas=3)
    objects = [deploy, replicaset(deploy, "aaaa", 1, 0), replicaset(deploy, "bbbb", 2, 3, ready=1),
               replicaset(deploy, "cccc", 3, 3, ready=3)]
    shown = rb.replicasets_table(state_of(*objects), max_rows=1)
    assert shown.rows["REPLICASET"].tolist() == ["api-bbbb"]
    assert "filter with the namespace or workload parameter" in shown.note()


# -- findings ----------------------------------------------------------------------------------------

def finding(rule: str, severity: str, name: str) -> Finding:
    return Finding(rule=rule, severity=severity, namespace="shop", kind="Deployment", name=name, summary=f"{name} broke")


FINDINGS = [finding("stale-replicasets", "info", "a"), finding("crashloop", "critical", "b"),
            finding("probe-timeout", "warning", "c"), finding("crashloop", "critical", "d"),
            finding("stale-replicasets", "info", "e")]


def test_findings_table_capped_most_severe_first_with_the_others_counted_by_rule():
    markup = rb.findings_table(FINDINGS, max_rows=3).data
    assert markup.index("Deployment shop/b") < markup.index("Deployment shop/d") < markup.index("Deployment shop/c")
    assert "shop/a" not in markup and "shop/e" not in markup
    assert "3 of 5 findings shown, the most severe first; 2 more not shown (stale-replicasets 2)" in markup


def test_findings_table_that_fits_has_no_note():
    assert rb.findings_table(FINDINGS, max_rows=5).data == rb.findings_table(FINDINGS).data
    assert "not shown" not in rb.findings_table(FINDINGS).data


def test_show_findings_capped(monkeypatch):
    shown = []
    monkeypatch.setattr(rb, "_display_html", shown.append)
    rb.show_findings(FINDINGS, max_rows=1)
    assert "shop/b" in shown[0] and "shop/d" not in shown[0]
    assert "1 of 5 findings shown" in shown[0] and "(stale-replicasets 2, crashloop 1, probe-timeout 1)" in shown[0]


# -- previous logs -----------------------------------------------------------------------------------

def test_previous_log_tails_one_per_container_name_up_to_a_limit():
    objects = [obj for name in ("api", "web", "db") for obj in workload(name, [crash_looping(3), crash_looping(2)],
                                                                         containers=[container(f"{name}-app")])]
    for obj in objects:
        if obj["kind"] == "Pod":
            obj["status"]["containerStatuses"][0]["name"] = obj["spec"]["containers"][0]["name"]
    logs = {("shop", f"{name}-5d4f8b7c9-0x", f"{name}-app", True): f"{name} died\n"
            for name in ("api", "web", "db")}
    text = rb.previous_log_tails(state_of(*objects, logs=logs), max_containers=2)
    assert text.splitlines() == ["--- shop/api-5d4f8b7c9-0x api-app (previous) ---", "    1  api died",
                                 "--- shop/web-5d4f8b7c9-0x web-app (previous) ---", "    1  web died",
                                 "(1 more restarting containers not shown: filter with the namespace or workload "
                                 "parameter)"]
    assert "more restarting" not in rb.previous_log_tails(state_of(*objects, logs=logs))
