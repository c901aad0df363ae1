"""The build's cache: a notebook is executed again only when something it depends on changed.

Three tiny notebooks written here (as in ``test_build``) declare different
parameters, like the report notebooks: ``01_policy`` a decision limit
(``capacity_hours``, as 01 and 08 do) and the cost overrides, ``02_costs`` the
cost overrides but reads only the price of a text (its metadata says so, as
02, 05 and 06 say they read only the currency), ``03_tour`` neither. Whether a notebook ran is read from the
build's result (``executed``, ``reused``), never from timing.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pyarrow.parquet as pq
import pytest
from conftest import BUILD_SEED, write_notebook
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from analysis.__main__ import main
from analysis.data.folders import OWNER_FILE
from analysis.report import build as build_mod
from analysis.report.build import CACHE_FIELD, MARKER, BuildConfig, PreviousReports, build, data_hash

pytestmark = pytest.mark.slow  # report builds: left out by make test-fast
ROOT = Path(__file__).resolve().parent.parent
CORE = 'scenario = "cn_default"\ndata_dir = ""\nseed = 0\nbaseline = "sms_only"\nconfidence = 0.95'
NOTEBOOKS = {  # name: (parameters cell, code)
    "01_policy.ipynb": (
        CORE + '\ncost_overrides = {}\ncapacity_hours = "current"',
        "print(f'capacity {capacity_hours}, costs {cost_overrides}')",
    ),
    "02_costs.ipynb": (CORE + "\ncost_overrides = {}", "print(f'costs {cost_overrides}')"),
    "03_tour.ipynb": (CORE, "import os\nprint(f'seed {seed}, files {len(os.listdir(data_dir))}')"),
}
ALL = sorted(NOTEBOOKS)
PAGES = (".html", ".analyst.html", ".slides.html")


@pytest.fixture(scope="module")
def first(tmp_path_factory, build_data):
    """The first build of the three notebooks (nothing to reuse), on a copy of the shared small dataset."""
    base = tmp_path_factory.mktemp("cache")
    data = shutil.copytree(build_data, base / "data")  # one test edits it in place (and puts it back)
    notebooks = base / "notebooks"
    notebooks.mkdir()
    for name, (params, code) in NOTEBOOKS.items():
        nb = new_notebook(
            cells=[
                new_markdown_cell(f"# {name}"),
                new_code_cell(params, metadata={"tags": ["parameters"]}),
                new_code_cell(code),
            ]
        )
        if name == "02_costs.ipynb":
            nb.metadata["analysis"] = {"cost_keys": ["sms_per_segment"]}
        write_notebook(nb, notebooks / name)
    res = build(BuildConfig(data=data, out=base / "first", seed=BUILD_SEED, notebooks=notebooks, pdf=False, quiet=True))
    return SimpleNamespace(data=data, notebooks=notebooks, res=res, out=res.out)


def rebuild(first, out: Path, **kwargs):
    """A build into ``out``, a copy of the first build's reports (owner file included): the previous reports."""
    if not out.exists():
        shutil.copytree(first.out, out)
    return build(
        BuildConfig(
            data=first.data, out=out, seed=BUILD_SEED, notebooks=first.notebooks, pdf=False, quiet=True, **kwargs
        )
    )


def printed(out: Path, name: str) -> str:
    nb = nbformat.read(out / "notebooks" / name, as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def injected(out: Path, name: str) -> str:
    nb = nbformat.read(out / "notebooks" / name, as_version=4)
    return next(c.source for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))


def reports(out: Path) -> dict[str, bytes]:
    """Every file of a reports folder except those that record the build itself (time, cache)."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in out.rglob("*")
        if p.is_file() and p.name not in ("index.html", MARKER, OWNER_FILE)
    }


def record(out: Path) -> dict:
    return json.loads((out / MARKER).read_text(encoding="utf-8"))


def test_the_first_build_executes_everything_and_injects_only_declared_parameters(first):
    assert first.res.executed == ALL and first.res.reused == []
    assert "cost_overrides" in injected(first.out, "02_costs.ipynb")
    assert "cost_overrides" not in injected(first.out, "03_tour.ipynb")  # 03 does not declare it
    assert sorted(record(first.out)[CACHE_FIELD]) == ALL


def test_a_rebuild_with_nothing_changed_executes_nothing_and_gives_the_same_reports(first, tmp_path):
    res = rebuild(first, tmp_path / "r")
    assert res.executed == [] and res.reused == ALL
    assert all(r["reused"] and r["reports reused"] for r in res.per_notebook.values())
    assert "data validation" not in res.timings  # the first build validated these very bytes
    assert reports(res.out) == reports(first.out)
    assert record(res.out)[CACHE_FIELD] == record(first.out)[CACHE_FIELD]


@pytest.mark.parametrize(
    "setting, executed",
    [
        ("capacity_hours=2000", ["01_policy.ipynb"]),  # a decision limit: only the notebook that declares it
        ("sms_per_segment=0.03", ["01_policy.ipynb", "02_costs.ipynb"]),  # a cost: those declaring cost_overrides
        ("agent_cost_per_hour=61", ["01_policy.ipynb"]),  # ... that read it (02 reads only the price of a text)
    ],
)
def test_a_parameter_reruns_only_the_notebooks_that_declare_it(first, tmp_path, setting, executed):
    res = rebuild(first, tmp_path / "r", sets=[setting])
    assert res.executed == executed and res.reused == sorted(set(ALL) - set(executed))
    assert setting.split("=")[1] in printed(res.out, executed[-1])
    if setting.startswith("agent_cost"):  # a cost 02 does not read never reaches it
        assert "agent_cost_per_hour" not in injected(res.out, "02_costs.ipynb")
    for name in res.reused:  # copied as they were
        assert (res.out / "notebooks" / name).read_bytes() == (first.out / "notebooks" / name).read_bytes()


def test_changed_data_rerun_every_notebook(first, tmp_path):
    accounts = first.data / "accounts.parquet"
    original = accounts.read_bytes()
    manifest = json.loads((first.data / "manifest.json").read_text(encoding="utf-8"))
    table = pq.read_table(accounts)
    balances = table.column("balance_due").to_pylist()
    balances[0] += 1.0
    try:  # edited in place: the manifest (and the data hash the index shows) still claim the old data
        pq.write_table(
            table.set_column(
                table.schema.get_field_index("balance_due"), table.schema.field("balance_due"), [balances]
            ),
            accounts,
        )
        assert data_hash(first.data, manifest) == record(first.out)["data_sha256"]
        res = rebuild(first, tmp_path / "r")
    finally:
        accounts.write_bytes(original)
    assert res.executed == ALL and res.reused == [] and "data validation" in res.timings


def test_no_cache_executes_everything_and_says_so(first, tmp_path, capsys):
    out = tmp_path / "r"
    shutil.copytree(first.out, out)
    argv = [
        "build",
        "--data",
        str(first.data),
        "--seed",
        str(BUILD_SEED),
        "--notebooks",
        str(first.notebooks),
        "--out",
        str(out),
        "--no-pdf",
    ]
    assert main([*argv, "--no-cache"]) == 0
    assert "(3 notebooks: 3 executed, 0 reused from the cache, --no-cache)" in capsys.readouterr().out
    assert main(argv) == 0  # what --no-cache executed is reused by the next build
    assert "(3 notebooks: 0 executed, 3 reused from the cache)" in capsys.readouterr().out


def test_a_tampered_entry_is_executed_again_never_trusted(first, tmp_path):
    out = shutil.copytree(first.out, tmp_path / "r")
    costs = out / "notebooks" / "02_costs.ipynb"  # an output edited: its hash no longer matches the record
    costs.write_text(
        costs.read_text(encoding="utf-8").replace("costs {}", "costs {'sms_per_segment': 9}"), encoding="utf-8"
    )
    info = record(out)
    info[CACHE_FIELD]["03_tour.ipynb"]["key"] = "0" * 64  # a key that is not this notebook's
    (out / MARKER).write_text(json.dumps(info), encoding="utf-8")
    res = rebuild(first, out)
    assert res.executed == ["02_costs.ipynb", "03_tour.ipynb"] and res.reused == ["01_policy.ipynb"]
    assert "sms_per_segment" not in printed(res.out, "02_costs.ipynb")
    kept = "notebooks/01_policy.ipynb"
    assert (res.out / kept).read_bytes() == (first.out / kept).read_bytes()


def test_an_unreadable_or_unowned_cache_is_ignored(first, tmp_path):
    entry = record(first.out)[CACHE_FIELD]["02_costs.ipynb"]
    out = shutil.copytree(first.out, tmp_path / "r")
    assert PreviousReports(out).notebook("02_costs.ipynb", entry["key"]) is not None
    # not JSON, with the record's hash made to match: still not used
    garbage = b'{"cells": [ not json'
    (out / "notebooks" / "02_costs.ipynb").write_bytes(garbage)
    info = record(out)
    info[CACHE_FIELD]["02_costs.ipynb"]["files"]["notebooks/02_costs.ipynb"] = hashlib.sha256(garbage).hexdigest()
    (out / MARKER).write_text(json.dumps(info), encoding="utf-8")
    assert PreviousReports(out).notebook("02_costs.ipynb", entry["key"]) is None
    # a link instead of the file
    (out / "notebooks" / "01_policy.ipynb").unlink()
    (out / "notebooks" / "01_policy.ipynb").symlink_to(first.out / "notebooks" / "01_policy.ipynb")
    key01 = record(first.out)[CACHE_FIELD]["01_policy.ipynb"]["key"]
    assert PreviousReports(out).notebook("01_policy.ipynb", key01) is None
    # an unreadable record, then a folder the tool did not make (no owner file): nothing at all
    (out / MARKER).write_text("{ not json", encoding="utf-8")
    assert PreviousReports(out).entries == {}
    plain = shutil.copytree(first.out, tmp_path / "plain")
    (plain / OWNER_FILE).unlink()
    assert PreviousReports(plain).entries == {}
    assert (
        PreviousReports(plain).notebook("03_tour.ipynb", record(first.out)[CACHE_FIELD]["03_tour.ipynb"]["key"]) is None
    )


def test_reports_rendered_again_from_cached_notebooks_are_the_same(first, tmp_path, monkeypatch):
    monkeypatch.setattr(build_mod, "render_inputs", lambda: {"another": "renderer"})
    res = rebuild(first, tmp_path / "r")
    assert res.executed == [] and not any(r["reports reused"] for r in res.per_notebook.values())
    assert reports(res.out) == reports(first.out)


def test_only_the_current_notebooks_are_kept(first, tmp_path):
    out = shutil.copytree(first.out, tmp_path / "r")
    info = record(out)
    info[CACHE_FIELD]["00_gone.ipynb"] = dict(info[CACHE_FIELD]["01_policy.ipynb"])
    (out / MARKER).write_text(json.dumps(info), encoding="utf-8")
    res = rebuild(first, out)
    assert res.reused == ALL and sorted(record(res.out)[CACHE_FIELD]) == ALL
    assert sorted(p.name for p in (res.out / "notebooks").iterdir()) == ALL


def test_the_build_benchmark_smoke_run():
    # inside the project (an ignored folder): the report notebooks find the project from their folder
    (ROOT / "benchmarks" / "out").mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="test-smoke-", dir=ROOT / "benchmarks" / "out"))
    try:
        proc = subprocess.run(
            [sys.executable, "benchmarks/bench_build.py", "--smoke", "--out", str(work)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "first build: 2 notebooks executed" in proc.stdout
    assert "rebuild, nothing changed: 0 executed, 2 reused" in proc.stdout
    assert "reproduce: " in proc.stdout and "--smoke" in proc.stdout
