"""A reachability heatmap: source workloads (rows) x destination workloads (columns).

Built on ``matplotlib.figure.Figure`` directly, so nothing is registered with
pyplot: notebooks display the returned figure, and no global state leaks.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

DENIED_COLOUR = "#d9534f"
ALLOWED_COLOUR = "#5cb85c"


def plot_reachability(matrix_frame: pd.DataFrame, asymmetric_frame: pd.DataFrame | None = None,
                      title: str = "Reachability") -> Figure:
    """Allowed cells green, denied red; asymmetric cells hatched and marked "!"."""
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
