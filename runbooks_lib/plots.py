"""Plots for the runbooks, as matplotlib Figures built without pyplot's global state.

Times on the axes come from the snapshot (capture time marked), never the wall
clock, so a rerun draws the same picture.
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


def pod_status_family(status: str, ready_count: int, container_count: int) -> str:
    if status == "Running":
        return "Running (ready)" if ready_count == container_count else "Running (not ready)"
    return status if status in STATUS_COLOURS else "other"


def pod_status_by_workload(state: "ClusterState", namespace: str | None = None) -> Figure:
    """Stacked horizontal bars: how many pods of each workload are in each status."""
    pods = state.frames.pods
    if namespace:
        pods = pods[pods["namespace"] == namespace]
    fig = Figure(figsize=(11, max(2.2, 0.55 * max(1, pods["workload"].nunique()) + 1.2)), dpi=100)
    ax = fig.add_subplot()
    if pods.empty:
        ax.text(0.5, 0.5, "no pods in this source", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    _stacked_status_bars(ax, pods, pods["workload"] + "  (" + pods["namespace"] + ")")
    ax.set_title("Pod status per workload")
    fig.tight_layout()
    return fig


def _stacked_status_bars(ax, pods: pd.DataFrame, labels: pd.Series) -> None:
    """One horizontal bar per label, stacked by status family in STATUS_COLOURS order."""
    families = pd.Series([pod_status_family(s, r, c) for s, r, c in
                          zip(pods["status"], pods["ready_count"], pods["container_count"])], index=pods.index,
                         name="status")
    counts = pd.crosstab(labels, families)
    order = [family for family in STATUS_COLOURS if family in counts.columns]
    counts = counts[order].sort_index(ascending=False)
    left = pd.Series(0, index=counts.index)
    for family in order:
        ax.barh(counts.index, counts[family], left=left, color=STATUS_COLOURS[family], label=family,
                edgecolor="white", linewidth=0.8)
        left = left + counts[family]
    ax.set_xlabel("pods")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)


def restarts_over_time(state: "ClusterState", namespace: str | None = None) -> Figure:
    """Each restart sighting (last terminations and BackOff/Killing events) on a per-container lane."""
    timeline = state.frames.restart_timeline
    if namespace:
        timeline = timeline[timeline["namespace"] == namespace]
    timeline = timeline.dropna(subset=["time"])
    lanes = sorted(set(timeline["pod"].astype(str) + " / " + timeline["container"].fillna("?").astype(str)))
    fig = Figure(figsize=(12, max(2.2, 0.4 * len(lanes) + 1.4)), dpi=100)
    ax = fig.add_subplot()
    if timeline.empty:
        ax.text(0.5, 0.5, "no restarts recorded", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    lane_of = {lane: i for i, lane in enumerate(lanes)}
    markers = {"lastState": ("o", "#c62828", "last termination"), "event BackOff": ("|", "#6d4c41", "BackOff event"),
               "event Killing": ("x", "#6a1b9a", "Killing (probe) event")}
    keys = timeline["pod"].astype(str) + " / " + timeline["container"].fillna("?").astype(str)
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
    ax.set_title("Container restarts over time")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def usage_against_limits(state: "ClusterState", resource: str = "memory", namespace: str | None = None) -> Figure:
    """Per-container usage bars with request and limit markers (memory in MiB, CPU in millicores)."""
    usage = state.frames.resource_usage
    if namespace:
        usage = usage[usage["namespace"] == namespace]
    scale, unit = (2**20, "MiB") if resource == "memory" else (1e-3, "millicores")
    used, request, limit = usage[resource] / scale, usage[f"requests_{resource}"] / scale, usage[f"limits_{resource}"] / scale
    labels = usage["pod"].astype(str) + " / " + usage["container"].astype(str)
    fig = Figure(figsize=(12, max(2.2, 0.35 * len(usage) + 1.4)), dpi=100)
    ax = fig.add_subplot()
    if usage.empty or used.isna().all():
        ax.text(0.5, 0.5, "no metrics in this source", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    positions = range(len(usage))
    ax.barh(positions, used.fillna(0), color="#1976d2", label="used")
    ax.scatter(request, positions, marker="|", s=200, color="#2e7d32", label="request", zorder=3)
    ax.scatter(limit, positions, marker="|", s=300, linewidths=2.5, color="#c62828", label="limit", zorder=3)
    ax.set_yticks(list(positions), labels, fontsize=8)
    ax.set_xlabel(unit)
    ax.set_title(f"{resource.capitalize()} use against requests and limits")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def save(fig: Figure, path) -> None:
    fig.savefig(path, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})


def probe_failures_over_time(state: "ClusterState", namespace: str | None = None,
                             workload: str | None = None) -> Figure:
    """Unhealthy events per container and probe type: a bar from first to last sighting, sized by count."""
    events = state.frames.events
    events = events[events["reason"] == "Unhealthy"].copy()
    if namespace:
        events = events[events["namespace"] == namespace]
    pods = state.frames.pods[["namespace", "pod", "workload"]]
    events = events.merge(pods, left_on=["namespace", "object_name"], right_on=["namespace", "pod"], how="left")
    if workload:
        events = events[events["workload"] == workload]
    events["probe"] = events["message"].str.extract(r"^(\w+) probe", expand=False).fillna("probe").str.lower()
    events["lane"] = (events["workload"].fillna(events["object_name"]) + " / " + events["container"].fillna("?")
                      + " / " + events["probe"])
    lanes = sorted(events["lane"].unique())
    fig = Figure(figsize=(12, max(2.2, 0.45 * len(lanes) + 1.4)), dpi=100)
    ax = fig.add_subplot()
    if events.empty:
        ax.text(0.5, 0.5, "no probe failures recorded", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    colours = {"liveness": "#c62828", "readiness": "#f9a825", "startup": "#6a1b9a"}
    lane_of = {lane: i for i, lane in enumerate(lanes)}
    for row in events.itertuples(index=False):
        y = lane_of[row.lane]
        colour = colours.get(row.probe, "#616161")
        ax.plot([row.first_seen, row.last_seen], [y, y], color=colour, linewidth=2, alpha=0.6, solid_capstyle="round")
        ax.scatter([row.last_seen], [y], s=20 + 4 * min(int(row.count), 100), color=colour, zorder=3, alpha=0.85)
    for probe, colour in colours.items():
        ax.scatter([], [], color=colour, label=probe)
    ax.axvline(state.now, color="#455a64", linestyle="--", linewidth=1, label="capture time")
    ax.set_yticks(range(len(lanes)), lanes, fontsize=8)
    _time_axis(ax, state)
    ax.set_xlabel("time (UTC): first to last failure per event; dot size = failure count")
    ax.set_title("Probe failures over time")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def pod_status_by_revision(state: "ClusterState", namespace: str | None = None,
                           workload: str | None = None) -> Figure:
    """Pod status per ReplicaSet revision of each Deployment: is the new revision the broken one?"""
    pods = state.frames.pods
    pods = pods[pods["revision"].notna()]
    if namespace:
        pods = pods[pods["namespace"] == namespace]
    if workload:
        pods = pods[pods["workload"] == workload]
    fig = Figure(figsize=(11, max(2.2, 0.5 * max(1, len(pods.groupby(["workload", "revision"]))) + 1.2)), dpi=100)
    ax = fig.add_subplot()
    if pods.empty:
        ax.text(0.5, 0.5, "no Deployment pods in this source", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    _stacked_status_bars(ax, pods, pods["workload"] + " rev " + pods["revision"].astype(int).astype(str))
    ax.set_title("Pod status per ReplicaSet revision")
    fig.tight_layout()
    return fig


def _time_axis(ax, state: "ClusterState") -> None:
    """HH:MM ticks in UTC, few enough not to collide."""
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=8, tz=state.now.tzinfo))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=state.now.tzinfo))
