"""The display layer: names, colours and tables as managers read them."""

from __future__ import annotations

import math
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis.data import contract
from analysis.data.scenario import load_scenario  # noqa: E402
from analysis.report import display, plots  # noqa: E402


@pytest.fixture(autouse=True)
def _reset():
    display.configure(currency="", confidence=0.95)
    yield
    display.configure(currency="", confidence=0.95)
    plt.close("all")


@pytest.fixture()
def cn():
    sc = load_scenario("cn_default")
    display.configure(sc, confidence=0.95)
    return sc


# ---------------------------------------------------------------- names
@pytest.mark.parametrize(
    "code, shown",
    [
        ("sms_only", "SMS only"),
        ("phone_only", "Phone only"),
        ("sms_then_phone", "SMS first week, then phone"),
        ("ai_voice", "AI voice with SMS"),
        ("no_contact", "No contact (holdout)"),
    ],
)
def test_strategy_names_are_the_scenario_labels(cn, code, shown):
    assert display.name(code) == display.name(code, "strategy") == shown
    assert cn.settings["strategies"][code]["label"] == shown  # one source: the scenario file


def test_every_contract_strategy_and_channel_has_a_name():
    for code in contract.STRATEGIES:
        assert display.name(code, "strategy") in display.NAMES["strategy"].values()
    for code in contract.CHANNELS:
        assert display.name(code, "channel") != display.readable_name(code) or code == "sms"
    assert display.name("ai_voice", "channel") == "AI voice call"  # the channel, not the strategy of that name


def test_a_team_scenario_names_its_own_strategies():
    sc = load_scenario("cn_default", overrides={"strategies": {"sms_only": {"label": "Texts, every 3 days"}}})
    display.configure(sc)
    assert display.name("sms_only") == "Texts, every 3 days"
    assert display.colour("Texts, every 3 days") == display.colour("sms_only") == display.COLOURS["sms_only"]


def test_segment_definitions_come_from_the_scenario(cn):
    defs = display.segment_definitions()
    assert list(defs) == list(cn.segments())
    assert defs["M1-high"] == "1-30 days past due, balance due CNY 3,000 or more"
    assert defs["M3+-low"] == "61 or more days past due, balance due below CNY 3,000"
    display.configure(load_scenario("cn_default", overrides={"population": {"high_balance_threshold": 4500.0}}))
    assert display.segment_definitions()["M2-high"] == "31-60 days past due, balance due CNY 4,500 or more"
    assert display.name("M2-high") == "M2 high balance"
    assert "M2 high balance = 31-60 days past due" in display.segment_note(["M2-high"])


def test_assumptions_rules_and_measures_in_words(cn):
    assert display.name("costs.agent_cost_per_hour", "assumption") == "Agent cost per hour (CNY)"
    assert display.name("agent_cost_per_hour", "assumption") == "Agent cost per hour (CNY)"
    assert display.rule_name("cn_gbt_45251_2025.quiet_hours") == "China GB/T 45251-2025: Contact in quiet hours"
    assert display.label("net_value_ci_low") == "Net value, lower 95% limit (CNY per account)"
    assert display.label("pvalue_adjusted") == "p-value, Holm-adjusted across segments"
    assert display.label("cost_per_account_ci_high") == "Contact cost per account, upper 95% limit (CNY)"
    display.configure(confidence=0.9)
    assert display.label("paid_rate_ci_low") == "Paid anything, lower 90% limit (% of accounts)"


def test_unknown_names_fall_back_to_words():
    assert display.name("my_new_arm") == "My new arm"
    assert display.name("weekend_blitz", "strategy") == "Weekend blitz"
    assert display.label("days_to_first_payment") == "Days to first payment"
    assert display.name(None) == display.name(math.nan) == display.MISSING


def test_words_and_spoken_replace_code_names(cn):
    assert display.words("sms_then_phone 60%, phone_only 40% in M1-high") == (
        "SMS first week, then phone 60%, Phone only 40% in M1 high balance"
    )
    assert display.words("the swing of costs.agent_cost_per_hour") == "the swing of agent cost per hour"
    said = display.spoken({"b": "sms_only", "g": "M3+-low", "c": "third_party_disclosure", "n": 3, "t": (1, 0, 2)})
    assert said == {"b": "SMS only", "g": "M3+ low balance", "c": "disclosure to a third party", "n": 3, "t": (1, 0, 2)}


def test_names_are_escaped_where_they_reach_html():
    evil = '<img src=x onerror="alert(1)">_arm'
    t = display.table(pd.DataFrame({"strategy": [evil], "accounts": [3]}))
    html = t.to_html()
    assert "<img" not in html and "&lt;img" in html
    assert "onerror=&quot;" in html


# ---------------------------------------------------------------- colours
def test_colours_are_fixed_distinct_and_stable():
    known = [display.colour(s) for s in contract.STRATEGIES]
    assert len(set(known)) == len(known)
    assert display.colour("sms_only") == display.colour("SMS only") == "#0072B2"
    assert display.colour("sms") == display.colour("sms_only")  # a channel shares its only strategy's colour
    # a team's strategy: one of the fallback colours, the same for its code and its display name, every run
    assert display.colour("weekend_blitz") == display.colour("Weekend blitz") in display.FALLBACK_COLOURS
    assert display.colour("weekend_blitz") == display.colour("weekend_blitz")


def _rgba(c):
    return tuple(round(x, 4) for x in mcolors.to_rgba(c))


@pytest.mark.parametrize("order", [["sms_only", "phone_only"], ["phone_only", "ai_voice", "sms_only"]])
def test_plots_draw_each_strategy_in_its_colour(order):
    df = pd.DataFrame(
        {
            "segment": ["M1-low"] * len(order),
            "strategy": order,
            "v": np.arange(len(order)) + 1.0,
            "ci_low": 0.0,
            "ci_high": 5.0,
        }
    )
    ax = plots.bar_with_ci(
        display.named(df), x="segment", y="v", low="ci_low", high="ci_high", hue="strategy", ylabel="v"
    )
    bars = {p.get_label(): _rgba(p.get_facecolor()) for p in ax.containers[0].patches[:1]}
    got = {c.get_label(): _rgba(c.patches[0].get_facecolor()) for c in ax.containers if hasattr(c, "patches")}
    for code in order:
        assert got[display.name(code)] == _rgba(display.colour(code))
    assert bars
    ax = plots.interval_plot(df, label="segment", estimate="v", hue="strategy", xlabel="v")
    lines = {c.get_label(): _rgba(c.lines[0].get_color()) for c in ax.containers}
    for code in order:
        assert lines[code] == _rgba(display.colour(code))


def test_alt_text_from_the_titles_and_labels():
    fig, axes = plt.subplots(1, 2)
    axes[0].set(title="Cost per account", xlabel="strategy", ylabel="cost per account (CNY)")
    axes[1].set(xlabel="strategy", ylabel="cost per CNY collected (CNY)")
    assert plots.alt_text(fig) == (
        "Chart: Cost per account. Cost per account (CNY) by strategy; Cost per CNY collected (CNY) by strategy."
    )


# ---------------------------------------------------------------- tables
def _cells(t: display.Table) -> list[dict]:
    return t.frame.to_dict("records")


def test_table_formats_numbers_by_kind(cn):
    df = pd.DataFrame(
        {
            "strategy": ["sms_only", "phone_only"],
            "accounts": [139878, 18406],
            "pvalue": [1.64e-10, 0.0421],
            "paid_rate": [0.3022, 0.05],
            "net_value_per_account": [12345.5, -18.25],
            "cost_per_account": [0.52, 12.0],
        }
    )
    rows = _cells(display.table(df))
    assert rows[0] == {
        "Strategy": "SMS only",
        "Accounts": "139,878",
        "p-value": "< 0.001",
        "Paid anything (% of accounts)": "30.2%",
        "Net value per account (CNY)": "12,346",
        "Contact cost per account (CNY)": "0.52",
    }
    assert rows[1]["Accounts"] == "18,406" and rows[1]["p-value"] == "0.042"
    assert rows[1]["Net value per account (CNY)"] == "-18" and rows[1]["Contact cost per account (CNY)"] == "12.00"


def test_an_interval_shows_the_decimals_of_its_estimate(cn):
    df = pd.DataFrame(
        {
            "collected_per_account": [1815.3, 12.0],
            "collected_ci_low": [80.2, 1.5],
            "collected_ci_high": [3500.0, 30.0],
            "assumed": [0.045, 20000.0],
        }
    )
    rows = _cells(display.table(df, kinds={"assumed": "value"}))
    assert rows[0] == {
        "Collected per account (CNY)": "1,815.30",
        "Collected per account, lower 95% limit (CNY)": "80.20",
        "Collected per account, upper 95% limit (CNY)": "3,500.00",
        "Assumed": "0.045",
    }
    assert rows[1]["Assumed"] == "20,000"


def test_table_p_value_zero_and_rounding_to_zero_show_a_bound():
    rows = _cells(display.table(pd.DataFrame({"pvalue": [0.0, 0.0004999, 0.001, 1.0]})))
    assert [r["p-value"] for r in rows] == ["< 0.001", "< 0.001", "0.001", "1.000"]


def test_table_missing_values_are_a_dash_with_a_footnote():
    df = pd.DataFrame(
        {
            "strategy": ["sms_only", "phone_only"],
            "net_value_vs_baseline": [math.nan, 12.5],
            "ratio": [math.inf, 1.5],
            "note": [None, "x"],
        }
    )
    t = display.table(df, missing={"net_value_vs_baseline": "the baseline compared with itself"})
    rows = _cells(t)
    assert rows[0]["Net value against the baseline (money per account)"] == display.MISSING
    assert rows[0]["Rate ratio"] == display.UNBOUNDED
    assert any("the baseline compared with itself" in n and n.startswith(display.MISSING) for n in t.notes)
    html = t.to_html()
    for word in ("NaN", "None", "nan", "inf", "&lt;NA&gt;"):
        assert not re.search(rf"(?<![\w]){word}(?![\w])", re.sub(r"<[^>]+>", " ", html))
    assert not display.table(pd.DataFrame({"accounts": [1, 2]})).notes  # no gap, no footnote


def test_table_shows_no_index():
    df = pd.DataFrame({"strategy": ["sms_only", "phone_only", "ai_voice"], "accounts": [1, 2, 3]})
    t = display.table(df)
    assert list(t.frame.columns) == ["Strategy", "Accounts"]
    first = re.findall(r"<tr>(?:<td[^>]*>)([^<]*)</td>", t.report)
    assert first == ["SMS only", "Phone only", "AI voice with SMS"]
    named = display.table(df.set_index("strategy"))  # a named index is a column
    assert list(named.frame.columns) == ["Strategy", "Accounts"]


def test_pivoted_tables_name_their_columns(cn):
    df = pd.DataFrame(
        {"segment": ["M1-high", "M1-high"], "strategy": ["sms_only", "phone_only"], "prob_best": [0.25, 0.75]}
    ).pivot(index="segment", columns="strategy", values="prob_best")
    rows = _cells(display.table(df, default_kind="rate"))
    assert rows == [{"Segment": "M1 high balance", "Phone only": "75.0%", "SMS only": "25.0%"}]
    t = display.table(df.reset_index(), default_kind="rate")
    assert any(n.startswith("Segments: M1 high balance = 1-30 days past due") for n in t.notes)


def _widths(html: str) -> list[int]:
    return [len(re.findall(r"<th", head)) for head in re.findall(r"<thead>(.*?)</thead>", html)]


def test_wide_tables_are_transposed_or_split_to_fit():
    measures = [
        "accounts",
        "attempts",
        "agent_hours",
        "sms_cost",
        "phone_cost",
        "ai_voice_cost",
        "cost_per_attempt",
        "cost_per_delivered_sms",
        "cost_per_connected_call",
        "cost_per_right_party_contact",
        "cost_per_account",
    ]
    few = pd.DataFrame({"strategy": ["sms_only", "phone_only", "ai_voice"], **{m: [1.0, 2.0, 3.0] for m in measures}})
    t = display.table(few)
    assert _widths(t.report) == [4]  # transposed: the strategies are the columns
    assert "SMS only" in re.search(r"<thead>(.*?)</thead>", t.report).group(1)
    assert all(w <= display.SLIDE_COLUMNS for w in _widths(t.slides))
    many = pd.DataFrame(
        {"segment": ["M1-low"] * 30, "strategy": ["sms_only"] * 30, **{m: np.arange(30.0) for m in measures}}
    )
    t = display.table(many)
    assert len(_widths(t.report)) == 2 and all(w <= display.REPORT_COLUMNS for w in _widths(t.report))
    assert all(w <= display.SLIDE_COLUMNS for w in _widths(t.slides))
    for part in re.findall(r"<table.*?</table>", t.report):  # every part repeats the row's names
        assert ">Segment<" in part and ">Strategy<" in part
    assert "…" not in t.to_html() and not re.search(r"overflow(-x)?\s*:\s*(auto|scroll)", t.to_html())


def test_columns_named_alike_keep_both():
    t = display.table(pd.DataFrame({"mean": [0.5], "mean_strategy": [0.25]}))
    assert list(t.frame.columns) == ["Strategy's value", "Strategy's value (mean strategy)"]


def test_table_rejects_bad_arguments():
    with pytest.raises(TypeError, match="DataFrame"):
        display.table([1, 2])
    with pytest.raises(ValueError, match="not in the table"):
        display.table(pd.DataFrame({"a": [1]}), ["b"])
    with pytest.raises(ValueError, match="kinds"):
        display.table(pd.DataFrame({"a": [1]}), kinds={"a": "money2"})


def test_readable_still_works():
    from analysis.report.tables import readable

    out = readable(pd.DataFrame({"x": [1.0, math.nan]}))
    assert list(out.x) == [1.0, display.MISSING]


# ---------------------------------------------------------------- Chinese
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def test_names_and_labels_in_chinese(cn, zh):
    assert display.name("sms_only") == display.name("sms_only", "strategy") == "仅短信"
    assert display.name("phone", "channel") == "人工外呼"
    low = display.label("net_value_ci_low")
    assert _CJK.search(low) and not _LATIN_WORD.search(low), low
    assert low == "净收益，95% 下限（元/户）"  # CNY reads 元 inside a unit
    assert display.name("agent_cost_per_hour", "assumption") == "坐席每小时成本（元）"
    assert display.name("M1-high") == "M1 高余额"
    assert display.name("all sms_only", "policy") == "全部账户采用仅短信"
    assert display.name("my_new_arm") == "My new arm"  # an unknown code stays as it is
    said = display.spoken({"b": "sms_only", "c": "third_party_disclosure", "ch": "phone"})
    assert said == {"b": "仅短信", "c": "向第三方泄露", "ch": "人工外呼"}  # no lower-casing
    assert display.words("sms_then_phone 60%, phone_only 40% in M1-high") == (
        "首周短信，之后人工外呼 60%, 仅人工外呼 40% in M1 高余额"
    )
    assert display.segment_definitions()["M1-high"] == "逾期 1-30 天，应还余额 ¥3,000 及以上"
    display.configure(currency="USD")
    assert display.label("net_value") == "净收益（USD/户）"  # another currency: its code


def test_a_chinese_name_keeps_its_colour(cn, zh):
    wrapped = display.named(pd.DataFrame({"strategy": ["sms_then_phone", "no_contact"]}), wrap=12).strategy
    assert list(wrapped) == ["首周短信，\n之后人工外呼", "不联系\n（对照组）"]
    assert [display.colour(v) for v in wrapped] == [display.COLOURS["sms_then_phone"], display.COLOURS["no_contact"]]


def test_table_in_chinese(cn, zh):
    df = pd.DataFrame(
        {
            "strategy": ["sms_only", "phone_only"],
            "dpd_bucket": ["M1", "M2"],
            "paid_rate": [0.3022, 0.05],
            "net_value_ci_low": [math.nan, 2.0],
            "covers": [True, False],
        }
    )
    t = display.table(df)
    headers = list(t.frame.columns)
    assert headers == ["策略", "逾期阶段", "回款率（占账户 %）", "净收益，95% 下限（元/户）", "区间覆盖真实值"]
    assert all(_CJK.search(h) for h in headers)
    assert t.frame.iloc[0].tolist() == ["仅短信", "M1", "30.2%", display.MISSING, "是"]
    assert t.notes[0].startswith(display.MISSING + " 该行无法计算") and t.notes[0].endswith("。")
    assert t.notes[1] == "逾期阶段：M1 = 逾期 1-30 天；M2 = 逾期 31-60 天。"
    assert not any(_LATIN_WORD.search(n) for n in t.notes)


def test_english_is_back_after_chinese(cn):
    from analysis import i18n

    i18n.set_language("zh")
    i18n.set_language("en")
    assert display.name("sms_only") == "SMS only"
    assert display.label("net_value_ci_low") == "Net value, lower 95% limit (CNY per account)"
    assert display.segment_definitions()["M1-high"] == "1-30 days past due, balance due CNY 3,000 or more"


def test_every_catalogue_name_is_a_message():
    msgs = set(display.catalogue_messages())
    for cat in display.NAMES.values():
        assert set(cat.values()) <= msgs
    assert {"Strategy", "Segment", "Channel"} <= msgs  # headers of name columns without their own
    assert "China GB/T 45251-2025" in msgs  # the shipped scenarios' rule packs
