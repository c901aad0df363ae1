"""Costs: unit costs applied to usage, without regenerating data or re-querying."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis import engine, stats
from analysis.data import io
from analysis.measures import costs

UC = costs.UnitCosts(
    currency="CNY",
    sms_per_segment=0.05,
    agent_cost_per_hour=36.0,
    dial_seconds=20.0,
    wrap_seconds=30.0,
    ai_voice_per_minute=0.2,
    phone_per_minute=0.0,
)


def test_tiny_dataset_costs_by_hand(tiny_dir):
    ds = io.load(tiny_dir)
    usage = costs.usage_stats(ds, by=("strategy",))
    out = costs.cost_summary(usage, UC).set_index("strategy")
    # agent time costs 0.01 per second. Account 1: 2 text segments -> 0.10; account 4: its one
    # text is after the horizon -> 0. Account 2: 2 dials, 1 connected, 180 s -> 0.01*(40+30+180) = 2.50;
    # account 3: 0.01*(20+30+20) = 0.70; account 5: 2 segments + 0.01*(20+30+95) = 1.55.
    assert out.loc["sms_only", "cost_per_account"] == pytest.approx(0.05)
    assert out.loc["phone_only", "cost_per_account"] == pytest.approx(1.60)
    assert out.loc["sms_then_phone", "total_cost"] == pytest.approx(1.55)
    assert out.loc["phone_only", "agent_hours"] == pytest.approx((40 + 30 + 180 + 20 + 30 + 20) / 3600)
    # phone_only: account 2 collected 500, account 3 nothing in the horizon
    assert out.loc["phone_only", "cost_per_unit_collected"] == pytest.approx(3.2 / 500)
    assert out.loc["phone_only", "cost_per_right_party_contact"] == pytest.approx(2.5 + 0.7)  # one right-party call
    assert math.isnan(out.loc["sms_then_phone", "cost_per_account_ci_low"])  # one account: no interval


@pytest.fixture(scope="module")
def generated(synthetic):
    ds = io.load(synthetic("cn_default", accounts=5000, seed=2).path)  # conftest.py; read-only
    return ds, costs.usage_stats(ds, by=("strategy", "segment"))


def test_matches_a_per_account_cost_computed_in_the_engine(generated):
    ds, usage = generated
    uc = costs.UnitCosts.from_scenario("cn_default")
    summary = costs.cost_summary(usage, uc)
    direct = engine.cell_stats(
        ds,
        by=("strategy", "segment"),
        metrics=["cost", "collected"],
        cross=[("cost", "collected")],
        derived=costs.account_cost_expression(uc),
    )
    assert (summary[["strategy", "segment"]].to_numpy() == direct[["strategy", "segment"]].to_numpy()).all()
    for (_, s), (_, d) in zip(summary.iterrows(), direct.iterrows()):
        n = d["accounts"]
        assert s["cost_per_account"] == pytest.approx(d["cost_sum"] / n, rel=1e-9)
        ref = stats.mean_ci(d["cost_sum"], d["cost_sumsq"], n)
        assert s["cost_per_account_ci_low"] == pytest.approx(ref.ci_low, rel=1e-6, abs=1e-9)
        if d["collected_sum"] > 0:
            r = stats.ratio_of_means_ci(
                d["cost_sum"],
                d["cost_sumsq"],
                d["collected_sum"],
                d["collected_sumsq"],
                d["cost__collected_sumprod"],
                n,
            )
            assert s["cost_per_unit_collected_ci_high"] == pytest.approx(r.ci_high, rel=1e-6)


def test_changing_a_unit_cost_needs_no_new_data_or_query(generated):
    _, usage = generated
    uc = costs.UnitCosts.from_scenario("cn_default")
    sens = costs.cost_sensitivity(usage, uc, "agent_cost_per_hour", [0.0, 50.0, 100.0])
    phone = sens[(sens["strategy"] == "phone_only") & (sens["segment"] == "M2-high")].sort_values("agent_cost_per_hour")
    c = phone["cost_per_account"].to_numpy()
    assert c[0] < c[1] < c[2]
    assert c[2] - c[1] == pytest.approx(c[1] - c[0])  # linear in the unit cost
    sms = sens[sens["strategy"] == "sms_only"].groupby("agent_cost_per_hour")["cost_per_account"].sum()
    assert np.allclose(sms.to_numpy(), sms.iloc[0])  # texts use no agent time
    # texts: one segment (a 66-character UCS-2 template) of 0.045 CNY per text sent
    base = costs.cost_summary(usage, uc)
    row = base[base["strategy"] == "sms_only"].iloc[0]
    assert row["cost_per_attempt"] == pytest.approx(1 * 0.045)


def test_phone_costs_far_more_per_account_than_sms(generated):
    _, usage = generated
    out = costs.cost_summary(usage, costs.UnitCosts.from_scenario("cn_default"))
    totals = out.groupby("strategy")[["total_cost", "accounts"]].sum()
    by = totals["total_cost"] / totals["accounts"]
    assert by["phone_only"] > 10 * by["sms_only"]
    assert by["ai_voice"] < by["phone_only"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"sms_per_segment": -0.1}, "sms_per_segment must be a number >= 0"),
        ({"agent_cost_per_hour": "cheap"}, "agent_cost_per_hour must be a number"),
        ({"commission_rate": 1.5}, "commission_rate must be in [0, 1]"),
        ({"postage": 1.0}, "unknown unit cost(s) postage"),
    ],
    ids=["negative", "not-a-number", "commission-above-one", "unknown"],
)
def test_bad_unit_costs_are_named(kwargs, message):
    with pytest.raises(ValueError) as err:
        costs.UnitCosts.from_scenario("cn_default", **kwargs)
    assert message in str(err.value)


def test_sensitivity_rejects_unknown_cost(generated):
    _, usage = generated
    with pytest.raises(ValueError, match="unknown unit cost 'postage'"):
        costs.cost_sensitivity(usage, UC, "postage", [1.0])


def test_amounts_beyond_floating_point_variance_leave_only_those_intervals_out(tmp_path):
    from conftest import tiny_frames, write_parquet_dataset

    f = tiny_frames()
    f["payments"].loc[f["payments"].account_id == 2, "amount"] *= 1e200  # squares overflow float64
    ds = io.load(write_parquet_dataset(f, tmp_path / "huge"))
    usage = costs.usage_stats(ds, by=("strategy",))
    out = costs.cost_summary(usage, UC).set_index("strategy")
    phone = out.loc["phone_only"]
    # contact costs do not involve the money amounts: their interval is still there
    assert phone.cost_per_account == pytest.approx(1.60) and math.isfinite(phone.cost_per_account_ci_low)
    assert phone.cost_per_unit_collected == pytest.approx(1.60 / phone.collected_per_account)
    assert math.isnan(phone.cost_per_unit_collected_ci_low)
    # with a commission the cost itself carries the overflowing amount: no interval, no error
    with_commission = costs.cost_summary(usage, UC.replace(commission_rate=0.1)).set_index("strategy")
    assert math.isnan(with_commission.loc["phone_only", "cost_per_account_ci_low"])


def test_nothing_collected_leaves_cost_per_unit_collected_missing(tmp_path):
    from conftest import tiny_frames, write_parquet_dataset

    f = tiny_frames()
    f["payments"] = f["payments"].iloc[:0]
    out = costs.cost_summary(costs.usage_stats(io.load(write_parquet_dataset(f, tmp_path / "unpaid"))), UC)
    assert out.cost_per_unit_collected.isna().all() and out.cost_per_account.notna().all()


def test_the_cost_coefficients_are_defined_once():
    w = costs.contact_cost_weights(UC)
    per_second = 36.0 / 3600
    assert w == {
        "sms_segments": 0.05,
        "n_phone": per_second * 20.0,
        "phone_connected": per_second * 30.0,
        "phone_talk_seconds": per_second,
        "phone_billed_minutes": 0.0,
        "ai_voice_billed_minutes": 0.2,
        "collected": 0.0,
    }
    assert UC.weights().tolist() == [w[m] for m in costs.USAGE]
    assert costs.agent_seconds_weights(UC) == {"n_phone": 20.0, "phone_connected": 30.0, "phone_talk_seconds": 1.0}
    # the same from a mapping of draws: one weight per draw
    draws = {f: np.array([getattr(UC, f), 2 * getattr(UC, f)]) for f in ("sms_per_segment", "agent_cost_per_hour")}
    drawn = costs.contact_cost_weights({**{k: getattr(UC, k) for k in ("dial_seconds", "wrap_seconds")}, **draws})
    assert drawn["sms_segments"].tolist() == [0.05, 0.1] and drawn["n_phone"].tolist() == [0.2, 0.4]
    with pytest.raises(ValueError, match="unit costs lack dial_seconds"):
        costs.contact_cost_weights({"sms_per_segment": 0.05, "agent_cost_per_hour": 36.0, "wrap_seconds": 30.0})


def test_complaint_cost_weights():
    assert costs.complaint_cost_weights(150.0, 5000.0, 0.12) == {"complaints": 150.0 + 0.12 * 5000.0}
    assert costs.complaint_cost_weights(150.0, 5000.0, 0.12, escalation="observed") == {
        "complaints": 150.0,
        "complaints_escalated": 5000.0,
    }
    with pytest.raises(ValueError, match="unknown escalation 'maybe'"):
        costs.complaint_cost_weights(150.0, 5000.0, 0.12, escalation="maybe")
