"""Tests for analysis.stats.proportions.

Published limits are checked to their printed precision: |ours - printed| <= half a unit in the
last printed digit. Where no published number was found, the comment says which independent
computation (scipy, statsmodels, or a brute-force calculation written here) stands in for one.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import optimize, stats

from analysis.stats._result import Estimate
from analysis.stats.proportions import (
    diff_proportions_ci,
    odds_ratio_ci,
    proportion_ci,
    ratio_proportions_ci,
)


def printed(value: float, decimals: int):
    """Equality to a number printed with ``decimals`` decimals."""
    return pytest.approx(value, abs=0.5 * 10.0**-decimals + 1e-12)


def limits(r: Estimate) -> tuple[float, float]:
    return r.ci_low, r.ci_high


def check_limits(r: Estimate, low: float, high: float, decimals: int = 4) -> None:
    assert limits(r) == (printed(low, decimals), printed(high, decimals))


# ----------------------------------------------------------------------------- one proportion

# Newcombe RG (1998a), "Two-sided confidence intervals for the single proportion: comparison of
# seven methods", Stat Med 17:857-872, Table I: method 3 (Wilson score) and method 5 (exact,
# Clopper-Pearson). The last three rows are also in ratesci tests/testthat/test3.R.
NEWCOMBE_1998A = [
    # x, n, Wilson, Clopper-Pearson
    (81, 263, (0.2553, 0.3662), (0.2527, 0.3676)),
    (15, 148, (0.0624, 0.1605), (0.0578, 0.1617)),
    (0, 20, (0.0000, 0.1611), (0.0000, 0.1684)),
    (1, 29, (0.0061, 0.1718), (0.0009, 0.1776)),
]


@pytest.mark.parametrize(("x", "n", "wilson", "exact"), NEWCOMBE_1998A)
def test_single_proportion_newcombe_1998a_table_1(x, n, wilson, exact):
    check_limits(proportion_ci(x, n), *wilson)
    check_limits(proportion_ci(x, n, method="clopper-pearson"), *exact)
    assert proportion_ci(x, n).estimate == x / n


# Fagerland, Lydersen & Laake (2017), Statistical Analysis of Contingency Tables, Chapter 2
# example X = 13, n = 16 (as printed by the book's companion R package contingencytables,
# tests/testthat/test-ch2.R).
@pytest.mark.parametrize(
    ("method", "low", "high"),
    [("wilson", 0.5699, 0.9341), ("clopper-pearson", 0.5435, 0.9595), ("jeffreys", 0.5792, 0.9442)],
)
def test_single_proportion_fagerland_13_of_16(method, low, high):
    check_limits(proportion_ci(13, 16, method=method), low, high)


def test_wald_single_proportion_matches_statsmodels():
    # No published Wald table was found; statsmodels' "normal" interval is an independent
    # implementation of the same formula (we clip to [0, 1], so clip theirs too).
    from statsmodels.stats.proportion import proportion_confint

    for x, n in [(81, 263), (15, 148), (1, 29), (13, 16), (0, 20), (20, 20)]:
        for conf in (0.9, 0.95, 0.99):
            lo, hi = proportion_confint(x, n, alpha=1 - conf, method="normal")
            r = proportion_ci(x, n, method="wald", confidence=conf)
            assert limits(r) == (pytest.approx(max(lo, 0.0)), pytest.approx(min(hi, 1.0)))


def test_jeffreys_boundary_limits_follow_brown_cai_dasgupta():
    assert proportion_ci(0, 20, method="jeffreys").ci_low == 0.0
    assert proportion_ci(20, 20, method="jeffreys").ci_high == 1.0
    # Away from the boundary: the equal-tailed Beta(x + 1/2, n - x + 1/2) quantiles.
    r = proportion_ci(3, 20, method="jeffreys", confidence=0.9)
    assert limits(r) == pytest.approx(tuple(stats.beta.ppf([0.05, 0.95], 3.5, 17.5)))


# ----------------------------------------------------------------------------- difference

# Newcombe RG (1998b), "Interval estimation for the difference between independent proportions:
# comparison of eleven methods", Stat Med 17:873-890, Table II, examples (a)-(h): method 10
# (hybrid score, our "newcombe") and the Miettinen-Nurminen score interval. The values are as
# transcribed in mergeron-extra's tests (test_proportions_tests.py, "Examples from Newcombe (1998),
# Table II"); (d) is also in ratesci tests/testthat/test3.R and (a), (b), (g) in the SAS paper
# lexjansen.com/wuss/2016/127_Final_Paper_PDF.pdf, page 9.
NEWCOMBE_1998B = [
    # x1, n1, x2, n2, method 10, Miettinen-Nurminen
    (56, 70, 48, 80, (0.0524, 0.3339), (0.0528, 0.3382)),
    (9, 10, 3, 10, (0.1705, 0.8090), (0.1700, 0.8406)),
    (6, 7, 2, 7, (0.0582, 0.8062), (0.0342, 0.8534)),
    (5, 56, 0, 29, (-0.0381, 0.1926), (-0.0326, 0.1933)),
    (0, 10, 0, 20, (-0.1611, 0.2775), (-0.1658, 0.2844)),
    (0, 10, 0, 10, (-0.2775, 0.2775), (-0.2879, 0.2879)),
    (10, 10, 0, 20, (0.6791, 1.0000), (0.7156, 1.0000)),
    (10, 10, 0, 10, (0.6075, 1.0000), (0.6636, 1.0000)),
]


@pytest.mark.parametrize(("x1", "n1", "x2", "n2", "newcombe", "mn"), NEWCOMBE_1998B)
def test_difference_newcombe_1998b_table_2(x1, n1, x2, n2, newcombe, mn):
    r = diff_proportions_ci(x1, n1, x2, n2)
    assert r.method == "newcombe" and r.null == 0.0
    assert r.estimate == pytest.approx(x1 / n1 - x2 / n2)
    check_limits(r, *newcombe)
    check_limits(diff_proportions_ci(x1, n1, x2, n2, method="miettinen-nurminen"), *mn)


# SAS paper (lexjansen.com/wuss/2016/127_Final_Paper_PDF.pdf, p. 9), reproducing Newcombe (1998b)
# Table II examples (a), (b), (g) for the Wald and Agresti-Caffo intervals.
WUSS_2016 = [
    (56, 70, 48, 80, (0.0575, 0.3425), (0.0525, 0.3358)),
    (9, 10, 3, 10, (0.2605, 0.9395), (0.1600, 0.8400)),
    (10, 10, 0, 20, (1.0000, 1.0000), (0.6922, 1.0000)),
]


@pytest.mark.parametrize(("x1", "n1", "x2", "n2", "wald", "ac"), WUSS_2016)
def test_difference_wald_and_agresti_caffo_published(x1, n1, x2, n2, wald, ac):
    check_limits(diff_proportions_ci(x1, n1, x2, n2, method="wald"), *wald)
    check_limits(diff_proportions_ci(x1, n1, x2, n2, method="agresti-caffo"), *ac)


# Fagerland, Lydersen & Laake (2015), SMMR 24:224-254, worked examples (also their 2017 book,
# Chapter 4; values as printed by contingencytables tests/testthat/test-ch4.R):
# Perondi et al. (2004) 7/34 vs 1/34, Ritland et al. (2007) 0/16 vs 15/72.
@pytest.mark.parametrize(
    ("table", "method", "low", "high"),
    [
        ((7, 34, 1, 34), "wald", 0.0292, 0.3238),
        ((7, 34, 1, 34), "agresti-caffo", 0.0116, 0.3217),
        ((7, 34, 1, 34), "newcombe", 0.0189, 0.3404),
        ((0, 16, 15, 72), "miettinen-nurminen", -0.3164, -0.0056),
    ],
)
def test_difference_fagerland_2015_examples(table, method, low, high):
    check_limits(diff_proportions_ci(*table, method=method), low, high)


def test_newcombe_test_is_pearson_chi_squared():
    # Fagerland et al. (2017), Chapter 4, 3/4 vs 1/4: Pearson chi-squared T = 2.000, P = 0.15730
    # (contingencytables test-ch4.R). Our pooled z squared is that T.
    r = diff_proportions_ci(3, 4, 1, 4)
    assert r.statistic**2 == printed(2.000, 3)
    assert r.pvalue == printed(0.15730, 5)
    # GSK cicalc's Mee interval printout for 56/70 vs 48/80: "At 0 the statistic is 2.65" (the
    # Mee score statistic at delta = 0 is the pooled z).
    assert diff_proportions_ci(56, 70, 48, 80).statistic == printed(2.65, 2)


TABLES = [(56, 70, 48, 80), (9, 10, 3, 10), (6, 7, 2, 7), (5, 56, 0, 29), (7, 34, 1, 34), (0, 16, 15, 72)]


@pytest.mark.parametrize("table", TABLES)
def test_difference_tests_match_independent_computations(table):
    x1, n1, x2, n2 = table
    counts = np.array([[x1, n1 - x1], [x2, n2 - x2]])
    chi2 = stats.chi2_contingency(counts, correction=False)[0]
    big_n = n1 + n2
    sign = math.copysign(1.0, x1 / n1 - x2 / n2)
    # Pooled score z: R prop.test(correct = FALSE) is this chi-squared (scipy, independent).
    r = diff_proportions_ci(*table)
    assert r.statistic == pytest.approx(sign * math.sqrt(chi2))
    assert r.pvalue == pytest.approx(stats.chi2.sf(chi2, 1))
    # MN score test at 0: chi-squared times (N - 1)/N (Miettinen & Nurminen 1985, eq. for delta=0).
    r = diff_proportions_ci(*table, method="miettinen-nurminen")
    assert r.statistic == pytest.approx(sign * math.sqrt(chi2 * (big_n - 1) / big_n))
    # Wald and Agresti-Caffo z tests: statsmodels' test_proportions_2indep.
    from statsmodels.stats.proportion import test_proportions_2indep

    for method in ("wald", "agresti-caffo"):
        r = diff_proportions_ci(*table, method=method)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # statsmodels divides by p2 = 0 for its side output
            ref = test_proportions_2indep(x1, n1, x2, n2, method=method)
        assert (r.statistic, r.pvalue) == (pytest.approx(ref.statistic), pytest.approx(ref.pvalue))


def test_difference_degenerate_tests():
    # Both groups all-failure: no evidence against p1 = p2.
    for method in ("newcombe", "miettinen-nurminen", "wald"):
        r = diff_proportions_ci(0, 10, 0, 20, method=method)
        assert (r.statistic, r.pvalue) == (0.0, 1.0)
    # 10/10 vs 0/20 under Wald: SE 0 and estimate 1, so statistic inf, p-value 0.
    r = diff_proportions_ci(10, 10, 0, 20, method="wald")
    assert r.statistic == math.inf and r.pvalue == 0.0


# ----------------------------------------------------------------------------- ratio


# Fagerland et al. (2015) / (2017) Chapter 4, Perondi et al. 7/34 vs 1/34 (contingencytables
# test-ch4.R): Koopman score, Miettinen-Nurminen score, Katz log and adjusted log intervals.
@pytest.mark.parametrize(
    ("method", "low", "high"),
    [
        ("score", 1.2209, 42.5757),
        ("miettinen-nurminen", 1.2086, 43.0330),
        ("katz", 0.9096, 53.8695),
        ("adjusted-log", 0.9241, 27.0523),
    ],
)
def test_ratio_fagerland_2015_perondi(method, low, high):
    r = ratio_proportions_ci(7, 34, 1, 34, method=method)
    assert r.estimate == pytest.approx(7.0) and r.null == 1.0
    check_limits(r, low, high)


# Fagerland & Newcombe (2013), Stat Med 32:2823-2836, examples, Miettinen-Nurminen score interval
# for the ratio, as in ratesci tests/testthat/test3.R ("Fagerland Newcombe for RR"; scoreci with
# its default bias correction N/(N-1), i.e. MN), printed to 3 decimals.
@pytest.mark.parametrize(
    ("table", "low", "high"),
    [((24, 73, 53, 65), 0.280, 0.560), ((29, 55, 11, 11), 0.397, 0.742), ((7, 18, 1, 18), 1.296, 42.544)],
)
def test_ratio_mn_fagerland_newcombe_2013(table, low, high):
    check_limits(ratio_proportions_ci(*table, method="miettinen-nurminen"), low, high, decimals=3)


@pytest.mark.parametrize("table", TABLES)
def test_ratio_tests_match_independent_computations(table):
    x1, n1, x2, n2 = table
    chi2 = stats.chi2_contingency(np.array([[x1, n1 - x1], [x2, n2 - x2]]), correction=False)[0]
    # The score test of ratio 1 is the Pearson chi-squared test.
    assert ratio_proportions_ci(*table).statistic ** 2 == pytest.approx(chi2)
    if x1 and x2:  # Katz: Wald z on log RR, SE^2 = 1/x1 - 1/n1 + 1/x2 - 1/n2, by hand.
        z = math.log((x1 / n1) / (x2 / n2)) / math.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)
        assert ratio_proportions_ci(*table, method="katz").statistic == pytest.approx(z)


def test_ratio_score_limits_solve_the_score_equation_by_brute_force():
    # Independent check of the root finding: a direct restricted MLE (numerical maximisation of
    # the binomial likelihood under p1 = phi*p2) and the Koopman score statistic at the limits.
    def score_z(x1, n1, x2, n2, phi):
        def nll(p2):
            p1 = phi * p2
            return -(stats.binom.logpmf(x1, n1, p1) + stats.binom.logpmf(x2, n2, p2))

        bounds = (1e-15, min(1.0, 1 / phi) - 1e-15)
        p2 = optimize.minimize_scalar(nll, bounds=bounds, method="bounded", options={"xatol": 1e-15}).x
        p1 = phi * p2
        var = p1 * (1 - p1) / n1 + phi**2 * p2 * (1 - p2) / n2
        return (x1 / n1 - phi * x2 / n2) / math.sqrt(var)

    tables = [
        (7, 34, 1, 34),
        (9, 10, 3, 10),
        (24, 73, 53, 65),
        (5, 56, 0, 29),
        (0, 16, 15, 72),
        (1000, 1000, 0, 1_000_000),
    ]
    for table in tables:
        r = ratio_proportions_ci(*table)
        for limit, target in [(r.ci_low, 1.959964), (r.ci_high, -1.959964)]:
            if 0 < limit < math.inf:
                assert score_z(*table, limit) == pytest.approx(target, abs=1e-4), (table, limit)


def test_ratio_zero_cells():
    r = ratio_proportions_ci(0, 16, 15, 72)
    assert r.estimate == 0.0 and r.ci_low == 0.0 and 0 < r.ci_high < math.inf
    r = ratio_proportions_ci(10, 10, 0, 20)
    assert r.estimate == math.inf and r.ci_high == math.inf and 1 < r.ci_low < math.inf
    for method in ("score", "miettinen-nurminen", "katz", "adjusted-log"):
        r = ratio_proportions_ci(0, 10, 0, 20, method=method)
        assert math.isnan(r.estimate) and limits(r) == (0.0, math.inf)
        assert (r.statistic, r.pvalue) == (0.0, 1.0)


# ----------------------------------------------------------------------------- odds ratio


def test_odds_ratio_exact_matches_r_fisher_test_tea_tasting():
    # R documentation, ?fisher.test, TeaTasting = matrix(c(3, 1, 1, 3), 2); R prints
    # p-value = 0.4857, 95 percent CI 0.2117329 621.9337505, odds ratio 6.408309.
    r = odds_ratio_ci(3, 4, 1, 4, method="exact")
    assert r.pvalue == printed(0.4857, 4)
    # R solves with uniroot at its default tolerance, so its printed estimate and lower limit are
    # off in the 6th significant digit and its upper limit by 0.7%. We check R's numbers at that
    # looseness and the exact roots, found here by brute force, at 1e-6.
    assert r.estimate == pytest.approx(6.408309, rel=2e-6)
    assert r.ci_low == pytest.approx(0.2117329, rel=2e-5)
    assert r.ci_high == pytest.approx(621.9337505, rel=1e-2)
    weights = [math.comb(4, k) * math.comb(4, 4 - k) for k in range(5)]  # [1, 16, 36, 16, 1]

    def tail(psi, ks):
        return sum(weights[k] * psi**k for k in ks) / sum(weights[k] * psi**k for k in range(5))

    def mean_minus_observed(psi):
        return sum(k * tail(psi, [k]) for k in range(5)) - 3

    mle = optimize.brentq(mean_minus_observed, 1, 100, xtol=1e-13)
    low = optimize.brentq(lambda psi: tail(psi, [3, 4]) - 0.025, 1e-3, 5, xtol=1e-14)
    high = optimize.brentq(lambda psi: tail(psi, [4]) - 0.975, 10, 1e4, xtol=1e-10)
    assert (r.estimate, r.ci_low, r.ci_high) == (
        pytest.approx(mle, rel=1e-6),
        pytest.approx(low, rel=1e-6),
        pytest.approx(high, rel=1e-6),
    )


def test_exact_limits_match_scipy():
    # Independent implementation: scipy's conditional odds ratio interval (we solve for the limits
    # ourselves, because scipy's takes tens of seconds on large tables).
    from scipy.stats.contingency import odds_ratio

    for x1, n1, x2, n2 in GRID + [(1, 40, 7, 12), (30, 40, 2, 35)]:
        r = odds_ratio_ci(x1, n1, x2, n2, method="exact", confidence=0.9)
        ref = odds_ratio([[x1, n1 - x1], [x2, n2 - x2]], kind="conditional")
        assert r.estimate == pytest.approx(ref.statistic, nan_ok=True)
        assert limits(r) == pytest.approx(tuple(ref.confidence_interval(0.9)), rel=1e-7)


def test_exact_large_table_is_fast_and_close_to_woolf():
    exact = odds_ratio_ci(40_000, 200_000, 41_000, 200_000, method="exact")
    woolf = odds_ratio_ci(40_000, 200_000, 41_000, 200_000)
    assert limits(exact) == pytest.approx(limits(woolf), rel=1e-4)


def test_odds_ratio_fisher_p_fagerland_ritland():
    # Fagerland et al. (2017) Chapter 4, Ritland 0/16 vs 15/72: Fisher exact test P = 0.06287.
    r = odds_ratio_ci(0, 16, 15, 72, method="exact")
    assert r.pvalue == printed(0.06287, 5)
    assert r.estimate == 0.0 and r.ci_low == 0.0


def test_woolf_gart_adjustment_fagerland_ritland():
    # Fagerland et al. (2017) Chapter 4, Ritland 0/16 vs 15/72, Gart adjusted logit interval
    # 0.0064 to 1.9804. The sample OR is 0, so our lower limit is 0 and the upper is Gart's.
    r = odds_ratio_ci(0, 16, 15, 72)
    assert r.estimate == 0.0 and r.ci_low == 0.0
    assert r.ci_high == printed(1.9804, 4)


@pytest.mark.parametrize("table", TABLES[:3] + [(7, 34, 1, 34)])
def test_woolf_matches_statsmodels(table):
    # No published non-zero Woolf example was found; statsmodels' Table2x2 (log OR with SE
    # sqrt(sum 1/cell), Wald test) is an independent implementation.
    from statsmodels.stats.contingency_tables import Table2x2

    x1, n1, x2, n2 = table
    ref = Table2x2(np.array([[x1, n1 - x1], [x2, n2 - x2]]))
    r = odds_ratio_ci(*table, confidence=0.9)
    assert r.estimate == pytest.approx(ref.oddsratio)
    assert limits(r) == pytest.approx(ref.oddsratio_confint(alpha=0.1))
    assert r.pvalue == pytest.approx(ref.oddsratio_pvalue())


# ----------------------------------------------------------------------------- properties

GRID = [
    (x1, n1, x2, n2)
    for n1, n2 in [(1, 1), (1, 3), (3, 3), (5, 2), (6, 9)]
    for x1 in range(n1 + 1)
    for x2 in range(n2 + 1)
]
DIFF_METHODS = ("newcombe", "miettinen-nurminen", "agresti-caffo", "wald")
RATIO_METHODS = ("score", "miettinen-nurminen", "katz", "adjusted-log")


def contains(r: Estimate, lower: float, upper: float) -> bool:
    ok = lower <= r.ci_low <= r.ci_high <= upper
    return ok and (math.isnan(r.estimate) or r.ci_low <= r.estimate <= r.ci_high)


@pytest.mark.parametrize("confidence", [0.8, 0.95, 0.999])
def test_every_interval_contains_its_estimate_and_stays_in_range(confidence):
    for x1, n1, x2, n2 in GRID:
        for m in ("wilson", "clopper-pearson", "jeffreys", "wald"):
            r = proportion_ci(x1, n1, method=m, confidence=confidence)
            assert contains(r, 0, 1), (m, x1, n1)
        for m in DIFF_METHODS:
            r = diff_proportions_ci(x1, n1, x2, n2, method=m, confidence=confidence)
            assert contains(r, -1, 1) and 0 <= r.pvalue <= 1, (m, x1, n1, x2, n2, r)
        for m in RATIO_METHODS:
            r = ratio_proportions_ci(x1, n1, x2, n2, method=m, confidence=confidence)
            assert contains(r, 0, math.inf) and 0 <= r.pvalue <= 1, (m, x1, n1, x2, n2, r)
        r = odds_ratio_ci(x1, n1, x2, n2, confidence=confidence)
        assert contains(r, 0, math.inf) and 0 <= r.pvalue <= 1, ("woolf", x1, n1, x2, n2, r)
        if n1 + n2 <= 6:  # scipy's exact interval is slow-ish: a smaller grid
            r = odds_ratio_ci(x1, n1, x2, n2, method="exact", confidence=confidence)
            assert contains(r, 0, math.inf) and 0 <= r.pvalue <= 1, ("exact", x1, n1, x2, n2, r)


def test_swapping_groups_mirrors_the_interval():
    for x1, n1, x2, n2 in GRID:
        for m in DIFF_METHODS:
            a = diff_proportions_ci(x1, n1, x2, n2, method=m)
            b = diff_proportions_ci(x2, n2, x1, n1, method=m)
            assert (a.ci_low, a.ci_high) == pytest.approx((-b.ci_high, -b.ci_low), abs=1e-9)
        for m in ("score", "katz"):
            a = ratio_proportions_ci(x1, n1, x2, n2, method=m)
            b = ratio_proportions_ci(x2, n2, x1, n1, method=m)
            with np.errstate(divide="ignore"):
                assert a.ci_low == pytest.approx(1 / b.ci_high if b.ci_high else math.inf, rel=1e-7)


def test_score_intervals_and_their_tests_agree():
    # Test-interval duality: the MN and score tests reject at 5% exactly when the null value lies
    # outside the 95% interval.
    for x1, n1, x2, n2 in GRID:
        d = diff_proportions_ci(x1, n1, x2, n2, method="miettinen-nurminen")
        if min(abs(d.ci_low), abs(d.ci_high)) > 1e-9:
            assert (d.pvalue < 0.05) == (not d.ci_low <= 0 <= d.ci_high), (x1, n1, x2, n2, d)
        r = ratio_proportions_ci(x1, n1, x2, n2)
        if min(abs(r.ci_low - 1), abs(r.ci_high - 1)) > 1e-9:
            assert (r.pvalue < 0.05) == (not r.ci_low <= 1 <= r.ci_high), (x1, n1, x2, n2, r)


@pytest.mark.parametrize("table", [(0, 10, 0, 20), (10, 10, 0, 20), (0, 10, 20, 20), (10, 10, 20, 20), (0, 1, 1, 1)])
def test_extreme_tables_do_not_crash(table):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no runtime warnings either
        for m in DIFF_METHODS:
            assert contains(diff_proportions_ci(*table, method=m), -1, 1)
        for m in RATIO_METHODS:
            assert contains(ratio_proportions_ci(*table, method=m), 0, math.inf)
        for m in ("woolf", "exact"):
            assert contains(odds_ratio_ci(*table, method=m), 0, math.inf)


def test_large_counts():
    r = diff_proportions_ci(40_000, 200_000, 41_000, 200_000, method="miettinen-nurminen")
    w = diff_proportions_ci(40_000, 200_000, 41_000, 200_000, method="wald")
    assert limits(r) == pytest.approx(limits(w), abs=1e-4)
    r = ratio_proportions_ci(3, 1_000_000, 7, 1_000_000)
    assert 0 < r.ci_low < 3 / 7 < r.ci_high < math.inf


# ----------------------------------------------------------------------------- bad arguments

BAD = [
    (proportion_ci, (11, 10), {}, ValueError, r"successes.*11"),
    (proportion_ci, (-1, 10), {}, ValueError, r"successes.*-1"),
    (proportion_ci, (0, 0), {}, ValueError, r"\bn\b.*0"),
    (proportion_ci, (2.5, 10), {}, ValueError, r"successes.*2\.5"),
    (proportion_ci, ("3", 10), {}, TypeError, r"successes"),
    (proportion_ci, (3, 10), {"confidence": 1.0}, ValueError, r"confidence.*1\.0"),
    (proportion_ci, (3, 10), {"confidence": 0}, ValueError, r"confidence.*0"),
    (proportion_ci, (3, 10), {"confidence": "95%"}, TypeError, r"confidence"),
    (proportion_ci, (3, 10), {"method": "exact"}, ValueError, r"method.*'wilson'.*'exact'"),
    (diff_proportions_ci, (11, 10, 3, 10), {}, ValueError, r"x1.*11"),
    (diff_proportions_ci, (1, 10, -3, 10), {}, ValueError, r"x2.*-3"),
    (diff_proportions_ci, (0, 0, 0, 0), {}, ValueError, r"n1.*0"),
    (diff_proportions_ci, (1, 10, 0, 0), {}, ValueError, r"n2.*0"),
    (diff_proportions_ci, (1, 10, 3, 10), {"confidence": 1.5}, ValueError, r"confidence.*1\.5"),
    (diff_proportions_ci, (1, 10, 3, 10), {"method": "mee"}, ValueError, r"method.*'newcombe'.*'mee'"),
    (ratio_proportions_ci, (1, 10, 30, 20), {}, ValueError, r"x2.*30"),
    (ratio_proportions_ci, (1, -10, 3, 20), {}, ValueError, r"n1.*-10"),
    (ratio_proportions_ci, (1, 10, 3, 20), {"confidence": -0.1}, ValueError, r"confidence.*-0\.1"),
    (ratio_proportions_ci, (1, 10, 3, 20), {"method": "wald"}, ValueError, r"method.*'score'.*'wald'"),
    (odds_ratio_ci, (-1, 10, 3, 20), {}, ValueError, r"x1.*-1"),
    (odds_ratio_ci, (1, 10, 3, 2), {}, ValueError, r"x2.*3"),
    (odds_ratio_ci, (1, 10, 3, 20), {"confidence": 95}, ValueError, r"confidence.*95"),
    (odds_ratio_ci, (1, 10, 3, 20), {"method": "mid-p"}, ValueError, r"method.*'woolf'.*'mid-p'"),
    (odds_ratio_ci, (1, 10, 3, 20), {"method": None}, TypeError, r"method"),
]


@pytest.mark.parametrize(("func", "args", "kwargs", "exc", "pattern"), BAD)
def test_bad_arguments(func, args, kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        func(*args, **kwargs)
