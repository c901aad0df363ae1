"""Economics: net value with delta-method intervals, Monte Carlo, break-even, tornado."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis import engine, stats
from analysis.data import io
from analysis.data.scenario import load_scenario
from analysis.decide import economics as E
from analysis.measures.costs import UnitCosts

EQUAL = {
    "assignment": {
        "design": "randomised",
        "split": {"sms_only": 0.25, "phone_only": 0.25, "sms_then_phone": 0.25, "ai_voice": 0.25},
    }
}


@pytest.fixture(scope="module")
def data(synthetic):
    # the same dataset as test_policy's, generated once (conftest.py); read-only
    out = synthetic("cn_default", accounts=60_000, truth_accounts=60_000, seed=1, overrides=EQUAL).path
    ds = io.load(out)
    sc = load_scenario("cn_default")
    return ds, sc, E.cell_moments(ds, sc), json.loads((out / "truth.json").read_text())


def true_net_values(truth: dict, sc) -> pd.DataFrame:
    """Net value per account per segment and strategy from truth.json (assumed escalation)."""
    a = E.assumptions(sc)
    rows = []
    for s in truth["segments"]:
        for st, r in s["strategies"].items():
            u, c = r["usage_per_account"], r["contacts_per_account"]
            hours = (
                c["phone"] * a["costs.dial_seconds"]
                + u["phone_connected"] * a["costs.wrap_seconds"]
                + u["phone_talk_seconds"]
            ) / 3600
            cost = (
                a["costs.sms_per_segment"] * u["sms_segments"]
                + a["costs.agent_cost_per_hour"] * hours
                + a["costs.phone_per_minute"] * u["phone_billed_minutes"]  # the line of a human call
                + a["costs.ai_voice_per_minute"] * u["ai_voice_billed_minutes"]
            )
            cc = r["complaints_per_account"] * (
                a["economics.complaint_handling_cost"]
                + a["complaints.escalation_probability"] * a["economics.regulatory_escalation_cost"]
            )
            rows.append(
                dict(
                    segment=s["segment"],
                    strategy=st,
                    net_value=r["collected_per_account"] - cost - cc,
                    agent_hours_per_account=hours,
                    complaints_per_account=r["complaints_per_account"],
                )
            )
    df = pd.DataFrame(rows)
    base = df[df.strategy == "sms_only"].set_index("segment").net_value
    df["net_value_vs_baseline"] = df.net_value - df.segment.map(base)
    return df


def test_net_value_equals_a_per_account_value_computed_in_the_engine(data):
    ds, sc, m, _ = data
    nv = E.net_value(m, sc).set_index(["segment", "strategy"])
    w = E._coef(E.assumptions(sc), "assumed")["net_value"]
    derived = {"v": lambda t: sum(float(c) * t[x].cast("float64") for c, x in zip(w, E.MEASURES))}
    direct = engine.cell_stats(ds, by=("segment", "strategy"), metrics=["v"], derived=derived)
    for _, d in direct.iterrows():
        row = nv.loc[(d.segment, d.strategy)]
        ref = stats.mean_ci(d.v_sum, d.v_sumsq, d.accounts)
        assert row.net_value_per_account == pytest.approx(ref.estimate, rel=1e-9)
        # the delta method is exact for a linear combination; normal vs t quantile only
        assert row.net_value_ci_high - row.net_value_per_account == pytest.approx(ref.ci_high - ref.estimate, rel=2e-3)
    parts = nv.collected_per_account - nv.contact_cost_per_account - nv.complaint_cost_per_account
    assert np.allclose(parts, nv.net_value_per_account)


def test_net_value_against_baseline_matches_the_truth(data):
    _, sc, m, truth = data
    nv = E.net_value(m, sc).merge(true_net_values(truth, sc), on=["segment", "strategy"], suffixes=("", "_true"))
    base = nv[nv.strategy == "sms_only"]
    assert (base.net_value_vs_baseline == 0).all() and (base.vs_baseline_se == 0).all()
    other = nv[nv.strategy != "sms_only"]
    z = (other.net_value_vs_baseline - other.net_value_vs_baseline_true) / other.vs_baseline_se
    assert (z.abs() < 3.5).all(), z.describe()
    covered = (other.vs_baseline_ci_low <= other.net_value_vs_baseline_true) & (
        other.net_value_vs_baseline_true <= other.vs_baseline_ci_high
    )
    assert covered.mean() >= 0.8
    # agent hours are a usage measure: close to the truth
    assert np.allclose(nv.agent_hours_per_account, nv.agent_hours_per_account_true, rtol=0.05, atol=1e-9)


def test_options_discount_strata_escalation_and_bad_arguments(data):
    ds, sc, m, _ = data
    plain = E.net_value(m, sc)
    disc = E.net_value(E.cell_moments(ds, sc, discount=True), sc)
    assert (disc.collected_per_account <= plain.collected_per_account + 1e-9).all()
    assert (disc.collected_per_account > 0.95 * plain.collected_per_account).all()  # 10% a year, < 30 days
    strat = E.net_value(E.cell_moments(ds, sc, strata=("product",)), sc)
    assert (strat.population == plain.population).all()
    assert np.allclose(strat.net_value_per_account, plain.net_value_per_account, rtol=0.1)
    obs = E.net_value(m, sc, escalation="observed")
    assert np.allclose(obs.contact_cost_per_account, plain.contact_cost_per_account)
    for kw, name in [
        ({"baseline": "letters"}, "baseline"),
        ({"escalation": "maybe"}, "escalation"),
        ({"confidence": 1.5}, "confidence"),
    ]:
        with pytest.raises(ValueError, match=name):
            E.net_value(m, sc, **kw)
    with pytest.raises(ValueError, match="draws"):
        E.monte_carlo(m, sc, draws=10)
    with pytest.raises(ValueError, match="unit_cost"):
        E.break_even(m, sc, unit_cost="coffee")
    with pytest.raises(ValueError, match="strategy"):
        E.tornado(m, sc, strategy="sms_only")


def test_monte_carlo_is_reproducible_and_probability_best_is_stable(data):
    _, sc, m, _ = data
    a, b = E.monte_carlo(m, sc, seed=0), E.monte_carlo(m, sc, seed=0)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    c = E.monte_carlo(m, sc, seed=1)
    assert (a.prob_best.prob_best - c.prob_best.prob_best).abs().max() <= E.PROB_BEST_TOLERANCE
    assert np.allclose(a.prob_best.groupby("segment").prob_best.sum(), 1.0)
    assert len(a.draws) == a.n_draws * len(m.cells)
    assert set(a.assumptions.columns) - {"draw"} == set(sc["uncertainty"])
    # sampling only: the draws reproduce the delta-method estimate and standard error
    s = E.monte_carlo(m, sc, seed=3, assumption_ranges=False).summary
    nv = E.net_value(m, sc)
    arm = nv.strategy != "sms_only"
    assert np.allclose(s["mean"][arm], nv.net_value_vs_baseline[arm], atol=0.05 * nv.vs_baseline_se[arm].max())
    assert np.allclose(s.sd[arm], nv.vs_baseline_se[arm], rtol=0.05)
    assert (s.p05 <= s.p50).all() and (s.p50 <= s.p95).all()


@pytest.mark.parametrize("unit", ["agent_cost_per_hour", "sms_per_segment"])
def test_break_even_makes_the_difference_zero(data, unit):
    _, sc, m, _ = data
    be = E.break_even(m, sc, unit_cost=unit)
    assert len(be) == 6 and be.break_even_se.gt(0).all()
    base = UnitCosts.from_scenario(sc)
    checked = 0
    for _, r in be[be.break_even > 0].iterrows():
        nv = E.net_value(m, sc, unit_costs=base.replace(**{unit: r.break_even})).set_index(["segment", "strategy"])
        assert nv.loc[(r.segment, "phone_only"), "net_value_vs_baseline"] == pytest.approx(0.0, abs=1e-6)
        checked += 1
    assert checked >= (3 if unit == "agent_cost_per_hour" else 0)  # SMS dearer only helps phone elsewhere
    if unit == "sms_per_segment":  # a break-even SMS price at or below zero: phone pays at any price of a text
        assert be[be.break_even <= 0].pays_at_current.all()
    assert (be.pays_at_current == (be.difference_at_current > 0)).all()
    assert (be.break_even_ci_low <= be.break_even).all() and (be.break_even <= be.break_even_ci_high).all()


def test_tornado_one_row_per_key_sorted_by_swing(data):
    _, sc, m, _ = data
    t = E.tornado(m, sc)
    assert sorted(t.key) == sorted(sc["uncertainty"])
    assert t.swing.is_monotonic_decreasing
    # a key flips the sign of the advantage exactly when its two ends lie on either side of 0
    assert (
        t.flips_sign == ((t.value_at_low < 0) != (t.value_at_high < 0)) & (t.value_at_low != 0) & (t.value_at_high != 0)
    ).all()
    # recompute one end by hand: population-weighted phone_only vs sms_only at the high agent cost
    row = t.set_index("key").loc["costs.agent_cost_per_hour"]
    nv = E.net_value(m, sc, unit_costs=UnitCosts.from_scenario(sc, agent_cost_per_hour=row.high))
    p = nv[nv.strategy == "phone_only"]
    assert row.value_at_high == pytest.approx((p.net_value_vs_baseline * p.population).sum() / p.population.sum())
    one = E.tornado(m, sc, cell={"segment": "M2-high"})
    base = E.net_value(m, sc).set_index(["segment", "strategy"])
    assert one.base.iloc[0] == pytest.approx(base.loc[("M2-high", "phone_only"), "net_value_vs_baseline"])


@pytest.fixture
def overflowing(tmp_path):
    """The tiny dataset with one payment so large that its square overflows float64."""
    from conftest import tiny_frames, write_parquet_dataset

    f = tiny_frames()
    f["payments"].loc[f["payments"].account_id == 2, "amount"] *= 1e200
    return io.load(write_parquet_dataset(f, tmp_path / "huge"))


def test_money_beyond_floating_point_is_named_not_an_eigenvalue_error(overflowing):
    sc = load_scenario("cn_default")
    m = E.cell_moments(overflowing, sc, by=())
    u = m.unsampled()
    assert list(u.strategy) == ["phone_only"] and u.measures.iloc[0] == "collected"
    assert m.uncertainty_note().startswith("not computable: the variance of phone_only (collected) is beyond")
    nv = E.net_value(m, sc, by=()).set_index("strategy")
    assert nv.loc["phone_only", "net_value_per_account"] > 1e199 and np.isnan(nv.loc["phone_only", "net_value_ci_low"])
    assert np.isfinite(nv.loc["sms_only", "net_value_ci_low"])
    with pytest.raises(ValueError, match=r"^Monte Carlo not computable: the variance of phone_only \(collected\)"):
        E.monte_carlo(m, sc, by=(), draws=200)
    mc = E.monte_carlo(m, sc, by=(), draws=200, unsampled="mean")
    assert mc.note.startswith("drawn at their means without sampling uncertainty, which is not computable")
    assert np.isfinite(mc.summary["mean"]).all() and mc.prob_best.prob_best.sum() == pytest.approx(1.0)
    by_segment = E.cell_moments(overflowing, sc, by=("segment",))  # one account a cell: no variance to overflow
    assert E.monte_carlo(by_segment, sc, draws=200).note is None
    with pytest.raises(ValueError, match="unsampled"):
        E.monte_carlo(m, sc, by=(), draws=200, unsampled="skip")


def test_price_flips_are_where_the_best_strategy_changes(data):
    ds, sc, m, _ = data
    flips = E.price_flips(m, sc)
    assert [p.key for p in flips] == list(E.PRICES)
    base = UnitCosts.from_scenario(sc)

    def overall(unit, price):
        """Net value per account of each strategy over the population (segments weighted by their accounts)."""
        nv = E.net_value(m, sc, unit_costs=base.replace(**{unit: price}))
        w = nv.population / nv.groupby("strategy").population.transform("sum")
        return (nv.net_value_per_account * w).groupby(nv.strategy).sum()

    for p in flips:
        unit = p.key.split(".", 1)[1]
        assert 0 <= p.low < p.current < p.high
        assert p.preferred == overall(unit, p.current).idxmax()
        for f in p.flips:
            assert p.low <= f.price <= p.high and 0 <= f.ci_low <= f.price <= f.ci_high
            at = overall(unit, f.price)
            assert at[f.before] == pytest.approx(at[f.after], rel=1e-9, abs=1e-9)
            step = 1e-6 * max(p.high, 1)
            assert overall(unit, f.price - step).idxmax() == f.before
            assert overall(unit, f.price + step).idxmax() == f.after
        if not p.flips:  # never within the range: the same strategy is best at both ends
            assert overall(unit, p.low).idxmax() == overall(unit, p.high).idxmax() == p.preferred


def test_net_value_prices_usage_and_complaints_with_the_cost_module():
    from analysis.measures import costs

    sc = load_scenario("cn_default")
    a = E.assumptions(sc)
    for escalation in ("assumed", "observed"):
        c = E._coef(a, escalation)
        contact = costs.contact_cost_weights(UnitCosts.from_scenario(sc))
        assert c["contact_cost"].tolist() == [contact.get(m, 0.0) for m in E.MEASURES]
        complaint = costs.complaint_cost_weights(
            a["economics.complaint_handling_cost"],
            a["economics.regulatory_escalation_cost"],
            a["complaints.escalation_probability"],
            escalation=escalation,
        )
        assert c["complaint_cost"].tolist() == [complaint.get(m, 0.0) for m in E.MEASURES]
