"""The one decision function: pooling against published worked examples, the chance-constrained
programme on cases solved by hand, and the words it prints."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis.decide import decision as D

# --------------------------------------------------------------------------
# Partial pooling
# --------------------------------------------------------------------------
# BCG vaccine trials (Colditz et al. 1994), the worked example of metafor's rma(method = "DL"):
# tau^2 = 0.3088, estimate -0.7141 (SE 0.1787). Columns: tpos, tneg, cpos, cneg.
BCG = [
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
]


def _bcg():
    t = np.array(BCG, float)
    yi = np.log((t[:, 0] / (t[:, 0] + t[:, 1])) / (t[:, 2] / (t[:, 2] + t[:, 3])))
    vi = 1 / t[:, 0] - 1 / (t[:, 0] + t[:, 1]) + 1 / t[:, 2] - 1 / (t[:, 2] + t[:, 3])
    return yi, np.sqrt(vi)


def test_dersimonian_laird_matches_the_bcg_worked_example():
    yi, se = _bcg()
    p = D.pool_means(yi, se)
    assert p.spread == pytest.approx(0.3088, abs=5e-4)
    assert p.center == pytest.approx(-0.7141, abs=5e-4)
    w = 1 / (se**2 + p.spread)
    assert math.sqrt(1 / w.sum()) == pytest.approx(0.1787, abs=5e-4)
    b = p.spread / (p.spread + se**2)
    assert np.allclose(p.mean, p.center + b * (yi - p.center))
    assert np.all(np.abs(p.mean - p.center) <= np.abs(yi - p.center) + 1e-12)  # shrunk toward the centre


def test_pool_means_pools_fully_when_cells_agree_and_keeps_a_lone_cell():
    p = D.pool_means([1.0, 1.1, 0.9], [0.5, 0.5, 0.5])
    assert p.spread == 0 and np.allclose(p.mean, p.center) and "pooled fully" in p.note
    lone = D.pool_means([5.0], [2.0])
    assert lone.mean[0] == 5.0 and lone.var[0] == pytest.approx(4.0) and "one segment" in lone.note
    unknown = D.pool_means([1.0, 3.0, np.nan], [0.1, 0.1, np.nan])  # a cell of one account
    assert unknown.mean[2] == pytest.approx(unknown.center) and unknown.var[2] > unknown.spread


def test_pool_products_recovers_an_exact_product_and_keeps_a_strategy_that_does_not_follow_it():
    # gains c_g rho_s exactly (c = 300, 50, 200, 30; rho = 1, 0.9); a third strategy loses a little everywhere,
    # not in proportion to the segment's scale
    c, rho = np.array([300.0, 50.0, 200.0, 30.0]), {"phone": 1.0, "text+call": 0.9}
    seg = np.repeat(list("ABCD"), 3)
    strat = np.tile(["phone", "text+call", "none"], 4)
    loss = {"A": -5.0, "B": -12.0, "C": -1.0, "D": -8.0}
    g = np.array([loss[a] if b == "none" else c["ABCD".index(a)] * rho[b] for a, b in zip(seg, strat)])
    se = np.full(len(g), 2.0)
    p = D.pool_products(g, se, seg, strat)
    assert p is not None
    assert p.ratio["text+call"] / p.ratio["phone"] == pytest.approx(0.9, rel=1e-6)
    called = strat != "none"
    assert np.allclose(p.fit[called], g[called], atol=0.05)  # the product fits the calls
    assert p.spread["none"] > 10 * se[0] ** 2  # "none" does not follow it: its own estimates, nearly
    # shrunk less than a tenth of the way toward the product
    assert np.all(np.abs(p.mean - g)[~called] <= 0.1 * np.abs(p.fit - g)[~called])
    assert "partly pooled toward the segments' product fit" in p.note["none"]
    # a cell of one account (no standard error) takes the fit, with the fit's and the spread's variance
    se1 = se.copy()
    se1[0] = np.nan
    q = D.pool_products(g, se1, seg, strat)
    assert q is not None and q.mean[0] == pytest.approx(q.fit[0]) and q.var[0] > q.spread["phone"]


def test_pool_products_keeps_the_own_estimate_of_a_strategy_tried_in_one_segment():
    g = [10.0, 9.0, 4.0, 3.6, 1.0, 0.9, 7.0]
    se = [0.5] * 6 + [2.0]
    p = D.pool_products(g, se, list("AABBCC") + ["A"], ["call", "text"] * 3 + ["pilot"])
    assert p is not None and p.mean[6] == 7.0 and p.var[6] == pytest.approx(4.0)
    assert "one segment" in p.note["pilot"] and "product fit" in p.note["text"]


def test_pool_products_is_declined_when_the_cells_cannot_show_a_product():
    assert D.pool_products([1.0, 2.0, 3.0], [0.1] * 3, ["A", "B", "C"], ["call"] * 3) is None  # one strategy
    assert D.pool_products([1.0, 0.9], [0.1] * 2, ["A", "A"], ["call", "text"]) is None  # one segment
    # two segments by two strategies: 4 cells, 3 parameters: not two cells more
    assert D.pool_products([1.0, 0.9, 2.0, 1.8], [0.1] * 4, list("AABB"), ["call", "text"] * 2) is None


def test_pool_products_beats_pooling_toward_a_strategys_mean_on_gains_that_scale_with_the_segment():
    """Simulated: six segments whose gains differ tenfold (as balances do), two ways of calling whose gains are
    in a fixed ratio, one cell noisier than the others. Over 400 replications the product's posterior is
    closer to the truth than the raw estimates and than shrinkage toward a strategy's mean, and its 90%
    intervals cover the truth as often as they say (binomial 99.9% bounds over 4,800 intervals)."""
    rng = np.random.default_rng(3)
    c = np.array([310.0, 50.0, 200.0, 32.0, 165.0, 16.0])
    rho = np.array([1.0, 0.92])
    truth = (c[:, None] * rho).ravel()
    se = np.tile([23.0, 3.0, 22.0, 4.0, 22.0, 5.0], (2, 1)).T.ravel()
    seg = np.repeat(np.arange(6).astype(str), 2)
    strat = np.tile(["phone", "text+call"], 6)
    err = {"raw": [], "product": [], "strategy mean": []}
    covered = 0
    z = sps.norm.ppf(0.95)
    for _ in range(400):
        g = truth + rng.normal(0.0, se)
        p = D.pool_products(g, se, seg, strat)
        assert p is not None
        by_mean = np.empty_like(g)
        for s in ("phone", "text+call"):
            k = strat == s
            by_mean[k] = D.pool_means(g[k], se[k]).mean
        err["raw"].append(np.mean((g - truth) ** 2))
        err["product"].append(np.mean((p.mean - truth) ** 2))
        err["strategy mean"].append(np.mean((by_mean - truth) ** 2))
        covered += int(np.sum(np.abs(p.mean - truth) <= z * np.sqrt(p.var)))
    mse = {k: float(np.mean(v)) for k, v in err.items()}
    assert mse["product"] < 0.8 * mse["raw"], mse
    assert mse["product"] < 0.8 * mse["strategy mean"], mse
    n = 400 * len(truth)
    lo, hi = sps.binom.ppf([0.0005, 0.9995], n, 0.9)
    assert lo <= covered <= hi, (covered / n, lo / n, hi / n)


def test_pool_rates_pulls_a_zero_cell_toward_its_strategy():
    p = D.pool_rates([0, 30, 25, 35], [500, 10_000, 10_000, 10_000])
    assert 0 < p.mean[0] < 30 / 10_000 * 1.2
    assert p.mean[0] > 0.5 / 500 * 0.1  # not read as zero
    assert np.all((p.shape / p.rate) == p.mean)
    none = D.pool_rates([0, 0], [1000, 3000])
    assert np.all(none.mean > 0) and "no complaints" in none.note


def test_pool_rates_recovers_the_overdispersion_it_was_simulated_with():
    rng = np.random.default_rng(5)
    a_true, mu = 4.0, 0.003
    e = np.full(400, 20_000.0)
    r = rng.gamma(a_true, mu / a_true, size=e.size)
    y = rng.poisson(e * r)
    p = D.pool_rates(y, e)
    assert 1 / p.spread == pytest.approx(a_true, rel=0.25)
    assert p.center == pytest.approx(y.sum() / e.sum())
    # the posterior means predict the true rates better than the raw rates
    assert np.mean((p.mean - r) ** 2) < np.mean((y / e - r) ** 2)


def test_pool_rates_keeps_the_pooled_uncertainty_when_cells_agree():
    p = D.pool_rates([10, 10, 10], [10_000, 10_000, 10_000])
    pooled_sd = math.sqrt(30) / 30_000
    assert math.sqrt(p.var[0]) > 0.5 * pooled_sd  # never surer than all the data together


# --------------------------------------------------------------------------
# The programme on cases solved by hand
# --------------------------------------------------------------------------
def estimates(rows, *, baseline="base", complaint_cost=0.0) -> D.CellEstimates:
    """CellEstimates from rows (segment, strategy, population, share, gain, gain_sd, rate, rate_sd, hours)."""
    df = pd.DataFrame(
        rows,
        columns=[
            "segment",
            "strategy",
            "population",
            "current_share",
            "gain",
            "gain_sd",
            "complaints",
            "complaints_sd",
            "hours",
        ],
    )
    df["accounts"] = (df.population * df.current_share).round().astype(int)
    # a gamma with the given mean and sd
    sd = df.complaints_sd.where(df.complaints_sd > 0, df.complaints * 1e-6 + 1e-12)
    df["shape"] = (df.complaints / sd) ** 2
    df["rate"] = df.complaints / sd**2
    df["hours_se"] = 0.0
    df["net_gain"] = df.gain
    df["sd"] = 10.0
    for col in ("gain_raw", "gain_raw_se", "complaints_raw", "complaint_count"):
        df[col] = 0.0
    return D.CellEstimates(df, pd.DataFrame(), {}, complaint_cost, baseline, "CNY")


def two_segments(rate_sd=1e-9, gain_sd=1e-6):
    return estimates(
        [
            ("A", "base", 1000, 0.5, 0.0, 0.0, 1e-9, 1e-12, 0.0),
            ("A", "call", 1000, 0.5, 10.0, gain_sd, 0.002, rate_sd, 0.5),
            ("B", "base", 1000, 0.5, 0.0, 0.0, 1e-9, 1e-12, 0.0),
            ("B", "call", 1000, 0.5, 4.0, gain_sd, 0.002, rate_sd, 0.5),
        ]
    )


def test_unlimited_every_segment_takes_its_best_strategy():
    d = D.decide(two_segments(), None, baseline="base", capacity_hours=None, complaint_budget_per_10k=None)
    assert d.shares().loc[["A", "B"], "call"].tolist() == pytest.approx([1.0, 1.0])
    assert d.value["per_account"] == pytest.approx((1000 * 10 + 1000 * 4) / 2000, rel=1e-3)


def test_a_budget_gives_the_calls_to_the_segment_where_they_gain_most():
    # complaints per 10k accounts = 1e4 * 0.002 * 1000 * (xA + xB) / 2000 = 10 (xA + xB) <= 10
    d = D.decide(two_segments(), None, baseline="base", capacity_hours=None, complaint_budget_per_10k=10)
    sh = d.shares()  # (the rates' tiny spread takes a millionth off)
    assert sh.loc["A", "call"] == pytest.approx(1.0, abs=1e-5) and sh.loc["B", "call"] == pytest.approx(0.0, abs=1e-5)
    assert d.value["per_account"] == pytest.approx(5.0, rel=1e-3)
    assert d.limits.set_index("limit").loc["complaint_budget_per_10k", "expected"] == pytest.approx(10.0, rel=1e-4)


def test_the_capacity_is_shared_the_same_way():
    # hours = 1000 * 0.5 * (xA + xB) <= 750: A fully, B half
    d = D.decide(two_segments(), None, baseline="base", capacity_hours=750, complaint_budget_per_10k=None)
    sh = d.shares()
    assert sh.loc["A", "call"] == pytest.approx(1.0, abs=1e-6) and sh.loc["B", "call"] == pytest.approx(0.5, abs=1e-6)


def test_uncertain_agent_hours_leave_room_for_their_spread():
    # one segment, calls need 0.5 +- 0.1 agent hours per account: 1000 * (0.5 x + z * 0.1 x) <= 400
    est = estimates(
        [("A", "base", 1000, 0.5, 0.0, 0.0, 1e-9, 1e-12, 0.0), ("A", "call", 1000, 0.5, 10.0, 1e-6, 0.002, 1e-9, 0.5)]
    )
    est.cells.loc[1, "hours_se"] = 0.1
    for level in (0.8, 0.9, 0.95):
        z = sps.norm.ppf(level)
        d = D.decide(
            est,
            None,
            baseline="base",
            capacity_hours=400,
            complaint_budget_per_10k=None,
            level=level,
            draws=20_000,
            bound="chance",
        )
        x = d.shares().loc["A", "call"]
        assert x == pytest.approx(0.4 / (0.5 + 0.1 * z), rel=1e-4)
        # checked on fresh draws: it holds with about the level's probability
        assert d.limits.set_index("limit").loc["capacity_hours", "prob_holds"] == pytest.approx(level, abs=0.02)


def test_robust_agent_hours_hold_over_a_bonferroni_box():
    # two segments whose calls need 0.5 +- 0.1 and 0.4 +- 0.05 hours per account; 1000 accounts each, 900 hours:
    # each cell at its upper limit, z_b one-sided (a fixed capacity) over the 2 cells that use agents
    est = estimates(
        [
            ("A", "base", 1000, 0.5, 0.0, 0.0, 1e-9, 1e-12, 0.0),
            ("A", "call", 1000, 0.5, 10.0, 1e-6, 1e-9, 1e-12, 0.5),
            ("B", "base", 1000, 0.5, 0.0, 0.0, 1e-9, 1e-12, 0.0),
            ("B", "call", 1000, 0.5, 4.0, 1e-6, 1e-9, 1e-12, 0.4),
        ]
    )
    est.cells.loc[[1, 3], "hours_se"] = [0.1, 0.05]
    level = 0.9
    zb = sps.norm.ppf(1 - (1 - level) / 2)
    d = D.decide(est, None, baseline="base", capacity_hours=900, complaint_budget_per_10k=None, level=level)
    sh = d.shares()
    # A gains more per hour: all of A (1000 * (0.5 + 0.1 zb) hours), B with what is left
    assert sh.loc["A", "call"] == pytest.approx(1.0, abs=1e-6)
    assert sh.loc["B", "call"] == pytest.approx((900 - 1000 * (0.5 + 0.1 * zb)) / (1000 * (0.4 + 0.05 * zb)), rel=1e-5)


def test_robust_complaints_hold_at_the_exact_upper_limits_of_the_rates():
    # one segment; calls make 4 contacts per account, 12 complaints in 8,000 calls (2,000 accounts);
    # the base texts once, 1 complaint in 2,000 texts. Budget 30 per 10,000 accounts.
    from analysis.decide.decision import _channel_complaint_model

    est = estimates(
        [("A", "base", 4000, 0.5, 0.0, 0.0, 0.0005, 1e-4, 0.0), ("A", "call", 4000, 0.5, 10.0, 1e-6, 0.006, 1e-3, 0.0)]
    )
    cc = _contact_rows([(0, "sms", 2000, 1), (1, "phone", 8000, 12)])
    model = _channel_complaint_model(cc, [1, 12], np.array([2000.0, 2000.0]), ["A", "A"])
    est = dataclasses.replace(est, complaint_model=model)
    level = 0.9
    a = (1 - level) / 2  # two channels, Bonferroni; a fixed budget needs only the upper limits (one-sided)
    hi_sms = sps.gamma.ppf(1 - a, 2) / 2000  # exact (Garwood) upper limits
    hi_phone = sps.gamma.ppf(1 - a, 13) / 8000
    d = D.decide(est, None, baseline="base", capacity_hours=None, complaint_budget_per_10k=30, level=level)
    x = d.shares().loc["A", "call"]
    # 1e4 * ((1 - x) * 1 * hi_sms + x * 4 * hi_phone) <= 30
    assert x == pytest.approx((30e-4 - hi_sms) / (4 * hi_phone - hi_sms), rel=1e-5)
    chance = D.decide(
        est, None, baseline="base", capacity_hours=None, complaint_budget_per_10k=30, level=level, bound="chance"
    )
    assert chance.shares().loc["A", "call"] > x  # the posterior alone is more trusting
    # the same test applied to allocations from outside: the chosen one passes, a little more calls fail
    alloc = d.allocation[["segment", "strategy", "share"]]
    assert D.holds(est, alloc, capacity_hours=None, complaint_budget_per_10k=30, level=level) == {
        "capacity_hours": True,
        "complaint_budget_per_10k": True,
    }
    more = pd.DataFrame({"segment": ["A", "A"], "strategy": ["base", "call"], "share": [0.97 - x, x + 0.03]})
    assert not D.holds(est, more, capacity_hours=None, complaint_budget_per_10k=30, level=level)[
        "complaint_budget_per_10k"
    ]
    # the limit is stated on the model it was held on, at least the level, and how it was held in words
    lim = d.limits.set_index("limit").loc["complaint_budget_per_10k"]
    assert lim.prob_holds >= level and 0 <= lim.prob_holds_full <= 1
    assert "confidence box on the channels' complaint rates per contact" in lim.held_on
    with pytest.raises(ValueError, match="allocation lacks column"):
        D.holds(est, alloc.drop(columns="share"), complaint_budget_per_10k=30)


def test_complaints_that_differ_by_segment_are_not_moved_where_the_channel_box_does_not_look():
    # two segments, texts as the base and calls; 4 calls per account. A's calls complain at 5 per
    # 10,000, B's at 25 (10 and 50 complaints in 20,000 calls each); a text at 1 per 10,000. Calls gain
    # 10 per account in A and 20 in B. Hours unlimited, complaints no more than today (half of each
    # segment on calls). One rate per channel sees no cost in moving every call to B (the calls in total
    # do not rise: a + b = 1, and 20 b + 10 a is largest at b = 1); at the data's rates that raises
    # complaints: 10 (a - 1/2) + 50 (b - 1/2) > 0.
    from analysis.decide.decision import _channel_complaint_model

    est = estimates(
        [
            ("A", "base", 10_000, 0.5, 0.0, 0.0, 1e-4, 1e-5, 0.0),
            ("A", "call", 10_000, 0.5, 10.0, 0.5, 2e-3, 1e-4, 0.0),
            ("B", "base", 10_000, 0.5, 0.0, 0.0, 1e-4, 1e-5, 0.0),
            ("B", "call", 10_000, 0.5, 20.0, 0.5, 1e-2, 1e-4, 0.0),
        ]
    )
    cc = _contact_rows(
        [(0, "sms", 20_000, 2), (1, "phone", 20_000, 10), (2, "sms", 20_000, 2), (3, "phone", 20_000, 50)]
    )
    model = _channel_complaint_model(cc, [2, 10, 2, 50], np.array([5000.0] * 4), ["A", "A", "B", "B"])
    est = dataclasses.replace(est, complaint_model=model)
    d = D.decide(est, None, baseline="base", capacity_hours=None, level=0.9)
    sh = d.shares()
    a, b = sh.loc["A", "call"], sh.loc["B", "call"]
    # at the data's own rates per contact the chosen allocation keeps today's complaints
    assert 4 * (5e-4 * (a - 0.5) + 25e-4 * (b - 0.5)) + 1e-4 * ((0.5 - a) + (0.5 - b)) <= 0
    assert b < 0.6  # the calls are not moved to the segment where they cost more complaints
    lim = d.limits.set_index("limit").loc["complaint_budget_per_10k"]
    assert lim.prob_holds >= 0.9 and "differ by segment" in lim.held_on
    # the allocation one rate per channel would allow (all calls to B) fails the decision's own test
    all_b = pd.DataFrame({"segment": ["A", "A", "B", "B"], "strategy": ["base", "call"] * 2, "share": [1, 0, 0, 1.0]})
    assert not D.holds(est, all_b, capacity_hours=None, level=0.9)["complaint_budget_per_10k"]


def test_segment_factors_pull_agreeing_segments_to_one_and_keep_a_real_difference():
    from analysis.decide.decision import _SEGMENT_PRIOR_EVENTS, _segment_factors

    # two segments that agree with the channels' rates (30 and 31 complaints, 30.5 expected each)
    shape, rate, note = _segment_factors([30, 31], [30.5, 30.5])
    mean, sd = shape / rate, np.sqrt(shape) / rate
    assert mean == pytest.approx([1.0, 1.0], abs=0.02) and "shrunk toward 1" in note
    fixed_sd = np.sqrt(_SEGMENT_PRIOR_EVENTS + 30) / (_SEGMENT_PRIOR_EVENTS + 30.5)
    assert (sd < 0.75 * fixed_sd).all()  # tighter than the fixed Gamma(5, 5) prior
    # B complains five times as often as A: each keeps most of its own ratio (1/3 and 5/3)
    shape, rate, _ = _segment_factors([10, 50], [30, 30])
    assert shape[0] / rate[0] < 0.5 and shape[1] / rate[1] > 1.5
    # a segment with no expected complaint keeps the prior
    shape, rate, _ = _segment_factors([3, 4, 0], [3.0, 4.0, 0.0])
    assert shape[2] == rate[2]


def test_an_uncertain_complaint_rate_leaves_room_for_its_spread():
    # calls draw 0.002 +- 0.0004 complaints per account; 10 per 10,000 accounts allowed:
    # 1e4 * (0.002 x + z * 0.0004 x) <= 10
    est = estimates(
        [("A", "base", 1000, 0.5, 0.0, 0.0, 1e-9, 1e-12, 0.0), ("A", "call", 1000, 0.5, 10.0, 1e-6, 0.002, 0.0004, 0.5)]
    )
    for level in (0.8, 0.9, 0.95):
        d = D.decide(
            est,
            None,
            baseline="base",
            capacity_hours=None,
            complaint_budget_per_10k=10,
            level=level,
            draws=20_000,
            bound="chance",
        )
        x = d.shares().loc["A", "call"]
        assert x == pytest.approx(10 / (20 + 4 * sps.norm.ppf(level)), rel=1e-4)
        assert d.limits.set_index("limit").loc["complaint_budget_per_10k", "prob_holds"] == pytest.approx(
            level, abs=0.02
        )


def test_an_uncertain_complaint_rate_is_held_in_every_scenario_draw():
    # calls draw 0.002 +- 0.0004 complaints per account; 10 per 10,000 accounts allowed
    est = estimates(
        [("A", "base", 1000, 0.5, 0.0, 0.0, 1e-9, 1e-12, 0.0), ("A", "call", 1000, 0.5, 10.0, 1e-6, 0.002, 0.0004, 0.5)]
    )
    for level in (0.8, 0.9):
        d = D.decide(
            est, None, baseline="base", capacity_hours=None, complaint_budget_per_10k=10, level=level, bound="scenario"
        )
        x = d.shares().loc["A", "call"]
        # the scenario approach: the largest of S draws of 20 x (per 10k) stays within 10
        s = D.scenario_draws(level, 2)
        draws = D._draws(est, max(4000, s), np.random.default_rng(0))["complaints"][:s, 1]
        assert x == pytest.approx(10 / (1e4 * draws.max()), rel=1e-6)
        assert x < 10 / (20 + 4 * sps.norm.ppf(level))  # more careful than a Gaussian bound at the level
        assert d.limits.set_index("limit").loc["complaint_budget_per_10k", "prob_holds"] >= level


def test_scenario_draws_follow_calafiore_and_campi():
    assert D.scenario_draws(0.9, 30) == math.ceil(20 * (math.log(20) + 30))
    assert D.scenario_draws(0.95, 30) > D.scenario_draws(0.9, 30)


def test_a_move_needs_the_chosen_probability_of_gain():
    # B's call gains 4 +- 4 per account: P(gain > 0) = 0.84, moved at level 0.8, not at 0.9
    est = two_segments(gain_sd=4.0)
    moved = D.decide(est, None, baseline="base", capacity_hours=None, complaint_budget_per_10k=None, level=0.8)
    stays = D.decide(est, None, baseline="base", capacity_hours=None, complaint_budget_per_10k=None, level=0.9)
    assert moved.shares().loc["B", "call"] == pytest.approx(1.0)
    assert stays.shares().loc["B", "call"] == pytest.approx(0.0)
    rec = stays.segments.set_index("segment").loc["B"]
    assert not rec.moved and "not enough evidence yet" in rec.reason and "accounts per arm" in rec.reason
    assert math.isfinite(rec.test_accounts) and rec.test_accounts > 0


def test_the_default_keeps_no_more_than_today(tmp_path):
    d = D.decide(two_segments(rate_sd=0.0002), None, baseline="base")
    lim = d.limits.set_index("limit")
    for name in ("capacity_hours", "complaint_budget_per_10k"):
        assert lim.loc[name, "expected"] <= lim.loc[name, "bound"] + 1e-6
        assert lim.loc[name, "prob_holds"] >= 0.9 - 0.03
    assert "no more than the current allocation" in D.limits_sentence(d)
    # today's split is 50/50 in both segments: the calls move from B to A
    sh = d.shares()
    assert sh.loc["A", "call"] > 0.5 > sh.loc["B", "call"]


def test_an_impossible_budget_names_the_limit_and_the_least_reachable_value():
    est = estimates(
        [
            ("A", "base", 1000, 0.5, 0.0, 0.0, 0.001, 0.0001, 0.0),
            ("A", "call", 1000, 0.5, 10.0, 1e-6, 0.002, 0.0004, 0.5),
        ]
    )
    with pytest.raises(D.InfeasibleDecision) as e:
        D.decide(est, None, baseline="base", capacity_hours=None, complaint_budget_per_10k=5)
    assert e.value.constraint == "complaint_budget_per_10k"
    assert e.value.least == pytest.approx(10.0, rel=1e-6)  # all on the baseline: 1e4 * 0.001
    assert e.value.low < 10 < e.value.high
    assert "complaint_budget_per_10k=5 cannot be held with probability 0.9" in str(e.value)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(level=0.5), "level must be a probability in (0.5, 1)"),
        (dict(level=1.0), "level must be a probability in (0.5, 1)"),
        (dict(complaint_budget_per_10k=-1), "complaint_budget_per_10k must be 'current', 'unlimited' or a number >= 0"),
        (dict(capacity_hours="lots"), "capacity_hours must be 'current', 'unlimited' or a number >= 0"),
        (dict(capacity_hours=float("nan")), "capacity_hours must be"),
        (dict(draws=10), "draws must be a whole number >= 500"),
    ],
)
def test_bad_parameters_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        D.decide(two_segments(), None, baseline="base", **kwargs)


def test_parse_limit_accepts_words_and_numbers():
    assert D.parse_limit("current", "x") == D.Limit("current")
    assert D.parse_limit("unlimited", "x") == D.Limit("none") == D.parse_limit(None, "x")
    assert D.parse_limit("1_000", "x") == D.Limit("value", 1000.0)


def test_the_table_states_the_limits_and_every_segment():
    d = D.decide(two_segments(), None, baseline="base", capacity_hours=None, complaint_budget_per_10k=10)
    text = D.decision_table(d, currency="CNY")
    assert text.startswith("Limits: agent hours: unlimited; complaints per 10,000 accounts: at most 10.00")
    assert "  A: call 100%; moves to call" in text and "  B: base 100%; stays" in text
    assert "nan" not in text.lower()


def test_what_if_and_frontier_reuse_the_estimates():
    est = two_segments()
    cases = {"in force": (None, 10), "double budget": (None, 20), "impossible": (None, -0.0)}
    w = D.what_if(est, None, cases, baseline="base")
    assert list(w.status) == ["decided", "decided", "infeasible"]
    assert w.value_per_account.tolist()[:2] == pytest.approx([5.0, 7.0], abs=1e-3)
    assert "cannot be held" in w.note.iloc[2]
    f = D.frontier(est, None, over="complaint_budget", points=[0, 5, 10, 20], baseline="base", capacity_hours=None)
    assert list(f.status) == ["infeasible", "optimal", "optimal", "optimal"]
    assert f.value_per_account.tolist()[1:] == pytest.approx([2.5, 5.0, 7.0], abs=1e-3)
    assert D.current_use(est) == pytest.approx({"agent_hours": 500.0, "complaints_per_10k": 10.0}, rel=1e-6)


def test_decisions_on_the_same_estimates_share_their_draws_and_a_brief_one_agrees():
    est = two_segments(rate_sd=0.0005, gain_sd=2.0)
    kw = dict(baseline="base", capacity_hours=None, complaint_budget_per_10k=12)
    first = D.decide(est, None, **kw)
    assert est._draws_memo and all(not a.flags.writeable for d in est._draws_memo.values() for a in d.values())
    again = D.decide(est, None, **kw)  # from the remembered draws: the very same answer
    assert again.value == first.value and again.allocation.equals(first.allocation)
    fresh = D.decide(dataclasses.replace(est), None, **kw)  # a copy remembers nothing: the same draws made anew
    assert fresh.value == first.value and not dataclasses.replace(est)._draws_memo
    brief = D.decide(est, None, **kw, detail=False)
    assert brief.value == first.value and brief.allocation.equals(first.allocation)
    assert brief.limits.drop(columns="setting").equals(first.limits.drop(columns="setting"))
    assert brief.segments.empty and list(brief.segments.columns) == list(first.segments.columns)
    assert brief.comparisons.empty and list(brief.comparisons.columns) == list(first.comparisons.columns)


# --------------------------------------------------------------------------
# Complaints per contact by channel
# --------------------------------------------------------------------------
def _contact_rows(rows):
    return pd.DataFrame(rows, columns=["cell", "channel", "contacts", "complaints"])


def test_the_channel_model_multiplies_contacts_per_account_by_the_rate_per_contact():
    # two segments x (texts only, calls only); every call cell complains at 1 per 1,000 calls, texts never
    cc = _contact_rows(
        [(0, "sms", 40_000, 0), (1, "phone", 20_000, 20), (2, "sms", 40_000, 0), (3, "phone", 40_000, 40)]
    )
    accounts = np.array([10_000, 10_000, 10_000, 10_000.0])
    model = D._channel_complaint_model(cc, [0, 20, 0, 40], accounts, ["A", "A", "B", "B"])
    draws = D._complaint_draws(model, 20_000, np.random.default_rng(1))
    mean = draws.mean(0)
    # the calls' rate is pooled over all 60 complaints in 60,000 calls: 2 calls per account in A, 4 in B
    assert mean[1] == pytest.approx(2e-3, rel=0.1) and mean[3] == pytest.approx(4e-3, rel=0.1)
    assert mean[3] / mean[1] == pytest.approx(2.0, rel=0.1)
    # texts: no complaint in 80,000 texts reads a small positive rate, far below the calls'
    assert 0 < mean[0] < 0.05 * mean[1]
    assert "per contact by channel" in model["note"]


def test_complaints_no_contact_explains_get_account_exposure_and_a_silent_strategy_none():
    cc = _contact_rows([(0, "phone", 10_000, 5), (1, "phone", 10_000, 5)])
    model = D._channel_complaint_model(
        cc, [9, 5, 0], np.array([1000, 1000, 1000.0]), ["A", "A", "A"], silent=[False, False, True]
    )
    assert D.UNLINKED in model["strategies"]  # cell 0's 4 complaints without a contact
    mean = D._complaint_draws(model, 20_000, np.random.default_rng(2)).mean(0)
    assert mean[0] > mean[1] > 0 and mean[2] == 0.0


def test_a_bad_bound_is_named():
    with pytest.raises(ValueError, match="bound must be one of robust, chance, scenario"):
        D.decide(two_segments(), None, baseline="base", bound="max")


@pytest.fixture(scope="module")
def small_worlds(tmp_path_factory):
    """Four small cn_default datasets and the scenario's truth (complaints as expected numbers)."""
    from analysis.data import io, synth
    from analysis.data.scenario import load_scenario

    sc = load_scenario("cn_default")
    truth = D.truth_cells(synth.simulate_truth(sc, accounts=30_000, seed=7), sc)
    data = []
    for seed in range(1, 5):
        out = tmp_path_factory.mktemp(f"world{seed}") / "data"
        synth.generate(scenario=sc, accounts=15_000, seed=seed, out=out, truth_accounts=1, progress=False)
        data.append(io.load(out))
    return sc, truth, data


def test_gains_are_pooled_toward_the_segments_product_unless_asked_otherwise(small_worlds):
    sc, _truth, data = small_worlds
    est = D.estimate(data[0], sc)
    gains = est.pooling[est.pooling.quantity == "gain before complaint costs"]
    assert gains.note.str.contains("product fit").all(), gains.note.tolist()
    old = D.estimate(data[0], sc, pool_gains="strategy")
    old_gains = old.pooling[old.pooling.quantity == "gain before complaint costs"]
    assert not old_gains.note.str.contains("product fit").any()
    assert np.allclose(est.cells.gain_raw, old.cells.gain_raw)  # the same data, pooled two ways
    assert not np.allclose(est.cells.gain, old.cells.gain)
    with pytest.raises(ValueError, match="pool_gains"):
        D.estimate(data[0], sc, pool_gains="segment")


def test_estimates_from_the_tables_model_complaints_per_contact(small_worlds):
    sc, truth, data = small_worlds
    est = D.estimate(data[0], sc)
    assert est.complaint_model["exposure"] == "contacts"
    assert "per contact by channel" in est.pooling.note.iloc[0]
    # every strategy's complaints over all segments: the truth inside the posterior's 99.9% range
    c = est.cells.merge(truth, on=["segment", "strategy"], suffixes=("", "_true"))
    w = c.population.to_numpy(float)
    for s, g in c.groupby("strategy"):
        if s == "no_contact":
            assert (g.complaints == 0).all()
            continue
        idx = g.index.to_numpy()
        draws = D._complaint_draws(est.complaint_model, 4000, np.random.default_rng(3))[:, idx] @ w[idx]
        true = float(g.complaints_true.to_numpy() @ w[idx])
        assert np.quantile(draws, 0.0005) <= true <= np.quantile(draws, 0.9995), s


def test_the_default_limits_hold_against_the_truth(small_worlds):
    # the chance constraint at 0.9, scored against the truth on four small datasets: true complaints and
    # agent hours of the chosen allocation within today's true use (at most one breach in four)
    sc, truth, data = small_worlds
    breaches = 0
    for ds in data:
        d = D.decide(ds, sc)
        c = d.estimates.cells
        pop = c.drop_duplicates("segment").set_index("segment").population.astype(float).to_dict()
        current = c[["segment", "strategy"]].assign(share=c.current_share)
        got = D.evaluate_truth(d.allocation[["segment", "strategy", "share"]], truth, pop)
        now = D.evaluate_truth(current, truth, pop)
        breaches += got["complaints_per_10k"] > now["complaints_per_10k"] * (1 + 1e-9) or got["agent_hours"] > now[
            "agent_hours"
        ] * (1 + 1e-9)
        assert got["value_per_account"] > now["value_per_account"]  # and it truly gains on today
    assert breaches <= 1


def test_segments_whose_complaints_differ_are_named_in_a_note():
    from analysis.decide.decision import _channel_complaint_model

    # the same calls per account in two segments; B complains five times as often per call
    cc = _contact_rows([(0, "phone", 20_000, 10), (1, "phone", 20_000, 50)])
    differ = _channel_complaint_model(cc, [10, 50], np.array([5000.0, 5000.0]), ["A", "B"])
    note = D.segment_factor_note(differ, ["A", "B"], 0.9)
    assert note is not None and "B 1." in note and "A 0." in note and "allows for it" in note
    same = _channel_complaint_model(
        _contact_rows([(0, "phone", 20_000, 30), (1, "phone", 20_000, 31)]),
        [30, 31],
        np.array([5000.0, 5000.0]),
        ["A", "B"],
    )
    assert D.segment_factor_note(same, ["A", "B"], 0.9) is None


def test_the_words_come_out_in_chinese_and_the_numbers_do_not_change():
    import re

    from analysis import i18n

    def run():
        est = two_segments()
        d = D.decide(est, None, baseline="base", capacity_hours=None, complaint_budget_per_10k=10)
        w = D.what_if(est, None, {"impossible": (None, -0.0)}, baseline="base")
        return d, D.limits_sentence(d), D.decision_table(d, currency="CNY"), w

    en, en_limits, en_table, en_w = run()
    try:
        i18n.set_language("zh")
        zh, zh_limits, zh_table, zh_w = run()
    finally:
        i18n.set_language("en")
    cjk = re.compile(r"[\u4e00-\u9fff]")
    assert cjk.search(zh_limits) and not cjk.search(en_limits)
    assert all(cjk.search(r) for r in zh.segments.reason) and not any(cjk.search(r) for r in en.segments.reason)
    assert all(cjk.search(h) for h in zh.limits.held_on) and cjk.search(zh_table) and cjk.search(zh_w.note.iloc[0])
    assert "cannot be held" in en_w.note.iloc[0]
    # the numbers are the words' only difference
    number_columns = en.segments.select_dtypes("number").columns
    pd.testing.assert_frame_equal(en.segments[number_columns], zh.segments[number_columns])
    pd.testing.assert_frame_equal(en.allocation, zh.allocation)
    pd.testing.assert_frame_equal(en.comparisons, zh.comparisons)
    assert en.value == zh.value
    number_columns = en.limits.select_dtypes("number").columns
    pd.testing.assert_frame_equal(en.limits[number_columns], zh.limits[number_columns])
    assert list(en.segments.strategy) == list(zh.segments.strategy)


def test_draws_that_do_not_depend_on_the_costs_are_made_once_and_give_the_same_numbers():
    """A what-if that moves a unit cost makes new estimates on the same complaint model: the complaint draws
    and the standard normals are reused, and the draws are exactly those made afresh from the seed."""
    cheap, dear = two_segments(rate_sd=0.0005, gain_sd=2.0), two_segments(rate_sd=0.0005, gain_sd=3.0)
    D._MODEL_DRAWS.clear()
    made = D._remembered_draws(cheap, 500, 7)
    assert len(D._MODEL_DRAWS) == 1
    again = D._remembered_draws(dear, 500, 7)  # other gains (costs), same model: the raw draws are reused
    assert len(D._MODEL_DRAWS) == 1
    fresh = D._draws(dear, 500, np.random.default_rng(7))
    assert all(np.array_equal(again[k], fresh[k]) for k in fresh)
    assert not np.array_equal(again["net"], made["net"])  # the gains' spread differs
    assert all(not a.flags.writeable for a in again.values())
    D._remembered_draws(cheap, 500, 8)  # another seed: made anew
    assert len(D._MODEL_DRAWS) == 2
