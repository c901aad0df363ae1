"""Plots: presentation only, one calling convention.

Every function takes a prepared frame first (one row per thing drawn, the
estimate and its interval already computed), keyword-only options, and
``ax=None`` (a new figure when None); it labels both axes (units belong in
the labels: "CNY per account", "per 10,000 contacts", "percentage points"),
draws the intervals it is given as error bars, returns the axes, and never
changes global style. :func:`set_style` is the one place the project style is
set: call it once per notebook. ``scale`` options only change units (e.g.
100 to show a proportion in percent); nothing statistical is computed here.

Every text the functions write themselves (default axis labels, legend
entries such as "truth", notes on the chart) is in the current language
(:func:`analysis.i18n._`), and so are the labels and titles passed in; a
column name used as an axis or legend title reads as its header
(:func:`analysis.report.display.label`) in Chinese.

Every text drawn (tick labels, legend entries and titles, axis labels and
titles) goes through :func:`literal_text`, so names from the data are drawn
as written: a ``$`` never starts mathtext (which misrenders ``_`` and ``\\``
and can fail at draw time), and a legend entry starting with ``_`` is not
dropped. :func:`set_style` also puts a CJK font, when one is installed, in
the font fallback list (first, when the reports are in Chinese), so that
Chinese names do not draw as empty boxes.
"""

from __future__ import annotations

import logging
import re
import textwrap
from collections.abc import Sequence
from typing import overload

import matplotlib as mpl
import matplotlib.font_manager as font_manager
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis import i18n
from analysis.i18n import N_, _
from analysis.report.resolution import PIXEL_DENSITY, figure_density

__all__ = [
    "PIXEL_DENSITY",
    "STYLE",
    "CJK_FONTS",
    "set_style",
    "cjk_font",
    "literal_text",
    "interval_plot",
    "bar_with_ci",
    "funnel_plot",
    "dose_response_plot",
    "hour_profile",
    "stacked_share",
    "sensitivity_plot",
    "power_curve",
    "tornado_plot",
    "break_even_plot",
    "frontier_plot",
    "alt_text",
]

#: The project style (matplotlib rc parameters).
STYLE: dict = {
    "figure.figsize": (8.0, 4.5),
    "figure.dpi": 100,
    "savefig.dpi": 120,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "axes.prop_cycle": mpl.cycler(  # pyright: ignore[reportAttributeAccessIssue]  # matplotlib exports cycler at runtime; its stubs omit it
        color=["#1b6ca8", "#e07b39", "#3a923a", "#c03d3e", "#8c6bb1", "#7f7f7f", "#b8a22f", "#17becf"]
    ),
}


_log = logging.getLogger(__name__)

#: CJK fonts tried, in order, as the fallback for glyphs the Latin font lacks.
#: Debian's fonts-noto-cjk installs "Noto Sans CJK SC" in a font collection
#: (.ttc) of which matplotlib reads the first face only, named "Noto Sans CJK
#: JP": it covers the same Chinese characters.
CJK_FONTS: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "Noto Sans CJK KR",
    "Noto Sans CJK HK",
    "Source Han Sans",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "Heiti SC",
    "Droid Sans Fallback",
    "Arial Unicode MS",
)
#: Font files whose name suggests CJK coverage (to notice a font installed after matplotlib's cache was built).
_CJK_FILE = re.compile(
    r"cjk|wqy|wenquanyi|sourcehan|droidsansfallback|yahei|simhei|pingfang|noto\w*(sc|tc)\b", re.IGNORECASE
)
_rebuilt_font_cache = False


def _known_cjk_font() -> str | None:
    """The first of :data:`CJK_FONTS` that matplotlib's font manager knows, else any font named "... CJK ...",
    sans-serif first, else None."""
    known = {f.name for f in font_manager.fontManager.ttflist}
    other = sorted((n for n in known if "CJK" in n.split()), key=lambda n: ("Sans" not in n, n))
    return next((name for name in (*CJK_FONTS, *other) if name in known), None)


def cjk_font() -> str | None:
    """The name of an installed CJK font matplotlib can use, else None.

    When none of :data:`CJK_FONTS` is known to matplotlib but a CJK font file
    is installed (matplotlib's font cache predates it), the cache is rebuilt,
    once per process (a few seconds), and written back for later processes.
    """
    global _rebuilt_font_cache
    name = _known_cjk_font()
    if name is not None or _rebuilt_font_cache:
        return name
    _rebuilt_font_cache = True
    known = {f.fname for f in font_manager.fontManager.ttflist}
    new = [f for f in font_manager.findSystemFonts() if f not in known and _CJK_FILE.search(f)]
    if not new:
        return None
    _log.info("rebuilding matplotlib's font cache for %s", ", ".join(new))
    font_manager.fontManager = font_manager._load_fontmanager(try_read_cache=False)  # pyright: ignore[reportAttributeAccessIssue]  # private matplotlib helper, absent from its stubs
    # the module-level shortcuts are bound to the instance they were made from
    font_manager.findfont = font_manager.fontManager.findfont
    font_manager.get_font_names = font_manager.fontManager.get_font_names
    return _known_cjk_font()


def set_style() -> None:
    """Apply :data:`STYLE` to matplotlib's rcParams (once per notebook).

    When a CJK font is installed (:func:`cjk_font`), it is appended to
    ``font.family`` after the current (Latin) fonts: matplotlib draws each
    glyph from the first font in the list that has it, so Latin text keeps
    its font and Chinese text draws in the CJK font instead of as empty
    boxes (with a "Glyph ... missing from font" warning). Without one, the
    family is left as it is. The Latin font stays first in Chinese reports
    too: tick labels such as 10³ are mathtext, which draws from the first
    font alone, and some CJK fonts (Droid Sans Fallback) have no digits.
    """
    mpl.rcParams.update(STYLE)
    _install_alt_text()
    cjk = cjk_font()
    if cjk is not None:
        family = [f for f in mpl.rcParams["font.family"] if f not in CJK_FONTS and f != cjk]
        mpl.rcParams["font.family"] = [*family, cjk]


@overload
def literal_text(text: None) -> None: ...
@overload
def literal_text(text: str) -> str: ...
@overload
def literal_text(text: object) -> str | None: ...
def literal_text(text: object) -> str | None:
    r"""``text`` as matplotlib should draw it: literally, never as mathtext.

    Every ``$`` is escaped as ``\$`` (so no mathtext is parsed: inside it
    ``_`` and ``\`` are markup and a bad expression fails at draw time; an
    escaped ``$`` draws as ``$``), and a leading ``_`` gets a zero-width space
    in front (matplotlib drops legend entries whose label starts with ``_``).
    None stays None; anything else is converted with ``str``.

    >>> literal_text("$x$_1")
    '\\$x\\$_1'
    """
    if text is None:
        return None
    text = str(text).replace("$", r"\$")
    return "\u200b" + text if text.startswith("_") else text


def _axes(ax):
    if ax is None:
        _fig, ax = plt.subplots()
    return ax


def _yerr(data: pd.DataFrame, value: str, low: str, high: str, scale: float) -> np.ndarray:
    v = data[value].to_numpy(float) * scale
    return np.vstack([v - data[low].to_numpy(float) * scale, data[high].to_numpy(float) * scale - v])


@overload
def _column(column: str) -> str: ...
@overload
def _column(column: None) -> None: ...
@overload
def _column(column: str | None) -> str | None: ...
def _column(column: str | None) -> str | None:
    """A column name shown as an axis or legend title: as it is in English, its header in other languages."""
    if column is None or i18n.language() == i18n.DEFAULT:
        return column
    from analysis.report import display

    return display.label(column)


def _text(text):
    """A label, title or legend entry in the current language (text not in the catalogue stays as it is)."""
    return _(text) if isinstance(text, str) else text


def _finish(
    ax, xlabel: str, ylabel: str, *, legend: str | None = None, title: str | None = None, entries: bool = False
):
    """Label the axes, add the legend and the title; return ``ax``.

    The legend is drawn when ``legend`` (its title) is given or ``entries``
    is true (untitled). Every text goes through :func:`literal_text`.
    """
    ax.set_xlabel(literal_text(_text(xlabel)))
    ax.set_ylabel(literal_text(_text(ylabel)))
    if legend or entries:
        ax.legend(title=literal_text(_text(legend)))
    if title:
        ax.set_title(literal_text(_text(title)))
    return ax


def _groups(data: pd.DataFrame, hue: str | None):
    return [(None, data)] if hue is None else list(data.groupby(hue, sort=False))


#: Columns whose values get their fixed colour (:func:`analysis.report.display.colour`) in every chart.
COLOURED = ("strategy", "channel", "treatment", "policy")


def _colour(hue: str | None, name) -> str | None:
    """The fixed colour of ``name`` when ``hue`` names strategies or channels, else None (the colour cycle).

    A strategy is drawn in the same colour in every chart, whether the frame
    holds its code (``sms_only``) or its display name ("SMS only").
    """
    from analysis.report import display

    if hue is None or name is None or hue not in COLOURED:
        return None
    return display.colour(name)


def alt_text(fig) -> str:
    """A figure's alternative text for the reports: "Chart: " and its titles, then what each panel shows.

    Built from the suptitle, the axes' titles and their axis labels (the words
    the reader sees), e.g. "Chart: Balance due by delinquency bucket. Mean
    balance due (CNY) by days-past-due bucket."
    """
    parts = []
    sup = getattr(fig, "_suptitle", None)
    if sup is not None and sup.get_text():
        parts.append(sup.get_text())
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    parts += [ax.get_title() for ax in axes if ax.get_title()]
    panels = []
    english = i18n.language() == i18n.DEFAULT

    def capital(t: str) -> str:
        return t[:1].upper() + t[1:] if english else t

    for ax in axes:
        y, x = ax.get_ylabel(), ax.get_xlabel()
        if y and x:
            panels.append(_("{y} by {x}").format(y=capital(y), x=x))
        elif y or x:
            panels.append(capital(y or x))
    sep = "; " if english else "；"
    text = _("Chart: {titles}.").format(titles=sep.join(parts)) if parts else _("Chart.")
    if panels:
        text = _("{chart} {panels}.").format(chart=text, panels=sep.join(panels))
    return re.sub(r"\\\$", "$", text.replace("\u200b", ""))


_LAST_PNG: list = []  # (figure, base64 PNG) drawn for the HTML output, reused for the PNG output


def _png_size(head: bytes) -> tuple[int, int]:
    """Width and height in pixels from the first 24 bytes of a PNG (its IHDR chunk)."""
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def _install_alt_text() -> None:
    """In IPython, show every figure as an ``<img>`` with :func:`alt_text` (and keep its PNG output).

    nbconvert's templates write no alternative text for a PNG output, so a
    figure is also given an HTML output (preferred by JupyterLab and
    nbconvert): the same PNG as a data URL in an ``<img alt="...">`` inside a
    ``jp-RenderedImage`` box, so the reports' image styles still apply. The
    PNG is drawn once for both outputs. Outside IPython nothing changes.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is part of the notebook stack
        return
    ip = get_ipython()
    if ip is None:
        return
    from matplotlib.figure import Figure

    formatters = ip.display_formatter.formatters

    def png_of(fig):
        """The figure's PNG (base64) at :func:`figure_density` times ``savefig.dpi``; the inline backend's PNG
        formatter (registered on its first drawing) is wrapped so that the PNG output reuses it."""
        from IPython.core.pylabtools import print_figure

        dpi = mpl.rcParams["savefig.dpi"]
        dpi = (fig.dpi if dpi == "figure" else float(dpi)) * figure_density()
        png = formatters["image/png"]
        try:
            current = png.lookup_by_type(Figure)
        except KeyError:  # no inline backend
            return print_figure(fig, "png", bbox_inches="tight", base64=True, dpi=dpi)
        if not getattr(current, "_alt_text", False):

            def drawn(f, _original=current):
                if _LAST_PNG and _LAST_PNG[0][0] is f:
                    return _LAST_PNG.pop()[1]
                return _original(f)

            drawn._alt_text = True  # pyright: ignore[reportFunctionMemberAccess]  # a marker on our own wrapper
            drawn._original = current  # pyright: ignore[reportFunctionMemberAccess]
            png.for_type(Figure, drawn)
        return print_figure(fig, "png", bbox_inches="tight", base64=True, dpi=dpi)

    def as_html(fig):
        import base64
        import html

        data = png_of(fig)
        if data is None:
            return None
        if isinstance(data, bytes):
            data = base64.b64encode(data).decode("ascii")
        _LAST_PNG[:] = [(fig, data)]
        width, height = _png_size(base64.b64decode(data[:48]))
        density = figure_density()
        return (
            f'<div class="jp-RenderedImage"><img src="data:image/png;base64,{data}" '
            f'width="{round(width / density)}" height="{round(height / density)}" '
            f'alt="{html.escape(alt_text(fig), quote=True)}" style="max-width: 100%; height: auto;"></div>'
        )

    def ensure():
        """Register the HTML output again if the inline backend dropped it (it resets every figure
        formatter when it starts, on the first figure drawn): run after each cell, before the
        backend sends the cell's figures."""
        if formatters["text/html"].type_printers.get(Figure) is not as_html:
            formatters["text/html"].for_type(Figure, as_html)

    # Load the backend now: the inline backend resets the formatters when it loads (on the first figure), and a
    # figure shown in that cell (plt.show()) would otherwise go out before the hook below puts them back.
    load_backend = getattr(plt, "_get_backend_mod", None)
    if load_backend is not None:
        load_backend()
    ensure()
    for callback in [c for c in ip.events.callbacks["post_execute"] if getattr(c, "_alt_text", False)]:
        ip.events.unregister("post_execute", callback)  # set_style called again: one hook
    ensure._alt_text = True
    ip.events.register("post_execute", ensure)


def interval_plot(
    data: pd.DataFrame,
    *,
    label: str,
    estimate: str = "estimate",
    low: str = "ci_low",
    high: str = "ci_high",
    hue: str | None = None,
    reference: float | None = None,
    scale: float = 1.0,
    xlabel: str,
    ylabel: str | None = None,
    title: str | None = None,
    truth: str | None = None,
    ax=None,
):
    """Point estimates with interval bars, one row per ``label`` (horizontal).

    Args:
        data: one row per estimate.
        label: column naming the rows (the y axis).
        estimate, low, high: columns of the estimate and its interval.
        hue: optional column splitting the rows into dodged series.
        reference: draw a vertical line at this value (e.g. 0 or 1).
        scale: multiply the values for display (e.g. 100 for percentage points).
        xlabel: the value's name with its unit.
        ylabel: defaults to the ``label`` column name.
        title: optional title.
        truth: optional column of known true values, drawn as crosses.
        ax: axes to draw on.
    """
    ax = _axes(ax)
    labels = list(dict.fromkeys(data[label].astype(str)))
    pos = {k: i for i, k in enumerate(labels)}
    groups = _groups(data, hue)
    width = 0.6 / max(len(groups), 1)
    for j, (name, g) in enumerate(groups):
        offset = (j - (len(groups) - 1) / 2) * width if hue else 0.0
        y = np.array([pos[str(v)] for v in g[label]]) + offset
        ax.errorbar(
            g[estimate].to_numpy(float) * scale,
            y,
            xerr=_yerr(g, estimate, low, high, scale),
            fmt="o",
            capsize=3,
            label=literal_text(name),
            color=_colour(hue, name),
        )
        if truth is not None:
            ax.scatter(
                g[truth].to_numpy(float) * scale,
                y,
                marker="x",
                color="k",
                zorder=3,
                label=_("truth") if j == 0 else None,
            )
    if reference is not None:
        ax.axvline(reference * scale, color="0.4", lw=1, ls="--")
    ax.set_yticks(range(len(labels)), [literal_text(t) for t in labels])
    ax.invert_yaxis()
    ax.set_xlabel(literal_text(_text(xlabel)))
    ax.set_ylabel(literal_text(_text(ylabel) or _column(label)))
    if hue or truth is not None:
        ax.legend(title=literal_text(_column(hue)))
    if title:
        ax.set_title(literal_text(_text(title)))
    return ax


def bar_with_ci(
    data: pd.DataFrame,
    *,
    x: str,
    y: str,
    low: str | None,
    high: str | None,
    hue: str | None = None,
    scale: float = 1.0,
    xlabel: str | None = None,
    ylabel: str,
    title: str | None = None,
    reference: float | None = None,
    ax=None,
):
    """Vertical bars with interval bars; ``hue`` gives grouped bars.

    ``low``/``high`` None draws bars without intervals (for quantities with
    no sampling uncertainty, such as planned sample sizes).
    """
    ax = _axes(ax)
    cats = list(dict.fromkeys(data[x].astype(str)))
    pos = {k: i for i, k in enumerate(cats)}
    groups = _groups(data, hue)
    width = 0.8 / max(len(groups), 1)
    for j, (name, g) in enumerate(groups):
        xs = np.array([pos[str(v)] for v in g[x]]) + (j - (len(groups) - 1) / 2) * width
        # grouped bars take the colour of their group; single bars of strategies (or channels) their own
        color = _colour(hue, name) if hue is not None else ([_colour(x, v) for v in g[x]] if x in COLOURED else None)
        ax.bar(xs, g[y].to_numpy(float) * scale, width=width * 0.95, label=literal_text(name), color=color)
        if low is not None and high is not None:
            ax.errorbar(
                xs,
                g[y].to_numpy(float) * scale,
                yerr=_yerr(g, y, low, high, scale),
                fmt="none",
                ecolor="0.2",
                capsize=3,
            )
    if reference is not None:
        ax.axhline(reference * scale, color="0.4", lw=1, ls="--")
    ax.set_xticks(range(len(cats)), [literal_text(c) for c in cats])
    return _finish(ax, xlabel or _column(x), ylabel, legend=_column(hue), title=title)


def funnel_plot(
    data: pd.DataFrame,
    *,
    stage: str = "stage",
    rate: str = "rate",
    low: str = "ci_low",
    high: str = "ci_high",
    hue: str = "strategy",
    scale: float = 100.0,
    ylabel: str = N_("share of accounts (%)"),
    title: str | None = None,
    ax=None,
):
    """The contact funnel: share of accounts reaching each stage, by ``hue``."""
    return bar_with_ci(
        data,
        x=stage,
        y=rate,
        low=low,
        high=high,
        hue=hue,
        scale=scale,
        xlabel=_("funnel stage"),
        ylabel=ylabel,
        title=title,
        ax=ax,
    )


def dose_response_plot(
    data: pd.DataFrame,
    *,
    x: str = "n_window",
    rate: str = "rate",
    low: str = "ci_low",
    high: str = "ci_high",
    fitted: str | None = "fitted_rate",
    hue: str | None = "channel",
    pooled: str | None = "pooled",
    bin_label: str | None = "bin",
    xlabel: str = N_("contacts in the last 7 days (incl. this one)"),
    ylabel: str = N_("complaints per 10,000 contacts"),
    title: str | None = None,
    ax=None,
):
    """Observed rates with intervals by contact frequency, and the fitted model as a line.

    Pass the binned table (:func:`analysis.measures.complaints.dose_bins`, with
    ``x="n_window_mean"``) so that thin counts do not stretch the scale:
    rows whose ``pooled`` column is true (bins of several counts) are drawn
    as open circles and labelled with their ``bin_label`` text (e.g.
    ``"14+"``). The model's line is drawn over the points, thicker, in the
    colour of its observed points; the y axis starts at 0.

    Args:
        data: one row per cell or bin.
        x: column of the contact count to draw at.
        rate, low, high: columns of the observed rate and its interval.
        fitted: column of the model's rate (None: no line).
        hue: column splitting the rows into series (e.g. the channel).
        pooled, bin_label: columns marking pooled bins and naming them
            (ignored when absent).
        xlabel, ylabel: names with units.
        title: optional title.
        ax: axes to draw on.
    """
    ax = _axes(ax)
    for name, g in _groups(data, hue):
        many = g[pooled].astype(bool).to_numpy() if pooled is not None and pooled in g else np.zeros(len(g), bool)
        color, first = _colour(hue, name), True
        for part, face in ((~many, None), (many, "white")):
            if not part.any():
                continue
            sub = g[part]
            lines = ax.errorbar(
                sub[x],
                sub[rate],
                yerr=_yerr(sub, rate, low, high, 1.0),  # pyright: ignore[reportArgumentType]  # pandas types a selection from a DataFrame loosely; it is a DataFrame
                fmt="o",
                capsize=2,
                alpha=0.8,
                color=color,
                mfc=face,
                zorder=2,
                label=None if name is None or not first else literal_text(_("{name} (observed)").format(name=name)),
            )
            color, first = lines[0].get_color(), False
        if bin_label is not None and bin_label in g:
            for __, r in g[many].iterrows():
                ax.annotate(
                    literal_text(r[bin_label]),  # pyright: ignore[reportArgumentType]  # pandas types a row's cell loosely; the bin label is text
                    (r[x], r[rate]),  # pyright: ignore[reportArgumentType]  # pandas types a cell of a row/column loosely; it is a scalar here
                    xytext=(4, 4),
                    textcoords="offset points",
                    fontsize=8,
                    color=color,
                )
        if fitted is not None and fitted in g:
            ax.plot(
                g[x],
                g[fitted],
                color=color,
                lw=2.5,
                zorder=3,
                label=None if name is None else literal_text(_("{name} (model)").format(name=name)),
            )
    ax.set_ylim(bottom=0)
    _finish(ax, xlabel, ylabel, legend=None, title=title)
    if hue:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    return ax


def hour_profile(
    data: pd.DataFrame,
    *,
    x: str = "local_hour",
    y: str = "contacts",
    hue: str | None = "channel",
    xlabel: str = N_("local hour of the borrower (0-23)"),
    ylabel: str = N_("contact attempts"),
    low: str | None = None,
    high: str | None = None,
    shade: Sequence[tuple[float, float]] = (),
    title: str | None = None,
    ax=None,
):
    """Lines over the hour (or day) of contact, optional intervals and shaded spans (e.g. quiet hours)."""
    ax = _axes(ax)
    for start, end in shade:
        ax.axvspan(start, end, color="0.85", lw=0)
    for name, g in _groups(data, hue):
        if low is not None and high is not None:
            ax.errorbar(
                g[x],
                g[y],
                yerr=_yerr(g, y, low, high, 1.0),
                marker="o",
                ms=3,
                capsize=2,
                label=literal_text(name),
                color=_colour(hue, name),
            )
        else:
            ax.plot(g[x], g[y], marker="o", ms=3, label=literal_text(name), color=_colour(hue, name))
    return _finish(ax, xlabel, ylabel, legend=_column(hue), title=title)


def stacked_share(
    data: pd.DataFrame,
    *,
    x: str,
    hue: str,
    value: str,
    xlabel: str | None = None,
    ylabel: str = N_("share (%)"),
    scale: float = 100.0,
    title: str | None = None,
    ax=None,
):
    """Stacked bars of shares (already computed, e.g. ``category_mix``'s ``share``)."""
    ax = _axes(ax)
    cats = list(dict.fromkeys(data[x].astype(str)))
    bottom = np.zeros(len(cats))
    for name, g in data.groupby(hue, sort=False):
        v = g.set_index(g[x].astype(str))[value].reindex(cats).fillna(0.0).to_numpy(float) * scale
        ax.bar(range(len(cats)), v, bottom=bottom, label=literal_text(name), color=_colour(hue, name))
        bottom = bottom + v
    ax.set_xticks(range(len(cats)), [literal_text(c) for c in cats])
    ax.set_xlabel(literal_text(_text(xlabel) or _column(x)))
    ax.set_ylabel(literal_text(_text(ylabel)))
    ax.legend(title=literal_text(_column(hue)), bbox_to_anchor=(1.01, 1), loc="upper left")
    if title:
        ax.set_title(literal_text(_text(title)))
    return ax


def sensitivity_plot(
    data: pd.DataFrame,
    *,
    x: str,
    y: str,
    low: str | None = None,
    high: str | None = None,
    hue: str = "strategy",
    xlabel: str,
    ylabel: str,
    baseline_x: float | None = None,
    title: str | None = None,
    ax=None,
):
    """A measure against one varied assumption (e.g. agent cost per hour), one line per ``hue``."""
    ax = _axes(ax)
    for name, g in _groups(data, hue):
        if low is not None and high is not None:
            ax.errorbar(
                g[x],
                g[y],
                yerr=_yerr(g, y, low, high, 1.0),
                marker="o",
                ms=3,
                capsize=2,
                label=literal_text(name),
                color=_colour(hue, name),
            )
        else:
            ax.plot(g[x], g[y], marker="o", ms=3, label=literal_text(name), color=_colour(hue, name))
    if baseline_x is not None:
        ax.axvline(baseline_x, color="0.4", lw=1, ls="--")
    return _finish(ax, xlabel, ylabel, legend=_column(hue), title=title)


def power_curve(
    data: pd.DataFrame,
    *,
    x: str,
    y: str = "power",
    hue: str | None = None,
    target: float | None = 0.8,
    xlabel: str,
    ylabel: str = N_("power (%)"),
    scale: float = 100.0,
    title: str | None = None,
    ax=None,
):
    """Power (or any 0-1 measure) against sample size or effect, with a target line."""
    ax = _axes(ax)
    for name, g in _groups(data, hue):
        ax.plot(g[x], g[y].to_numpy(float) * scale, lw=2, label=literal_text(name))
    if target is not None:
        ax.axhline(target * scale, color="0.4", lw=1, ls="--")
    return _finish(ax, xlabel, ylabel, legend=_column(hue), title=title)


def tornado_plot(
    data: pd.DataFrame,
    *,
    label: str = "key",
    low: str = "value_at_low",
    high: str = "value_at_high",
    base: str = "base",
    scale: float = 1.0,
    xlabel: str,
    ylabel: str | None = None,
    reference: float | None = None,
    reference_label: str | None = None,
    ends: tuple[str, str] | None = None,
    title: str | None = None,
    ax=None,
):
    """One-at-a-time sensitivity, centred on the base value: per row a bar from the base to each end.

    The x axis is symmetric around the base value (the bars' common origin,
    a solid line) and wide enough for the longest bar, so short swings are
    still bars, not slivers against an edge. Within a row the bar for the
    assumption's low end is drawn above the one for its high end, so neither
    hides the other. Rows are drawn in the order given, the first at the
    top (pass them sorted by swing, as :func:`analysis.decide.economics.tornado`
    returns them). A ``reference`` beyond the axis is not drawn: a note at
    that edge says where it lies.

    Args:
        data: one row per assumption.
        label: column naming the rows (the y axis).
        low, high: columns of the quantity with the assumption at the low and the high end of its range.
        base: column of the quantity at base assumptions (the bars' common origin; its first value is used).
        scale: multiply the values for display.
        xlabel: the quantity's name with its unit.
        ylabel: defaults to the ``label`` column name.
        reference: optional extra vertical line (e.g. 0: where the decision flips).
        reference_label: what the reference means (legend and note), default its value.
        ends: optional columns ``(low, high)`` of the assumption's values at the two ends of its
            range, written at the tips of the bars.
        title: optional title.
        ax: axes to draw on.
    """
    ax = _axes(ax)
    labels = [textwrap.fill(t, 28) for t in data[label].astype(str)]
    y = np.arange(len(labels))
    origin = float(data[base].iloc[0]) * scale if len(data) else 0.0
    tips = {}
    for col, name, shift in ((low, N_("assumption at low end"), -0.19), (high, N_("assumption at high end"), 0.19)):
        tips[col] = data[col].to_numpy(float) * scale
        ax.barh(y + shift, tips[col] - origin, left=origin, height=0.36, label=_(name), alpha=0.85)
    reach = max((float(np.nanmax(np.abs(t - origin))) for t in tips.values() if len(t)), default=0.0)
    half = (reach if reach > 0 else max(abs(origin) * 0.01, 1.0)) * (1.45 if ends else 1.12)
    ax.set_xlim(origin - half, origin + half)
    ax.axvline(
        origin, color="0.2", lw=1, label=literal_text(_("at assumed values: {value}").format(value=_number(origin)))
    )
    if ends is not None:
        for col, end, shift in ((low, ends[0], -0.19), (high, ends[1], 0.19)):
            for yi, tip, value in zip(y, tips[col], data[end].to_numpy(float)):
                right = tip >= origin
                ax.annotate(
                    literal_text(_number(value)),
                    (tip, yi + shift),
                    xytext=(3 if right else -3, 0),
                    textcoords="offset points",
                    ha="left" if right else "right",
                    va="center",
                    fontsize=8,
                )
    if reference is not None:
        ref = reference * scale
        what = _text(reference_label) or _number(ref)
        if origin - half <= ref <= origin + half:
            ax.axvline(ref, color="0.4", lw=1, ls="--", label=literal_text(what))
        else:
            left = ref < origin
            note = _("{what} at {value}, off the chart").format(what=what, value=_number(ref))
            ax.annotate(
                literal_text(f"<- {note}" if left else f"{note} ->"),
                (0.01 if left else 0.99, 0.01),
                xycoords="axes fraction",
                ha="left" if left else "right",
                va="bottom",
                fontsize=8,
                color="0.35",
            )
    ax.set_yticks(y, [literal_text(t) for t in labels])
    ax.invert_yaxis()
    _finish(ax, xlabel, _column(label) if ylabel is None else ylabel, title=title)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3)
    return ax


def _number(x: float) -> str:
    """A number for a chart label: separators from 1,000 up, else four significant digits."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:,.4g}"


def break_even_plot(
    data: pd.DataFrame,
    *,
    flips: pd.DataFrame | None = None,
    x: str = "price",
    y: str = "net_value_per_account",
    hue: str = "strategy",
    current: float | None = None,
    scale: float = 1.0,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    ax=None,
):
    """Net value of the competing strategies against one price, with the prices where the best one changes.

    Draws one line per ``hue`` (e.g. :attr:`analysis.decide.economics.PriceFlip.curve`),
    a wide pale band under whichever line is highest, a dashed line at the
    ``current`` price and, per row of ``flips``
    (:meth:`analysis.decide.economics.PriceFlip.flips_frame`), a dotted line at the
    flip, the crossing marked with its interval as a horizontal bar (clipped
    to the prices shown) and the strategy that takes over named. With
    ``flips`` given but empty, a note says the best strategy does not change
    within the prices shown.

    Args:
        data: the lines: one row per price and strategy.
        flips: ``price``, ``ci_low``, ``ci_high``, ``before``, ``after`` (None: not drawn).
        x, y, hue: columns of the price, the net value and the strategy.
        current: the price assumed now.
        scale: multiply ``y`` for display.
        xlabel, ylabel: names with units.
        title: optional title.
        ax: axes to draw on.
    """
    ax = _axes(ax)
    wide = data.pivot_table(index=x, columns=hue, values=y, sort=True) * scale
    if len(wide):
        ax.plot(
            wide.index,
            wide.max(axis=1),
            color="0.85",
            lw=9,
            solid_capstyle="butt",
            zorder=1,
            label=_("best strategy at that price"),
        )
    for name, g in _groups(data, hue):
        g = g.sort_values(x)
        ax.plot(g[x], g[y].to_numpy(float) * scale, lw=2, zorder=2, label=literal_text(name), color=_colour(hue, name))
    lo, hi = (float(data[x].min()), float(data[x].max())) if len(data) else (0.0, 1.0)
    if current is not None:
        ax.axvline(current, color="0.3", lw=1, ls="--", label=_("price now"))
    if flips is not None:
        for __, f in flips.iterrows():
            ax.axvline(f["price"], color="#c03d3e", lw=1.5, ls=":", zorder=3)  # pyright: ignore[reportArgumentType]  # pandas types a cell of a row/column loosely; it is a scalar here
            at = data[(data[x] == f["price"]) & (data[hue] == f["after"])]
            band = (max(float(f["ci_low"]), lo), min(float(f["ci_high"]), hi))
            if len(at) and np.isfinite(band).all():  # the crossing, with its interval clipped to the prices shown
                ax.errorbar(
                    [f["price"]],
                    [float(at[y].iloc[0]) * scale],  # pyright: ignore[reportAttributeAccessIssue]  # pandas types a selection as Series | ndarray; it is a Series
                    xerr=[[f["price"] - band[0]], [band[1] - f["price"]]],
                    fmt="o",
                    color="#c03d3e",
                    capsize=4,
                    zorder=4,
                )
            ax.annotate(
                literal_text(_("{strategy} from {price}").format(strategy=f["after"], price=_number(f["price"]))),  # pyright: ignore[reportArgumentType]  # pandas types a cell of a row/column loosely; it is a scalar here
                (f["price"], 0.5),  # pyright: ignore[reportArgumentType]  # pandas types a cell of a row/column loosely; it is a scalar here
                xycoords=("data", "axes fraction"),
                xytext=(4, 0),
                textcoords="offset points",
                ha="left",
                va="center",
                rotation=90,
                fontsize=8,
                color="#c03d3e",
            )
        if flips.empty:
            ax.annotate(
                literal_text(
                    _("the best strategy does not change between {low} and {high}").format(
                        low=_number(lo), high=_number(hi)
                    )
                ),
                (0.5, 0.5),
                xycoords="axes fraction",
                ha="center",
                va="center",
                fontsize=9,
                color="0.2",
                bbox={"boxstyle": "round", "fc": "white", "ec": "0.7"},
                zorder=5,
            )
    ax.set_xlim(lo, hi)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_xlabel(literal_text(_text(xlabel)))
    ax.set_ylabel(literal_text(_text(ylabel)))
    if title:
        ax.set_title(literal_text(_text(title)))
    return ax


def frontier_plot(
    data: pd.DataFrame,
    *,
    x: str = "limit",
    y: str = "value_per_account",
    status: str | None = "status",
    hue: str | None = None,
    scale: float = 1.0,
    current: float | None = None,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    ax=None,
):
    """Optimal value against a swept constraint (e.g. :func:`analysis.decide.policy.frontier`), one line per ``hue``.

    Rows whose ``status`` is ``"infeasible"`` are not joined by the line; their
    limits are marked with crosses on the x axis.

    Args:
        data: one row per limit.
        x, y: columns of the limit and the optimal value.
        status: column of ``optimal`` / ``infeasible`` (None: every row is feasible).
        hue: optional column splitting the rows into lines.
        scale: multiply ``y`` for display.
        current: draw a vertical line at the limit in force.
        xlabel, ylabel: names with units.
        title: optional title.
        ax: axes to draw on.
    """
    ax = _axes(ax)
    bad = data[status] == "infeasible" if status is not None else pd.Series(False, index=data.index)
    for name, g in _groups(data[~bad], hue):  # pyright: ignore[reportArgumentType]  # pandas types a selection from a DataFrame loosely; it is a DataFrame
        ax.plot(
            g[x],
            g[y].to_numpy(float) * scale,
            marker="o",
            ms=4,
            lw=2,
            label=literal_text(name),
            color=_colour(hue, name),
        )
    if bad.any():
        ax.plot(
            data.loc[bad, x],
            np.zeros(int(bad.sum())),
            "x",
            color="#c03d3e",
            ms=8,
            clip_on=False,
            transform=ax.get_xaxis_transform(),
            label=_("infeasible limit"),
        )
    if current is not None:
        ax.axvline(current, color="0.4", lw=1, ls="--", label=_("limit in force"))
    return _finish(ax, xlabel, ylabel, legend=hue, title=title, entries=bool(bad.any()) or current is not None)
