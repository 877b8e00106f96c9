"""The report as a picture: identified places beside the places offered, shortlisted, approved and opened, by
quadrant and by need type, as a PNG.

matplotlib with its Agg backend: Agg draws into memory with no display or GUI toolkit, which a server (and a
container, and CI) has none of; and we use `matplotlib.figure.Figure` directly, never `pyplot`, whose global
"current figure" isn't safe when several turns draw at once. The PNG is kept small (about 40 KB) so it fits in
a Teams message (about 100 KB at most) as an inline image."""

from __future__ import annotations

import io

from storage.report import STAGES, Count, Report
from storage.windows import window_name

SERIES = ("identified", *STAGES)
# Colour-blind-safe (Okabe-Ito), in the order of SERIES; identified need is the dark bar the others are read by.
COLOURS = ("#333333", "#E69F00", "#56B4E9", "#009E73", "#0072B2")
SIZE, DPI = (9.0, 4.6), 80


def _values(count: Count, series: str) -> int:
    return count.identified if series == "identified" else count.places[series]


def draw(report: Report) -> bytes:
    """The chart as PNG bytes (a pure function of the report's numbers)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=SIZE, dpi=DPI)
    FigureCanvasAgg(figure)
    panels = (("By quadrant", report.by("quadrant")), ("By need type", report.by("need")))
    axes = figure.subplots(1, 2, gridspec_kw={"width_ratios": [max(1, len(g)) for _, g in panels]})
    width = 0.8 / len(SERIES)
    for ax, (title, groups) in zip(axes, panels, strict=True):
        names = [name for name, _ in groups] or ["(none)"]
        for i, series in enumerate(SERIES):
            heights = [_values(count, series) for _, count in groups] or [0]
            xs = [x + (i - (len(SERIES) - 1) / 2) * width for x in range(len(names))]
            ax.bar(xs, heights, width, label=series, color=COLOURS[i])
        ax.set_title(title, fontsize=10)
        ax.set_xticks(range(len(names)), names, fontsize=8, rotation=20 if len(names) > 4 else 0)
        ax.tick_params(axis="y", labelsize=8)
        ax.set_ylabel("places", fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].legend(fontsize=7, frameon=False)
    figure.suptitle(f"Places against identified need: {window_name(report.window)}", fontsize=11)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()
