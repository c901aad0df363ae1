"""Response: funnel, outcomes and effects against a baseline."""

from __future__ import annotations

import math

import pytest

from analysis import stats
from analysis.data import io
from analysis.measures import response


def test_tiny_funnel_by_hand(tiny_dir):
    f = response.funnel(io.load(tiny_dir), by=("strategy",)).set_index(["strategy", "stage"])
    # phone_only: accounts 2 and 3 were called; account 2 talked (promise) and paid 500 (cured)
    assert f.loc[("phone_only", "contacted"), "count"] == 2
    assert f.loc[("phone_only", "reached"), "count"] == 2
    assert f.loc[("phone_only", "right_party"), "count"] == 1
    assert f.loc[("phone_only", "promise"), "count"] == 1
    assert f.loc[("phone_only", "cured"), "count"] == 1
    # sms_only: account 1 (texts, one delivered, paid in full); account 4 contacted only after the horizon
    assert f.loc[("sms_only", "contacted"), "count"] == 1
    assert f.loc[("sms_only", "reached"), "count"] == 1
    w = stats.proportion_ci(1, 2)
    assert f.loc[("sms_only", "paid"), "ci_low"] == pytest.approx(w.ci_low)


@pytest.fixture(scope="module")
def large(synthetic):
    res = synthetic("cn_default", accounts=40_000, seed=31, truth_accounts=40_000)  # conftest.py; read-only
    return io.load(res.path), res.truth


def test_funnel_is_monotone(large):
    ds, _ = large
    f = response.funnel(ds, by=("strategy",))
    for _, g in f.groupby("strategy"):
        g = g.set_index("stage")["count"]
        assert g["contacted"] >= g["reached"] >= g["right_party"]
        assert g["paid"] >= g["cured"]


def test_outcomes_cover_the_truth(large):
    ds, truth = large
    out = response.outcomes(ds, by=("strategy",)).set_index("strategy")
    for s, t in truth["strategies"].items():
        # (the paid-rate intervals' coverage over many seeds: tests/test_coverage.py)
        assert out.loc[s, "paid_rate_ci_low"] < out.loc[s, "paid_rate"] < out.loc[s, "paid_rate_ci_high"]
        se = (out.loc[s, "collected_ci_high"] - out.loc[s, "collected_ci_low"]) / 3.92
        assert abs(out.loc[s, "collected_per_account"] - t["collected_per_account"]) < 4 * math.hypot(
            se, t["mc_standard_error"]["collected_per_account"]
        )


def test_effects_against_baseline_match_truth(large):
    ds, truth = large
    eff = response.effects(ds, baseline="sms_only", outcome="paid").set_index("strategy")
    base = truth["strategies"]["sms_only"]["paid_rate"]
    for s in ("phone_only", "sms_then_phone", "ai_voice"):
        true = truth["strategies"][s]["paid_rate"] - base
        half = (eff.loc[s, "ci_high"] - eff.loc[s, "ci_low"]) / 2
        assert abs(eff.loc[s, "estimate"] - true) < 1.5 * half
    coll = response.effects(ds, baseline="sms_only", outcome="collected").set_index("strategy")
    assert coll.loc["phone_only", "estimate"] > 0


def test_effects_by_segment_adjust_for_multiple_testing(large):
    ds, _ = large
    eff = response.effects(ds, baseline="sms_only", by=("segment",), outcome="paid", adjust="holm")
    assert set(eff["segment"]) == {"M1-low", "M1-high", "M2-low", "M2-high", "M3+-low", "M3+-high"}
    assert (eff["pvalue_adjusted"] >= eff["pvalue"] - 1e-15).all()
    for _, g in eff.groupby("strategy"):
        assert g["pvalue_adjusted"].tolist() == pytest.approx(list(stats.adjust_pvalues(g["pvalue"].to_numpy())))


def test_bad_arguments(large):
    ds, _ = large
    with pytest.raises(ValueError, match="unknown baseline 'letters'"):
        response.effects(ds, baseline="letters")
    with pytest.raises(ValueError, match="outcome must be one of"):
        response.effects(ds, outcome="happiness")


def _frames_where(keep):
    from conftest import tiny_frames

    f = tiny_frames()
    ids = set(f["accounts"].account_id[keep(f["accounts"])])
    return {t: d[d.account_id.isin(ids)].reset_index(drop=True) for t, d in f.items()}


def test_effects_with_a_single_strategy_is_an_empty_frame_with_columns(tmp_path):
    from conftest import write_parquet_dataset

    ds = io.load(write_parquet_dataset(_frames_where(lambda a: a.strategy == "sms_only"), tmp_path / "one"))
    for by in ((), ("segment",)):
        eff = response.effects(ds, baseline="sms_only", by=by)
        assert eff.empty and {*by, "strategy", "estimate", "ci_low", "pvalue_adjusted"} <= set(eff.columns)


def test_money_effect_with_one_account_in_an_arm_has_no_interval(tiny_dir):
    # tiny: sms_then_phone has one account; money collected needs two per arm for a variance
    eff = response.effects(io.load(tiny_dir), baseline="sms_only", outcome="collected").set_index("strategy")
    one = eff.loc["sms_then_phone"]
    assert one.estimate == pytest.approx(0.0 - 1000.0 / 2)
    assert math.isnan(one.ci_low) and math.isnan(one.pvalue) and math.isnan(one.pvalue_adjusted)
    assert not math.isnan(eff.loc["phone_only", "ci_low"])
