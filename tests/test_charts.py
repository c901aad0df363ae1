"""Charts that say something: dose-response bins, the centred tornado, break-even as the price where the choice flips.

Hand-made inputs throughout, so every expected number can be worked out on paper.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from analysis.data.scenario import load_scenario
from analysis.decide import economics as E
from analysis.measures import complaints
from analysis.report import plots


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


# --- dose-response bins ------------------------------------------------------------------------------------------


def _dose_table() -> pd.DataFrame:
    """Two channels; sms has a thin head (counts 1, 2) and a thin tail (4-7), phone one thin remainder (5)."""
    return pd.DataFrame(
        {
            "channel": ["sms"] * 7 + ["phone"] * 5,
            "n_window": [1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4, 5],
            "contacts": [300, 800, 5000, 400, 300, 200, 50, 2000, 1500, 1200, 1000, 10],
            "complaints": [0, 1, 2, 0, 1, 0, 3, 1, 1, 2, 3, 1],
            "fitted_rate": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 10.0, 20.0, 30.0, 40.0, 50.0],
        }
    )


def test_dose_bins_pool_thin_counts_and_conserve_totals():
    table = _dose_table()
    bins = complaints.dose_bins(table, min_contacts=1000)
    sms, phone = bins[bins.channel == "sms"], bins[bins.channel == "phone"]
    # sms: 300 + 800 = 1,100 closes "1-2"; 5,000 alone; the tail 400 + 300 + 200 + 50 = 950 < 1,000 joins "3"
    assert sms.bin.tolist() == ["1-2", "3+"]
    assert sms.contacts.tolist() == [1100, 5950] and sms.complaints.tolist() == [1, 6]
    assert sms.n_window.tolist() == [1, 3] and sms.n_window_max.tolist() == [2, 7]
    assert sms.pooled.tolist() == [True, True]
    # phone: 2,000 | 1,500 | 1,200 | 1,000 + 10 (the thin remainder 10 joins the last bin, labelled "4+")
    assert phone.bin.tolist() == ["1", "2", "3", "4+"]
    assert phone.contacts.tolist() == [2000, 1500, 1200, 1010]
    assert phone.pooled.tolist() == [False, False, False, True]
    # every bin holds at least min_contacts contacts; totals are conserved per channel
    assert (bins.contacts >= 1000).all()
    got = bins.groupby("channel")[["contacts", "complaints"]].sum()
    want = table.groupby("channel")[["contacts", "complaints"]].sum()
    pd.testing.assert_frame_equal(got.sort_index(), want.sort_index(), check_dtype=False)
    # the rate and its interval are recomputed on the bin; the fitted rate is expected complaints over contacts
    tail = sms.iloc[1]
    assert tail.rate == pytest.approx(6 / 5950 * 10_000)
    assert tail.ci_low < tail.rate < tail.ci_high
    expected = (5000 * 3.0 + 400 * 4.0 + 300 * 5.0 + 200 * 6.0 + 50 * 7.0) / 10_000
    assert tail.fitted_rate == pytest.approx(expected / 5950 * 10_000)
    assert tail.n_window_mean == pytest.approx((5000 * 3 + 400 * 4 + 300 * 5 + 200 * 6 + 50 * 7) / 5950)


def test_dose_bins_leave_well_filled_counts_alone_and_make_one_bin_of_a_thin_channel():
    table = _dose_table()
    alone = complaints.dose_bins(table, min_contacts=1)
    assert len(alone) == len(table) and not alone.pooled.any()
    ordered = table.sort_values(["channel", "n_window"])  # channels in order, then counts
    assert alone.bin.tolist() == [str(n) for n in ordered.n_window]
    assert alone.contacts.tolist() == ordered.contacts.tolist()
    thin = complaints.dose_bins(table, min_contacts=100_000)
    assert thin.bin.tolist() == ["1+", "1+"] and thin.contacts.sum() == table.contacts.sum()


@pytest.mark.parametrize("bad", [0, -5, 2.5, True, "10"])
def test_dose_bins_reject_a_bad_minimum(bad):
    with pytest.raises(ValueError, match="min_contacts must be a whole number >= 1"):
        complaints.dose_bins(_dose_table(), min_contacts=bad)


def test_dose_plot_draws_the_model_line_over_the_bins_and_starts_at_zero():
    bins = complaints.dose_bins(_dose_table(), min_contacts=1000)
    ax = plots.dose_response_plot(bins, x="n_window_mean")
    phone = bins[bins.channel == "phone"]
    model = [ln for ln in ax.lines if ln.get_label() == "phone (model)"]
    assert len(model) == 1 and np.allclose(model[0].get_ydata(), phone.fitted_rate)
    assert model[0].get_linewidth() >= 2
    assert ax.get_ylim()[0] == 0
    labels = {t.get_text() for t in ax.texts}
    assert {"1-2", "3+", "4+"} <= labels and "3" not in labels  # pooled bins are named, single counts not


# --- tornado: centred on the base value --------------------------------------------------------------------------


def _tornado() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "key": ["a very long assumption name that needs more than one line", "sms price"],
            "low": [35.0, 0.035],
            "high": [70.0, 0.05],
            "base": [389.6, 389.6],
            "value_at_low": [394.0, 389.7],
            "value_at_high": [381.0, 389.5],
        }
    )


def test_tornado_is_centred_on_the_base_with_bars_from_it():
    df = _tornado()
    ax = plots.tornado_plot(
        df, xlabel="net value per account (CNY)", reference=0, reference_label="no advantage", ends=("low", "high")
    )
    lo, hi = ax.get_xlim()
    assert (lo + hi) / 2 == pytest.approx(389.6)
    for p in ax.patches:  # every bar starts or ends at the base and lies inside the axis
        ends = sorted((p.get_x(), p.get_x() + p.get_width()))
        assert 389.6 in (pytest.approx(ends[0]), pytest.approx(ends[1]))
        assert lo < ends[0] and ends[1] < hi
    # the longest bar reaches most of the half-width: no sliver against an edge
    reach = max(abs(v - 389.6) for v in [*df.value_at_low, *df.value_at_high])
    assert reach / ((hi - lo) / 2) > 0.6
    # the reference (0) lies far off the chart: not drawn as a line, but said in a note
    assert not any(np.allclose(ln.get_xdata(), 0) for ln in ax.lines)
    assert any("no advantage at 0, off the chart" in t.get_text() for t in ax.texts)
    # the assumption's values are written at the bar tips
    assert {"35", "70", "0.035", "0.05"} <= {t.get_text() for t in ax.texts}


def test_tornado_labels_stay_inside_the_figure():
    fig, ax = plt.subplots(figsize=(6, 3))
    plots.tornado_plot(_tornado(), xlabel="net value per account (CNY)", ylabel="", ends=("low", "high"), ax=ax)
    fig.tight_layout()
    fig.canvas.draw()
    box = fig.bbox
    texts = [*ax.get_yticklabels(), ax.xaxis.label, *ax.texts]
    for t in texts:
        if t.get_text():
            e = t.get_window_extent()
            assert box.x0 - 1 <= e.x0 and e.x1 <= box.x1 + 1, t.get_text()
    assert "\n" in ax.get_yticklabels()[0].get_text()  # a long name is wrapped, not clipped


def test_tornado_draws_a_reference_inside_the_range():
    df = _tornado().assign(value_at_high=[-5.0, 389.5])
    ax = plots.tornado_plot(df, xlabel="x", reference=0, reference_label="no advantage")
    assert any(ln.get_linestyle() == "--" and np.allclose(ln.get_xdata(), 0) for ln in ax.lines)


# --- break-even: the price at which the choice flips -------------------------------------------------------------


def _moments(lines: dict[str, tuple[float, float]], var: float = 0.0) -> E.CellMoments:
    """Moments of one cell whose strategies' net value is ``collected - sms_segments * x`` (x: price of a text).

    ``lines`` maps a strategy to (collected, sms_segments) per account; every other measure is 0, so no other
    cost and no complaint cost enters. ``var`` is the variance of each mean (independent measures).
    """
    names = sorted(lines)
    mean = np.zeros((len(names), len(E.MEASURES)))
    for i, s in enumerate(names):
        mean[i, E.MEASURES.index("collected")], mean[i, E.MEASURES.index("sms_segments")] = lines[s]
    cov = np.broadcast_to(np.eye(len(E.MEASURES)) * var, (len(names), len(E.MEASURES), len(E.MEASURES))).copy()
    cells = pd.DataFrame({"strategy": names, "accounts": 1000, "population": 1000 * len(names)})
    return E.CellMoments((), cells, mean, cov)


SC = load_scenario("cn_default")  # the text price now is 0.045 CNY; its uncertainty range tops at 0.05


def test_a_flip_is_found_where_two_lines_cross():
    # A: 100 - 2x, B: 104 - 10x: B is ahead until they cross at 4 = 8x, x = 0.5, where A takes over
    m = _moments({"A": (100.0, 2.0), "B": (104.0, 10.0)})
    got = E.price_flips(m, SC, by=(), prices=["sms_per_segment"], ranges={"sms_per_segment": (0.0, 1.0)})
    p = got["sms_per_segment"]
    assert (p.low, p.high, p.current) == (0.0, 1.0, 0.045)
    assert (p.preferred, p.runner_up) == ("B", "A")
    assert len(p.flips) == 1 and p.flip == p.above
    f = p.flip
    assert f.price == pytest.approx(0.5) and (f.before, f.after) == ("B", "A")
    assert f.ci_low == pytest.approx(0.5) and f.ci_high == pytest.approx(0.5)  # no sampling variance given
    assert p.below is None
    row = got.to_frame().iloc[0]
    assert row.flip_price == pytest.approx(0.5) and row.after == "A" and row.flips == 1
    # the lines drawn are the two net values, the flip among the prices
    c = p.curve
    assert c[(c.strategy == "A") & (c.price == 0.5)].net_value_per_account.iloc[0] == pytest.approx(99.0)
    assert c[(c.strategy == "B") & (c.price == 1.0)].net_value_per_account.iloc[0] == pytest.approx(94.0)


def test_the_default_range_is_zero_to_ten_times_the_price_and_says_never():
    # the same crossing at 0.5 lies beyond 10 x 0.045 = 0.45: never within the range tried
    m = _moments({"A": (100.0, 2.0), "B": (104.0, 10.0)})
    p = E.price_flips(m, SC, by=(), prices=["sms_per_segment"])["sms_per_segment"]
    assert (p.low, p.high) == (0.0, pytest.approx(E.FLIP_RANGE_FACTOR * 0.045))
    assert p.flip is None and p.flips == () and p.preferred == "B"
    assert math.isnan(E.price_flips(m, SC, by=(), prices=["sms_per_segment"]).to_frame().flip_price.iloc[0])


def test_several_flips_along_the_upper_envelope():
    # B until 0.5, then A (100 - 2x) until it meets C (90, no texts) at x = 5
    m = _moments({"A": (100.0, 2.0), "B": (104.0, 10.0), "C": (90.0, 0.0)})
    p = E.price_flips(m, SC, by=(), prices=["sms_per_segment"], ranges={"sms_per_segment": (0, 10)})["sms_per_segment"]
    assert [(f.price, f.before, f.after) for f in p.flips] == [
        (pytest.approx(0.5), "B", "A"),
        (pytest.approx(5.0), "A", "C"),
    ]
    assert p.flip.price == pytest.approx(0.5)  # the nearest to the price now


def test_no_negative_price_is_reported_as_a_break_even():
    # A: 100 - 10x, B: 104 - 2x: B is ahead at every price >= 0; the lines cross at x = -0.5
    m = _moments({"A": (100.0, 10.0), "B": (104.0, 2.0)})
    old = E.break_even(m, SC, by=(), unit_cost="sms_per_segment", strategy="A", baseline="B")
    assert old.break_even.iloc[0] == pytest.approx(-0.5)  # what the pairwise break-even says: meaningless
    p = E.price_flips(m, SC, by=(), prices=["sms_per_segment"], ranges={"sms_per_segment": (0, 100)})
    assert p["sms_per_segment"].flip is None and p["sms_per_segment"].preferred == "B"
    # with sampling variance the interval of a flip is cut at 0
    m = _moments({"A": (100.0, 2.0), "B": (104.0, 10.0)}, var=4.0)
    f = E.price_flips(m, SC, by=(), prices=["sms_per_segment"], ranges={"sms_per_segment": (0, 1)})[
        "sms_per_segment"
    ].flip
    assert f.ci_low == 0.0 and f.ci_high > f.price > 0


@pytest.mark.parametrize(
    "ranges, match",
    [
        ({"sms_per_segment": (-1.0, 1.0)}, "0 <= low < high"),
        ({"sms_per_segment": (1.0, 1.0)}, "0 <= low < high"),
        ({"sms_per_segment": (0.0, math.inf)}, "0 <= low < high"),
        ({"sms_per_segment": "cheap"}, "a pair"),
    ],
    ids=["negative", "empty", "infinite", "not a pair"],
)
def test_bad_ranges_are_refused(ranges, match):
    m = _moments({"A": (100.0, 2.0), "B": (104.0, 10.0)})
    with pytest.raises(ValueError, match=match):
        E.price_flips(m, SC, by=(), prices=["sms_per_segment"], ranges=ranges)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"prices": ["coffee"]}, "unknown price 'coffee'"),
        ({"strategies": ["A", "Z"]}, r"unknown strategies \['Z'\]"),
        ({"strategies": ["A"]}, "at least two strategies"),
        ({"points": 1}, "points must be a whole number >= 2"),
    ],
    ids=["price", "strategy", "one strategy", "points"],
)
def test_bad_arguments_are_refused(kwargs, match):
    m = _moments({"A": (100.0, 2.0), "B": (104.0, 10.0)})
    with pytest.raises(ValueError, match=match):
        E.price_flips(m, SC, by=(), **kwargs)


def test_break_even_plot_marks_the_flip_or_says_never():
    m = _moments({"A": (100.0, 2.0), "B": (104.0, 10.0)})
    p = E.price_flips(m, SC, by=(), prices=["sms_per_segment"], ranges={"sms_per_segment": (0, 1)})["sms_per_segment"]
    ax = plots.break_even_plot(
        p.curve,
        flips=p.flips_frame(),
        current=p.current,
        xlabel="price of a text (CNY)",
        ylabel="net value per account (CNY)",
    )
    assert ax.get_xlim() == (0.0, 1.0)
    assert any(ln.get_linestyle() == ":" and np.allclose(ln.get_xdata(), 0.5) for ln in ax.lines)
    assert any(t.get_text() == "A from 0.5" for t in ax.texts)
    assert any(ln.get_linestyle() == "--" and np.allclose(ln.get_xdata(), 0.045) for ln in ax.lines)
    never = E.price_flips(m, SC, by=(), prices=["sms_per_segment"])["sms_per_segment"]
    ax = plots.break_even_plot(never.curve, flips=never.flips_frame(), current=never.current, xlabel="x", ylabel="y")
    assert any("does not change between 0 and 0.45" in t.get_text() for t in ax.texts)
