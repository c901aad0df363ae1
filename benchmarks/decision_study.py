"""Decision study: what would each decision method truly do?

For each scenario and seed a synthetic dataset is generated into a temporary
folder and loaded; two methods choose a policy from it under the same limits:

* ``plug-in``: the linear programme of :func:`analysis.decide.policy.optimise_policy`
  on the raw per-cell estimates, taken as exact (the first release's method);
* ``decide``: :func:`analysis.decide.decision.decide` as the tool runs it: partial
  pooling (complaints per contact by channel), limits held over a
  simultaneous confidence region at ``--level`` (``bound="robust"``; the
  complaint limit also as a chance constraint where the segments' complaint
  factors differ) and moves only with that probability of gain;
* ``decide, chance bound``: the same with Gaussian chance constraints on the
  posterior (``bound="chance"``);
* ``decide, scenario bound``: the same with the complaint limit held in
  every one of the scenario approach's posterior draws
  (``bound="scenario"``);
* ``decide, pooled by strategy``: the decision with each strategy's gains
  shrunk toward its mean over segments instead of the segments' product fit
  (``estimate(..., pool_gains="strategy")``).

Each chosen allocation is scored against the truth: the scenario's true
per-account net value, agent hours and complaints of every (segment,
strategy) cell, simulated once on ``--truth-accounts`` accounts with common
random numbers (the truth is a property of the population, not of the
sample; complaints are the expected number, each contact's complaint probability
summed, so the truth carries no counting noise). The true optimum solves the
same programme on the truth. Reported
per scenario, limit and method (DECISION.md, section 5):

* ``breach``: share of seeds whose true complaints per 10,000 accounts exceed
  the budget (or whose true agent hours exceed the capacity), with a Wilson
  95% interval; for the default limits ("current") the budget is the current
  allocation's true use;
* ``regret``: (V(x*) - V(x)) / (V(x*) - V(baseline)), median and 90th
  percentile;
* ``wrong moves``: segments moved off the baseline (more than 0.5% of the
  segment) whose true gain is <= 0, per seed;
* ``declined``: seeds where the method found no allocation that keeps the
  limits (it then keeps everybody on the baseline, which is scored);
* ``baseline_passes``: share of seeds whose sample shows, at the level,
  that everybody on the baseline keeps the limits (the robust test of
  :func:`analysis.decide.decision.holds`); where it seldom does, a method that holds
  the limits must cut contact to be sure, and regret near 1 says the data are
  too few for that budget, not that a better method exists;
* ``stated_holds`` / ``stated_holds_full``: the mean probability the method
  states that the complaint limit holds (under the model it was held on, and
  under the full model); compare with 1 - ``of_which_complaints``.

Usage::

    python benchmarks/decision_study.py --scenarios cn_default us_default --seeds 50 --accounts 50000 \\
        --budgets current 10 20 [--level 0.9] [--truth-accounts 400000] [--csv rows.csv]
    python benchmarks/decision_study.py --smoke     # seconds: one scenario, two seeds, tiny data
"""

from __future__ import annotations

import argparse
import math
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from analysis import engine, stats
from analysis.data import io, synth
from analysis.data.scenario import load_scenario
from analysis.decide import decision, economics, policy

ROOT = Path(__file__).resolve().parents[1]

TRUTH_SEED = 12345
#: The methods scored, by name.
METHODS = ("plug-in", "decide", "decide, chance bound", "decide, scenario bound", "decide, pooled by strategy")
MOVED = 0.005  # a segment counts as moved when more than this share leaves the baseline


def true_cells(scenario, truth_accounts: int, baseline: str) -> pd.DataFrame:
    """True per-account gain over the baseline, hours and complaints per (segment, strategy)."""
    truth = synth.simulate_truth(scenario, accounts=truth_accounts, seed=TRUTH_SEED)
    return decision.truth_cells(truth, scenario, baseline=baseline)


def _optimum(tc: pd.DataFrame, pop: dict, current: pd.DataFrame, cap, bud):
    """The true optimum under the same limits ("current" limits: the current allocation's true use)."""
    seg = tc.assign(
        accounts=tc.segment.map(pop).astype(float),
        net_value_per_account=tc.net_gain,
        agent_hours_per_account=tc.hours,
        complaints_per_account=tc.complaints,
    )
    seg = seg[seg.segment.isin(pop)]
    now = decision.evaluate_truth(current, tc, pop)
    limits = {}
    for key, lim, use in (
        ("capacity_hours", cap, now["agent_hours"]),
        ("complaint_budget_per_10k", bud, now["complaints_per_10k"]),
    ):
        limits[key] = None if lim.kind == "none" else use if lim.kind == "current" else lim.value
    try:
        res = policy.optimise_policy(seg, **limits)
        return res.allocation[["segment", "strategy", "share"]], limits
    except policy.InfeasiblePolicy:
        return None, limits


def _plug_in(m, sc, baseline, cap, bud):
    seg = policy.policy_segments(m, sc, baseline=baseline)
    total = float(seg.drop_duplicates("segment").accounts.sum())
    limits = {}
    for key, lim, per in (
        ("capacity_hours", cap, seg.agent_hours_per_account),
        ("complaint_budget_per_10k", bud, seg.complaints_per_account),
    ):
        use = float((seg.accounts * seg.current_share * per).sum())
        use = use if key == "capacity_hours" else 1e4 * use / total
        limits[key] = None if lim.kind == "none" else use if lim.kind == "current" else lim.value
    try:
        return policy.optimise_policy(seg, **limits).allocation[["segment", "strategy", "share"]]
    except policy.InfeasiblePolicy:
        return None


def _decide(est, sc, baseline, cap, bud, level, seed, bound="robust"):
    """The allocation ``decide`` picks (None when it declines) and the probability it states that the
    complaint limit holds (under the model it was held on, and under the full model)."""
    try:
        d = decision.decide(
            est,
            sc,
            baseline=baseline,
            capacity_hours=cap,
            complaint_budget_per_10k=bud,
            level=level,
            seed=seed,
            bound=bound,
        )
    except decision.InfeasibleDecision:
        return None, {}
    lim = d.limits.set_index("limit").loc["complaint_budget_per_10k"]
    return (
        d.allocation[["segment", "strategy", "share"]],
        {"stated_holds": float(lim.prob_holds), "stated_holds_full": float(lim.prob_holds_full)},
    )


def score(alloc, tc, pop, current, limits, best_value, baseline) -> dict:
    declined = alloc is None
    if declined:
        alloc = tc[tc.segment.isin(pop)][["segment", "strategy"]].assign(
            share=lambda d: (d.strategy == baseline).astype(float)
        )
    got = decision.evaluate_truth(alloc, tc, pop)
    now = decision.evaluate_truth(current, tc, pop)
    over = {}
    for key, used in (("capacity_hours", got["agent_hours"]), ("complaint_budget_per_10k", got["complaints_per_10k"])):
        lim = limits[key]
        over[key] = lim is not None and used > lim * (1 + 1e-9) + 1e-9
    breach = any(over.values())
    t = tc.merge(alloc, on=["segment", "strategy"])
    moved = t[(t.strategy != baseline)].groupby("segment").share.sum()
    seg_gain = (t.share * t.net_gain).groupby(t.segment).sum()
    wrong = int(sum(1 for s, sh in moved.items() if sh > MOVED and seg_gain[s] <= 0))
    gap = best_value - 0.0
    regret = (best_value - got["value_per_account"]) / gap if gap > 1e-9 else math.nan
    return {
        "declined": declined,
        "breach": breach,
        "breach_hours": over["capacity_hours"],
        "breach_complaints": over["complaint_budget_per_10k"],
        "regret": regret,
        "wrong_moves": wrong,
        "value_per_account": got["value_per_account"],
        "complaints_per_10k": got["complaints_per_10k"],
        "agent_hours": got["agent_hours"],
        "current_value": now["value_per_account"],
    }


def run(
    scenarios, seeds, accounts, budgets, level, truth_accounts, baseline, capacity, work: Path, methods=METHODS
) -> pd.DataFrame:
    rows = []
    for name in scenarios:
        sc = load_scenario(name)
        t0 = time.perf_counter()
        tc = true_cells(sc, truth_accounts, baseline)
        print(f"truth of {name} on {truth_accounts:,} accounts in {time.perf_counter() - t0:.0f} s", flush=True)
        for seed in tqdm(range(1, seeds + 1), desc=name, unit="seed"):
            out = work / f"{name}-{seed}"
            synth.generate(scenario=sc, accounts=accounts, seed=seed, out=out, truth_accounts=1, progress=False)
            ds = io.load(out)
            m = economics.cell_moments(ds, sc, by=("segment",))
            cc = engine.contact_cells(ds, by=("segment", "strategy", "channel"), horizon_days=sc.horizon_days)
            est = decision.estimate(m, sc, baseline=baseline, contacts=cc)
            by_strategy = (
                decision.estimate(m, sc, baseline=baseline, contacts=cc, pool_gains="strategy")
                if "decide, pooled by strategy" in methods
                else None
            )
            c = est.cells
            pop = c.drop_duplicates("segment").set_index("segment").population.astype(float).to_dict()
            current = c[["segment", "strategy"]].assign(share=c.current_share)
            for b in budgets:
                cap = decision.parse_limit(capacity, "capacity")
                bud = decision.parse_limit(b, "budget")
                best, limits = _optimum(tc, pop, current, cap, bud)
                if best is None:
                    continue
                best_value = decision.evaluate_truth(best, tc, pop)["value_per_account"]
                # can this sample show, at the level, that everybody on the baseline keeps the limits? When it
                # cannot, a method that holds them must cut contact to be sure, and most of the gain goes
                base = current.assign(share=(current.strategy == baseline).astype(float))
                passes = all(
                    decision.holds(est, base, capacity_hours=cap, complaint_budget_per_10k=bud, level=level).values()
                )
                choose = {
                    "plug-in": lambda: (_plug_in(m, sc, baseline, cap, bud), {}),  # noqa: B023
                    "decide": lambda: _decide(est, sc, baseline, cap, bud, level, seed),  # noqa: B023
                    "decide, chance bound": lambda: _decide(est, sc, baseline, cap, bud, level, seed, "chance"),  # noqa: B023
                    "decide, scenario bound": lambda: _decide(est, sc, baseline, cap, bud, level, seed, "scenario"),  # noqa: B023
                    "decide, pooled by strategy": lambda: _decide(by_strategy, sc, baseline, cap, bud, level, seed),  # noqa: B023
                }
                for method in methods:
                    alloc, stated = choose[method]()
                    rows.append(
                        {
                            "scenario": name,
                            "seed": seed,
                            "budget": str(b),
                            "method": method,
                            "optimum_value": best_value,
                            "baseline_passes": passes,
                            "stated_holds": math.nan,
                            "stated_holds_full": math.nan,
                            **stated,
                            **score(alloc, tc, pop, current, limits, best_value, baseline),
                        }
                    )
            shutil.rmtree(out, ignore_errors=True)
    return pd.DataFrame(rows)


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    out = []
    for (sc, b, method), g in rows.groupby(["scenario", "budget", "method"], sort=False):
        k, n = int(g.breach.sum()), len(g)
        ci = stats.proportion_ci(k, n, method="wilson", confidence=0.95)
        out.append(
            {
                "scenario": sc,
                "budget": b,
                "method": method,
                "seeds": n,
                "breach": k / n,
                "breach_ci": f"{ci.ci_low:.2f}-{ci.ci_high:.2f}",
                "of_which_hours": float(g.breach_hours.mean()),
                "of_which_complaints": float(g.breach_complaints.mean()),
                "regret_median": float(np.nanmedian(g.regret)),
                "regret_p90": float(np.nanpercentile(g.regret, 90)),
                "baseline_passes": float(g.baseline_passes.mean()),
                "stated_holds": float(g.stated_holds.mean()) if g.stated_holds.notna().any() else math.nan,
                "stated_holds_full": (
                    float(g.stated_holds_full.mean()) if g.stated_holds_full.notna().any() else math.nan
                ),
                "wrong_moves_per_seed": float(g.wrong_moves.mean()),
                "declined": int(g.declined.sum()),
                "optimum_value": float(g.optimum_value.mean()),
            }
        )
    return pd.DataFrame(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--scenarios", nargs="+", default=["cn_default", "us_default"])
    p.add_argument("--seeds", type=int, default=50)
    p.add_argument("--accounts", type=int, default=50_000)
    p.add_argument(
        "--budgets",
        nargs="+",
        default=["current", "10", "20"],
        help="complaint budgets per 10,000 accounts, or 'current' (default: current 10 20)",
    )
    p.add_argument("--capacity", default="current", help="agent-hour limit: current, unlimited or hours")
    p.add_argument("--level", type=float, default=0.9)
    p.add_argument("--truth-accounts", type=int, default=400_000)
    p.add_argument("--baseline", default="sms_only")
    p.add_argument("--csv", type=Path, default=None, help="write every (scenario, seed, budget, method) row here")
    p.add_argument(
        "--methods",
        nargs="+",
        default=list(METHODS),
        choices=METHODS,
        metavar="METHOD",
        help=f"methods to score (default all: {', '.join(METHODS)})",
    )
    p.add_argument("--smoke", action="store_true", help="a run of seconds on tiny data (used by the tests)")
    args = p.parse_args(argv)
    if args.smoke:
        args.scenarios, args.seeds, args.accounts, args.truth_accounts = ["cn_default"], 2, 4000, 4000
        args.budgets = ["current", "20"]
    work = Path(tempfile.mkdtemp(prefix="decision-study-"))
    t0 = time.perf_counter()
    try:
        rows = run(
            args.scenarios,
            args.seeds,
            args.accounts,
            args.budgets,
            args.level,
            args.truth_accounts,
            args.baseline,
            args.capacity,
            work,
            tuple(args.methods),
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.csv:
        rows.to_csv(args.csv, index=False)
    table = summarise(rows)
    print()
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"\n{len(rows)} scored choices in {time.perf_counter() - t0:.0f} s; reproduce with:")
    print("  python benchmarks/decision_study.py " + shlex.join(sys.argv[1:] if argv is None else argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
