"""The reports in a real browser: headless Chromium from file:// paths, networking disabled.

A page fails when it is blank, a figure is missing, a script logs an error or
any request of the page goes to the network (seen in Chromium's net log;
requests Chromium makes on its own, such as update checks, are told apart by
their initiator). Skipped when ``chromium`` is not on PATH.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from analysis import synth
from analysis.build import BuildConfig, build, chromium

BROWSER = chromium()
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="chromium is not on PATH: install it (apt-get install -y chromium) to run the browser test"
)
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--window-size=1280,800", "--virtual-time-budget=10000",
    "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",  # nothing can leave the machine
    "--enable-logging=stderr", "--log-level=0",  # console messages of the page on stderr
]


def render(page: Path, work: Path, query: str = "") -> tuple[str, list[str], list[str]]:
    """Load ``page`` headless and return (dumped DOM, console messages, network requests of the page)."""
    netlog = work / f"{page.name}.netlog.json"
    proc = subprocess.run(
        [BROWSER, *FLAGS, f"--user-data-dir={work / 'profile'}", f"--log-net-log={netlog}", "--dump-dom",
         page.resolve().as_uri() + query],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [ln for ln in proc.stderr.splitlines() if ":CONSOLE" in ln]
    text = netlog.read_text(encoding="utf-8").rstrip().rstrip(",")
    events = json.loads(text if text.endswith("}") else text + "]}")
    start_job = events["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    jobs = [e.get("params", {}) for e in events["events"] if e["type"] == start_job]
    requests = [
        p["url"] for p in jobs
        if p.get("url") and p.get("initiator") != "not an origin"  # not Chromium's own update checks
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
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    from test_build import PARAMETERS

    nbs = tmp_path / "nbs"
    nbs.mkdir()
    hostile = ("<img src=x onerror=\"document.title='pwned-img'\">"
               "<a id=js href=\"javascript:document.title='pwned-link'\">x</a>"
               "<svg onload=\"document.title='pwned-svg'\"></svg>"
               "<script>document.title='pwned-script'</script>"
               "<iframe srcdoc=\"<script>parent.document.title='pwned-frame'</script>\"></iframe>")
    cells = [new_markdown_cell("# Hostile", metadata={"slideshow": {"slide_type": "slide"}}),
             new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
             new_code_cell(f"from IPython.display import HTML, Markdown, display\n"
                           f"display(Markdown({hostile!r}))\ndisplay(HTML({hostile!r}))")]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, nbs / "01_hostile.ipynb")
    data = tmp_path / "data"
    synth.generate(scenario="cn_default", accounts=300, seed=1, out=data, truth_accounts=100, progress=False)
    out = build(BuildConfig(data=data, out=tmp_path / "r", notebooks=nbs, pdf=False, quiet=True)).out
    for name in ("01_hostile.html", "01_hostile.analyst.html", "01_hostile.slides.html"):
        dom, console, requests = render(out / name, tmp_path)
        title = re.search(r"<title>(.*?)</title>", dom, re.S).group(1)
        assert "pwned" not in title, f"{name}: a handler ran ({title})"
        assert any("Content Security Policy" in ln for ln in console), f"{name}: nothing was blocked?"
        assert not requests
