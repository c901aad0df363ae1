"""Channel policy: the LP against brute force, constraints, infeasibility, truth, frontier."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from test_economics import EQUAL, true_net_values

from analysis.data import io
from analysis.data.scenario import load_scenario
from analysis.decide import policy as P


def instance(rng, g, s):
    rows = []
    for i in range(g):
        n = int(rng.integers(100, 5000))
        for j in range(s):
            rows.append(
                dict(
                    segment=f"g{i}",
                    accounts=n,
                    strategy=f"s{j}",
                    net_value_per_account=rng.normal(10 + 25 * j, 30),
                    agent_hours_per_account=0.0 if j == 0 else rng.uniform(0.05, 0.5),
                    complaints_per_account=rng.uniform(0, 0.004) if j else 1e-5,
                )
            )
    return pd.DataFrame(rows)


def vertex_optimum(df, cap, bud):
    """Brute force: every basic solution of the LP in standard form (with slacks)."""
    seg = pd.factorize(df.segment)[0]
    n = df.accounts.to_numpy(float)
    total = df.drop_duplicates("segment").accounts.sum()
    a = np.zeros((seg.max() + 1, len(df)))
    a[seg, np.arange(len(df))] = 1
    b = list(np.ones(len(a)))
    rows = []
    for vec, lim in ((n * df.agent_hours_per_account, cap), (1e4 * n * df.complaints_per_account / total, bud)):
        if lim is not None:
            rows.append(vec.to_numpy())
            b.append(lim)
    m = len(rows)
    A = np.block([[a, np.zeros((len(a), m))], [np.array(rows).reshape(m, -1), np.eye(m)]]) if m else a
    c = np.concatenate([n * df.net_value_per_account.to_numpy(), np.zeros(m)])
    best = -np.inf
    for basis in itertools.combinations(range(A.shape[1]), A.shape[0]):
        B = A[:, basis]
        if abs(np.linalg.det(B)) < 1e-12:
            continue
        xb = np.linalg.solve(B, np.array(b, float))
        if (xb >= -1e-9).all():
            best = max(best, float(c[list(basis)] @ xb))
    return best


def grid_optimum(df, cap, bud):
    """Brute force on a grid of shares, steps of 0.05 (0.1 for 3 segments): a lower bound."""
    segs = list(dict.fromkeys(df.segment))
    k = 20 if len(segs) < 3 else 10
    total = df.drop_duplicates("segment").accounts.sum()
    v = h = q = np.zeros(())
    for i, g in enumerate(segs):
        d = df[df.segment == g]
        splits = np.array([c for c in itertools.product(range(k + 1), repeat=len(d)) if sum(c) == k]) / k
        x = splits * d.accounts.to_numpy()
        shape = [1] * len(segs)
        shape[i] = len(x)
        v = v + (x @ d.net_value_per_account.to_numpy()).reshape(shape)
        h = h + (x @ d.agent_hours_per_account.to_numpy()).reshape(shape)
        q = q + (x @ d.complaints_per_account.to_numpy()).reshape(shape)
    ok = np.ones(v.shape, bool)
    if cap is not None:
        ok &= h <= cap + 1e-9
    if bud is not None:
        ok &= 1e4 * q / total <= bud + 1e-9
    return float(v[ok].max()) if ok.any() else -np.inf


def check_solution(res, df, cap, bud):
    a = res.allocation
    assert (a.share >= -1e-12).all()
    assert np.allclose(a.groupby("segment").share.sum(), 1.0)
    total = df.drop_duplicates("segment").accounts.sum()
    hours = (a.accounts * df.agent_hours_per_account).sum()
    rate = 1e4 * (a.accounts * df.complaints_per_account).sum() / total
    assert hours == pytest.approx(res.agent_hours) and rate == pytest.approx(res.complaints_per_10k)
    if cap is not None:
        assert hours <= cap * (1 + 1e-7) + 1e-7
    if bud is not None:
        assert rate <= bud * (1 + 1e-7) + 1e-7


@pytest.mark.parametrize("seed", range(6))
def test_lp_matches_brute_force_on_small_instances(seed):
    rng = np.random.default_rng(seed)
    df = instance(rng, 2 + seed % 2, 2 + (seed // 2) % 2)
    free = P.optimise_policy(df)
    for cap_f, bud_f in [(None, None), (0.4, None), (None, 0.5), (0.5, 0.6)]:
        cap = None if cap_f is None else cap_f * free.agent_hours
        bud = None if bud_f is None else max(bud_f * free.complaints_per_10k, 0.2)
        try:
            res = P.optimise_policy(df, capacity_hours=cap, complaint_budget_per_10k=bud)
        except P.InfeasiblePolicy:
            assert vertex_optimum(df, cap, bud) == -np.inf
            continue
        check_solution(res, df, cap, bud)
        assert res.total_value == pytest.approx(vertex_optimum(df, cap, bud), rel=1e-7, abs=1e-6)
        assert res.total_value >= grid_optimum(df, cap, bud) - 1e-6


def test_duals_and_comparisons():
    df = instance(np.random.default_rng(11), 3, 3)
    free = P.optimise_policy(df)
    cap = 0.5 * free.agent_hours
    res = P.optimise_policy(df, capacity_hours=cap)
    c = res.constraints.set_index("constraint")
    assert c.loc["capacity_hours", "binding"] and c.loc["capacity_hours", "dual"] > 0
    # the dual is the value of one more agent hour
    more = P.optimise_policy(df, capacity_hours=cap + 1.0)
    assert more.total_value - res.total_value == pytest.approx(c.loc["capacity_hours", "dual"], rel=1e-3)
    comp = res.comparisons.set_index("policy")
    assert comp.loc["optimal", "gain_of_optimal"] == 0
    assert (comp.loc[comp.feasible, "gain_of_optimal"] >= -1e-6).all()
    table = res.to_frame()
    assert list(table.segment) == ["g0", "g1", "g2", "total"]
    assert table.loc[3, "accounts"] == pytest.approx(df.drop_duplicates("segment").accounts.sum())


def test_infeasible_budgets_name_the_constraint_and_bad_arguments_raise():
    df = instance(np.random.default_rng(5), 2, 3)
    df.loc[df.strategy == "s0", "complaints_per_account"] = 0.002  # no strategy is complaint-free
    with pytest.raises(P.InfeasiblePolicy, match="complaint_budget_per_10k") as e:
        P.optimise_policy(df, complaint_budget_per_10k=1.0)
    assert isinstance(e.value, ValueError) and e.value.minimum > 1.0
    df.loc[df.strategy == "s0", "agent_hours_per_account"] = 0.01
    with pytest.raises(P.InfeasiblePolicy, match="capacity_hours") as e:
        P.optimise_policy(df, capacity_hours=1.0)
    assert e.value.constraint == "capacity_hours"
    # each limit alone feasible, together not: s0 is the only low-hours and the most complaint-prone
    df.loc[df.strategy == "s0", "complaints_per_account"] = 0.01
    lo_h = (df[df.strategy == "s0"].accounts * 0.01).sum()
    with pytest.raises(P.InfeasiblePolicy, match="within capacity_hours") as e:
        P.optimise_policy(df, capacity_hours=lo_h * 1.01, complaint_budget_per_10k=30)
    assert e.value.constraint == "complaint_budget_per_10k"
    for kw, name in [
        ({"capacity_hours": -1}, "capacity_hours"),
        ({"complaint_budget_per_10k": "x"}, "complaint_budget_per_10k"),
    ]:
        with pytest.raises(ValueError, match=name):
            P.optimise_policy(df, **kw)
    with pytest.raises(ValueError, match="net_value_per_account"):
        P.optimise_policy(df.drop(columns="net_value_per_account"))
    with pytest.raises(ValueError, match="over"):
        P.frontier(df, over="weather")


def test_frontier_is_monotone_and_ends_at_the_unconstrained_optimum():
    df = instance(np.random.default_rng(2), 3, 3)
    free = P.optimise_policy(df)
    for over in ("complaint_budget", "capacity"):
        f = P.frontier(df, over=over, points=9)
        assert len(f) == 9 and (f.status == "optimal").all()
        assert f.total_value.is_monotonic_increasing
        assert f.total_value.iloc[-1] == pytest.approx(free.total_value)
    f = P.frontier(df, over="capacity", points=[0.0, free.agent_hours / 2], complaint_budget_per_10k=None)
    assert f.total_value.iloc[1] >= f.total_value.iloc[0]
    tight = P.frontier(
        df.assign(agent_hours_per_account=df.agent_hours_per_account + 0.1), over="capacity", points=[1.0]
    )
    assert tight.status.iloc[0] == "infeasible"


@pytest.fixture(scope="module")
def data(synthetic):
    # the same dataset as test_economics's, generated once (conftest.py); read-only
    out = synthetic("cn_default", accounts=60_000, truth_accounts=60_000, seed=1, overrides=EQUAL).path
    ds, sc = io.load(out), load_scenario("cn_default")
    seg = P.policy_segments(ds, sc)
    truth = true_net_values(json.loads((out / "truth.json").read_text()), sc)
    truth = truth.merge(seg[["segment", "accounts"]].drop_duplicates(), on="segment")
    truth["net_value_per_account"] = truth.net_value_vs_baseline
    return ds, sc, seg, truth


@pytest.mark.parametrize("capacity_hours", [None, 3000.0])
def test_recommended_policy_is_near_the_true_optimum(data, capacity_hours):
    _, _, seg, truth = data
    rec = P.optimise_policy(seg, capacity_hours=capacity_hours)
    best = P.optimise_policy(truth, capacity_hours=capacity_hours)
    true_value = P.evaluate_allocation(truth, rec.allocation)["total_value"]
    # value gained against all-SMS, evaluated with the true per-account values
    assert true_value >= 0.95 * best.total_value
    singles = best.comparisons[best.comparisons.policy.str.startswith("all") & best.comparisons.feasible]
    if capacity_hours:
        # with agent hours scarce the truth says mixing pays (without a limit, calling every segment is best:
        # a human conversation pays in every segment of the calibrated world) ...
        assert best.total_value > 1.05 * singles.total_value.max()
        assert true_value > singles.total_value.max()  # ... and the recommendation beats every single strategy
        assert P.evaluate_allocation(truth, rec.allocation)["agent_hours"] <= 1.03 * capacity_hours
    else:
        assert true_value >= 0.95 * singles.total_value.max()


def test_decide_on_data_keeps_its_limits_and_lists_every_segment(data):
    from analysis.decide import decision

    ds, sc, seg, _ = data
    d = decision.decide(ds, sc, capacity_hours=3000.0, complaint_budget_per_10k=15.0)
    assert list(d.segments.segment) == list(dict.fromkeys(seg.segment))
    assert d.segments.prob_best.between(0, 1).all()
    comp = d.comparisons.set_index("policy")
    assert comp.loc["all sms_only", "value_per_account"] == 0.0  # gains are against the SMS baseline
    assert comp.loc["current", "agent_hours"] == pytest.approx(
        (seg.accounts * seg.current_share * seg.agent_hours_per_account).sum(), rel=1e-9
    )
    lim = d.limits.set_index("limit")
    assert lim.loc["capacity_hours", "expected"] <= 3000.0 and lim.loc["complaint_budget_per_10k", "expected"] <= 15
    assert (lim.prob_holds >= 0.87).all()
    shares = d.allocation.groupby("segment").share.sum()
    assert np.allclose(shares, 1.0)
    text = decision.decision_table(d, currency="CNY")
    assert "M2-high" in text and "expected gain CNY" in text and "capacity_hours" in text


def test_decide_uses_the_unit_costs_given(synthetic):
    """Dearer agents make the decision use fewer agent hours."""
    from analysis.data.scenario import load_scenario
    from analysis.decide import decision
    from analysis.measures import costs

    ds, sc = io.load(synthetic("cn_default", accounts=6000, seed=8).path), load_scenario("cn_default")
    kw = dict(capacity_hours=None, complaint_budget_per_10k=None, level=0.8)
    cheap = decision.decide(ds, sc, unit_costs=costs.UnitCosts.from_scenario(sc, agent_cost_per_hour=1.0), **kw)
    dear = decision.decide(ds, sc, unit_costs=costs.UnitCosts.from_scenario(sc, agent_cost_per_hour=5000.0), **kw)
    hours = lambda d: d.limits.set_index("limit").loc["capacity_hours", "expected"]  # noqa: E731
    assert hours(dear) < hours(cheap)


def test_what_if_reports_optimal_and_infeasible_cases():
    from analysis.decide import policy

    seg = pd.DataFrame(
        {
            "segment": ["a", "a", "b", "b"],
            "accounts": [100, 100, 50, 50],
            "strategy": ["sms_only", "phone_only"] * 2,
            "net_value_per_account": [0.0, 10.0, 0.0, 4.0],
            "agent_hours_per_account": [0.0, 1.0, 0.0, 1.0],
            "complaints_per_account": [0.001, 0.004, 0.001, 0.004],
        }
    )
    out = policy.what_if(seg, {"free": (None, None), "tight": (50.0, None), "impossible": (None, 1.0)}).set_index(
        "case"
    )
    assert out.loc["free", "note"] == "no limit binding"
    assert out.loc["free", "value_per_account"] == pytest.approx((100 * 10 + 50 * 4) / 150)
    assert out.loc["tight", "agent_hours"] == pytest.approx(50.0)
    assert "capacity_hours" in out.loc["tight", "note"]
    assert out.loc["impossible", "status"] == "infeasible"
    assert "complaint_budget_per_10k" in out.loc["impossible", "note"]


def test_policy_segments_and_decide_name_the_segments_they_drop(tmp_path, recwarn):
    from conftest import tiny_frames, write_parquet_dataset

    from analysis.decide import decision

    ds = io.load(write_parquet_dataset(tiny_frames(), tmp_path / "tiny"))
    sc = load_scenario("cn_default")
    seg = P.policy_segments(ds, sc)
    assert [d["segment"] for d in seg.attrs["dropped"]] == ["M1-high", "M2-high"]  # no sms_only account there
    reason = "no sms_only accounts in this segment, so no value against the baseline"
    assert seg.attrs["dropped"][0] == {"segment": "M1-high", "accounts": 1, "reason": reason}
    d = decision.decide(ds, sc, capacity_hours=None, complaint_budget_per_10k=None)
    assert d.notes[:2] == [
        "segment M1-high left out: no sms_only arm to measure against",
        "segment M2-high left out: no sms_only arm to measure against",
    ]
    assert "note: segment M2-high left out" in decision.decision_table(d)
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]  # said in the output, not warned


def test_decide_leaves_out_a_segment_whose_money_is_beyond_floating_point(tmp_path):
    from conftest import tiny_frames, write_parquet_dataset

    from analysis.decide import decision

    f = tiny_frames()
    f["accounts"].loc[f["accounts"].account_id == 3, "segment"] = "M1-low"  # two phone_only accounts in M1-low
    f["payments"].loc[f["payments"].account_id == 2, "amount"] *= 1e200
    ds = io.load(write_parquet_dataset(f, tmp_path / "huge"))
    d = decision.decide(ds, load_scenario("cn_default"), capacity_hours=None, complaint_budget_per_10k=None)
    assert "segment M1-low left out: its money figures are beyond floating point" in " ".join(d.notes)
    assert list(d.segments.segment) == ["M3+-low"]
    only = f.copy()
    only["accounts"] = f["accounts"][f["accounts"].segment == "M1-low"]
    for t in ("contacts", "payments", "complaints", "opt_outs"):
        only[t] = f[t][f[t].account_id.isin(only["accounts"].account_id)]
    ds = io.load(write_parquet_dataset(only, tmp_path / "only"))
    with pytest.raises(ValueError, match=r"^cannot decide: no segment can be judged \(M1-low: its money figures"):
        decision.decide(ds, load_scenario("cn_default"))
