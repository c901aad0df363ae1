"""Plots draw what they are given: labelled axes, one error bar per row, no global style change."""

from __future__ import annotations

import copy
import os
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.font_manager as font_manager
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection

from analysis.report import plots


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _frame():
    return pd.DataFrame(
        {
            "strategy": ["sms_only", "phone_only", "sms_only", "phone_only"],
            "segment": ["M1-low", "M1-low", "M2-high", "M2-high"],
            "estimate": [0.10, 0.30, -0.05, 0.20],
            "ci_low": [0.05, 0.20, -0.10, 0.15],
            "ci_high": [0.15, 0.40, 0.00, 0.25],
        }
    )


def _error_segments(ax) -> list:
    """Every error-bar segment drawn on the axes."""
    return [seg for c in ax.collections if isinstance(c, LineCollection) for seg in c.get_segments()]


def _labelled(ax):
    assert ax.get_xlabel() and ax.get_ylabel()


def test_interval_plot_draws_the_given_intervals():
    df = _frame()
    ax = plots.interval_plot(
        df, label="segment", hue="strategy", reference=0, xlabel="effect (percentage points)", scale=100
    )
    _labelled(ax)
    segs = _error_segments(ax)
    assert len(segs) == len(df)
    # horizontal bars from ci_low to ci_high, scaled to percentage points, nothing recomputed
    spans = sorted((round(s[0][0], 9), round(s[1][0], 9)) for s in segs)
    assert spans == sorted((round(100 * a, 9), round(100 * b, 9)) for a, b in zip(df.ci_low, df.ci_high))
    assert any(line.get_xdata()[0] == 0 for line in ax.lines if line.get_linestyle() == "--")


def test_bar_with_ci_one_error_bar_per_bar_and_units():
    df = _frame()
    ax = plots.bar_with_ci(
        df, x="segment", y="estimate", low="ci_low", high="ci_high", hue="strategy", ylabel="paid rate (%)", scale=100
    )
    _labelled(ax)
    assert len(ax.patches) == len(df)
    assert sorted(p.get_height() for p in ax.patches) == pytest.approx(sorted(100 * df.estimate))
    assert len(_error_segments(ax)) == len(df)


def test_bar_without_intervals_draws_no_error_bars():
    ax = plots.bar_with_ci(_frame(), x="segment", y="estimate", low=None, high=None, hue="strategy", ylabel="accounts")
    assert _error_segments(ax) == []


def test_funnel_dose_sensitivity_hour_power_and_stacked():
    funnel = pd.DataFrame(
        {
            "strategy": ["a", "a", "b", "b"],
            "stage": ["contacted", "paid"] * 2,
            "rate": [0.9, 0.3, 0.8, 0.35],
            "ci_low": [0.88, 0.28, 0.78, 0.33],
            "ci_high": [0.92, 0.32, 0.82, 0.37],
        }
    )
    ax = plots.funnel_plot(funnel)
    _labelled(ax)
    assert len(_error_segments(ax)) == 4
    dose = pd.DataFrame(
        {
            "channel": ["sms"] * 3,
            "n_window": [1, 2, 3],
            "rate": [1.0, 2.0, 3.0],
            "ci_low": [0.5, 1.0, 2.0],
            "ci_high": [2.0, 3.0, 4.0],
            "fitted_rate": [1.1, 1.9, 3.1],
        }
    )
    ax = plots.dose_response_plot(dose)
    _labelled(ax)
    assert len(_error_segments(ax)) == 3
    assert any(np.allclose(line.get_ydata(), dose.fitted_rate) for line in ax.lines)
    sens = pd.DataFrame(
        {"strategy": ["a", "a"], "x": [25.0, 50.0], "y": [1.0, 2.0], "lo": [0.9, 1.8], "hi": [1.1, 2.2]}
    )
    ax = plots.sensitivity_plot(
        sens,
        x="x",
        y="y",
        low="lo",
        high="hi",
        xlabel="agent cost per hour (CNY)",
        ylabel="cost per account (CNY)",
        baseline_x=50.0,
    )
    _labelled(ax)
    assert len(_error_segments(ax)) == 2
    hours = pd.DataFrame({"channel": ["sms", "sms", "phone"], "local_hour": [9, 10, 9], "contacts": [5, 7, 3]})
    ax = plots.hour_profile(hours, shade=[(0, 8)])
    _labelled(ax)
    assert sorted(len(line.get_xdata()) for line in ax.lines) == [1, 2]
    curve = pd.DataFrame({"n": [100, 200, 400], "power": [0.3, 0.6, 0.9], "lift": ["1 pp"] * 3})
    ax = plots.power_curve(curve, x="n", hue="lift", xlabel="accounts in the test")
    _labelled(ax)
    assert np.allclose(ax.lines[0].get_ydata(), [30, 60, 90])
    mix = pd.DataFrame(
        {"channel": ["sms", "sms", "phone"], "category": ["tone", "other", "tone"], "share": [0.25, 0.75, 1.0]}
    )
    ax = plots.stacked_share(mix, x="channel", hue="category", value="share")
    _labelled(ax)
    assert len(ax.patches) == 4  # every category drawn for every channel (0 where absent)


def test_every_plot_takes_ax_and_returns_it():
    fig, ax = plt.subplots()
    assert plots.interval_plot(_frame(), label="segment", xlabel="x (CNY)", ax=ax) is ax


def test_truth_markers_are_drawn_where_given():
    df = _frame().assign(truth=[0.12, 0.28, -0.02, 0.22])
    ax = plots.interval_plot(df, label="segment", hue="strategy", truth="truth", xlabel="effect")
    xs = np.concatenate(
        [
            c.get_offsets()[:, 0]
            for c in ax.collections
            if hasattr(c, "get_offsets") and not isinstance(c, LineCollection)
        ]
    )
    assert sorted(xs) == pytest.approx(sorted(df.truth))


def test_plots_leave_the_global_style_alone_and_set_style_sets_it():
    before = dict(matplotlib.rcParams)
    plots.interval_plot(_frame(), label="segment", xlabel="x")
    plots.bar_with_ci(_frame(), x="segment", y="estimate", low="ci_low", high="ci_high", ylabel="y")
    assert dict(matplotlib.rcParams) == before
    try:
        plots.set_style()
        assert matplotlib.rcParams["axes.spines.top"] is False
    finally:
        matplotlib.rcParams.update(before)


def test_tornado_plot_draws_bars_from_the_base_to_each_end():
    df = pd.DataFrame(
        {
            "key": ["agent cost", "sms price"],
            "base": [2.0, 2.0],
            "value_at_low": [5.0, 1.5],
            "value_at_high": [-1.0, 2.5],
        }
    )
    ax = plots.tornado_plot(df, xlabel="net value per account (CNY)", reference=0)
    _labelled(ax)
    assert len(ax.patches) == 2 * len(df)
    ends = [(p.get_x(), p.get_x() + p.get_width()) for p in ax.patches]
    spans = sorted((round(min(e), 9), round(max(e), 9)) for e in ends)
    want = sorted((2.0, v) for v in [*df.value_at_low, *df.value_at_high])
    assert spans == sorted((min(a, b), max(a, b)) for a, b in want)
    # the largest swing (first row) at the top
    assert [t.get_text() for t in ax.get_yticklabels()] == ["agent cost", "sms price"]
    assert ax.yaxis_inverted()


def test_frontier_plot_joins_feasible_points_and_marks_infeasible_limits():
    df = pd.DataFrame(
        {
            "limit": [0.0, 1.0, 2.0, 3.0],
            "status": ["infeasible", "optimal", "optimal", "optimal"],
            "value_per_account": [np.nan, 1.0, 1.5, 1.7],
        }
    )
    ax = plots.frontier_plot(df, xlabel="agent hours", ylabel="net value per account (CNY)", current=2.0, scale=10)
    _labelled(ax)
    line = ax.lines[0]
    assert np.allclose(line.get_xdata(), [1, 2, 3]) and np.allclose(line.get_ydata(), [10, 15, 17])
    crosses = [ln for ln in ax.lines if ln.get_marker() == "x"]
    assert len(crosses) == 1 and np.allclose(crosses[0].get_xdata(), [0.0])
    assert any(ln.get_linestyle() == "--" and ln.get_xdata()[0] == 2.0 for ln in ax.lines)
    fig, ax2 = plt.subplots()
    assert plots.frontier_plot(df, status=None, xlabel="x", ylabel="y", ax=ax2) is ax2
    assert (
        plots.tornado_plot(df.assign(key="k", base=0.0, value_at_low=-1.0, value_at_high=1.0), xlabel="x", ax=ax2)
        is ax2
    )


# --- Chinese names: a CJK font in the fallback list ---------------------------------------------------------------


def _needs_cjk_font() -> str:
    name = plots.cjk_font()
    if name is None:
        why = "no CJK font installed (Debian: apt-get install fonts-noto-cjk); Chinese names would draw as boxes"
        if os.environ.get("REQUIRE_CJK_FONT") == "1":  # CI installs one: the check must run there
            pytest.fail("REQUIRE_CJK_FONT=1 but " + why)
        pytest.skip(why)
    return name


def _missing_glyph_warnings(label: str) -> list[str]:
    df = _frame().assign(segment=[label, label, "M2-high", "M2-high"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ax = plots.bar_with_ci(
            df,
            x="segment",
            y="estimate",
            low="ci_low",
            high="ci_high",
            hue="strategy",
            ylabel="paid rate (%)",
            title=label,
        )
        ax.figure.canvas.draw()
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_set_style_falls_back_to_an_installed_cjk_font_for_chinese_names():
    name = _needs_cjk_font()
    before = dict(matplotlib.rcParams)
    try:
        matplotlib.rcParams["font.family"] = ["DejaVu Sans"]
        assert _missing_glyph_warnings("逾期M1-高"), "the check must see a missing glyph without the fallback"
        matplotlib.rcParams.update(before)
        plots.set_style()
        plots.set_style()  # twice changes nothing
        family = matplotlib.rcParams["font.family"]
        assert family == [*before["font.family"], name]  # the Latin font(s) first, the CJK font last
        assert Path(font_manager.findfont(name, fallback_to_default=False)).is_file()
        assert _missing_glyph_warnings("逾期M1-高") == []
    finally:
        matplotlib.rcParams.update(before)


def test_cjk_font_rebuilds_a_font_cache_that_predates_the_font(monkeypatch):
    name = _needs_cjk_font()
    real = font_manager.fontManager
    stale = copy.copy(real)
    stale.ttflist = [f for f in real.ttflist if f.name not in plots.CJK_FONTS and "CJK" not in f.name]
    rebuilds = []

    def rebuild(*, try_read_cache=True):
        rebuilds.append(try_read_cache)
        return real  # what a rebuild finds, without rewriting this machine's cache

    for attr, value in (
        ("fontManager", stale),
        ("findfont", stale.findfont),
        ("get_font_names", stale.get_font_names),
        ("_load_fontmanager", rebuild),
    ):
        monkeypatch.setattr(font_manager, attr, value)
    monkeypatch.setattr(plots, "_rebuilt_font_cache", False)
    assert plots.cjk_font() == name
    assert rebuilds == [False]
    assert font_manager.fontManager is real and font_manager.findfont.__self__ is real
    monkeypatch.setattr(font_manager, "fontManager", stale)
    assert plots.cjk_font() is None and rebuilds == [False]  # at most once per process


# --- Chinese reports: Chinese text and Latin ticks both draw --------------------------------------------------------


def test_set_style_in_chinese_draws_chinese_text_and_log_ticks_without_missing_glyphs(capfd):
    from analysis import i18n

    name = _needs_cjk_font()
    before = dict(matplotlib.rcParams)
    i18n.set_language("zh")
    try:
        plots.set_style()
        plots.set_style()  # twice changes nothing
        family = matplotlib.rcParams["font.family"]
        assert family[-1] == name and family.count(name) == 1  # the Latin font first: mathtext uses it alone
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fig, ax = plt.subplots()
            ax.plot([-2.0, 1.0], [-1.5, 3.0])
            ax.set_title("各策略回款率（元）")
            ax.set_xlabel("逾期阶段")
            fig.canvas.draw()
            fig, ax = plt.subplots()
            ax.plot([100, 1_000, 100_000], [0.1, 0.5, 0.9])
            ax.set_xscale("log")  # ticks 10², 10³, ...: mathtext
            ax.set_xlabel("每组样本量")
            fig.canvas.draw()
        missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
        assert missing == []
        assert "does not have a glyph" not in capfd.readouterr().err  # mathtext's complaint (a box drawn)
        ax = plots.funnel_plot(_frame().rename(columns={"segment": "stage", "estimate": "rate"}))
        assert ax.get_xlabel() == "漏斗阶段" and ax.get_ylabel() == "账户占比（%）"
        assert ax.get_legend().get_title().get_text() == "策略"
        assert plots.alt_text(ax.figure).startswith("图表。")
        i18n.set_language("en")
        plots.set_style()  # back to English: the same fonts
        assert matplotlib.rcParams["font.family"] == [*before["font.family"], name]
    finally:
        i18n.set_language("en")
        matplotlib.rcParams.update(before)
