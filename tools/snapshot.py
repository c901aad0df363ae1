"""What the tool says on one dataset, written to a folder so two versions of the code can be compared.

    python tools/snapshot.py OUT [--data FOLDER] [--scenario cn_default] [--seed 1]
    python tools/snapshot.py OUT --against EARLIER_OUT     # exit 1 and a diff when anything differs

It records the visible text of every manager report and slide deck of a fresh
build (``build --no-cache --no-pdf``), and the JSON outputs of ``compare``,
``compare --adjust`` and ``recommend`` (numbers equal to 1e-9, relative). A change that should not change
behaviour (a refactor) must leave all of them identical: run it at the commit
the change starts from and again after it, then compare.
"""

from __future__ import annotations

import argparse
import difflib
import html
import json
import math
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: What legitimately differs between two builds of the same code and data (instants, durations, temporary
#: paths), and what it is replaced by: only these tokens are masked, so a change elsewhere in their line shows.
VOLATILE: tuple[tuple[re.Pattern, str], ...] = (
    (re.compile(r"\b20\d\d-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?"), "<instant>"),
    (re.compile(r"\b\d+(\.\d+)?\s?(ms|s|seconds?|毫秒|秒)(?![A-Za-z])"), "<duration>"),
    (re.compile(r"/tmp/\S+"), "<temporary path>"),
)


def _masked(line: str) -> str:
    for pattern, token in VOLATILE:
        line = pattern.sub(token, line)
    return line


def visible_text(page: str) -> str:
    """What a reader sees: the page without scripts, styles and tags, one sentence-ish chunk per line."""
    page = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", page)
    text = html.unescape(re.sub(r"(?s)<[^>]+>", "\n", page))
    lines = (re.sub(r"\s+", " ", line).strip() for line in text.splitlines())
    return "\n".join(_masked(line) for line in lines if line) + "\n"


def run(args: list[str]) -> str:
    done = subprocess.run([sys.executable, "-m", "analysis", *args], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"python -m analysis {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def snapshot(out: Path, data: Path, scenario: str, seed: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if not (data / "manifest.json").exists():
        run(["generate", "--scenario", scenario, "--seed", str(seed), "--out", str(data)])
    (out / "compare.json").write_text(run(["compare", str(data), "--format", "json"]), encoding="utf-8")
    (out / "compare_adjust.json").write_text(
        run(["compare", str(data), "--adjust", "--format", "json"]), encoding="utf-8"
    )
    (out / "recommend.json").write_text(run(["recommend", str(data), "--format", "json"]), encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        reports = Path(tmp) / "reports"
        run(["build", "--data", str(data), "--out", str(reports), "--no-cache", "--no-pdf"])
        for page in sorted(reports.glob("[0-9][0-9]_*.html")):
            if page.name.endswith(".analyst.html"):
                continue  # shows the code, which a refactor may change
            (out / f"{page.stem}.txt").write_text(visible_text(page.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"snapshot in {out}: {len(list(out.iterdir()))} files")


#: Relative difference below which two numbers of the JSON outputs are the same: DuckDB adds up sums in
#: parallel, in an order that varies between runs, so the last digits of a float may differ (about 1e-15).
REL_TOL = 1e-9


def _json_differences(a, b, where: str = "") -> list[str]:
    """Paths at which two parsed JSON documents differ (numbers compared with :data:`REL_TOL`)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{where}: keys {sorted(a.keys() ^ b.keys())} in only one"]
        return [d for k in a for d in _json_differences(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items against {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _json_differences(x, y, f"{where}[{i}]")]
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        return [] if math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-12) else [f"{where}: {a!r} -> {b!r}"]
    return [] if a == b else [f"{where}: {a!r} -> {b!r}"]


def differences(new: Path, old: Path) -> int:
    names = sorted({p.name for p in new.iterdir()} | {p.name for p in old.iterdir()})
    changed = 0
    for name in names:
        a, b = old / name, new / name
        if not a.exists() or not b.exists():
            print(f"{name}: only in {'the new' if b.exists() else 'the earlier'} snapshot")
            changed += 1
            continue
        if name.endswith(".json"):
            found = _json_differences(
                json.loads(a.read_text(encoding="utf-8")), json.loads(b.read_text(encoding="utf-8"))
            )
            if found:
                changed += 1
                print(f"{name}:", *found[:30], sep="\n  ")
            continue
        diff = list(
            difflib.unified_diff(
                a.read_text(encoding="utf-8").splitlines(),
                b.read_text(encoding="utf-8").splitlines(),
                str(a),
                str(b),
                lineterm="",
            )
        )
        if diff:
            changed += 1
            print("\n".join(diff[:60]))
    print(f"{len(names)} files compared, {changed} differ")
    return changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write the snapshot to")
    parser.add_argument("--data", type=Path, help="dataset folder (default: data/generated/SCENARIO)")
    parser.add_argument("--scenario", default="cn_default")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--against", type=Path, help="an earlier snapshot to compare with")
    args = parser.parse_args()
    data = args.data or ROOT / "data" / "generated" / args.scenario
    snapshot(args.out, data.resolve(), args.scenario, args.seed)
    return 1 if args.against and differences(args.out, args.against) else 0


if __name__ == "__main__":
    sys.exit(main())
