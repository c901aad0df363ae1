"""Benchmark: the dataset loader (``io.load``) cold and warm, and ``compare`` end to end, against hand-written SQL.

Measures on one dataset folder, each run in a fresh subprocess (so each has its own peak memory):

* ``load cold``: ``io.load(DIR, recheck=True)``, every contract check runs;
* ``load warm``: ``io.load(DIR)`` after a passed validation was remembered (only the column types are read);
* ``compare cold`` / ``compare warm``: what ``python -m analysis compare DIR --format json`` does
  (``compare.headline(ds, costs=UnitCosts.from_scenario(sc), baseline="sms_only")`` after the load);
* ``sql``: the hand-written DuckDB query of ``bench_engine.py`` computing the same cell statistics.

Prints the median of the repeats, the peak resident memory, and the ratio compare warm / sql (target <= 1.2).
The remembered validations go to a temporary cache folder (``ANALYSIS_CACHE_DIR``), deleted afterwards.

Usage::

    python benchmarks/bench_validate.py                      # generates 1 million accounts into benchmarks/out/
    python benchmarks/bench_validate.py --data DIR [--repeat 3]
    python benchmarks/bench_validate.py --smoke              # seconds: 2,000 accounts, one run each
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "benchmarks"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import bench_engine  # noqa: E402  (the hand-written query and its helpers, reused)

VARIANTS = ("load_cold", "load_warm", "compare_cold", "compare_warm", "sql")
ACCOUNTS = 1_000_000
REPEAT = 3
SMOKE_ACCOUNTS = 2_000


def _child(args: argparse.Namespace) -> None:
    """Run one variant once; print a JSON line with its seconds and peak memory."""
    if args.child == "sql":
        import duckdb

        con = duckdb.connect(config={"threads": str(args.threads)})
        con.execute("SET TimeZone = 'UTC'")
        for n in bench_engine.TABLE_NAMES:
            quoted = bench_engine._table_glob(args.data, n).replace("'", "''")
            con.execute(f"CREATE VIEW {n} AS SELECT * FROM read_parquet('{quoted}')")
        query = bench_engine._sql_query(bench_engine.HORIZON_DAYS)
        t0 = time.perf_counter()
        con.execute(query).df()
    else:
        import ibis

        from analysis.data import io

        con = ibis.duckdb.connect(threads=args.threads)
        t0 = time.perf_counter()
        ds = io.load(args.data, con=con, recheck=args.child.endswith("cold"), progress=False)
        if args.child.startswith("compare"):
            from analysis.__main__ import _scenario_for
            from analysis.decide import compare
            from analysis.measures.costs import UnitCosts

            sc = _scenario_for(ds, None)
            compare.headline(ds, costs=UnitCosts.from_scenario(sc), baseline="sms_only")
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "peak_rss": bench_engine._peak_rss_bytes()}))


def _run_variant(args: argparse.Namespace, variant: str, env: dict) -> dict:
    cmd = [sys.executable, __file__, "--child", variant, "--data", str(args.data), "--threads", str(args.threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{variant} run failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, help="dataset folder (contract Parquet files)")
    p.add_argument(
        "--accounts",
        type=int,
        default=None,
        help=f"accounts to generate when --data is not given (default {ACCOUNTS:,}, kept in "
        f"benchmarks/out/; {SMOKE_ACCOUNTS:,} in a temporary folder with --smoke)",
    )
    p.add_argument("--repeat", type=int, default=None, help=f"runs of each variant (default {REPEAT}; 1 with --smoke)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--smoke", action="store_true", help=f"seconds: {SMOKE_ACCOUNTS:,} accounts, one run each")
    p.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.accounts is None:
        args.accounts = SMOKE_ACCOUNTS if args.smoke else ACCOUNTS
    if args.repeat is None:
        args.repeat = 1 if args.smoke else REPEAT
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.child:
        _child(args)
        return 0
    scratch = Path(tempfile.mkdtemp(prefix="bench_validate_"))
    generated = args.data is None
    try:
        if generated:
            args.data = (
                scratch / "data"
                if args.smoke
                else ROOT / "benchmarks" / "out" / f"validate-cn_default-{args.accounts}-s1"
            )
            if not (args.data / "manifest.json").is_file():
                shutil.rmtree(args.data, ignore_errors=True)
                bench_engine._generate(args.accounts, args.data, quiet=args.smoke)
        env = {**os.environ, "ANALYSIS_CACHE_DIR": str(scratch / "validated")}
        rows = bench_engine._rows(args.data)
        print("rows:", ", ".join(f"{n}={c:,}" for n, c in rows.items()))
        print(f"loader benchmark on {args.data}{' (smoke)' if args.smoke else ''}, threads={args.threads}")
        _run_variant(args, "load_cold", env)  # remember the validation (and warm the file cache)
        runs: dict[str, list[dict]] = {v: [] for v in VARIANTS}
        for r in range(args.repeat):
            for v in VARIANTS:
                fig = _run_variant(args, v, env)
                runs[v].append(fig)
                print(
                    f"  run {r + 1} {v:12s}: {fig['seconds']:8.2f} s, {fig['peak_rss'] / 1e6:7.0f} MB peak RSS",
                    flush=True,
                )
        med = {v: statistics.median(f["seconds"] for f in runs[v]) for v in VARIANTS}
        print()
        print(f"{'variant':12s} {'median s':>9s} {'min s':>8s} {'max s':>8s} {'peak MB':>8s}")
        for v in VARIANTS:
            secs = [f["seconds"] for f in runs[v]]
            print(
                f"{v:12s} {med[v]:9.2f} {min(secs):8.2f} {max(secs):8.2f} "
                f"{max(f['peak_rss'] for f in runs[v]) / 1e6:8.0f}"
            )
        print(f"validation (load cold - load warm): {med['load_cold'] - med['load_warm']:.2f} s")
        print(f"ratio compare warm/sql (median time): {med['compare_warm'] / med['sql']:.2f}  (target <= 1.2)")
        print(f"ratio compare cold/sql (median time): {med['compare_cold'] / med['sql']:.2f}")
        source = ["--accounts", str(args.accounts)] if generated else ["--data", str(args.data)]
        if args.smoke:
            source.insert(0, "--smoke")
        cmd = [
            sys.executable,
            "benchmarks/bench_validate.py",
            *source,
            "--repeat",
            str(args.repeat),
            "--threads",
            str(args.threads),
        ]
        print("reproduce:", "cd", shlex.quote(str(ROOT)), "&&", shlex.join(cmd))
        return 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
