"""Nothing from the data runs or formats in the reports, and no warning is printed into them.

Names of segments, strategies, products and regions are a team's free text.
The sentences that carry them are rendered here through the same path as the
reports (nbconvert's ``markdown2html``, which passes raw HTML through) and the
result is parsed with the standard library's HTML parser: only the elements the
template asked for, no event handler, no ``javascript:`` URL, and the visible
text shows the name as written. Plots draw the same names as literal text.
"""

from __future__ import annotations

import doctest
import warnings
from html.parser import HTMLParser

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from matplotlib import cbook
from matplotlib.text import Text
from nbconvert.filters.markdown import markdown2html

from analysis.report import notebook as nb
from analysis.report import plots

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    '<iframe srcdoc="<script>alert(1)</script>">',
    '"><script>alert(1)</script>',
    "javascript:alert(1)",
    "<svg onload=alert(1)>",
    "$x$",
    "**bold**",
    "逾期M1-高",
    "M1-high",
    "![img](x.png) _em_ `code` ~~del~~ | a | b | https://example.com <https://example.com>",
    "1. item",
    "\\* back\\slash \\",
    "&lt;b&gt; &amp; 'quoted'",
]


class _Html(HTMLParser):
    """Elements, attributes and visible text of an HTML fragment."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)

    def handle_comment(self, data):  # a comment is markup from the data too
        self.tags.append("!--")

    @property
    def visible(self) -> str:
        return "".join(self.text)


def _render(markdown: str, allowed: set[str]) -> _Html:
    """``markdown`` rendered as the reports render it, checked to hold nothing active."""
    html = _Html(markdown2html(markdown))
    assert set(html.tags) <= allowed, f"unexpected elements {set(html.tags) - allowed} in {markdown!r}"
    for name, value in html.attrs:
        assert not name.lower().startswith("on"), f"event handler {name} in {markdown!r}"
        if name.lower() in {"href", "src", "srcdoc", "action", "formaction", "xlink:href"}:
            assert not (value or "").strip().lower().startswith("javascript:"), f"{name}={value} in {markdown!r}"
    return html


@pytest.mark.parametrize("name", HOSTILE)
def test_an_escaped_name_renders_as_plain_text(name):
    html = _render(nb.escape_markdown(name), {"p"})
    assert html.visible.strip() == name
    assert "$" not in nb.escape_markdown(name)  # no TeX in Markdown
    assert isinstance(nb.escape_markdown(name), nb.SafeText)


def test_newlines_in_a_name_cannot_start_a_markdown_block():
    name = "a\n# heading\n\n- item\n\n    code\n<script>alert(1)</script>\nTerm\n: def"
    html = _render("Segment " + nb.escape_markdown(name) + ".", {"p"})
    assert html.visible.strip() == "Segment " + " ".join(name.split()) + "."


@pytest.mark.parametrize("name", HOSTILE)
def test_sentence_escapes_every_value_but_keeps_the_template_markdown(name):
    text = nb.sentence("**{s}** pays {p:pct} in {g} ({c:money}).", currency=name, s=name, g=name, p=0.25, c=2.5)
    assert isinstance(text, nb.SafeText)
    html = _render(text, {"p", "strong"})
    assert html.tags.count("strong") == 1  # the template's, and only it
    assert html.visible.strip() == f"{name} pays 25.0% in {name} ({name} 2.50)."


@pytest.mark.parametrize("name", HOSTILE)
def test_a_name_at_the_start_of_a_sentence_stays_a_paragraph(name):
    html = _render(nb.sentence("{s}", s=name), {"p"})
    assert html.visible.strip() == name


def test_sentence_escapes_strings_in_intervals_and_conversions():
    text = nb.sentence("{a!r} {t}", a="<b>", t=("<i>", 0.1, 0.2))
    html = _render(text, {"p"})
    assert "'<b>'" in html.visible and "<i>" in html.visible


def _displayed(monkeypatch, call) -> str:
    """The Markdown that ``call`` displays (``say`` and ``bullets`` call IPython's ``display``)."""
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj.data))
    call()
    assert len(shown) == 1
    return shown[0]


@pytest.mark.parametrize("name", HOSTILE)
def test_bullets_escape_plain_lines_and_pass_sentences_through(monkeypatch, name):
    lines = [
        nb.sentence("{s} gains {d:money}.", currency="CNY", s=name, d=1.5),
        f"{name} costs CNY 2.00 more per account than sms_only.",  # built elsewhere, like claims' explanations
        name,
    ]
    markdown = _displayed(monkeypatch, lambda: nb.bullets(lines))
    html = _render(markdown, {"ul", "li"})
    assert html.tags.count("li") == 3
    items = [t for t in html.visible.split("\n") if t]
    assert items == [f"{name} gains CNY 1.50.", f"{name} costs CNY 2.00 more per account than sms_only.", name]


def test_bullets_do_not_escape_a_sentence_twice(monkeypatch):
    line = nb.sentence("{s} gains.", s="M1-high")
    markdown = _displayed(monkeypatch, lambda: nb.bullets([line]))
    assert markdown == "- M1\\-high gains."
    assert _render(markdown, {"ul", "li"}).visible.strip() == "M1-high gains."


@pytest.mark.parametrize("name", HOSTILE)
def test_say_displays_the_escaped_sentence(monkeypatch, name):
    markdown = _displayed(monkeypatch, lambda: nb.say("Largest: {s}, {p:pct}.", s=name, p=0.5))
    assert "$" not in markdown
    assert _render(markdown, {"p"}).visible.strip() == f"Largest: {name}, 50.0%."


def test_the_doctests_of_notebook_and_plots_hold():
    for module in (nb, plots):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__


# --- plots: names from the data are drawn as literal text -------------------------------------------------------

PLOT_NAMES = ["$x$", r"$\notacommand{$", "_hidden", r"a\b_c^2", "<img src=x onerror=alert(1)>", "逾期M1-高", "**bold**"]


@pytest.fixture()
def _figures():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")  # no CJK font needed here
        yield
    plt.close("all")


def _frame(column: str) -> pd.DataFrame:
    rows = [
        {
            column: name,
            "hue": other,
            "estimate": 0.1 * i + 0.1,
            "ci_low": 0.1 * i,
            "ci_high": 0.1 * i + 0.2,
            "x": float(i),
            "n": 100 * (i + 1),
        }
        for i, name in enumerate(PLOT_NAMES)
        for other in PLOT_NAMES[:2]
    ]
    return pd.DataFrame(rows)


def _draw_and_check(ax):
    ax.figure.canvas.draw()  # a parsed "$...$" would fail here
    texts = [t.get_text() for t in ax.figure.findobj(Text) if t.get_text()]
    assert not any(cbook.is_math_text(t) for t in texts), texts
    shown = {t.replace("\\$", "$").lstrip("\u200b") for t in texts}
    return shown


def _legend(ax) -> set[str]:
    return {t.get_text().replace("\\$", "$").lstrip("\u200b") for t in ax.get_legend().get_texts()}


TITLE = "Paid rate in $x$ for _hidden"


def test_every_plot_draws_hostile_names_literally(_figures):
    df = _frame("name")
    names = set(PLOT_NAMES)
    hues = set(PLOT_NAMES[:2])
    ax = plots.interval_plot(df, label="name", hue="hue", xlabel="effect ($x$)", title=TITLE, truth="estimate")
    shown = _draw_and_check(ax)
    assert names <= shown and TITLE in shown and hues <= _legend(ax)
    ax = plots.bar_with_ci(
        df, x="name", y="estimate", low="ci_low", high="ci_high", hue="hue", ylabel="$y$", title=TITLE
    )
    shown = _draw_and_check(ax)
    assert names <= shown and "$y$" in shown and hues <= _legend(ax)
    funnel = df.rename(columns={"name": "stage", "estimate": "rate", "hue": "strategy"})
    assert names <= _draw_and_check(plots.funnel_plot(funnel, title=TITLE))
    dose = df.rename(columns={"x": "n_window", "estimate": "rate", "hue": "channel"}).assign(fitted_rate=0.2)
    ax = plots.dose_response_plot(dose, title=TITLE)
    _draw_and_check(ax)
    assert {f"{h} (observed)" for h in hues} <= _legend(ax)
    ax = plots.hour_profile(df, x="x", y="estimate", hue="hue", low="ci_low", high="ci_high", title=TITLE)
    _draw_and_check(ax)
    assert hues <= _legend(ax)
    ax = plots.stacked_share(df, x="name", hue="hue", value="estimate", title=TITLE)
    shown = _draw_and_check(ax)
    assert names <= shown and hues <= _legend(ax)
    ax = plots.sensitivity_plot(df, x="x", y="estimate", hue="hue", xlabel="cost ($)", ylabel="$", title=TITLE)
    _draw_and_check(ax)
    assert hues <= _legend(ax)
    ax = plots.power_curve(df.assign(power=0.5), x="n", hue="hue", xlabel="accounts", title=TITLE)
    _draw_and_check(ax)
    assert hues <= _legend(ax)
    tornado = pd.DataFrame({"key": PLOT_NAMES, "base": 0.0, "value_at_low": -1.0, "value_at_high": 1.0})
    assert names <= _draw_and_check(plots.tornado_plot(tornado, xlabel="net value", title=TITLE))
    frontier = df.assign(limit=df.x, value_per_account=df.estimate, status="optimal")
    ax = plots.frontier_plot(frontier, hue="hue", xlabel="hours", ylabel="value", title=TITLE, current=1.0)
    _draw_and_check(ax)
    assert hues <= _legend(ax)


def test_literal_text_keeps_a_backslash_before_a_dollar(_figures):
    fig, ax = plt.subplots()
    text = ax.set_title(plots.literal_text(r"a\$b $c"))
    fig.canvas.draw()
    assert not cbook.is_math_text(text.get_text())
    assert text._preprocess_math(text.get_text()) == (r"a\$b $c", False)  # what is drawn


# --- warnings never reach a notebook's outputs ------------------------------------------------------------------


def test_capture_warnings_records_instead_of_printing(monkeypatch, capsys):
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # restored after the test
    nb.capture_warnings()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("Glyph 36926 missing from font(s) DejaVu Sans.", UserWarning, stacklevel=1)
        warnings.warn("use something else", FutureWarning, stacklevel=1)
    assert capsys.readouterr().err == ""
    recorded = nb.captured_warnings()
    assert any("UserWarning: Glyph 36926 missing" in w for w in recorded)
    assert any("FutureWarning: use something else" in w for w in recorded)
    with warnings.catch_warnings(record=True) as caught:  # recording still works for tests
        warnings.simplefilter("always")
        warnings.warn("seen", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["seen"]
    with warnings.catch_warnings():  # an "error" filter still raises
        warnings.simplefilter("error")
        with pytest.raises(UserWarning):
            warnings.warn("raised", UserWarning, stacklevel=1)


def test_escaping_is_never_applied_twice():
    once = nb.escape_markdown("M1-high <b>")
    assert nb.escape_markdown(once) is once
    inner = nb.sentence("{s} leads", s="M1-high")
    outer = nb.sentence("{i}; {t}.", i=inner, t="M2-low")
    assert outer == "M1\\-high leads; M2\\-low."
    assert _render(outer, {"p"}).visible.strip() == "M1-high leads; M2-low."
