"""Tests of analysis.measures.causal: naive, post-stratified and IPW strategy effects."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from conftest import tiny_frames, write_parquet_dataset

from analysis.data import io
from analysis.measures import causal

Z95 = 1.959963984540054


# --------------------------------------------------------------------------
# Generated data (module scope: generated once)
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def randomised(synthetic):
    r = synthetic("cn_default", accounts=40_000, seed=3, truth_accounts=40_000)  # conftest.py; read-only
    return io.load(r.path), r.truth


@pytest.fixture(scope="module")
def targeted(synthetic):
    r = synthetic("cn_targeted", accounts=40_000, seed=1, truth_accounts=40_000)  # conftest.py; read-only
    return io.load(r.path), r.truth


def _off(df):
    """|estimate - truth| in units of the combined sampling and truth MC error."""
    return (df.estimate - df.truth).abs() / np.hypot(df.se, df.truth_se)


@pytest.mark.parametrize("outcome", ["paid", "collected"])
def test_randomised_all_methods_cover_truth_and_agree(randomised, outcome):
    ds, truth = randomised
    df = causal.compare_methods(ds, outcome=outcome, truth=truth)
    assert len(df) == 12 and set(df.method) == set(causal.METHODS)  # three challengers and the holdout
    assert set(df.strategy) == {"phone_only", "sms_then_phone", "ai_voice", "no_contact"}
    assert (_off(df) < 4).all(), df
    assert df.attrs["propensity"] == "recorded"
    for _, g in df.groupby("strategy"):
        est, se = g.set_index("method").estimate, g.se.max()
        assert est.max() - est.min() < se  # methods agree within one se
        # constant recorded propensities: Hajek IPW is the naive difference
        assert est["ipw"] == pytest.approx(est["naive"], rel=1e-9)
    assert (df.ci_low < df.estimate).all() and (df.estimate < df.ci_high).all()
    assert (df.accounts_strategy + df.accounts_baseline < 40_000).all()


@pytest.mark.parametrize("outcome", ["paid", "collected"])
def test_targeted_naive_biased_adjusted_not(targeted, outcome):
    ds, truth = targeted
    df = causal.compare_methods(ds, outcome=outcome, truth=truth).set_index(["strategy", "method"])
    po = df.loc["phone_only"]
    assert abs(po.loc["naive", "estimate"] - po.loc["naive", "truth"]) > 3 * po.loc["naive", "se"]
    assert not po.loc["naive", "covers"]
    off = _off(df.reset_index()).to_numpy().reshape(4, 3)  # strategies x (naive, poststrat, ipw)
    assert (off[:, 1:] < 3).all(), df


def test_ipw_estimated_propensity_equals_poststrat_point(targeted):
    ds, _ = targeted
    a = causal.strategy_effects(ds, method="ipw", propensity="estimated", outcome="collected")
    b = causal.strategy_effects(ds, method="poststrat", outcome="collected")
    assert a.attrs["propensity"] == "estimated"
    np.testing.assert_allclose(a.estimate, b.estimate, rtol=1e-9)
    # the super-population variance adds the (non-negative) heterogeneity term
    assert (a.se >= b.se * 0.99).all()


def test_cmh_on_targeted(targeted):
    ds, truth = targeted
    df = causal.cmh_effects(ds, outcome="paid").set_index("strategy")
    t = truth["strategies"]
    for s, row in df.iterrows():
        diff = t[s]["paid_rate"] - t["sms_only"]["paid_rate"]
        tse = math.hypot(t[s]["mc_standard_error"]["paid_rate"], t["sms_only"]["mc_standard_error"]["paid_rate"])
        assert abs(row.risk_difference - diff) < 3 * math.hypot(row.rd_se, tse)
        assert row.strata == 6
        if s != "no_contact":  # the holdout's -2 pp against texts is too small to sign in 2,000 accounts
            assert row.odds_ratio > 1 and row.cmh_pvalue < 0.01
    with pytest.raises(ValueError, match="bool outcome"):
        causal.cmh_effects(ds, outcome="collected")


# --------------------------------------------------------------------------
# Hand-made Simpson's paradox: phone looks worse overall, is better in each stratum
# --------------------------------------------------------------------------
# stratum  strategy    accounts  paid  amount paid each
# M1-low   sms_only       100     80     100
# M1-low   phone_only      20     18     100
# M3+-high sms_only        20      2     500
# M3+-high phone_only      60     12     500
_CELLS = [
    ("M1-low", "M1", "sms_only", 100, 80, 100.0),
    ("M1-low", "M1", "phone_only", 20, 18, 100.0),
    ("M3+-high", "M3+", "sms_only", 20, 2, 500.0),
    ("M3+-high", "M3+", "phone_only", 60, 12, 500.0),
]


def _simpson_frames(recorded: bool) -> tuple[dict, pd.DataFrame]:
    rows, k = [], 0
    for seg, bucket, strat, n, paid, amount in _CELLS:
        stratum_n = sum(c[3] for c in _CELLS if c[0] == seg)
        for i in range(n):
            k += 1
            rows.append(
                dict(
                    account_id=k,
                    segment=seg,
                    dpd_bucket=bucket,
                    strategy=strat,
                    assignment_probability=n / stratum_n if recorded else None,
                    paid=i < paid,
                    collected=amount if i < paid else 0.0,
                    # three unpaid sms accounts in a region with no phone account
                    region="west" if (strat == "sms_only" and seg == "M1-low" and i >= 97) else "east",
                )
            )
    acc = pd.DataFrame(rows)
    n = len(acc)
    accounts = pd.DataFrame(
        {
            "account_id": acc.account_id,
            "entry_date": [dt.date(2026, 3, 2)] * n,
            "product": "cash_loan",
            "currency": "CNY",
            "balance_due": np.where(acc.segment == "M1-low", 1000.0, 5000.0),
            "days_past_due": np.where(acc.dpd_bucket == "M1", 10, 100).astype("int32"),
            "dpd_bucket": acc.dpd_bucket,
            "risk_score": 0.5,
            "region": acc.region,
            "time_zone": "Asia/Shanghai",
            "segment": acc.segment,
            "strategy": acc.strategy,
            "assignment": "targeted",
            "assignment_probability": acc.assignment_probability.astype("float64"),
        }
    )
    payers = acc[acc.paid]
    payments = pd.DataFrame(
        {
            "payment_id": np.arange(1, len(payers) + 1),
            "account_id": payers.account_id.to_numpy(),
            "paid_at": pd.Timestamp("2026-03-04 04:00", tz="UTC"),
            "amount": payers.collected.to_numpy(),
        }
    )
    tiny = tiny_frames()
    contacts = tiny["contacts"].iloc[:1].assign(contact_id=1, account_id=1)  # contract: >= 1 contact
    empty = {name: tiny[name].iloc[:0] for name in ("complaints", "opt_outs")}
    return {"accounts": accounts, "contacts": contacts, "payments": payments, **empty}, acc


@pytest.fixture(scope="module")
def simpson(tmp_path_factory):
    out, rows = {}, {}
    for recorded in (True, False):
        frames, rows[recorded] = _simpson_frames(recorded)
        out[recorded] = io.load(write_parquet_dataset(frames, tmp_path_factory.mktemp("simpson")))
    return out, rows[True]


def _by_hand(acc: pd.DataFrame, y: str):
    """Post-stratified effect and se of phone_only vs sms_only, from the rows."""
    est = var = 0.0
    for _seg, g in acc.groupby("segment"):
        w = len(g) / len(acc)
        s = g.loc[g.strategy == "phone_only", y].astype(float)
        b = g.loc[g.strategy == "sms_only", y].astype(float)
        est += w * (s.mean() - b.mean())
        var += w**2 * (s.var(ddof=1) / len(s) + b.var(ddof=1) / len(b))
    return est, math.sqrt(var)


@pytest.mark.parametrize(
    "outcome, naive_value, post_value",
    [
        ("paid", 30 / 80 - 82 / 120, 0.6 * 0.1 + 0.4 * 0.1),
        ("collected", (1800 + 6000) / 80 - (8000 + 1000) / 120, 0.6 * (90 - 80) + 0.4 * (100 - 50)),
    ],
)
def test_simpson_poststrat_by_hand(simpson, outcome, naive_value, post_value):
    ds, acc = simpson[0][True], simpson[1]
    naive = causal.strategy_effects(ds, outcome=outcome).iloc[0]
    assert naive.strategy == "phone_only" and naive.estimate == pytest.approx(naive_value)
    assert naive.estimate < post_value and (outcome != "paid" or naive.estimate < 0)  # the paradox
    post = causal.strategy_effects(ds, outcome=outcome, method="poststrat").iloc[0]
    est, se = _by_hand(acc, outcome)
    assert est == pytest.approx(post_value) and post.estimate == pytest.approx(post_value)
    assert post.se == pytest.approx(se, rel=1e-9)
    assert (post.ci_low, post.ci_high) == pytest.approx((est - Z95 * se, est + Z95 * se), rel=1e-9)
    assert post.pvalue == pytest.approx(2 * (1 - 0.5 * (1 + math.erf(abs(est / se) / math.sqrt(2)))), rel=1e-6)
    assert post.mean_strategy == pytest.approx(
        0.6 * acc[(acc.segment == "M1-low") & (acc.strategy == "phone_only")][outcome].mean()
        + 0.4 * acc[(acc.segment == "M3+-high") & (acc.strategy == "phone_only")][outcome].mean()
    )
    assert (post.accounts_strategy, post.accounts_baseline) == (80, 120)


def test_simpson_ipw_recorded_and_estimated(simpson):
    (datasets, acc) = simpson
    rec = causal.strategy_effects(datasets[True], method="ipw", outcome="collected").iloc[0]
    est = causal.strategy_effects(datasets[False], method="ipw", outcome="collected").iloc[0]
    # propensities equal the arm shares within strata: Hajek IPW = post-stratification
    assert rec.estimate == pytest.approx(26.0) and est.estimate == pytest.approx(26.0)
    # sandwich variance by hand: sum_arm w^2 (y - mu)^2 / (sum_arm w)^2, arms added
    var = 0.0
    for arm in ("phone_only", "sms_only"):
        g = acc[acc.strategy == arm]
        w, y = 1 / g.assignment_probability.to_numpy(), g.collected.to_numpy()
        mu = (w * y).sum() / w.sum()
        var += (w**2 * (y - mu) ** 2).sum() / w.sum() ** 2
    assert rec.se == pytest.approx(math.sqrt(var), rel=1e-9)
    # estimated saturated propensities: within-stratum residuals + effect heterogeneity
    var = 0.0
    for _seg, g in acc.groupby("segment"):
        for arm in ("phone_only", "sms_only"):
            y = g.loc[g.strategy == arm, "collected"]
            var += (len(g) / len(y)) ** 2 * ((y - y.mean()) ** 2).sum()
        tau_k = g[g.strategy == "phone_only"].collected.mean() - g[g.strategy == "sms_only"].collected.mean()
        var += len(g) * (tau_k - 26.0) ** 2
    assert est.se == pytest.approx(math.sqrt(var) / len(acc), rel=1e-9)


def test_empty_strata_error_or_drop(simpson):
    ds = simpson[0][True]
    with pytest.raises(ValueError, match=r"west.*phone_only has 0"):
        causal.strategy_effects(ds, method="poststrat", strata=("segment", "region"))
    with pytest.warns(UserWarning, match="west"):
        df = causal.strategy_effects(ds, method="poststrat", strata=("segment", "region"), empty_strata="drop")
    assert df.accounts_baseline.iloc[0] == 117
    # what was left out is in the result, for a report to say (warnings are not shown there)
    (gone,) = df.attrs["dropped_strata"]
    assert gone["strategy"] == "phone_only" and gone["stratum"]["region"] == "west"
    assert gone["reason"].startswith("phone_only has 0 account(s)") and gone["accounts"] == 3
    with pytest.warns(UserWarning):
        both = causal.compare_methods(ds, strata=("segment", "region"), empty_strata="drop")
    assert both.attrs["dropped_strata"] == [gone]  # once, though poststrat and ipw both dropped it
    assert causal.strategy_effects(ds, method="poststrat").attrs["dropped_strata"] == []
    # no strata: post-stratification is the naive difference
    one = causal.strategy_effects(ds, method="poststrat", strata=())
    assert one.estimate.iloc[0] == pytest.approx(30 / 80 - 82 / 120)


@pytest.mark.parametrize(
    "func, kwargs, match",
    [
        (causal.strategy_effects, dict(outcome="nope"), r"unknown outcome 'nope'; allowed: .*paid"),
        (causal.strategy_effects, dict(outcome="account_id"), "unknown outcome"),
        (causal.strategy_effects, dict(baseline="letters"), r"unknown baseline 'letters'.*sms_only"),
        (causal.strategy_effects, dict(strategies=["ai_voice"]), r"unknown strategy 'ai_voice'.*phone_only"),
        (causal.strategy_effects, dict(strata=("nope",)), r"unknown strata column 'nope'; allowed: .*segment"),
        (causal.strategy_effects, dict(strata=("paid",)), "unknown strata column"),
        (causal.strategy_effects, dict(method="tmle"), r"unknown method 'tmle'; allowed: naive, poststrat, ipw"),
        (causal.strategy_effects, dict(method="ipw", propensity="x"), "unknown propensity"),
        (causal.strategy_effects, dict(empty_strata="ignore"), "unknown empty_strata"),
        (causal.strategy_effects, dict(confidence=1.5), "confidence"),
        (causal.compare_methods, dict(outcome="nope"), "unknown outcome"),
        (causal.cmh_effects, dict(baseline="letters"), "unknown baseline"),
        (causal.cmh_effects, dict(strata="nope"), "unknown strata column"),
    ],
)
def test_bad_arguments(simpson, func, kwargs, match):
    with pytest.raises(ValueError, match=match):
        func(simpson[0][True], **kwargs)


def test_recorded_propensity_required(simpson):
    with pytest.raises(ValueError, match="assignment_probability"):
        causal.strategy_effects(simpson[0][False], method="ipw", propensity="recorded")


def test_every_stratum_dropped_leaves_the_estimate_not_computable(tmp_path):
    from conftest import tiny_frames

    # tiny: no segment holds two accounts of both phone_only and sms_only
    ds = io.load(write_parquet_dataset(tiny_frames(), tmp_path / "tiny"))
    with pytest.warns(UserWarning):
        df = causal.strategy_effects(ds, method="poststrat", empty_strata="drop", strategies="phone_only")
    row = df.iloc[0]
    assert math.isnan(row.estimate) and math.isnan(row.ci_low)
    assert (row.accounts_strategy, row.accounts_baseline) == (0, 0)
    assert len(df.attrs["dropped_strata"]) == 4
