"""t intervals and tests for means, differences of means and ratios of means.

The functions take sufficient statistics (count, sum and sum of squares per cell, and the sum of
cross-products for paired measurements) because callers hold only per-cell sums. Variances are
recovered as (sum_sq - sum^2/n)/(n - 1). That subtraction loses precision when the mean is large
against the spread (about 16 - 2*log10(mean/sd) significant digits remain); centre or rescale the
data (e.g. money in thousands) before summing if that matters.

A sum of squares beyond the floating-point range (``inf``: values above about 1e154, whose squares
overflow a float64) leaves the variance unknown. It is accepted, and the functions return the
estimate with NaN limits, statistic and p-value (the interval is not computable), never an error;
:func:`variance_computable` tells a caller beforehand.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy import stats

from analysis import checks

from ._result import Estimate


def _sum_sq(value, name: str) -> float:
    """A sum of squares: finite, or ``+inf`` when it overflowed (variance unknown)."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and value == math.inf:
        return math.inf
    return checks.real(value, name)


def variance_computable(total, total_sq) -> bool:
    """Whether a variance can be recovered from these sums in floating point.

    False when the sum of squares (or the square of the sum) is beyond the
    float64 range, i.e. some values exceed about 1e154: the functions of
    this module then return NaN limits.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(total_sq) and np.isfinite(np.float64(total) * np.float64(total)))


def _moments(total, total_sq, n, names=("total", "total_sq", "n")) -> tuple[float, float, int]:
    """Mean and sample variance (n - 1 denominator) from a sum and a sum of squares.

    The variance is NaN when it is beyond floating point (see the module docstring).
    """
    total, total_sq, n = checks.real(total, names[0]), _sum_sq(total_sq, names[1]), checks.whole(n, names[2])
    if n < 2:
        raise ValueError(f"{names[2]} must be at least 2 to estimate a variance, got {n}")
    mean = total / n
    if not variance_computable(total, total_sq):
        return mean, math.nan, n
    ss = total_sq - total * mean
    if ss < -1e-9 * max(abs(total_sq), 1.0):
        raise ValueError(
            f"{names[1]} ({total_sq!r}) is less than {names[0]}^2/{names[2]} ({total * mean!r}), "
            "which would make the variance negative; it must be at least that"
        )
    return mean, max(ss, 0.0) / (n - 1), n


def _t_test(estimate: float, se: float, null: float, df: float) -> tuple[float, float]:
    """Two-sided t test; with se = 0: statistic 0, p 1 at the null, else +/-inf and p 0."""
    if se > 0:
        t = (estimate - null) / se
        return t, float(2.0 * stats.t.sf(abs(t), df))
    if math.isclose(estimate, null, abs_tol=1e-12):
        return 0.0, 1.0
    return math.copysign(math.inf, estimate - null), 0.0


def _tcrit(confidence: float, df: float) -> float:
    return float(stats.t.isf((1.0 - confidence) / 2.0, df))


def _satterthwaite(a1: float, a2: float, n1: int, n2: int) -> float:
    """Welch-Satterthwaite degrees of freedom of ``a1 + a2`` (scale-free: no overflow)."""
    s = a1 + a2
    if not s > 0:
        return n1 + n2 - 2
    r1, r2 = a1 / s, a2 / s
    return 1.0 / (r1 * r1 / (n1 - 1) + r2 * r2 / (n2 - 1))


def _unknown(estimate: float, method: str, confidence: float, null: float) -> Estimate:
    """The estimate with its interval and test not computable (variance beyond floating point)."""
    return Estimate(estimate, math.nan, math.nan, math.nan, math.nan, method, confidence, null)


def mean_ci(total, total_sq, n, *, confidence=checks.CONFIDENCE) -> Estimate:
    """Student t interval for a mean, with the one-sample t test of mean = 0 (Student 1908).

    Args:
        total: sum of the observations.
        total_sq: sum of their squares.
        n: number of observations, at least 2.
        confidence: confidence level in (0, 1).

    Returns:
        Estimate of the mean with mean +/- t(n-1) s/sqrt(n), the t statistic and p-value for
        mean = 0 (null 0). A paired t test is this function applied to the differences.

    References:
        Student (1908). The probable error of a mean. Biometrika 6:1-25.
    """
    confidence = checks.confidence(confidence)
    mean, var, n = _moments(total, total_sq, n)
    if math.isnan(var):
        return _unknown(mean, "t", confidence, 0.0)
    se = math.sqrt(var / n)
    half = _tcrit(confidence, n - 1) * se
    t, p = _t_test(mean, se, 0.0, n - 1)
    return Estimate(mean, mean - half, mean + half, t, p, "t", confidence, 0.0)


def diff_means_ci(
    total1, total_sq1, n1, total2, total_sq2, n2, *, confidence=checks.CONFIDENCE, equal_var=False
) -> Estimate:
    """Difference of two independent means, mean1 - mean2, with the matching two-sample t test.

    ``equal_var=False`` (default) gives Welch's interval and test with Satterthwaite degrees of
    freedom (Welch 1947; Satterthwaite 1946); ``equal_var=True`` the pooled-variance Student t
    with n1 + n2 - 2 degrees of freedom. Both equal R ``t.test`` with ``var.equal`` set alike.

    Args:
        total1, total_sq1, n1: sum, sum of squares and count of group 1 (n1 >= 2).
        total2, total_sq2, n2: the same for group 2 (n2 >= 2).
        confidence: confidence level in (0, 1).
        equal_var: pool the two variances.

    Returns:
        Estimate of mean1 - mean2 with its interval, t statistic and p-value (null 0); method
        ``"welch"`` or ``"pooled"``.

    References:
        Welch BL (1947). The generalization of 'Student's' problem when several different
        population variances are involved. Biometrika 34:28-35.
    """
    confidence = checks.confidence(confidence)
    if not isinstance(equal_var, bool):
        raise TypeError(f"equal_var must be True or False, got {equal_var!r}")
    m1, v1, n1 = _moments(total1, total_sq1, n1, ("total1", "total_sq1", "n1"))
    m2, v2, n2 = _moments(total2, total_sq2, n2, ("total2", "total_sq2", "n2"))
    est = m1 - m2
    if math.isnan(v1) or math.isnan(v2):
        return _unknown(est, "pooled" if equal_var else "welch", confidence, 0.0)
    if equal_var:
        df = n1 + n2 - 2
        se = math.sqrt(((n1 - 1) * v1 + (n2 - 1) * v2) / df * (1 / n1 + 1 / n2))
    else:
        a1, a2 = v1 / n1, v2 / n2
        se = math.sqrt(a1 + a2)
        df = _satterthwaite(a1, a2, n1, n2)
    half = _tcrit(confidence, df) * se
    t, p = _t_test(est, se, 0.0, df)
    method = "pooled" if equal_var else "welch"
    return Estimate(est, est - half, est + half, t, p, method, confidence, 0.0)


def ratio_of_means_ci(
    total_x, total_sq_x, total_y, total_sq_y, total_xy, n, *, confidence=checks.CONFIDENCE, method="delta"
) -> Estimate:
    """Ratio mean(x) / mean(y) of two measurements on the same n units.

    For instance contact cost per unit of money collected, summed over accounts. Methods:
        ``"delta"``: R +/- t(n-1) SE with SE^2 = (s_x^2 - 2R s_xy + R^2 s_y^2) / (n ybar^2), the
            first-order Taylor (delta method) variance of a ratio estimator (Cochran 1977, 6.4).
        ``"fieller"``: Fieller's (1954) interval, the set of theta for which the mean of
            x - theta*y is not significantly different from 0 by a t test with n - 1 degrees of
            freedom. When ybar is not itself significantly different from 0 the set is unbounded
            and (-inf, inf) is returned.
    No test is made (statistic and p-value are NaN).

    Args:
        total_x, total_sq_x: sum and sum of squares of x.
        total_y, total_sq_y: sum and sum of squares of y (total_y must not be 0).
        total_xy: sum of the products x*y over units.
        n: number of units, at least 2.
        confidence: confidence level in (0, 1).
        method: ``"delta"`` or ``"fieller"``.

    Returns:
        Estimate of mean(x)/mean(y) with its interval.

    References:
        Cochran WG (1977). Sampling Techniques, 3rd ed., section 6.4. Wiley.
        Fieller EC (1954). Some problems in interval estimation. JRSS B 16:175-185.
    """
    confidence = checks.confidence(confidence)
    method = checks.choice(method, ("delta", "fieller"), "method")
    mx, vx, n = _moments(total_x, total_sq_x, n, ("total_x", "total_sq_x", "n"))
    my, vy, _ = _moments(total_y, total_sq_y, n, ("total_y", "total_sq_y", "n"))
    if my == 0:
        raise ValueError(f"total_y must not be 0 (got {total_y!r}): the ratio is undefined")
    if math.isnan(vx) or math.isnan(vy):  # beyond floating point: total_xy may have overflowed too
        if isinstance(total_xy, numbers.Real) and not isinstance(total_xy, bool) and math.isinf(total_xy):
            return _unknown(mx / my, method, confidence, math.nan)
        checks.real(total_xy, "total_xy")
        return _unknown(mx / my, method, confidence, math.nan)
    total_xy = checks.real(total_xy, "total_xy")
    cxy = (total_xy - total_x * total_y / n) / (n - 1)
    if not math.isfinite(cxy):
        return _unknown(mx / my, method, confidence, math.nan)
    bound = math.sqrt(vx) * math.sqrt(vy)
    # rounding in the sums (the subtraction above cancels digits) may push |cxy| a little past the bound
    slack = 1e-9 * (bound + (abs(total_xy) + abs(total_x * total_y / n)) / (n - 1)) + 1e-6
    if abs(cxy) > bound + slack:
        raise ValueError(
            f"total_xy ({total_xy!r}) is inconsistent with the sums of squares: it implies a "
            "correlation outside [-1, 1]"
        )
    cxy = max(-bound, min(bound, cxy))
    ratio = mx / my
    t = _tcrit(confidence, n - 1)
    if method == "delta":
        se = math.sqrt(max(0.0, vx - 2 * ratio * cxy + ratio * ratio * vy) / n) / abs(my)
        return Estimate(ratio, ratio - t * se, ratio + t * se, method=method, confidence=confidence)
    # Fieller: (mx - theta*my)^2 <= q (vx - 2 theta cxy + theta^2 vy), q = t^2 / n.
    q = t * t / n
    a, b, c = my * my - q * vy, mx * my - q * cxy, mx * mx - q * vx
    disc = b * b - a * c
    if a <= 0 or disc < 0:
        return Estimate(ratio, -math.inf, math.inf, method=method, confidence=confidence)
    root = math.sqrt(disc)
    return Estimate(ratio, (b - root) / a, (b + root) / a, method=method, confidence=confidence)


def ratio_means_ci(
    total1, total_sq1, n1, total2, total_sq2, n2, *, confidence=checks.CONFIDENCE, method="delta-log"
) -> Estimate:
    """Ratio mean1 / mean2 of two independent groups, with the test of ratio = 1.

    For instance money collected per account, phone arm over SMS arm. Method ``"delta-log"``:
    log R +/- t SE, SE^2 = s1^2/(n1 m1^2) + s2^2/(n2 m2^2), the delta-method variance of the
    log ratio of means (Friedrich, Adhikari & Beyene 2008), exponentiated. The t critical value
    uses Satterthwaite degrees of freedom for the two terms of SE^2 (Welch-type; it tends to
    the normal value as the groups grow). Both means must be positive.

    Args:
        total1, total_sq1, n1: sum, sum of squares and count of group 1 (numerator).
        total2, total_sq2, n2: the same for group 2 (denominator).
        confidence: confidence level in (0, 1).
        method: ``"delta-log"``.

    Returns:
        Estimate of mean1/mean2, its interval, and the t statistic log R / SE with its p-value
        (null 1).

    References:
        Friedrich JO, Adhikari NKJ, Beyene J (2008). The ratio of means method as an alternative
        to mean differences for analyzing continuous outcome variables in meta-analysis. BMC
        Medical Research Methodology 8:32.
    """
    confidence = checks.confidence(confidence)
    method = checks.choice(method, ("delta-log",), "method")
    m1, v1, n1 = _moments(total1, total_sq1, n1, ("total1", "total_sq1", "n1"))
    m2, v2, n2 = _moments(total2, total_sq2, n2, ("total2", "total_sq2", "n2"))
    for name, mean in (("total1", m1), ("total2", m2)):
        if mean <= 0:
            raise ValueError(f"{name} must be positive for a log ratio of means, got mean {mean!r}")
    if math.isnan(v1) or math.isnan(v2):
        return _unknown(m1 / m2, method, confidence, 1.0)
    a1, a2 = v1 / n1 / m1 / m1, v2 / n2 / m2 / m2
    se = math.sqrt(a1 + a2)
    df = _satterthwaite(a1, a2, n1, n2)
    log_r = math.log(m1 / m2)
    half = _tcrit(confidence, df) * se
    t, p = _t_test(log_r, se, 0.0, df)
    low, high = math.exp(log_r - half), math.exp(log_r + half)
    return Estimate(m1 / m2, low, high, t, p, method, confidence, 1.0)


__all__ = ["mean_ci", "diff_means_ci", "ratio_of_means_ci", "ratio_means_ci", "variance_computable"]
