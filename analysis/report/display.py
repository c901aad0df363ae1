"""The one display layer: names, colours and tables as the reports show them.

Managers read words and units, never code: ``sms_then_phone`` is shown as
"SMS first week, then phone", ``costs.agent_cost_per_hour`` as "Agent cost per
hour (CNY)", ``net_value_ci_low`` as "Net value, lower 95% limit (CNY per
account)". Everything the reports show passes through this module:

* :func:`configure` -- once per notebook: the scenario (its strategy labels,
  segment definitions, rule packs), the currency and the confidence level.
* :func:`name` / :func:`names` / :func:`named` -- display names of values
  (strategies, channels, segments, rules, assumptions, products, ...), of one
  value, a list, or every name column of a frame (for charts and sentences).
* :func:`label` -- a column header in words, with its unit.
* :func:`words` -- free text (a reason, a note) with the code names in it
  replaced by their display names; :func:`spoken` -- the values of a
  sentence in words.
* :func:`colour` -- one fixed colour per strategy (and channel) in every chart.
* :func:`segment_definitions` -- what each segment means, from the scenario.
* :func:`table` -- the one table formatter: no index, headers in words, money
  and counts with separators, rates in %, p-values as "< 0.001", missing
  values as :data:`MISSING` with a footnote saying why, wide tables
  transposed or split so that they fit a report page and a slide.

A name this module does not know (a team's own strategy, say) falls back to a
readable form (``my_new_arm`` -> "My new arm"). Display names are plain text;
:func:`table` escapes every value and header for HTML, and
:func:`analysis.report.notebook.sentence` escapes every value it substitutes.
"""

from __future__ import annotations

import html
import math
import numbers
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis import checks, i18n
from analysis.i18n import N_, _
from analysis.report.tables import MISSING, UNBOUNDED

__all__ = [
    "MISSING",
    "UNBOUNDED",
    "NAMES",
    "MEASURES",
    "COLOURS",
    "FALLBACK_COLOURS",
    "NAME_COLUMNS",
    "KINDS",
    "ASSUMPTIONS",
    "NAME_HEADERS",
    "MISSING_WHY",
    "REPORT_COLUMNS",
    "SLIDE_COLUMNS",
    "configure",
    "settings",
    "name",
    "names",
    "rule_name",
    "named",
    "label",
    "words",
    "spoken",
    "readable_name",
    "colour",
    "segment_definitions",
    "segment_note",
    "table",
    "Table",
    "catalogue_messages",
    "currency_word",
]

# --------------------------------------------------------------------------
# Names of values, by kind
# --------------------------------------------------------------------------
#: Display names of the values the package knows, by kind. The strategies'
#: names are the labels of the shipped scenarios; :func:`configure` takes the
#: labels of the scenario in use, so a team's scenario names its own arms.
NAMES: dict[str, dict[str, str]] = {
    "strategy": {
        "sms_only": "SMS only",
        "phone_only": "Phone only",
        "sms_then_phone": "SMS first week, then phone",
        "ai_voice": "AI voice with SMS",
        "ai_then_phone": "AI voice, then phone",
        "no_contact": "No contact (holdout)",
    },
    "channel": {"sms": "SMS", "phone": "Phone call", "ai_voice": "AI voice call", "all": "All channels"},
    "dpd_bucket": {"M1": "M1", "M2": "M2", "M3+": "M3+"},
    "product": {
        "cash_loan": "Cash loan",
        "consumer_installment": "Consumer instalment loan",
        "credit_card": "Credit card",
        "personal_loan": "Personal loan",
        "retail_card": "Retail card",
    },
    "category": {
        "frequency": "Too frequent",
        "time_of_day": "Time of day",
        "after_stop_request": "Contact after a stop request",
        "third_party_disclosure": "Disclosure to a third party",
        "tone": "Tone",
        "other": "Other",
    },
    "stage": {
        "contacted": "Contacted",
        "reached": "Reached",
        "right_party": "Reached in person",
        "promise": "Promised to pay",
        "paid": "Paid anything",
        "cured": "Cured",
    },
    "outcome": {"paid": "Paid anything", "collected": "Money collected", "cured": "Cured"},
    "method": {
        "naive": "Naive difference",
        "poststrat": "Adjusted by segment (post-stratified)",
        "ipw": "Adjusted by weighting (inverse probability)",
    },
    "assignment": {"randomised": "Randomised", "targeted": "Targeted by business rules"},
    "rule": {
        "quiet_hours": "Contact in quiet hours",
        "effective_calls_per_day": "Connected calls per day",
        "after_stop_request": "Contact after a stop request",
        "any_violation": "Any rule",
        "unanswered_attempts_per_day": "Unanswered calls per day",
        "inconvenient_time": "Contact at an inconvenient time",
        "seven_in_seven": "Seven calls in seven days",
        "any": "Any rule",
        "daily_cap": "Daily cap",
        "rolling_cap": "Rolling cap",
        "opt_out": "Stop request",
        "quiet_after_conversation": "Quiet after a conversation",
    },
    "verdict": {"non-inferior": "Non-inferior", "not shown": "Not shown"},
    "status": {
        "IN": "Inside the range",
        "OUT": "Outside the range",
        "optimal": "Decided",
        "decided": "Decided",
        "infeasible": "Cannot be held",
    },
    "policy": {"recommended": "Recommended policy", "current": "Current allocation"},
    "pack": {"all": "All rule packs"},
    "table": {
        "accounts": "Accounts",
        "contacts": "Contact attempts",
        "payments": "Payments",
        "complaints": "Complaints",
        "opt_outs": "Stop-contact requests",
    },
    "assumption": {},  # see ASSUMPTIONS
    "region": {},
}

#: The unit-cost and economic assumptions: key -> (words, unit; ``{cur}`` is the currency).
ASSUMPTIONS: dict[str, tuple[str, str]] = {
    "sms_per_segment": ("Price of one text segment", "{cur}"),
    "agent_cost_per_hour": ("Agent cost per hour", "{cur}"),
    "ai_voice_per_minute": ("AI voice cost per minute", "{cur}"),
    "phone_per_minute": ("Phone line cost per minute", "{cur}"),
    "dial_seconds": ("Agent time to dial an attempt", "seconds"),
    "wrap_seconds": ("Agent time after a connected call", "seconds"),
    "commission_rate": ("Commission on money collected", "%"),
    "complaint_handling_cost": ("Cost of handling a complaint", "{cur}"),
    "regulatory_escalation_cost": ("Cost of a complaint escalated to a regulator", "{cur}"),
    "escalation_probability": ("Share of complaints escalated to a regulator", "%"),
    "annual_discount_rate": ("Annual discount rate", "%"),
    "currency": ("Currency", ""),
}

#: Columns whose values are names, and the kind of name they hold.
NAME_COLUMNS: dict[str, str] = {
    "strategy": "strategy",
    "treatment": "strategy",
    "control": "strategy",
    "baseline": "strategy",
    "channel": "channel",
    "segment": "segment",
    "dpd_bucket": "dpd_bucket",
    "product": "product",
    "region": "region",
    "category": "category",
    "stage": "stage",
    "outcome": "outcome",
    "method": "method",
    "assignment": "assignment",
    "rule": "rule",
    "kind": "rule",
    "pack": "pack",
    "key": "assumption",
    "unit_cost": "assumption",
    "verdict": "verdict",
    "status": "status",
    "policy": "policy",
}

#: Headers of name columns whose readable form is not words enough.
NAME_HEADERS: dict[str, str] = {
    "dpd_bucket": "Days-past-due bucket",
    "treatment": "Challenger",
    "control": "Champion",
    "baseline": "Baseline",
    "key": "Assumption",
    "unit_cost": "Unit cost",
    "kind": "Kind of rule",
    "pack": "Rule pack",
    "stage": "Funnel stage",
    "category": "Complaint category",
    "method": "Method",
}

# --------------------------------------------------------------------------
# Measures (column names): words, unit and how the values are shown
# --------------------------------------------------------------------------
#: How a column's values are shown: ``name`` (a display name), ``text``,
#: ``count`` (whole number, separators), ``money`` (separators, 2 decimals, 0
#: from 1,000 up), ``rate`` (a proportion shown in %), ``pp`` (a difference
#: of proportions, in percentage points), ``pvalue`` ("< 0.001"), ``ratio``
#: (2 decimals), ``number`` (decimals by the column's magnitude), ``value``
#: (four significant digits, each cell on its own: a column of mixed
#: quantities), ``bool`` ("yes"/"no").
KINDS = ("name", "text", "count", "money", "rate", "pp", "pvalue", "ratio", "number", "value", "bool")

#: Column -> (header, kind). ``{cur}`` is the currency, ``{ci}`` the confidence level (e.g. 95%).
MEASURES: dict[str, tuple[str, str]] = {
    # population
    "accounts": ("Accounts", "count"),
    "share": ("Share of accounts", "rate"),
    "balance_mean": ("Mean balance due ({cur})", "money"),
    "risk_score_mean": ("Mean risk score (0 to 1)", "number"),
    # contacts
    "contacts": ("Contact attempts", "count"),
    "attempts": ("Contact attempts", "count"),
    "delivered": ("Texts delivered", "count"),
    "connected": ("Calls connected", "count"),
    "right_party": ("Calls reaching the borrower", "count"),
    "talk_seconds_sum": ("Talk time (seconds)", "count"),
    "promise": ("Promises to pay", "count"),
    "sms_segments_sum": ("Text segments billed", "count"),
    "complaints": ("Complaints", "count"),
    "complaints_escalated": ("Complaints escalated to a regulator", "count"),
    "escalated": ("Escalated to a regulator", "count"),
    "opted_out": ("Accounts that asked to stop contact", "count"),
    "opt_out_rate": ("Stop requests per 1,000 accounts", "number"),
    # cost
    "agent_hours": ("Agent hours", "number"),
    "sms_cost": ("SMS cost ({cur})", "money"),
    "phone_cost": ("Phone cost ({cur})", "money"),
    "ai_voice_cost": ("AI voice cost ({cur})", "money"),
    "cost_per_attempt": ("Cost per attempt ({cur})", "money"),
    "cost_per_delivered_sms": ("Cost per delivered text ({cur})", "money"),
    "cost_per_connected_call": ("Cost per connected call ({cur})", "money"),
    "cost_per_right_party_contact": ("Cost per call reaching the borrower ({cur})", "money"),
    "cost_per_account": ("Contact cost per account ({cur})", "money"),
    "cost_per_unit_collected": ("Contact cost per {cur} collected ({cur})", "number"),
    # response
    "paid_rate": ("Paid anything (% of accounts)", "rate"),
    "cure_rate": ("Cured (% of accounts)", "rate"),
    "cured_rate": ("Cured (% of accounts)", "rate"),
    "delinquent_rate": ("Still delinquent (% of accounts)", "rate"),
    "rolled_rate": ("Rolled (% of accounts)", "rate"),
    "expected_loss_per_account": ("Expected loss per account ({cur})", "money"),
    "collected_per_account": ("Collected per account ({cur})", "money"),
    "collected": ("Collected per account ({cur})", "money"),
    "baseline_accounts": ("Baseline accounts", "count"),
    "mean": ("Strategy's value", "number"),
    "baseline_mean": ("Baseline's value", "number"),
    "mean_strategy": ("Strategy's value", "number"),
    "mean_baseline": ("Baseline's value", "number"),
    "accounts_strategy": ("Strategy's accounts", "count"),
    "accounts_baseline": ("Baseline's accounts", "count"),
    "estimate": ("Estimate", "number"),
    "se": ("Standard error", "number"),
    "truth": ("True value", "number"),
    "truth_se": ("True value, standard error", "number"),
    "bias": ("Estimate minus truth", "number"),
    "covers": ("Interval covers the truth", "bool"),
    "pvalue": ("p-value", "pvalue"),
    "pvalue_adjusted": ("p-value, Holm-adjusted across segments", "pvalue"),
    "count": ("Accounts", "count"),
    "rate": ("Rate", "number"),
    # complaints and rules
    "margin": ("Largest acceptable rate ratio", "ratio"),
    "complaints_treatment": ("Challenger's complaints", "count"),
    "exposure_treatment": ("Challenger's accounts", "count"),
    "complaints_control": ("Champion's complaints", "count"),
    "exposure_control": ("Champion's accounts", "count"),
    "ratio": ("Rate ratio", "ratio"),
    "statistic": ("Test statistic", "ratio"),
    "verdict": ("Verdict", "name"),
    "description": ("Description", "text"),
    "contacts_violating": ("Contacts breaking the rule", "count"),
    "complaints_violating": ("Complaints after contacts breaking the rule", "count"),
    "rate_violating": ("Complaints per 10,000 contacts breaking the rule", "number"),
    "contacts_compliant": ("Compliant contacts", "count"),
    "complaints_compliant": ("Complaints after compliant contacts", "count"),
    "rate_compliant": ("Complaints per 10,000 compliant contacts", "number"),
    "rate_ratio": ("Complaint rate ratio, breaking / compliant", "ratio"),
    "rate_per_10k": ("Violations per 10,000 contacts", "number"),
    "note": ("Note", "text"),
    # experiment design
    "lift": ("Lift to detect (percentage points)", "pp"),
    "challenger_share": ("Challenger's share of the test", "rate"),
    "challenger": ("Challenger accounts", "count"),
    "champion": ("Champion accounts", "count"),
    "n1": ("Challenger accounts", "count"),
    "n2": ("Champion accounts", "count"),
    "total": ("Accounts in the test", "count"),
    "power": ("Power", "rate"),
    # economics
    "contact_cost_per_account": ("Contact cost per account ({cur})", "money"),
    "complaint_cost_per_account": ("Expected complaint cost per account ({cur})", "money"),
    "net_value_per_account": ("Net value per account ({cur})", "money"),
    "net_value": ("Net value ({cur} per account)", "money"),
    "net_value_se": ("Net value, standard error ({cur} per account)", "money"),
    "net_value_vs_baseline": ("Net value against the baseline ({cur} per account)", "money"),
    "vs_baseline": ("Net value against the baseline ({cur} per account)", "money"),
    "agent_hours_per_account": ("Agent hours per account", "number"),
    "current": ("Assumed value", "number"),
    "difference_at_current": ("Net value against the baseline at the assumed value ({cur} per account)", "money"),
    "slope": ("Change in that difference per unit of the cost", "number"),
    "break_even": ("Break-even value", "number"),
    "pays_at_current": ("Pays at the assumed value", "bool"),
    "base_assumption": ("Assumed value", "number"),
    "low": ("Low end of the range", "number"),
    "high": ("High end of the range", "number"),
    "base": ("At the assumed values ({cur} per account)", "money"),
    "value_at_low": ("At the low end ({cur} per account)", "money"),
    "value_at_high": ("At the high end ({cur} per account)", "money"),
    "swing": ("Swing ({cur} per account)", "money"),
    "p05": ("5th percentile ({cur} per account)", "money"),
    "p50": ("Median ({cur} per account)", "money"),
    "p95": ("95th percentile ({cur} per account)", "money"),
    "prob_positive": ("Draws ahead of the baseline", "rate"),
    "prob_best": ("Probability of being the best strategy", "rate"),
    # decision
    "value_per_account": ("Gain per account over the baseline ({cur})", "money"),
    "total_value": ("Total gain over the baseline ({cur})", "money"),
    "complaints_per_10k": ("Complaints per 10,000 accounts", "number"),
    "prob_recommended_better": ("Probability the recommended policy does better", "rate"),
    "gain_per_account": ("Gain per account ({cur})", "money"),
    "gain": ("Gain per account, pooled ({cur})", "money"),
    "gain_raw": ("Gain per account, as measured ({cur})", "money"),
    "gain_sd": ("Gain per account, standard deviation ({cur})", "money"),
    "prob_gain": ("Probability of a gain", "rate"),
    "complaints_raw": ("Complaints per account, as measured", "number"),
    "complaints_sd": ("Complaints per account, standard deviation", "number"),
    "quantity": ("Quantity", "text"),
    "center": ("Centre", "value"),
    "spread": ("Spread", "value"),
    "case": ("Case", "text"),
    "capacity_hours": ("Agent-hour limit", "text"),
    "complaint_budget_per_10k": ("Complaint limit", "text"),
    "segments_moved": ("Segments moved", "count"),
    # calibration and versions
    "value": ("Value", "number"),
    "range": ("Published range", "text"),
    "unit": ("Unit", "text"),
    "source": ("Source", "text"),
    "package": ("Package", "text"),
    "version": ("Version", "text"),
}

#: Suffixes of interval and error columns: ``X_ci_low`` is "X, lower 95% limit".
_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_ci_low", "lower {ci} limit"),
    ("_ci_high", "upper {ci} limit"),
    ("_low", "lower {ci} limit"),
    ("_high", "upper {ci} limit"),
    ("_se", "standard error"),
    ("_sd", "standard deviation"),
)
#: Bare interval columns: they take the kind and unit of the table's estimate column.
_BARE_LIMITS = {"ci_low": "Lower {ci} limit", "ci_high": "Upper {ci} limit"}
_ESTIMATES = ("estimate", "ratio", "rate", "rate_ratio", "mean", "value_per_account", "share", "break_even")


def catalogue_messages() -> list[str]:
    """Every text of this module's catalogues (names, headers, units, limits) for the message catalogues."""
    out: list[str] = []
    for cat in NAMES.values():
        out.extend(cat.values())
    for said, unit in ASSUMPTIONS.values():
        out.extend(t for t in (said, unit) if t and t != "{cur}")
    out.extend(NAME_HEADERS.values())
    out.extend(readable_name(c) for c in NAME_COLUMNS if c not in NAME_HEADERS)  # e.g. "Strategy"
    out.extend(header for header, _kind in MEASURES.values())
    out.extend(words_ for _suffix, words_ in _SUFFIXES)
    out.extend(_BARE_LIMITS.values())
    out.append(MISSING_WHY)
    out.extend(_scenario_names())
    out.extend(READABLE_HEADERS)
    return sorted(set(out))


#: Columns the reports show under their readable form (:func:`readable_name`), translated like any name.
READABLE_HEADERS = ("Diff vs baseline", "Diff ci low", "Diff ci high", "Complaints per 10k contacts", "Targeted")


def _scenario_names() -> list[str]:
    """The names the shipped scenarios give (strategy labels, rule packs' titles, regions): shown through ``_``."""
    from analysis.data.scenario import SCENARIO_DIR, load_scenario

    out: list[str] = []
    for path in sorted(SCENARIO_DIR.glob("*.toml")):
        sc = load_scenario(path)
        out.extend(v["label"] for v in sc.settings.get("strategies", {}).values() if v.get("label"))
        out.extend(p.title for p in sc.rule_packs if p.title)
        out.extend(readable_name(r["name"]) for r in sc.settings.get("population", {}).get("regions", []))
    return out


def currency_word(currency: str | None = None) -> str:
    """The currency as a unit inside headers and units: its code in English (``CNY``), in Chinese
    ``元`` for CNY and the code for any other currency; "money" (translated) when there is none.

    ``currency`` defaults to the one set with :func:`configure`.
    """
    return i18n.currency_word(_SETTINGS.currency if currency is None else currency)


def _english() -> bool:
    return i18n.language() == i18n.DEFAULT


def _join(parts: Iterable[str]) -> str:
    """Items of a footnote's list: "a; b" in English, "a；b" in Chinese."""
    return ("; " if _english() else "；").join(parts)


# --------------------------------------------------------------------------
# Colours: one per strategy, the same in every chart
# --------------------------------------------------------------------------
#: Fixed colours of the known strategies and channels (a channel shares the
#: colour of the strategy that uses it alone). Colour-blind-safe (Okabe-Ito).
COLOURS: dict[str, str] = {
    "sms_only": "#0072B2",
    "sms": "#0072B2",
    "phone_only": "#D55E00",
    "phone": "#D55E00",
    "sms_then_phone": "#009E73",
    "ai_voice": "#CC79A7",
    "ai_then_phone": "#E69F00",
    "no_contact": "#7F7F7F",
}
#: Colours of names without a fixed one, picked by a hash of the name (stable across runs and charts).
FALLBACK_COLOURS: tuple[str, ...] = (
    "#56B4E9",
    "#8C6BB1",
    "#B8A22F",
    "#17BECF",
    "#8C564B",
    "#3A923A",
    "#C03D3E",
    "#1B6CA8",
)


@dataclass
class _Settings:
    currency: str = ""
    confidence: float = checks.CONFIDENCE
    segments: dict[str, str] = field(default_factory=dict)  # segment -> definition
    extra: dict[str, dict[str, str]] = field(default_factory=dict)  # kind -> value -> name (from the scenario)
    scenario: object = None  # the scenario given to configure (segment definitions in the current language)


_SETTINGS = _Settings()


def settings() -> _Settings:
    """The current settings made by :func:`configure` (currency, confidence, scenario names)."""
    return _SETTINGS


def _bucket_days() -> dict[str, str]:
    """Days past due of each bucket, as words, from :func:`analysis.data.contract.dpd_bucket` itself."""
    from analysis.data.contract import DPD_BUCKETS, dpd_bucket

    probe = np.arange(1, 400)
    got = np.asarray(dpd_bucket(probe))
    out = {}
    for b in DPD_BUCKETS:
        days = probe[got == b]
        if len(days):
            lo, hi = int(days.min()), int(days.max())
            out[b] = (
                _("{low} or more days past due").format(low=lo)
                if hi == probe[-1]
                else _("{low}-{high} days past due").format(low=lo, high=hi)
            )
    return out


def configure(scenario=None, *, currency: str | None = None, confidence: float | None = None) -> None:
    """Set what every name, header and table of this notebook uses (call once, after loading the data).

    From ``scenario`` (an :class:`analysis.data.scenario.Scenario`): the strategies'
    labels, the currency, the segments' definitions (days past due of the
    bucket and the balance band's threshold), the rule packs' titles and the
    regions. ``currency`` and ``confidence`` override.

    Example:
        >>> configure(currency="CNY", confidence=0.9); label("cost_per_account_ci_low")
        'Contact cost per account, lower 90% limit (CNY)'
        >>> configure(currency="", confidence=checks.CONFIDENCE)
    """
    global _SETTINGS
    s = _Settings(currency=_SETTINGS.currency, confidence=_SETTINGS.confidence)
    if scenario is not None:
        s.scenario = scenario
        st = scenario.settings
        s.currency = scenario.currency
        s.extra["strategy"] = {k: v.get("label") for k, v in st.get("strategies", {}).items() if v.get("label")}
        s.extra["pack"] = {p.name: p.title for p in scenario.rule_packs}
        s.extra["region"] = {r["name"]: readable_name(r["name"]) for r in st.get("population", {}).get("regions", [])}
        s.segments = _segment_definitions(scenario)
    if currency is not None:
        s.currency = currency
    if confidence is not None:
        s.confidence = float(confidence)
    _SETTINGS = s


def _segment_definitions(scenario) -> dict[str, str]:
    from analysis.data.scenario import BALANCE_BANDS

    threshold = scenario.settings["population"]["high_balance_threshold"]
    amount = i18n.money(threshold, scenario.currency, 0)  # "CNY 3,000"; in Chinese "¥3,000"
    band = {
        "low": _("balance due below {amount}").format(amount=amount),
        "high": _("balance due {amount} or more").format(amount=amount),
    }
    days = _bucket_days()
    out = {}
    for seg in scenario.segments():
        b, _sep, bb = seg.rpartition("-")
        if b in days and bb in BALANCE_BANDS:
            out[seg] = _("{days}, {balance}").format(days=days[b], balance=band[bb])
    return out


def _segments() -> dict[str, str]:
    """Segment -> definition in the current language (the configured scenario's)."""
    if _english() or _SETTINGS.scenario is None:
        return _SETTINGS.segments
    return _segment_definitions(_SETTINGS.scenario)


def segment_definitions() -> dict[str, str]:
    """Segment name -> what it means (e.g. "1-30 days past due, balance due CNY 3,000 or more"), from
    the scenario given to :func:`configure` (empty before)."""
    return dict(_segments())


def segment_note(segments: Iterable[str] | None = None) -> str:
    """One sentence defining ``segments`` (default: all the configured ones), plain text; '' when none is known."""
    defs = _segments()
    keys = [s for s in (defs if segments is None else dict.fromkeys(map(str, segments))) if s in defs]
    if not keys:
        return ""
    return _("Segments: {segments}.").format(segments=_join(f"{name(k, 'segment')} = {defs[k]}" for k in keys))


def readable_name(value) -> str:
    """The fallback display name: underscores and dots to spaces, the first letter capitalised.

    >>> readable_name("my_new_arm")
    'My new arm'
    """
    text = re.sub(r"\s+", " ", str(value).replace("_", " ").replace(".", " ")).strip()
    return _(text[:1].upper() + text[1:]) if text else text  # a readable form the catalogue knows, translated


def _assumption(text: str, unit: str) -> str:
    """An assumption's words with its unit, "Agent cost per hour (CNY)", in the current language."""
    u = unit.format(cur=_SETTINGS.currency).strip()
    if not u:
        return _(text)
    shown = unit.format(cur=currency_word()).strip() if "{cur}" in unit else _(u)
    return _("{name} ({unit})").format(name=_(text), unit=shown)


def _catalogue(kind: str) -> dict[str, str]:
    """value -> display name of ``kind``, in English (the catalogue's keys)."""
    if kind == "assumption":
        cur = _SETTINGS.currency
        out = {}
        for k, (text, unit) in ASSUMPTIONS.items():
            u = unit.format(cur=cur).strip()
            out[k] = f"{text} ({u})" if u else text
        return out
    return {**NAMES.get(kind, {}), **_SETTINGS.extra.get(kind, {})}


def _shown(kind: str) -> dict[str, str]:
    """value -> display name of ``kind``, in the current language."""
    if kind == "assumption":
        return {k: _assumption(text, unit) for k, (text, unit) in ASSUMPTIONS.items()}
    return {k: _(v) for k, v in _catalogue(kind).items()}


#: A segment's name from its bucket and balance band ("M1 high balance").
_BAND_NAMES = {"low": N_("{bucket} low balance"), "high": N_("{bucket} high balance")}


def _segment_name(value: str) -> str | None:
    from analysis.data.scenario import BALANCE_BANDS

    b, _sep, band = value.rpartition("-")
    if b in NAMES["dpd_bucket"] and band in BALANCE_BANDS:
        if band in _BAND_NAMES:
            bucket = NAMES["dpd_bucket"][b]
            return _(_BAND_NAMES[band]).format(bucket=_(bucket))
        return f"{b} {band} balance"
    return None


_KIND_ORDER = (
    "strategy",
    "channel",
    "policy",
    "method",
    "stage",
    "outcome",
    "rule",
    "pack",
    "product",
    "category",
    "assignment",
    "verdict",
    "status",
    "region",
)


def name(value, kind: str | None = None) -> str:
    """The display name of ``value`` (plain text: escape it where it reaches HTML or Markdown).

    Args:
        value: a strategy, channel, segment, rule, assumption key, ... code.
        kind: one of the keys of :data:`NAMES` (or ``"segment"``); None looks in every catalogue.

    Missing values give :data:`MISSING`; an unknown name its :func:`readable_name`.

    >>> name("sms_only"), name("costs.agent_cost_per_hour"), name("M1-high", "segment"), name("my_arm")
    ('SMS only', 'Agent cost per hour', 'M1 high balance', 'My arm')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return MISSING
    text = str(value)
    if kind == "assumption" or (kind is None and "." in text and text.split(".", 1)[0] in _SECTIONS):
        key = text.split(".", 1)[1] if text.split(".", 1)[0] in _SECTIONS else text
        cur = _SETTINGS.currency
        if key in ASSUMPTIONS:
            said, unit = ASSUMPTIONS[key]
            u = unit.format(cur=cur).strip()
            return _assumption(said, unit) if u and kind == "assumption" else _(said)
        return readable_name(key)
    if kind == "segment" or (kind is None and _segment_name(text)):
        return _segment_name(text) or readable_name(text)
    if kind is None and text in ASSUMPTIONS:
        return _(ASSUMPTIONS[text][0])
    if kind == "policy" and text.startswith("all "):
        return _("{name} for everybody").format(name=name(text[4:], "strategy"))
    kinds = (kind,) if kind else _KIND_ORDER
    for k in kinds:
        cat = _catalogue(k)
        if text in cat:
            return _shown(k)[text] if k == "assumption" else _(cat[text])
    if kind == "policy":  # a mix such as "sms_then_phone 100%"
        return words(text)
    return readable_name(text)


_SECTIONS = ("costs", "economics", "complaints", "repayment", "effects", "channels", "population")


def rule_name(pack, rule=None) -> str:
    """A rule in words: its pack's title and the rule's name; ``pack`` may be ``"<pack>.<rule id>"``.

    >>> rule_name("all", "any_violation")
    'All rule packs: Any rule'
    """
    if rule is None:
        pack, _sep, rule = str(pack).partition(".")
    return _("{pack}: {rule}").format(pack=name(pack, "pack"), rule=name(rule, "rule"))


def names(values: Iterable, kind: str | None = None) -> list[str]:
    """:func:`name` of each value."""
    return [name(v, kind) for v in values]


def named(df: pd.DataFrame, columns: Iterable[str] | None = None, *, wrap: int | None = None) -> pd.DataFrame:
    """A copy of ``df`` whose name columns (strategy, channel, segment, ...; see :data:`NAME_COLUMNS`)
    hold display names: for charts, whose ticks and legends show the values as they are.

    ``wrap`` breaks names longer than that many characters into lines (for tick labels side by
    side); :func:`colour` still knows them.
    """
    import textwrap

    out = df.copy()
    for col in columns if columns is not None else [c for c in out.columns if c in NAME_COLUMNS]:
        kind = NAME_COLUMNS.get(col)
        shown = [name(v, kind) for v in out[col]]
        out[col] = [_wrap(v, wrap, textwrap) for v in shown] if wrap else shown
    return out


_WIDE = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")
#: Chinese punctuation that never starts a line, and that never ends one.
_NO_START = "，。、；：！？）》」』”’"
_NO_END = "（《「『“‘"


def _wrap(text: str, width: int, textwrap) -> str:
    """``text`` broken into lines of about ``width`` characters (a Chinese character counts as two:
    Chinese text breaks after a comma or before a bracket where it can, never before closing punctuation)."""
    if not _WIDE.search(text):
        return "\n".join(textwrap.wrap(text, width)) or text
    width = max(2, width // 2 + 1)
    lines: list[str] = []
    rest = text.strip()
    while len(rest) > width:
        # a cut after i characters; closing punctuation may hang one past the width
        cuts = [
            i
            for i in range(1, min(width + 2, len(rest)))
            if rest[i] not in _NO_START and rest[i - 1] not in _NO_END and (i <= width or rest[i - 1] in _NO_START)
        ]
        if not cuts:
            break
        cuts = [i for i in cuts if len(rest) - i != 1] or cuts  # no line of one character at the end
        good = [i for i in cuts if rest[i - 1] in "，、；" or rest[i] in _NO_END]
        cut = max(good) if good and max(good) * 3 >= width else max(cuts)
        lines.append(rest[:cut])
        rest = rest[cut:]
    lines.append(rest)
    return "\n".join(lines) or text


def words(text) -> str:
    """``text`` with the code names in it (strategy codes, ``costs.x`` keys) replaced by display names.

    For sentences and notes written by the package, e.g. a policy "sms_then_phone 100%" ->
    "SMS first week, then phone 100%".
    """
    if text is None:
        return MISSING
    out = str(text)
    codes = _shown("strategy")

    def assumption(m):
        key = m.group(0).split(".", 1)[1]
        if not _english():  # no capitals to lower in Chinese
            return _(ASSUMPTIONS[key][0]) if key in ASSUMPTIONS else readable_name(key)
        return ASSUMPTIONS[key][0].lower() if key in ASSUMPTIONS else readable_name(key).lower()

    # codes are ASCII: a code next to a Chinese character (a word character too) is still a code
    out = re.sub(rf"(?<!{_ASCII_WORD})(?:" + "|".join(_SECTIONS) + rf")\.[a-z_]+(?!{_ASCII_WORD})", assumption, out)
    for code in sorted(codes, key=len, reverse=True):
        if "_" in code:  # a plain word such as "current" stays a word
            out = re.sub(rf"(?<![A-Za-z0-9_.]){re.escape(code)}(?!{_ASCII_WORD})", codes[code], out)
    buckets = "|".join(re.escape(b) for b in sorted(NAMES["dpd_bucket"], key=len, reverse=True))
    out = re.sub(
        rf"(?<![A-Za-z0-9_-])(?:{buckets})-(?:low|high)(?![A-Za-z0-9_-])", lambda m: name(m.group(0), "segment"), out
    )
    return out


_ASCII_WORD = "[A-Za-z0-9_]"

#: Kinds of names that read in lower case inside a sentence ("the most common category is tone").
_LOWER_IN_SENTENCES = ("channel", "category", "rule", "product", "method", "stage", "outcome", "assignment")


def _in_sentence(value: str) -> str:
    if value in _catalogue("strategy") or _segment_name(value):
        return name(value)
    for kind in _LOWER_IN_SENTENCES:
        cat = _catalogue(kind)
        if value in cat and value not in _catalogue("strategy"):
            shown = _(cat[value])
            if not _english():  # Chinese has no capitals
                return shown
            return shown if shown[1:2].isupper() else shown[:1].lower() + shown[1:]
    return words(value)


def spoken(values: Mapping) -> dict:
    """The values of a sentence (for :func:`analysis.report.notebook.sentence`) with names in words.

    A string that is a strategy or segment code becomes its display name, a
    channel, complaint category or rule its name in lower case, and any other
    string has the code names in it replaced (:func:`words`); numbers,
    tuples and already escaped text (:class:`analysis.report.notebook.SafeText`)
    pass unchanged.

    >>> spoken({"b": "sms_only", "n": 3, "c": "third_party_disclosure"})
    {'b': 'SMS only', 'n': 3, 'c': 'disclosure to a third party'}
    """
    from analysis.report.notebook import SafeText

    return {k: _in_sentence(v) if isinstance(v, str) and not isinstance(v, SafeText) else v for k, v in values.items()}


def label(column, *, unit: str | None = None) -> str:
    """The header of ``column`` in words, with its unit (the currency from :func:`configure`).

    >>> configure(currency="CNY"); label("net_value_ci_low")
    'Net value, lower 95% limit (CNY per account)'
    >>> configure(currency="")
    """
    header, _kind = _measure(str(column))
    if unit:
        shown = i18n.currency_word(unit) if re.fullmatch(r"[A-Z]{3}", unit) else _(unit)  # "CNY": 元 in Chinese
        header = _("{header} ({unit})").format(header=header, unit=shown)
    return header


def _fmt(template: str) -> str:
    """``template`` (English, a catalogue key) in the current language, its currency and level filled in."""
    cur = currency_word()
    text = _(template).replace("{cur}", cur).replace("{ci}", f"{_SETTINGS.confidence:.0%}")
    return text


#: A header and its unit: "Net value (CNY per account)" in English, "净收益（元/户）" in Chinese.
_WITH_UNIT = (re.compile(r"^(.*?) \(([^()]*)\)$"), re.compile(r"^(.*?)（([^（）]*)）$"))


def _measure(column: str) -> tuple[str, str | None]:
    """(header, kind) of a column; kind None when unknown (then inferred from the values)."""
    if column in MEASURES:
        header, kind = MEASURES[column]
        return _fmt(header), kind
    if column in _BARE_LIMITS:
        return _fmt(_BARE_LIMITS[column]), None
    for suffix, words_ in _SUFFIXES:
        if column.endswith(suffix):
            stem = column[: -len(suffix)]
            bases = (stem, stem + "_per_account", stem + "_rate")
            if not _english():  # "balance_ci_low": the limit of "balance_mean" (English keeps its old header)
                bases += (stem + "_mean",)
            for base in bases:
                if base in MEASURES:
                    header, kind = MEASURES[base]
                    header = _fmt(header)
                    m = _WITH_UNIT[0].match(header) or (None if _english() else _WITH_UNIT[1].match(header))
                    w = _fmt(words_)
                    if m:
                        return _("{header}, {limit} ({unit})").format(header=m.group(1), limit=w, unit=m.group(2)), kind
                    return _("{header}, {limit}").format(header=header, limit=w), kind
    if column in NAME_COLUMNS:
        return _(NAME_HEADERS.get(column, readable_name(column))), "name"
    for kind in _KIND_ORDER:  # a pivoted table: the columns are names (strategies, ...)
        if column in _catalogue(kind):
            return name(column, kind), None
    if _segment_name(column):
        return name(column, "segment"), None
    if " " in column:  # words already (a header the notebook wrote)
        return _(column), None
    return name(column), None


def colour(value) -> str:
    """The colour of a strategy or channel (its code or its display name) in every chart.

    Known strategies have fixed colours (:data:`COLOURS`); any other name gets
    one of :data:`FALLBACK_COLOURS` picked by a CRC-32 of the name, the same in
    every chart and every run.

    >>> colour("sms_only") == colour("SMS only") == COLOURS["sms_only"]
    True
    """
    text = re.sub(r"\s+", " ", str(value)).strip()  # a name wrapped into lines (:func:`named`) too
    for kind in ("strategy", "channel"):  # a display name: its code
        text = next((code for code, shown in _catalogue(kind).items() if shown == text), text)
    if not _english():  # a translated display name (wrapped Chinese has no spaces to keep)
        bare = re.sub(r"\s+", "", text)
        for kind in ("strategy", "channel"):
            text = next((code for code, shown in _shown(kind).items() if re.sub(r"\s+", "", shown) == bare), text)
    if text in COLOURS:
        return COLOURS[text]
    # a code and its fallback display name ("my_arm", "My arm") share the colour
    key = readable_name(text).encode("utf-8")
    return FALLBACK_COLOURS[zlib.crc32(key) % len(FALLBACK_COLOURS)]


# --------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------
#: Why a value is missing, when the caller does not say.
MISSING_WHY = "not computable for this row (no observation to base it on, or nothing to divide by)"
#: Columns of a report table and of a slide table before a table is transposed or split.
REPORT_COLUMNS = 10
SLIDE_COLUMNS = 5

_CSS = """<style>
.dl-table { border-collapse: collapse; margin: 0.4em 0 0.2em 0; font-size: 13px; max-width: 100%; }
.dl-table th, .dl-table td { padding: 3px 8px; border-bottom: 1px solid #ddd; vertical-align: top; }
.dl-table th { text-align: left; font-weight: 600; white-space: normal !important; max-width: 14em;
               overflow-wrap: break-word; vertical-align: bottom; }
table.dl-table th.num, table.dl-table td.num { text-align: right; }
table.dl-table th.txt, table.dl-table td.txt { text-align: left; }
table.dl-table th.num { white-space: normal !important; min-width: 4em; hyphens: manual; }
.dl-table td.num { text-align: right; white-space: nowrap; }
.dl-table td.txt { text-align: left; white-space: normal; min-width: 7em; max-width: 30em; }
.dl-table caption { text-align: left; font-weight: 600; padding-bottom: 0.3em; }
.dl-notes { font-size: 12px; color: #444; margin: 0.2em 0 1em 0; }
.dl-slides { display: none; }
.reveal .dl-report { display: none; }
.reveal .dl-slides { display: block; }
.reveal .dl-table { font-size: 20px; margin: 0.2em 0 0.1em 0; }
.reveal .dl-table th, .reveal .dl-table td { padding: 2px 8px; line-height: 1.15; }
.reveal .dl-table th { max-width: 10em; line-height: 1.1; }
.reveal .dl-table + .dl-table { margin-top: 0.5em; }
.reveal .dl-notes { font-size: 18px; line-height: 1.2; margin: 0.2em 0 0.4em 0; }
/* A cell tagged "slides-only" (a shorter view of a table the report shows whole) is left out of reports. */
.celltag_slides-only { display: none; }
.reveal .celltag_slides-only { display: block; }
</style>"""


@dataclass(frozen=True)
class Table:
    """A formatted table: what :func:`table` returns; displays as HTML in JupyterLab and the reports.

    Attributes:
        frame: the shown cells as text (headers in words, numbers formatted), index not shown.
        notes: the footnotes (why a value is missing, what the segments are, ...).
        report: the HTML for reports (wide tables transposed or split to fit the page).
        slides: the HTML for slides (few columns).
    """

    frame: pd.DataFrame
    notes: tuple[str, ...]
    report: str
    slides: str

    def _repr_html_(self) -> str:
        notes = "".join(f'<p class="dl-notes">{html.escape(n)}</p>' for n in self.notes)
        if self.report == self.slides:
            return f'{_CSS}<div class="dl-both">{self.report}</div>{notes}'
        return f'{_CSS}<div class="dl-report">{self.report}</div><div class="dl-slides">{self.slides}</div>{notes}'

    def __repr__(self) -> str:
        text = self.frame.to_string(index=False)
        return text + "".join(f"\n{n}" for n in self.notes)

    def to_html(self) -> str:
        """The whole HTML (style, report and slide layouts, footnotes)."""
        return self._repr_html_()


def _is_missing(x) -> bool:
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    try:
        return bool(isinstance(x, (float, np.floating)) and math.isnan(x))
    except TypeError:
        return False


def _infer_kind(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s):
        return "bool"
    if pd.api.types.is_integer_dtype(s):
        return "count"
    if pd.api.types.is_numeric_dtype(s):
        v = s.dropna()
        v = v[np.isfinite(v.to_numpy(float))] if len(v) else v
        if len(v) and (v == v.round()).all() and v.abs().max() >= 1:  # pyright: ignore[reportAttributeAccessIssue]  # pandas types a selection as Series | ndarray; it is a Series
            return "count"
        return "number"
    vals = [x for x in s if not _is_missing(x)]
    if vals and all(isinstance(x, (bool, np.bool_)) for x in vals):
        return "bool"
    if vals and all(isinstance(x, numbers.Real) and not isinstance(x, bool) for x in vals):
        return "number"
    return "text"


def _decimals(values: np.ndarray, kind: str) -> int:
    """Decimals for a whole column, so that its numbers line up and read alike."""
    finite = values[np.isfinite(values)]
    top = float(np.abs(finite).max()) if len(finite) else 0.0
    nonzero = np.abs(finite[finite != 0])
    small = float(nonzero.min()) if len(nonzero) else 0.0
    if kind == "money":
        return 0 if top >= 10_000 else 2
    if kind in ("rate", "pp"):
        return 1 if top >= 0.01 or top == 0 else 2
    if kind == "ratio":
        return 2
    if top >= 1000:
        return 0
    if top >= 10:
        return 1
    if top >= 1 or small == 0:
        return 2
    # small numbers: enough decimals for two significant digits of the smallest, at most 6
    return int(min(6, max(2, 1 - math.floor(math.log10(small)))))


def _is_limit(column: str) -> bool:
    """Whether ``column`` holds an interval's limit (``ci_low``, ``X_ci_high``, ``X_low``, ...)."""
    return column in _BARE_LIMITS or column.endswith(("_ci_low", "_ci_high", "_low", "_high"))


def _cell(x, kind: str, decimals: int) -> str:
    if _is_missing(x):
        return MISSING
    if kind == "bool":
        return _("yes") if bool(x) else _("no")
    if kind in ("text", "name"):
        return str(x)
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isinf(v):
        return UNBOUNDED if v > 0 else "-" + UNBOUNDED
    if kind == "count":
        return f"{v:,.0f}"
    if kind == "pvalue":
        return "< 0.001" if v < 0.001 else f"{v:.3f}"
    if kind == "rate":
        return f"{100 * v:,.{decimals}f}%"
    if kind == "pp":
        return f"{100 * v:+,.{decimals}f}"
    if kind == "money":
        return f"{v:,.{decimals}f}"
    if kind == "value":
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"
    return f"{v:,.{decimals}f}"


def _html_table(cells: pd.DataFrame, numeric: list[bool], caption: str | None = None) -> str:
    head = "".join(
        f'<th class="{"num" if n else "txt"}">{html.escape(str(c))}</th>' for c, n in zip(cells.columns, numeric)
    )
    rows = []
    for r in cells.itertuples(index=False):
        rows.append(
            "<tr>"
            + "".join(f'<td class="{"num" if n else "txt"}">{html.escape(str(v))}</td>' for v, n in zip(r, numeric))
            + "</tr>"
        )
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f'<table class="dl-table">{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _layout(cells: pd.DataFrame, numeric: list[bool], keys: int, width: int) -> str:
    """HTML of ``cells`` fitted to ``width`` columns: as is, transposed, or split into parts."""
    n_rows, n_cols = cells.shape
    if n_cols <= width:
        return _html_table(cells, numeric)
    if n_rows + 1 <= width:  # few rows: one column per row, the measures down the side
        head = [" / ".join(str(v) for v in r[:keys]) for r in cells.itertuples(index=False)]
        if len(set(head)) == len(head):
            body = cells.iloc[:, keys:].T
            body.columns = head
            body.insert(0, " / ".join(cells.columns[:keys]) if keys else _("Measure"), list(cells.columns[keys:]))
            return _html_table(body.reset_index(drop=True), [False] + [True] * n_rows)
    rest = list(range(keys, n_cols))
    n_parts = math.ceil(len(rest) / max(1, width - keys))
    per = math.ceil(len(rest) / n_parts)  # parts of about the same width
    parts = []
    for i in range(0, len(rest), per):
        idx = list(range(keys)) + rest[i : i + per]
        parts.append(_html_table(cells.iloc[:, idx], [numeric[j] for j in idx]))
    return "".join(parts)


def table(
    df: pd.DataFrame,
    columns: Mapping[str, str] | Iterable[str] | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    kinds: Mapping[str, str] | None = None,
    names: Mapping[str, str] | None = None,
    missing: str | Mapping[str, str] | None = None,
    notes: Iterable[str] = (),
    currency: str | None = None,
    keys: int | None = None,
    report_columns: int = REPORT_COLUMNS,
    slide_columns: int = SLIDE_COLUMNS,
    default_kind: str | None = None,
) -> Table:
    """``df`` as a manager reads it: words, units and formatted numbers, no index.

    * The index is dropped, unless it is named (a named index becomes the first column).
    * Headers in words with units (:func:`label`), or as given in ``columns``.
    * Values of name columns (strategy, segment, channel, ...) by their display names.
    * Money with thousands separators (0 decimals from 1,000 up, else 2), counts with
      separators, proportions in %, p-values as "< 0.001", other numbers with the same
      decimals down a column.
    * Missing values as :data:`MISSING` with a footnote saying why (``missing``), and
      infinite ones as :data:`UNBOUNDED`.
    * More columns than ``report_columns`` (``slide_columns`` on slides): transposed when
      the rows are few, else split into parts that repeat the ``keys`` columns.

    Args:
        df: the table (not changed).
        columns: the columns to show, in order: a list, or a mapping column -> header.
        headers: column -> header, for some columns (the others' from :func:`label`).
        kinds: column -> how its values are shown (:data:`KINDS`); default from
            :data:`MEASURES`, else from the values.
        names: column -> kind of name (a key of :data:`NAMES`) for name columns not in
            :data:`NAME_COLUMNS`.
        missing: why values are missing: one sentence, or column -> sentence.
        notes: further footnotes (plain text; escaped).
        currency: the currency of money columns (default :func:`configure`'s).
        keys: leading columns that identify a row (repeated when a table is split);
            default the leading name/text columns.
        report_columns, slide_columns: the most columns of one table in a report and on a slide.
        default_kind: the kind of the columns whose kind is not known otherwise (e.g. "rate" for a
            pivoted table of probabilities); default: from the values.

    Returns:
        A :class:`Table` (displays as HTML).

    Example:
        >>> t = table(pd.DataFrame({"strategy": ["sms_only"], "pvalue": [1e-10], "paid_rate": [0.3022]}))
        >>> t.frame.to_dict("records")
        [{'Strategy': 'SMS only', 'p-value': '< 0.001', 'Paid anything (% of accounts)': '30.2%'}]
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    data = df.copy()
    if isinstance(data.columns, pd.MultiIndex):
        data.columns = [" / ".join(str(x) for x in c if str(x)) for c in data.columns]
    if not isinstance(data.index, pd.RangeIndex) and any(n is not None for n in data.index.names):
        data = data.reset_index()
    else:
        data = data.reset_index(drop=True)
    data.columns = [str(c) for c in data.columns]
    headers = {str(k): v for k, v in (headers or {}).items()}
    if columns is not None:
        if isinstance(columns, Mapping):
            headers = {**headers, **{str(k): v for k, v in columns.items()}}
            order = [str(c) for c in columns]
        else:
            order = [str(c) for c in columns]
        unknown = [c for c in order if c not in data.columns]
        if unknown:
            raise ValueError(f"columns {unknown} are not in the table; it has {list(data.columns)}")
        data = data[order]
    old = _SETTINGS.currency
    if currency is not None:
        _SETTINGS.currency = currency
    try:
        kinds = dict(kinds or {})
        name_kinds = {**{c: k for c, k in NAME_COLUMNS.items()}, **dict(names or {})}
        estimate_kind = next((kinds.get(c) or _measure(c)[1] for c in _ESTIMATES if c in data.columns), None)
        shown, numeric, gaps = {}, [], []
        estimate_decimals: dict[str, int] = {}  # an interval's limits take the decimals of their estimate
        for col in data.columns:
            header, known = _measure(col)
            header = _(headers[col]) if col in headers else header
            kind = kinds.get(col)
            if kind is None and col in (names or {}):
                kind = "name"
            if kind is None:
                kind = known or (estimate_kind if col in _BARE_LIMITS else None) or default_kind
            if kind is None:
                kind = _infer_kind(data[col])  # pyright: ignore[reportArgumentType]  # pandas types a column as Series | DataFrame | ndarray; it is a Series
            if kind not in KINDS:
                raise ValueError(f"kinds[{col!r}] must be one of {', '.join(KINDS)}, got {kind!r}")
            s = data[col]
            if s.map(_is_missing).any():  # pyright: ignore[reportAttributeAccessIssue, reportGeneralTypeIssues]  # pandas types a column as Series | DataFrame | ndarray; it is a Series
                gaps.append(col)
            if kind == "name":
                values = [MISSING if _is_missing(v) else name(v, name_kinds.get(col)) for v in s]
            elif kind == "text":
                values = [MISSING if _is_missing(v) else words(_(v)) for v in s]
            else:
                nums = (
                    pd.to_numeric(s.where(~s.map(_is_missing)), errors="coerce").to_numpy(float)  # pyright: ignore[reportArgumentType, reportAttributeAccessIssue]  # pandas types a column as Series | DataFrame | ndarray; it is a Series
                    if kind != "bool"
                    else np.array([])
                )
                d = _decimals(nums, kind) if kind not in ("bool", "count", "pvalue", "value") else 0  # pyright: ignore[reportArgumentType]  # pandas types a column as Series | DataFrame | ndarray; it is a Series
                if _is_limit(col):
                    d = estimate_decimals.get(kind, d)
                else:
                    estimate_decimals[kind] = d
                values = [_cell(v, kind, d) for v in s]
            if header in shown:  # two columns named alike: say which is which
                which = readable_name(col).lower() if _english() else readable_name(col)
                header = _("{header} ({column})").format(header=header, column=which)
            shown[header] = values
            numeric.append(kind not in ("name", "text", "bool"))
        cells = pd.DataFrame(shown)
        cells.columns = list(shown)
        all_notes = []
        if gaps:
            if isinstance(missing, Mapping):
                whys = [
                    _("{column}: {why}").format(
                        column=label(c) if c not in headers else _(headers[c]), why=_(missing[c])
                    )
                    for c in gaps
                    if c in missing
                ]
                why = _join(whys) if whys else _(MISSING_WHY)
            else:
                why = _(missing) if missing else _(MISSING_WHY)
            all_notes.append(_("{missing} {why}.").format(missing=MISSING, why=why))
        all_notes += [str(_(n)) for n in notes if n]
        if "dpd_bucket" in data.columns:
            days = _bucket_days()
            shown_b = [b for b in dict.fromkeys(data["dpd_bucket"].dropna().astype(str)) if b in days]  # pyright: ignore[reportAttributeAccessIssue]  # pandas types a selection as Series | ndarray; it is a Series
            if shown_b:
                all_notes.append(_("Buckets: {buckets}.").format(buckets=_join(f"{b} = {days[b]}" for b in shown_b)))
        if "segment" in data.columns:
            seg = segment_note(data["segment"].dropna().unique())  # pyright: ignore[reportAttributeAccessIssue]  # pandas types a selection as Series | ndarray; it is a Series
            if seg:
                all_notes.append(seg)
        if keys is None:
            keys = 0
            for n in numeric:
                if n or keys >= 2:
                    break
                keys += 1
        report = _layout(cells, numeric, keys, report_columns)
        slides = _layout(cells, numeric, keys, slide_columns)
    finally:
        _SETTINGS.currency = old
    return Table(cells, tuple(all_notes), report, slides)
