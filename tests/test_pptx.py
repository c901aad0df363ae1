"""The PowerPoint decks (analysis.report.pptx_deck): one 16:9 slide per slide of the HTML deck, text as text, native tables."""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.enum.text import PP_ALIGN
from pptx.oxml.ns import qn

from analysis.report.pptx_deck import parse_slides, write_pptx


def _png(width=320, height=180) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (30, 110, 180)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def deck_html(sections: list[str], lang: str = "en") -> str:
    """A page shaped like the build's reveal.js decks: ``<div class="reveal"><div class="slides">``, sections."""
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8"><title>Test &amp; deck</title>'
        "<style>.x { color: red; }</style><script>var notText = 1;</script></head><body>"
        '<div class="reveal"><div class="slides">' + "".join(sections) + "</div></div>"
        "<script>Reveal.initialize({});</script></body></html>"
    )


SECTIONS = [
    # 1: a title and a paragraph (markdown as nbconvert writes it: an anchor link in the heading)
    '<section><section><div class="jp-Cell jp-MarkdownCell"><div class="jp-Cell-inputWrapper">'
    '<div class="jp-InputArea jp-Cell-inputArea"><div class="jp-RenderedHTMLCommon jp-RenderedMarkdown">'
    '<h1 id="Costs">Costs &amp; gains<a class="anchor-link" href="#Costs">¶</a></h1>'
    "<p><strong>Question.</strong> Is a <em>call</em> worth it when 5 &lt; 6?</p>"
    "</div></div></div></div></section></section>",
    # 2: a table: header and three rows, a CJK name, an entity, numbers; the report-only layout is hidden on slides
    '<section><section><h2>The table</h2><div class="dl-report"><table><tr><td>REPORT ONLY</td></tr></table></div>'
    '<div class="dl-slides"><table class="dl-table"><thead><tr><th class="txt">Segment</th>'
    '<th class="num">Accounts</th><th class="num">Paid rate</th></tr></thead><tbody>'
    '<tr><td class="txt">M1 高余额</td><td class="num">1,836</td><td class="num">48.8%</td></tr>'
    '<tr><td class="txt">R&amp;D test</td><td class="num">10,181</td><td class="num">28.6%</td></tr>'
    '<tr><td class="txt">M3+ low</td><td class="num">0</td><td class="num">–</td></tr>'
    "</tbody></table></div>"
    '<p class="dl-notes">– not computable.</p>'
    '<aside class="notes"><p>Say it slowly.</p></aside></section></section>',
    # 3: a chart (a PNG data URI), as the notebooks' figures are embedded
    '<section><section><div class="jp-RenderedImage jp-OutputArea-output">'
    f'<img alt="Paid rate by strategy" src="data:image/png;base64,{_png()}"></div></section></section>',
]


@pytest.fixture
def small_deck(tmp_path) -> tuple[Path, int]:
    page = tmp_path / "09_test.slides.html"
    page.write_text(deck_html(SECTIONS), encoding="utf-8")
    out = tmp_path / "09_test.pptx"
    return out, write_pptx(page, out)


def _texts(slide) -> str:
    return "\n".join(shape.text_frame.text for shape in slide.shapes if shape.has_text_frame)


def test_a_small_deck_gives_one_16_9_slide_per_section(small_deck):
    out, count = small_deck
    prs = Presentation(str(out))
    assert count == 3 and len(prs.slides) == 3
    assert prs.slide_width / prs.slide_height == pytest.approx(16 / 9, rel=1e-3)
    assert prs.core_properties.title == "Test & deck"


def test_titles_and_sentences_are_text_unescaped(small_deck):
    prs = Presentation(str(small_deck[0]))
    first = prs.slides[0]
    assert first.shapes.title.text_frame.text == "Costs & gains"  # no pilcrow from the anchor link
    body = _texts(first)
    assert "Question. Is a call worth it when 5 < 6?" in body
    assert "&amp;" not in body and "&lt;" not in body and "¶" not in body
    runs = {
        r.text: r for shape in first.shapes if shape.has_text_frame for p in shape.text_frame.paragraphs for r in p.runs
    }
    assert runs["Question."].font.bold and runs["call"].font.italic
    # an East Asian font on every run, so Chinese renders in WPS and LibreOffice too
    assert all(r._r.rPr.find(qn("a:ea")).get("typeface") == "Noto Sans CJK SC" for r in runs.values())
    assert "notText" not in _texts(first) and "color: red" not in _texts(first)


def test_a_table_is_a_native_table(small_deck):
    slide = Presentation(str(small_deck[0])).slides[1]
    assert slide.shapes.title.text_frame.text == "The table"
    tables = [shape.table for shape in slide.shapes if shape.has_table]
    assert len(tables) == 1, "the report-only layout must not be on the slide"
    table = tables[0]
    cells = [[table.cell(r, c).text_frame.text for c in range(len(table.columns))] for r in range(len(table.rows))]
    assert cells == [
        ["Segment", "Accounts", "Paid rate"],
        ["M1 高余额", "1,836", "48.8%"],
        ["R&D test", "10,181", "28.6%"],
        ["M3+ low", "0", "–"],
    ]
    assert table.first_row
    assert table.cell(1, 1).text_frame.paragraphs[0].alignment == PP_ALIGN.RIGHT
    assert table.cell(1, 0).text_frame.paragraphs[0].alignment == PP_ALIGN.LEFT
    assert table.cell(0, 0).text_frame.paragraphs[0].runs[0].font.bold
    assert "– not computable." in _texts(slide)
    assert slide.has_notes_slide and slide.notes_slide.notes_text_frame.text == "Say it slowly."


def test_a_chart_is_a_picture(small_deck):
    slide = Presentation(str(small_deck[0])).slides[2]
    pictures = [shape for shape in slide.shapes if shape.shape_type == MSO_SHAPE_TYPE.PICTURE]
    assert len(pictures) == 1
    pic = pictures[0]
    assert pic.image.content_type == "image/png" and pic.image.size == (320, 180)  # embedded as it is
    assert pic._element.nvPicPr.cNvPr.get("descr") == "Paid rate by strategy"
    assert pic.width / pic.height == pytest.approx(320 / 180, rel=0.01)
    prs = Presentation(str(Path(small_deck[0])))
    assert 0 <= pic.left and pic.left + pic.width <= prs.slide_width and pic.top + pic.height <= prs.slide_height


def test_vertical_slides_are_slides_and_the_same_deck_gives_the_same_bytes(tmp_path):
    stack = "<section><section><h2>One</h2></section><section><h2>Two</h2></section><section></section></section>"
    page = deck_html([stack, SECTIONS[0]], lang="zh-CN")
    slides, meta = parse_slides(page)
    assert [s.title for s in slides] == ["One", "Two", "", "Costs & gains"] and meta["lang"] == "zh-CN"
    a, b = tmp_path / "a.pptx", tmp_path / "b.pptx"
    assert write_pptx(page, a) == write_pptx(page, b) == 4
    assert a.read_bytes() == b.read_bytes()
    run = Presentation(str(a)).slides[0].shapes.title.text_frame.paragraphs[0].runs[0]
    assert run._r.rPr.get("lang") == "zh-CN"


def test_a_tall_table_is_kept_whole_at_a_smaller_font(tmp_path):
    rows = "".join(f'<tr><td class="txt">row {i}</td><td class="num">{i * 1000:,}</td></tr>' for i in range(30))
    page = deck_html(
        [
            f"<section><section><h2>Tall</h2><table><thead><tr><th>Name</th><th>Value</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></section></section>"
        ]
    )
    out = tmp_path / "tall.pptx"
    assert write_pptx(page, out) == 1
    table = next(s.table for s in Presentation(str(out)).slides[0].shapes if s.has_table)
    assert len(table.rows) == 31  # not split
    sizes = {
        r.font.size.pt for row in table.rows for cell in row.cells for p in cell.text_frame.paragraphs for r in p.runs
    }
    assert sizes == {10.0}  # shrunk to the floor, no further


# --------------------------------------------------------------------------
# On a real build
# --------------------------------------------------------------------------
class _Slides(HTMLParser):
    """Counts the innermost <section> elements of a page (reveal.js slides; a stack's sections are slides)."""

    def __init__(self):
        super().__init__()
        self.open: list[bool] = []  # per open section: has it a section inside?
        self.count = 0

    def handle_starttag(self, tag, attrs):
        if tag == "section":
            if self.open:
                self.open[-1] = True
            self.open.append(False)

    def handle_endtag(self, tag):
        if tag == "section" and self.open:
            self.count += not self.open.pop()


def html_slides(path: Path) -> int:
    counter = _Slides()
    counter.feed(path.read_text(encoding="utf-8"))
    return counter.count


@pytest.mark.slow
def test_every_deck_of_a_build_has_a_pptx_with_one_slide_per_slide(sample_build):
    decks = sorted(sample_build.out.glob("*.slides.html"))
    assert len(decks) == len(sample_build.notebooks)
    for deck in decks:
        pptx = deck.with_name(deck.name.replace(".slides.html", ".pptx"))
        prs = Presentation(str(pptx))
        assert len(prs.slides) == html_slides(deck) >= 1, pptx.name
        assert prs.slide_width / prs.slide_height == pytest.approx(16 / 9, rel=1e-3)
        page = deck.read_text(encoding="utf-8")
        for slide in prs.slides:
            if slide.shapes.title is not None:
                assert slide.shapes.title.text_frame.text in page.replace("&amp;", "&")
    overview = Presentation(str(sample_build.out / "01_overview.pptx"))
    assert len(overview.slides) == 3  # "The table" is a sub-slide (below "Paid rate by strategy"): a slide of its own
    tables = [s.table for slide in overview.slides for s in slide.shapes if s.has_table]
    assert tables and tables[0].cell(0, 1).text_frame.text == "paid_rate"
    assert any(s.shape_type == MSO_SHAPE_TYPE.PICTURE for slide in overview.slides for s in slide.shapes)


# --------------------------------------------------------------------------
# LibreOffice opens it: one PDF page per slide
# --------------------------------------------------------------------------
@pytest.mark.slow
def test_libreoffice_prints_one_page_per_slide(small_deck, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        if os.environ.get("REQUIRE_SOFFICE") == "1":
            pytest.fail("REQUIRE_SOFFICE=1 but soffice is not on PATH (apt-get install libreoffice-impress)")
        pytest.skip("soffice is not on PATH (apt-get install libreoffice-impress)")
    out, count = small_deck
    profile = tmp_path / "lo-profile"  # a private profile: parallel runs do not share LibreOffice's lock
    done = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path / "pdf"),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    pdf = tmp_path / "pdf" / "09_test.pdf"
    assert done.returncode == 0 and pdf.is_file(), done.stdout + done.stderr
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf.read_bytes()))
    assert pages == count == 3


# --------------------------------------------------------------------------
# Chinese decks: the East Asian font on every run with Chinese text
# --------------------------------------------------------------------------
def _runs(slide):
    """Every text run of a slide: title, text boxes and table cells."""
    for shape in slide.shapes:
        frames = (
            [cell.text_frame for row in shape.table.rows for cell in row.cells]
            if shape.has_table
            else [shape.text_frame]
            if shape.has_text_frame
            else []
        )
        for tf in frames:
            for p in tf.paragraphs:
                yield from p.runs


def test_chinese_runs_have_the_east_asian_font(tmp_path):
    from analysis.report.pptx_deck import EA_CJK, EA_FONT, has_cjk

    page = deck_html(
        [
            "<section><section><h2>假设分析：成本与上限</h2>"
            "<p><strong>决策。</strong> 逾期 M1 高余额：首周短信，之后人工外呼 <code>100%</code></p>"
            '<table><thead><tr><th>客群</th><th class="num">账户数</th></tr></thead>'
            '<tbody><tr><td>逾期 M1 高余额</td><td class="num">1,836</td></tr></tbody></table>'
            '<aside class="notes"><p>慢慢讲。</p></aside></section></section>'
        ],
        lang="zh",
    )
    out = tmp_path / "zh.pptx"
    assert write_pptx(page, out) == 1
    slide = Presentation(str(out)).slides[0]
    runs = list(_runs(slide))
    cjk = [r for r in runs if has_cjk(r.text)]
    assert {r.text for r in cjk} >= {"假设分析：成本与上限", "决策。", "客群", "账户数", "逾期 M1 高余额"}
    for r in runs:
        rpr = r._r.rPr
        ea = rpr.find(qn("a:ea"))
        assert rpr.get("lang") == "zh-CN", r.text  # <html lang="zh"> -> the Office tag
        assert ea.get("typeface") == EA_FONT, r.text
        if has_cjk(r.text):
            assert {k: ea.get(k) for k in EA_CJK} == EA_CJK, r.text  # GB2312, sans: substitutes a Chinese sans
            # schema order: latin, ea, cs
            tags = [el.tag for el in rpr if el.tag in (qn("a:latin"), qn("a:ea"), qn("a:cs"))]
            assert tags == [qn("a:latin"), qn("a:ea"), qn("a:cs")], r.text
        else:  # "100%", "1,836": as in an English deck
            assert ea.get("charset") is None, r.text
    notes = slide.notes_slide.notes_text_frame
    assert notes.text == "慢慢讲。"
    ea = notes.paragraphs[0].runs[0]._r.rPr.find(qn("a:ea"))
    assert {k: ea.get(k) for k in EA_CJK} == EA_CJK


def test_english_runs_keep_the_plain_east_asian_font(small_deck):
    """A deck without CJK text is written as before: no character set, the deck's language, plain notes."""
    prs = Presentation(str(small_deck[0]))
    for slide in prs.slides:
        for r in _runs(slide):
            if not re.search(r"[\u4e00-\u9fff]", r.text):
                ea = r._r.rPr.find(qn("a:ea"))
                assert ea.attrib == {"typeface": "Noto Sans CJK SC"} and r._r.rPr.get("lang") == "en-US", r.text
            else:  # "M1 高余额" in an English deck: Chinese all the same
                assert r._r.rPr.get("lang") == "zh-CN" and r._r.rPr.find(qn("a:ea")).get("charset") == "-122"
    notes = prs.slides[1].notes_slide.notes_text_frame.paragraphs[0].runs[0]._r
    assert notes.rPr is None or notes.rPr.find(qn("a:ea")) is None
