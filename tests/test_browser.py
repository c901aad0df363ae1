"""The reports in a real browser: headless Chromium from file:// paths, networking disabled.

A page fails when it is blank, a figure is missing, a script logs an error or
any request of the page goes to the network (seen in Chromium's net log;
requests Chromium makes on its own, such as update checks, are told apart by
their initiator). Skipped when ``chromium`` is not on PATH.

Slides must fit: every slide's content inside its 1280 x 720 frame in the
browser and inside its page in the print view, tables at 18 px or more, and
one PDF page per slide. The slides template measures itself when asked
(``?fit-check``); ``SLIDES_CHECK_REPORTS=<reports folder>`` runs the same
checks on the decks of any build, e.g. the real notebooks'.

The live what-if's chart is opened in a local JupyterLab server, whose own
Vega-Lite renderer must draw it.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
from pathlib import Path

import nbformat
import pytest
from conftest import write_notebook
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from analysis.data import synth
from analysis.report.build import BuildConfig, build, chromium

BROWSER = chromium()
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="chromium is not on PATH: install it (apt-get install -y chromium) to run the browser test"
)
pytestmark = [pytestmark, pytest.mark.slow]  # a build and a browser: left out by make test-fast
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,800",
    "--virtual-time-budget=10000",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=127.0.0.1:9",  # nothing can leave the machine
    "--enable-logging=stderr",
    "--log-level=0",  # console messages of the page on stderr
]


def render(page: Path, work: Path, query: str = "") -> tuple[str, list[str], list[str]]:
    """Load ``page`` headless and return (dumped DOM, console messages, network requests of the page)."""
    netlog = work / f"{page.name}.netlog.json"
    proc = subprocess.run(
        [
            BROWSER,
            *FLAGS,
            f"--user-data-dir={work / 'profile'}",
            f"--log-net-log={netlog}",
            "--dump-dom",
            page.resolve().as_uri() + query,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [ln for ln in proc.stderr.splitlines() if ":CONSOLE" in ln]
    text = netlog.read_text(encoding="utf-8").rstrip().rstrip(",")
    events = json.loads(text if text.endswith("}") else text + "]}")
    start_job = events["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    jobs = [e.get("params", {}) for e in events["events"] if e["type"] == start_job]
    requests = [
        p["url"]
        for p in jobs
        if p.get("url")
        and p.get("initiator") != "not an origin"  # not Chromium's own update checks
        and not p["url"].startswith(("file:", "data:", "blob:"))
    ]
    return proc.stdout, console, requests


@pytest.fixture
def reports(sample_build) -> Path:
    """A build of the two test notebooks on 2,000 synthetic accounts: the build test_build checks (conftest.py),
    shared and read-only (the browser's profile and net logs go to each test's own tmp_path)."""
    return sample_build.out


def test_harness_sees_network_requests_and_script_errors(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><p>x</p><img src="https://example.com/x.png"><script>missing();</script>')
    _, console, requests = render(page, tmp_path)
    assert requests == ["https://example.com/x.png"]
    assert any("missing is not defined" in ln for ln in console)


@pytest.mark.parametrize(
    "name, figures",
    [("index.html", 0), ("01_overview.html", 1), ("01_overview.analyst.html", 1), ("02_costs.slides.html", 1)],
)
def test_page_renders_offline(reports, tmp_path, name, figures):
    dom, console, requests = render(reports / name, tmp_path)
    body = re.sub(r"<script\b.*?</script>|<style\b.*?</style>|<[^>]+>", " ", dom, flags=re.S)
    assert len(body.split()) >= 10, f"{name} renders blank"
    assert len(re.findall(r"<img\b[^>]*\bsrc=\"data:image/png", dom)) >= figures, f"{name}: a figure is missing"
    assert not console, f"{name}: console messages {console}"
    assert not requests, f"{name} requested {requests}"


def test_slides_start(reports, tmp_path):
    dom, console, requests = render(reports / "01_overview.slides.html", tmp_path)
    reveal = re.search(r'<div class="reveal ([^"]*)"', dom)
    assert reveal and "ready" in reveal.group(1).split(), "reveal.js did not start"
    assert len(re.findall(r"<section\b", dom)) >= 3
    assert not console and not requests


def test_slides_print_layout(reports, tmp_path):
    dom, console, requests = render(reports / "01_overview.slides.html", tmp_path, "?print-pdf")
    assert dom.count('class="pdf-page"') >= 3, "the print view (?print-pdf) laid out no pages"
    assert not console and not requests


def test_a_hostile_value_that_slipped_through_cannot_run(tmp_path):
    """Defence in depth: even raw HTML from the data in an output is inert under the reports' policy."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
    from test_build import PARAMETERS

    nbs = tmp_path / "nbs"
    nbs.mkdir()
    hostile = (
        "<img src=x onerror=\"document.title='pwned-img'\">"
        "<a id=js href=\"javascript:document.title='pwned-link'\">x</a>"
        "<svg onload=\"document.title='pwned-svg'\"></svg>"
        "<script>document.title='pwned-script'</script>"
        "<iframe srcdoc=\"<script>parent.document.title='pwned-frame'</script>\"></iframe>"
    )
    cells = [
        new_markdown_cell("# Hostile", metadata={"slideshow": {"slide_type": "slide"}}),
        new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
        new_code_cell(
            f"from IPython.display import HTML, Markdown, display\n"
            f"display(Markdown({hostile!r}))\ndisplay(HTML({hostile!r}))"
        ),
    ]
    nb = new_notebook(cells=cells)
    write_notebook(nb, nbs / "01_hostile.ipynb")
    data = tmp_path / "data"
    synth.generate(scenario="cn_default", accounts=300, seed=1, out=data, truth_accounts=100, progress=False)
    out = build(BuildConfig(data=data, out=tmp_path / "r", notebooks=nbs, pdf=False, quiet=True)).out
    for name in ("01_hostile.html", "01_hostile.analyst.html", "01_hostile.slides.html"):
        dom, console, requests = render(out / name, tmp_path)
        title = re.search(r"<title>(.*?)</title>", dom, re.S).group(1)
        assert "pwned" not in title, f"{name}: a handler ran ({title})"
        assert any("Content Security Policy" in ln for ln in console), f"{name}: nothing was blocked?"
        assert not requests


# --------------------------------------------------------------------------
# Slides that fit: frames, table text, one PDF page per slide
# --------------------------------------------------------------------------
FRAME = {"w": 1280, "h": 720}
MIN_TABLE_PX = 18


def slide_count(page: Path) -> int:
    """The slides of a deck as written: ``<section>`` elements holding no other section."""
    text = page.read_text(encoding="utf-8")
    text = re.sub(r"<script\b.*?</script>|<style\b.*?</style>", "", text, flags=re.S | re.I)
    count, stack = 0, []
    for closing in re.findall(r"<(/?)section\b", text, flags=re.I):
        if not closing:
            if stack:
                stack[-1] = True  # the enclosing section holds a section
            stack.append(False)
        elif not stack.pop():
            count += 1
    return count


def pdf_pages(pdf: Path) -> int:
    """Pages of a PDF written by Chromium: its ``/Type /Page`` objects, checked against the page tree's ``/Count``."""
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and b"/ObjStm" not in data, f"{pdf.name}: not a PDF this count can read"
    pages = len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", data))
    assert pages == max(int(n) for n in re.findall(rb"/Count\s+(\d+)", data)), f"{pdf.name}: page tree disagrees"
    return pages


def fit_check(page: Path, work: Path, query: str = "?fit-check") -> dict:
    """What the slides template measured in the browser (``?fit-check``): per slide, the box around its content
    in frame pixels (slide view) or page pixels (print view), the zoom it gave the content, the smallest table
    text (CSS pixels, and as shown after the zoom)."""
    dom, console, requests = render(page, work, query)
    found = re.search(r'<pre id="fit-check"[^>]*>(.*?)</pre>', dom, re.S)
    assert found, f"{page.name}{query}: the slides wrote no measurements (did reveal.js start?)"
    assert not console and not requests, f"{page.name}{query}: {console} {requests}"
    return json.loads(html.unescape(found.group(1)))


def slide_problems(page: Path, work: Path, query: str = "") -> tuple[list[str], dict[str, dict]]:
    """Every way the deck at ``page`` fails to fit, in the slide view and in the print view (as printed to PDF);
    and what was measured in each view (:func:`fit_check`, by view: ``slides`` and ``print``)."""
    problems, expected, measured = [], slide_count(page), {}
    for view, q in (("slides", "?fit-check"), ("print", "?print-pdf&fit-check")):
        res = measured[view] = fit_check(page, work, q + query)
        if res["frame"] != FRAME:
            problems.append(f"{page.name}: frame {res['frame']}, not {FRAME}")
        if len(res["slides"]) != expected:
            problems.append(f"{page.name} ({view}): measured {len(res['slides'])} slides of {expected}")
        for s in res["slides"]:
            where = f"{page.name} ({view}) slide {s['index'] + 1} {s['title'][:40]!r}"
            if s["overflow"]:
                problems.append(
                    f"{where}: content spans x {s['left']:.0f}..{s['right']:.0f}, y {s['top']:.0f}.."
                    f"{s['bottom']:.0f}, outside its {s['bounds']['w']} x {s['bounds']['h']} "
                    f"{'frame' if view == 'slides' else 'page'} (zoom {s['zoom']:.2f})"
                )
            font = s["table_font"]
            if font and font["css"] < MIN_TABLE_PX:
                problems.append(f"{where}: table text {font['css']} px < {MIN_TABLE_PX} px")
            elif font and font["seen"] < MIN_TABLE_PX - 0.05:  # set large enough, but zoomed below it
                problems.append(
                    f"{where}: table text {font['seen']:.1f} px as shown (zoom {s['zoom']:.2f}) < {MIN_TABLE_PX} px"
                )
    return problems, measured


def by_title(res: dict) -> dict[str, dict]:
    return {s["title"]: s for s in res["slides"]}


def test_every_deck_fits_its_frames(reports, tmp_path):
    decks = sorted(reports.glob("*.slides.html"))
    assert len(decks) == 2
    checked = {deck.name: slide_problems(deck, tmp_path) for deck in decks}
    problems = [p for found, __ in checked.values() for p in found]
    assert not problems, "\n".join(problems)
    table = by_title(checked["01_overview.slides.html"][1]["slides"])["The table"]
    assert table["tables"] == 1 and table["zoom"] == 1 and table["table_font"]["seen"] >= MIN_TABLE_PX


def test_pdf_has_one_page_per_slide(reports):
    decks = sorted(reports.glob("*.slides.html"))
    counts = {deck.name: slide_count(deck) for deck in decks}
    assert counts == {"01_overview.slides.html": 3, "02_costs.slides.html": 1}  # a slide with a subslide, a title
    for deck in decks:
        pdf = deck.with_suffix(".pdf")
        assert pdf_pages(pdf) == counts[deck.name], pdf.name


def test_fit_check_finds_overflowing_slides(tmp_path, build_data):
    """A hand-made deck: a chart too tall for the frame with a sentence under it, tables too long or too wide,
    and one table no scaling can rescue. Unfitted (``?no-fit``) the check reports them all; fitted, the hopeless one
    still overflows and the tables that fit only zoomed out show their text below 18 px, so a deck like it fails the
    test above; its PDF still has one page per slide."""
    from test_build import PARAMETERS

    nbs = tmp_path / "nbs"
    nbs.mkdir()
    slide = {"slideshow": {"slide_type": "slide"}}
    cells = [
        new_markdown_cell("# Overflow", metadata=slide),
        new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
        new_code_cell("import matplotlib.pyplot as plt\nimport pandas as pd\npd.set_option('display.max_rows', 500)"),
        new_markdown_cell("## A tall chart", metadata=slide),
        new_code_cell("fig, ax = plt.subplots(figsize=(6, 10))\nax.plot([0, 1], [0, 1])\nplt.show()"),
        new_markdown_cell("The sentence under the tall chart."),
        new_markdown_cell("## A table of 24 rows", metadata=slide),
        new_code_cell("pd.DataFrame({'segment': [f'segment {i}' for i in range(24)], 'value': range(24)})"),
        new_markdown_cell("The sentence under the table."),
        new_markdown_cell("## A wide table", metadata=slide),
        new_code_cell(
            "pd.DataFrame([[f'value {i}.{j}' for j in range(14)] for i in range(3)],\n"
            "             columns=[f'column_{j}' for j in range(14)])"
        ),
        new_markdown_cell("## A table of 90 rows", metadata=slide),
        new_code_cell("pd.DataFrame({'row': range(90), 'value': range(90)})"),
        new_markdown_cell("## A table in small print", metadata=slide),
        new_code_cell(
            "from IPython.display import HTML\n"
            "HTML('<table style=\"font-size: 12px\"><tr><th>strategy</th><td>sms_only</td></tr></table>')"
        ),
    ]
    nb = new_notebook(cells=cells)
    write_notebook(nb, nbs / "01_overflow.ipynb")
    out = build(BuildConfig(data=build_data, out=tmp_path / "r", notebooks=nbs, quiet=True)).out
    deck = out / "01_overflow.slides.html"
    assert slide_count(deck) == 6

    unfitted, measured = slide_problems(deck, tmp_path, "&no-fit")
    raw = by_title(measured["slides"])  # (the slide view: ?fit-check&no-fit)
    assert not raw["Overflow"]["overflow"]
    for title in ("A tall chart", "A table of 24 rows", "A wide table", "A table of 90 rows"):
        assert raw[title]["overflow"], f"unfitted, {title!r} should overflow: {raw[title]}"
    assert raw["A wide table"]["right"] > FRAME["w"] and raw["A tall chart"]["bottom"] > FRAME["h"]
    assert raw["A table in small print"]["table_font"]["css"] == 12
    assert len(unfitted) >= 8 and any("table text 12" in p for p in unfitted), unfitted

    problems, measured = slide_problems(deck, tmp_path)
    fitted = by_title(measured["slides"])  # (?fit-check)
    chart = fitted["A tall chart"]
    assert not chart["overflow"] and chart["zoom"] == 1, chart  # the chart gave way, the text kept its size
    assert "The sentence under the tall chart." in deck.read_text(encoding="utf-8")
    for title in ("A table of 24 rows", "A wide table"):
        assert not fitted[title]["overflow"] and 0.6 <= fitted[title]["zoom"] < 1, fitted[title]
    assert fitted["A table of 90 rows"]["overflow"], "90 rows cannot fit at a readable size"
    assert fitted["A table in small print"]["table_font"]["seen"] == MIN_TABLE_PX
    assert any("A table of 90 rows" in p and "outside" in p for p in problems), problems
    assert any("(print)" in p and "A table of 90 rows" in p for p in problems)  # the PDF page cuts it off too
    for title in ("A table of 24 rows", "A wide table"):  # they fit only zoomed out: their text is too small as shown
        assert any(title in p and "as shown" in p for p in problems), problems
    assert all(any(t in p for t in ("A table of 90 rows", "A table of 24 rows", "A wide table")) for p in problems), (
        problems
    )

    assert pdf_pages(out / "01_overflow.slides.pdf") == 6


@pytest.mark.skipif(not os.environ.get("SLIDES_CHECK_REPORTS"), reason="set SLIDES_CHECK_REPORTS=<reports folder>")
def test_decks_of_a_given_build_fit(tmp_path):
    """The same checks on another build's decks: ``SLIDES_CHECK_REPORTS=reports pytest tests/test_browser.py``."""
    folder = Path(os.environ["SLIDES_CHECK_REPORTS"])
    decks = sorted(folder.glob("*.slides.html"))
    assert decks, f"no *.slides.html in {folder}"
    problems = [p for deck in decks for p in slide_problems(deck, tmp_path)[0]]
    for deck in decks:
        pdf = deck.with_suffix(".pdf")
        if pdf.is_file() and pdf_pages(pdf) != slide_count(deck):
            problems.append(f"{pdf.name}: {pdf_pages(pdf)} pages for {slide_count(deck)} slides")
    assert not problems, "\n".join(problems)


def test_jupyterlab_draws_the_live_what_ifs_chart(tmp_path):
    """The chart the what-if widget displays, opened in the JupyterLab that requirements.txt installs: its own
    Vega-Lite renderer draws it (a canvas of the chart's size), without vega-embed's actions menu (one of which
    opens an online editor), and the page asks nothing of any address but the local server."""
    import socket
    import sys
    import time
    import urllib.request

    import pandas as pd

    from analysis.report import vega

    alloc = pd.DataFrame(
        {
            "segment": ["M1 low", "M1 low", "M2 high"],
            "strategy": ["SMS only", "Phone only", "SMS only"],
            "share": [0.6, 0.4, 1.0],
        }
    )
    gains = pd.DataFrame(
        {
            "segment": ["M1 low", "M2 high"],
            "gain_per_account": [12.0, 0.0],
            "gain_ci_low": [4.0, 0.0],
            "gain_ci_high": [20.0, 0.0],
        }
    )
    spec = vega.side_by_side(
        vega.policy_spec(alloc, title="Recommended policy per segment", xlabel="segment", ylabel="share (%)", legend="Strategy"),
        vega.value_spec(gains, title="Net value per segment", xlabel="gain per account (CNY)"),
    )  # fmt: skip
    cell = new_code_cell("wi.show()")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data=vega.bundle(spec, "the chart"), metadata=vega.metadata())
    ]
    (tmp_path / "lab").mkdir()
    write_notebook(new_notebook(cells=[cell]), tmp_path / "lab" / "chart.ipynb")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
    }
    server = subprocess.Popen(
        [
            sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
            "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True", "--allow-root",
            f"--ServerApp.root_dir={tmp_path / 'lab'}", f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
            f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
        ],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(600):  # up to a minute on a loaded machine
            try:
                urllib.request.urlopen(f"{url}/api", timeout=1).read()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read()[-2000:] if server.stderr else "the server stopped"
                time.sleep(0.1)
        netlog = tmp_path / "netlog.json"
        flags = [  # the reports' flags, but the local server resolves and the page gets time to start JupyterLab
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" if f.startswith("--host-resolver-rules") else f
            for f in FLAGS
            if not f.startswith("--virtual-time-budget")
        ]
        proc = subprocess.run(
            [BROWSER, *flags, "--virtual-time-budget=30000", f"--user-data-dir={tmp_path / 'profile'}",
             f"--log-net-log={netlog}", "--dump-dom", f"{url}/lab/tree/chart.ipynb"],
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert "jp-RenderedVegaLite" in dom, "JupyterLab did not pick its Vega-Lite renderer for the chart"
    canvas = re.search(r'<canvas width="(\d+)" height="(\d+)" class="marks"', dom)
    assert canvas and int(canvas.group(1)) > 2 * vega.WIDTH and int(canvas.group(2)) > vega.HEIGHT, canvas
    assert re.search(r'class="vega-embed[" ]', dom) and not re.search(r'class="vega-embed[^"]*has-actions', dom)
    text = netlog.read_text(encoding="utf-8").rstrip().rstrip(",")
    events = json.loads(text if text.endswith("}") else text + "]}")
    start_job = events["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    jobs = [e.get("params", {}) for e in events["events"] if e["type"] == start_job]
    local = (url, url.replace("http://", "ws://"), "data:", "blob:", "file:")
    elsewhere = [
        p["url"]
        for p in jobs
        if p.get("url") and p.get("initiator") != "not an origin" and not p["url"].startswith(local)
    ]  # (requests Chromium makes on its own have no origin)
    assert not elsewhere, elsewhere[:5]
