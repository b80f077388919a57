"""Plots for the runbooks, as matplotlib Figures built without pyplot's global state.

Times on the axes come from the snapshot (capture time marked), never the wall
clock, so a rerun draws the same picture.

Plots stay readable on big clusters: a plot with more rows (workloads, containers, lanes)
than ``MAX_ROWS`` draws only the worst ones, worst at the top, and its title says how many
more there are. Smaller plots are drawn as they always were.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg", force=False)  # headless by default; Jupyter's inline display does not need pyplot

import matplotlib.dates as mdates  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

if TYPE_CHECKING:
    from .state import ClusterState

# One colour per kubectl STATUS family, chosen so that red means "look here first".
STATUS_COLOURS = {
    "Running (ready)": "#2e7d32",
    "Running (not ready)": "#f9a825",
    "CrashLoopBackOff": "#c62828",
    "Error": "#ad1457",
    "OOMKilled": "#6a1b9a",
    "ImagePullBackOff": "#ef6c00",
    "ErrImagePull": "#ef6c00",
    "CreateContainerConfigError": "#4e342e",
    "Pending": "#1565c0",
    "Completed": "#78909c",
    "Terminating": "#546e7a",
    "Template": "#90a4ae",
    "other": "#9e9e9e",
}

# Families that need no attention; every other family counts as a failing pod.
HEALTHY_FAMILIES = {"Running (ready)", "Completed", "Terminating", "Template"}

# A figure grows by about half an inch per row and takes seconds per hundred rows to draw;
# beyond a screenful nobody reads it, so plots keep the worst rows.
MAX_ROWS = 30


def pod_status_family(status: str, ready_count: int, container_count: int) -> str:
    if status == "Running":
        return "Running (ready)" if ready_count == container_count else "Running (not ready)"
    return status if status in STATUS_COLOURS else "other"


def pod_status_by_workload(state: "ClusterState", namespace: str | None = None,
                           max_rows: int = MAX_ROWS) -> Figure:
    """Stacked horizontal bars: how many pods of each workload are in each status."""
    pods = state.frames.pods
    if namespace:
        pods = pods[pods["namespace"] == namespace]
    if pods.empty:
        return _nothing_to_plot((11, 2.2), "no pods in this source")
    labels = pods["workload"] + "  (" + pods["namespace"] + ")"
    counts, hidden = _status_counts(pods, labels, labels, max_rows)
    fig = Figure(figsize=(11, max(2.2, 0.55 * len(counts) + 1.2)), dpi=100)
    ax = fig.add_subplot()
    _stacked_status_bars(ax, counts)
    ax.set_title(capped_title("Pod status per workload", len(counts), hidden, "workloads", "the most failing pods"))
    fig.tight_layout()
    return fig


def _status_counts(pods: pd.DataFrame, labels: pd.Series, groups: pd.Series,
                   max_rows: int) -> tuple[pd.DataFrame, int]:
    """Pods per label and status family (columns in STATUS_COLOURS order), in bar order, and how
    many labels were left out.

    Up to ``max_rows`` labels: all of them, in reverse alphabetical order (barh draws the first
    row at the bottom, so they read alphabetically from the top). More: the labels of the
    ``groups`` (workloads) with the most failing pods, then restarts, worst at the top; the
    labels of one group stay together.
    """
    families = pd.Series([pod_status_family(s, r, c) for s, r, c in
                          zip(pods["status"], pods["ready_count"], pods["container_count"])], index=pods.index,
                         name="status")
    counts = pd.crosstab(labels, families)
    counts = counts[[family for family in STATUS_COLOURS if family in counts.columns]]
    if len(counts) <= max_rows:
        return counts.sort_index(ascending=False), 0
    failing = (~families.isin(HEALTHY_FAMILIES)).astype(int)
    per_group = pd.DataFrame({"failing": failing, "restarts": pods["restarts"]}).groupby(groups.values).sum()
    per_label = pd.DataFrame({"group": groups, "label": labels, "failing": failing}).groupby("label").agg(
        group=("group", "first"), failing=("failing", "sum"))
    per_label["group_failing"] = per_group["failing"].reindex(per_label["group"]).to_numpy()
    per_label["group_restarts"] = per_group["restarts"].reindex(per_label["group"]).to_numpy()
    worst = worst_first(per_label[["group_failing", "group_restarts", "group", "failing"]],
                        descending=["group_failing", "group_restarts", "failing"])[:max_rows]
    return counts.loc[worst[::-1]], len(counts) - len(worst)


def _stacked_status_bars(ax, counts: pd.DataFrame) -> None:
    """One horizontal bar per row of ``counts``, stacked by status family."""
    left = pd.Series(0, index=counts.index)
    for family in counts.columns:
        ax.barh(counts.index, counts[family], left=left, color=STATUS_COLOURS[family], label=family,
                edgecolor="white", linewidth=0.8)
        left = left + counts[family]
    ax.set_xlabel("pods")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)


def worst_first(rank: pd.DataFrame, descending: list[str]) -> list:
    """The index of ``rank`` ordered worst first: ``descending`` columns high to low, the other
    columns and then the index itself low to high, so that ties always break the same way."""
    keys = list(rank.columns)
    ordered = rank.rename_axis("__label").reset_index().sort_values(
        keys + ["__label"], ascending=[key not in descending for key in keys] + [True], kind="stable")
    return ordered["__label"].tolist()


def capped_title(title: str, shown: int, hidden: int, noun: str, worst_by: str,
                 hint: str = "set namespace to narrow") -> str:
    """The plot's title, saying how many rows were left out, if any, which were kept, and
    which parameter (``hint``) brings the others into view."""
    if not hidden:
        return title
    return (f"{title}\n{shown} of {shown + hidden:,} {noun}: those with {worst_by}; "
            f"{hidden:,} more not shown ({hint})")


def _nothing_to_plot(size: tuple[float, float], message: str) -> Figure:
    fig = Figure(figsize=size, dpi=100)
    ax = fig.add_subplot()
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    return fig


def restarts_over_time(state: "ClusterState", namespace: str | None = None, max_rows: int = MAX_ROWS) -> Figure:
    """Each restart sighting (last terminations and BackOff/Killing events) on a per-container lane."""
    timeline = state.frames.restart_timeline
    if namespace:
        timeline = timeline[timeline["namespace"] == namespace]
    timeline = timeline.dropna(subset=["time"])
    if timeline.empty:
        return _nothing_to_plot((12, 2.2), "no restarts recorded")
    keys = timeline["pod"].astype(str) + " / " + timeline["container"].fillna("?").astype(str)
    lanes, hidden = _restart_lanes(state, timeline, keys, max_rows)
    shown = keys.isin(lanes)
    timeline, keys = timeline[shown], keys[shown]
    fig = Figure(figsize=(12, max(2.2, 0.4 * len(lanes) + 1.4)), dpi=100)
    ax = fig.add_subplot()
    lane_of = {lane: i for i, lane in enumerate(lanes)}
    markers = {"lastState": ("o", "#c62828", "last termination"), "event BackOff": ("|", "#6d4c41", "BackOff event"),
               "event Killing": ("x", "#6a1b9a", "Killing (probe) event")}
    for source, (marker, colour, label) in markers.items():
        rows = timeline[timeline["source"] == source]
        if rows.empty:
            continue
        ax.scatter(pd.to_datetime(rows["time"]), [lane_of[k] for k in keys[rows.index]], marker=marker,
                   color=colour, s=70, label=label, zorder=3)
    ax.axvline(state.now, color="#455a64", linestyle="--", linewidth=1, label="capture time")
    ax.set_yticks(range(len(lanes)), lanes, fontsize=8)
    _time_axis(ax, state)
    ax.set_xlabel(f"time (UTC), captured {state.now:%Y-%m-%d %H:%M}")
    ax.set_title(capped_title("Container restarts over time", len(lanes), hidden, "containers", "the most restarts"))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def _restart_lanes(state: "ClusterState", timeline: pd.DataFrame, keys: pd.Series,
                   max_rows: int) -> tuple[list[str], int]:
    """The lanes to draw, bottom to top, and how many were left out: all of them alphabetically,
    or the containers with the most restarts (then sightings, then the latest), worst at the top."""
    lanes = sorted(set(keys))
    if len(lanes) <= max_rows:
        return lanes, 0
    containers = state.frames.containers
    restarts = containers.groupby(["namespace", "pod", "container"])["restarts"].max()
    container_of_row = pd.MultiIndex.from_arrays([timeline["namespace"], timeline["pod"], timeline["container"]])
    rank = pd.DataFrame({"restarts": restarts.reindex(container_of_row).fillna(0).to_numpy(),
                         "time": pd.to_datetime(timeline["time"], utc=True).to_numpy()}, index=keys.index)
    rank = rank.groupby(keys).agg(restarts=("restarts", "max"), sightings=("time", "size"), latest=("time", "max"))
    worst = worst_first(rank, descending=["restarts", "sightings", "latest"])[:max_rows]
    return worst[::-1], len(lanes) - len(worst)


def usage_against_limits(state: "ClusterState", resource: str = "memory", namespace: str | None = None,
                         max_rows: int = MAX_ROWS) -> Figure:
    """Per-container usage bars with request and limit markers (memory in MiB, CPU in millicores)."""
    usage = state.frames.resource_usage
    if namespace:
        usage = usage[usage["namespace"] == namespace]
    if usage.empty or usage[resource].isna().all():
        return _nothing_to_plot((12, 2.2), "no metrics in this source")
    hidden = 0
    if len(usage) > max_rows:
        # closest to the limit first (a missing limit or measurement ranks last), then the most used
        rank = pd.DataFrame({"of_limit": usage[f"{resource}_of_limit"].fillna(-1), "used": usage[resource].fillna(-1)})
        worst = worst_first(rank, descending=["of_limit", "used"])[:max_rows]
        usage, hidden = usage.loc[worst[::-1]], len(usage) - len(worst)
    scale, unit = (2**20, "MiB") if resource == "memory" else (1e-3, "millicores")
    used, request, limit = usage[resource] / scale, usage[f"requests_{resource}"] / scale, usage[f"limits_{resource}"] / scale
    labels = usage["pod"].astype(str) + " / " + usage["container"].astype(str)
    fig = Figure(figsize=(12, max(2.2, 0.35 * len(usage) + 1.4)), dpi=100)
    ax = fig.add_subplot()
    positions = range(len(usage))
    ax.barh(positions, used.fillna(0), color="#1976d2", label="used")
    ax.scatter(request, positions, marker="|", s=200, color="#2e7d32", label="request", zorder=3)
    ax.scatter(limit, positions, marker="|", s=300, linewidths=2.5, color="#c62828", label="limit", zorder=3)
    ax.set_yticks(list(positions), labels, fontsize=8)
    ax.set_xlabel(unit)
    ax.set_title(capped_title(f"{resource.capitalize()} use against requests and limits", len(usage), hidden,
                              "containers", "the highest use for their limit"))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def save(fig: Figure, path) -> None:
    fig.savefig(path, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})


def probe_failures_over_time(state: "ClusterState", namespace: str | None = None,
                             workload: str | None = None, max_rows: int = MAX_ROWS) -> Figure:
    """Unhealthy events per container and probe type: a bar from first to last sighting, sized by count."""
    events = state.frames.events
    events = events[events["reason"] == "Unhealthy"].copy()
    if namespace:
        events = events[events["namespace"] == namespace]
    pods = state.frames.pods[["namespace", "pod", "workload"]]
    events = events.merge(pods, left_on=["namespace", "object_name"], right_on=["namespace", "pod"], how="left")
    if workload:
        events = events[events["workload"] == workload]
    if events.empty:
        return _nothing_to_plot((12, 2.2), "no probe failures recorded")
    events["probe"] = events["message"].str.extract(r"^(\w+) probe", expand=False).fillna("probe").str.lower()
    events["lane"] = (events["workload"].fillna(events["object_name"]) + " / " + events["container"].fillna("?")
                      + " / " + events["probe"])
    lanes = sorted(events["lane"].unique())
    hidden = 0
    if len(lanes) > max_rows:
        rank = events.groupby("lane").agg(failures=("count", "sum"), events=("lane", "size"),
                                          latest=("last_seen", "max"))
        worst = worst_first(rank, descending=["failures", "events", "latest"])[:max_rows]
        lanes, hidden = worst[::-1], len(lanes) - len(worst)
        events = events[events["lane"].isin(lanes)]
    fig = Figure(figsize=(12, max(2.2, 0.45 * len(lanes) + 1.4)), dpi=100)
    ax = fig.add_subplot()
    colours = {"liveness": "#c62828", "readiness": "#f9a825", "startup": "#6a1b9a"}
    lane_of = {lane: i for i, lane in enumerate(lanes)}
    events["y"] = events["lane"].map(lane_of)
    # one collection per probe type, not one artist per event: thousands of events draw in a second
    for probe, rows in events.groupby("probe", sort=True):
        colour = colours.get(probe, "#616161")
        ax.hlines(rows["y"], rows["first_seen"], rows["last_seen"], color=colour, linewidth=2, alpha=0.6,
                  capstyle="round")
        ax.scatter(rows["last_seen"], rows["y"], s=20 + 4 * rows["count"].clip(upper=100), color=colour, zorder=3,
                   alpha=0.85)
    for probe, colour in colours.items():
        ax.scatter([], [], color=colour, label=probe)
    ax.axvline(state.now, color="#455a64", linestyle="--", linewidth=1, label="capture time")
    ax.set_yticks(range(len(lanes)), lanes, fontsize=8)
    _time_axis(ax, state)
    ax.set_xlabel("time (UTC): first to last failure per event; dot size = failure count")
    ax.set_title(capped_title("Probe failures over time", len(lanes), hidden, "container probes", "the most failures"))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def pod_status_by_revision(state: "ClusterState", namespace: str | None = None,
                           workload: str | None = None, max_rows: int = MAX_ROWS) -> Figure:
    """Pod status per ReplicaSet revision of each Deployment: is the new revision the broken one?"""
    pods = state.frames.pods
    pods = pods[pods["revision"].notna()]
    if namespace:
        pods = pods[pods["namespace"] == namespace]
    if workload:
        pods = pods[pods["workload"] == workload]
    if pods.empty:
        return _nothing_to_plot((11, 2.2), "no Deployment pods in this source")
    labels = pods["workload"] + " rev " + pods["revision"].astype(int).astype(str)
    counts, hidden = _status_counts(pods, labels, pods["namespace"] + "/" + pods["workload"], max_rows)
    fig = Figure(figsize=(11, max(2.2, 0.5 * len(counts) + 1.2)), dpi=100)
    ax = fig.add_subplot()
    _stacked_status_bars(ax, counts)
    ax.set_title(capped_title("Pod status per ReplicaSet revision", len(counts), hidden, "revisions",
                              "the most failing pods in their Deployment"))
    fig.tight_layout()
    return fig


def _time_axis(ax, state: "ClusterState") -> None:
    """HH:MM ticks in UTC, few enough not to collide."""
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=8, tz=state.now.tzinfo))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=state.now.tzinfo))
