"""Power, sample size and minimum detectable effects for two-group designs.

Two outcomes are covered: a proportion per account (cure, payment, right-party
contact) compared between two groups, and a Poisson rate (complaints per
contact or per account) compared by its ratio, optionally against a
non-inferiority margin.

Conventions:

* Group 1 has ``n1`` accounts and group 2 has ``n2 = ratio * n1``; sample
  sizes are rounded up, ``n2 = ceil(ratio * n1)``, and the ``power`` of the
  returned :class:`SampleSize` is the power of those rounded sizes.
* ``alpha`` is the significance level of the test as performed: two-sided
  tests use ``alpha/2`` in each tail, one-sided tests ``alpha`` in one
  (e.g. ``alpha=0.025`` for the usual one-sided non-inferiority test).
* Two-sided power counts rejections in the direction of the true effect only,
  as R's ``power.prop.test`` (``strict = FALSE``); the opposite tail adds at
  most ``alpha/2`` and is negligible whenever the power is of interest.
* ``alternative="larger"`` means H1: group 1 > group 2 (``p1 > p2``,
  ``rate1/rate2 > null``); ``"smaller"`` the reverse; ``"greater"``/``"less"``
  are aliases.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import optimize, stats

from analysis import checks
from analysis.stats._result import SampleSize

__all__ = [
    "sample_size_proportions",
    "power_proportions",
    "mde_proportions",
    "sample_size_rates",
    "power_rates",
    "mde_rates",
    "lift_designs",
    "power_curve_proportions",
    "detectable_lift",
    "noninferiority_designs",
]

RATE_METHODS = ("score", "wald")


def _prob(name: str, value) -> float:
    value = checks.number(value, name)
    if not 0 < value < 1:
        raise ValueError(f"{name} must be a proportion strictly between 0 and 1, got {value!r}")
    return value


def _z(alpha: float, alternative: str) -> float:
    return float(stats.norm.isf(alpha / 2 if alternative == "two-sided" else alpha))


def _solve_n(power_of_n, target: float, what: str) -> float:
    """Smallest continuous n1 with power_of_n(n1) = target (power increases in n1)."""
    hi = 1.0
    while power_of_n(hi) < target:
        hi *= 2
        if hi > 1e13:
            raise ValueError(f"no sample size reaches power {target}: {what}")
    lo = hi / 2 if hi > 1 else 1e-9
    if power_of_n(lo) >= target:
        return lo
    return optimize.brentq(lambda n: power_of_n(n) - target, lo, hi, xtol=1e-10, rtol=1e-14)  # pyright: ignore[reportArgumentType, reportReturnType]  # scipy's brentq is unannotated: rtol inferred as float64, the result as root-or-tuple


def _sizes(n1: float, ratio: float) -> tuple[int, int]:
    n1 = math.ceil(n1 - 1e-9)  # guard against 77.0000000001
    return n1, math.ceil(ratio * n1 - 1e-9)


# --------------------------------------------------------------- proportions


def _prop_power(p1: float, p2: float, n1: float, alpha: float, ratio: float, alternative: str) -> float:
    effect = {"larger": p1 - p2, "smaller": p2 - p1}.get(alternative, abs(p1 - p2))
    pbar = (p1 + ratio * p2) / (1 + ratio)
    s0 = math.sqrt(pbar * (1 - pbar) * (1 + 1 / ratio))
    s1 = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2) / ratio)
    return float(stats.norm.cdf((effect * math.sqrt(n1) - _z(alpha, alternative) * s0) / s1))


def _prop_args(p1, p2, alpha, ratio, alternative):
    return (
        _prob("p1", p1),
        _prob("p2", p2),
        checks.level(alpha, "alpha"),
        checks.positive(ratio, "ratio"),
        checks.alternative(alternative),
    )


def power_proportions(p1, p2, n1, *, alpha: float = 0.05, ratio: float = 1.0, alternative: str = "two-sided") -> float:
    """Power of the two-sample z test of proportions (no continuity correction).

    Normal approximation with the pooled variance under H0 and the unpooled
    variance under H1 (Fleiss, Levin & Paik 2003, sec. 4.2, without
    continuity correction), generalised to ``n2 = ratio * n1``::

        power = Phi((|p1 - p2| sqrt(n1) - z sqrt(pbar qbar (1 + 1/ratio)))
                    / sqrt(p1 q1 + p2 q2 / ratio)),
        pbar = (p1 + ratio p2) / (1 + ratio).

    For ``ratio=1`` this is exactly R's ``power.prop.test``
    (``power.prop.test(n = 50, p1 = .5, p2 = .75)`` gives 0.7401659).

    Args:
        p1, p2: proportions in groups 1 and 2, in (0, 1).
        n1: accounts in group 1 (positive; need not be whole).
        alpha: significance level.
        ratio: n2 / n1.
        alternative: ``"two-sided"``, ``"larger"`` (H1: p1 > p2) or
            ``"smaller"`` (H1: p1 < p2).

    Returns:
        The power, a float in (0, 1).

    Raises:
        TypeError, ValueError: bad arguments (named in the message).
    """
    p1, p2, alpha, ratio, alternative = _prop_args(p1, p2, alpha, ratio, alternative)
    return _prop_power(p1, p2, checks.positive(n1, "n1"), alpha, ratio, alternative)


def sample_size_proportions(
    p1, p2, *, power: float = 0.8, alpha: float = 0.05, ratio: float = 1.0, alternative: str = "two-sided"
) -> SampleSize:
    """Accounts per group to detect p1 vs p2 with the two-sample z test.

    Closed form of :func:`power_proportions` solved for n1 (Fleiss, Levin &
    Paik 2003, eq. 4.14 without continuity correction, for unequal
    allocation)::

        n1 = (z_a sqrt(pbar qbar (1 + 1/ratio)) + z_b sqrt(p1 q1 + p2 q2 / ratio))^2
             / (p1 - p2)^2

    For ``ratio=1`` this is the equation R's ``power.prop.test`` solves:
    ``power.prop.test(p1 = .5, p2 = .75, power = .9)`` gives n = 76.70693,
    so n1 = n2 = 77 here.

    Args:
        p1, p2: proportions in groups 1 and 2, in (0, 1), different.
        power: target power in (0, 1).
        alpha: significance level.
        ratio: n2 / n1.
        alternative: ``"two-sided"``, ``"larger"`` (H1: p1 > p2) or
            ``"smaller"`` (H1: p1 < p2).

    Returns:
        SampleSize(n1, n2 = ceil(ratio * n1), achieved power, alpha, method).

    Raises:
        TypeError, ValueError: bad arguments, equal proportions, or a
            one-sided alternative pointing away from the effect.
    """
    p1, p2, alpha, ratio, alternative = _prop_args(p1, p2, alpha, ratio, alternative)
    power = checks.level(power, "power")
    effect = {"larger": p1 - p2, "smaller": p2 - p1}.get(alternative, abs(p1 - p2))
    if effect <= 0:
        raise ValueError(f"p1={p1} and p2={p2} do not lie in the alternative {alternative!r}")
    pbar = (p1 + ratio * p2) / (1 + ratio)
    s0 = math.sqrt(pbar * (1 - pbar) * (1 + 1 / ratio))
    s1 = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2) / ratio)
    n1 = ((_z(alpha, alternative) * s0 + stats.norm.isf(1 - power) * s1) / effect) ** 2
    n1, n2 = _sizes(n1, ratio)  # pyright: ignore[reportArgumentType]  # scipy types norm.isf of a float as an array; it is a scalar
    achieved = _prop_power(p1, p2, n1, alpha, n2 / n1, alternative)
    return SampleSize(n1, n2, achieved, alpha, method="fleiss-levin-paik-2003")


def mde_proportions(
    p1, n1, *, power: float = 0.8, alpha: float = 0.05, ratio: float = 1.0, alternative: str = "two-sided"
) -> float:
    """Minimum detectable difference ``delta > 0`` for a baseline p1.

    The smallest delta with ``power_proportions(p1, p1 + delta, n1) = power``
    (``p2 = p1 - delta`` when ``alternative="larger"``, H1: p1 > p2), found by
    root finding. R's ``power.prop.test(n = 50, p1 = .5, power = .9)`` gives
    p2 = 0.8026141, i.e. delta = 0.3026141.

    Args:
        p1: baseline proportion in group 1, in (0, 1).
        n1: accounts in group 1.
        power: target power.
        alpha: significance level.
        ratio: n2 / n1.
        alternative: as in :func:`power_proportions`.

    Returns:
        delta, a positive float.

    Raises:
        TypeError, ValueError: bad arguments, or no p2 in (0, 1) reaches the
            power with these sizes.
    """
    p1 = _prob("p1", p1)
    n1, power = checks.positive(n1, "n1"), checks.level(power, "power")
    alpha, ratio = checks.level(alpha, "alpha"), checks.positive(ratio, "ratio")
    alternative = checks.alternative(alternative)
    sign = -1.0 if alternative == "larger" else 1.0
    room = p1 if sign < 0 else 1 - p1
    f = lambda d: _prop_power(p1, p1 + sign * d, n1, alpha, ratio, alternative) - power
    edge = room * (1 - 1e-12)
    if f(edge) < 0:
        raise ValueError(f"n1={n1} is too small: no p2 reaches power {power} from p1={p1}")
    return float(optimize.brentq(f, 1e-12 * room, edge, xtol=1e-13, rtol=1e-14))  # pyright: ignore[reportArgumentType]  # scipy's brentq is unannotated: rtol inferred as float64, the result as root-or-tuple


# --------------------------------------------------------------------- rates


def _rate_power(rate1, rate2, n1, t, ratio, null, alpha, alternative, method):
    mu1, mu2 = rate1 * t * n1, rate2 * t * n1 * ratio  # expected events
    z = _z(alpha, alternative)
    if method == "wald":  # log rate ratio, se at H1
        shift = (math.log(rate1 / rate2) - math.log(null)) / math.sqrt(1 / mu1 + 1 / mu2)
        stat_mean, sd_null, sd_alt = shift, 1.0, 1.0
    else:  # Gu et al. (2008) W2
        c = null / ratio  # null * T1 / T2
        stat_mean = mu1 - c * mu2
        sd_null, sd_alt = math.sqrt(c * (mu1 + mu2)), math.sqrt(mu1 + c * c * mu2)
    signed = {"larger": stat_mean, "smaller": -stat_mean}.get(alternative, abs(stat_mean))
    return float(stats.norm.cdf((signed - z * sd_null) / sd_alt))


def _rate_args(rate1, rate2, exposure_per_unit, alpha, ratio, margin, alternative, method):
    rate1, rate2 = checks.positive(rate1, "rate1"), checks.positive(rate2, "rate2")
    t = checks.positive(exposure_per_unit, "exposure_per_unit")
    alpha, ratio = checks.level(alpha, "alpha"), checks.positive(ratio, "ratio")
    alternative = checks.alternative(alternative)
    method = checks.choice(method, RATE_METHODS, "method")
    null = 1.0 if margin is None else checks.positive(margin, "margin")
    if margin is not None and alternative == "two-sided":
        alternative = "smaller"
    return rate1, rate2, t, alpha, ratio, null, alternative, method


def power_rates(
    rate1,
    rate2,
    n1,
    *,
    exposure_per_unit: float = 1.0,
    alpha: float = 0.05,
    ratio: float = 1.0,
    margin=None,
    alternative: str = "two-sided",
    method: str = "score",
) -> float:
    """Power of a test of the ratio of two Poisson rates.

    Each account contributes ``exposure_per_unit`` (e.g. contacts per
    account), so group g has Poisson(rate_g * exposure_per_unit * n_g) events.
    The null ratio is ``margin`` (non-inferiority: H0 rate1/rate2 >= margin,
    H1 rate1/rate2 < margin, one-sided at ``alpha``) or 1 without a margin.
    With a margin, ``alternative="two-sided"`` (the default) is read as
    ``"smaller"``; pass ``"larger"`` for superiority by a margin.

    Methods (both normal approximations):

    * ``"score"`` -- power of the score test W2 of Gu, Ng, Tang & Schucany
      (2008) that :func:`analysis.stats.rates.compare_rates` performs by
      default: ``x1 - c x2`` (``c = margin * n1 / n2``) has mean
      ``mu1 - c mu2`` and variance ``mu1 + c^2 mu2`` under H1, and is
      compared with ``z sqrt(c (mu1 + mu2))`` (its null standard error at
      the expected counts).
    * ``"wald"`` -- the Wald test of the log ratio with the variance at the
      rates under H1, ``1/mu1 + 1/mu2`` (Zhu & Lakkis 2014, Stat Med
      33:376-387, Poisson case, variance method 1; Zhu 2017; the method of
      PASS "Non-Inferiority Tests for the Ratio of Two Poisson Rates").

    Args:
        rate1, rate2: events per unit of exposure in groups 1 and 2 under H1.
        n1: accounts in group 1 (n2 = ratio * n1).
        exposure_per_unit: exposure per account.
        alpha: significance level (one-sided for one-sided tests).
        ratio: n2 / n1.
        margin: null value of rate1 / rate2, or None for 1.
        alternative: ``"two-sided"``, ``"larger"`` or ``"smaller"``.
        method: ``"score"`` or ``"wald"``.

    Returns:
        The power, a float.

    Raises:
        TypeError, ValueError: bad arguments (named in the message).
    """
    args = _rate_args(rate1, rate2, exposure_per_unit, alpha, ratio, margin, alternative, method)
    rate1, rate2, t, alpha, ratio, null, alternative, method = args
    n1 = checks.positive(n1, "n1")
    return _rate_power(rate1, rate2, n1, t, ratio, null, alpha, alternative, method)


def sample_size_rates(
    rate1,
    rate2,
    *,
    exposure_per_unit: float = 1.0,
    power: float = 0.8,
    alpha: float = 0.05,
    ratio: float = 1.0,
    margin=None,
    alternative: str = "two-sided",
    method: str = "score",
) -> SampleSize:
    """Accounts per group to compare two Poisson rates by their ratio.

    Solves :func:`power_rates` for n1 by root finding and rounds up (see that
    function for the hypotheses, the margin and the two methods). With
    ``method="wald"`` it reproduces PASS's non-inferiority examples (e.g.
    rate1 1.8, rate2 2.2, 2.5 units of exposure each, margin 1.2, one-sided
    alpha 0.025, power 0.9: n1 = n2 = 29, power 0.90056).

    Args:
        rate1, rate2: events per unit of exposure in groups 1 and 2 under H1.
        exposure_per_unit: exposure per account (e.g. contacts per account).
        power: target power.
        alpha: significance level (one-sided for one-sided tests).
        ratio: n2 / n1.
        margin: null value of rate1 / rate2 (non-inferiority margin), or None.
        alternative: ``"two-sided"``, ``"larger"`` or ``"smaller"``.
        method: ``"score"`` or ``"wald"``.

    Returns:
        SampleSize(n1, n2 = ceil(ratio * n1), achieved power, alpha, method).

    Raises:
        TypeError, ValueError: bad arguments, or rate1/rate2 not inside the
            alternative (e.g. equal rates without a margin).
    """
    args = _rate_args(rate1, rate2, exposure_per_unit, alpha, ratio, margin, alternative, method)
    rate1, rate2, t, alpha, ratio, null, alternative, method = args
    power = checks.level(power, "power")
    r = rate1 / rate2
    inside = {"larger": r > null, "smaller": r < null}.get(alternative, r != null)
    if not inside:
        raise ValueError(
            f"rate1/rate2 = {r:.6g} does not lie in the alternative {alternative!r} of the null ratio {null:.6g}"
        )
    f = lambda n: _rate_power(rate1, rate2, n, t, ratio, null, alpha, alternative, method)
    n1, n2 = _sizes(_solve_n(f, power, f"rate1={rate1}, rate2={rate2}"), ratio)
    achieved = _rate_power(rate1, rate2, n1, t, n2 / n1, null, alpha, alternative, method)
    name = "gu-2008-score" if method == "score" else "zhu-lakkis-2014-wald"
    return SampleSize(n1, n2, achieved, alpha, method=name)


def mde_rates(
    rate2,
    n1,
    *,
    exposure_per_unit: float = 1.0,
    power: float = 0.8,
    alpha: float = 0.05,
    ratio: float = 1.0,
    margin=None,
    alternative: str = "two-sided",
    method: str = "score",
) -> float:
    """Minimum detectable rate ratio rate1/rate2 for a reference rate2.

    The ratio closest to the null (1, or ``margin``) on the side of the
    alternative -- above it for ``"two-sided"`` and ``"larger"``, below it
    for ``"smaller"`` (the default with a margin) -- at which
    :func:`power_rates` reaches ``power``. Found by a log-scale grid walk
    outwards from the null and root finding in the first bracket.

    Args:
        rate2: reference rate (events per unit of exposure) in group 2.
        n1: accounts in group 1 (n2 = ratio * n1).
        exposure_per_unit, power, alpha, ratio, margin, alternative, method:
            as in :func:`sample_size_rates`.

    Returns:
        The detectable ratio rate1 / rate2.

    Raises:
        TypeError, ValueError: bad arguments, or no ratio within a factor
            1e8 of the null reaches the power.
    """
    args = _rate_args(1.0, rate2, exposure_per_unit, alpha, ratio, margin, alternative, method)
    _, rate2, t, alpha, ratio, null, alternative, method = args
    n1, power = checks.positive(n1, "n1"), checks.level(power, "power")
    sign = -1.0 if alternative == "smaller" else 1.0
    f = lambda lr: (
        _rate_power(null * math.exp(lr) * rate2, rate2, n1, t, ratio, null, alpha, alternative, method) - power
    )
    grid = sign * np.linspace(0.0, math.log(1e8), 1601)
    hit = next((i for i, g in enumerate(grid) if f(g) >= 0), None)
    if hit is None:
        raise ValueError(f"n1={n1} is too small: no rate ratio reaches power {power}")
    if hit == 0:
        raise ValueError(f"power={power} is already reached at the null ratio (alpha={alpha})")
    lr = optimize.brentq(f, grid[hit - 1], grid[hit], xtol=1e-14, rtol=1e-14)  # pyright: ignore[reportArgumentType]  # scipy's brentq is unannotated: rtol inferred as float64, the result as root-or-tuple
    return float(null * math.exp(lr))  # pyright: ignore[reportArgumentType]  # scipy's brentq is unannotated: rtol inferred as float64, the result as root-or-tuple


# ------------------------------------------------------ designs from observed rates
# The notebooks plan the next test from the rates observed in the data. The data may
# sit at an edge (nobody paid, everybody paid, no complaints): a design that cannot be
# computed from them is a row with a ``note`` saying why, never an error.


def _proportion_note(p0: float, lift: float) -> str | None:
    """Why a lift over an observed baseline proportion cannot be planned, or None."""
    if p0 <= 0:
        return "not computable: no baseline account paid (0.0%), so there is no baseline rate to plan the test from"
    if p0 >= 1:
        return "not computable: every baseline account paid (100.0%), so no lift is possible"
    if p0 + lift >= 1:
        return (
            f"not computable: a lift of {100 * lift:.1f} percentage points from a baseline of "
            f"{100 * p0:.1f}% reaches 100%"
        )
    return None


def lift_designs(p0: float, lifts, shares, *, power: float = 0.8, alpha: float = 0.05) -> pd.DataFrame:
    """Accounts the next test needs to detect each lift over the baseline proportion ``p0``.

    One :func:`sample_size_proportions` per lift and challenger share
    (challenger = group 1 with ``p0 + lift``, champion = group 2 with ``p0``,
    ``ratio = (1 - share) / share``). Lifts that cannot be planned from
    ``p0`` -- a baseline of 0 or 1, or ``p0 + lift`` reaching 1 -- get
    missing sizes and a ``note`` saying why.

    Args:
        p0: the observed baseline proportion, in [0, 1].
        lifts: absolute lifts to detect (each > 0).
        shares: the challenger's shares of the test's accounts (each in (0, 1)).
        power: target power.
        alpha: two-sided significance level.

    Returns:
        One row per lift and share: ``lift``, ``challenger_share``,
        ``challenger``, ``champion``, ``total`` (nullable integers),
        ``power`` (achieved) and ``note`` (None when computed).

    Raises:
        ValueError: ``p0`` outside [0, 1], a lift <= 0 or a share outside (0, 1).
    """
    p0 = checks.number(p0, "p0")
    if not 0 <= p0 <= 1:
        raise ValueError(f"p0 must be a proportion in [0, 1], got {p0!r}")
    rows = []
    for d in lifts:
        d = checks.positive(d, "lift")
        for s in shares:
            s = checks.level(s, "challenger share")
            note = _proportion_note(p0, d)
            row = {
                "lift": d,
                "challenger_share": s,
                "challenger": None,
                "champion": None,
                "total": None,
                "power": math.nan,
                "note": note,
            }
            if note is None:
                n = sample_size_proportions(p0 + d, p0, power=power, alpha=alpha, ratio=(1 - s) / s)
                row.update(challenger=n.n1, champion=n.n2, total=n.total, power=n.power)
            rows.append(row)
    out = pd.DataFrame(rows, columns=["lift", "challenger_share", "challenger", "champion", "total", "power", "note"])  # pyright: ignore[reportArgumentType]  # pandas' Axes annotation rejects a list under pyright
    out[["challenger", "champion", "total"]] = out[["challenger", "champion", "total"]].astype("Int64")
    return out


def power_curve_proportions(p0: float, lifts, totals, *, ratio: float = 1.0, alpha: float = 0.05) -> pd.DataFrame:
    """Power of the test of ``p0 + lift`` against ``p0`` for each total number of accounts.

    The total is split ``n1 = total / (1 + ratio)`` (challenger) and
    ``n2 = ratio * n1`` (champion), as :func:`power_proportions` takes it.
    Lifts that cannot be planned from ``p0`` (see :func:`lift_designs`) are
    left out and listed in ``attrs["not_computable"]`` (lift -> reason).

    Returns:
        One row per computable lift and total: ``lift``, ``total``, ``power``.
    """
    p0 = checks.number(p0, "p0")
    rows, skipped = [], {}
    for d in lifts:
        note = _proportion_note(p0, checks.positive(d, "lift"))
        if note is not None:
            skipped[d] = note
            continue
        for n in totals:
            rows.append(
                {
                    "lift": d,
                    "total": n,
                    "power": power_proportions(
                        p0 + d, p0, checks.positive(n, "total") / (1 + ratio), alpha=alpha, ratio=ratio
                    ),
                }
            )
    out = pd.DataFrame(rows, columns=["lift", "total", "power"])  # pyright: ignore[reportArgumentType]  # pandas' Axes annotation rejects a list under pyright
    out.attrs["not_computable"] = skipped
    return out


def detectable_lift(
    p0: float, n1: float, *, power: float = 0.8, alpha: float = 0.05, ratio: float = 1.0
) -> tuple[float, str | None]:
    """:func:`mde_proportions` from an observed baseline ``p0``, or why there is none.

    The same lift as ``mde_proportions(p0, n1, ...)`` (group 1 has ``n1``
    accounts at ``p0``, group 2 ``ratio * n1`` at ``p0 + lift``), with the
    edges of the data answered in words instead of an error: a baseline of
    0 or 1, or too few accounts for any lift to reach ``power``.

    Returns:
        ``(lift, None)``, or ``(nan, note)`` when it cannot be computed.
    """
    p0 = checks.number(p0, "p0")
    if p0 <= 0 or p0 >= 1:
        return math.nan, _proportion_note(p0, 0.0)
    n1, power = checks.positive(n1, "n1"), checks.level(power, "power")
    alpha, ratio = checks.level(alpha, "alpha"), checks.positive(ratio, "ratio")
    if _prop_power(p0, 1 - (1 - p0) * 1e-12, n1, alpha, ratio, "two-sided") < power:
        return math.nan, (
            f"not computable: with {n1:,.0f} and {ratio * n1:,.0f} accounts no lift from "
            f"{100 * p0:.1f}% reaches {power:.0%} power"
        )
    return mde_proportions(p0, n1, power=power, alpha=alpha, ratio=ratio), None


def noninferiority_designs(
    rate: float, shares, *, margin: float, power: float = 0.8, alpha: float = 0.05, exposure_per_unit: float = 1.0
) -> pd.DataFrame:
    """Accounts needed to show rate1 / rate2 < ``margin`` when both groups truly have ``rate``.

    One :func:`sample_size_rates` per challenger share (one-sided at
    ``alpha``). An observed rate of 0 (no complaints) gives no rate to plan
    from: the sizes are missing and ``note`` says so.

    Returns:
        One row per share: ``challenger_share``, ``n1``, ``n2``, ``total``
        (nullable integers), ``power`` and ``note`` (None when computed).
    """
    rate = checks.number(rate, "rate")
    if rate < 0 or math.isinf(rate):
        raise ValueError(f"rate must be a finite number >= 0, got {rate!r}")
    rows = []
    for s in shares:
        s = checks.level(s, "challenger share")
        row = {"challenger_share": s, "n1": None, "n2": None, "total": None, "power": math.nan, "note": None}
        if rate == 0:
            row["note"] = "not computable: no complaints were observed, so there is no complaint rate to plan from"
        else:
            n = sample_size_rates(
                rate,
                rate,
                margin=margin,
                alternative="smaller",
                power=power,
                alpha=alpha,
                ratio=(1 - s) / s,
                exposure_per_unit=exposure_per_unit,
            )
            row.update(n1=n.n1, n2=n.n2, total=n.total, power=n.power)
        rows.append(row)
    out = pd.DataFrame(rows, columns=["challenger_share", "n1", "n2", "total", "power", "note"])  # pyright: ignore[reportArgumentType]  # pandas' Axes annotation rejects a list under pyright
    out[["n1", "n2", "total"]] = out[["n1", "n2", "total"]].astype("Int64")
    return out
