"""Contact costs: unit costs applied to what the contact log records.

Unit costs are analysis assumptions (a scenario's ``[costs]`` table, or your
own figures), never columns of the data. The engine is asked once for the
per-cell sums, sums of squares and cross-products of a few usage measures per
account (text segments, call attempts, connected calls, talk seconds, billed
minutes, money collected); because cost is linear in them, the cost of any set
of unit costs, and its uncertainty, follows from that one small frame. Changing
a unit cost therefore needs neither new data nor a new query.

Cost of one account::

    sms_per_segment     * sms_segments
  + agent_cost_per_hour * (dial_seconds * n_phone + wrap_seconds * phone_connected
                           + phone_talk_seconds) / 3600
  + phone_per_minute    * phone_billed_minutes          (telephony, if charged)
  + ai_voice_per_minute * ai_voice_billed_minutes       (per started minute)
  + commission_rate     * collected

This module is the one owner of the coefficients that turn usage into money
(:func:`contact_cost_weights`, :func:`complaint_cost_weights`, and the agent
time behind the phone cost, :func:`agent_seconds_weights`): the cost tables
here, net value (:mod:`analysis.decide.economics`), the claims check
(:mod:`analysis.decide.claims`) and the true values of synthetic data all
apply them, so every figure prices a text, a call or a complaint alike.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis import checks, engine, stats
from analysis.data.scenario import Scenario, load_scenario
from analysis.engine import Tables

__all__ = [
    "UnitCosts",
    "contact_cost_weights",
    "complaint_cost_weights",
    "agent_seconds_weights",
    "usage_stats",
    "cost_summary",
    "cost_sensitivity",
    "account_cost_expression",
]

#: Per-account usage measures the cost is linear in (engine outcome columns).
USAGE = (
    "sms_segments",
    "n_phone",
    "phone_connected",
    "phone_talk_seconds",
    "phone_billed_minutes",
    "ai_voice_billed_minutes",
    "collected",
)
# The usage measures each part of the contact cost is made of (cost_summary's columns).
_PARTS: dict[str, tuple[str, ...]] = {
    "sms_cost": ("sms_segments",),
    "phone_cost": ("n_phone", "phone_connected", "phone_talk_seconds", "phone_billed_minutes"),
    "ai_voice_cost": ("ai_voice_billed_minutes",),
    "commission": ("collected",),
}
# The escalation bases complaint costs are priced on (see complaint_cost_weights).
_ESCALATION = ("assumed", "observed")
# Counts used for the per-unit cost ratios (no uncertainty reported for them).
_COUNTS = (
    "n_contacts",
    "n_sms",
    "sms_delivered",
    "n_ai_voice",
    "phone_right_party",
    "ai_voice_connected",
    "ai_voice_right_party",
)


@dataclass(frozen=True)
class UnitCosts:
    """Unit costs in the data's currency.

    Attributes:
        currency: ISO code the costs are in (must match the data).
        sms_per_segment: price of one billed text segment.
        agent_cost_per_hour: loaded cost of one collector hour.
        dial_seconds: agent time per call attempt (dialling, waiting).
        wrap_seconds: agent time after a connected call (notes, disposition).
        ai_voice_per_minute: price of one started AI-voice minute.
        phone_per_minute: telephony price of one started human-call minute.
        commission_rate: share of money collected paid as commission.
    """

    currency: str
    sms_per_segment: float
    agent_cost_per_hour: float
    dial_seconds: float
    wrap_seconds: float
    ai_voice_per_minute: float = 0.0
    phone_per_minute: float = 0.0
    commission_rate: float = 0.0

    def __post_init__(self):
        for f in dataclasses.fields(self):
            if f.name == "currency":
                continue
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ValueError(f"unit cost {f.name} must be a number >= 0, got {v!r}")
        if self.commission_rate > 1:
            raise ValueError(f"unit cost commission_rate must be in [0, 1], got {self.commission_rate!r}")

    @classmethod
    def from_scenario(cls, scenario: Scenario | str = "cn_default", **overrides) -> UnitCosts:
        """The scenario's ``[costs]`` with ``overrides`` (e.g. ``sms_per_segment=0.03``)."""
        sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        values = {"currency": sc.currency, **sc["costs"]}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(
                f"unknown unit cost(s) {', '.join(unknown)}; known: {', '.join(sorted(known - {'currency'}))}"
            )
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes) -> UnitCosts:
        """A copy with some unit costs changed."""
        return dataclasses.replace(self, **changes)

    def weights(self) -> np.ndarray:
        """Coefficients of :data:`USAGE` in the cost of one account (:func:`contact_cost_weights`, as an array)."""
        w = contact_cost_weights(self)
        return np.array([w[m] for m in USAGE], dtype=float)


_UNIT_COST_FIELDS = tuple(f.name for f in dataclasses.fields(UnitCosts) if f.name != "currency")


def _unit_values(costs: UnitCosts | Mapping[str, Any]) -> dict[str, Any]:
    """The unit costs by field name, from a :class:`UnitCosts` or a mapping (absent optional ones 0)."""
    if isinstance(costs, UnitCosts):
        return {k: getattr(costs, k) for k in _UNIT_COST_FIELDS}
    if not isinstance(costs, Mapping):
        raise ValueError(f"costs must be UnitCosts or a mapping of unit costs by name, got {costs!r}")
    unknown = sorted(set(costs) - set(_UNIT_COST_FIELDS) - {"currency"})
    if unknown:
        raise ValueError(f"unknown unit cost(s) {', '.join(unknown)}; known: {', '.join(_UNIT_COST_FIELDS)}")
    required = [f.name for f in dataclasses.fields(UnitCosts) if f.default is dataclasses.MISSING]
    missing = [k for k in required if k != "currency" and k not in costs]
    if missing:
        raise ValueError(f"unit costs lack {', '.join(missing)}")
    return {k: costs.get(k, 0.0) for k in _UNIT_COST_FIELDS}


def agent_seconds_weights(costs: UnitCosts | Mapping[str, Any]) -> dict[str, Any]:
    """Agent seconds per unit of each usage measure: the collector time behind human calls.

    ``dial_seconds`` per phone attempt (``n_phone``), ``wrap_seconds`` per
    connected call (``phone_connected``) and each second of conversation
    (``phone_talk_seconds``). Values are numbers, or arrays when ``costs``
    is a mapping of arrays (draws of the unit costs).
    """
    c = _unit_values(costs)
    return {"n_phone": c["dial_seconds"], "phone_connected": c["wrap_seconds"], "phone_talk_seconds": 1.0}


def contact_cost_weights(costs: UnitCosts | Mapping[str, Any]) -> dict[str, Any]:
    """Money per unit of each usage measure in the contact cost of one account (the module docstring's formula).

    Args:
        costs: a :class:`UnitCosts`, or a mapping of its fields (numbers, or
            arrays of draws: every weight is then an array alike).

    Returns:
        ``{measure: weight}`` for the measures of :data:`USAGE`:
        ``sms_segments``, ``n_phone``, ``phone_connected``,
        ``phone_talk_seconds`` (agent time at ``agent_cost_per_hour``,
        :func:`agent_seconds_weights`), ``phone_billed_minutes``,
        ``ai_voice_billed_minutes`` and ``collected`` (the commission).

    >>> w = contact_cost_weights(UnitCosts("CNY", sms_per_segment=0.05, agent_cost_per_hour=36.0,
    ...                                    dial_seconds=20.0, wrap_seconds=30.0))
    >>> w["sms_segments"], w["n_phone"], w["phone_talk_seconds"]
    (0.05, 0.2, 0.01)
    """
    c = _unit_values(costs)
    per_sec = c["agent_cost_per_hour"] / 3600.0
    agent = agent_seconds_weights(c)
    return {
        "sms_segments": c["sms_per_segment"],
        "n_phone": per_sec * agent["n_phone"],
        "phone_connected": per_sec * agent["phone_connected"],
        "phone_talk_seconds": per_sec * agent["phone_talk_seconds"],
        "phone_billed_minutes": c["phone_per_minute"],
        "ai_voice_billed_minutes": c["ai_voice_per_minute"],
        "collected": c["commission_rate"],
    }


def complaint_cost_weights(
    handling_cost: Any, regulatory_escalation_cost: Any, escalation_probability: Any, *, escalation: str = "assumed"
) -> dict[str, Any]:
    """Money per complaint (and per escalated complaint) in the cost of one account.

    Escalations to a regulator are rare, so by default (``"assumed"``) each
    complaint costs its handling plus the expected cost of an escalation:
    ``{"complaints": handling_cost + escalation_probability *
    regulatory_escalation_cost}``; with ``"observed"`` the escalations
    counted are priced instead: ``{"complaints": handling_cost,
    "complaints_escalated": regulatory_escalation_cost}``. The arguments
    are a scenario's ``economics.complaint_handling_cost``,
    ``economics.regulatory_escalation_cost`` and
    ``complaints.escalation_probability`` (numbers, or arrays of draws).

    >>> complaint_cost_weights(150.0, 5000.0, 0.12)
    {'complaints': 750.0}
    """
    if escalation == "assumed":
        return {"complaints": handling_cost + escalation_probability * regulatory_escalation_cost}
    if escalation == "observed":
        return {"complaints": handling_cost, "complaints_escalated": regulatory_escalation_cost}
    raise ValueError(f"unknown escalation {escalation!r}; allowed: {', '.join(_ESCALATION)}")


def usage_stats(tables: Tables, *, by: Sequence[str] = ("strategy",), horizon_days: int = 30) -> pd.DataFrame:
    """Per-cell sums, sums of squares and cross-products of the usage measures.

    One engine query; the result feeds :func:`cost_summary` for any unit costs.
    """
    pairs = [(a, b) for i, a in enumerate(USAGE) for b in USAGE[i + 1 :]]
    return engine.cell_stats(
        tables, by=tuple(by), metrics=list(USAGE) + list(_COUNTS), cross=pairs, horizon_days=horizon_days
    )


def cost_summary(usage: pd.DataFrame, costs: UnitCosts, *, confidence: float = checks.CONFIDENCE) -> pd.DataFrame:
    """Costs per cell for one set of unit costs (pure: no query).

    Args:
        usage: the frame from :func:`usage_stats`.
        costs: the unit costs.
        confidence: level of the intervals on cost per account and cost per
            unit collected (t intervals; the latter by the delta method).

    Returns:
        One row per cell: the grouping columns, ``accounts``, ``attempts``,
        ``agent_hours``, cost by channel (``sms_cost``, ``phone_cost``,
        ``ai_voice_cost``), ``commission``, ``total_cost``, ``cost_per_attempt``,
        ``cost_per_delivered_sms``, ``cost_per_connected_call`` (human and AI),
        ``cost_per_right_party_contact``, ``cost_per_account`` with
        ``cost_per_account_ci_low/high`` (t interval), ``collected_per_account``,
        and ``cost_per_unit_collected`` with its delta-method interval (NaN
        where nothing was collected; the interval alone is NaN where the cell
        has one account or money amounts so large that their variance is
        beyond floating point).
    """
    confidence = checks.confidence(confidence)
    w = contact_cost_weights(costs)
    by = list(usage.columns[: list(usage.columns).index("accounts")])
    m = stats.Moments.from_stats(usage, USAGE + _COUNTS, by=by)
    # cost is a linear combination of the usage measures: its sums follow from theirs (over the measures with a
    # nonzero unit cost only, so that a variance beyond floating point in another measure stays out)
    with_cost = m.combine({u: w[u] for u in USAGE}, "cost")
    per_account_ci = m.mean_ci({u: w[u] for u in USAGE}, confidence=confidence)
    rows = []
    for i, (_, r) in enumerate(usage.iterrows()):  # one iteration per cell, not per account
        n = m.n[i]
        cost_total, cost_sq = with_cost.sum("cost")[i], with_cost.sumsq("cost")[i]
        cost_coll = with_cost.sumprod("cost", "collected")[i]
        coll_total, coll_sq = m.sum("collected")[i], m.sumsq("collected")[i]
        cost_mean, coll_mean = with_cost.mean[i, with_cost.index("cost")], m.mean[i, m.index("collected")]
        per_account = per_account_ci[i]
        collected_ok = coll_total > 0
        unit_ok = (
            n >= 2 and collected_ok and math.isfinite(cost_coll) and stats.variance_computable(coll_total, coll_sq)
        )
        per_unit = _or_nan(
            unit_ok,
            stats.ratio_of_means_ci,
            cost_total,
            cost_sq,
            coll_total,
            coll_sq,
            cost_coll,
            n,
            confidence=confidence,
        )
        if collected_ok and math.isnan(per_unit.estimate):  # the ratio is known even without its interval
            per_unit = stats.Estimate(cost_mean / coll_mean, math.nan, math.nan)
        sums = {u: m.sum(u)[i] for u in USAGE + _COUNTS}
        agent_secs = sum(v * sums[u] for u, v in agent_seconds_weights(costs).items())
        part = {name: sum(w[u] * sums[u] for u in measures) for name, measures in _PARTS.items()}
        sms_cost, phone_cost, ai_cost, commission = (
            part["sms_cost"],
            part["phone_cost"],
            part["ai_voice_cost"],
            part["commission"],
        )
        total = sms_cost + phone_cost + ai_cost + commission
        connected = sums["phone_connected"] + sums["ai_voice_connected"]
        rpc = sums["phone_right_party"] + sums["ai_voice_right_party"]
        rows.append(
            {
                **{b: r[b] for b in by},
                "accounts": int(n),
                "attempts": sums["n_contacts"],
                "agent_hours": agent_secs / 3600,
                "sms_cost": sms_cost,
                "phone_cost": phone_cost,
                "ai_voice_cost": ai_cost,
                "commission": commission,
                "total_cost": total,
                "cost_per_attempt": _div(total - commission, sums["n_contacts"]),
                "cost_per_delivered_sms": _div(sms_cost, sums["sms_delivered"]),
                "cost_per_connected_call": _div(phone_cost + ai_cost, connected),
                "cost_per_right_party_contact": _div(phone_cost + ai_cost, rpc),
                "cost_per_account": cost_mean,
                "cost_per_account_ci_low": per_account.ci_low,
                "cost_per_account_ci_high": per_account.ci_high,
                "collected_per_account": coll_mean,
                "cost_per_unit_collected": per_unit.estimate,
                "cost_per_unit_collected_ci_low": per_unit.ci_low,
                "cost_per_unit_collected_ci_high": per_unit.ci_high,
            }
        )
    return pd.DataFrame(rows)


_NAN = stats.Estimate(math.nan, math.nan, math.nan)


def _or_nan(ok: bool, estimate, *args, **kwargs) -> stats.Estimate:
    """``estimate(*args, **kwargs)`` when ``ok``, else an estimate of NaNs."""
    return estimate(*args, **kwargs) if ok else _NAN


def _div(a: float, b: float) -> float:
    return a / b if b else math.nan


def cost_sensitivity(usage: pd.DataFrame, costs: UnitCosts, name: str, values: Sequence[float]) -> pd.DataFrame:
    """Cost per account and per unit collected as one unit cost varies.

    Args:
        usage: the frame from :func:`usage_stats`.
        costs: the base unit costs.
        name: the unit cost to vary (a field of :class:`UnitCosts`).
        values: the values to try.

    Returns:
        The :func:`cost_summary` rows for every value, with a column ``name``.
    """
    if name not in {f.name for f in dataclasses.fields(UnitCosts)} - {"currency"}:
        raise ValueError(
            f"unknown unit cost {name!r}; known: {', '.join(f.name for f in dataclasses.fields(UnitCosts)[1:])}"
        )
    frames = [cost_summary(usage, costs.replace(**{name: v})).assign(**{name: v}) for v in values]
    return pd.concat(frames, ignore_index=True)


def account_cost_expression(costs: UnitCosts) -> Mapping:
    """``{"cost": f}`` for :func:`analysis.engine.cell_stats`'s ``derived``."""
    w = contact_cost_weights(costs)

    def cost(t):
        expr = 0.0
        for m in USAGE:
            if w[m]:
                expr = expr + w[m] * t[m].cast("float64")
        return expr if not isinstance(expr, float) else t["collected"].cast("float64") * 0.0

    return {"cost": cost}
