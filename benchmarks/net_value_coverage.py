"""Coverage study of the net value per segment: do the 95% intervals of economics.net_value cover the truth?

For each seed a synthetic dataset is generated with its own truth for the same
accounts (``truth_accounts`` = ``accounts``), and the net value per account of
every strategy against the baseline, per segment, is estimated with
``analysis.decide.economics.net_value`` (delta method). Each interval is
compared with the true difference from ``truth.json``, priced the same way
(``analysis.decide.claims.truth_net_value``).

Reported per strategy and overall: the intervals, the share that cover the
truth (nominal 95%), and the mean and standard deviation of the z-scores
``(estimate - truth) / standard error`` (0 and 1 when the interval is right).
The same for money collected per account alone (``analysis.measures.response.outcomes``,
t interval), which shows where a shortfall comes from.

Usage::

    python benchmarks/net_value_coverage.py --seeds 15 --accounts 12000
    python benchmarks/net_value_coverage.py --smoke      # seconds: 2 seeds x 2,000 accounts
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data import io, synth
from analysis.data.scenario import load_scenario
from analysis.decide import claims
from analysis.decide import economics as E
from analysis.measures import response
from analysis.measures.costs import UnitCosts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scenario", default="cn_default")
    p.add_argument("--seeds", type=int, default=None, help="datasets (default 15; smoke 2)")
    p.add_argument("--accounts", type=int, default=None, help="accounts per dataset (default 12,000; smoke 2,000)")
    p.add_argument("--baseline", default="sms_only")
    p.add_argument("--smoke", action="store_true", help="seconds: 2 seeds x 2,000 accounts")
    args = p.parse_args(argv)
    seeds = args.seeds or (2 if args.smoke else 15)
    accounts = args.accounts or (2_000 if args.smoke else 12_000)
    sc = load_scenario(args.scenario)
    costs = UnitCosts.from_scenario(sc)
    print(
        f"{args.scenario}{' (smoke)' if args.smoke else ''}: {seeds} seeds x {accounts:,} accounts, baseline {args.baseline}"
    )
    rows = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(1, seeds + 1):
            out = Path(tmp) / str(seed)
            r = synth.generate(
                scenario=sc, accounts=accounts, seed=seed, truth_accounts=accounts, out=out, progress=False
            )
            truth = json.loads((r.path / "truth.json").read_text(encoding="utf-8"))
            net = claims.truth_net_value(truth, costs, scenario=sc).set_index(["segment", "strategy"])["net"]
            seg_truth = {g["segment"]: g["strategies"] for g in truth["segments"]}
            ds = io.load(r.path)
            nv = E.net_value(E.cell_moments(ds, sc), sc, baseline=args.baseline)
            for x in nv[nv.strategy != args.baseline].itertuples():
                true = net[(x.segment, x.strategy)] - net[(x.segment, args.baseline)]
                rows.append(
                    {
                        "measure": "net value vs baseline",
                        "strategy": x.strategy,
                        "covered": x.vs_baseline_ci_low <= true <= x.vs_baseline_ci_high,
                        "z": (x.net_value_vs_baseline - true) / x.vs_baseline_se,
                    }
                )
            out_cells = response.outcomes(ds, by=("segment", "strategy"))
            for x in out_cells.itertuples():
                true = seg_truth[x.segment][x.strategy]["collected_per_account"]
                se = (x.collected_ci_high - x.collected_ci_low) / 3.92
                rows.append(
                    {
                        "measure": "collected per account",
                        "strategy": x.strategy,
                        "covered": x.collected_ci_low <= true <= x.collected_ci_high,
                        "z": (x.collected_per_account - true) / se if se > 0 else np.nan,
                    }
                )
            ds.con.disconnect()
    d = pd.DataFrame(rows)
    table = (
        pd.concat([d, d.assign(strategy="all")])
        .groupby(["measure", "strategy"])
        .agg(intervals=("covered", "size"), coverage=("covered", "mean"), z_mean=("z", "mean"), z_sd=("z", "std"))
        .reset_index()
    )
    with pd.option_context("display.width", 120, "display.max_columns", 10):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"{len(d):,} intervals in {time.perf_counter() - t0:.1f} s")
    print(
        f"reproduce: cd {Path.cwd()} && {shlex.quote(sys.executable)} benchmarks/net_value_coverage.py {shlex.join(sys.argv[1:])}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
