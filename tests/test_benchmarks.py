"""Every benchmark still runs: its ``--smoke`` mode (tiny data, seconds, the same code paths) exits 0 and prints
its figures.

Each runs as a subprocess from the project folder, as a person would run it, with its output in the test's
temporary folder. The benchmarks need no network; a proxy that refuses every connection makes any attempt fail
fast. Only exit codes and the shape of the figures are checked, never their values: a slow machine must not fail
a test run (STYLE.md, habit 12). ``bench_build.py --smoke`` (two report notebooks built twice, the slowest of
them) is run by ``test_build_cache.py`` instead of a second time here; a last test checks that every script in
``benchmarks/`` is run somewhere.

The smoke runs are marked ``slow``: ``make test-fast`` leaves them out, ``make test`` runs them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NUM = r"[\d,]+(?:\.\d+)?"  # a printed figure: 1,234 or 0.36

#: Benchmarks whose smoke run is a test elsewhere: script -> (test file, test function).
ELSEWHERE = {"bench_build.py": ("test_build_cache.py", "test_the_build_benchmark_smoke_run")}

#: benchmark script: (extra arguments, patterns of the figure lines it must print, each matched per line)
CASES = {
    "bench_generate.py": (
        ["--out", "{tmp}"],
        [
            r"^generator benchmark, scenario cn_default \(smoke\)",
            rf"^\s+10,000\s+{NUM}\s+{NUM}\s+{NUM}\s+{NUM}\s+{NUM}$",
        ],
    ),
    "bench_engine.py": (
        [],
        [
            r"^metrics: the \d+ of engine\.DEFAULT_METRICS",
            rf"^ibis\s+{NUM}\s+{NUM}\s+{NUM}\s+{NUM}\s+{NUM}$",
            rf"^sql\s+{NUM}\s+{NUM}\s+{NUM}\s+{NUM}\s+{NUM}$",
            rf"^ratio ibis/sql \(median time\): {NUM}",
            r"^same numbers: yes$",
        ],
    ),
    "bench_validate.py": (
        [],
        [
            rf"^load_cold\s+{NUM}\s+{NUM}\s+{NUM}\s+{NUM}$",
            rf"^load_warm\s+{NUM}\s+{NUM}\s+{NUM}\s+{NUM}$",
            rf"^compare_warm\s+{NUM}\s+{NUM}\s+{NUM}\s+{NUM}$",
            rf"^sql\s+{NUM}\s+{NUM}\s+{NUM}\s+{NUM}$",
            rf"^ratio compare warm/sql \(median time\): {NUM}",
        ],
    ),
    "bench_what_if.py": (
        [],
        [
            r"^what-if benchmark, scenario cn_default \(smoke\): 2,000 accounts",
            rf"^prepare: {NUM} s \(engine queries {NUM} s",
            rf"^decision\s+{NUM}\s+{NUM}\s+{NUM}\s+{NUM}\s+{NUM}$",
            rf"^decision\+draw\s+{NUM}\s+{NUM}\s+{NUM}\s+{NUM}\s+{NUM}$",
            rf"^full\s+{NUM}\s+{NUM}\s+{NUM}\s+{NUM}\s+{NUM}$",
        ],
    ),
    "coverage_study.py": (
        ["--csv", "{tmp}/rows.csv"],
        [
            r"^cn_default \(smoke\): 2 seeds x 2,000 accounts",
            r"^method\s+outcome\s+strategy\s+truth\s+runs\s+coverage\b",
            rf"^\s*naive\s+paid\s+phone_only\s+-?{NUM}\s+2\s+",
        ],
    ),
    "net_value_coverage.py": (
        [],
        [
            r"^cn_default \(smoke\): 2 seeds x 2,000 accounts",
            r"^\s*measure\s+strategy\s+intervals\s+coverage\s+z_mean\s+z_sd$",
            rf"^net value vs baseline\s+all\s+\d+\s+{NUM}\s+-?{NUM}\s+{NUM}$",
            rf"^collected per account\s+all\s+\d+\s+{NUM}\s+-?{NUM}\s+{NUM}$",
        ],
    ),
    "decision_study.py": (
        ["--csv", "{tmp}/rows.csv"],
        [
            r"^\s*scenario\s+budget\s+method\s+seeds\s+breach\b.*regret_median",
            rf"^\s*cn_default\s+current\s+plug-in\s+2\s+{NUM}",
            rf"^\d+ scored choices in {NUM} s",
        ],
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(CASES))
def test_the_smoke_mode_runs_and_prints_its_figures(script, tmp_path):
    args, patterns = CASES[script]
    args = [a.format(tmp=tmp_path) for a in args]
    env = {
        **os.environ,
        "TMPDIR": str(tmp_path),
        "PYTHONUNBUFFERED": "1",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "",
        "http_proxy": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
        "no_proxy": "",
    }
    proc = subprocess.run(
        [sys.executable, f"benchmarks/{script}", "--smoke", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, (
        f"{script} --smoke exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    lines = proc.stdout.splitlines()
    missing = [p for p in patterns if not any(re.search(p, line) for line in lines)]
    assert not missing, f"{script} --smoke printed no line matching {missing}:\n{proc.stdout}"
    assert any("reproduce" in line for line in lines), f"{script} printed no reproduce line"


def test_every_benchmark_has_a_smoke_run_in_the_tests():
    scripts = sorted(p.name for p in (ROOT / "benchmarks").glob("*.py"))
    untested = [s for s in scripts if s not in CASES and s not in ELSEWHERE]
    assert not untested, f"add a --smoke mode and a case in CASES for {untested}"
    for script, (test_file, test_name) in ELSEWHERE.items():
        assert f"def {test_name}(" in (ROOT / "tests" / test_file).read_text(encoding="utf-8"), (
            f"{script}: {test_file} no longer has {test_name}; add a case in CASES"
        )
    lacking = [s for s in scripts if '"--smoke"' not in (ROOT / "benchmarks" / s).read_text(encoding="utf-8")]
    assert not lacking, f"no --smoke option in {lacking}"
