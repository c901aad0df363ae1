"""Response: the contact funnel and repayment per strategy and segment.

Everything starts from one engine query (:func:`analysis.engine.cell_stats`)
and ends in intervals from :mod:`analysis.stats`:

* the funnel: share of accounts contacted, reached (a text delivered or a call
  answered), reached in person (right-party call), promising to pay, paying
  anything, and cured (paid the overdue balance in full), with Wilson
  intervals;
* repayment outcomes: paid rate, cure rate and money collected per account;
* effects against a baseline strategy: differences in proportions (Newcombe's
  hybrid score interval by default) and in money collected (Welch), per
  segment if asked, with Holm-adjusted p-values across the segments.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from analysis import checks, engine, stats
from analysis.engine import Tables
from analysis.i18n import N_

__all__ = [
    "funnel",
    "outcomes",
    "effects",
]

#: Funnel stages in order, with their meaning.
STAGES: dict[str, str] = {  # in English: show ``_(STAGES[stage])``
    "contacted": N_("any contact attempt"),
    "reached": N_("a text delivered or a call answered"),
    "right_party": N_("a call reached the borrower in person"),
    "promise": N_("a promise to pay"),
    "paid": N_("paid anything"),
    "cured": N_("paid the overdue balance in full"),
}
_BINARY = tuple(STAGES)
_REACHED = {"reached": lambda t: (t.sms_delivered + t.calls_connected) > 0}


def _cells(tables: Tables, by: Sequence[str], horizon_days: int) -> pd.DataFrame:
    return engine.cell_stats(
        tables, by=tuple(by), metrics=[*_BINARY, "collected"], derived=_REACHED, horizon_days=horizon_days
    )


def _by_columns(df: pd.DataFrame) -> list[str]:
    return list(df.columns[: list(df.columns).index("accounts")])


def funnel(
    tables: Tables,
    *,
    by: Sequence[str] = ("strategy",),
    confidence: float = checks.CONFIDENCE,
    method: str = "wilson",
    horizon_days: int = 30,
) -> pd.DataFrame:
    """The contact funnel per cell, one row per cell and stage.

    Returns:
        Columns: the ``by`` columns, ``stage``, ``accounts``, ``count``,
        ``rate`` (share of the cell's accounts), ``ci_low``, ``ci_high``.
    """
    cells = _cells(tables, by, horizon_days)
    rows = []
    for _, r in cells.iterrows():  # one iteration per cell
        for stage in STAGES:
            e = stats.proportion_ci(int(r[f"{stage}_sum"]), int(r["accounts"]), method=method, confidence=confidence)
            rows.append(
                {
                    **{b: r[b] for b in _by_columns(cells)},
                    "stage": stage,
                    "accounts": int(r["accounts"]),
                    "count": int(r[f"{stage}_sum"]),
                    "rate": e.estimate,
                    "ci_low": e.ci_low,
                    "ci_high": e.ci_high,
                }
            )
    return pd.DataFrame(rows)


def outcomes(
    tables: Tables, *, by: Sequence[str] = ("strategy",), confidence: float = checks.CONFIDENCE, horizon_days: int = 30
) -> pd.DataFrame:
    """Paid rate, cure rate and money collected per account, per cell, with intervals."""
    cells = _cells(tables, by, horizon_days)
    rows = []
    for _, r in cells.iterrows():
        n = int(r["accounts"])
        row = {**{b: r[b] for b in _by_columns(cells)}, "accounts": n}
        for name, col in (("paid_rate", "paid"), ("cure_rate", "cured")):
            e = stats.proportion_ci(int(r[f"{col}_sum"]), n, confidence=confidence)
            row.update({name: e.estimate, f"{name}_ci_low": e.ci_low, f"{name}_ci_high": e.ci_high})
        m = stats.mean_ci(r["collected_sum"], r["collected_sumsq"], n, confidence=confidence) if n >= 2 else None
        row.update(
            {
                "collected_per_account": r["collected_sum"] / n,
                "collected_ci_low": m.ci_low if m else float("nan"),
                "collected_ci_high": m.ci_high if m else float("nan"),
            }
        )
        rows.append(row)
    return pd.DataFrame(rows)


def effects(
    tables: Tables,
    *,
    baseline: str = checks.BASELINE,
    by: Sequence[str] = (),
    outcome: str = "paid",
    method: str = "newcombe",
    confidence: float = checks.CONFIDENCE,
    adjust: str = "holm",
    horizon_days: int = 30,
) -> pd.DataFrame:
    """Each strategy against the baseline strategy, overall or within groups.

    Args:
        tables: the dataset's tables.
        baseline: the strategy every other one is compared with.
        by: grouping columns (e.g. ``("segment",)``); empty for overall.
        outcome: a funnel stage (a proportion: difference by ``method``) or
            ``"collected"`` (money per account: Welch difference of means).
        method: interval for differences in proportions (see
            :func:`analysis.stats.diff_proportions_ci`).
        confidence: confidence level.
        adjust: multiple-testing control across the groups for each strategy
            (``"holm"``, ``"bh"`` or ``"bonferroni"``).
        horizon_days: outcome window.

    Returns:
        One row per group and non-baseline strategy: the ``by`` columns,
        ``strategy``, ``outcome``, ``accounts``, ``baseline_accounts``,
        ``mean``, ``baseline_mean``, ``estimate`` (strategy minus baseline),
        ``ci_low``, ``ci_high``, ``pvalue``, ``pvalue_adjusted``. A money
        difference where an arm has a single account has no interval (NaN
        limits and p-value: one account gives no variance). With no
        other strategy to compare (a single strategy in the data, or no group
        holding both arms) the frame is empty but has these columns.

    Raises:
        ValueError: an unknown outcome, or a baseline absent from the data.
    """
    if outcome not in (*_BINARY, "collected"):
        raise ValueError(f"outcome must be one of {', '.join((*_BINARY, 'collected'))}; got {outcome!r}")
    by = tuple(by)
    cells = _cells(tables, (*by, "strategy"), horizon_days)
    present = sorted(cells["strategy"].unique())
    checks.baseline(baseline, present)
    rows = []
    groups = cells.groupby(list(by), sort=True) if by else [((), cells)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        base = g[g["strategy"] == baseline]
        if base.empty:
            continue
        b = base.iloc[0]
        for _, r in g[g["strategy"] != baseline].iterrows():
            n1, n2 = int(r["accounts"]), int(b["accounts"])
            if outcome == "collected" and min(n1, n2) < 2:  # no variance from one account: no interval
                e = stats.Estimate(r["collected_sum"] / n1 - b["collected_sum"] / n2, math.nan, math.nan)
            elif outcome == "collected":
                e = stats.diff_means_ci(
                    r["collected_sum"],
                    r["collected_sumsq"],
                    n1,
                    b["collected_sum"],
                    b["collected_sumsq"],
                    n2,
                    confidence=confidence,
                )
            else:
                e = stats.diff_proportions_ci(
                    int(r[f"{outcome}_sum"]), n1, int(b[f"{outcome}_sum"]), n2, method=method, confidence=confidence
                )
            rows.append(
                {
                    **dict(zip(by, key)),
                    "strategy": r["strategy"],
                    "outcome": outcome,
                    "accounts": n1,
                    "baseline_accounts": n2,
                    "mean": r[f"{outcome}_sum"] / n1,
                    "baseline_mean": b[f"{outcome}_sum"] / n2,
                    "estimate": e.estimate,
                    "ci_low": e.ci_low,
                    "ci_high": e.ci_high,
                    "pvalue": e.pvalue,
                }
            )
    columns = [
        *by,
        "strategy",
        "outcome",
        "accounts",
        "baseline_accounts",
        "mean",
        "baseline_mean",
        "estimate",
        "ci_low",
        "ci_high",
        "pvalue",
    ]
    out = pd.DataFrame(rows, columns=columns)  # pyright: ignore[reportArgumentType]  # pandas' Axes annotation rejects a list under pyright
    out["pvalue_adjusted"] = out["pvalue"]
    if out.empty:
        return out
    for _, idx in out.groupby("strategy").groups.items():
        out.loc[idx, "pvalue_adjusted"] = stats.adjust_pvalues(out.loc[idx, "pvalue"].to_numpy(), method=adjust)
    return out
