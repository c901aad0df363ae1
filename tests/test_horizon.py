"""The long horizon: net value on losses avoided, compare's long fields, `compare --horizon`."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import engine
from analysis.data import io, synth
from analysis.data.scenario import LOSS_STAGES, load_scenario
from analysis.decide import compare, decision
from analysis.decide import economics as E
from analysis.measures.costs import UnitCosts

ROOT = Path(__file__).resolve().parents[1]
EQUAL = {
    "assignment": {
        "design": "randomised",
        "split": {"sms_only": 0.25, "phone_only": 0.25, "sms_then_phone": 0.25, "ai_voice": 0.25},
    }
}
BY = ["segment", "strategy"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp("horizon") / "cn"
    synth.generate(scenario="cn_default", accounts=20_000, truth_accounts=20_000, seed=11, out=out, overrides=EQUAL)
    return out, io.load(out), load_scenario("cn_default"), json.loads((out / "truth.json").read_text())


@pytest.fixture(scope="module")
def outcomes(data):
    """Per-account outcomes over the long window, computed by the engine (the hand computation's input)."""
    _, ds, sc, _ = data
    days = sc.long_horizon_days
    return engine.account_outcomes(
        ds, horizon_days=days, long_horizon_days=days, loss_rates=sc.loss_rates()
    ).to_pandas()


@pytest.fixture(scope="module")
def short_moments(data):
    _, ds, sc, _ = data
    return E.cell_moments(ds, sc)


def test_short_is_the_default_and_keeps_its_shape(data):
    _, ds, sc, _ = data
    m = E.cell_moments(ds, sc)
    assert (m.horizon, m.measures, m.mean.shape[1]) == ("short", E.MEASURES, 9)
    short = E.cell_moments(ds, sc, horizon="short")
    np.testing.assert_allclose(short.mean, m.mean, rtol=1e-12)
    nv = E.net_value(m, sc)
    assert "expected_loss_per_account" not in nv and nv.attrs["horizon"] == "short"
    assert list(nv.columns) == [
        "segment",
        "strategy",
        "accounts",
        "population",
        "collected_per_account",
        "contact_cost_per_account",
        "complaint_cost_per_account",
        "net_value_per_account",
        "net_value_se",
        "net_value_ci_low",
        "net_value_ci_high",
        "net_value_vs_baseline",
        "vs_baseline_se",
        "vs_baseline_ci_low",
        "vs_baseline_ci_high",
        "agent_hours_per_account",
        "complaints_per_account",
    ]
    pd.testing.assert_frame_equal(E.net_value(ds, sc, horizon="short"), nv, rtol=1e-12)
    # moments built as before the horizon existed are short-horizon moments
    old = E.CellMoments(m.by, m.cells, m.mean, m.cov, m.discount_rate)
    pd.testing.assert_frame_equal(E.net_value(old, sc), nv)
    c = E._coef(E.assumptions(sc), "assumed")
    assert set(c) == {"collected", "contact_cost", "complaint_cost", "net_value"} and c["net_value"].shape == (9,)
    np.testing.assert_array_equal(c["net_value"], c["collected"] - c["contact_cost"] - c["complaint_cost"])
    # the decision reads short moments as it always did
    est = decision.estimate(m, sc)
    assert len(est.cells) == len(m.cells)
    recs = compare.headline(ds, costs=UnitCosts.from_scenario(sc))
    assert all(list(r) == [*compare.FIELDS, "currency"] for r in recs)


def _hand_value(o: pd.DataFrame, sc) -> pd.Series:
    """Long-basis net value of each account, from the engine's account outcomes and the scenario's assumptions."""
    a = E.assumptions(sc)
    contact = (
        a["costs.sms_per_segment"] * o.sms_segments
        + a["costs.agent_cost_per_hour"]
        / 3600
        * (a["costs.dial_seconds"] * o.n_phone + a["costs.wrap_seconds"] * o.phone_connected + o.phone_talk_seconds)
        + a["costs.phone_per_minute"] * o.phone_billed_minutes
        + a["costs.ai_voice_per_minute"] * o.ai_voice_billed_minutes
        + a["costs.commission_rate"] * o.collected
    )
    complaint = o.complaints * (
        a["economics.complaint_handling_cost"]
        + a["complaints.escalation_probability"] * a["economics.regulatory_escalation_cost"]
    )
    return -o.long_expected_loss - contact - complaint


def test_long_net_value_is_the_hand_computation_from_account_outcomes(data, outcomes):
    _, ds, sc, _ = data
    o = outcomes.assign(value=_hand_value(outcomes, sc))
    # over the long window the 30-day column `collected` is the money paid by the long horizon
    np.testing.assert_allclose(o.collected, o.long_collected, rtol=1e-12)
    m = E.cell_moments(ds, sc, horizon="long")
    assert (m.horizon, m.measures) == ("long", E.LONG_MEASURES) and m.measures[:9] == E.MEASURES
    nv = E.net_value(m, sc, horizon="long").set_index(BY)
    assert nv.attrs["horizon"] == "long"
    g = o.groupby(BY)
    hand = pd.DataFrame(
        {
            "n": g.size(),
            "value": g.value.mean(),
            "var": g.value.var(ddof=1),
            "loss": g.long_expected_loss.mean(),
            "collected": g.long_collected.mean(),
        }
    )
    nv = nv.join(hand)
    np.testing.assert_allclose(nv.net_value_per_account, nv.value, rtol=1e-9)
    np.testing.assert_allclose(nv.expected_loss_per_account, nv.loss, rtol=1e-9)
    np.testing.assert_allclose(nv.collected_per_account, nv.collected, rtol=1e-9)
    np.testing.assert_allclose(
        nv.net_value_per_account,
        -nv.expected_loss_per_account - nv.contact_cost_per_account - nv.complaint_cost_per_account,
        rtol=1e-12,
    )
    np.testing.assert_allclose(nv.net_value_se, np.sqrt(nv["var"] / nv.n), rtol=1e-6)
    base = nv.xs("sms_only", level="strategy")
    seg = nv.index.get_level_values("segment")
    np.testing.assert_allclose(nv.net_value_vs_baseline, nv.value - base.value.reindex(seg).to_numpy(), atol=1e-6)
    other = nv.index.get_level_values("strategy") != "sms_only"
    se = np.sqrt(nv["var"] / nv.n + (base["var"] / base.n).reindex(seg).to_numpy())
    np.testing.assert_allclose(nv.vs_baseline_se[other], se[other], rtol=1e-6)


def test_the_other_functions_read_the_long_moments(data):
    _, ds, sc, _ = data
    m = E.cell_moments(ds, sc, horizon="long")
    nv = E.net_value(m, sc, horizon="long").set_index(BY)
    s = E.monte_carlo(m, sc, draws=400, seed=1, assumption_ranges=False, horizon="long").summary.set_index(BY)
    arm = s.index.get_level_values("strategy") != "sms_only"
    assert np.allclose(s["mean"][arm], nv.net_value_vs_baseline[arm], atol=0.3 * nv.vs_baseline_se[arm].max())
    t = E.tornado(m, sc, cell={"segment": "M1-high"}, horizon="long")
    assert t.base.iloc[0] == pytest.approx(nv.loc[("M1-high", "phone_only"), "net_value_vs_baseline"])
    be = E.break_even(m, sc, horizon="long")
    r = be[be.break_even > 0].iloc[0]
    again = E.net_value(m, sc, horizon="long", unit_costs=UnitCosts.from_scenario(sc, agent_cost_per_hour=r.break_even))
    assert again.set_index(BY).loc[(r.segment, "phone_only"), "net_value_vs_baseline"] == pytest.approx(0, abs=1e-6)


def test_with_every_loss_rate_one_the_long_basis_is_the_short_formula_less_the_balance(data):
    _, ds, sc, _ = data
    ones = load_scenario("cn_default", overrides={"long_horizon": {"loss_rate": {k: 1.0 for k in LOSS_STAGES}}})
    long = E.net_value(ds, ones, horizon="long").set_index(BY)
    cash = E.net_value(ds, ones, horizon_days=ones.long_horizon_days).set_index(BY)  # short formula, long window
    cells = engine.cell_stats(ds, by=BY, metrics=["balance_due"]).set_index(BY)
    balance = (cells.balance_due_sum / cells.accounts).reindex(long.index)
    np.testing.assert_allclose(long.net_value_per_account, cash.net_value_per_account - balance, rtol=0, atol=1e-6)
    # differences against the baseline: the short formula's, net of the arms' difference in mean balance due
    base = balance.xs("sms_only", level="strategy").reindex(long.index.get_level_values("segment")).to_numpy()
    np.testing.assert_allclose(
        long.net_value_vs_baseline, cash.net_value_vs_baseline - (balance - base), rtol=0, atol=1e-6
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda ds, sc, m: E.cell_moments(ds, sc, horizon="medium"),
        lambda ds, sc, m: E.net_value(m, sc, horizon="90"),
        lambda ds, sc, m: E.monte_carlo(m, sc, draws=100, horizon=None),
        lambda ds, sc, m: E.break_even(m, sc, horizon="Long"),
        lambda ds, sc, m: E.tornado(m, sc, horizon=90),
        lambda ds, sc, m: E._coef(E.assumptions(sc), "assumed", "both"),
        lambda ds, sc, m: compare.headline(ds, costs=UnitCosts.from_scenario(sc), horizon="medium"),
    ],
    ids=["cell_moments", "net_value", "monte_carlo", "break_even", "tornado", "_coef", "headline"],
)
def test_a_bad_horizon_names_the_parameter_and_the_accepted_values(data, short_moments, call):
    _, ds, sc, _ = data
    with pytest.raises(ValueError, match=r"^horizon must be one of 'short', 'long', got "):
        call(ds, sc, short_moments)


def test_moments_of_the_other_horizon_and_a_scenario_without_loss_rates_are_refused(data):
    _, ds, sc, _ = data
    short = E.cell_moments(ds, sc, by=())
    with pytest.raises(
        ValueError, match="horizon='long' does not match the moments' horizon='short'.*no expected loss"
    ):
        E.net_value(short, sc, by=(), horizon="long")
    with pytest.raises(ValueError, match="horizon='short' does not match the moments' horizon='long'"):
        E.monte_carlo(E.cell_moments(ds, sc, by=(), horizon="long"), sc, by=(), draws=100)
    bare = dataclasses.replace(sc, settings={k: v for k, v in sc.settings.items() if k != "long_horizon"})
    with pytest.raises(ValueError, match=r"horizon='long' needs a long horizon with loss rates.*has none"):
        E.net_value(ds, bare, by=(), horizon="long")
    assert len(E.net_value(ds, bare, by=())) == 4  # the short basis needs none
    with pytest.raises(ValueError, match="horizon='long' needs long_horizon_days and loss_rates"):
        compare.headline(ds, costs=UnitCosts.from_scenario(sc), horizon="long", long_horizon_days=90)


def test_compare_long_fields_add_up_and_match_the_engine(data, outcomes):
    _, ds, sc, _ = data
    recs = compare.headline(
        ds,
        costs=UnitCosts.from_scenario(sc),
        horizon="long",
        long_horizon_days=sc.long_horizon_days,
        loss_rates=sc.loss_rates(),
    )
    by_strategy = outcomes.groupby("strategy")
    for r in recs:
        assert list(r) == [*compare.FIELDS, *compare.LONG_FIELDS, "currency"]
        assert r["cured_rate"] + r["delinquent_rate"] + r["rolled_rate"] == pytest.approx(1.0, abs=1e-12)
        for f in ("cured_rate", "delinquent_rate", "rolled_rate"):
            assert r[f"{f}_ci_low"] < r[f] < r[f"{f}_ci_high"]
        o = by_strategy.get_group(r["strategy"])
        assert r["expected_loss_per_account"] == pytest.approx(o.long_expected_loss.mean(), rel=1e-9)
        assert r["cured_rate"] == pytest.approx(o.long_cured.mean(), rel=1e-12)
        assert r["rolled_rate"] == pytest.approx(o.long_rolled.mean(), rel=1e-12)
        assert r["paid_rate"] == pytest.approx(o.long_paid.mean(), rel=1e-12)  # rates at the long window
        assert r["collected_per_account"] == pytest.approx(o.long_collected.mean(), rel=1e-9)
    grouped = compare.headline(
        ds,
        costs=UnitCosts.from_scenario(sc),
        by=("segment",),
        adjust=True,
        horizon="long",
        long_horizon_days=sc.long_horizon_days,
        loss_rates=sc.loss_rates(),
    )
    assert len(grouped) == 24 and all(r["adjusted_diff"] is not None for r in grouped)
    assert "cured / delinquent / rolled" in compare.format_table(recs)
    assert "cured" not in compare.format_table(compare.headline(ds, costs=UnitCosts.from_scenario(sc)))


def _strict(text: str):
    def refuse(name):
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def test_cli_compare_horizon_long_gives_strict_json_with_the_long_fields(data):
    path = data[0]
    run = lambda *a: subprocess.run(
        [sys.executable, "-m", "analysis", "compare", str(path), *a],  # noqa: E731
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    r = run("--horizon", "long", "--format", "json")
    assert r.returncode == 0, r.stderr
    recs = _strict(r.stdout)
    assert {x["strategy"] for x in recs} == {"sms_only", "phone_only", "sms_then_phone", "ai_voice"}
    for x in recs:
        assert set(compare.LONG_FIELDS) <= set(x)
        assert all(x[f] is not None for f in compare.LONG_FIELDS)
    short = compare.headline(data[1], costs=UnitCosts.from_scenario(data[2]))  # what `compare` prints without it
    assert short[0]["strategy"] == recs[0]["strategy"] == "sms_only"
    assert short[0]["paid_rate"] < recs[0]["paid_rate"]  # more have paid by day 90 than by day 30
    bad = run("--horizon", "medium")
    assert bad.returncode == 2 and "invalid choice: 'medium'" in bad.stderr and "Traceback" not in bad.stderr


def test_long_loss_per_account_is_near_the_truth(data):
    _, ds, sc, truth = data
    assert truth["long_horizon_days"] == sc.long_horizon_days
    k = E.LONG_MEASURES.index("expected_loss")
    m = E.cell_moments(ds, sc, by=(), horizon="long")
    for i, s in enumerate(m.cells.strategy):
        t = truth["strategies"][s]["long_horizon"]
        se = np.hypot(np.sqrt(m.cov[i, k, k]), t["mc_standard_error"]["expected_loss_per_account"])
        assert abs(m.mean[i, k] - t["expected_loss_per_account"]) < 4 * se, s
    seg = E.cell_moments(ds, sc, by=("segment",), horizon="long")
    true = {(g["segment"], s): r["long_horizon"] for g in truth["segments"] for s, r in g["strategies"].items()}
    z = [
        (seg.mean[i, k] - true[(c.segment, c.strategy)]["expected_loss_per_account"])
        / np.hypot(
            np.sqrt(seg.cov[i, k, k]), true[(c.segment, c.strategy)]["mc_standard_error"]["expected_loss_per_account"]
        )
        for i, c in enumerate(seg.cells.itertuples())
    ]
    assert np.abs(z).max() < 4.5 and np.mean(np.abs(z) < 2) >= 0.8, z


def test_the_decision_on_the_long_horizon(data):
    path, ds, sc, _ = data
    est = decision.estimate(ds, sc, horizon="long")
    assert est.horizon == "long"
    d = decision.decide(est, sc, capacity_hours=None, complaint_budget_per_10k=None)
    assert d.params["horizon"] == "long" and "losses avoided by the long horizon" in decision.limits_sentence(d)
    # the gains are on the long basis: the pooled gain of a strategy is its long net value less the baseline's,
    # before complaint costs (equal within the pooling's pull; the raw gain is exactly that difference)
    nv = E.net_value(ds, sc, horizon="long").set_index(BY)
    cells = est.cells.set_index(BY)
    for (seg, s), r in cells.iterrows():
        before = nv.net_value_per_account + nv.complaint_cost_per_account  # value before complaint costs
        raw = before[(seg, s)] - before[(seg, "sms_only")]
        assert r.gain_raw == pytest.approx(raw, rel=1e-9, abs=1e-6)
    with pytest.raises(ValueError, match="the estimates are on the 'long' horizon, not 'short'"):
        decision.decide(est, sc, horizon="short")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            "recommend",
            str(path),
            "--horizon",
            "long",
            "--capacity",
            "unlimited",
            "--complaint-budget",
            "unlimited",
            "--format",
            "json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["horizon"] == "long"
    assert out["allocation"] == decision.to_json(d)["allocation"]
