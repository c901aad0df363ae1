"""Coverage study: do the 95% intervals of analysis.measures.causal cover the true effects?

For each seed a synthetic dataset is generated (``analysis.data.synth.generate``)
into a temporary folder, loaded, and the effect of every strategy on ``paid``
and ``collected`` against the baseline is estimated with
``analysis.measures.causal.strategy_effects`` (or all three methods at once with
``compare_methods``). The true effects are a property of the population, not
of the sample, so one high-precision truth serves every seed: it is computed
once with ``analysis.data.synth.simulate_truth`` on ``--truth-accounts`` accounts
(common random numbers, seed 12345).

Reported per method / outcome / strategy: the true effect, the coverage of
the intervals with its Wilson 95% interval, the mean bias (with its Monte
Carlo standard error), the mean interval width, and the ratio of the mean
reported standard error to the empirical standard deviation of the
estimates (about 1 when the variance formula is right).

Usage::

    python benchmarks/coverage_study.py --scenario cn_default --seeds 200 --accounts 20000 \\
        [--method naive|poststrat|ipw|all] [--truth-accounts 400000] [--csv rows.csv]
    python benchmarks/coverage_study.py --smoke     # seconds: 2 seeds x 2,000 accounts, truth from 4,000
"""

from __future__ import annotations

import argparse
import math
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from analysis import stats
from analysis.data import io, synth
from analysis.measures import causal

ROOT = Path(__file__).resolve().parents[1]

TRUTH_SEED = 12345
#: Sizes (seeds, accounts, truth accounts): the study's defaults, and --smoke's (seconds, same code paths).
SIZES = {"seeds": 200, "accounts": 20_000, "truth_accounts": 400_000}
SMOKE_SIZES = {"seeds": 2, "accounts": 2_000, "truth_accounts": 4_000}


def run_seed(
    scenario: str, seed: int, accounts: int, methods, outcomes, baseline, strata, confidence, work: Path
) -> pd.DataFrame:
    """Generate one dataset and return its effect rows (all methods, outcomes)."""
    out = work / f"seed{seed}"
    synth.generate(scenario=scenario, accounts=accounts, seed=seed, out=out, truth_accounts=1, progress=False)
    ds = io.load(out)
    try:
        frames = []
        for oc in outcomes:
            kw = dict(outcome=oc, baseline=baseline, strata=strata, confidence=confidence)
            if len(methods) > 1:
                frames.append(causal.compare_methods(ds, **kw))
            else:
                frames.append(causal.strategy_effects(ds, method=methods[0], **kw))
        return pd.concat(frames, ignore_index=True).assign(seed=seed)
    finally:
        ds.con.disconnect()
        shutil.rmtree(out, ignore_errors=True)


def summarise(rows: pd.DataFrame, truth: dict, baseline: str, confidence: float) -> pd.DataFrame:
    """Coverage (Wilson interval), bias, width and SE ratio per method/outcome/strategy."""
    res = []
    for (m, oc, s), g in rows.groupby(["method", "outcome", "strategy"], sort=True):
        key = causal.TRUTH_KEYS[oc]
        t = truth["strategies"][s][key] - truth["strategies"][baseline][key]
        covered = int(((g.ci_low <= t) & (t <= g.ci_high)).sum())
        w = stats.proportion_ci(covered, len(g), method="wilson", confidence=0.95)
        bias = g.estimate - t
        sd = g.estimate.std(ddof=1) if len(g) > 1 else math.nan
        res.append(
            dict(
                method=m,
                outcome=oc,
                strategy=s,
                truth=t,
                runs=len(g),
                coverage=covered / len(g),
                cov_low=w.ci_low,
                cov_high=w.ci_high,
                mean_bias=bias.mean(),
                bias_mcse=sd / math.sqrt(len(g)) if len(g) > 1 else math.nan,
                mean_width=(g.ci_high - g.ci_low).mean(),
                se_ratio=g.se.mean() / sd,
            )
        )
    df = pd.DataFrame(res)
    df["method"] = pd.Categorical(df.method, [m for m in causal.METHODS if m in set(df.method)])
    return df.sort_values(["outcome", "strategy", "method"]).reset_index(drop=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default="cn_default")
    ap.add_argument(
        "--seeds", type=int, default=None, help=f"number of datasets (seeds first-seed ...; default {SIZES['seeds']})"
    )
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--accounts", type=int, default=None, help=f"accounts per dataset (default {SIZES['accounts']:,})")
    ap.add_argument("--method", default="naive", choices=[*causal.METHODS, "all"])
    ap.add_argument(
        "--truth-accounts",
        type=int,
        default=None,
        help=f"accounts of the one truth simulation (default {SIZES['truth_accounts']:,})",
    )
    ap.add_argument("--baseline", default="sms_only")
    ap.add_argument("--strata", default="segment", help="comma-separated strata columns ('' for none)")
    ap.add_argument("--outcomes", default="paid,collected")
    ap.add_argument("--confidence", type=float, default=0.95)
    ap.add_argument("--csv", help="also write the per-seed rows to this CSV file")
    ap.add_argument(
        "--smoke",
        action="store_true",
        help="seconds: {seeds} seeds x {accounts:,} accounts, truth from {truth_accounts:,} "
        "(sizes given explicitly win)".format(**SMOKE_SIZES),
    )
    a = ap.parse_args(argv)
    for key, value in (SMOKE_SIZES if a.smoke else SIZES).items():
        if getattr(a, key) is None:
            setattr(a, key, value)
    methods = list(causal.METHODS) if a.method == "all" else [a.method]
    outcomes = [o for o in a.outcomes.split(",") if o]
    strata = tuple(s for s in a.strata.split(",") if s)

    print(f"truth: simulate_truth({a.scenario!r}, accounts={a.truth_accounts}, seed={TRUTH_SEED}) ...", file=sys.stderr)
    truth = synth.simulate_truth(a.scenario, accounts=a.truth_accounts, seed=TRUTH_SEED)
    frames = []
    with tempfile.TemporaryDirectory(prefix="coverage_") as tmp:
        for seed in tqdm(range(a.first_seed, a.first_seed + a.seeds), desc="seeds", unit="seed"):
            frames.append(
                run_seed(a.scenario, seed, a.accounts, methods, outcomes, a.baseline, strata, a.confidence, Path(tmp))
            )
    rows = pd.concat(frames, ignore_index=True)
    if a.csv:
        rows.to_csv(a.csv, index=False)
    table = summarise(rows, truth, a.baseline, a.confidence)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(
            f"\n{a.scenario}{' (smoke)' if a.smoke else ''}: {a.seeds} seeds x {a.accounts:,} accounts, "
            f"{a.confidence:.0%} intervals vs "
            f"baseline {a.baseline}, strata {strata}; truth from {a.truth_accounts:,} accounts"
        )
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    cmd = [
        "python",
        "benchmarks/coverage_study.py",
        "--scenario",
        a.scenario,
        "--seeds",
        str(a.seeds),
        "--accounts",
        str(a.accounts),
        "--method",
        a.method,
        "--truth-accounts",
        str(a.truth_accounts),
    ]
    if a.first_seed != 1:
        cmd += ["--first-seed", str(a.first_seed)]
    if strata != ("segment",):
        cmd += ["--strata", ",".join(strata)]
    if a.baseline != "sms_only":
        cmd += ["--baseline", a.baseline]
    if outcomes != ["paid", "collected"]:
        cmd += ["--outcomes", ",".join(outcomes)]
    if a.confidence != 0.95:
        cmd += ["--confidence", str(a.confidence)]
    print("\nreproduce: " + shlex.join(cmd))
    return 0


if __name__ == "__main__":
    sys.exit(main())
