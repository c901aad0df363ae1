"""Tests for analysis.stats.multiple.adjust_pvalues (R p.adjust behaviour)."""

from __future__ import annotations

import gc
import math

import numpy as np
import pytest

from analysis.stats.multiple import adjust_pvalues

# Benjamini & Hochberg (1995), JRSS B 57:289-300, section 4: the fifteen p-values of Neuhaus et
# al.'s thrombolysis trial. At q = 0.05 the step-up procedure rejects the four smallest.
BH_1995 = [
    0.0001,
    0.0004,
    0.0019,
    0.0095,
    0.0201,
    0.0278,
    0.0298,
    0.0344,
    0.0459,
    0.3240,
    0.4262,
    0.5719,
    0.6528,
    0.7590,
    1.0000,
]


def test_bh_1995_published_example_rejects_four():
    adjusted = adjust_pvalues(BH_1995, method="bh")
    assert np.flatnonzero(adjusted <= 0.05).tolist() == [0, 1, 2, 3]


def by_definition(p, method):
    """Adjusted p-values straight from the definitions (O(m^2), written independently).

    Holm: max over j <= i (in sorted order) of min(1, (m - j + 1) p_(j)).
    BH:   min over j >= i (in sorted order) of min(1, m p_(j) / j).
    """
    m = len(p)
    order = sorted(range(m), key=lambda k: p[k])
    sorted_p = [p[k] for k in order]
    out = [0.0] * m
    for i, k in enumerate(order, start=1):
        if method == "holm":
            out[k] = max(min(1.0, (m - j + 1) * sorted_p[j - 1]) for j in range(1, i + 1))
        else:
            out[k] = min(min(1.0, m * sorted_p[j - 1] / j) for j in range(i, m + 1))
    return out


@pytest.mark.parametrize("method", ["holm", "bh"])
def test_bh_1995_values_by_definition(method):
    assert adjust_pvalues(BH_1995, method=method) == pytest.approx(by_definition(BH_1995, method))


def test_small_example_by_hand():
    # p = (0.01, 0.04, 0.03, 0.005), m = 4, worked by hand:
    # Holm: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04; running max
    #       0.02, 0.03, 0.06, 0.06; back in input order 0.03, 0.06, 0.06, 0.02.
    # BH:   sorted times 4/1, 4/2, 4/3, 4/4 = 0.02, 0.02, 0.04, 0.04; running min from the top
    #       gives the same; back in input order 0.02, 0.04, 0.04, 0.02.
    # Bonferroni: times 4 = 0.04, 0.16, 0.12, 0.02.
    p = [0.01, 0.04, 0.03, 0.005]
    assert adjust_pvalues(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert adjust_pvalues(p, method="bh") == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert adjust_pvalues(p, method="bonferroni") == pytest.approx([0.04, 0.16, 0.12, 0.02])


def test_matches_statsmodels_multipletests(monkeypatch):
    # Independent implementation: statsmodels (holm, fdr_bh, bonferroni), on random p-values
    # with ties.
    from statsmodels.stats.multitest import multipletests

    # statsmodels' holm runs a full gc.collect() on every call, to free memory; late in a test session,
    # with many objects alive, 50 of them take 10 s or more. Skipping that housekeeping (in this test
    # only) changes no value.
    monkeypatch.setattr(gc, "collect", lambda *args: 0)

    rng = np.random.default_rng(11)
    for _ in range(50):
        p = np.round(rng.uniform(0, 0.2, rng.integers(1, 30)) ** 2, 3)
        for ours, theirs in [("holm", "holm"), ("bh", "fdr_bh"), ("bonferroni", "bonferroni")]:
            expected = multipletests(p, method=theirs)[1]
            assert adjust_pvalues(p, method=ours) == pytest.approx(expected)


@pytest.mark.parametrize("method", ["holm", "bh", "bonferroni"])
def test_nans_pass_through_and_are_not_counted(method):
    # R's p.adjust (wch/r-source, src/library/stats/R/p.adjust.R) drops NAs before its lazy
    # default n = length(p) is evaluated, so NAs are not counted in m ("Can work with NA's" in
    # ?p.adjust): p.adjust(c(0.01, NA, 0.04), "holm") is 0.02, NA, 0.04.
    adjusted = adjust_pvalues([0.01, math.nan, 0.04, math.nan], method=method)
    assert np.isnan(adjusted[[1, 3]]).all()
    assert adjusted[[0, 2]] == pytest.approx(adjust_pvalues([0.01, 0.04], method=method))


def test_shapes_and_types():
    assert adjust_pvalues([]).shape == (0,)
    assert np.isnan(adjust_pvalues([math.nan])).all()
    out = adjust_pvalues((0.5,), method="bh")
    assert isinstance(out, np.ndarray) and out.tolist() == [0.5]
    values = np.array([0.2, 0.01])
    adjust_pvalues(values)
    assert values.tolist() == [0.2, 0.01]  # the input is not modified


BAD = [
    ([0.1, 1.2], {}, ValueError, r"pvalues.*1\.2"),
    ([0.1, -0.01], {}, ValueError, r"pvalues.*-0\.01"),
    ([[0.1, 0.2]], {}, ValueError, r"pvalues.*shape"),
    ("0.1", {}, TypeError, r"pvalues"),
    (0.1, {}, TypeError, r"pvalues"),
    ([0.1, "a"], {}, TypeError, r"pvalues"),
    ([0.1], {"method": "fdr"}, ValueError, r"method.*'holm'.*'fdr'"),
]


@pytest.mark.parametrize(("pvalues", "kwargs", "exc", "pattern"), BAD)
def test_bad_arguments(pvalues, kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        adjust_pvalues(pvalues, **kwargs)
