"""Plots of the profiler's and the planner's measurements."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from revgnn.memory.kinds import MODEL_KINDS

__all__ = ["plot_check", "plot_depth", "series_label"]


def series_label(record: dict[str, Any], varying: Sequence[str] = ()) -> str:
    """Legend entry of a record: the model's label plus the settings that vary in the sweep."""
    cfg = record["config"]
    parts = [MODEL_KINDS[cfg["kind"]].label]
    names = {"hidden_channels": "D", "num_groups": "C", "amp": "amp", "aggr": "aggr"}
    for key in varying:
        if key == "num_groups" and not MODEL_KINDS[cfg["kind"]].grouped:
            continue
        value = cfg[key] if not (key == "amp" and cfg[key] is None) else "fp32"
        parts.append(f"{names.get(key, key)}={value}")
    return " ".join(parts)


def plot_depth(
    results: Sequence[dict[str, Any]], path: str | Path, title: str | None = None
) -> None:
    """Memory versus depth, one line per model (and per width / groups / precision when those
    vary): peak bytes of a step, peak RSS (CPU), and saved-activation bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import (
        FuncFormatter,
        LogLocator,
        NullFormatter,
        NullLocator,
        ScalarFormatter,
    )

    ok = [r for r in results if "peak_bytes" in r]
    depths = sorted({r["config"]["num_layers"] for r in ok})
    keys = ("hidden_channels", "num_groups", "amp", "aggr")
    varying = [k for k in keys if len({str(r["config"][k]) for r in ok}) > 1]
    panels = [("peak_bytes", "peak bytes of a training step")]
    if any(r.get("device") == "cpu" for r in ok):
        panels.append(("peak_rss_bytes", "peak RSS of the process"))
    panels.append(("saved_bytes", "saved activations of a forward pass"))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.2), squeeze=False)
    series: dict[str, list[dict[str, Any]]] = {}
    for r in ok:
        series.setdefault(series_label(r, varying), []).append(r)
    for ax, (key, name) in zip(axes[0], panels):
        for label, rs in series.items():
            pts = sorted((r["config"]["num_layers"], r[key]) for r in rs if r.get(key))
            if pts:
                xs, ys = zip(*pts)
                ax.plot(xs, [y / 2**20 for y in ys], marker="o", label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        plain = FuncFormatter(lambda v, _: f"{v:g}")
        ax.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
        ax.yaxis.set_major_formatter(plain)
        low, high = ax.get_ylim()
        # Within a decade or so only minor ticks carry values: label them too.
        ax.yaxis.set_minor_formatter(plain if high / low < 20 else NullFormatter())
        ax.set_xticks(depths)
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("depth (layers)")
        ax.set_ylabel("MiB")
        ax.set_title(name)
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_check(results: Sequence[dict[str, Any]], path: str | Path) -> None:
    """Predicted versus measured peak, one colour per model, with the ±15% band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ok = [r for r in results if "peak_bytes" in r]
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for kind in dict.fromkeys(r["config"]["kind"] for r in ok):
        rs = [r for r in ok if r["config"]["kind"] == kind]
        ax.scatter(
            [r["peak_bytes"] / 2**20 for r in rs],
            [r["predicted_bytes"] / 2**20 for r in rs],
            label=MODEL_KINDS[kind].label,
        )
    lo = min(min(r["peak_bytes"], r["predicted_bytes"]) for r in ok) / 2**20 / 1.3
    hi = max(max(r["peak_bytes"], r["predicted_bytes"]) for r in ok) / 2**20 * 1.3
    ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
    ax.fill_between(
        [lo, hi], [lo * 0.85, hi * 0.85], [lo * 1.15, hi * 1.15], color="tab:gray", alpha=0.2
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(LogLocator(subs=(1, 2, 5)))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("measured peak (MiB)")
    ax.set_ylabel("predicted peak (MiB)")
    ax.set_title("revgnn plan --check (band: ±15%)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
