"""PowerPoint copies of the slide decks: one PowerPoint slide per slide of the rendered reveal.js deck.

:func:`write_pptx` reads a deck written by the build (``NN_name.slides.html``)
and writes ``NN_name.pptx``: 16:9 (13.33 x 7.5 in, the 1280 x 720 frame of the
deck), one slide per slide the deck shows (each innermost ``<section>``: a
reveal.js vertical stack is several slides, as in the PDF), in the deck's own
words. Per slide, the first heading is the slide's title (a real title
placeholder, so the outline and screen readers see it); sentences and lists
are text boxes (bold, italic and code kept); tables are native, editable
PowerPoint tables (header row styled, numbers right-aligned, the font made
smaller, to 10 pt at least, until the table fits: a table is never split); the
charts are the deck's own PNG images (embedded as they are, no resampling),
scaled to the room the text leaves; speaker notes become the slide's notes.
What the deck hides on slides (the report-only table layout, anchor links,
scripts, styles) is left out; what it shows only on slides (cells tagged
``slides-only``) is kept. Text is set in Arial with "Noto Sans CJK SC" as the
East Asian font; a run with Chinese (CJK) text, speaker notes too, also says
that font's character set and family (GB2312, sans-serif) and is marked as
Chinese, so that PowerPoint and WPS, where that font is rarely installed,
substitute a Simplified Chinese sans-serif (Microsoft YaHei) for it, and
LibreOffice finds a CJK font: Chinese renders in all three (:data:`EA_CJK`).

The file is reproducible: the same deck gives the same bytes (no creation
time, fixed times in the ZIP), so the build's cache can compare it.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "Run",
    "Paragraph",
    "TextBlock",
    "TableCell",
    "TableBlock",
    "ImageBlock",
    "Slide",
    "parse_slides",
    "write_pptx",
    "has_cjk",
]

#: Slide size: 16:9, 13.333 x 7.5 inches; the deck's 1280 x 720 px frame maps 1 px to 0.75 pt.
SLIDE_W_PT, SLIDE_H_PT = 960.0, 540.0
PX_PT = 0.75
MARGIN_PT = 36.0
LATIN_FONT, EA_FONT, MONO_FONT = "Arial", "Noto Sans CJK SC", "Courier New"
#: The East Asian font of a run holding CJK text (``<a:ea>``). DrawingML takes one typeface per script, not a
#: list, so there is one default: "Noto Sans CJK SC", the font of the charts and the PDF (LibreOffice on Linux
#: has it). PowerPoint and WPS users on Windows or macOS mostly lack it: for them the font's character set
#: (GB2312, ``charset`` -122 as a signed byte), PANOSE class and pitch/family (variable-pitch sans-serif) are
#: written too -- what the Office file format gives font substitution to go by -- so they draw Microsoft YaHei
#: (a Simplified Chinese sans-serif, on every Windows since Vista and with Office for Mac) rather than a serif
#: SimSun or boxes. Runs without CJK text keep the plain ``<a:ea>`` (English decks are unchanged).
EA_CJK = {"typeface": EA_FONT, "panose": "020B0500000000000000", "pitchFamily": "34", "charset": "-122"}
#: The language of a run holding CJK text when the deck's own language is not Chinese.
CJK_LANG = "zh-CN"
#: Characters set with the East Asian font: CJK ideographs (and extensions), CJK and full-width punctuation,
#: kana, hangul, bopomofo.
_CJK = re.compile(
    "[\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3190-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003ffff]"
)
TITLE_PT, HEADING_PT, BODY_PT, NOTE_PT, PRE_PT = 28.0, 20.0, 16.0, 12.0, 12.0
TABLE_PT, TABLE_MIN_PT = 14.0, 10.0
GAP_PT = 6.0
MIN_CHART_SHARE = 0.4  # a chart keeps this share of the slide height (or its own, if smaller), as in the deck
TEXT_RGB, NOTE_RGB, HEADER_FILL, BAND_FILL, BODY_FILL = "222222", "444444", "DCE3EC", "F4F6F9", "FFFFFF"

_BLOCK_TAGS = {
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "pre",
    "blockquote",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "dl",
    "dt",
    "dd",
    "figure",
    "figcaption",
    "section",
    "article",
    "header",
    "footer",
    "main",
    "hr",
    "details",
    "summary",
    "caption",
    "center",
    "address",
    "aside",
    "nav",
    "form",
    "fieldset",
    "output",
}
_SKIP_TAGS = {
    "script",
    "style",
    "template",
    "noscript",
    "head",
    "title",
    "meta",
    "link",
    "button",
    "input",
    "select",
    "textarea",
    "iframe",
    "object",
    "embed",
    "video",
    "audio",
    "canvas",
    "math",
}
#: Classes of elements that the deck does not show on slides (or that carry no content).
_HIDDEN_CLASSES = {"dl-report", "anchor-link", "jp-InputPrompt", "jp-OutputPrompt", "jp-Collapser"}
_NUMBER = re.compile(
    r"^[<>≤≥~≈±+\-−–(]*\s*[¥$€£]?\s*[+\-−]?(?:\d[\d,.\s\u2009\u202f']*)(?:[eE][+\-]?\d+)?\s*"
    r"(?:%|pp|p\.p\.|x|×|[kKMB]|bn|万|亿|元|[A-Z]{3})?\)?\*{0,3}$"
)
_WS = re.compile(r"[ \t\n\r\f\v]+")


# --------------------------------------------------------------------------
# What a slide holds
# --------------------------------------------------------------------------
@dataclass
class Run:
    """A piece of text in one style; ``text == "\\n"`` with ``br`` True is a line break."""

    text: str
    bold: bool = False
    italic: bool = False
    mono: bool = False
    br: bool = False


@dataclass
class Paragraph:
    """One paragraph: ``kind`` is ``p``, ``heading``, ``bullet``, ``number``, ``pre`` or ``note``; ``level`` nests lists."""

    runs: list[Run] = field(default_factory=list)
    kind: str = "p"
    level: int = 0

    @property
    def text(self) -> str:
        return "".join("\n" if r.br else r.text for r in self.runs)


@dataclass
class TextBlock:
    """Consecutive paragraphs (one text box)."""

    paragraphs: list[Paragraph]


@dataclass
class TableCell:
    """One table cell: its text, whether it is a header cell, its alignment (``l`` or ``r``) and spans."""

    text: str
    header: bool = False
    align: str = "l"
    colspan: int = 1
    rowspan: int = 1


@dataclass
class TableBlock:
    """A table as rows of cells; ``header_rows`` rows at the top are the header."""

    rows: list[list[TableCell]]
    header_rows: int = 0


@dataclass
class ImageBlock:
    """A raster image (PNG, JPEG or GIF bytes) with its alt text and its width and height in deck pixels."""

    data: bytes
    alt: str = ""
    width_px: float | None = None
    height_px: float | None = None


@dataclass
class Slide:
    """One slide of the deck: its title (the first heading), its blocks in order and its speaker notes."""

    title: str = ""
    blocks: list = field(default_factory=list)
    notes: str = ""


# --------------------------------------------------------------------------
# Reading the deck
# --------------------------------------------------------------------------


def _plain_frame(tf) -> None:
    """A text frame that wraps, never resizes itself, starts at the top, with small margins."""
    from pptx.enum.text import MSO_ANCHOR, MSO_AUTO_SIZE
    from pptx.util import Pt

    tf.word_wrap = True
    tf.auto_size = MSO_AUTO_SIZE.NONE
    tf.vertical_anchor = MSO_ANCHOR.TOP
    tf.margin_left = tf.margin_right = Pt(4)
    tf.margin_top = tf.margin_bottom = Pt(3)


def _classes(el) -> set[str]:
    return set((el.get("class") or "").split())


def _hidden(el) -> bool:
    style = (el.get("style") or "").replace(" ", "").lower()
    classes = _classes(el)
    if (
        "jp-Cell-inputWrapper" in classes
        and el.getparent() is not None
        and "jp-mod-noInput" in _classes(el.getparent())
    ):  # a code cell's hidden input (the template's style)
        return True
    return (
        el.get("hidden") is not None
        or "display:none" in style
        or "visibility:hidden" in style
        or bool(classes & _HIDDEN_CLASSES)
    )


def _tag(el) -> str:
    return el.tag.lower() if isinstance(el.tag, str) else ""


def _image(el) -> ImageBlock | None:
    src = (el.get("src") or "").strip()
    m = re.match(r"data:image/(png|jpe?g|gif)(?:;[^,]*)?;base64,", src, re.IGNORECASE)
    if not m:
        return None
    try:
        data = base64.b64decode(re.sub(r"\s+", "", src[m.end() :]), validate=True)
    except (binascii.Error, ValueError):
        return None

    def px(name):
        try:
            return float(re.sub(r"px$", "", (el.get(name) or "").strip()))
        except ValueError:
            return None

    return ImageBlock(data, (el.get("alt") or "").strip(), px("width"), px("height"))


class _Flow:
    """Collects the blocks of one slide (or the paragraphs of its notes) while the tree is walked."""

    def __init__(self):
        self.blocks: list = []
        self.para: Paragraph | None = None
        self.title: str | None = None

    def start(self, kind: str = "p", level: int = 0):
        self.end()
        self.para = Paragraph(kind=kind, level=level)

    def end(self):
        p, self.para = self.para, None
        if p is None:
            return
        while p.runs and (p.runs[-1].br or not p.runs[-1].text.strip()):  # no trailing breaks or spaces
            p.runs.pop()
        if p.runs and p.kind != "pre":
            p.runs[-1].text = p.runs[-1].text.rstrip()
        if not p.runs:
            return
        if self.blocks and isinstance(self.blocks[-1], TextBlock):
            self.blocks[-1].paragraphs.append(p)
        else:
            self.blocks.append(TextBlock([p]))

    def text(self, text: str, style: dict, kind: str):
        if not text:
            return
        if kind != "pre":
            text = _WS.sub(" ", text)
            last = self.para.runs[-1] if self.para and self.para.runs else None
            if last is None or last.br or last.text.endswith(" "):
                text = text.lstrip(" ")
            if not text:
                return
        if self.para is None:
            self.para = Paragraph(kind=kind)
        if kind == "pre":
            lines = text.split("\n")
            for i, line in enumerate(lines):
                if i:
                    self.para.runs.append(Run("\n", br=True))
                if line:
                    self.para.runs.append(Run(line, style["bold"], style["italic"], True))
            return
        self.para.runs.append(Run(text, style["bold"], style["italic"], style["mono"]))

    def br(self):
        if self.para is not None and self.para.runs:
            self.para.runs.append(Run("\n", br=True))

    def add(self, block):
        self.end()
        self.blocks.append(block)


def _plain_text(el) -> str:
    """The visible text of ``el`` (a table cell, a heading): whitespace collapsed, ``<br>`` as a line break."""
    parts: list[str] = []

    def walk(node):
        if _tag(node) in _SKIP_TAGS or _hidden(node):
            return
        if _tag(node) == "br":
            parts.append("\n")
        elif _tag(node) == "img" and node.get("alt"):
            parts.append(node.get("alt"))
        if node.text and _tag(node) != "br":
            parts.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(el)
    lines = [_WS.sub(" ", line).strip() for line in "".join(parts).split("\n")]
    return "\n".join(line for line in lines if line)


def _table(el) -> TableBlock:
    rows, header_rows, in_body = [], 0, False
    for tr in el.iter("tr"):
        if _hidden(tr) or next((a for a in tr.iterancestors("table")), None) is not el:
            continue  # a row of a nested table is read with its cell's text
        section = next((_tag(a) for a in tr.iterancestors() if _tag(a) in ("thead", "tbody", "tfoot")), "")
        cells = []
        for td in tr:
            if _tag(td) not in ("td", "th") or _hidden(td):
                continue

            def span(name):
                try:
                    return max(1, min(int(td.get(name) or 1), 100))  # noqa: B023 (called within this iteration)
                except ValueError:
                    return 1

            cls = _classes(td)
            style = (td.get("style") or "").replace(" ", "").lower()
            align = (
                "r"
                if "num" in cls or "text-align:right" in style or (td.get("align") or "").lower() == "right"
                else "l"
                if "txt" in cls or "text-align:left" in style
                else ""
            )
            cells.append(TableCell(_plain_text(td), _tag(td) == "th", align, span("colspan"), span("rowspan")))
        if not cells:
            continue
        header = section == "thead" or (not in_body and all(c.header for c in cells) and section != "tbody")
        if header and not in_body:
            header_rows += 1
        else:
            in_body = True
        rows.append(cells)
    # numbers right-aligned: a cell with no alignment of its own takes its column's (right when its body
    # cells are numbers, as pandas' tables leave it to the style sheet)
    numeric: dict[int, list[bool]] = {}
    for cells in rows[header_rows:]:
        col = 0
        for c in cells:
            if c.text and not c.header:
                numeric.setdefault(col, []).append(bool(_NUMBER.match(c.text)) or c.text in ("—", "–", "-"))
            col += c.colspan
    for r, cells in enumerate(rows):
        col = 0
        for c in cells:
            if not c.align:
                votes = numeric.get(col, [])
                column_numbers = bool(votes) and sum(votes) >= 0.8 * len(votes)
                if r < header_rows:
                    c.align = "r" if column_numbers and c.colspan == 1 else "l"
                else:
                    c.align = (
                        "r"
                        if (not c.header and bool(_NUMBER.match(c.text))) or (column_numbers and not c.header)
                        else "l"
                    )
            col += c.colspan
    return TableBlock(rows, header_rows)


def _walk(el, flow: _Flow, notes: _Flow, style: dict, kind: str, level: int):
    """Add the text of ``el`` (its own text, its children, their tails) to ``flow`` in ``style``."""
    if el.text:
        flow.text(el.text, style, kind)
    for child in el:
        tag = _tag(child)
        if not tag:  # a comment or processing instruction: only its tail counts
            pass
        elif tag in _SKIP_TAGS or _hidden(child):
            pass
        elif tag == "aside" and "notes" in _classes(child):
            _walk(child, notes, notes, dict(style), "p", 0)
            notes.end()
        elif tag == "table":
            caption = next((c for c in child if _tag(c) == "caption"), None)
            if caption is not None and _plain_text(caption):
                flow.start("p")
                flow.text(_plain_text(caption), {**style, "bold": True}, "p")
                flow.end()
            table = _table(child)
            if table.rows:
                flow.add(table)
        elif tag == "img":
            image = _image(child)
            if image is not None:
                flow.add(image)
            elif child.get("alt"):
                flow.text(child.get("alt"), {**style, "italic": True}, kind)
        elif tag == "svg":  # the notebooks draw PNG; an inline SVG is kept as its title, in words
            title = next((t for t in child.iter() if _tag(t).endswith("title")), None)
            if title is not None and (title.text or "").strip():
                flow.start("p")
                flow.text(f"[{title.text.strip()}]", {**style, "italic": True}, "p")
                flow.end()
        elif tag == "br":
            flow.br()
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            text = _plain_text(child).replace("\n", " ")
            if flow.title is None and text:
                flow.title = text
            elif text:
                flow.start("heading")
                flow.text(text, {**style, "bold": True}, "heading")
                flow.end()
        elif tag in ("ul", "ol"):
            flow.end()
            _walk(
                child, flow, notes, style, "bullet" if tag == "ul" else "number", level + (kind in ("bullet", "number"))
            )
            flow.end()
        elif tag == "li":
            flow.start(kind if kind in ("bullet", "number") else "bullet", level)
            _walk(child, flow, notes, style, kind if kind in ("bullet", "number") else "bullet", level)
            flow.end()
        elif tag == "pre":
            flow.start("pre")
            _walk(child, flow, notes, {**style, "mono": True}, "pre", level)
            flow.end()
        elif tag in _BLOCK_TAGS:
            inner = "note" if ({"dl-notes"} & _classes(child)) else kind
            if tag == "blockquote":
                style_here = {**style, "italic": True}
            else:
                style_here = style
            if (
                flow.para is not None
                and flow.para.kind in ("bullet", "number")
                and tag in ("p", "div")
                and not flow.para.runs
            ):
                _walk(child, flow, notes, style_here, flow.para.kind, level)  # <li><p>text</p></li>
            else:
                flow.end()
                if inner not in ("bullet", "number", "pre"):
                    flow.para = Paragraph(kind=inner if inner in ("note",) else "p", level=0)
                _walk(child, flow, notes, style_here, inner, level)
                flow.end()
        else:  # inline: b, strong, em, i, code, a, span, ...
            here = dict(style)
            if tag in ("b", "strong", "th"):
                here["bold"] = True
            if tag in ("i", "em", "cite", "dfn", "var"):
                here["italic"] = True
            if tag in ("code", "kbd", "samp", "tt"):
                here["mono"] = True
            _walk(child, flow, notes, here, kind, level)
        if child.tail:
            flow.text(child.tail, style, kind)


def parse_slides(page: str) -> tuple[list[Slide], dict]:
    """The slides of a rendered reveal.js deck, and its ``title`` and ``lang`` (from ``<title>``, ``<html lang>``).

    A slide is an innermost ``<section>`` inside ``.reveal .slides`` (what reveal.js shows as one slide,
    and prints as one PDF page), in document order.

    >>> slides, meta = parse_slides('<html lang="zh-CN"><body><div class="reveal"><div class="slides">'
    ...     '<section><section><h1>A &amp; B<a class="anchor-link" href="#a">¶</a></h1><p>Hi <b>there</b></p>'
    ...     '</section><section><p>Two</p></section></section></div></div></body></html>')
    >>> [s.title for s in slides], slides[0].blocks[0].paragraphs[0].runs, meta["lang"]
    (['A & B', ''], [Run(text='Hi ', bold=False, italic=False, mono=False, br=False), Run(text='there', bold=True, italic=False, mono=False, br=False)], 'zh-CN')
    """
    import lxml.html

    parser = lxml.html.HTMLParser(huge_tree=True, remove_comments=True)
    root = lxml.html.document_fromstring(page, parser=parser)
    title = root.find(".//title")
    meta = {
        "title": _WS.sub(" ", title.text_content()).strip() if title is not None else "",
        "lang": (root.get("lang") or "").strip(),
    }
    containers = [
        d
        for d in root.iter("div")
        if "slides" in _classes(d) and any("reveal" in _classes(a) for a in d.iterancestors("div"))
    ] or [root]
    slides = []
    for container in containers[:1]:
        for section in container.iter("section"):
            if section.find(".//section") is not None:
                continue
            flow, notes = _Flow(), _Flow()
            _walk(section, flow, notes, {"bold": False, "italic": False, "mono": False}, "p", 0)
            flow.end()
            notes.end()
            note_text = "\n".join(
                [
                    *([notes.title] if notes.title else []),  # (a heading in the notes is text)
                    *(p.text for b in notes.blocks if isinstance(b, TextBlock) for p in b.paragraphs),
                ]
            )
            slides.append(Slide(flow.title or "", flow.blocks, note_text))
    return slides, meta


# --------------------------------------------------------------------------
# Measuring (estimates: PowerPoint lays text out itself)
# --------------------------------------------------------------------------
def _em(text: str, bold: bool = False) -> float:
    """Width of ``text`` in em of an Arial-like font, a little generous (CJK and full-width characters: 1 em).

    >>> round(_em("Claim"), 2), _em("回款率")
    (2.89, 3.0)
    """
    width = wide = 0.0
    for ch in text:
        if unicodedata.east_asian_width(ch) in ("W", "F"):
            wide += 1.0
        elif ch == " ":
            width += 0.28
        elif ch in "il.,:;'|!Ijft()[]":
            width += 0.3
        elif ch in "mwMW%@":
            width += 0.86
        elif ch.isupper():
            width += 0.72
        else:
            width += 0.57
    return width * (1.12 if bold else 1.05) + wide


def _lines(text: str, width_em: float, bold: bool = False) -> int:
    """Lines ``text`` takes in a box ``width_em`` wide (wrapping at spaces, or anywhere in CJK).

    >>> _lines("one two three", 20), _lines("one two three", 5), _lines("一二三四五六", 2.5)
    (1, 2, 3)
    """
    total = 0
    for line in text.split("\n"):
        n, used = 1, 0.0
        for word in re.findall(r"\S+\s*|\s+", line) or [""]:
            w = _em(word, bold)
            if used and used + _em(word.rstrip(), bold) > width_em:
                n, used = n + 1, 0.0
            if w > width_em:  # a word longer than the line (or CJK text): breaks anywhere
                extra = math.ceil((used + w) / width_em) - 1
                n, used = n + extra, (used + w) - extra * width_em
            else:
                used += w
        total += n
    return max(total, 1)


def _para_size(p: Paragraph, scale: float) -> float:
    base = {"heading": HEADING_PT, "note": NOTE_PT, "pre": PRE_PT}.get(p.kind, BODY_PT)
    return max(round(base * scale * 2) / 2, 9.0 if p.kind in ("note", "pre") else 10.0)


def _text_height(block: TextBlock, width_pt: float, scale: float) -> float:
    height = 0.0
    for p in block.paragraphs:
        size = _para_size(p, scale)
        indent = (18.0 + 18.0 * p.level) if p.kind in ("bullet", "number") else 0.0
        bold = p.kind == "heading" or all(r.bold or r.br for r in p.runs)
        height += _lines(p.text, (width_pt - indent - 10) / size, bold) * size * 1.2 + size * 0.3
    return height + 8.0  # the box's insets


def _grid(table: TableBlock) -> tuple[list[list[TableCell | None]], list[tuple[int, int, TableCell]]]:
    """The cells placed on a grid (spans resolved): ``grid[r][c]`` is the cell that starts there, else None."""
    taken: set[tuple[int, int]] = set()
    placed: list[tuple[int, int, TableCell]] = []
    for r, cells in enumerate(table.rows):
        c = 0
        for cell in cells:
            while (r, c) in taken:
                c += 1
            placed.append((r, c, cell))
            for dr in range(min(cell.rowspan, len(table.rows) - r)):
                for dc in range(cell.colspan):
                    taken.add((r + dr, c + dc))
            c += cell.colspan
    n_rows = len(table.rows)
    n_cols = max((c + cell.colspan for _, c, cell in placed), default=1)
    grid: list[list[TableCell | None]] = [[None] * n_cols for _ in range(n_rows)]
    for r, c, cell in placed:
        grid[r][c] = cell
    return grid, placed


def _table_layout(table: TableBlock, width_pt: float, height_pt: float) -> tuple[float, list[float], list[float]]:
    """Font size, column widths and row heights (pt) of ``table`` in a ``width_pt`` x ``height_pt`` room.

    The largest size from ``TABLE_PT`` down to ``TABLE_MIN_PT`` at which the table fits; at the floor it may
    still be taller than the room (it is never split).
    """
    grid, placed = _grid(table)
    n_rows, n_cols = len(grid), len(grid[0])
    pad_pt = 12.0  # the cell's left and right insets (5 pt each) and a little room
    want = [1.5] * n_cols  # em
    least = [1.0] * n_cols
    heading = [0.0] * n_cols  # the header's width on one line
    for r, c, cell in placed:
        if cell.colspan != 1:
            continue
        bold = cell.header or r < table.header_rows
        longest_word = max((_em(w, bold) for w in cell.text.split()), default=0.0)
        full = max((_em(line, bold) for line in cell.text.split("\n")), default=0.0)
        if r < table.header_rows:
            want[c] = max(want[c], min(full, max(longest_word, 8.0)))
            least[c] = max(least[c], longest_word)  # a header word is not broken
            heading[c] = max(heading[c], full)
        elif cell.align == "r":
            want[c] = max(want[c], full)
            least[c] = max(least[c], full)  # nor is a number
        else:
            want[c] = max(want[c], min(full, 24.0))
            least[c] = max(least[c], min(longest_word, 12.0))
    size = TABLE_PT
    while True:
        room_em = (width_pt - pad_pt * n_cols) / size
        cols_em = list(want)
        if sum(cols_em) > room_em:  # wrap the widest columns first, down to their longest word
            excess = sum(cols_em) - room_em
            slack = [w - m for w, m in zip(cols_em, least)]
            total_slack = sum(slack)
            if total_slack > 0:
                cols_em = [w - s * min(1.0, excess / total_slack) for w, s in zip(cols_em, slack)]
            if sum(cols_em) > room_em:
                cols_em = [w * room_em / sum(cols_em) for w in cols_em]
        else:  # room to spare: headers on fewer lines
            deficit = [max(h - w, 0.0) for h, w in zip(heading, cols_em)]
            spare = room_em - sum(cols_em)
            if sum(deficit) > 0:
                cols_em = [w + d * min(1.0, spare / sum(deficit)) for w, d in zip(cols_em, deficit)]
        widths = [w * size + pad_pt for w in cols_em]
        heights = [0.0] * n_rows
        for r, c, cell in placed:
            if cell.rowspan == 1:
                text_em = sum(cols_em[c : c + cell.colspan]) + pad_pt * (cell.colspan - 1) / size
                bold = cell.header or r < table.header_rows
                heights[r] = max(heights[r], _lines(cell.text, max(text_em, 1.0), bold) * size * 1.2 + 5.0)
        heights = [h or size * 1.2 + 5.0 for h in heights]
        if (sum(heights) <= height_pt and sum(least) <= room_em) or size <= TABLE_MIN_PT:
            return size, widths, heights
        size -= 1.0


def _image_size(image: ImageBlock) -> tuple[float, float]:
    """The image's size (pt) as the deck draws it at most: its width/height attributes, else its pixels."""
    from PIL import Image

    with Image.open(io.BytesIO(image.data)) as im:
        w, h = im.size
    if image.width_px and image.height_px:
        w, h = image.width_px, image.height_px
    elif image.width_px:
        w, h = image.width_px, h * image.width_px / w
    elif image.height_px:
        w, h = w * image.height_px / h, image.height_px
    return w * PX_PT, h * PX_PT


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------
def _lang(lang: str) -> str:
    """The deck's ``<html lang>`` as an Office language tag (``zh``, ``zh-Hans`` -> ``zh-CN``)."""
    lang = lang.replace("_", "-")
    return {
        "en": "en-US",
        "zh": "zh-CN",
        "zh-hans": "zh-CN",
        "zh-hans-cn": "zh-CN",
        "zh-hant": "zh-TW",
        "": "en-US",
    }.get(lang.lower(), lang)


def has_cjk(text: str) -> bool:
    """True when ``text`` holds a character set with the East Asian font (Chinese, Japanese, Korean).

    >>> has_cjk("M1 高余额"), has_cjk("回款率："), has_cjk("Paid rate 48.8%")
    (True, True, False)
    """
    return bool(_CJK.search(text))


def _east_asian(run_element, text: str, lang: str) -> None:
    """Give a run (``<a:r>``) holding CJK ``text`` the East Asian font of :data:`EA_CJK` and a Chinese language."""
    from lxml import (
        etree,  # pyright: ignore[reportAttributeAccessIssue]  # lxml.etree is a compiled module pyright cannot see
    )
    from pptx.oxml.ns import qn

    if not has_cjk(text):
        return
    rpr = run_element.get_or_add_rPr()
    if not lang.lower().startswith("zh"):
        rpr.set("lang", CJK_LANG)
    ea = rpr.find(qn("a:ea"))
    if ea is None:  # schema order: after a:latin, before a:cs, a:sym and the hyperlinks
        ea = etree.Element(qn("a:ea"))
        after = [rpr.find(qn(t)) for t in ("a:cs", "a:sym", "a:hlinkClick", "a:hlinkMouseOver", "a:rtl", "a:extLst")]
        first = next((el for el in after if el is not None), None)
        if first is not None:
            first.addprevious(ea)
        else:
            rpr.append(ea)
    for key, value in EA_CJK.items():
        ea.set(key, value)


def _style_run(run, *, size: float, bold=False, italic=False, mono=False, rgb=TEXT_RGB, lang="en-US"):
    from lxml import (
        etree,  # pyright: ignore[reportAttributeAccessIssue]  # lxml.etree is a compiled module pyright cannot see
    )
    from pptx.dml.color import RGBColor
    from pptx.oxml.ns import qn
    from pptx.util import Pt

    font = run.font
    font.size = Pt(size)
    font.bold = bold
    font.italic = italic
    font.color.rgb = RGBColor.from_string(rgb)
    font.name = MONO_FONT if mono else LATIN_FONT
    rpr = run._r.get_or_add_rPr()
    rpr.set("lang", lang)
    for tag in ("a:ea", "a:cs"):  # after a:latin (python-pptx writes fill and latin in schema order)
        el = rpr.find(qn(tag))
        if el is None:
            el = etree.SubElement(rpr, qn(tag))
        el.set("typeface", EA_FONT if tag == "a:ea" else (MONO_FONT if mono else LATIN_FONT))
    _east_asian(run._r, run.text, lang)


def _bullet(paragraph, kind: str, level: int):
    from lxml import (
        etree,  # pyright: ignore[reportAttributeAccessIssue]  # lxml.etree is a compiled module pyright cannot see
    )
    from pptx.oxml.ns import qn
    from pptx.util import Pt

    ppr = paragraph._p.get_or_add_pPr()
    indent = Pt(18 + 18 * level)
    ppr.set("marL", str(int(indent)))
    ppr.set("indent", str(-int(Pt(14 if kind == "bullet" else 18))))
    for tag in ("a:buNone", "a:buAutoNum", "a:buChar", "a:buFont"):
        for el in ppr.findall(qn(tag)):
            ppr.remove(el)
    if kind == "bullet":
        etree.SubElement(ppr, qn("a:buFont")).set("typeface", LATIN_FONT)
        etree.SubElement(ppr, qn("a:buChar")).set("char", "•" if level % 2 == 0 else "–")
    else:
        etree.SubElement(ppr, qn("a:buFont")).set("typeface", LATIN_FONT)
        etree.SubElement(ppr, qn("a:buAutoNum")).set("type", "arabicPeriod")


def _textbox(slide, block: TextBlock, left, top, width, height, scale: float, lang: str):
    from pptx.util import Pt

    box = slide.shapes.add_textbox(Pt(left), Pt(top), Pt(width), Pt(height))
    tf = box.text_frame
    _plain_frame(tf)
    for i, p in enumerate(block.paragraphs):
        para = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
        size = _para_size(p, scale)
        para.space_after = Pt(size * 0.3)
        para.line_spacing = 1.0
        if p.kind in ("bullet", "number"):
            _bullet(para, p.kind, p.level)
        for r in p.runs:
            if r.br:
                para.add_line_break()
                continue
            run = para.add_run()
            run.text = r.text
            _style_run(
                run,
                size=size,
                bold=r.bold or p.kind == "heading",
                italic=r.italic,
                mono=r.mono or p.kind == "pre",
                rgb=NOTE_RGB if p.kind == "note" else TEXT_RGB,
                lang=lang,
            )
    return box


def _add_table(slide, table: TableBlock, left, top, size, widths, heights, lang: str):
    from pptx.dml.color import RGBColor
    from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
    from pptx.util import Pt

    grid, placed = _grid(table)
    n_rows, n_cols = len(grid), len(grid[0])
    shape = slide.shapes.add_table(n_rows, n_cols, Pt(left), Pt(top), Pt(sum(widths)), Pt(sum(heights)))
    tbl = shape.table
    tbl.first_row = table.header_rows > 0
    tbl.horz_banding = False
    for c, w in enumerate(widths):
        tbl.columns[c].width = Pt(w)
    for r, h in enumerate(heights):
        tbl.rows[r].height = Pt(h)
    for r in range(n_rows):
        for c in range(n_cols):  # every cell filled (also the empty ones): the look does not depend on a table style
            cell = tbl.cell(r, c)
            cell.fill.solid()
            header = r < table.header_rows
            cell.fill.fore_color.rgb = RGBColor.from_string(
                HEADER_FILL if header else BAND_FILL if (r - table.header_rows) % 2 else BODY_FILL
            )
            cell.margin_left = cell.margin_right = Pt(5)
            cell.margin_top = cell.margin_bottom = Pt(2.5)
            cell.vertical_anchor = MSO_ANCHOR.BOTTOM if header else MSO_ANCHOR.TOP
            cell.text_frame.word_wrap = True
    for r, c, item in placed:
        last_r, last_c = min(r + item.rowspan, n_rows) - 1, min(c + item.colspan, n_cols) - 1
        cell = tbl.cell(r, c)
        if (last_r, last_c) != (r, c):
            cell.merge(tbl.cell(last_r, last_c))
        tf = cell.text_frame
        for i, line in enumerate(item.text.split("\n")):
            para = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
            para.alignment = PP_ALIGN.RIGHT if item.align == "r" else PP_ALIGN.LEFT
            if line:
                run = para.add_run()
                run.text = line
                _style_run(run, size=size, bold=item.header or r < table.header_rows, lang=lang)
    return shape


def _layout(slide_data: Slide, top: float, scale: float):
    """Place the blocks from ``top`` down at text scale ``scale``: ``(items, bottom)``; ``items`` are
    ``(block, left, top, width, height, extra)`` in pt, ``extra`` the table's size, widths and heights."""
    width = SLIDE_W_PT - 2 * MARGIN_PT
    bottom_limit = SLIDE_H_PT - MARGIN_PT * 0.6
    blocks = slide_data.blocks
    images = [b for b in blocks if isinstance(b, ImageBlock)]
    fixed = {}
    for i, b in enumerate(blocks):
        if isinstance(b, TextBlock):
            fixed[i] = _text_height(b, width, scale)
    gaps = GAP_PT * max(len(blocks) - 1, 0)
    text_total = sum(fixed.values())
    # the tables share what the text leaves; the charts keep at least their minimum
    natural = {id(b): _image_size(b) for b in images}
    chart_floor = sum(min(h * min(1.0, width / w), MIN_CHART_SHARE * SLIDE_H_PT) for w, h in natural.values())
    room = bottom_limit - top - gaps
    tables = [i for i, b in enumerate(blocks) if isinstance(b, TableBlock)]
    for i in tables:
        share = max(room - text_total - chart_floor, 60.0) / len(tables)
        size, widths, heights = _table_layout(blocks[i], width, share)
        fixed[i] = sum(heights)
        fixed[(i, "table")] = (size, widths, heights)
    left_for_images = room - sum(v for k, v in fixed.items() if not isinstance(k, tuple))
    # charts: as large as the deck draws them at most, scaled down together to the room left
    fits = {
        id(b): (w * min(1.0, width / w), h * min(1.0, width / w)) for b, (w, h) in ((b, natural[id(b)]) for b in images)
    }
    total_h = sum(h for _, h in fits.values())
    shrink = min(1.0, max(left_for_images, 0.0) / total_h) if total_h else 1.0
    items, y = [], top
    for i, b in enumerate(blocks):
        if isinstance(b, ImageBlock):
            w, h = fits[id(b)]
            floor = min(h, MIN_CHART_SHARE * SLIDE_H_PT)
            h2 = max(h * shrink, floor)
            w2 = w * h2 / h
            items.append((b, MARGIN_PT + (width - w2) / 2, y, w2, h2, None))
            y += h2
        elif isinstance(b, TableBlock):
            size, widths, heights = fixed[(i, "table")]
            items.append((b, MARGIN_PT, y, sum(widths), sum(heights), (size, widths, heights)))
            y += sum(heights)
        else:
            items.append((b, MARGIN_PT, y, width, fixed[i], None))
            y += fixed[i]
        y += GAP_PT
    return items, y - GAP_PT if blocks else y


def _repro_zip(raw: bytes) -> bytes:
    """The same package with fixed entry times, so the same slides give the same bytes."""
    src = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def write_pptx(slides_html: str | Path, out: Path, *, title: str | None = None) -> int:
    """Write the reveal.js deck ``slides_html`` (a file path, or the page's HTML text) as PowerPoint ``out``.

    One 16:9 slide per slide of the deck (see the module docstring); ``title`` is the document title
    (default: the page's ``<title>``). Returns the number of slides written.
    """
    from pptx import Presentation
    from pptx.enum.text import PP_ALIGN
    from pptx.oxml.ns import qn
    from pptx.util import Pt

    if isinstance(slides_html, Path) or (isinstance(slides_html, str) and "<" not in slides_html):
        page = Path(slides_html).read_text(encoding="utf-8")
    else:
        page = slides_html
    slides, meta = parse_slides(page)
    lang = _lang(meta["lang"])
    prs = Presentation()
    prs.slide_width, prs.slide_height = Pt(SLIDE_W_PT), Pt(SLIDE_H_PT)
    cp = prs.core_properties
    cp.title = title if title is not None else meta["title"]
    cp.author = cp.last_modified_by = "analysis build"
    cp.comments = cp.subject = cp.keywords = cp.category = ""
    cp.language = lang
    cp.revision = 1
    for name in ("created", "modified"):  # no times: the same deck gives the same file
        for el in cp._element.findall(qn(f"dcterms:{name}")):
            cp._element.remove(el)
    title_only = next(layout for layout in prs.slide_layouts if layout.name == "Title Only")
    for data in slides:
        slide = prs.slides.add_slide(title_only)
        ph = slide.shapes.title
        assert ph is not None  # the "Title Only" layout has a title placeholder
        top = MARGIN_PT * 0.6
        if data.title:
            lines = _lines(data.title, (SLIDE_W_PT - 2 * MARGIN_PT - 10) / TITLE_PT, bold=True)
            size = TITLE_PT if lines <= 2 else 22.0
            height = min(lines, 3) * size * 1.2 + 10
            ph.left, ph.top, ph.width, ph.height = Pt(MARGIN_PT), Pt(top), Pt(SLIDE_W_PT - 2 * MARGIN_PT), Pt(height)
            tf = ph.text_frame
            _plain_frame(tf)
            para = tf.paragraphs[0]
            para.alignment = PP_ALIGN.LEFT
            run = para.add_run()
            run.text = data.title
            _style_run(run, size=size, bold=True, lang=lang)
            top += height + GAP_PT
        else:
            ph._element.getparent().remove(ph._element)
        # text as large as the room allows, down to 10 pt (the floor of _para_size)
        scale = 1.0
        items, bottom = _layout(data, top, scale)
        while bottom > SLIDE_H_PT - MARGIN_PT * 0.6 and scale > 0.65:
            scale -= 0.05
            items, bottom = _layout(data, top, scale)
        for block, left, y, w, h, extra in items:
            if isinstance(block, TextBlock):
                _textbox(slide, block, left, y, w, h, scale, lang)
            elif isinstance(block, TableBlock):
                size, widths, heights = extra
                _add_table(slide, block, left, y, size, widths, heights, lang)
            else:
                pic = slide.shapes.add_picture(io.BytesIO(block.data), Pt(left), Pt(y), Pt(w), Pt(h))
                pic._element.nvPicPr.cNvPr.set("descr", block.alt)  # pyright: ignore[reportAttributeAccessIssue]  # python-pptx builds its XML element classes at runtime
        if data.notes:
            notes_frame = slide.notes_slide.notes_text_frame  # pyright: ignore[reportOptionalMemberAccess]  # a notes slide always has its notes placeholder
            notes_frame.text = data.notes  # pyright: ignore[reportOptionalMemberAccess]
            for para in notes_frame.paragraphs:  # pyright: ignore[reportOptionalMemberAccess]
                for run in para.runs:
                    _east_asian(run._r, run.text, lang)
    buf = io.BytesIO()
    prs.save(buf)
    out = Path(out)
    out.write_bytes(_repro_zip(buf.getvalue()))
    return len(slides)
