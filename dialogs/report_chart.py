"""The report as a picture: identified places beside the places offered, shortlisted, approved and opened, by
quadrant and by need type, as a PNG.

matplotlib with its Agg backend: Agg draws into memory with no display or GUI toolkit, which a server (and a
container, and CI) has none of; and we use `matplotlib.figure.Figure` directly, never `pyplot`, whose global
"current figure" isn't safe when several turns draw at once. The PNG is kept small (about 40 KB) so it fits in
a Teams message (about 100 KB at most) as an inline image."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from storage.report import STAGES, Count, NeedReport
from storage.windows import window_name

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SERIES = ("identified", *STAGES)
# Colour-blind-safe (Okabe-Ito), in the order of SERIES: identified need is the dark bar the others are read by,
# and no two stages share a hue (sky blue and blue side by side were hard to tell apart). Each stage also has its
# own hatching, so the bars differ in print, in greyscale and for any kind of colour vision.
COLOURS = ("#333333", "#E69F00", "#56B4E9", "#009E73", "#CC79A7")
HATCHES = ("", "//", "..", "xx", "\\\\")
LABEL_SIZE = 9  # points: the legend, the values on the bars and the axes, readable when the PNG is shown small
SIZE, DPI = (11.5, 5.4), 80


def _values(count: Count, series: str) -> int:
    return count.identified if series == "identified" else count.places[series]


def figure(report: NeedReport) -> Figure:
    """The chart: for each group, a bar per series with its number of places on it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    chart = Figure(figsize=SIZE, dpi=DPI)
    FigureCanvasAgg(chart)
    panels = (("By quadrant", report.by("quadrant")), ("By need type", report.by("need")))
    axes = chart.subplots(1, 2, gridspec_kw={"width_ratios": [max(1, len(g)) for _, g in panels]})
    width = 0.8 / len(SERIES)
    for ax, (title, groups) in zip(axes, panels, strict=True):
        names = [name for name, _ in groups] or ["(none)"]
        for i, series in enumerate(SERIES):
            heights = [_values(count, series) for _, count in groups] or [0]
            xs = [x + (i - (len(SERIES) - 1) / 2) * width for x in range(len(names))]
            bars = ax.bar(xs, heights, width, label=series, color=COLOURS[i], hatch=HATCHES[i], edgecolor="white")
            ax.bar_label(bars, labels=[str(h) if h else "" for h in heights], fontsize=LABEL_SIZE - 1, padding=1)
        ax.set_title(title, fontsize=LABEL_SIZE + 1)
        ax.set_xticks(range(len(names)), names, fontsize=LABEL_SIZE - 1, rotation=20 if len(names) > 4 else 0)
        ax.tick_params(axis="y", labelsize=LABEL_SIZE - 1)
        ax.set_ylabel("places", fontsize=LABEL_SIZE)
        ax.margins(y=0.12)  # room for the values above the tallest bars
        ax.spines[["top", "right"]].set_visible(False)
    # One legend for both panels, in a row under the title, its swatches large enough to see the hatching.
    handles, labels = axes[0].get_legend_handles_labels()
    chart.legend(
        handles,
        labels,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.93),
        ncol=len(SERIES),
        fontsize=LABEL_SIZE,
        frameon=False,
        handlelength=2.2,
        handleheight=1.2,
    )
    chart.suptitle(f"Places against identified need: {window_name(report.window)}", fontsize=LABEL_SIZE + 3)
    chart.tight_layout(rect=(0, 0, 1, 0.9))
    return chart


def draw(report: NeedReport) -> bytes:
    """The chart as PNG bytes (a pure function of the report's numbers)."""
    out = io.BytesIO()
    figure(report).savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()
