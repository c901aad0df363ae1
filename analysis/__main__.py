"""Command line: ``python -m analysis COMMAND ...``.

Commands:
    generate   write a synthetic dataset (Parquet, truth.json, manifest.json)
    validate   check a dataset folder against the data contract
    compare    the headline comparison of strategies: response, cost, complaints
    recommend  the best channel mix per segment under capacity and complaint limits
    calibrate  a scenario's implied true effects against the published ranges
    build      execute the notebooks and write offline reports, slides and PDFs
    import     turn a collection system's export into a dataset folder (data/import_mapping.md)

A user mistake (bad path, bad value, bad scenario, invalid data) prints one
clear report and exits non-zero; it never prints a traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

# jsonschema, which nbformat imports (the build reads and writes notebooks), loads the optional package
# rfc3987_syntax when it is installed (JupyterLab's dependencies install it) only to check the "iri" string format,
# which nothing here uses; loading it compiles 38 grammars, a second and a half of every build. Marked absent in
# this process, it is not loaded and jsonschema leaves that one format unchecked (python-jsonschema/jsonschema#1428).
sys.modules.setdefault("rfc3987_syntax", None)  # pyright: ignore[reportArgumentType]  # None marks a module absent

from analysis import i18n  # noqa: E402  (after the line above, as every import of this module's commands)
from analysis.data import io, synth  # noqa: E402
from analysis.data.scenario import ScenarioError, load_scenario  # noqa: E402

EXIT_INVALID_DATA = 1
EXIT_USAGE = 2


class _UserError(Exception):
    """A mistake the user can fix; its message is the whole report."""


def _number(convert, accepts, ok):
    """An argparse type: ``convert`` the text, keep it if ``ok``, else say what ``accepts``."""

    def parse(text: str):
        try:
            value = convert(text.replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {accepts}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"expected {accepts}, got {text!r}")
        return value

    return parse


def _whole(text: str) -> int:
    """A whole number, also written as 1e6 or 1000000.0."""
    try:
        return int(text)
    except ValueError:
        value = float(text)
        if not value.is_integer():
            raise ValueError(text) from None
        return int(value)


_positive_int = _number(_whole, "a whole number >= 1", lambda v: v >= 1)
_nonneg_int = _number(_whole, "a whole number >= 0", lambda v: v >= 0)
_nonneg_float = _number(float, "a number >= 0", lambda v: math.isfinite(v) and v >= 0)
_confidence = _number(float, "a number in (0, 1)", lambda v: 0 < v < 1)
_level = _number(float, "a probability in (0.5, 1), e.g. 0.9", lambda v: 0.5 < v < 1)


def _limit(option: str):
    """An argparse type for a limit: a number >= 0, 'current' or 'unlimited'."""

    def parse(text: str):
        if text.strip().lower() in ("current", "unlimited", "none"):
            return text.strip().lower()
        try:
            value = float(text.replace("_", ""))
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value >= 0):
            raise argparse.ArgumentTypeError(f"expected a number >= 0, 'current' or 'unlimited', got {text!r}")
        return value

    return parse


def _json_safe(value):
    """``value`` with every NaN or infinite float as None, so the output is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        try:
            return _json_safe(value.item())
        except (TypeError, ValueError):
            return str(value)
    return value


def _print_json(obj) -> None:
    import json

    print(json.dumps(_json_safe(obj), indent=2, allow_nan=False, default=str))


def _cmd_generate(args) -> int:
    try:
        sc = load_scenario(args.scenario)
    except ScenarioError as e:
        raise _UserError(str(e)) from None
    n = args.accounts or sc["scenario"]["accounts"]
    t0 = time.perf_counter()
    try:
        res = synth.generate(
            scenario=sc,
            accounts=n,
            seed=args.seed,
            out=args.out,
            chunk_size=args.chunk_size,
            truth_accounts=args.truth_accounts,
            overwrite=args.overwrite,
            progress=None if not args.quiet else False,
        )
    except ValueError as e:
        raise _UserError(str(e)) from None
    except OSError as e:
        raise _UserError(
            f"could not write {e.filename or args.out}: {e.strerror or e}; nothing was written to {args.out}"
        ) from None
    secs = time.perf_counter() - t0
    counts = ", ".join(f"{k} {v:,}" for k, v in res.row_counts.items())
    print(f"wrote {res.path} in {secs:.1f} s: {counts}")
    return 0


def _cmd_validate(args) -> int:
    path = Path(args.data)
    try:
        ds = _load(path, args, strategies=args.strategies, recheck=True)
    except io.ContractError as e:
        print(str(e), file=sys.stderr)
        print(f"\n{path}: INVALID ({len(e.problems)} problem(s)); nothing was written.", file=sys.stderr)
        return EXIT_INVALID_DATA
    except (NotADirectoryError, FileNotFoundError, TypeError) as e:
        raise _UserError(str(e)) from None
    print(io.summary(ds))
    print(f"\n{path}: valid")
    return 0


def _engine_args(parser) -> None:
    """--engine and --spark-master: where the queries over the data run."""
    parser.add_argument(
        "--engine",
        choices=("duckdb", "spark"),
        default="duckdb",
        help="query engine: duckdb (default, this machine) or spark (the data's queries run in a "
        "Spark session; needs PySpark and Java 17+)",
    )
    parser.add_argument(
        "--spark-master",
        default=None,
        metavar="URL",
        help="Spark master URL with --engine spark, e.g. local[4], spark://host:7077 or yarn (default: local[*])",
    )


def _connection(args):
    """The Ibis backend the command's queries run on (None: a new DuckDB one)."""
    if getattr(args, "engine", "duckdb") != "spark":
        if getattr(args, "spark_master", None):
            raise _UserError("--spark-master applies to --engine spark only")
        return None
    from analysis.engine import spark

    try:
        return spark.connect(args.spark_master)
    except spark.SparkUnavailable as e:
        raise _UserError(f"--engine spark: {e}") from None


def _load(path: Path, args, strategies=None, recheck: bool = False):
    """``io.load`` on the engine the arguments ask for; ``recheck`` ignores a remembered validation (DuckDB)."""
    con = _connection(args)
    if con is not None:
        return io.load(str(args.data), con=con, strategies=strategies)
    return io.load(path, strategies=strategies, recheck=recheck)


def _scenario_for(ds, name: str | None):
    """The scenario whose unit costs apply: named, else the data's own, else by currency."""
    if name is None:
        own = (ds.manifest or {}).get("scenario")
        name = own if own else ("us_default" if ds.currency == "USD" else "cn_default")
    try:
        return load_scenario(name)
    except ScenarioError as e:
        raise _UserError(str(e)) from None


def _dataset_and_scenario(path: Path, scenario: str | None, args):
    """The validated dataset at ``path`` and the scenario whose assumptions apply."""
    try:
        ds = _load(path, args)
    except io.ContractError as e:
        raise _UserError(
            f"{path} does not satisfy the data contract; run `python -m analysis validate {path}`\n{e}"
        ) from None
    except (NotADirectoryError, FileNotFoundError, TypeError) as e:
        raise _UserError(str(e)) from None
    return ds, _scenario_for(ds, scenario)


def _cmd_compare(args) -> int:
    from analysis.decide import compare
    from analysis.measures.costs import UnitCosts

    path = Path(args.data)
    ds, sc = _dataset_and_scenario(path, args.scenario, args)
    try:
        unit_costs = UnitCosts.from_scenario(sc)
        by = tuple(c.strip() for c in args.by.split(",") if c.strip()) if args.by else ()
        long: dict[str, Any] = (
            dict(horizon="long", long_horizon_days=sc.long_horizon_days, loss_rates=sc.loss_rates())
            if args.horizon == "long"
            else {}
        )
        records = compare.headline(
            ds, costs=unit_costs, baseline=args.baseline, by=by, adjust=args.adjust, confidence=args.confidence, **long
        )
    except ValueError as e:
        raise _UserError(str(e)) from None
    if args.format == "json":
        _print_json(records)
    else:
        when = (
            f", outcomes by day {sc.long_horizon_days} (loss rates from scenario {sc.name})"
            if args.horizon == "long"
            else ""
        )
        print(f"{path}: {ds.currency}, unit costs from scenario {sc.name}, baseline {args.baseline}{when}\n")
        print(compare.format_table(records, adjust=args.adjust))
    return 0


def _cmd_build(args) -> int:
    from analysis.report.build import BuildConfig, BuildError, build

    cfg = BuildConfig(
        scenario=args.scenario,
        data=args.data,
        out=args.out,
        seed=args.seed,
        baseline=args.baseline,
        confidence=args.confidence,
        sets=args.set,
        notebooks=args.notebooks,
        pdf=not args.no_pdf,
        jobs=args.jobs,
        cache=not args.no_cache,
        engine=args.engine,
        spark_master=args.spark_master,
        lang=args.lang,
        draft=args.draft,
    )
    try:
        build(cfg)
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    return 0


def _cmd_recommend(args) -> int:
    from analysis.decide import decision
    from analysis.measures.costs import UnitCosts

    path = Path(args.data)
    ds, sc = _dataset_and_scenario(path, args.scenario, args)
    if sc.currency != ds.currency:
        raise _UserError(
            f"scenario {sc.name} is in {sc.currency} but the data is in {ds.currency}; "
            f"choose a scenario in {ds.currency}"
        )
    try:
        result = decision.decide(
            ds,
            sc,
            baseline=args.baseline,
            capacity_hours=args.capacity,
            complaint_budget_per_10k=args.complaint_budget,
            level=args.level,
            seed=args.seed,
            unit_costs=UnitCosts.from_scenario(sc),
            horizon=args.horizon,
        )
    except decision.InfeasibleDecision as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_INVALID_DATA
    except ValueError as e:
        raise _UserError(str(e)) from None
    if args.format == "json":
        _print_json({"data": str(path), "scenario": sc.name, "currency": ds.currency, **decision.to_json(result)})
    else:
        print(f"{path}: {ds.currency}, assumptions from scenario {sc.name}, gains against {args.baseline}\n")
        print(decision.decision_table(result, currency=ds.currency))
    return 0


def _cmd_calibrate(args) -> int:
    from analysis.data import calibration

    try:
        sc = load_scenario(args.scenario)
    except ScenarioError as e:
        raise _UserError(str(e)) from None
    t0 = time.perf_counter()
    try:
        truth = synth.simulate_truth(sc, accounts=args.accounts, seed=args.seed)
        table = calibration.check(truth, sc)
    except ValueError as e:
        raise _UserError(str(e)) from None
    if args.format == "json":
        _print_json(table.to_dict(orient="records"))
    else:
        print(
            f"scenario {sc.name}: true effects from {args.accounts:,} accounts simulated under every strategy "
            f"(seed {args.seed}, {time.perf_counter() - t0:.1f} s), against data/CALIBRATION.md\n"
        )
        print(calibration.format_table(table))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m analysis",
        description=(
            "Channel-choice analytics for collections: which delinquent borrowers to "
            "text, which to call, and which to do both for."
        ),
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    g = sub.add_parser(
        "generate",
        help="write a synthetic dataset with known truth",
        description="Simulate accounts under their collection strategies and write "
        "Parquet files, truth.json and manifest.json.",
    )
    g.add_argument(
        "--scenario", default="cn_default", help="scenario name in data/scenarios or a .toml path (default: cn_default)"
    )
    g.add_argument("--accounts", type=_positive_int, default=None, help="number of accounts (default: the scenario's)")
    g.add_argument("--seed", type=_nonneg_int, default=0, help="random seed (default: 0)")
    g.add_argument("--out", required=True, help="output folder")
    g.add_argument(
        "--chunk-size",
        type=_positive_int,
        default=200_000,
        help="accounts simulated at a time; bounds memory (default: 200000)",
    )
    g.add_argument(
        "--truth-accounts",
        type=_positive_int,
        default=100_000,
        help="accounts re-simulated under every strategy for truth.json (default: 100000)",
    )
    g.add_argument("--overwrite", action="store_true", help="replace the output folder if it exists")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g.set_defaults(func=_cmd_generate)

    v = sub.add_parser(
        "validate",
        help="check a dataset folder against the data contract",
        description="Check every file of a dataset folder against the data contract; "
        "print a summary (exit 0) or every problem found (exit 1).",
    )
    v.add_argument("data", help="dataset folder (Parquet or CSV files, one per table)")
    v.add_argument(
        "--strategies",
        nargs="+",
        default=None,
        metavar="NAME",
        help="extra strategy names to accept besides the standard ones",
    )
    _engine_args(v)
    v.set_defaults(func=_cmd_validate)

    c = sub.add_parser(
        "compare",
        help="compare strategies: response, cost, complaints",
        description="Per strategy (and group): accounts, paid rate with interval, difference "
        "from the baseline with interval, money collected and contact cost per account, "
        "complaints per 10,000 contacts with interval; with --adjust, the segment-adjusted "
        "effect. JSON output is a list of records (fields in the README).",
    )
    c.add_argument("data", help="dataset folder")
    c.add_argument("--baseline", default="sms_only", help="strategy to compare against (default: sms_only)")
    c.add_argument(
        "--by",
        default=None,
        metavar="COLUMNS",
        help="comma-separated account columns to group by, e.g. segment or dpd_bucket,product",
    )
    c.add_argument(
        "--adjust",
        action="store_true",
        help="add the effect adjusted for segment (post-stratification), for targeted assignment",
    )
    c.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    c.add_argument(
        "--scenario", default=None, help="scenario whose unit costs apply (default: the data's own, else by currency)"
    )
    c.add_argument("--confidence", type=_confidence, default=0.95, help="confidence level (default: 0.95)")
    c.add_argument(
        "--horizon",
        choices=("short", "long"),
        default="short",
        help="short: outcomes within the 30-day horizon (default); long: outcomes by the scenario's "
        "long horizon (90 days by default), adding the shares cured, still delinquent and rolled "
        "and the expected loss per account",
    )
    _engine_args(c)
    c.set_defaults(func=_cmd_compare)

    r = sub.add_parser(
        "recommend",
        help="the best channel mix per segment under capacity and complaint limits",
        description="Choose the share of each segment given each strategy to maximise the "
        "expected gain over the baseline (money collected, minus contact and expected complaint "
        "cost), from estimates pooled across segments, keeping agent hours and complaints within "
        "their limits with probability --level; a segment moves off the baseline only when the "
        "move gains with that probability. Prints the policy per segment with its reason, the "
        "expected gain with its interval, the probability that each limit holds, and comparisons "
        "with the current allocation and each single strategy.",
    )
    r.add_argument("data", help="dataset folder")
    r.add_argument(
        "--capacity",
        type=_limit("--capacity"),
        default="current",
        metavar="HOURS",
        help="agent hours over the horizon: a number, 'current' (no more than the current allocation; "
        "default) or 'unlimited'",
    )
    r.add_argument(
        "--complaint-budget",
        type=_limit("--complaint-budget"),
        default="current",
        metavar="X",
        help="complaints per 10,000 accounts: a number, 'current' (default) or 'unlimited'",
    )
    r.add_argument(
        "--level",
        type=_level,
        default=0.9,
        help="probability with which each limit must hold and a move must gain, in (0.5, 1) (default: 0.9)",
    )
    r.add_argument(
        "--baseline", default="sms_only", help="strategy segments stay on unless a move gains (default: sms_only)"
    )
    r.add_argument(
        "--scenario",
        default=None,
        help="scenario whose costs and assumptions apply (default: the data's own, else by currency)",
    )
    r.add_argument(
        "--horizon",
        choices=("short", "long"),
        default="short",
        help="short: gains on cash collected within the 30-day horizon (default); long: on the losses "
        "avoided by the scenario's long horizon (90 days by default)",
    )
    r.add_argument("--seed", type=_nonneg_int, default=0, help="seed of the posterior draws (default: 0)")
    r.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    _engine_args(r)
    r.set_defaults(func=_cmd_recommend)

    k = sub.add_parser(
        "calibrate",
        help="a scenario's implied true effects against the published ranges",
        description="Simulate the truth of a scenario (every strategy and the no-contact "
        "counterfactual, with common random numbers) and print each effect it implies (a text "
        "against no contact, a human conversation per borrower reached, AI voice against human, "
        "complaints per contact, the price of a text) beside its published range, its source in "
        "data/CALIBRATION.md and IN or OUT. A world outside a range is allowed: it is flagged.",
    )
    k.add_argument(
        "--scenario", default="cn_default", help="scenario name in data/scenarios or a .toml path (default: cn_default)"
    )
    k.add_argument(
        "--accounts",
        type=_positive_int,
        default=40_000,
        help="accounts simulated under every strategy (default: 40000, a few seconds)",
    )
    k.add_argument("--seed", type=_nonneg_int, default=1, help="random seed (default: 1)")
    k.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    k.set_defaults(func=_cmd_calibrate)

    from analysis.report.build import BuildConfig

    d = BuildConfig()
    b = sub.add_parser(
        "build",
        help="execute the notebooks; write offline reports, slides (HTML and PowerPoint) and PDFs",
        description="Execute notebooks/NN_*.ipynb with papermill (one process) and write to --out, "
        "per notebook: a report with code hidden (NN_name.html), one with code "
        "(NN_name.analyst.html), reveal.js slides (NN_name.slides.html), the same slides as PowerPoint (NN_name.pptx), their PDF when chromium "
        "is on PATH (NN_name.slides.pdf) and the executed notebook (notebooks/); plus index.html. "
        "Every file works offline. The previous --out folder is replaced only if the build succeeds. "
        "A notebook is executed again only when something it depends on changed; otherwise it and "
        "its reports are reused from the previous --out folder (see --no-cache).",
    )
    b.add_argument(
        "--scenario", default=None, help="scenario name or .toml path (default: the data's own, else cn_default)"
    )
    b.add_argument(
        "--data",
        type=Path,
        default=None,
        help="dataset folder (default: data/generated/SCENARIO, generated when missing)",
    )
    b.add_argument(
        "--out", type=Path, default=None, help="reports folder (default: reports; reports-zh with --lang zh)"
    )
    b.add_argument(
        "--lang",
        choices=tuple(i18n.LANGUAGES),
        default=d.lang,
        help="the reports' language: en (English, the default) or zh (Simplified Chinese); "
        "index.html links the other language's reports when they are built beside them",
    )
    b.add_argument(
        "--seed",
        type=_nonneg_int,
        default=None,
        help="seed of the data and the notebooks (default: the data's own, else 1)",
    )
    b.add_argument("--baseline", default=d.baseline, help=f"baseline strategy (default: {d.baseline})")
    b.add_argument(
        "--confidence", type=_confidence, default=d.confidence, help=f"confidence level (default: {d.confidence})"
    )
    b.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a unit-cost override (e.g. sms_per_segment=0.03) or another notebook parameter; repeatable",
    )
    b.add_argument("--notebooks", type=Path, default=d.notebooks, help="notebooks folder (default: notebooks)")
    b.add_argument("--no-pdf", action="store_true", help="do not print the slides to PDF")
    b.add_argument(
        "--draft",
        action="store_true",
        help="draw the figures at screen resolution instead of 2.5 times it: a quicker build to check a change "
        "(blurred figures on high-density screens and in the decks; the index says it is a draft)",
    )
    b.add_argument(
        "--jobs", type=_positive_int, default=d.jobs, help=f"notebooks executed at the same time (default: {d.jobs})"
    )
    b.add_argument(
        "--no-cache",
        action="store_true",
        help="execute every notebook. Without it a notebook is reused from the previous --out folder "
        "(made by this tool) when its key matches: a SHA-256 over the notebook file, the parameters "
        "it declares and receives, the analysis package's code and templates, the data files, the "
        "scenario and its rule packs, and the Python and library versions; its reports and PDF are "
        "reused too when nbconvert, reveal.js and chromium are unchanged",
    )
    _engine_args(b)
    b.set_defaults(func=_cmd_build)

    from analysis.data import importer

    im = sub.add_parser(
        "import",
        help="import a collection system's export into a contract dataset folder",
        description="Read an export (any headers, text ids, local times, GBK/UTF-8 CSV or .xlsx) "
        "through a mapping file and write a dataset folder that satisfies the data contract; "
        "see data/import_mapping.md.",
    )
    importer.add_arguments(im)
    im.set_defaults(func=importer.run)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except _UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into head or less, which closed early: end quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
