"""Tests for analysis.stats.strata against published worked examples.

Tables are written row-major as [[a, b], [c, d]] = rows group 1 / group 2,
columns event / no event. R builds its 2x2xK arrays column-major, so
``array(c(0, 0, 6, 5), dim = c(2, 2))`` is [[0, 6], [0, 5]] here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from analysis.stats._result import Estimate
from analysis.stats.strata import CMHResult, cmh, mh_risk_difference, mh_risk_ratio

# R ?mantelhaen.test: Agresti (1990) penicillin and rabbits; rows Delay None / 1.5h,
# columns Cured / Died, strata = penicillin level 1/8, 1/4, 1/2, 1, 4.
RABBITS = [[[0, 6], [0, 5]], [[3, 3], [0, 6]], [[6, 0], [2, 4]], [[5, 1], [6, 0]], [[2, 0], [5, 0]]]

# R datasets::UCBAdmissions: rows Male / Female, columns Admitted / Rejected, by department.
UCB = [
    [[512, 313], [89, 19]],
    [[353, 207], [17, 8]],
    [[120, 205], [202, 391]],
    [[138, 279], [131, 244]],
    [[53, 138], [94, 299]],
    [[22, 351], [24, 317]],
]

# SAS/STAT PROC FREQ documentation, "Cochran-Mantel-Haenszel Statistics" example
# (data set Migraine): rows Active / Placebo, columns Better / Same, strata female / male.
MIGRAINE = [[[16, 11], [5, 20]], [[12, 16], [7, 19]]]

# DescTools-based examples in statsmodels/stats/tests/test_contingency_tables.py
# (TestStratified2, TestStratified3); the odds ratio and all statistics are
# unchanged by transposing a table, so the layout there is used as is.
DESCTOOLS2 = [[[20, 14], [10, 24]], [[15, 12], [3, 15]], [[3, 2], [3, 2]], [[12, 3], [7, 5]], [[1, 0], [3, 2]]]
DESCTOOLS3 = [
    [[313, 512], [19, 89]],
    [[207, 353], [8, 17]],
    [[205, 120], [391, 202]],
    [[278, 139], [244, 131]],
    [[138, 53], [299, 94]],
    [[351, 22], [317, 24]],
]

# Agresti (2013), Categorical Data Analysis, 3rd ed., p. 226: eight-centre trial,
# rows Drug / Control, columns success / failure (as in cicalc's test suite).
AGRESTI_CENTRES = [
    [[11, 25], [10, 27]],
    [[16, 4], [22, 10]],
    [[14, 5], [7, 12]],
    [[2, 14], [1, 16]],
    [[6, 11], [0, 12]],
    [[1, 10], [0, 10]],
    [[1, 4], [1, 8]],
    [[4, 2], [6, 1]],
]


def test_rabbits_r_mantelhaen_test():
    # R's own output (tests/Examples/stats-Ex.Rout.save): mantelhaen.test(Rabbits) ->
    # Mantel-Haenszel X-squared = 3.9286, df = 1, p-value = 0.04747,
    # 95 percent CI 1.026713 47.725133, common odds ratio 7 (R default correct=TRUE).
    r = cmh(RABBITS, correction=True)
    assert isinstance(r, CMHResult) and isinstance(r, Estimate)
    assert r.statistic == pytest.approx(3.9286, abs=5e-5)
    assert r.pvalue == pytest.approx(0.04747, abs=5e-6)
    assert r.estimate == pytest.approx(7, abs=1e-12)
    assert (r.ci_low, r.ci_high) == pytest.approx((1.026713, 47.725133), abs=5e-7)
    assert r.correction and r.null == 1 and r.strata == 5


def test_ucb_admissions_r_mantelhaen_test():
    # R's own output (same file): mantelhaen.test(UCBAdmissions) ->
    # X-squared = 1.4269, p-value = 0.2323, 95 percent CI 0.7719074 1.0603298,
    # common odds ratio 0.9046968.
    r = cmh(UCB, correction=True)
    assert r.statistic == pytest.approx(1.4269, abs=5e-5)
    assert r.pvalue == pytest.approx(0.2323, abs=5e-5)
    assert r.estimate == pytest.approx(0.9046968, abs=5e-8)
    assert (r.ci_low, r.ci_high) == pytest.approx((0.7719074, 1.0603298), abs=5e-8)


def test_migraine_sas_cmh_without_correction():
    # SAS PROC FREQ documentation (Migraine example, Output "Cochran-Mantel-Haenszel
    # Statistics"): General Association, DF 1, Value 8.3052, Prob 0.0040. SAS uses no
    # continuity correction, which is the default here.
    r = cmh(MIGRAINE)
    assert not r.correction
    assert r.statistic == pytest.approx(8.3052, abs=5e-5)
    assert r.pvalue == pytest.approx(0.0040, abs=5e-5)


@pytest.mark.parametrize(
    "tables, odds, odds_tol, chi2, p, p_tol, ci",
    [
        # statsmodels test_contingency_tables.py TestStratified2 / TestStratified3:
        # R mantelhaen.test (correct=TRUE) values with DescTools::BreslowDayTest;
        # tolerances are half a unit in the last printed digit.
        (DESCTOOLS2, 3.5912, 5e-5, 11.8852, 0.0005658, 5e-8, (1.781135, 7.240633)),
        (DESCTOOLS3, 1.101879, 5e-7, 1.3368, 0.2476, 5e-5, (0.9402012, 1.2913602)),
    ],
)
def test_desctools_examples(tables, odds, odds_tol, chi2, p, p_tol, ci):
    r = cmh(tables, correction=True)
    assert r.estimate == pytest.approx(odds, abs=odds_tol)
    assert r.statistic == pytest.approx(chi2, abs=5e-5)
    assert r.pvalue == pytest.approx(p, abs=p_tol)
    assert (r.ci_low, r.ci_high) == pytest.approx(ci, abs=5e-7)


def test_breslow_day_desctools():
    # statsmodels TestStratified2 (DescTools::BreslowDayTest): correct=FALSE 1.8438,
    # correct=TRUE (Tarone) 1.8436, p-value 0.7645 on 4 df.
    r = cmh(DESCTOOLS2)
    assert r.breslow_day_statistic == pytest.approx(1.8438, abs=5e-5)
    assert r.homogeneity_statistic == pytest.approx(1.8436, abs=5e-5)
    assert r.homogeneity_pvalue == pytest.approx(0.7645, abs=5e-5)
    assert r.homogeneity_df == 4
    # TestStratified3: Breslow-Day 18.83297, p = 0.002064786 on 5 df. statsmodels lists the
    # same pair for the Tarone version, but there the correction is 1.3e-5, which moves the
    # last printed digit; so the Tarone value is only checked to be within that term.
    r = cmh(DESCTOOLS3)
    assert r.breslow_day_statistic == pytest.approx(18.83297, abs=5e-6)
    assert stats.chi2.sf(r.breslow_day_statistic, 5) == pytest.approx(0.002064786, abs=5e-10)
    assert 0 <= r.breslow_day_statistic - r.homogeneity_statistic < 2e-5


def test_correction_only_when_difference_exceeds_half():
    # R applies the 0.5 correction only when |sum(a - E a)| >= 0.5. statsmodels'
    # StratifiedTable.test_null_odds(correction=True) always subtracts it, which here
    # turns a statistic of 2e-5 into 0.14 (a library bug); we follow R.
    tables = [[[2, 3], [3, 3]], [[4, 4], [3, 4]]]
    a = np.array(tables, float)
    n1, m1, t = a[:, 0].sum(1), a[:, :, 0].sum(1), a.sum((1, 2))
    delta = np.sum(a[:, 0, 0] - n1 * m1 / t)
    assert abs(delta) < 0.5
    assert cmh(tables, correction=True).statistic == cmh(tables).statistic


def test_cmh_statistic_by_hand():
    # Independent computation of the CMH statistic and the MH odds ratio from
    # their defining sums (hypergeometric mean and variance per stratum).
    a = np.array(MIGRAINE, float)
    A, B, C, D = a[:, 0, 0], a[:, 0, 1], a[:, 1, 0], a[:, 1, 1]
    n1, n2, m1, m2, t = A + B, C + D, A + C, B + D, A + B + C + D
    chi2 = np.sum(A - n1 * m1 / t) ** 2 / np.sum(n1 * n2 * m1 * m2 / (t**2 * (t - 1)))
    r = cmh(MIGRAINE)
    assert r.statistic == pytest.approx(chi2, rel=1e-12)
    assert r.estimate == pytest.approx(np.sum(A * D / t) / np.sum(B * C / t), rel=1e-12)


def test_breslow_day_when_pooled_odds_ratio_is_exactly_one():
    # statsmodels' test_equal_odds divides by (1 - OR_MH) and returns NaN here
    # (library bug). Both strata have odds ratio 1, so the statistic is 0, p = 1.
    r = cmh([[[10, 10], [10, 10]], [[5, 5], [5, 5]]])
    assert r.estimate == 1
    assert r.breslow_day_statistic == pytest.approx(0, abs=1e-12)
    assert r.homogeneity_pvalue == pytest.approx(1)


def test_zero_strata_contribute_nothing():
    base = cmh(MIGRAINE)
    padded = cmh(MIGRAINE + [[[0, 0], [0, 0]]])
    assert padded == base
    assert mh_risk_difference(MIGRAINE + [[[0, 0], [0, 0]]]) == mh_risk_difference(MIGRAINE)
    assert mh_risk_ratio(MIGRAINE + [[[0, 0], [0, 0]]]) == mh_risk_ratio(MIGRAINE)


def test_degenerate_strata_are_left_out_of_breslow_day():
    # Rabbits strata 1 (nobody cured) and 5 (nobody died) have their first cell fixed
    # by the margins, leaving 3 informative strata, hence 2 df.
    assert cmh(RABBITS).homogeneity_df == 2


def test_all_empty_is_an_error():
    with pytest.raises(ValueError, match="tables"):
        cmh([[[0, 0], [0, 0]], [[0, 0], [0, 0]]])


# ------------------------------------------------------------ risk difference / ratio


def test_mh_risk_difference_agresti():
    # Agresti (2013), CDA 3rd ed., p. 231: MH risk difference 0.130 with SE 0.050
    # (as checked in cicalc's tests/testthat/test-prop_ci_common_risk.R).
    r = mh_risk_difference(AGRESTI_CENTRES)
    se = (r.ci_high - r.ci_low) / (2 * stats.norm.isf(0.025))
    assert round(r.estimate, 3) == 0.130
    assert round(se, 3) == 0.050


def test_mh_risk_difference_and_ratio_cicalc_example():
    # cicalc reference pages (ci_prop_diff_mh_strata, ci_rel_risk_cmh_strata): the example
    # responses expand(c(9, 3, 7, 2), rep(10, 4)) with alternating arms give treat 7/10 and
    # 5/10, control 5/10 and 4/10 in the two strata (12/20 vs 9/20 overall, as printed).
    # Printed: RD 0.15, Sato 95% CI (-0.1528, 0.4528); RR 1.333, CI (0.7344, 2.4208).
    tables = [[[7, 3], [5, 5]], [[5, 5], [4, 6]]]
    rd, rr = mh_risk_difference(tables), mh_risk_ratio(tables)
    assert rd.estimate == pytest.approx(0.15, abs=1e-12)
    assert (rd.ci_low, rd.ci_high) == pytest.approx((-0.1528, 0.4528), abs=5e-5)
    assert rr.estimate == pytest.approx(1.333, abs=5e-4)
    assert (rr.ci_low, rr.ci_high) == pytest.approx((0.7344, 2.4208), abs=5e-5)


def test_mh_risk_ratio_sas_migraine():
    # SAS PROC FREQ Migraine example, Mantel-Haenszel "Cohort (Col1 Risk)" relative risk
    # 2.1636 with 95% limits 1.2336 3.7948 (as checked in cicalc's test suite).
    r = mh_risk_ratio(MIGRAINE)
    assert r.estimate == pytest.approx(2.1636, abs=5e-5)
    assert (r.ci_low, r.ci_high) == pytest.approx((1.2336, 3.7948), abs=5e-5)


def test_single_stratum_variances_reduce_to_textbook_formulas():
    # Independent check: with one stratum the Sato variance is the unconditional
    # binomial variance p1 q1 / n1 + p2 q2 / n2, and the Greenland-Robins variance of
    # log RR is b / (a n1) + d / (c n2).
    a, b, c, d = 7, 23, 3, 12
    z = stats.norm.isf(0.025)
    rd = mh_risk_difference([[[a, b], [c, d]]])
    assert (rd.ci_high - rd.ci_low) / (2 * z) == pytest.approx(math.sqrt(a * b / 30**3 + c * d / 15**3), rel=1e-12)
    rr = mh_risk_ratio([[[a, b], [c, d]]])
    assert rr.estimate == pytest.approx((7 / 30) / (3 / 15))
    assert math.log(rr.ci_high / rr.estimate) / z == pytest.approx(math.sqrt(b / (a * 30) + d / (c * 15)), rel=1e-12)


@pytest.mark.parametrize("func", [cmh, mh_risk_ratio, mh_risk_difference])
def test_zero_cells_never_crash_and_intervals_contain_estimate(func):
    small = [[[a, 3 - a], [c, 2 - c]] for a in range(4) for c in range(3)]
    for t1 in small:
        for t2 in small:
            r = func([t1, t2])
            assert r.ci_low <= r.ci_high
            if not math.isnan(r.estimate):
                assert r.ci_low <= r.estimate <= r.ci_high, (t1, t2, r)
            if func is not mh_risk_difference:
                assert r.ci_low >= 0


def test_no_information_conventions():
    no_events = [[[0, 5], [0, 4]], [[0, 3], [0, 6]]]
    r = cmh(no_events)
    assert math.isnan(r.estimate) and (r.ci_low, r.ci_high) == (0, math.inf)
    assert math.isnan(r.statistic) and r.pvalue == 1
    rr = mh_risk_ratio(no_events)
    assert math.isnan(rr.estimate) and (rr.ci_low, rr.ci_high) == (0, math.inf)
    zero_group1 = [[[0, 5], [3, 4]]]
    rr = mh_risk_ratio(zero_group1)
    assert rr.estimate == 0 and (rr.ci_low, rr.ci_high) == (0, math.inf)
    assert cmh(zero_group1).estimate == 0


def test_accepts_weighted_cells_and_arrays():
    r1 = cmh(np.array(MIGRAINE) * 1.0)
    r2 = cmh(MIGRAINE)
    assert r1 == r2
    assert cmh([[[1.5, 2.25], [0.5, 3.0]], [[2, 1], [1, 2]]]).estimate > 0


BAD = [
    (cmh, ([[1, 2, 3], [4, 5, 6]],), {}, ValueError, "tables"),
    (cmh, ([[[1, 2], [3, 4], [5, 6]]],), {}, ValueError, "tables"),
    (cmh, ([],), {}, ValueError, "tables"),
    (cmh, ([[[1, -2], [3, 4]]],), {}, ValueError, "tables"),
    (cmh, ([[["a", 2], [3, 4]]],), {}, ValueError, "tables"),
    (cmh, (5,), {}, TypeError, "tables"),
    (cmh, (MIGRAINE,), {"confidence": 1.5}, ValueError, "confidence"),
    (cmh, (MIGRAINE,), {"correction": "yes"}, TypeError, "correction"),
    (mh_risk_difference, ([[[0, 0], [0, 0]]],), {}, ValueError, "tables"),
    (mh_risk_difference, (MIGRAINE,), {"confidence": 0}, ValueError, "confidence"),
    (mh_risk_ratio, ([[[1, 2]]],), {}, ValueError, "tables"),
    (mh_risk_ratio, (MIGRAINE,), {"confidence": -0.1}, ValueError, "confidence"),
]


@pytest.mark.parametrize(
    "func, args, kwargs, error, name", BAD, ids=[f"{b[0].__name__}-{b[4]}-{i}" for i, b in enumerate(BAD)]
)
def test_bad_arguments(func, args, kwargs, error, name):
    with pytest.raises(error, match=name):
        func(*args, **kwargs)


def test_cochran_q_matches_the_bcg_worked_example():
    """metafor's dat.bcg (log risk ratios): Q(df = 12) = 152.2330, I^2 (DerSimonian-Laird) = 92.12%."""
    import numpy as np

    from analysis.stats import cochran_q

    t = np.array(
        [
            (4, 119, 11, 128),
            (6, 300, 29, 274),
            (3, 228, 11, 209),
            (62, 13536, 248, 12619),
            (33, 5036, 47, 5761),
            (180, 1361, 372, 1079),
            (8, 2537, 10, 619),
            (505, 87886, 499, 87892),
            (29, 7470, 45, 7232),
            (17, 1699, 65, 1600),
            (186, 50448, 141, 27197),
            (5, 2493, 3, 2338),
            (27, 16886, 29, 17825),
        ],
        float,
    )
    yi = np.log((t[:, 0] / (t[:, 0] + t[:, 1])) / (t[:, 2] / (t[:, 2] + t[:, 3])))
    vi = 1 / t[:, 0] - 1 / (t[:, 0] + t[:, 1]) + 1 / t[:, 2] - 1 / (t[:, 2] + t[:, 3])
    r = cochran_q(yi, np.sqrt(vi))
    assert r.statistic == pytest.approx(152.2330, abs=1e-3)
    assert r.df == 12 and r.pvalue < 1e-20
    assert r.i2 == pytest.approx(0.9212, abs=5e-4)
    assert r.pooled == pytest.approx(-0.4303, abs=5e-4)  # the fixed-effect estimate of metafor's rma(method = "FE")


def test_cochran_q_leaves_out_estimates_without_a_standard_error():
    from analysis.stats import cochran_q

    r = cochran_q([1.0, 2.0, float("nan"), 5.0], [0.5, 0.5, 0.5, 0.0])
    assert r.k == 2 and r.df == 1 and r.statistic == pytest.approx(2.0)
    one = cochran_q([1.0], [0.1])
    assert one.k == 1 and math.isnan(one.pvalue)
