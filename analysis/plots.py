"""Plots: presentation only, one calling convention.

Every function takes a prepared frame first (one row per thing drawn, the
estimate and its interval already computed), keyword-only options, and
``ax=None`` (a new figure when None); it labels both axes (units belong in
the labels: "CNY per account", "per 10,000 contacts", "percentage points"),
draws the intervals it is given as error bars, returns the axes, and never
changes global style. :func:`set_style` is the one place the project style is
set: call it once per notebook. ``scale`` options only change units (e.g.
100 to show a proportion in percent); nothing statistical is computed here.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = [
    "STYLE", "set_style", "interval_plot", "bar_with_ci", "funnel_plot", "dose_response_plot",
    "hour_profile", "stacked_share", "sensitivity_plot", "power_curve", "tornado_plot", "frontier_plot",
]

#: The project style (matplotlib rc parameters).
STYLE: dict = {
    "figure.figsize": (8.0, 4.5),
    "figure.dpi": 100,
    "savefig.dpi": 120,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "axes.prop_cycle": mpl.cycler(color=["#1b6ca8", "#e07b39", "#3a923a", "#c03d3e", "#8c6bb1",
                                         "#7f7f7f", "#b8a22f", "#17becf"]),
}


def set_style() -> None:
    """Apply :data:`STYLE` to matplotlib's rcParams (once per notebook)."""
    mpl.rcParams.update(STYLE)


def _axes(ax):
    if ax is None:
        _, ax = plt.subplots()
    return ax


def _yerr(data: pd.DataFrame, value: str, low: str, high: str, scale: float) -> np.ndarray:
    v = data[value].to_numpy(float) * scale
    return np.vstack([v - data[low].to_numpy(float) * scale, data[high].to_numpy(float) * scale - v])


def _finish(ax, xlabel: str, ylabel: str, *, legend: str | None = None, title: str | None = None):
    """Label the axes, add the legend (titled ``legend``) and the title; return ``ax``."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if legend:
        ax.legend(title=legend)
    if title:
        ax.set_title(title)
    return ax


def _groups(data: pd.DataFrame, hue: str | None):
    return [(None, data)] if hue is None else list(data.groupby(hue, sort=False))


def interval_plot(data: pd.DataFrame, *, label: str, estimate: str = "estimate", low: str = "ci_low",
                  high: str = "ci_high", hue: str | None = None, reference: float | None = None,
                  scale: float = 1.0, xlabel: str, ylabel: str | None = None, title: str | None = None,
                  truth: str | None = None, ax=None):
    """Point estimates with interval bars, one row per ``label`` (horizontal).

    Args:
        data: one row per estimate.
        label: column naming the rows (the y axis).
        estimate, low, high: columns of the estimate and its interval.
        hue: optional column splitting the rows into dodged series.
        reference: draw a vertical line at this value (e.g. 0 or 1).
        scale: multiply the values for display (e.g. 100 for percentage points).
        xlabel: the value's name with its unit.
        ylabel: defaults to the ``label`` column name.
        title: optional title.
        truth: optional column of known true values, drawn as crosses.
        ax: axes to draw on.
    """
    ax = _axes(ax)
    labels = list(dict.fromkeys(data[label].astype(str)))
    pos = {k: i for i, k in enumerate(labels)}
    groups = _groups(data, hue)
    width = 0.6 / max(len(groups), 1)
    for j, (name, g) in enumerate(groups):
        offset = (j - (len(groups) - 1) / 2) * width if hue else 0.0
        y = np.array([pos[str(v)] for v in g[label]]) + offset
        ax.errorbar(g[estimate].to_numpy(float) * scale, y, xerr=_yerr(g, estimate, low, high, scale),
                    fmt="o", capsize=3, label=None if name is None else str(name))
        if truth is not None:
            ax.scatter(g[truth].to_numpy(float) * scale, y, marker="x", color="k", zorder=3,
                       label="truth" if j == 0 else None)
    if reference is not None:
        ax.axvline(reference * scale, color="0.4", lw=1, ls="--")
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel or label)
    if hue or truth is not None:
        ax.legend(title=hue)
    if title:
        ax.set_title(title)
    return ax


def bar_with_ci(data: pd.DataFrame, *, x: str, y: str, low: str | None, high: str | None, hue: str | None = None,
                scale: float = 1.0, xlabel: str | None = None, ylabel: str, title: str | None = None,
                reference: float | None = None, ax=None):
    """Vertical bars with interval bars; ``hue`` gives grouped bars.

    ``low``/``high`` None draws bars without intervals (for quantities with
    no sampling uncertainty, such as planned sample sizes).
    """
    ax = _axes(ax)
    cats = list(dict.fromkeys(data[x].astype(str)))
    pos = {k: i for i, k in enumerate(cats)}
    groups = _groups(data, hue)
    width = 0.8 / max(len(groups), 1)
    for j, (name, g) in enumerate(groups):
        xs = np.array([pos[str(v)] for v in g[x]]) + (j - (len(groups) - 1) / 2) * width
        ax.bar(xs, g[y].to_numpy(float) * scale, width=width * 0.95, label=None if name is None else str(name))
        if low is not None and high is not None:
            ax.errorbar(xs, g[y].to_numpy(float) * scale, yerr=_yerr(g, y, low, high, scale), fmt="none",
                        ecolor="0.2", capsize=3)
    if reference is not None:
        ax.axhline(reference * scale, color="0.4", lw=1, ls="--")
    ax.set_xticks(range(len(cats)), cats)
    return _finish(ax, xlabel or x, ylabel, legend=hue, title=title)


def funnel_plot(data: pd.DataFrame, *, stage: str = "stage", rate: str = "rate", low: str = "ci_low",
                high: str = "ci_high", hue: str = "strategy", scale: float = 100.0,
                ylabel: str = "share of accounts (%)", title: str | None = None, ax=None):
    """The contact funnel: share of accounts reaching each stage, by ``hue``."""
    return bar_with_ci(data, x=stage, y=rate, low=low, high=high, hue=hue, scale=scale, xlabel="funnel stage",
                       ylabel=ylabel, title=title, ax=ax)


def dose_response_plot(data: pd.DataFrame, *, x: str = "n_window", rate: str = "rate", low: str = "ci_low",
                       high: str = "ci_high", fitted: str | None = "fitted_rate", hue: str | None = "channel",
                       xlabel: str = "contacts in the last 7 days (incl. this one)",
                       ylabel: str = "complaints per 10,000 contacts", title: str | None = None, ax=None):
    """Observed rates with intervals by contact frequency, and the fitted curve."""
    ax = _axes(ax)
    for name, g in _groups(data, hue):
        lines = ax.errorbar(g[x], g[rate], yerr=_yerr(g, rate, low, high, 1.0), fmt="o", capsize=2, alpha=0.8,
                            label=None if name is None else f"{name} (observed)")
        if fitted is not None and fitted in g:
            ax.plot(g[x], g[fitted], color=lines[0].get_color(), lw=1.5,
                    label=None if name is None else f"{name} (model)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if hue:
        ax.legend()
    if title:
        ax.set_title(title)
    return ax


def hour_profile(data: pd.DataFrame, *, x: str = "local_hour", y: str = "contacts", hue: str | None = "channel",
                 xlabel: str = "local hour of the borrower (0-23)", ylabel: str = "contact attempts",
                 low: str | None = None, high: str | None = None, shade: Sequence[tuple[float, float]] = (),
                 title: str | None = None, ax=None):
    """Lines over the hour (or day) of contact, optional intervals and shaded spans (e.g. quiet hours)."""
    ax = _axes(ax)
    for start, end in shade:
        ax.axvspan(start, end, color="0.85", lw=0)
    for name, g in _groups(data, hue):
        if low is not None and high is not None:
            ax.errorbar(g[x], g[y], yerr=_yerr(g, y, low, high, 1.0), marker="o", ms=3, capsize=2,
                        label=None if name is None else str(name))
        else:
            ax.plot(g[x], g[y], marker="o", ms=3, label=None if name is None else str(name))
    return _finish(ax, xlabel, ylabel, legend=hue, title=title)


def stacked_share(data: pd.DataFrame, *, x: str, hue: str, value: str, xlabel: str | None = None,
                  ylabel: str = "share (%)", scale: float = 100.0, title: str | None = None, ax=None):
    """Stacked bars of shares (already computed, e.g. ``category_mix``'s ``share``)."""
    ax = _axes(ax)
    cats = list(dict.fromkeys(data[x].astype(str)))
    bottom = np.zeros(len(cats))
    for name, g in data.groupby(hue, sort=False):
        v = g.set_index(g[x].astype(str))[value].reindex(cats).fillna(0.0).to_numpy(float) * scale
        ax.bar(cats, v, bottom=bottom, label=str(name))
        bottom = bottom + v
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel)
    ax.legend(title=hue, bbox_to_anchor=(1.01, 1), loc="upper left")
    if title:
        ax.set_title(title)
    return ax


def sensitivity_plot(data: pd.DataFrame, *, x: str, y: str, low: str | None = None, high: str | None = None,
                     hue: str = "strategy", xlabel: str, ylabel: str, baseline_x: float | None = None,
                     title: str | None = None, ax=None):
    """A measure against one varied assumption (e.g. agent cost per hour), one line per ``hue``."""
    ax = _axes(ax)
    for name, g in _groups(data, hue):
        if low is not None and high is not None:
            ax.errorbar(g[x], g[y], yerr=_yerr(g, y, low, high, 1.0), marker="o", ms=3, capsize=2,
                        label=None if name is None else str(name))
        else:
            ax.plot(g[x], g[y], marker="o", ms=3, label=None if name is None else str(name))
    if baseline_x is not None:
        ax.axvline(baseline_x, color="0.4", lw=1, ls="--")
    return _finish(ax, xlabel, ylabel, legend=hue, title=title)


def power_curve(data: pd.DataFrame, *, x: str, y: str = "power", hue: str | None = None, target: float | None = 0.8,
                xlabel: str, ylabel: str = "power (%)", scale: float = 100.0, title: str | None = None, ax=None):
    """Power (or any 0-1 measure) against sample size or effect, with a target line."""
    ax = _axes(ax)
    for name, g in _groups(data, hue):
        ax.plot(g[x], g[y].to_numpy(float) * scale, lw=2, label=None if name is None else str(name))
    if target is not None:
        ax.axhline(target * scale, color="0.4", lw=1, ls="--")
    return _finish(ax, xlabel, ylabel, legend=hue, title=title)


def tornado_plot(data: pd.DataFrame, *, label: str = "key", low: str = "value_at_low", high: str = "value_at_high",
                 base: str = "base", scale: float = 1.0, xlabel: str, ylabel: str | None = None,
                 reference: float | None = None, title: str | None = None, ax=None):
    """One-at-a-time sensitivity: per row a bar from the base value to the value at each end of a range.

    Rows are drawn in the order given, the first at the top (pass them sorted
    by swing, as :func:`analysis.economics.tornado` returns them).

    Args:
        data: one row per assumption.
        label: column naming the rows (the y axis).
        low, high: columns of the quantity with the assumption at the low and the high end of its range.
        base: column of the quantity at base assumptions (the bars' common origin; its first value is used).
        scale: multiply the values for display.
        xlabel: the quantity's name with its unit.
        ylabel: defaults to the ``label`` column name.
        reference: optional extra vertical line (e.g. 0: where the decision flips).
        title: optional title.
        ax: axes to draw on.
    """
    ax = _axes(ax)
    labels = data[label].astype(str).tolist()
    y = np.arange(len(labels))
    origin = float(data[base].iloc[0]) * scale if len(data) else 0.0
    for col, name in ((low, "assumption at low end"), (high, "assumption at high end")):
        ax.barh(y, data[col].to_numpy(float) * scale - origin, left=origin, height=0.6, label=name, alpha=0.85)
    ax.axvline(origin, color="0.2", lw=1)
    if reference is not None:
        ax.axvline(reference * scale, color="0.4", lw=1, ls="--")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel or label)
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


def frontier_plot(data: pd.DataFrame, *, x: str = "limit", y: str = "value_per_account", status: str | None = "status",
                  hue: str | None = None, scale: float = 1.0, current: float | None = None, xlabel: str,
                  ylabel: str, title: str | None = None, ax=None):
    """Optimal value against a swept constraint (e.g. :func:`analysis.policy.frontier`), one line per ``hue``.

    Rows whose ``status`` is ``"infeasible"`` are not joined by the line; their
    limits are marked with crosses on the x axis.

    Args:
        data: one row per limit.
        x, y: columns of the limit and the optimal value.
        status: column of ``optimal`` / ``infeasible`` (None: every row is feasible).
        hue: optional column splitting the rows into lines.
        scale: multiply ``y`` for display.
        current: draw a vertical line at the limit in force.
        xlabel, ylabel: names with units.
        title: optional title.
        ax: axes to draw on.
    """
    ax = _axes(ax)
    bad = data[status] == "infeasible" if status is not None else pd.Series(False, index=data.index)
    for name, g in _groups(data[~bad], hue):
        ax.plot(g[x], g[y].to_numpy(float) * scale, marker="o", ms=4, lw=2, label=None if name is None else str(name))
    if bad.any():
        ax.plot(data.loc[bad, x], np.zeros(int(bad.sum())), "x", color="#c03d3e", ms=8, clip_on=False,
                transform=ax.get_xaxis_transform(), label="infeasible limit")
    if current is not None:
        ax.axvline(current, color="0.4", lw=1, ls="--", label="limit in force")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if hue or bad.any() or current is not None:
        ax.legend(title=hue)
    if title:
        ax.set_title(title)
    return ax
