"""The notebooks: committed clean, one parameters cell, and every one runs top to bottom."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import nbformat
import pytest

from analysis.__main__ import main
from analysis.report.build import kernel_failed_to_start

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
PARAMETERS = {"scenario", "data_dir", "seed", "baseline", "confidence", "cost_overrides", "lang"}
#: The decision's parameters, in the notebooks that decide (01, 08, 09) with the defaults of ``recommend``.
DECISION = {"capacity_hours", "complaint_budget_per_10k", "level", "horizon"}
DECIDING = {"01_executive_summary.ipynb", "08_channel_policy.ipynb", "09_what_if.ipynb"}
EXPECTED = [
    "01_executive_summary.ipynb",
    "02_data_tour.ipynb",
    "03_cost.ipynb",
    "04_response.ipynb",
    "05_complaints_compliance.ipynb",
    "06_experiment_design.ipynb",
    "07_cost_benefit.ipynb",
    "08_channel_policy.ipynb",
    "09_what_if.ipynb",
]


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def test_the_six_notebooks_exist():
    assert [p.name for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_clean_with_one_parameters_cell(path):
    nb = _read(path)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code), "strip outputs and execution counts"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0].cell_type == "code"
    names = {line.split("=")[0].strip() for line in tagged[0].source.splitlines() if "=" in line}
    assert names == (PARAMETERS | DECISION if path.name in DECIDING else PARAMETERS)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert "Question" in nb.cells[0].source
    assert nb.cells[-1].cell_type == "code" and "nb.versions()" in nb.cells[-1].source
    assert nb.cells[0].metadata["slideshow"]["slide_type"] == "slide"
    assert all("slideshow" in c.metadata for c in nb.cells)
    # a dollar sign in markdown turns into TeX: currency codes only
    assert not any("$" in c.source for c in nb.cells if c.cell_type == "markdown")


@pytest.fixture(scope="module")
def small_dataset(synthetic) -> Path:
    return synthetic("cn_default", accounts=6_000, seed=1, truth_accounts=6_000).path  # conftest.py; read-only


def test_a_notebook_that_names_its_costs_reads_no_other():
    """A notebook whose metadata names the unit costs it reads receives only those overrides (and is executed
    again only when they change), so it must not touch any other cost, nor hand the costs to a function."""
    import re

    from analysis.report.build import declared_cost_keys

    named = {p: keys for p, keys in declared_cost_keys(NOTEBOOKS).items() if keys is not None}
    assert named, "no notebook names its costs"
    for path, keys in named.items():
        code = "\n".join(c.source for c in _read(path).cells if c.cell_type == "code")
        used = set(re.findall(r"\bcosts\.(\w+)", code))
        assert used <= set(keys), f"{path.name} reads {sorted(used - set(keys))} but names only {keys}"
        passed = re.findall(r"(?<!\.)\bcosts\b(?!\.)(?! = UnitCosts)", code)
        assert not passed, f"{path.name} hands the whole costs object on; name every cost it reads instead"


def test_only_a_kernel_that_never_answered_is_started_again():
    assert kernel_failed_to_start(RuntimeError("Kernel didn't respond in 60 seconds"))
    assert kernel_failed_to_start(RuntimeError("Kernel died before replying to kernel_info"))
    assert not kernel_failed_to_start(RuntimeError("division by zero"))


@pytest.mark.slow  # executes every notebook: left out by make test-fast
def test_every_notebook_executes(report_build, small_dataset):
    """All notebooks, as the build executed them through the real parameters cell (the shared report build)."""
    decided = {}
    for path in NOTEBOOKS:
        out = report_build / "notebooks" / path.name
        nb = _read(out)
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert not errors, f"{path.name}: {errors[0]['ename']}: {errors[0]['evalue']}"
        # warnings are recorded by nb.prepare, never printed into the reports
        stderr = [
            o.text
            for c in nb.cells
            if c.cell_type == "code"
            for o in c.outputs
            if o.output_type == "stream" and o.name == "stderr"
        ]
        assert not stderr, f"{path.name} printed to stderr: {stderr[0][:500]}"
        injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
        assert len(injected) == 1 and str(small_dataset) in injected[0].source
        markdown = [
            o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "text/markdown" in o.get("data", {})
        ]
        assert markdown, f"{path.name}: no interpretation sentence was displayed"
        assert not any("$" in o["data"]["text/markdown"] for o in markdown)
        images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
        assert images, f"{path.name}: no figure"
        if path.name in DECIDING:
            decided[path.name] = _allocation(nb)
    # the source notebooks were not touched
    assert all(c.outputs == [] for p in NOTEBOOKS for c in _read(p).cells if c.cell_type == "code")
    # one decision: notebooks 01 and 08 and `recommend` give the same allocation on the same data
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["recommend", str(small_dataset), "--format", "json"]) == 0
    cli = {(a["segment"], a["strategy"]): round(a["share"], 6) for a in json.loads(out.getvalue())["allocation"]}
    assert decided["01_executive_summary.ipynb"] == decided["08_channel_policy.ipynb"] == cli
    assert decided["09_what_if.ipynb"] == cli  # the what-if at its defaults is the same decision
    assert any(v > 0 for (s, k), v in cli.items() if k != "sms_only"), "nothing moved: a weak check"


def _allocation(nb) -> dict:
    """The allocation a deciding notebook printed for the audit trail (its remove-cell output)."""
    cells = [c for c in nb.cells if "remove-cell" in c.metadata.get("tags", []) and c.cell_type == "code"]
    assert len(cells) == 1
    rows = json.loads("".join(o.text for o in cells[0].outputs if o.output_type == "stream"))
    return {(r["segment"], r["strategy"]): round(r["share"], 6) for r in rows}


def test_table_number_format():
    from analysis.report.notebook import number_format

    assert [number_format(x) for x in (18406.0, 254.6, 0.0913, 0.00128, 0.0000213, 0.0, -3.5)] == [
        "18,406",
        "254.60",
        "0.0913",
        "0.0013",
        "2.13e-05",
        "0",
        "-3.50",
    ]
