"""Reports in Chinese and English: the catalogues are complete, numbers follow the locale, a zh build reads as Chinese."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pptx import Presentation

from analysis import i18n
from analysis.report import messages
from analysis.report.build import BuildConfig, UsageError, build, default_out, other_languages

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]")


# --------------------------------------------------------------------------
# The catalogues
# --------------------------------------------------------------------------
def test_every_message_has_its_translation_in_both_languages():
    found = messages.extract()
    assert len(found) > 300  # the notebooks, the display layer, the decision's sentences, the index page
    problems = messages.problems(found)
    assert not problems, f"{len(problems)} problems; run python -m analysis.report.messages check:\n" + "\n".join(
        problems[:30]
    )


def test_a_message_missing_from_the_catalogues_is_reported_for_each_language():
    found = {"A sentence no catalogue has {n:int}.": {"notebooks/99_new.ipynb"}}
    problems = messages.problems(found)
    assert any(p.startswith("English (en): no translation") and "99_new" in p for p in problems)
    assert any(p.startswith("简体中文 (zh): no translation") for p in problems)


def test_a_translation_that_drops_a_placeholder_is_reported(monkeypatch):
    english = "Paid {p:pct} against {b}."
    monkeypatch.setattr(i18n, "_fragments", lambda lang: {english: "回款率 {p:pct}。"} if lang == "zh" else {})
    monkeypatch.setattr(messages, "_read", lambda lang: [_Entry(english, english)])
    problems = messages.problems({english: {"notebooks/01_x.ipynb"}})
    assert len(problems) == 1 and "placeholders" in problems[0] and "'b'" in problems[0]


class _Entry:
    fuzzy = False

    def __init__(self, id_, string):
        self.id, self.string = id_, string


def test_binding_the_translation_function_is_found():
    assert messages._shadows("def f(df):\n    for _, r in df.iterrows():\n        pass\n    return _('x')\n") == [2]
    assert messages._shadows("for _ in range(3):\n    pass\nprint(_('x'))\n") == [1]
    assert messages._shadows("def f():\n    for _ in range(3):\n        pass\nprint(_('x'))\n") == []
    assert messages._shadows("%time x = 1\nfor _ in y:\n    !ls\n_('x')\n") == [2]  # IPython magics are read too
    assert messages._shadows("def broken(:\n") == []
    assert messages._shadows("for _ in range(3):\n    x._('a')\n") == []  # a method named _, not the function
    assert messages._shadows("for _ in range(3):\n    pass\nprint(_ ('x'))\n") == [1]  # a space before (
    assert not messages.shadowing()  # nowhere in the package or the notebooks


def test_a_pages_title_is_the_reports_first_heading():
    import nbformat

    from analysis.report.build import notebook_title

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    assert notebook_title(nb) == ""
    nb.cells.append(nbformat.v4.new_markdown_cell("<p>note</p>\n\n# 1. **Executive** summary\n\nText."))
    assert notebook_title(nb) == "1. Executive summary"


def test_markdown_cells_are_translated_whole(zh):
    import nbformat

    text = "## Package versions"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text + "\n"), nbformat.v4.new_code_cell("1")])
    messages.translate_notebook(nb, "zh")
    assert CJK.search(nb.cells[0].source) and nb.cells[0].source.startswith("## ")
    assert nb.cells[1].source == "1"


# --------------------------------------------------------------------------
# The language and the locale
# --------------------------------------------------------------------------
def test_an_unknown_language_names_the_accepted_ones():
    with pytest.raises(ValueError, match=r"lang: unknown language 'fr'; accepted: en \(English\), zh"):
        i18n.set_language("fr")
    assert i18n.language() == "en"


def test_money_and_percentages_follow_the_locale(zh):
    assert i18n.money(1234.5, "CNY") == "¥1,234.50"
    assert i18n.money(-1234.6, "CNY", 0) == "-¥1,235"
    assert i18n.money(3.0, "USD") == "USD 3.00" and i18n.money(-3.0, "USD") == "-USD 3.00"
    assert i18n.points(0.012) == "+1.2 个百分点"
    i18n.set_language("en")
    assert i18n.money(1234.5, "CNY") == "CNY 1,234.50" and i18n.points(-0.012) == "-1.2 percentage points"


def test_a_sentence_is_translated_with_its_numbers(zh):
    from analysis.report.notebook import sentence

    text = sentence("{estimate} ({level} CI {low} to {high})", estimate="1", level="95%", low="0", high="2")
    assert CJK.search(text)
    shown = sentence("Paid {p:pct}.", p=(0.3, 0.28, 0.32))
    assert "30.0%" in shown and "28.0%" in shown and CJK.search(shown)  # the interval's words in Chinese


def test_english_is_the_key_and_unknown_text_passes_through(zh):
    assert i18n._("a team's own strategy name") == "a team's own strategy name"
    i18n.set_language("en")
    assert i18n._("SMS only") == "SMS only"


def test_the_languages_folders_stand_side_by_side(tmp_path):
    assert default_out("en").name == "reports" and default_out("zh").name == "reports-zh"
    assert other_languages(tmp_path / "reports", "en") == {"zh": tmp_path / "reports-zh"}
    assert other_languages(tmp_path / "out-zh", "zh") == {"en": tmp_path / "out"}
    assert other_languages(tmp_path / "mine", "zh") == {}


def test_a_bad_language_is_a_usage_error_before_anything_is_written(tmp_path, tiny_dir):
    with pytest.raises(UsageError, match="--lang: unknown language 'de'"):
        build(BuildConfig(data=tiny_dir, out=tmp_path / "r", lang="de", quiet=True))
    assert not (tmp_path / "r").exists()
    with pytest.raises(UsageError, match="--set lang: use the --lang option instead"):
        build(BuildConfig(data=tiny_dir, out=tmp_path / "r", sets=["lang=zh"], quiet=True))


def test_the_command_line_refuses_an_unknown_language(capsys):
    from analysis.__main__ import main

    with pytest.raises(SystemExit) as err:
        main(["build", "--lang", "fr"])
    assert err.value.code == 2 and "invalid choice: 'fr'" in capsys.readouterr().err


# --------------------------------------------------------------------------
# A Chinese build of the executive summary, beside the English one
# --------------------------------------------------------------------------
class _Visible(HTMLParser):
    """The text a reader sees (not scripts, styles or code) and the images' alternative texts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.alts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "pre", "code"):
            self._skip += 1
        if tag == "img":
            self.alts.append(dict(attrs).get("alt") or "")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "pre", "code") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def visible(path: Path) -> _Visible:
    parser = _Visible()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def zh_build(tmp_path_factory, synthetic):
    """The executive summary built in Chinese on the data of the shared English report build (``report_build``)."""
    data = synthetic("cn_default", accounts=6_000, seed=1, truth_accounts=6_000).path
    base = tmp_path_factory.mktemp("languages")
    notebooks = base / "notebooks"
    notebooks.mkdir()
    shutil.copy(ROOT / "notebooks" / "01_executive_summary.ipynb", notebooks)
    return build(
        BuildConfig(data=data, seed=1, notebooks=notebooks, pdf=False, quiet=True, out=base / "reports-zh", lang="zh")
    )


@pytest.mark.slow
def test_a_chinese_report_reads_as_chinese(zh_build):
    page = visible(zh_build.out / "01_executive_summary.html")
    text = " ".join(page.text)
    cjk, latin = len(CJK.findall(text)), len(LATIN.findall(text))
    assert cjk > 1000 and cjk / (cjk + latin) > 0.75, (cjk, latin)
    # the charts carry Chinese titles and labels (their alternative text is read from them)
    assert page.alts and all(CJK.search(alt) for alt in page.alts), page.alts
    nb = json.loads((zh_build.out / "notebooks" / "01_executive_summary.ipynb").read_text(encoding="utf-8"))
    streams = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))
    assert "missing from font" not in streams  # no glyph drawn as an empty box
    page_html = (zh_build.out / "01_executive_summary.html").read_text(encoding="utf-8")
    assert '<html lang="zh"' in page_html
    found = re.search(r"<title>(.*?)</title>", page_html, re.S)  # the report's heading, not its file name
    assert found and CJK.search(found.group(1)) and "executive" not in found.group(1), found


@pytest.mark.slow
def test_the_chinese_decision_is_the_english_one(zh_build, report_build):
    def allocation(out: Path) -> str:
        nb = json.loads((out / "notebooks" / "01_executive_summary.ipynb").read_text(encoding="utf-8"))
        cell = next(c for c in nb["cells"] if "rec.allocation" in "".join(c["source"]))
        return "".join("".join(o.get("text", "")) for o in cell["outputs"])

    assert allocation(report_build) and allocation(report_build) == allocation(zh_build.out)


@pytest.mark.slow
def test_the_chinese_deck_is_chinese_and_libreoffice_converts_it(zh_build, tmp_path):
    deck = zh_build.out / "01_executive_summary.pptx"
    prs = Presentation(str(deck))
    titles = [s.shapes.title.text_frame.text for s in prs.slides if s.shapes.title is not None]
    assert titles and sum(bool(CJK.search(t)) for t in titles) >= 0.8 * len(titles), titles
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        if os.environ.get("REQUIRE_SOFFICE") == "1":
            pytest.fail("REQUIRE_SOFFICE=1 but soffice is not on PATH (apt-get install libreoffice-impress)")
        pytest.skip("soffice is not on PATH (apt-get install libreoffice-impress)")
    done = subprocess.run(
        [soffice, f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}", "--headless", "--norestore",
         "--convert-to", "pdf", "--outdir", str(tmp_path / "pdf"), str(deck)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    pdf = tmp_path / "pdf" / "01_executive_summary.pdf"
    assert done.returncode == 0 and pdf.is_file(), done.stdout + done.stderr
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf.read_bytes())) == len(prs.slides)


@pytest.mark.slow
def test_each_index_links_the_other_language(tmp_path, build_data, sample_notebooks):
    def one(out: str, lang: str):
        cfg = BuildConfig(data=build_data, out=tmp_path / out, notebooks=sample_notebooks, lang=lang, pdf=False)
        return build(dataclasses.replace(cfg, quiet=True))

    first = one("reports", "en")
    assert "reports-zh" not in (first.out / "index.html").read_text(encoding="utf-8")  # not built yet then
    zh = one("reports-zh", "zh")
    zh_index = (zh.out / "index.html").read_text(encoding="utf-8")
    assert 'href="../reports/index.html" hreflang="en"' in zh_index and '<html lang="zh-Hans">' in zh_index
    assert len(CJK.findall(" ".join(visible(zh.out / "index.html").text))) > 30
    again = one("reports", "en")
    en_index = (again.out / "index.html").read_text(encoding="utf-8")
    assert 'href="../reports-zh/index.html" hreflang="zh"' in en_index and "简体中文" in en_index
    assert again.reused == again.notebooks  # the English notebooks came from the cache


def test_update_keeps_translations_adds_new_messages_and_folds_waiting_ones(tmp_path, monkeypatch):
    import json

    from babel.messages.pofile import read_po

    shutil.copytree(i18n.LOCALE_DIR, tmp_path / "locale")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path / "locale")
    i18n.catalogue.cache_clear()
    kept, new, waiting = "SMS only", "A message added since {n:int}", "Another new one"
    part = i18n.catalogue_path("zh").parent / "part-new.json"
    part.write_text(json.dumps({waiting: "又一条新消息"}, ensure_ascii=False), encoding="utf-8")
    try:
        untranslated = messages.update({kept: {"x.py"}, new: {"x.py"}, waiting: {"y.py"}})
        assert untranslated == {"en": 0, "zh": 1}  # the new message awaits its Chinese
        assert not part.exists()  # folded into the catalogue
        with i18n.catalogue_path("zh").open("rb") as f:
            zh = read_po(f)
        assert zh[kept].string == "仅短信" and zh[waiting].string == "又一条新消息" and zh[new].string == ""
        assert "Net value ({cur} per account)" in [m.id for m in zh.obsolete.values()]  # unused now: kept, #~
        with i18n.catalogue_path("en").open("rb") as f:
            en = read_po(f)
        assert en[new].string == new and len([m for m in en if m.id]) == 3
        assert messages.main(["check"]) == 1  # the real messages are no longer all in this catalogue
    finally:
        i18n.catalogue.cache_clear()


def test_the_messages_command_names_its_usage(capsys):
    assert messages.main(["frobnicate"]) == 2
    assert "usage: python -m analysis.report.messages" in capsys.readouterr().err


def test_a_changed_translation_is_a_changed_input_of_the_cache():
    from analysis.report.build import code_files

    files = code_files()
    assert i18n.catalogue_path("zh") in files and i18n.catalogue_path("en") in files
    assert any(p.name == "build.py" for p in files) and not any("__pycache__" in p.parts for p in files)
