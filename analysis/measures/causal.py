"""Causal effects of contact strategies: naive, post-stratified and IPW contrasts.

Each function compares every strategy with a baseline strategy (default
``sms_only``) on one per-account outcome of :func:`analysis.engine.account_outcomes`
and reports the *population-average effect* ``E[Y(s)] - E[Y(baseline)]``:
the change in the mean outcome if every account (all strategies' accounts
together) were treated with ``s`` instead of the baseline.

Methods:

* ``naive`` -- difference of the arm means. Unbiased only when the strategy
  was randomised with the same probabilities for every account; with
  targeting (e.g. phone for the large and late debts) it is confounded.
* ``poststrat`` -- direct standardisation (post-stratification; Miettinen
  1972): arm means within each stratum, averaged with the weights
  ``w_k = N_k / N`` of the stratum distribution of all accounts. Variance ``sum_k w_k^2 (v_sk / n_sk + v_bk / n_bk)`` (sample
  variances), i.e. conditional on the stratum distribution; normal interval.
* ``ipw`` -- inverse-probability weighting with normalised weights (the Hajek
  1971 estimator): ``sum(w y) / sum(w)`` over each arm, ``w = 1 / P(assigned
  strategy)``. The propensity is ``accounts.assignment_probability`` when it
  is recorded (not null and > 0) for every account ("recorded"), else the arm
  share within the ``strata`` (a saturated model, "estimated"). Variance by
  linearisation (sandwich, Lunceford & Davidian 2004): with recorded
  propensities ``sum_arm w^2 (y - mu)^2 / (sum_arm w)^2`` per arm (the arms'
  influence terms have disjoint support and mean zero, so they add); with
  estimated propensities the influence function is corrected for the
  estimation of the propensity (Lunceford & Davidian 2004), which for
  a saturated model gives ``[sum_k (N_k/n_sk)^2 SS_sk + sum_k (N_k/n_bk)^2 SS_bk
  + sum_k N_k (tau_k - tau)^2] / N^2`` -- the post-stratified point estimate
  with a super-population variance (the last term is the between-stratum
  heterogeneity of the effect). Normal interval.

Empty strata: post-stratification and estimated-propensity IPW need both arms
in every stratum (positivity). By default a stratum where the strategy or
the baseline has fewer than two accounts is a ValueError naming the stratum
and the arm; ``empty_strata="drop"`` instead leaves such strata out of that
comparison (with a :class:`UserWarning` naming them), which changes the
estimand to the population of the remaining strata.

Computation: a single :func:`analysis.engine.cell_stats` query per call
returns per ``(strategy, *strata)`` cell the count, sum and sum of squares of
the outcome and, for recorded propensities, the weighted sums
``sum w``, ``sum w y``, ``sum w^2``, ``sum w^2 y``, ``sum w^2 y^2`` (derived
metrics computed in the engine). Estimated propensities are constant within
a cell (``N_k / n_sk``), so their weighted sums are the cell sums times the
weight. No per-account rows are brought into Python.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis import checks, engine, stats
from analysis.engine import Tables
from analysis.i18n import _

__all__ = ["METHODS", "TRUTH_KEYS", "strategy_effects", "compare_methods", "cmh_effects"]

#: Estimation methods of :func:`strategy_effects`.
METHODS: tuple[str, ...] = ("naive", "poststrat", "ipw")

#: Outcome column -> key of a strategy's entry in ``truth.json``.
TRUTH_KEYS: dict[str, str] = {
    "paid": "paid_rate",
    "cured": "cure_rate",
    "collected": "collected_per_account",
    "complaints": "complaints_per_account",
    "complaints_escalated": "escalated_per_account",
    "right_party": "right_party_rate",
    "promise": "promise_rate",
    "opted_out": "opt_out_rate",
}

_COLUMNS = [
    "strategy",
    "method",
    "outcome",
    "estimate",
    "ci_low",
    "ci_high",
    "se",
    "pvalue",
    "mean_strategy",
    "mean_baseline",
    "accounts_strategy",
    "accounts_baseline",
]
# Numeric columns that are not outcomes: identifiers, nullable covariates,
# and the conditional days_to_first_payment (defined only for payers).
_NOT_OUTCOMES = frozenset({"account_id", "assignment_probability", "risk_score", "days_to_first_payment"})
_NOT_STRATA = frozenset({"account_id", "strategy", "assignment_probability"})


# --------------------------------------------------------------------------
# Validation and the engine query
# --------------------------------------------------------------------------


def _accounts(tables: Any):
    inner = getattr(tables, "tables", tables)
    try:
        return inner["accounts"]
    except (KeyError, TypeError):
        raise ValueError("tables has no table 'accounts'") from None


def _check(tables: Tables, outcome, strata, confidence, horizon_days) -> tuple[bool, list[str]]:
    """Validate the outcome and strata names; return (outcome is bool, strata)."""
    schema = engine.account_outcomes(tables, horizon_days=horizon_days).schema()
    allowed = [n for n, t in schema.items() if n not in _NOT_OUTCOMES and (t.is_numeric() or t.is_boolean())]
    if not isinstance(outcome, str) or outcome not in allowed:
        raise ValueError(f"unknown outcome {outcome!r}; allowed: {', '.join(allowed)}")
    names = [] if strata is None else [strata] if isinstance(strata, str) else list(strata)
    ok = [c for c in _accounts(tables).columns if c not in _NOT_STRATA]
    for s in names:
        if not isinstance(s, str) or s not in ok:
            raise ValueError(f"unknown strata column {s!r}; allowed: {', '.join(ok)}")
    if len(set(names)) != len(names):
        raise ValueError(f"strata names a column twice: {names}")
    checks.confidence(confidence)
    return schema[outcome].is_boolean(), names


def _cells(tables: Tables, outcome: str, strata: list[str], horizon_days: int, weights: bool) -> pd.DataFrame:
    """Per (strategy, *strata) cell: accounts, y sums and (optionally) IPW sums.

    Columns: ``strategy``, the strata, ``n``, ``sy``, ``syy`` and, with
    ``weights``, ``p_ok`` (accounts with a recorded propensity in (0, 1]) and
    ``sw``, ``swy``, ``sww``, ``swwy``, ``swwyy`` for ``w = 1 / p``.
    """
    y = "_cz_y"
    derived = {y: lambda o: o[outcome].cast("float64")}
    metrics, cross = [y], []
    if weights:
        derived |= {
            "_cz_ok": lambda o: (
                ((o.assignment_probability > 0) & (o.assignment_probability <= 1)).fill_null(False).cast("float64")
            ),
            "_cz_w": lambda o: 1.0 / o.assignment_probability,
            "_cz_wy": lambda o: o[outcome].cast("float64") / o.assignment_probability,
        }
        metrics += ["_cz_ok", "_cz_w", "_cz_wy"]
        cross = [("_cz_w", "_cz_wy")]
    df = engine.cell_stats(
        tables, by=("strategy", *strata), metrics=metrics, cross=cross, derived=derived, horizon_days=horizon_days
    )
    out = df[["strategy", *strata]].copy()
    out["n"] = df["accounts"].astype(float)
    out["sy"], out["syy"] = df[f"{y}_sum"], df[f"{y}_sumsq"]
    if weights:
        out["p_ok"] = df["_cz_ok_sum"]
        out["sw"], out["sww"] = df["_cz_w_sum"], df["_cz_w_sumsq"]
        out["swy"], out["swwyy"] = df["_cz_wy_sum"], df["_cz_wy_sumsq"]
        out["swwy"] = df["_cz_w___cz_wy_sumprod"]
    return out  # pyright: ignore[reportReturnType]  # pandas types a selection from a DataFrame loosely; it is a DataFrame


def _arms(cells: pd.DataFrame, baseline: str, strategies) -> list[str]:
    present = sorted(cells.loc[cells.n > 0, "strategy"].dropna().unique())
    checks.baseline(baseline, present)
    if strategies is None:
        return [s for s in present if s != baseline]
    chosen = [strategies] if isinstance(strategies, str) else list(strategies)
    for s in chosen:
        if s not in present or s == baseline:
            raise ValueError(
                f"unknown strategy {s!r}; allowed (in the data, not the baseline): "
                f"{', '.join(x for x in present if x != baseline)}"
            )
    return chosen


# --------------------------------------------------------------------------
# Estimators on the cell frame
# --------------------------------------------------------------------------


def _z(confidence: float) -> float:
    return float(sps.norm.isf((1 - confidence) / 2))


def _normal(est: float, se: float, confidence: float) -> tuple[float, float, float]:
    z = _z(confidence)
    p = float(2 * sps.norm.sf(abs(est / se))) if se > 0 else (1.0 if est == 0 else 0.0)
    return est - z * se, est + z * se, p


def _naive(cells, s, b, is_bool, confidence):
    t = cells.groupby("strategy")[["n", "sy", "syy"]].sum()
    (n1, y1, q1), (n2, y2, q2) = t.loc[s], t.loc[b]
    m1, m2 = y1 / n1, y2 / n2
    if is_bool:
        e = stats.diff_proportions_ci(int(round(y1)), int(n1), int(round(y2)), int(n2), confidence=confidence)
        se = math.sqrt(m1 * (1 - m1) / n1 + m2 * (1 - m2) / n2)
    else:
        e = stats.diff_means_ci(y1, q1, int(n1), y2, q2, int(n2), confidence=confidence)
        se = math.sqrt(max(q1 - y1 * m1, 0) / (n1 - 1) / n1 + max(q2 - y2 * m2, 0) / (n2 - 1) / n2)
    return e.estimate, e.ci_low, e.ci_high, se, e.pvalue, m1, m2, n1, n2


def _paired(cells, s, b, strata, empty_strata, dropped=None):
    """Stratum-level frame of both arms (n, mean, SS) and the stratum total N_k.

    With ``empty_strata="drop"`` the strata left out are appended to ``dropped``
    (a list) as records: ``strategy``, ``stratum`` (column -> value), ``accounts``
    (the stratum's, every arm) and ``reason``.
    """
    key = strata or ["_all"]
    c = cells.assign(_all=0) if not strata else cells
    tot = c.groupby(key, dropna=False)["n"].sum().rename("N")
    arms = []
    for arm, tag in ((s, "s"), (b, "b")):
        a = c[c.strategy == arm].set_index(key)[["n", "sy", "syy"]]
        arms.append(a.add_suffix("_" + tag))
    k = pd.concat([tot, *arms], axis=1).fillna(0.0)
    bad = k[(k.n_s < 2) | (k.n_b < 2)]
    if len(bad) and empty_strata != "keep":
        which = "; ".join(
            f"{idx!r}: {arm} has {int(bad.loc[idx, 'n_' + t])} account(s)"
            for idx in bad.index
            for arm, t in ((s, "s"), (b, "b"))
            if bad.loc[idx, "n_" + t] < 2
        )
        if empty_strata != "drop":
            raise ValueError(
                f"strata {key} with fewer than 2 accounts in an arm ({which}); "
                "coarsen the strata or pass empty_strata='drop'"
            )
        warnings.warn(f"dropped strata {key} with fewer than 2 accounts in an arm: {which}", UserWarning, stacklevel=5)
        if dropped is not None:
            for idx in bad.index:
                values = idx if isinstance(idx, tuple) else (idx,)
                reasons = [
                    _("{strategy} has {n} account(s)").format(strategy=arm, n=int(bad.loc[idx, "n_" + t]))
                    for arm, t in ((s, "s"), (b, "b"))
                    if bad.loc[idx, "n_" + t] < 2
                ]
                reason = reasons[0] if len(reasons) == 1 else _("{a}, {b}").format(a=reasons[0], b=reasons[1])
                dropped.append(
                    {
                        "strategy": s,
                        "stratum": dict(zip(key, values)),
                        "accounts": int(bad.loc[idx, "N"]),
                        "reason": _("{reasons}; an arm needs at least 2").format(reasons=reason),
                    }
                )
        k = k.drop(bad.index)  # pyright: ignore[reportArgumentType, reportCallIssue]  # pandas' drop annotation omits an Index of labels
    for t in ("s", "b"):
        k[f"m_{t}"] = k[f"sy_{t}"] / k[f"n_{t}"].where(k[f"n_{t}"] > 0)
        k[f"ss_{t}"] = np.maximum(k[f"syy_{t}"] - k[f"sy_{t}"] * k[f"m_{t}"], 0.0)
    k["w"] = k.N / k.N.sum()
    return k


def _poststrat(cells, s, b, strata, empty_strata, dropped=None):
    k = _paired(cells, s, b, strata, empty_strata, dropped)
    if k.empty:  # every stratum dropped: nothing left to estimate from
        return math.nan, math.nan, math.nan, math.nan, 0, 0
    ms, mb = float((k.w * k.m_s).sum()), float((k.w * k.m_b).sum())
    var = float((k.w**2 * (k.ss_s / (k.n_s - 1) / k.n_s + k.ss_b / (k.n_b - 1) / k.n_b)).sum())
    return ms - mb, math.sqrt(var), ms, mb, k.n_s.sum(), k.n_b.sum()


def _ipw_estimated(cells, s, b, strata, empty_strata, dropped=None):
    k = _paired(cells, s, b, strata, empty_strata, dropped)
    if k.empty:
        return math.nan, math.nan, math.nan, math.nan, 0, 0
    N = k.N.sum()
    ms, mb = float((k.w * k.m_s).sum()), float((k.w * k.m_b).sum())
    tau_k = k.m_s - k.m_b
    var = (
        float(((k.N / k.n_s) ** 2 * k.ss_s + (k.N / k.n_b) ** 2 * k.ss_b + k.N * (tau_k - (ms - mb)) ** 2).sum()) / N**2
    )
    return ms - mb, math.sqrt(var), ms, mb, k.n_s.sum(), k.n_b.sum()


def _ipw_recorded(cells, s, b):
    t = cells.groupby("strategy")[["n", "sw", "swy", "sww", "swwy", "swwyy"]].sum()
    out = []
    for arm in (s, b):
        n, sw, swy, sww, swwy, swwyy = t.loc[arm]
        mu = swy / sw
        out.append((mu, max(swwyy - 2 * mu * swwy + mu * mu * sww, 0.0) / sw**2, n))
    (ms, vs, ns), (mb, vb, nb) = out
    return ms - mb, math.sqrt(vs + vb), ms, mb, ns, nb


def _effects(
    cells, *, outcome, baseline, method, strata, is_bool, confidence, arms, propensity, empty_strata
) -> pd.DataFrame:
    rows, dropped = [], []
    for s in arms:
        if method == "naive":
            est, lo, hi, se, p, ms, mb, ns, nb = _naive(cells, s, baseline, is_bool, confidence)
        else:
            if method == "poststrat":
                est, se, ms, mb, ns, nb = _poststrat(cells, s, baseline, strata, empty_strata, dropped)
            elif propensity == "recorded":
                est, se, ms, mb, ns, nb = _ipw_recorded(cells, s, baseline)
            else:
                est, se, ms, mb, ns, nb = _ipw_estimated(cells, s, baseline, strata, empty_strata, dropped)
            lo, hi, p = _normal(est, se, confidence) if math.isfinite(se) else (math.nan, math.nan, math.nan)
        rows.append([s, method, outcome, est, lo, hi, se, p, ms, mb, int(ns), int(nb)])
    df = pd.DataFrame(rows, columns=_COLUMNS)  # pyright: ignore[reportArgumentType]  # pandas' Axes annotation rejects a list under pyright
    if method == "ipw":
        df.attrs["propensity"] = propensity
    df.attrs["dropped_strata"] = dropped
    return df


def _propensity(cells: pd.DataFrame, propensity: str) -> str:
    allowed = ("auto", "recorded", "estimated")
    if propensity not in allowed:
        raise ValueError(f"unknown propensity {propensity!r}; allowed: {', '.join(allowed)}")
    complete = bool(cells.p_ok.sum() == cells.n.sum())
    if propensity == "recorded" and not complete:
        raise ValueError(
            "propensity='recorded' but assignment_probability is missing or not in (0, 1] for some accounts"
        )
    return propensity if propensity != "auto" else ("recorded" if complete else "estimated")


def _prepare(tables: Tables, outcome, baseline, strategies, strata, confidence, horizon_days, weights):
    is_bool, strata = _check(tables, outcome, strata, confidence, horizon_days)
    cells = _cells(tables, outcome, strata, horizon_days, weights)
    return cells, is_bool, strata, _arms(cells, baseline, strategies)


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def strategy_effects(
    tables: Tables,
    *,
    outcome: str = "paid",
    baseline: str = checks.BASELINE,
    method: str = "naive",
    strata: str | Sequence[str] | None = ("segment",),
    confidence: float = checks.CONFIDENCE,
    horizon_days: int = 30,
    strategies: str | Sequence[str] | None = None,
    propensity: str = "auto",
    empty_strata: str = "error",
) -> pd.DataFrame:
    """Population-average effect of each strategy against a baseline strategy.

    See the module docstring for the estimators and their variances: naive
    (Newcombe 1998 hybrid score interval for bool outcomes via
    :func:`analysis.stats.diff_proportions_ci`, Welch 1947 otherwise via
    :func:`analysis.stats.diff_means_ci`), post-stratification (Miettinen
    1972 standardisation to all accounts' stratum distribution) and Hajek
    (1971) IPW with a Lunceford & Davidian (2004) sandwich variance.

    Args:
        tables: the contract tables (a :class:`analysis.data.io.Dataset` or a
            mapping of Ibis tables, see :func:`analysis.engine.account_outcomes`).
        outcome: a numeric or bool column of ``account_outcomes`` (``paid``,
            ``cured``, ``collected``, ``complaints``, ``n_phone``, ...).
        baseline: the comparison strategy.
        method: ``"naive"``, ``"poststrat"`` or ``"ipw"``.
        strata: ``accounts`` column(s) defining the strata of ``poststrat``
            and of estimated IPW propensities (ignored by ``naive`` and by
            IPW with recorded propensities); empty for a single stratum.
        confidence: level of the intervals.
        horizon_days: outcome window (see :func:`analysis.engine.account_outcomes`).
        strategies: strategies to compare with the baseline; default every
            other strategy with accounts, in name order.
        propensity: ``ipw`` only: ``"auto"`` (recorded when
            ``assignment_probability`` is in (0, 1] for every account, else
            estimated), ``"recorded"`` or ``"estimated"`` (arm share within
            ``strata``). The choice is in ``df.attrs["propensity"]``.
        empty_strata: ``"error"`` (default) or ``"drop"``: what to do with a
            stratum where an arm has fewer than 2 accounts (poststrat and
            estimated IPW).

    Returns:
        One row per compared strategy: ``strategy``, ``method``, ``outcome``,
        ``estimate`` (E[Y(s)] - E[Y(baseline)]), ``ci_low``, ``ci_high``,
        ``se``, ``pvalue`` (test of no effect), ``mean_strategy`` and
        ``mean_baseline`` (the arm means the estimate contrasts: raw,
        standardised or IPW), ``accounts_strategy``, ``accounts_baseline``.
        For ``naive`` bool outcomes ``se`` is the unpooled Wald standard
        error while the interval is Newcombe's. ``attrs["dropped_strata"]``
        lists the strata ``empty_strata="drop"`` left out (records:
        ``strategy``, ``stratum``, ``accounts``, ``reason``); when every
        stratum is dropped the strategy's estimate is NaN.

    Raises:
        ValueError: unknown outcome, baseline, strategy, strata column,
            method, propensity or empty_strata option (the message lists the
            allowed values); a stratum with an (almost) empty arm under
            ``empty_strata="error"``; ``propensity="recorded"`` without
            complete propensities.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    if empty_strata not in ("error", "drop"):
        raise ValueError(f"unknown empty_strata {empty_strata!r}; allowed: error, drop")
    cells, is_bool, strata, arms = _prepare(
        tables, outcome, baseline, strategies, strata, confidence, horizon_days, method == "ipw"
    )
    prop = _propensity(cells, propensity) if method == "ipw" else None
    return _effects(
        cells,
        outcome=outcome,
        baseline=baseline,
        method=method,
        strata=strata,
        is_bool=is_bool,
        confidence=confidence,
        arms=arms,
        propensity=prop,
        empty_strata=empty_strata,
    )


def _truth_means(truth: Mapping, outcome: str) -> tuple[dict, dict]:
    key = TRUTH_KEYS.get(outcome)
    strat = truth.get("strategies", truth)
    means, ses = {}, {}
    for name, rec in strat.items():
        if key and key in rec:
            means[name] = rec[key]
            ses[name] = rec.get("mc_standard_error", {}).get(key, math.nan)
        elif outcome.startswith("n_") and outcome[2:] in rec.get("contacts_per_account", {}):
            means[name], ses[name] = rec["contacts_per_account"][outcome[2:]], math.nan
    return means, ses


def compare_methods(
    tables: Tables,
    *,
    outcome: str = "paid",
    baseline: str = checks.BASELINE,
    strata: str | Sequence[str] | None = ("segment",),
    truth: Mapping | None = None,
    confidence: float = checks.CONFIDENCE,
    horizon_days: int = 30,
    strategies: str | Sequence[str] | None = None,
    empty_strata: str = "error",
) -> pd.DataFrame:
    """Naive, post-stratified and IPW estimates side by side (one engine query).

    Args:
        tables, outcome, baseline, strata, confidence, horizon_days,
        strategies, empty_strata: as in :func:`strategy_effects` (IPW uses
            ``propensity="auto"``).
        truth: a parsed ``truth.json`` (or the dict of
            :func:`analysis.data.synth.simulate_truth`): adds ``truth``
            (E[Y(s)] - E[Y(b)] from ``truth["strategies"]``, outcome names
            mapped by :data:`TRUTH_KEYS`; ``n_<channel>`` from
            ``contacts_per_account``), ``truth_se`` (root sum of squares of the
            two strategies' ``mc_standard_error``; conservative, since the
            truth uses common random numbers), ``bias = estimate - truth`` and
            ``covers`` (``ci_low <= truth <= ci_high``). NaN / False when the
            outcome has no truth.

    Returns:
        The rows of :func:`strategy_effects` for the three methods, ordered by
        strategy then method (naive, poststrat, ipw); ``attrs["propensity"]``
        tells whether IPW used recorded or estimated propensities and
        ``attrs["dropped_strata"]`` the strata left out (each once).
    """
    if empty_strata not in ("error", "drop"):
        raise ValueError(f"unknown empty_strata {empty_strata!r}; allowed: error, drop")
    cells, is_bool, strata, arms = _prepare(
        tables, outcome, baseline, strategies, strata, confidence, horizon_days, True
    )
    prop = _propensity(cells, "auto")
    kw = dict(
        outcome=outcome,
        baseline=baseline,
        strata=strata,
        is_bool=is_bool,
        confidence=confidence,
        arms=arms,
        propensity=prop,
        empty_strata=empty_strata,
    )
    parts = [_effects(cells, method=m, **kw) for m in METHODS]
    dropped = []
    for part in parts:
        dropped += [d for d in part.attrs.get("dropped_strata", []) if d not in dropped]
    df = pd.concat(parts, ignore_index=True)
    order = {m: i for i, m in enumerate(METHODS)}
    df = df.sort_values(
        ["strategy", "method"], key=lambda c: c.map(order) if c.name == "method" else c, kind="stable"
    ).reset_index(drop=True)
    if truth is not None:
        means, ses = _truth_means(truth, outcome)
        mb, sb = means.get(baseline, math.nan), ses.get(baseline, math.nan)
        df["truth"] = [means.get(s, math.nan) - mb for s in df.strategy]
        df["truth_se"] = [math.hypot(ses.get(s, math.nan), sb) for s in df.strategy]
        df["bias"] = df.estimate - df.truth
        df["covers"] = (df.ci_low <= df.truth) & (df.truth <= df.ci_high)
    df.attrs["propensity"] = prop
    df.attrs["dropped_strata"] = dropped
    return df


def cmh_effects(
    tables: Tables,
    *,
    outcome: str = "paid",
    baseline: str = checks.BASELINE,
    strata: str | Sequence[str] | None = ("segment",),
    confidence: float = checks.CONFIDENCE,
    horizon_days: int = 30,
    strategies: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Mantel-Haenszel pooled odds ratio and risk difference per strategy vs baseline.

    For each strategy, one 2x2 table per stratum (rows strategy / baseline,
    columns outcome / no outcome) is pooled with :func:`analysis.stats.cmh`
    (Mantel & Haenszel 1959 odds ratio, Robins-Breslow-Greenland interval,
    CMH test, Breslow-Day-Tarone homogeneity) and
    :func:`analysis.stats.mh_risk_difference` (Greenland & Robins 1985 weights,
    Sato 1989 variance). Strata missing an arm carry no information and are
    skipped by those functions. Note that the MH risk difference weights
    strata by ``n_s n_b / n`` rather than by their population share: it equals
    the population-average effect only when the effect is homogeneous.

    Args:
        tables, outcome, baseline, strata, confidence, horizon_days,
        strategies: as in :func:`strategy_effects`; ``outcome`` must be bool.

    Returns:
        One row per strategy: ``strategy``, ``outcome``, ``odds_ratio``,
        ``or_ci_low``, ``or_ci_high``, ``cmh_statistic``, ``cmh_pvalue``,
        ``homogeneity_statistic``, ``homogeneity_pvalue``,
        ``risk_difference``, ``rd_ci_low``, ``rd_ci_high``, ``rd_se``,
        ``rd_pvalue``, ``strata`` (informative strata), ``accounts_strategy``,
        ``accounts_baseline``.

    Raises:
        ValueError: bad arguments (as :func:`strategy_effects`) or a non-bool
            outcome.
    """
    cells, is_bool, strata, arms = _prepare(
        tables, outcome, baseline, strategies, strata, confidence, horizon_days, False
    )
    if not is_bool:
        raise ValueError(
            f"cmh_effects needs a bool outcome; {outcome!r} is not (use strategy_effects for numeric outcomes)"
        )
    z, rows = _z(confidence), []
    for s in arms:
        k = _paired(cells, s, baseline, strata, "keep")
        tabs = np.stack([np.stack([k.sy_s, k.n_s - k.sy_s], 1), np.stack([k.sy_b, k.n_b - k.sy_b], 1)], 1)
        tabs = tabs[(k.n_s > 0).to_numpy() & (k.n_b > 0).to_numpy()]
        o = stats.cmh(tabs, confidence=confidence)
        rd = stats.mh_risk_difference(tabs, confidence=confidence)
        rows.append(
            dict(
                strategy=s,
                outcome=outcome,
                odds_ratio=o.estimate,
                or_ci_low=o.ci_low,
                or_ci_high=o.ci_high,
                cmh_statistic=o.statistic,
                cmh_pvalue=o.pvalue,
                homogeneity_statistic=o.homogeneity_statistic,
                homogeneity_pvalue=o.homogeneity_pvalue,
                risk_difference=rd.estimate,
                rd_ci_low=rd.ci_low,
                rd_ci_high=rd.ci_high,
                rd_se=max(rd.ci_high - rd.estimate, rd.estimate - rd.ci_low) / z,
                rd_pvalue=rd.pvalue,
                strata=o.strata,
                accounts_strategy=int(k.n_s.sum()),
                accounts_baseline=int(k.n_b.sum()),
            )
        )
    return pd.DataFrame(rows)
