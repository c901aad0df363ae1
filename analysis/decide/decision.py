"""The channel decision: one function, :func:`decide`, behind every entry point.

Notebook 01 (executive summary), notebook 08 (channel policy) and
``python -m analysis recommend`` all call :func:`decide` with the same
defaults and print its :class:`Decision`. It answers: which strategy for which
segment, what that gains against the baseline, how sure it is, and whether
the limits hold.

Method (see ``DECISION.md`` in the design notes):

1. **Estimates that borrow strength.** From the per-cell sufficient
   statistics (:func:`analysis.decide.economics.cell_moments`):

   * the gain of each strategy over the baseline in a segment, before
     complaint costs, ``g_gs`` (money collected less contact cost, per
     account; delta-method standard error ``se_gs``), is shrunk by normal
     empirical Bayes (Efron and Morris 1975) toward the product of a
     segment's scale and a strategy's ratio, ``f_gs = c_g rho_s``
     (:func:`pool_products`): ``post = f + B (g - f)``, ``B = tau_s^2 /
     (tau_s^2 + se^2)``, ``tau_s^2`` by moments as DerSimonian and Laird
     (1986). The segments' gains differ many times over with their balances,
     so shrinking toward a strategy's mean over segments (:func:`pool_means`,
     used when the cells are too few for the product) pulls the large
     segments' gains down and the small ones' up; the product lets the ways
     of calling in one segment borrow strength from each other instead. In
     the decision study (12 datasets of 200,000 accounts, today's limits) it
     cut the median gain left behind from 7.3% to 4.4% (us) and from 5.2% to
     4.0% (cn);
   * complaints per account of each (segment, strategy) cell from
     complaints per contact by channel (:func:`_channel_complaint_model`,
     with the contacts and the complaints they caused from
     :func:`analysis.engine.contact_cells`): each channel's rate per
     contact ``lambda_c`` over all cells, each segment's relative risk
     ``phi_g``, then each (cell, channel)'s own count, ``y_ic ~
     Poisson(C_ic r_ic)``, ``r_ic ~ Gamma(a, a / (lambda_c phi_g))``, ``a``
     by maximum negative-binomial marginal likelihood (:func:`pool_rates`;
     Clayton and Kaldor 1987); a cell's complaints per account are
     ``sum_c (C_ic / n_i) r_ic``. A strategy's complaints in a segment thus
     borrow strength from every cell that uses the same channels. From the
     moments alone (no contact table) the model is per account instead
     (:func:`_complaint_model`: strategy rate, segment risk, cell);
   * agent hours per account as observed (thousands of calls per cell make
     them precise), with their standard error.

   How each strategy's gains were pooled (toward what, and how far) is said in
   :attr:`CellEstimates.pooling`.

2. **Limits that hold with a stated probability.** ``x0 = 0`` and ``B``
   the limit for a number; ``x0`` the current allocation and ``B = 0`` for
   the default "no more than today" (so what the policy shares with today
   cancels). By default (``bound="robust"``) each limit holds over a
   simultaneous confidence region at ``level``, whatever allocation the
   programme picks:

   * complaints: each channel's rate per contact within its exact (Garwood)
     limits at ``1 - (1 - level) / k`` for ``k`` channels (Bonferroni), so
     all together with probability at least ``level``; complaints are linear
     in the rates, so the limit is required at each of the box's ``2^k``
     vertices (linear constraints). The box takes the rates as common to
     the segments, so the limit is also held as a Gaussian chance
     constraint at ``level`` under the model whose (segment, channel) rate
     is ``lambda_c phi_g`` (:func:`_segment_channel_draws`: the channels'
     rates and the segments' factors drawn from their posteriors, without
     the cells' own deviations): with agent hours unlimited, the programme
     otherwise moves complaints into the segments the box does not look at.
     In the decision study (50,000 accounts) the box alone broke the limit
     on 20% (cn) and 12% (us) of datasets with agent hours unlimited, the
     chance constraint alone on 10 to 15% (cn), the two together on none.
     Boxing the segment factors too was scored and gave up half the gain;
   * agent hours: each cell's hours per account within ``m_i +- z_b se_i``,
     ``z_b`` two-sided Bonferroni over the cells that use agents; the worst
     case ``m.(x - x0) + z_b sum_i se_i |x_i - x0_i| <= B``.

   A chance constraint on the posterior (``bound="chance"``: ``m.(x - x0) +
   z sqrt((x - x0)' V (x - x0)) <= B``) is held for the allocation chosen,
   but the programme seeks out the channels and cells whose counts came out
   low, so against the truth it breaks more often than the level says; a
   guarantee over a confidence region cannot be gamed that way. With
   ``bound="scenario"`` complaints must hold in every one of ``S`` posterior
   draws (Calafiore and Campi 2006: ``S = (2 / eps) (ln(1 / beta) + d)``,
   ``eps = 1 - level``, ``beta = 0.05``, ``d`` the cells): almost surely,
   at a large cost in gain. The decision study
   (``benchmarks/decision_study.py``) scores the three against the truth.
   All are solved exactly by Kelley's cutting planes around HiGHS linear
   programmes. The chosen allocation is checked on fresh posterior draws:
   :attr:`Decision.limits` gives the probability that each limit holds.

3. **When to move a segment.** A strategy other than the baseline is open
   to a segment only when the posterior probability that it gains (after
   complaint costs) is at least ``level``; otherwise the segment stays and
   the record says how many accounts a test would need to settle it. If the
   limits cannot be met that way, every strategy is opened and the segments
   moved for the limits say so.

The same posterior draws give the probability that each strategy is best
in its segment and that the chosen policy beats today's allocation and the
all-baseline one, so no table or headline can disagree with another.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

import numpy as np
import pandas as pd
from scipy import optimize, special
from scipy import stats as sps
from scipy.optimize import linprog

from analysis import checks, engine, i18n
from analysis.decide import economics
from analysis.i18n import N_, _
from analysis.measures.costs import UnitCosts

__all__ = [
    "DEFAULT_LEVEL",
    "DEFAULT_LIMIT",
    "BOUNDS",
    "Limit",
    "parse_limit",
    "Pooled",
    "pool_means",
    "ProductPooled",
    "pool_products",
    "pool_rates",
    "CellEstimates",
    "estimate",
    "Decision",
    "InfeasibleDecision",
    "decide",
    "decision_table",
    "limits_sentence",
    "to_json",
    "current_use",
    "what_if",
    "frontier",
    "scenario_draws",
    "segment_factor_note",
    "holds",
    "truth_cells",
    "evaluate_truth",
]

#: Probability at which a move must gain and a limit must hold, unless chosen otherwise.
DEFAULT_LEVEL = 0.9
#: The default limit for agent hours and for complaints: no more than the current allocation's.
DEFAULT_LIMIT = "current"
#: How the limits may be held (see :func:`decide`); the first is the default.
BOUNDS = ("robust", "chance", "scenario")
_DRAWS = 4000
_CUTS = 200  # cutting-plane rounds at most (a handful suffice in practice)


# --------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Limit:
    """A limit on agent hours or complaints.

    Attributes:
        kind: ``"current"`` (no more than the current allocation uses),
            ``"value"`` (no more than ``value``) or ``"none"`` (unlimited).
        value: the number for ``"value"`` (agent hours over the horizon, or
            complaints per 10,000 accounts).
    """

    kind: str
    value: float | None = None

    def describe(self, unit: str) -> str:
        """The limit in words; ``unit`` in English (it is translated here)."""
        if self.kind == "none":
            return _("unlimited")
        if self.kind == "current":
            return _("no more than the current allocation")
        return _("at most {value} {unit}").format(value=f"{self.value:,.2f}", unit=_(unit))


def parse_limit(value: Any, name: str) -> Limit:
    """A :class:`Limit` from ``"current"``, ``"none"``/``"unlimited"``/``None`` or a number >= 0.

    Raises:
        ValueError: naming ``name`` and what is accepted.
    """
    if isinstance(value, Limit):
        return value
    if value is None:
        return Limit("none")
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "current":
            return Limit("current")
        if text in ("none", "unlimited", "inf", "infinity"):
            return Limit("none")
        try:
            value = float(text.replace("_", ""))
        except ValueError:
            raise ValueError(f"{name} must be 'current', 'unlimited' or a number >= 0, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{name} must be 'current', 'unlimited' or a number >= 0, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be 'current', 'unlimited' or a number >= 0, got {value!r}")
    return Limit("value", float(value))


def _check_level(level) -> float:
    if isinstance(level, bool) or not isinstance(level, (int, float, np.number)) or not 0.5 < level < 1:
        raise ValueError(f"level must be a probability in (0.5, 1), e.g. 0.9, got {level!r}")
    return float(level)


# --------------------------------------------------------------------------
# Partial pooling
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Pooled:
    """Empirical-Bayes posterior of a set of cells of one strategy.

    Attributes:
        mean: posterior means, one per cell.
        var: posterior variances.
        center: the pooled value the cells shrink toward.
        spread: between-cell spread (``tau^2`` for means; ``1/a`` relative
            variance for rates); 0 means pooled fully.
        weight: per cell, the weight of the cell's own estimate (``B_i``), 1 = not pooled.
        note: how the pooling went, in words.
        shape, rate: for rates, the gamma posterior's parameters per cell.
    """

    mean: np.ndarray
    var: np.ndarray
    center: float
    spread: float
    weight: np.ndarray
    note: str
    shape: np.ndarray | None = None
    rate: np.ndarray | None = None


def pool_means(theta, se) -> Pooled:
    """Normal empirical-Bayes shrinkage of estimates ``theta`` with standard errors ``se``.

    ``tau^2`` by DerSimonian and Laird (1986); cells with an unknown standard
    error (NaN or infinite: one account) take the pooled mean with variance
    ``tau^2 + var(mu)``.

    >>> p = pool_means([1.0, 1.2], [1.0, 1.0])  # they agree: pooled fully
    >>> round(p.center, 3), round(p.spread, 3), [round(float(m), 3) for m in p.mean]
    (1.1, 0.0, [1.1, 1.1])
    >>> p = pool_means([1.0, 3.0], [1.0, 1.0])  # Q = 2 on 1 df: tau^2 = 1, each halfway to the centre
    >>> round(p.spread, 3), [round(float(m), 3) for m in p.mean]
    (1.0, [1.5, 2.5])
    """
    theta, se = np.asarray(theta, float), np.asarray(se, float)
    known = np.isfinite(theta) & np.isfinite(se)
    if not known.any():
        raise ValueError("no cell has an estimate with a standard error")
    s2 = np.maximum(se[known], 1e-12) ** 2
    w = 1 / s2
    t = theta[known]
    mu_fixed = float(np.sum(w * t) / np.sum(w))
    k = int(known.sum())
    if k > 1:
        q = float(np.sum(w * (t - mu_fixed) ** 2))
        c = float(np.sum(w) - np.sum(w**2) / np.sum(w))
        tau2 = max(0.0, (q - (k - 1)) / c) if c > 0 else 0.0
    else:
        tau2 = 0.0
    ws = 1 / (s2 + tau2)
    mu = float(np.sum(ws * t) / np.sum(ws))
    var_mu = float(1 / np.sum(ws))
    b = np.zeros_like(theta)
    mean = np.full_like(theta, mu)
    var = np.full_like(theta, tau2 + var_mu)
    bk = tau2 / (tau2 + s2)
    b[known] = bk
    mean[known] = mu + bk * (t - mu)
    var[known] = bk * s2 + (1 - bk) ** 2 * var_mu
    if k == 1:
        note = _("one segment: its own estimate")
        mean[known], var[known], b[known] = t, s2, 1.0
    elif tau2 == 0:
        note = _("segments agree (tau^2 = 0): pooled fully")
    else:
        note = _("partly pooled (tau = {tau:.3g})").format(tau=math.sqrt(tau2))
    return Pooled(mean, var, mu, tau2, b, note)


@dataclass(frozen=True)
class ProductPooled:
    """Gains shrunk toward a segment-by-strategy product (:func:`pool_products`); arrays follow the input cells.

    ``mean``, ``var`` and ``fit`` (``c_g rho_s``) are NaN for a cell the product does not reach (its segment or strategy has no cell
    with a standard error); ``ratio``, ``spread`` (``tau_s^2``) and ``note`` are per strategy.
    """

    mean: np.ndarray
    var: np.ndarray
    fit: np.ndarray
    ratio: dict
    spread: dict
    note: dict


def _rank_one(y, w, rho, max_iter: int) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares of ``y`` (segments by strategies; weight 0 where a cell is missing) on ``c_g rho_s``,
    by alternating the two (the largest ``|rho|`` scaled to 1); starts from ``rho``."""
    for _i in range(max_iter):
        den_c = (w * rho**2).sum(axis=1)
        c = np.divide((w * y * rho).sum(axis=1), den_c, out=np.zeros_like(den_c), where=den_c > 0)
        den_r = (w * c[:, None] ** 2).sum(axis=0)
        new = np.divide((w * y * c[:, None]).sum(axis=0), den_r, out=rho.copy(), where=den_r > 0)
        scale = float(np.max(np.abs(new)))
        new = new / scale if scale > 0 else new
        done = np.allclose(new, rho, rtol=1e-10, atol=1e-12)
        rho = new
        if done:
            break
    den_c = (w * rho**2).sum(axis=1)
    return np.divide((w * y * rho).sum(axis=1), den_c, out=np.zeros_like(den_c), where=den_c > 0), rho


def pool_products(theta, se, segment, strategy, *, max_iter: int = 500) -> ProductPooled | None:
    """Normal empirical Bayes toward a product of a segment's scale and a strategy's ratio.

    The gains ``g_gs`` of the strategies over the baseline in the segments are
    shrunk toward the rank-one fit ``f_gs = c_g rho_s`` (weighted least squares
    with weights ``w = 1 / se^2``, by alternating the two sets of parameters):
    a segment where calls pay twice as much pays twice as much for each way of
    calling, so the strategies' gains in one segment borrow strength from each
    other and from the other segments, where pooling toward a strategy's mean
    over segments cannot (the segments' gains differ many times over, with
    their balances). Each strategy's cells then deviate from the fit by
    ``N(0, tau_s^2)``, ``tau_s^2`` by the method of moments, ``(Q_s - df_s) /
    (h sum_g w_gs)`` with ``Q_s = sum_g w_gs (g_gs - f_gs)^2``, ``h = (k - p) / k``
    for ``k`` cells and ``p = G + S - 1`` parameters, and ``df_s = h k_s`` (as
    DerSimonian and Laird, with the fit's parameters taken off): a strategy
    whose gains do not follow the product (e.g. no contact, which loses in
    every segment) keeps most of its own estimates. Posterior mean ``f + B (g -
    f)``, ``B = tau_s^2 / (tau_s^2 + se^2)``; variance ``B se^2 + (1 - B)^2
    var(f_gs)``, ``var(f_gs)`` by the delta method from the least squares'
    information over ``(c, rho)`` (the largest ratio held at 1, as the
    product's scale is free). A cell without a standard error (one account)
    takes the fit, with variance ``tau_s^2 + var(f_gs)``. A strategy tried in
    one segment only keeps its own estimate there (its ratio rests on that cell).

    Returns None when the product cannot be told from the cells: fewer than two
    segments or strategies, or fewer than two cells more than parameters.

    >>> g = [10.0, 9.0, 4.0, 3.6, 1.0, 0.9]  # three segments, two strategies: the second pays 0.9 of the first
    >>> p = pool_products(g, [0.5] * 6, list("AABBCC"), ["call", "text"] * 3)
    >>> round(p.ratio["text"] / p.ratio["call"], 3), [round(float(m), 2) for m in p.mean[:2]]
    (0.9, [10.0, 9.0])
    """
    theta, se = np.asarray(theta, float), np.asarray(se, float)
    segment, strategy = np.asarray(segment).astype(str), np.asarray(strategy).astype(str)
    known = np.isfinite(theta) & np.isfinite(se)
    segs = sorted(set(segment[known].tolist()))
    strats = sorted(set(strategy[known].tolist()))
    k, p = int(known.sum()), len(segs) + len(strats) - 1
    if len(segs) < 2 or len(strats) < 2 or k - p < 2:
        return None
    gi = {g: i for i, g in enumerate(segs)}
    si = {s: j for j, s in enumerate(strats)}
    y = np.full((len(segs), len(strats)), np.nan)
    w = np.zeros_like(y)
    for t, e, g, s in zip(theta[known], se[known], segment[known], strategy[known]):
        y[gi[g], si[s]] = t
        w[gi[g], si[s]] = 1 / max(float(e), 1e-12) ** 2
    y0 = np.where(w > 0, y, 0.0)
    h = (k - p) / k
    tau2 = np.zeros(len(strats))
    rho = np.ones(len(strats))
    c = np.zeros(len(segs))
    se2 = np.divide(1.0, w, out=np.zeros_like(w), where=w > 0)
    for _round in range(50):  # the fit weighs a cell by 1 / (se^2 + tau_s^2): a strategy off the product weighs less
        we = np.divide(1.0, se2 + tau2, out=np.zeros_like(w), where=w > 0)
        c, rho = _rank_one(y0, we, rho, max_iter)
        fit = c[:, None] * rho
        new = np.array(
            [
                max(
                    0.0,
                    (float(np.sum(w[:, j] * (y0[:, j] - fit[:, j]) ** 2)) - h * (w[:, j] > 0).sum())
                    / (h * w[:, j].sum()),
                )
                for j in range(len(strats))
            ]
        )
        done = np.allclose(new, tau2, rtol=1e-8, atol=1e-12)
        tau2 = new
        if done:
            break
    we = np.divide(1.0, se2 + tau2, out=np.zeros_like(w), where=w > 0)
    c, rho = _rank_one(y0, we, rho, max_iter)
    fit = c[:, None] * rho
    # the fit's variance by the delta method: the weighted least squares' information over (c, rho), the
    # largest ratio held at 1 (the product's scale is otherwise free)
    ref = int(np.argmax(np.abs(rho)))
    free = [j for j in range(len(strats)) if j != ref]

    def gradient(i: int, j: int) -> np.ndarray:
        """d f_ij / d (c, the free ratios)."""
        d = np.zeros(len(segs) + len(free))
        d[i] = rho[j]
        if j != ref:
            d[len(segs) + free.index(j)] = c[i]
        return d

    cells_ij = np.argwhere(w > 0)
    jac = np.array([gradient(i, j) for i, j in cells_ij])
    cov = np.linalg.pinv(jac.T @ (jac * we[cells_ij[:, 0], cells_ij[:, 1]][:, None]))
    var_fit = np.array(
        [[max(float(gradient(i, j) @ cov @ gradient(i, j)), 0.0) for j in range(len(strats))] for i in range(len(segs))]
    )
    mean = np.full(len(theta), np.nan)
    var = np.full(len(theta), np.nan)
    cell_fit = np.full(len(theta), np.nan)
    for n, (g, s) in enumerate(zip(segment.tolist(), strategy.tolist())):
        if g not in gi or s not in si:
            continue
        i, j = gi[g], si[s]
        cell_fit[n] = fit[i, j]
        if known[n]:
            s2 = max(float(se[n]), 1e-12) ** 2
            b = tau2[j] / (tau2[j] + s2)
            mean[n] = fit[i, j] + b * (theta[n] - fit[i, j])
            var[n] = b * s2 + (1 - b) ** 2 * var_fit[i, j]
        else:
            mean[n], var[n] = fit[i, j], tau2[j] + var_fit[i, j]
    lone = {j for j in range(len(strats)) if (w[:, j] > 0).sum() == 1}  # a strategy tried in one segment only
    for n, s in enumerate(strategy.tolist()):
        if known[n] and s in si and si[s] in lone:  # its ratio rests on that one cell: its own estimate
            mean[n], var[n] = theta[n], max(float(se[n]), 1e-12) ** 2
    notes = {
        s: (
            _("one segment: its own estimate")
            if j in lone
            else _("follows the segments' product fit (tau^2 = 0): pooled fully")
            if tau2[j] == 0
            else _("partly pooled toward the segments' product fit (tau = {tau:.3g})").format(tau=math.sqrt(tau2[j]))
        )
        for s, j in si.items()
    }
    return ProductPooled(
        mean,
        var,
        cell_fit,
        {s: float(rho[j]) for s, j in si.items()},
        {s: float(tau2[j]) for s, j in si.items()},
        notes,
    )


def pool_rates(events, exposure, prior_mean=None, *, max_weight: float | None = None) -> Pooled:
    """Poisson-gamma empirical Bayes for counts ``events`` over ``exposure`` (Clayton and Kaldor 1987).

    Cell ``i`` has ``y_i ~ Poisson(e_i r_i)`` with ``r_i ~ Gamma(a, a / m_i)``:
    the prior mean ``m_i`` is ``prior_mean`` (e.g. a strategy's rate times a
    segment's relative risk), else the pooled rate ``sum y / sum e``; the
    shape ``a`` maximises the negative-binomial marginal likelihood. The
    posterior is ``Gamma(a + y_i, a / m_i + e_i)``. ``max_weight`` caps ``a``
    at that many events (the prior then weighs no more than a cell with that
    many complaints); by default ``a`` is capped at the mean count per cell
    plus one half, since a handful of events per cell cannot show that
    cells share a rate. With no event at all the prior is ``Gamma(0.5, sum e)``
    (half an event spread over all exposure), so a cell of 0 complaints reads
    a small positive rate, not 0.

    >>> p = pool_rates([0, 10], [1000, 1000])
    >>> bool(0 < p.mean[0] < p.mean[1] < 0.01)
    True
    """
    y, e = np.asarray(events, float), np.asarray(exposure, float)
    if (e <= 0).any() or (y < 0).any():
        raise ValueError("pool_rates needs exposure > 0 and events >= 0")
    total_y, total_e = float(y.sum()), float(e.sum())
    if total_y == 0:
        a = 0.5
        m = np.full_like(e, 0.5 / total_e)
        note = _("no complaints in any cell: half a complaint spread over all accounts")
    else:
        m = (
            np.full_like(e, total_y / total_e)
            if prior_mean is None
            else np.maximum(np.asarray(prior_mean, float), 0.5 / total_e)
        )
        cap = (total_y / len(y) + 0.5) if max_weight is None else max(float(max_weight), 0.5)

        def nll(log_a):
            a_ = math.exp(log_a)
            b_ = a_ / m
            return -float(
                np.sum(
                    special.gammaln(a_ + y)
                    - special.gammaln(a_)
                    + a_ * np.log(b_ / (b_ + e))
                    + y * np.log(e / (b_ + e))
                )
            )

        if len(y) == 1:
            a = cap
        else:
            res = optimize.minimize_scalar(nll, bounds=(-6.0, math.log(cap)), method="bounded")
            a = min(math.exp(res.x), cap)  # pyright: ignore[reportAttributeAccessIssue]  # scipy types the OptimizeResult as object; it carries x
        note = (
            _("one cell: its own rate")
            if len(y) == 1
            else _("cells agree with the prior: pooled as far as the cap allows")
            if a >= cap * 0.999
            else _("partly pooled (prior shape {a:.3g})").format(a=a)
        )
    b = a / m
    shape, rate = a + y, b + e
    return Pooled(shape / rate, shape / rate**2, float(np.average(m, weights=e)), 1 / a, e / (b + e), note, shape, rate)


# --------------------------------------------------------------------------
# Estimates per (segment, strategy)
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class CellEstimates:
    """Raw and pooled estimates per (segment, strategy), the inputs of the decision.

    Attributes:
        cells: one row per cell: ``segment``, ``strategy``, ``accounts`` (the
            arm's), ``population`` (the segment's), ``current_share``,
            ``gain_raw``/``gain_raw_se`` (money collected less contact cost,
            per account, against the baseline arm of the segment),
            ``gain``/``gain_sd`` (pooled), ``complaints_raw`` (per account),
            ``complaints``/``complaints_sd`` (posterior mean and sd of the two-stage model),
            ``hours``/``hours_se`` (agent hours per account) and
            ``net_gain`` (pooled gain less the expected complaint cost
            difference, per account), ``sd`` per account of the gain measure
            (for sample sizes).
        pooling: one row per strategy and quantity: ``strategy``,
            ``quantity`` (gain or complaints), ``center``, ``spread``, ``note``.
        dropped: segments left out, with the reason.
        complaint_cost: expected cost of one complaint (handling plus escalation).
        baseline: the baseline strategy.
        currency: currency of the money fields.
        complaint_model: the fitted two-stage complaint model (see :func:`estimate`).
        complaints_cov: posterior covariance of the cells' complaints per account (cells sharing a
            channel share its rate per contact, so they are correlated).
        horizon: the basis of the money figures: ``"short"`` (cash within the
            horizon) or ``"long"`` (losses avoided by the long horizon).
    """

    cells: pd.DataFrame
    pooling: pd.DataFrame
    dropped: dict
    complaint_cost: float
    baseline: str
    currency: str
    complaint_model: dict | None = None
    complaints_cov: np.ndarray | None = None
    horizon: str = "short"
    #: Posterior draws already made from these estimates, by (draws, seed): a what-if or a frontier takes
    #: the decision again on the same estimates with other limits, and the draws do not depend on them.
    _draws_memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)


_MOMENT_DRAWS = 4000
#: Why a segment whose money overflows is left out.
_OVERFLOW = N_(
    "its money figures are beyond floating point (amounts near 1e150 or more; check the data's amounts and currency)"
)
#: Measures that show a strategy contacts anybody (a strategy with none draws no complaint).
_CONTACT_MEASURES = ("sms_segments", "n_phone", "phone_connected", "ai_voice_billed_minutes")


#: Pseudo-complaints of the prior that holds each segment's relative risk near 1 (Gamma(k, k)).
_SEGMENT_PRIOR_EVENTS = 5.0


def _complaint_model(y, e, segments, strategies, silent=None) -> dict:
    """Three-level Poisson-gamma model of complaints per account per (segment, strategy) cell.

    * each strategy's overall rate ``lambda_s``: posterior ``Gamma(sum y_s + 1, sum e_s)`` (a flat
      prior, whose upper quantiles are the exact Garwood upper confidence limits: with no or
      few complaints the Jeffreys prior's upper limits fall short of the truth too often), so a
      strategy with few complaints carries that uncertainty into every one of its cells;
    * each segment's relative risk ``phi_g`` over all strategies: prior ``Gamma(k, k)`` (mean 1,
      ``k`` = :data:`_SEGMENT_PRIOR_EVENTS` pseudo-complaints), posterior
      ``Gamma(k + y_g, k + E_g)`` with ``E_g`` the segment's complaints expected at the
      strategies' rates (indirect standardisation), so a segment that happened to draw few
      complaints is not believed to be safe;
    * the cell's rate: ``Gamma(a, a / (lambda_s phi_g))`` a priori, updated by its own count
      to ``Gamma(a + y_i, a / (lambda_s phi_g) + e_i)``; the shape ``a`` is :func:`pool_rates`'
      (maximum marginal likelihood, capped at the mean count per cell plus one half).

    The posterior draws (:func:`_complaint_draws`) draw every level, so the uncertainty of the
    strategy and segment rates is carried into every cell, and cells that share a strategy or a
    segment are correlated. Cells of ``silent`` strategies (which contact nobody, such as a
    no-contact holdout) have a rate of exactly 0.
    """
    y, e = np.asarray(y, float), np.asarray(e, float)
    seg = pd.factorize(pd.Series(segments))[0]
    st, names = pd.factorize(pd.Series(strategies))
    ys, es = np.bincount(st, y), np.bincount(st, e)
    lam_hat = (ys + 1.0) / es
    expected_g = np.bincount(seg, e * lam_hat[st])
    k = _SEGMENT_PRIOR_EVENTS
    shape_g, rate_g = k + np.bincount(seg, y), k + expected_g
    pooled = pool_rates(y, e, lam_hat[st] * (shape_g / rate_g)[seg])
    a = 1.0 / pooled.spread
    return {
        "y": y,
        "e": e,
        "strategy": st,
        "segment": seg,
        "shape_s": ys + 1.0,
        "rate_s": es,
        "shape_g": shape_g,
        "rate_g": rate_g,
        "a": a,
        "center": float(y.sum() / e.sum()),
        "strategies": list(names),
        "note": _(
            "three levels: each strategy's overall rate and each segment's relative risk (both "
            "uncertain), then the cell's own count ({pooling})"
        ).format(pooling=pooled.note),
        "silent": np.zeros(len(y), bool) if silent is None else np.asarray(silent, bool),
    }


#: Prior shape of each channel's rate per contact: Gamma(1, 0), flat, whose upper quantiles are Garwood's.
_CHANNEL_PRIOR = 1.0
#: Pseudo-channel of complaints not linked to any contact (they get account exposure).
UNLINKED = "not linked to a contact"


def _segment_factors(observed, expected) -> tuple[np.ndarray, np.ndarray, str]:
    """Posterior ``Gamma(shape, rate)`` of each segment's relative risk of complaint per contact.

    Segment ``g`` has ``y_g ~ Poisson(E_g phi_g)`` with ``E_g`` its complaints expected at the
    channels' rates and ``phi_g ~ Gamma(b, b)`` (mean 1); ``b`` maximises the negative-binomial
    marginal likelihood (:func:`pool_rates` with prior mean 1), capped at the total number of
    complaints. Segments that agree with the channels' rates are pulled to 1 (``b`` large: the
    factors add little uncertainty); segments that truly differ keep their own ratio ``y_g / E_g``
    (``b`` small). The posterior is ``Gamma(b + y_g, b + E_g)``; a segment with no expected
    complaint keeps the prior.
    """
    y, e = np.asarray(observed, float), np.asarray(expected, float)
    shape = np.full(len(y), _SEGMENT_PRIOR_EVENTS)
    rate = np.full(len(y), _SEGMENT_PRIOR_EVENTS)
    seen = e > 0
    if seen.sum() < 2 or y[seen].sum() == 0:  # nothing to learn the spread from: the fixed prior
        shape[seen] += y[seen]
        rate[seen] += e[seen]
        return shape, rate, _("prior Gamma({k:g}, {k:g})").format(k=_SEGMENT_PRIOR_EVENTS)
    pooled = pool_rates(y[seen], e[seen], np.ones(int(seen.sum())), max_weight=max(float(y.sum()), 1.0))
    b = 1.0 / pooled.spread
    shape[:], rate[:] = b, b
    shape[seen], rate[seen] = pooled.shape, pooled.rate
    return shape, rate, _("shrunk toward 1 with prior shape {b:.3g}").format(b=b)


def _channel_complaint_model(contacts: pd.DataFrame, cell_complaints, cell_accounts, segments, silent=None) -> dict:
    """Complaints per account per cell, from complaints per CONTACT by channel (the default model).

    ``contacts`` has one row per (cell, channel): ``cell`` (index into the cells), ``channel``,
    ``contacts`` (attempts) and ``complaints`` (those the attempts caused). Complaints of a cell
    that no contact explains (``cell_complaints`` minus the linked ones) form one more channel,
    :data:`UNLINKED`, with the cell's accounts as exposure.

    * each channel's rate per contact ``lambda_c``: posterior ``Gamma(Y_c + 1, C_c)`` over all
      cells (a flat prior: its upper quantiles are the exact Garwood limits);
    * each segment's relative risk ``phi_g``: ``Gamma(b + y_g, b + E_g)`` with ``E_g`` the
      segment's complaints expected at the channels' rates (indirect standardisation) and ``b``
      by empirical Bayes (:func:`_segment_factors`), so segments that agree are pulled to 1;
    * the (cell, channel) rate: ``Gamma(a, a / (lambda_c phi_g))`` a priori, updated by its own
      count over its contacts; ``a`` maximises the negative-binomial marginal likelihood
      (:func:`pool_rates`), capped at the total number of complaints (the prior cannot carry
      more evidence than all the counts together).

    A cell's complaints per account are ``sum_c (C_ic / n_i) r_ic``: contacts per account (measured
    on thousands of contacts, taken as known) times the rate per contact. Complaints come from
    contacts, so a strategy's complaints in a segment borrow strength from every other cell that
    uses the same channel; this is what lets a limit on complaints be held without the margin a
    model of complaints per account needs.
    """
    n_cell = np.asarray(cell_accounts, float)
    k_cells = len(n_cell)
    seg = pd.factorize(pd.Series(segments))[0]
    rows = contacts[contacts.contacts > 0]
    cell = rows.cell.to_numpy(int)
    ch = rows.channel.astype(str).to_numpy()
    y = rows.complaints.to_numpy(float)
    e = rows.contacts.to_numpy(float)
    unlinked = np.maximum(np.asarray(cell_complaints, float) - np.bincount(cell, y, minlength=k_cells), 0.0)
    if unlinked.sum() > 0:
        cell = np.concatenate([cell, np.arange(k_cells)])
        ch = np.concatenate([ch, np.full(k_cells, UNLINKED)])
        y = np.concatenate([y, unlinked])
        e = np.concatenate([e, n_cell])
    if len(y) == 0:  # nobody contacted and no complaint: every cell is silent
        return _complaint_model(
            np.zeros(k_cells), np.maximum(n_cell, 1.0), segments, np.zeros(k_cells, int), np.ones(k_cells, bool)
        )
    chi, names = pd.factorize(pd.Series(ch))
    ys, es = np.bincount(chi, y), np.bincount(chi, e)
    lam_hat = (ys + _CHANNEL_PRIOR) / es
    ng = seg.max() + 1
    shape_g, rate_g, seg_note = _segment_factors(
        np.bincount(seg[cell], y, minlength=ng), np.bincount(seg[cell], e * lam_hat[chi], minlength=ng)
    )
    pooled = pool_rates(y, e, lam_hat[chi] * (shape_g / rate_g)[seg[cell]], max_weight=max(float(y.sum()), 1.0))
    w = np.zeros((len(y), k_cells))
    w[np.arange(len(y)), cell] = e / n_cell[cell]
    per_contact = i18n.listing(f"{nm} {1e4 * ys[i] / es[i]:.3g}" for i, nm in enumerate(names) if nm != UNLINKED)
    return {
        "y": y,
        "e": e,
        "strategy": chi,
        "segment": seg[cell],
        "shape_s": ys + _CHANNEL_PRIOR,
        "rate_s": es,
        "shape_g": shape_g,
        "rate_g": rate_g,
        "expected_g": np.bincount(seg[cell], e * lam_hat[chi], minlength=ng),
        "a": 1.0 / pooled.spread,
        "center": float(np.sum(cell_complaints) / n_cell.sum()),
        "strategies": list(names),
        "weights": w,
        "exposure": "contacts",
        "note": _(
            "per contact by channel (per 10,000 contacts: {per_contact}), each segment's relative risk "
            "({segments}), then each cell's own count ({pooling})"
        ).format(per_contact=per_contact, segments=seg_note, pooling=pooled.note),
        "silent": np.zeros(k_cells, bool) if silent is None else np.asarray(silent, bool),
    }


def _complaint_moments(model: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, standard deviation and covariance (cells) of complaints per account under ``model``, from draws."""
    sample = _complaint_draws(model, _MOMENT_DRAWS, np.random.default_rng(20250228))
    k = sample.shape[1]
    return sample.mean(0), sample.std(0, ddof=1), np.cov(sample, rowvar=False).reshape(k, k)


# Draws that do not depend on the unit costs (the complaint model's, and the standard normal draws that
# the costs' means and spreads scale), remembered across estimates: a what-if that moves a cost makes new
# estimates, but the same complaint model, so it reuses them. Keyed by a fingerprint of everything they
# are made from; the arrays are read-only.
_MODEL_DRAWS: OrderedDict = OrderedDict()
_MODEL_DRAWS_REMEMBERED = 16


def _fingerprint(*parts) -> str:
    """A digest of ``parts`` (arrays by dtype, shape and bytes; dicts by sorted key; anything else by repr)."""
    h = hashlib.blake2b(digest_size=16)

    def feed(obj) -> None:
        if isinstance(obj, np.ndarray):
            h.update(f"a{obj.dtype}{obj.shape}".encode())
            h.update(np.ascontiguousarray(obj).tobytes())
        elif isinstance(obj, Mapping):
            h.update(b"{")
            for key in sorted(obj, key=str):
                h.update(repr(key).encode())
                feed(obj[key])
            h.update(b"}")
        elif isinstance(obj, list | tuple):
            h.update(b"[")
            for item in obj:
                feed(item)
            h.update(b"]")
        else:
            h.update(repr(obj).encode())

    for part in parts:
        feed(part)
    return h.hexdigest()


def _remembered_model_draws(key: tuple, make):
    """``make()`` remembered under ``key`` (see :data:`_MODEL_DRAWS`); its arrays are made read-only."""
    if key in _MODEL_DRAWS:
        _MODEL_DRAWS.move_to_end(key)
        return _MODEL_DRAWS[key]
    made = make()
    for arr in made:
        if isinstance(arr, np.ndarray):
            arr.setflags(write=False)
    _MODEL_DRAWS[key] = made
    while len(_MODEL_DRAWS) > _MODEL_DRAWS_REMEMBERED:
        _MODEL_DRAWS.popitem(last=False)
    return made


def _complaint_draws(model: dict, draws: int, rng: np.random.Generator) -> np.ndarray:
    """Joint posterior draws (draws, cells) of complaints per account under :func:`_complaint_model`."""
    lam = rng.gamma(model["shape_s"], 1.0 / model["rate_s"], size=(draws, len(model["shape_s"])))
    phi = rng.gamma(model["shape_g"], 1.0 / model["rate_g"], size=(draws, len(model["shape_g"])))
    m = lam[:, model["strategy"]] * phi[:, model["segment"]]
    a = model["a"]
    out = rng.gamma(a + model["y"], 1.0, size=m.shape) / (a / m + model["e"])
    if "weights" in model:  # rates per contact by (cell, channel) -> complaints per account by cell
        out = out @ model["weights"]
    out[:, model["silent"]] = 0.0  # no contact, no complaint
    return out


def estimate(
    source,
    scenario,
    *,
    baseline: str = checks.BASELINE,
    unit_costs: UnitCosts | None = None,
    horizon_days: int | None = None,
    contacts: pd.DataFrame | None = None,
    horizon: str = "short",
    pool_gains: str = "product",
) -> CellEstimates:
    """Raw and partially pooled estimates per (segment, strategy) from a dataset or its moments.

    Args:
        source: the contract tables (an :class:`analysis.data.io.Dataset`) or a
            :class:`analysis.decide.economics.CellMoments` by segment.
        scenario: the scenario (unit costs, complaint costs, horizon).
        baseline: the strategy gains are measured against.
        unit_costs: unit costs replacing the scenario's.
        horizon_days: outcome window; default the scenario's (its long
            horizon with ``horizon="long"``).
        horizon: ``"short"`` (default: net value on cash collected within the
            horizon) or ``"long"`` (on the losses avoided by the scenario's
            long horizon; see :mod:`analysis.decide.economics`).
        contacts: contacts and the complaints they caused per ``segment``,
            ``strategy`` and ``channel`` (:func:`analysis.engine.contact_cells`);
            queried from ``source`` when it is the tables. With them,
            complaints are modelled per contact by channel
            (:func:`_channel_complaint_model`); from moments alone, per account
            (:func:`_complaint_model`).
        pool_gains: ``"product"`` (default: the gains shrunk toward the segments' product fit,
            :func:`pool_products`, where the cells can show one) or ``"strategy"`` (each strategy's gains
            toward its mean over segments, :func:`pool_means`; the decision study scores both).

    Raises:
        ValueError: unknown baseline, or no segment with the baseline and another strategy.
    """
    economics._check_horizon(horizon)
    checks.choice(pool_gains, ("product", "strategy"), "pool_gains")
    if isinstance(source, economics.CellMoments):
        m = source
    else:
        m = economics.cell_moments(source, scenario, by=("segment",), horizon_days=horizon_days, horizon=horizon)
        if contacts is None:
            sc = economics._scenario(scenario)
            window = horizon_days or (sc.long_horizon_days if horizon == "long" else sc.horizon_days)
            contacts = engine.contact_cells(source, by=("segment", "strategy", "channel"), horizon_days=window)
    if m.by != ("segment",):
        raise ValueError(f"the moments must be by segment, got by={m.by!r}")
    checks.baseline(baseline, m.strategies())
    a = economics.assumptions(scenario, unit_costs)
    coef = economics._coef(a, "assumed", m.measures)
    w = coef["net_value"] + coef["complaint_cost"]  # value before complaint costs, on the moments' basis
    i_c = economics.MEASURES.index("complaints")
    k_c = float(coef["complaint_cost"][i_c])
    hours_w = economics._agent_hours_coef(a, m.measures)
    cells = m.cells.copy()
    cells["segment"] = cells["segment"].astype(str)
    n = cells.accounts.to_numpy(float)
    v = m.mean @ w
    var_v = np.einsum("j,cjk,k->c", w, m.cov, w)
    bad = ~np.isfinite(v) | ((n >= 2) & ~np.isfinite(var_v))
    v, var_v = np.where(bad, 0.0, v), np.where(bad, 0.0, var_v)
    cells["contact_use"] = np.abs(m.mean[:, [economics.MEASURES.index(k) for k in _CONTACT_MEASURES]]).sum(axis=1)
    cells["value_raw"] = v
    cells["value_se"] = np.where(n >= 2, np.sqrt(var_v), np.nan)
    cells["sd"] = cells.value_se * np.sqrt(n)
    cells["complaints_raw"] = m.mean[:, i_c]
    cells["complaint_count"] = np.rint(m.mean[:, i_c] * n)
    cells["hours"] = m.mean @ hours_w
    cells["hours_se"] = np.sqrt(np.maximum(np.einsum("j,cjk,k->c", hours_w, m.cov, hours_w), 0.0))
    cells["current_share"] = cells.accounts / cells.population
    has_base = set(cells.segment[cells.strategy == baseline])
    dropped = {s: f"no {baseline} arm to measure against" for s in sorted(set(cells.segment) - has_base)}
    overflow = sorted(set(cells.segment[bad]) - set(dropped))
    dropped.update({s: _OVERFLOW for s in overflow})
    cells = cells[~cells.segment.isin(list(dropped))].reset_index(drop=True)
    if cells.empty:
        why = "; ".join(f"{s}: {r}" for s, r in dropped.items())
        raise ValueError(f"cannot decide: no segment can be judged ({why})")
    # the reasons in the reader's language (the error above stays English)
    dropped = {
        s: _(_OVERFLOW) if s in overflow else _("no {baseline} arm to measure against").format(baseline=baseline)
        for s in dropped
    }
    base = cells.loc[cells.strategy == baseline].set_index("segment")
    b_v = base.value_raw.reindex(cells.segment).to_numpy()
    b_se = base.value_se.reindex(cells.segment).to_numpy()
    cells["gain_raw"] = cells.value_raw.to_numpy() - b_v
    cells["gain_raw_se"] = np.sqrt(cells.value_se.to_numpy() ** 2 + b_se**2)
    cells["gain"], cells["gain_sd"], cells["judged"] = 0.0, 0.0, True
    pooling = []
    contact_use = cells.contact_use + cells.complaint_count
    silent = contact_use.groupby(cells.strategy).transform("sum").to_numpy() == 0  # e.g. a no-contact holdout
    if contacts is not None:
        missing = {"segment", "strategy", "channel", "contacts", "complaints"} - set(contacts.columns)
        if missing:
            raise ValueError(f"contacts lacks the columns {', '.join(sorted(missing))}")
        key = {(g, st): i for i, (g, st) in enumerate(zip(cells.segment, cells.strategy))}
        cc = contacts.assign(
            cell=[key.get((str(g), str(st)), -1) for g, st in zip(contacts.segment, contacts.strategy)]
        )
        model = _channel_complaint_model(
            cc.loc[cc.cell >= 0],
            cells.complaint_count.to_numpy(float),
            cells.accounts.to_numpy(float),
            cells.segment.to_numpy(),
            silent,
        )
    else:
        model = _complaint_model(
            cells.complaint_count.to_numpy(float),
            cells.accounts.to_numpy(float),
            cells.segment.to_numpy(),
            cells.strategy.to_numpy(),
            silent,
        )
    mean, sd, complaints_cov = _remembered_model_draws(
        ("moments", _fingerprint(model), _MOMENT_DRAWS), lambda: _complaint_moments(model)
    )
    cells["complaints"], cells["complaints_sd"] = mean, sd
    pooling.append(
        {
            "strategy": "all",
            "quantity": _("complaints per account"),
            "center": model["center"],
            "spread": 1 / model["a"],
            "note": model["note"],
        }
    )
    for s, idx in cells.groupby("strategy", sort=True).groups.items():
        idx = np.asarray(list(idx))
        if s == baseline:
            continue
        theta, se = cells.gain_raw.to_numpy()[idx], cells.gain_raw_se.to_numpy()[idx]
        if not (np.isfinite(theta) & np.isfinite(se)).any():  # single accounts only: nothing to judge a move by
            cells.loc[idx, "gain"], cells.loc[idx, "gain_sd"], cells.loc[idx, "judged"] = 0.0, 0.0, False
            pooling.append(
                {
                    "strategy": s,
                    "quantity": _("gain before complaint costs"),
                    "center": math.nan,
                    "spread": math.nan,
                    "note": _("no cell with two accounts: not judged, never moved to"),
                }
            )
            continue
        g = pool_means(theta, se)
        cells.loc[idx, "gain"], cells.loc[idx, "gain_sd"] = g.mean, np.sqrt(g.var)
        pooling.append(
            {
                "strategy": s,
                "quantity": _("gain before complaint costs"),
                "center": g.center,
                "spread": g.spread,
                "note": g.note,
            }
        )
    # then the strategies' gains together, toward the segments' product fit (when the cells can show one)
    idx = np.flatnonzero(((cells.strategy != baseline) & cells.judged).to_numpy())
    prod = (
        None
        if pool_gains == "strategy"
        else pool_products(
            cells.gain_raw.to_numpy()[idx],
            cells.gain_raw_se.to_numpy()[idx],
            cells.segment.to_numpy()[idx],
            cells.strategy.to_numpy()[idx],
        )
    )
    if prod is not None:
        reached = np.isfinite(prod.mean)
        cells.loc[idx[reached], "gain"] = prod.mean[reached]
        cells.loc[idx[reached], "gain_sd"] = np.sqrt(prod.var[reached])
        weight = cells.population.to_numpy(float)[idx]
        for row in pooling:
            st = row["strategy"]
            if st in prod.ratio:
                mine = reached & (cells.strategy.to_numpy()[idx] == st)
                row["center"] = float(np.average(prod.fit[mine], weights=weight[mine]))
                row["spread"], row["note"] = prod.spread[st], prod.note[st]
    base_c = cells.loc[cells.strategy == baseline].set_index("segment").complaints
    cells["net_gain"] = cells.gain - k_c * (cells.complaints - base_c.reindex(cells.segment).to_numpy())
    keep = [
        "segment",
        "strategy",
        "accounts",
        "population",
        "current_share",
        "gain_raw",
        "gain_raw_se",
        "gain",
        "gain_sd",
        "complaints_raw",
        "complaint_count",
        "complaints",
        "complaints_sd",
        "hours",
        "hours_se",
        "net_gain",
        "sd",
        "judged",
    ]
    return CellEstimates(
        cells[keep],  # pyright: ignore[reportArgumentType]  # pandas: selecting a list of columns gives a DataFrame
        pd.DataFrame(pooling),
        dropped,
        k_c,
        baseline,
        economics._scenario(scenario).currency if unit_costs is None else unit_costs.currency,
        model,
        complaints_cov,
        m.horizon,
    )


_DRAWS_REMEMBERED = 8
#: Columns of :attr:`Decision.segments` and :attr:`Decision.comparisons` (empty ones when ``detail=False``).
_SEGMENT_COLUMNS = (
    "segment", "accounts", "strategy", "share", "policy", "mixed", "moved", "moved_share", "gain_per_account",
    "gain_ci_low", "gain_ci_high", "prob_gain", "prob_best", "best_alternative", "alternative_prob_gain",
    "test_accounts", "flag", "reason",
)  # fmt: skip
_COMPARISON_COLUMNS = (
    "policy", "value_per_account", "total_value", "agent_hours", "complaints_per_10k", "prob_recommended_better",
)  # fmt: skip


def _remembered_draws(est: CellEstimates, draws: int, seed: int | list[int]) -> dict[str, np.ndarray]:
    """:func:`_draws` with the generator seeded by ``seed``, made once per estimates object (read-only arrays)."""
    key = (draws, seed if isinstance(seed, int) else tuple(seed))
    memo = est._draws_memo
    if key not in memo:
        if len(memo) >= _DRAWS_REMEMBERED:
            memo.pop(next(iter(memo)))
        raw = _remembered_model_draws(
            ("raw", _fingerprint(len(est.cells), est.complaint_model), *key),
            lambda: _raw_draws(est, draws, np.random.default_rng(seed)),
        )
        made = _from_raw(est, raw)
        for arr in made.values():
            arr.setflags(write=False)  # shared by every decision taken on these estimates
        memo[key] = made
    return memo[key]


def _draws(est: CellEstimates, draws: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Posterior draws (draws, cells) of the gain after complaint costs, complaints and hours per account."""
    return _from_raw(est, _raw_draws(est, draws, rng))


def _raw_draws(est: CellEstimates, draws: int, rng: np.random.Generator) -> tuple:
    """What :func:`_draws` takes from ``rng``, in its order: the standard normal draws of the gain, the
    complaint model's draws (or standard normals when there is none) and the standard normals of the hours.

    None of it depends on the unit costs (they only scale and shift the normals, in :func:`_from_raw`).
    """
    k = len(est.cells)
    z_gain = rng.standard_normal((draws, k))
    if est.complaint_model is not None:
        rate, z_complaints = _complaint_draws(est.complaint_model, draws, rng), None
    else:
        rate, z_complaints = None, rng.standard_normal((draws, k))
    return z_gain, rate, z_complaints, rng.standard_normal((draws, k))


def _from_raw(est: CellEstimates, raw: tuple) -> dict[str, np.ndarray]:
    z_gain, rate, z_complaints, z_hours = raw
    c = est.cells
    base = (c.strategy == est.baseline).to_numpy()
    gain = z_gain * c.gain_sd.to_numpy() + c.gain.to_numpy()
    gain[:, base] = 0.0
    if rate is None:
        rate = np.maximum(z_complaints * c.complaints_sd.to_numpy() + c.complaints.to_numpy(), 0.0)
    hours = np.maximum(z_hours * c.hours_se.to_numpy() + c.hours.to_numpy(), 0.0)
    seg = pd.factorize(c.segment)[0]
    base_col = np.array([np.flatnonzero(base & (seg == g))[0] for g in seg])
    net = gain - est.complaint_cost * (rate - rate[:, base_col])
    return {"net": net, "complaints": rate, "hours": hours}


# --------------------------------------------------------------------------
# The chance-constrained programme
# --------------------------------------------------------------------------
class InfeasibleDecision(ValueError):
    """No allocation keeps a limit at the chosen level.

    Attributes:
        constraint: ``capacity_hours`` or ``complaint_budget_per_10k``.
        least, low, high: the least expected use any allocation reaches, with
            its interval at the chosen level.
    """

    def __init__(self, constraint: str, limit: str, least: float, low: float, high: float, level: float):
        self.constraint, self.least, self.low, self.high = constraint, least, low, high
        self.limit, self.level = limit, level
        unit = "agent hours" if constraint == "capacity_hours" else "complaints per 10,000 accounts"
        super().__init__(
            f"{constraint}={limit} cannot be held with probability {level:g}: the least any allocation reaches is "
            f"{least:,.2f} {unit} ({level:.0%} interval {low:,.2f} to {high:,.2f}); raise the limit or lower the level"
        )

    def describe(self) -> str:
        """The message in the reader's language (``str(err)`` stays English; the same text in English)."""
        unit = N_("agent hours") if self.constraint == "capacity_hours" else N_("complaints per 10,000 accounts")
        return _(
            "{constraint}={limit} cannot be held with probability {level:g}: the least any allocation reaches is "
            "{least} {unit} ({level:.0%} interval {low} to {high}); raise the limit or lower the level"
        ).format(
            constraint=self.constraint,
            limit=self.limit,
            level=self.level,
            least=f"{self.least:,.2f}",
            unit=_(unit),
            low=f"{self.low:,.2f}",
            high=f"{self.high:,.2f}",
        )


@dataclass
class _Con:
    name: str
    mean: np.ndarray  # per cell, usage of the whole segment on that cell (shares -> units)
    var: np.ndarray  # covariance matrix of those usages (cells x cells)
    x0: np.ndarray
    bound: float
    limit_text: str
    # a worst case over a box instead of a Gaussian chance constraint: mean . d + sum_j half_j |rows_j . d|
    box_rows: np.ndarray | None = None
    box_half: np.ndarray | None = None


def _tol(con: _Con) -> float:
    """How far over its bound a constraint may be and still count as held (solver round-off)."""
    return 1e-7 * max(1.0, abs(con.bound), float(np.abs(con.mean).sum()))


def _f(con: _Con, x, z) -> float:
    """The constraint's left-hand side at ``x``: the use at the bound's probability (held when <= bound)."""
    d = x - con.x0
    if con.box_rows is not None:  # the worst case over the box: each uncertain rate at its upper or lower limit
        return float(con.mean @ d + con.box_half @ np.abs(con.box_rows @ d))
    return float(con.mean @ d + z * math.sqrt(max(float(d @ con.var @ d), 0.0)))


def _grad(con: _Con, x, z) -> np.ndarray:
    """A (sub)gradient of :func:`_f` at ``x``, for the cutting planes."""
    d = x - con.x0
    if con.box_rows is not None:
        return con.mean + (con.box_half * np.sign(con.box_rows @ d)) @ con.box_rows
    sd = math.sqrt(max(float(d @ con.var @ d), 0.0))
    return con.mean + (z * (con.var @ d) / sd if sd > 0 else 0.0)


def _solve(value, a_eq, cons: list[_Con], z: float, allowed: np.ndarray, scenarios=None):
    """Maximise ``value . x`` over the allowed cells under the limits.

    ``cons`` are Gaussian chance constraints (Kelley cutting planes);
    ``scenarios`` is ``(rows, bounds)``: linear constraints that every
    posterior draw must meet (the scenario approach), or None.
    """
    bounds = [(0.0, 1.0 if ok else 0.0) for ok in allowed]
    cuts_a, cuts_b = [], []
    if scenarios is not None:
        cuts_a.extend(scenarios[0])
        cuts_b.extend(scenarios[1])
    for c in cons:  # the mean part alone is a valid first cut (the spread term is >= 0)
        cuts_a.append(c.mean)
        cuts_b.append(c.bound + float(c.mean @ c.x0))
    x = None
    for __ in range(_CUTS):
        res = linprog(
            -value,
            A_ub=np.array(cuts_a) if cuts_a else None,
            b_ub=np.array(cuts_b) if cuts_b else None,
            A_eq=a_eq,
            b_eq=np.ones(len(a_eq)),
            bounds=bounds,
            method="highs",
        )
        if res.status == 2:
            return None
        if res.status != 0:  # pragma: no cover - bounded, feasible LPs solve
            raise RuntimeError(f"linprog failed: {res.message}")
        x = np.clip(res.x, 0.0, 1.0)
        worst = [(c, _f(c, x, z)) for c in cons]
        bad = [(c, fx) for c, fx in worst if fx > c.bound + _tol(c)]
        if not bad:
            return x
        for c, fx in bad:
            grad = _grad(c, x, z)
            cuts_a.append(grad)
            cuts_b.append(c.bound - fx + float(grad @ x))
    return x  # the last iterate; _repair makes it feasible


def _repair(x, safe, cons: list[_Con], z: float):
    """Move ``x`` toward the feasible ``safe`` allocation until every constraint holds (convexity)."""
    if all(_f(c, x, z) <= c.bound + _tol(c) for c in cons):
        return x
    lo, hi = 0.0, 1.0
    for __ in range(60):
        t = (lo + hi) / 2
        y = (1 - t) * x + t * safe
        if all(_f(c, y, z) <= c.bound + _tol(c) for c in cons):
            hi = t
        else:
            lo = t
    return (1 - hi) * x + hi * safe


# --------------------------------------------------------------------------
# The decision
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Decision:
    """The recommended policy and everything said about it.

    Attributes:
        allocation: one row per (segment, strategy): ``share``, ``accounts``.
        segments: one row per segment: ``segment``, ``accounts``,
            ``strategy`` (the strategy it moves to, else the baseline),
            ``share`` (of that strategy), ``policy`` (every share, in words),
            ``mixed``, ``moved`` (any share off the baseline), ``moved_share``,
            ``gain_per_account`` of the segment's allocation with
            ``gain_ci_low`` / ``gain_ci_high`` (after complaint costs, against
            all on the baseline, posterior, at the level), ``prob_gain``
            (that the move gains), ``prob_best`` (that ``strategy`` is the
            segment's best), ``best_alternative`` and its
            ``alternative_prob_gain``, ``test_accounts`` (accounts per arm a
            test would need to settle the best alternative, when the segment
            stays), ``flag`` (a warning in words, or ""), ``reason`` (why,
            in words).
        value: ``total``, ``per_account``, ``ci_low``, ``ci_high`` (per
            account, at the level), ``prob_beats_current``,
            ``prob_beats_baseline`` (the all-baseline allocation).
        limits: one row per limit: ``limit`` (capacity_hours or
            complaint_budget_per_10k), ``setting`` (in words), ``bound`` (the
            number the use is held under; for "current", the current
            allocation's expected use), ``current`` (the current
            allocation's expected use), ``expected`` (the policy's
            expected use), ``ci_low``/``ci_high``, ``held_on`` (how the
            limit was held, in words), ``prob_holds`` (that it holds); all
            under the model the limit was held on (for the robust complaint
            limit, the channels' rates per contact times the segments'
            factors, so its figures can differ a little from
            ``comparisons``'), and ``prob_holds_full`` (under the full
            model, whose rates per contact may also differ by strategy
            within a segment; a note says so when it falls below the
            level).
        comparisons: expected total and per-account value, agent hours and
            complaints per 10,000 accounts of the policy, the current
            allocation and each single strategy for all, with the
            probability that the policy beats each.
        estimates: the :class:`CellEstimates` behind it.
        params: the parameters (level, baseline, limits, draws, seed).
        notes: things a reader must know (segments dropped, segments moved for the limits).
    """

    allocation: pd.DataFrame
    segments: pd.DataFrame
    value: dict
    limits: pd.DataFrame
    comparisons: pd.DataFrame
    estimates: CellEstimates
    params: dict
    notes: list = field(default_factory=list)

    def shares(self) -> pd.DataFrame:
        """Shares as a segment x strategy table."""
        return self.allocation.pivot(index="segment", columns="strategy", values="share").fillna(0.0)


def _tests_needed(delta: float, sd_a: float, sd_b: float, level: float, power: float = 0.8) -> float:
    """Accounts per arm for a one-sided test at ``level`` to find ``delta`` with ``power`` (normal approximation)."""
    if not (delta > 0 and math.isfinite(sd_a) and math.isfinite(sd_b)):
        return math.nan
    z = sps.norm.ppf(level) + sps.norm.ppf(power)
    return math.ceil(z**2 * (sd_a**2 + sd_b**2) / delta**2)


def decide(
    source,
    scenario,
    *,
    baseline: str = checks.BASELINE,
    capacity_hours: Any = DEFAULT_LIMIT,
    complaint_budget_per_10k: Any = DEFAULT_LIMIT,
    level: float = DEFAULT_LEVEL,
    unit_costs: UnitCosts | None = None,
    draws: int = _DRAWS,
    seed: int = 0,
    horizon_days: int | None = None,
    bound: str = "robust",
    horizon: str | None = None,
    detail: bool = True,
) -> Decision:
    """The recommended strategy per segment, under limits held with probability ``level``.

    Args:
        source: the contract tables, a :class:`analysis.decide.economics.CellMoments`
            by segment, or a :class:`CellEstimates` (the what-if reuses it).
        scenario: the scenario (costs, complaint costs).
        baseline: the strategy segments stay on unless a move gains with
            probability ``level``.
        capacity_hours: agent hours over the horizon: ``"current"`` (default:
            no more than the current allocation), ``"unlimited"``/None, or a number.
        complaint_budget_per_10k: complaints per 10,000 accounts, the same way.
        level: probability in (0.5, 1) with which a move must gain and each limit hold.
        unit_costs: unit costs replacing the scenario's.
        draws: posterior draws (>= 500).
        seed: seed of the draws.
        horizon_days: outcome window; default the scenario's.
        bound: how the limits are held (see the module docstring):
            ``"robust"`` (default: over a simultaneous confidence region at
            ``level``: a box on the channels' complaint rates per contact and
            on the cells' agent hours per account, so the guarantee does not
            depend on the allocation the programme picks; the complaint limit
            also as a chance constraint where rates per contact differ by
            segment), ``"chance"``
            (Gaussian chance constraints on the posterior at ``level``) or
            ``"scenario"`` (complaints within the limit in every one of
            :func:`scenario_draws` posterior draws, hours as ``"chance"``).
        horizon: ``"short"`` (cash collected within the horizon, the default
            for tables) or ``"long"`` (losses avoided by the scenario's long
            horizon); for :class:`CellEstimates`, theirs.
        detail: False leaves the segments' records and the comparisons empty (only the allocation,
            the value and the limits are worked out): the points of a :func:`frontier`.

    Raises:
        InfeasibleDecision: a limit no allocation holds at ``level`` (names it
            and the least reachable use with its interval).
        ValueError: a bad parameter, naming it and what is accepted.
    """
    level = _check_level(level)
    cap = parse_limit(capacity_hours, "capacity_hours")
    bud = parse_limit(complaint_budget_per_10k, "complaint_budget_per_10k")
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 500:
        raise ValueError(f"draws must be a whole number >= 500, got {draws!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    if bound not in BOUNDS:
        raise ValueError(f"bound must be one of {', '.join(BOUNDS)}, got {bound!r}")
    if horizon is not None:
        economics._check_horizon(horizon)
    if isinstance(source, CellEstimates):
        if horizon is not None and horizon != source.horizon:
            raise ValueError(f"the estimates are on the {source.horizon!r} horizon, not {horizon!r}")
        est = source
    else:
        est = estimate(
            source,
            scenario,
            baseline=baseline,
            unit_costs=unit_costs,
            horizon_days=horizon_days,
            horizon=horizon or "short",
        )
    if est.baseline != baseline:
        raise ValueError(f"the estimates are against {est.baseline!r}, not baseline {baseline!r}")
    c = est.cells
    z = float(sps.norm.ppf(level))
    choose = _remembered_draws(est, int(draws), int(seed))
    check = _remembered_draws(est, int(draws), [int(seed), 1])  # fresh draws to report on
    seg = pd.factorize(c.segment)[0]
    nseg = seg.max() + 1
    n = c.population.to_numpy(float)
    total = float(c.drop_duplicates("segment").population.sum())
    a_eq = np.zeros((nseg, len(c)))
    a_eq[seg, np.arange(len(c))] = 1.0
    is_base = (c.strategy == baseline).to_numpy()
    current = c.current_share.to_numpy(float)
    value = n * c.net_gain.to_numpy() / total

    cons, specs = _constraints(est, cap, bud, level, bound)
    scale = 1e4 * n / total
    prob_gain = (choose["net"] > 0).mean(0)
    judged = c["judged"].to_numpy(bool) if "judged" in c else np.ones(len(c), bool)
    screened = is_base | ((prob_gain >= level) & judged)
    # The complaint limit. "robust": it must hold at every vertex of a simultaneous confidence box on the
    # channels' rates per contact (complaints are linear in them, so then over the whole box, whatever the
    # allocation); "scenario": in every one of S posterior draws, S = (2 / eps) (ln(1 / beta) + d) with
    # eps = 1 - level, beta = 0.05 and d the cells (Calafiore and Campi 2006); "chance": a Gaussian chance
    # constraint like the hours'. All three are scored against the truth in benchmarks/decision_study.py:
    # a chance constraint on the posterior is trusting, because the programme seeks out the channels and
    # cells whose counts came out low; the box's guarantee holds for any allocation, so that search cannot
    # break it; the scenario approach holds the limit almost surely and leaves most gain behind.
    by_draws = bound == "scenario"
    gaussian = [con for con in cons if con.name != "complaint_budget_per_10k" or not by_draws]
    scen = None
    complaint = next((con for con in cons if con.name == "complaint_budget_per_10k"), None) if by_draws else None
    if complaint is not None:
        need = scenario_draws(level, len(c))
        draws_c = choose["complaints"]
        if len(draws_c) < need:
            draws_c = np.vstack(
                [draws_c, _draws(est, need - len(draws_c), np.random.default_rng([int(seed), 2]))["complaints"]]
            )
        rows = draws_c[:need] * scale[None, :]
        scen = (rows, complaint.bound + rows @ complaint.x0)
    x = _solve(value, a_eq, gaussian, z, screened, scen)
    moved_for_limits = False
    if x is None:
        x = _solve(value, a_eq, gaussian, z, np.ones(len(c), bool), scen)
        moved_for_limits = x is not None
    if x is None:
        _raise_infeasible(cons, c, n, total, z, level, check, a_eq, scen, specs)
    cons = gaussian
    for safe in (current, None):  # today's allocation, else the one that uses the least (a programme: only if needed)
        safe = _least(cons, a_eq, len(c)) if safe is None else safe
        if all(_f(con, safe, z) <= con.bound + _tol(con) for con in cons):
            x = _repair(x, safe, cons, z)
            break
    x = x / (a_eq @ x)[seg]  # exact shares
    return _describe(
        est,
        x,
        choose,
        check,
        cons,
        specs,
        seg,
        n,
        total,
        level,
        current,
        is_base,
        prob_gain,
        moved_for_limits,
        scen,
        detail,
        dict(
            level=level,
            baseline=baseline,
            capacity_hours=cap,
            complaint_budget_per_10k=bud,
            draws=int(draws),
            seed=int(seed),
            bound=bound,
            horizon=est.horizon,
        ),
    )


def _constraints(est: CellEstimates, cap: Limit, bud: Limit, level: float, bound: str):
    """The limits as constraints on the shares (``_Con``), and their specs (name, limit, mean use per cell, cov).

    Against today's use (``"current"``) the difference of uses can take either sign, so the robust
    boxes are two-sided; a fixed limit has coefficients >= 0 (shares are >= 0), so only the upper
    limits can break it and the boxes are one-sided (the same level, less margin).
    """
    c = est.cells
    n = c.population.to_numpy(float)
    total = float(c.drop_duplicates("segment").population.sum())
    current = c.current_share.to_numpy(float)
    scale = 1e4 * n / total
    ccov = est.complaints_cov if est.complaints_cov is not None else np.diag(c.complaints_sd.to_numpy() ** 2)
    specs = (
        ("capacity_hours", cap, n * c.hours.to_numpy(), np.diag((n * c.hours_se.to_numpy()) ** 2)),
        ("complaint_budget_per_10k", bud, scale * c.complaints.to_numpy(), scale[:, None] * ccov * scale[None, :]),
    )
    cons: list[_Con] = []
    for name, lim, mean, var in specs:
        if lim.kind == "none":
            continue
        two_sided = lim.kind == "current"
        if two_sided:
            x0, b, text = current, 0.0, "current"
        else:
            assert lim.value is not None  # a "value" limit carries its number (parse_limit)
            x0, b, text = np.zeros(len(c)), float(lim.value), f"{lim.value:g}"
        if bound == "robust" and name == "capacity_hours":
            # each cell's hours within a Bonferroni box over the cells that use agents
            sd = np.sqrt(np.maximum(np.diag(var), 0.0))
            k = max(int((sd > 0).sum()), 1)
            zb = float(sps.norm.ppf(1 - (1 - level) / ((2 if two_sided else 1) * k)))
            cons.append(_Con(name, mean, var, x0, b, text, np.eye(len(c)), zb * sd))
        elif (
            bound == "robust"
            and name == "complaint_budget_per_10k"
            and est.complaint_model is not None
            and "weights" in est.complaint_model
        ):
            model = est.complaint_model
            for vm in _complaint_box(model, level, scale, two_sided=two_sided):  # one per vertex
                cons.append(_Con(name, vm, np.zeros_like(var), x0, b, text))
            # and a chance constraint under the model whose rates per contact also differ by segment
            sm, scov = _remembered_model_draws(
                ("segment-channel moments", _fingerprint(model), _MOMENT_DRAWS),
                lambda: _segment_channel_moments(model),  # noqa: B023 (called at once)
            )
            cons.append(_Con(name, scale * sm, scale[:, None] * scov * scale[None, :], x0, b, text))
        else:
            cons.append(_Con(name, mean, var, x0, b, text))
    return cons, specs


def holds(
    estimates: CellEstimates,
    allocation: pd.DataFrame,
    *,
    capacity_hours: Any = DEFAULT_LIMIT,
    complaint_budget_per_10k: Any = DEFAULT_LIMIT,
    level: float = DEFAULT_LEVEL,
    bound: str = "robust",
) -> dict[str, bool]:
    """Whether ``allocation`` keeps each limit at ``level``, held the way :func:`decide` holds it.

    The test :func:`decide` puts every allocation it may choose to, applied to one given from
    outside (a team's own plan, or the true optimum in the decision study).

    Args:
        estimates: the :class:`CellEstimates` of the data.
        allocation: ``segment``, ``strategy``, ``share`` (missing cells have share 0).
        capacity_hours, complaint_budget_per_10k, level, bound: as :func:`decide`.

    Returns:
        ``{"capacity_hours": bool, "complaint_budget_per_10k": bool}`` (True for a limit not set).
    """
    level = _check_level(level)
    if bound not in BOUNDS:
        raise ValueError(f"bound must be one of {', '.join(BOUNDS)}, got {bound!r}")
    missing = {"segment", "strategy", "share"} - set(allocation.columns)
    if missing:
        raise ValueError(f"allocation lacks column(s) {', '.join(sorted(missing))}; it needs segment, strategy, share")
    cap = parse_limit(capacity_hours, "capacity_hours")
    bud = parse_limit(complaint_budget_per_10k, "complaint_budget_per_10k")
    c = estimates.cells
    x = (
        c[["segment", "strategy"]]
        .merge(allocation[["segment", "strategy", "share"]], how="left", on=["segment", "strategy"])
        .share.fillna(0.0)
        .to_numpy(float)
    )
    cons, __ = _constraints(estimates, cap, bud, level, bound)
    z = float(sps.norm.ppf(level))
    out = {"capacity_hours": True, "complaint_budget_per_10k": True}
    for con in cons:
        if bound == "scenario" and con.name == "complaint_budget_per_10k":  # in every draw of the scenario approach
            n = c.population.to_numpy(float)
            scale = 1e4 * n / float(c.drop_duplicates("segment").population.sum())
            rows = _draws(estimates, scenario_draws(level, len(c)), np.random.default_rng([0, 2]))["complaints"]
            held = bool(np.all((rows * scale[None, :]) @ (x - con.x0) <= con.bound + _tol(con)))
        else:
            held = _f(con, x, z) <= con.bound + _tol(con)
        out[con.name] = out[con.name] and held
    return out


def _complaint_box(model: dict, level: float, scale: np.ndarray, two_sided: bool = True):
    """The complaint limit over a simultaneous confidence box on the channels' rates per contact.

    Each channel's rate per contact ``lambda_c`` lies within its exact (Garwood) limits at
    ``1 - (1 - level) / k`` for ``k`` channels (Bonferroni), so all lie in the box at once with
    probability at least ``level``. A cell's complaints per account are ``sum_c lambda_c w_ic``,
    linear in the rates, so a limit that holds at each of the box's ``2^k`` vertices holds over the
    whole box, whatever allocation is chosen. With ``two_sided=False`` (a fixed budget: every
    coefficient of the limit is >= 0, so only the rates' upper limits can break it) the box is
    ``[0, upper]`` with one-sided upper limits at ``1 - (1 - level) / k``, and its upper vertex
    alone is yielded. The rates are taken as common to the segments (the segments' factors enter
    through the chance constraint beside the box, see :func:`_constraints`). Yields, per vertex,
    complaints per 10,000 accounts of the population by cell.
    """
    y = model["shape_s"] - _CHANNEL_PRIOR
    e = model["rate_s"]
    k = len(y)
    alpha = (1 - level) / k
    if not two_sided:
        per_cell = (
            (sps.gamma.ppf(1 - alpha, y + 1)[model["strategy"]] / e[model["strategy"]]) @ model["weights"] * scale
        )
        per_cell[model["silent"]] = 0.0
        yield per_cell
        return
    lo = np.where(y > 0, sps.gamma.ppf(alpha / 2, np.maximum(y, 1e-300)), 0.0) / e
    hi = sps.gamma.ppf(1 - alpha / 2, y + 1) / e
    for corner in range(2**k):
        lam = np.where([(corner >> j) & 1 for j in range(k)], hi, lo)
        per_cell = (lam[model["strategy"]] @ model["weights"]) * scale
        per_cell[model["silent"]] = 0.0
        yield per_cell


def _segment_channel_draws(model: dict, draws: int, rng: np.random.Generator) -> np.ndarray:
    """Posterior draws (draws, cells) of complaints per account from the channels' rates and the segments' factors.

    Each (segment, channel) rate per contact is ``lambda_c phi_g`` (the model of
    :func:`_channel_complaint_model` without the cells' own deviations). The channels' rates
    ``lambda_c`` are averages over all segments, so the factors are relative to them: each draw
    of the factors is scaled so that their mean weighted by the segments' expected complaints
    is 1, and the uncertainty of the overall level stays with the channels' rates alone (not
    counted twice). With one segment its factor is exactly 1.
    """
    lam = rng.gamma(model["shape_s"], 1.0 / model["rate_s"], size=(draws, len(model["shape_s"])))
    phi = rng.gamma(model["shape_g"], 1.0 / model["rate_g"], size=(draws, len(model["shape_g"])))
    weight = model["expected_g"]
    if weight.sum() > 0:
        phi = phi * (weight.sum() / (phi @ weight))[:, None]
    out = (lam[:, model["strategy"]] * phi[:, model["segment"]]) @ model["weights"]
    out[:, model["silent"]] = 0.0
    return out


def _segment_channel_moments(model: dict) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (cells) of complaints per account under :func:`_segment_channel_draws`."""
    sample = _segment_channel_draws(model, _MOMENT_DRAWS, np.random.default_rng(20250229))
    k = sample.shape[1]
    return sample.mean(0), np.cov(sample, rowvar=False).reshape(k, k)


def _held_on(key: str, bound: str, by_channel: bool, level: float) -> str:
    """How a limit was held, in words."""
    if key == "hours":
        return (
            _(
                "held at every point of a simultaneous {level:.0%} confidence box on the cells' agent hours per account"
            ).format(level=level)
            if bound == "robust"
            else _("held as a Gaussian chance constraint at {level:.0%}").format(level=level)
        )
    if by_channel:
        return _(
            "held at every point of a simultaneous {level:.0%} confidence box on the channels' complaint "
            "rates per contact, and with probability {level:.0%} when the rates also differ by segment"
        ).format(level=level)
    if bound == "scenario":
        return _("held in every one of the posterior draws of the scenario approach")
    return _("held as a Gaussian chance constraint at {level:.0%}").format(level=level)


def segment_factor_note(model: dict | None, segments, level: float) -> str | None:
    """A note when the segments' complaint factors differ from 1 beyond chance (at ``level``), else None.

    The model's segment factors (:func:`_channel_complaint_model`) say which segments complain more
    or less per contact than the channels' rates; the robust complaint limit allows for them (its
    chance constraint under :func:`_segment_channel_draws`), and the reader learns where calls cost
    the most complaints.
    """
    if model is None or "weights" not in model:
        return None
    names = list(pd.unique(pd.Series(segments)))
    tail = (1 - level) / 2
    lo = sps.gamma.ppf(tail, model["shape_g"]) / model["rate_g"]
    hi = sps.gamma.ppf(1 - tail, model["shape_g"]) / model["rate_g"]
    mean = model["shape_g"] / model["rate_g"]
    off = [
        _("{segment} {factor:.2f} times the average").format(segment=names[g], factor=mean[g])
        for g in range(min(len(names), len(mean)))
        if lo[g] > 1 or hi[g] < 1
    ]
    if not off:
        return None
    return _(
        "complaints per contact differ by segment beyond chance ({segments}); the complaint limit allows for it"
    ).format(segments=i18n.semicolons(off))


def scenario_draws(level: float, cells: int, confidence: float = checks.CONFIDENCE) -> int:
    """Posterior draws a limit must hold in so that it holds with probability ``level`` (Calafiore and Campi 2006).

    ``S >= (2 / eps) (ln(1 / beta) + d)`` with ``eps = 1 - level``, ``beta = 1 - confidence`` and ``d``
    decision variables gives a violation probability of at most ``eps`` with confidence ``1 - beta``.

    >>> scenario_draws(0.9, 30)
    660
    """
    eps, beta = 1 - float(level), 1 - float(confidence)
    return int(math.ceil((2 / eps) * (math.log(1 / beta) + cells)))


def _least(cons: list[_Con], a_eq, k: int) -> np.ndarray:
    """An allocation with the least expected use of the constraints (equal weights of their relative use)."""
    obj = sum(c.mean / max(abs(c.bound), 1.0) for c in cons) if cons else np.zeros(k)
    res = linprog(obj, A_eq=a_eq, b_eq=np.ones(len(a_eq)), bounds=(0, 1), method="highs")
    return np.clip(res.x, 0.0, 1.0)


def _raise_infeasible(cons, c, n, total, z, level, check, a_eq, scen=None, specs=()) -> NoReturn:
    expected = {name: mean for name, __, mean, ___ in specs}  # the estimates' means (a vertex's is not)
    for con in cons:
        res = linprog(con.mean, A_eq=a_eq, b_eq=np.ones(len(a_eq)), bounds=(0, 1), method="highs")
        xm = np.clip(res.x, 0.0, 1.0)
        held = (
            _f(con, xm, z) <= con.bound + 1e-9
            if con.name != "complaint_budget_per_10k" or scen is None
            else bool(np.all(scen[0] @ xm <= scen[1] + 1e-9))
        )
        if not held:
            key = "hours" if con.name == "capacity_hours" else "complaints"
            per = check[key] * (n * (1e4 / total if key == "complaints" else 1.0))
            use = per @ xm
            tail = (1 - level) / 2
            least = float(expected.get(con.name, con.mean) @ xm)
            raise InfeasibleDecision(
                con.name, con.limit_text, least, float(np.quantile(use, tail)), float(np.quantile(use, 1 - tail)), level
            )
    # jointly infeasible: name the complaint budget (the usual culprit) at its least given the other
    con = cons[-1]
    raise InfeasibleDecision(con.name, con.limit_text, float("nan"), float("nan"), float("nan"), level)


def _describe(
    est,
    x,
    choose,
    check,
    cons,
    specs,
    seg,
    n,
    total,
    level,
    current,
    is_base,
    prob_gain,
    moved_for_limits,
    scen,
    detail,
    params,
) -> Decision:
    c = est.cells
    tail = (1 - level) / 2
    alloc = c[["segment", "strategy"]].copy()
    alloc["share"] = np.where(x < 1e-9, 0.0, x)
    alloc["accounts"] = alloc.share * n
    net_c = check["net"]
    # per-segment records
    z = float(sps.norm.ppf(level))
    binding = [
        con.name
        for con in cons
        if _f(con, x, z) > con.bound - 1e-6 * max(1.0, abs(con.bound), float(np.abs(con.mean).sum()))
    ]
    if scen is not None and float(np.max(scen[0] @ x - scen[1])) > -1e-6 * max(1.0, float(np.abs(scen[1]).max())):
        binding.append("complaint_budget_per_10k")
    binds = tuple(sorted(set(binding)))  # capacity_hours sorts before complaint_budget_per_10k
    limit_words = {
        (): "",
        ("capacity_hours",): _("agent-hour"),
        ("complaint_budget_per_10k",): _("complaint"),
        ("capacity_hours", "complaint_budget_per_10k"): _("agent-hour and complaint"),
    }[binds]
    limits_or_set = limit_words or _("set")
    rows = []
    notes = [_("segment {segment} left out: {why}").format(segment=s, why=why) for s, why in est.dropped.items()]
    if params.get("bound") == "robust" and params["complaint_budget_per_10k"].kind != "none":
        note = segment_factor_note(est.complaint_model, c.segment, level)
        if note:
            notes.append(note)
    # the cells' columns as arrays: element access on them is much cheaper than on the frame
    strategies, segments_of = c.strategy.to_numpy(), c.segment.to_numpy()
    net_gain, sd = c.net_gain.to_numpy(), c.sd.to_numpy()
    for _segment, idx in c.groupby(seg, sort=False).groups.items() if detail else ():
        idx = np.asarray(list(idx))
        base_i = idx[is_base[idx]][0]
        alts = [i for i in idx if i != base_i]
        moved_share = float(1.0 - x[base_i])
        moved = moved_share > 1e-6
        main = max(alts, key=lambda i: x[i]) if moved else base_i
        best_alt = max(alts, key=lambda i: (prob_gain[i], net_gain[i])) if alts else None
        wins = np.argmax(net_c[:, idx], axis=1)
        p_best = np.bincount(wins, minlength=len(idx)) / len(net_c)
        gain = net_c[:, idx] @ x[idx]  # the segment's allocation against all on the baseline, per account
        policy = i18n.listing(f"{strategies[i]} {x[i]:.0%}" for i in sorted(idx, key=lambda i: -x[i]) if x[i] >= 0.005)
        rec = {
            "segment": segments_of[idx[0]],
            "accounts": int(round(n[idx[0]])),
            "strategy": strategies[main],
            "share": float(x[main]),
            "policy": policy,
            "mixed": bool((x[idx] >= 0.005).sum() > 1),
            "moved": moved,
            "moved_share": moved_share,
            "gain_per_account": float(gain.mean()),
            "gain_ci_low": float(np.quantile(gain, tail)),
            "gain_ci_high": float(np.quantile(gain, 1 - tail)),
            "prob_gain": float((gain > 0).mean()) if moved else math.nan,
            "prob_best": float(p_best[list(idx).index(main)]),
            "best_alternative": strategies[best_alt] if best_alt is not None else None,
            "alternative_prob_gain": float(prob_gain[best_alt]) if best_alt is not None else math.nan,
            "test_accounts": math.nan,
            "flag": "",
            "reason": "",
        }
        name = strategies[main]
        if moved and prob_gain[main] >= level:
            if moved_share >= 0.995:
                template = _("moves to {name}: it gains with probability {p:.2f} (at least {level:g})")
            elif limit_words:
                template = _(
                    "moves to {name} ({share:.0%} of the segment; the {limits} limit leaves no room for more): "
                    "it gains with probability {p:.2f} (at least {level:g})"
                )
            else:
                template = _(
                    "moves to {name} ({share:.0%} of the segment): it gains with probability {p:.2f} "
                    "(at least {level:g})"
                )
            rec["reason"] = template.format(
                name=name, share=moved_share, limits=limit_words, p=prob_gain[main], level=level
            )
        elif moved:
            rec["reason"] = _(
                "moved to {name} to keep the {limits} limits, although it gains with probability only {p:.2f}"
            ).format(name=name, limits=limits_or_set, p=prob_gain[main])
            rec["flag"] = _("moved for the limits, not for its gain")
        elif best_alt is not None and prob_gain[best_alt] >= level and net_gain[best_alt] > 0:
            rec["reason"] = _(
                "stays: {alternative} would gain (probability {p:.2f}), but the {limits} limit leaves no room for it"
            ).format(alternative=strategies[best_alt], p=prob_gain[best_alt], limits=limits_or_set)
        elif best_alt is not None and net_gain[best_alt] > 0:
            need = _tests_needed(float(net_gain[best_alt]), float(sd[best_alt]), float(sd[base_i]), level)
            rec["test_accounts"] = need
            template = (
                _(
                    "stays: not enough evidence yet ({alternative} gains with probability {p:.2f}, below "
                    "{level:g}); a test of about {need} accounts per arm would settle it"
                )
                if math.isfinite(need)
                else _("stays: not enough evidence yet ({alternative} gains with probability {p:.2f}, below {level:g})")
            )
            rec["reason"] = template.format(
                alternative=strategies[best_alt],
                p=prob_gain[best_alt],
                level=level,
                need=f"{need:,.0f}" if math.isfinite(need) else "",
            )
        elif best_alt is not None:
            rec["reason"] = _("stays: no other strategy is expected to gain here")
        else:
            rec["reason"] = _("stays: the baseline is the only strategy here")
        if moved and rec["prob_best"] < 0.5 and not rec["flag"]:
            top = idx[int(np.argmax(p_best))]
            template = (
                _(
                    "{name} is the best here with probability only {p:.2f} ({top}: {p_top:.2f}, but it needs "
                    "more of the {limits} limit)"
                )
                if limit_words and top != main
                else _("{name} is the best here with probability only {p:.2f}")
            )
            rec["flag"] = template.format(
                name=name, p=rec["prob_best"], top=strategies[top], p_top=p_best.max(), limits=limit_words
            )
        rows.append(rec)
    segments = pd.DataFrame(rows) if detail else pd.DataFrame(columns=_SEGMENT_COLUMNS)  # pyright: ignore[reportArgumentType]  # pandas' Axes annotation rejects a tuple under pyright
    if moved_for_limits:
        notes.append(
            _(
                "the limits could not be kept by well-evidenced moves alone: some segments are moved for "
                "the limits (see the flags)"
            )
        )

    # value and comparisons
    def totals(xx, d):
        return (d["net"] * n) @ xx / total

    v_pol = totals(x, check)
    v_cur = totals(current, check)
    value = {
        "total": float(v_pol.mean() * total),
        "per_account": float(v_pol.mean()),
        "ci_low": float(np.quantile(v_pol, tail)),
        "ci_high": float(np.quantile(v_pol, 1 - tail)),
        "prob_beats_current": float((v_pol > v_cur + 1e-12).mean()),
        "prob_beats_baseline": float((v_pol > 1e-12).mean()),
    }
    comps = [("recommended", x), ("current", current)] if detail else []
    for s in sorted(c.strategy.unique()) if detail else ():
        if (c.strategy == s).sum() == c.segment.nunique():
            comps.append((f"all {s}", (c.strategy == s).to_numpy(float)))
    crow = []
    for name, xx in comps:
        vv = totals(xx, check)
        crow.append(
            {
                "policy": name,
                "value_per_account": float(vv.mean()),
                "total_value": float(vv.mean() * total),
                "agent_hours": float((n * c.hours.to_numpy()) @ xx),
                "complaints_per_10k": float(1e4 * (n * c.complaints.to_numpy()) @ xx / total),
                "prob_recommended_better": math.nan if name == "recommended" else float((v_pol > vv + 1e-12).mean()),
            }
        )
    comparisons = pd.DataFrame(crow) if detail else pd.DataFrame(columns=_COMPARISON_COLUMNS)  # pyright: ignore[reportArgumentType]  # pandas' Axes annotation rejects a tuple under pyright
    # limits: each one's probability of holding under the model it was held on, and under the full model
    bound = params["bound"]
    model = est.complaint_model
    by_channel = bound == "robust" and model is not None and "weights" in model
    held_draws = None
    if by_channel and model is not None:  # (by_channel implies a model; said for the type checker)
        key = ("segment-channel rates", len(check["complaints"]), int(params["seed"]))
        if key not in est._draws_memo:  # the same draws for every decision on these estimates
            made = _segment_channel_draws(model, key[1], np.random.default_rng([key[2], 3]))
            made.setflags(write=False)
            est._draws_memo[key] = made
        held_draws = est._draws_memo[key]
    lrows = []
    for name, lim, mean, __ in specs:
        key = "hours" if name == "capacity_hours" else "complaints"
        scale = n * (1e4 / total if key == "complaints" else 1.0)
        basis_draws = held_draws if key == "complaints" and held_draws is not None else check[key]
        if basis_draws is not check[key]:  # the figures of the model the limit was held on
            mean = basis_draws.mean(0) * scale
        use = (basis_draws * scale) @ x
        row = {
            "limit": name,
            "setting": lim.describe(N_("agent hours") if key == "hours" else N_("complaints per 10,000 accounts")),
            "expected": float(mean @ x),
            "ci_low": float(np.quantile(use, tail)),
            "ci_high": float(np.quantile(use, 1 - tail)),
            "held_on": _held_on(key, bound, by_channel, level),
        }

        def holds(draws):
            use_ = (draws * scale) @ x  # noqa: B023 (called within this iteration)
            limit = (draws * scale) @ current if lim.kind == "current" else float(lim.value)  # noqa: B023 (called within this iteration)
            return float((use_ <= limit + 1e-9).mean())

        if lim.kind == "none":
            row.update(
                bound=math.inf,
                current=float(mean @ current),
                prob_holds=1.0,
                prob_holds_full=1.0,
                held_on=_("no limit"),
            )
        else:
            row.update(
                bound=float(mean @ current) if lim.kind == "current" else float(lim.value),
                current=float(mean @ current),
            )
            full = holds(check[key])
            basis = holds(basis_draws)
            row.update(prob_holds=basis, prob_holds_full=full)
            if key == "complaints" and full < level <= basis:
                notes.append(
                    _(
                        "the complaint limit is held over the channels' complaint rates per contact and the "
                        "segments' factors; if rates per contact also differ by strategy within a segment as "
                        "far as this data allows, it holds with probability {p:.2f}: to hold it under that "
                        "model too, plan with a lower budget or hold it in every posterior draw (the scenario "
                        "bound)"
                    ).format(p=full)
                )
        lrows.append(row)
    limits = pd.DataFrame(
        lrows,
        columns=[  # pyright: ignore[reportArgumentType]  # pandas' Axes annotation rejects a list under pyright
            "limit",
            "setting",
            "bound",
            "current",
            "expected",
            "ci_low",
            "ci_high",
            "prob_holds",
            "prob_holds_full",
            "held_on",
        ],
    )
    return Decision(alloc, segments, value, limits, comparisons, est, params, notes)


# --------------------------------------------------------------------------
# Words and tables
# --------------------------------------------------------------------------
def limits_sentence(decision: Decision) -> str:
    """The limits in force, in words (printed beside every result)."""
    p = decision.params
    parts = []
    for __, r in decision.limits.iterrows():
        what = _("agent hours") if r.limit == "capacity_hours" else _("complaints per 10,000 accounts")
        if p[r.limit].kind == "none":
            parts.append(_("{what}: unlimited").format(what=what))
        elif p[r.limit].kind == "current":
            parts.append(
                _("{what}: no more than the current allocation ({bound})").format(what=what, bound=f"{r.bound:,.2f}")
            )
        else:
            parts.append(_("{what}: at most {bound}").format(what=what, bound=f"{r.bound:,.2f}"))
    basis = (
        _("losses avoided by the long horizon")
        if p.get("horizon") == "long"
        else _("cash collected within the horizon")
    )
    return _(
        "Limits: {limits}; each held with probability at least {level:g}, and a segment "
        "moves only when the move off {baseline} gains with probability at least {level:g} "
        "(gains judged on {basis})."
    ).format(limits=i18n.semicolons(parts), level=p["level"], baseline=p["baseline"], basis=basis)


def decision_table(decision: Decision, *, currency: str = "") -> str:
    """Plain-text report of a decision (what ``python -m analysis recommend`` prints)."""
    cur = f" {currency}" if currency else ""
    lvl = decision.params["level"]
    lines = [limits_sentence(decision), ""]
    head = (
        f"{'segment':<12} {'accounts':>9} {'strategy':<16} {'share':>6} {'gain/acct':>10} "
        f"{f'{lvl:.0%} interval':>21} {'P(gain)':>8} {'P(best)':>8}"
    )
    lines.append(head)
    for __, r in decision.segments.iterrows():
        ci = f"[{r.gain_ci_low:,.1f}, {r.gain_ci_high:,.1f}]"
        pg = f"{r.prob_gain:.2f}" if math.isfinite(r.prob_gain) else "-"
        lines.append(
            f"{str(r.segment)[:12]:<12} {r.accounts:>9,d} {str(r.strategy) + ('*' if r.mixed else ''):<16} "
            f"{r.share:>6.0%} {r.gain_per_account:>10,.2f} {ci:>21} {pg:>8} {r.prob_best:>8.2f}"
        )
    lines.append(
        _(
            "(gain per account of the segment's allocation after contact and complaint costs, against all on "
            "the baseline; * split between strategies)"
        )
    )
    for __, r in decision.segments.iterrows():
        said = _("{segment}: {policy}; {reason}").format(segment=r.segment, policy=r.policy, reason=r.reason)
        lines.append("  " + said + (f" [{r.flag}]" if r.flag else ""))
    v = decision.value
    lines += [
        "",
        _(
            "expected gain{cur}: {total} in total, {per_account} per account "
            "({level:.0%} interval {low} to {high}); beats the current allocation "
            "with probability {p_current:.2f}, all {baseline} with probability {p_baseline:.2f}"
        ).format(
            cur=cur,
            total=f"{v['total']:,.0f}",
            per_account=f"{v['per_account']:,.2f}",
            level=lvl,
            low=f"{v['ci_low']:,.2f}",
            high=f"{v['ci_high']:,.2f}",
            p_current=v["prob_beats_current"],
            baseline=decision.params["baseline"],
            p_baseline=v["prob_beats_baseline"],
        ),
    ]
    for __, r in decision.limits.iterrows():
        template = (
            _(
                "{limit}: {setting}; expected {expected} ({level:.0%} interval {low} to {high}), holds with "
                "probability {p:.2f} ({p_full:.2f} if rates also differ by strategy within a segment); {held_on}"
            )
            if abs(r.prob_holds_full - r.prob_holds) >= 0.005
            else _(
                "{limit}: {setting}; expected {expected} ({level:.0%} interval {low} to {high}), holds with "
                "probability {p:.2f}; {held_on}"
            )
        )
        said = template.format(
            limit=r.limit,
            setting=r.setting,
            expected=f"{r.expected:,.2f}",
            level=lvl,
            low=f"{r.ci_low:,.2f}",
            high=f"{r.ci_high:,.2f}",
            p=r.prob_holds,
            p_full=r.prob_holds_full,
            held_on=r.held_on,
        )
        lines.append("  " + said)
    for note in decision.notes:
        lines.append(_("note: {note}").format(note=note))
    lines.append("")
    comp = decision.comparisons.copy()
    lines.append(comp.to_string(index=False, na_rep="-", float_format=lambda x: f"{x:,.2f}"))
    return "\n".join(lines)


def current_use(est: CellEstimates) -> dict:
    """Expected agent hours and complaints per 10,000 accounts of the current allocation."""
    c = est.cells
    n, total = c.population.to_numpy(float), float(c.drop_duplicates("segment").population.sum())
    x = c.current_share.to_numpy(float)
    return {
        "agent_hours": float((n * c.hours.to_numpy()) @ x),
        "complaints_per_10k": float(1e4 * (n * c.complaints.to_numpy()) @ x / total),
    }


def what_if(est: CellEstimates, scenario, cases: Mapping[str, tuple[Any, Any]], **options) -> pd.DataFrame:
    """:func:`decide` again for several limits, from the same estimates (no new query).

    Args:
        est: the estimates (:func:`estimate`).
        scenario: the scenario.
        cases: name -> ``(capacity_hours, complaint_budget_per_10k)``, each a
            number, ``"current"`` or ``"unlimited"``.
        options: passed to :func:`decide` (``baseline``, ``level``, ``seed``, ...).

    Returns:
        One row per case: ``case``, ``capacity_hours``, ``complaint_budget_per_10k``
        (in words), ``status`` (``decided`` or ``infeasible``),
        ``value_per_account`` with ``ci_low``/``ci_high``, ``agent_hours``,
        ``complaints_per_10k`` (expected), ``segments_moved`` and ``note``
        (the reason when infeasible).
    """
    rows = []
    for name, (cap, bud) in cases.items():
        c_lim, b_lim = parse_limit(cap, "capacity_hours"), parse_limit(bud, "complaint_budget_per_10k")
        row = {
            "case": name,
            "capacity_hours": c_lim.describe(N_("agent hours")),
            "complaint_budget_per_10k": b_lim.describe(N_("complaints per 10,000 accounts")),
        }
        try:
            d = decide(est, scenario, capacity_hours=c_lim, complaint_budget_per_10k=b_lim, **options)
        except InfeasibleDecision as err:
            rows.append({**row, "status": "infeasible", "note": err.describe()})
            continue
        lim = d.limits.set_index("limit")
        rows.append(
            {
                **row,
                "status": "decided",
                "value_per_account": d.value["per_account"],
                "ci_low": d.value["ci_low"],
                "ci_high": d.value["ci_high"],
                "agent_hours": float(lim.loc["capacity_hours", "expected"]),
                "complaints_per_10k": float(lim.loc["complaint_budget_per_10k", "expected"]),
                "segments_moved": int(d.segments.moved.sum()),
                "note": "",
            }
        )
    return pd.DataFrame(rows)


def frontier(est: CellEstimates, scenario, *, over: str, points, **options) -> pd.DataFrame:
    """The decision's expected value as one limit is swept (the other as given in ``options``).

    Args:
        est: the estimates.
        scenario: the scenario.
        over: ``"complaint_budget"`` or ``"capacity"``.
        points: the limits to try (complaints per 10,000 accounts, or agent hours).
        options: passed to :func:`decide` (the other limit, ``level``, ...).

    Returns:
        One row per limit: ``limit``, ``status`` (``optimal`` or
        ``infeasible``), ``value_per_account`` with ``ci_low``/``ci_high``,
        ``agent_hours``, ``complaints_per_10k``, ``prob_holds`` (of the swept limit).
    """
    if over not in ("complaint_budget", "capacity"):
        raise ValueError(f"over must be complaint_budget or capacity, got {over!r}")
    key = "complaint_budget_per_10k" if over == "complaint_budget" else "capacity_hours"
    rows = []
    for v in points:
        try:
            d = decide(est, scenario, **{**options, key: float(v), "detail": False})
        except InfeasibleDecision:
            rows.append({"limit": float(v), "status": "infeasible"})
            continue
        lim = d.limits.set_index("limit")
        rows.append(
            {
                "limit": float(v),
                "status": "optimal",
                "value_per_account": d.value["per_account"],
                "ci_low": d.value["ci_low"],
                "ci_high": d.value["ci_high"],
                "agent_hours": float(lim.loc["capacity_hours", "expected"]),
                "complaints_per_10k": float(lim.loc["complaint_budget_per_10k", "expected"]),
                "prob_holds": float(lim.loc[key, "prob_holds"]),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[  # pyright: ignore[reportArgumentType]  # pandas' Axes annotation rejects a list under pyright
            "limit",
            "status",
            "value_per_account",
            "ci_low",
            "ci_high",
            "agent_hours",
            "complaints_per_10k",
            "prob_holds",
        ],
    )


def to_json(decision: Decision) -> dict:
    """The decision as plain JSON-ready values (what ``recommend --format json`` prints).

    Fields: ``level``, ``baseline``, ``capacity_hours``,
    ``complaint_budget_per_10k``, ``draws``, ``seed``, ``horizon``,
    ``bound``, ``limits_sentence``, ``limits`` (one
    record per limit), ``value``, ``segments`` (one record per segment),
    ``allocation``, ``comparisons``, ``pooling``, ``notes``.
    """
    p = decision.params

    def limit(lim: Limit):
        return lim.value if lim.kind == "value" else ("unlimited" if lim.kind == "none" else "current")

    return {
        "level": p["level"],
        "baseline": p["baseline"],
        "capacity_hours": limit(p["capacity_hours"]),
        "complaint_budget_per_10k": limit(p["complaint_budget_per_10k"]),
        "draws": p["draws"],
        "seed": p["seed"],
        "horizon": p.get("horizon", "short"),
        "bound": p.get("bound", "robust"),
        "limits_sentence": limits_sentence(decision),
        "limits": decision.limits.to_dict(orient="records"),
        "value": dict(decision.value),
        "segments": decision.segments.to_dict(orient="records"),
        "allocation": decision.allocation.to_dict(orient="records"),
        "comparisons": decision.comparisons.to_dict(orient="records"),
        "pooling": decision.estimates.pooling.to_dict(orient="records"),
        "notes": list(decision.notes),
    }


# --------------------------------------------------------------------------
# Scoring against the truth (synthetic data)
# --------------------------------------------------------------------------
def truth_cells(
    truth: Mapping, scenario, *, unit_costs: UnitCosts | None = None, baseline: str = checks.BASELINE
) -> pd.DataFrame:
    """True per-account net value (against the baseline), agent hours and complaints per (segment, strategy).

    Uses the same coefficients as the estimates (:func:`analysis.decide.economics.assumptions`),
    applied to ``truth.json``'s expected usage, so truth and estimate speak of one net value.

    Returns:
        ``segment``, ``strategy``, ``net_gain`` (per account, against the
        baseline), ``hours`` and ``complaints`` per account.
    """
    a = economics.assumptions(scenario, unit_costs)
    coef = economics._coef(a, "assumed")["net_value"]
    hw = economics._agent_hours_coef(a)
    rows = []
    for seg in truth["segments"]:
        for s, rec in seg["strategies"].items():
            vec = economics._truth_measures(rec)
            # complaints: the expected number (each contact's complaint probability summed), when the truth
            # holds it, rather than the count its own simulation happened to draw
            expected = rec.get("expected_complaints_by_channel")
            rows.append(
                {
                    "segment": seg["segment"],
                    "strategy": s,
                    "net": float(vec @ coef),
                    "hours": float(vec @ hw),
                    "complaints": float(sum(expected.values())) if expected else rec["complaints_per_account"],
                }
            )
    df = pd.DataFrame(rows)
    base = df[df.strategy == baseline].set_index("segment").net
    df["net_gain"] = df.net - base.reindex(df.segment).to_numpy()
    return df[["segment", "strategy", "net_gain", "hours", "complaints"]]  # pyright: ignore[reportReturnType]  # pandas: selecting a list of columns gives a DataFrame


def evaluate_truth(allocation: pd.DataFrame, truth_frame: pd.DataFrame, population: Mapping[str, float]) -> dict:
    """True value per account, agent hours and complaints per 10,000 accounts of an allocation.

    Args:
        allocation: ``segment``, ``strategy``, ``share``.
        truth_frame: from :func:`truth_cells`.
        population: accounts per segment the allocation applies to.
    """
    t = truth_frame.merge(allocation[["segment", "strategy", "share"]], on=["segment", "strategy"], how="inner")
    n = t.segment.map(population).astype(float)
    total = float(sum(population[s] for s in t.segment.unique()))
    acc = n * t.share
    return {
        "value_per_account": float((acc * t.net_gain).sum() / total),
        "agent_hours": float((acc * t.hours).sum()),
        "complaints_per_10k": float(1e4 * (acc * t.complaints).sum() / total),
    }
