"""The sweep plot: modeled cost, and which schedule was chosen, against each swept parameter.

One column per parameter. Each line holds the other parameters (and the arch) fixed, so a step in the
lower panel is the optimizer switching schedules. Needs matplotlib (the optional `plot` extra).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _label(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def plot_sweep(rows: list[dict[str, object]], params: list[str], path: Path, title: str) -> Path:
    """Write the PNG; deterministic for the same rows (no timestamp in its metadata)."""
    ok = [r for r in rows if not r["error"]]
    ids = sorted({str(r["schedule_id"]) for r in ok}, key=lambda s: int(s[1:]))
    fig, axes = plt.subplots(2, len(params), figsize=(5 * len(params), 7), squeeze=False)
    for col, param in enumerate(params):
        values = list(dict.fromkeys(r[param] for r in rows))
        others = [p for p in params if p != param]
        lines: dict[tuple, list[dict[str, object]]] = {}
        for r in ok:
            lines.setdefault((r["arch"], *(r[p] for p in others)), []).append(r)
        for key, members in lines.items():
            members.sort(key=lambda r: values.index(r[param]))
            xs = [values.index(r[param]) for r in members]
            label = ", ".join([str(key[0])] + [f"{p}={_label(v)}" for p, v in zip(others, key[1:], strict=True)])
            axes[0][col].plot(xs, [float(r["cost_cycles"]) for r in members], marker="o", label=label)
            axes[1][col].plot(xs, [ids.index(str(r["schedule_id"])) for r in members], marker="s", label=label)
        for row, ylabel in ((0, "modeled cycles"), (1, "chosen schedule")):
            ax = axes[row][col]
            ax.set_xticks(range(len(values)), [_label(v) for v in values])
            ax.set_xlabel(param)
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3)
        axes[1][col].set_yticks(range(len(ids)), ids)
        axes[0][col].legend(fontsize=7)
    fig.suptitle(f"{title}: cost and chosen schedule per parameter")
    fig.tight_layout()
    fig.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(fig)
    return path
