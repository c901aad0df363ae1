"""Intervals cover the synthetic truth as often as they say, over many seeds.

One small dataset per seed and scenario; each interval either covers the true
value (from :func:`analysis.data.synth.simulate_truth` on 100,000 accounts,
whose Monte Carlo error is a tenth of the intervals' half-width) or not. A 95%
interval family passes when its number of hits is at least the 0.1% quantile
of Binomial(intervals, 0.95): a correct method fails this test about once in a
thousand runs, and one whose true coverage is 90% or less fails it almost
always (the seeds are fixed, so a given tree passes or fails every time).

The families: the paid rate of each strategy (Wilson), the naive difference
from the baseline under random assignment (Newcombe), and the post-stratified
difference under targeted assignment, where the naive one is confounded.
"""

from __future__ import annotations

import pytest
from scipy import stats as sps

from analysis.data import io, synth
from analysis.measures import causal, response

# 30 small generated datasets: left out by make test-fast; one worker runs the module, so the study runs once
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("coverage")]
SEEDS = range(1, 16)
LEVEL = 0.95


def _bound(total: int) -> int:
    """The fewest hits a 95% interval family may have among ``total`` intervals (0.1% binomial quantile)."""
    return int(sps.binom.ppf(0.001, total, LEVEL))


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> dict[str, tuple[int, int]]:
    """Hits and intervals per family over :data:`SEEDS`."""
    root = tmp_path_factory.mktemp("coverage")
    truth = {
        s: synth.simulate_truth(s, accounts=100_000, seed=12345)["strategies"] for s in ("cn_default", "cn_targeted")
    }
    hits = {
        "paid rate (Wilson)": [0, 0],
        "naive difference (Newcombe)": [0, 0],
        "post-stratified difference": [0, 0],
        "naive difference, targeted (confounded)": [0, 0],
    }

    def count(family: str, low, high, true) -> None:
        hits[family][0] += int(((low <= true) & (true <= high)).sum())
        hits[family][1] += len(true)

    for seed in SEEDS:
        for scenario, accounts in (("cn_default", 3_000), ("cn_targeted", 4_000)):
            t = truth[scenario]
            r = synth.generate(
                scenario=scenario,
                accounts=accounts,
                seed=seed,
                truth_accounts=1,
                out=root / f"{scenario}-{seed}",
                progress=False,
            )
            ds = io.load(r.path)
            paid = {name: v["paid_rate"] for name, v in t.items()}
            diff = {name: rate - paid["sms_only"] for name, rate in paid.items()}
            if scenario == "cn_default":
                out = response.outcomes(ds, by=("strategy",))
                count(
                    "paid rate (Wilson)",
                    out.paid_rate_ci_low,
                    out.paid_rate_ci_high,
                    out.strategy.map(paid),
                )
                df = causal.strategy_effects(ds, outcome="paid")
                count(
                    "naive difference (Newcombe)",
                    df.ci_low,
                    df.ci_high,
                    df.strategy.map(diff),
                )
            else:
                df = causal.strategy_effects(ds, outcome="paid", method="poststrat")
                count(
                    "post-stratified difference",
                    df.ci_low,
                    df.ci_high,
                    df.strategy.map(diff),
                )
                df = causal.strategy_effects(ds, outcome="paid")
                count("naive difference, targeted (confounded)", df.ci_low, df.ci_high, df.strategy.map(diff))
            ds.con.disconnect()
    print({k: f"{v[0]} of {v[1]} (at least {_bound(v[1])})" for k, v in hits.items()})
    return {k: (v[0], v[1]) for k, v in hits.items()}


@pytest.mark.parametrize("family", ["paid rate (Wilson)", "naive difference (Newcombe)", "post-stratified difference"])
def test_coverage_is_what_the_level_says(study, family):
    covered, total = study[family]
    assert total >= 3 * len(SEEDS), (family, total)  # every seed gave its intervals
    assert covered >= _bound(total), f"{family}: {covered} of {total} intervals cover the truth (< {_bound(total)})"


def test_the_check_has_teeth(study):
    """Under targeted assignment the naive difference is confounded: it misses the truth far too often."""
    covered, total = study["naive difference, targeted (confounded)"]
    assert total >= 3 * len(SEEDS) and covered < _bound(total), (covered, total)
