"""What a manager reads: words, units and formatted numbers; never code names, NaN or a bare row index.

Built once per session from real notebooks of ``notebooks/`` on a small synthetic dataset, and
read as a browser shows it: the visible text of the manager reports and the slides (HTML parsed,
scripts and styles left out), the alternative text of every chart, and every table's cells.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from analysis.data import contract

pytestmark = pytest.mark.slow  # builds every notebook's reports (a minute or two)

ROOT = Path(__file__).resolve().parent.parent
#: Every report notebook: each manager report and slide deck is read.
NOTEBOOKS = tuple(sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
#: Words pandas and Python print for a value that is not there.
MISSING_WORDS = ("NaN", "nan", "None", "<NA>", "NaT")
#: Code identifiers a manager must not meet: unit-cost and settings keys, notebook constants.
CODE = re.compile(r"\b(?:costs|economics|complaints|nb|sc|disp|plots)\.[A-Za-z_]\w*")


class _Page(HTMLParser):
    """Visible text, image alternative texts and table cells of an HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hidden = 0
        self.text: list[str] = []
        self.alts: list[str | None] = []
        self.tables: list[list[list[str]]] = []
        self._open: list[list[list[str]]] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self.hidden += 1
        elif tag == "img":
            self.alts.append(dict(attrs).get("alt"))
        elif tag == "table":
            self._open.append([])
        elif tag == "tr" and self._open:
            self._open[-1].append([])
        elif tag in ("td", "th") and self._open and self._open[-1]:
            self._open[-1][-1].append("")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template"):
            self.hidden -= 1
        elif tag == "table" and self._open:
            self.tables.append(self._open.pop())

    def handle_data(self, data):
        if self.hidden:
            return
        self.text.append(data)
        if self._open and self._open[-1] and self._open[-1][-1]:
            self._open[-1][-1][-1] += data


def _read(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def _pages(folder: Path) -> list[Path]:
    """The manager reports and the slides (code hidden): what a manager reads."""
    pages = [p for p in sorted(folder.glob("*.html")) if p.name != "index.html" and ".analyst." not in p.name]
    assert len(pages) == 2 * len(NOTEBOOKS), [p.name for p in pages]
    return pages


def test_no_missing_value_words(report_build):
    for path in _pages(report_build):
        text = " ".join(_read(path).text)
        found = [w for w in MISSING_WORDS if re.search(rf"(?<![\w<]){re.escape(w)}(?![\w>])", text)]
        assert not found, f"{path.name} shows {found}"
        assert "…" not in text, f"{path.name} cuts a table or a value"


def test_no_code_names(report_build):
    codes = [s for s in contract.STRATEGIES]
    for path in _pages(report_build):
        page = _read(path)
        text = " ".join(page.text + [a or "" for a in page.alts])
        shown = sorted({c for c in codes if re.search(rf"(?<![\w]){c}(?![\w])", text)})
        assert not shown, f"{path.name} shows strategy codes {shown}: ...{text[text.find(shown[0]) - 80 :][:160]}..."
        ids = sorted(set(CODE.findall(text)))
        assert not ids, f"{path.name} shows code identifiers {ids}"
        assert not re.search(r"\b[a-z]+_[a-z_]+_(?:ci_low|ci_high|low|high|rate|per_account)\b", text), path.name


def test_every_chart_has_alternative_text(report_build):
    for path in _pages(report_build):
        alts = _read(path).alts
        assert alts, f"{path.name}: no chart"
        assert all(a and a.startswith("Chart") for a in alts), f"{path.name}: {alts}"


def test_no_table_starts_with_a_row_index(report_build):
    tables = 0
    for path in _pages(report_build):
        for rows in _read(path).tables:
            body = [r for r in rows[1:] if r]
            tables += 1
            first = [r[0].strip() for r in body]
            assert first != [str(i) for i in range(len(body))] or len(body) < 2, f"{path.name}: {rows[:3]}"
            assert rows[0] and rows[0][0].strip(), f"{path.name}: a table without a first header {rows[:2]}"
    assert tables >= 2 * 8, "too few tables were checked: a weak test"


def test_charts_are_drawn_at_twice_their_shown_size_and_sharp_in_powerpoint(report_build):
    """Every chart's PNG holds PIXEL_DENSITY times the pixels of its shown size (its width and height attributes),
    and every chart in a PowerPoint deck has at least 200 dots per inch at the size it is placed."""
    import base64
    import io

    from PIL import Image
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    from analysis.report.plots import PIXEL_DENSITY

    charts = 0
    for path in _pages(report_build):
        for tag in re.findall(r"<img\b[^>]*>", path.read_text(encoding="utf-8")):
            attrs = dict(re.findall(r'(\w+)="([^"]*)"', tag))
            if not attrs.get("src", "").startswith("data:image/png;base64,"):
                continue
            assert "width" in attrs and "height" in attrs, f"{path.name}: a chart without its shown size"
            png = base64.b64decode(attrs["src"].split(",", 1)[1])
            with Image.open(io.BytesIO(png)) as im:
                assert abs(im.width - PIXEL_DENSITY * int(attrs["width"])) <= 2 * PIXEL_DENSITY, path.name
                assert abs(im.height - PIXEL_DENSITY * int(attrs["height"])) <= 2 * PIXEL_DENSITY, path.name
            charts += 1
    assert charts >= 20, charts  # the reports' charts carry their shown size
    pictures = 0
    for deck in sorted(report_build.glob("*.pptx")):
        for slide in Presentation(str(deck)).slides:
            for shape in slide.shapes:
                if shape.shape_type == MSO_SHAPE_TYPE.PICTURE:
                    dpi = shape.image.size[0] / (shape.width / 914_400)  # EMU per inch
                    assert dpi >= 200, f"{deck.name}: a chart at {dpi:.0f} dpi"
                    pictures += 1
    assert pictures >= 5, pictures
