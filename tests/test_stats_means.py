"""Tests for analysis.stats.means (intervals from sufficient statistics)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats

from analysis.stats.means import diff_means_ci, mean_ci, ratio_means_ci, ratio_of_means_ci, variance_computable


def printed(value: float, decimals: int):
    """Equality to a number printed with ``decimals`` decimals."""
    return pytest.approx(value, abs=0.5 * 10.0**-decimals + 1e-12)


def sums(values) -> tuple[float, float, int]:
    values = np.asarray(values, float)
    return float(values.sum()), float((values**2).sum()), len(values)


# R's `sleep` data (Cushny & Peebles 1905, as in Student 1908): extra hours of sleep, drugs 1 and 2
# on the same ten patients.
SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


def test_welch_matches_r_t_test_sleep():
    # R, ?t.test: t.test(extra ~ group, data = sleep) prints
    # t = -1.8608, df = 17.776, p-value = 0.07939, 95 percent CI -3.3654832 0.2054832.
    r = diff_means_ci(*sums(SLEEP_1), *sums(SLEEP_2))
    assert r.method == "welch" and r.null == 0.0
    assert r.estimate == pytest.approx(0.75 - 2.33)
    assert r.statistic == printed(-1.8608, 4)
    assert r.pvalue == printed(0.07939, 5)
    assert (r.ci_low, r.ci_high) == (printed(-3.3654832, 7), printed(0.2054832, 7))


def test_pooled_matches_r_t_test_sleep():
    # R: t.test(extra ~ group, data = sleep, var.equal = TRUE) prints
    # t = -1.8608, df = 18, p-value = 0.07919, 95 percent CI -3.363874 0.203874.
    r = diff_means_ci(*sums(SLEEP_1), *sums(SLEEP_2), equal_var=True)
    assert r.method == "pooled"
    assert r.statistic == printed(-1.8608, 4)
    assert r.pvalue == printed(0.07919, 5)
    assert (r.ci_low, r.ci_high) == (printed(-3.363874, 6), printed(0.203874, 6))


def test_mean_ci_matches_r_paired_t_test_sleep():
    # R: t.test(extra ~ group, data = sleep, paired = TRUE) prints t = -4.0621, df = 9,
    # p-value = 0.002833, 95 percent CI -2.4598858 -0.7001142, mean of the differences -1.58.
    # A paired t test is the one-sample t test of the differences.
    r = mean_ci(*sums(np.subtract(SLEEP_1, SLEEP_2)))
    assert r.estimate == pytest.approx(-1.58)
    assert r.statistic == printed(-4.0621, 4)
    assert r.pvalue == printed(0.002833, 6)
    assert (r.ci_low, r.ci_high) == (printed(-2.4598858, 7), printed(-0.7001142, 7))


def test_means_match_scipy_on_random_data():
    # Independent computation: scipy's t tests on the raw data.
    rng = np.random.default_rng(7)
    for _ in range(20):
        a = rng.lognormal(3, 1, rng.integers(2, 40))
        b = rng.normal(20, 5, rng.integers(2, 40))
        conf = float(rng.uniform(0.5, 0.99))
        ref = stats.ttest_1samp(a, 0.0)
        r = mean_ci(*sums(a), confidence=conf)
        assert (r.statistic, r.pvalue) == (pytest.approx(ref.statistic), pytest.approx(ref.pvalue))
        assert (r.ci_low, r.ci_high) == pytest.approx(tuple(ref.confidence_interval(conf)))
        for equal_var in (False, True):
            ref = stats.ttest_ind(a, b, equal_var=equal_var)
            r = diff_means_ci(*sums(a), *sums(b), confidence=conf, equal_var=equal_var)
            assert r.statistic == pytest.approx(ref.statistic)
            assert r.pvalue == pytest.approx(ref.pvalue)
            assert (r.ci_low, r.ci_high) == pytest.approx(tuple(ref.confidence_interval(conf)))


def test_zero_variance():
    r = mean_ci(*sums([5.0] * 4))
    assert (r.estimate, r.ci_low, r.ci_high) == (5.0, 5.0, 5.0)
    assert r.statistic == math.inf and r.pvalue == 0.0
    r = diff_means_ci(*sums([2.0, 2.0]), *sums([2.0, 2.0, 2.0]))
    assert (r.estimate, r.ci_low, r.ci_high, r.statistic, r.pvalue) == (0.0, 0.0, 0.0, 0.0, 1.0)


def test_large_sums_keep_precision():
    # Money-sized values: the variance survives the sum-of-squares subtraction.
    rng = np.random.default_rng(1)
    a = 1e4 + rng.normal(0, 100, 100_000)
    r = mean_ci(*sums(a))
    ref = stats.ttest_1samp(a, 0).confidence_interval()
    assert (r.ci_low, r.ci_high) == pytest.approx(tuple(ref), rel=1e-9)


# ----------------------------------------------------------------------------- paired ratio


def paired_sums(x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    return x.sum(), (x * x).sum(), y.sum(), (y * y).sum(), (x * y).sum(), len(x)


def test_ratio_of_means_delta_matches_linearisation():
    # Independent computation from the raw data: the delta-method SE equals the standard error
    # of the linearised residuals x - R*y divided by ybar (Cochran 1977, eq. 6.13).
    rng = np.random.default_rng(3)
    y = rng.gamma(4, 50, 60)
    x = 0.1 * y + rng.normal(0, 3, 60)
    ratio = x.mean() / y.mean()
    se = np.std(x - ratio * y, ddof=1) / math.sqrt(60) / y.mean()
    t = stats.t.isf(0.025, 59)
    r = ratio_of_means_ci(*paired_sums(x, y))
    assert r.estimate == pytest.approx(ratio)
    assert (r.ci_low, r.ci_high) == pytest.approx((ratio - t * se, ratio + t * se))


def test_fieller_limits_by_brute_force():
    # Independent computation: Fieller's limits are where the one-sample t test of x - theta*y
    # (scipy) has p-value exactly 1 - confidence; found here with brentq.
    rng = np.random.default_rng(4)
    y = rng.normal(10, 4, 15)
    x = 2 * y + rng.normal(0, 5, 15)
    r = ratio_of_means_ci(*paired_sums(x, y), method="fieller", confidence=0.9)

    def p_minus_alpha(theta):
        return stats.ttest_1samp(x - theta * y, 0).pvalue - 0.1

    ratio = x.mean() / y.mean()
    assert r.ci_low == pytest.approx(optimize.brentq(p_minus_alpha, ratio - 10, ratio), rel=1e-8)
    assert r.ci_high == pytest.approx(optimize.brentq(p_minus_alpha, ratio, ratio + 10), rel=1e-8)


def test_fieller_unbounded_when_denominator_is_not_significant():
    rng = np.random.default_rng(5)
    y = rng.normal(0.2, 3, 10)
    x = rng.normal(5, 1, 10)
    r = ratio_of_means_ci(*paired_sums(x, y), method="fieller")
    assert (r.ci_low, r.ci_high) == (-math.inf, math.inf)


def test_delta_ratio_coverage_on_simulated_normal_data():
    # Seeded simulation: 2,000 samples of 60 pairs; mean(x)/mean(y) = 10/20, correlation 0.5.
    rng = np.random.default_rng(2024)
    cov = [[4.0, 0.5 * 2 * 3], [0.5 * 2 * 3, 9.0]]
    hits_delta = hits_fieller = 0
    for _ in range(2000):
        x, y = rng.multivariate_normal([10.0, 20.0], cov, 60).T
        s = paired_sums(x, y)
        d, f = ratio_of_means_ci(*s), ratio_of_means_ci(*s, method="fieller")
        hits_delta += d.ci_low <= 0.5 <= d.ci_high
        hits_fieller += f.ci_low <= 0.5 <= f.ci_high
    assert 0.93 <= hits_delta / 2000 <= 0.97
    assert 0.93 <= hits_fieller / 2000 <= 0.97


# ----------------------------------------------------------------------------- independent ratio


def test_ratio_means_delta_log_by_hand():
    # Independent computation from the raw data with numpy: log ratio, its delta-method SE and
    # Satterthwaite degrees of freedom, following Friedrich, Adhikari & Beyene (2008), eq. 1-2.
    rng = np.random.default_rng(6)
    a, b = rng.gamma(2, 300, 40), rng.gamma(2, 250, 55)
    v1 = a.var(ddof=1) / (len(a) * a.mean() ** 2)
    v2 = b.var(ddof=1) / (len(b) * b.mean() ** 2)
    df = (v1 + v2) ** 2 / (v1**2 / (len(a) - 1) + v2**2 / (len(b) - 1))
    log_r, se = math.log(a.mean() / b.mean()), math.sqrt(v1 + v2)
    t = stats.t.isf(0.025, df)
    r = ratio_means_ci(*sums(a), *sums(b))
    assert r.null == 1.0 and r.estimate == pytest.approx(a.mean() / b.mean())
    expected = (math.exp(log_r - t * se), math.exp(log_r + t * se))
    assert (r.ci_low, r.ci_high) == pytest.approx(expected)
    assert r.statistic == pytest.approx(log_r / se)
    assert r.pvalue == pytest.approx(2 * stats.t.sf(abs(log_r / se), df))
    assert (r.pvalue < 0.05) == (not r.ci_low <= 1 <= r.ci_high)


def test_ratio_means_coverage_on_simulated_normal_data():
    # Seeded simulation: 2,000 pairs of groups (n = 50, 70) with true ratio 10/8.
    rng = np.random.default_rng(99)
    hits = 0
    for _ in range(2000):
        r = ratio_means_ci(*sums(rng.normal(10, 3, 50)), *sums(rng.normal(8, 4, 70)))
        hits += r.ci_low <= 1.25 <= r.ci_high
    assert 0.93 <= hits / 2000 <= 0.97


# ----------------------------------------------------------------------------- bad arguments

OK1, OK2 = sums([1.0, 2.0, 4.0]), sums([3.0, 5.0, 6.0, 9.0])
BAD = [
    (mean_ci, (1.0, 1.0, 1), {}, ValueError, r"\bn\b.*1"),
    (mean_ci, (6.0, 10.0, 3), {}, ValueError, r"total_sq.*10\.0"),
    (mean_ci, (6.0, 14.0, 0), {}, ValueError, r"\bn\b.*0"),
    (mean_ci, (6.0, 14.0, 2.5), {}, ValueError, r"\bn\b.*2\.5"),
    (mean_ci, ("6", 14.0, 3), {}, TypeError, r"total"),
    (mean_ci, (math.nan, 14.0, 3), {}, ValueError, r"total.*nan"),
    (mean_ci, OK1, {"confidence": 1.0}, ValueError, r"confidence.*1\.0"),
    (diff_means_ci, (*OK1, 9.0, 10.0, 4), {}, ValueError, r"total_sq2.*10\.0"),
    (diff_means_ci, (*OK1, 9.0, 100.0, 1), {}, ValueError, r"n2.*1"),
    (diff_means_ci, (*OK1, *OK2), {"confidence": 0.0}, ValueError, r"confidence.*0\.0"),
    (diff_means_ci, (*OK1, *OK2), {"equal_var": "yes"}, TypeError, r"equal_var.*yes"),
    (ratio_of_means_ci, (7.0, 21.0, 0.0, 2.0, 1.0, 3), {}, ValueError, r"total_y.*0"),
    (ratio_of_means_ci, (7.0, 21.0, 6.0, 14.0, 100.0, 3), {}, ValueError, r"total_xy.*100\.0"),
    (
        ratio_of_means_ci,
        (7.0, 21.0, 6.0, 14.0, 16.0, 3),
        {"method": "bootstrap"},
        ValueError,
        r"method.*'delta'.*'bootstrap'",
    ),
    (ratio_of_means_ci, (7.0, 21.0, 6.0, 14.0, 16.0, 3), {"confidence": 2}, ValueError, r"confidence.*2"),
    (ratio_means_ci, (-7.0, 21.0, 3, *OK2), {}, ValueError, r"total1.*-2\.33"),
    (ratio_means_ci, (*OK1, 0.0, 8.0, 2), {}, ValueError, r"total2.*0\.0"),
    (ratio_means_ci, (*OK1, *OK2), {"method": "delta"}, ValueError, r"method.*'delta-log'.*'delta'"),
]


@pytest.mark.parametrize(("func", "args", "kwargs", "exc", "pattern"), BAD)
def test_bad_arguments(func, args, kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        func(*args, **kwargs)


def test_sums_beyond_floating_point_give_no_interval_instead_of_an_error():
    # one value of 1e200 among ordinary ones: its square overflows float64, so the engine's
    # sum of squares is inf; the mean is still known, its interval is not computable
    total, total_sq, n = 1e200 + 30.0, math.inf, 4
    r = mean_ci(total, total_sq, n)
    assert r.estimate == pytest.approx(total / n)
    assert math.isnan(r.ci_low) and math.isnan(r.ci_high) and math.isnan(r.pvalue)
    d = diff_means_ci(total, total_sq, n, *sums([1.0, 2.0, 3.0]))
    assert d.estimate == pytest.approx(total / n - 2.0) and math.isnan(d.ci_low) and d.method == "welch"
    q = ratio_of_means_ci(6.0, 14.0, total, total_sq, 50.0, n)
    assert q.estimate == pytest.approx(1.5 / (total / n)) and math.isnan(q.ci_high)
    assert math.isnan(ratio_means_ci(total, total_sq, n, 9.0, 30.0, 3).ci_low)
    # the square of the sum overflows although the sum of squares was given finite
    assert not variance_computable(1e160, 1e300) and variance_computable(10.0, 50.0)
    assert math.isnan(mean_ci(1e160, 1e300, 3).ci_low)
    with pytest.raises(ValueError, match="total_sq.*nan"):  # NaN is a caller's mistake, not an overflow
        mean_ci(10.0, math.nan, 3)


def test_huge_but_finite_variances_keep_welch_degrees_of_freedom():
    # the Satterthwaite formula squares the variances of the means; 1e300 would overflow
    big = diff_means_ci(*sums([1e150, 2e150, 4e150]), *sums([1e150, 3e150, 3e150]))
    small = diff_means_ci(*sums([1.0, 2.0, 4.0]), *sums([1.0, 3.0, 3.0]))
    assert big.pvalue == pytest.approx(small.pvalue, rel=1e-9)
    assert big.ci_low == pytest.approx(1e150 * small.ci_low, rel=1e-9)


def test_ratio_of_perfectly_correlated_sums_tolerates_rounding():
    # y = 10 x exactly (e.g. a commission on money collected): rounding in large sums may put the
    # implied correlation a hair above 1; that is not an inconsistency
    x = np.array([3e12, 1.0, 2.0, 5.0, 7e11])
    y = 10 * x
    tx, qx, n = sums(x)
    ty, qy, _ = sums(y)
    r = ratio_of_means_ci(tx, qx, ty, qy, float((x * y).sum()) * (1 + 1e-13), n)
    assert r.estimate == pytest.approx(0.1) and r.ci_low == pytest.approx(0.1) and r.ci_high == pytest.approx(0.1)
