"""Speed and peak memory of the synthetic-data generator.

Each size runs in a fresh Python process that reports its own wall time and
peak resident memory (``ru_maxrss``), so the figures do not mix.

    python benchmarks/bench_generate.py                      # 1 million accounts
    python benchmarks/bench_generate.py --accounts 1000000 10000000
    python benchmarks/bench_generate.py --smoke              # seconds: 10,000 accounts

Targets: 1 million accounts (10 million or more contact rows) in under 20 s
with peak memory under 2 GB; 10 million accounts under 3 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ACCOUNTS = [1_000_000]
#: --smoke: the same code path on data generated in a second or two.
SMOKE_ACCOUNTS = [10_000]
DEFAULT_OUT = str(ROOT / "benchmarks" / "out" / "generate")

CHILD = r"""
import json, resource, sys, time
from analysis.data.synth import generate
n, out, scenario, progress = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] == "1"
t0 = time.perf_counter()
res = generate(scenario=scenario, accounts=n, seed=1, out=out, overwrite=True, progress=progress)
secs = time.perf_counter() - t0
print(json.dumps({"seconds": secs, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows": res.row_counts}))
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--accounts",
        type=int,
        nargs="+",
        default=None,
        help=f"sizes to time (default {ACCOUNTS[0]:,}; {SMOKE_ACCOUNTS[0]:,} with --smoke)",
    )
    ap.add_argument("--scenario", default="cn_default")
    ap.add_argument("--out", default=DEFAULT_OUT, help="working folder (default: benchmarks/out/generate)")
    ap.add_argument("--keep", action="store_true", help="keep the generated data")
    ap.add_argument("--smoke", action="store_true", help=f"seconds: {SMOKE_ACCOUNTS[0]:,} accounts (unless --accounts)")
    args = ap.parse_args(argv)
    if args.accounts is None:
        args.accounts = SMOKE_ACCOUNTS if args.smoke else ACCOUNTS

    rows = []
    for n in args.accounts:
        out = Path(args.out).resolve() / f"{args.scenario}_{n}"  # the child runs in ROOT
        r = subprocess.run(
            [sys.executable, "-c", CHILD, str(n), str(out), args.scenario, "0" if args.smoke else "1"],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
        res = json.loads(r.stdout.strip().splitlines()[-1])
        size = sum(p.stat().st_size for p in out.iterdir()) / 1e6
        rows.append((n, res["rows"]["contacts"], res["seconds"], res["peak_mb"], size))
        if not args.keep:
            shutil.rmtree(out)

    print(
        f"\ngenerator benchmark, scenario {args.scenario}{' (smoke)' if args.smoke else ''}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    print(f"{'accounts':>12} {'contacts':>12} {'seconds':>8} {'contacts/s':>12} {'peak MB':>8} {'files MB':>9}")
    for n, c, s, mb, size in rows:
        print(f"{n:>12,} {c:>12,} {s:>8.1f} {c / s:>12,.0f} {mb:>8.0f} {size:>9.0f}")
    print(
        "\nreproduce: python benchmarks/bench_generate.py --accounts "
        + " ".join(str(n) for n in args.accounts)
        + f" --scenario {args.scenario}"
        + (f" --out {args.out}" if args.out != DEFAULT_OUT else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
