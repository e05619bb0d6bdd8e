"""PNG charts for REPORT.md, drawn with matplotlib from a results file's rows.

Each function takes the rows write_report already picked out and a path, draws
one chart and returns the path (or None when there is nothing to draw).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def grouped_bars(path: Path, title: str, ylabel: str, groups: list[str], series: dict[str, list[float | None]],
                 log: bool = False) -> Path | None:
    """Bars per group, one colour per series (None leaves a gap)."""
    if not groups or not series:
        return None
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / len(series)
    for i, (name, values) in enumerate(series.items()):
        xs = [g + i * width for g in range(len(groups))]
        ax.bar([x for x, v in zip(xs, values) if v is not None], [v for v in values if v is not None],
               width=width, label=name)
    ax.set_xticks([g + width * (len(series) - 1) / 2 for g in range(len(groups))])
    ax.set_xticklabels(groups, rotation=15, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if log:
        ax.set_yscale("log")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def horizontal_bars(path: Path, title: str, xlabel: str, labels: list[str], values: list[float]) -> Path | None:
    if not labels:
        return None
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(labels) + 1.5))
    # limify's rows in blue, the peers' in orange
    colors = ["tab:blue" if "limify" in label else "tab:orange" for label in labels]
    ax.barh(range(len(labels)), values, color=colors)
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    for i, v in enumerate(values):
        ax.text(v, i, f" {v:,.0f}", va="center", fontsize=7)
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def lines(path: Path, title: str, xlabel: str, ylabel: str, series: dict[str, list[tuple[float, float]]],
          logx: bool = False, logy: bool = False) -> Path | None:
    """One line per series of (x, y) points."""
    series = {k: v for k, v in series.items() if v}
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(8, 4.5))
    # A p50 and its p99 share a colour (p99 dashed), as do limify and redis-benchmark on one script.
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    colours: dict[str, str] = {}
    for name, points in series.items():
        points = sorted(points)
        base = name.replace(" p50", "").replace(" p99", "").replace("redis-benchmark ", "limify ")
        colour = colours.setdefault(base, palette[len(colours) % len(palette)])
        style = "--" if "p99" in name or "redis-benchmark" in name else "-"
        ax.plot([p[0] for p in points], [p[1] for p in points], style, marker="o", label=name, color=colour)
    if logx:
        ax.set_xscale("log")
    xs = sorted({p[0] for points in series.values() for p in points})
    ax.set_xticks(xs)  # the measured points only (threads, callers, keys, rules)
    ax.set_xticklabels([f"{x:,.0f}" for x in xs])
    ax.minorticks_off()
    if logy:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)  # a linear axis that starts at zero does not exaggerate differences
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)
