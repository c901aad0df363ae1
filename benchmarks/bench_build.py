"""Where the time of a full report build goes.

Runs ``python -m analysis build`` in this process on freshly generated data
(so data generation is timed too) and prints the time of each phase: data
generation, imports and templates, kernel starts, cell execution per
notebook, HTML and slide rendering, PDF printing, and the wall time.
Notebooks run two at a time while the main thread renders, so the phases add
up to more than the wall time.

    python benchmarks/bench_build.py                     # default scenario, fresh data, PDFs
    python benchmarks/bench_build.py --reuse-data --jobs 1

Target: the default scenario's whole build in under 90 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import time
from pathlib import Path

T0 = time.perf_counter()
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.build import BuildConfig, build, chromium  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default="cn_default")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "build"))
    ap.add_argument("--reuse-data", action="store_true", help="keep the data of an earlier run (no generation)")
    ap.add_argument("--jobs", type=int, default=BuildConfig.jobs)
    ap.add_argument("--no-pdf", action="store_true")
    args = ap.parse_args()

    out = Path(args.out)
    data = out / "data" / args.scenario
    if not args.reuse_data:
        shutil.rmtree(data, ignore_errors=True)
    res = build(BuildConfig(scenario=args.scenario, data=data, out=out / "reports", seed=1, jobs=args.jobs,
                            pdf=not args.no_pdf))
    wall = time.perf_counter() - T0

    t = res.timings
    print(f"\nreport build benchmark, scenario {args.scenario}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {args.jobs} notebook(s) at a time, "
          f"PDF {'on' if chromium() and not args.no_pdf else 'off'}")
    rows = [(k, v) for k, v in t.items() if k != "total"]
    rows += [("build() wall time", t["total"]), ("whole run wall time", wall)]
    for name, secs in rows:
        print(f"  {name:<44} {secs:7.1f} s")
    print(f"\n  {'notebook':<34} {'execute':>8} {'kernel':>7} {'cells':>7} {'html':>6} {'slides':>7} {'pdf':>6}")
    for name, r in res.per_notebook.items():
        print(f"  {name:<34} {r['execute']:8.1f} {r['kernel']:7.1f} {r['cells']:7.1f} {r['render html']:6.1f} "
              f"{r['render slides']:7.1f} {r.get('pdf', 0.0):6.1f}")
    print("\n  'kernel' is kernel start plus papermill overhead (notebook time minus its cells' time);")
    print("  'execute' is the wall time of the notebook in its worker thread.")
    print(f"\nreproduce: {sys.executable} benchmarks/bench_build.py"
          f"{' --reuse-data' if args.reuse_data else ''}{' --no-pdf' if args.no_pdf else ''} --jobs {args.jobs}")
    print(f"same build: {sys.executable} -m analysis build --scenario {args.scenario} --data {data} "
          f"--out {out / 'reports'} --jobs {args.jobs}{' --no-pdf' if args.no_pdf else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
