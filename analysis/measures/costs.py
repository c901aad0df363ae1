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
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis import checks, engine, stats
from analysis.data.scenario import Scenario, load_scenario

__all__ = [
    "UnitCosts",
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
        """Coefficients of :data:`USAGE` in the cost of one account."""
        per_sec = self.agent_cost_per_hour / 3600.0
        return np.array(
            [
                self.sms_per_segment,
                per_sec * self.dial_seconds,
                per_sec * self.wrap_seconds,
                per_sec,
                self.phone_per_minute,
                self.ai_voice_per_minute,
                self.commission_rate,
            ]
        )


def usage_stats(tables, *, by: Sequence[str] = ("strategy",), horizon_days: int = 30) -> pd.DataFrame:
    """Per-cell sums, sums of squares and cross-products of the usage measures.

    One engine query; the result feeds :func:`cost_summary` for any unit costs.
    """
    pairs = [(a, b) for i, a in enumerate(USAGE) for b in USAGE[i + 1 :]]
    return engine.cell_stats(
        tables, by=tuple(by), metrics=list(USAGE) + list(_COUNTS), cross=pairs, horizon_days=horizon_days
    )


def _moments(row: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Mean vector and covariance matrix (n-1) of the usage measures in one cell."""
    n = row["accounts"]
    k = len(USAGE)
    s = np.array([row[f"{m}_sum"] for m in USAGE])
    q = np.empty((k, k))
    for i, a in enumerate(USAGE):
        q[i, i] = row[f"{a}_sumsq"]
        for j in range(i + 1, k):
            q[i, j] = q[j, i] = row[f"{a}__{USAGE[j]}_sumprod"]
    mean = s / n
    with np.errstate(over="ignore", invalid="ignore"):  # amounts beyond float range: inf/NaN, handled by callers
        cov = (q - n * np.outer(mean, mean)) / max(n - 1, 1)
    return mean, cov


def cost_summary(usage: pd.DataFrame, costs: UnitCosts, *, confidence: float = 0.95) -> pd.DataFrame:
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
    a = costs.weights()
    by = list(usage.columns[: list(usage.columns).index("accounts")])
    rows = []
    for _, r in usage.iterrows():  # one iteration per cell, not per account
        n = r["accounts"]
        mean, cov = _moments(r)
        # cost is a linear combination of the usage measures: its moments follow (over the measures with a
        # nonzero unit cost only, so that a variance beyond floating point in another measure stays out)
        used = np.flatnonzero(a)
        cost_mean = float(a @ mean)
        with np.errstate(over="ignore", invalid="ignore"):
            cost_var = float(a[used] @ cov[np.ix_(used, used)] @ a[used])
            cost_coll = float((n - 1) * (a[used] @ cov[used, -1]) + n * cost_mean * mean[-1])
        cost_sq = (n - 1) * cost_var + n * cost_mean * cost_mean if math.isfinite(cost_var) else math.inf
        coll_sq = r["collected_sumsq"]
        per_account = _or_nan(n >= 2, stats.mean_ci, n * cost_mean, cost_sq, n, confidence=confidence)
        collected_ok = r["collected_sum"] > 0
        unit_ok = (
            n >= 2
            and collected_ok
            and math.isfinite(cost_coll)
            and stats.variance_computable(r["collected_sum"], coll_sq)
        )
        per_unit = _or_nan(
            unit_ok,
            stats.ratio_of_means_ci,
            n * cost_mean,
            cost_sq,
            r["collected_sum"],
            coll_sq,
            cost_coll,
            n,
            confidence=confidence,
        )
        if collected_ok and math.isnan(per_unit.estimate):  # the ratio is known even without its interval
            per_unit = stats.Estimate(cost_mean / mean[-1], math.nan, math.nan)
        sums = {m: r[f"{m}_sum"] for m in USAGE + _COUNTS}
        agent_secs = (
            costs.dial_seconds * sums["n_phone"]
            + costs.wrap_seconds * sums["phone_connected"]
            + sums["phone_talk_seconds"]
        )
        sms_cost = costs.sms_per_segment * sums["sms_segments"]
        phone_cost = (
            costs.agent_cost_per_hour * agent_secs / 3600 + costs.phone_per_minute * sums["phone_billed_minutes"]
        )
        ai_cost = costs.ai_voice_per_minute * sums["ai_voice_billed_minutes"]
        commission = costs.commission_rate * sums["collected"]
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
                "collected_per_account": mean[-1],
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
    a = costs.weights()

    def cost(t):
        expr = 0.0
        for coef, m in zip(a, USAGE):
            if coef:
                expr = expr + coef * t[m].cast("float64")
        return expr if not isinstance(expr, float) else t["collected"].cast("float64") * 0.0

    return {"cost": cost}
