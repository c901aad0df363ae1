"""Moments: per-cell sums read back as means, covariances, pooled cells and linear combinations, checked on raw data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis import stats
from analysis.stats import Moments

METRICS = ("collected", "cost", "complaints")


def _raw(n: int, seed: int) -> pd.DataFrame:
    """Per-account values of three correlated metrics (money, a cost, a rare count)."""
    rng = np.random.default_rng(seed)
    cost = rng.gamma(2.0, 5.0, n)
    return pd.DataFrame(
        {
            "collected": 300.0 + 40.0 * cost + rng.normal(0.0, 200.0, n),
            "cost": cost,
            "complaints": rng.poisson(0.05 + 0.01 * cost, n).astype(float),
        }
    )


def _cell_stats(cells: dict[tuple[str, str], pd.DataFrame], *, reverse: bool = False) -> pd.DataFrame:
    """What the engine returns for these cells: keys, accounts, sums, sums of squares, cross-products."""
    rows = []
    for (segment, strategy), x in cells.items():
        row = {"segment": segment, "strategy": strategy, "accounts": len(x)}
        for m in METRICS:
            row[f"{m}_sum"] = x[m].sum()
            row[f"{m}_sumsq"] = (x[m] ** 2).sum()
        for i, a in enumerate(METRICS):
            for b in METRICS[i + 1 :]:
                name = f"{b}__{a}_sumprod" if reverse else f"{a}__{b}_sumprod"
                row[name] = (x[a] * x[b]).sum()
        rows.append(row)
    return pd.DataFrame(rows)


CELLS = {
    ("M1", "sms_only"): _raw(400, 1),
    ("M1", "phone_only"): _raw(150, 2),
    ("M2", "sms_only"): _raw(250, 3),
    ("M2", "phone_only"): _raw(90, 4),
}


@pytest.mark.parametrize("reverse", [False, True])
def test_mean_and_covariance_equal_numpy_on_the_raw_data(reverse):
    m = Moments.from_stats(_cell_stats(CELLS, reverse=reverse), METRICS)
    assert m.metrics == METRICS and len(m) == len(CELLS)
    assert list(m.keys.columns) == ["segment", "strategy"]  # the columns before ``accounts``
    for i, x in enumerate(CELLS.values()):
        assert m.n[i] == len(x)
        np.testing.assert_allclose(m.mean[i], x.mean().to_numpy(), rtol=1e-12)
        np.testing.assert_allclose(m.cov()[i], np.cov(x.to_numpy().T), rtol=1e-9, atol=1e-9)


def test_one_row_reads_as_one_cell():
    row = _cell_stats(CELLS).iloc[2]
    m = Moments.from_stats(row, METRICS)
    x = CELLS[("M2", "sms_only")]
    assert len(m) == 1 and m.keys.iloc[0].to_dict() == {"segment": "M2", "strategy": "sms_only"}
    np.testing.assert_allclose(m.mean[0], x.mean().to_numpy(), rtol=1e-12)
    assert Moments.from_stats(row.to_dict(), METRICS).sums.tolist() == m.sums.tolist()


def test_from_values_equals_from_stats_and_survives_a_round_trip():
    x = CELLS[("M1", "phone_only")]
    raw = Moments.from_values({c: x[c] for c in METRICS})
    frame = Moments.from_stats(_cell_stats({("M1", "phone_only"): x}), METRICS)
    np.testing.assert_allclose(raw.products, frame.products, rtol=1e-12)
    back = Moments.from_stats(frame.to_frame(), METRICS)
    assert back.to_frame().equals(frame.to_frame())


def test_pooled_moments_equal_those_of_the_concatenated_accounts():
    m = Moments.from_stats(_cell_stats(CELLS), METRICS)
    by_strategy = m.pool("strategy")
    assert by_strategy.keys.strategy.tolist() == ["phone_only", "sms_only"]  # sorted
    for i, strategy in enumerate(by_strategy.keys.strategy):
        x = pd.concat([v for (_, s), v in CELLS.items() if s == strategy])
        assert by_strategy.n[i] == len(x)
        np.testing.assert_allclose(by_strategy.mean[i], x.mean().to_numpy(), rtol=1e-12)
        np.testing.assert_allclose(by_strategy.cov()[i], np.cov(x.to_numpy().T), rtol=1e-9, atol=1e-9)
    everything = m.pool()
    x = pd.concat(list(CELLS.values()))
    assert len(everything) == 1 and everything.n[0] == len(x)
    np.testing.assert_allclose(everything.cov()[0], np.cov(x.to_numpy().T), rtol=1e-9, atol=1e-9)
    with pytest.raises(ValueError, match="cannot pool by region"):
        m.pool("region")


WEIGHTS = {"collected": 1.0, "cost": -1.0, "complaints": -750.0}


def test_linear_combination_mean_and_se_equal_those_of_per_account_values():
    m = Moments.from_stats(_cell_stats(CELLS), METRICS)
    comb = m.linear(WEIGHTS)
    for i, x in enumerate(CELLS.values()):
        v = sum(w * x[k] for k, w in WEIGHTS.items())  # the net value of each account
        assert comb.mean[i] == pytest.approx(v.mean(), rel=1e-12)
        assert comb.se[i] == pytest.approx(v.std(ddof=1) / math.sqrt(len(v)), rel=1e-9)


def test_combine_gives_the_sums_of_the_combination_and_its_t_interval():
    m = Moments.from_stats(_cell_stats(CELLS), METRICS)
    net = m.combine(WEIGHTS, "net")
    assert net.metrics == (*METRICS, "net")
    cis = m.mean_ci(WEIGHTS, confidence=0.9)
    for i, x in enumerate(CELLS.values()):
        v = sum(w * x[k] for k, w in WEIGHTS.items())
        assert net.sum("net")[i] == pytest.approx(v.sum(), rel=1e-12)
        assert net.sumsq("net")[i] == pytest.approx((v**2).sum(), rel=1e-12)
        assert net.sumprod("net", "cost")[i] == pytest.approx((v * x.cost).sum(), rel=1e-12)
        ref = stats.mean_ci(v.sum(), (v**2).sum(), len(v), confidence=0.9)
        assert (cis[i].estimate, cis[i].ci_low, cis[i].ci_high) == pytest.approx(
            (ref.estimate, ref.ci_low, ref.ci_high), rel=1e-9
        )
    assert m.mean_ci("cost")[0].estimate == pytest.approx(CELLS[("M1", "sms_only")].cost.mean(), rel=1e-12)


def test_no_accounts_and_one_account():
    empty = Moments.from_values({"x": [], "y": []})
    assert empty.n[0] == 0 and np.isnan(empty.mean).all() and np.isnan(empty.cov()).all()
    assert np.isnan(empty.linear({"x": 1.0}).mean).all() and np.isnan(empty.mean_ci("x")[0].estimate)
    one = Moments.from_values({"x": [3.0], "y": [5.0]})
    assert one.mean.tolist() == [[3.0, 5.0]]
    assert np.isnan(one.cov()).all()  # a variance needs two accounts
    comb = one.linear({"x": 2.0, "y": 1.0})
    assert comb.mean[0] == 11.0 and math.isnan(comb.se[0])
    e = one.mean_ci("y")[0]
    assert e.estimate == 5.0 and math.isnan(e.ci_low) and math.isnan(e.ci_high)
    # pooling a cell of no accounts changes nothing
    frame = pd.concat([one.to_frame(), empty.to_frame()], ignore_index=True)
    pooled = Moments.from_stats(frame, ["x", "y"]).pool()
    assert pooled.n[0] == 1 and pooled.mean.tolist() == [[3.0, 5.0]]


def test_a_missing_cross_product_is_named():
    stats_ = _cell_stats(CELLS).drop(columns="cost__complaints_sumprod")
    m = Moments.from_stats(stats_, METRICS)
    with pytest.raises(
        ValueError, match=r"no cross-product of cost and complaints \(a column cost__complaints_sumprod\)"
    ):
        m.cov()
    with pytest.raises(ValueError, match="cost and complaints"):
        m.linear(WEIGHTS)
    with pytest.raises(ValueError, match="cost and complaints"):
        m.combine(WEIGHTS, "net")
    # a metric weighted 0 needs no cross-product, and the others still give their moments
    assert m.linear({"collected": 1.0, "cost": -1.0, "complaints": 0.0}).mean[0] == pytest.approx(
        (CELLS[("M1", "sms_only")].collected - CELLS[("M1", "sms_only")].cost).mean(), rel=1e-12
    )
    assert m.select(["collected", "cost"]).cov().shape == (len(CELLS), 2, 2)
    # the combination's cross-product with complaints is unknown, and not written out
    net = m.combine({"collected": 1.0, "cost": -1.0}, "net")
    assert "collected__net_sumprod" in net.to_frame() and "complaints__net_sumprod" not in net.to_frame()


def test_missing_sums_and_bad_weights_are_named():
    with pytest.raises(ValueError, match="lack opted_out_sum, opted_out_sumsq"):
        Moments.from_stats(_cell_stats(CELLS), ["cost", "opted_out"])
    with pytest.raises(ValueError, match="no count column 'accounts'"):
        Moments.from_stats(_cell_stats(CELLS).drop(columns="accounts"), METRICS)
    m = Moments.from_stats(_cell_stats(CELLS), METRICS)
    with pytest.raises(ValueError, match="unknown metric 'paid'; metrics: collected, cost, complaints"):
        m.linear({"paid": 1.0})
    with pytest.raises(ValueError, match="weight of cost must be a finite number"):
        m.linear({"cost": math.nan})
    with pytest.raises(ValueError, match="new metric name"):
        m.combine({"cost": 1.0}, "cost")


def test_a_metric_with_its_own_count():
    # risk_score is missing for two of five accounts: its mean is over the three that have one
    frame = pd.DataFrame(
        {"accounts": [5], "risk_score_sum": [1.5], "risk_score_sumsq": [0.83], "risk_score_n": [3], "x_sum": [10.0]}
        | {"x_sumsq": [30.0], "risk_score__x_sumprod": [3.0]}
    )
    m = Moments.from_stats(frame, ["risk_score", "x"])
    assert m.mean.tolist() == [[0.5, 2.0]]
    assert m.select(["risk_score"]).cov()[0, 0, 0] == pytest.approx((0.83 - 3 * 0.25) / 2)
    with pytest.raises(ValueError, match="risk_score is missing for some accounts"):
        m.cov()
    assert "risk_score_n" in m.to_frame()


def test_sums_beyond_floating_point_stay_out_of_combinations_that_do_not_use_them():
    x = CELLS[("M1", "sms_only")]
    frame = _cell_stats({("M1", "sms_only"): x})
    frame["collected_sumsq"] = math.inf  # what the engine returns when a square overflows
    m = Moments.from_stats(frame, METRICS)
    assert math.isinf(m.combine({"collected": 1.0, "cost": -1.0}, "net").sumsq("net")[0])
    assert not np.isfinite(m.linear({"collected": 1.0}).se[0])
    cost_only = m.linear({"cost": 2.0, "collected": 0.0})
    assert cost_only.se[0] == pytest.approx(2 * x.cost.std(ddof=1) / math.sqrt(len(x)), rel=1e-9)
