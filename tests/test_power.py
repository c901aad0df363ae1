"""Tests for analysis.stats.power against published worked examples and simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats

from analysis.stats._result import SampleSize
from analysis.stats.power import (
    mde_proportions,
    mde_rates,
    power_proportions,
    power_rates,
    sample_size_proportions,
    sample_size_rates,
)
from analysis.stats.rates import compare_rates

# ------------------------------------------------------------------ proportions


def test_r_power_prop_test_power():
    # R's printed output (tests/Examples/stats-Ex.Rout.save, ?power.prop.test):
    # power.prop.test(n = 50, p1 = .50, p2 = .75) -> power = 0.7401659.
    assert power_proportions(0.5, 0.75, 50) == pytest.approx(0.7401659, abs=5e-8)


def test_r_power_prop_test_sample_size():
    # Same file: power.prop.test(p1 = .50, p2 = .75, power = .90) -> n = 76.70693.
    # (Not 76.65294: that number appears in no R output we could find.)
    assert power_proportions(0.5, 0.75, 76.70693) == pytest.approx(0.9, abs=1e-7)
    s = sample_size_proportions(0.5, 0.75, power=0.9)
    assert isinstance(s, SampleSize)
    assert (s.n1, s.n2, s.total) == (77, 77, 154)
    assert s.power >= 0.9 and s.alpha == 0.05


def test_r_power_prop_test_detectable_p2():
    # Same file: power.prop.test(n = 50, p1 = .5, power = .90) -> p2 = 0.8026141.
    # R solves with uniroot(tol = .Machine$double.eps^0.25 = 1.2e-4), so R's own value
    # is only good to that tolerance; ours solves to 1e-13.
    delta = mde_proportions(0.5, 50, power=0.9)
    assert 0.5 + delta == pytest.approx(0.8026141, abs=1.2e-4)
    assert power_proportions(0.5, 0.5 + delta, 50) == pytest.approx(0.9, abs=1e-10)


@pytest.mark.parametrize(
    "ratio, n1_cc",
    [
        # Zar (1999), Biostatistical Analysis, Example 24.26, as worked in the UNISTAT manual
        # ("Sample Size for Two Proportions"): p1 = .45, p2 = .25, power .9, alpha .05
        # two-tailed -> n1 = 127.2343; with n2/n1 = 3 -> n1 = 83.1527. These include the
        # continuity correction of Fleiss, Tytun & Ury (1980), applied here to our
        # uncorrected n1: n1' = n1/4 (1 + sqrt(1 + 2 (r + 1) / (r n1 |p1 - p2|)))^2.
        (1, 127.2343),
        (3, 83.1527),
    ],
)
def test_unequal_allocation_zar_unistat(ratio, n1_cc):
    n1 = optimize.brentq(lambda n: power_proportions(0.45, 0.25, n, ratio=ratio) - 0.9, 1, 1e4, xtol=1e-12)
    corrected = n1 / 4 * (1 + math.sqrt(1 + 2 * (ratio + 1) / (ratio * n1 * 0.2))) ** 2
    assert corrected == pytest.approx(n1_cc, abs=5e-5)
    s = sample_size_proportions(0.45, 0.25, power=0.9, ratio=ratio)
    assert s.n1 == math.ceil(n1) and s.n2 == math.ceil(ratio * s.n1)


@pytest.mark.parametrize(
    "alternative, p1, p2", [("smaller", 0.2, 0.26), ("larger", 0.3, 0.22), ("two-sided", 0.1, 0.15)]
)
def test_sample_size_is_the_smallest_reaching_power(alternative, p1, p2):
    s = sample_size_proportions(p1, p2, power=0.85, ratio=1.5, alternative=alternative)
    power = lambda n: power_proportions(p1, p2, n, ratio=1.5, alternative=alternative)
    assert power(s.n1) >= 0.85 > power(s.n1 - 1)
    assert s.n2 == math.ceil(1.5 * s.n1)


def test_one_sided_uses_alpha_in_one_tail():
    # At p1 = p2 a one-sided test rejects with probability alpha, a two-sided one with
    # alpha/2 in the direction counted (R's strict = FALSE convention).
    assert power_proportions(0.3, 0.3, 100, alternative="larger") == pytest.approx(0.05)
    assert power_proportions(0.3, 0.3, 100) == pytest.approx(0.025)


def _simulated_power_proportions(p1, p2, n1, n2, alpha, reps, rng):
    """Rejection rate of the pooled two-sample z test (written independently here)."""
    x1, x2 = rng.binomial(n1, p1, reps), rng.binomial(n2, p2, reps)
    pooled = (x1 + x2) / (n1 + n2)
    z = (x1 / n1 - x2 / n2) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return np.mean(2 * stats.norm.sf(np.abs(z)) < alpha)


@pytest.mark.parametrize("p1, p2, ratio", [(0.30, 0.40, 1.0), (0.12, 0.18, 2.0)])
def test_sample_size_proportions_simulated_power(p1, p2, ratio):
    rng = np.random.default_rng(7)
    s = sample_size_proportions(p1, p2, power=0.8, ratio=ratio)
    sim = _simulated_power_proportions(p1, p2, s.n1, s.n2, 0.05, 2000, rng)
    assert abs(sim - 0.8) < 0.03


# ----------------------------------------------------------------------- rates

PASS_NI = [
    # PASS documentation, "Non-Inferiority Tests for the Ratio of Two Poisson Rates"
    # (as quoted in statsmodels' test_rates_poisson.py::test_poisson_power_2ratio):
    # rate2 = 2.2, exposure 2.5 per subject, margin 1.2, one-sided alpha 0.025,
    # target power 0.90; (rate1, N1 = N2, achieved power).
    (1.8, 29, 0.90056),
    (1.9, 39, 0.90649),
    (2.2, 115, 0.90014),
    (2.4, 404, 0.90064),
]


@pytest.mark.parametrize("rate1, n, power", PASS_NI)
def test_pass_noninferiority_poisson(rate1, n, power):
    kw = dict(exposure_per_unit=2.5, alpha=0.025, margin=1.2, method="wald")
    assert power_rates(rate1, 2.2, n, **kw) == pytest.approx(power, abs=5e-6)
    s = sample_size_rates(rate1, 2.2, power=0.9, **kw)
    assert (s.n1, s.n2) == (n, n)
    assert s.power == pytest.approx(power, abs=5e-6)
    # The same design seen from the other side: superiority of group 2 by 1/margin.
    mirrored = power_rates(
        2.2, rate1, n, exposure_per_unit=2.5, alpha=0.025, margin=1 / 1.2, alternative="larger", method="wald"
    )
    assert mirrored == pytest.approx(power, abs=5e-6)


@pytest.mark.parametrize("method", ["score", "wald"])
def test_rate_power_is_alpha_at_the_null(method):
    p = power_rates(1.2, 1.0, 500, exposure_per_unit=3, margin=1.2, method=method)
    assert p == pytest.approx(0.05, abs=1e-12)


@pytest.mark.parametrize("method", ["score", "wald"])
def test_rate_sample_size_is_the_smallest_reaching_power(method):
    kw = dict(exposure_per_unit=4, ratio=0.5, method=method)
    s = sample_size_rates(0.03, 0.02, power=0.8, **kw)
    assert s.n2 == math.ceil(0.5 * s.n1)
    assert power_rates(0.03, 0.02, s.n1, **kw) >= 0.8 > power_rates(0.03, 0.02, s.n1 - 1, **kw)


def _simulated_rate_power(rate1, rate2, s, t, method, alpha, reps, rng, **test):
    """Rejection rate of compare_rates on Poisson data drawn for the design s."""
    e1, e2 = s.n1 * t, s.n2 * t
    y1, y2 = rng.poisson(rate1 * e1, reps), rng.poisson(rate2 * e2, reps)
    p = [compare_rates(a, e1, b, e2, method=method, **test).pvalue for a, b in zip(y1, y2)]
    return np.mean(np.array(p) < alpha)


@pytest.mark.parametrize("method", ["score", "wald"])
def test_noninferiority_sample_size_simulated_power(method):
    # Complaint rates per contact 0.018 (SMS) vs 0.02 (phone), 5 contacts per account,
    # margin 1.2, one-sided alpha 0.025, target power 0.8; the data are analysed with
    # compare_rates' test of the same method.
    rng = np.random.default_rng(11)
    s = sample_size_rates(0.018, 0.02, exposure_per_unit=5, power=0.8, alpha=0.025, margin=1.2, method=method)
    sim = _simulated_rate_power(0.018, 0.02, s, 5, method, 0.025, 2000, rng, value=1.2, alternative="smaller")
    assert abs(sim - 0.8) < 0.03


def test_two_sided_rate_sample_size_simulated_power():
    rng = np.random.default_rng(12)
    s = sample_size_rates(0.015, 0.01, exposure_per_unit=2, power=0.8, ratio=2.0)
    sim = _simulated_rate_power(0.015, 0.01, s, 2, "score", 0.05, 2000, rng)
    assert abs(sim - 0.8) < 0.03


@pytest.mark.parametrize(
    "alternative, margin", [("two-sided", None), ("larger", None), ("smaller", 1.2), ("smaller", None)]
)
@pytest.mark.parametrize("method", ["score", "wald"])
def test_mde_rates_round_trip(alternative, margin, method):
    kw = dict(exposure_per_unit=5, alpha=0.05, margin=margin, alternative=alternative, method=method)
    r = mde_rates(0.02, 3000, power=0.8, **kw)
    null = margin or 1.0
    assert (r < null) if alternative == "smaller" else (r > null)
    assert power_rates(0.02 * r, 0.02, 3000, **kw) == pytest.approx(0.8, abs=1e-9)


def test_mde_proportions_larger_goes_down():
    d = mde_proportions(0.4, 200, alternative="larger")
    assert power_proportions(0.4, 0.4 - d, 200, alternative="larger") == pytest.approx(0.8)


# --------------------------------------------------------------- bad arguments

BAD = [
    (sample_size_proportions, (0.0, 0.5), {}, ValueError, "p1"),
    (sample_size_proportions, (0.5, 1.2), {}, ValueError, "p2"),
    (sample_size_proportions, (0.5, "0.6"), {}, TypeError, "p2"),
    (sample_size_proportions, (0.5, 0.6), {"power": 1.0}, ValueError, "power"),
    (sample_size_proportions, (0.5, 0.6), {"alpha": 0}, ValueError, "alpha"),
    (sample_size_proportions, (0.5, 0.6), {"ratio": 0}, ValueError, "ratio"),
    (sample_size_proportions, (0.5, 0.6), {"alternative": "up"}, ValueError, "alternative"),
    (sample_size_proportions, (0.5, 0.5), {}, ValueError, "p1"),
    (sample_size_proportions, (0.5, 0.6), {"alternative": "larger"}, ValueError, "alternative"),
    (power_proportions, (0.5, 0.6, 0), {}, ValueError, "n1"),
    (power_proportions, (0.5, 0.6, 10), {"alpha": 1.5}, ValueError, "alpha"),
    (mde_proportions, (0.5, 3), {"power": 0.99}, ValueError, "n1"),
    (mde_proportions, (0.5, 100), {"power": -1}, ValueError, "power"),
    (sample_size_rates, (0, 0.02), {}, ValueError, "rate1"),
    (sample_size_rates, (0.01, -0.02), {}, ValueError, "rate2"),
    (sample_size_rates, (0.01, 0.02), {"exposure_per_unit": 0}, ValueError, "exposure_per_unit"),
    (sample_size_rates, (0.01, 0.02), {"margin": 0}, ValueError, "margin"),
    (sample_size_rates, (0.01, 0.02), {"method": "exact"}, ValueError, "method"),
    (sample_size_rates, (0.01, 0.02), {"power": 0}, ValueError, "power"),
    (sample_size_rates, (0.02, 0.02), {}, ValueError, "alternative"),
    (sample_size_rates, (0.03, 0.02), {"margin": 1.2}, ValueError, "alternative"),
    (power_rates, (0.01, 0.02, -5), {}, ValueError, "n1"),
    (power_rates, (0.01, 0.02, 5), {"ratio": None}, TypeError, "ratio"),
    (mde_rates, (0.02, 0), {}, ValueError, "n1"),
    (mde_rates, (0.02, 10), {"alternative": "sideways"}, ValueError, "alternative"),
]


@pytest.mark.parametrize(
    "func, args, kwargs, error, name", BAD, ids=[f"{b[0].__name__}-{b[4]}-{i}" for i, b in enumerate(BAD)]
)
def test_bad_arguments(func, args, kwargs, error, name):
    with pytest.raises(error, match=name):
        func(*args, **kwargs)


# ------------------------------------------------ designs from observed (edge) rates


def test_lift_designs_match_sample_size_and_name_what_cannot_be_planned():
    from analysis.stats.power import lift_designs

    t = lift_designs(0.3, (0.02, 0.75), (0.5, 0.1), power=0.8, alpha=0.05)
    ok = t[t.note.isna()]
    assert len(ok) == 2 and set(ok.lift) == {0.02}
    s = sample_size_proportions(0.32, 0.3, ratio=9.0)
    row = ok[ok.challenger_share == 0.1].iloc[0]
    assert (row.challenger, row.champion, row.total) == (s.n1, s.n2, s.total)
    gone = t[t.lift == 0.75]
    assert gone.total.isna().all() and gone.note.str.contains("reaches 100%").all()
    # everybody paid (the p1 = 1.01 of a 1-point lift), nobody paid
    assert lift_designs(1.0, (0.01,), (0.5,)).note.iloc[0].startswith("not computable: every baseline account paid")
    assert "no baseline account paid" in lift_designs(0.0, (0.01,), (0.5,)).note.iloc[0]
    with pytest.raises(ValueError, match="p0"):
        lift_designs(1.2, (0.01,), (0.5,))


def test_power_curve_and_detectable_lift_at_the_edges():
    from analysis.stats.power import detectable_lift, power_curve_proportions

    c = power_curve_proportions(0.985, (0.01, 0.02), (1000, 4000), ratio=3.0)
    assert set(c.lift) == {0.01} and list(c.attrs["not_computable"]) == [0.02]
    assert c.power.iloc[0] == pytest.approx(power_proportions(0.995, 0.985, 250, ratio=3.0))
    d, note = detectable_lift(0.4, 200, ratio=3.0)
    assert note is None and d == pytest.approx(mde_proportions(0.4, 200, ratio=3.0))
    for p0, words in ((0.0, "no baseline account paid"), (1.0, "every baseline account paid")):
        d, note = detectable_lift(p0, 500)
        assert math.isnan(d) and words in note
    d, note = detectable_lift(0.5, 3, power=0.99)
    assert math.isnan(d) and "no lift" in note


def test_noninferiority_designs_without_complaints():
    from analysis.stats.power import noninferiority_designs

    t = noninferiority_designs(0.002, (0.5, 0.2), margin=1.5)
    s = sample_size_rates(0.002, 0.002, margin=1.5, alternative="smaller", ratio=4.0)
    assert t.total.iloc[1] == s.total and t.note.isna().all()
    z = noninferiority_designs(0.0, (0.5,), margin=1.5)
    assert z.total.isna().all() and "no complaints" in z.note.iloc[0]
