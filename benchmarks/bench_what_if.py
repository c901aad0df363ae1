"""Benchmark: the live what-if (analysis.report.what_if) -- one-off preparation, then the time of an update.

:func:`analysis.report.what_if.prepare` queries the engine twice (the cell moments by
segment and the contact cells); every update after it is Python on those
statistics. This times the preparation once, then a sweep of updates that
changes one control at a time (each unit cost, the agent capacity, the
complaint budget, the level, the baseline; every setting new, so nothing is
taken from the what-if's memory of earlier settings), and reports the median
and 95th percentile of:

* ``decision``: the decision alone (``update(frontier=False)``: estimates, decide);
* ``decision+draw``: the decision with its table and chart (a Vega-Lite
  specification, :mod:`analysis.report.vega`, which JupyterLab draws): what the
  widget shows first;
* ``full``: that, then the frontier (each of its points a decision) and its
  chart, which the widget draws next.

The browser's own drawing of the charts (Vega compiling and rendering them)
follows the kernel's update and is printed apart, measured in Node.js with the
Vega-Lite version JupyterLab ships (``npm ci`` installs it).

Each is given as wall time and as the CPU time of all this process's threads
(numpy's BLAS runs on every core, so on an idle machine the CPU time exceeds
the wall time; on a busy one the wall time grows instead). The target is read
on the median wall time of an idle machine.

Target: an update under 200 ms on the default data (cn_default, 200,000 accounts).

Usage::

    python benchmarks/bench_what_if.py                   # data/generated/cn_default (generated when missing)
    python benchmarks/bench_what_if.py --data DIR --updates 50
    python benchmarks/bench_what_if.py --smoke           # seconds: 2,000 accounts, 3 updates, a 3-point frontier
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help="dataset folder (default: data/generated/cn_default, generated when missing)",
    )
    p.add_argument("--scenario", default="cn_default", help="scenario (default: cn_default)")
    p.add_argument("--updates", type=int, default=None, help="updates per variant (default: 50; smoke: 3)")
    p.add_argument("--frontier-points", type=int, default=5, help="limits per frontier (default: 5)")
    p.add_argument(
        "--frontier-draws", type=int, default=1000, help="posterior draws per frontier point (default: 1000)"
    )
    p.add_argument("--smoke", action="store_true", help="tiny data and a few updates: checks the benchmark runs")
    return p.parse_args(argv)


def _sweep(wi, n: int, seed: int = 0) -> list[dict]:
    """``n`` settings, each changing one control from the defaults to a value not used before."""
    from analysis.report.what_if import COST_KEYS

    d = wi.defaults
    rng = np.random.default_rng(seed)
    controls = [*COST_KEYS, "capacity_hours", "complaint_budget_per_10k", "level", "baseline"]
    now = wi.update(frontier=False).current
    out = []
    for i in range(n):
        key = controls[i % len(controls)]
        f = float(rng.uniform(0.5, 1.5))
        if key in COST_KEYS:
            base = getattr(d.unit_costs, key) or 0.01
            out.append({"unit_costs": {key: min(base * f, 1.0) if key == "commission_rate" else base * f}})
        elif key == "capacity_hours":
            out.append({key: now["agent_hours"] * f})
        elif key == "complaint_budget_per_10k":
            out.append({key: now["complaints_per_10k"] * f})
        elif key == "level":
            out.append({key: round(float(rng.uniform(0.8, 0.98)), 4)})
        else:
            others = [s for s in wi.strategies if s != "no_contact"]
            out.append({key: others[i % len(others)], "level": round(float(rng.uniform(0.8, 0.98)), 4)})
    return out


def _draw(wi, res, panels) -> None:
    spec, _alt = wi.chart(res, panels)  # as the widget draws it: a Vega-Lite chart, sent to JupyterLab as JSON
    json.dumps(spec)


def _browser_ms(wi, res) -> str:
    """What drawing the widget's two charts takes Vega (compile and render to SVG, in Node.js: the
    browser's work, which the kernel does not wait for), or why it was not measured."""
    script = ROOT / "tools" / "render_vega.mjs"
    if not shutil.which("node") or not (ROOT / "node_modules" / "vega-lite").is_dir():
        return "not measured (needs node and `npm ci`)"
    with tempfile.TemporaryDirectory(prefix="bench_vega_") as tmp:
        files = []
        for i, panels in enumerate((("policy", "value"), ("frontier",))):
            f = Path(tmp) / f"chart{i}.json"
            f.write_text(json.dumps(wi.chart(res, panels)[0]), encoding="utf-8")
            files.append(str(f))
        cold = subprocess.run(["node", str(script), *files], capture_output=True, text=True, check=True)
        warm = subprocess.run(
            ["node", str(script), "--repeat", "20", *files], capture_output=True, text=True, check=True
        )
        ms = [sum(r["ms"] for r in json.loads(out.stdout)) for out in (cold, warm)]
    return f"{ms[1]:.0f} ms once Vega has drawn before (the least of 20), {ms[0]:.0f} ms the first time"


def _time(wi, sweep, how: str) -> tuple[np.ndarray, np.ndarray]:
    """Wall and CPU seconds (all threads) of each update of ``sweep``."""
    wall, cpu = [], []
    for changes in sweep:
        wi._estimates.clear(), wi._decisions.clear(), wi._frontiers.clear()  # every setting new
        t, c = time.perf_counter(), time.process_time()
        res = wi.update(frontier=False, **changes)
        if how != "decision":
            table = wi.table(res)
            if table is not None:
                table.to_html()
            _draw(wi, res, ("policy", "value"))
        if how == "full":
            res.frontier = wi.frontier(res.settings)
            _draw(wi, res, ("frontier",))
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return np.array(wall), np.array(cpu)


def main(argv=None) -> int:
    args = _parse(argv)
    import matplotlib

    matplotlib.use("Agg")
    from analysis.__main__ import main as cli_main
    from analysis.data import io
    from analysis.data.scenario import load_scenario
    from analysis.report import what_if

    updates = args.updates or (3 if args.smoke else 50)
    if args.smoke:  # the same code paths, less work
        args.frontier_points, args.frontier_draws = 3, 500
    tmp = None
    if args.smoke:
        tmp = tempfile.TemporaryDirectory(prefix="bench_what_if_")
        data = Path(tmp.name) / "data"
        cmd = [
            sys.executable,
            "-m",
            "analysis",
            "generate",
            "--scenario",
            args.scenario,
            "--seed",
            "1",
            "--accounts",
            "2000",
            "--truth-accounts",
            "500",
            "--out",
            str(data),
        ]
    else:
        data = args.data or ROOT / "data" / "generated" / args.scenario
        cmd = [
            sys.executable,
            "-m",
            "analysis",
            "generate",
            "--scenario",
            args.scenario,
            "--seed",
            "1",
            "--out",
            str(data),
        ]
    try:
        if not (data / "manifest.json").is_file() and (args.smoke or args.data is None):
            print("generating:", shlex.join(cmd), flush=True)
            with open(os.devnull, "w", encoding="utf-8") as quiet, contextlib.redirect_stdout(quiet):
                code = cli_main(cmd[3:])  # the command line, in this process (its report is not a figure here)
            if code != 0:
                raise SystemExit(f"data generation failed (exit {code}); pass --data DIR with a dataset")
        sc = load_scenario(args.scenario)
        t = time.perf_counter()
        ds = io.load(data)
        load = time.perf_counter() - t
        t = time.perf_counter()
        wi = what_if.prepare(ds, sc, frontier_points=args.frontier_points, frontier_draws=args.frontier_draws)
        first = wi.update()
        prep = time.perf_counter() - t
        accounts = int(wi.moments.cells.drop_duplicates("segment").population.sum())
        print(
            f"what-if benchmark, scenario {args.scenario}{' (smoke)' if args.smoke else ''}: {accounts:,} accounts, "
            f"{len(wi.moments.cells)} cells, {updates} updates per variant, frontier {args.frontier_points} points x "
            f"{args.frontier_draws} draws; load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        print(
            f"prepare: {prep:.2f} s (engine queries {wi.query_seconds:.2f} s, first update {first.seconds:.2f} s); "
            f"loading the data {load:.2f} s"
        )
        sweep = _sweep(wi, updates)
        print(f"{'variant':14s} {'median ms':>10s} {'p95 ms':>8s} {'min ms':>8s} {'max ms':>8s} {'cpu median ms':>14s}")
        med = {}
        for how in ("decision", "decision+draw", "full"):
            wall, cpu = _time(wi, sweep, how)
            wall, cpu = wall * 1e3, cpu * 1e3
            med[how] = (float(np.median(wall)), float(np.median(cpu)))
            print(
                f"{how:14s} {np.median(wall):10.1f} {np.percentile(wall, 95):8.1f} {wall.min():8.1f} "
                f"{wall.max():8.1f} {np.median(cpu):14.1f}"
            )
        print(
            "decision: estimates and decide; decision+draw: and its table and figure (what the widget shows "
            "first); full: and the frontier (each point a decision) and its figure"
        )
        for how, (w, _c) in med.items():
            print(f"target 200 ms, {how}: {'met' if w < 200 else 'missed'} (median wall time)")
        print("(each update from new settings: the what-if's memory of earlier settings is cleared before each)")
        print(f"drawing the charts in the browser (Vega-Lite, after the kernel's update): {_browser_ms(wi, first)}")
    finally:
        if tmp is not None:
            tmp.cleanup()
    extra = ["--smoke"] if args.smoke else ([] if args.data is None else ["--data", str(args.data)])
    extra += [] if args.updates is None else ["--updates", str(args.updates)]
    print(
        "reproduce:",
        "cd",
        shlex.quote(str(ROOT)),
        "&&",
        shlex.join([".venv/bin/python", "benchmarks/bench_what_if.py", *extra]),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
