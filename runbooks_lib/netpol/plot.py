"""A reachability heatmap: source workloads (rows) x destination workloads (columns).

Built on ``matplotlib.figure.Figure`` directly, so nothing is registered with
pyplot: notebooks display the returned figure, and no global state leaks.

Like the other plots (``runbooks_lib.plots``), a namespace with more than ``MAX_ROWS``
workloads draws only the ones that matter most, and its title says how many more there are;
smaller namespaces are drawn as they always were.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from ..plots import MAX_ROWS, capped_title, worst_first

DENIED_COLOUR = "#d9534f"
ALLOWED_COLOUR = "#5cb85c"


def plot_reachability(matrix_frame: pd.DataFrame, asymmetric_frame: pd.DataFrame | None = None,
                      title: str = "Reachability", workload: str | None = None, max_rows: int = MAX_ROWS) -> Figure:
    """Allowed cells green, denied red; asymmetric cells hatched and marked "!".

    At most ``max_rows`` workloads, the same ones as sources and destinations: ``workload``
    ("name" or "Kind/name") first, then those in the most asymmetric, then denied flows.
    """
    kept, hidden = _kept_workloads(matrix_frame, asymmetric_frame, workload, max_rows)
    if hidden:
        matrix_frame = matrix_frame.loc[[w for w in kept if w in matrix_frame.index],
                                        [w for w in kept if w in matrix_frame.columns]]
        title = capped_title(title, len(kept), hidden, "workloads", "the most asymmetric, then denied flows",
                             hint="set workload to keep one in view")
    rows, columns = list(matrix_frame.index), list(matrix_frame.columns)
    # Room for the cells plus the longest labels (about 0.07 inch per character at 8pt).
    row_label = max((len(str(r)) for r in rows), default=0) * 0.07
    column_label = max((len(str(c)) for c in columns), default=0) * 0.06
    size_x = min(max(6.0, 2.5 + row_label + 0.5 * len(columns)), 30)  # wide enough for the legend
    size_y = min(2.5 + column_label + 0.4 * len(rows), 30)
    figure = Figure(figsize=(size_x, size_y), layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(title)
    if not rows or not columns:
        axes.text(0.5, 0.5, "no workloads", ha="center", va="center", transform=axes.transAxes)
        axes.set_axis_off()
        return figure
    values = matrix_frame.astype(bool).to_numpy().astype(int)
    axes.imshow(values, cmap=ListedColormap([DENIED_COLOUR, ALLOWED_COLOUR]), vmin=0, vmax=1,
                aspect="auto", interpolation="nearest")
    axes.set_xticks(range(len(columns)), labels=[str(c) for c in columns], rotation=60, ha="right",
                    rotation_mode="anchor", fontsize=8)
    axes.set_yticks(range(len(rows)), labels=[str(r) for r in rows], fontsize=8)
    axes.set_xlabel("destination")
    axes.set_ylabel("source")
    # Thin white grid between cells, so neighbouring cells of one colour stay countable.
    axes.set_xticks([x - 0.5 for x in range(1, len(columns))], minor=True)
    axes.set_yticks([y - 0.5 for y in range(1, len(rows))], minor=True)
    axes.grid(which="minor", color="white", linewidth=1)
    axes.tick_params(which="minor", length=0)
    if asymmetric_frame is not None and not asymmetric_frame.empty:
        flags = asymmetric_frame.reindex(index=rows, columns=columns, fill_value=False).astype(bool).to_numpy()
        for row, column in zip(*flags.nonzero()):
            axes.add_patch(Rectangle((column - 0.5, row - 0.5), 1, 1, fill=False, hatch="///",
                                     edgecolor="black", linewidth=0))
            axes.text(column, row, "!", ha="center", va="center", fontsize=10, fontweight="bold", color="black",
                      bbox={"boxstyle": "circle,pad=0.15", "facecolor": "white", "edgecolor": "none"})
    figure.legend(handles=[Patch(color=ALLOWED_COLOUR, label="allowed"), Patch(color=DENIED_COLOUR, label="denied"),
                         Patch(facecolor="white", edgecolor="black", hatch="///",
                               label="! asymmetric: one side allows, the other denies")],
                loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    return figure


def _kept_workloads(matrix_frame: pd.DataFrame, asymmetric_frame: pd.DataFrame | None, workload: str | None,
                    max_rows: int) -> tuple[list, int]:
    """The workloads to draw, most relevant first, and how many were left out (none: draw all as given)."""
    labels = pd.Index(matrix_frame.index).union(pd.Index(matrix_frame.columns), sort=False)
    if len(labels) <= max_rows:
        return list(labels), 0
    denied = ~matrix_frame.astype(bool)
    if asymmetric_frame is None:
        asymmetric = pd.DataFrame(False, index=matrix_frame.index, columns=matrix_frame.columns)
    else:
        asymmetric = asymmetric_frame.reindex(index=matrix_frame.index, columns=matrix_frame.columns,
                                              fill_value=False).astype(bool)

    def flows(cells: pd.DataFrame) -> pd.Series:
        # as source plus as destination: a workload denied to itself counts twice, it cannot reach its own peers
        return (cells.sum(axis=1).reindex(labels, fill_value=0)
                + cells.sum(axis=0).reindex(labels, fill_value=0))

    # the workload asked for (by default that of the worst finding), as "Kind/name" or just "name"
    named = (labels == workload) | labels.astype(str).str.endswith(f"/{workload}") if workload else False
    rank = pd.DataFrame({"named": named, "asymmetric": flows(asymmetric), "denied": flows(denied)}, index=labels)
    kept = worst_first(rank, descending=["named", "asymmetric", "denied"])[:max_rows]
    return kept, len(labels) - len(kept)
