"""The sweep plot: modeled cost, and which schedule was chosen, against each swept parameter.

One column per parameter. Each line holds the other parameters (and the arch) fixed, so a step in the
lower panel is the optimizer switching schedules. Lines that choose the same schedule are drawn slightly
apart so none hides another. Legends sit under the panels, not over the data, and a key under the figure
says what each schedule id (S1, S2, ...) is. Needs matplotlib (the optional `plot` extra).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

SPREAD = 0.08  # vertical distance between lines that sit on the same schedule id, in id units


def _label(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def plot_sweep(rows: list[dict[str, object]], params: list[str], path: Path, title: str,
               schedules: list[str] | None = None) -> Path:
    """Write the PNG, with the lines of `schedules` (what the schedule ids are) under it; deterministic for
    the same rows (no timestamp in its metadata)."""
    fig = sweep_figure(rows, params, title, schedules)
    fig.savefig(path, dpi=90, metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)
    return path


def sweep_figure(rows: list[dict[str, object]], params: list[str], title: str,
                 schedules: list[str] | None = None) -> Figure:
    """The figure `plot_sweep` saves: cost and chosen schedule per parameter, legends under the panels."""
    ok = [r for r in rows if not r["error"]]
    ids = sorted({str(r["schedule_id"]) for r in ok}, key=lambda s: int(s[1:]))
    width = max(5.5 * len(params), 8.0)
    fig, axes = plt.subplots(2, len(params), figsize=(width, 7), squeeze=False)
    for col, param in enumerate(params):
        values = list(dict.fromkeys(r[param] for r in rows))
        others = [p for p in params if p != param]
        lines: dict[tuple, list[dict[str, object]]] = {}
        for r in ok:
            lines.setdefault((r["arch"], *(r[p] for p in others)), []).append(r)
        offset = {key: (k - (len(lines) - 1) / 2) * SPREAD for k, key in enumerate(lines)}
        for key, members in lines.items():
            members.sort(key=lambda r: values.index(r[param]))
            xs = [values.index(r[param]) for r in members]
            label = ", ".join([str(key[0])] + [f"{p}={_label(v)}" for p, v in zip(others, key[1:], strict=True)])
            axes[0][col].plot(xs, [float(r["cost_cycles"]) for r in members], marker="o", label=label)
            axes[1][col].plot(xs, [ids.index(str(r["schedule_id"])) + offset[key] for r in members], marker="s",
                              label=label)
        for row, ylabel in ((0, "modeled cycles"), (1, "chosen schedule (key below)")):
            ax = axes[row][col]
            ax.set_xticks(range(len(values)), [_label(v) for v in values])
            ax.set_xlabel(param)
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3)
        axes[1][col].set_yticks(range(len(ids)), ids)
        axes[1][col].set_ylim(-0.5, len(ids) - 0.5)
        axes[1][col].legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False,
                            title="each line holds these fixed", title_fontsize=7)
    fig.suptitle(f"{title}: cost and chosen schedule per parameter")
    fig.tight_layout()
    chars = int(width * 17)  # what fits a line at 7 pt
    if schedules:
        text = "\n".join(textwrap.fill(line, chars, subsequent_indent="      ") for line in schedules)
        fig.text(0.01, 0.0, text, fontsize=7, family="monospace", va="top", ha="left")
    return fig
