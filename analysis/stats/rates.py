"""Poisson rates: one rate, and two rates compared by ratio or difference.

Complaints are rare events counted against an exposure (contacts or accounts),
so each group is summarised by ``count`` events over ``exposure`` units and
modelled as Poisson(rate * exposure).

Conventions shared by every function here:

* ``alternative`` is ``"two-sided"``, ``"larger"`` (H1: parameter > value) or
  ``"smaller"`` (H1: parameter < value); ``"greater"`` and ``"less"`` are
  accepted as aliases. For a one-sided alternative the interval returned is
  the matching ONE-SIDED bound at ``confidence``: ``[0, upper]`` (ratio) or
  ``[-inf, upper]`` (difference) for ``"smaller"``, ``[lower, inf]`` for
  ``"larger"``, as R's ``poisson.test`` does. The test then rejects at level
  ``1 - confidence`` exactly when the null value lies outside that interval
  (exactly for the score and Wald methods, whose intervals invert their tests).
* Zero counts never raise. A ratio with no events in group 2 has estimate
  ``inf`` and upper limit ``inf``; with no events in group 1, estimate and
  lower limit ``0``; with no events at all the estimate is NaN, the interval
  ``[0, inf]``, the statistic NaN and the p-value 1 (no information, no
  evidence against the null). The Wald test of a difference is undefined
  when no events occurred (zero standard error): statistic and p-value are
  NaN, and the interval collapses to ``[0, 0]``; use the score method.
"""

from __future__ import annotations

import math

from scipy import optimize, stats

from analysis import checks
from analysis.stats._result import Estimate

__all__ = ["rate_ci", "compare_rates"]

RATE_METHODS = ("exact", "score", "wald")
COMPARE_METHODS = {"ratio": ("score", "exact-cond", "wald"), "diff": ("score", "wald")}


# ------------------------------------------------------------------- helpers


def _pvalue(z: float, alternative: str) -> float:
    """P-value of a standard-normal statistic (NaN stays NaN)."""
    if math.isnan(z):
        return math.nan
    if alternative == "larger":
        return float(stats.norm.sf(z))
    if alternative == "smaller":
        return float(stats.norm.cdf(z))
    return float(min(1.0, 2 * stats.norm.sf(abs(z))))


def _crit(confidence: float, alternative: str) -> float:
    tail = 1 - confidence if alternative != "two-sided" else (1 - confidence) / 2
    return float(stats.norm.isf(tail))


def _one_sided(low: float, high: float, alternative: str, bottom: float) -> tuple[float, float]:
    """Keep only the bound that matches a one-sided alternative."""
    if alternative == "larger":
        return low, math.inf
    if alternative == "smaller":
        return bottom, high
    return low, high


def _wilson(x: float, n: float, z: float) -> tuple[float, float]:
    """Wilson (1927) score limits for a binomial proportion x/n at quantile z."""
    centre = (x + z * z / 2) / (n + z * z)
    half = z * math.sqrt(x * (n - x) / n + z * z / 4) / (n + z * z)
    low = 0.0 if x == 0 else max(0.0, centre - half)
    high = 1.0 if x == n else min(1.0, centre + half)
    return low, high


def _odds_to_ratio(p: float, k: float) -> float:
    """Rate ratio from the conditional binomial probability p = Rk / (1 + Rk)."""
    return math.inf if p >= 1 else p / ((1 - p) * k)


# ------------------------------------------------------------------ one rate


def rate_ci(count, exposure, *, method: str = "exact", confidence: float = checks.CONFIDENCE) -> Estimate:
    """Confidence interval for one Poisson rate, ``count / exposure``.

    Methods:

    * ``"exact"`` -- Garwood (1936) central interval from chi-square
      quantiles, ``chi2(a/2; 2x) / 2`` to ``chi2(1 - a/2; 2x + 2) / 2``
      (lower limit 0 when ``x = 0``); the interval of R's ``poisson.test``.
    * ``"score"`` -- the Wilson-type score interval, the solutions of
      ``(x - mu)^2 = z^2 mu``: ``x + z^2/2 -/+ z sqrt(x + z^2/4)``
      (Bartlett 1953; as ``DescTools::PoissonCI(method="score")``).
    * ``"wald"`` -- ``x -/+ z sqrt(x)``, lower limit cut at 0; degenerate
      (``[0, 0]``) when ``x = 0``, so prefer the other two for rare events.

    Args:
        count: events observed (non-negative whole number).
        exposure: exposure (contacts, accounts, account-days), positive.
        method: ``"exact"``, ``"score"`` or ``"wald"``.
        confidence: two-sided confidence level in (0, 1).

    Returns:
        Estimate with the rate and its limits (no test: statistic and
        p-value NaN).

    Raises:
        TypeError: a non-numeric argument.
        ValueError: negative or fractional count, non-positive exposure,
            confidence outside (0, 1) or an unknown method.
    """
    x = checks.count(count, "count")
    e = checks.positive(exposure, "exposure")
    method = checks.choice(method, RATE_METHODS, "method")
    confidence = checks.confidence(confidence)
    alpha = 1 - confidence
    z = float(stats.norm.isf(alpha / 2))
    if method == "exact":
        low = 0.0 if x == 0 else stats.chi2.ppf(alpha / 2, 2 * x) / 2
        high = stats.chi2.isf(alpha / 2, 2 * x + 2) / 2
    elif method == "score":
        root = z * math.sqrt(x + z * z / 4)
        low, high = max(0.0, x + z * z / 2 - root), x + z * z / 2 + root
        if x == 0:
            low = 0.0
    else:
        low, high = max(0.0, x - z * math.sqrt(x)), x + z * math.sqrt(x)
    return Estimate(x / e, float(low) / e, float(high) / e, method=method, confidence=confidence)


# -------------------------------------------------------------- two rates


def _ratio(y1, e1, y2, e2, value, method, alternative, confidence):
    k = e1 / e2  # exposure ratio; y1 | N ~ Bin(N, Rk / (1 + Rk))
    n = y1 + y2
    est = (y1 / e1) / (y2 / e2) if y2 > 0 else (math.inf if y1 > 0 else math.nan)
    if n == 0:
        return est, 0.0, math.inf, math.nan, 1.0
    p0 = value * k / (1 + value * k)
    if method == "score":
        # Gu, Ng, Tang & Schucany (2008), statistic W2 (constrained MLE); it is
        # the score statistic of the conditional binomial, so its inverse is
        # the Wilson interval for y1 / N mapped to the ratio scale.
        z_stat = (y1 - n * p0) / math.sqrt(n * p0 * (1 - p0))
        p_low, p_high = _wilson(y1, n, _crit(confidence, alternative))
        low, high = _odds_to_ratio(p_low, k), _odds_to_ratio(p_high, k)
        return est, *_one_sided(low, high, alternative, 0.0), z_stat, _pvalue(z_stat, alternative)
    if method == "exact-cond":
        # Conditional binomial test and Clopper-Pearson limits, as R's poisson.test.
        test = stats.binomtest(
            int(y1), int(n), p0, alternative={"larger": "greater", "smaller": "less"}.get(alternative, "two-sided")
        )
        ci = test.proportion_ci(confidence_level=confidence, method="exact")
        low, high = _odds_to_ratio(ci.low, k), _odds_to_ratio(ci.high, k)
        return est, low, high, y1, float(test.pvalue)
    # Wald on the log scale; with a zero count 0.5 is added to both counts
    # (Haldane-Anscombe) for the centre and standard error, and the limits are
    # then widened to 0 (y1 = 0) or inf (y2 = 0) so they contain the estimate.
    c = 0.5 if y1 == 0 or y2 == 0 else 0.0
    log_r = math.log((y1 + c) / (y2 + c) / k)
    se = math.sqrt(1 / (y1 + c) + 1 / (y2 + c))
    z_stat = (log_r - math.log(value)) / se
    crit = _crit(confidence, alternative)
    low = 0.0 if y1 == 0 else math.exp(log_r - crit * se)
    high = math.inf if y2 == 0 else math.exp(log_r + crit * se)
    return est, *_one_sided(low, high, alternative, 0.0), z_stat, _pvalue(z_stat, alternative)


def _diff_score_z(y1, e1, y2, e2, delta):
    """Score statistic for rate1 - rate2 = delta (Ng, Gu & Tang 2007)."""
    d = y1 / e1 - y2 / e2 - delta
    if d == 0:
        return 0.0
    t = e1 + e2
    dt = (y1 + y2) / t - delta
    r2 = 0.5 * (dt + math.sqrt(dt * dt + 4 * delta * y2 / t))  # constrained MLE of rate2
    r2 = max(r2, 0.0)
    r1 = max(r2 + delta, 0.0)
    var = r1 / e1 + r2 / e2
    return math.copysign(math.inf, d) if var <= 0 else d / math.sqrt(var)


def _diff(y1, e1, y2, e2, value, method, alternative, confidence):
    est = y1 / e1 - y2 / e2
    crit = _crit(confidence, alternative)
    if method == "wald":
        se = math.sqrt(y1 / e1**2 + y2 / e2**2)
        z_stat = (est - value) / se if se > 0 else math.nan  # undefined without events
        low, high = est - crit * se, est + crit * se
    else:
        z_stat = _diff_score_z(y1, e1, y2, e2, value)
        f = lambda delta, target: _diff_score_z(y1, e1, y2, e2, delta) - target
        step = max(math.sqrt(y1 / e1**2 + y2 / e2**2), crit**2 / min(e1, e2), 1e-12)

        def solve(sign):  # z decreases in delta: walk out, then bisect
            target, far = -sign * crit, est + sign * step
            while sign * f(far, target) > 0:
                far = est + 2 * (far - est)
            return optimize.brentq(f, est, far, args=(target,), xtol=1e-14, rtol=1e-12)  # pyright: ignore[reportArgumentType]  # scipy's brentq is unannotated: rtol inferred as float64, the result as root-or-tuple

        low, high = solve(-1), solve(+1)
    return est, *_one_sided(low, high, alternative, -math.inf), z_stat, _pvalue(z_stat, alternative)  # pyright: ignore[reportArgumentType]  # scipy's brentq is unannotated: rtol inferred as float64, the result as root-or-tuple


def compare_rates(
    count1,
    exposure1,
    count2,
    exposure2,
    *,
    compare: str = "ratio",
    method: str = "score",
    value=None,
    alternative: str = "two-sided",
    confidence: float = checks.CONFIDENCE,
) -> Estimate:
    """Compare two Poisson rates by their ratio or difference, with a test.

    ``compare="ratio"`` estimates ``rate1 / rate2`` and tests
    ``H0: ratio = value`` (default 1); ``compare="diff"`` estimates
    ``rate1 - rate2`` and tests ``H0: diff = value`` (default 0).

    Methods for the ratio:

    * ``"score"`` -- Gu, Ng, Tang & Schucany (2008, Biometrical Journal
      50:179-190) statistic W2, ``(x1 - x2 R0 k) / sqrt((x1 + x2) R0 k)``
      with ``k = exposure1 / exposure2``. It equals the score statistic of
      the binomial ``x1 | x1 + x2`` (Wilson 1927), so the interval -- the
      set of R0 the test does not reject -- is the Wilson interval mapped to
      the ratio scale (closed form; it is what statsmodels'
      ``confint_poisson_2indep(method="score")`` finds numerically).
    * ``"exact-cond"`` -- the conditional binomial test (Przyborowski &
      Wilenski 1940) with Clopper-Pearson (1934) limits, as R's
      ``poisson.test``; two-sided p-values by the minimum-likelihood rule of
      ``binom.test``. The statistic reported is ``count1``, as in R.
    * ``"wald"`` -- Wald test and interval for the log ratio with standard
      error ``sqrt(1/x1 + 1/x2)`` (Gu et al. 2008, W4); see the module notes
      for zero counts.

    Methods for the difference:

    * ``"score"`` -- score test with the rates estimated under the
      constraint ``rate1 - rate2 = value`` (Ng, Gu & Tang 2007, CSDA
      51:3085-3099; Gu et al. 2008); the interval inverts it numerically
      (as R's ``ratesci::scoreci(distrib="poi", contrast="RD", skew=FALSE)``).
    * ``"wald"`` -- ``d -/+ z sqrt(x1/e1^2 + x2/e2^2)``.

    Non-inferiority, e.g. "the SMS complaint rate is not more than 1.2 times
    the phone rate": ``compare_rates(c_sms, e_sms, c_phone, e_phone,
    compare="ratio", value=1.2, alternative="smaller")``; a p-value below
    ``1 - confidence`` is the same as ``ci_high < 1.2``.

    Args:
        count1, exposure1: events and exposure of group 1.
        count2, exposure2: events and exposure of group 2 (the reference).
        compare: ``"ratio"`` or ``"diff"``.
        method: see above.
        value: the null ratio (positive) or difference; None for 1 or 0.
        alternative: ``"two-sided"``, ``"larger"``/``"greater"`` or
            ``"smaller"``/``"less"``. One-sided alternatives return the
            one-sided bound (see the module notes).
        confidence: confidence level of the interval, in (0, 1).

    Returns:
        Estimate: estimate, ci_low, ci_high, statistic (z; ``count1`` for
        exact-cond), pvalue, method, confidence, null=value.

    Raises:
        TypeError: a non-numeric count, exposure, value or level.
        ValueError: negative/fractional counts, non-positive exposure, a
            non-positive null ratio, a level outside (0, 1) or an unknown
            compare/method/alternative.
    """
    y1, y2 = checks.count(count1, "count1"), checks.count(count2, "count2")
    e1, e2 = checks.positive(exposure1, "exposure1"), checks.positive(exposure2, "exposure2")
    compare = checks.choice(compare, tuple(COMPARE_METHODS), "compare")
    method = checks.choice(method, COMPARE_METHODS[compare], "method")
    alternative = checks.alternative(alternative)
    confidence = checks.confidence(confidence)
    if compare == "ratio":
        value = 1.0 if value is None else checks.positive(value, "value")
        est, low, high, z_stat, p = _ratio(y1, e1, y2, e2, value, method, alternative, confidence)
    else:
        value = 0.0 if value is None else checks.number(value, "value")
        if math.isinf(value):
            raise ValueError(f"value must be finite, got {value!r}")
        est, low, high, z_stat, p = _diff(y1, e1, y2, e2, value, method, alternative, confidence)
    return Estimate(
        float(est),
        float(low),
        float(high),
        float(z_stat),
        float(p),
        method=f"{compare}-{method}",
        confidence=confidence,
        null=float(value),
    )
