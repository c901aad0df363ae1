"""Benchmark: engine.cell_stats through Ibis vs the same statistics in plain DuckDB SQL.

Times ``analysis.engine.cell_stats(by=("strategy", "segment"))`` (Ibis on
DuckDB) against a hand-written DuckDB SQL query that computes the same
per-cell sufficient statistics (per-account aggregation of the events inside
each account's horizon, then a group-by over the cells), on the same Parquet
files, with the same DuckDB settings. Each run of each variant happens in a
fresh subprocess, so its peak resident memory (``VmHWM``) is its own; the
variants alternate and the median of the repeats is reported, together with
the Ibis/SQL ratio and a check that both return the same numbers.

Targets: Ibis time <= 1.5x SQL time; peak memory < 1 GB at 100 million
contact rows (10 million accounts).

Usage::

    python benchmarks/bench_engine.py --data DIR [--repeat 3]
    python benchmarks/bench_engine.py --accounts 10000000   # generates data

``DIR`` holds the contract tables as ``<table>.parquet`` files or as folders
of parts ``<table>/*.parquet`` (both are globbed). Without ``--data`` the
data set is generated with ``python -m analysis generate --scenario
cn_default`` into a temporary folder that is deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TABLE_NAMES = ("accounts", "contacts", "payments", "complaints", "opt_outs")
BY = ("strategy", "segment")
HORIZON_DAYS = 30
VARIANTS = ("ibis", "sql")

# The per-account part of the hand-written query: one DOUBLE per metric of
# engine.DEFAULT_METRICS (checked at start-up so the two cannot drift apart).
_SQL_TEMPLATE = """
WITH zone_days AS (
    -- local midnight -> UTC once per (entry_date, time_zone), not per account
    SELECT entry_date, time_zone,
           timezone(time_zone, CAST(entry_date AS TIMESTAMP)) AS ws
    FROM (SELECT DISTINCT entry_date, time_zone FROM accounts)
),
-- NOT MATERIALIZED: inlining lets each join pick its own plan; a
-- materialised 10M-row CTE is about twice as slow under the memory limit.
win AS NOT MATERIALIZED (
    SELECT a.account_id, a.strategy, a.segment, a.balance_due,
           z.ws, z.ws + INTERVAL '{hours}' HOUR AS we
    FROM accounts a
    JOIN zone_days z ON a.entry_date = z.entry_date AND a.time_zone = z.time_zone
),
c AS (
    SELECT e.account_id,
           count(*) AS n_contacts,
           count(*) FILTER (WHERE e.right_party) AS right_party,
           count(*) FILTER (WHERE e.promise_to_pay) AS promise,
           count(*) FILTER (WHERE e.channel = 'sms') AS n_sms,
           count(*) FILTER (WHERE e.channel = 'phone') AS n_phone,
           count(*) FILTER (WHERE e.channel = 'ai_voice') AS n_ai_voice,
           count(*) FILTER (WHERE e.channel = 'sms' AND e.delivered) AS sms_delivered,
           sum(e.sms_segments) FILTER (WHERE e.channel = 'sms') AS sms_segments,
           count(*) FILTER (WHERE e.channel = 'phone' AND e.connected) AS phone_connected,
           count(*) FILTER (WHERE e.channel = 'phone' AND e.right_party) AS phone_right_party,
           sum(e.talk_seconds) FILTER (WHERE e.channel = 'phone') AS phone_talk_seconds,
           count(*) FILTER (WHERE e.channel = 'ai_voice' AND e.connected) AS ai_voice_connected,
           count(*) FILTER (WHERE e.channel = 'ai_voice' AND e.right_party) AS ai_voice_right_party,
           sum(e.talk_seconds) FILTER (WHERE e.channel = 'ai_voice') AS ai_voice_talk_seconds
    FROM contacts e JOIN win w ON e.account_id = w.account_id
    WHERE e.contacted_at >= w.ws AND e.contacted_at < w.we
    GROUP BY e.account_id
),
p AS (
    SELECT e.account_id, sum(e.amount) AS collected,
           count(*) FILTER (WHERE e.amount > 0) AS paid
    FROM payments e JOIN win w ON e.account_id = w.account_id
    WHERE e.paid_at >= w.ws AND e.paid_at < w.we
    GROUP BY e.account_id
),
k AS (
    SELECT e.account_id, count(*) AS complaints,
           count(*) FILTER (WHERE e.escalated) AS complaints_escalated
    FROM complaints e JOIN win w ON e.account_id = w.account_id
    WHERE e.complained_at >= w.ws AND e.complained_at < w.we
    GROUP BY e.account_id
),
o AS (
    SELECT e.account_id, count(*) AS opt_outs
    FROM opt_outs e JOIN win w ON e.account_id = w.account_id
    WHERE e.requested_at >= w.ws AND e.requested_at < w.we
    GROUP BY e.account_id
),
acct AS (
    SELECT w.strategy, w.segment,
           CAST(coalesce(c.n_contacts, 0) > 0 AS DOUBLE) AS contacted,
           CAST(coalesce(c.right_party, 0) > 0 AS DOUBLE) AS right_party,
           CAST(coalesce(c.promise, 0) > 0 AS DOUBLE) AS promise,
           CAST(coalesce(p.paid, 0) > 0 AS DOUBLE) AS paid,
           CAST(coalesce(p.collected, 0) >= w.balance_due - 0.005 AS DOUBLE) AS cured,
           coalesce(p.collected, 0.0) AS collected,
           CAST(coalesce(c.n_contacts, 0) AS DOUBLE) AS n_contacts,
           CAST(coalesce(c.n_sms, 0) AS DOUBLE) AS n_sms,
           CAST(coalesce(c.n_phone, 0) AS DOUBLE) AS n_phone,
           CAST(coalesce(c.n_ai_voice, 0) AS DOUBLE) AS n_ai_voice,
           CAST(coalesce(c.sms_delivered, 0) AS DOUBLE) AS sms_delivered,
           CAST(coalesce(c.sms_segments, 0) AS DOUBLE) AS sms_segments,
           CAST(coalesce(c.phone_connected, 0) AS DOUBLE) AS phone_connected,
           CAST(coalesce(c.phone_right_party, 0) AS DOUBLE) AS phone_right_party,
           CAST(coalesce(c.phone_talk_seconds, 0) AS DOUBLE) AS phone_talk_seconds,
           CAST(coalesce(c.ai_voice_connected, 0) AS DOUBLE) AS ai_voice_connected,
           CAST(coalesce(c.ai_voice_right_party, 0) AS DOUBLE) AS ai_voice_right_party,
           CAST(coalesce(c.ai_voice_talk_seconds, 0) AS DOUBLE) AS ai_voice_talk_seconds,
           CAST(coalesce(k.complaints, 0) AS DOUBLE) AS complaints,
           CAST(coalesce(k.complaints_escalated, 0) AS DOUBLE) AS complaints_escalated,
           CAST(coalesce(o.opt_outs, 0) > 0 AS DOUBLE) AS opted_out,
           w.balance_due AS balance_due
    FROM win w
    LEFT JOIN c ON w.account_id = c.account_id
    LEFT JOIN p ON w.account_id = p.account_id
    LEFT JOIN k ON w.account_id = k.account_id
    LEFT JOIN o ON w.account_id = o.account_id
)
SELECT strategy, segment, count(*) AS accounts,
{sums}
FROM acct
GROUP BY strategy, segment
ORDER BY strategy, segment
"""

_SQL_METRICS = (
    "contacted", "right_party", "promise", "paid", "cured", "collected",
    "n_contacts", "n_sms", "n_phone", "n_ai_voice", "sms_delivered",
    "sms_segments", "phone_connected", "phone_right_party",
    "phone_talk_seconds", "ai_voice_connected", "ai_voice_right_party",
    "ai_voice_talk_seconds", "complaints", "complaints_escalated",
    "opted_out", "balance_due",
)


def _sql_query(horizon_days: int) -> str:
    """The hand-written DuckDB query computing cell_stats(by=BY)."""
    sums = ",\n".join(
        f"       sum({m}) AS {m}_sum, sum({m} * {m}) AS {m}_sumsq"
        for m in _SQL_METRICS
    )
    return _SQL_TEMPLATE.format(hours=24 * horizon_days, sums=sums)


def _table_glob(data: Path, name: str) -> str:
    """The Parquet file or glob of parts holding table ``name`` in ``data``."""
    single = data / f"{name}.parquet"
    if single.is_file():
        return str(single)
    folder = data / name
    if folder.is_dir() and any(folder.rglob("*.parquet")):
        return str(folder / "**" / "*.parquet")
    raise SystemExit(f"no {name}.parquet or {name}/*.parquet in {data}")


def _duckdb_config(args: argparse.Namespace) -> dict[str, str]:
    """DuckDB settings shared by both variants."""
    return {
        "threads": str(args.threads),
        "memory_limit": args.memory_limit,
        "temp_directory": str(args.temp_dir),
        "preserve_insertion_order": "false",
    }


def _peak_rss_bytes() -> int:
    """Peak resident set size of this process (VmHWM; ru_maxrss as fallback)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _child(args: argparse.Namespace) -> None:
    """Run one variant once; print a JSON line; save the result frame."""
    config = _duckdb_config(args)
    globs = {n: _table_glob(args.data, n) for n in TABLE_NAMES}
    if args.child == "ibis":
        import ibis

        from analysis import engine

        con = ibis.duckdb.connect(**config)
        tables = {n: con.read_parquet(g, table_name=n) for n, g in globs.items()}
        t0 = time.perf_counter()
        df = engine.cell_stats(tables, by=BY, horizon_days=HORIZON_DAYS)
        seconds = time.perf_counter() - t0
    else:
        import duckdb

        con = duckdb.connect(config=config)
        con.execute("SET TimeZone = 'UTC'")
        for n, g in globs.items():
            quoted = g.replace("'", "''")
            con.execute(f"CREATE VIEW {n} AS SELECT * FROM read_parquet('{quoted}')")
        t0 = time.perf_counter()
        df = con.execute(_sql_query(HORIZON_DAYS)).df()
        seconds = time.perf_counter() - t0
    df.to_pickle(args.out)
    print(json.dumps({"seconds": seconds, "peak_rss": _peak_rss_bytes()}))


def _run_variant(args: argparse.Namespace, variant: str, out: Path) -> dict:
    """Run ``variant`` once in a fresh subprocess; return its figures."""
    cmd = [
        sys.executable, __file__, "--child", variant, "--out", str(out),
        "--data", str(args.data), "--threads", str(args.threads),
        "--memory-limit", args.memory_limit, "--temp-dir", str(args.temp_dir),
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{variant} run failed:\n{proc.stderr}")
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    figures["wall"] = wall
    return figures


def _compare(a, b) -> list[str]:
    """Differences between the Ibis and SQL result frames (empty when equal)."""
    import numpy as np

    problems = []
    if list(a.columns) != list(b.columns):
        missing = sorted(set(a.columns) ^ set(b.columns))
        return [f"columns differ: {missing}"]
    if len(a) != len(b):
        return [f"row counts differ: {len(a)} vs {len(b)}"]
    for col in BY:
        if not (a[col].astype(str).values == b[col].astype(str).values).all():
            problems.append(f"cell keys differ in {col}")
    for col in a.columns:
        if col in BY:
            continue
        x = a[col].to_numpy(dtype="float64")
        y = b[col].to_numpy(dtype="float64")
        if not np.allclose(x, y, rtol=1e-9, atol=1e-6):
            problems.append(f"{col}: max abs diff {np.max(np.abs(x - y))}")
    return problems


def _rows(data: Path) -> dict[str, int]:
    """Row counts of the tables (from Parquet metadata)."""
    import pyarrow.parquet as pq

    counts = {}
    for n in TABLE_NAMES:
        g = _table_glob(data, n)
        files = [Path(g)] if Path(g).is_file() else sorted(Path(data / n).rglob("*.parquet"))
        counts[n] = sum(pq.read_metadata(f).num_rows for f in files)
    return counts


def _generate(accounts: int, out: Path) -> None:
    """Generate a data set with the project's generator (``python -m analysis``)."""
    cmd = [
        sys.executable, "-m", "analysis", "generate", "--scenario", "cn_default",
        "--accounts", str(accounts), "--seed", "1", "--out", str(out),
    ]
    print("generating:", shlex.join(cmd), flush=True)
    if subprocess.run(cmd, cwd=ROOT).returncode != 0:
        raise SystemExit("data generation failed; pass --data DIR with contract Parquet files")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, help="folder of contract Parquet files")
    p.add_argument("--accounts", type=int, default=10_000_000,
                   help="accounts to generate when --data is not given")
    p.add_argument("--repeat", type=int, default=3, help="runs of each variant")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--memory-limit", default="450MB",
                   help="DuckDB memory_limit (default 450MB: the engine spills "
                        "beyond it, and the whole process, Python, pandas and "
                        "Ibis included, then peaks near 850 MB)")
    p.add_argument("--temp-dir", type=Path, default=None,
                   help="DuckDB spill folder (default: a fresh temporary folder)")
    p.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the process exit code (1 if results differ)."""
    args = _parse(argv)
    if args.child:
        _child(args)
        return 0

    import pandas as pd

    from analysis import engine

    if set(_SQL_METRICS) != set(engine.DEFAULT_METRICS):
        raise SystemExit("benchmark SQL metrics and engine.DEFAULT_METRICS differ")

    scratch = Path(tempfile.mkdtemp(prefix="bench_engine_"))
    generated = args.data is None
    try:
        if generated:
            args.data = scratch / "data"
            _generate(args.accounts, args.data)
        if args.temp_dir is None:
            args.temp_dir = scratch / "spill"
        args.temp_dir.mkdir(parents=True, exist_ok=True)
        rows = _rows(args.data)
        print("rows:", ", ".join(f"{n}={c:,}" for n, c in rows.items()))
        print("duckdb settings (both variants):",
              ", ".join(f"{k}={v}" for k, v in _duckdb_config(args).items()))

        runs: dict[str, list[dict]] = {v: [] for v in VARIANTS}
        for r in range(args.repeat):
            order = VARIANTS if r % 2 == 0 else VARIANTS[::-1]
            for v in order:
                fig = _run_variant(args, v, scratch / f"{v}.pkl")
                runs[v].append(fig)
                print(f"  run {r + 1} {v:4s}: {fig['seconds']:8.2f} s query, "
                      f"{fig['peak_rss'] / 1e6:7.0f} MB peak RSS", flush=True)

        problems = _compare(pd.read_pickle(scratch / "ibis.pkl"),
                            pd.read_pickle(scratch / "sql.pkl"))
        med = {v: statistics.median(f["seconds"] for f in runs[v]) for v in VARIANTS}
        wall = {v: statistics.median(f["wall"] for f in runs[v]) for v in VARIANTS}
        peak = {v: max(f["peak_rss"] for f in runs[v]) for v in VARIANTS}
        print()
        print(f"{'variant':8s} {'median s':>9s} {'min s':>8s} {'max s':>8s} "
              f"{'process s':>10s} {'peak MB':>8s}")
        for v in VARIANTS:
            secs = [f["seconds"] for f in runs[v]]
            print(f"{v:8s} {med[v]:9.2f} {min(secs):8.2f} {max(secs):8.2f} "
                  f"{wall[v]:10.2f} {peak[v] / 1e6:8.0f}")
        print("(s: query time, median/min/max over runs; process s: median wall time "
              "of the whole subprocess, start-up included; peak MB: highest VmHWM of "
              "the run's process, 10^6 bytes)")
        ratio = med["ibis"] / med["sql"]
        print(f"ratio ibis/sql (median time): {ratio:.2f}  (target <= 1.5)")
        print(f"peak memory ibis: {peak['ibis'] / 1e6:.0f} MB  (target < 1000 MB; "
              "whole process, Python and Ibis included)")
        print("same numbers:", "yes" if not problems else "NO")
        for msg in problems:
            print("  ", msg)
        source = (["--accounts", str(args.accounts)] if generated
                  else ["--data", str(args.data)])
        cmd = [sys.executable, "benchmarks/bench_engine.py", *source,
               "--repeat", str(args.repeat), "--threads", str(args.threads),
               "--memory-limit", args.memory_limit]
        print("reproduce:", "cd", shlex.quote(str(ROOT)), "&&", shlex.join(cmd))
        return 1 if problems else 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
