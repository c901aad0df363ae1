"""The report build: ``python -m analysis build`` on a tiny dataset and two test notebooks.

The notebooks are written here (not taken from ``notebooks/``) so that these
tests check the build machinery only.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import BUILD_SEED, write_notebook
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from analysis.__main__ import main
from analysis.data.folders import OWNER_FILE
from analysis.report.build import BuildConfig, BuildError, UsageError, build, chromium

pytestmark = pytest.mark.slow  # report builds: left out by make test-fast
ROOT = Path(__file__).resolve().parent.parent
SEED = BUILD_SEED  # the seed of the shared build (conftest.py)

PARAMETERS = """scenario = "cn_default"
data_dir = ""
seed = 0
baseline = "sms_only"
confidence = 0.95
cost_overrides = {}
note = "none\""""

# Any reference that would make a browser fetch from the network.
NETWORK_REF = re.compile(
    r"""<(?:script|link|img)\b[^>]*\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|@import\s+(?:url\()?\s*["']?\s*https?://|url\(\s*["']?\s*https?://""",
    re.IGNORECASE,
)


def _slide(kind: str) -> dict:
    return {"slideshow": {"slide_type": kind}}


def write_test_notebooks(folder: Path) -> Path:
    """Two small report notebooks: parameters cell, markdown slides, a figure, a pandas table."""
    folder.mkdir(parents=True, exist_ok=True)
    overview = [
        new_markdown_cell("# Overview\nPaid rates by strategy.", metadata=_slide("slide")),
        new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
        new_code_cell(
            "import pandas as pd\nimport matplotlib.pyplot as plt\n"
            "acc = pd.read_parquet(f'{data_dir}/accounts.parquet')\n"
            "pay = pd.read_parquet(f'{data_dir}/payments.parquet')\n"
            "acc['paid'] = acc['account_id'].isin(pay['account_id'])\n"
            "import os\nprint(f'seed {seed}, note {note}, {len(acc)} accounts, cwd {os.path.basename(os.getcwd())}')"
        ),
        new_markdown_cell("## Paid rate by strategy", metadata=_slide("slide")),
        new_code_cell(
            "rates = acc.groupby('strategy')['paid'].mean().sort_index()\n"
            "fig, ax = plt.subplots(figsize=(5, 3))\nrates.plot.bar(ax=ax)\nplt.show()"
        ),
        new_markdown_cell("## The table", metadata=_slide("subslide")),
        new_code_cell("rates.rename('paid_rate').to_frame().round(4)"),
        new_markdown_cell("One more point.", metadata=_slide("fragment")),
        new_markdown_cell("Speaker notes only.", metadata=_slide("notes")),
        new_code_cell("_ = 'skipped in the slides'", metadata=_slide("skip")),
    ]
    costs = [
        new_markdown_cell("# Unit costs", metadata=_slide("slide")),
        new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
        new_code_cell(
            "import matplotlib.pyplot as plt\nimport pandas as pd\nfrom analysis.measures.costs import UnitCosts\n"
            "costs = UnitCosts.from_scenario(scenario, **cost_overrides)\n"
            "table = pd.DataFrame({'cost': [costs.sms_per_segment, costs.agent_cost_per_hour]}, "
            "index=['sms_per_segment', 'agent_cost_per_hour'])\ntable"
        ),
        new_code_cell("fig, ax = plt.subplots(figsize=(4, 3))\ntable['cost'].plot.barh(ax=ax)\nplt.show()"),
    ]
    for name, cells in (("01_overview.ipynb", overview), ("02_costs.ipynb", costs)):
        nb = new_notebook(cells=cells)
        write_notebook(nb, folder / name)
    return folder


# The data, the notebooks written by ``write_test_notebooks`` (``sample_notebooks``) and the one full build
# checked here are session fixtures of conftest.py, shared with test_browser and test_safety.
@pytest.fixture
def tiny_data(build_data) -> Path:
    """2,000 synthetic accounts (scenario cn_default, seed 3); shared, read-only."""
    return build_data


@pytest.fixture
def built(sample_build):
    """One full build (with PDFs when chromium is available), ``sets`` sms_per_segment=0.03 and note="hello";
    shared, read-only."""
    return sample_build


STEMS = ("01_overview", "02_costs")


def test_every_file_is_written(built):
    out = built.out
    for stem in STEMS:
        for suffix in (".html", ".analyst.html", ".slides.html"):
            assert (out / f"{stem}{suffix}").stat().st_size > 1000
        assert (out / "notebooks" / f"{stem}.ipynb").is_file()
        assert (out / f"{stem}.slides.pdf").is_file() == (chromium() is not None)
    assert (out / "index.html").is_file() and (out / "build.json").is_file()
    assert not list(out.parent.glob("reports.*")), "temporary folders are left behind"


def test_reports_are_self_contained(built):
    for path in built.out.glob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert not NETWORK_REF.search(text), f"{path.name} loads from the network: {NETWORK_REF.search(text)[0]}"
        assert not re.search(r"<script\b[^>]*\bsrc=", text), f"{path.name} has a script that is not inlined"
        assert not re.search(r"require\.js|requirejs|MathJax|jquery|mermaid", text, re.I), path.name
    for stem in STEMS:
        for suffix in (".html", ".analyst.html", ".slides.html"):
            assert "data:image/png;base64," in (built.out / f"{stem}{suffix}").read_text(encoding="utf-8")
    slides = (built.out / "01_overview.slides.html").read_text(encoding="utf-8")
    assert "Reveal.initialize" in slides and "<section" in slides
    assert 'class="fragment"' in slides and '<aside class="notes">' in slides
    assert "skipped in the slides" not in slides


def test_code_hidden_for_managers_shown_for_analysts(built):
    code = "read_parquet"
    manager = (built.out / "01_overview.html").read_text(encoding="utf-8")
    analyst = (built.out / "01_overview.analyst.html").read_text(encoding="utf-8")
    slides = (built.out / "01_overview.slides.html").read_text(encoding="utf-8")
    assert code not in manager and 'class="jp-InputPrompt' not in manager
    assert code not in slides
    assert code in analyst and 'class="jp-InputPrompt' in analyst


def test_index_links_every_file(built):
    index = (built.out / "index.html").read_text(encoding="utf-8")
    links = set(re.findall(r'href="([^"]+)"', index))
    files = {p.relative_to(built.out).as_posix() for p in built.out.rglob("*") if p.is_file()} - {
        "index.html",
        OWNER_FILE,
    }
    assert files <= links
    assert all((built.out / link).is_file() for link in links)
    info = json.loads((built.out / "build.json").read_text())
    assert info["scenario"] == "cn_default" and info["data_sha256"][:16] in index
    assert "pandas" in info["versions"] and "reveal.js" in info["versions"]


def test_parameters_reach_the_notebooks(built, tiny_data):
    overview = nbformat.read(built.out / "notebooks" / "01_overview.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in overview.cells if c.cell_type == "code" for o in c.outputs)
    assert f"seed {SEED}, note hello, 2000 accounts, cwd notebooks" in printed  # kernels run in the notebooks folder
    costs = nbformat.read(built.out / "notebooks" / "02_costs.ipynb", as_version=4)
    injected = next(c for c in costs.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert 'cost_overrides = {"sms_per_segment": 0.03}' in injected.source
    assert f'data_dir = "{tiny_data}"' in injected.source
    assert "0.03" in costs.cells[-2].outputs[0]["data"]["text/plain"]


def _outputs(folder: Path) -> dict:
    """The outputs of every executed notebook, without execution counts and metadata."""
    found = {}
    for path in sorted(folder.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        found[path.name] = [
            [{k: v for k, v in o.items() if k in ("text", "data", "name")} for o in c.outputs]
            for c in nb.cells
            if c.cell_type == "code"
        ]
    return found


def test_same_data_same_numbers(built, tmp_path, tiny_data, sample_notebooks):
    again = build(
        BuildConfig(
            data=tiny_data,
            out=tmp_path / "again",
            seed=SEED,
            notebooks=sample_notebooks,
            quiet=True,
            pdf=False,
            sets=["sms_per_segment=0.03", 'note="hello"'],
        )
    )
    assert _outputs(again.out / "notebooks") == _outputs(built.out / "notebooks")


def test_failing_notebook_fails_the_build_and_keeps_the_reports(built, tmp_path, tiny_data):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    failing = new_notebook(
        cells=[
            new_markdown_cell("# Broken"),
            new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
            new_code_cell("x = 1\nraise RuntimeError('boom at cell two')"),
        ]
    )
    nbformat.write(failing, notebooks / "03_broken.ipynb")
    out = tmp_path / "reports"
    shutil.copytree(built.out, out)  # the previous, good build
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            "build",
            "--data",
            str(tiny_data),
            "--seed",
            str(SEED),
            "--notebooks",
            str(notebooks),
            "--out",
            str(out),
            "--no-pdf",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1
    message = proc.stderr.strip()
    assert message.count("\n") == 0 and "Traceback" not in message, message
    for part in ("03_broken.ipynb", "cell 2", "x = 1", "RuntimeError", "boom at cell two"):
        assert part in message, message
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notebooks", "reports"]


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--set", "sms_per_segment=cheap"], "unit cost must be a finite number"),
        (["--set", "seed=4"], "use the --seed option"),
        (["--set", "no_such_parameter=1"], "no notebook has a parameter"),
        (["--scenario", "no_such_scenario"], "no_such_scenario"),
        (["--baseline", "carrier_pigeon"], "not a strategy in the data"),
    ],
)
def test_user_mistakes_are_one_line_exit_2(capsys, tmp_path, tiny_data, sample_notebooks, args, expected):
    argv = [
        "build",
        "--data",
        str(tiny_data),
        "--seed",
        str(SEED),
        "--notebooks",
        str(sample_notebooks),
        "--out",
        str(tmp_path / "reports"),
        "--no-pdf",
        *args,
    ]
    if args[0] == "--scenario":  # the scenario's own data: nothing given with --data
        del argv[argv.index("--data") : argv.index("--data") + 2]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and expected in err and "\n" not in err
    assert not (tmp_path / "reports").exists()


def test_refuses_to_replace_a_folder_it_did_not_build(tmp_path, tiny_data, sample_notebooks):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(UsageError, match="not made by this tool"):
        build(BuildConfig(data=tiny_data, out=tmp_path, seed=SEED, notebooks=sample_notebooks, quiet=True))
    assert (tmp_path / "precious.txt").read_text() == "keep me"
    assert issubclass(UsageError, BuildError)


@pytest.mark.parametrize("confidence", ["0.95", 95])
def test_a_confidence_that_is_not_a_level_is_a_usage_error(confidence, tmp_path, tiny_data, sample_notebooks):
    """Out of range or not a number at all (a BuildConfig made in code): one clear error, nothing written."""
    cfg = BuildConfig(
        data=tiny_data, out=tmp_path / "r", seed=SEED, notebooks=sample_notebooks, quiet=True, confidence=confidence
    )
    with pytest.raises(UsageError, match="confidence must be a"):
        build(cfg)
    assert not (tmp_path / "r").exists()


def test_one_job_keeps_its_kernel_and_clears_it_between_notebooks(tmp_path, tiny_data):
    """With one job, three notebooks run in one kernel (the same process), yet each starts as in a fresh one:
    no name or figure of the notebook before, the cell count from 1, and no history warning in the outputs. The
    kernel keeps no IPython history. What survives a clearing is frozen out of the garbage collections, and thawed
    by the next build: an object a notebook kept (on a module) and the next one dropped is collected then."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    cells = [
        new_markdown_cell("# Kept kernel"),
        new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
        new_code_cell(
            "import os\nimport sys\nimport weakref\nimport matplotlib.pyplot as plt\n"
            "print('pid', os.getpid(), 'left', 'leftover' in globals(), 'figures', len(plt.get_fignums()),\n"
            "      'history', get_ipython().history_manager.enabled,\n"
            "      'collected', sum(r() is None for r in getattr(sys, 'kept_probes', [])))\n"
            "class Cycle:\n    pass\n"
            "kept = Cycle()\nkept.me = kept  # garbage only a collection finds, once dropped\n"
            "sys.kept, sys.kept_probes = kept, [*getattr(sys, 'kept_probes', []), weakref.ref(kept)]"
        ),
        new_code_cell("leftover = 1\nfig = plt.figure()\n40 + 2"),
    ]
    for name in ("01_a.ipynb", "02_b.ipynb", "03_c.ipynb"):
        nb = new_notebook(cells=cells)
        write_notebook(nb, notebooks / name)
    from analysis.report import build as build_module

    build_module.release_kernels()  # none from an earlier test
    res = build(
        BuildConfig(data=tiny_data, out=tmp_path / "r", seed=SEED, notebooks=notebooks, jobs=1, pdf=False, quiet=True)
    )
    pids = set()
    for name in ("01_a.ipynb", "02_b.ipynb", "03_c.ipynb"):
        nb = nbformat.read(res.out / "notebooks" / name, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), name
        printed = [o for c in code for o in c.outputs if o.output_type == "stream"]
        assert len(printed) == 1, (name, printed)  # the print, and nothing else (no history error)
        found = re.fullmatch(r"pid (\d+) left (\w+) figures (\d+) history (\w+) collected (\d+)\n", printed[0].text)
        assert found, printed[0].text
        pid, left, figures, history, collected = found.groups()
        # the object 01 kept and 02 dropped (and 02's, dropped by 03) was frozen at a clearing: not collected yet
        assert (left, figures, history, collected) == ("False", "0", "False", "0"), name
        pids.add(pid)
        assert code[-1].outputs[0].data["text/plain"] == "42"
    assert len(pids) == 1  # one kernel ran them all
    # the next build in this process runs in the same kernel, cleared; one started elsewhere is not reused
    cfg = BuildConfig(
        data=tiny_data, out=tmp_path / "r2", seed=SEED, notebooks=notebooks, jobs=1, pdf=False, quiet=True
    )
    again = build(cfg)
    nb = nbformat.read(again.out / "notebooks" / "01_a.ipynb", as_version=4)
    printed = [o.text for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "stream"]
    assert printed == [f"pid {pids.pop()} left False figures 0 history False collected 2\n"]  # thawed, collected
    assert build_module.release_kernels() == 1 and build_module.stop_kernels() == 0  # none left running


def test_a_kept_kernel_moves_to_the_next_notebooks_folder(tmp_path):
    """A kernel kept from a notebook in one folder runs the next one, in another folder, from that folder
    (relative paths and the working directory are the new folder's), cleared; no new kernel is started."""
    from analysis.report import build as build_module

    code = "import os\nprint(os.getpid(), os.getcwd(), open('here.txt').read(), 'x' in globals())\nx = 1"
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "here.txt").write_text(folder)
        nb = new_notebook(cells=[new_code_cell(code)])
        write_notebook(nb, tmp_path / folder / "01_where.ipynb")
    kernel = build_module.Kernel()
    try:
        printed = [
            build_module.execute(tmp_path / f / "01_where.ipynb", tmp_path / f"{f}.ipynb", {}, kernel)
            .cells[0]
            .outputs[0]
            .text.split()
            for f in ("a", "b", "a")
        ]
    finally:
        kernel.close()
    assert [p[1:] for p in printed] == [[str(tmp_path / f), f, "False"] for f in ("a", "b", "a")]
    assert len({p[0] for p in printed}) == 1  # one kernel


def test_a_kernel_started_in_another_environment_is_not_reused(tmp_path, monkeypatch):
    from analysis.report import build as build_module

    nb = new_notebook(cells=[new_code_cell("import os\nprint(os.getpid(), os.environ.get('ANALYSIS_ENGINE'))")])
    write_notebook(nb, tmp_path / "01_env.ipynb")
    kernel = build_module.Kernel()
    try:
        monkeypatch.setenv("ANALYSIS_ENGINE", "duckdb")
        first = (
            build_module.execute(tmp_path / "01_env.ipynb", tmp_path / "a.ipynb", {}, kernel).cells[0].outputs[0].text
        )
        monkeypatch.setenv("ANALYSIS_ENGINE", "spark")
        second = (
            build_module.execute(tmp_path / "01_env.ipynb", tmp_path / "b.ipynb", {}, kernel).cells[0].outputs[0].text
        )
    finally:
        kernel.close()
    assert first.split()[1] == "duckdb" and second.split()[1] == "spark"
    assert first.split()[0] != second.split()[0]  # a new kernel, which inherited the new value


def test_a_draft_draws_at_screen_resolution_and_is_never_reused_by_a_full_build(tmp_path, tiny_data):
    """``--draft``: every figure's PNG holds as many pixels as it is shown at, the index says it is a draft, and
    the cache keeps drafts and full builds apart (in both directions), in the same kept kernel. The figure is
    shown with ``plt.show()`` in the first cell that draws one: it still gets its HTML output (with alt text)."""
    import base64
    import io

    from PIL import Image

    from analysis.report.resolution import DRAFT_DENSITY, PIXEL_DENSITY

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nb = new_notebook(
        cells=[
            new_markdown_cell("# A chart"),
            new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
            new_code_cell("import matplotlib.pyplot as plt\n\nfrom analysis.report import plots"),  # as the reports do
            new_code_cell("plots.set_style()"),
            new_code_cell("fig, ax = plt.subplots(figsize=(4, 3))\nax.plot([0, 1], [1, 0])\nplt.show()"),
        ]
    )
    write_notebook(nb, notebooks / "01_chart.ipynb")
    out = tmp_path / "r"

    def densities(draft: bool) -> tuple[list[float], str, list[str]]:
        res = build(
            BuildConfig(
                data=tiny_data, out=out, seed=SEED, notebooks=notebooks, jobs=1, pdf=False, quiet=True, draft=draft
            )
        )
        page = (out / "01_chart.html").read_text(encoding="utf-8")
        found = []
        for m in re.finditer(r'<img src="data:image/png;base64,([^"]+)" width="(\d+)" height="(\d+)"', page):
            image = Image.open(io.BytesIO(base64.b64decode(m.group(1))))
            found.append(image.width / int(m.group(2)))
        return found, (out / "index.html").read_text(encoding="utf-8"), res.executed

    # one job: one kept kernel runs the builds, so the density also reaches a kernel kept from an earlier build
    full, index, executed = densities(False)
    assert executed == ["01_chart.ipynb"] and len(full) == 1 and full[0] == pytest.approx(PIXEL_DENSITY, rel=0.02)
    assert "A draft" not in index
    draft, index, executed = densities(True)
    assert executed == ["01_chart.ipynb"], "a full build's notebook was reused by a draft"
    assert len(draft) == 1 and draft[0] == pytest.approx(DRAFT_DENSITY, rel=0.02)
    assert "A draft: the figures are drawn at screen resolution (--draft)." in index
    full, index, executed = densities(False)
    assert executed == ["01_chart.ipynb"], "a draft's notebook was reused by a full build"
    assert full[0] == pytest.approx(PIXEL_DENSITY, rel=0.02) and "A draft" not in index
    assert densities(False)[2] == []  # (the cache still works: the same full build is reused)


def test_a_notebook_that_kills_its_kernel_does_not_stop_the_next_one(tmp_path, tiny_data):
    """A dead kept kernel is replaced: the notebook that killed it fails the build, with its name; run alone,
    the next notebook still runs in a new kernel."""
    from analysis.report import build as build_module

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for name, body in (("01_dies.ipynb", "import os\nos._exit(1)"), ("02_lives.ipynb", "print('alive')")):
        nb = new_notebook(cells=[new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}), new_code_cell(body)])
        write_notebook(nb, notebooks / name)
    kernel = build_module.Kernel()
    try:
        with pytest.raises(BuildError, match="01_dies.ipynb"):
            build_module.execute(notebooks / "01_dies.ipynb", tmp_path / "01.ipynb", {}, kernel)
        nb = build_module.execute(notebooks / "02_lives.ipynb", tmp_path / "02.ipynb", {}, kernel)
    finally:
        kernel.close()
    assert nb.cells[1].outputs[0].text == "alive\n"
    assert kernel.km is None  # closed


def test_pages_are_made_focusable_as_nbconvert_does_it():
    """The renderer's own pass gives every cell input and output ``tabindex="0"`` and every image an
    alternative text, on exactly the elements nbconvert's exporter (which parses the page again) would."""
    from html.parser import HTMLParser

    from nbconvert import HTMLExporter

    from analysis.report.build import _exporters, focusable

    class Tags(HTMLParser):
        def __init__(self):
            super().__init__()
            self.found = []

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "img" or (tag == "div" and "tabindex" in a):
                self.found.append((tag, tuple((a.get("class") or "").split()), a.get("tabindex"), a.get("alt")))

    def tags(page):
        p = Tags()
        p.feed(page)
        return p.found

    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
    nb = new_notebook(
        cells=[
            new_markdown_cell("# A title"),
            new_code_cell("x = 1", outputs=[nbformat.v4.new_output("display_data", data={"image/png": png})]),
            new_code_cell(
                "y = 2",
                outputs=[
                    nbformat.v4.new_output("execute_result", data={"text/html": "<b>bold</b>"}, execution_count=1)
                ],
            ),
        ]
    )
    ours, _ = _exporters()[0](template_name="lab").from_notebook_node(nb)
    theirs, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    assert tags(ours) == tags(theirs)
    assert [t[2] for t in tags(ours)].count("0") >= 3 and any(t[0] == "img" and t[3] for t in tags(ours))
    # only the classes named, never a look-alike or a div that already has a tabindex
    page = '<div class="jp-Cell-inputWrapperX"></div><div class="a jp-OutputArea-output" tabindex="-1"><img alt="">'
    assert focusable(page) == page


def test_a_page_that_would_load_from_the_network_is_refused_beside_embedded_images():
    """The network check skips the bytes of embedded images (most of a page), never a reference beside them."""
    from analysis.report.build import Renderer

    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
    image = nbformat.v4.new_output("display_data", data={"image/png": png})
    r = Renderer()
    fine = new_notebook(cells=[new_markdown_cell("# Fine"), new_code_cell("x = 1", outputs=[image])])
    assert "data:image/png;base64," + png in r.render(fine, "manager", "fine", Path.cwd())
    for ref in (
        '<img src="https://example.com/x.png">',
        '<img alt="data:image/png;base64,AAAA" src="//example.com/x">',
    ):
        nb = new_notebook(cells=[new_markdown_cell(f"# Remote\n\n{ref}"), new_code_cell("x = 1", outputs=[image])])
        with pytest.raises(BuildError, match="would load from the network"):
            r.render(nb, "manager", "remote", Path.cwd())


def test_code_on_the_analyst_page_is_escaped_without_the_sanitizer():
    """The analyst page shows code as Pygments highlights it (escaped), markup in the code included."""
    import html as html_module

    from analysis.report.build import Renderer

    code = 'label = "</div><script>alert(1)</script><img src=x onerror=alert(2)>"'
    nb = new_notebook(cells=[new_markdown_cell("# Code"), new_code_cell(code)])
    page = Renderer().render(nb, "analyst", "code", Path.cwd())
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    text = html_module.unescape(re.sub(r"<[^>]+>", "", page))
    assert code in text  # shown as written
