"""Shared fixtures: a tiny, hand-written dataset that satisfies the contract.

Every number in it is chosen so that per-account outcomes can be worked out
by hand (see the comments), which the engine tests rely on.

Also the session-wide synthetic datasets (``synthetic``) and the one build of
the two test notebooks (``sample_build``) that several test files share, so
that each is made once per run (see the section at the end).
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.data import contract

ROOT = Path(__file__).resolve().parents[1]
# as the command line does (analysis/__main__.py): jsonschema's optional "iri" format checker is not loaded, a
# second and a half of each worker's start (nbformat imports jsonschema)
sys.modules.setdefault("rfc3987_syntax", None)


def cli(*args: str) -> subprocess.CompletedProcess:
    """``python -m analysis ARGS`` run in this process: exit code, standard output and error as text.

    The same ``main`` as the command line, without a new interpreter's two to three seconds of imports; the
    tests that are about the process itself (the entry point, pipes, signals) use :func:`cli_process`.
    """
    import io as _io
    from contextlib import redirect_stderr, redirect_stdout

    from analysis.__main__ import main

    out, err = _io.StringIO(), _io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as e:  # argparse: usage errors (2) and --help (0)
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return subprocess.CompletedProcess(["python", "-m", "analysis", *args], code, out.getvalue(), err.getvalue())


def cli_process(*args: str, cwd: Path = ROOT, **kwargs) -> subprocess.CompletedProcess:
    """``python -m analysis ARGS`` in a new interpreter (text output captured)."""
    return subprocess.run(
        [sys.executable, "-m", "analysis", *map(str, args)], cwd=cwd, capture_output=True, text=True, **kwargs
    )


def _ts(values, tz="Asia/Shanghai"):
    return pd.to_datetime(values).tz_localize(tz).tz_convert("UTC")


def tiny_frames() -> dict[str, pd.DataFrame]:
    """Five accounts over a 30-day horizon starting 2026-03-02 (local dates)."""
    accounts = pd.DataFrame(
        {
            "account_id": [1, 2, 3, 4, 5],
            "entry_date": pd.to_datetime(["2026-03-02"] * 5).date,
            "product": ["cash_loan", "cash_loan", "credit_card", "cash_loan", "credit_card"],
            "currency": ["CNY"] * 5,
            "balance_due": [1000.0, 500.0, 8000.0, 300.0, 2500.0],
            "days_past_due": [5, 12, 45, 75, 20],
            "dpd_bucket": ["M1", "M1", "M2", "M3+", "M1"],
            "risk_score": [0.2, 0.4, 0.7, None, 0.5],
            "region": ["east", "east", "north", "south", "west"],
            "time_zone": ["Asia/Shanghai"] * 5,
            "segment": ["M1-low", "M1-low", "M2-high", "M3+-low", "M1-high"],
            "strategy": ["sms_only", "phone_only", "phone_only", "sms_only", "sms_then_phone"],
            "assignment": ["randomised"] * 5,
            "assignment_probability": [0.5, 0.25, 0.25, 0.5, 0.25],
        }
    )
    contacts = pd.DataFrame(
        {
            "contact_id": [10, 11, 12, 13, 14, 15, 16, 17],
            "account_id": [1, 1, 2, 2, 3, 5, 5, 4],
            "channel": ["sms", "sms", "phone", "phone", "phone", "sms", "phone", "sms"],
            "contacted_at": _ts(
                [
                    "2026-03-02 09:00",
                    "2026-03-04 10:00",  # account 1: 2 texts
                    "2026-03-02 09:30",
                    "2026-03-02 15:00",  # account 2: no answer, then RPC + promise
                    "2026-03-03 23:00",  # account 3: a call at 23:00 local
                    "2026-03-02 08:30",
                    "2026-03-09 11:00",  # account 5: text, then call
                    "2026-04-05 10:00",  # account 4: after the 30-day horizon
                ]
            ),
            "delivered": [True, False, None, None, None, True, None, True],
            "sms_segments": [1, 1, None, None, None, 2, None, 1],
            "connected": [None, None, False, True, True, None, True, None],
            "right_party": [None, None, False, True, False, None, True, None],
            "talk_seconds": [None, None, 0, 180, 20, None, 95, None],
            "promise_to_pay": [False, False, False, True, False, False, False, False],
        }
    )
    for col in ("delivered", "connected", "right_party"):
        contacts[col] = contacts[col].astype("boolean")
    for col in ("sms_segments", "talk_seconds"):
        contacts[col] = contacts[col].astype("Int64")
    payments = pd.DataFrame(
        {
            "payment_id": [100, 101, 102, 103],
            "account_id": [1, 2, 2, 3],
            "paid_at": _ts(["2026-03-05 12:00", "2026-03-03 10:00", "2026-03-10 10:00", "2026-04-20 10:00"]),
            # account 1 pays 1000 of 1000 (cured); account 2 pays 200 + 300
            # of 500 (cured); account 3 pays after the horizon (not counted).
            "amount": [1000.0, 200.0, 300.0, 8000.0],
        }
    )
    complaints = pd.DataFrame(
        {
            "complaint_id": [200],
            "account_id": [3],
            "contact_id": [14],
            "complained_at": _ts(["2026-03-04 09:00"]),
            "channel": ["phone"],
            "category": ["time_of_day"],
            "escalated": [True],
        }
    )
    opt_outs = pd.DataFrame(
        {
            "opt_out_id": [300],
            "account_id": [5],
            "requested_at": _ts(["2026-03-02 08:35"]),
            "channel": ["sms"],
        }
    )
    return {
        "accounts": accounts,
        "contacts": contacts,
        "payments": payments,
        "complaints": complaints,
        "opt_outs": opt_outs,
    }


def write_parquet_dataset(frames: dict[str, pd.DataFrame], folder: Path) -> Path:
    """Write frames as contract-typed Parquet files (``<table>.parquet``)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in frames.items():
        schema = contract.arrow_schema(name)
        table = pa.Table.from_pandas(df, schema=schema, preserve_index=False)
        pq.write_table(table, folder / f"{name}.parquet")
    return folder


def write_notebook(nb, path: Path) -> Path:
    """Write the notebook node ``nb`` to ``path`` with the ``python3`` kernel named in its metadata (as the
    build needs); returns ``path``."""
    import nbformat

    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def pytest_configure(config):
    """At the end of a run pytest collects the garbage five times over, to report exceptions raised while objects
    are finalised; on a worker that has run hundreds of tests (a large heap) that is seconds at the very end of the
    run, so it collects once. Each test's own unraisable exceptions are still reported with the test."""
    try:
        from _pytest.unraisableexception import gc_collect_iterations_key  # the setting pytest's own tests use
    except ImportError:  # another pytest: its default
        return
    config.stash[gc_collect_iterations_key] = 1


@pytest.fixture(scope="session", autouse=True)
def validation_memo_dir(tmp_path_factory):
    """Passed validations are remembered in this session's temporary folder, never in the home folder.

    Set in ``os.environ`` (not monkeypatch, which is per test) so that the command-line subprocesses
    inherit it; each xdist worker has its own session and folder. Restored at the end of the session.
    """
    before = os.environ.get("ANALYSIS_CACHE_DIR")
    folder = tmp_path_factory.mktemp("validated")
    os.environ["ANALYSIS_CACHE_DIR"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("ANALYSIS_CACHE_DIR", None)
    else:
        os.environ["ANALYSIS_CACHE_DIR"] = before


@pytest.fixture
def zh():
    """The reports' language set to Chinese for one test (English again afterwards)."""
    from analysis import i18n

    i18n.set_language("zh")
    try:
        yield
    finally:
        i18n.set_language("en")


@pytest.fixture
def tiny_dir(tmp_path) -> Path:
    """A valid five-account dataset as Parquet files in a temporary folder."""
    return write_parquet_dataset(tiny_frames(), tmp_path / "tiny")


@pytest.fixture
def tiny_manifest_dir(tiny_dir) -> Path:
    """The tiny dataset plus a manifest declaring one extra strategy name."""
    (tiny_dir / "manifest.json").write_text(json.dumps({"strategies": ["letter_only"]}), encoding="utf-8")
    return tiny_dir


# --------------------------------------------------------------------------
# Shared synthetic datasets and report builds (session-scoped, read-only)
# --------------------------------------------------------------------------
# Several test files need the same generated dataset (same scenario, size,
# seed and overrides) or the same build of the two test notebooks. Each is
# made once per run here and handed out as a path that tests must only read:
# a test that needs to change a dataset copies it (or its frames) first.
#
# With pytest-xdist (``-n 2``) every worker has its own session, so the
# folders live in the run's temporary folder that all workers share, and a
# lock makes the first worker that needs one make it while the others wait
# and then reuse it.


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    """Size and modification time of every file under ``folder`` (to see whether a test wrote there)."""
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _shared_folder(tmp_path_factory, name: str) -> Path:
    """``shared/<name>`` in this run's temporary folder: the same path in every xdist worker of the run."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # a worker's basetemp is a subfolder of the run's
        base = base.parent
    (base / "shared").mkdir(exist_ok=True)
    return base / "shared" / name


@contextlib.contextmanager
def _one_at_a_time(folder: Path):
    """Hold an exclusive lock for ``folder`` (a ``.lock`` file beside it) until the block ends."""
    with open(folder.with_name(folder.name + ".lock"), "a") as fh:
        if fcntl is not None:  # (no fcntl on Windows: there a run without xdist needs no lock)
            fcntl.flock(fh, fcntl.LOCK_EX)  # released when the file is closed
        yield


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory):
    """``synthetic(scenario, accounts=..., seed=..., ...)``: ``analysis.data.synth.generate`` once per distinct dataset.

    Takes the arguments of ``generate`` except ``out``, ``progress`` and ``overwrite`` and returns its
    ``GenerateResult`` (``.path``, ``.truth``, ``.row_counts``, ``.manifest``). The same arguments in any test
    file give the same folder, generated on first use. ``truth_accounts`` counts only up to ``accounts`` (the
    generator's own rule), so ``truth_accounts=60_000`` and the default name the same dataset of 60,000 accounts.

    The folder is shared: never write into it. At the end of the session every dataset handed out is checked
    to be exactly as it was.
    """
    from analysis.data import synth

    default_truth = inspect.signature(synth.generate).parameters["truth_accounts"].default
    made: dict[tuple, tuple] = {}

    def get(
        scenario: str = "cn_default",
        *,
        accounts: int,
        seed: int = 0,
        truth_accounts: int | None = None,
        overrides: dict | None = None,
        chunk_size: int | None = None,
    ):
        truth = min(default_truth if truth_accounts is None else truth_accounts, accounts)
        key = (scenario, accounts, seed, truth, json.dumps(overrides, sort_keys=True), chunk_size)
        if key not in made:
            digest = hashlib.sha256(repr(key).encode()).hexdigest()[:12]
            out = _shared_folder(tmp_path_factory, f"{scenario}-{accounts}-s{seed}-{digest}")
            with _one_at_a_time(out):
                if (out / "manifest.json").is_file():  # made by another xdist worker (generate writes it last)
                    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
                    res = synth.GenerateResult(
                        out,
                        manifest["row_counts"],
                        json.loads((out / "truth.json").read_text(encoding="utf-8")),
                        manifest,
                    )
                else:
                    extra = {} if chunk_size is None else {"chunk_size": chunk_size}
                    res = synth.generate(
                        scenario=scenario,
                        accounts=accounts,
                        seed=seed,
                        truth_accounts=truth,
                        overrides=overrides,
                        out=out,
                        progress=False,
                        **extra,
                    )
            made[key] = (res, _files(res.path))
        return made[key][0]

    yield get
    changed = [str(res.path) for res, files in made.values() if _files(res.path) != files]
    assert not changed, f"a test wrote into a shared dataset (copy it first): {changed}"


#: The seed of the data (and the build) shared by the report-build tests.
BUILD_SEED = 3


@pytest.fixture(scope="session")
def build_data(synthetic) -> Path:
    """2,000 synthetic accounts (cn_default, seed 3): the data of the report-build tests (build, browser, safety)."""
    return synthetic("cn_default", accounts=2_000, seed=BUILD_SEED, truth_accounts=500).path


@pytest.fixture(scope="session")
def sample_notebooks(tmp_path_factory) -> Path:
    """The two small report notebooks of ``test_build`` (written once per session, read by every build test)."""
    from test_build import write_test_notebooks  # tests/ is on sys.path, as for the test modules' own imports

    return write_test_notebooks(tmp_path_factory.mktemp("nbs") / "notebooks")


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory, build_data, sample_notebooks):
    """One full build of the test notebooks on ``build_data`` (with PDFs when chromium is available).

    Checked in ``test_build``; ``test_browser`` renders its pages and ``test_safety`` reads or copies it,
    instead of each making its own build of the same notebooks. Read-only: copy it before changing it.
    Returns the ``BuildResult`` (pickled beside the reports for the other xdist workers).
    """
    from analysis.report.build import BuildConfig, build

    folder = _shared_folder(tmp_path_factory, "sample-build")
    with _one_at_a_time(folder):
        if (folder / "result.pickle").is_file():  # built by another xdist worker
            res = pickle.loads((folder / "result.pickle").read_bytes())
        else:
            cfg = BuildConfig(
                data=build_data,
                out=folder / "reports",
                seed=BUILD_SEED,
                notebooks=sample_notebooks,
                quiet=True,
                sets=["sms_per_segment=0.03", 'note="hello"'],
            )
            res = build(cfg)
            (folder / "result.pickle").write_bytes(pickle.dumps(res))
    files = _files(res.out)
    yield res
    assert _files(res.out) == files, "a test wrote into the shared build (copy it first)"


@pytest.fixture(scope="session")
def report_build(tmp_path_factory, synthetic) -> Path:
    """The project's report notebooks built on 6,000 synthetic accounts (cn_default, seed 1; no PDF), once per run.

    Returns the reports folder (``notebooks/`` inside it holds the executed notebooks). ``test_report_text``
    reads its pages; ``test_notebooks`` checks the executed notebooks. Read-only.
    """
    from analysis.report.build import BuildConfig, build

    root = Path(__file__).resolve().parent.parent
    data = synthetic("cn_default", accounts=6_000, seed=1, truth_accounts=6_000).path
    base = _shared_folder(tmp_path_factory, "report-build")
    out = base / "reports"
    with _one_at_a_time(base):
        if not (base / "done").is_file():  # else built by another xdist worker
            folder = base / "notebooks"
            folder.mkdir(parents=True, exist_ok=True)
            for nb in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
                shutil.copy(nb, folder / nb.name)
            build(BuildConfig(data=data, out=out, seed=1, notebooks=folder, pdf=False, quiet=True, cache=False))
            (base / "done").write_text("built\n", encoding="utf-8")
    files = _files(out)
    yield out
    assert _files(out) == files, "a test wrote into the shared report build (copy it first)"
