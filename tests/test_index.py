"""index.html: the headline of the build, each report's question, a thumbnail, and nothing from the data unescaped."""

from __future__ import annotations

import base64

import nbformat
import pytest

from analysis.report.build import HEADLINE_TAG, index_html, summarise_notebook

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * 20).decode()
INFO = {
    "scenario": "cn_default",
    "data_dir": "data/x",
    "data_sha256": "ab" * 32,
    "accounts": 1000,
    "built_at": "2026-01-01T00:00:00",
    "build_seconds": 1.0,
    "pdf": "PDF skipped",
    "parameters": {},
    "versions": {"python": "3.11"},
}


def _notebook(path, headline="Move **M1-high**\\: calls; gains 1\\.5 CNY <script>alert(1)</script>"):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            "# 9. Hostile <b>title</b>\n\n**Question.** Is a *call* worth it -- and "
            "when?\n\nMore text that is not the question."
        ),
        nbformat.v4.new_code_cell(
            "x = 1", outputs=[nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})]
        ),
        nbformat.v4.new_code_cell(
            "say(...)",
            metadata={"tags": [HEADLINE_TAG]},
            outputs=[
                nbformat.v4.new_output(
                    "display_data", data={"text/markdown": headline, "text/plain": "<IPython.core.display.Markdown>"}
                )
            ],
        ),
        nbformat.v4.new_code_cell(
            "untagged", outputs=[nbformat.v4.new_output("display_data", data={"text/markdown": "not the headline"})]
        ),
    ]
    nbformat.write(nb, str(path))
    return path


def test_a_notebook_gives_its_title_question_first_figure_and_tagged_headline(tmp_path):
    sm = summarise_notebook(_notebook(tmp_path / "09_x.ipynb"))
    assert sm["title"] == "9. Hostile <b>title</b>"
    assert sm["question"] == "Is a call worth it – and when?"
    assert sm["thumbnail"] == PNG
    assert sm["headline"] == ["Move M1-high: calls; gains 1.5 CNY <script>alert(1)</script>"]


def test_the_index_shows_the_headline_questions_and_thumbnails_escaped(tmp_path):
    sm = summarise_notebook(_notebook(tmp_path / "09_x.ipynb"))
    page = index_html(INFO, ["09_x"], pdf=False, summaries={"09_x": sm})
    assert "<h2>The decision</h2>" in page
    assert "Move M1-high: calls; gains 1.5 CNY &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>" not in page and "<b>title</b>" not in page
    assert "Is a call worth it – and when?" in page
    assert f'src="data:image/png;base64,{PNG}"' in page and 'alt="First chart of 9. Hostile' in page
    assert 'href="09_x.slides.html"' in page and 'href="09_x.slides.pdf"' not in page


def test_an_index_without_summaries_still_links_every_report():
    page = index_html(INFO, ["01_a", "02_b"], pdf=True)
    assert "The decision" not in page
    for href in ("01_a.html", "01_a.analyst.html", "02_b.slides.pdf", "notebooks/02_b.ipynb"):
        assert f'href="{href}"' in page


@pytest.mark.slow  # a build: left out by make test-fast
def test_a_build_writes_the_index_from_its_executed_notebooks(sample_build):
    page = (sample_build.out / "index.html").read_text(encoding="utf-8")
    for title in ("Overview", "Unit costs"):  # the test notebooks' first headings, linked to their reports
        assert f">{title}</a></h3>" in page
    assert page.count('<img class="thumb" src="data:image/png;base64,') >= 1  # the paid-rate chart
