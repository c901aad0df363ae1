"""Where the time of a full report build goes, and what a rebuild with nothing changed costs.

Generates the scenario's data (timed), then runs ``python -m analysis build``
twice in this process: a first build that executes every notebook (as with
``--no-cache``), and a rebuild with nothing changed that reuses them from the
cache (the first build's reports). Prints the time of each phase of the first
build: imports and templates, kernel starts, cell execution per notebook, HTML
and slide rendering, PDF printing, and the wall time; then both wall times.
Notebooks run two at a time while the main thread renders, so the phases add
up to more than the wall time.

    python benchmarks/bench_build.py                     # default scenario, fresh data, PDFs
    python benchmarks/bench_build.py --reuse-data --jobs 1
    python benchmarks/bench_build.py --reuse-data --no-pdf --draft   # figures at screen resolution
    python benchmarks/bench_build.py --smoke             # seconds: 2,000 accounts, two notebooks, no PDF, a draft

Target: the default scenario's whole build in under 90 s on 2 cores; the
rebuild in a few seconds.
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

from analysis.data import synth  # noqa: E402 (imported after T0: the figures include the imports)
from analysis.report.build import BuildConfig, build, chromium  # noqa: E402

#: --smoke: the smallest run that shows both figures (tiny data, two of the report notebooks, no PDF).
SMOKE_ACCOUNTS = 2_000
SMOKE_NOTEBOOKS = ("03_cost.ipynb", "06_experiment_design.ipynb")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default="cn_default")
    ap.add_argument(
        "--out",
        default=None,
        help="working folder (default: benchmarks/out/build, or benchmarks/out/smoke with --smoke)",
    )
    ap.add_argument("--reuse-data", action="store_true", help="keep the data of an earlier run (no generation)")
    ap.add_argument("--jobs", type=int, default=BuildConfig.jobs)
    ap.add_argument("--no-pdf", action="store_true")
    ap.add_argument("--draft", action="store_true", help="build drafts (python -m analysis build --draft)")
    ap.add_argument(
        "--smoke",
        action="store_true",
        help=f"{SMOKE_ACCOUNTS:,} accounts, notebooks {' and '.join(SMOKE_NOTEBOOKS)}, no PDF, a draft: seconds",
    )
    args = ap.parse_args(argv)

    out = Path(args.out or ROOT / "benchmarks" / "out" / ("smoke" if args.smoke else "build")).resolve()
    data = out / "data" / args.scenario
    pdf = not (args.no_pdf or args.smoke)
    draft = args.draft or args.smoke
    t = time.perf_counter()
    reused = args.reuse_data and (data / "manifest.json").is_file()
    if not reused:
        extra = dict(accounts=SMOKE_ACCOUNTS, truth_accounts=500) if args.smoke else {}
        synth.generate(scenario=args.scenario, seed=1, out=data, overwrite=True, progress=False, **extra)
    generation = time.perf_counter() - t
    notebooks = ROOT / "notebooks"
    if args.smoke:  # the build takes a folder of notebooks: one holding copies of the chosen two
        if ROOT not in out.parents:  # a notebook finds the project from its folder (its kernel's working folder)
            ap.error(f"--smoke: --out must be inside the project ({ROOT}), e.g. under benchmarks/out/")
        notebooks = out / "notebooks"
        shutil.rmtree(notebooks, ignore_errors=True)
        notebooks.mkdir(parents=True)
        for name in SMOKE_NOTEBOOKS:
            shutil.copyfile(ROOT / "notebooks" / name, notebooks / name)
    cfg = dict(
        scenario=args.scenario,
        data=data,
        out=out / "reports",
        seed=1,
        jobs=args.jobs,
        pdf=pdf,
        notebooks=notebooks,
        quiet=args.smoke,
        draft=draft,
    )

    t = time.perf_counter()
    first = build(BuildConfig(**cfg, cache=False))  # a first build: every notebook executed
    first_wall = time.perf_counter() - t
    t = time.perf_counter()
    again = build(BuildConfig(**cfg))  # nothing changed: every notebook from the cache
    again_wall = time.perf_counter() - t
    wall = time.perf_counter() - T0

    t = first.timings
    print(
        f"\nreport build benchmark, scenario {args.scenario}{' (smoke)' if args.smoke else ''}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {args.jobs} notebook(s) at a time, "
        f"PDF {'on' if chromium() and pdf else 'off'}{', a draft (figures at screen resolution)' if draft else ''}"
    )
    print(f"  {'data generation' + (' (reused)' if reused else ''):<44} {generation:7.1f} s")
    print("  first build (every notebook executed):")
    for name, secs in [(k, v) for k, v in t.items() if k != "total"] + [("build() wall time", t["total"])]:
        print(f"    {name:<42} {secs:7.1f} s")
    print(f"\n    {'notebook':<32} {'execute':>8} {'kernel':>7} {'cells':>7} {'html':>6} {'slides':>7} {'pdf':>6}")
    for name, r in first.per_notebook.items():
        print(
            f"    {name:<32} {r['execute']:8.1f} {r['kernel']:7.1f} {r['cells']:7.1f} {r['render html']:6.1f} "
            f"{r['render slides']:7.1f} {r.get('pdf', 0.0):6.1f}"
        )
    print("\n    'kernel' is the kernel's start (first notebook of a job) or clearing, plus papermill overhead")
    print("    (notebook time minus its cells' time);")
    print("    'execute' is the wall time of the notebook in its worker thread.")
    print(f"\n  first build: {len(first.executed)} notebooks executed{'':<17} {first_wall:7.1f} s")
    print(
        f"  rebuild, nothing changed: {len(again.executed)} executed, {len(again.reused)} reused "
        f"{'':<4} {again_wall:7.1f} s"
    )
    print(f"  whole run wall time{'':<32} {wall:7.1f} s")
    if again.executed:
        print(f"  warning: the rebuild executed {', '.join(again.executed)}")
    flags = (
        f"{' --reuse-data' if args.reuse_data else ''}{' --smoke' if args.smoke else ''}"
        f"{' --no-pdf' if args.no_pdf else ''}{' --draft' if args.draft else ''}{' --out ' + str(out) if args.out else ''}"
    )
    print(f"\nreproduce: {sys.executable} benchmarks/bench_build.py{flags} --jobs {args.jobs}")
    same = (
        f"{sys.executable} -m analysis build --scenario {args.scenario} --data {data} --out {out / 'reports'} "
        f"--jobs {args.jobs}{'' if pdf else ' --no-pdf'}{' --draft' if draft else ''}"
        f"{' --notebooks ' + str(notebooks) if args.smoke else ''}"
    )
    print(f"same builds: {same} --no-cache, then {same}")
    return 0 if not again.executed else 1


if __name__ == "__main__":
    sys.exit(main())
